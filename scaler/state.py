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

from scaler.alerts import Alert, FunctionRef
from scaler.decision import History

MAX_TRACKED_ALERTS = 50_000


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


class ScalerState:
    def __init__(self) -> None:
        self.functions: dict[FunctionRef, FunctionState] = {}
        # fingerprint -> startsAt of the latest resolved episode seen (None: unknown startsAt)
        self._resolved: OrderedDict[str, datetime | None] = OrderedDict()

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

    def record_resolved(self, alert: Alert) -> None:
        """Remember the newest resolved episode (startsAt) of an alert fingerprint."""
        known = self._resolved.get(alert.fingerprint)
        newest = alert.starts_at
        if known is not None and (newest is None or known > newest):
            newest = known
        self._resolved[alert.fingerprint] = newest
        self._resolved.move_to_end(alert.fingerprint)
        while len(self._resolved) > MAX_TRACKED_ALERTS:
            self._resolved.popitem(last=False)

    def is_stale_firing(self, alert: Alert) -> bool:
        """A firing alert whose episode (same fingerprint, same or older startsAt) already resolved.

        Without startsAt on either side the episodes cannot be told apart and the firing is
        taken as a new episode.
        """
        if alert.fingerprint not in self._resolved:
            return False
        resolved_start = self._resolved[alert.fingerprint]
        if resolved_start is None or alert.starts_at is None:
            return False
        return alert.starts_at <= resolved_start
