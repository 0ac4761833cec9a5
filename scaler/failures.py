"""Logging of failed provider calls, rate-limited so that an alert storm does not flood the log.

`ProviderClient` reports every failed call (and every successful one) to a `FailureLog`, keyed by
subject (a function, a namespace's list, the readiness check) and error kind (`http-500`,
`connection`, `timeout`, ...). Per key:

* the first failure is one `provider-call-failed` line with the cause and the retry outlook;
* repeats are counted, not logged; once `interval` has passed since the key's last line, the
  next repeat (or `flush`, which the app runs every interval and at shutdown) writes one
  `provider-call-failures` line: the latest failure, `repeats` (how many since) and `since`;
* the first successful call for a subject after failures writes one `provider-recovered` line
  with the number of failed calls and when they started, and forgets the subject.

The retry outlook (what happens after the failure: Alertmanager's retry, the reconcile loop, the
idler's next pass, ...) is known to the caller, not to the client: the caller sets it for the calls
it makes with `outlook(...)` (a context variable, so concurrent webhooks and loops each see their
own). Clocks and the emitting function are injectable for tests.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from faasplane.scaler.logs import log_event

# At most one line per (subject, error kind) per interval while failures go on.
FAILURE_LOG_INTERVAL = 60.0
# A subject without any failure for this long is forgotten (a later failure is logged as a first one).
FORGET_AFTER = 3600.0
# Subjects remembered at most (the oldest failing one is forgotten first).
MAX_SUBJECTS = 10_000

FAILED_EVENT = "provider-call-failed"
REPEATED_EVENT = "provider-call-failures"
RECOVERED_EVENT = "provider-recovered"


@dataclass(frozen=True)
class Outlook:
    """What happens after a failed provider call, told in its log line."""

    retry: str
    """After a failure a retry may fix: network, timeout, 3xx/5xx, 401/403/408/429, an unusable answer."""
    final: str
    """After a permanent one: the function is unknown (404) or the provider refused the count (4xx)."""

    def for_error(self, transient: bool) -> str:
        return self.retry if transient else self.final


NO_OUTLOOK = Outlook("the caller gets the error", "the caller gets the error")
current_outlook: contextvars.ContextVar[Outlook] = contextvars.ContextVar("current_outlook", default=NO_OUTLOOK)


@contextlib.contextmanager
def outlook(value: Outlook) -> Iterator[None]:
    """Provider calls made inside the block are logged with this outlook if they fail."""
    token = current_outlook.set(value)
    try:
        yield
    finally:
        current_outlook.reset(token)


def describe_exception(error: BaseException) -> str:
    """`Class: message`, with the root cause when the chain has a different one (e.g. the OSError)."""
    text = _one(error)
    root = error
    seen = {id(error)}
    while True:
        following = root.__cause__ or root.__context__
        if following is None or id(following) in seen:
            break
        seen.add(id(following))
        root = following
    if root is not error:
        root_text = _one(root)
        if str(root) and str(root) not in text:
            text = f"{text} ({root_text})"
    return text[:300]


def _one(error: BaseException) -> str:
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def excerpt(text: str, limit: int = 160) -> str:
    """A body as one short line: whitespace collapsed, cut at `limit` characters."""
    line = " ".join(text[: limit * 8].split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def iso(timestamp: float) -> str:
    """Unix seconds as an ISO 8601 UTC time with milliseconds."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp))
    return f"{whole}.{int(timestamp * 1000) % 1000:03d}Z"


@dataclass
class _Entry:
    first_wall: float  # when the first failure of this run happened (Unix seconds)
    logged_at: float  # monotonic time of this key's last line
    logged_wall: float  # the same as Unix seconds, for `since`
    last_failure: float  # monotonic time of the latest failure
    fields: dict[str, object]  # the latest failure's fields
    total: int = 1  # failures since the first
    pending: int = 0  # failures since the last line, not logged yet


@dataclass
class _Subject:
    identity: dict[str, object]  # function/namespace or operation, repeated in every line
    kinds: dict[str, _Entry] = field(default_factory=dict)


class FailureLog:
    """Per (subject, error kind): the first failure, then at most one summary per interval; recovery once."""

    def __init__(
        self,
        interval: float = FAILURE_LOG_INTERVAL,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        emit: Callable[..., None] = log_event,
        forget_after: float = FORGET_AFTER,
        max_subjects: int = MAX_SUBJECTS,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.wall_clock = wall_clock
        self.emit = emit
        self.forget_after = forget_after
        self.max_subjects = max_subjects
        self._subjects: OrderedDict[str, _Subject] = OrderedDict()  # least recently failed first

    def __len__(self) -> int:
        return len(self._subjects)

    def failed(self, subject: str, kind: str, identity: Mapping[str, object], details: Mapping[str, object]) -> None:
        """A call for `subject` failed with `kind`; `details` are the cause, outlook and so on."""
        now, wall = self.clock(), self.wall_clock()
        entry_subject = self._subjects.get(subject)
        if entry_subject is None:
            while len(self._subjects) >= self.max_subjects:
                self._subjects.popitem(last=False)
            entry_subject = self._subjects[subject] = _Subject(dict(identity))
        else:
            self._subjects.move_to_end(subject)
        fields = {**entry_subject.identity, "error": kind, **details}
        entry = entry_subject.kinds.get(kind)
        if entry is None:
            entry_subject.kinds[kind] = _Entry(wall, now, wall, now, fields)
            self.emit(logging.WARNING, FAILED_EVENT, **fields)
            return
        entry.total += 1
        entry.pending += 1
        entry.last_failure = now
        entry.fields = fields
        if now - entry.logged_at >= self.interval:
            self._summarize(entry, now, wall)

    def succeeded(self, subject: str) -> None:
        """A call for `subject` worked: one `provider-recovered` line if it was failing."""
        if not self._subjects:
            return
        entry_subject = self._subjects.pop(subject, None)
        if entry_subject is None:
            return
        entries = entry_subject.kinds.values()
        first = min(entry.first_wall for entry in entries)
        wall = self.wall_clock()
        self.emit(
            logging.INFO, RECOVERED_EVENT, **entry_subject.identity,
            failures=sum(entry.total for entry in entries), errors=sorted(entry_subject.kinds),
            since=iso(first), seconds=round(max(0.0, wall - first), 3),
        )

    def flush(self, *, final: bool = False) -> None:
        """Summarize the repeats not logged for an interval (all of them if `final`); forget stale subjects."""
        now, wall = self.clock(), self.wall_clock()
        for subject, entry_subject in list(self._subjects.items()):
            for entry in entry_subject.kinds.values():
                if entry.pending and (final or now - entry.logged_at >= self.interval):
                    self._summarize(entry, now, wall)
            latest = max(entry.last_failure for entry in entry_subject.kinds.values())
            if now - latest >= self.forget_after and not any(e.pending for e in entry_subject.kinds.values()):
                del self._subjects[subject]

    def _summarize(self, entry: _Entry, now: float, wall: float) -> None:
        since = iso(entry.logged_wall)
        self.emit(
            logging.WARNING, REPEATED_EVENT, **entry.fields, repeats=entry.pending, since=since,
            message=f"{entry.pending} more since {since}",
        )
        entry.pending = 0
        entry.logged_at = now
        entry.logged_wall = wall
