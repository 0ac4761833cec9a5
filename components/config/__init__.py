"""The typed stack configuration: one model for every `faasplane:*` key, with documented defaults.

`load_config()` reads the Pulumi config of the running stack; `parse_config()` validates a plain
mapping (the same data, for tests and the offline render). Any misspelt key, wrong type or
out-of-range value raises `ConfigError`, whose message names the key, the value and what was expected.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from faasplane.components import names
from faasplane.components.errors import UserError
from faasplane.components.images import IMAGE_KEYS, is_image_reference
from faasplane.components.quantities import is_quantity, quantity_value

# --- value types ---------------------------------------------------------------------------------

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")
ADMIN_PASSWORD_MIN_LENGTH = 16
NAMESPACE_SIMILARITY = 0.75
"""How like `faasplane` a config namespace must be to be taken for a typo of it."""
MEMORY_STORE_SHARE = 0.5
"""The default share of the NATS memory limit the memory store may fill (all channels full)."""
MEMORY_STORE_MAX_SHARE = 0.75
"""The most of the NATS memory limit the configured limits may fill: the server needs the rest."""
FILE_STORE_SHARE = 0.8
"""The default share of the NATS volume the file store may fill (all channels full)."""
DEFAULT_RETRY_HTTP_CODES = (408, 429, 500, 502, 503, 504)
"""The chart's codes after which the Pro queue-worker retries an invocation."""
PRO_QUEUE_SETTINGS = (
    "durable_name", "stream_replicas", "max_retry_attempts", "max_retry_wait", "initial_retry_wait",
    "retry_http_codes",
)
"""`queue` settings only the Pro (JetStream) queue-worker reads: edition ce refuses them away from their default."""
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def duration_seconds(value: str) -> float:
    """Seconds in a Prometheus-style duration such as `1m5s`, `30s`, `500ms`, `2h` or `15d`."""
    match = _DURATION.match(value)
    if not value or not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration: expected a value such as 30s, 1m5s or 500ms")
    weeks, days, hours, minutes, seconds, millis = (int(group or 0) for group in match.groups())
    return ((weeks * 7 + days) * 24 + hours) * 3600 + minutes * 60 + seconds + millis / 1000


def go_duration(value: str) -> str:
    """The same duration in a form Go's `time.ParseDuration` reads (it has no days or weeks)."""
    seconds = duration_seconds(value)
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{int(seconds * 1000)}ms"


def _check_duration(value: str) -> str:
    duration_seconds(value)
    return value


def _check_quantity(value: str | int | float) -> str:
    text = str(value)
    if not is_quantity(text):
        raise ValueError(
            f"{value!r} is not a Kubernetes quantity: expected a value such as 100m, 0.5, 128Mi or 1Gi"
        )
    return text


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label: expected lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def _check_image_reference(value: str) -> str:
    if not is_image_reference(value):
        raise ValueError(
            f"{value!r} is not an image reference: expected [registry[:port]/]path[:tag][@sha256:<64 hex>], "
            "e.g. registry.example.com/team/fn@sha256:<digest>"
        )
    return value


def _check_dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 subdomain: expected dot-separated lower-case labels such as cluster.local"
        )
    return value


def _check_label_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(f"{value!r} is not a label value: expected at most 63 letters, digits, '-', '_' or '.'")
    return value


_CONSUMER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _check_consumer_name(value: str) -> str:
    if not _CONSUMER_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a JetStream consumer name: expected at most 64 letters, digits, '-' or '_' "
            "(no spaces, dots, '*' or '>')"
        )
    return value


def _check_http_status(value: int) -> int:
    if not 100 <= value <= 599:
        raise ValueError(f"{value} is not an HTTP status code: expected 100 to 599")
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
LabelValue = Annotated[str, AfterValidator(_check_label_value)]
DnsSubdomain = Annotated[str, AfterValidator(_check_dns_subdomain)]
ImageReference = Annotated[str, AfterValidator(_check_image_reference)]
Quantity = Annotated[str, AfterValidator(_check_quantity)]
DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]
ConsumerName = Annotated[str, AfterValidator(_check_consumer_name)]
HttpStatus = Annotated[int, AfterValidator(_check_http_status)]


