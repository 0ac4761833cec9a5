"""The one source of truth for names, ports and labels shared by the platform components.

Anything a second component, a policy or a test needs to agree on lives here, never as a copied literal.
"""

from __future__ import annotations

PROJECT = "faasplane"
"""The Pulumi project name and the prefix of every config key (`faasplane:<key>`)."""

TYPE_PREFIX = "faasplane:platform"
"""Type tokens of the platform components are `faasplane:platform:<Name>`."""

# Namespaces (defaults; the stack config may rename them).
CONTROL_PLANE_NAMESPACE = "openfaas"
FUNCTIONS_NAMESPACE = "openfaas-fn"

# Object names inside the control-plane namespace (the names the OpenFaaS chart uses, so faas-cli,
# dashboards and runbooks written for OpenFaaS keep working).
GATEWAY = "gateway"
GATEWAY_EXTERNAL = "gateway-external"
PROVIDER = "faas-netes"
QUEUE_WORKER = "queue-worker"
NATS = "nats"
PROMETHEUS = "prometheus"
ALERTMANAGER = "alertmanager"
SCALER = "scaler"

# Ports.
GATEWAY_PORT = 8080
GATEWAY_METRICS_PORT = 8082
PROVIDER_PORT = 8081
QUEUE_WORKER_METRICS_PORT = 8081
"""The Pro (JetStream) queue-worker's metrics server; the CE queue-worker serves none."""
METRICS_PORT_NAME = "metrics"
"""Name of a container's metrics port (what a port-selecting scrape job and NetworkPolicy match)."""
NATS_PORT = 4222
NATS_MONITOR_PORT = 8222
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
SCALER_PORT = 8080
FUNCTION_PORT = 8080
DEFAULT_NODE_PORT = 31112

# Paths.
SECRET_MOUNT_PATH = "/var/secrets"
"""Where the gateway, the scaler and Alertmanager find the basic-auth credential files."""
FUNCTION_SECRET_MOUNT_PATH = "/var/openfaas/secrets"
ALERT_WEBHOOK_PATH = "/system/alert"
BASIC_AUTH_USER_KEY = "basic-auth-user"
BASIC_AUTH_PASSWORD_KEY = "basic-auth-password"
BASIC_AUTH_ADMIN_USER = "admin"
BASIC_AUTH_PASSWORD_FILE = f"{SECRET_MOUNT_PATH}/{BASIC_AUTH_PASSWORD_KEY}"
LICENSE_KEY = "license"
"""Key of the OpenFaaS Pro licence Secret; mounted at `LICENSE_MOUNT_PATH` in the Pro images."""
LICENSE_MOUNT_PATH = f"{SECRET_MOUNT_PATH}/{LICENSE_KEY}"
LICENSE_FILE = f"{LICENSE_MOUNT_PATH}/{LICENSE_KEY}"

# Labels.
APP_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
COMPONENT_LABEL = "app.kubernetes.io/component"
FUNCTION_LABEL = "faas_function"
"""faas-netes selects function Deployments and Services by this label."""

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by Kubernetes on every namespace: what NetworkPolicy namespace selectors match."""
SCRAPE_ANNOTATION = "prometheus.io/scrape"
SCRAPE_PORT_ANNOTATION = "prometheus.io/port"
SCRAPE_PATH_ANNOTATION = "prometheus.io/path"
"""Pod annotations the Prometheus pod-discovery job keeps and follows."""

POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce"
POD_SECURITY_AUDIT = "pod-security.kubernetes.io/audit"
POD_SECURITY_WARN = "pod-security.kubernetes.io/warn"

# NATS Streaming conventions shared by the gateway and the queue-worker.
NATS_CLUSTER_ID = "faas-cluster"
NATS_CHANNEL = "faas-request"
NATS_QUEUE_GROUP = "faas"

# NATS JetStream conventions of the Pro queue-worker.
JETSTREAM_DURABLE_NAME = "faas-workers"
"""The chart's default durable consumer the queue-workers share."""

# OpenFaaS Pro Profiles: a namespaced custom resource the Pro provider reads from the control-plane namespace.
PROFILE_API_GROUP = "openfaas.com"
PROFILE_KIND = "Profile"
PROFILE_PLURAL = "profiles"
PROFILE_SINGULAR = "profile"
PROFILE_CRD = f"{PROFILE_PLURAL}.{PROFILE_API_GROUP}"

# Monitoring.
SCALING_ALERT_NAME = "APIHighInvocationRate"
SCALER_RECEIVER = "scaler"
FUNCTION_NAME_LABEL = "function_name"
"""The gateway's metric label naming a function as `name.namespace`."""

EDITION_CE = "ce"
EDITION_PRO = "pro"
CE_MAX_FUNCTIONS = 15
CE_MAX_REPLICAS = 5


def app_labels(app: str, component: str | None = None) -> dict[str, str]:
    """The selector-safe labels every platform workload carries."""
    labels = {APP_LABEL: app, PART_OF_LABEL: PROJECT}
    if component:
        labels[COMPONENT_LABEL] = component
    return labels


AUTH_SECRET_NAME = "basic-auth"
"""The chart's name of the gateway credentials Secret: the connectors and the OpenFaaS docs read it."""
CREDENTIALS_REVISION_ANNOTATION = "faasplane.dev/credentials-revision"
"""On the pods that mount the credentials Secret: a fixed-name Secret does not roll them when it changes."""
DEFAULT_DNS_DOMAIN = "cluster.local"
"""The cluster's DNS domain unless the stack says otherwise (`faasplane:kubernetesDNSDomain`, as the chart)."""


def service_host(service: str, namespace: str, domain: str = DEFAULT_DNS_DOMAIN) -> str:
    """The in-cluster DNS name of a Service."""
    return f"{service}.{namespace}.svc.{domain}"


def service_url(service: str, namespace: str, port: int, scheme: str = "http", domain: str = DEFAULT_DNS_DOMAIN) -> str:
    """The in-cluster URL of a Service."""
    return f"{scheme}://{service_host(service, namespace, domain)}:{port}"


def scrape_annotations(port: int, path: str | None = None) -> dict[str, str]:
    """Pod annotations that make Prometheus scrape `port` (and `path`, default /metrics)."""
    annotations = {SCRAPE_ANNOTATION: "true", SCRAPE_PORT_ANNOTATION: str(port)}
    if path:
        annotations[SCRAPE_PATH_ANNOTATION] = path
    return annotations
