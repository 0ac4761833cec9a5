"""The label keys, defaults and parsers shared with the Pulumi components."""

import pytest

from faasplane.scaler import labels
from faasplane.scaler.labels import ScaleSpec, format_duration, label_problems, parse_duration, parse_scale_labels


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15m", 900.0),
        ("30s", 30.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("5m0s", 300.0),
        ("500ms", 0.5),
        ("2.5s", 2.5),
        ("10", 10.0),
        (" 0 ", 0.0),
        ("1H", 3600.0),
    ],
)
def test_parse_duration_accepts_go_style_durations_and_bare_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "-5s", "1d", "15 m", "s15", "1h-30m", "inf", "nan", "1e999"])
def test_parse_duration_rejects_anything_else(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration_round_trips():
    for seconds in (0.0, 30.0, 60.0, 900.0, 3600.0, 5400.0, 2.5):
        assert parse_duration(format_duration(seconds)) == seconds


def test_label_keys_are_the_openfaas_names():
    assert labels.SCALE_MIN == "com.openfaas.scale.min"
    assert labels.SCALE_MAX == "com.openfaas.scale.max"
    assert labels.SCALE_FACTOR == "com.openfaas.scale.factor"
    assert labels.SCALE_ZERO_DURATION == "com.openfaas.scale.zero-duration"
    assert labels.SCALE_DOWN_WINDOW == "com.openfaas.scale.down.window"
    assert all(key.startswith(labels.PREFIX) for key in labels.ALL_LABELS)


def test_no_labels_gives_the_documented_defaults():
    spec = parse_scale_labels({})
    assert spec == ScaleSpec(
        min=1, max=20, factor=10, type="rps", target=50.0, target_proportion=0.9,
        zero=False, zero_duration=900.0, down_window=300.0,
    )
    assert parse_scale_labels(None, default_max=labels.DEFAULT_MAX_OPENFAAS).max == 5


def test_every_label_is_read():
    spec = parse_scale_labels({
        labels.SCALE_MIN: "2", labels.SCALE_MAX: "8", labels.SCALE_FACTOR: "50",
        labels.SCALE_TYPE: "capacity", labels.SCALE_TARGET: "10", labels.SCALE_TARGET_PROPORTION: "0.5",
        labels.SCALE_ZERO: "true", labels.SCALE_ZERO_DURATION: "2m", labels.SCALE_DOWN_WINDOW: "30s",
    })
    assert spec == ScaleSpec(2, 8, 50, "capacity", 10.0, 0.5, True, 120.0, 30.0)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (labels.SCALE_MIN, "0"),
        (labels.SCALE_MIN, "one"),
        (labels.SCALE_MAX, "-3"),
        (labels.SCALE_MAX, "999999"),
        (labels.SCALE_FACTOR, "101"),
        (labels.SCALE_TYPE, "cpu"),
        (labels.SCALE_TARGET, "0"),
        (labels.SCALE_TARGET, "nan"),
        (labels.SCALE_TARGET_PROPORTION, "1.5"),
        (labels.SCALE_ZERO, "maybe"),
        (labels.SCALE_ZERO_DURATION, "soon"),
        (labels.SCALE_DOWN_WINDOW, "-1m"),
    ],
)
def test_an_unusable_value_falls_back_to_its_default_and_is_reported(key, value):
    spec = parse_scale_labels({key: value})
    defaults = parse_scale_labels({})
    assert spec == ScaleSpec(**{**defaults.__dict__, "problems": spec.problems})
    assert len(spec.problems) == 1 and key in spec.problems[0]
    assert label_problems({key: value}) == list(spec.problems)


def test_max_below_min_is_raised_to_min():
    spec = parse_scale_labels({labels.SCALE_MIN: "6", labels.SCALE_MAX: "3"})
    assert (spec.min, spec.max) == (6, 6)
    assert spec.problems


@pytest.mark.parametrize("value", ["0s", "1s", "59s", "500ms"])
def test_a_zero_duration_below_the_floor_is_raised_to_it_and_reported(value):
    spec = parse_scale_labels({labels.SCALE_ZERO: "true", labels.SCALE_ZERO_DURATION: value})
    assert spec.zero_duration == labels.MIN_ZERO_DURATION_SECONDS == 60
    assert label_problems({labels.SCALE_ZERO_DURATION: value}) == [
        f"com.openfaas.scale.zero-duration: {labels.format_duration(labels.parse_duration(value))} "
        "is below the minimum 1m; using 1m"]
    assert label_problems({labels.SCALE_ZERO_DURATION: "1m"}) == []


def test_non_string_values_never_raise():
    spec = parse_scale_labels({labels.SCALE_MIN: 3, labels.SCALE_MAX: ["x"], labels.SCALE_ZERO: True})
    assert spec.min == 3
    assert spec.max == 20
    assert spec.zero is False
    assert len(spec.problems) == 2
