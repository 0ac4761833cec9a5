"""The monitoring configuration as data: `prometheus.yml`, `rules.yml` and `alertmanager.yml`.

Pure functions of the typed config (no Pulumi here), so the components, the offline render, the tool
checks (`promtool`, `amtool`) and a full-loop test on loopback all use the very same documents.
Each document has two builders: one that takes explicit addresses (`*_data`), and one that fills in
the in-cluster addresses from a `PlatformConfig` (`*_config`). `dump()` turns any of them into YAML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import yaml

from faasplane.components import names
from faasplane.components.config import Alertmanager, AlertRule, PlatformConfig, Prometheus
from faasplane.components.formatting import format_number

PROMETHEUS_FILE = "prometheus.yml"
RULES_FILE = "rules.yml"
ALERTMANAGER_FILE = "alertmanager.yml"
"""ConfigMap data keys and file names (the offline render writes these keys as files too)."""

SCRAPE_JOB = "openfaas-pods"
"""The pod-discovery job: pods annotated `prometheus.io/scrape: "true"` (the gateway, the scaler)."""
QUEUE_WORKER_JOB = names.QUEUE_WORKER
"""The Pro queue-worker's metrics (queue depth, retries): its pods, by label and by the named metrics port."""
STATIC_JOB = "static-targets"
"""The job scraping explicitly given addresses (a loopback test without a Kubernetes API)."""
RULE_GROUP = "faasplane-scaling"
DEFAULT_RECEIVER = "default"
"""Catches every alert that is not the scaling alert; it has no integrations, so nothing is sent."""

PASSWORD_FILE = names.BASIC_AUTH_PASSWORD_FILE
"""Where Alertmanager reads the gateway admin password (the mounted basic-auth Secret)."""

_SCRAPE_ANNOTATION = "__meta_kubernetes_pod_annotation_prometheus_io_scrape"
_PORT_ANNOTATION = "__meta_kubernetes_pod_annotation_prometheus_io_port"
_PATH_ANNOTATION = "__meta_kubernetes_pod_annotation_prometheus_io_path"


def _quote(value: str) -> str:
    """A double-quoted string literal as PromQL and Alertmanager matchers read it."""
    return json.dumps(value)


def host_port(url: str) -> str:
    """`host:port` of a URL: the form of a Prometheus `static_configs` target."""
    netloc = urlsplit(url).netloc
    if not netloc:
        raise ValueError(f"{url!r} is not an absolute URL")
    return netloc


# --- rules.yml -----------------------------------------------------------------------------------


def scaling_expr(rule: AlertRule) -> str:
    """The PromQL of the scaling alert: per-function invocation rate above the threshold."""
    matcher = f"{{code={_quote(rule.status_code)}}}" if rule.status_code is not None else ""
    return (
        f"sum(rate(gateway_function_invocation_total{matcher}[{rule.rate_window}])) "
        f"by ({names.FUNCTION_NAME_LABEL}) > {format_number(rule.threshold_rps)}"
    )


def scaling_rule(rule: AlertRule) -> dict[str, Any]:
    """One alerting rule; the default equals the OpenFaaS chart's `APIHighInvocationRate`."""
    subject = f'"{{{{$labels.{names.FUNCTION_NAME_LABEL}}}}}"'
    return {
        "alert": rule.name,
        "expr": scaling_expr(rule),
        "for": rule.for_,
        "labels": {"service": names.GATEWAY, "severity": rule.severity},
        "annotations": {
            "description": f"High invocation total on {subject}",
            "summary": f"High invocation total on {subject}",
        },
    }


def rules_data(rule: AlertRule) -> dict[str, Any]:
    """The rule file (`rules.yml`) holding the scaling alert."""
    return {"groups": [{"name": RULE_GROUP, "rules": [scaling_rule(rule)]}]}


# --- prometheus.yml ------------------------------------------------------------------------------


