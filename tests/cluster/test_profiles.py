"""The Profile CRD a Pro stack renders with profiles.createCrd, and the profiles Role, on a real API server:
the schema is structural and accepted, a Profile keeps its nested fields, a wrong type is refused, and the
gateway's ServiceAccount may read Profiles in the control-plane namespace and do nothing else with them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from faasplane.components import names
from faasplane.components.render import render_stack
from scripts.cluster import Cluster

pytestmark = pytest.mark.cluster

PRO = {
    "faasplane:edition": "pro",
    "faasplane:licenseKey": "test-licence",
    "faasplane:images": {"nats": "nats:2.10.22"},
    "faasplane:profiles": {"createCrd": True},
}
CONTROL = names.CONTROL_PLANE_NAMESPACE
PROFILE: dict[str, Any] = {
    "apiVersion": f"{names.PROFILE_API_GROUP}/v1",
    "kind": names.PROFILE_KIND,
    "metadata": {"name": "spot", "namespace": CONTROL},
    "spec": {
        "dnsPolicy": "ClusterFirst",
        "runtimeClassName": "gvisor",
        "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["spot"]}]}]}}},
        "podSecurityContext": {"runAsNonRoot": True, "fsGroup": 2000},
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}
        ],
        "resources": {"limits": {"memory": "128Mi"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        "dnsConfig": {"nameservers": ["1.1.1.1"]},
        "priorityClassName": "low",
    },
}


def apply(cluster: Cluster, obj: dict[str, Any], check: bool = True) -> Any:
    return cluster.kubectl("apply", "-f", "-", stdin=json.dumps(obj), check=check)


def test_profiles_on_a_real_api_server(new_cluster: Callable[[str], Cluster]) -> None:
    cluster = new_cluster("profiles")
    objects = render_stack("dev", PRO, extra_secret_keys=["faasplane:licenseKey"]).kubernetes_objects()
    [crd] = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    rbac = [o for o in objects if o["kind"] in ("Role", "RoleBinding") and o["metadata"]["namespace"] == CONTROL
            and o["metadata"]["name"] == f"{names.PROVIDER}-profiles"]
    assert len(rbac) == 2
    apply(cluster, crd)
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{names.PROFILE_CRD}", "--timeout=30s")
    conditions = json.loads(cluster.kubectl("get", "crd", names.PROFILE_CRD, "-o", "json").stdout)["status"]
    assert "NonStructuralSchema" not in {c["type"] for c in conditions["conditions"]}
    cluster.kubectl("create", "namespace", CONTROL)
    for obj in rbac:
        apply(cluster, obj)

    apply(cluster, PROFILE)
    stored = json.loads(cluster.kubectl("get", "profile", "spot", "-n", CONTROL, "-o", "json").stdout)
    assert stored["spec"] == PROFILE["spec"], "nested fields are kept, not pruned"
    wrong = apply(cluster, {**PROFILE, "metadata": {"name": "bad", "namespace": CONTROL}, "spec": {"dnsPolicy": 5}},
                  check=False)
    assert wrong.returncode != 0 and "spec.dnsPolicy" in wrong.stderr
    no_spec = apply(cluster, {k: v for k, v in PROFILE.items() if k != "spec"} | {
        "metadata": {"name": "empty", "namespace": CONTROL}}, check=False)
    assert no_spec.returncode != 0 and "spec" in no_spec.stderr

    account = f"system:serviceaccount:{CONTROL}:{names.PROVIDER}"

    def can(verb: str, namespace: str = CONTROL, resource: str = names.PROFILE_CRD) -> str:
        result = cluster.kubectl("auth", "can-i", verb, resource, f"--as={account}", "-n", namespace, check=False)
        return result.stdout.strip()

    assert [can(verb) for verb in ("get", "list", "watch")] == ["yes"] * 3
    assert [can(verb) for verb in ("create", "update", "patch", "delete")] == ["no"] * 4
    assert can("list", namespace="default") == "no"
