"""Alert-driven scaling end to end on loopback: the double's gateway metrics, the real Prometheus and
Alertmanager with the dev stack's rendered configuration, and `python -m faasplane.scaler` with the dev stack's
rendered environment (see tests/loop/harness.py for what is rewritten and why).

One function gets a load step while a second stays idle. The busy one must reach what the load needs,
stay within [min, max], not move while the load is steady (repeated notifications are no-ops), come
back to min only after the load stops and its stabilization window has passed; the idle one is never
touched. Every process is stopped by PID, also when an assertion fails.

This test has timed assertions, as an explicit exception to the rule that tests have none: the
stabilization window is a duration, so when the first step down may come is the behaviour under test. The
bounds are derived from the scaler's own deadlines (its Prometheus and provider timeouts, its reconcile
interval) plus a stated scheduling slack (SCHEDULING_S), not tuned to a machine; the waits for the climb and
the return to min are deadlines for giving up, not measurements. How fast the loop reacts is measured in
benchmarks/reaction.py, not here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from faasplane.components.config import duration_seconds
from faasplane.components.platform import monitoring_config as mc
from tests import tiers
from tests.loop import harness
from tests.loop.harness import LoopFunction, running_loop

CAPACITY_RPS = 4.0
LOAD_RPS = 3 * CAPACITY_RPS
DOWN_WINDOW_S = 10.0
"""Long enough that the window still shows through the slack below: the first step down may come no
earlier than 10 - 3 - 1 = 6 s after the logged last firing decision, while a scaler ignoring the window
steps down when the alert resolves (with a 1s window label: 2 s after it, which fails)."""
HOLD_S = 10.0
"""Steady load after the target is reached: repeat notifications come every repeatInterval (2s) to
repeatInterval + groupInterval (3s), so at least 3 (2 are required) even at the slow end."""

PROMETHEUS_TIMEOUT_S = duration_seconds(harness.SCALER_KNOBS["SCALER_PROMETHEUS_TIMEOUT"])
PROVIDER_TIMEOUT_S = duration_seconds(harness.SCALER_KNOBS["SCALER_PROVIDER_TIMEOUT"])
RECONCILE_S = duration_seconds(harness.SCALER_KNOBS["SCALER_RECONCILE_INTERVAL"])
SCHEDULING_S = 1.0
"""Process and event-loop scheduling delays on a loaded 2-core CI machine, beyond the deadlines above."""

BUSY = LoopFunction("busy", CAPACITY_RPS, min=1, max=5, down_window=f"{DOWN_WINDOW_S:g}s")
IDLE = LoopFunction("idle", CAPACITY_RPS, min=1, max=5, down_window=f"{DOWN_WINDOW_S:g}s")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def loop() -> Iterator[harness.Loop]:
    try:
        binaries = harness.monitoring_binaries()
    except harness.MissingTools as error:
        tiers.require(False, "monitoring", str(error))
    pids: dict[str, int] = {}
    try:
        with running_loop([BUSY, IDLE], binaries=binaries) as running:
            pids = running.pids()
            yield running
    finally:
        alive = {name: pid for name, pid in pids.items() if not _gone(pid)}
        assert not alive, f"still running after the loop stopped: {alive}"


@pytest.mark.monitoring
@pytest.mark.timeout(180)
def test_load_step_scales_busy_function_up_holds_then_back_down_and_leaves_idle_alone(loop: harness.Loop) -> None:
    bound = harness.pipeline_bound_s(loop.config)
    need = BUSY.need(LOAD_RPS)
    assert need == 3 and BUSY.min < need < BUSY.max, "the step must need more than min and less than max"
    assert loop.replicas("busy") == BUSY.min and loop.replicas("idle") == IDLE.min

    t0 = loop.set_load("busy", LOAD_RPS)
    reached = loop.wait_for(f"busy at {need} replicas", lambda: loop.replicas("busy") >= need, timeout=6 * bound)

    # Steady load: notifications keep coming (repeatInterval), the replica count does not move.
    holds_before = loop.scaler_counter("scaler_decisions_total", function="busy.openfaas-fn", direction="none")
    steady = loop.observe("busy", HOLD_S)
    assert {replicas for _, replicas in steady} == {need}, f"replicas moved under steady load: {steady}"
    holds = loop.scaler_counter("scaler_decisions_total", function="busy.openfaas-fn", direction="none") - holds_before
    assert holds >= 2, f"only {holds} repeated firing decisions during {HOLD_S}s of steady load:\n{loop.logs()}"

    stopped = loop.set_load("busy", CAPACITY_RPS * harness.STOP_FRACTION)
    back = loop.wait_for("busy back at min", lambda: loop.replicas("busy") == BUSY.min, timeout=60)

    calls = loop.calls("busy")
    assert calls, "the scaler never called the provider"
    assert all(call.status == 202 and call.applied == call.replicas for call in calls), calls
    assert all(BUSY.min <= call.replicas <= BUSY.max for call in calls), calls
    up = [call for call in calls if call.time < stopped]
    down = [call for call in calls if call.time >= stopped]
    # Up: a non-decreasing climb to exactly the need, all before the hold began (repeats were no-ops).
    assert [c.replicas for c in up] == sorted(c.replicas for c in up) and up[-1].replicas == need, calls
    assert all(call.time <= reached for call in up), f"replicas moved during steady load: {calls}"
    # Down: only after the load stopped and the stabilization window passed, never back up.
    assert down and [c.replicas for c in down] == sorted((c.replicas for c in down), reverse=True), calls
    # The window counts from the last firing decision (the alert stays firing for a while after the
    # load stops); the first step down comes once it has passed, within a couple of reconcile ticks.
    # The log's `ts` is taken after the decision: after its Prometheus query (at most the scaler's
    # SCALER_PROMETHEUS_TIMEOUT) and, if it changed the count, its scale call (SCALER_PROVIDER_TIMEOUT),
    # while the window counts from the clock reading before both. So the window can have begun that
    # much (plus scheduling) before the logged time: the lower bound allows exactly that, no more.
    decisions = loop.scaler_decisions("busy")
    firing = max((e for e in decisions if e.get("trigger") == "firing"), key=lambda e: e["mono"])
    last_firing = firing["mono"]
    resolved = min(e["mono"] for e in decisions if e.get("trigger") == "resolved")
    logged_after = PROMETHEUS_TIMEOUT_S + (PROVIDER_TIMEOUT_S if firing["from"] != firing["to"] else 0.0) + SCHEDULING_S
    earliest = last_firing - logged_after + DOWN_WINDOW_S
    # At the latest: the reconcile tick running when the window passes finishes its query, sleeps one
    # interval, and the next tick queries Prometheus again before it calls the provider.
    latest = max(last_firing + DOWN_WINDOW_S, resolved) + 2 * PROMETHEUS_TIMEOUT_S + RECONCILE_S + SCHEDULING_S
    assert earliest <= down[0].time <= latest, (
        f"first step down {down[0].time - last_firing:.1f}s after the last firing decision "
        f"(resolved after {resolved - last_firing:.1f}s); window {DOWN_WINDOW_S}s, allowed "
        f"{earliest - last_firing:.1f}s to {latest - last_firing:.1f}s"
    )
    assert down[-1].replicas == BUSY.min
    # The idle function was never touched.
    assert loop.calls("idle") == [] and loop.replicas("idle") == IDLE.min
    print(f"\nreached {need} replicas {reached - t0:.1f}s after the step (pipeline bound {bound:.1f}s); "
          f"back at min {back - stopped:.1f}s after the load stopped; {len(calls)} scale calls; "
          f"last firing decision {last_firing - stopped:.1f}s after the stop, resolved {resolved - last_firing:.1f}s "
          f"and first step down {down[0].time - last_firing:.1f}s after it; {holds:g} holds during {HOLD_S:g}s")


def test_loopback_config_differs_from_the_dev_render_only_in_addresses(tmp_path) -> None:
    at = harness.Addresses(
        double="http://127.0.0.1:1001", scaler="http://127.0.0.1:1002", prometheus="http://127.0.0.1:1003",
        alertmanager="http://127.0.0.1:1004", password_file=tmp_path / "pw",
    )
    rendered = harness.rendered_documents()
    loopback = harness.loopback_documents(harness.stack_config(), at)
    harness.check_against_render(loopback, rendered)
    # The intervals really are the shortened ones, through the stack config.
    assert rendered[mc.PROMETHEUS_FILE]["global"]["evaluation_interval"] == "1s"
    assert rendered[mc.ALERTMANAGER_FILE]["route"]["group_wait"] == "1s"
    assert rendered[mc.RULES_FILE]["groups"][0]["rules"][0]["for"] == "2s"
    assert loopback[mc.PROMETHEUS_FILE]["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:1001"]}]
    # And any other difference is caught.
    loopback[mc.RULES_FILE]["groups"][0]["rules"][0]["for"] = "1s"
    with pytest.raises(AssertionError, match=r"rules.yml.*for"):
        harness.check_against_render(loopback, rendered)


def test_scaler_env_is_the_rendered_one_with_loopback_addresses(tmp_path) -> None:
    at = harness.Addresses(
        double="http://127.0.0.1:1001", scaler="http://127.0.0.1:1002", prometheus="http://127.0.0.1:1003",
        alertmanager="http://127.0.0.1:1004", password_file=tmp_path / "pw",
    )
    rendered = harness.rendered_documents()["scaler-env"]
    env = harness.scaler_env_from_render(rendered, at)
    assert env["SCALER_PROVIDER_URL"] == at.double and env["SCALER_PROMETHEUS_URL"] == at.prometheus
    unchanged = set(rendered) - {
        "SCALER_PROVIDER_URL", "SCALER_PROMETHEUS_URL", "SCALER_PROVIDER_PASSWORD_FILE",
        "SCALER_AUTH_PASSWORD_FILE", "SCALER_LISTEN",
    }
    assert unchanged and all(env[key] == rendered[key] for key in unchanged)
    assert "SCALER_LISTEN" not in env
