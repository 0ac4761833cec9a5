"""The monitoring documents as data: what each one says, from which setting, and that it dumps cleanly."""

from __future__ import annotations

import ast
import re

import pytest
import yaml

from faasplane.components import names
from faasplane.components.config import Alertmanager, AlertRule, Prometheus, parse_config
from faasplane.components.platform import monitoring_config as mc
from faasplane.components.render import MONITORING_FILES

CHART_EXPR = 'sum(rate(gateway_function_invocation_total{code="200"}[10s])) by (function_name) > 5'


# --- rules ---------------------------------------------------------------------------------------


def test_default_rule_is_the_charts_alert() -> None:
    rule = mc.scaling_rule(AlertRule())
    assert rule == {
        "alert": names.SCALING_ALERT_NAME,
        "expr": CHART_EXPR,
        "for": "5s",
        "labels": {"service": "gateway", "severity": "major"},
        "annotations": {
            "description": 'High invocation total on "{{$labels.function_name}}"',
            "summary": 'High invocation total on "{{$labels.function_name}}"',
        },
    }


def test_rule_settings_flow_into_the_rule() -> None:
    rule = AlertRule(name="Busy", threshold_rps=12.5, rate_window="30s", for_="1m", status_code="202", severity="x")
    data = mc.scaling_rule(rule)
    assert data["alert"] == "Busy"
    assert data["expr"] == 'sum(rate(gateway_function_invocation_total{code="202"}[30s])) by (function_name) > 12.5'
    assert data["for"] == "1m"
    assert data["labels"]["severity"] == "x"


def test_null_status_code_counts_every_code() -> None:
    expr = mc.scaling_expr(AlertRule(status_code=None))
    assert expr == "sum(rate(gateway_function_invocation_total[10s])) by (function_name) > 5"


def test_integral_threshold_prints_without_a_fraction() -> None:
    assert mc.scaling_expr(AlertRule(threshold_rps=10)).endswith("> 10")
    assert mc.scaling_expr(AlertRule(threshold_rps=0.25)).endswith("> 0.25")


def test_rules_file_has_one_group_with_the_rule() -> None:
    data = mc.rules_data(AlertRule())
    assert [group["name"] for group in data["groups"]] == [mc.RULE_GROUP]
    assert data["groups"][0]["rules"] == [mc.scaling_rule(AlertRule())]


# --- prometheus.yml ------------------------------------------------------------------------------


def test_prometheus_in_cluster() -> None:
    config = parse_config(
        {
            "namespaces": {"controlPlane": "faas-system", "functions": "faas-fns"},
            "prometheus": {"scrapeInterval": "30s", "evaluationInterval": "10s", "gatewayScrapeInterval": "3s"},
        }
    )
    data = mc.prometheus_config(config)
    assert data["global"] == {"scrape_interval": "30s", "evaluation_interval": "10s"}
    assert data["rule_files"] == ["rules.yml"]
    assert data["alerting"]["alertmanagers"] == [
        {"api_version": "v2", "static_configs": [{"targets": ["alertmanager.faas-system.svc.cluster.local:9093"]}]}
    ]
    [job] = data["scrape_configs"]
    assert job["scrape_interval"] == "3s"
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["faas-system"]}}]


def test_pod_job_keeps_annotated_pods_and_uses_the_annotated_port() -> None:
    job = mc.pod_scrape_job(["openfaas"], "5s")
    relabel = job["relabel_configs"]
    assert relabel[0] == {
        "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
        "action": "keep",
        "regex": "true",
    }
    addresses = [rule for rule in relabel if rule.get("target_label") == "__address__"]
    assert addresses and all(
        rule["source_labels"][0] == "__meta_kubernetes_pod_annotation_prometheus_io_port" for rule in addresses
    )


def test_pod_address_relabelling_regexes() -> None:
    """Prometheus anchors relabel regexes; check the IPv4 and IPv6 rules do what they claim (RE2 subset)."""
    relabel = mc.pod_scrape_job(["x"], "5s")["relabel_configs"]
    ipv4, ipv6 = (rule for rule in relabel if rule.get("target_label") == "__address__")

    def apply(rule: dict, value: str) -> str | None:
        match = re.fullmatch(rule["regex"], value)
        if not match:
            return None
        return rule["replacement"].replace("$1", match.group(1)).replace("$2", match.group(2))

    assert apply(ipv4, "8082;10.244.0.7") == "10.244.0.7:8082"
    assert apply(ipv6, "8082;10.244.0.7") is None
    assert apply(ipv6, "8082;fd00:10:244::7") == "[fd00:10:244::7]:8082"
    assert apply(ipv4, ";10.244.0.7") is None and apply(ipv6, ";fd00::7") is None


PRO = {"edition": "pro", "licenseKey": "test-licence"}


def _kept(job: dict, meta: dict[str, str]) -> bool:
    """Whether a discovered target with these meta labels survives the job's `keep` rules (anchored regexes)."""
    for rule in job["relabel_configs"]:
        if rule.get("action") == "keep":
            value = ";".join(meta.get(label, "") for label in rule["source_labels"])
            if not re.fullmatch(rule["regex"], value):
                return False
    return True


