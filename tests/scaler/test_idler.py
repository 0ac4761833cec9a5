"""Idle scale-to-zero: only opted-in functions, only after a full quiet window, never spinning on CE."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from faasplane.scaler.idler import Idler
from faasplane.scaler.labels import SCALE_ZERO, SCALE_ZERO_DURATION
from tests.doubles.faas_provider import DoubleFunction, FaasProviderDouble

from .conftest import FakeClock, StaticLoad, firing, harness

pytestmark = pytest.mark.anyio

NS = "openfaas-fn"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
ZERO = {SCALE_ZERO: "true", SCALE_ZERO_DURATION: "5m"}


def quiet_prometheus(*known: str, busy: dict[str, float] | None = None) -> StaticLoad:
    """Prometheus that knows `known` functions and saw no invocations (increase() is 0) except `busy`."""
    busy = busy or {}
    return StaticLoad(
        vectors={"capacity": {}},
        queries={
            # never_invoked_query (checked first: it names gateway_service_count too)
            "offset": {},
            "increase(gateway_function_invocation_started": {f"{n}.{NS}": busy.get(n, 0.0) for n in known},
            "gateway_service_count": {f"{name}.{NS}": 1.0 for name in known},
        },
    )


def provider(*functions: DoubleFunction, ce: bool = False) -> FaasProviderDouble:
    return FaasProviderDouble(functions, ce=ce)


def idle_fn(name: str, **overrides) -> DoubleFunction:
    return DoubleFunction(name, **{"labels": dict(ZERO), "replicas": 2, "created_at": LONG_AGO, **overrides})


async def test_an_idle_opted_in_function_goes_to_zero_after_the_window():
    double = provider(idle_fn("sleepy"), DoubleFunction("plain", created_at=LONG_AGO), idle_fn("busy"))
    with double.serve() as url:
        async with harness(url, load=quiet_prometheus("sleepy", "plain", "busy", busy={"busy": 3.0})) as h:
            await Idler(h.scaler).run_once()
            assert double.calls == []  # the scaler itself has not been up for the window yet
            h.clock.advance(301)
            await Idler(h.scaler).run_once()
            await Idler(h.scaler).run_once()
    assert [(c.function, c.replicas) for c in double.calls] == [("sleepy", 0)]
    assert double.replicas("plain") == 1 and double.replicas("busy") == 2


async def test_not_within_the_window_after_creation():
    now = datetime.now(UTC)
    double = provider(idle_fn("fresh", created_at=now - timedelta(seconds=60)))
    with double.serve() as url:
        wall = now.timestamp()
        async with harness(url, load=quiet_prometheus("fresh"), wall_clock=lambda: wall) as h:
            h.clock.advance(301)
            await Idler(h.scaler).run_once()
            assert double.calls == []
            wall += 300
            await Idler(h.scaler).run_once()
    assert double.replicas("fresh") == 0


async def test_not_within_the_window_after_a_scale_up():
    double = provider(idle_fn("sleepy"))
    with double.serve() as url:
        async with harness(url, load=quiet_prometheus("sleepy")) as h:
            h.clock.advance(301)
            await h.alert(firing("sleepy"))  # fallback step: 2 -> 4
            await Idler(h.scaler).run_once()
            assert double.replicas("sleepy") == 4
            h.clock.advance(301)
            await Idler(h.scaler).run_once()
            assert double.replicas("sleepy") == 0


async def test_a_scale_from_zero_by_the_gateway_restarts_the_window():
    double = provider(idle_fn("sleepy", replicas=0))
    with double.serve() as url:
        async with harness(url, load=quiet_prometheus("sleepy")) as h:
            h.clock.advance(301)
            await Idler(h.scaler).run_once()  # already zero: nothing to do
            double.set_replicas("sleepy", 1)  # the gateway scaled it up for a request
            await Idler(h.scaler).run_once()
            assert double.replicas("sleepy") == 1
            h.clock.advance(301)
            await Idler(h.scaler).run_once()
            assert double.replicas("sleepy") == 0


async def test_without_metrics_nothing_is_scaled_to_zero():
    double = provider(idle_fn("sleepy"))
    with double.serve() as url:
        unknown = StaticLoad(vectors={"capacity": {}}, queries={"gateway_service_count": {}})
        async with harness(url, load=unknown) as h:  # Prometheus does not see the gateway's metrics
            h.clock.advance(301)
            await Idler(h.scaler).run_once()
        down = StaticLoad(vectors={"capacity": None}, queries={})  # Prometheus unreachable
        async with harness(url, load=down) as h:
            h.clock.advance(301)
            await Idler(h.scaler).run_once()
        async with harness(url, load=None) as h:  # no Prometheus configured: the idler is off
            h.clock.advance(301)
            await Idler(h.scaler).run_once()
    assert double.calls == []
    assert double.operations["list"] == 2


async def test_ce_refusing_zero_is_logged_once_and_never_retried(caplog):
    caplog.set_level(logging.INFO, logger="scaler")
    double = provider(idle_fn("sleepy"), ce=True)
    with double.serve() as url:
        async with harness(url, load=quiet_prometheus("sleepy")) as h:
            h.clock.advance(301)
            for _ in range(5):
                await Idler(h.scaler).run_once()
                h.clock.advance(60)
            text = (await h.client.get("/metrics")).text
    assert [(c.replicas, c.status_code) for c in double.calls] == [(0, 400)]
    assert double.replicas("sleepy") == 2
    refusals = [json.loads(r.getMessage()) for r in caplog.records if "scale-to-zero-refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0]["function"] == "sleepy"
    assert "scaler_scale_to_zero_refused_total 1.0" in text


async def test_idle_decisions_are_logged_and_counted(caplog):
    caplog.set_level(logging.INFO, logger="scaler")
    double = provider(idle_fn("sleepy"))
    with double.serve() as url:
        async with harness(url, load=quiet_prometheus("sleepy"), clock=FakeClock(0.0)) as h:
            h.clock.advance(301)
            await Idler(h.scaler).run_once()
            text = (await h.client.get("/metrics")).text
    lines = [json.loads(r.getMessage()) for r in caplog.records if '"event":"decision"' in r.getMessage()]
    assert [(line["from"], line["to"], line["reason"], line["trigger"]) for line in lines] == [(2, 0, "idle", "idle")]
    assert 'scaler_decisions_total{direction="down",function="sleepy.openfaas-fn",reason="idle"} 1.0' in text


async def test_a_scale_up_while_the_idler_waits_for_the_lock_cancels_the_scale_to_zero():
    double = provider(idle_fn("z", replicas=1, labels={**ZERO, "com.openfaas.scale.max": "20"}))
    load = quiet_prometheus("z")
    load.vectors["rps"] = {f"z.{NS}": 400.0}  # the webhook's view: needs 9
    with double.serve() as url:
        async with harness(url, load=load) as h:
            h.clock.advance(3600)
            double.set_fault("z", hang=0.3, operations=["scale"])  # the webhook holds z's lock meanwhile
            hook = asyncio.create_task(h.alert(firing("z")))
            await asyncio.sleep(0.1)
            await Idler(h.scaler).run_once()  # listed z at 1 replica, idle by the metrics: waits for the lock
            assert (await hook).json()["results"][0]["to"] == 9
    assert [(c.replicas, c.status_code) for c in double.calls] == [(9, 202)]
    assert double.replicas("z") == 9


async def test_a_short_zero_duration_is_raised_to_the_floor_so_a_scale_from_zero_is_not_undone_at_once():
    double = provider(idle_fn("z", replicas=0, labels={SCALE_ZERO: "true", SCALE_ZERO_DURATION: "1s"}))
    with double.serve() as url:
        async with harness(url, load=quiet_prometheus("z"), idle_interval=10.0) as h:
            h.clock.advance(3600)
            await Idler(h.scaler).run_once()
            double.set_replicas("z", 1)  # the gateway scaled it from zero for a request
            for _ in range(5):
                h.clock.advance(10)
                await Idler(h.scaler).run_once()
                assert double.replicas("z") == 1  # not within the window's floor of 60 s
            h.clock.advance(20)
            await Idler(h.scaler).run_once()
            assert double.replicas("z") == 0


async def test_no_invocation_series_is_idle_only_after_the_gateway_reported_the_function_for_a_window():
    double = provider(idle_fn("z"))
    with double.serve() as url:
        young = quiet_prometheus("z")
        young.queries["increase(gateway_function_invocation_started"] = {}  # increase() has no series
        async with harness(url, load=young) as h:
            h.clock.advance(301)
            await Idler(h.scaler).run_once()
            assert double.calls == []  # e.g. the first invocation after a scale from zero: not idle
            young.queries["offset"] = {f"z.{NS}": 1.0}  # reported a window ago, never invoked since
            await Idler(h.scaler).run_once()
    assert [(c.function, c.replicas) for c in double.calls] == [("z", 0)]
    assert any("offset 300s" in query and "unless" in query for query in young.asked)


async def test_one_function_that_fails_does_not_stop_the_pass(monkeypatch):
    double = provider(idle_fn("bad"), idle_fn("good"))
    with double.serve() as url:
        async with harness(url, load=quiet_prometheus("bad", "good")) as h:
            h.clock.advance(301)
            real = h.scaler.spec_for
            calls = {"n": 0}

            def spec_for(info):
                if info.name == "bad" and calls["n"] > 0:
                    raise OverflowError("date value out of range")
                calls["n"] += info.name == "bad"
                return real(info)

            monkeypatch.setattr(h.scaler, "spec_for", spec_for)
            await Idler(h.scaler).run_once()
            text = (await h.client.get("/metrics")).text
    assert [(c.function, c.replicas) for c in double.calls] == [("good", 0)]
    assert 'scaler_unexpected_errors_total{where="idler"} 1.0' in text