def pod_scrape_job(namespaces: Sequence[str], scrape_interval: str) -> dict[str, Any]:
    """Discover pods in `namespaces` only; keep the annotated ones, scrape their annotated port."""
    return {
        "job_name": SCRAPE_JOB,
        "scrape_interval": scrape_interval,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": list(namespaces)}}],
        "relabel_configs": [
            {"source_labels": [_SCRAPE_ANNOTATION], "action": "keep", "regex": "true"},
            # One target per pod IP and annotated port (IPv4, then IPv6 in brackets); identical
            # targets from several container ports of one pod collapse into one.
            {
                "source_labels": [_PORT_ANNOTATION, "__meta_kubernetes_pod_ip"],
                "action": "replace",
                "regex": r"(\d+);(\d+\.\d+\.\d+\.\d+)",
                "replacement": "$2:$1",
                "target_label": "__address__",
            },
            {
                "source_labels": [_PORT_ANNOTATION, "__meta_kubernetes_pod_ip"],
                "action": "replace",
                "regex": r"(\d+);(.*:.*)",
                "replacement": "[$2]:$1",
                "target_label": "__address__",
            },
            {
                "source_labels": [_PATH_ANNOTATION],
                "action": "replace",
                "regex": "(.+)",
                "target_label": "__metrics_path__",
            },
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "kubernetes_namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "kubernetes_pod_name"},
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
        ],
    }


def _pod_label_meta(label: str) -> str:
    """The discovery label of a pod label: every character outside [a-zA-Z0-9_] becomes `_`."""
    return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)


def port_scrape_job(job_name: str, namespaces: Sequence[str], app: str, port_name: str) -> dict[str, Any]:
    """Discover the pods of one workload (`app`) in `namespaces` and scrape their container port `port_name`.

    Pod discovery yields one target per declared container port at `pod IP:port`, so keeping the named port
    is enough: no annotations are needed (and the annotation-driven pod job does not scrape it twice).
    """
    return {
        "job_name": job_name,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": list(namespaces)}}],
        "relabel_configs": [
            {"source_labels": [_pod_label_meta(names.APP_LABEL)], "action": "keep", "regex": app},
            {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "action": "keep", "regex": port_name},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "kubernetes_namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "kubernetes_pod_name"},
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
        ],
    }


def queue_worker_scrape_job(namespaces: Sequence[str]) -> dict[str, Any]:
    """The Pro queue-worker's metrics port (the CE queue-worker serves no metrics)."""
    return port_scrape_job(QUEUE_WORKER_JOB, namespaces, names.QUEUE_WORKER, names.METRICS_PORT_NAME)


def static_scrape_job(targets: Sequence[str], scrape_interval: str) -> dict[str, Any]:
    """Scrape fixed `host:port` addresses (e.g. a gateway stand-in on loopback)."""
    return {
        "job_name": STATIC_JOB,
        "scrape_interval": scrape_interval,
        "static_configs": [{"targets": list(targets)}],
    }


