"""The OpenFaaS Pro Profile CRD: our own coarse structural schema, opt-in, and kept when a stack is destroyed."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pytest

from faasplane.components import names
from faasplane.components.platform.profiles import PRESERVE_UNKNOWN_FIELDS, ProfileDefinition
from faasplane.components.render import render_stack
from faasplane.components.render.mock_engine import Rendered, run_program
from tests.objects import objects, one
from tests.validation import schema_errors

PRO = {"faasplane:edition": "pro", "faasplane:licenseKey": "test-licence", "faasplane:images": {"nats": "nats:2.10.22"}}
SPEC_FIELDS = {
    "affinity", "dnsConfig", "dnsPolicy", "podSecurityContext", "priorityClassName", "resources", "runtimeClassName",
    "strategy", "tolerations", "topologySpreadConstraints",
}


@pytest.fixture(scope="module")
def definition() -> Rendered:
    return run_program(lambda: ProfileDefinition("test-profiles"))


def crd(rendered: Rendered) -> dict[str, Any]:
    return one(rendered, "CustomResourceDefinition", names.PROFILE_CRD)


def test_the_definition_is_the_profile_api_the_pro_provider_reads(definition: Rendered) -> None:
    obj = crd(definition)
    assert obj["apiVersion"] == "apiextensions.k8s.io/v1"
    assert "namespace" not in obj["metadata"], "cluster-scoped"
    spec = obj["spec"]
    assert spec["group"] == "openfaas.com" and spec["scope"] == "Namespaced"
    assert spec["names"] == {"kind": "Profile", "listKind": "ProfileList", "plural": "profiles", "singular": "profile"}
    assert [(v["name"], v["served"], v["storage"]) for v in spec["versions"]] == [("v1", True, True)]
    assert schema_errors(obj) == []


def _untyped(schema: dict[str, Any], path: str = "") -> list[str]:
    """Nodes without a type: a structural schema (required by apiextensions/v1) has none."""
    missing = [] if "type" in schema else [path or "<root>"]
    for key, child in (schema.get("properties") or {}).items():
        missing += _untyped(child, f"{path}.{key}")
    if "items" in schema:
        missing += _untyped(schema["items"], f"{path}[]")
    return missing


def test_the_schema_is_structural_and_names_the_ten_spec_fields(definition: Rendered) -> None:
    schema = crd(definition)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _untyped(schema) == []
    assert schema["required"] == ["spec"]
    fields = schema["properties"]["spec"]["properties"]
    assert set(fields) == SPEC_FIELDS
    for plain in ("dnsPolicy", "priorityClassName", "runtimeClassName"):
        assert fields[plain] == {"type": "string"}
    for nested in ("affinity", "dnsConfig", "podSecurityContext", "resources", "strategy"):
        assert fields[nested] == {"type": "object", PRESERVE_UNKNOWN_FIELDS: True}
    for listed in ("tolerations", "topologySpreadConstraints"):
        assert fields[listed] == {"type": "array", "items": {"type": "object", PRESERVE_UNKNOWN_FIELDS: True}}


def test_the_definition_is_retained_when_the_stack_is_destroyed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shared cluster-scoped API: deleting it would delete every Profile on the cluster."""
    options: list[pulumi.ResourceOptions | None] = []
    real = kubernetes.apiextensions.v1.CustomResourceDefinition

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, resource_name: str, *args: Any, opts: pulumi.ResourceOptions | None = None, **kwargs: Any):
            options.append(opts)
            super().__init__(resource_name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(kubernetes.apiextensions.v1, "CustomResourceDefinition", Recording)
    run_program(lambda: ProfileDefinition("test-profiles"))
    [opts] = options
    assert opts is not None and opts.retain_on_delete is True


# --- in the platform -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pro_with_crd() -> Rendered:
    return render_stack("dev", {**PRO, "faasplane:profiles": {"createCrd": True}},
                        extra_secret_keys=["faasplane:licenseKey"])


def test_a_pro_stack_installs_the_crd_only_when_asked(pro_with_crd: Rendered) -> None:
    assert crd(pro_with_crd)["spec"]["group"] == names.PROFILE_API_GROUP
    assert [r.name for r in pro_with_crd.of_type(f"{names.TYPE_PREFIX}:ProfileDefinition")] == ["faasplane-profiles"]
    default = render_stack("dev", PRO, extra_secret_keys=["faasplane:licenseKey"])
    assert objects(default, "CustomResourceDefinition") == []
    assert one(default, "Role", "faas-netes-profiles"), "the provider may read Profiles either way"


def test_ce_installs_no_crd(rendered_stacks: dict[str, Rendered]) -> None:
    for rendered in rendered_stacks.values():
        assert objects(rendered, "CustomResourceDefinition") == []
        assert not rendered.of_type(f"{names.TYPE_PREFIX}:ProfileDefinition")
