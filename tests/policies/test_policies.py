"""Each policy over the real dev/prod render: it passes as rendered, and one targeted change makes it fail
with the expected message (and nothing else from that policy)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from pulumi_policy.proxy import unknown_checking_proxy

from faasplane.components import names
from faasplane.components.platform.monitoring_config import ALERTMANAGER_FILE, PROMETHEUS_FILE, RULES_FILE
from faasplane.components.render.mock_engine import REDACTED
from faasplane.policies import kube
from faasplane.policies.rules import BY_NAME, DEFAULT_TLS_ANNOTATIONS
from faasplane.scaler import labels as scale

from .helpers import Found, Objects, messages, run, set_env

HELLO = f"Deployment {names.FUNCTIONS_NAMESPACE}/hello"
SUM = f"Deployment {names.FUNCTIONS_NAMESPACE}/sum"
GATEWAY = f"Deployment {names.CONTROL_PLANE_NAMESPACE}/{names.GATEWAY}"
SCALER = f"Deployment {names.CONTROL_PLANE_NAMESPACE}/{names.SCALER}"
STACK = "(stack)"


def label(obj: dict[str, Any]) -> str:
    return kube.describe(obj["kind"], obj)


def edit_yaml(config_map: dict[str, Any], key: str, change: Callable[[Any], Any]) -> None:
    """Change one YAML document held in a ConfigMap, as a component bug would."""
    document = yaml.safe_load(config_map["data"][key])
    change(document)
    config_map["data"][key] = yaml.safe_dump(document, sort_keys=False)


def functions(objects: Objects) -> list[str]:
    """The function Deployments of a render, in render order, as reported (`Deployment ns/name`)."""
    return [label(d) for d in objects.of_kind("Deployment") if names.FUNCTION_LABEL in d["metadata"]["labels"]]


def set_scale_labels(objects: Objects, function: str, **values: str | None) -> None:
    """Set (or with None, remove) scale labels on a function's Deployment and pod template."""
    for labels in (objects.get("Deployment", function)["metadata"]["labels"], objects.template_labels(function)):
        for key, value in values.items():
            if value is None:
                labels.pop(key, None)
            else:
                labels[key] = value


# --- every policy, as rendered ------------------------------------------------------------------


@pytest.mark.parametrize("policy", [name for name in BY_NAME if name != "exposure"])
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_rendered_stacks_pass(policy: str, stack: str, dev: Objects, prod: Objects) -> None:
    assert run(policy, {"dev": dev, "prod": prod}[stack]) == []


def test_policies_read_pulumis_proxied_props_like_plain_dicts(dev: Objects) -> None:
    """Pulumi hands props as read-only Mapping/Sequence proxies: same findings as over plain dicts."""
    set_env(dev.container(names.GATEWAY), "basic_auth", "false")
    dev.container("hello")["image"] = "localhost:5001/hello:latest"
    set_scale_labels(dev, "hello", **{scale.SCALE_MAX: "6", scale.SCALE_ZERO: "true"})
    dev.remove("NetworkPolicy", "default-deny-ingress", names.FUNCTIONS_NAMESPACE)
    for policy in BY_NAME:
        assert run(policy, dev, wrap=unknown_checking_proxy) == run(policy, dev), policy
    assert run("edition-limits", dev, wrap=unknown_checking_proxy) != []


# --- 1. function-scale-bounds -------------------------------------------------------------------


def test_scale_bounds_missing_max(dev: Objects) -> None:
    set_scale_labels(dev, "hello", **{scale.SCALE_MAX: None})
    assert run("function-scale-bounds", dev) == [
        Found(HELLO, f"label {scale.SCALE_MAX} is missing from the pod template")
    ]


def test_scale_bounds_label_on_the_deployment_only(dev: Objects) -> None:
    del dev.template_labels("hello")[scale.SCALE_MIN]
    assert messages(run("function-scale-bounds", dev)) == [
        f"label {scale.SCALE_MIN} is missing from the pod template (it is on the Deployment's metadata only; "
        "faas-netes and the scaler read the pod template)"
    ]


def test_scale_bounds_min_above_max(dev: Objects) -> None:
    set_scale_labels(dev, "sum", **{scale.SCALE_MIN: "4", scale.SCALE_MAX: "3"})
    assert run("function-scale-bounds", dev) == [
        Found(SUM, f"label {scale.SCALE_MIN}=4 is above {scale.SCALE_MAX}=3")
    ]


