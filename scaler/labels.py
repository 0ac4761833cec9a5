"""The `com.openfaas.scale.*` function labels: keys, defaults and parsing.

This module is the one source of truth for the scaling labels. It imports only the standard
library so that the Pulumi components can use the same names and defaults as the scaler.

Label values are strings on the function. `parse_scale_labels` never raises: a value it cannot
use falls back to its default and is reported in `ScaleSpec.problems`, so a typo in a label can
never stop a function from being scaled. `label_problems` gives the same findings for validation
at deploy time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

PREFIX = "com.openfaas.scale."

SCALE_MIN = "com.openfaas.scale.min"
SCALE_MAX = "com.openfaas.scale.max"
SCALE_FACTOR = "com.openfaas.scale.factor"
SCALE_TYPE = "com.openfaas.scale.type"
SCALE_TARGET = "com.openfaas.scale.target"
SCALE_TARGET_PROPORTION = "com.openfaas.scale.target-proportion"
SCALE_ZERO = "com.openfaas.scale.zero"
SCALE_ZERO_DURATION = "com.openfaas.scale.zero-duration"
SCALE_DOWN_WINDOW = "com.openfaas.scale.down.window"

ALL_LABELS = (
    SCALE_MIN,
    SCALE_MAX,
    SCALE_FACTOR,
    SCALE_TYPE,
    SCALE_TARGET,
    SCALE_TARGET_PROPORTION,
    SCALE_ZERO,
    SCALE_ZERO_DURATION,
    SCALE_DOWN_WINDOW,
)

DEFAULT_MIN = 1
# `proportional` policy default, as in OpenFaaS Pro.
DEFAULT_MAX = 20
# `openfaas` policy default: the Community Edition handler's default (and its hard cap).
DEFAULT_MAX_OPENFAAS = 5
DEFAULT_FACTOR = 10
TYPE_RPS = "rps"
TYPE_CAPACITY = "capacity"
SCALE_TYPES = (TYPE_RPS, TYPE_CAPACITY)
DEFAULT_TYPE = TYPE_RPS
DEFAULT_TARGET = 50.0
DEFAULT_TARGET_PROPORTION = 0.9
DEFAULT_ZERO = False
DEFAULT_ZERO_DURATION = "15m"
DEFAULT_ZERO_DURATION_SECONDS = 900.0
# Shortest usable `zero-duration`: a shorter idle window would look at fewer than a few Prometheus
# samples (the gateway is scraped every 5-15 s), so `increase()` would often have no answer at all
# and a function could go to zero right after it was scaled from zero. A shorter value is reported
# by `label_problems` (deploy-time validation rejects it) and raised to this by `parse_scale_labels`.
MIN_ZERO_DURATION_SECONDS = 60.0
# The scale-down stabilization window: 5m, the Kubernetes HPA default and the upper bound that
# OpenFaaS Pro documents. A resolved alert keeps the highest recommendation of this window.
DEFAULT_DOWN_WINDOW = "5m"
DEFAULT_DOWN_WINDOW_SECONDS = 300.0

# Largest replica count any label may ask for; bigger numbers are treated as invalid.
MAX_REPLICAS_LIMIT = 10_000
# Largest `com.openfaas.scale.target` (load per replica); targets are parsed in (0, MAX_TARGET].
MAX_TARGET = 1e9

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


def parse_duration(text: str) -> float:
    """Parse `15m`, `30s`, `1h`, `1h30m`, `500ms` or a bare number of seconds into seconds.

    Raises `ValueError` for anything else, including negative, infinite and NaN values.
    """
    if not isinstance(text, str):
        raise ValueError(f"duration must be a string, got {type(text).__name__}")
    value = text.strip().lower()
    if not value:
        raise ValueError("empty duration")
    try:
        seconds = float(value)
    except ValueError:
        position = 0
        seconds = 0.0
        for match in _DURATION_PART.finditer(value):
            if match.start() != position:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            position = match.end()
        if position != len(value):
            raise ValueError(f"invalid duration {text!r} (expected e.g. 30s, 15m, 1h, 1h30m)") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"invalid duration {text!r} (must be finite and not negative)")
    return seconds


def format_duration(seconds: float) -> str:
    """Render seconds the way labels write them: `15m`, `90s`, `1h`."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds}s"


