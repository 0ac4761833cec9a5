"""Scaling decisions as pure functions: no I/O, no clock, no globals.

Every function takes what it needs (the function's `ScaleSpec`, its current replicas, a load
sample, the function's `History` and `now`) and returns a `Decision`: the target, a reason and
the updated history. The caller applies the target and, only if that worked, keeps the history.

Rules of the `proportional` policy:

* Firing, load known: `desired = ceil(load / (target * target-proportion))`, never below the
  current count, at most `max(up_factor * base, base + up_addend)` (default ten-fold or +4) where
  `base` is the replica count at the start
  of the current up period (`Limits.up_period`), clamped to `[min, max]` and the cap. Because
  `base` is fixed for the whole period, a retry, repeat or duplicate of the same notification
  computes the same target: notifications are re-evaluations, never steps.
* Firing, no load measurement: the CE step `ceil(max * factor / 100)`, but at most one step per
  function per `Limits.fallback_step_interval`. Retries, HA duplicates and re-sends inside the
  interval are no-ops; sustained firing ramps at one step per interval: a rate, not a count.
* Resolved (and every later reconcile tick until settled): the recommendation is the load-based
  desired count (or `min` without a measurement). The target is the highest recommendation kept
  in the last `down.window` (which includes the targets chosen while firing), never above the
  current count, and never below half the count at the start of the current down period
  (`Limits.down_period`), so each step at most halves and duplicates do not halve twice. Without
  any history (a restart) the current count counts as a recommendation made now: fail-safe.

The `openfaas` policy is the CE handler's arithmetic, one alert at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from faasplane.scaler.labels import MIN_ZERO_DURATION_SECONDS, ScaleSpec

FIRING = "firing"
RESOLVED = "resolved"

# Reasons, as they appear in logs, metrics and webhook responses.
LOAD = "load"
LOAD_RATE_LIMITED = "load-rate-limited"
HOLD = "hold"
CLAMPED_TO_MAX = "clamped-to-max"
RAISED_TO_MIN = "raised-to-min"
CE_STEP = "ce-step"
CE_STEP_WAIT = "ce-step-wait"
FACTOR_ZERO = "factor-zero"
CE_RESET_TO_MIN = "ce-reset-to-min"
STABILIZING = "stabilizing"
STEP_DOWN = "step-down"
SETTLED = "settled"
ZERO_HOLD = "zero-hold"
IDLE = "idle"

# Bound on the scale-up per up period: at most ten-fold, or +4, whichever is larger. The alert pipeline
# delivers a decision once per notification (Alertmanager's repeat_interval, 30 s in the OpenFaaS chart),
# not every 15 s as the HPA decides, so an HPA-sized bound (double or +4) would cost a whole repeat
# interval per doubling under a real load step. Ten-fold still stops a spurious spike from taking a
# function from 1 to a large max at once (Knative allows 1000-fold). Tunable per deployment.
UP_FACTOR = 10.0
UP_ADDEND = 4


@dataclass(frozen=True)
class Limits:
    """Policy-wide bounds that do not come from labels."""

    cap: int | None = None
    up_period: float = 15.0
    up_factor: float = UP_FACTOR
    up_addend: int = UP_ADDEND
    down_period: float = 15.0
    fallback_step_interval: float = 20.0


@dataclass(frozen=True)
class History:
    """What the scaler remembers about one function between decisions (monotonic seconds)."""

    recommendations: tuple[tuple[float, int], ...] = ()
    up_anchor: tuple[float, int] | None = None
    down_anchor: tuple[float, int] | None = None
    last_fallback_step: float | None = None


@dataclass(frozen=True)
class Decision:
    target: int
    reason: str
    history: History = History()
    # True when a scale-down has reached its floor: nothing more to do until new information.
    settled: bool = True

    def direction(self, current: int) -> str:
        if self.target > current:
            return "up"
        if self.target < current:
            return "down"
        return "none"


def bounds(spec: ScaleSpec, cap: int | None) -> tuple[int, int]:
    """The effective `[low, high]` replica range: the labels, clamped by the provider's cap."""
    high = spec.max if cap is None else max(1, min(spec.max, cap))
    return min(spec.min, high), high


