"""Pod Security Admission and RBAC, as the real API server enforces them on the deployed dev platform; and an
application team's function, whose replicas the scaler set, surviving a `pulumi up` that rolls it.

The platform renames its functions namespace, so the app team's function can only land there through the
StackReference. The app-team tests run in file order: the last one destroys the app team's stack."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from faasplane.components import names
from faasplane.components.platform.gateway import PROVIDER_RULES
from faasplane.components.render import render_stack
from faasplane.components.render.mock_engine import Rendered
from scripts.cluster import Cluster
from scripts.engine import EngineStack, Workspace
from tests.cluster.conftest import kubectl_json, rendered_replicas, timed_up
from tests.engine.fixtures import ECHO_IMAGE, FaasplaneWheel, app_team_workspace

pytestmark = pytest.mark.cluster

CONTROL = names.CONTROL_PLANE_NAMESPACE
FUNCTIONS = "team-functions"
"""The platform's functions namespace, renamed from names.FUNCTIONS_NAMESPACE."""
OVERRIDES = {f"{names.PROJECT}:namespaces": {"functions": FUNCTIONS}}


@functools.cache
def rendered() -> Rendered:
    return render_stack("dev", OVERRIDES)


VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
    "spec": {"containers": [{"name": "probe", "image": "registry.example.com/probe:1"}]},
}


@pytest.fixture(scope="module")
def dev(new_cluster: Callable[[str], Cluster], new_engine: Callable[..., EngineStack]) -> tuple[Cluster, EngineStack]:
    cluster = new_cluster("access")
    engine = new_engine("dev", kubeconfig=cluster.kubeconfig, overrides=OVERRIDES)
    timed_up(engine)
    return cluster, engine


