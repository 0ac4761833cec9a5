"""Decision rules as pure functions: CE arithmetic, proportional scaling, stabilized descent, idling."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faasplane.scaler import decision as rules
from faasplane.scaler.decision import (
    Decision,
    History,
    IdleFacts,
    Limits,
    bounds,
    ce_step,
    decide_firing,
    decide_idle,
    decide_openfaas,
    decide_resolved,
    desired_from_load,
)
from faasplane.scaler.labels import ScaleSpec

CE = ScaleSpec(min=1, max=5, factor=10)
LIMITS = Limits(cap=None, up_period=15.0, down_period=15.0, fallback_step_interval=20.0)


# -- the openfaas policy: the CE handler's arithmetic ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "current", "spec", "cap", "target"),
    [
        # defaults min 1, max 5, factor 10: each firing alert adds one replica
        ("firing", 1, CE, None, 2),
        ("firing", 4, CE, None, 5),
        ("firing", 5, CE, None, 5),
        # a firing alert with current above max sets max
        ("firing", 9, CE, None, 5),
        # any other status goes straight to min
        ("resolved", 5, CE, None, 1),
        ("pending", 3, CE, None, 1),
        ("", 3, CE, None, 1),
        # factor 0 never scales up: CE sends even a firing alert to min
        ("firing", 3, replace(CE, factor=0), None, 1),
        # step = ceil(max * factor / 100)
        ("firing", 1, ScaleSpec(min=1, max=20, factor=20), None, 5),
        ("firing", 1, ScaleSpec(min=1, max=20, factor=100), None, 20),
        ("firing", 2, ScaleSpec(min=2, max=10, factor=33), None, 6),
        ("firing", 1, ScaleSpec(min=1, max=3, factor=1), None, 2),
        # the provider's cap clamps max (CE: 5) before the step is computed
        ("firing", 1, ScaleSpec(min=1, max=20, factor=10), 5, 2),
        ("firing", 4, ScaleSpec(min=1, max=20, factor=50), 5, 5),
        ("resolved", 5, ScaleSpec(min=2, max=20), 5, 2),
        # a min above the cap is clamped to the cap, so the provider always accepts the result
        ("resolved", 5, ScaleSpec(min=8, max=20), 5, 5),
    ],
)
def test_openfaas_policy_matches_the_ce_handler(status, current, spec, cap, target):
    assert decide_openfaas(status, current, spec, cap).target == target


def test_openfaas_policy_steps_on_every_notification_like_ce():
    current = 1
    for expected in (2, 3, 4, 5, 5):
        current = decide_openfaas("firing", current, CE, None).target
        assert current == expected


@pytest.mark.parametrize(("maximum", "factor", "step"), [(5, 10, 1), (20, 10, 2), (10, 30, 3), (7, 100, 7), (5, 0, 0)])
def test_ce_step_is_exact(maximum, factor, step):
    assert ce_step(maximum, factor) == step


# -- the proportional policy ------------------------------------------------------------------------


DEFAULT_SPEC = ScaleSpec()
EMPTY = History()


def firing(current, load, spec=DEFAULT_SPEC, history=EMPTY, now=100.0, limits=LIMITS):
    return decide_firing(current, spec, load, history, now, limits)


def resolved(current, load, spec=DEFAULT_SPEC, history=EMPTY, now=100.0, limits=LIMITS):
    return decide_resolved(current, spec, load, history, now, limits)


@pytest.mark.parametrize(
    ("load", "spec", "desired"),
    [
        (0.0, ScaleSpec(), 0),
        (45.0, ScaleSpec(), 1),  # 45 / (50 * 0.9) = 1
        (45.1, ScaleSpec(), 2),
        (90.0, ScaleSpec(), 2),
        (100.0, ScaleSpec(target=50, target_proportion=1.0), 2),
        (450.0, ScaleSpec(), 10),
        (7.0, ScaleSpec(target=5, target_proportion=0.5), 3),
    ],
)
def test_desired_from_load_is_ceil_of_load_over_target_times_proportion(load, spec, desired):
    assert desired_from_load(load, spec) == desired


@pytest.mark.parametrize(
    ("current", "load", "target", "reason"),
    [
        (1, 90.0, 2, rules.LOAD),  # needs 2
        (2, 90.0, 2, rules.HOLD),  # already right
        (6, 90.0, 6, rules.HOLD),  # never down on a firing alert
        (1, 900.0, 10, rules.LOAD_RATE_LIMITED),  # wants 20, at most max(10x, +4) = 10
        (1, 360.0, 8, rules.LOAD),  # a 1x -> 8x step is met in one decision
        (8, 900.0, 20, rules.LOAD),
        (10, 9000.0, 20, rules.LOAD),  # clamped to max 20
        (0, 90.0, 2, rules.LOAD),  # from zero: up to the load, at least min
        (0, 0.0, 1, rules.LOAD),  # no load still means at least min
        (25, 90.0, 20, rules.CLAMPED_TO_MAX),  # max lowered below the current count
    ],
)
def test_firing_with_load(current, load, target, reason):
    result = firing(current, load)
    assert (result.target, result.reason) == (target, reason)


def test_firing_is_clamped_to_the_cap_and_min():
    assert firing(1, 9000.0, limits=replace(LIMITS, cap=5)).target == 5
    assert firing(1, 0.0, spec=ScaleSpec(min=3, max=10)).target == 3


@pytest.mark.parametrize(
    ("current", "load", "target", "reason"),
    [
        (1, 900.0, 5, rules.LOAD_RATE_LIMITED),  # wants 20, at most max(2x, +4) = 5
        (8, 900.0, 16, rules.LOAD_RATE_LIMITED),  # at most double
        (8, 540.0, 12, rules.LOAD),
    ],
)
def test_an_hpa_sized_bound_is_one_setting_away(current, load, target, reason):
    hpa_like = replace(LIMITS, up_factor=2.0, up_addend=4)
    result = firing(current, load, limits=hpa_like)
    assert (result.target, result.reason) == (target, reason)


def test_duplicate_notifications_inside_the_up_period_do_not_grow_the_target():
    first = firing(1, 900.0)  # rate-limited to 10
    again = firing(first.target, 900.0, history=first.history, now=105.0)
    assert again.target == first.target == 10
    later = firing(again.target, 900.0, history=again.history, now=116.0)  # next period: grow again
    assert later.target == 20


def test_without_load_the_ce_step_is_applied_at_most_once_per_interval():
    spec = ScaleSpec(min=1, max=20, factor=10)  # step 2
    first = firing(1, None, spec=spec)
    assert (first.target, first.reason) == (3, rules.CE_STEP)
    retry = firing(3, None, spec=spec, history=first.history, now=101.0)
    assert (retry.target, retry.reason) == (3, rules.CE_STEP_WAIT)
    repeat = firing(3, None, spec=spec, history=retry.history, now=130.0)
    assert (repeat.target, repeat.reason) == (5, rules.CE_STEP)


def test_without_load_factor_zero_never_scales_up_or_down_on_firing():
    result = firing(3, None, spec=ScaleSpec(min=1, max=10, factor=0))
    assert (result.target, result.reason) == (3, rules.FACTOR_ZERO)


def test_resolved_keeps_the_highest_recommendation_of_the_window():
    spec = ScaleSpec(down_window=60.0)
    up = firing(2, 270.0, spec=spec, now=100.0)  # wants 6
    assert up.target == 6
    down = resolved(6, 0.0, spec=spec, history=up.history, now=110.0)
    assert (down.target, down.reason, down.settled) == (6, rules.STABILIZING, False)


def test_descent_after_the_window_at_most_halves_per_period():
    spec = ScaleSpec(min=1, max=20, down_window=30.0)
    history = firing(10, 500.0, spec=spec, now=0.0).history
    current, now, seen = 10, 10.0, []
    while True:
        result = resolved(current, 0.0, spec=spec, history=history, now=now)
        seen.append(result.target)
        history, current = result.history, result.target
        if result.settled:
            break
        now += 15.0
    assert seen == [10, 10, 5, 3, 2, 1]
    assert result.reason == rules.STEP_DOWN
    assert resolved(1, 0.0, spec=spec, history=history, now=now + 15.0).reason == rules.SETTLED


# An old, low recommendation: the scaler has seen the function before.
KNOWN = History(recommendations=((0.0, 1),))


def test_a_duplicate_resolved_in_the_same_period_does_not_halve_twice():
    spec = ScaleSpec(down_window=0.0)
    first = resolved(16, 0.0, spec=spec, history=KNOWN, now=100.0)
    assert first.target == 8
    again = resolved(8, 0.0, spec=spec, history=first.history, now=101.0)
    assert again.target == 8


def test_resolved_without_load_descends_to_min_and_with_load_to_the_load():
    spec = ScaleSpec(min=2, max=20, down_window=0.0)
    assert resolved(3, None, spec=spec, history=KNOWN).target == 2
    assert resolved(10, 140.0, spec=spec, history=KNOWN).target == 5  # 140/45 -> 4, but at most halve: 5
    assert resolved(5, 140.0, spec=spec, history=KNOWN, now=200.0).target == 4


def test_after_a_restart_a_resolved_alert_holds_the_current_count_for_one_window():
    spec = ScaleSpec(down_window=60.0)
    first = resolved(12, 0.0, spec=spec, history=History(), now=100.0)
    assert (first.target, first.reason, first.settled) == (12, rules.STABILIZING, False)
    assert resolved(12, 0.0, spec=spec, history=first.history, now=150.0).target == 12
    assert resolved(12, 0.0, spec=spec, history=first.history, now=161.0).target == 6


def test_resolved_never_scales_up_and_leaves_zero_alone():
    assert resolved(2, 900.0).target == 2
    zero = resolved(0, 0.0)
    assert (zero.target, zero.reason) == (0, rules.ZERO_HOLD)


def test_history_stays_short_under_a_flood_of_notifications():
    history = History()
    spec = ScaleSpec(down_window=300.0)
    for step in range(10_000):
        history = firing(5, 100.0 + step % 7, spec=spec, history=history, now=step * 0.01).history
    assert len(history.recommendations) <= 20


# -- properties ---------------------------------------------------------------------------------------

specs = st.builds(
    lambda low, extra, factor, target, proportion, window: ScaleSpec(
        min=low, max=low + extra, factor=factor, target=target, target_proportion=proportion,
        down_window=window,
    ),
    st.integers(1, 10), st.integers(0, 40), st.integers(0, 100),
    st.floats(0.5, 500), st.floats(0.05, 1.0), st.sampled_from([0.0, 30.0, 300.0]),
)
loads = st.one_of(st.none(), st.floats(0, 1e6), st.sampled_from([float("nan"), float("inf"), -1.0]))
caps = st.one_of(st.none(), st.integers(1, 30))
currents = st.integers(0, 60)
times = st.floats(0, 1e5)


def histories():
    return st.builds(
        History,
        recommendations=st.lists(st.tuples(st.floats(0, 1e5), st.integers(0, 60)), max_size=4).map(tuple),
        up_anchor=st.one_of(st.none(), st.tuples(st.floats(0, 1e5), st.integers(0, 60))),
        down_anchor=st.one_of(st.none(), st.tuples(st.floats(0, 1e5), st.integers(0, 60))),
        last_fallback_step=st.one_of(st.none(), st.floats(0, 1e5)),
    )


@settings(max_examples=500, deadline=None)
@given(specs, currents, loads, histories(), times, caps, st.booleans())
def test_target_is_always_within_min_max_and_the_cap(spec, current, load, history, now, cap, is_firing):
    limits = replace(LIMITS, cap=cap)
    low, high = bounds(spec, cap)
    decide = decide_firing if is_firing else decide_resolved
    result = decide(current, spec, load, history, now, limits)
    if not is_firing and current == 0:
        assert result.target == 0  # idle functions stay at zero; the gateway scales from zero
    else:
        assert low <= result.target <= high
    if cap is not None:
        assert result.target <= cap
    # CE arithmetic adds a step to the current count: below min only if it started below min
    ce = decide_openfaas("firing" if is_firing else "resolved", current, spec, cap).target
    assert min(low, current + ce_step(high, spec.factor)) <= ce <= high


@settings(max_examples=500, deadline=None)
@given(specs, currents, loads, histories(), times, caps)
def test_never_down_on_a_firing_alert_unless_above_max(spec, current, load, history, now, cap):
    result = decide_firing(current, spec, load, history, now, replace(LIMITS, cap=cap))
    _, high = bounds(spec, cap)
    assert result.target >= min(current, high)


@settings(max_examples=500, deadline=None)
@given(specs, currents, loads, histories(), times, caps, st.booleans(), st.floats(0, 10))
def test_the_same_notification_again_changes_nothing(spec, current, load, history, now, cap, is_firing, later):
    """Applying a decision, then deciding again on the same input (a retry, repeat or duplicate
    within the up/down period, and within the down window for a resolved alert) keeps the target."""
    limits = replace(LIMITS, cap=cap)
    decide = decide_firing if is_firing else decide_resolved
    if not is_firing:
        later = min(later, spec.down_window)  # past the window the descent rightly continues
    first = decide(current, spec, load, history, now, limits)
    second = decide(first.target, spec, load, first.history, now + later, limits)
    assert second.target == first.target


@settings(max_examples=500, deadline=None)
@given(specs, currents, st.floats(0, 1e5), st.floats(0, 1e5), histories(), times, caps)
def test_more_load_never_means_fewer_replicas(spec, current, load_a, load_b, history, now, cap):
    limits = replace(LIMITS, cap=cap)
    low_load, high_load = sorted((load_a, load_b))
    for decide in (decide_firing, decide_resolved):
        less = decide(current, spec, low_load, history, now, limits).target
        more = decide(current, spec, high_load, history, now, limits).target
        assert less <= more


@settings(max_examples=300, deadline=None)
@given(specs, st.integers(1, 60), times)
def test_resolved_descent_always_ends_at_the_floor(spec, current, now):
    limits = LIMITS
    history = History()
    low, high = bounds(spec, None)
    for _ in range(200):
        result = decide_resolved(current, spec, 0.0, history, now, limits)
        assert result.target >= min(-(-current // 2), high)  # halves at most, unless max was lowered
        history, current = result.history, result.target
        if result.settled:
            break
        now += limits.down_period
    assert result.settled and current == low


# -- idling -----------------------------------------------------------------------------------------------

IDLE_SPEC = ScaleSpec(zero=True, zero_duration=900.0)
QUIET = IdleFacts(
    replicas=2, invocations_in_window=0.0, in_flight=0.0, gateway_knows_function=True,
    age=3600.0, since_scale_up=None, scaler_uptime=3600.0,
)


@pytest.mark.parametrize(
    ("spec", "facts", "idle", "why"),
    [
        (IDLE_SPEC, QUIET, True, rules.IDLE),
        (ScaleSpec(), QUIET, False, "not-opted-in"),
        (IDLE_SPEC, replace(QUIET, replicas=0), False, "already-zero"),
        (IDLE_SPEC, replace(QUIET, invocations_in_window=3.0), False, "busy"),
        (IDLE_SPEC, replace(QUIET, in_flight=1.0), False, "busy"),
        (IDLE_SPEC, replace(QUIET, invocations_in_window=None), False, "no-metrics"),
        (IDLE_SPEC, replace(QUIET, gateway_knows_function=False), False, "no-metrics"),
        (IDLE_SPEC, replace(QUIET, age=600.0), False, "recently-created"),
        (IDLE_SPEC, replace(QUIET, age=None), False, "recently-created"),
        (IDLE_SPEC, replace(QUIET, since_scale_up=60.0), False, "recently-scaled-up"),
        (IDLE_SPEC, replace(QUIET, scaler_uptime=60.0), False, "scaler-too-young"),
        (replace(IDLE_SPEC, zero_duration=60.0), replace(QUIET, age=61.0, since_scale_up=61.0), True, rules.IDLE),
    ],
)
def test_idle_only_after_a_full_quiet_window(spec, facts, idle, why):
    assert decide_idle(spec, facts) == (idle, why)


def test_the_idle_window_has_a_floor_of_a_minute_and_two_idler_passes():
    assert rules.idle_window(1.0) == 60.0
    assert rules.idle_window(1.0, idle_interval=45.0) == 90.0
    assert rules.idle_window(900.0, idle_interval=30.0) == 900.0
    short = replace(IDLE_SPEC, zero_duration=1.0)  # only possible by building a spec by hand
    assert decide_idle(short, replace(QUIET, since_scale_up=5.0)) == (False, "recently-scaled-up")
    assert decide_idle(short, replace(QUIET, age=30.0)) == (False, "recently-created")
    assert decide_idle(IDLE_SPEC, replace(QUIET, since_scale_up=950.0), window=1000.0) == (
        False, "recently-scaled-up")


def test_no_invocation_series_is_idle_only_when_the_gateway_reported_the_function_for_the_window():
    missing = replace(QUIET, invocations_in_window=None)
    assert decide_idle(IDLE_SPEC, missing) == (False, "no-metrics")
    assert decide_idle(IDLE_SPEC, replace(missing, never_invoked=True)) == (True, rules.IDLE)
    assert decide_idle(IDLE_SPEC, replace(missing, never_invoked=True, in_flight=1.0)) == (False, "busy")


def test_decision_direction():
    assert Decision(3, "x").direction(1) == "up"
    assert Decision(1, "x").direction(3) == "down"
    assert Decision(2, "x").direction(2) == "none"
