"""The dev and prod stacks against every mandatory policy with their pack configs (policies/config/<stack>.json).

Prod turns on digest-only images; the prod stack still pins the third-party platform images by tag
(components/images.py, no `faasplane:images` overrides in stacks/Pulumi.prod.yaml). That is a defect of the
stack, not of the policy: the full prod check is an expected failure until the images are pinned by digest,
and the test beside it makes sure nothing else fails.
"""

from __future__ import annotations

import pytest

from faasplane.components import names
from faasplane.components.render import ROOT, render_stack
from faasplane.components.render.mock_engine import Rendered
from faasplane.policies import check
from tests.policies.conftest import PRO_OVERRIDES

CONFIG_DIR = ROOT / "policies" / "config"


def mandatory(stack: str, rendered: Rendered) -> list[check.Violation]:
    resources = [check.as_resource(obj) for obj in rendered.kubernetes_objects()]
    violations = check.evaluate(resources, check.load_config(CONFIG_DIR / f"{stack}.json"))
    return [v for v in violations if v.mandatory]


def test_dev_passes_every_mandatory_policy(rendered_stacks: dict[str, Rendered]) -> None:
    assert mandatory("dev", rendered_stacks["dev"]) == []


@pytest.mark.xfail(
    strict=True,
    reason="prod pins the OpenFaaS gateway, faas-netes, queue-worker and NATS images by tag only (their digests "
    "cannot be resolved without registry access: uv run --frozen python scripts/pin-images.py --stack prod --apply does it); "
    "policies/config/prod.json requires digests (pinned-images digestsOnly)",
)
def test_prod_passes_every_mandatory_policy(rendered_stacks: dict[str, Rendered]) -> None:
    assert mandatory("prod", rendered_stacks["prod"]) == []


def test_prod_fails_only_for_the_tag_pinned_platform_images(rendered_stacks: dict[str, Rendered]) -> None:
    found = mandatory("prod", rendered_stacks["prod"])
    assert found, "prod now passes: remove the xfail above"
    assert {v.policy for v in found} == {"pinned-images"}
    assert all(v.message.endswith("is pinned by tag only; digestsOnly requires @sha256:<digest>") for v in found)
    tag_pinned = {
        f"Deployment {d['metadata']['namespace']}/{d['metadata']['name']}"
        for d in rendered_stacks["prod"].kubernetes_objects()
        if d["kind"] == "Deployment" and any("@" not in c["image"] for c in d["spec"]["template"]["spec"]["containers"])
    }
    assert {v.resource for v in found} == tag_pinned
    assert f"Deployment openfaas/{names.GATEWAY}" in tag_pinned
    assert f"Deployment openfaas/{names.SCALER}" not in tag_pinned  # built by the stack, referenced by digest
    assert f"Deployment openfaas/{names.PROMETHEUS}" not in tag_pinned  # images.py pins it by digest
    assert f"Deployment openfaas/{names.ALERTMANAGER}" not in tag_pinned


PRO_WITH_SETTINGS = {
    **PRO_OVERRIDES,
    "faasplane:profiles": {"createCrd": True},
    "faasplane:queue": {"maxInflight": 20, "durableName": "jobs", "maxRetryAttempts": 5, "retryHttpCodes": [429, 503]},
}


def test_pro_passes_every_mandatory_policy(rendered_pro: Rendered) -> None:
    """Pro adds the profiles Role, the queue-worker's metrics port, its scrape job and NetworkPolicy."""
    assert mandatory("dev", rendered_pro) == []


def test_pro_with_the_profile_crd_and_worker_settings_passes_every_mandatory_policy() -> None:
    rendered = render_stack("dev", PRO_WITH_SETTINGS, extra_secret_keys=["faasplane:licenseKey"])
    assert any(obj["kind"] == "CustomResourceDefinition" for obj in rendered.kubernetes_objects())
    assert mandatory("dev", rendered) == []
