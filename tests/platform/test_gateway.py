"""The gateway as a user meets it: names, ports, env, credentials, RBAC, exposure and availability."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from faasplane.components import k8s, names
from faasplane.components.config import ConfigError, parse_config
from faasplane.components.images import resolve_images
from faasplane.components.platform.gateway import PROFILE_CRD_MISSING, Gateway, load_balancer_url
from faasplane.components.render.mock_engine import REDACTED, Rendered, run_program
from tests.objects import env, matches, objects, one
from tests.validation import schema_errors

LICENSE = "pro-licence-do-not-leak"
PASSWORD = "gateway-admin-password-do-not-leak"


def render(settings: dict[str, Any]) -> Rendered:
    config = parse_config({"adminPassword": PASSWORD, **settings})

    def program() -> None:
        gateway = Gateway("test-gateway", config, resolve_images(config.edition, config.images))
        pulumi.export("externalUrl", gateway.external_url)
        pulumi.export("internalUrl", gateway.internal_url)
        pulumi.export("adminPassword", gateway.admin_password)
        pulumi.export("authSecretName", gateway.auth_secret_name)

    return run_program(program)


def containers(rendered: Rendered) -> dict[str, dict[str, Any]]:
    pod = one(rendered, "Deployment", names.GATEWAY)["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod["containers"]}


@pytest.fixture(scope="module")
def dev() -> Rendered:
    return render({})


@pytest.fixture(scope="module")
def prod() -> Rendered:
    return render(
        {
            "gateway": {
                "replicas": 3,
                "readTimeout": "2m",
                "writeTimeout": "2m",
                "upstreamTimeout": "1m55s",
                "scaleFromZero": False,
                "exposure": {
                    "type": "Ingress",
                    "host": "faas.example.com",
                    "tlsSecretName": "faas-tls",
                    "ingressClassName": "nginx",
                },
                "resources": {
                    "requests": {"cpu": "200m", "memory": "128Mi"},
                    "limits": {"cpu": "1", "memory": "512Mi"},
                },
            },
            "namespaces": {"controlPlane": "faas", "functions": "fns"},
            "availability": {"topologySpread": True, "podDisruptionBudget": True},
        }
    )


# --- every object ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_every_object_passes_the_kubernetes_schemas(variant: str, request: pytest.FixtureRequest) -> None:
    rendered = request.getfixturevalue(variant)
    for obj in rendered.kubernetes_objects():
        assert schema_errors(obj) == [], obj["kind"]


def test_component_and_children(dev: Rendered) -> None:
    assert [r.name for r in dev.of_type(f"{names.TYPE_PREFIX}:Gateway")] == ["test-gateway"]
    children = [r for r in dev.resources if r.type.startswith("kubernetes:")]
    assert children and all(r.name.startswith("test-gateway-") for r in children)


# --- Deployment and Service ------------------------------------------------------------------------


def test_one_deployment_runs_gateway_and_provider(dev: Rendered) -> None:
    deployment = one(dev, "Deployment", names.GATEWAY)
    assert deployment["metadata"]["namespace"] == names.CONTROL_PLANE_NAMESPACE
    assert list(containers(dev)) == [names.GATEWAY, names.PROVIDER]
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == names.app_labels(names.GATEWAY)
    assert matches(deployment["spec"]["selector"]["matchLabels"], template["metadata"]["labels"])
    assert template["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(names.GATEWAY_METRICS_PORT),
        names.CREDENTIALS_REVISION_ANNOTATION: k8s.credentials_revision(PASSWORD, names.CONTROL_PLANE_NAMESPACE),
    }
    ports = {p["name"]: p["containerPort"] for p in containers(dev)[names.GATEWAY]["ports"]}
    assert ports == {"http": names.GATEWAY_PORT, "metrics": names.GATEWAY_METRICS_PORT}
    assert containers(dev)[names.PROVIDER]["ports"][0]["containerPort"] == names.PROVIDER_PORT


def test_gateway_service_selects_the_gateway_pods(dev: Rendered) -> None:
    service = one(dev, "Service", names.GATEWAY)
    assert service["spec"]["type"] == "ClusterIP"
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(names.GATEWAY_PORT, "http")]
    pod_labels = one(dev, "Deployment", names.GATEWAY)["spec"]["template"]["metadata"]["labels"]
    assert matches(service["spec"]["selector"], pod_labels)
    assert dev.outputs["internalUrl"] == "http://gateway.openfaas.svc.cluster.local:8080"


def test_gateway_env_defaults(dev: Rendered) -> None:
    values = env(containers(dev)[names.GATEWAY])
    assert values["read_timeout"] == "65s"
    assert values["write_timeout"] == "65s"
    assert values["upstream_timeout"] == "60s"
    assert values["functions_provider_url"] == f"http://127.0.0.1:{names.PROVIDER_PORT}/"
    assert values["function_namespace"] == names.FUNCTIONS_NAMESPACE
    assert values["faas_nats_address"] == "nats.openfaas.svc.cluster.local"
    assert values["faas_nats_port"] == str(names.NATS_PORT)
    assert values["faas_nats_channel"] == names.NATS_CHANNEL
    assert values["faas_prometheus_host"] == "prometheus.openfaas.svc.cluster.local"
    assert values["faas_prometheus_port"] == str(names.PROMETHEUS_PORT)
    assert values["basic_auth"] == "true"
    assert values["secret_mount_path"] == names.SECRET_MOUNT_PATH
    assert values["scale_from_zero"] == "true"


DEAD_GATEWAY_ENV = {"direct_functions"}
"""Read by no gateway at the pinned version (gateway/types/readconfig.go of 0.27.13)."""
PRO_ONLY_PROVIDER_ENV = {"profiles_namespace", "image_pull_policy", "cluster_role"}
"""Not read by CE faas-netes 0.18.17 (pkg/config/read_config.go and faas-provider's types.ReadConfig)."""


def test_no_env_that_the_ce_binaries_do_not_read(dev: Rendered) -> None:
    assert not DEAD_GATEWAY_ENV & set(env(containers(dev)[names.GATEWAY]))
    provider = env(containers(dev)[names.PROVIDER])
    assert not PRO_ONLY_PROVIDER_ENV & set(provider)
    # What CE faas-netes does read stays.
    assert provider["http_probe"] == "true"
    assert provider["set_nonroot_user"] == "true"
    assert provider["function_namespace"] == names.FUNCTIONS_NAMESPACE
    assert (provider["port"], provider["read_timeout"], provider["write_timeout"]) == ("8081", "65s", "65s")
    assert (provider["basic_auth"], provider["secret_mount_path"]) == ("true", names.SECRET_MOUNT_PATH)


def test_pro_provider_keeps_its_settings() -> None:
    rendered = render({"edition": "pro", "licenseKey": LICENSE})
    assert not DEAD_GATEWAY_ENV & set(env(containers(rendered)[names.GATEWAY]))
    provider = env(containers(rendered)[names.PROVIDER])
    assert provider["profiles_namespace"] == names.CONTROL_PLANE_NAMESPACE
    assert provider["image_pull_policy"] == "Always"
    assert provider["cluster_role"] == "false"


def test_env_follows_config(prod: Rendered) -> None:
    values = env(containers(prod)[names.GATEWAY])
    assert (values["read_timeout"], values["write_timeout"], values["upstream_timeout"]) == ("120s", "120s", "115s")
    assert values["scale_from_zero"] == "false"
    assert values["function_namespace"] == "fns"
    assert values["faas_nats_address"] == "nats.faas.svc.cluster.local"
    provider = env(containers(prod)[names.PROVIDER])
    assert provider["function_namespace"] == "fns"
    assert provider["port"] == str(names.PROVIDER_PORT)
    assert provider["basic_auth"] == "true"
    assert (provider["read_timeout"], provider["write_timeout"]) == ("120s", "120s")


def test_resources_come_from_config(prod: Rendered) -> None:
    assert containers(prod)[names.GATEWAY]["resources"] == {
        "requests": {"cpu": "200m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }
    provider = containers(prod)[names.PROVIDER]["resources"]
    assert provider["requests"] and provider["limits"]


def test_every_container_is_hardened_and_probed(dev: Rendered) -> None:
    pod = one(dev, "Deployment", names.GATEWAY)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # faas-netes talks to the Kubernetes API, so this pod (and only this one) gets a token.
    assert pod["automountServiceAccountToken"] is True
    assert pod["serviceAccountName"] == names.PROVIDER
    volumes = {v["name"]: v for v in pod["volumes"]}
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]]


def test_gateway_liveness_does_not_depend_on_the_provider(dev: Rendered) -> None:
    # /healthz on the API port is forwarded to faas-netes; the metrics server (8082) answers /healthz itself,
    # so a slow provider must not get the gateway container restarted. Readiness keeps following the provider.
    gateway = containers(dev)[names.GATEWAY]
    ports = {p["name"]: p["containerPort"] for p in gateway["ports"]}
    liveness, readiness = gateway["livenessProbe"]["httpGet"], gateway["readinessProbe"]["httpGet"]
    assert (liveness["path"], ports[liveness["port"]]) == ("/healthz", names.GATEWAY_METRICS_PORT)
    assert (readiness["path"], ports[readiness["port"]]) == ("/healthz", names.GATEWAY_PORT)
    provider = containers(dev)[names.PROVIDER]
    assert provider["livenessProbe"]["httpGet"]["port"] == "provider"


# --- credentials -----------------------------------------------------------------------------------


def test_basic_auth_secret_has_the_charts_name_and_is_mounted(dev: Rendered) -> None:
    secret = one(dev, "Secret")
    assert secret["metadata"]["name"] == names.AUTH_SECRET_NAME == "basic-auth", "what the connectors expect"
    assert set(secret["data"]) == {names.BASIC_AUTH_USER_KEY, names.BASIC_AUTH_PASSWORD_KEY}
    assert set(secret["data"].values()) == {REDACTED}
    assert dev.outputs["authSecretName"] == "basic-auth"
    pod = one(dev, "Deployment", names.GATEWAY)["spec"]["template"]["spec"]
    [auth_volume] = [v for v in pod["volumes"] if "secret" in v]
    assert auth_volume["secret"]["secretName"] == "basic-auth"
    for container in pod["containers"]:
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts[auth_volume["name"]]["mountPath"] == names.SECRET_MOUNT_PATH
        assert mounts[auth_volume["name"]]["readOnly"] is True


def test_the_secret_name_is_a_setting() -> None:
    rendered = render({"gateway": {"authSecretName": "openfaas-admin"}})
    assert one(rendered, "Secret")["metadata"]["name"] == "openfaas-admin"
    pod = one(rendered, "Deployment", names.GATEWAY)["spec"]["template"]["spec"]
    assert [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v] == ["openfaas-admin"]


def test_a_new_password_rolls_the_pods_though_the_secret_keeps_its_name() -> None:
    first = k8s.credentials_revision(PASSWORD, names.CONTROL_PLANE_NAMESPACE)
    assert k8s.credentials_revision(PASSWORD + "2", names.CONTROL_PLANE_NAMESPACE) != first
    assert k8s.credentials_revision(PASSWORD, "faas") != first, "salted per namespace"
    assert PASSWORD not in first and len(first) == 16


def test_password_comes_from_the_secret_config_and_is_never_in_plain_text(dev: Rendered) -> None:
    assert dev.outputs["adminPassword"] == REDACTED
    [secret] = [obj for obj in dev.kubernetes_objects() if obj["kind"] == "Secret"]
    assert secret["data"][names.BASIC_AUTH_PASSWORD_KEY] == REDACTED
    assert PASSWORD not in json.dumps(dev.kubernetes_objects())
    assert PASSWORD not in json.dumps(dev.outputs)


def test_a_platform_without_an_admin_password_stops_naming_the_key() -> None:
    with pytest.raises(ConfigError) as error:
        Gateway("test-gateway", parse_config({}), resolve_images("ce"))
    assert "faasplane:adminPassword: not set" in str(error.value)
    assert "pulumi config set --secret faasplane:adminPassword" in str(error.value)


# --- RBAC ------------------------------------------------------------------------------------------


def test_provider_role_is_limited_to_the_functions_namespace(prod: Rendered) -> None:
    assert objects(prod, "ClusterRole") == [] and objects(prod, "ClusterRoleBinding") == []
    role = one(prod, "Role")
    assert role["metadata"]["namespace"] == "fns"
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert not any("*" in item for item in granted)
    assert not any(verb in {"escalate", "bind", "impersonate", "patch"} for _, _, verb in granted)
    for verb in ("create", "update", "delete", "get", "list", "watch"):
        assert ("apps", "deployments", verb) in granted
        assert ("", "services", verb) in granted
        assert ("", "secrets", verb) in granted
    assert {(r, v) for g, r, v in granted if r in {"pods", "pods/log", "endpoints"}} == {
        (r, v) for r in ("pods", "pods/log", "endpoints") for v in ("get", "list", "watch")
    }
    assert {r for _, r, _ in granted} == {"deployments", "services", "secrets", "pods", "pods/log", "endpoints"}


def test_role_binding_grants_the_role_to_the_gateway_service_account(prod: Rendered) -> None:
    binding = one(prod, "RoleBinding")
    account = one(prod, "ServiceAccount")
    role = one(prod, "Role")
    assert binding["metadata"]["namespace"] == "fns"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "faas"}]
    pod = one(prod, "Deployment", names.GATEWAY)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]


