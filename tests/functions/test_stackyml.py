"""stack.yml import: representative files, substitution, warnings, errors, and the check command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faasplane.components import function_templates, stackyml
from faasplane.components.function_args import ResourceSpec, Scale, Timeouts
from faasplane.components.stackyml import StackYmlError, parse, repository_of
from faasplane.functions import FUNCTIONS_DIR
from tests.functions.helpers import objects, platform_ref, render

HERE = Path(__file__).resolve().parent
FILES = HERE / "stackyml"
ROOT = HERE.parent.parent


@pytest.fixture(autouse=True)
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(function_templates, "BUILD_DIR", tmp_path / "build")
    return tmp_path / "build"


def errors_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(StackYmlError) as caught:
        parse(path, env or {}, display=path.name)
    return caught.value.problems


def test_basic_file_maps_onto_function_args():
    stack = parse(FILES / "basic.yml", {})
    assert (stack.version, stack.provider, stack.gateway) == ("1.0", "openfaas", "http://127.0.0.1:8080")
    assert stack.warnings == []
    sum_, hello = stack.functions
    assert sum_.name == "sum"
    assert sum_.image == "ghcr.io/acme/sum:latest"
    args = sum_.args
    assert args.lang == "golang-middleware"
    assert args.handler.resolve() == FUNCTIONS_DIR / "sum"
    assert args.image == "acme/sum"
    assert args.scale == Scale(min=2, max=4, factor=25)
    assert args.labels == {"team": "payments", "tier": "1"}
    assert args.annotations == {"topic": "orders", "com.openfaas.health.http.initialDelay": "5s"}
    assert args.env == {"MAX_ITEMS": "100", "DEBUG": "true"}
    assert args.timeouts == Timeouts(read="10s", write="10s", exec="5s")
    assert args.limits == ResourceSpec(memory="64Mi", cpu="200m")
    assert args.requests == ResourceSpec(memory="16Mi", cpu="0.01")
    assert list(args.secrets) == ["api-key"]
    assert args.node_selector() == {"kubernetes.io/arch": "amd64"}
    assert args.read_only_root_filesystem is True, "faasplane's default, unlike faas-cli's"
    assert hello.args.read_only_root_filesystem is False
    assert hello.args.image == "hello"


def test_legacy_file_warns_about_what_it_ignores():
    stack = parse(FILES / "legacy.yml", {}, display="legacy.yml")
    assert stack.provider == "faas"
    assert stack.version is None
    legacy, figlet = stack.functions
    assert legacy.args.lang == "dockerfile"
    assert legacy.args.image == "acme/legacy"
    assert figlet.args.image_ref == "functions/figlet:0.13.0"
    assert figlet.args.handler is None
    assert figlet.args.fprocess == "figlet"
    assert figlet.args.scale == Scale(max=3)
    assert [w.split(": warning: ")[0] for w in stack.warnings] == [
        "legacy.yml: configuration",
        "legacy.yml: functions.legacy.build_options",
        "legacy.yml: functions.legacy.namespace",
        "legacy.yml: functions.legacy.skip_deploy",
        "legacy.yml: functions.figlet.labels.com.openfaas.scale.speed",
    ]
    assert "unknown key, faas-cli ignores it; ignored" in stack.warnings[3]


def test_substitution_defaults_environment_and_files():
    stack = parse(FILES / "substitution.yml", {"TAG": "1.2.3", "REGION": "eu-west-1", "REGISTRY": ""})
    (echo,) = stack.functions
    assert echo.image == "ghcr.io/acme/echo:1.2.3", "an empty variable takes the :- default"
    assert echo.args.image_ref == "ghcr.io/acme/echo:1.2.3"
    assert echo.args.scale == Scale(max=3)
    assert echo.args.env == {"LOG_LEVEL": "debug", "REGION": "eu-west-1", "SHARED": "yes", "RETRIES": "3"}
    assert stack.gateway == "http://127.0.0.1:8080"
    assert stack.warnings == []

    overridden = parse(FILES / "substitution.yml", {"REGISTRY": "registry.internal:5000/team", "MAX_REPLICAS": "7"})
    assert overridden.functions[0].image == "registry.internal:5000/team/echo:latest"
    assert overridden.functions[0].args.scale == Scale(max=7)
    assert overridden.warnings == [
        f"{FILES / 'substitution.yml'}: functions.echo.environment.REGION: warning: ${{REGION}} is not set: "
        "substituted an empty string"
    ]


def test_every_error_is_reported_with_file_and_key():
    assert errors_of(FILES / "errors.yml") == [
        "errors.yml: functions.inverted.labels.com.openfaas.scale.max: 2 is not valid: expected an integer "
        ">= scale.min (3) and <= 10000",
        "errors.yml: functions.badquantity.limits.memory: 'lots' is not valid: expected a Kubernetes quantity "
        "such as 128Mi or 1Gi",
        "errors.yml: functions.unknownlang.lang: 'node18' is not valid: expected one of dockerfile, "
        "golang-middleware, python3-http",
        f"errors.yml: functions.missinghandler.handler: '{FILES / 'does-not-exist'}' is not valid: expected an "
        "existing directory with the handler",
        "errors.yml: functions.badfactor.labels.com.openfaas.scale.factor: 'ten' is not valid: expected an integer",
        "errors.yml: functions.Bad_Name: 'Bad_Name' is not valid: expected a DNS-1123 label that starts with a "
        "letter (lower-case letters, digits and '-', at most 63 characters): it names the Deployment and the "
        "Service",
        "errors.yml: functions.notamap: 'just a string' is not valid: expected a mapping (lang, handler, image, ...)",
        "errors.yml: functions.badenv.environment.LIST: [1, 2] is not valid: expected a string or a number",
    ]


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("bad-provider.yml", ["bad-provider.yml: version: 2.0 is not valid: expected 1.0",
                              "bad-provider.yml: provider.name: 'swarm' is not valid: expected openfaas (or faas)"]),
        ("duplicate.yml", ["duplicate.yml: not valid YAML: line 6 column 3: duplicate key 'echo'"]),
        ("not-yaml.yml", ["not-yaml.yml: not valid YAML: line 2 column 1: expected ',' or ']', but got "
                          "'<stream end>'"]),
    ],
)
def test_file_level_errors(file, expected):
    assert errors_of(FILES / file) == expected


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stack.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("functions: {}\n", "stack.yml: functions: {} is not valid: expected a mapping of function names to declarations"),
        ("- a\n", "stack.yml: expected a mapping with version, provider and functions"),
        ("functions:\n  a:\n    image: acme/a:1\n",
         "stack.yml: functions.a.lang: missing: expected one of dockerfile, golang-middleware, python3-http, or give "
         "a prebuilt image_ref"),
        ("functions:\n  a:\n    skip_build: true\n",
         "stack.yml: functions.a.image: missing: skip_build needs the image to deploy"),
        ("functions:\n  a:\n    skip_build: maybe\n    image: acme/a:1\n",
         "stack.yml: functions.a.skip_build: 'maybe' is not valid: expected true or false"),
        ("functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    secrets: api-key\n",
         "stack.yml: functions.a.secrets: 'api-key' is not valid: expected a list of strings"),
        ("functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    environment:\n      write_timeout: 1m\n"
         "      exec_timeout: 2m\n",
         "stack.yml: functions.a.environment.exec_timeout: '2m' is not valid: expected at most timeouts.write (1m): "
         "the watchdog stops writing the response at write"),
        ("functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    environment_file: [missing.yml]\n",
         "stack.yml: functions.a.environment_file[0]: 'missing.yml' cannot be read: No such file or directory"),
        ("functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    labels:\n      faas_function: b\n",
         "stack.yml: functions.a.labels.faas_function: is set by the toolkit to the function name"),
        ("functions:\n  a:\n    skip_build: true\n    image: 'Not An Image'\n",
         "stack.yml: functions.a.image: 'Not An Image' is not valid: expected an image reference such as "
         "ghcr.io/org/fn@sha256:<digest>"),
        ("functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    requests: {memory: 1Gi}\n"
         "    limits: {memory: 128Mi}\n",
         "stack.yml: functions.a.requests.memory: '1Gi' is not valid: expected at most limits.memory (128Mi)"),
    ],
)
def test_declaration_errors(tmp_path, text, expected):
    assert errors_of(_write(tmp_path, text))[0] == expected


def test_numbers_and_booleans_as_values(tmp_path):
    path = _write(tmp_path, (
        "functions:\n  a:\n    skip_build: 'true'\n    image: acme/a:1\n"
        "    labels: {com.openfaas.scale.zero: true, com.openfaas.scale.target: 50, version: 1.5, ok: false}\n"
        "    annotations: {retries: 3}\n"
        "    environment: {read_timeout: 30, RATIO: 0.25}\n"
    ))
    (a,) = parse(path, {}).functions
    assert a.args.scale == Scale(zero=True, target=50.0)
    assert a.args.labels == {"version": "1.5", "ok": "false"}
    assert a.args.annotations == {"retries": "3"}
    assert a.args.env == {"RATIO": "0.25"}
    assert a.args.timeouts == Timeouts(read="30s")


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("sum", "sum"),
        ("sum:latest", "sum"),
        ("acme/sum:0.1", "acme/sum"),
        ("ghcr.io/acme/sum:0.1", "acme/sum"),
        ("localhost:5001/sum", "sum"),
        ("localhost/team/sum:1", "team/sum"),
        ("registry.example.com:5000/a/b/sum@sha256:" + "0" * 64, "a/b/sum"),
    ],
)
def test_repository_of(image, repository):
    assert repository_of(image) == repository


def test_declare_deploys_the_file_onto_a_platform():
    rendered, _ = render(lambda: stackyml.declare(FILES / "basic.yml", platform_ref(), env={}))
    deployment = objects(rendered, "Deployment")["sum"]
    assert deployment["spec"]["replicas"] == 2
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["com.openfaas.scale.max"] == "4"
    assert labels["team"] == "payments"
    tags = {image.name: image.inputs["tags"][0] for image in rendered.of_type("docker-build:index:Image")}
    assert tags["sum-image"].startswith("localhost:5001/acme/sum:")
    assert tags["hello-image"].startswith("localhost:5001/hello:")


def test_check_with_edition(capsys, tmp_path):
    path = _write(tmp_path, "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n"
                            "    labels: {com.openfaas.scale.max: 10}\n")
    assert stackyml.main(["check", str(path)]) == 0
    assert capsys.readouterr().out == "a acme/a:1 min=1 max=10\n"
    assert stackyml.main(["check", str(path), "--edition", "ce"]) == 2
    assert capsys.readouterr().err == (
        f"{path}: functions.a.labels.com.openfaas.scale.max: 10 is above the CE edition's limit of 5 replicas: "
        "set faasplane:edition to pro with a licence, or lower scale.max to 5\n"
    )
    assert stackyml.main(["check", str(path), "--edition", "pro"]) == 0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faasplane.components.stackyml", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_command_line_lists_functions_and_exits_0():
    result = _cli("check", "tests/functions/stackyml/basic.yml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "sum ghcr.io/acme/sum:latest min=2 max=4\nhello localhost:5001/hello:0.1 min=1 max=20\n"
    assert result.stderr == ""


def test_command_line_prints_errors_and_exits_2():
    result = _cli("check", "tests/functions/stackyml/bad-provider.yml")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "tests/functions/stackyml/bad-provider.yml: version: 2.0 is not valid: expected 1.0",
        "tests/functions/stackyml/bad-provider.yml: provider.name: 'swarm' is not valid: expected openfaas (or faas)",
    ]


def test_command_line_missing_file_exits_2():
    result = _cli("check", "tests/functions/stackyml/nope.yml")
    assert result.returncode == 2
    assert result.stderr == "tests/functions/stackyml/nope.yml: cannot be read: No such file or directory\n"


def test_check_shows_the_default_max_of_the_edition(capsys):
    assert stackyml.main(["check", str(FILES / "legacy.yml"), "--edition", "ce"]) == 0
    assert capsys.readouterr().out == "legacy acme/legacy:0.1.0 min=1 max=5\nfiglet functions/figlet:0.13.0 min=1 max=3\n"


def test_a_shape_error_does_not_hide_the_functions_other_errors(tmp_path, capsys):
    path = _write(tmp_path, (
        "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    secrets: api-key\n"
        "    limits: {memory: lots}\n"
        "    labels: {com.openfaas.scale.max: 0, com.openfaas.scale.factor: ten, team: 'a b'}\n"
        "    environment: {exec_timeout: soon, LIST: [1]}\n"
        "  b:\n    skip_build: true\n    image: acme/b:1\n    constraints: zone=a\n"
        "    labels: {com.openfaas.scale.min: 0}\n"
    ))
    expected = [
        "functions.a.environment.LIST: [1] is not valid: expected a string or a number",
        "functions.a.labels.com.openfaas.scale.factor: 'ten' is not valid: expected an integer",
        "functions.a.secrets: 'api-key' is not valid: expected a list of strings",
        "functions.a.labels.team: 'a b' is not valid: expected a label value: at most 63 letters, digits, '-', '_' "
        "or '.', starting and ending with a letter or digit",
        "functions.a.limits.memory: 'lots' is not valid: expected a Kubernetes quantity such as 128Mi or 1Gi",
        "functions.a.labels.com.openfaas.scale.max: 0 is not valid: expected an integer >= scale.min (1) and <= 10000",
        "functions.a.environment.exec_timeout: 'soon' is not valid: expected a duration such as 30s, 1m5s or 500ms",
        "functions.b.constraints: 'zone=a' is not valid: expected a list of strings",
        "functions.b.labels.com.openfaas.scale.min: 0 is not valid: expected an integer 1..10000",
    ]
    assert errors_of(path) == [f"stack.yml: {line}" for line in expected]
    assert stackyml.main(["check", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"{path}: {line}" for line in expected]


def test_list_items_keep_their_index_in_the_file_when_another_item_is_not_a_string(tmp_path):
    path = _write(tmp_path, "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n"
                            "    secrets: [api-key, 5, API_KEY, api-key]\n")
    assert errors_of(path) == [
        "stack.yml: functions.a.secrets[1]: 5 is not valid: expected a string",
        "stack.yml: functions.a.secrets[2]: 'API_KEY' is not valid: expected a Secret name (DNS-1123 subdomain)",
        "stack.yml: functions.a.secrets[3]: 'api-key' is not valid: expected each Secret once",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Whether the image is built is unknown: no guess about lang and handler.
        ("functions:\n  a:\n    skip_build: maybe\n    image: acme/a:1\n    limits: {memory: lots}\n",
         ["functions.a.skip_build: 'maybe' is not valid: expected true or false",
          "functions.a.limits.memory: 'lots' is not valid: expected a Kubernetes quantity such as 128Mi or 1Gi"]),
        ("functions:\n  a:\n    skip_build: true\n    secrets: api-key\n",
         ["functions.a.image: missing: skip_build needs the image to deploy",
          "functions.a.secrets: 'api-key' is not valid: expected a list of strings"]),
        ("functions:\n  a:\n    skip_build: true\n    image: [acme/a]\n",
         ["functions.a.image: ['acme/a'] is not valid: expected a string"]),
        # A key in error is reported once, not again as missing.
        ("functions:\n  a:\n    lang: 5\n    handler: .\n    image: acme/a:1\n    requests: {cpu: -1}\n",
         ["functions.a.lang: 5 is not valid: expected a string",
          "functions.a.requests.cpu: '-1' is not valid: expected a Kubernetes quantity such as 100m or 0.5"]),
    ],
)
def test_errors_after_a_shape_error(tmp_path, text, expected):
    assert errors_of(_write(tmp_path, text)) == [f"stack.yml: {line}" for line in expected]


def test_timeouts_in_go_durations(tmp_path):
    path = _write(tmp_path, "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n"
                            "    environment: {exec_timeout: 1.5s, write_timeout: 1m30s}\n")
    (a,) = parse(path, {}).functions
    assert a.args.timeouts == Timeouts(write="1m30s", exec="1.5s")
    assert a.args.timeouts.env() == {"read_timeout": "1500ms", "write_timeout": "90s", "exec_timeout": "1500ms"}


def test_null_shows_as_yaml_writes_it(tmp_path):
    path = _write(tmp_path, "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    environment: {X: null}\n")
    assert errors_of(path) == ["stack.yml: functions.a.environment.X: null is not valid: expected a string or a number"]


def test_zero_duration_below_the_floor(tmp_path):
    path = _write(tmp_path, "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n"
                            "    labels: {com.openfaas.scale.zero: true, com.openfaas.scale.zero-duration: 10s}\n")
    assert errors_of(path) == [
        "stack.yml: functions.a.labels.com.openfaas.scale.zero-duration: '10s' is not valid: expected at least 1m: "
        "over a shorter window the idler sees too few Prometheus scrapes to tell that the function is idle (the "
        "scaler would use 1m)"
    ]
