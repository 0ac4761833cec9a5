"""The Alertmanager component: auto-named config, gossip off, the gateway credentials mounted as files."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from faasplane.components import names
from faasplane.components.config import PlatformConfig, parse_config
from faasplane.components.images import resolve_images
from faasplane.components.platform import monitoring_config as mc
from faasplane.components.platform.alertmanager import Alertmanager
from faasplane.components.render.mock_engine import Rendered
from tests.monitoring.objects import assert_hardened, kinds, mounts, only, render, volumes
from tests.monitoring.stacks import STACKS, pro_config, stack_config
from tests.validation import schema_errors

CONFIGS = {stack: stack_config(stack) for stack in STACKS} | {"pro-renamed": pro_config()}
SECRET = "basic-auth"


def build(config: PlatformConfig, secret: Any = SECRET) -> tuple[Rendered, list[Alertmanager]]:
    made: list[Alertmanager] = []
    images = resolve_images(config.edition, config.images)
    rendered = render(lambda: made.append(Alertmanager("test-alertmanager", config, images, auth_secret_name=secret)))
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
    assert kinds(rendered.kubernetes_objects()) == ["ConfigMap", "Deployment", "Service"]
    assert [r.name for r in rendered.of_type(f"{names.TYPE_PREFIX}:Alertmanager")] == ["test-alertmanager"]
    children = [r for r in rendered.resources if r.type.startswith("kubernetes:")]
    assert all(r.name.startswith("test-alertmanager-") for r in children)
    assert component.url == "http://alertmanager.openfaas.svc.cluster.local:9093"


@pytest.mark.parametrize("name", CONFIGS)
def test_config_map_is_auto_named_with_the_config(name: str) -> None:
    config = CONFIGS[name]
    rendered, _ = build(config)
    [recorded] = rendered.of_type("kubernetes:core/v1:ConfigMap")
    assert "name" not in recorded.inputs["metadata"]
    config_map = only(rendered.kubernetes_objects(), "ConfigMap")
    assert config_map["data"] == {"alertmanager.yml": mc.dump(mc.alertmanager_config(config))}
    pod = only(rendered.kubernetes_objects(), "Deployment")["spec"]["template"]["spec"]
    assert volumes(pod)["config"]["configMap"]["name"] == config_map["metadata"]["name"]


def test_a_config_change_renames_the_config_map() -> None:
    def name_of(config: PlatformConfig) -> str:
        return only(objects(config), "ConfigMap")["metadata"]["name"]

    assert name_of(parse_config({})) != name_of(parse_config({"alertmanager": {"repeatInterval": "1m"}}))


@pytest.mark.parametrize("name", CONFIGS)
def test_deployment(name: str) -> None:
    config = CONFIGS[name]
    deployment = only(objects(config), "Deployment")
    labels = names.app_labels(names.ALERTMANAGER)
    assert deployment["metadata"]["name"] == names.ALERTMANAGER
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["template"]["metadata"]["labels"] == labels
    pod = deployment["spec"]["template"]["spec"]
    assert_hardened(pod, config.alertmanager.resources)
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    assert container["image"] == resolve_images(config.edition, config.images)["alertmanager"]
    args = container["args"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in args
    assert "--storage.path=/alertmanager" in args
    assert "--cluster.listen-address=" in args
    by_path = mounts(container)
    assert by_path["/alertmanager"]["name"] == "data"
    assert "emptyDir" in volumes(pod)["data"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "http"}


def test_gateway_credentials_are_mounted_where_the_config_reads_them() -> None:
    rendered, _ = build(CONFIGS["dev"], secret="generated-basic-auth-1234")
    pod = only(rendered.kubernetes_objects(), "Deployment")["spec"]["template"]["spec"]
    assert volumes(pod)["auth"]["secret"]["secretName"] == "generated-basic-auth-1234"
    [container] = pod["containers"]
    auth = mounts(container)[names.SECRET_MOUNT_PATH]
    assert auth == {"name": "auth", "mountPath": names.SECRET_MOUNT_PATH, "readOnly": True}
    assert mc.PASSWORD_FILE == f"{names.SECRET_MOUNT_PATH}/{names.BASIC_AUTH_PASSWORD_KEY}"
    assert mc.PASSWORD_FILE in only(rendered.kubernetes_objects(), "ConfigMap")["data"]["alertmanager.yml"]


def test_secret_name_may_be_an_output() -> None:
    rendered, _ = build(CONFIGS["dev"], secret=pulumi.Output.from_input("from-output"))
    pod = only(rendered.kubernetes_objects(), "Deployment")["spec"]["template"]["spec"]
    assert volumes(pod)["auth"]["secret"]["secretName"] == "from-output"


def test_service() -> None:
    service = only(objects(CONFIGS["pro-renamed"]), "Service")
    assert service["metadata"]["name"] == names.ALERTMANAGER
    assert service["metadata"]["namespace"] == "faas-system"
    assert service["spec"]["selector"] == names.app_labels(names.ALERTMANAGER)
    assert service["spec"]["ports"] == [{"name": "http", "port": 9093, "targetPort": "http", "protocol": "TCP"}]
    # Prometheus sends to exactly this Service.
    targets = mc.prometheus_config(CONFIGS["pro-renamed"])["alerting"]["alertmanagers"][0]["static_configs"]
    assert targets == [{"targets": ["alertmanager.faas-system.svc.cluster.local:9093"]}]
