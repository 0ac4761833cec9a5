"""In-memory state of the scaler: per-function locks and history, and seen alert episodes.

State is deliberately small and rebuilt from nothing after a restart: the decisions are
fail-safe without it (no scale-down below the current count on a firing alert, the idler waits
a full zero-duration of uptime).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from faasplane.scaler.alerts import Alert, FunctionRef
from faasplane.scaler.decision import History

MAX_TRACKED_ALERTS = 50_000

# Identity of one delivery of one alert: (function key, fingerprint or labels hash, startsAt, status).
DeliveryKey = tuple[str, str, datetime | None, str]


@dataclass
class FunctionState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    history: History = field(default_factory=History)
    descending: bool = False
    zero_refused: bool = False
    last_scale_up: float | None = None
    last_seen_replicas: int | None = None
    waiters: int = 0
    # Bumped on every replica change the scaler makes; a prefetched read is only used if unchanged.
    version: int = 0


@dataclass(frozen=True)
class Delivery:
    """What the scaler did for one alert delivery (`openfaas` policy), remembered until `expires`.

    `done` is False when the scale call failed transiently: it may or may not have been applied,
    so a re-delivery checks whether the count is now `to` before stepping again.
    """

    expires: float
    done: bool
    outcome: str
    reason: str
    before: int | None
    to: int | None


@dataclass
class Episodes:
    """The newest episode (startsAt) seen firing and seen resolved for one alert fingerprint."""

    firing: datetime | None = None
    resolved: datetime | None = None


def _newest(known: datetime | None, seen: datetime | None) -> datetime | None:
    if known is None:
        return seen
    if seen is None:
        return known
    return max(known, seen)


class ScalerState:
    def __init__(self) -> None:
        self.functions: dict[FunctionRef, FunctionState] = {}
        self._episodes: OrderedDict[str, Episodes] = OrderedDict()
        self._deliveries: OrderedDict[DeliveryKey, Delivery] = OrderedDict()

    def function(self, ref: FunctionRef) -> FunctionState:
        state = self.functions.get(ref)
        if state is None:
            state = self.functions[ref] = FunctionState()
        return state

    def forget(self, ref: FunctionRef) -> None:
        """Drop a function nobody waits on (e.g. the provider does not know it)."""
        state = self.functions.get(ref)
        if state is not None and state.waiters == 0:
            del self.functions[ref]

    def descending(self) -> list[FunctionRef]:
        return [ref for ref, state in self.functions.items() if state.descending]

    def observe_replicas(self, ref: FunctionRef, replicas: int, now: float) -> None:
        """Remember the count seen at the provider; an increase counts as a scale-up (e.g. from zero)."""
        state = self.function(ref)
        if state.last_seen_replicas is not None and replicas > state.last_seen_replicas:
            state.last_scale_up = now
        state.last_seen_replicas = replicas

    def is_stale(self, alert: Alert) -> bool:
        """Whether a notification belongs to an episode that a later one already superseded.

        A firing alert is stale once the same fingerprint was seen resolved with the same or a
        later startsAt (a retry or HA duplicate arriving after the resolved). A resolved alert is
        stale once the same fingerprint was seen firing with a later startsAt (the alert fired
        again since). Without startsAt on both sides, episodes cannot be told apart: not stale.
        """
        episodes = self._episodes.get(alert.fingerprint)
        if episodes is None or alert.starts_at is None:
            return False
        if alert.status == "firing":
            return episodes.resolved is not None and alert.starts_at <= episodes.resolved
        return episodes.firing is not None and alert.starts_at < episodes.firing

    def record(self, alert: Alert) -> None:
        """Remember a (not stale) alert's episode; the oldest fingerprints are forgotten first."""
        episodes = self._episodes.pop(alert.fingerprint, None) or Episodes()
        if alert.status == "firing":
            episodes.firing = _newest(episodes.firing, alert.starts_at)
        else:
            episodes.resolved = _newest(episodes.resolved, alert.starts_at)
        self._episodes[alert.fingerprint] = episodes
        while len(self._episodes) > MAX_TRACKED_ALERTS:
            self._episodes.popitem(last=False)

    def delivery(self, key: DeliveryKey, now: float) -> Delivery | None:
        """The remembered outcome of an earlier delivery of the same alert, if not expired."""
        while self._deliveries:  # drop expired entries, oldest first (all share one window)
            oldest_key, oldest = next(iter(self._deliveries.items()))
            if oldest.expires > now:
                break
            del self._deliveries[oldest_key]
        return self._deliveries.get(key)

    def remember_delivery(self, key: DeliveryKey, delivery: Delivery) -> None:
        self._deliveries.pop(key, None)
        self._deliveries[key] = delivery
        while len(self._deliveries) > MAX_TRACKED_ALERTS:
            self._deliveries.popitem(last=False)
