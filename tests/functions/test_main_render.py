"""The example functions through the real program (`__main__.py`) and the stack files."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasplane.components import names
from faasplane.components.function import templating as function_templates
from faasplane.components.render import render_stack
from tests.validation import schema_errors


@pytest.fixture(autouse=True)
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(function_templates, "BUILD_DIR", tmp_path / "build")
    return tmp_path / "build"


def _render(stack: str):
    rendered = render_stack(stack)
    deployments = {
        obj["metadata"]["name"]: obj for obj in rendered.kubernetes_objects()
        if obj["kind"] == "Deployment" and obj["metadata"]["namespace"] == names.FUNCTIONS_NAMESPACE
    }
    return rendered, deployments


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_examples_deploy_with_the_platform(stack):
    rendered, deployments = _render(stack)
    assert set(deployments) == {"sum", "hello"}
    exported = rendered.outputs["functions"]
    assert set(exported) == {"sum", "hello"}
    registry = {"dev": "localhost:5001", "prod": "registry.example.com/faasplane"}[stack]
    images = {image.name: image for image in rendered.of_type("docker-build:index:Image")}
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        digest = images[f"{name}-image"].state["digest"]
        assert container["image"] == exported[name] == f"{registry}/{name}@{digest}"
        assert schema_errors(deployment) == []
    services = [obj for obj in rendered.kubernetes_objects()
                if obj["kind"] == "Service" and obj["metadata"]["name"] in ("sum", "hello")]
    assert {s["metadata"]["namespace"] for s in services} == {names.FUNCTIONS_NAMESPACE}


def test_function_pods_meet_the_restricted_standard_the_namespace_warns_about():
    rendered, deployments = _render("dev")
    namespace = next(obj for obj in rendered.kubernetes_objects()
                     if obj["kind"] == "Namespace" and obj["metadata"]["name"] == names.FUNCTIONS_NAMESPACE)
    assert namespace["metadata"]["labels"].get(names.POD_SECURITY_WARN) == "restricted"
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert not any("hostPath" in volume for volume in pod.get("volumes", []))


def test_gateway_may_reach_the_function_port():
    rendered, _ = _render("dev")
    policies = [obj for obj in rendered.kubernetes_objects()
                if obj["kind"] == "NetworkPolicy" and obj["metadata"]["namespace"] == names.FUNCTIONS_NAMESPACE]
    allowed_ports = {port["port"] for policy in policies for rule in policy["spec"].get("ingress", [])
                     for port in rule.get("ports", [])}
    assert names.FUNCTION_PORT in allowed_ports
