"""Shared fixtures: the rendered dev and prod stacks (rendered once per session; the render is pure)."""

from __future__ import annotations

import pytest

from faasplane.components.render import render_stack
from faasplane.components.render.mock_engine import Rendered
from tests.tiers import TierReport

pytest_plugins = ["tests.engine.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(TierReport(), "faasplane-tiers")


@pytest.fixture(scope="session")
def rendered_stacks() -> dict[str, Rendered]:
    return {stack: render_stack(stack) for stack in ("dev", "prod")}


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack_objects(request: pytest.FixtureRequest, rendered_stacks: dict[str, Rendered]) -> list[dict]:
    """The Kubernetes objects of one stack, as Pulumi would send them."""
    return rendered_stacks[request.param].kubernetes_objects()
