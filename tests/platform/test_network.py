"""The NetworkPolicies admit exactly the platform's flows, checked with a small policy evaluator."""

from __future__ import annotations

import functools
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from faasplane.components import names
from faasplane.components.config import parse_config
from faasplane.components.platform.network import NetworkPolicies
from faasplane.components.render import render_stack
from faasplane.components.render.mock_engine import run_program
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


# --- rendering: the policies and the pods they must admit come from the same rendered platform -------


@dataclass(frozen=True)
class Platform:
    policies: list[dict[str, Any]]
    pods: dict[str, Pod]
    """Every rendered Deployment's pod (its pod template's namespace and labels): control-plane workloads by
    Deployment name, functions as `function:<name>`."""
    control_plane: str
    functions: str

    def pod(self, name: str) -> Pod:
        return self.pods[name]

    @property
    def function_pods(self) -> dict[str, Pod]:
        return {name: pod for name, pod in self.pods.items() if name.startswith("function:")}


def platform_from(objects: list[dict[str, Any]]) -> Platform:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    control_plane = one_namespace(deployments, names.GATEWAY)
    [functions] = namespaces - {control_plane}
    pods: dict[str, Pod] = {}
    for deployment in deployments:
        namespace = deployment["metadata"]["namespace"]
        labels = dict(deployment["spec"]["template"]["metadata"]["labels"])
        name = deployment["metadata"]["name"]
        key = f"function:{name}" if namespace == functions else name
        assert key not in pods, key
        pods[key] = Pod(namespace, labels)
    return Platform(policies, pods, control_plane, functions)


def one_namespace(deployments: list[dict[str, Any]], name: str) -> str:
    [namespace] = [d["metadata"]["namespace"] for d in deployments if d["metadata"]["name"] == name]
    return namespace


@functools.cache
def _render(stack: str, overrides_json: str) -> Platform:
    return platform_from(render_stack(stack, json.loads(overrides_json)).kubernetes_objects())


def render(stack: str, **overrides: Any) -> Platform:
    """The whole platform of a stack (plus `faasplane:<key>` overrides), rendered as `pulumi up` would."""
    return _render(stack, json.dumps({f"{names.PROJECT}:{k}": v for k, v in overrides.items()}, sort_keys=True))


def exposure(**settings: Any) -> dict[str, Any]:
    return {"replicas": 1, "exposure": settings}


STACKS = ("dev", "prod")
CONTROL_PLANE = ("gateway", "queue-worker", "scaler", "prometheus", "alertmanager", "nats")
STRANGER = Pod("default", {"run": "curl"})
INGRESS_CONTROLLER = Pod(INGRESS_NS, {"app.kubernetes.io/name": "ingress-nginx"})
OUTSIDE = External("203.0.113.9")

# (target, port) -> the sources that must be admitted; every other known source must be refused.
# "function" stands for every function pod of the rendered stack.
INTENDED = {
    ("gateway", names.GATEWAY_PORT): {"queue-worker", "scaler", "function"},
    ("gateway", names.GATEWAY_METRICS_PORT): {"prometheus"},
    ("prometheus", names.PROMETHEUS_PORT): {"gateway", "scaler"},
    ("alertmanager", names.ALERTMANAGER_PORT): {"prometheus"},
    ("scaler", names.SCALER_PORT): {"alertmanager", "prometheus"},
    ("nats", names.NATS_PORT): {"gateway", "queue-worker"},
    ("function", names.FUNCTION_PORT): {"gateway"},
}


def sources(platform: Platform) -> list[tuple[str, Pod | External]]:
    """(role, source): every rendered pod, and clients that are not the platform's."""
    found: list[tuple[str, Pod | External]] = [
        ("function" if name.startswith("function:") else name, pod) for name, pod in platform.pods.items()
    ]
    gateway_labels = platform.pod(names.GATEWAY).labels
    return [
        *found,
        ("stranger", STRANGER),
        ("gateway-lookalike", Pod("default", gateway_labels)),
        ("function-lookalike", Pod("default", next(iter(platform.function_pods.values())).labels)),
        ("ingress-controller", INGRESS_CONTROLLER),
        ("outside", OUTSIDE),
    ]


