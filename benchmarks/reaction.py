"""Reaction benchmark: a load step from 1x to 8x one replica's capacity, through the whole loop.

    python -m benchmarks.reaction [--repeat N] [--monitoring deployed|system|both] [--json FILE]

Runs the loopback harness of tests/loop (the double's gateway metrics, the real Prometheus and
Alertmanager with the dev stack's rendered config and shortened intervals, `python -m faasplane.scaler`) twice
in one run, once with SCALER_POLICY=openfaas and once with proportional, each on fresh processes; and that
for the deployed Prometheus/Alertmanager versions (make tools) and the system's (Debian's) side by side,
where both are there (`--monitoring`; a set that is not there is named in the output and the JSON, with
why). Each policy runs `--repeat` times (the policies alternate, so drift on a shared machine hits both
alike). For each it reports the median of the seconds from the step to the needed replica count, of the
replica-seconds of under-provisioning and of the number of scale calls (every sample is in the JSON), and the
configured pipeline bound (scrape + evaluation + for + group_wait). Target: proportional reaches the need at
least 4x sooner than openfaas, and within 2x the pipeline bound, judged on the medians.

Function: one replica serves CAPACITY rps (labels type=capacity, target = in-flight of one replica at
full capacity, target-proportion 1); max 10 so that 8x needs 8 <= max, factor 10 (the CE default,
so the openfaas policy steps +1 per notification); SCALER_MAX_REPLICAS_CAP unset (a Pro-like provider:
the dev stack's CE cap of 5 would make 8 unreachable for both policies).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import from the repository, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from scripts.tools import BUILT, SYSTEM, SYSTEM_NAMES, Located, locate, missing_message  # noqa: E402
from scripts.tools import bin_dir as tools_bin  # noqa: E402
from tests.loop import harness  # noqa: E402
from tests.loop.harness import Call, LoopFunction, running_loop  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "reaction.json"
POLICIES = ("openfaas", "proportional")
CAPACITY_RPS = 4.0
"""One replica's capacity: 1x (4 rps) stays under the dev alert threshold (5 rps), 8x (32 rps) is far above."""
STEP = 8
MAX_REPLICAS = 10
SETTLE_S = 12.0
"""1x load before the step: longer than the alert's rate window (10s), so the step starts from steady state."""
HORIZON_S = 45.0
"""Every run is measured over the same span after the step (extended if the need is not reached yet)."""
DEADLINE_S = 150.0
SPEEDUP_TARGET = 4.0
BOUND_FACTOR_TARGET = 2.0


def busy_function() -> LoopFunction:
    return LoopFunction("busy", CAPACITY_RPS, min=1, max=MAX_REPLICAS, down_window="5s")


def timeline(calls: list[Call], start: int, t0: float, end: float) -> list[tuple[float, int]]:
    """(seconds after the step, replicas from then on), starting with the count at the step."""
    points = [(0.0, start)]
    for call in calls:
        if t0 <= call.time <= end and call.applied is not None:
            points.append((call.time - t0, call.applied))
    return points


def underprovisioned(points: list[tuple[float, int]], need: int, horizon: float) -> float:
    """Integral over [0, horizon] of max(0, need - replicas)."""
    total = 0.0
    for (at, replicas), (until, _) in zip(points, [*points[1:], (horizon, 0)], strict=True):
        total += max(0, need - replicas) * max(0.0, min(until, horizon) - at)
    return total


def overprovisioned(points: list[tuple[float, int]], need: int, horizon: float) -> float:
    total = 0.0
    for (at, replicas), (until, _) in zip(points, [*points[1:], (horizon, 0)], strict=True):
        total += max(0, replicas - need) * max(0.0, min(until, horizon) - at)
    return total


