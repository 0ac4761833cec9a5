"""The pack inside pulumi-policy's own analyzer, fed the real render the way the Pulumi engine feeds it:
protobuf Structs (every number a double), Mapping proxies, config through `Configure`. No gRPC server and
no Pulumi CLI: the servicer's methods are called directly (it is pulumi-policy's private class, pinned by
uv.lock)."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from faasplane.components import names
from faasplane.components.render.mock_engine import Rendered
from faasplane.policies import check
from faasplane.policies.rules import PACK_NAME, build_policies

from .helpers import Objects, set_env


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def servicer(config: dict[str, Any] | None = None) -> _PolicyAnalyzerServicer:
    analyzer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", build_policies(), EnforcementLevel.MANDATORY)
    levels = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "disabled": proto.DISABLED}
    request = proto.ConfigureAnalyzerRequest()
    for name, value in (config or {}).items():
        value = dict(value)
        entry = proto.PolicyConfig(properties=struct({k: v for k, v in value.items() if k != "enforcementLevel"}))
        if "enforcementLevel" in value:
            entry.enforcementLevel = levels[value["enforcementLevel"]]
        request.policyConfig[name].CopyFrom(entry)
    analyzer.Configure(request, None)
    return analyzer


def diagnostics(objects: list[dict[str, Any]], config: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """(policy, enforcement, message) of every diagnostic the analyzer returns for the objects."""
    analyzer = servicer(config)
    found = []
    resources = [check.as_resource(obj) for obj in objects]
    for resource in resources:
        request = proto.AnalyzeRequest(
            type=resource.resource_type, properties=struct(dict(resource.props)), urn=resource.urn, name=resource.name
        )
        found += analyzer.Analyze(request, None).diagnostics
    stack = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r.resource_type, properties=struct(dict(r.props)), urn=r.urn, name=r.name
            )
            for r in resources
        ]
    )
    found += analyzer.AnalyzeStack(stack, None).diagnostics
    level = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory"}
    return [(d.policyName, level[d.enforcementLevel], d.message.split("\n", 1)[1]) for d in found]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_analyzer_finds_what_the_check_finds(stack: str, rendered_stacks: dict[str, Rendered]) -> None:
    objects = rendered_stacks[stack].kubernetes_objects()
    expected = [(v.policy, v.enforcement.value, v.message) for v in check.evaluate(
        [check.as_resource(obj) for obj in objects])]
    assert sorted(diagnostics(objects)) == sorted(expected)


def test_the_analyzer_reports_a_broken_dev_stack_with_the_prod_config(dev: Objects) -> None:
    set_env(dev.container(names.GATEWAY), "basic_auth", "false")
    found = diagnostics(dev, {"exposure": {"enforcementLevel": "mandatory"}, "pinned-images": {"digestsOnly": True}})
    assert (
        "gateway-auth", "mandatory",
        "container 'gateway' sets basic_auth='false': the gateway API and its /system routes take requests without "
        "credentials",
    ) in found
    assert (
        "exposure", "mandatory",
        "the gateway is exposed through a NodePort (31112) on every node without TLS: use an Ingress with "
        "tlsSecretName",
    ) in found
    assert any(policy == "pinned-images" and "pinned by tag only" in message for policy, _, message in found)
