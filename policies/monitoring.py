"""Reading the monitoring configuration the way Prometheus and Alertmanager would.

`scaling-wiring` and `gateway-auth` need more than "the key exists": whether Prometheus' relabelling
keeps the gateway pod's metrics port, and where Alertmanager's routing tree sends the scaling alert.
These are small, documented simulations of those two behaviours over the YAML held in the ConfigMaps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from faasplane.components import names
from faasplane.components.platform.monitoring_config import ALERTMANAGER_FILE, PROMETHEUS_FILE
from faasplane.policies import kube
from faasplane.policies.stack import Obj, Stack, parse_yaml


def has_basic_auth(http_config: Any) -> bool:
    auth = kube.mapping(kube.mapping(http_config).get("basic_auth"))
    has_user = bool(auth.get("username") or auth.get("username_file"))
    has_password = bool(auth.get("password") or auth.get("password_file"))
    return has_user and has_password


def webhook_urls(document: Any) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(receiver name, webhook config, effective http_config) of every webhook in an Alertmanager config."""
    document = kube.mapping(document)
    global_http = kube.dig(document, "global", "http_config")
    for receiver in kube.sequence(document.get("receivers")):
        receiver = kube.mapping(receiver)
        for webhook in kube.sequence(receiver.get("webhook_configs")):
            webhook = kube.mapping(webhook)
            http_config = webhook.get("http_config") if "http_config" in webhook else global_http
            yield str(receiver.get("name")), webhook, kube.mapping(http_config)


POD_IP = "10.0.0.10"
"""A stand-in pod IP for simulating Prometheus' relabelling of the gateway pod."""


def _sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _expand(template: str, match: re.Match[str]) -> str:
    """Go's `Regexp.Expand` for `$1`, `${1}`, `$name` and `${name}` (unknown groups expand to '')."""

    def group(found: re.Match[str]) -> str:
        ref = found.group(1) or found.group(2)
        try:
            value = match.group(int(ref)) if ref.isdigit() else match.group(ref)
        except IndexError:
            value = ""
        return value or ""

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", group, template)


def relabel(labels: dict[str, str], configs: Any) -> dict[str, str] | None:
    """Apply Prometheus `relabel_configs` to one target's labels; None when the target is dropped.

    Supports replace, keep, drop, labelmap, labeldrop, labelkeep, lowercase and uppercase (the actions a
    pod scrape job uses); other actions are skipped.
    """
    labels = dict(labels)
    for config in kube.sequence(configs):
        config = kube.mapping(config)
        action = str(config.get("action") or "replace").lower()
        try:
            regex = re.compile(str(config.get("regex", "(.*)")))
        except re.error:
            return None
        sources = [str(s) for s in kube.sequence(config.get("source_labels"))]
        value = str(config.get("separator", ";")).join(labels.get(s, "") for s in sources)
        if action == "keep" and not regex.fullmatch(value):
            return None
        if action == "drop" and regex.fullmatch(value):
            return None
        if action == "replace":
            match = regex.fullmatch(value)
            target = config.get("target_label")
            if match and target:
                labels[str(target)] = _expand(str(config.get("replacement", "$1")), match)
        if action in ("lowercase", "uppercase") and config.get("target_label"):
            labels[str(config["target_label"])] = value.lower() if action == "lowercase" else value.upper()
        if action == "labelmap":
            for key, item in list(labels.items()):
                match = regex.fullmatch(key)
                if match:
                    labels[_expand(str(config.get("replacement", "$1")), match)] = item
        if action == "labeldrop":
            labels = {k: v for k, v in labels.items() if not regex.fullmatch(k)}
        if action == "labelkeep":
            labels = {k: v for k, v in labels.items() if regex.fullmatch(k)}
    return labels


def pod_targets(workload: Obj, job: Mapping[str, Any]) -> list[dict[str, str]]:
    """The discovered labels of a workload's pod in a `role: pod` job: one target per container port."""
    pod = workload.pod
    assert pod is not None
    base = {
        "job": str(job.get("job_name", "")),
        "__scheme__": str(job.get("scheme", "http")),
        "__metrics_path__": str(job.get("metrics_path", "/metrics")),
        "__meta_kubernetes_namespace": workload.namespace,
        "__meta_kubernetes_pod_name": f"{workload.name}-0",
        "__meta_kubernetes_pod_ip": POD_IP,
        "__meta_kubernetes_pod_ready": "true",
        "__meta_kubernetes_pod_phase": "Running",
    }
    for key, value in pod.labels.items():
        base[f"__meta_kubernetes_pod_label_{_sanitize(str(key))}"] = str(value)
        base[f"__meta_kubernetes_pod_labelpresent_{_sanitize(str(key))}"] = "true"
    for key, value in pod.annotations.items():
        base[f"__meta_kubernetes_pod_annotation_{_sanitize(str(key))}"] = str(value)
        base[f"__meta_kubernetes_pod_annotationpresent_{_sanitize(str(key))}"] = "true"
    targets = []
    for container in kube.sequence(pod.spec.get("containers")):
        container = kube.mapping(container)
        for port in kube.sequence(container.get("ports")):
            port = kube.mapping(port)
            number = kube.as_int(port.get("containerPort"))
            targets.append(
                base
                | {
                    "__address__": f"{POD_IP}:{number}",
                    "__meta_kubernetes_pod_container_name": str(container.get("name", "")),
                    "__meta_kubernetes_pod_container_port_name": str(port.get("name", "")),
                    "__meta_kubernetes_pod_container_port_number": str(number),
                    "__meta_kubernetes_pod_container_port_protocol": str(port.get("protocol", "TCP")),
                    "__meta_kubernetes_pod_container_init": "false",
                }
            )
    return targets or [base | {"__address__": POD_IP}]