def targets(platform: Platform) -> dict[str, list[Pod]]:
    return {
        **{name: [platform.pod(name)] for name in CONTROL_PLANE},
        "function": list(platform.function_pods.values()),
    }


def admitted(platform: Platform, target: str, port: int) -> set[str]:
    """The roles of the sources that may reach every pod of `target` on `port`."""
    reached = set()
    for pod in targets(platform)[target]:
        reached |= {
            role
            for role, source in sources(platform)
            if source != pod and may_reach(platform.policies, source, pod, port)
        }
    return reached


def test_the_rendered_platform_has_every_workload() -> None:
    for stack in STACKS:
        platform = render(stack)
        assert set(CONTROL_PLANE) <= set(platform.pods), stack
        assert len(platform.function_pods) >= 2, "function-to-function flows need two functions"


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> Platform:
    return render(request.param)


def test_every_policy_passes_the_kubernetes_schemas() -> None:
    policies = run_program(lambda: NetworkPolicies("test-network", parse_config({}))).kubernetes_objects()
    assert {p["kind"] for p in policies} == {"NetworkPolicy"}
    for policy in policies:
        assert schema_errors(policy) == [], policy["metadata"]["name"]


def test_both_namespaces_deny_ingress_by_default(stack: Platform) -> None:
    for namespace in (CP, FN):
        [deny] = [
            p
            for p in stack.policies
            if p["metadata"]["namespace"] == namespace and p["metadata"]["name"] == "default-deny-ingress"
        ]
        assert deny["spec"]["podSelector"] == {}
        assert deny["spec"]["policyTypes"] == ["Ingress"]
        assert not deny["spec"].get("ingress")
    # A workload nobody should call (the queue-worker has no server) is unreachable on any port.
    for port in (names.GATEWAY_PORT, 8081, 9000):
        assert admitted(stack, "queue-worker", port) == set()


@pytest.mark.parametrize(("target", "port"), sorted(INTENDED))
def test_each_flow_admits_exactly_its_peers(target: str, port: int) -> None:
    expected = set(INTENDED[(target, port)])
    if (target, port) == ("gateway", names.GATEWAY_PORT):
        # dev: NodePort with the default sourceRanges 0.0.0.0/0; prod: an Ingress from ingress-nginx.
        assert admitted(render("dev"), target, port) == expected | {"outside"}
        assert admitted(render("prod"), target, port) == expected | {"ingress-controller"}
    else:
        for stack in STACKS:
            assert admitted(render(stack), target, port) == expected, stack


@pytest.mark.parametrize("target", sorted({name for (name, _) in INTENDED}))
def test_no_unlisted_port_is_open(stack: Platform, target: str) -> None:
    open_ports = {port for (name, port) in INTENDED if name == target}
    for port in {names.PROVIDER_PORT, names.NATS_MONITOR_PORT, 22, 443, *[p for (_, p) in INTENDED]} - open_ports:
        assert admitted(stack, target, port) == set(), (target, port)


def test_functions_only_from_the_gateway_of_this_platform(stack: Platform) -> None:
    gateway = stack.pod(names.GATEWAY)
    [figlet, other, *_] = stack.function_pods.values()
    assert may_reach(stack.policies, gateway, figlet, names.FUNCTION_PORT)
    # Same labels in another namespace do not pass: the peer needs both namespace and pod selector.
    assert not may_reach(stack.policies, Pod("default", gateway.labels), figlet, names.FUNCTION_PORT)
    assert not may_reach(stack.policies, other, figlet, names.FUNCTION_PORT)
    assert not may_reach(stack.policies, stack.pod(names.QUEUE_WORKER), figlet, names.FUNCTION_PORT)
    assert not may_reach(stack.policies, stack.pod(names.SCALER), figlet, names.FUNCTION_PORT)


