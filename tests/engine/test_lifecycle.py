"""preview, up, a second preview that changes nothing, targeted changes, and destroy: with the real engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from faasplane.components import names
from faasplane.components.render import render_stack
from scripts.engine import EngineStack
from tests.engine import parity

pytestmark = pytest.mark.engine


def changes(engine: EngineStack) -> dict[str, str]:
    """`pulumi preview --json`: every step that is not `same`, as resource name -> operation."""
    result = engine.pulumi("preview", "--json")
    steps: list[dict[str, Any]] = json.loads(result.stdout).get("steps", [])
    return {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in steps if step["op"] != "same"}


def resource_name(stack: str, kind: str, namespace: str, name: str) -> str:
    """The Pulumi resource name of a Kubernetes object, as the render records it."""
    [found] = [resource.name for resource in render_stack(stack).resources if resource.is_kubernetes_object
               and resource.state["kind"] == kind and resource.state["metadata"]["name"] == name
               and resource.state["metadata"].get("namespace") == namespace]
    return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_up_then_a_second_preview_changes_nothing(stack: str, new_engine: Callable[..., EngineStack]) -> None:
    engine = new_engine(stack)
    planned = changes(engine)
    assert planned and set(planned.values()) == {"create"}
    engine.pulumi("up", "--yes", "--skip-preview")
    engine.pulumi("preview", "--expect-no-changes")
    assert changes(engine) == {}
    assert len(engine.manifests()) == len(parity.paired(engine)[1]), "one rendered file per object"


def test_one_setting_changes_exactly_the_objects_it_shapes(new_engine: Callable[..., EngineStack]) -> None:
    engine = new_engine("dev")
    engine.pulumi("up", "--yes", "--skip-preview")
    key = f"{names.PROJECT}:gateway.replicas"
    original = engine.pulumi("config", "get", "--path", key).stdout.strip()
    engine.pulumi("config", "set", "--path", key, str(int(original) + 2))
    gateway = resource_name("dev", "Deployment", names.CONTROL_PLANE_NAMESPACE, names.GATEWAY)
    assert changes(engine) == {gateway: "update"}
    engine.pulumi("config", "set", "--path", key, original)
    assert changes(engine) == {}


def test_one_function_image_changes_only_that_function(new_engine: Callable[..., EngineStack]) -> None:
    engine = new_engine("dev")
    engine.pulumi("up", "--yes", "--skip-preview")
    other = "localhost:5001/sum@sha256:" + "c" * 64
    engine.pulumi("config", "set", "--path", f"{names.PROJECT}:functionImages.sum", other)
    assert changes(engine) == {resource_name("dev", "Deployment", names.FUNCTIONS_NAMESPACE, "sum"): "update"}
    engine.pulumi("up", "--yes", "--skip-preview")
    [deployment] = [o for o in engine.manifests() if o["kind"] == "Deployment" and o["metadata"]["name"] == "sum"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == other


def test_destroy_leaves_no_manifest_and_an_empty_stack(new_engine: Callable[..., EngineStack]) -> None:
    engine = new_engine("dev")
    engine.pulumi("up", "--yes", "--skip-preview")
    assert engine.manifests()
    engine.pulumi("destroy", "--yes", "--skip-preview")
    assert engine.manifests() == []
    assert list(engine.manifests_dir.rglob("*.yaml")) == []
    assert engine.export()["deployment"].get("resources") in (None, [])
