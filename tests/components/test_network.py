"""The NetworkPolicies admit exactly the platform's flows, checked with a small policy evaluator."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from components import names
from components.config import parse_config
from components.mock_engine import run_program
from components.network import NetworkPolicies
from tests.validation import schema_errors

CP = names.CONTROL_PLANE_NAMESPACE
FN = names.FUNCTIONS_NAMESPACE
INGRESS_NS = "ingress-nginx"


# --- a tiny NetworkPolicy evaluator (ingress only, as the API defines it) ---------------------------


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class External:
    """A client outside the cluster, seen by its address."""

    ip: str


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector; an empty one selects everything."""
    assert set(selector) <= {"matchLabels", "matchExpressions"}, selector
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def namespace_labels(name: str) -> dict[str, str]:
    # The API server labels every namespace with its name.
    return {"kubernetes.io/metadata.name": name}


def peer_admits(peer: dict[str, Any], policy_namespace: str, source: Pod | External) -> bool:
    if "ipBlock" in peer:
        # ipBlock is meant for cluster-external clients; pod traffic is matched by selectors.
        if not isinstance(source, External):
            return False
        address = ipaddress.ip_address(source.ip)
        block = peer["ipBlock"]
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if isinstance(source, External):
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], namespace_labels(source.namespace)):
            return False
    elif source.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector", {}), source.labels)


def port_admits(ports: list[dict[str, Any]] | None, port: int) -> bool:
    if not ports:
        return True
    for entry in ports:
        assert isinstance(entry.get("port"), int), "named ports are not evaluated"
        if entry.get("protocol", "TCP") == "TCP" and entry["port"] <= port <= entry.get("endPort", entry["port"]):
            return True
    return False


def may_reach(policies: list[dict[str, Any]], source: Pod | External, target: Pod, port: int) -> bool:
    """May `source` open a TCP connection to `target` on `port`?"""
    isolating = [
        p
        for p in policies
        if p["metadata"]["namespace"] == target.namespace
        and selects(p["spec"]["podSelector"], target.labels)
        and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not isolating:
        return True
    for policy in isolating:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            if not port_admits(rule.get("ports"), port):
                continue
            if peers is None or any(peer_admits(p, policy["metadata"]["namespace"], source) for p in peers):
                return True
    return False


# --- the evaluator itself must be able to say no and yes ---------------------------------------------


def test_evaluator_sanity() -> None:
    target = Pod("a", {"app": "x"})
    assert may_reach([], Pod("b"), target, 80)
    deny = {"metadata": {"namespace": "a"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    assert not may_reach([deny], Pod("a", {"app": "y"}), target, 80)
    allow = {
        "metadata": {"namespace": "a"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "x"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "y"}}}], "ports": [{"port": 80}]}],
        },
    }
    assert may_reach([deny, allow], Pod("a", {"app": "y"}), target, 80)
    assert not may_reach([deny, allow], Pod("a", {"app": "y"}), target, 81)
    assert not may_reach([deny, allow], Pod("b", {"app": "y"}), target, 80)


# --- rendering -------------------------------------------------------------------------------------


def render(settings: dict[str, Any]) -> list[dict[str, Any]]:
    config = parse_config(settings)
    rendered = run_program(lambda: NetworkPolicies("test-network", config))
    policies = rendered.kubernetes_objects()
    assert {p["kind"] for p in policies} == {"NetworkPolicy"}
    return policies


def app(name: str, namespace: str = CP) -> Pod:
    return Pod(namespace, names.app_labels(name))


GATEWAY = app(names.GATEWAY)
QUEUE_WORKER = app(names.QUEUE_WORKER)
SCALER = app(names.SCALER)
PROMETHEUS = app(names.PROMETHEUS)
ALERTMANAGER = app(names.ALERTMANAGER)
NATS = app(names.NATS)
FUNCTION = Pod(FN, {names.FUNCTION_LABEL: "figlet"})
OTHER_FUNCTION = Pod(FN, {names.FUNCTION_LABEL: "nodeinfo"})
STRANGER = Pod("default", {"run": "curl"})
GATEWAY_LOOKALIKE = Pod("default", names.app_labels(names.GATEWAY))
INGRESS_CONTROLLER = Pod(INGRESS_NS, {"app.kubernetes.io/name": "ingress-nginx"})
OUTSIDE = External("203.0.113.9")
CONTROL_PLANE_PODS = {
    "gateway": GATEWAY,
    "queue-worker": QUEUE_WORKER,
    "scaler": SCALER,
    "prometheus": PROMETHEUS,
    "alertmanager": ALERTMANAGER,
    "nats": NATS,
}