def test_functions_can_call_the_gateway_api_for_chaining(stack: Platform) -> None:
    # `gateway.openfaas:8080/function/<name>` from a function, whatever the exposure; never the metrics port.
    gateway = stack.pod(names.GATEWAY)
    for function in stack.function_pods.values():
        assert may_reach(stack.policies, function, gateway, names.GATEWAY_PORT)
        assert not may_reach(stack.policies, function, gateway, names.GATEWAY_METRICS_PORT)
        assert not may_reach(stack.policies, function, stack.pod(names.NATS), names.NATS_PORT)
        assert not may_reach(stack.policies, function, stack.pod(names.PROMETHEUS), names.PROMETHEUS_PORT)
    # Only function pods of the functions namespace: the same labels elsewhere are refused.
    lookalike = Pod("default", next(iter(stack.function_pods.values())).labels)
    assert not may_reach(stack.policies, lookalike, gateway, names.GATEWAY_PORT)


def test_node_port_source_ranges_limit_outside_clients() -> None:
    platform = render("dev", gateway=exposure(type="NodePort", nodePort=31112, sourceRanges=["198.51.100.0/24"]))
    gateway = platform.pod(names.GATEWAY)
    assert may_reach(platform.policies, External("198.51.100.20"), gateway, names.GATEWAY_PORT)
    assert not may_reach(platform.policies, OUTSIDE, gateway, names.GATEWAY_PORT)
    assert not may_reach(platform.policies, External("198.51.100.20"), gateway, names.GATEWAY_METRICS_PORT)
    assert admitted(platform, "gateway", names.GATEWAY_PORT) == {"queue-worker", "scaler", "function"}


def test_load_balancer_source_ranges() -> None:
    platform = render(
        "dev", gateway=exposure(type="LoadBalancer", sourceRanges=["10.20.0.0/16", "192.0.2.0/24"])
    )
    gateway = platform.pod(names.GATEWAY)
    assert may_reach(platform.policies, External("10.20.3.4"), gateway, names.GATEWAY_PORT)
    assert may_reach(platform.policies, External("192.0.2.1"), gateway, names.GATEWAY_PORT)
    assert not may_reach(platform.policies, OUTSIDE, gateway, names.GATEWAY_PORT)
    assert admitted(platform, "gateway", names.GATEWAY_PORT) == {"queue-worker", "scaler", "function"}


def test_ingress_exposure_admits_only_the_controller_namespace() -> None:
    platform = render("dev", gateway=exposure(type="Ingress", host="faas.example.com"))
    assert admitted(platform, "gateway", names.GATEWAY_PORT) == {
        "queue-worker",
        "scaler",
        "function",
        "ingress-controller",
    }
    assert not may_reach(platform.policies, INGRESS_CONTROLLER, platform.pod(names.GATEWAY), names.GATEWAY_METRICS_PORT)


def test_ingress_namespace_is_configurable() -> None:
    platform = render(
        "dev", gateway=exposure(type="Ingress", host="faas.example.com", ingressNamespace="traefik")
    )
    gateway = platform.pod(names.GATEWAY)
    assert may_reach(platform.policies, Pod("traefik", {}), gateway, names.GATEWAY_PORT)
    assert not may_reach(platform.policies, INGRESS_CONTROLLER, gateway, names.GATEWAY_PORT)


def test_cluster_ip_exposure_is_in_cluster_only() -> None:
    platform = render("dev", gateway=exposure(type="ClusterIP"))
    reached = admitted(platform, "gateway", names.GATEWAY_PORT)
    assert "outside" not in reached
    assert {"queue-worker", "scaler", "stranger", "function", "ingress-controller"} <= reached


