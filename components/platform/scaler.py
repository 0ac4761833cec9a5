"""The scaler service: receives the scaling alert from Alertmanager and sets function replicas.

Its image is `scaler.image` when the stack gives one; otherwise it is built from this repository
(`scaler/Dockerfile`, the repository root as build context) and referenced by digest, so a change
of the scaler's code rolls its Deployment.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from faasplane.components import k8s as blocks
from faasplane.components import names
from faasplane.components.config import ConfigError, PlatformConfig
from faasplane.components.function.build import build_image
from faasplane.components.images import TEMPLATE_IMAGES
from faasplane.components.platform import monitoring_config
from faasplane.components.workload import deployment_and_service

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "scaler" / "Dockerfile"
BUILD_INCLUDE = ("pyproject.toml", "uv.lock", "scaler")
"""The parts of the repository the image is built from (and whose content makes its tag)."""
IMAGE_REPOSITORY = "faasplane-scaler"
TMP_DIR = "/tmp"
PASSWORD_FILE = monitoring_config.PASSWORD_FILE
"""The gateway admin password, from the mounted basic-auth Secret (Alertmanager reads the same file)."""


def scaler_env(config: PlatformConfig) -> dict[str, str]:
    """The scaler's `SCALER_*` settings for the cluster; `scaler.env` adds to and overrides them."""
    namespace = config.namespaces.control_plane
    domain = config.kubernetes_dns_domain
    env = {
        "SCALER_LISTEN": f"0.0.0.0:{names.SCALER_PORT}",
        "SCALER_PROVIDER_URL": names.service_url(names.GATEWAY, namespace, names.GATEWAY_PORT, domain=domain),
        "SCALER_PROVIDER_USER": names.BASIC_AUTH_ADMIN_USER,
        "SCALER_PROVIDER_PASSWORD_FILE": PASSWORD_FILE,
        # Alertmanager sends the same gateway admin credentials (see monitoring_config).
        "SCALER_AUTH_USER": names.BASIC_AUTH_ADMIN_USER,
        "SCALER_AUTH_PASSWORD_FILE": PASSWORD_FILE,
        "SCALER_PROMETHEUS_URL": names.service_url(names.PROMETHEUS, namespace, names.PROMETHEUS_PORT, domain=domain),
        "SCALER_POLICY": config.scaler.policy,
        "SCALER_DEFAULT_NAMESPACE": config.namespaces.functions,
        "SCALER_LOG_LEVEL": config.scaler.log_level,
    }
    if config.edition == names.EDITION_CE:
        env["SCALER_MAX_REPLICAS_CAP"] = str(names.CE_MAX_REPLICAS)
    env.update(config.scaler.env)
    return env


class ScalerService(pulumi.ComponentResource):
    """The scaler's Deployment and Service, with the gateway credentials mounted as files."""

    image: pulumi.CustomResource | None
    """The `docker-build:index:Image` that builds it, or None for a prebuilt image."""
    image_reference: pulumi.Output[str]
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    url: str
    alert_url: str

    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        auth_secret_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(f"{names.TYPE_PREFIX}:ScalerService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = config.namespaces.control_plane
        settings = config.scaler
        labels = names.app_labels(names.SCALER)

        if settings.image:
            self.image = None
            self.image_reference = pulumi.Output.from_input(settings.image)
        else:
            missing = [part for part in BUILD_INCLUDE if not (REPO_ROOT / part).exists()]
            if missing:
                raise ConfigError([
                    f"{names.PROJECT}:scaler.image: not set, and the scaler cannot be built here: its build context "
                    f"is the faasplane repository ({', '.join(missing)} missing under {REPO_ROOT}, as in an "
                    "installed package); build the image from the repository (scaler/Dockerfile) and set its "
                    "reference"
                ])
            password = pulumi.Output.secret(config.registry_password) if config.registry_password else None
            self.image, self.image_reference = build_image(
                f"{name}-image",
                context=REPO_ROOT,
                dockerfile=DOCKERFILE,
                include=BUILD_INCLUDE,
                repository=IMAGE_REPOSITORY,
                build_args={"PYTHON_IMAGE": TEMPLATE_IMAGES["python"]},
                server=config.registry.server,
                push=config.registry.push,
                username=config.registry.username,
                password=password,
                parent=self,
            )

        port = {"http": names.SCALER_PORT}
        container = blocks.container(
            names.SCALER,
            self.image_reference,
            settings.resources,
            env=scaler_env(config),
            ports=port,
            volume_mounts=[
                blocks.mount("auth", names.SECRET_MOUNT_PATH, read_only=True),
                blocks.mount("tmp", TMP_DIR),
            ],
            liveness_probe=blocks.http_probe("/healthz", "http", initial_delay=5),
            readiness_probe=blocks.http_probe("/readyz", "http", initial_delay=2, period=5),
        )
        pod = blocks.pod_spec(
            [container],
            volumes=[blocks.secret_volume("auth", auth_secret_name), blocks.empty_dir("tmp")],
        )
        self.deployment, self.service = deployment_and_service(
            name,
            app=names.SCALER,
            namespace=namespace,
            labels=labels,
            spec=blocks.deployment_spec(
                labels,
                pod,
                replicas=settings.replicas,
                pod_annotations={**names.scrape_annotations(names.SCALER_PORT, "/metrics"),
                                 **blocks.credentials_annotation(config)},
                # Decisions are serialized inside one process: never two scalers at once.
                strategy={"type": "Recreate"},
            ),
            ports=port,
            opts=child,
        )

        self.url = names.service_url(names.SCALER, namespace, names.SCALER_PORT, domain=config.kubernetes_dns_domain)
        self.alert_url = monitoring_config.scaler_alert_url(config)
        self.register_outputs({"url": self.url, "alertUrl": self.alert_url, "image": self.image_reference})