class _Model(BaseModel):
    """Config sections: camelCase keys as in every Pulumi stack file, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _resources_over_defaults(cls, data: Any) -> Any:
        """A `resources` block gives only what it changes: the rest comes from the field's default."""
        if not isinstance(data, Mapping):
            return data
        merged = dict(data)
        for name, field in cls.model_fields.items():
            if field.annotation is not Resources or not isinstance(field.default, Resources):
                continue
            for key in {field.alias or name, name}:
                if isinstance(merged.get(key), Mapping):
                    merged[key] = deep_merge(field.default.model_dump(by_alias=True), merged[key])
        return merged


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `override` laid over it: a mapping under a key both have is merged the same way, key by
    key; anything else in `override` (a scalar, a list, a mapping over a non-mapping) replaces `base`'s value.
    Neither argument is changed: the result is a new dict at every level that was merged."""
    out = dict(base)
    for key, value in override.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) \
            else value
    return out


# --- sections ------------------------------------------------------------------------------------


def _scalar_text(value: Any) -> Any:
    """YAML numbers and booleans where text is expected (`statusCode: 200`), as the text they spell."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


SCALER_WIRED = frozenset(
    {
        "SCALER_LISTEN", "SCALER_PROVIDER_URL", "SCALER_PROVIDER_USER", "SCALER_PROVIDER_PASSWORD_FILE",
        "SCALER_AUTH_USER", "SCALER_AUTH_PASSWORD_FILE", "SCALER_PROMETHEUS_URL", "SCALER_POLICY",
        "SCALER_MAX_REPLICAS_CAP", "SCALER_DEFAULT_NAMESPACE", "SCALER_LOG_LEVEL",
    }
)
"""Scaler settings the platform sets from its own wiring; `scaler.env` may not override them."""
_SCALER_PROBE_ENV = {"SCALER_PROVIDER_URL": "http://gateway:8080"}


@functools.cache
def scaler_tunables() -> frozenset[str]:
    """Every `SCALER_*` variable the scaler reads, less the wired ones: asked of the scaler's own parser."""
    from faasplane.scaler.settings import known_variables

    return known_variables() - SCALER_WIRED


class ResourceList(_Model):
    cpu: Quantity
    """CPU, e.g. `100m` or `0.5`."""
    memory: Quantity
    """Memory, e.g. `128Mi`."""


