"""`python -m faasplane.policies.check DIR [--config FILE]` over real renders: the mapping to Pulumi's resources, the
table, the exit codes (0 clean, 1 mandatory violation, 2 bad input) and the config file handling."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from faasplane.components import names
from faasplane.components.render import ROOT, object_path, render_stack, write_render
from faasplane.components.render.mock_engine import Rendered
from faasplane.policies import check
from faasplane.policies.rules import POLICIES

CONFIG_DIR = ROOT / "policies" / "config"
GATEWAY_MANIFEST = Path("manifests") / names.CONTROL_PLANE_NAMESPACE / f"deployment-{names.GATEWAY}.yaml"


@pytest.fixture(scope="module")
def dev_render(tmp_path_factory: pytest.TempPathFactory, rendered_stacks: dict[str, Rendered]) -> Path:
    out = tmp_path_factory.mktemp("render") / "dev"
    write_render(rendered_stacks["dev"], out)
    return out


@pytest.fixture
def render_copy(dev_render: Path, tmp_path: Path) -> Path:
    """A private copy of the dev render to break."""
    return Path(shutil.copytree(dev_render, tmp_path / "dev"))


def break_gateway_auth(render: Path) -> None:
    path = render / GATEWAY_MANIFEST
    gateway = yaml.safe_load(path.read_text())
    for container in gateway["spec"]["template"]["spec"]["containers"]:
        for env in container.get("env", []):
            if env["name"] == "basic_auth":
                env["value"] = "false"
    path.write_text(yaml.safe_dump(gateway))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faasplane.policies.check", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


# --- the mapping to what Pulumi hands the policies ----------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_manifests_map_to_the_types_and_props_pulumi_sends(
    stack: str, rendered_stacks: dict[str, Rendered], tmp_path: Path
) -> None:
    rendered = rendered_stacks[stack]
    write_render(rendered, tmp_path)
    loaded = check.load_render(tmp_path)
    recorded = [r for r in rendered.resources if r.is_kubernetes_object]
    # The type of every manifest is the type token the program registered it with.
    assert Counter(r.resource_type for r in loaded) == Counter(r.type for r in recorded)
    # And its props are the object Pulumi would send (the render's normalized inputs).
    by_path = {object_path(obj): obj for obj in rendered.kubernetes_objects()}
    for resource in loaded:
        assert resource.props == by_path[object_path(resource.props)]


# --- the CLI ------------------------------------------------------------------------------------


def test_cli_clean_render_exits_0_with_the_advisory_table(
    dev_render: Path, rendered_stacks: dict[str, Rendered]
) -> None:
    result = cli(str(dev_render), "--config", str(CONFIG_DIR / "dev.json"))
    assert result.returncode == check.EXIT_OK, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    count = len(rendered_stacks["dev"].kubernetes_objects())
    assert lines[0] == (
        f"policy pack faasplane: {len(POLICIES)} policies over {count} objects in {dev_render} "
        f"with {CONFIG_DIR / 'dev.json'}"
    )
    assert lines[1].split() == ["POLICY", "ENFORCEMENT", "RESOURCE", "MESSAGE"]
    assert lines[2].split()[:4] == ["exposure", "advisory", "Service", f"openfaas/{names.GATEWAY_EXTERNAL}"]
    assert "exposed through a NodePort (31112)" in lines[2]
    assert lines[-1] == "1 violation(s): 0 mandatory, 1 advisory"


def test_cli_broken_render_exits_1_and_names_the_policy(render_copy: Path) -> None:
    break_gateway_auth(render_copy)
    result = cli(str(render_copy), "--config", str(CONFIG_DIR / "dev.json"))
    assert result.returncode == check.EXIT_VIOLATIONS
    rows = [line.split(None, 4) for line in result.stdout.splitlines()[2:-1]]
    assert rows[0] == [
        "gateway-auth", "mandatory", "Deployment", "openfaas/gateway",
        "container 'gateway' sets basic_auth='false': the gateway API and its /system routes take requests "
        "without credentials",
    ]
    assert rows[1][:2] == ["exposure", "advisory"]  # mandatory rows first
    assert result.stdout.splitlines()[-1] == "2 violation(s): 1 mandatory, 1 advisory"


def test_config_levels_decide_the_exit_code(render_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    break_gateway_auth(render_copy)
    advisory = tmp_path / "advisory.json"
    advisory.write_text(json.dumps({"all": "advisory"}))
    assert check.main([str(render_copy), "--config", str(advisory)]) == check.EXIT_OK
    disabled = tmp_path / "disabled.json"
    disabled.write_text(json.dumps({"gateway-auth": {"enforcementLevel": "disabled"}}))
    capsys.readouterr()
    assert check.main([str(render_copy), "--config", str(disabled)]) == check.EXIT_OK
    assert "gateway-auth" not in capsys.readouterr().out


def test_prod_config_makes_dev_exposure_mandatory(dev_render: Path, capsys: pytest.CaptureFixture) -> None:
    """The dev stack's NodePort would fail a prod review: exposure is mandatory in policies/config/prod.json."""
    violations = check.evaluate(check.load_render(dev_render), check.load_config(CONFIG_DIR / "prod.json"))
    exposure = [v for v in violations if v.policy == "exposure"]
    assert [v.enforcement.value for v in exposure] == ["mandatory"]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda d: d / "missing", "not a directory"),
        (lambda d: d, "no manifests/ directory"),
    ],
)
def test_bad_directory_exits_2(tmp_path: Path, setup, expected: str, capsys: pytest.CaptureFixture) -> None:
    assert check.main([str(setup(tmp_path))]) == check.EXIT_BAD_INPUT
    assert expected in capsys.readouterr().err


