"""The platform on a real API server: admitted, Available, unchanged by a second up or a refresh, and gone
after destroy. One control plane per stack (they share namespace names)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from faasplane.components import names
from scripts.cluster import Cluster
from scripts.engine import EngineStack
from tests.cluster.conftest import IngressStatus, deployments, kubectl_json, prod_prerequisites, timed_up

pytestmark = pytest.mark.cluster

PROD_CLAIMS = {"nats": "5Gi", "prometheus": "20Gi"}


@pytest.fixture(scope="module", params=["dev", "prod"])
def platform(request: pytest.FixtureRequest, new_cluster: Callable[[str], Cluster],
             new_engine: Callable[..., EngineStack]) -> Iterator[tuple[Cluster, EngineStack]]:
    stack = request.param
    cluster = new_cluster(stack)
    ingress = IngressStatus(cluster)
    if stack == "prod":
        prod_prerequisites(cluster, PROD_CLAIMS)
        ingress.start()
    engine = new_engine(stack, kubeconfig=cluster.kubeconfig)
    seconds = timed_up(engine)
    print(f"\n{stack}: pulumi up against the API server in {seconds:.1f}s")
    yield cluster, engine
    ingress.stop.set()


def test_every_object_is_admitted_and_every_deployment_becomes_available(
    platform: tuple[Cluster, EngineStack],
) -> None:
    cluster, engine = platform
    found = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in deployments(cluster)
             if d["metadata"]["namespace"] != "kube-system"}
    expected = {(names.CONTROL_PLANE_NAMESPACE, name) for name in
                (names.GATEWAY, names.NATS, names.QUEUE_WORKER, names.PROMETHEUS, names.ALERTMANAGER, names.SCALER)}
    expected |= {(names.FUNCTIONS_NAMESPACE, name) for name in ("sum", "hello")}
    assert set(found) == expected
    for key, deployment in found.items():
        status = deployment["status"]
        assert status.get("availableReplicas") == deployment["spec"]["replicas"], key
        assert status.get("observedGeneration") == deployment["metadata"]["generation"], key
    pods = kubectl_json(cluster, "get", "pods", "-n", names.CONTROL_PLANE_NAMESPACE)["items"]
    assert pods and all(pod["status"]["phase"] == "Running" for pod in pods)
    if engine.stack == "prod":
        claims = kubectl_json(cluster, "get", "pvc", "-n", names.CONTROL_PLANE_NAMESPACE)["items"]
        assert sorted(claim["status"]["phase"] for claim in claims) == ["Bound", "Bound"]


def test_a_second_preview_and_a_refresh_change_nothing(platform: tuple[Cluster, EngineStack]) -> None:
    _, engine = platform
    engine.pulumi("preview", "--expect-no-changes")
    engine.pulumi("refresh", "--yes", "--expect-no-changes")


def test_up_with_nothing_changed_leaves_every_generation(platform: tuple[Cluster, EngineStack]) -> None:
    cluster, engine = platform
    before = {d["metadata"]["name"]: d["metadata"]["generation"] for d in deployments(cluster)}
    engine.pulumi("up", "--yes", "--skip-preview")
    assert {d["metadata"]["name"]: d["metadata"]["generation"] for d in deployments(cluster)} == before


def test_a_changed_image_digest_rolls_the_function(platform: tuple[Cluster, EngineStack]) -> None:
    cluster, engine = platform
    before = kubectl_json(cluster, "get", "deployment", "sum", "-n", names.FUNCTIONS_NAMESPACE)
    image = "localhost:5001/sum@sha256:" + "d" * 64
    engine.pulumi("config", "set", "--path", "faasplane:functionImages.sum", image)
    engine.pulumi("up", "--yes", "--skip-preview")
    after = kubectl_json(cluster, "get", "deployment", "sum", "-n", names.FUNCTIONS_NAMESPACE)
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == image
    sets = kubectl_json(cluster, "get", "replicasets", "-n", names.FUNCTIONS_NAMESPACE, "-l", "faas_function=sum")
    assert len(sets["items"]) == 2, "a rollout: a new ReplicaSet beside the old one"


def test_destroy_removes_everything_the_stack_created(platform: tuple[Cluster, EngineStack]) -> None:
    cluster, engine = platform
    started = time.monotonic()
    engine.pulumi("destroy", "--yes", "--skip-preview")
    print(f"\n{engine.stack}: pulumi destroy in {time.monotonic() - started:.1f}s")
    deadline = time.monotonic() + 60
    remaining = []
    while time.monotonic() < deadline:
        namespaces = {item["metadata"]["name"] for item in kubectl_json(cluster, "get", "namespaces")["items"]}
        remaining = sorted(namespaces & {names.CONTROL_PLANE_NAMESPACE, names.FUNCTIONS_NAMESPACE})
        if not remaining:
            break
        time.sleep(1)
    assert remaining == [], "the namespaces are gone (the namespace controller finalized them)"
    labelled = cluster.kubectl("get", "all,configmaps,secrets,roles,rolebindings,networkpolicies,ingresses,"
                               "poddisruptionbudgets,persistentvolumeclaims,clusterroles,clusterrolebindings",
                               "--all-namespaces", "-l", "app.kubernetes.io/part-of=faasplane", "-o", "name")
    assert labelled.stdout.strip() == ""
    assert engine.export()["deployment"].get("resources") in (None, [])
