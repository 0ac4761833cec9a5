"""The arithmetic of benchmarks/reaction.py on hand-made timelines (the live runs are `make bench`)."""

from __future__ import annotations

import pytest

from benchmarks.reaction import overprovisioned, timeline, underprovisioned
from tests.loop.harness import LATENCY_S, Call, LoopFunction


def test_timeline_starts_at_the_step_and_keeps_only_applied_calls_inside_the_span() -> None:
    calls = [
        Call(99.0, 3, 3, 202),  # before the step: not part of this run's reaction
        Call(104.0, 5, 5, 202),
        Call(105.0, 6, None, 500),  # refused: nothing applied
        Call(107.0, 8, 8, 202),
        Call(200.0, 9, 9, 202),  # after the horizon
    ]
    assert timeline(calls, 1, t0=100.0, end=150.0) == [(0.0, 1), (4.0, 5), (7.0, 8)]


def test_under_and_over_provisioning_integrate_the_gap_to_the_need() -> None:
    points = [(0.0, 1), (4.0, 5), (7.0, 8), (10.0, 10)]
    # 7 missing for 4 s, 3 missing for 3 s, then none.
    assert underprovisioned(points, need=8, horizon=20.0) == pytest.approx(7 * 4 + 3 * 3)
    # 2 extra from 10 s to the 20 s horizon.
    assert overprovisioned(points, need=8, horizon=20.0) == pytest.approx(2 * 10)
    # A horizon before the target is reached cuts the integral.
    assert underprovisioned(points, need=8, horizon=2.0) == pytest.approx(7 * 2)


def test_need_is_the_offered_load_over_one_replicas_capacity_within_min_and_max() -> None:
    fn = LoopFunction("f", 4.0, min=1, max=10)
    assert [fn.need(rps) for rps in (0, 1, 4, 4.5, 32, 100)] == [1, 1, 1, 2, 8, 10]
    # The labels make the proportional policy's capacity formula give exactly that need.
    target = float(fn.labels["com.openfaas.scale.target"])
    assert fn.labels["com.openfaas.scale.type"] == "capacity"
    assert 32 * LATENCY_S / target == pytest.approx(8)
