"""The cluster tier: the program under the real Pulumi engine against a real API server on loopback.

Each stack gets a control plane of its own (`scripts.cluster`, 8 s to start), stopped and removed at the end.
The API server admits every object with server-side validation, RBAC and Pod Security Admission; kwok plays
the kubelet, so Deployments become Available without containers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import tools
from scripts.cluster import Cluster
from scripts.engine import EngineStack
from tests import tiers

CLUSTER_TOOLS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok")


def missing() -> list[str]:
    return [name for name in CLUSTER_TOOLS if tools.locate(name, allow_system=False) is None]


@pytest.fixture(scope="session")
def new_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Cluster]]:
    absent = missing()
    tiers.require(not absent, "cluster", tools.missing_message(absent).replace("make tools", "make tools TIERS=cluster"))
    started: list[Cluster] = []

    def start(name: str) -> Cluster:
        cluster = Cluster(tmp_path_factory.mktemp(f"cluster-{name}"))
        seconds = cluster.up()
        print(f"\ncluster {name}: up in {seconds:.1f}s")
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.down()


def kubectl_json(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kubectl(*args, "-o", "json").stdout)


def deployments(cluster: Cluster) -> list[dict[str, Any]]:
    return kubectl_json(cluster, "get", "deployments", "--all-namespaces")["items"]


def timed_up(engine: EngineStack, *args: str) -> float:
    started = time.monotonic()
    engine.pulumi("up", "--yes", "--skip-preview", *args)
    return time.monotonic() - started


class IngressStatus(threading.Thread):
    """Plays the ingress controller: gives every Ingress an address (the provider awaits one)."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            result = self.cluster.kubectl("get", "ingress", "--all-namespaces", "-o", "json", check=False)
            for item in json.loads(result.stdout or '{"items": []}').get("items", []):
                if not (item.get("status") or {}).get("loadBalancer", {}).get("ingress"):
                    self.cluster.kubectl(
                        "patch", "ingress", item["metadata"]["name"], "-n", item["metadata"]["namespace"],
                        "--subresource=status", "--type=merge",
                        "-p", '{"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}}', check=False,
                    )
            self.stop.wait(0.5)


def prod_prerequisites(cluster: Cluster, claims: dict[str, str]) -> None:
    """What prod expects of its cluster: a default StorageClass whose volumes exist (static, bound at once)
    and the IngressClass it names."""
    documents: list[dict[str, Any]] = [
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate"},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
         "spec": {"controller": "k8s.io/ingress-nginx"}},
    ]
    for name, size in claims.items():
        documents.append({
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"volume-{name}"},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                     "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": f"/tmp/faasplane-volume-{name}"}},
        })
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}))


def engine_on(cluster: Cluster, stack: str, new_engine: Callable[..., EngineStack]) -> EngineStack:
    return new_engine(stack, kubeconfig=cluster.kubeconfig)


def path_of(engine: EngineStack) -> Path:
    return engine.directory


def free_port_closed() -> int:
    """A loopback port nothing listens on."""
    from scripts.cluster import free_port

    return free_port()
