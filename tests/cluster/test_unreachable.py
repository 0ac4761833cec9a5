"""A stack pointed at a cluster that does not answer: `pulumi up` fails, naming the kubeconfig context, with
the provider's reachability check (not a timeout), and a second `up` against a reachable cluster finishes
what the first left. How fast it gives up is a measurement, not asserted here."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from faasplane.components.render import render_stack
from scripts.cluster import Cluster
from scripts.engine import EngineStack
from tests.cluster.conftest import deployments, rendered_deployments
from tests.doubles.processes import free_port

pytestmark = pytest.mark.cluster

CONTEXT = "faasplane-unreachable"


def unreachable_kubeconfig(path: Path) -> Path:
    server = f"https://127.0.0.1:{free_port()}"  # free: nothing listens there
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
        "clusters": [{"name": "gone", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "nobody", "user": {"token": "unused"}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": "gone", "user": "nobody"}}],
    }))
    return path


@pytest.mark.timeout(600)  # a failed up, a control plane and a full up
def test_an_unreachable_cluster_fails_naming_the_context_and_a_second_up_finishes(
    new_cluster: Callable[[str], Cluster], new_engine: Callable[..., EngineStack], tmp_path: Path,
) -> None:
    engine = new_engine("dev", kubeconfig=unreachable_kubeconfig(tmp_path / "kubeconfig"))
    started = time.monotonic()
    failed = engine.pulumi("up", "--yes", "--skip-preview", check=False)
    print(f"\nthe unreachable cluster's up failed after {time.monotonic() - started:.0f}s")
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "configured Kubernetes cluster is unreachable" in output, output
    assert f"kubeconfig context {CONTEXT!r}" in output, output
    assert "context deadline exceeded" not in output, "the provider's own check, not a timeout"
    # The Python SDK may still print a KeyboardInterrupt traceback: when the update fails the CLI interrupts
    # the language host's process group, program included (cmdutil.InterruptChildren), as it does with the
    # official pulumi-language-python. That is upstream's; the diagnostics are what the user reads.
    diagnostics = output.split("Diagnostics:", 1)[-1]
    assert "configured Kubernetes cluster is unreachable" in diagnostics, output

    cluster = new_cluster("unreachable")
    engine.pulumi("config", "set", "kubernetes:kubeconfig", str(cluster.kubeconfig))
    engine.pulumi("up", "--yes", "--skip-preview")
    available = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in deployments(cluster)
                 if d["status"].get("availableReplicas") == d["spec"]["replicas"]
                 and d["metadata"]["namespace"] != "kube-system"}
    assert available == rendered_deployments(render_stack("dev"))
    engine.pulumi("preview", "--expect-no-changes")
