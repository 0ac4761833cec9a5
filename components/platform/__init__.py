"""The whole platform: namespaces, gateway and provider, queue, monitoring, scaler, network policies."""

from __future__ import annotations

import pulumi

from faasplane.components import names
from faasplane.components.config import PlatformConfig
from faasplane.components.images import resolve_images
from faasplane.components.platform.alertmanager import Alertmanager
from faasplane.components.platform.cluster_target import describe_target
from faasplane.components.platform.gateway import Gateway
from faasplane.components.platform.namespaces import Namespaces
from faasplane.components.platform.network import NetworkPolicies
from faasplane.components.platform.profiles import ProfileDefinition
from faasplane.components.platform.prometheus import Prometheus
from faasplane.components.platform.queue import Queue
from faasplane.components.platform.scaler import ScalerService


class Platform(pulumi.ComponentResource):
    """An OpenFaaS-style platform; functions are deployed onto it with `faasplane.components.function.Function`."""

    namespaces: Namespaces
    gateway: Gateway
    queue: Queue
    prometheus: Prometheus
    alertmanager: Alertmanager
    scaler: ScalerService
    network_policies: NetworkPolicies
    profile_definition: ProfileDefinition | None

    def __init__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{names.TYPE_PREFIX}:Platform", name, None, opts)
        target = describe_target()
        if target is not None:
            # The provider's error for an unreachable cluster names only its address: say which context it is.
            pulumi.log.info(f"deploying to the cluster of {target}", resource=self)
        self.config = config
        self.images = resolve_images(config.edition, config.images)
        child = pulumi.ResourceOptions(parent=self)

        self.namespaces = Namespaces(f"{name}-namespaces", config, opts=child)
        after_namespaces = pulumi.ResourceOptions(parent=self, depends_on=[self.namespaces])
        self.profile_definition = None
        gateway_opts = after_namespaces
        if config.edition == names.EDITION_PRO and config.profiles.create_crd:
            # The Pro provider watches Profiles from its start: their API first.
            self.profile_definition = ProfileDefinition(f"{name}-profiles", opts=child)
            gateway_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.namespaces, self.profile_definition])
        self.gateway = Gateway(f"{name}-gateway", config, self.images, opts=gateway_opts)
        self.queue = Queue(
            f"{name}-queue", config, self.images, license_secret_name=self.gateway.license_secret_name,
            opts=after_namespaces,
        )
        self.prometheus = Prometheus(f"{name}-prometheus", config, self.images, opts=after_namespaces)
        self.alertmanager = Alertmanager(
            f"{name}-alertmanager", config, self.images, auth_secret_name=self.gateway.auth_secret_name,
            opts=after_namespaces,
        )
        self.scaler = ScalerService(
            f"{name}-scaler", config, auth_secret_name=self.gateway.auth_secret_name, opts=after_namespaces
        )
        self.network_policies = NetworkPolicies(f"{name}-network", config, opts=after_namespaces)

        self.control_plane_namespace = config.namespaces.control_plane
        self.functions_namespace = config.namespaces.functions
        self.gateway_url = self.gateway.internal_url
        self.external_gateway_url = self.gateway.external_url
        self.admin_password = self.gateway.admin_password
        self.prometheus_url = self.prometheus.url
        self.alertmanager_url = self.alertmanager.url
        self.register_outputs(
            {
                "controlPlaneNamespace": self.control_plane_namespace,
                "functionsNamespace": self.functions_namespace,
                "gatewayUrl": self.gateway_url,
                "externalGatewayUrl": self.external_gateway_url,
                "adminPassword": self.admin_password,
                "prometheusUrl": self.prometheus_url,
                "alertmanagerUrl": self.alertmanager_url,
            }
        )
