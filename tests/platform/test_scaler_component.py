"""The scaler's Deployment: image built from the repository or given, settings as SCALER_* variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from faasplane.components import k8s, names
from faasplane.components.config import ConfigError, PlatformConfig, parse_config
from faasplane.components.platform import monitoring_config as mc
from faasplane.components.platform.scaler import REPO_ROOT, ScalerService, scaler_env
from faasplane.components.render.mock_engine import SECRET_SIG, Rendered
from tests.monitoring.objects import assert_hardened, kinds, mounts, only, render, volumes
from tests.monitoring.stacks import STACKS, pro_config, stack_config
from tests.objects import env
from tests.validation import schema_errors

CONFIGS = {stack: stack_config(stack) for stack in STACKS} | {"pro-renamed": pro_config()}
IMAGE_TYPE = "docker-build:index:Image"
SECRET = "basic-auth"


def build(config: PlatformConfig, secret: Any = SECRET) -> tuple[Rendered, list[ScalerService]]:
    made: list[ScalerService] = []
    rendered = render(lambda: made.append(ScalerService("test-scaler", config, auth_secret_name=secret)))
    return rendered, made


def container_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [container] = only(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("name", CONFIGS)
def test_every_object_is_schema_valid_and_in_the_control_plane(name: str) -> None:
    config = CONFIGS[name]
    rendered, _ = build(config)
    found = rendered.kubernetes_objects()
    assert kinds(found) == ["Deployment", "Service"]
    for obj in found:
        assert schema_errors(obj) == []
        assert obj["metadata"]["namespace"] == config.namespaces.control_plane
    assert [r.name for r in rendered.of_type(f"{names.TYPE_PREFIX}:ScalerService")] == ["test-scaler"]
    children = [r for r in rendered.resources if not r.type.startswith(names.TYPE_PREFIX)]
    assert all(r.name.startswith("test-scaler-") for r in children)


@pytest.mark.parametrize("stack", STACKS)
def test_image_is_built_from_the_repository_and_referenced_by_digest(stack: str) -> None:
    config = CONFIGS[stack]
    assert config.scaler.image is None
    rendered, [component] = build(config)
    [image] = rendered.of_type(IMAGE_TYPE)
    assert component.image is not None
    assert image.name == "test-scaler-image"
    assert image.inputs["context"] == {"location": str(REPO_ROOT)}
    assert image.inputs["dockerfile"] == {"location": str(REPO_ROOT / "scaler" / "Dockerfile")}
    repository = f"{config.registry.server}/faasplane-scaler"
    [tag] = image.inputs["tags"]
    assert tag.startswith(f"{repository}:")
    assert image.inputs.get("push") is config.registry.push
    reference = container_of(rendered.kubernetes_objects())["image"]
    assert reference == f"{repository}@{image.state['digest']}"


def test_image_tag_follows_the_scaler_sources_only() -> None:
    from faasplane.components.function.build import content_hash
    from faasplane.components.images import TEMPLATE_IMAGES
    from faasplane.components.platform.scaler import BUILD_INCLUDE

    rendered, _ = build(CONFIGS["dev"])
    [image] = rendered.of_type(IMAGE_TYPE)
    build_args = {"PYTHON_IMAGE": TEMPLATE_IMAGES["python"]}  # the base image is pinned in images.py
    assert image.inputs["buildArgs"] == build_args
    assert image.inputs["tags"][0].endswith(":" + content_hash(REPO_ROOT, BUILD_INCLUDE, build_args))
    assert set(BUILD_INCLUDE) == {"pyproject.toml", "uv.lock", "scaler"}


def test_registry_credentials_are_passed_to_the_build() -> None:
    config = parse_config(
        {"registry": {"server": "registry.example.com/team", "username": "ci"}, "registryPassword": "pw"}
    )
    rendered, _ = build(config)
    [image] = rendered.of_type(IMAGE_TYPE)
    assert image.inputs["tags"][0].startswith("registry.example.com/team/faasplane-scaler:")
    # The password makes the whole list a secret in the state Pulumi stores.
    registries = image.inputs["registries"]
    assert SECRET_SIG in registries
    [registry] = registries["value"]
    assert registry["address"] == "registry.example.com"  # credentials belong to the host, not the path
    assert registry["username"] == "ci"
    assert "pw" not in str(rendered.kubernetes_objects())


def test_prebuilt_image_builds_nothing() -> None:
    config = CONFIGS["pro-renamed"]
    rendered, [component] = build(config)
    assert rendered.of_type(IMAGE_TYPE) == []
    assert component.image is None
    assert container_of(rendered.kubernetes_objects())["image"] == "registry.example.com/faasplane-scaler:1.2.3"


def test_environment_for_the_dev_stack() -> None:
    found = build(CONFIGS["dev"])[0].kubernetes_objects()
    assert env(container_of(found)) == {
        "SCALER_LISTEN": "0.0.0.0:8080",
        "SCALER_PROVIDER_URL": "http://gateway.openfaas.svc.cluster.local:8080",
        "SCALER_PROVIDER_USER": "admin",
        "SCALER_PROVIDER_PASSWORD_FILE": "/var/secrets/basic-auth-password",
        "SCALER_AUTH_USER": "admin",
        "SCALER_AUTH_PASSWORD_FILE": "/var/secrets/basic-auth-password",
        "SCALER_PROMETHEUS_URL": "http://prometheus.openfaas.svc.cluster.local:9090",
        "SCALER_POLICY": "proportional",
        "SCALER_DEFAULT_NAMESPACE": "openfaas-fn",
        "SCALER_LOG_LEVEL": "info",
        "SCALER_MAX_REPLICAS_CAP": str(names.CE_MAX_REPLICAS),
    }


def test_environment_for_a_renamed_pro_stack() -> None:
    config = CONFIGS["pro-renamed"]
    variables = env(container_of(build(config)[0].kubernetes_objects()))
    assert "SCALER_MAX_REPLICAS_CAP" not in variables
    assert variables["SCALER_PROVIDER_URL"] == "http://gateway.faas-system.svc.cluster.local:8080"
    assert variables["SCALER_PROMETHEUS_URL"] == "http://prometheus.faas-system.svc.cluster.local:9090"
    assert variables["SCALER_DEFAULT_NAMESPACE"] == "faas-fns"
    assert variables["SCALER_POLICY"] == "openfaas"
    assert variables["SCALER_LOG_LEVEL"] == "debug"
    assert variables["SCALER_UP_PERIOD"] == "30s"


def test_scaler_env_adds_tuning_but_cannot_rewire_the_scaler() -> None:
    config = parse_config({"scaler": {"env": {"SCALER_UP_PERIOD": "30s", "SCALER_UP_FACTOR": "2"}}})
    assert scaler_env(config)["SCALER_UP_PERIOD"] == "30s" and scaler_env(config)["SCALER_UP_FACTOR"] == "2"
    for wired in ("SCALER_MAX_REPLICAS_CAP", "SCALER_LISTEN", "SCALER_PROVIDER_URL", "SCALER_AUTH_PASSWORD_FILE"):
        with pytest.raises(ConfigError, match=f"env key '{wired}' is wired by the platform"):
            parse_config({"scaler": {"env": {wired: "x"}}})


@pytest.mark.parametrize("name", CONFIGS)
def test_the_scaler_accepts_its_environment(name: str, tmp_path: Path) -> None:
    """The variables are the ones scaler/settings.py reads, with values it accepts."""
    settings = pytest.importorskip("faasplane.scaler.settings", reason="the scaler package is not in this checkout")
    password = tmp_path / "password"
    password.write_text("secret")
    variables = {
        key: str(password) if key.endswith("_PASSWORD_FILE") else value
        for key, value in scaler_env(CONFIGS[name]).items()
    }
    parsed = settings.Settings.from_env(variables)
    config = CONFIGS[name]
    assert parsed.auth_required
    assert parsed.default_namespace == config.namespaces.functions
    assert parsed.max_replicas_cap == (names.CE_MAX_REPLICAS if config.edition == names.EDITION_CE else None)


@pytest.mark.parametrize("name", CONFIGS)
def test_deployment(name: str) -> None:
    config = CONFIGS[name]
    deployment = only(build(config)[0].kubernetes_objects(), "Deployment")
    labels = names.app_labels(names.SCALER)
    assert deployment["metadata"]["name"] == names.SCALER
    assert deployment["spec"]["replicas"] == config.scaler.replicas
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == labels
    assert template["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(names.SCALER_PORT),
        "prometheus.io/path": "/metrics",
        **k8s.credentials_annotation(config),
    }
    pod = template["spec"]
    assert_hardened(pod, config.scaler.resources)
    assert pod["automountServiceAccountToken"] is False
    container = container_of([deployment])
    assert container["ports"] == [{"name": "http", "containerPort": names.SCALER_PORT, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    by_path = mounts(container)
    assert by_path["/tmp"] == {"name": "tmp", "mountPath": "/tmp"}
    assert "emptyDir" in volumes(pod)["tmp"]
    assert by_path[names.SECRET_MOUNT_PATH] == {"name": "auth", "mountPath": names.SECRET_MOUNT_PATH, "readOnly": True}


def test_credentials_come_from_the_given_secret() -> None:
    found = build(CONFIGS["dev"], secret="generated-basic-auth-1234")[0].kubernetes_objects()
    pod = only(found, "Deployment")["spec"]["template"]["spec"]
    assert volumes(pod)["auth"]["secret"]["secretName"] == "generated-basic-auth-1234"
    password_file = env(container_of(found))["SCALER_PROVIDER_PASSWORD_FILE"]
    assert password_file == f"{names.SECRET_MOUNT_PATH}/{names.BASIC_AUTH_PASSWORD_KEY}"


def test_service_is_where_alertmanager_sends() -> None:
    config = CONFIGS["pro-renamed"]
    rendered, [component] = build(config)
    service = only(rendered.kubernetes_objects(), "Service")
    assert service["metadata"]["name"] == names.SCALER
    assert service["spec"]["selector"] == names.app_labels(names.SCALER)
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    webhook = mc.alertmanager_config(config)["receivers"][1]["webhook_configs"][0]["url"]
    assert component.alert_url == webhook == "http://scaler.faas-system.svc.cluster.local:8080/system/alert"