def test_cli_bad_directory_exits_2(tmp_path: Path) -> None:
    result = cli(str(tmp_path / "nowhere"))
    assert result.returncode == check.EXIT_BAD_INPUT
    assert result.stderr.startswith("faasplane.policies.check: ")
    assert "not a directory" in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("kind: [unclosed", "cannot read it as YAML"),
        ("just: a mapping\n", "not a Kubernetes object (apiVersion and kind are required)"),
        ("apiVersion: v1\nkind: Service\nmetadata: {}\n", "Service has no metadata.name"),
    ],
)
def test_bad_manifest_exits_2(render_copy: Path, content: str, expected: str, capsys: pytest.CaptureFixture) -> None:
    bad = render_copy / "manifests" / "openfaas" / "service-broken.yaml"
    bad.write_text(content)
    assert check.main([str(render_copy)]) == check.EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert str(bad) in error and expected in error


def test_empty_manifests_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "manifests").mkdir()
    assert check.main([str(tmp_path)]) == check.EXIT_BAD_INPUT
    assert "no manifests" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"no-such-policy": "mandatory"}', "no-such-policy: unknown policy"),
        ('{"exposure": "sometimes"}', "exposure: enforcementLevel 'sometimes' is not one of"),
        ('{"exposure": 3}', "exposure: 3 is not an enforcement level or an object"),
        ('{"pinned-images": {"digestOnly": true}}', "pinned-images.digestOnly: unknown property"),
        ('{"pinned-images": {"digestsOnly": "yes"}}', 'pinned-images.digestsOnly: "yes" is not of type boolean'),
        ('{"function-scale-bounds": {"maxReplicasCeiling": 0}}', "maxReplicasCeiling: 0 is below the minimum 1"),
        ('{"container-resources": {"maxMemoryLimit": "lots"}}', "maxMemoryLimit: 'lots' does not match"),
        ('{"edition-limits": {"edition": "enterprise"}}', "edition-limits.edition: \"enterprise\" is not one of"),
        ('{"all": {"digestsOnly": true}}', "all: only enforcementLevel may be set"),
    ],
)
def test_bad_config_exits_2(dev_render: Path, tmp_path: Path, config: str, expected: str,
                            capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "config.json"
    path.write_text(config)
    assert check.main([str(dev_render), "--config", str(path)]) == check.EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert str(path) in error and expected in error


def test_missing_config_exits_2(dev_render: Path, tmp_path: Path) -> None:
    result = cli(str(dev_render), "--config", str(tmp_path / "absent.json"))
    assert result.returncode == check.EXIT_BAD_INPUT
    assert "cannot read the config file" in result.stderr


def test_stack_configs_are_valid_and_say_what_prod_tightens() -> None:
    dev = check.load_config(CONFIG_DIR / "dev.json")
    prod = check.load_config(CONFIG_DIR / "prod.json")
    exposure, images = (next(s for s in POLICIES if s.name == n) for n in ("exposure", "pinned-images"))
    assert dev.level(exposure).value == "advisory"
    assert prod.level(exposure).value == "mandatory"
    assert dev.settings(images)["digestsOnly"] is False
    assert prod.settings(images)["digestsOnly"] is True


def test_make_review_keeps_the_contract() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(["make", "-n", "review", "STACK=prod"], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    assert "-m faasplane.components.render --stack prod --out build/render/prod" in result.stdout
    assert "-m faasplane.policies.check build/render/prod --config policies/config/prod.json" in result.stdout


def test_a_crashing_validator_exits_3_never_0(dev_render: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    def broken(args: object, report_violation: object) -> None:
        raise KeyError("spec")

    policies = tuple(replace(s, validate=broken) if s.name == "pod-hardening" else s for s in POLICIES)
    monkeypatch.setattr(check, "POLICIES", policies)
    assert check.main([str(dev_render)]) == check.EXIT_POLICY_ERROR
    error = capsys.readouterr().err
    assert "policy pod-hardening failed on " in error and "KeyError" in error


def test_prod_tag_pinned_images_say_how_to_pin_them(tmp_path: Path) -> None:
    """The README's own `make review STACK=prod` fails on a fresh clone: the output says what fixes it."""
    out = tmp_path / "prod"
    write_render(render_stack("prod"), out)
    result = cli(str(out), "--config", str(CONFIG_DIR / "prod.json"))
    assert result.returncode == check.EXIT_VIOLATIONS
    [hint] = [line for line in result.stdout.splitlines() if line.startswith("to fix ")]
    assert hint.startswith("to fix pinned-images: pin the images by digest")
    assert "uv run --frozen python scripts/pin-images.py --stack STACK" in hint and "docker buildx or crane" in hint
    assert "--apply runs them (it needs the Pulumi CLI)" in hint
