"""A stack pointed at a cluster that does not answer: `pulumi up` fails fast, naming the kubeconfig context,
and a second `up` against a reachable cluster finishes what the first left."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from faasplane.components import names
from scripts.cluster import Cluster
from scripts.engine import EngineStack
from tests.cluster.conftest import deployments, free_port_closed

pytestmark = pytest.mark.cluster

CONTEXT = "faasplane-unreachable"


def unreachable_kubeconfig(path: Path) -> Path:
    server = f"https://127.0.0.1:{free_port_closed()}"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
        "clusters": [{"name": "gone", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "nobody", "user": {"token": "unused"}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": "gone", "user": "nobody"}}],
    }))
    return path


def test_an_unreachable_cluster_fails_fast_naming_the_context_and_a_second_up_finishes(
    new_cluster: Callable[[str], Cluster], new_engine: Callable[..., EngineStack], tmp_path: Path,
) -> None:
    engine = new_engine("dev", kubeconfig=unreachable_kubeconfig(tmp_path / "kubeconfig"))
    started = time.monotonic()
    failed = engine.pulumi("up", "--yes", "--skip-preview", check=False)
    seconds = time.monotonic() - started
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert seconds < 60, f"it gives up in {seconds:.0f}s, well inside the provider's timeouts"
    assert "configured Kubernetes cluster is unreachable" in output, output
    assert f"kubeconfig context {CONTEXT!r}" in output, output

    cluster = new_cluster("unreachable")
    engine.pulumi("config", "set", "kubernetes:kubeconfig", str(cluster.kubeconfig))
    engine.pulumi("up", "--yes", "--skip-preview")
    available = {d["metadata"]["name"] for d in deployments(cluster)
                 if d["metadata"]["namespace"] in (names.CONTROL_PLANE_NAMESPACE, names.FUNCTIONS_NAMESPACE)
                 and d["status"].get("availableReplicas") == d["spec"]["replicas"]}
    assert len(available) == 8
    engine.pulumi("preview", "--expect-no-changes")
