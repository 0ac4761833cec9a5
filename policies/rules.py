"""The faasplane policies: plain validator functions plus the metadata Pulumi registers them with.

Every validator has the pulumi-policy signature `fn(args, report_violation)`:

* resource validators get a `ResourceValidationArgs` (`resource_type`, camelCase `props`, `urn`, `name`,
  `get_config()`) and report against that resource;
* stack validators get a `StackValidationArgs` (`resources`, each a `PolicyResource`) and pass the URN of
  the offending resource as the second argument of `report_violation` (none for the stack as a whole).

The same functions run under the Pulumi CLI (`policies/__main__.py` builds the `PolicyPack` from
`POLICIES`) and offline over a render (`python -m faasplane.policies.check`). Nothing in this module starts the
policy server. Facts shared with the platform (names, ports, labels, limits) are imported from
`faasplane.components.names`, `faasplane.components.platform.monitoring_config`,
`faasplane.components.images` and `faasplane.scaler.labels`.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from faasplane.components import names
from faasplane.components.images import CE_IMAGES, PRO_IMAGES
from faasplane.components.platform.monitoring_config import ALERTMANAGER_FILE, PROMETHEUS_FILE
from faasplane.policies import kube, monitoring
from faasplane.policies.stack import Obj, Stack, function_labels, is_function, parse_yaml
from faasplane.scaler import labels as scale_labels

ReportViolation = Callable[..., None]

PACK_NAME = "faasplane"

# --- configuration -------------------------------------------------------------------------------

DEFAULT_REPLICAS_CEILING = 20
"""`function-scale-bounds`: the largest `com.openfaas.scale.max` a function may ask for by default."""
DEFAULT_MAX_MEMORY_LIMIT = "2Gi"
"""`container-resources`: the largest memory limit a container may have by default."""
DEFAULT_TLS_ANNOTATIONS = (
    "service.beta.kubernetes.io/aws-load-balancer-ssl-cert",
    "service.beta.kubernetes.io/do-loadbalancer-certificate-id",
)
"""`exposure`: Service annotations that make a cloud load balancer terminate TLS in front of the gateway."""

QUANTITY_PATTERN = r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"


def settings(args: ResourceValidationArgs | StackValidationArgs, schema: Mapping[str, Mapping[str, Any]]) -> dict:
    """The policy's configuration: the schema's defaults, then what the pack config sets.

    The Pulumi CLI fills in the defaults itself; the offline check and unit tests may not, so every
    validator reads its settings through here.
    """
    values = {key: copy.deepcopy(prop["default"]) for key, prop in schema.items() if "default" in prop}
    values.update(dict(args.get_config() or {}))
    return values


# --- 1. function-scale-bounds --------------------------------------------------------------------

SCALE_BOUNDS_CONFIG: dict[str, dict[str, Any]] = {
    "maxReplicasCeiling": {
        "type": "integer",
        "minimum": 1,
        "default": DEFAULT_REPLICAS_CEILING,
        "description": f"Largest {scale_labels.SCALE_MAX} any function may declare.",
    },
}


def function_scale_bounds(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if kube.kind_of(args.resource_type) != "Deployment" or not is_function(args.props):
        return
    ceiling = kube.as_int(settings(args, SCALE_BOUNDS_CONFIG)["maxReplicasCeiling"]) or DEFAULT_REPLICAS_CEILING
    labels = function_labels(args.props)
    on_deployment = kube.labels_of(args.props)
    values: dict[str, int] = {}
    for key in (scale_labels.SCALE_MIN, scale_labels.SCALE_MAX):
        if key not in labels:
            where = (
                " (it is on the Deployment's metadata only; faas-netes and the scaler read the pod template)"
                if key in on_deployment
                else ""
            )
            report_violation(f"label {key} is missing from the pod template{where}")
            continue
        number = kube.as_int(labels[key])
        if number is None:
            report_violation(f"label {key}={labels[key]!r} is not an integer")
        else:
            values[key] = number
    low, high = values.get(scale_labels.SCALE_MIN), values.get(scale_labels.SCALE_MAX)
    if low is not None and low < 1:
        report_violation(f"label {scale_labels.SCALE_MIN}={low} is below 1 (scale-to-zero is not a minimum)")
    if low is not None and high is not None and low > high:
        report_violation(f"label {scale_labels.SCALE_MIN}={low} is above {scale_labels.SCALE_MAX}={high}")
    if high is not None and high > ceiling:
        report_violation(f"label {scale_labels.SCALE_MAX}={high} is above the ceiling of {ceiling} replicas")
    if scale_labels.SCALE_FACTOR in labels:
        factor = kube.as_int(labels[scale_labels.SCALE_FACTOR])
        if factor is None or not 1 <= factor <= 100:
            report_violation(
                f"label {scale_labels.SCALE_FACTOR}={labels[scale_labels.SCALE_FACTOR]!r} is not an integer 1..100"
            )


# --- 2. container-resources ----------------------------------------------------------------------

RESOURCES_CONFIG: dict[str, dict[str, Any]] = {
    "maxMemoryLimit": {
        "type": "string",
        "pattern": QUANTITY_PATTERN,
        "default": DEFAULT_MAX_MEMORY_LIMIT,
        "description": "Largest memory limit of any container (a Kubernetes quantity such as 1Gi).",
    },
}


def container_resources(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    pod = kube.pod_template(kube.kind_of(args.resource_type), args.props)
    if pod is None:
        return
    ceiling_text = str(settings(args, RESOURCES_CONFIG)["maxMemoryLimit"])
    ceiling = kube.quantity(ceiling_text)
    for container in kube.containers(pod.spec):
        where = kube.container_label(container)
        resources = kube.mapping(container.get("resources"))
        amounts: dict[tuple[str, str], Decimal] = {}
        missing = []
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                raw = kube.mapping(resources.get(section)).get(resource)
                if raw is None or raw == "":
                    missing.append(f"{section}.{resource}")
                    continue
                value = kube.quantity(raw)
                if value is None:
                    report_violation(f"{where}: {section}.{resource}={raw!r} is not a Kubernetes quantity")
                else:
                    amounts[(section, resource)] = value
        if missing:
            report_violation(f"{where} has no resources {', '.join(missing)}")
        for resource in ("cpu", "memory"):
            request, limit = amounts.get(("requests", resource)), amounts.get(("limits", resource))
            if request is not None and limit is not None and request > limit:
                report_violation(f"{where}: requests.{resource} is above limits.{resource}")
        memory = amounts.get(("limits", "memory"))
        if memory is not None and ceiling is not None and memory > ceiling:
            raw = kube.mapping(resources.get("limits")).get("memory")
            report_violation(f"{where}: limits.memory={raw} is above the ceiling of {ceiling_text}")


# --- 3. pinned-images ----------------------------------------------------------------------------

IMAGES_CONFIG: dict[str, dict[str, Any]] = {
    "digestsOnly": {
        "type": "boolean",
        "default": False,
        "description": "Require every image to be referenced by digest (@sha256:...), not by tag alone.",
    },
}
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def pinned_images(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    pod = kube.pod_template(kube.kind_of(args.resource_type), args.props)
    if pod is None:
        return
    digests_only = bool(settings(args, IMAGES_CONFIG)["digestsOnly"])
    for container in kube.containers(pod.spec):
        where = kube.container_label(container)
        image = container.get("image")
        if not isinstance(image, str) or not image.strip():
            report_violation(f"{where} has no image")
            continue
        ref = kube.parse_image(image.strip())
        if ref.digest is not None:
            if not _DIGEST.match(ref.digest):
                report_violation(f"{where}: image {image} has a malformed digest (expected sha256:<64 hex>)")
            continue
        if ref.tag is None:
            report_violation(f"{where}: image {image} has no tag (it means :latest)")
        elif ref.tag == "latest":
            report_violation(f"{where}: image {image} uses the mutable :latest tag")
        elif digests_only:
            report_violation(f"{where}: image {image} is pinned by tag only; digestsOnly requires @sha256:<digest>")


# --- 4. pod-hardening ----------------------------------------------------------------------------


def pod_hardening(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    pod = kube.pod_template(kube.kind_of(args.resource_type), args.props)
    if pod is None:
        return
    spec = pod.spec
    for field_name in ("hostNetwork", "hostPID", "hostIPC"):
        if kube.is_true(spec.get(field_name)):
            report_violation(f"pod sets {field_name}: true")
    for volume in kube.sequence(spec.get("volumes")):
        volume = kube.mapping(volume)
        if "hostPath" in volume:
            path = kube.dig(volume, "hostPath", "path")
            report_violation(f"volume {volume.get('name')!r} is a hostPath ({path})")
    pod_context = kube.mapping(spec.get("securityContext"))
    for container in kube.containers(spec):
        where = kube.container_label(container)
        context = kube.mapping(container.get("securityContext"))
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if non_root is not True:
            report_violation(f"{where}: runAsNonRoot is not true (neither on the container nor on the pod)")
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        if kube.as_int(user) == 0:
            report_violation(f"{where}: runAsUser is 0 (root)")
        if context.get("allowPrivilegeEscalation") is not False:
            report_violation(f"{where}: allowPrivilegeEscalation is not false")
        if kube.is_true(context.get("privileged")):
            report_violation(f"{where}: privileged is true")
        dropped = [str(item) for item in kube.sequence(kube.dig(context, "capabilities", "drop"))]
        if "ALL" not in dropped:
            report_violation(f"{where}: capabilities.drop does not contain ALL")


# --- 5. gateway-auth -----------------------------------------------------------------------------

SCALER_AUTH_USER_ENV = "SCALER_AUTH_USER"
SCALER_AUTH_PASSWORD_FILE_ENV = "SCALER_AUTH_PASSWORD_FILE"
"""The scaler requires basic auth on its webhook when both are set (`scaler/settings.py`)."""
GATEWAY_AUTH_ENV = "basic_auth"
GATEWAY_AUTH_ON = ("true", "1")
"""The only values the gateway reads as "on" (anything else, `TRUE` included, leaves auth off)."""


def _named_containers(pod: kube.PodTemplate, name: str) -> list[Mapping[str, Any]]:
    every = list(kube.containers(pod.spec))
    return [c for c in every if c.get("name") == name] or every


def _mounted_secret(pod: kube.PodTemplate, container: Mapping[str, Any], path: str) -> bool:
    """Whether `path` lies in a volume of `container` that comes from a Secret."""
    volumes = {str(kube.mapping(v).get("name")): kube.mapping(v) for v in kube.sequence(pod.spec.get("volumes"))}
    for mount in kube.sequence(container.get("volumeMounts")):
        mount = kube.mapping(mount)
        mount_path = str(mount.get("mountPath") or "").rstrip("/")
        if not mount_path or not (path == mount_path or path.startswith(mount_path + "/")):
            continue
        volume = volumes.get(str(mount.get("name")), {})
        if "secret" in volume:
            return True
        sources = kube.sequence(kube.dig(volume, "projected", "sources"))
        if sources and all("secret" in kube.mapping(source) for source in sources):
            return True
    return False


def gateway_auth(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    kind = kube.kind_of(args.resource_type)
    props = args.props
    if kind == "Deployment" and kube.name_of(props) == names.GATEWAY:
        pod = kube.pod_template(kind, props)
        assert pod is not None
        for container in _named_containers(pod, names.GATEWAY):
            value = kube.env_value(container, GATEWAY_AUTH_ENV)
            if value is None:
                report_violation(
                    f"{kube.container_label(container)} does not set {GATEWAY_AUTH_ENV}=true: "
                    "the gateway API and its /system routes take requests without credentials"
                )
            elif str(value) not in GATEWAY_AUTH_ON:
                report_violation(
                    f"{kube.container_label(container)} sets {GATEWAY_AUTH_ENV}={value!r}: "
                    "the gateway API and its /system routes take requests without credentials"
                )
    elif kind == "Deployment" and kube.name_of(props) == names.SCALER:
        pod = kube.pod_template(kind, props)
        assert pod is not None
        for container in _named_containers(pod, names.SCALER):
            where = kube.container_label(container)
            required = (SCALER_AUTH_USER_ENV, SCALER_AUTH_PASSWORD_FILE_ENV)
            unset = [n for n in required if not kube.env_is_set(container, n)]
            if unset:
                report_violation(
                    f"{where} does not set {' and '.join(unset)}: the scaler accepts unauthenticated "
                    f"requests on {names.ALERT_WEBHOOK_PATH}"
                )
                continue
            password_file = kube.env_value(container, SCALER_AUTH_PASSWORD_FILE_ENV)
            if isinstance(password_file, str) and not _mounted_secret(pod, container, password_file):
                report_violation(
                    f"{where}: {SCALER_AUTH_PASSWORD_FILE_ENV}={password_file} is not in a volume mounted from a Secret"
                )
    elif kind == "ConfigMap" and ALERTMANAGER_FILE in kube.mapping(props.get("data")):
        document, problem = parse_yaml(kube.mapping(props.get("data"))[ALERTMANAGER_FILE])
        if problem:
            report_violation(f"{ALERTMANAGER_FILE} {problem}")
            return
        for receiver, webhook, http_config in monitoring.webhook_urls(document):
            url = str(webhook.get("url") or "")
            if urlsplit(url).path.rstrip("/") != names.ALERT_WEBHOOK_PATH:
                continue
            if not monitoring.has_basic_auth(http_config):
                report_violation(
                    f"{ALERTMANAGER_FILE}: receiver {receiver!r} posts to {url} without "
                    "http_config.basic_auth (username and password or password_file)"
                )


# --- 6. network-isolation ------------------------------------------------------------------------


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    types = [str(t) for t in kube.sequence(spec.get("policyTypes"))]
    if types:
        return types
    return ["Ingress"] + (["Egress"] if kube.sequence(spec.get("egress")) else [])


def is_default_deny_ingress(props: Mapping[str, Any]) -> bool:
    """`podSelector: {}`, `policyTypes` with Ingress and no ingress rule: nothing may connect."""
    spec = kube.mapping(props.get("spec"))
    return (
        kube.selector_is_empty(spec.get("podSelector"))
        and "Ingress" in _policy_types(spec)
        and not kube.sequence(spec.get("ingress"))
    )


def _peer_selects(stack: Stack, peer: Mapping[str, Any], policy_namespace: str, workload: Obj) -> bool:
    pod = workload.pod
    if pod is None:
        return False
    if "namespaceSelector" in peer:
        if not kube.selector_matches(peer["namespaceSelector"], stack.namespace_labels(workload.namespace)):
            return False
    elif workload.namespace != policy_namespace:
        return False
    if "podSelector" in peer:
        return kube.selector_matches(peer["podSelector"], pod.labels)
    return True


def network_isolation(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stack = Stack(args.resources)
    policies = stack.of_kind("NetworkPolicy")
    for namespace in stack.platform_namespaces():
        if not any(p.namespace == namespace and is_default_deny_ingress(p.props) for p in policies):
            owner = stack.find("Namespace", namespace)
            report_violation(
                f"namespace {namespace} has no default-deny ingress NetworkPolicy "
                "(podSelector {}, policyTypes [Ingress], no ingress rules)",
                owner.urn if owner else None,
            )
    gateway = stack.gateway()
    workloads = stack.workloads()
    for function in stack.functions():
        pod = function.pod
        assert pod is not None
        governing = [
            p
            for p in policies
            if p.namespace == function.namespace
            and kube.selector_matches(kube.dig(p.props, "spec", "podSelector"), pod.labels)
            and "Ingress" in _policy_types(kube.mapping(kube.dig(p.props, "spec")))
        ]
        if not governing:
            report_violation(
                "no NetworkPolicy selects its pods, so it accepts traffic from anywhere",
                function.urn,
            )
            continue
        admits_gateway = False
        for policy in governing:
            for rule in kube.sequence(kube.dig(policy.props, "spec", "ingress")):
                peers = kube.sequence(kube.mapping(rule).get("from"))
                if not peers:
                    report_violation(
                        f"an ingress rule with no 'from' admits traffic from anywhere into {function.label}",
                        policy.urn,
                    )
                    continue
                for peer in peers:
                    peer = kube.mapping(peer)
                    if "ipBlock" in peer:
                        cidr = kube.dig(peer, "ipBlock", "cidr")
                        report_violation(
                            f"admits the address block {cidr} into {function.label}, not only the gateway",
                            policy.urn,
                        )
                        continue
                    if gateway is not None and _peer_selects(stack, peer, policy.namespace, gateway):
                        admits_gateway = True
                    if "namespaceSelector" in peer and kube.selector_is_empty(peer["namespaceSelector"]):
                        report_violation(
                            f"admits pods of every namespace (empty namespaceSelector) into {function.label}, "
                            "not only the gateway",
                            policy.urn,
                        )
                        continue
                    others = [
                        w.label
                        for w in workloads
                        if w is not gateway and _peer_selects(stack, peer, policy.namespace, w)
                    ]
                    if others:
                        report_violation(
                            f"admits {', '.join(sorted(others))} into {function.label}, not only the gateway",
                            policy.urn,
                        )
        if not admits_gateway:
            report_violation(
                "no NetworkPolicy admits the gateway "
                f"(Deployment {names.GATEWAY}), so the function cannot be invoked",
                function.urn,
            )


# --- 7. scaling-wiring ---------------------------------------------------------------------------

def scaling_wiring(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stack = Stack(args.resources)
    gateway = stack.gateway()
    if gateway is None:
        report_violation(f"the stack has no gateway Deployment ({names.GATEWAY}): nothing emits the invocation metrics")

    # Prometheus scrapes the gateway and sends alerts to Alertmanager.
    prometheus_maps = stack.config_maps_with(PROMETHEUS_FILE)
    prometheus_doc: Any = None
    if not prometheus_maps:
        report_violation(f"no ConfigMap holds {PROMETHEUS_FILE}: nothing scrapes the gateway")
    for config_map in prometheus_maps:
        prometheus_doc, problem = parse_yaml(config_map.props["data"][PROMETHEUS_FILE])
        if problem:
            report_violation(f"{PROMETHEUS_FILE} {problem}", config_map.urn)
            continue
        if gateway is not None and not monitoring.scrapes_gateway(prometheus_doc, gateway, config_map.namespace):
            report_violation(
                f"no scrape job of {PROMETHEUS_FILE} keeps the gateway pod's metrics port "
                f"{names.GATEWAY_METRICS_PORT} ({gateway.label}: check its prometheus.io annotations, the job's "
                "namespaces and relabel_configs)",
                config_map.urn,
            )
        targets = monitoring.alertmanager_targets(prometheus_doc)
        control_plane = config_map.namespace
        if not any(
            monitoring.is_service_host(host, names.ALERTMANAGER, control_plane) and port == names.ALERTMANAGER_PORT
            for host, port in map(monitoring.host_port, targets)
        ):
            report_violation(
                f"{PROMETHEUS_FILE} sends alerts to {targets or 'no Alertmanager'}, not to the "
                f"{names.ALERTMANAGER} Service on port {names.ALERTMANAGER_PORT}",
                config_map.urn,
            )

    # The scaling alert rule exists, is loaded and keeps the function label.
    rules = monitoring.scaling_rules(stack)
    if not rules:
        report_violation(f"no Prometheus rule file defines the scaling alert {names.SCALING_ALERT_NAME}")
    loaded_files = [str(f) for f in kube.sequence(kube.mapping(prometheus_doc).get("rule_files"))]
    for config_map, key, rule in rules:
        if prometheus_doc is not None and not any(fnmatch.fnmatch(key, f.rsplit("/", 1)[-1]) for f in loaded_files):
            report_violation(
                f"{key} holds {names.SCALING_ALERT_NAME} but {PROMETHEUS_FILE} does not load "
                f"it (rule_files: {loaded_files})",
                config_map.urn,
            )
        if names.FUNCTION_NAME_LABEL not in str(rule.get("expr", "")):
            report_violation(
                f"{names.SCALING_ALERT_NAME} in {key} does not keep the {names.FUNCTION_NAME_LABEL} "
                f"label (expr: {rule.get('expr')}), so the scaler cannot tell which function to scale",
                config_map.urn,
            )

    # Alertmanager routes the scaling alert to the scaler's webhook.
    alertmanager_maps = stack.config_maps_with(ALERTMANAGER_FILE)
    if not alertmanager_maps:
        report_violation(f"no ConfigMap holds {ALERTMANAGER_FILE}: the scaling alert reaches no receiver")
    functions = stack.functions()
    functions_namespace = functions[0].namespace if functions else names.FUNCTIONS_NAMESPACE
    rule_labels = {str(k): str(v) for k, v in kube.mapping(rules[0][2].get("labels") if rules else {}).items()}
    alert = rule_labels | {
        "alertname": names.SCALING_ALERT_NAME,
        names.FUNCTION_NAME_LABEL: f"example.{functions_namespace}",
    }
    for config_map in alertmanager_maps:
        document, problem = parse_yaml(config_map.props["data"][ALERTMANAGER_FILE])
        if problem:
            report_violation(f"{ALERTMANAGER_FILE} {problem}", config_map.urn)
            continue
        receivers = monitoring.route_receivers(kube.mapping(kube.mapping(document).get("route")), alert)
        urls = [
            str(webhook.get("url") or "")
            for name, webhook, _ in monitoring.webhook_urls(document)
            if name in receivers
        ]
        scaler = stack.find("Service", names.SCALER)
        scaler_namespace = scaler.namespace if scaler else config_map.namespace
        reaches_scaler = False
        for url in urls:
            parts = urlsplit(url)
            if (
                monitoring.is_service_host(parts.hostname or "", names.SCALER, scaler_namespace)
                and parts.port == names.SCALER_PORT
                and parts.path.rstrip("/") == names.ALERT_WEBHOOK_PATH
            ):
                reaches_scaler = True
        if not reaches_scaler:
            report_violation(
                f"{ALERTMANAGER_FILE} routes {names.SCALING_ALERT_NAME} to receiver(s) "
                f"{receivers} with webhooks {urls or 'none'}, not to the scaler's "
                f"http://{names.SCALER}.{scaler_namespace}:{names.SCALER_PORT}{names.ALERT_WEBHOOK_PATH}",
                config_map.urn,
            )
    scaler = stack.find("Service", names.SCALER)
    if scaler is None:
        report_violation(f"the stack has no {names.SCALER} Service to receive {names.ALERT_WEBHOOK_PATH}")
    elif not any(
        kube.as_int(kube.mapping(port).get("port")) == names.SCALER_PORT
        for port in kube.sequence(kube.dig(scaler.props, "spec", "ports"))
    ):
        report_violation(f"the {names.SCALER} Service does not expose port {names.SCALER_PORT}", scaler.urn)


# --- 8. edition-limits ---------------------------------------------------------------------------

EDITION_CONFIG: dict[str, dict[str, Any]] = {
    "edition": {
        "type": "string",
        "enum": [names.EDITION_CE, names.EDITION_PRO],
        "description": "The OpenFaaS edition; when unset it is inferred from the gateway image "
        "(ghcr.io/openfaasltd/ is Pro, anything else CE).",
    },
}
PRO_REGISTRY = PRO_IMAGES["gateway"].rsplit("/", 1)[0] + "/"
"""`ghcr.io/openfaasltd/`: where the OpenFaaS Pro images live (`faasplane.components.images`)."""
CE_REGISTRY = CE_IMAGES["gateway"].rsplit("/", 1)[0] + "/"
CE_REJECTED_LABELS = (
    scale_labels.SCALE_ZERO,
    scale_labels.SCALE_ZERO_DURATION,
    scale_labels.SCALE_TARGET,
    scale_labels.SCALE_TYPE,
)
"""Labels faas-netes CE rejects on deploy (scale to zero and the Pro autoscaler's settings)."""


def gateway_image(stack: Stack) -> str | None:
    gateway = stack.gateway()
    if gateway is None or gateway.pod is None:
        return None
    for container in _named_containers(gateway.pod, names.GATEWAY):
        if isinstance(container.get("image"), str):
            return str(container["image"])
    return None


def edition_of(configured: Any, image: str | None) -> str:
    """The edition the limits are checked for: the configured one, else the gateway image's, else CE."""
    if configured in (names.EDITION_CE, names.EDITION_PRO):
        return str(configured)
    return names.EDITION_PRO if image and image.startswith(PRO_REGISTRY) else names.EDITION_CE


def edition_limits(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stack = Stack(args.resources)
    configured = settings(args, EDITION_CONFIG).get("edition")
    image = gateway_image(stack)
    edition = edition_of(configured, image)
    if configured == names.EDITION_PRO and image and not image.startswith(PRO_REGISTRY):
        gateway = stack.gateway()
        report_violation(
            f"the pack is configured for edition pro but the gateway runs {image}, a CE image: "
            "the CE limits apply whatever the configuration says",
            gateway.urn if gateway else None,
        )
        edition = names.EDITION_CE
    if edition != names.EDITION_CE:
        return
    functions = stack.functions()
    if len(functions) > names.CE_MAX_FUNCTIONS:
        report_violation(
            f"{len(functions)} functions ({', '.join(sorted(f.name for f in functions))}): "
            f"OpenFaaS CE allows at most {names.CE_MAX_FUNCTIONS}"
        )
    for function in functions:
        labels = function_labels(function.props)
        everywhere = {**kube.labels_of(function.props), **labels}
        for key in (scale_labels.SCALE_MIN, scale_labels.SCALE_MAX):
            value = kube.as_int(labels.get(key))
            if value is not None and value > names.CE_MAX_REPLICAS:
                report_violation(
                    f"label {key}={value} is above the OpenFaaS CE maximum of "
                    f"{names.CE_MAX_REPLICAS} replicas",
                    function.urn,
                )
        replicas = kube.as_int(kube.dig(function.props, "spec", "replicas"))
        if replicas is not None and not 1 <= replicas <= names.CE_MAX_REPLICAS:
            report_violation(
                f"spec.replicas={replicas} is outside 1..{names.CE_MAX_REPLICAS}, "
                "which OpenFaaS CE resets",
                function.urn,
            )
        for key in CE_REJECTED_LABELS:
            if key in everywhere:
                report_violation(
                    f"label {key} is rejected by OpenFaaS CE (scale to zero and the "
                    "Pro autoscaler's settings need OpenFaaS Pro)",
                    function.urn,
                )


# --- 9. no-plaintext-secrets ---------------------------------------------------------------------

SECRETS_CONFIG: dict[str, dict[str, Any]] = {
    "allowedNames": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Environment variable names exempt from the check (exact names).",
    },
}
SENSITIVE_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "pass", "secret", "token", "key", "apikey",
        "credential", "credentials", "privatekey", "accesskey", "secretkey",
    }
)
REFERENCE_SUFFIXES = frozenset(
    {"file", "path", "dir", "directory", "mount", "name", "ref", "id", "url", "enabled", "disabled", "type",
     "header", "length", "ttl"}
)
"""A last word that makes the variable *about* a secret rather than the secret itself (`*_PASSWORD_FILE`)."""