# --- exposure --------------------------------------------------------------------------------------


def test_dev_exposes_a_node_port_on_loopback(dev: Rendered) -> None:
    external = one(dev, "Service", names.GATEWAY_EXTERNAL)
    assert external["spec"]["type"] == "NodePort"
    [port] = external["spec"]["ports"]
    assert (port["port"], port["nodePort"]) == (names.GATEWAY_PORT, names.DEFAULT_NODE_PORT)
    assert matches(external["spec"]["selector"], names.app_labels(names.GATEWAY))
    assert dev.outputs["externalUrl"] == f"http://127.0.0.1:{names.DEFAULT_NODE_PORT}"
    assert objects(dev, "Ingress") == []


def test_node_port_is_configurable() -> None:
    rendered = render({"gateway": {"exposure": {"type": "NodePort", "nodePort": 30080}}})
    assert one(rendered, "Service", names.GATEWAY_EXTERNAL)["spec"]["ports"][0]["nodePort"] == 30080
    assert rendered.outputs["externalUrl"] == "http://127.0.0.1:30080"


def test_cluster_ip_adds_nothing_external() -> None:
    rendered = render({"gateway": {"exposure": {"type": "ClusterIP"}}})
    assert [s["metadata"]["name"] for s in objects(rendered, "Service")] == [names.GATEWAY]
    assert objects(rendered, "Ingress") == []
    assert rendered.outputs["externalUrl"] == rendered.outputs["internalUrl"]