def scrapes_gateway(document: Any, gateway: Obj, own_namespace: str) -> bool:
    """Whether some scrape job of `prometheus.yml` ends up scraping the gateway's metrics port."""
    for job in kube.sequence(kube.mapping(document).get("scrape_configs")):
        job = kube.mapping(job)
        for sd in kube.sequence(job.get("kubernetes_sd_configs")):
            sd = kube.mapping(sd)
            if sd.get("role") != "pod":
                continue
            wanted = [str(n) for n in kube.sequence(kube.dig(sd, "namespaces", "names"))]
            if kube.dig(sd, "namespaces", "own_namespace"):
                wanted.append(own_namespace)
            if wanted and gateway.namespace not in wanted:
                continue
            for target in pod_targets(gateway, job):
                result = relabel(target, job.get("relabel_configs"))
                if result and result.get("__address__", "").rsplit(":", 1)[-1] == str(names.GATEWAY_METRICS_PORT):
                    return True
    return False


def host_port(target: str) -> tuple[str, int | None]:
    parts = urlsplit(target if "//" in target else f"//{target}")
    return parts.hostname or "", parts.port


def is_service_host(host: str, service: str, namespace: str) -> bool:
    """`service`, `service.namespace` or `service.namespace.svc[.cluster-domain]`."""
    labels = host.split(".")
    if labels[0] != service:
        return False
    return len(labels) == 1 or labels[1] == namespace


def alertmanager_targets(document: Any) -> list[str]:
    targets = []
    for entry in kube.sequence(kube.dig(document, "alerting", "alertmanagers")):
        for static in kube.sequence(kube.mapping(entry).get("static_configs")):
            targets += [str(t) for t in kube.sequence(kube.mapping(static).get("targets"))]
    return targets


def _parse_matcher(text: str) -> tuple[str, str, str] | None:
    text = text.strip().strip("{}").strip()
    found = re.match(r'^\s*("(?:[^"\\]|\\.)*"|[^=!~\s]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$', text)
    if not found:
        return None
    name, operator, value = found.groups()
    if name.startswith('"'):
        name = json.loads(name)
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        try:
            value = json.loads(value)
        except ValueError:
            value = value[1:-1]
    return name, operator, value


def _matches(operator: str, expected: str, actual: str) -> bool:
    if operator == "=":
        return actual == expected
    if operator == "!=":
        return actual != expected
    try:
        found = re.fullmatch(expected, actual) is not None
    except re.error:
        return False
    return found if operator == "=~" else not found


def route_matches(route: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for key, value in kube.mapping(route.get("match")).items():
        if labels.get(str(key), "") != str(value):
            return False
    for key, value in kube.mapping(route.get("match_re")).items():
        if not _matches("=~", str(value), labels.get(str(key), "")):
            return False
    for matcher in kube.sequence(route.get("matchers")):
        parsed = _parse_matcher(str(matcher))
        if parsed is None or not _matches(parsed[1], parsed[2], labels.get(parsed[0], "")):
            return False
    return True


def route_receivers(route: Mapping[str, Any], labels: Mapping[str, str], inherited: str | None = None) -> list[str]:
    """The receivers Alertmanager's routing tree sends an alert with `labels` to."""
    receiver = str(route.get("receiver") or inherited or "")
    found: list[str] = []
    for child in kube.sequence(route.get("routes")):
        child = kube.mapping(child)
        if route_matches(child, labels):
            found += route_receivers(child, labels, receiver)
            if not child.get("continue"):
                break
    return found or [receiver]


def scaling_rules(stack: Stack) -> list[tuple[Obj, str, Mapping[str, Any]]]:
    """(ConfigMap, data key, rule) for every alerting rule named as the scaling alert."""
    found = []
    for config_map in stack.of_kind("ConfigMap"):
        for key, text in kube.mapping(config_map.props.get("data")).items():
            if not str(key).endswith((".yml", ".yaml")) or key in (PROMETHEUS_FILE, ALERTMANAGER_FILE):
                continue
            document, problem = parse_yaml(text)
            if problem:
                continue
            for group in kube.sequence(kube.mapping(document).get("groups")):
                for rule in kube.sequence(kube.mapping(group).get("rules")):
                    rule = kube.mapping(rule)
                    if rule.get("alert") == names.SCALING_ALERT_NAME:
                        found.append((config_map, str(key), rule))
    return found
