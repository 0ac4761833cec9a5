"""Prometheus: scrapes the annotated control-plane pods, evaluates the scaling alert, tells Alertmanager."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from faasplane.components import k8s as blocks
from faasplane.components import names
from faasplane.components.config import PlatformConfig
from faasplane.components.platform.monitoring_config import (
    PROMETHEUS_FILE,
    RULES_FILE,
    dump,
    prometheus_config,
    rules_data,
)
from faasplane.components.workload import deployment_and_service

CONFIG_DIR = "/etc/prometheus"
DATA_DIR = "/prometheus"
RUN_AS_USER = 65534
"""nobody, the user of the upstream image; the data volume is group-owned by it (fsGroup)."""
DATA_CLAIM = f"{names.PROMETHEUS}-data"


class Prometheus(pulumi.ComponentResource):
    """Prometheus with its config in an auto-named ConfigMap, pod discovery limited to one namespace."""

    config_map: k8s.core.v1.ConfigMap
    service_account: k8s.core.v1.ServiceAccount
    role: k8s.rbac.v1.Role
    role_binding: k8s.rbac.v1.RoleBinding
    data_claim: k8s.core.v1.PersistentVolumeClaim | None
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    url: str

    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        images: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(f"{names.TYPE_PREFIX}:Prometheus", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = config.namespaces.control_plane
        settings = config.prometheus
        labels = names.app_labels(names.PROMETHEUS)

        # No metadata.name: a change of config gets a new name, which rolls the Deployment.
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=blocks.metadata(None, namespace, labels),
            data={
                PROMETHEUS_FILE: dump(prometheus_config(config)),
                RULES_FILE: dump(rules_data(config.alert_rule)),
            },
            opts=child,
        )

        # Pod discovery in the control-plane namespace only: a Role, never a ClusterRole.
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=blocks.metadata(names.PROMETHEUS, namespace, labels), opts=child
        )
        self.role = k8s.rbac.v1.Role(
            f"{name}-role",
            metadata=blocks.metadata(names.PROMETHEUS, namespace, labels),
            rules=[{"api_groups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
            opts=child,
        )
        self.role_binding = k8s.rbac.v1.RoleBinding(
            f"{name}-rolebinding",
            metadata=blocks.metadata(names.PROMETHEUS, namespace, labels),
            role_ref={
                "api_group": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": self.role.metadata["name"],
            },
            subjects=[
                {
                    "kind": "ServiceAccount",
                    "name": self.service_account.metadata["name"],
                    "namespace": namespace,
                }
            ],
            opts=child,
        )

        persistent = settings.storage == "persistent"
        self.data_claim = None
        if persistent:
            self.data_claim = k8s.core.v1.PersistentVolumeClaim(
                f"{name}-data",
                metadata=blocks.metadata(DATA_CLAIM, namespace, labels),
                spec=blocks.claim_spec(settings.storage_size, settings.storage_class_name),
                opts=child,
            )
            claim_name = self.data_claim.metadata["name"]
            data_volume = {"name": "data", "persistent_volume_claim": {"claim_name": claim_name}}
        else:
            data_volume = blocks.empty_dir("data", size_limit=settings.storage_size)

        port = {"http": names.PROMETHEUS_PORT}
        container = blocks.container(
            names.PROMETHEUS,
            images["prometheus"],
            settings.resources,
            args=[
                f"--config.file={CONFIG_DIR}/{PROMETHEUS_FILE}",
                f"--storage.tsdb.path={DATA_DIR}",
                f"--storage.tsdb.retention.time={settings.retention}",
                f"--web.listen-address=:{names.PROMETHEUS_PORT}",
            ],
            ports=port,
            volume_mounts=[
                blocks.mount("config", CONFIG_DIR, read_only=True),
                blocks.mount("data", DATA_DIR),
            ],
            liveness_probe=blocks.http_probe("/-/healthy", "http", initial_delay=10),
            readiness_probe=blocks.http_probe("/-/ready", "http", initial_delay=5, period=5),
        )
        pod = blocks.pod_spec(
            [container],
            volumes=[blocks.config_map_volume("config", self.config_map.metadata["name"]), data_volume],
            service_account_name=self.service_account.metadata["name"],
            run_as_user=RUN_AS_USER,
            automount_service_account_token=True,  # it reads pods from the API server
        )
        self.deployment, self.service = deployment_and_service(
            name,
            app=names.PROMETHEUS,
            namespace=namespace,
            labels=labels,
            spec=blocks.deployment_spec(
                labels,
                pod,
                # A ReadWriteOnce claim cannot be mounted by the old and the new pod at once.
                strategy={"type": "Recreate"} if persistent else None,
            ),
            ports=port,
            opts=child,
        )

        self.url = names.service_url(names.PROMETHEUS, namespace, names.PROMETHEUS_PORT,
                                     domain=config.kubernetes_dns_domain)
        self.register_outputs(
            {
                "url": self.url,
                "configMapName": self.config_map.metadata["name"],
                "deploymentName": self.deployment.metadata["name"],
            }
        )