def admit(cluster: Cluster, namespace: str, pod: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Create the pod in a server-side dry run: admission runs, nothing is stored."""
    return cluster.kubectl("create", "--dry-run=server", "-n", namespace, "-f", "-", stdin=json.dumps(pod),
                           check=False)


def restricted() -> dict[str, Any]:
    """A pod that meets the restricted standard."""
    pod = copy.deepcopy(POD)
    pod["spec"]["securityContext"] = {"runAsNonRoot": True, "runAsUser": 10001,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    pod["spec"]["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False,
                                                       "capabilities": {"drop": ["ALL"]}}
    return pod


def privileged() -> dict[str, Any]:
    """The restricted pod, made privileged: that alone is what admission must refuse."""
    pod = restricted()
    del pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"]
    pod["spec"]["containers"][0]["securityContext"]["privileged"] = True
    return pod


def host_path() -> dict[str, Any]:
    """The restricted pod with a hostPath volume."""
    pod = restricted()
    pod["spec"]["volumes"] = [{"name": "host", "hostPath": {"path": "/etc"}}]
    return pod


# --- Pod Security Admission ------------------------------------------------------------------------


@pytest.mark.timeout(600)  # the first to request `dev`: a control plane and a `pulumi up`
def test_the_control_plane_namespace_enforces_restricted_and_admits_the_platform(dev: tuple[Cluster, EngineStack]):
    cluster, _ = dev
    labels = kubectl_json(cluster, "get", "namespace", CONTROL)["metadata"]["labels"]
    assert labels[names.POD_SECURITY_ENFORCE] == "restricted"
    pods = kubectl_json(cluster, "get", "pods", "-n", CONTROL)["items"]
    assert len(pods) == rendered_replicas(rendered(), CONTROL), "every pod of the rendered Deployments admitted"
    assert all(pod["status"]["phase"] == "Running" for pod in pods)
    for pod, reason in ((privileged(), 'privileged (container "probe" must not set securityContext.privileged=true)'),
                        (host_path(), 'restricted volume types (volume "host" uses restricted volume type "hostPath")')):
        result = admit(cluster, CONTROL, pod)
        assert result.returncode != 0
        assert 'violates PodSecurity "restricted:latest"' in result.stderr and reason in result.stderr, result.stderr
    assert admit(cluster, CONTROL, restricted()).returncode == 0


def test_the_functions_namespace_enforces_baseline_and_warns_about_restricted(dev: tuple[Cluster, EngineStack]):
    cluster, _ = dev
    labels = kubectl_json(cluster, "get", "namespace", FUNCTIONS)["metadata"]["labels"]
    assert (labels[names.POD_SECURITY_ENFORCE], labels[names.POD_SECURITY_WARN],
            labels[names.POD_SECURITY_AUDIT]) == ("baseline", "restricted", "restricted")
    for pod, reason in ((privileged(), "privileged"), (host_path(), 'hostPath volumes (volume "host")')):
        result = admit(cluster, FUNCTIONS, pod)
        assert result.returncode != 0 and 'violates PodSecurity "baseline:latest"' in result.stderr, result.stderr
        assert reason in result.stderr, result.stderr
    plain = admit(cluster, FUNCTIONS, POD)
    assert plain.returncode == 0, "what faas-netes creates for a faas-cli function is admitted"
    assert 'would violate PodSecurity "restricted:latest"' in plain.stderr, "with a warning"
    functions = kubectl_json(cluster, "get", "pods", "-n", FUNCTIONS)["items"]
    assert len(functions) == rendered_replicas(rendered(), FUNCTIONS)
    assert all(pod["status"]["phase"] == "Running" for pod in functions)


# --- RBAC ---------------------------------------------------------------------------------------


def can(cluster: Cluster, account: str, verb: str, resource: str, namespace: str | None) -> bool:
    scope = ["-n", namespace] if namespace else ["--all-namespaces"]
    result = cluster.kubectl("auth", "can-i", verb, resource, *scope,
                             f"--as=system:serviceaccount:{CONTROL}:{account}", check=False)
    return result.stdout.strip() == "yes"


def granted(cluster: Cluster, account: str, namespace: str | None, resources: list[str]) -> dict[str, set[str]]:
    return {resource: {verb for verb in VERBS if can(cluster, account, verb, resource, namespace)}
            for resource in resources}


def test_the_provider_may_do_in_the_functions_namespace_exactly_what_faas_netes_does(
    dev: tuple[Cluster, EngineStack],
) -> None:
    cluster, _ = dev
    expected: dict[str, set[str]] = {}
    for rule in PROVIDER_RULES:
        group = rule["api_groups"][0]
        for resource in rule["resources"]:
            expected[f"{resource}.{group}" if group else resource] = set(rule["verbs"])
    assert granted(cluster, names.PROVIDER, FUNCTIONS, sorted(expected)) == expected
    assert expected["deployments.apps"] == {"get", "list", "watch", "create", "update", "delete"}
    assert {"get", "list", "watch"} <= expected["pods/log"] and expected["endpoints"] == {"get", "list", "watch"}
    nothing = {"deployments.apps": set(), "secrets": set(), "pods": set(), "configmaps": set()}
    for namespace in (CONTROL, "default", "kube-system"):
        assert granted(cluster, names.PROVIDER, namespace, list(nothing)) == nothing, namespace
    cluster_wide = ["namespaces", "nodes", "clusterroles.rbac.authorization.k8s.io", "persistentvolumes"]
    assert granted(cluster, names.PROVIDER, None, cluster_wide) == {resource: set() for resource in cluster_wide}
    assert not can(cluster, names.PROVIDER, "list", "deployments.apps", None), "no cluster-wide list"


def test_prometheus_lists_pods_only_where_it_scrapes_and_the_rest_have_no_rights(
    dev: tuple[Cluster, EngineStack],
) -> None:
    cluster, _ = dev
    assert granted(cluster, names.PROMETHEUS, CONTROL, ["pods"]) == {"pods": {"get", "list", "watch"}}
    for namespace in (FUNCTIONS, "default"):
        assert granted(cluster, names.PROMETHEUS, namespace, ["pods"]) == {"pods": set()}, namespace
    tokenless = (names.SCALER, names.ALERTMANAGER)
    pods = [(pod["metadata"]["labels"][names.APP_LABEL], pod["spec"].get("serviceAccountName", "default"),
             pod["spec"].get("automountServiceAccountToken"))
            for pod in kubectl_json(cluster, "get", "pods", "-n", CONTROL)["items"]
            if pod["metadata"]["labels"][names.APP_LABEL] in tokenless]
    assert sorted(app for app, _, _ in pods) == sorted(tokenless)
    for app, account, automount in pods:
        assert (account, automount) == ("default", False), f"{app} runs as the default account without a token"
    resources = ["pods", "deployments.apps", "secrets", "configmaps", "services"]
    for namespace in (CONTROL, FUNCTIONS):
        assert granted(cluster, "default", namespace, resources) == {resource: set() for resource in resources}


# --- the scaler's replicas, an app team's function ---------------------------------------------------


@pytest.fixture(scope="module")
def app_team(dev: tuple[Cluster, EngineStack], engine_home: Path, faasplane_wheel: FaasplaneWheel,
             tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """examples/app-team with the session's faasplane wheel, on the platform's backend, deployed to the cluster."""
    cluster, platform = dev
    workspace = app_team_workspace(tmp_path_factory.mktemp("app-team"), faasplane_wheel, platform, engine_home)
    workspace.pulumi("config", "set", "kubernetes:kubeconfig", str(cluster.kubeconfig))
    workspace.pulumi("config", "set", "echoImage", ECHO_IMAGE)
    workspace.pulumi("up", "--yes", "--skip-preview")
    return workspace


@pytest.mark.timeout(900)  # the first to request `app_team`: the wheel, its install and the app team's up
def test_an_app_team_deploys_onto_the_cluster_through_a_stack_reference(
    dev: tuple[Cluster, EngineStack], app_team: Workspace,
) -> None:
    cluster, _ = dev
    echo = kubectl_json(cluster, "get", "deployment", "echo", "-n", FUNCTIONS)
    assert echo["status"]["availableReplicas"] == echo["spec"]["replicas"] >= 1
    assert echo["spec"]["template"]["spec"]["containers"][0]["image"] == ECHO_IMAGE
    elsewhere = cluster.kubectl("get", "deployment", "echo", "-n", names.FUNCTIONS_NAMESPACE, check=False)
    assert elsewhere.returncode != 0, "nothing in the default functions namespace"


def test_the_replicas_the_scaler_set_survive_an_up_that_rolls_the_function(
    dev: tuple[Cluster, EngineStack], app_team: Workspace,
) -> None:
    cluster, _ = dev
    # What faas-netes does when the scaler calls /system/scale-function: the Deployment's replicas change.
    cluster.kubectl("scale", "deployment", "echo", "-n", FUNCTIONS, "--replicas=3")
    cluster.kubectl("rollout", "status", "deployment/echo", "-n", FUNCTIONS, "--timeout=60s")
    before = kubectl_json(cluster, "get", "deployment", "echo", "-n", FUNCTIONS)
    app_team.pulumi("config", "set", "--path", "env.GREETING", "hello")
    app_team.pulumi("up", "--yes", "--skip-preview")
    cluster.kubectl("rollout", "status", "deployment/echo", "-n", FUNCTIONS, "--timeout=60s")
    after = kubectl_json(cluster, "get", "deployment", "echo", "-n", FUNCTIONS)
    assert after["spec"]["replicas"] == 3, "pulumi up keeps the scaler's count"
    assert after["status"]["availableReplicas"] == 3
    env = {item["name"]: item.get("value") for item in after["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GREETING"] == "hello", "and the changed environment rolls out"
    assert after["metadata"]["generation"] > before["metadata"]["generation"]
    app_team.pulumi("preview", "--expect-no-changes")
    app_team.pulumi("destroy", "--yes", "--skip-preview")
    assert cluster.kubectl("get", "deployment", "echo", "-n", FUNCTIONS, check=False).returncode != 0