@dataclass(frozen=True)
class ScaleSpec:
    """A function's scaling parameters, resolved from its labels and the defaults."""

    min: int = DEFAULT_MIN
    max: int = DEFAULT_MAX
    factor: int = DEFAULT_FACTOR
    type: str = DEFAULT_TYPE
    target: float = DEFAULT_TARGET
    target_proportion: float = DEFAULT_TARGET_PROPORTION
    zero: bool = DEFAULT_ZERO
    zero_duration: float = DEFAULT_ZERO_DURATION_SECONDS
    down_window: float = DEFAULT_DOWN_WINDOW_SECONDS
    problems: tuple[str, ...] = ()


def _scale_type(text: str) -> str | None:
    value = text.strip().lower()
    return value if value in SCALE_TYPES else None


def _int_in(text: str, low: int, high: int) -> int | None:
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if low <= value <= high else None


def _float_in(text: str, above: float, high: float) -> float | None:
    """A finite number with `above < value <= high`."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and above < value <= high else None


def parse_scale_labels(labels: Mapping[str, object] | None, *, default_max: int = DEFAULT_MAX) -> ScaleSpec:
    """Resolve a function's labels into a `ScaleSpec`; never raises.

    Unusable values fall back to the default and are listed in `problems`. If `max` ends up
    below `min`, `max` is raised to `min`; a `zero-duration` below MIN_ZERO_DURATION_SECONDS is
    raised to it (both are listed in `problems` too).
    """
    values = labels if isinstance(labels, Mapping) else {}
    problems: list[str] = []

    def label(key: str, parser: Callable[[str], T | None], default: T, expected: str) -> T:
        raw = values.get(key)
        if raw is None:
            return default
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            problems.append(f"{key}: expected {expected}, got a {type(raw).__name__}")
            return default
        parsed = parser(str(raw))
        if parsed is None:
            problems.append(f"{key}: expected {expected}, got {str(raw)[:40]!r}")
            return default
        return parsed

    replicas = f"an integer 1..{MAX_REPLICAS_LIMIT}"
    minimum = label(SCALE_MIN, lambda t: _int_in(t, 1, MAX_REPLICAS_LIMIT), DEFAULT_MIN, replicas)
    maximum = label(SCALE_MAX, lambda t: _int_in(t, 1, MAX_REPLICAS_LIMIT), default_max, replicas)
    if maximum < minimum:
        problems.append(f"{SCALE_MAX}: {maximum} is below {SCALE_MIN} {minimum}; using {minimum}")
        maximum = minimum
    zero_duration = label(
        SCALE_ZERO_DURATION, _duration_or_none, DEFAULT_ZERO_DURATION_SECONDS, "a duration such as 15m"
    )
    if zero_duration < MIN_ZERO_DURATION_SECONDS:
        floor = format_duration(MIN_ZERO_DURATION_SECONDS)
        problems.append(
            f"{SCALE_ZERO_DURATION}: {format_duration(zero_duration)} is below the minimum {floor}; using {floor}"
        )
        zero_duration = MIN_ZERO_DURATION_SECONDS
    return ScaleSpec(
        min=minimum,
        max=maximum,
        factor=label(SCALE_FACTOR, lambda t: _int_in(t, 0, 100), DEFAULT_FACTOR, "an integer 0..100"),
        type=label(SCALE_TYPE, _scale_type, DEFAULT_TYPE, "rps or capacity"),
        target=label(SCALE_TARGET, lambda t: _float_in(t, 0.0, MAX_TARGET), DEFAULT_TARGET, "a number above 0"),
        target_proportion=label(
            SCALE_TARGET_PROPORTION, lambda t: _float_in(t, 0.0, 1.0), DEFAULT_TARGET_PROPORTION,
            "a number in (0, 1]",
        ),
        zero=label(SCALE_ZERO, _parse_bool, DEFAULT_ZERO, "true or false"),
        zero_duration=zero_duration,
        down_window=label(
            SCALE_DOWN_WINDOW, _duration_or_none, DEFAULT_DOWN_WINDOW_SECONDS, "a duration such as 5m"
        ),
        problems=tuple(problems),
    )


def label_problems(labels: Mapping[str, object], *, default_max: int = DEFAULT_MAX) -> list[str]:
    """What is wrong with a function's scaling labels (empty when nothing is)."""
    return list(parse_scale_labels(labels, default_max=default_max).problems)


def _parse_bool(text: str) -> bool | None:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def _duration_or_none(text: str) -> float | None:
    try:
        return parse_duration(text)
    except ValueError:
        return None
