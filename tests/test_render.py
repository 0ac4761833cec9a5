"""The offline render: both stacks render, every object is valid Kubernetes, the CLI contract holds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from faasplane.components import names
from faasplane.components.render import RENDER_ADMIN_PASSWORD, ROOT, object_path, render_stack
from faasplane.components.render.mock_engine import Rendered
from tests.monitoring import tools
from tests.objects import one
from tests.validation import schema_errors


def kinds(objects: list[dict]) -> set[tuple[str, str]]:
    return {(obj["kind"], obj["metadata"]["name"]) for obj in objects}


def test_every_object_passes_the_kubernetes_schemas_strictly(stack_objects: list[dict]) -> None:
    errors = [error for obj in stack_objects for error in schema_errors(obj)]
    assert errors == []


def test_the_platform_objects_are_all_there(stack_objects: list[dict]) -> None:
    present = kinds(stack_objects)
    for expected in [
        ("Deployment", names.GATEWAY),
        ("Service", names.GATEWAY),
        ("Deployment", names.NATS),
        ("Service", names.NATS),
        ("Deployment", names.QUEUE_WORKER),
        ("Deployment", names.PROMETHEUS),
        ("Service", names.PROMETHEUS),
        ("Deployment", names.ALERTMANAGER),
        ("Service", names.ALERTMANAGER),
        ("Deployment", names.SCALER),
        ("Service", names.SCALER),
        ("Deployment", "sum"),
        ("Service", "sum"),
        ("Deployment", "hello"),
        ("Service", "hello"),
    ]:
        assert expected in present


def test_objects_have_unique_names_per_kind_and_namespace(stack_objects: list[dict]) -> None:
    paths = [object_path(obj) for obj in stack_objects]
    assert len(paths) == len(set(paths))


def test_dev_and_prod_differ_where_the_stacks_say(rendered_stacks: dict[str, Rendered]) -> None:
    dev, prod = (rendered_stacks[s].kubernetes_objects() for s in ("dev", "prod"))
    dev_kinds, prod_kinds = {o["kind"] for o in dev}, {o["kind"] for o in prod}
    assert "PersistentVolumeClaim" not in dev_kinds and "PersistentVolumeClaim" in prod_kinds
    assert "PodDisruptionBudget" in prod_kinds and "Ingress" in prod_kinds
    assert ("Service", names.GATEWAY_EXTERNAL) in kinds(dev)


def test_outputs(rendered_stacks: dict[str, Rendered]) -> None:
    outputs = rendered_stacks["dev"].outputs
    assert outputs["gatewayUrl"] == names.service_url(names.GATEWAY, "openfaas", names.GATEWAY_PORT)
    assert outputs["externalGatewayUrl"] == "http://127.0.0.1:31112"
    assert outputs["adminPassword"] == "[secret]"
    assert outputs["functionsNamespace"] == "openfaas-fn"
    assert outputs["prometheusUrl"].startswith("http://prometheus.openfaas")
    assert outputs["alertmanagerUrl"].startswith("http://alertmanager.openfaas")
    assert set(outputs["functions"]) == {"sum", "hello"}
    assert all("@sha256:" in ref for ref in outputs["functions"].values())
    assert rendered_stacks["prod"].outputs["externalGatewayUrl"] == "https://faas.example.com"


def test_a_mapping_override_merges_into_the_stack_value_key_by_key() -> None:
    rendered = render_stack("prod", {"faasplane:gateway": {"replicas": 3}})
    assert one(rendered, "Deployment", names.GATEWAY)["spec"]["replicas"] == 3
    assert one(rendered, "Ingress")["spec"]["tls"], "prod's TLS Ingress survives an override of another gateway key"
    assert one(rendered, "Deployment", names.GATEWAY)["spec"]["template"]["spec"]["containers"][0]["resources"][
        "limits"]["memory"] == "512Mi"


def run_render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faasplane.components.render", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def render_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "dev"
    result = run_render("--stack", "dev", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Kubernetes objects" in result.stdout
    return out


def test_cli_writes_one_file_per_object(render_dir: Path, rendered_stacks: dict[str, Rendered]) -> None:
    files = sorted(render_dir.glob("manifests/*/*.yaml"))
    assert len(files) == len(rendered_stacks["dev"].kubernetes_objects())
    assert {path.parent.name for path in files} >= {"_cluster", "openfaas", "openfaas-fn"}
    for path in files:
        obj = yaml.safe_load(path.read_text())
        assert path.name == f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        assert path.parent.name == obj["metadata"].get("namespace", "_cluster")


def test_cli_writes_the_monitoring_files(render_dir: Path) -> None:
    for relative in ("prometheus/prometheus.yml", "prometheus/rules.yml", "alertmanager/alertmanager.yml"):
        assert yaml.safe_load((render_dir / relative).read_text())


def test_no_secret_value_is_written(render_dir: Path, rendered_stacks: dict[str, Rendered]) -> None:
    texts = "\n".join(path.read_text() for path in render_dir.rglob("*.y*ml"))
    assert "[secret]" in texts
    assert RENDER_ADMIN_PASSWORD not in texts


@pytest.mark.monitoring
def test_rendered_prometheus_files_pass_promtool(render_dir: Path, tmp_path: Path) -> None:
    promtool = tools.require("promtool")
    config_dir = render_dir / "prometheus"
    if not tools.knows_kubernetes_sd(promtool):
        # A system promtool (Debian's, standing in outside CI) lacks Kubernetes discovery: check the rendered
        # file with only that block swapped for file discovery, beside the rendered rules file.
        document = tools.with_file_sd(yaml.safe_load((config_dir / "prometheus.yml").read_text()))
        shutil.copy(config_dir / "rules.yml", tmp_path / "rules.yml")
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(document))
        config_dir = tmp_path
    for command in (["check", "config", "prometheus.yml"], ["check", "rules", "rules.yml"]):
        result = subprocess.run([promtool, *command], cwd=config_dir, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.monitoring
def test_rendered_alertmanager_file_passes_amtool(render_dir: Path) -> None:
    result = subprocess.run(
        [tools.require("amtool"), "check-config", "alertmanager/alertmanager.yml"], cwd=render_dir,
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_invalid_config_exits_2_with_the_error_on_stderr(tmp_path: Path) -> None:
    result = run_render("--stack", "dev", "--out", str(tmp_path), "--set", "faasplane:gateway={replicas: 0}")
    assert result.returncode == 2
    assert "faasplane:gateway.replicas: 0 is not valid" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "manifests").exists()


def test_unknown_stack_exits_2_naming_the_stacks(tmp_path: Path) -> None:
    result = run_render("--stack", "staging", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "Pulumi.staging.yaml: no such stack file; stacks: dev, prod" in result.stderr
    assert result.stderr.count("Pulumi.staging.yaml") == 1


def test_an_override_that_is_not_yaml_exits_2_naming_it(tmp_path: Path) -> None:
    result = run_render("--stack", "dev", "--out", str(tmp_path), "--set", "faasplane:gateway=[: bad")
    assert result.returncode == 2
    assert "--set 'faasplane:gateway=[: bad': the value is not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr
