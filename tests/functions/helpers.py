"""Shared helpers of the function tests: a lightweight platform and a program runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from faasplane.components.config import parse_config
from faasplane.components.function import Function, PlatformRef
from faasplane.components.render.mock_engine import Rendered, run_program

PLATFORM_STACK = "organization/faasplane/dev"


def platform_ref(edition: str = "ce", registry: str = "localhost:5001", namespace: str = "openfaas-fn") -> PlatformRef:
    return PlatformRef(functions_namespace=namespace, registry=registry, edition=edition)


class FakePlatform:
    """What `Function` reads from the Platform component: its config and functions namespace."""

    def __init__(self, **config: Any):
        self.config = parse_config(config)
        self.functions_namespace = self.config.namespaces.functions


def render(declare: Callable[[], list[Function] | Function | None]) -> tuple[Rendered, list[Function]]:
    """Run `declare` under the mock engine; export every function's image reference."""
    declared: list[Function] = []

    def program() -> None:
        result = declare()
        functions = result if isinstance(result, list) else [result] if result is not None else []
        declared.extend(functions)
        pulumi.export("functions", {fn.function_name: fn.image_ref for fn in functions})

    return run_program(program), declared


def objects(rendered: Rendered, kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in rendered.kubernetes_objects() if obj["kind"] == kind}
