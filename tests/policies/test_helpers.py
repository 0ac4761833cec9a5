"""The building blocks the validators rely on, on small inputs taken from the shapes the render produces."""

from __future__ import annotations

from decimal import Decimal

import pytest

from faasplane.components import names
from faasplane.components.config import AlertRule
from faasplane.components.platform.monitoring_config import scaling_rule
from faasplane.policies import kube, monitoring
from faasplane.policies.rules import looks_secret, name_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100m", Decimal("0.1")), ("0.5", Decimal("0.5")), ("128Mi", 128 * 2**20), ("1Gi", 2**30), ("1G", 10**9),
     ("1e3", 1000), (2, 2), ("lots", None), ("", None), (None, None), (True, None)],
)
def test_quantity(text: object, expected: object) -> None:
    assert kube.quantity(text) == expected


@pytest.mark.parametrize(
    ("reference", "repository", "tag", "digest"),
    [
        ("ghcr.io/openfaas/gateway:0.27.13", "ghcr.io/openfaas/gateway", "0.27.13", None),
        ("localhost:5001/hello", "localhost:5001/hello", None, None),
        ("localhost:5001/hello@sha256:" + "a" * 64, "localhost:5001/hello", None, "sha256:" + "a" * 64),
        ("nats:2.10@sha256:" + "b" * 64, "nats", "2.10", "sha256:" + "b" * 64),
    ],
)
def test_parse_image(reference: str, repository: str, tag: str | None, digest: str | None) -> None:
    assert kube.parse_image(reference) == kube.ImageRef(repository, tag, digest)


@pytest.mark.parametrize(
    ("api_version", "kind", "token"),
    [("v1", "Service", "kubernetes:core/v1:Service"), ("apps/v1", "Deployment", "kubernetes:apps/v1:Deployment"),
     ("networking.k8s.io/v1", "NetworkPolicy", "kubernetes:networking.k8s.io/v1:NetworkPolicy")],
)
def test_type_token(api_version: str, kind: str, token: str) -> None:
    assert kube.type_token(api_version, kind) == token
    assert kube.kind_of(token) == kind


def test_selectors() -> None:
    labels = {"app": "gateway", "tier": "api"}
    assert kube.selector_matches({}, labels)
    assert kube.selector_matches({"matchLabels": {"app": "gateway"}}, labels)
    assert not kube.selector_matches({"matchLabels": {"app": "nats"}}, labels)
    assert kube.selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api"]}]}, labels)
    assert not kube.selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)
    assert kube.selector_matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert not kube.selector_matches({"matchExpressions": [{"key": "app", "operator": "NotIn",
                                                             "values": ["gateway"]}]}, labels)


@pytest.mark.parametrize(
    ("name", "words", "secret"),
    [
        ("SCALER_AUTH_PASSWORD_FILE", ["scaler", "auth", "password", "file"], False),
        ("secret_mount_path", ["secret", "mount", "path"], False),
        ("basic_auth", ["basic", "auth"], False),
        ("apiKey", ["api", "key"], True),
        ("GITHUB_TOKEN", ["github", "token"], True),
        ("MONKEY", ["monkey"], False),
    ],
)
def test_secret_names(name: str, words: list[str], secret: bool) -> None:
    assert name_words(name) == words
    assert looks_secret(name) is secret


def test_relabel_keep_replace_labelmap() -> None:
    configs = [
        {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "action": "keep", "regex": "true"},
        {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_port", "__meta_kubernetes_pod_ip"],
         "regex": r"(\d+);(\d+\.\d+\.\d+\.\d+)", "replacement": "$2:$1", "target_label": "__address__"},
        {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
    ]
    target = {
        "__address__": "10.0.0.1:8080",
        "__meta_kubernetes_pod_ip": "10.0.0.1",
        "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
        "__meta_kubernetes_pod_annotation_prometheus_io_port": "8082",
        "__meta_kubernetes_pod_label_app": "gateway",
    }
    result = monitoring.relabel(target, configs)
    assert result is not None
    assert result["__address__"] == "10.0.0.1:8082"
    assert result["app"] == "gateway"
    assert monitoring.relabel(target | {"__meta_kubernetes_pod_annotation_prometheus_io_scrape": "false"},
                              configs) is None


def test_alertmanager_routing() -> None:
    route = {
        "receiver": "default",
        "routes": [
            {"receiver": "pager", "match": {"severity": "critical"}},
            {"receiver": "audit", "matchers": ['alertname=~"API.*"'], "continue": True},
            {"receiver": names.SCALER_RECEIVER, "matchers": [f'alertname="{names.SCALING_ALERT_NAME}"']},
        ],
    }
    labels = {"alertname": names.SCALING_ALERT_NAME, "severity": "major"}
    assert monitoring.route_receivers(route, labels) == ["audit", names.SCALER_RECEIVER]
    assert monitoring.route_receivers(route, {"alertname": "Other"}) == ["default"]
    assert monitoring.route_receivers(route, labels | {"severity": "critical"}) == ["pager"]


def test_the_platform_scaling_rule_is_recognised() -> None:
    rule = scaling_rule(AlertRule())
    assert rule["alert"] == names.SCALING_ALERT_NAME
    assert names.FUNCTION_NAME_LABEL in rule["expr"]
