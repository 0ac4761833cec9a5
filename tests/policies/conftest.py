"""Fixtures: private, mutable copies of the real dev and prod renders (rendered once per session)."""

from __future__ import annotations

import pytest

from faasplane.components.render import render_stack
from faasplane.components.render.mock_engine import Rendered
from tests.policies.helpers import Objects

PRO_OVERRIDES = {
    "faasplane:edition": "pro",
    "faasplane:licenseKey": "test-licence",
    # The Pro JetStream queue-worker needs a NATS server image, not nats-streaming.
    "faasplane:images": {"nats": "nats:2.10.22"},
}


@pytest.fixture
def dev(rendered_stacks: dict[str, Rendered]) -> Objects:
    return Objects.of(rendered_stacks["dev"])


@pytest.fixture
def prod(rendered_stacks: dict[str, Rendered]) -> Objects:
    return Objects.of(rendered_stacks["prod"])


@pytest.fixture(scope="session")
def rendered_pro() -> Rendered:
    """The dev stack with the OpenFaaS Pro edition (ghcr.io/openfaasltd images, a licence)."""
    return render_stack("dev", PRO_OVERRIDES, extra_secret_keys=["faasplane:licenseKey"])


@pytest.fixture
def pro(rendered_pro: Rendered) -> Objects:
    return Objects.of(rendered_pro)


@pytest.fixture(scope="session")
def rendered_load_balancer() -> Rendered:
    """The dev stack with the gateway exposed through a LoadBalancer."""
    return render_stack("dev", {"faasplane:gateway": {"exposure": {"type": "LoadBalancer"}}})


@pytest.fixture
def load_balancer(rendered_load_balancer: Rendered) -> Objects:
    return Objects.of(rendered_load_balancer)