def ce_step(max_replicas: int, factor: int) -> int:
    """The CE step `ceil(max * factor / 100)`, in exact integer arithmetic."""
    return -(-max_replicas * factor // 100)


def desired_from_load(load: float, spec: ScaleSpec) -> int:
    """`ceil(load / (target * target-proportion))`; 0 for no load; huge values saturate."""
    if not math.isfinite(load) or load <= 0:
        return 0
    per_replica = spec.target * spec.target_proportion
    # A tiny tolerance keeps exact multiples from rounding up on float noise (100/50.0 -> 2).
    wanted = load / per_replica - 1e-9
    return int(min(math.ceil(wanted), 1_000_000))


def usable_load(load: float | None) -> float | None:
    """A load sample the decisions can use, or None (missing, NaN, infinite or negative)."""
    if load is None or not math.isfinite(load) or load < 0:
        return None
    return load


def decide_openfaas(status: str, current: int, spec: ScaleSpec, cap: int | None) -> Decision:
    """The OpenFaaS CE handler's decision for one alert.

    Firing with a non-zero step adds the step, capped at max; anything else goes to min. As in
    CE, `max` is first clamped by the provider's cap (here `SCALER_MAX_REPLICAS_CAP`); `min` is
    clamped to the same cap so the result is always one the provider accepts.
    """
    low, high = bounds(spec, cap)
    step = ce_step(high, spec.factor)
    if status == FIRING and step > 0:
        return Decision(min(current + step, high), CE_STEP)
    return Decision(low, FACTOR_ZERO if status == FIRING else CE_RESET_TO_MIN)


def _remember(history: History, now: float, value: int, window: float) -> tuple[tuple[float, int], ...]:
    """Add a recommendation and keep only those that can still be the window's highest.

    An older entry not above a newer one can never win again, so the kept values strictly
    decrease and the tuple stays short however many notifications arrive.
    """
    kept = tuple(
        (at, kept_value)
        for at, kept_value in history.recommendations
        if 0 <= now - at <= window and kept_value > value
    )
    return (*kept, (now, value))


def decide_firing(
    current: int,
    spec: ScaleSpec,
    load: float | None,
    history: History,
    now: float,
    limits: Limits,
) -> Decision:
    """Proportional decision for a firing alert (see the module docstring)."""
    low, high = bounds(spec, limits.cap)
    load = usable_load(load)
    if load is None:
        target, reason, history = _fallback_step(current, spec, history, now, limits, low, high)
    else:
        wanted = min(max(desired_from_load(load, spec), low), high)
        anchor = history.up_anchor
        if anchor is None or not 0 <= now - anchor[0] < limits.up_period:
            anchor = (now, current)
        base = anchor[1]
        ceiling = max(math.floor(limits.up_factor * base), base + limits.up_addend)
        target = min(wanted, ceiling)
        reason = LOAD_RATE_LIMITED if target < wanted else LOAD
        if target <= current:
            target, reason = current, HOLD
        history = replace(history, up_anchor=anchor)
    if target > high:
        target, reason = high, (CLAMPED_TO_MAX if current > high else reason)
    elif target < low:
        target, reason = low, RAISED_TO_MIN
    recommendations = _remember(history, now, target, spec.down_window)
    return Decision(target, reason, replace(history, recommendations=recommendations))


def _fallback_step(
    current: int, spec: ScaleSpec, history: History, now: float, limits: Limits, low: int, high: int
) -> tuple[int, str, History]:
    step = ce_step(high, spec.factor)
    if step == 0:
        return current, FACTOR_ZERO, history
    last = history.last_fallback_step
    if last is not None and 0 <= now - last < limits.fallback_step_interval:
        return current, CE_STEP_WAIT, history
    return max(current + step, low), CE_STEP, replace(history, last_fallback_step=now)


def decide_resolved(
    current: int,
    spec: ScaleSpec,
    load: float | None,
    history: History,
    now: float,
    limits: Limits,
) -> Decision:
    """Proportional, stabilized decision after a resolved alert (and on each reconcile tick)."""
    low, high = bounds(spec, limits.cap)
    if current == 0:
        return Decision(0, ZERO_HOLD, history)
    if not history.recommendations:
        # Nothing known about this function (e.g. the scaler restarted): assume it needed its
        # current count until now, so it is held for one window rather than descending at once.
        history = replace(history, recommendations=((now, current),))
    load = usable_load(load)
    recommendation = low if load is None else min(max(desired_from_load(load, spec), low), high)
    recommendations = _remember(history, now, recommendation, spec.down_window)
    stabilized = max(value for _, value in recommendations)

    anchor = history.down_anchor
    if anchor is None or not 0 <= now - anchor[0] < limits.down_period:
        anchor = (now, current)
    half = -(-anchor[1] // 2)
    target = max(min(current, stabilized), half)
    target = min(max(target, low), high)
    settled = target <= recommendation
    if target < current:
        reason = STEP_DOWN
    elif settled:
        reason = SETTLED
    else:
        reason = STABILIZING
    history = replace(history, recommendations=recommendations, down_anchor=anchor)
    return Decision(target, reason, history, settled=settled)


def idle_window(zero_duration: float, idle_interval: float = 0.0) -> float:
    """The idle window actually used: `zero-duration`, but at least MIN_ZERO_DURATION_SECONDS and
    two idler passes (so a window always spans several Prometheus samples and idler passes)."""
    return max(zero_duration, MIN_ZERO_DURATION_SECONDS, 2 * idle_interval)


@dataclass(frozen=True)
class IdleFacts:
    """What the idler knows about one function when it considers scaling it to zero (seconds)."""

    replicas: int
    # increase() of invocations over the window; None: Prometheus gave no answer or has no series
    invocations_in_window: float | None
    in_flight: float | None
    gateway_knows_function: bool
    age: float | None  # since createdAt; None when unknown
    since_scale_up: float | None  # since the scaler last saw or made a scale-up; None: never
    scaler_uptime: float
    # No invocation series exists, and the gateway already reported the function (its
    # gateway_service_count series) one window ago: it was not invoked in the whole window.
    never_invoked: bool = False


def decide_idle(spec: ScaleSpec, facts: IdleFacts, window: float | None = None) -> tuple[bool, str]:
    """Whether an opted-in function should go to zero now, and why (not).

    `window` is the idle window (`idle_window`; by default from the spec alone). A missing
    invocation series counts as "no invocations" only when `facts.never_invoked`: a series too
    young for increase() (the first invocations after a scale from zero) must not look idle.
    """
    window = idle_window(spec.zero_duration) if window is None else window
    if not spec.zero:
        return False, "not-opted-in"
    if facts.replicas == 0:
        return False, "already-zero"
    if facts.scaler_uptime < window:
        return False, "scaler-too-young"
    if facts.age is None or facts.age < window:
        return False, "recently-created"
    if facts.since_scale_up is not None and facts.since_scale_up < window:
        return False, "recently-scaled-up"
    invocations = facts.invocations_in_window
    if invocations is None and facts.never_invoked:
        invocations = 0.0
    if not facts.gateway_knows_function or invocations is None:
        return False, "no-metrics"
    if invocations > 0 or (facts.in_flight or 0) > 0:
        return False, "busy"
    return True, IDLE