def test_load_balancer_with_source_ranges() -> None:
    rendered = render({"gateway": {"exposure": {"type": "LoadBalancer", "sourceRanges": ["203.0.113.0/24"]}}})
    spec = one(rendered, "Service", names.GATEWAY_EXTERNAL)["spec"]
    assert spec["type"] == "LoadBalancer"
    assert spec["loadBalancerSourceRanges"] == ["203.0.113.0/24"]
    # Keeps the client address so the NetworkPolicy ipBlock can match it.
    assert spec["externalTrafficPolicy"] == "Local"
    assert objects(rendered, "Ingress") == []
    # The mock engine assigns no load balancer: the URL stays empty rather than pointing somewhere wrong.
    assert rendered.outputs["externalUrl"] == ""


def test_open_load_balancer_keeps_the_default_traffic_policy() -> None:
    spec = one(render({"gateway": {"exposure": {"type": "LoadBalancer"}}}), "Service", names.GATEWAY_EXTERNAL)["spec"]
    assert "externalTrafficPolicy" not in spec


@pytest.mark.parametrize(
    ("status", "url"),
    [
        ({"load_balancer": {"ingress": [{"ip": "198.51.100.7"}]}}, "http://198.51.100.7:8080"),
        ({"loadBalancer": {"ingress": [{"hostname": "lb.example.net"}]}}, "http://lb.example.net:8080"),
        ({"load_balancer": {}}, ""),
        (None, ""),
    ],
)
def test_load_balancer_url_from_status(status: Any, url: str) -> None:
    assert load_balancer_url(status) == url


