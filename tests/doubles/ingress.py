"""A double of an ingress controller for the cluster tier: it only gives every Ingress an address.

The kubernetes provider waits for an Ingress's `status.loadBalancer.ingress` before it reports the object
ready; no real controller runs on the loopback cluster, so this thread patches the status the way one would.
"""

from __future__ import annotations

import json
import threading
from types import TracebackType
from typing import Any

from scripts.cluster import Cluster

STATUS = {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}}


class IngressControllerDouble(threading.Thread):
    """A context manager: started on enter; on exit stopped and joined."""

    def __init__(self, cluster: Cluster, interval: float = 0.5) -> None:
        super().__init__(daemon=True, name="ingress-controller-double")
        self.cluster = cluster
        self.interval = interval
        self.stopping = threading.Event()

    def ingresses(self) -> list[dict[str, Any]]:
        result = self.cluster.kubectl("get", "ingress", "--all-namespaces", "-o", "json", check=False)
        return json.loads(result.stdout or '{"items": []}').get("items", []) if result.returncode == 0 else []

    def run(self) -> None:
        while not self.stopping.is_set():
            for item in self.ingresses():
                if not (item.get("status") or {}).get("loadBalancer", {}).get("ingress"):
                    self.cluster.kubectl("patch", "ingress", item["metadata"]["name"], "-n",
                                         item["metadata"]["namespace"], "--subresource=status", "--type=merge",
                                         "-p", json.dumps(STATUS), check=False)
            self.stopping.wait(self.interval)

    def __enter__(self) -> IngressControllerDouble:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stopping.set()
        self.join(timeout=150)  # one kubectl call at most (Cluster.kubectl's timeout is 120 s)
