"""A Deployment and the ClusterIP Service in front of it: the shape of most platform workloads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from faasplane.components import k8s


def deployment_and_service(
    resource_name: str,
    *,
    app: str,
    namespace: str,
    labels: Mapping[str, str],
    spec: dict[str, Any],
    ports: Mapping[str, int],
    opts: pulumi.ResourceOptions,
) -> tuple[kubernetes.apps.v1.Deployment, kubernetes.core.v1.Service]:
    """Deployment `app` with `spec` and Service `app` selecting its pods on the named `ports`.

    Pulumi resource names are `<resource_name>-deployment` and `<resource_name>-service`.
    """
    deployment = kubernetes.apps.v1.Deployment(
        f"{resource_name}-deployment", metadata=k8s.metadata(app, namespace, labels), spec=spec, opts=opts
    )
    service = kubernetes.core.v1.Service(
        f"{resource_name}-service",
        metadata=k8s.metadata(app, namespace, labels),
        spec=k8s.cluster_ip_service_spec(labels, ports),
        opts=opts,
    )
    return deployment, service