def test_scale_bounds_max_above_the_default_ceiling(dev: Objects) -> None:
    set_scale_labels(dev, "hello", **{scale.SCALE_MAX: "21"})
    assert run("function-scale-bounds", dev) == [
        Found(HELLO, f"label {scale.SCALE_MAX}=21 is above the ceiling of 20 replicas")
    ]
    set_scale_labels(dev, "hello", **{scale.SCALE_MAX: "20"})
    assert run("function-scale-bounds", dev) == []


def test_scale_bounds_ceiling_is_configurable(dev: Objects) -> None:
    for name in ("sum", "hello"):
        set_scale_labels(dev, name, **{scale.SCALE_MAX: "5"})
    found = run("function-scale-bounds", dev, {"maxReplicasCeiling": 4})
    assert Found(SUM, f"label {scale.SCALE_MAX}=5 is above the ceiling of 4 replicas") in found
    assert Found(HELLO, f"label {scale.SCALE_MAX}=5 is above the ceiling of 4 replicas") in found
    assert run("function-scale-bounds", dev, {"maxReplicasCeiling": 5}) == []


@pytest.mark.parametrize("factor", ["0", "101", "ten"])
def test_scale_bounds_factor_out_of_range(dev: Objects, factor: str) -> None:
    set_scale_labels(dev, "sum", **{scale.SCALE_FACTOR: factor})
    assert run("function-scale-bounds", dev) == [
        Found(SUM, f"label {scale.SCALE_FACTOR}={factor!r} is not an integer 1..100")
    ]


def test_scale_bounds_min_not_an_integer(dev: Objects) -> None:
    set_scale_labels(dev, "hello", **{scale.SCALE_MIN: "one"})
    assert run("function-scale-bounds", dev) == [Found(HELLO, f"label {scale.SCALE_MIN}='one' is not an integer")]


# --- 2. container-resources ---------------------------------------------------------------------


def test_resources_missing_memory_limit(dev: Objects) -> None:
    del dev.container(names.GATEWAY)["resources"]["limits"]["memory"]
    assert run("container-resources", dev) == [Found(GATEWAY, "container 'gateway' has no resources limits.memory")]


def test_resources_missing_everything(dev: Objects) -> None:
    del dev.container("hello")["resources"]
    assert run("container-resources", dev) == [
        Found(HELLO, "container 'hello' has no resources requests.cpu, requests.memory, limits.cpu, limits.memory")
    ]


def test_resources_request_above_limit(dev: Objects) -> None:
    dev.container(names.SCALER)["resources"]["requests"]["cpu"] = "2"
    assert run("container-resources", dev) == [Found(SCALER, "container 'scaler': requests.cpu is above limits.cpu")]


def test_resources_memory_limit_above_the_default_ceiling(prod: Objects) -> None:
    limits = prod.container(names.PROMETHEUS)["resources"]["limits"]
    limits["memory"] = "4Gi"
    assert run("container-resources", prod) == [
        Found(f"Deployment openfaas/{names.PROMETHEUS}", "container 'prometheus': limits.memory=4Gi is above the "
              "ceiling of 2Gi")
    ]
    limits["memory"] = "2Gi"
    assert run("container-resources", prod) == []


def test_resources_ceiling_is_configurable(dev: Objects) -> None:
    found = run("container-resources", dev, {"maxMemoryLimit": "512Mi"})
    assert found == [
        Found(f"Deployment openfaas/{names.PROMETHEUS}",
              "container 'prometheus': limits.memory=1Gi is above the ceiling of 512Mi")
    ]


def test_resources_not_a_quantity(dev: Objects) -> None:
    dev.container(names.NATS)["resources"]["limits"]["memory"] = "lots"
    assert run("container-resources", dev) == [
        Found(f"Deployment openfaas/{names.NATS}", "container 'nats': limits.memory='lots' is not a Kubernetes quantity")
    ]


# --- 3. pinned-images ---------------------------------------------------------------------------


def test_images_latest_tag(dev: Objects) -> None:
    dev.container(names.QUEUE_WORKER)["image"] = "ghcr.io/openfaas/queue-worker:latest"
    assert run("pinned-images", dev) == [
        Found(f"Deployment openfaas/{names.QUEUE_WORKER}",
              "container 'queue-worker': image ghcr.io/openfaas/queue-worker:latest uses the mutable :latest tag")
    ]


@pytest.mark.parametrize("image", ["ghcr.io/openfaas/queue-worker", "localhost:5001/queue-worker"])
def test_images_untagged(dev: Objects, image: str) -> None:
    dev.container(names.QUEUE_WORKER)["image"] = image
    assert messages(run("pinned-images", dev)) == [f"container 'queue-worker': image {image} has no tag (it means :latest)"]


