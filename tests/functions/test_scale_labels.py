"""Every Scale the Function accepts is read back by the scaler exactly, with no problem reported."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from faasplane.components.function.args import Scale
from faasplane.scaler import labels as scale_labels

durations = st.sampled_from(["30s", "15m", "1h", "1h30m", "500ms", "2m"])


@st.composite
def scales(draw) -> Scale:
    low = draw(st.none() | st.integers(min_value=-2, max_value=scale_labels.MAX_REPLICAS_LIMIT + 2))
    return Scale(
        min=low,
        max=draw(st.none() | st.integers(min_value=-2, max_value=scale_labels.MAX_REPLICAS_LIMIT + 2)),
        factor=draw(st.none() | st.integers(min_value=-1, max_value=101)),
        zero=draw(st.none() | st.booleans()),
        zero_duration=draw(st.none() | durations | st.text(max_size=5)),
        type=draw(st.none() | st.sampled_from(["rps", "capacity", "cpu", ""])),
        target=draw(st.none() | st.floats(min_value=-1, max_value=2e9, allow_nan=False) | st.integers(-1, 100)),
        target_proportion=draw(st.none() | st.floats(min_value=-0.5, max_value=1.5, allow_nan=False)),
        down_window=draw(st.none() | durations),
    )


@settings(max_examples=400, deadline=None)
@given(scales())
def test_accepted_scale_labels_parse_without_problems(scale):
    if scale.problems():
        return
    labels = scale.to_labels()
    spec = scale_labels.parse_scale_labels(labels)
    assert spec.problems == ()
    assert spec.min == scale.replicas
    for name in ("max", "factor", "zero", "type", "target", "target_proportion"):
        value = getattr(scale, name)
        if value is not None:
            assert getattr(spec, name) == value, name
    if scale.zero_duration is not None:
        assert spec.zero_duration == scale_labels.parse_duration(scale.zero_duration)
    if scale.down_window is not None:
        assert spec.down_window == scale_labels.parse_duration(scale.down_window)