def name_words(name: str) -> list[str]:
    """`SCALER_AUTH_PASSWORD_FILE` -> [scaler, auth, password, file]; `apiKey` -> [api, key]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def looks_secret(name: str) -> bool:
    words = name_words(name)
    if not words or words[-1] in REFERENCE_SUFFIXES:
        return False
    return any(word in SENSITIVE_WORDS for word in words)


def no_plaintext_secrets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    pod = kube.pod_template(kube.kind_of(args.resource_type), args.props)
    if pod is None:
        return
    allowed = {str(n) for n in kube.sequence(settings(args, SECRETS_CONFIG)["allowedNames"])}
    for container in kube.containers(pod.spec):
        where = kube.container_label(container)
        for entry in kube.env_entries(container):
            name = str(entry["name"])
            if name in allowed or not looks_secret(name):
                continue
            source = kube.mapping(entry.get("valueFrom"))
            if entry.get("value") not in (None, ""):
                report_violation(
                    f"{where}: env {name} carries a literal value; take it from a Secret (valueFrom.secretKeyRef) "
                    "or mount the Secret and pass a *_FILE path"
                )
            elif source and "secretKeyRef" not in source:
                report_violation(
                    f"{where}: env {name} comes from {', '.join(source)}, not from a Secret (valueFrom.secretKeyRef)"
                )


# --- 10. exposure --------------------------------------------------------------------------------

EXPOSURE_CONFIG: dict[str, dict[str, Any]] = {
    "tlsAnnotations": {
        "type": "array",
        "items": {"type": "string"},
        "default": list(DEFAULT_TLS_ANNOTATIONS),
        "description": "Service annotations that make a LoadBalancer terminate TLS (any one of them counts).",
    },
}
GATEWAY_SERVICES = (names.GATEWAY, names.GATEWAY_EXTERNAL)


def _serves_gateway(props: Mapping[str, Any]) -> bool:
    selector = kube.mapping(kube.dig(props, "spec", "selector"))
    return kube.name_of(props) in GATEWAY_SERVICES or selector.get(names.APP_LABEL) == names.GATEWAY


def _ingress_backends(spec: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    """(host, service name) of every backend of an Ingress."""
    default = kube.dig(spec, "defaultBackend", "service", "name")
    if default:
        yield None, str(default)
    for rule in kube.sequence(spec.get("rules")):
        rule = kube.mapping(rule)
        for path in kube.sequence(kube.dig(rule, "http", "paths")):
            service = kube.dig(path, "backend", "service", "name")
            if service:
                yield (str(rule["host"]) if rule.get("host") else None), str(service)


def exposure(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    kind = kube.kind_of(args.resource_type)
    props = args.props
    if kind == "Service" and _serves_gateway(props):
        service_type = str(kube.dig(props, "spec", "type") or "ClusterIP")
        if service_type == "NodePort":
            ports = [
                kube.as_int(kube.mapping(port).get("nodePort"))
                for port in kube.sequence(kube.dig(props, "spec", "ports"))
            ]
            report_violation(
                f"the gateway is exposed through a NodePort ({', '.join(str(p) for p in ports if p) or 'auto'}) "
                "on every node without TLS: use an Ingress with tlsSecretName"
            )
        elif service_type == "LoadBalancer":
            wanted = [str(a) for a in kube.sequence(settings(args, EXPOSURE_CONFIG)["tlsAnnotations"])]
            if not any(a in kube.annotations_of(props) for a in wanted):
                report_violation(
                    "the gateway is exposed through a LoadBalancer without TLS (none of the annotations "
                    f"{wanted} is set): use an Ingress with tlsSecretName or a TLS-terminating load balancer"
                )
    elif kind == "Ingress":
        spec = kube.mapping(props.get("spec"))
        covered = {
            str(host)
            for tls in kube.sequence(spec.get("tls"))
            for host in kube.sequence(kube.mapping(tls).get("hosts"))
        }
        has_tls = bool(kube.sequence(spec.get("tls")))
        for host, service in _ingress_backends(spec):
            if service not in GATEWAY_SERVICES:
                continue
            if not has_tls:
                report_violation(f"the Ingress serves the gateway on {host or 'every host'} without TLS (no spec.tls)")
            elif host is not None and host not in covered:
                report_violation(f"the Ingress serves the gateway on {host} without TLS (host not in spec.tls)")


# --- the pack ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicySpec:
    """One policy: what Pulumi registers and what the offline check runs."""

    name: str
    description: str
    severity: Severity
    enforcement: EnforcementLevel
    scope: Literal["resource", "stack"]
    validate: Callable[..., None]
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    remediation: str = ""

    def config_schema(self) -> PolicyConfigSchema | None:
        return PolicyConfigSchema(properties=copy.deepcopy(dict(self.config))) if self.config else None

    def build(self) -> Policy:
        """The pulumi-policy object for this policy (constructing it does not start anything)."""
        common: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "validate": self.validate,
            "enforcement_level": self.enforcement,
            "config_schema": self.config_schema(),
            "severity": self.severity,
            "remediation_steps": self.remediation or None,
            "tags": ["faasplane", self.scope],
        }
        if self.scope == "resource":
            return ResourceValidationPolicy(**common)
        return StackValidationPolicy(**common)


MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec(
        "function-scale-bounds",
        f"Function Deployments carry {scale_labels.SCALE_MIN} and {scale_labels.SCALE_MAX} labels with "
        f"1 <= min <= max <= a ceiling, and {scale_labels.SCALE_FACTOR} in 1..100.",
        Severity.MEDIUM, MANDATORY, "resource", function_scale_bounds, SCALE_BOUNDS_CONFIG,
        "Declare the function with Scale(min=..., max=...) within the ceiling.",
    ),
    PolicySpec(
        "container-resources",
        "Every container has CPU and memory requests and limits, requests within limits, and a memory "
        "limit no larger than a ceiling.",
        Severity.MEDIUM, MANDATORY, "resource", container_resources, RESOURCES_CONFIG,
        "Set resources.requests and resources.limits (cpu and memory) on every container.",
    ),
    PolicySpec(
        "pinned-images",
        "Images are pinned: no :latest and no untagged image; with digestsOnly, digests (@sha256:) only.",
        Severity.HIGH, MANDATORY, "resource", pinned_images, IMAGES_CONFIG,
        "Reference images by an immutable tag or, better, by digest (faasplane:images overrides them).",
    ),
    PolicySpec(
        "pod-hardening",
        "Pods run as non-root, without privilege escalation, with all capabilities dropped, not privileged, "
        "and without hostPath volumes, hostNetwork, hostPID or hostIPC.",
        Severity.HIGH, MANDATORY, "resource", pod_hardening, {},
        "Build pods with faasplane.components.k8s.pod_spec and faasplane.components.k8s.container, which set all "
        "of this.",
    ),
    PolicySpec(
        "gateway-auth",
        f"The gateway has basic auth on, the scaler requires credentials on {names.ALERT_WEBHOOK_PATH}, "
        "and Alertmanager's receiver sends them.",
        Severity.CRITICAL, MANDATORY, "resource", gateway_auth, {},
        "Keep basic_auth=true on the gateway, SCALER_AUTH_USER and SCALER_AUTH_PASSWORD_FILE on the scaler "
        "and http_config.basic_auth on the Alertmanager webhook.",
    ),
    PolicySpec(
        "network-isolation",
        "Every platform namespace has a default-deny ingress NetworkPolicy, and functions accept traffic "
        "only from the gateway.",
        Severity.HIGH, MANDATORY, "stack", network_isolation, {},
        "Deploy faasplane.components.platform.network.NetworkPolicies; admit only the gateway's pods into the "
        "functions namespace.",
    ),
    PolicySpec(
        "scaling-wiring",
        f"Prometheus scrapes the gateway, the {names.SCALING_ALERT_NAME} rule exists, and Alertmanager routes "
        f"it to the scaler's {names.ALERT_WEBHOOK_PATH}.",
        Severity.HIGH, MANDATORY, "stack", scaling_wiring, {},
        "Build prometheus.yml, rules.yml and alertmanager.yml with faasplane.components.platform.monitoring_config.",
    ),
    PolicySpec(
        "edition-limits",
        f"With OpenFaaS CE: at most {names.CE_MAX_FUNCTIONS} functions, max replicas at most "
        f"{names.CE_MAX_REPLICAS}, no scale-to-zero or Pro autoscaler labels.",
        Severity.HIGH, MANDATORY, "stack", edition_limits, EDITION_CONFIG,
        "Stay within the CE limits or run OpenFaaS Pro (faasplane:edition pro with a licence).",
    ),
    PolicySpec(
        "no-plaintext-secrets",
        "No environment variable named like a password, token or key carries a literal value: it comes "
        "from a Secret.",
        Severity.CRITICAL, MANDATORY, "resource", no_plaintext_secrets, SECRETS_CONFIG,
        "Use valueFrom.secretKeyRef, or mount the Secret and pass the file path in a *_FILE variable.",
    ),
    PolicySpec(
        "exposure",
        "The gateway is not exposed through a LoadBalancer or NodePort (or an Ingress) without TLS.",
        Severity.HIGH, ADVISORY, "resource", exposure, EXPOSURE_CONFIG,
        "Expose the gateway with gateway.exposure.type Ingress and tlsSecretName (mandatory in prod).",
    ),
)

BY_NAME: dict[str, PolicySpec] = {spec.name: spec for spec in POLICIES}


def build_policies() -> list[Policy]:
    """The pulumi-policy objects of every policy, in the documented order."""
    return [spec.build() for spec in POLICIES]