def test_images_digests_only(dev: Objects) -> None:
    """With digestsOnly the tag-pinned platform images fail; the built images (scaler, functions) pass."""
    found = run("pinned-images", dev, {"digestsOnly": True})
    tag_pinned = {
        label(d) for d in dev.of_kind("Deployment")
        if any("@" not in c["image"] for c in d["spec"]["template"]["spec"]["containers"])
    }
    assert {f.resource for f in found} == tag_pinned
    assert GATEWAY in tag_pinned and SCALER not in tag_pinned and HELLO not in tag_pinned
    gateway_image = dev.container(names.GATEWAY)["image"]
    assert Found(GATEWAY, f"container 'gateway': image {gateway_image} is pinned by tag only; digestsOnly requires "
                          "@sha256:<digest>") in found


def test_images_digests_only_passes_with_digests(dev: Objects) -> None:
    digest = "sha256:" + "ab" * 32
    for deployment in dev.of_kind("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            if "@" not in container["image"]:
                container["image"] = container["image"] + "@" + digest
    assert run("pinned-images", dev, {"digestsOnly": True}) == []


def test_images_malformed_digest(dev: Objects) -> None:
    dev.container("hello")["image"] = "localhost:5001/hello@sha256:abc"
    assert run("pinned-images", dev) == [
        Found(HELLO, "container 'hello': image localhost:5001/hello@sha256:abc has a malformed digest "
                     "(expected sha256:<64 hex>)")
    ]


# --- 4. pod-hardening ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["hostNetwork", "hostPID", "hostIPC"])
def test_hardening_host_namespaces(dev: Objects, field: str) -> None:
    dev.pod_spec("Deployment", names.NATS)[field] = True
    assert run("pod-hardening", dev) == [Found(f"Deployment openfaas/{names.NATS}", f"pod sets {field}: true")]


def test_hardening_host_path(dev: Objects) -> None:
    dev.pod_spec("Deployment", "sum")["volumes"].append({"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}})
    assert run("pod-hardening", dev) == [Found(SUM, "volume 'docker' is a hostPath (/var/run/docker.sock)")]


def test_hardening_privileged(dev: Objects) -> None:
    dev.container(names.GATEWAY, names.PROVIDER)["securityContext"]["privileged"] = True
    assert run("pod-hardening", dev) == [Found(GATEWAY, "container 'faas-netes': privileged is true")]


@pytest.mark.parametrize("value", [True, None])
def test_hardening_privilege_escalation(dev: Objects, value: bool | None) -> None:
    context = dev.container("hello")["securityContext"]
    if value is None:
        del context["allowPrivilegeEscalation"]
    else:
        context["allowPrivilegeEscalation"] = value
    assert run("pod-hardening", dev) == [Found(HELLO, "container 'hello': allowPrivilegeEscalation is not false")]


def test_hardening_capabilities(dev: Objects) -> None:
    dev.container(names.SCALER)["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}
    assert run("pod-hardening", dev) == [Found(SCALER, "container 'scaler': capabilities.drop does not contain ALL")]


def test_hardening_run_as_non_root_from_the_pod_or_the_container(dev: Objects) -> None:
    del dev.container("hello")["securityContext"]["runAsNonRoot"]
    assert run("pod-hardening", dev) == []  # the pod's securityContext still says so
    del dev.pod_spec("Deployment", "hello")["securityContext"]["runAsNonRoot"]
    assert run("pod-hardening", dev) == [
        Found(HELLO, "container 'hello': runAsNonRoot is not true (neither on the container nor on the pod)")
    ]


def test_hardening_root_user(dev: Objects) -> None:
    dev.container(names.ALERTMANAGER)["securityContext"]["runAsUser"] = 0
    assert run("pod-hardening", dev) == [
        Found(f"Deployment openfaas/{names.ALERTMANAGER}", "container 'alertmanager': runAsUser is 0 (root)")
    ]


def test_hardening_covers_init_containers(dev: Objects) -> None:
    init = copy.deepcopy(dev.container("hello"))
    init["name"] = "setup"
    init["securityContext"] = {}
    dev.pod_spec("Deployment", "hello")["initContainers"] = [init]
    assert messages(run("pod-hardening", dev)) == [
        "container 'setup': allowPrivilegeEscalation is not false",
        "container 'setup': capabilities.drop does not contain ALL",
    ]


# --- 5. gateway-auth ----------------------------------------------------------------------------

AUTH_OPEN = "the gateway API and its /system routes take requests without credentials"


def test_gateway_auth_off(dev: Objects) -> None:
    set_env(dev.container(names.GATEWAY), "basic_auth", "false")
    assert run("gateway-auth", dev) == [Found(GATEWAY, f"container 'gateway' sets basic_auth='false': {AUTH_OPEN}")]


@pytest.mark.parametrize("value", ["TRUE", "yes", ""])
def test_gateway_auth_only_true_or_1_turns_it_on(dev: Objects, value: str) -> None:
    set_env(dev.container(names.GATEWAY), "basic_auth", value)
    assert run("gateway-auth", dev) == [Found(GATEWAY, f"container 'gateway' sets basic_auth={value!r}: {AUTH_OPEN}")]
    set_env(dev.container(names.GATEWAY), "basic_auth", "1")
    assert run("gateway-auth", dev) == []


def test_gateway_auth_an_entry_without_a_value_is_the_empty_string(dev: Objects) -> None:
    """The provider drops `value: ""` before the pack sees the object: the bare entry reads as set to ''."""
    container = dev.container(names.GATEWAY)
    set_env(container, "basic_auth")
    container["env"].append({"name": "basic_auth"})
    assert run("gateway-auth", dev) == [Found(GATEWAY, f"container 'gateway' sets basic_auth='': {AUTH_OPEN}")]


def test_gateway_auth_missing(prod: Objects) -> None:
    set_env(prod.container(names.GATEWAY), "basic_auth")
    assert run("gateway-auth", prod) == [Found(GATEWAY, f"container 'gateway' does not set basic_auth=true: {AUTH_OPEN}")]


def test_scaler_auth_user_missing(dev: Objects) -> None:
    set_env(dev.container(names.SCALER), "SCALER_AUTH_USER")
    assert run("gateway-auth", dev) == [
        Found(SCALER, "container 'scaler' does not set SCALER_AUTH_USER: the scaler accepts unauthenticated requests "
                      "on /system/alert")
    ]


def test_scaler_auth_both_missing(dev: Objects) -> None:
    set_env(dev.container(names.SCALER), "SCALER_AUTH_USER")
    set_env(dev.container(names.SCALER), "SCALER_AUTH_PASSWORD_FILE")
    assert messages(run("gateway-auth", dev)) == [
        "container 'scaler' does not set SCALER_AUTH_USER and SCALER_AUTH_PASSWORD_FILE: the scaler accepts "
        "unauthenticated requests on /system/alert"
    ]


def test_scaler_auth_password_file_outside_a_secret(dev: Objects) -> None:
    set_env(dev.container(names.SCALER), "SCALER_AUTH_PASSWORD_FILE", "/tmp/password")
    assert run("gateway-auth", dev) == [
        Found(SCALER, "container 'scaler': SCALER_AUTH_PASSWORD_FILE=/tmp/password is not in a volume mounted from "
                      "a Secret")
    ]


def test_alertmanager_sends_no_credentials(dev: Objects) -> None:
    config_map = dev.config_map_with(ALERTMANAGER_FILE)

    def drop_auth(document: dict) -> None:
        for receiver in document["receivers"]:
            for webhook in receiver.get("webhook_configs", []):
                webhook.pop("http_config", None)

    edit_yaml(config_map, ALERTMANAGER_FILE, drop_auth)
    url = f"http://{names.SCALER}.{names.CONTROL_PLANE_NAMESPACE}.svc.cluster.local:{names.SCALER_PORT}/system/alert"
    assert run("gateway-auth", dev) == [
        Found(label(config_map), f"alertmanager.yml: receiver 'scaler' posts to {url} without http_config.basic_auth "
                                 "(username and password or password_file)")
    ]


def test_alertmanager_global_credentials_count(dev: Objects) -> None:
    config_map = dev.config_map_with(ALERTMANAGER_FILE)

    def move_auth_to_global(document: dict) -> None:
        webhook = document["receivers"][1]["webhook_configs"][0]
        document["global"] = {"http_config": webhook.pop("http_config")}

    edit_yaml(config_map, ALERTMANAGER_FILE, move_auth_to_global)
    assert run("gateway-auth", dev) == []


def test_alertmanager_config_not_yaml(dev: Objects) -> None:
    config_map = dev.config_map_with(ALERTMANAGER_FILE)
    config_map["data"][ALERTMANAGER_FILE] = "route: [unclosed"
    [found] = run("gateway-auth", dev)
    assert found.resource == label(config_map)
    assert found.message.startswith("alertmanager.yml is not valid YAML")


# --- 6. network-isolation -----------------------------------------------------------------------

FN_NS = names.FUNCTIONS_NAMESPACE
CP_NS = names.CONTROL_PLANE_NAMESPACE
FROM_GATEWAY = f"NetworkPolicy {FN_NS}/from-gateway"
NO_GATEWAY = f"no NetworkPolicy admits the gateway (Deployment {names.GATEWAY}), so the function cannot be invoked"


def gateway_peer(objects: Objects) -> dict[str, Any]:
    return objects.get("NetworkPolicy", "from-gateway", FN_NS)["spec"]["ingress"][0]["from"][0]


def test_isolation_no_default_deny_in_the_functions_namespace(dev: Objects) -> None:
    dev.remove("NetworkPolicy", "default-deny-ingress", FN_NS)
    assert run("network-isolation", dev) == [
        Found(f"Namespace {FN_NS}", f"namespace {FN_NS} has no default-deny ingress NetworkPolicy (podSelector {{}}, "
                                    "policyTypes [Ingress], no ingress rules)")
    ]


def test_isolation_a_default_deny_that_admits_is_not_one(prod: Objects) -> None:
    prod.get("NetworkPolicy", "default-deny-ingress", CP_NS)["spec"]["ingress"] = [{}]
    assert messages(run("network-isolation", prod)) == [
        f"namespace {CP_NS} has no default-deny ingress NetworkPolicy (podSelector {{}}, policyTypes [Ingress], "
        "no ingress rules)"
    ]


def test_isolation_functions_admit_every_platform_pod(dev: Objects) -> None:
    gateway_peer(dev)["podSelector"] = {"matchLabels": {names.PART_OF_LABEL: names.PROJECT}}
    others = ", ".join(sorted(
        label(d) for d in dev.of_kind("Deployment")
        if d["metadata"]["namespace"] == CP_NS and d["metadata"]["name"] != names.GATEWAY
    ))
    assert f"Deployment {CP_NS}/{names.SCALER}" in others
    assert run("network-isolation", dev) == [
        Found(FROM_GATEWAY, f"admits {others} into {fn}, not only the gateway") for fn in functions(dev)
    ]


def test_isolation_pod_selector_without_namespace_selector_misses_the_gateway(dev: Objects) -> None:
    del gateway_peer(dev)["namespaceSelector"]
    assert run("network-isolation", dev) == [Found(fn, NO_GATEWAY) for fn in functions(dev)]


def test_isolation_rule_without_from(dev: Objects) -> None:
    del dev.get("NetworkPolicy", "from-gateway", FN_NS)["spec"]["ingress"][0]["from"]
    expected = []
    for fn in functions(dev):
        expected += [
            Found(FROM_GATEWAY, f"an ingress rule with no 'from' admits traffic from anywhere into {fn}"),
            Found(fn, NO_GATEWAY),
        ]
    assert run("network-isolation", dev) == expected


def test_isolation_ip_block(dev: Objects) -> None:
    dev.get("NetworkPolicy", "from-gateway", FN_NS)["spec"]["ingress"][0]["from"].append(
        {"ipBlock": {"cidr": "0.0.0.0/0"}}
    )
    assert messages(run("network-isolation", dev)) == [
        f"admits the address block 0.0.0.0/0 into {fn}, not only the gateway" for fn in functions(dev)
    ]


def test_isolation_every_namespace(dev: Objects) -> None:
    gateway_peer(dev)["namespaceSelector"] = {}
    assert messages(run("network-isolation", dev)) == [
        f"admits pods of every namespace (empty namespaceSelector) into {fn}, not only the gateway"
        for fn in functions(dev)
    ]


def test_isolation_no_policy_for_the_functions(dev: Objects) -> None:
    dev.remove("NetworkPolicy", "from-gateway", FN_NS)
    dev.remove("NetworkPolicy", "default-deny-ingress", FN_NS)
    assert run("network-isolation", dev) == [
        Found(f"Namespace {FN_NS}", f"namespace {FN_NS} has no default-deny ingress NetworkPolicy (podSelector {{}}, "
                                    "policyTypes [Ingress], no ingress rules)"),
        *[Found(fn, "no NetworkPolicy selects its pods, so it accepts traffic from anywhere") for fn in functions(dev)],
    ]


# --- 7. scaling-wiring --------------------------------------------------------------------------


def test_wiring_gateway_not_scraped(dev: Objects) -> None:
    annotations = dev.get("Deployment", names.GATEWAY)["spec"]["template"]["metadata"]["annotations"]
    annotations["prometheus.io/scrape"] = "false"
    config_map = dev.config_map_with(PROMETHEUS_FILE)
    assert run("scaling-wiring", dev) == [
        Found(label(config_map), "no scrape job of prometheus.yml keeps the gateway pod's metrics port 8082 "
                                 f"({GATEWAY}: check its prometheus.io annotations, the job's namespaces and "
                                 "relabel_configs)")
    ]


def test_wiring_gateway_scraped_on_the_wrong_port(dev: Objects) -> None:
    annotations = dev.get("Deployment", names.GATEWAY)["spec"]["template"]["metadata"]["annotations"]
    annotations["prometheus.io/port"] = str(names.GATEWAY_PORT)
    assert messages(run("scaling-wiring", dev))[0].startswith("no scrape job of prometheus.yml keeps")


def test_wiring_scrape_job_in_another_namespace(prod: Objects) -> None:
    def other_namespace(document: dict) -> None:
        document["scrape_configs"][0]["kubernetes_sd_configs"][0]["namespaces"]["names"] = [FN_NS]

    edit_yaml(prod.config_map_with(PROMETHEUS_FILE), PROMETHEUS_FILE, other_namespace)
    assert messages(run("scaling-wiring", prod))[0].startswith("no scrape job of prometheus.yml keeps")


def test_wiring_alerts_not_sent_to_alertmanager(dev: Objects) -> None:
    config_map = dev.config_map_with(PROMETHEUS_FILE)

    def retarget(document: dict) -> None:
        document["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = ["localhost:9093"]

    edit_yaml(config_map, PROMETHEUS_FILE, retarget)
    assert run("scaling-wiring", dev) == [
        Found(label(config_map), "prometheus.yml sends alerts to ['localhost:9093'], not to the alertmanager Service "
                                 "on port 9093")
    ]


def test_wiring_no_scaling_rule(dev: Objects) -> None:
    config_map = dev.config_map_with(RULES_FILE)
    edit_yaml(config_map, RULES_FILE, lambda d: d["groups"][0]["rules"][0].update(alert="SomethingElse"))
    assert run("scaling-wiring", dev) == [
        Found(STACK, f"no Prometheus rule file defines the scaling alert {names.SCALING_ALERT_NAME}")
    ]


def test_wiring_rule_file_not_loaded(dev: Objects) -> None:
    config_map = dev.config_map_with(PROMETHEUS_FILE)
    edit_yaml(config_map, PROMETHEUS_FILE, lambda d: d.update(rule_files=[]))
    assert run("scaling-wiring", dev) == [
        Found(label(config_map), f"rules.yml holds {names.SCALING_ALERT_NAME} but prometheus.yml does not load it "
                                 "(rule_files: [])")
    ]


def test_wiring_rule_loses_the_function_label(dev: Objects) -> None:
    config_map = dev.config_map_with(RULES_FILE)
    rule: dict = {}

    def aggregate_all(document: dict) -> None:
        rule.update(document["groups"][0]["rules"][0])
        rule["expr"] = rule["expr"].replace(f"by ({names.FUNCTION_NAME_LABEL})", "by (service)")
        document["groups"][0]["rules"][0] = rule

    edit_yaml(config_map, RULES_FILE, aggregate_all)
    assert run("scaling-wiring", dev) == [
        Found(label(config_map), f"{names.SCALING_ALERT_NAME} in rules.yml does not keep the function_name label "
                                 f"(expr: {rule['expr']}), so the scaler cannot tell which function to scale")
    ]


def test_wiring_alert_routed_elsewhere(dev: Objects) -> None:
    config_map = dev.config_map_with(ALERTMANAGER_FILE)
    edit_yaml(config_map, ALERTMANAGER_FILE, lambda d: d["route"].pop("routes"))
    assert run("scaling-wiring", dev) == [
        Found(label(config_map), f"alertmanager.yml routes {names.SCALING_ALERT_NAME} to receiver(s) ['default'] "
                                 "with webhooks none, not to the scaler's http://scaler.openfaas:8080/system/alert")
    ]


@pytest.mark.parametrize("url", [
    "http://gateway.openfaas:8080/system/alert",  # the OpenFaaS CE chart's target: not this platform's scaler
    "http://scaler.openfaas.svc.cluster.local:8080/system/alerts",
    "http://scaler.openfaas.svc.cluster.local:9090/system/alert",
])
def test_wiring_webhook_not_the_scaler(dev: Objects, url: str) -> None:
    config_map = dev.config_map_with(ALERTMANAGER_FILE)
    edit_yaml(config_map, ALERTMANAGER_FILE, lambda d: d["receivers"][1]["webhook_configs"][0].update(url=url))
    assert messages(run("scaling-wiring", dev)) == [
        f"alertmanager.yml routes {names.SCALING_ALERT_NAME} to receiver(s) ['scaler'] with webhooks ['{url}'], "
        "not to the scaler's http://scaler.openfaas:8080/system/alert"
    ]


def test_wiring_regex_route_still_reaches_the_scaler(dev: Objects) -> None:
    config_map = dev.config_map_with(ALERTMANAGER_FILE)
    edit_yaml(config_map, ALERTMANAGER_FILE,
              lambda d: d["route"]["routes"][0].update(matchers=['alertname=~"API.*Rate"']))
    assert run("scaling-wiring", dev) == []


def test_wiring_no_scaler_service(dev: Objects) -> None:
    dev.remove("Service", names.SCALER)
    assert run("scaling-wiring", dev) == [Found(STACK, "the stack has no scaler Service to receive /system/alert")]


# --- 8. edition-limits --------------------------------------------------------------------------


def test_edition_max_above_the_ce_limit(dev: Objects) -> None:
    set_scale_labels(dev, "hello", **{scale.SCALE_MAX: "6"})
    assert run("edition-limits", dev) == [
        Found(HELLO, f"label {scale.SCALE_MAX}=6 is above the OpenFaaS CE maximum of 5 replicas")
    ]


@pytest.mark.parametrize("key", [scale.SCALE_ZERO, scale.SCALE_ZERO_DURATION, scale.SCALE_TARGET, scale.SCALE_TYPE])
def test_edition_labels_rejected_by_ce(prod: Objects, key: str) -> None:
    set_scale_labels(prod, "sum", **{key: "1"})
    assert run("edition-limits", prod) == [
        Found(SUM, f"label {key} is rejected by OpenFaaS CE (scale to zero and the Pro autoscaler's settings need "
                   "OpenFaaS Pro)")
    ]


def test_edition_replicas_outside_ce_range(dev: Objects) -> None:
    dev.get("Deployment", "hello")["spec"]["replicas"] = 0
    assert run("edition-limits", dev) == [Found(HELLO, "spec.replicas=0 is outside 1..5, which OpenFaaS CE resets")]


def clone_functions(objects: Objects, count: int) -> None:
    """Add copies of the rendered `hello` function until there are `count` functions."""
    template = objects.get("Deployment", "hello")
    existing = sum(1 for d in objects.of_kind("Deployment") if names.FUNCTION_LABEL in d["metadata"]["labels"])
    for index in range(count - existing):
        clone = copy.deepcopy(template)
        clone["metadata"]["name"] = f"hello-{existing + index}"
        objects.append(clone)


def test_edition_at_most_15_functions(dev: Objects) -> None:
    clone_functions(dev, names.CE_MAX_FUNCTIONS)
    assert run("edition-limits", dev) == []
    clone_functions(dev, names.CE_MAX_FUNCTIONS + 1)
    [found] = run("edition-limits", dev)
    assert found.resource == STACK
    assert found.message.startswith("16 functions (hello, hello-10, hello-11, ")
    assert found.message.endswith("): OpenFaaS CE allows at most 15")


def test_edition_pro_is_inferred_from_the_gateway_image(pro: Objects) -> None:
    assert pro.container(names.GATEWAY)["image"].startswith("ghcr.io/openfaasltd/")
    set_scale_labels(pro, "hello", **{scale.SCALE_MAX: "10", scale.SCALE_ZERO: "true"})
    clone_functions(pro, names.CE_MAX_FUNCTIONS + 1)
    assert run("edition-limits", pro) == []
    # Configured as CE, the CE limits apply even to a Pro stack.
    assert len(run("edition-limits", pro, {"edition": "ce"})) == 1 + len(
        [d for d in pro.of_kind("Deployment") if d["metadata"]["name"].startswith("hello")]
    ) * 2


def test_edition_configured_pro_with_a_ce_gateway(dev: Objects) -> None:
    set_scale_labels(dev, "hello", **{scale.SCALE_MAX: "6"})
    image = dev.container(names.GATEWAY)["image"]
    assert run("edition-limits", dev, {"edition": "pro"}) == [
        Found(GATEWAY, f"the pack is configured for edition pro but the gateway runs {image}, a CE image: the CE "
                       "limits apply whatever the configuration says"),
        Found(HELLO, f"label {scale.SCALE_MAX}=6 is above the OpenFaaS CE maximum of 5 replicas"),
    ]


# --- 9. no-plaintext-secrets --------------------------------------------------------------------

LITERAL = "carries a literal value; take it from a Secret (valueFrom.secretKeyRef) or mount the Secret and pass a " \
          "*_FILE path"


@pytest.mark.parametrize("name", ["API_TOKEN", "DB_PASSWORD", "apiKey", "AWS_SECRET_ACCESS_KEY", "client-secret"])
def test_secrets_literal_value(dev: Objects, name: str) -> None:
    set_env(dev.container("hello"), name, "s3cr3t")
    assert run("no-plaintext-secrets", dev) == [Found(HELLO, f"container 'hello': env {name} {LITERAL}")]


def test_secrets_a_pulumi_secret_in_a_literal_is_still_plain_text(dev: Objects) -> None:
    set_env(dev.container(names.SCALER), "SCALER_PROVIDER_PASSWORD", REDACTED)
    assert run("no-plaintext-secrets", dev) == [
        Found(SCALER, f"container 'scaler': env SCALER_PROVIDER_PASSWORD {LITERAL}")
    ]


@pytest.mark.parametrize("name", ["PASSWORD_FILE", "TOKEN_URL", "AWS_ACCESS_KEY_ID", "SECRET_NAME", "MONKEY"])
def test_secrets_names_about_a_secret_are_fine(dev: Objects, name: str) -> None:
    set_env(dev.container("hello"), name, "/var/openfaas/secrets/x")
    assert run("no-plaintext-secrets", dev) == []


def test_secrets_from_a_secret_pass_from_a_config_map_fail(dev: Objects) -> None:
    set_env(dev.container("hello"), "DB_PASSWORD", secretKeyRef={"name": "db", "key": "password"})
    assert run("no-plaintext-secrets", dev) == []
    set_env(dev.container("hello"), "DB_PASSWORD", configMapKeyRef={"name": "db", "key": "password"})
    assert run("no-plaintext-secrets", dev) == [
        Found(HELLO, "container 'hello': env DB_PASSWORD comes from configMapKeyRef, not from a Secret "
                     "(valueFrom.secretKeyRef)")
    ]


def test_secrets_allowed_names(dev: Objects) -> None:
    set_env(dev.container("hello"), "PUBLIC_KEY", "ssh-ed25519 AAAA")
    assert len(run("no-plaintext-secrets", dev)) == 1
    assert run("no-plaintext-secrets", dev, {"allowedNames": ["PUBLIC_KEY"]}) == []


# --- 10. exposure -------------------------------------------------------------------------------


def test_exposure_dev_node_port(dev: Objects) -> None:
    assert run("exposure", dev) == [
        Found(f"Service {CP_NS}/{names.GATEWAY_EXTERNAL}", f"the gateway is exposed through a NodePort "
              f"({names.DEFAULT_NODE_PORT}) on every node without TLS: use an Ingress with tlsSecretName")
    ]


def test_exposure_prod_ingress_with_tls_passes(prod: Objects) -> None:
    assert run("exposure", prod) == []


def test_exposure_prod_ingress_without_tls(prod: Objects) -> None:
    ingress = prod.get("Ingress", names.GATEWAY)
    host = ingress["spec"]["rules"][0]["host"]
    del ingress["spec"]["tls"]
    assert run("exposure", prod) == [
        Found(f"Ingress {CP_NS}/{names.GATEWAY}", f"the Ingress serves the gateway on {host} without TLS (no spec.tls)")
    ]


def test_exposure_prod_ingress_tls_for_another_host(prod: Objects) -> None:
    ingress = prod.get("Ingress", names.GATEWAY)
    host = ingress["spec"]["rules"][0]["host"]
    ingress["spec"]["tls"][0]["hosts"] = ["other.example.com"]
    assert messages(run("exposure", prod)) == [f"the Ingress serves the gateway on {host} without TLS (host not in "
                                               "spec.tls)"]


def test_exposure_load_balancer(load_balancer: Objects) -> None:
    assert run("exposure", load_balancer) == [
        Found(f"Service {CP_NS}/{names.GATEWAY_EXTERNAL}", "the gateway is exposed through a LoadBalancer without "
              f"TLS (none of the annotations {list(DEFAULT_TLS_ANNOTATIONS)} is set): use an Ingress with "
              "tlsSecretName or a TLS-terminating load balancer")
    ]
    service = load_balancer.get("Service", names.GATEWAY_EXTERNAL)
    service["metadata"]["annotations"] = {DEFAULT_TLS_ANNOTATIONS[0]: "arn:aws:acm:eu-west-1:1:certificate/x"}
    assert run("exposure", load_balancer) == []
    assert len(run("exposure", load_balancer, {"tlsAnnotations": ["example.com/tls"]})) == 1