# (target, port) -> the sources that must be admitted; every other known source must be refused.
INTENDED = {
    ("gateway", names.GATEWAY_PORT): {"queue-worker", "scaler"},
    ("gateway", names.GATEWAY_METRICS_PORT): {"prometheus"},
    ("prometheus", names.PROMETHEUS_PORT): {"gateway", "scaler"},
    ("alertmanager", names.ALERTMANAGER_PORT): {"prometheus"},
    ("scaler", names.SCALER_PORT): {"alertmanager", "prometheus"},
    ("nats", names.NATS_PORT): {"gateway", "queue-worker"},
    ("function", names.FUNCTION_PORT): {"gateway"},
}


def sources() -> dict[str, Pod | External]:
    return {
        **CONTROL_PLANE_PODS,
        "function": FUNCTION,
        "other-function": OTHER_FUNCTION,
        "stranger": STRANGER,
        "gateway-lookalike": GATEWAY_LOOKALIKE,
        "ingress-controller": INGRESS_CONTROLLER,
        "outside": OUTSIDE,
    }


def targets() -> dict[str, Pod]:
    return {**CONTROL_PLANE_PODS, "function": FUNCTION}


def admitted(policies: list[dict[str, Any]], target: str, port: int) -> set[str]:
    return {name for name, source in sources().items() if may_reach(policies, source, targets()[target], port)}


@pytest.fixture(scope="module")
def node_port() -> list[dict[str, Any]]:
    return render({})


def test_every_policy_passes_the_kubernetes_schemas(node_port: list[dict[str, Any]]) -> None:
    for policy in node_port:
        assert schema_errors(policy) == [], policy["metadata"]["name"]


def test_both_namespaces_deny_ingress_by_default(node_port: list[dict[str, Any]]) -> None:
    for namespace in (CP, FN):
        [deny] = [
            p
            for p in node_port
            if p["metadata"]["namespace"] == namespace and p["metadata"]["name"] == "default-deny-ingress"
        ]
        assert deny["spec"]["podSelector"] == {}
        assert deny["spec"]["policyTypes"] == ["Ingress"]
        assert not deny["spec"].get("ingress")
    # A workload nobody should call (the queue-worker has no server) is unreachable on any port.
    for port in (names.GATEWAY_PORT, 8081, 9000):
        assert admitted(node_port, "queue-worker", port) == set()


@pytest.mark.parametrize(("target", "port"), sorted(INTENDED))
def test_each_flow_admits_exactly_its_peers(node_port: list[dict[str, Any]], target: str, port: int) -> None:
    expected = set(INTENDED[(target, port)])
    if (target, port) == ("gateway", names.GATEWAY_PORT):
        expected.add("outside")  # NodePort with the default sourceRanges 0.0.0.0/0
    assert admitted(node_port, target, port) == expected


@pytest.mark.parametrize("target", sorted(targets()))
def test_no_unlisted_port_is_open(node_port: list[dict[str, Any]], target: str) -> None:
    open_ports = {port for (name, port) in INTENDED if name == target}
    for port in {names.PROVIDER_PORT, names.NATS_MONITOR_PORT, 22, 443, *[p for (_, p) in INTENDED]} - open_ports:
        assert admitted(node_port, target, port) == set(), (target, port)


