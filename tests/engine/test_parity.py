"""The manifests the real engine renders equal the offline render, object for object and field for field."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faasplane.components import names
from scripts.engine import EngineStack
from tests.engine import parity

pytestmark = pytest.mark.engine


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_manifests_equal_the_offline_render(stack: str, deployed: Callable[[str], EngineStack]) -> None:
    real, offline = parity.paired(deployed(stack))
    assert sorted(real) == sorted(offline), "the same objects"
    found = {name: parity.differences(real[name], offline[name]) for name in real}
    assert {name: diffs for name, diffs in found.items() if diffs} == {}


def test_the_comparison_sees_a_changed_field(deployed: Callable[[str], EngineStack]) -> None:
    """The parity check can fail: a field changed on one side is reported with its path."""
    real, offline = parity.paired(deployed("dev"))
    name = f"Deployment {names.CONTROL_PLANE_NAMESPACE}/{names.GATEWAY}"
    rendered = offline[name]["spec"]["replicas"]
    changed = {**real[name], "spec": {**real[name]["spec"], "replicas": rendered + 1}}
    assert parity.differences(changed, offline[name]) == [f".spec.replicas: real={rendered + 1} render={rendered}"]