class Resources(_Model):
    """CPU and memory requests and limits of one container."""

    requests: ResourceList
    """What the scheduler reserves."""
    limits: ResourceList
    """The most the container may use."""

    @classmethod
    def of(cls, cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Resources:
        return cls(
            requests=ResourceList(cpu=cpu, memory=memory),
            limits=ResourceList(cpu=cpu_limit, memory=memory_limit),
        )

    def as_k8s(self) -> dict[str, dict[str, str]]:
        return {"requests": self.requests.model_dump(), "limits": self.limits.model_dump()}


class Namespaces(_Model):
    control_plane: DnsLabel = names.CONTROL_PLANE_NAMESPACE
    """Namespace of the gateway, queue, monitoring and scaler."""
    functions: DnsLabel = names.FUNCTIONS_NAMESPACE
    """Namespace the functions are deployed to."""

    @model_validator(mode="after")
    def _distinct(self) -> Namespaces:
        if self.control_plane == self.functions:
            raise ValueError("controlPlane and functions must be different namespaces")
        return self


class Exposure(_Model):
    """How the gateway API is reachable from outside the cluster."""

    type: Literal["NodePort", "ClusterIP", "LoadBalancer", "Ingress"] = "NodePort"
    """`NodePort` (kind), `ClusterIP` (in-cluster only), `LoadBalancer`, or `Ingress` (with TLS)."""
    node_port: int = Field(default=names.DEFAULT_NODE_PORT, ge=30000, le=32767)
    """Node port of the `gateway-external` Service with type NodePort."""
    host: str | None = None
    """Ingress host name (required with type Ingress)."""
    tls_secret_name: str | None = None
    """Secret holding the TLS certificate of the Ingress."""
    ingress_class_name: str | None = None
    """IngressClass of the Ingress (the cluster default when unset)."""
    ingress_namespace: DnsLabel = "ingress-nginx"
    """Namespace of the ingress controller: the only source allowed to reach the gateway with Ingress."""
    source_ranges: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"])
    """CIDRs allowed to reach the gateway through a NodePort or LoadBalancer."""

    @model_validator(mode="after")
    def _ingress_needs_host(self) -> Exposure:
        if self.type == "Ingress" and not self.host:
            raise ValueError("type Ingress needs host (the DNS name the Ingress serves)")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_secret_name is not None


class Gateway(_Model):
    replicas: int = Field(default=1, ge=1, le=20)
    """Gateway pods (each with its faas-netes provider); 2 or more for availability."""
    exposure: Exposure = Exposure()
    """External exposure of the gateway API (see `gateway.exposure.*`)."""
    read_timeout: Duration = "1m5s"
    """HTTP read timeout of the gateway."""
    write_timeout: Duration = "1m5s"
    """HTTP write timeout of the gateway."""
    upstream_timeout: Duration = "1m"
    """Longest a function invocation may take; must be below writeTimeout."""
    scale_from_zero: bool = True
    """The gateway holds a request to a function at zero replicas and scales it to its minimum."""
    clients: list[dict[str, LabelValue]] = Field(default_factory=list)
    """Pod labels of more clients of the gateway API in the control-plane namespace, such as a connector
    (`[{app: cron-connector}]`): its NetworkPolicy admits them to port 8080, as it admits the queue-worker."""
    auth_secret_name: DnsSubdomain = names.AUTH_SECRET_NAME
    """Name of the Secret with the admin credentials (`basic-auth-user`, `basic-auth-password`), in the control
    plane namespace: connectors (cron-connector, kafka-connector, ...) and the OpenFaaS docs expect `basic-auth`."""
    set_non_root_user: bool = True
    """faas-netes runs the functions deployed through its API (faas-cli deploy) as uid 12000. The chart's default
    is false; true here, so a function image that runs as root is not run as root (images that need a fixed
    user of their own must set false). Functions declared with faasplane run non-root either way."""
    resources: Resources = Resources.of("50m", "64Mi", "500m", "256Mi")
    """Requests and limits of the gateway container."""
    provider_resources: Resources = Resources.of("50m", "64Mi", "500m", "256Mi")
    """Requests and limits of the faas-netes container."""

    @model_validator(mode="after")
    def _upstream_below_write(self) -> Gateway:
        if duration_seconds(self.upstream_timeout) >= duration_seconds(self.write_timeout):
            raise ValueError(
                f"upstreamTimeout {self.upstream_timeout} must be shorter than writeTimeout "
                f"{self.write_timeout}, so the gateway can answer before the client connection closes"
            )
        return self


class Queue(_Model):
    """NATS Streaming and the queue-worker for asynchronous invocations."""

    store: Literal["memory", "file"] = "memory"
    """`memory` loses queued invocations when NATS restarts; `file` keeps them on a PersistentVolumeClaim."""
    storage_size: Quantity = "1Gi"
    """Size of the NATS volume with store `file`."""
    storage_class_name: str | None = None
    """StorageClass of the NATS volume (the cluster default when unset)."""
    ack_wait: Duration = "60s"
    """How long NATS waits for the queue-worker to acknowledge an invocation before redelivering it."""
    max_inflight: int = Field(default=1, ge=1, le=1000)
    """Invocations one queue-worker runs at once. With edition ce only 1 (the CE queue-worker runs one invocation at a
    time)."""
    worker_replicas: int = Field(default=1, ge=1, le=20)
    """Queue-worker pods."""
    nats_resources: Resources = Resources.of("50m", "64Mi", "500m", "256Mi")
    """Requests and limits of NATS."""
    worker_resources: Resources = Resources.of("20m", "32Mi", "250m", "128Mi")
    """Requests and limits of the queue-worker."""
    max_channels: int = Field(default=8, ge=1, le=1000)
    """Channels NATS Streaming keeps: the default queue (`faas-request`) and one per named queue. With
    maxBytes it bounds what NATS holds: a full store is maxChannels x maxBytes."""
    max_bytes: Quantity | None = None
    """Bytes NATS Streaming keeps per channel, acknowledged or not; the oldest go first. Default: with store
    `memory` half the NATS memory limit shared by maxChannels, with `file` 80% of storageSize shared alike."""
    max_messages: int = Field(default=100_000, ge=1)
    """Messages NATS Streaming keeps per channel; the oldest go first."""
    max_age: Duration = "24h"
    """How long NATS Streaming keeps a message; older ones are dropped, queued or not."""
    # The Pro (JetStream) queue-worker's own settings, with the chart's defaults; edition ce refuses them.
    durable_name: ConsumerName = names.JETSTREAM_DURABLE_NAME
    """Pro: the JetStream durable consumer the queue-workers share (the chart's `jetstreamQueueWorker.durableName`);
    renaming it starts a new consumer."""
    stream_replicas: int = Field(default=1, ge=1)
    """Pro: replicas of the JetStream stream. Only 1: faasplane runs one NATS server, and a stream cannot have
    more replicas than there are servers."""
    max_retry_attempts: int = Field(default=100, ge=1)
    """Pro: how often the queue-worker retries an invocation answered with one of retryHttpCodes."""
    max_retry_wait: Duration = "120s"
    """Pro: the longest wait between two retries (the back-off grows up to it)."""
    initial_retry_wait: Duration = "10s"
    """Pro: the wait before the first retry; at most maxRetryWait."""
    retry_http_codes: list[HttpStatus] = Field(default_factory=lambda: list(DEFAULT_RETRY_HTTP_CODES))
    """Pro: the HTTP status codes of a function's answer after which the queue-worker retries the invocation."""

    @field_validator("stream_replicas")
    @classmethod
    def _one_nats_server(cls, value: int) -> int:
        if value > 1:
            raise ValueError(
                f"a stream cannot have more replicas than NATS servers, and faasplane runs one NATS server: "
                f"expected 1, not {value} (replicated streams need a NATS cluster faasplane does not deploy)"
            )
        return value

    @field_validator("retry_http_codes")
    @classmethod
    def _distinct_codes(cls, codes: list[int]) -> list[int]:
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"{repeated} given more than once: expected each code once")
        return codes

    @model_validator(mode="after")
    def _retry_waits(self) -> Queue:
        if duration_seconds(self.initial_retry_wait) > duration_seconds(self.max_retry_wait):
            raise ValueError(
                f"initialRetryWait {self.initial_retry_wait} must not be longer than maxRetryWait {self.max_retry_wait}"
            )
        return self

    def channel_bytes(self) -> int:
        """`maxBytes`, or its default for the store."""
        if self.max_bytes is not None:
            return int(quantity_value(self.max_bytes))
        if self.store == "memory":
            budget = MEMORY_STORE_SHARE * quantity_value(self.nats_resources.limits.memory)
        else:
            budget = FILE_STORE_SHARE * quantity_value(self.storage_size)
        return int(budget // self.max_channels)

    @model_validator(mode="after")
    def _store_fits(self) -> Queue:
        per_channel = self.channel_bytes()
        total = self.max_channels * per_channel
        full = f"maxChannels {self.max_channels} x maxBytes {per_channel // 2**20}Mi = {total // 2**20}Mi"
        if self.store == "memory":
            limit = quantity_value(self.nats_resources.limits.memory)
            if total > MEMORY_STORE_MAX_SHARE * limit:
                raise ValueError(
                    f"{full} does not fit the NATS memory limit {self.nats_resources.limits.memory}: the memory store "
                    f"keeps every message in it, and at most {MEMORY_STORE_MAX_SHARE:.0%} leaves room for the "
                    "server; lower maxBytes or maxChannels, or raise natsResources.limits.memory"
                )
        elif total > quantity_value(self.storage_size):
            raise ValueError(
                f"{full} does not fit storageSize {self.storage_size}: lower maxBytes or maxChannels, "
                "or raise storageSize"
            )
        return self


class Profiles(_Model):
    """OpenFaaS Pro Profiles: shared scheduling and security settings a function opts into with the annotation
    `com.openfaas.profile`. The Pro provider reads them (Profile objects) from the control-plane namespace."""

    create_crd: bool = False
    """Pro: install the Profile CustomResourceDefinition (`profiles.openfaas.com`). Off by default: a CRD is a
    cluster-scoped API shared by every OpenFaaS installation on the cluster, so it belongs to whoever installs
    OpenFaaS there (the chart's `createCRDs`), not to one stack; turn it on in one stack per cluster where the
    chart has not installed it. The stack then keeps it when destroyed, as the chart does: deleting a CRD
    deletes every Profile of the cluster with it."""


class Prometheus(_Model):
    scrape_interval: Duration = "15s"
    """Default scrape interval."""
    evaluation_interval: Duration = "15s"
    """How often alert rules are evaluated."""
    gateway_scrape_interval: Duration = "5s"
    """Scrape interval of the control-plane pods (the gateway's invocation metrics)."""
    retention: Duration = "24h"
    """How long samples are kept."""
    storage: Literal["emptyDir", "persistent"] = "emptyDir"
    """`emptyDir` (lost on restart) or `persistent` (a PersistentVolumeClaim)."""
    storage_size: Quantity = "8Gi"
    """Size of the volume with storage `persistent`."""
    storage_class_name: str | None = None
    """StorageClass of the volume (the cluster default when unset)."""
    resources: Resources = Resources.of("100m", "256Mi", "1", "1Gi")
    """Requests and limits of Prometheus."""


class Alertmanager(_Model):
    group_wait: Duration = "5s"
    """Wait before the first notification of a new alert group."""
    group_interval: Duration = "10s"
    """Wait before notifying about changes in a group."""
    repeat_interval: Duration = "30s"
    """Wait before re-sending an unchanged firing group."""
    resources: Resources = Resources.of("20m", "32Mi", "200m", "128Mi")
    """Requests and limits of Alertmanager."""


class AlertRule(_Model):
    """The scaling alert; the default equals the OpenFaaS chart's `APIHighInvocationRate`."""

    name: str = names.SCALING_ALERT_NAME
    """Alert name; Alertmanager routes it to the scaler."""
    threshold_rps: float = Field(default=5.0, gt=0)
    """Invocations per second of one function above which the alert fires."""
    rate_window: Duration = "10s"
    """Range of the `rate()` over `gateway_function_invocation_total`."""
    for_: Duration = Field(default="5s", alias="for")
    """How long the rate must stay above the threshold before the alert fires."""
    status_code: Annotated[str | None, BeforeValidator(_scalar_text)] = "200"
    """Only invocations answered with this HTTP code count; null counts every code."""
    severity: str = "major"
    """The alert's `severity` label."""


class Scaler(_Model):
    image: ImageReference | None = None
    """A prebuilt scaler image reference; when unset, Pulumi builds `scaler/` and pushes it to the registry."""
    policy: Literal["proportional", "openfaas"] = "proportional"
    """`proportional` (load-based, stabilized) or `openfaas` (the CE handler's step rule)."""
    replicas: int = Field(default=1, ge=1, le=1)
    """One replica: decisions are serialized per function inside one process."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level of the scaler."""
    resources: Resources = Resources.of("50m", "64Mi", "500m", "192Mi")
    """Requests and limits of the scaler."""
    env: dict[str, Annotated[str, BeforeValidator(_scalar_text)]] = Field(default_factory=dict)
    """Tuning `SCALER_*` settings (windows, periods, timeouts: see scaler/README.md) passed as environment
    variables; the settings the platform wires itself (addresses, credentials, policy, cap) are refused."""

    @model_validator(mode="after")
    def _env_is_scaler_tuning(self) -> Scaler:
        tunable = scaler_tunables()
        for key in self.env:
            if key in SCALER_WIRED:
                raise ValueError(
                    f"env key {key!r} is wired by the platform (addresses, credentials, policy and the edition's "
                    "cap): set scaler.policy, scaler.logLevel or edition instead"
                )
            if key not in tunable:
                hint = difflib.get_close_matches(key, sorted(tunable), n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(
                    f"env key {key!r} is not a scaler setting{suggestion}: expected one of {', '.join(sorted(tunable))}"
                )
        from faasplane.scaler.settings import Settings, SettingsError

        try:
            Settings.from_env({**_SCALER_PROBE_ENV, **self.env})
        except SettingsError as error:
            raise ValueError(f"env: {error}") from None
        return self


class Registry(_Model):
    """Where images built by this stack are pushed (the scaler and the functions)."""

    server: str = "localhost:5001"
    """Registry host (and optional path prefix); dev uses kind's local registry."""
    push: bool = True
    """Push built images (needed for any cluster to pull them)."""
    username: str | None = None
    """With a username, the password comes from the secret config value `faasplane:registryPassword`."""


class Availability(_Model):
    """Scheduling and availability settings that production stacks turn on."""

    topology_spread: bool = False
    """Spread gateway pods over nodes and zones."""
    pod_disruption_budget: bool = False
    """Keep at least one gateway pod through voluntary disruptions (with 2+ replicas)."""


class PlatformConfig(_Model):
    """Every `faasplane:*` stack setting; the README's configuration reference is generated from it."""

    edition: Literal["ce", "pro"] = names.EDITION_CE
    """`ce` (OpenFaaS CE: at most 15 functions, 5 replicas, no scale to zero) or `pro` (needs a licence)."""
    kubernetes_dns_domain: DnsSubdomain = Field(default=names.DEFAULT_DNS_DOMAIN, alias="kubernetesDNSDomain")
    """The cluster's DNS domain, in every in-cluster address (the gateway's NATS and provider, the queue-worker,
    the scaler, Prometheus and Alertmanager); the chart's `kubernetesDNSDomain`."""
    namespaces: Namespaces = Namespaces()
    """Namespaces of the platform."""
    gateway: Gateway = Gateway()
    """The OpenFaaS gateway and its faas-netes provider."""
    queue: Queue = Queue()
    """NATS Streaming and the queue-worker."""
    profiles: Profiles = Profiles()
    """OpenFaaS Pro Profiles."""
    prometheus: Prometheus = Prometheus()
    """Prometheus."""
    alertmanager: Alertmanager = Alertmanager()
    """Alertmanager routing."""
    alert_rule: AlertRule = AlertRule()
    """The scaling alert rule."""
    scaler: Scaler = Scaler()
    """The faasplane scaler."""
    registry: Registry = Registry()
    """The image registry."""
    availability: Availability = Availability()
    """High-availability settings."""
    images: dict[str, ImageReference] = Field(default_factory=dict)
    """Image overrides by component key (gateway, faasNetes, queueWorker, nats, prometheus, alertmanager)."""
    function_images: dict[str, ImageReference] = Field(default_factory=dict)
    """Prebuilt images by function name: these functions are deployed from the reference instead of being built
    (images built by CI, or a machine without an image builder); each key must name a declared function."""

    @field_validator("images")
    @classmethod
    def _known_images(cls, images: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(images) - set(IMAGE_KEYS))
        if unknown:
            raise ValueError(f"unknown keys {unknown}: expected some of {list(IMAGE_KEYS)}")
        return images
    admin_password: str | None = Field(default=None, repr=False, min_length=ADMIN_PASSWORD_MIN_LENGTH)
    """The gateway's `admin` password (secret; required by the program: `make up` generates one, by hand
    `pulumi config set --secret faasplane:adminPassword "$(openssl rand -base64 30)"`)."""
    license_key: str | None = Field(default=None, repr=False)
    """OpenFaaS Pro licence (secret: `pulumi config set --secret faasplane:licenseKey`)."""
    registry_password: str | None = Field(default=None, repr=False)
    """Registry password (secret) used with `registry.username`."""

    @field_validator("admin_password")
    @classmethod
    def _password_text(cls, value: str | None) -> str | None:
        if value is not None and (value != value.strip() or ":" in value or "\n" in value):
            raise ValueError("must not contain ':', a line break, or leading or trailing spaces (HTTP basic auth)")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> PlatformConfig:
        if self.edition == names.EDITION_PRO and not self.license_key:
            raise ValueError(
                "edition 'pro' needs the OpenFaaS Pro licence: "
                "pulumi config set --secret faasplane:licenseKey <key>"
            )
        rate_window = duration_seconds(self.alert_rule.rate_window)
        scrape = duration_seconds(self.prometheus.gateway_scrape_interval)
        if rate_window < 2 * scrape:
            raise ValueError(
                f"alertRule.rateWindow {self.alert_rule.rate_window} must be at least twice "
                f"prometheus.gatewayScrapeInterval {self.prometheus.gateway_scrape_interval}: rate() needs two "
                "samples inside its window, or the scaling alert never fires"
            )
        if self.edition == names.EDITION_CE and self.queue.max_inflight != 1:
            raise ValueError(
                f"queue.maxInflight {self.queue.max_inflight} is not supported by the OpenFaaS CE queue-worker, "
                "which runs one invocation at a time: scale out with queue.workerReplicas, or use edition 'pro'"
            )
        if self.edition == names.EDITION_CE:
            self._refuse_pro_settings()
        if self.registry.username and not self.registry_password:
            raise ValueError(
                "registry.username needs a password: pulumi config set --secret faasplane:registryPassword <password>"
            )
        return self

    def _refuse_pro_settings(self) -> None:
        """Pro-only settings given with edition ce: CE has nothing that reads them, so they would be ignored."""
        given = []
        for name in PRO_QUEUE_SETTINGS:
            field = Queue.model_fields[name]
            value, default = getattr(self.queue, name), field.get_default(call_default_factory=True)
            if _validated_as(field, _check_duration):
                differs = duration_seconds(value) != duration_seconds(default)
            else:
                differs = value != default
            if differs:
                given.append(f"queue.{field.alias or name} {json.dumps(value)} (default {json.dumps(default)})")
        if given:
            raise ValueError(
                f"{', '.join(given)}: {'settings' if len(given) > 1 else 'a setting'} of the OpenFaaS Pro "
                "JetStream queue-worker, which edition 'ce' does not run (the CE queue-worker has no such "
                "setting): remove it, or use edition 'pro'"
            )
        if self.profiles.create_crd:
            raise ValueError(
                "profiles.createCrd true: Profiles are an OpenFaaS Pro feature (the CE provider does not read "
                "them), so edition 'ce' installs no Profile CRD: remove it, or use edition 'pro'"
            )


def _validated_as(field: Any, check: Any) -> bool:
    return any(getattr(meta, "func", None) is check for meta in field.metadata)


MISSING_ADMIN_PASSWORD = (
    f"{names.PROJECT}:adminPassword: not set: the gateway's admin password, kept as a secret; generate one with "
    f'pulumi config set --secret {names.PROJECT}:adminPassword "$(openssl rand -base64 30)" (make up does this)'
)
SECRET_KEYS = ("adminPassword", "licenseKey", "registryPassword")
"""Top-level keys that must be set as Pulumi secrets."""


class ConfigError(UserError):
    """The stack configuration is invalid; the message names every bad key and what was expected."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  {p}" for p in problems))


# --- loading -------------------------------------------------------------------------------------


def _known_keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _key_path(loc: tuple[Any, ...]) -> str:
    path = f"{names.PROJECT}:{loc[0]}" if loc else names.PROJECT
    for part in loc[1:]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _describe(error: dict[str, Any], data: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = _key_path(loc)
    if error["type"] == "extra_forbidden" and len(loc) == 1 and "." in str(loc[0]):
        head, _, rest = str(loc[0]).partition(".")
        if head in _known_keys(PlatformConfig):
            value = json.dumps(data.get(str(loc[0])), default=str)
            return (f"{key}: a dotted key is not a path in a stack file: nest the value under {names.PROJECT}:{head} "
                    f"(in the stack file `{names.PROJECT}:{head}:` with `{rest}: {value}` beneath it, as YAML), or set "
                    f"it with `pulumi config set --path '{names.PROJECT}:{head}.{rest}' {value}`")
    if error["type"] == "extra_forbidden":
        parent: Any = PlatformConfig
        for part in loc[:-1]:
            if isinstance(part, str) and isinstance(parent, type) and issubclass(parent, BaseModel):
                field = next(
                    (f for n, f in parent.model_fields.items() if (f.alias or n) == part),
                    None,
                )
                parent = getattr(field, "annotation", None)
        known = _known_keys(parent) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return f"{key}: unknown key{suggestion}; expected one of {', '.join(known)}"
    message = error["msg"].removeprefix("Value error, ")
    if loc:
        value = error.get("input")
        if value is not None and not isinstance(value, dict):
            return f"{key}: {json.dumps(value, default=str)} is not valid: {message}"
    return f"{key}: {message}"


def parse_config(data: Mapping[str, Any]) -> PlatformConfig:
    """Validate the `faasplane:*` settings given as a mapping of key (without prefix) to value."""
    try:
        return PlatformConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError([_describe(error, data) for error in exc.errors()]) from None


def _decode(value: Any) -> Any:
    """Pulumi hands structured config values to the program as JSON strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _all_config() -> dict[str, Any]:
    from pulumi.runtime import config as runtime_config

    values = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    prefix = f"{names.PROJECT}:"
    return {key.removeprefix(prefix): value for key, value in values.items() if key.startswith(prefix)}


def misspelt_namespaces(keys: Iterable[str]) -> list[str]:
    """A warning for each config key whose namespace looks like faasplane's but is not (`fasplane:edition`):
    Pulumi passes it to no one, so the setting is silently ignored."""
    warnings = []
    for key in keys:
        namespace, sep, rest = key.partition(":")
        if not sep or namespace == names.PROJECT:
            continue
        if difflib.SequenceMatcher(None, namespace.lower(), names.PROJECT).ratio() >= NAMESPACE_SIMILARITY:
            warnings.append(f"{key}: the namespace {namespace!r} is not {names.PROJECT!r}, so nothing reads this "
                            f"setting: did you mean {names.PROJECT}:{rest}?")
    return warnings


def load_config() -> PlatformConfig:
    """The typed configuration of the running Pulumi stack (raises `ConfigError` when invalid)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    for warning in misspelt_namespaces(everything):
        pulumi.log.warn(warning)
    raw = _all_config()
    data = {key: _decode(value) for key, value in raw.items()}
    # Plain strings that happen to parse as JSON numbers or booleans stay strings where expected.
    for key in SECRET_KEYS:
        if key in raw:
            data[key] = raw[key]
            if not runtime_config.is_config_secret(f"{names.PROJECT}:{key}") and raw[key]:
                raise ConfigError(
                    [f"{names.PROJECT}:{key}: must be a secret: pulumi config set --secret {names.PROJECT}:{key}"]
                )
    missing = [] if raw.get("adminPassword") else [MISSING_ADMIN_PASSWORD]
    try:
        config = parse_config(data)
    except ConfigError as error:
        raise ConfigError(error.problems + missing) from None
    if missing:
        raise ConfigError(missing)
    return config