def test_configured_namespaces_are_followed() -> None:
    platform = render("dev", namespaces={"controlPlane": "faas", "functions": "fns"})
    assert (platform.control_plane, platform.functions) == ("faas", "fns")
    assert {p["metadata"]["namespace"] for p in platform.policies} == {"faas", "fns"}
    assert {pod.namespace for pod in platform.function_pods.values()} == {"fns"}
    for (target, port), expected in INTENDED.items():
        if (target, port) == ("gateway", names.GATEWAY_PORT):
            expected = expected | {"outside"}  # dev's NodePort, open to 0.0.0.0/0
        assert admitted(platform, target, port) == expected, (target, port)
    # A gateway in the default control-plane namespace is not this platform's: it is refused.
    default_gateway = Pod(CP, platform.pod(names.GATEWAY).labels)
    for function in platform.function_pods.values():
        assert not may_reach(platform.policies, default_gateway, function, names.FUNCTION_PORT)
    # Nor do pods of the default functions namespace reach this platform's gateway.
    default_function = Pod(FN, next(iter(platform.function_pods.values())).labels)
    assert not may_reach(platform.policies, default_function, platform.pod(names.GATEWAY), names.GATEWAY_PORT)


def test_component_and_children() -> None:
    rendered = run_program(lambda: NetworkPolicies("net", parse_config({})))
    assert [r.name for r in rendered.of_type(f"{names.TYPE_PREFIX}:NetworkPolicies")] == ["net"]
    children = rendered.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert len(children) == 9 and all(r.name.startswith("net-") for r in children)


def test_a_connector_named_by_its_labels_reaches_the_gateway_api_and_nothing_else() -> None:
    platform = platform_from(render_stack("dev", {"faasplane:gateway": {"clients": [{"app": "cron-connector"}]}})
                             .kubernetes_objects())
    connector = Pod(platform.control_plane, {"app": "cron-connector"})
    gateway = platform.pod(names.GATEWAY)
    assert may_reach(platform.policies, connector, gateway, names.GATEWAY_PORT)
    assert not may_reach(platform.policies, connector, gateway, names.GATEWAY_METRICS_PORT)
    assert not may_reach(platform.policies, connector, platform.pod(names.PROMETHEUS), names.PROMETHEUS_PORT)
    assert not may_reach(platform.policies, Pod(platform.control_plane, {"app": "other"}), gateway, names.GATEWAY_PORT)
    default = render("dev")
    assert not may_reach(default.policies, connector, default.pod(names.GATEWAY), names.GATEWAY_PORT)


# --- Pro: the queue-worker's metrics -----------------------------------------------------------------


@functools.cache
def render_pro(stack: str) -> Platform:
    overrides = {"faasplane:edition": "pro", "faasplane:licenseKey": "test-licence",
                 "faasplane:images": {"nats": "nats:2.10.22"}}
    return platform_from(render_stack(stack, overrides, extra_secret_keys=["faasplane:licenseKey"]).kubernetes_objects())


@pytest.mark.parametrize("stack_name", STACKS)
def test_pro_admits_prometheus_to_the_queue_workers_metrics_only(stack_name: str) -> None:
    platform = render_pro(stack_name)
    assert admitted(platform, "queue-worker", names.QUEUE_WORKER_METRICS_PORT) == {"prometheus"}
    for port in (names.GATEWAY_PORT, names.NATS_PORT, 9000):
        assert admitted(platform, "queue-worker", port) == set(), port
    [policy] = [p for p in platform.policies if p["metadata"]["name"] == "queue-worker-metrics"]
    assert schema_errors(policy) == []
    # Every other flow is the same as with CE.
    for (target, port), expected in INTENDED.items():
        if (target, port) != ("gateway", names.GATEWAY_PORT):
            assert admitted(platform, target, port) == expected, (target, port)


def test_ce_keeps_the_queue_worker_closed(stack: Platform) -> None:
    assert admitted(stack, "queue-worker", names.QUEUE_WORKER_METRICS_PORT) == set()
    assert not [p for p in stack.policies if p["metadata"]["name"] == "queue-worker-metrics"]
