"""Alert episodes: which notifications a later one has superseded."""

from __future__ import annotations

from datetime import UTC, datetime

from faasplane.scaler.alerts import Alert, FunctionRef
from faasplane.scaler.state import ScalerState

T1 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
T2 = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
ECHO = FunctionRef("echo", "openfaas-fn")


def alert(status: str, starts: datetime | None, fingerprint: str = "f1") -> Alert:
    return Alert(status, ECHO, "APIHighInvocationRate", fingerprint, starts)


def seen(*alerts: Alert) -> ScalerState:
    state = ScalerState()
    for item in alerts:
        state.record(item)
    return state


def test_nothing_is_stale_at_first():
    assert not ScalerState().is_stale(alert("firing", T1))
    assert not ScalerState().is_stale(alert("resolved", T1))


def test_a_firing_after_its_resolved_is_stale_a_new_episode_is_not():
    state = seen(alert("firing", T1), alert("resolved", T1))
    assert state.is_stale(alert("firing", T1))
    assert not state.is_stale(alert("firing", T2))
    assert not state.is_stale(alert("firing", T1, fingerprint="other"))


def test_a_resolved_of_an_older_episode_after_a_new_firing_is_stale():
    state = seen(alert("firing", T1), alert("resolved", T1), alert("firing", T2))
    assert state.is_stale(alert("resolved", T1))
    assert not state.is_stale(alert("resolved", T2))
    assert not state.is_stale(alert("firing", T2))  # repeats of the current episode are not stale


def test_without_starts_at_episodes_cannot_be_told_apart():
    state = seen(alert("firing", None), alert("resolved", None))
    assert not state.is_stale(alert("firing", None))
    state = seen(alert("resolved", T2))
    assert not state.is_stale(alert("firing", None))


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr("faasplane.scaler.state.MAX_TRACKED_ALERTS", 3)
    state = seen(*(alert("resolved", T1, fingerprint=f"f{i}") for i in range(5)))
    assert not state.is_stale(alert("firing", T1, fingerprint="f0"))  # forgotten, oldest first
    assert state.is_stale(alert("firing", T1, fingerprint="f4"))
