"""NetworkPolicies: deny all ingress in both namespaces, then admit only the platform's own flows."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from faasplane.components import k8s, names
from faasplane.components.config import PlatformConfig

DEFAULT_DENY = "default-deny-ingress"


def pods(app: str) -> dict[str, Any]:
    """A peer: the pods of one platform workload, in the namespace of the policy."""
    return {"pod_selector": {"match_labels": names.app_labels(app)}}


def function_pods(functions_namespace: str) -> dict[str, Any]:
    """A peer: every function pod (faas-netes and `Function` label them `faas_function`) of the namespace."""
    return {
        "namespace_selector": namespace(functions_namespace),
        "pod_selector": {"match_expressions": [{"key": names.FUNCTION_LABEL, "operator": "Exists"}]},
    }


def namespace(name: str) -> dict[str, Any]:
    return {"match_labels": {names.NAMESPACE_NAME_LABEL: name}}


def tcp(port: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port}]


class NetworkPolicies(pulumi.ComponentResource):
    """Ingress rules for the control-plane and functions namespaces (egress is left open)."""

    policies: dict[str, kubernetes.networking.v1.NetworkPolicy]

    def __init__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{names.TYPE_PREFIX}:NetworkPolicies", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self.policies = {}
        control_plane = config.namespaces.control_plane
        functions = config.namespaces.functions
        exposure = config.gateway.exposure

        # Nothing reaches a pod in either namespace unless a policy below admits it.
        self._policy("control-plane-default-deny", DEFAULT_DENY, control_plane, {}, [])
        self._policy("functions-default-deny", DEFAULT_DENY, functions, {}, [])

        # Gateway API: its configured exposure, plus the queue-worker (replays async calls), the scaler
        # (calls the provider API through the gateway to read and scale functions) and the functions: OpenFaaS
        # function chaining calls `gateway.<control plane>:8080/function/<name>` from a function pod, which
        # neither an Ingress nor narrowed `sourceRanges` would admit. API port only, never the metrics port.
        if exposure.type in ("NodePort", "LoadBalancer"):
            # The Service keeps client addresses (externalTrafficPolicy Local) when the ranges are narrowed.
            exposed = [{"ip_block": {"cidr": cidr}} for cidr in exposure.source_ranges]
        elif exposure.type == "Ingress":
            exposed = [{"namespace_selector": namespace(exposure.ingress_namespace)}]
        else:  # ClusterIP: any pod of the cluster (and `kubectl port-forward`), nothing from outside.
            exposed = [{"namespace_selector": {}}]
        self._policy(
            "gateway-api",
            f"{names.GATEWAY}-api",
            control_plane,
            names.app_labels(names.GATEWAY),
            [
                {
                    "from": [
                        *exposed, pods(names.QUEUE_WORKER), pods(names.SCALER), function_pods(functions),
                        # Connectors and other clients the stack names by their pod labels.
                        *({"pod_selector": {"match_labels": dict(labels)}} for labels in config.gateway.clients),
                    ],
                    "ports": tcp(names.GATEWAY_PORT),
                }
            ],
        )
        self._policy(
            "gateway-metrics",
            f"{names.GATEWAY}-metrics",
            control_plane,
            names.app_labels(names.GATEWAY),
            [{"from": [pods(names.PROMETHEUS)], "ports": tcp(names.GATEWAY_METRICS_PORT)}],
        )
        # The gateway reads function metrics from Prometheus; the scaler queries it for its decisions.
        self._policy(
            "prometheus",
            names.PROMETHEUS,
            control_plane,
            names.app_labels(names.PROMETHEUS),
            [{"from": [pods(names.GATEWAY), pods(names.SCALER)], "ports": tcp(names.PROMETHEUS_PORT)}],
        )
        self._policy(
            "alertmanager",
            names.ALERTMANAGER,
            control_plane,
            names.app_labels(names.ALERTMANAGER),
            [{"from": [pods(names.PROMETHEUS)], "ports": tcp(names.ALERTMANAGER_PORT)}],
        )
        if config.edition == names.EDITION_PRO:
            # The Pro queue-worker serves metrics (queue depth, retries) that Prometheus scrapes; nothing else
            # calls it. The CE queue-worker serves nothing, so CE keeps it closed.
            self._policy(
                "queue-worker-metrics",
                f"{names.QUEUE_WORKER}-metrics",
                control_plane,
                names.app_labels(names.QUEUE_WORKER),
                [{"from": [pods(names.PROMETHEUS)], "ports": tcp(names.QUEUE_WORKER_METRICS_PORT)}],
            )
        # Alertmanager delivers the scaling alerts to the scaler's webhook; Prometheus is admitted too,
        # to scrape the scaler's own /metrics on the same port.
        self._policy(
            "scaler",
            names.SCALER,
            control_plane,
            names.app_labels(names.SCALER),
            [{"from": [pods(names.ALERTMANAGER), pods(names.PROMETHEUS)], "ports": tcp(names.SCALER_PORT)}],
        )
        # Async invocations are published by the gateway and consumed by the queue-worker.
        self._policy(
            "nats",
            names.NATS,
            control_plane,
            names.app_labels(names.NATS),
            [{"from": [pods(names.GATEWAY), pods(names.QUEUE_WORKER)], "ports": tcp(names.NATS_PORT)}],
        )
        # Functions: only the gateway pods (a namespace AND pod selector in one peer) may call them.
        self._policy(
            "functions-from-gateway",
            f"from-{names.GATEWAY}",
            functions,
            {},
            [
                {
                    "from": [
                        {
                            "namespace_selector": namespace(control_plane),
                            "pod_selector": {"match_labels": names.app_labels(names.GATEWAY)},
                        }
                    ],
                    "ports": tcp(names.FUNCTION_PORT),
                }
            ],
        )

        self.register_outputs({"policies": sorted(self.policies)})

    def _policy(
        self,
        key: str,
        policy_name: str,
        policy_namespace: str,
        selector: dict[str, str],
        ingress: list[dict[str, Any]],
    ) -> None:
        pod_selector = {"match_labels": dict(selector)} if selector else {}
        spec: dict[str, Any] = {"pod_selector": pod_selector, "policy_types": ["Ingress"]}
        if ingress:
            spec["ingress"] = ingress
        labels = {names.PART_OF_LABEL: names.PROJECT}
        self.policies[key] = kubernetes.networking.v1.NetworkPolicy(
            f"{self._name}-{key}",
            metadata=k8s.metadata(policy_name, policy_namespace, labels),
            spec=spec,
            opts=self._child,
        )
