"""The namespaces exist under the configured names with the Pod Security levels we promise."""

from __future__ import annotations

from typing import Any

import pytest

from faasplane.components import names
from faasplane.components.config import parse_config
from faasplane.components.platform.namespaces import Namespaces
from faasplane.components.render.mock_engine import run_program
from tests.validation import schema_errors


def render(settings: dict[str, Any]) -> list[dict[str, Any]]:
    config = parse_config(settings)
    rendered = run_program(lambda: Namespaces("test-namespaces", config))
    return [obj for obj in rendered.kubernetes_objects() if obj["kind"] == "Namespace"]


def by_name(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects}


def test_default_names_and_schema() -> None:
    objects = render({})
    assert set(by_name(objects)) == {names.CONTROL_PLANE_NAMESPACE, names.FUNCTIONS_NAMESPACE}
    for obj in objects:
        assert schema_errors(obj) == []


def test_configured_names_are_used() -> None:
    objects = by_name(render({"namespaces": {"controlPlane": "faas-system", "functions": "faas-fns"}}))
    assert set(objects) == {"faas-system", "faas-fns"}


def test_control_plane_is_restricted_everywhere() -> None:
    labels = by_name(render({}))[names.CONTROL_PLANE_NAMESPACE]["metadata"]["labels"]
    for key in (names.POD_SECURITY_ENFORCE, names.POD_SECURITY_AUDIT, names.POD_SECURITY_WARN):
        assert labels[key] == "restricted"


def test_functions_enforce_baseline_and_report_restricted() -> None:
    # faas-netes creates function pods without the restricted container fields: enforcing restricted
    # would make `faas-cli deploy` produce Deployments without pods, so only audit/warn are restricted.
    labels = by_name(render({}))[names.FUNCTIONS_NAMESPACE]["metadata"]["labels"]
    assert labels[names.POD_SECURITY_ENFORCE] == "baseline"
    assert labels[names.POD_SECURITY_AUDIT] == "restricted"
    assert labels[names.POD_SECURITY_WARN] == "restricted"


@pytest.mark.parametrize("namespace", [names.CONTROL_PLANE_NAMESPACE, names.FUNCTIONS_NAMESPACE])
def test_namespaces_are_labelled_as_part_of_the_platform(namespace: str) -> None:
    labels = by_name(render({}))[namespace]["metadata"]["labels"]
    assert labels[names.PART_OF_LABEL] == names.PROJECT


def test_component_type_token() -> None:
    rendered = run_program(lambda: Namespaces("ns", parse_config({})))
    assert [r.name for r in rendered.of_type(f"{names.TYPE_PREFIX}:Namespaces")] == ["ns"]
    assert {r.name for r in rendered.resources if r.type == "kubernetes:core/v1:Namespace"} == {
        "ns-control-plane",
        "ns-functions",
    }
