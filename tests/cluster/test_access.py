"""Pod Security Admission and RBAC, as the real API server enforces them on the deployed dev platform; and an
application team's function, whose replicas the scaler set, surviving a `pulumi up` that rolls it."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from faasplane.components import names
from faasplane.components.platform.gateway import PROVIDER_RULES
from scripts.cluster import Cluster
from scripts.engine import ROOT, EngineStack, Workspace
from tests.cluster.conftest import kubectl_json, timed_up

pytestmark = pytest.mark.cluster

CONTROL = names.CONTROL_PLANE_NAMESPACE
FUNCTIONS = names.FUNCTIONS_NAMESPACE
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
    "spec": {"containers": [{"name": "probe", "image": "registry.example.com/probe:1"}]},
}


@pytest.fixture(scope="module")
def dev(new_cluster: Callable[[str], Cluster], new_engine: Callable[..., EngineStack]) -> tuple[Cluster, EngineStack]:
    cluster = new_cluster("access")
    engine = new_engine("dev", kubeconfig=cluster.kubeconfig)
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


def test_the_control_plane_namespace_enforces_restricted_and_admits_the_platform(dev: tuple[Cluster, EngineStack]):
    cluster, _ = dev
    labels = kubectl_json(cluster, "get", "namespace", CONTROL)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = kubectl_json(cluster, "get", "pods", "-n", CONTROL)["items"]
    assert len(pods) == 6 and all(pod["status"]["phase"] == "Running" for pod in pods), "all admitted"
    for pod, reason in ((privileged(), 'privileged (container "probe" must not set securityContext.privileged=true)'),
                        (host_path(), 'restricted volume types (volume "host" uses restricted volume type "hostPath")')):
        result = admit(cluster, CONTROL, pod)
        assert result.returncode != 0
        assert 'violates PodSecurity "restricted:latest"' in result.stderr and reason in result.stderr, result.stderr
    assert admit(cluster, CONTROL, restricted()).returncode == 0


def test_the_functions_namespace_enforces_baseline_and_warns_about_restricted(dev: tuple[Cluster, EngineStack]):
    cluster, _ = dev
    labels = kubectl_json(cluster, "get", "namespace", FUNCTIONS)["metadata"]["labels"]
    assert (labels["pod-security.kubernetes.io/enforce"], labels["pod-security.kubernetes.io/warn"],
            labels["pod-security.kubernetes.io/audit"]) == ("baseline", "restricted", "restricted")
    for pod, reason in ((privileged(), "privileged"), (host_path(), 'hostPath volumes (volume "host")')):
        result = admit(cluster, FUNCTIONS, pod)
        assert result.returncode != 0 and 'violates PodSecurity "baseline:latest"' in result.stderr, result.stderr
        assert reason in result.stderr, result.stderr
    plain = admit(cluster, FUNCTIONS, POD)
    assert plain.returncode == 0, "what faas-netes creates for a faas-cli function is admitted"
    assert 'would violate PodSecurity "restricted:latest"' in plain.stderr, "with a warning"
    functions = kubectl_json(cluster, "get", "pods", "-n", FUNCTIONS)["items"]
    assert len(functions) == 2 and all(pod["status"]["phase"] == "Running" for pod in functions)


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
    accounts = {pod["spec"].get("serviceAccountName", "default"): pod["spec"].get("automountServiceAccountToken")
                for pod in kubectl_json(cluster, "get", "pods", "-n", CONTROL)["items"]
                if pod["metadata"]["labels"]["app.kubernetes.io/name"] in (names.SCALER, names.ALERTMANAGER)}
    assert accounts == {"default": False}, "the scaler and Alertmanager run without a token"
    resources = ["pods", "deployments.apps", "secrets", "configmaps", "services"]
    for namespace in (CONTROL, FUNCTIONS):
        assert granted(cluster, "default", namespace, resources) == {resource: set() for resource in resources}


# --- the scaler's replicas, an app team's function ---------------------------------------------------


@pytest.fixture(scope="module")
def app_team(dev: tuple[Cluster, EngineStack], engine_home: Path, tmp_path_factory: pytest.TempPathFactory,
             ) -> Workspace:
    """examples/app-team with faasplane installed as a wheel, on the platform's backend, deploying to the cluster."""
    cluster, platform = dev
    directory = tmp_path_factory.mktemp("app-team")
    project = directory / "project"
    shutil.copytree(ROOT / "examples" / "app-team", project,
                    ignore=shutil.ignore_patterns(".venv", "build", "Pulumi.*.yaml", "uv.lock"))
    exported = subprocess.run(["uv", "export", "--frozen", "--no-default-groups", "--no-emit-project", "--no-hashes",
                               "--quiet"], cwd=ROOT, capture_output=True, text=True, check=True)
    (directory / "constraints.txt").write_text(exported.stdout)
    subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(project / ".venv")], check=True)
    subprocess.run(["uv", "pip", "install", "--quiet", "--python", str(project / ".venv" / "bin" / "python"),
                    "--constraint", str(directory / "constraints.txt"), str(ROOT)], check=True, timeout=900)
    workspace = Workspace("dev", directory, home=engine_home, project=project, state=platform.state_dir,
                          passphrase=platform.passphrase_file)
    workspace.prepare()
    workspace.pulumi("config", "set", "kubernetes:kubeconfig", str(cluster.kubeconfig))
    workspace.pulumi("config", "set", "echoImage", "localhost:5001/echo@sha256:" + "e" * 64)
    workspace.pulumi("up", "--yes", "--skip-preview")
    return workspace


def test_an_app_team_deploys_onto_the_cluster_through_a_stack_reference(
    dev: tuple[Cluster, EngineStack], app_team: Workspace,
) -> None:
    cluster, _ = dev
    echo = kubectl_json(cluster, "get", "deployment", "echo", "-n", FUNCTIONS)
    assert echo["status"]["availableReplicas"] == 1


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