def test_pro_scrapes_the_queue_workers_metrics_port_with_a_job_of_its_own() -> None:
    config = parse_config({**PRO, "namespaces": {"controlPlane": "faas-system", "functions": "faas-fns"}})
    pods_job, job = mc.prometheus_config(config)["scrape_configs"]
    assert pods_job["job_name"] == mc.SCRAPE_JOB
    assert job["job_name"] == mc.QUEUE_WORKER_JOB == "queue-worker"
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["faas-system"]}}]
    assert "scrape_interval" not in job, "the global interval"
    worker = {
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": names.QUEUE_WORKER,
        "__meta_kubernetes_pod_container_port_name": names.METRICS_PORT_NAME,
    }
    assert _kept(job, worker)
    # The gateway also names a port `metrics` (scraped by the pod job): this job keeps the queue-worker's only.
    assert not _kept(job, {**worker, "__meta_kubernetes_pod_label_app_kubernetes_io_name": names.GATEWAY})
    assert not _kept(job, {**worker, "__meta_kubernetes_pod_container_port_name": "pprof"})
    assert {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "kubernetes_pod_name"} in job[
        "relabel_configs"
    ]


def test_ce_has_no_queue_worker_job() -> None:
    """The CE queue-worker serves no metrics: CE's prometheus.yml is the pod job alone."""
    jobs = mc.prometheus_config(parse_config({}))["scrape_configs"]
    assert [job["job_name"] for job in jobs] == [mc.SCRAPE_JOB]


def test_loopback_prometheus_from_explicit_addresses() -> None:
    settings = Prometheus(scrape_interval="1s", evaluation_interval="1s", gateway_scrape_interval="1s")
    data = mc.prometheus_data(settings, alertmanager_targets=["127.0.0.1:9093"], static_targets=["127.0.0.1:8082"])
    assert data["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}
    assert data["scrape_configs"] == [
        {"job_name": mc.STATIC_JOB, "scrape_interval": "1s", "static_configs": [{"targets": ["127.0.0.1:8082"]}]}
    ]
    assert data["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["127.0.0.1:9093"]}]
    assert "kubernetes_sd_configs" not in mc.dump(data)


def test_prometheus_data_refuses_to_scrape_nothing_or_alert_nowhere() -> None:
    with pytest.raises(ValueError, match="nothing to scrape"):
        mc.prometheus_data(Prometheus(), alertmanager_targets=["a:1"])
    with pytest.raises(ValueError, match="alertmanager"):
        mc.prometheus_data(Prometheus(), alertmanager_targets=[], static_targets=["a:1"])


def test_host_port() -> None:
    assert mc.host_port("http://alertmanager.openfaas.svc.cluster.local:9093") == (
        "alertmanager.openfaas.svc.cluster.local:9093"
    )
    with pytest.raises(ValueError):
        mc.host_port("alertmanager:9093/x")


# --- alertmanager.yml ----------------------------------------------------------------------------


def test_alertmanager_in_cluster() -> None:
    config = parse_config(
        {
            "namespaces": {"controlPlane": "faas-system", "functions": "faas-fns"},
            "alertmanager": {"groupWait": "1s", "groupInterval": "2s", "repeatInterval": "3m"},
        }
    )
    data = mc.alertmanager_config(config)
    route = data["route"]
    assert route["receiver"] == mc.DEFAULT_RECEIVER
    assert "function_name" in route["group_by"] and "alertname" in route["group_by"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("1s", "2s", "3m")
    assert route["routes"] == [
        {"receiver": names.SCALER_RECEIVER, "matchers": [f'alertname="{names.SCALING_ALERT_NAME}"']}
    ]
    receivers = {receiver["name"]: receiver for receiver in data["receivers"]}
    assert receivers[mc.DEFAULT_RECEIVER] == {"name": mc.DEFAULT_RECEIVER}
    assert receivers[names.SCALER_RECEIVER]["webhook_configs"] == [
        {
            "url": "http://scaler.faas-system.svc.cluster.local:8080/system/alert",
            "send_resolved": True,
            "http_config": {
                "basic_auth": {"username": "admin", "password_file": "/var/secrets/basic-auth-password"}
            },
        }
    ]


def test_alertmanager_routes_the_configured_rule_name() -> None:
    data = mc.alertmanager_data(
        Alertmanager(), AlertRule(name="FunctionHighRate"), webhook_url="http://127.0.0.1:18080/system/alert"
    )
    assert data["route"]["routes"][0]["matchers"] == ['alertname="FunctionHighRate"']


def test_loopback_alertmanager_password_file_or_none() -> None:
    with_file = mc.alertmanager_config(parse_config({}), password_file="/tmp/x/password")
    webhook = with_file["receivers"][1]["webhook_configs"][0]
    assert webhook["http_config"]["basic_auth"]["password_file"] == "/tmp/x/password"
    without = mc.alertmanager_data(Alertmanager(), AlertRule(), webhook_url="http://127.0.0.1:1/", password_file=None)
    assert "http_config" not in without["receivers"][1]["webhook_configs"][0]


# --- YAML ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        mc.prometheus_config(parse_config({})),
        mc.rules_data(AlertRule()),
        mc.alertmanager_config(parse_config({})),
    ],
    ids=["prometheus", "rules", "alertmanager"],
)
def test_dump_round_trips_as_plain_yaml(data: dict) -> None:
    text = mc.dump(data)
    assert yaml.safe_load(text) == data
    assert "!!" not in text
    # The PromQL and template text survive as exact strings.
    if "groups" in data:
        assert yaml.safe_load(text)["groups"][0]["rules"][0]["expr"] == CHART_EXPR


def test_file_names_are_the_ones_the_render_writes() -> None:
    assert {mc.PROMETHEUS_FILE, mc.RULES_FILE, mc.ALERTMANAGER_FILE} == set(MONITORING_FILES)


def test_module_is_pure() -> None:
    """No Pulumi here: the render, the tools and a loopback test import it without the engine."""
    with open(mc.__file__) as source:
        tree = ast.parse(source.read())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {module for module in imported if module.startswith("pulumi")}
