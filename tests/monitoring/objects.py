"""Helpers for the monitoring and scaler component tests: render one component, find and check objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faasplane.components.config import Resources
from faasplane.components.render.mock_engine import Rendered, run_program


def render(build: Callable[[], Any]) -> Rendered:
    """Run `build` (which creates one component) under the mock engine."""
    return run_program(build)


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matching = [obj for obj in objects if obj["kind"] == kind]
    assert len(matching) == 1, f"expected one {kind}, got {[o['metadata'].get('name') for o in matching]}"
    return matching[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(obj["kind"] for obj in objects)


def assert_hardened(pod: dict[str, Any], resources: Resources) -> None:
    """Every container: requests and limits from config, non-root, no escalation, no capabilities,
    seccomp RuntimeDefault, read-only root; the pod is non-root with RuntimeDefault seccomp."""
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        assert container["resources"] == resources.as_k8s()
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert context["readOnlyRootFilesystem"] is True


def volumes(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {volume["name"]: volume for volume in pod.get("volumes", [])}


def mounts(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {mount["mountPath"]: mount for mount in container.get("volumeMounts", [])}

