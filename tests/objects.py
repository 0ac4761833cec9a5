"""Finding things in rendered Kubernetes objects, shared by the component tests."""

from __future__ import annotations

from typing import Any

from faasplane.components.render.mock_engine import Rendered


def objects(rendered: Rendered, kind: str) -> list[dict[str, Any]]:
    return [obj for obj in rendered.kubernetes_objects() if obj["kind"] == kind]


def one(rendered: Rendered, kind: str, name: str | None = None) -> dict[str, Any]:
    """The single object of `kind` (named `name`), failing the test when there are none or several."""
    found = [obj for obj in objects(rendered, kind) if name is None or obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod(rendered: Rendered, deployment: str) -> dict[str, Any]:
    return one(rendered, "Deployment", deployment)["spec"]["template"]["spec"]


def env(container: dict[str, Any]) -> dict[str, str]:
    """A container's literal environment values (entries from Secrets are left out)."""
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a matchLabels selector selects these labels."""
    return all(labels.get(key) == value for key, value in selector.items())