def test_functions_only_from_the_gateway_of_this_platform(node_port: list[dict[str, Any]]) -> None:
    assert may_reach(node_port, GATEWAY, FUNCTION, names.FUNCTION_PORT)
    # Same labels in another namespace do not pass: the peer needs both namespace and pod selector.
    assert not may_reach(node_port, GATEWAY_LOOKALIKE, FUNCTION, names.FUNCTION_PORT)
    assert not may_reach(node_port, OTHER_FUNCTION, FUNCTION, names.FUNCTION_PORT)
    assert not may_reach(node_port, QUEUE_WORKER, FUNCTION, names.FUNCTION_PORT)
    assert not may_reach(node_port, SCALER, FUNCTION, names.FUNCTION_PORT)


def test_node_port_source_ranges_limit_outside_clients() -> None:
    policies = render({"gateway": {"exposure": {"type": "NodePort", "sourceRanges": ["198.51.100.0/24"]}}})
    assert may_reach(policies, External("198.51.100.20"), GATEWAY, names.GATEWAY_PORT)
    assert not may_reach(policies, OUTSIDE, GATEWAY, names.GATEWAY_PORT)
    assert not may_reach(policies, External("198.51.100.20"), GATEWAY, names.GATEWAY_METRICS_PORT)
    assert admitted(policies, "gateway", names.GATEWAY_PORT) == {"queue-worker", "scaler"}


def test_load_balancer_source_ranges() -> None:
    policies = render(
        {"gateway": {"exposure": {"type": "LoadBalancer", "sourceRanges": ["10.20.0.0/16", "192.0.2.0/24"]}}}
    )
    assert may_reach(policies, External("10.20.3.4"), GATEWAY, names.GATEWAY_PORT)
    assert may_reach(policies, External("192.0.2.1"), GATEWAY, names.GATEWAY_PORT)
    assert not may_reach(policies, OUTSIDE, GATEWAY, names.GATEWAY_PORT)


def test_ingress_exposure_admits_only_the_controller_namespace() -> None:
    policies = render({"gateway": {"exposure": {"type": "Ingress", "host": "faas.example.com"}}})
    assert admitted(policies, "gateway", names.GATEWAY_PORT) == {"queue-worker", "scaler", "ingress-controller"}
    assert not may_reach(policies, INGRESS_CONTROLLER, GATEWAY, names.GATEWAY_METRICS_PORT)


def test_ingress_namespace_is_configurable() -> None:
    policies = render(
        {"gateway": {"exposure": {"type": "Ingress", "host": "faas.example.com", "ingressNamespace": "traefik"}}}
    )
    assert may_reach(policies, Pod("traefik", {}), GATEWAY, names.GATEWAY_PORT)
    assert not may_reach(policies, INGRESS_CONTROLLER, GATEWAY, names.GATEWAY_PORT)


def test_cluster_ip_exposure_is_in_cluster_only() -> None:
    policies = render({"gateway": {"exposure": {"type": "ClusterIP"}}})
    reached = admitted(policies, "gateway", names.GATEWAY_PORT)
    assert "outside" not in reached
    assert {"queue-worker", "scaler", "stranger", "function", "ingress-controller"} <= reached


def test_configured_namespaces_are_followed() -> None:
    policies = render({"namespaces": {"controlPlane": "faas", "functions": "fns"}})
    assert {p["metadata"]["namespace"] for p in policies} == {"faas", "fns"}
    gateway = Pod("faas", names.app_labels(names.GATEWAY))
    function = Pod("fns", {names.FUNCTION_LABEL: "figlet"})
    assert may_reach(policies, gateway, function, names.FUNCTION_PORT)
    # The default control-plane namespace is not this platform's: its gateway is refused.
    assert not may_reach(policies, GATEWAY, function, names.FUNCTION_PORT)
    assert may_reach(
        policies,
        Pod("faas", names.app_labels(names.QUEUE_WORKER)),
        Pod("faas", names.app_labels(names.NATS)),
        names.NATS_PORT,
    )


def test_component_and_children() -> None:
    rendered = run_program(lambda: NetworkPolicies("net", parse_config({})))
    assert [r.name for r in rendered.of_type(f"{names.TYPE_PREFIX}:NetworkPolicies")] == ["net"]
    children = rendered.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert len(children) == 9 and all(r.name.startswith("net-") for r in children)
