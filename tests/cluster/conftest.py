"""The cluster tier: the program under the real Pulumi engine against a real API server on loopback.

Each stack gets a control plane of its own (`scripts.cluster`), stopped and removed by the fixture that
started it: `running_cluster` for one fixture's lifetime, `new_cluster` for a module's, so no more than a
module's clusters run at once on the machine.
The API server admits every object with server-side validation, RBAC and Pod Security Admission; kwok plays
the kubelet, so Deployments become Available without containers.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from faasplane.components.render.mock_engine import Rendered
from scripts import tools
from scripts.cluster import Cluster
from scripts.engine import EngineStack
from tests import tiers
from tests.objects import objects

CLUSTER_TOOLS = (*tiers.TOOLS["cluster"], "kube-controller-manager", "kube-scheduler", "kubectl")
"""Everything `Cluster.up` starts or calls: the tools the tier report names, and the rest."""


def missing() -> list[str]:
    return [name for name in CLUSTER_TOOLS if tools.locate(name, allow_system=False) is None]


@pytest.fixture(scope="session")
def cluster_tools() -> None:
    absent = missing()
    tiers.require(not absent, "cluster", tools.missing_message(absent))


@contextlib.contextmanager
def running_cluster(factory: pytest.TempPathFactory, name: str) -> Iterator[Cluster]:
    """A control plane, stopped and its directory removed on exit (`up` stops what it started if it fails)."""
    cluster = Cluster(factory.mktemp(f"cluster-{name}"))
    seconds = cluster.up()
    print(f"\ncluster {name}: up in {seconds:.1f}s")
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="module")
def new_cluster(cluster_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Cluster]]:
    """Start a control plane with `new_cluster(name)`; every one is stopped when the module's tests are done."""
    with contextlib.ExitStack() as stack:
        yield lambda name: stack.enter_context(running_cluster(tmp_path_factory, name))


def kubectl_json(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl(*args, "-o", "json").stdout)


def deployments(cluster: Cluster) -> list[dict[str, Any]]:
    return kubectl_json(cluster, "get", "deployments", "--all-namespaces")["items"]


def rendered_replicas(rendered: Rendered, namespace: str) -> int:
    """The pods the render's Deployments in `namespace` ask for."""
    return sum(obj["spec"]["replicas"] for obj in objects(rendered, "Deployment")
               if obj["metadata"]["namespace"] == namespace)


def rendered_deployments(rendered: Rendered) -> set[tuple[str, str]]:
    return {(obj["metadata"]["namespace"], obj["metadata"]["name"]) for obj in objects(rendered, "Deployment")}


def timed_up(engine: EngineStack, *args: str) -> float:
    started = time.monotonic()
    engine.pulumi("up", "--yes", "--skip-preview", *args)
    return time.monotonic() - started


def rendered_claims(rendered: Rendered) -> dict[str, str]:
    """The render's PersistentVolumeClaims: name -> requested size."""
    return {obj["metadata"]["name"]: obj["spec"]["resources"]["requests"]["storage"]
            for obj in objects(rendered, "PersistentVolumeClaim")}


def prod_prerequisites(cluster: Cluster, rendered: Rendered) -> None:
    """What prod expects of its cluster: a default StorageClass with a volume for each of its claims (static,
    bound at once) and the IngressClasses its Ingresses name."""
    classes = {obj["spec"]["ingressClassName"] for obj in objects(rendered, "Ingress")
               if obj["spec"].get("ingressClassName")}
    documents: list[dict[str, Any]] = [
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate"},
        *({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": name},
           "spec": {"controller": "k8s.io/ingress-nginx"}} for name in sorted(classes)),
    ]
    for name, size in rendered_claims(rendered).items():
        documents.append({
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"volume-{name}"},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                     "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": f"/tmp/faasplane-volume-{name}"}},
        })
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}))