def test_ingress_with_tls(prod: Rendered) -> None:
    ingress = one(prod, "Ingress", names.GATEWAY)
    spec = ingress["spec"]
    assert ingress["metadata"]["namespace"] == "faas"
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["faas.example.com"], "secretName": "faas-tls"}]
    [rule] = spec["rules"]
    assert rule["host"] == "faas.example.com"
    [path] = rule["http"]["paths"]
    assert path["backend"]["service"] == {"name": names.GATEWAY, "port": {"number": names.GATEWAY_PORT}}
    assert prod.outputs["externalUrl"] == "https://faas.example.com"
    assert [s["metadata"]["name"] for s in objects(prod, "Service")] == [names.GATEWAY]


def test_ingress_without_tls_is_plain_http() -> None:
    rendered = render({"gateway": {"exposure": {"type": "Ingress", "host": "faas.internal"}}})
    spec = one(rendered, "Ingress")["spec"]
    assert "tls" not in spec and "ingressClassName" not in spec
    assert rendered.outputs["externalUrl"] == "http://faas.internal"


# --- availability ----------------------------------------------------------------------------------


def test_prod_has_pdb_and_topology_spread(prod: Rendered) -> None:
    pdb = one(prod, "PodDisruptionBudget", names.GATEWAY)
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == names.app_labels(names.GATEWAY)
    pod = one(prod, "Deployment", names.GATEWAY)["spec"]["template"]["spec"]
    constraints = pod["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in constraints} >= {"kubernetes.io/hostname"}
    assert all(c["labelSelector"]["matchLabels"] == names.app_labels(names.GATEWAY) for c in constraints)
    assert one(prod, "Deployment", names.GATEWAY)["spec"]["replicas"] == 3


def test_dev_has_neither(dev: Rendered) -> None:
    assert objects(dev, "PodDisruptionBudget") == []
    assert "topologySpreadConstraints" not in one(dev, "Deployment", names.GATEWAY)["spec"]["template"]["spec"]


def test_no_pdb_for_a_single_replica_even_when_asked() -> None:
    rendered = render({"availability": {"podDisruptionBudget": True}})
    assert objects(rendered, "PodDisruptionBudget") == []


def test_no_pdb_with_replicas_when_not_asked() -> None:
    rendered = render({"gateway": {"replicas": 2}})
    assert objects(rendered, "PodDisruptionBudget") == []


# --- editions --------------------------------------------------------------------------------------


def test_ce_has_no_licence(dev: Rendered) -> None:
    assert len(objects(dev, "Secret")) == 1
    assert all("command" not in c for c in containers(dev).values())
    assert containers(dev)[names.GATEWAY]["image"].startswith("ghcr.io/openfaas/gateway:")


def test_pro_mounts_the_licence_from_a_secret() -> None:
    rendered = render({"edition": "pro", "licenseKey": LICENSE})
    assert LICENSE not in json.dumps(rendered.kubernetes_objects())
    secrets = objects(rendered, "Secret")
    [licence] = [s for s in secrets if "license" in s.get("data", {})]
    assert licence["data"] == {"license": REDACTED}
    [licence_resource] = [r for r in rendered.resources if r.name == "test-gateway-license"]
    assert "name" not in licence_resource.inputs["metadata"]
    pod = one(rendered, "Deployment", names.GATEWAY)["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == licence["metadata"]["name"]]
    for container in pod["containers"]:
        assert container["image"].startswith("ghcr.io/openfaasltd/")
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts[volume["name"]] == f"{names.SECRET_MOUNT_PATH}/license"
        assert f"-license-file={names.SECRET_MOUNT_PATH}/license/license" in container["command"]
    [role] = [r for r in objects(rendered, "Role") if r["metadata"]["namespace"] == names.FUNCTIONS_NAMESPACE]
    assert any("endpointslices" in rule["resources"] for rule in role["rules"])
    for obj in rendered.kubernetes_objects():
        assert schema_errors(obj) == []


# --- Pro: Profiles ---------------------------------------------------------------------------------


def test_pro_provider_may_read_profiles_in_the_control_plane_namespace_only() -> None:
    rendered = render({"edition": "pro", "licenseKey": LICENSE, "namespaces": {"controlPlane": "faas",
                                                                               "functions": "fns"}})
    assert objects(rendered, "ClusterRole") == [] and objects(rendered, "ClusterRoleBinding") == []
    role = one(rendered, "Role", "faas-netes-profiles")
    assert role["metadata"]["namespace"] == "faas"
    assert role["rules"] == [{"apiGroups": ["openfaas.com"], "resources": ["profiles"], "verbs": ["get", "list", "watch"]}]
    binding = one(rendered, "RoleBinding", "faas-netes-profiles")
    assert binding["metadata"]["namespace"] == "faas"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "faas-netes-profiles"}
    account = one(rendered, "ServiceAccount")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "faas"}]
    assert env(containers(rendered)[names.PROVIDER])["profiles_namespace"] == "faas"
    # Nothing else of openfaas.com (the chart's controller Role adds `policies`), nowhere else.
    granted = [(g, r) for obj in objects(rendered, "Role") for rule in obj["rules"]
               for g in rule["apiGroups"] for r in rule["resources"]]
    assert [item for item in granted if item[0] == "openfaas.com"] == [("openfaas.com", "profiles")]
    assert objects(rendered, "CustomResourceDefinition") == [], "the Gateway never creates the cluster-wide CRD"


def test_ce_has_no_profiles_rbac(dev: Rendered) -> None:
    assert [r["metadata"]["name"] for r in objects(dev, "Role")] == [names.PROVIDER]
    assert [b["metadata"]["name"] for b in objects(dev, "RoleBinding")] == [names.PROVIDER]


def warnings_of(settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: said.append(message))
    render(settings)
    return said


def test_pro_without_the_crd_setting_warns_at_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    said = warnings_of({"edition": "pro", "licenseKey": LICENSE}, monkeypatch)
    assert said == [PROFILE_CRD_MISSING]
    assert "profiles.openfaas.com" in said[0] and "faasplane:profiles.createCrd" in said[0]
    assert "OpenFaaS chart" in said[0]


def test_no_warning_when_the_stack_installs_the_crd_or_with_ce(monkeypatch: pytest.MonkeyPatch) -> None:
    assert warnings_of({"edition": "pro", "licenseKey": LICENSE, "profiles": {"createCrd": True}}, monkeypatch) == []
    assert warnings_of({}, monkeypatch) == []