def prometheus_data(
    settings: Prometheus,
    *,
    alertmanager_targets: Sequence[str],
    scrape_namespaces: Sequence[str] = (),
    static_targets: Sequence[str] = (),
    rule_files: Sequence[str] = (RULES_FILE,),
    extra_jobs: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """`prometheus.yml` from explicit addresses.

    `alertmanager_targets` and `static_targets` are `host:port`; `scrape_namespaces` enables pod
    discovery limited to those namespaces. At least one scrape source is required. Rule files are
    relative to the directory of `prometheus.yml`. `extra_jobs` are appended as they are.
    """
    if not scrape_namespaces and not static_targets:
        raise ValueError("prometheus_data needs scrape_namespaces or static_targets: nothing to scrape")
    if not alertmanager_targets:
        raise ValueError("prometheus_data needs at least one alertmanager target: alerts would go nowhere")
    jobs = []
    if scrape_namespaces:
        jobs.append(pod_scrape_job(scrape_namespaces, settings.gateway_scrape_interval))
    if static_targets:
        jobs.append(static_scrape_job(static_targets, settings.gateway_scrape_interval))
    jobs.extend(extra_jobs)
    return {
        "global": {
            "scrape_interval": settings.scrape_interval,
            "evaluation_interval": settings.evaluation_interval,
        },
        "rule_files": list(rule_files),
        "alerting": {
            "alertmanagers": [
                {"api_version": "v2", "static_configs": [{"targets": list(alertmanager_targets)}]}
            ]
        },
        "scrape_configs": jobs,
    }


def alertmanager_url(config: PlatformConfig) -> str:
    """The in-cluster URL of the Alertmanager Service."""
    return names.service_url(names.ALERTMANAGER, config.namespaces.control_plane, names.ALERTMANAGER_PORT,
                             domain=config.kubernetes_dns_domain)


def prometheus_config(config: PlatformConfig) -> dict[str, Any]:
    """`prometheus.yml` for the cluster: pods of the control-plane namespace (with Pro, the queue-worker's
    metrics too), the in-cluster Alertmanager."""
    control_plane = config.namespaces.control_plane
    pro = config.edition == names.EDITION_PRO
    return prometheus_data(
        config.prometheus,
        alertmanager_targets=[host_port(alertmanager_url(config))],
        scrape_namespaces=[control_plane],
        extra_jobs=[queue_worker_scrape_job([control_plane])] if pro else (),
    )


# --- alertmanager.yml ----------------------------------------------------------------------------


def alertmanager_data(
    settings: Alertmanager,
    rule: AlertRule,
    *,
    webhook_url: str,
    password_file: str | None = PASSWORD_FILE,
    username: str = names.BASIC_AUTH_ADMIN_USER,
) -> dict[str, Any]:
    """`alertmanager.yml`: the scaling alert goes to the scaler's webhook, one group per function.

    `webhook_url` is the full URL of the scaler's alert endpoint; `password_file=None` sends no
    basic auth (a loopback test against a scaler without auth).
    """
    webhook: dict[str, Any] = {"url": webhook_url, "send_resolved": True}
    if password_file is not None:
        webhook["http_config"] = {"basic_auth": {"username": username, "password_file": password_file}}
    return {
        "route": {
            "receiver": DEFAULT_RECEIVER,
            # function_name in the key: each function is its own group, with its own timers.
            "group_by": ["alertname", names.FUNCTION_NAME_LABEL],
            "group_wait": settings.group_wait,
            "group_interval": settings.group_interval,
            "repeat_interval": settings.repeat_interval,
            "routes": [
                {
                    "receiver": names.SCALER_RECEIVER,
                    "matchers": [f"alertname={_quote(rule.name)}"],
                }
            ],
        },
        "receivers": [
            {"name": DEFAULT_RECEIVER},
            {"name": names.SCALER_RECEIVER, "webhook_configs": [webhook]},
        ],
    }


def scaler_alert_url(config: PlatformConfig) -> str:
    """The in-cluster URL of the scaler's alert webhook."""
    base = names.service_url(names.SCALER, config.namespaces.control_plane, names.SCALER_PORT,
                             domain=config.kubernetes_dns_domain)
    return base + names.ALERT_WEBHOOK_PATH


def alertmanager_config(config: PlatformConfig, *, password_file: str = PASSWORD_FILE) -> dict[str, Any]:
    """`alertmanager.yml` for the cluster: the scaler's in-cluster webhook with the gateway credentials."""
    return alertmanager_data(
        config.alertmanager,
        config.alert_rule,
        webhook_url=scaler_alert_url(config),
        password_file=password_file,
    )


# --- YAML ----------------------------------------------------------------------------------------


def dump(data: Any) -> str:
    """YAML text of a config document (keys in the order built, block style)."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)
