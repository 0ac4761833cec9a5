"""The OpenFaaS gateway and its faas-netes provider: one Deployment, RBAC, Services, basic auth, exposure."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from faasplane.components import k8s, names
from faasplane.components.config import MISSING_ADMIN_PASSWORD, ConfigError, PlatformConfig, go_duration

PROVIDER_URL = f"http://127.0.0.1:{names.PROVIDER_PORT}/"
"""faas-netes runs in the gateway pod and is reached over loopback, as the chart does."""
HEALTH_PATH = "/healthz"
AUTH_VOLUME = "auth"
LICENSE_VOLUME = "license"
GATEWAY_TMP_VOLUME = "gateway-tmp"
PROVIDER_TMP_VOLUME = "provider-tmp"
MAX_IDLE_CONNS = 1024
"""The chart's default connection pool size from the gateway to the functions."""
DEV_HOST = "127.0.0.1"
"""Where a NodePort is reached in dev: kind maps the node port to the host's loopback."""

# What faas-netes does in the functions namespace (read from its handlers and informers):
# deploy/update/delete function Deployments and Services, manage function Secrets (/system/secrets),
# read pods and their logs (/system/logs) and watch Endpoints (function lookup for the proxy).
PROVIDER_RULES: list[dict[str, Any]] = [
    {
        "api_groups": ["apps"],
        "resources": ["deployments"],
        "verbs": ["get", "list", "watch", "create", "update", "delete"],
    },
    {
        "api_groups": [""],
        "resources": ["services"],
        "verbs": ["get", "list", "watch", "create", "update", "delete"],
    },
    {
        "api_groups": [""],
        "resources": ["secrets"],
        "verbs": ["get", "list", "watch", "create", "update", "delete"],
    },
    {"api_groups": [""], "resources": ["pods", "pods/log", "endpoints"], "verbs": ["get", "list", "watch"]},
]
PRO_PROVIDER_RULES: list[dict[str, Any]] = [
    # The Pro provider looks functions up through EndpointSlices.
    {"api_groups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
]
PROFILE_READER_RULES: list[dict[str, Any]] = [
    # The Pro provider watches the Profiles of the control-plane namespace (`profiles_namespace`) to apply them
    # to the functions that name them. Read-only, namespaced, and nothing else of openfaas.com.
    {"api_groups": [names.PROFILE_API_GROUP], "resources": [names.PROFILE_PLURAL], "verbs": ["get", "list", "watch"]},
]
PROFILES_ROLE = f"{names.PROVIDER}-profiles"
PROFILE_CRD_MISSING = (
    f"edition pro: the provider reads OpenFaaS Profiles, which need the Profile CRD ({names.PROFILE_CRD}) on the "
    "cluster; this stack does not install it. Install it with the OpenFaaS chart (createCRDs), or set "
    f"{names.PROJECT}:profiles.createCrd true in one stack per cluster"
)


def load_balancer_url(status: Any, port: int = names.GATEWAY_PORT) -> str:
    """The URL of a LoadBalancer Service from its status (ip or hostname); empty until one is assigned."""
    ingress = ((status or {}).get("load_balancer") or (status or {}).get("loadBalancer") or {}).get("ingress")
    for entry in ingress or []:
        address = entry.get("ip") or entry.get("hostname")
        if address:
            return f"http://{address}:{port}"
    return ""


def _status_dict(status: Any) -> Any:
    """Service status as plain data whether the SDK hands back a typed output or a dict."""
    if status is None or isinstance(status, dict):
        return status
    balancer = getattr(status, "load_balancer", None)
    ingress = getattr(balancer, "ingress", None) or []
    return {
        "load_balancer": {
            "ingress": [{"ip": getattr(e, "ip", None), "hostname": getattr(e, "hostname", None)} for e in ingress]
        }
    }


class Gateway(pulumi.ComponentResource):
    """The gateway and faas-netes containers in one Deployment (as the OpenFaaS chart runs them)."""

    service_account: kubernetes.core.v1.ServiceAccount
    provider_role: kubernetes.rbac.v1.Role
    provider_role_binding: kubernetes.rbac.v1.RoleBinding
    profiles_role: kubernetes.rbac.v1.Role | None
    profiles_role_binding: kubernetes.rbac.v1.RoleBinding | None
    auth_secret: kubernetes.core.v1.Secret
    license_secret: kubernetes.core.v1.Secret | None
    deployment: kubernetes.apps.v1.Deployment
    service: kubernetes.core.v1.Service
    external_service: kubernetes.core.v1.Service | None
    ingress: kubernetes.networking.v1.Ingress | None
    disruption_budget: kubernetes.policy.v1.PodDisruptionBudget | None

    auth_secret_name: pulumi.Output[str]
    license_secret_name: pulumi.Output[str] | None
    """The Pro licence Secret (None with CE), shared with the Pro queue-worker."""
    admin_password: pulumi.Output[str]
    internal_url: str
    external_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        images: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(f"{names.TYPE_PREFIX}:Gateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = config.namespaces.control_plane
        functions_namespace = config.namespaces.functions
        gateway = config.gateway
        pro = config.edition == names.EDITION_PRO
        labels = names.app_labels(names.GATEWAY)

        # --- identity and least-privilege RBAC for faas-netes, limited to the functions namespace ---
        self.service_account = kubernetes.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=k8s.metadata(names.PROVIDER, namespace, labels),
            automount_service_account_token=False,
            opts=child,
        )
        self.provider_role = kubernetes.rbac.v1.Role(
            f"{name}-provider-role",
            metadata=k8s.metadata(names.PROVIDER, functions_namespace, labels),
            rules=PROVIDER_RULES + (PRO_PROVIDER_RULES if pro else []),
            opts=child,
        )
        self.provider_role_binding = kubernetes.rbac.v1.RoleBinding(
            f"{name}-provider-role-binding",
            metadata=k8s.metadata(names.PROVIDER, functions_namespace, labels),
            role_ref={
                "api_group": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": self.provider_role.metadata.name,
            },
            subjects=[{"kind": "ServiceAccount", "name": self.service_account.metadata.name, "namespace": namespace}],
            opts=child,
        )

        self.profiles_role = None
        self.profiles_role_binding = None
        if pro:
            # Profiles live in the control-plane namespace: a Role there, not a ClusterRole.
            self.profiles_role = kubernetes.rbac.v1.Role(
                f"{name}-profiles-role",
                metadata=k8s.metadata(PROFILES_ROLE, namespace, labels),
                rules=PROFILE_READER_RULES,
                opts=child,
            )
            self.profiles_role_binding = kubernetes.rbac.v1.RoleBinding(
                f"{name}-profiles-role-binding",
                metadata=k8s.metadata(PROFILES_ROLE, namespace, labels),
                role_ref={
                    "api_group": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": self.profiles_role.metadata.name,
                },
                subjects=[
                    {"kind": "ServiceAccount", "name": self.service_account.metadata.name, "namespace": namespace}
                ],
                opts=child,
            )
            if not config.profiles.create_crd:
                pulumi.log.warn(PROFILE_CRD_MISSING, resource=self)

        # --- basic auth: the stack's secret admin password, in the Secret the chart and connectors name ---
        if not config.admin_password:
            raise ConfigError([MISSING_ADMIN_PASSWORD])
        self.admin_password = pulumi.Output.secret(config.admin_password)
        self.auth_secret = kubernetes.core.v1.Secret(
            f"{name}-basic-auth",
            # A fixed name (the chart's): the pods that mount it carry k8s.credentials_annotation, so a new
            # password still rolls them.
            metadata=k8s.metadata(gateway.auth_secret_name, namespace, labels),
            type="Opaque",
            string_data={
                names.BASIC_AUTH_USER_KEY: names.BASIC_AUTH_ADMIN_USER,
                names.BASIC_AUTH_PASSWORD_KEY: self.admin_password,
            },
            opts=child,
        )
        self.auth_secret_name = self.auth_secret.metadata.name

        self.license_secret = None
        if pro:
            self.license_secret = kubernetes.core.v1.Secret(
                f"{name}-license",
                metadata=k8s.metadata(None, namespace, labels),
                type="Opaque",
                string_data={names.LICENSE_KEY: pulumi.Output.secret(config.license_key or "")},
                opts=child,
            )
        self.license_secret_name = self.license_secret.metadata.name if self.license_secret else None

        # --- the Deployment ---
        auth_mount = k8s.mount(AUTH_VOLUME, names.SECRET_MOUNT_PATH, read_only=True)
        license_mount = k8s.mount(LICENSE_VOLUME, names.LICENSE_MOUNT_PATH, read_only=True)
        secret_mounts = [auth_mount, license_mount] if pro else [auth_mount]
        auth_env = {"basic_auth": "true", "secret_mount_path": names.SECRET_MOUNT_PATH}

        gateway_env = {
            "read_timeout": go_duration(gateway.read_timeout),
            "write_timeout": go_duration(gateway.write_timeout),
            "upstream_timeout": go_duration(gateway.upstream_timeout),
            "functions_provider_url": PROVIDER_URL,
            "function_namespace": functions_namespace,
            "faas_nats_address": names.service_host(names.NATS, namespace, config.kubernetes_dns_domain),
            "faas_nats_port": names.NATS_PORT,
            "faas_nats_channel": names.NATS_CHANNEL,
            "faas_prometheus_host": names.service_host(names.PROMETHEUS, namespace, config.kubernetes_dns_domain),
            "faas_prometheus_port": names.PROMETHEUS_PORT,
            **auth_env,
            "scale_from_zero": str(gateway.scale_from_zero).lower(),
            "max_idle_conns": MAX_IDLE_CONNS,
            "max_idle_conns_per_host": MAX_IDLE_CONNS,
        }
        # What CE faas-netes reads (its pkg/config and the faas-provider config it embeds): port, timeouts,
        # basic auth, http_probe, set_nonroot_user, function_namespace. It always pulls function images.
        provider_env: dict[str, Any] = {
            "port": names.PROVIDER_PORT,
            "function_namespace": functions_namespace,
            "read_timeout": go_duration(gateway.read_timeout),
            "write_timeout": go_duration(gateway.write_timeout),
            "http_probe": "true",
            # Functions deployed through the API run as uid 12000 (faas-netes), unless the stack says otherwise.
            "set_nonroot_user": str(gateway.set_non_root_user).lower(),
            **auth_env,
        }
        if pro:
            # Pro-only settings (the chart passes them to the Pro provider): Profiles, the pull policy of
            # function images, and a namespaced Role rather than a ClusterRole.
            provider_env.update(profiles_namespace=namespace, image_pull_policy="Always", cluster_role="false")
        gateway_container = k8s.container(
            names.GATEWAY,
            images["gateway"],
            gateway.resources,
            command=["./gateway", f"-license-file={names.LICENSE_FILE}"] if pro else None,
            env=gateway_env,
            ports={"http": names.GATEWAY_PORT, "metrics": names.GATEWAY_METRICS_PORT},
            volume_mounts=[*secret_mounts, k8s.mount(GATEWAY_TMP_VOLUME, "/tmp")],
            # Liveness asks the gateway's own metrics server, which answers /healthz itself; /healthz on the API
            # port is forwarded to faas-netes, so a slow provider would get the gateway container restarted.
            liveness_probe=k8s.http_probe(HEALTH_PATH, "metrics", initial_delay=1, period=5, timeout=5),
            # Readiness stays on the API port: not ready while the provider behind it does not answer.
            readiness_probe=k8s.http_probe(HEALTH_PATH, "http", initial_delay=1, period=5, timeout=5),
        )
        provider_container = k8s.container(
            names.PROVIDER,
            images["faasNetes"],
            gateway.provider_resources,
            command=["./faas-netes", f"-license-file={names.LICENSE_FILE}"] if pro else None,
            env=provider_env,
            ports={"provider": names.PROVIDER_PORT},
            volume_mounts=[*secret_mounts, k8s.mount(PROVIDER_TMP_VOLUME, "/tmp")],
            liveness_probe=k8s.http_probe(HEALTH_PATH, "provider", initial_delay=1, period=5, timeout=3),
            readiness_probe=k8s.http_probe(HEALTH_PATH, "provider", initial_delay=1, period=5, timeout=3),
        )
        volumes = [
            k8s.secret_volume(AUTH_VOLUME, self.auth_secret_name),
            k8s.empty_dir(GATEWAY_TMP_VOLUME),
            k8s.empty_dir(PROVIDER_TMP_VOLUME),
        ]
        if self.license_secret is not None:
            volumes.append(k8s.secret_volume(LICENSE_VOLUME, self.license_secret.metadata.name))
        pod = k8s.pod_spec(
            [gateway_container, provider_container],
            volumes=volumes,
            service_account_name=self.service_account.metadata.name,
            # faas-netes talks to the Kubernetes API: the only pod of the platform given a token.
            automount_service_account_token=True,
            topology_spread_labels=labels if config.availability.topology_spread else None,
        )
        self.deployment = kubernetes.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.metadata(names.GATEWAY, namespace, labels),
            spec=k8s.deployment_spec(
                labels,
                pod,
                replicas=gateway.replicas,
                pod_annotations={
                    **names.scrape_annotations(names.GATEWAY_METRICS_PORT),
                    **k8s.credentials_annotation(config),
                },
            ),
            opts=child,
        )

        # --- Services and exposure ---
        self.service = kubernetes.core.v1.Service(
            f"{name}-service",
            metadata=k8s.metadata(names.GATEWAY, namespace, labels),
            spec=k8s.cluster_ip_service_spec(labels, {"http": names.GATEWAY_PORT}),
            opts=child,
        )
        self.internal_url = names.service_url(names.GATEWAY, namespace, names.GATEWAY_PORT,
                                              domain=config.kubernetes_dns_domain)

        exposure = gateway.exposure
        self.external_service = None
        self.ingress = None
        if exposure.type in ("NodePort", "LoadBalancer"):
            port = k8s.service_ports({"http": names.GATEWAY_PORT})[0]
            spec: dict[str, Any] = {"type": exposure.type, "selector": labels, "ports": [port]}
            if exposure.type == "NodePort":
                port["node_port"] = exposure.node_port
            else:
                spec["load_balancer_source_ranges"] = list(exposure.source_ranges)
            if set(exposure.source_ranges) != {"0.0.0.0/0"}:
                # With the default `Cluster` policy kube-proxy replaces the client address by a node's, so
                # the NetworkPolicy ipBlock of `sourceRanges` could never match. `Local` keeps the client
                # address (the port then answers only on nodes running a gateway pod).
                spec["external_traffic_policy"] = "Local"
            self.external_service = kubernetes.core.v1.Service(
                f"{name}-external-service",
                metadata=k8s.metadata(names.GATEWAY_EXTERNAL, namespace, labels),
                spec=spec,
                opts=child,
            )
            if exposure.type == "NodePort":
                self.external_url = pulumi.Output.from_input(f"http://{DEV_HOST}:{exposure.node_port}")
            else:
                self.external_url = self.external_service.status.apply(
                    lambda status: load_balancer_url(_status_dict(status))
                )
        elif exposure.type == "Ingress":
            ingress_spec: dict[str, Any] = {
                "rules": [
                    {
                        "host": exposure.host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "path_type": "Prefix",
                                    "backend": {
                                        "service": {
                                            "name": self.service.metadata.name,
                                            "port": {"number": names.GATEWAY_PORT},
                                        }
                                    },
                                }
                            ]
                        },
                    }
                ]
            }
            if exposure.ingress_class_name:
                ingress_spec["ingress_class_name"] = exposure.ingress_class_name
            if exposure.tls:
                ingress_spec["tls"] = [{"hosts": [exposure.host], "secret_name": exposure.tls_secret_name}]
            self.ingress = kubernetes.networking.v1.Ingress(
                f"{name}-ingress",
                metadata=k8s.metadata(names.GATEWAY, namespace, labels),
                spec=ingress_spec,
                opts=child,
            )
            scheme = "https" if exposure.tls else "http"
            self.external_url = pulumi.Output.from_input(f"{scheme}://{exposure.host}")
        else:  # ClusterIP: reachable in the cluster only (or through `kubectl port-forward`).
            self.external_url = pulumi.Output.from_input(self.internal_url)

        self.disruption_budget = None
        if gateway.replicas >= 2 and config.availability.pod_disruption_budget:
            self.disruption_budget = kubernetes.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=k8s.metadata(names.GATEWAY, namespace, labels),
                spec={"min_available": 1, "selector": {"match_labels": labels}},
                opts=child,
            )

        self.register_outputs(
            {
                "authSecretName": self.auth_secret_name,
                "adminPassword": self.admin_password,
                "internalUrl": self.internal_url,
                "externalUrl": self.external_url,
            }
        )
