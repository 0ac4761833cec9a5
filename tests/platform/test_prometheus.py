"""The Prometheus component: auto-named config, namespaced discovery RBAC, storage by stack, hardened pod."""

from __future__ import annotations

from typing import Any

import pytest

from faasplane.components import names
from faasplane.components.config import PlatformConfig, parse_config
from faasplane.components.images import resolve_images
from faasplane.components.platform import monitoring_config as mc
from faasplane.components.platform.prometheus import Prometheus
from faasplane.components.render.mock_engine import Rendered
from tests.monitoring.objects import assert_hardened, kinds, mounts, only, render, volumes
from tests.monitoring.stacks import STACKS, pro_config, stack_config
from tests.validation import schema_errors

CONFIGS = {stack: stack_config(stack) for stack in STACKS} | {"pro-renamed": pro_config()}


def build(config: PlatformConfig, name: str = "test-prometheus") -> tuple[Rendered, list[Prometheus]]:
    made: list[Prometheus] = []
    rendered = render(lambda: made.append(Prometheus(name, config, resolve_images(config.edition, config.images))))
    return rendered, made


def objects(config: PlatformConfig) -> list[dict[str, Any]]:
    return build(config)[0].kubernetes_objects()


@pytest.mark.parametrize("name", CONFIGS)
def test_every_object_is_schema_valid_and_in_the_control_plane(name: str) -> None:
    config = CONFIGS[name]
    for obj in objects(config):
        assert schema_errors(obj) == []
        assert obj["metadata"]["namespace"] == config.namespaces.control_plane


def test_objects_and_component() -> None:
    rendered, [component] = build(CONFIGS["dev"])
    assert kinds(rendered.kubernetes_objects()) == [
        "ConfigMap", "Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"
    ]
    assert [r.name for r in rendered.of_type(f"{names.TYPE_PREFIX}:Prometheus")] == ["test-prometheus"]
    children = [r for r in rendered.resources if r.type.startswith("kubernetes:")]
    assert all(r.name.startswith("test-prometheus-") for r in children)
    assert component.url == "http://prometheus.openfaas.svc.cluster.local:9090"
    assert component.data_claim is None


@pytest.mark.parametrize("name", CONFIGS)
def test_config_map_is_auto_named_with_both_files(name: str) -> None:
    config = CONFIGS[name]
    rendered, _ = build(config)
    [recorded] = rendered.of_type("kubernetes:core/v1:ConfigMap")
    assert "name" not in recorded.inputs["metadata"]
    config_map = only(rendered.kubernetes_objects(), "ConfigMap")
    assert config_map["data"] == {
        "prometheus.yml": mc.dump(mc.prometheus_config(config)),
        "rules.yml": mc.dump(mc.rules_data(config.alert_rule)),
    }
    pod = only(rendered.kubernetes_objects(), "Deployment")["spec"]["template"]["spec"]
    assert volumes(pod)["config"]["configMap"]["name"] == config_map["metadata"]["name"]


def test_a_config_change_renames_the_config_map_and_rolls_the_pod() -> None:
    def config_name(config: PlatformConfig) -> tuple[str, str]:
        found = objects(config)
        pod = only(found, "Deployment")["spec"]["template"]["spec"]
        return only(found, "ConfigMap")["metadata"]["name"], volumes(pod)["config"]["configMap"]["name"]

    before = config_name(parse_config({}))
    after = config_name(parse_config({"alertRule": {"thresholdRps": 7}}))
    assert before[0] == before[1] and after[0] == after[1]
    assert before[0] != after[0]


@pytest.mark.parametrize("name", CONFIGS)
def test_discovery_rights_are_a_namespaced_role(name: str) -> None:
    config = CONFIGS[name]
    found = objects(config)
    assert not [obj for obj in found if obj["kind"].startswith("Cluster")]
    role = only(found, "Role")
    assert role["metadata"]["namespace"] == config.namespaces.control_plane
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    binding = only(found, "RoleBinding")
    account = only(found, "ServiceAccount")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": config.namespaces.control_plane}
    ]
    pod = only(found, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is True
    # Discovery (every job: with Pro, the queue-worker's too) is limited to the same namespace the Role grants.
    for job in mc.prometheus_config(config)["scrape_configs"]:
        assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == [config.namespaces.control_plane]


def test_dev_keeps_data_in_an_empty_dir() -> None:
    config = CONFIGS["dev"]
    found = objects(config)
    assert "PersistentVolumeClaim" not in kinds(found)
    deployment = only(found, "Deployment")
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    data = volumes(deployment["spec"]["template"]["spec"])["data"]
    assert data["emptyDir"]["sizeLimit"] == config.prometheus.storage_size


@pytest.mark.parametrize("name", ["prod", "pro-renamed"])
def test_persistent_storage_is_a_claim_with_recreate(name: str) -> None:
    config = CONFIGS[name]
    assert config.prometheus.storage == "persistent"
    rendered, [component] = build(config)
    found = rendered.kubernetes_objects()
    claim = only(found, "PersistentVolumeClaim")
    assert component.data_claim is not None
    assert claim["spec"]["resources"] == {"requests": {"storage": config.prometheus.storage_size}}
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"].get("storageClassName") == config.prometheus.storage_class_name
    deployment = only(found, "Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    data = volumes(deployment["spec"]["template"]["spec"])["data"]
    assert data["persistentVolumeClaim"] == {"claimName": claim["metadata"]["name"]}


@pytest.mark.parametrize("name", CONFIGS)
def test_deployment(name: str) -> None:
    config = CONFIGS[name]
    deployment = only(objects(config), "Deployment")
    labels = names.app_labels(names.PROMETHEUS)
    assert deployment["metadata"]["name"] == names.PROMETHEUS
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    assert deployment["spec"]["template"]["metadata"]["labels"] == labels
    pod = deployment["spec"]["template"]["spec"]
    assert_hardened(pod, config.prometheus.resources)
    assert pod["securityContext"]["runAsUser"] == 65534
    [container] = pod["containers"]
    assert container["image"] == resolve_images(config.edition, config.images)["prometheus"]
    args = container["args"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in args
    assert "--storage.tsdb.path=/prometheus" in args
    assert f"--storage.tsdb.retention.time={config.prometheus.retention}" in args
    # The ConfigMap is mounted as a directory: rules.yml sits beside prometheus.yml.
    by_path = mounts(container)
    assert by_path["/etc/prometheus"] == {"name": "config", "mountPath": "/etc/prometheus", "readOnly": True}
    assert by_path["/prometheus"]["name"] == "data"
    assert container["ports"] == [{"name": "http", "containerPort": 9090, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "http"}


def test_service() -> None:
    service = only(objects(CONFIGS["pro-renamed"]), "Service")
    assert service["metadata"]["name"] == names.PROMETHEUS
    assert service["metadata"]["namespace"] == "faas-system"
    assert service["spec"]["selector"] == names.app_labels(names.PROMETHEUS)
    assert service["spec"]["ports"] == [{"name": "http", "port": 9090, "targetPort": "http", "protocol": "TCP"}]


def test_image_override() -> None:
    config = parse_config({"images": {"prometheus": "mirror.example.com/prometheus:v3.5.0"}})
    [container] = only(objects(config), "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "mirror.example.com/prometheus:v3.5.0"