def run_policy(policy: str, binaries: dict[str, Located], log_dir: Path | None = None,
               extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    busy = busy_function()
    idle = LoopFunction("idle", CAPACITY_RPS, min=1, max=MAX_REPLICAS)
    need = busy.need(STEP * CAPACITY_RPS)
    env: dict[str, str | None] = {**(extra_env or {}), "SCALER_POLICY": policy, "SCALER_MAX_REPLICAS_CAP": None}
    workdir = None if log_dir is None else log_dir / policy
    with running_loop([busy, idle], scaler_env=env, workdir=workdir, binaries=binaries) as loop:
        loop.set_load("busy", CAPACITY_RPS)
        settled = loop.observe("busy", SETTLE_S, poll=0.5)
        if loop.calls("busy") or any(replicas != busy.min for _, replicas in settled):
            raise RuntimeError(f"{policy}: the 1x load already scaled the function:\n{loop.logs()}")
        t0 = loop.set_load("busy", STEP * CAPACITY_RPS)
        reached: float | None = None
        deadline = t0 + DEADLINE_S
        while time.monotonic() < max(t0 + HORIZON_S, reached or deadline) and time.monotonic() < deadline:
            loop.check_alive()
            if reached is None and loop.replicas("busy") >= need:
                reached = time.monotonic()
            time.sleep(0.1)
        calls = loop.calls("busy")
        idle_calls = loop.calls("idle")
        bound = harness.pipeline_bound_s(loop.config)
        config = loop.config
    horizon = max(HORIZON_S, (reached - t0) if reached else DEADLINE_S)
    points = timeline(calls, busy.min, t0, t0 + horizon)
    time_to_target = next((at for at, replicas in points if replicas >= need), None)
    return {
        "time_to_target_s": None if time_to_target is None else round(time_to_target, 2),
        "underprovisioned_replica_s": round(underprovisioned(points, need, horizon), 1),
        "scale_calls": sum(1 for call in calls if t0 <= call.time <= t0 + horizon),
        "first_scale_s": round(points[1][0], 2) if len(points) > 1 else None,
        "overprovisioned_replica_s": round(overprovisioned(points, need, horizon), 1),
        "replicas_at_end": points[-1][1],
        "timeline": [[round(at, 2), replicas] for at, replicas in points],
        "idle_function_calls": len(idle_calls),
        "measured_over_s": horizon,
        "_bound": bound,
        "_config": config,
    }


MEDIAN_FIELDS = ("time_to_target_s", "underprovisioned_replica_s", "scale_calls", "first_scale_s",
                 "overprovisioned_replica_s")
"""The fields reported as the median of the samples (a run that never got there counts as the slowest)."""


def median_of(values: list[float | None]) -> float | None:
    """The median, with None (never reached) as infinitely late; None when that is the median."""
    middle = statistics.median(math.inf if value is None else value for value in values)
    return None if math.isinf(middle) else round(middle, 2)


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """One policy's row: the medians of its samples, and every sample."""
    return {**{field: median_of([sample[field] for sample in samples]) for field in MEDIAN_FIELDS},
            "samples": samples}


def measure(binaries: dict[str, Located], log_dir: Path | None, extra_env: dict[str, str],
            repeat: int = 1) -> dict[str, Any]:
    """Both policies, `repeat` times each (alternating), on fresh processes with these binaries."""
    samples: dict[str, list[dict[str, Any]]] = {policy: [] for policy in POLICIES}
    for index in range(repeat):
        for policy in POLICIES:
            run_dir = None if log_dir is None else log_dir / f"run-{index + 1}"
            samples[policy].append(run_policy(policy, binaries, run_dir, extra_env))
            print(f"  {policy} run {index + 1}/{repeat}: to need {samples[policy][-1]['time_to_target_s']}s",
                  flush=True)
    bound = samples["proportional"][0]["_bound"]
    config = samples["proportional"][0]["_config"]
    for sample in (sample for runs in samples.values() for sample in runs):
        sample.pop("_bound")
        sample.pop("_config")
    results = {policy: summarise(runs) for policy, runs in samples.items()}
    slow, fast = results["openfaas"]["time_to_target_s"], results["proportional"]["time_to_target_s"]
    speedup = None if not slow or not fast else round(slow / fast, 2)
    notes = []
    if any(len(sample["timeline"]) > 2 for sample in samples["proportional"]):
        notes.append(
            "proportional needed several decisions to reach the need: the scaler limits a scale-up to "
            "max(SCALER_UP_FACTOR x base, base + SCALER_UP_ADDEND) per SCALER_UP_PERIOD (max(10 x base, "
            "base + 4) by default), and each further decision waits for the next "
            "Alertmanager notification (repeat_interval), the same cadence that paces openfaas's +1 steps"
        )
    return {
        "monitoring": {name: {"version": located.version, "origin": located.origin, "path": str(located.path)}
                       for name, located in binaries.items()},
        "pipeline_bound_s": bound,
        "repeat": repeat,
        "openfaas": results["openfaas"],
        "proportional": results["proportional"],
        "target": {
            "speedup": speedup,
            "speedup_at_least": SPEEDUP_TARGET,
            "speedup_met": speedup is not None and speedup >= SPEEDUP_TARGET,
            "proportional_within_s": BOUND_FACTOR_TARGET * bound,
            "proportional_within_bound_met": fast is not None and fast <= BOUND_FACTOR_TARGET * bound,
            "notes": notes,
        },
        "_config": config,
    }


MONITORING = ("prometheus", "alertmanager")


def monitoring_sets(which: str) -> tuple[dict[str, dict[str, Located]], dict[str, str]]:
    """The Prometheus/Alertmanager pairs to compare: the deployed versions (make tools) and the system's;
    and, for each asked for but not there, why."""
    sets: dict[str, dict[str, Located]] = {}
    skipped: dict[str, str] = {}
    if which in ("deployed", "both"):
        built = {name: locate(name, allow_system=False) for name in MONITORING}
        absent = [name for name, located in built.items() if located is None or located.origin != BUILT]
        if absent:
            skipped["deployed"] = missing_message(absent)
        else:
            sets["deployed"] = built  # type: ignore[assignment]
    if which in ("system", "both"):
        system = {name: _system(name) for name in MONITORING}
        absent = [name for name, located in system.items() if located is None]
        if absent:
            skipped["system"] = (f"{', '.join(absent)} not on PATH outside {tools_bin()} (Debian: the packages "
                                 "prometheus and prometheus-alertmanager)")
        else:
            sets["system"] = system  # type: ignore[assignment]
    return sets, skipped


def _system(name: str) -> Located | None:
    for candidate in SYSTEM_NAMES.get(name, (name,)):
        found = shutil.which(candidate)
        if found and not found.startswith(str(tools_bin())):
            return Located(name, Path(found), SYSTEM)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reaction", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"write results here (default {DEFAULT_JSON})")
    parser.add_argument("--logs", type=Path, help="keep each run's configs and process logs under this directory")
    parser.add_argument("--monitoring", choices=["deployed", "system", "both"], default="both",
                        help="which Prometheus/Alertmanager to run: the deployed versions built by make tools, "
                             "the system's (Debian's), or both side by side (default; what is there)")
    parser.add_argument("--repeat", type=int, default=3, metavar="N",
                        help="runs of each policy per monitoring set; the table shows medians (default 3)")
    parser.add_argument("--scaler-env", action="append", default=[], metavar="SCALER_X=VALUE",
                        help="an extra scaler setting for both runs (e.g. a knob under evaluation)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    extra_env: dict[str, str] = {}
    for item in args.scaler_env:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("SCALER_") or key in ("SCALER_POLICY", "SCALER_MAX_REPLICAS_CAP"):
            parser.error(f"--scaler-env {item!r}: expected SCALER_X=VALUE (not the policy or the cap)")
        extra_env[key] = value
    sets, skipped = monitoring_sets(args.monitoring)
    for label, reason in skipped.items():
        print(f"== {label}: not measured: {reason}", flush=True)
    if not sets:
        print("error: the reaction benchmark needs Prometheus and Alertmanager", file=sys.stderr)
        return 2

    runs: dict[str, dict[str, Any]] = {}
    for label, binaries in sets.items():
        versions = ", ".join(located.describe() for located in binaries.values())
        print(f"== {label}: {versions}", flush=True)
        log_dir = None if args.logs is None else args.logs / label
        runs[label] = measure(binaries, log_dir, extra_env, args.repeat)
    config = next(iter(runs.values())).pop("_config")
    for run in runs.values():
        run.pop("_config", None)
    busy = busy_function()
    need = busy.need(STEP * CAPACITY_RPS)
    bound = next(iter(runs.values()))["pipeline_bound_s"]
    report: dict[str, Any] = {
        "runs": runs,
        "not_measured": skipped,
        "machine": {"cpu_count": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "setup": {
            "load_rps_before": CAPACITY_RPS,
            "load_rps_after": STEP * CAPACITY_RPS,
            "capacity_rps_per_replica": CAPACITY_RPS,
            "needed_replicas": need,
            "function_labels": busy.labels,
            "provider": (
                "Pro-like: SCALER_MAX_REPLICAS_CAP unset (the dev stack's CE cap of 5 would make 8 unreachable)"
            ),
            "alert": {
                "threshold_rps": config.alert_rule.threshold_rps,
                "rate_window": config.alert_rule.rate_window,
                "for": config.alert_rule.for_,
            },
            "prometheus": {
                "scrape_interval": config.prometheus.gateway_scrape_interval,
                "evaluation_interval": config.prometheus.evaluation_interval,
            },
            "alertmanager": {
                "group_wait": config.alertmanager.group_wait,
                "group_interval": config.alertmanager.group_interval,
                "repeat_interval": config.alertmanager.repeat_interval,
            },
            "scaler_knobs": {**harness.SCALER_KNOBS, **extra_env},
        },
    }

    print(f"load step {CAPACITY_RPS:g} -> {STEP * CAPACITY_RPS:g} rps ({STEP}x one replica), need {need} replicas "
          f"(max {MAX_REPLICAS}, no provider cap); pipeline bound {bound:g}s "
          f"(scrape {config.prometheus.gateway_scrape_interval} + eval {config.prometheus.evaluation_interval} "
          f"+ for {config.alert_rule.for_} + group_wait {config.alertmanager.group_wait}), "
          f"repeat_interval {config.alertmanager.repeat_interval}")
    labels = {label: f"{label} (P {run['monitoring']['prometheus']['version']}, "
                     f"AM {run['monitoring']['alertmanager']['version']})" for label, run in runs.items()}
    width = max(len("monitoring"), *map(len, labels.values())) + 2
    header = (f"{'monitoring':<{width}}{'policy':<13}{'to need (s)':>12}{'first call (s)':>16}{'under (rep-s)':>15}"
              f"{'over (rep-s)':>14}{'calls':>7}")
    print(f"medians of {args.repeat} run(s) of each policy")
    print(header)
    print("-" * len(header))
    for label, run in runs.items():
        versions = labels[label]
        for policy in POLICIES:
            row = run[policy]
            to_need = "never" if row["time_to_target_s"] is None else f"{row['time_to_target_s']:.1f}"
            first = "-" if row["first_scale_s"] is None else f"{row['first_scale_s']:.1f}"
            print(f"{versions:<{width}}{policy:<13}{to_need:>12}{first:>16}{row['underprovisioned_replica_s']:>15.1f}"
                  f"{row['overprovisioned_replica_s']:>14.1f}{row['scale_calls']:>7g}")
    for label, run in runs.items():
        target = run["target"]
        fast = run["proportional"]["time_to_target_s"]
        print(f"{label}: speedup {target['speedup']}x (target >= {SPEEDUP_TARGET:g}x: "
              f"{'met' if target['speedup_met'] else 'NOT met'}); proportional {fast}s vs 2 x bound = "
              f"{BOUND_FACTOR_TARGET * bound:g}s ({'met' if target['proportional_within_bound_met'] else 'NOT met'})")
    for label in skipped:
        print(f"{label}: not measured (see above), so there is no side-by-side comparison with it")
        for note in target["notes"]:
            print(f"note: {note}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
