"""The platform on a real API server: admitted, Available, unchanged by a second up or a refresh, and gone
after destroy. One control plane per stack (they share namespace names), stopped before the next starts.
The tests run in file order on the module's deployment: the image change rolls a function, destroy ends it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import pytest

from faasplane.components import names
from faasplane.components.render import render_stack
from faasplane.components.render.mock_engine import Rendered
from scripts.cluster import Cluster
from scripts.engine import EngineStack, declared_functions
from tests.cluster.conftest import (
    deployments,
    kubectl_json,
    prod_prerequisites,
    rendered_claims,
    rendered_deployments,
    running_cluster,
    timed_up,
)
from tests.doubles.ingress import IngressControllerDouble

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module", params=["dev", "prod"])
def platform(request: pytest.FixtureRequest, cluster_tools: None, tmp_path_factory: pytest.TempPathFactory,
             new_engine: Callable[..., EngineStack]) -> Iterator[tuple[Cluster, EngineStack]]:
    """The stack deployed on a control plane of its own, stopped (with the ingress double) before the next."""
    stack = request.param
    with contextlib.ExitStack() as resources:
        cluster = resources.enter_context(running_cluster(tmp_path_factory, stack))
        if stack == "prod":
            prod_prerequisites(cluster, render_stack(stack))
            resources.enter_context(IngressControllerDouble(cluster))
        engine = new_engine(stack, kubeconfig=cluster.kubeconfig)
        seconds = timed_up(engine)
        print(f"\n{stack}: pulumi up against the API server in {seconds:.1f}s")
        yield cluster, engine


@pytest.fixture(scope="module")
def rendered(platform: tuple[Cluster, EngineStack]) -> Rendered:
    return render_stack(platform[1].stack)


@pytest.mark.timeout(600)  # the first to request `platform`: a control plane and a `pulumi up`
def test_every_object_is_admitted_and_every_deployment_becomes_available(
    platform: tuple[Cluster, EngineStack], rendered: Rendered,
) -> None:
    cluster, engine = platform
    found = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in deployments(cluster)
             if d["metadata"]["namespace"] != "kube-system"}
    assert set(found) == rendered_deployments(rendered)
    for key, deployment in found.items():
        status = deployment["status"]
        assert status.get("availableReplicas") == deployment["spec"]["replicas"], key
        assert status.get("observedGeneration") == deployment["metadata"]["generation"], key
    pods = kubectl_json(cluster, "get", "pods", "-n", names.CONTROL_PLANE_NAMESPACE)["items"]
    assert pods and all(pod["status"]["phase"] == "Running" for pod in pods)
    claims = kubectl_json(cluster, "get", "pvc", "-n", names.CONTROL_PLANE_NAMESPACE)["items"]
    assert {claim["metadata"]["name"]: claim["status"]["phase"] for claim in claims} == \
        {name: "Bound" for name in rendered_claims(rendered)}


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
    function = declared_functions(engine.stack)[0]
    before = kubectl_json(cluster, "get", "deployment", function, "-n", names.FUNCTIONS_NAMESPACE)
    image = f"localhost:5001/{function}@sha256:" + "d" * 64
    engine.pulumi("config", "set", "--path", f"{names.PROJECT}:functionImages.{function}", image)
    engine.pulumi("up", "--yes", "--skip-preview")
    after = kubectl_json(cluster, "get", "deployment", function, "-n", names.FUNCTIONS_NAMESPACE)
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == image
    sets = kubectl_json(cluster, "get", "replicasets", "-n", names.FUNCTIONS_NAMESPACE, "-l", f"{names.FUNCTION_LABEL}={function}")
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
                               "--all-namespaces", "-l", f"{names.PART_OF_LABEL}={names.PROJECT}", "-o", "name")
    assert labelled.stdout.strip() == ""
    assert engine.export()["deployment"].get("resources") in (None, [])
