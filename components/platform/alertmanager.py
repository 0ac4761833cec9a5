"""Alertmanager: one group per function, the scaling alert sent to the scaler's webhook with basic auth."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from faasplane.components import k8s as blocks
from faasplane.components import names
from faasplane.components.config import PlatformConfig
from faasplane.components.platform.monitoring_config import ALERTMANAGER_FILE, PASSWORD_FILE, alertmanager_config, dump
from faasplane.components.workload import deployment_and_service

CONFIG_DIR = "/etc/alertmanager"
DATA_DIR = "/alertmanager"
RUN_AS_USER = 65534
"""nobody, the user of the upstream image; fsGroup makes the mounted Secret readable to it."""


class Alertmanager(pulumi.ComponentResource):
    """A single Alertmanager (gossip off) reading the gateway admin password from the mounted Secret."""

    config_map: k8s.core.v1.ConfigMap
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    url: str

    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        images: dict[str, str],
        auth_secret_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(f"{names.TYPE_PREFIX}:Alertmanager", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = config.namespaces.control_plane
        settings = config.alertmanager
        labels = names.app_labels(names.ALERTMANAGER)

        # No metadata.name: a change of config gets a new name, which rolls the Deployment.
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=blocks.metadata(None, namespace, labels),
            data={
                ALERTMANAGER_FILE: dump(alertmanager_config(config, password_file=PASSWORD_FILE)),
            },
            opts=child,
        )

        port = {"http": names.ALERTMANAGER_PORT}
        container = blocks.container(
            names.ALERTMANAGER,
            images["alertmanager"],
            settings.resources,
            args=[
                f"--config.file={CONFIG_DIR}/{ALERTMANAGER_FILE}",
                f"--storage.path={DATA_DIR}",
                f"--web.listen-address=:{names.ALERTMANAGER_PORT}",
                # One replica: no gossip cluster to join (an empty address disables it).
                "--cluster.listen-address=",
            ],
            ports=port,
            volume_mounts=[
                blocks.mount("config", CONFIG_DIR, read_only=True),
                blocks.mount("auth", names.SECRET_MOUNT_PATH, read_only=True),
                blocks.mount("data", DATA_DIR),
            ],
            liveness_probe=blocks.http_probe("/-/healthy", "http", initial_delay=5),
            readiness_probe=blocks.http_probe("/-/ready", "http", initial_delay=2, period=5),
        )
        pod = blocks.pod_spec(
            [container],
            volumes=[
                blocks.config_map_volume("config", self.config_map.metadata["name"]),
                blocks.secret_volume("auth", auth_secret_name),
                blocks.empty_dir("data"),
            ],
            run_as_user=RUN_AS_USER,
        )
        self.deployment, self.service = deployment_and_service(
            name,
            app=names.ALERTMANAGER,
            namespace=namespace,
            labels=labels,
            spec=blocks.deployment_spec(labels, pod, pod_annotations=blocks.credentials_annotation(config)),
            ports=port,
            opts=child,
        )

        self.url = names.service_url(names.ALERTMANAGER, namespace, names.ALERTMANAGER_PORT,
                                     domain=config.kubernetes_dns_domain)
        self.register_outputs(
            {
                "url": self.url,
                "configMapName": self.config_map.metadata["name"],
                "deploymentName": self.deployment.metadata["name"],
            }
        )
