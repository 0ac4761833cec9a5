"""stack.yml import: representative files, substitution, warnings, errors, and the check command line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from faasplane.components import names
from faasplane.components.function import default_max_replicas, scaffold, stackyml
from faasplane.components.function import templating as function_templates
from faasplane.components.function.args import FunctionArgs, ResourceSpec, Scale, Timeouts
from faasplane.components.function.stackyml import StackYmlError, parse, repository_of
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


def _write_function(tmp_path: Path, **declaration: object) -> Path:
    """A stack.yml with the one function `a` declared as given (dumped: the YAML spelling is not the point)."""
    return _write(tmp_path, yaml.safe_dump({"functions": {"a": declaration}}, sort_keys=False))


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


CE_MAX = names.CE_MAX_REPLICAS
PRO_MAX = default_max_replicas(names.EDITION_PRO)
"""The scale.max a function without one gets, by edition."""
CE_LINE = (f"edition: ce (OpenFaaS CE limits checked: at most {names.CE_MAX_FUNCTIONS} functions and {CE_MAX} "
           "replicas; --edition pro to lift them)\n")
PRO_LINE = "edition: pro (no CE limits checked)\n"


def test_check_assumes_ce_and_says_so(capsys, tmp_path):
    path = _write(tmp_path, "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n"
                            "    labels: {com.openfaas.scale.max: 10}\n")
    ce_error = (f"{path}: functions.a.labels.com.openfaas.scale.max: 10 is above the CE edition's limit of {CE_MAX} "
                f"replicas: set faasplane:edition to pro with a licence, or lower scale.max to {CE_MAX}\n")
    for edition in ([], ["--edition", "ce"]):
        assert stackyml.main(["check", str(path), *edition]) == 2, "faasplane's default edition is ce"
        assert capsys.readouterr() == (CE_LINE, ce_error)
    assert stackyml.main(["check", str(path), "--edition", "pro"]) == 0
    assert capsys.readouterr() == (PRO_LINE + "a acme/a:1 min=1 max=10\n", "")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faasplane.components.function.stackyml", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_command_line_lists_functions_and_exits_0():
    result = _cli("check", "tests/functions/stackyml/basic.yml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == CE_LINE + f"sum ghcr.io/acme/sum:latest min=2 max=4\nhello localhost:5001/hello:0.1 min=1 max={CE_MAX}\n"
    assert result.stderr == ""
    result = _cli("check", "tests/functions/stackyml/basic.yml", "--edition", "pro")
    assert result.stdout == PRO_LINE + f"sum ghcr.io/acme/sum:latest min=2 max=4\nhello localhost:5001/hello:0.1 min=1 max={PRO_MAX}\n"


def test_command_line_prints_errors_and_exits_2():
    result = _cli("check", "tests/functions/stackyml/bad-provider.yml")
    assert result.returncode == 2
    assert result.stdout == CE_LINE
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
    assert capsys.readouterr().out == CE_LINE + (
        f"legacy acme/legacy:0.1.0 min=1 max={CE_MAX}\nfiglet functions/figlet:0.13.0 min=1 max=3\n"
    )


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


# --- what faas-cli takes ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["dockerfile", "Dockerfile", "DOCKERFILE", "DockerFile"])
def test_dockerfile_in_any_case(tmp_path, lang):
    """faas-cli turns `Dockerfile` into `dockerfile` and compares it case-insensitively."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "Dockerfile").write_text("FROM scratch\n")
    (a,) = parse(_write_function(tmp_path, lang=lang, handler="./fn", image="acme/a:1"), {}).functions
    assert a.args.lang == "dockerfile"


def test_other_languages_keep_their_case(tmp_path):
    """faas-cli maps no other language: a template directory is found by its exact name."""
    (tmp_path / "fn").mkdir()
    path = _write(tmp_path, "functions:\n  a:\n    lang: Python3-HTTP\n    handler: ./fn\n    image: acme/a:1\n")
    assert errors_of(path) == [
        "stack.yml: functions.a.lang: 'Python3-HTTP' is not valid: expected one of dockerfile, golang-middleware, "
        "python3-http"
    ]


def test_a_template_pinned_at_a_ref_builds_with_faasplanes_own(tmp_path):
    shutil.copytree(FUNCTIONS_DIR / "sum", tmp_path / "sum")
    path = _write(tmp_path, "functions:\n  a:\n    lang: golang-middleware@0.9.0\n    handler: ./sum\n"
                            "    image: acme/a:1\n  b:\n    lang: node18@1.0\n    handler: ./sum\n    image: acme/b:1\n")
    with pytest.raises(StackYmlError) as caught:
        parse(path, {}, display="stack.yml")
    assert caught.value.problems == [
        "stack.yml: functions.b.lang: 'node18@1.0' is not valid: expected one of dockerfile, golang-middleware, "
        "python3-http"
    ]
    assert caught.value.warnings == [
        "stack.yml: functions.a.lang: warning: 'golang-middleware@0.9.0' pins the golang-middleware template at "
        "'0.9.0' (faas-cli pulls that ref): faasplane builds with its own golang-middleware template "
        "(components/function/templates/golang-middleware); the ref is ignored"
    ]


def test_exec_timeout_above_write_timeout_is_a_warning(tmp_path, capsys):
    """The watchdog accepts it and faas-cli deploys it; the response is cut at write_timeout, so that is the
    exec_timeout imported (FunctionArgs refuses exec above write)."""
    path = _write(tmp_path, "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    environment:\n"
                            "      read_timeout: 10\n      write_timeout: 120\n      exec_timeout: 140\n")
    stack = parse(path, {}, display="stack.yml")
    assert stack.functions[0].args.timeouts == Timeouts(read="10s", write="120s", exec="120s")
    warning = (
        "functions.a.environment.exec_timeout: warning: '140s' is above write_timeout (120s): the classic watchdog "
        "accepts it, but the response is cut at write_timeout, so a call still running at 120s returns no response; "
        "imported as exec_timeout 120s (raise write_timeout to 140s to let calls run that long)"
    )
    assert stack.warnings == [f"stack.yml: {warning}"]
    assert stackyml.main(["check", str(path)]) == 0
    assert capsys.readouterr() == (CE_LINE + f"a acme/a:1 min=1 max={CE_MAX}\n", f"{path}: {warning}\n")


def test_warnings_are_shown_with_errors(tmp_path, capsys):
    path = _write(tmp_path, "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    lables: {team: x}\n"
                            "    limits: {memory: lots}\n")
    error = (f"{path}: functions.a.limits.memory: 'lots' is not valid: expected a Kubernetes quantity such as 128Mi "
             "or 1Gi")
    warning = f"{path}: functions.a.lables: warning: unknown key, faas-cli ignores it; ignored: did you mean 'labels'?"
    assert stackyml.main(["check", str(path)]) == 2
    assert capsys.readouterr() == (CE_LINE, f"{error}\n{warning}\n"), "errors first, then the warnings"
    with pytest.raises(StackYmlError) as caught:
        parse(path, {})
    assert (caught.value.problems, caught.value.warnings) == ([error], [warning])


def test_the_edition_problems_come_before_the_warnings(tmp_path, capsys):
    path = _write(tmp_path, "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n    handlr: ./a\n"
                            "    labels: {com.openfaas.scale.zero: true}\n")
    assert stackyml.main(["check", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1] for line in err] == ["functions.a.labels.com.openfaas.scale.zero", "functions.a.handlr"]
    assert err[1].endswith("warning: unknown key, faas-cli ignores it; ignored: did you mean 'handler'?")


UNKNOWN = "unknown key, faas-cli ignores it; ignored"


@pytest.mark.parametrize(
    ("where", "extra", "expected"),
    [
        ("functions.a.lables", {"lables": {"team": "x"}}, f"{UNKNOWN}: did you mean 'labels'?"),
        ("functions.a.handlr", {"handlr": "./a"}, f"{UNKNOWN}: did you mean 'handler'?"),
        ("functions.a.enviroment", {"enviroment": {"A": "b"}}, f"{UNKNOWN}: did you mean 'environment'?"),
        ("functions.a.Secrets", {"Secrets": ["s"]}, f"{UNKNOWN}: did you mean 'secrets'?"),
        ("functions.a.build-args", {"build-args": {"A": "b"}}, f"{UNKNOWN}: did you mean 'build_args'?"),
        ("functions.a.limits.mem", {"limits": {"mem": "1Gi"}},
         "faas-cli reads only memory and cpu; ignored: did you mean 'memory'?"),
        ("functions.a.write_timeout", {"write_timeout": "30s"},
         "faas-cli ignores it here; ignored: a watchdog timeout belongs under functions.a.environment"),
        ("functions.a.imagePullPolicy", {"imagePullPolicy": "Always"}, UNKNOWN),
    ],
)
def test_a_misspelt_key_gets_the_closest_known_one(tmp_path, where, extra, expected):
    stack = parse(_write_function(tmp_path, skip_build=True, image="acme/a:1", **extra), {}, display="stack.yml")
    assert stack.warnings == [f"stack.yml: {where}: warning: {expected}"]


def test_misspelt_top_level_and_provider_keys(tmp_path):
    path = _write(tmp_path, "provider:\n  name: openfaas\n  gatway: http://127.0.0.1:8080\nfuntions: {}\n"
                            "functions:\n  a:\n    skip_build: true\n    image: acme/a:1\n")
    assert parse(path, {}, display="stack.yml").warnings == [
        "stack.yml: funtions: warning: unknown key, faas-cli ignores it; ignored: did you mean 'functions'?",
        "stack.yml: provider.gatway: warning: unknown key, faas-cli ignores it; ignored: did you mean 'gateway'?",
    ]


def test_values_are_taken_as_faas_cli_reads_them(tmp_path):
    """YAML 1.2, as faas-cli's gopkg.in/yaml.v3: `on` is a string, numbers keep their text; boolean keys still
    take the YAML 1.1 words (yaml.v3 decodes them into a typed bool)."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "Dockerfile").write_text("FROM scratch\n")
    path = _write(tmp_path, (
        "functions:\n  a:\n    lang: dockerfile\n    handler: ./fn\n    image: acme/a:1\n"
        "    readonly_root_filesystem: no\n"
        "    build_args: {GO111MODULE: on, CGO_ENABLED: 0}\n"
        "    labels: {version: 1.10, release: 010, com.openfaas.scale.max: 010}\n"
        "    environment: {FEATURE: off, ENABLED: yes, RATIO: 1e3, DEBUG: True}\n"
        "    requests: {cpu: 0.10}\n"
    ))
    (a,) = parse(path, {}).functions
    assert a.args.build_args == {"GO111MODULE": "on", "CGO_ENABLED": "0"}
    assert a.args.labels == {"version": "1.10", "release": "010"}
    assert a.args.scale == Scale(max=10)
    assert a.args.env == {"FEATURE": "off", "ENABLED": "yes", "RATIO": "1e3", "DEBUG": "true"}
    assert a.args.requests == ResourceSpec(cpu="0.10")
    assert a.args.read_only_root_filesystem is False


# --- a corpus of real stack.yml files ---------------------------------------------------------------

CORPUS = FILES / "corpus"
"""Real faas-cli stack files from public repositories, each verbatim below a first line naming its source."""

_NO_TEMPLATE = "a lang faasplane has no template for (it builds python3-http, golang-middleware and dockerfile)"
CORPUS_FAILURES: dict[str, tuple[str, list[str]]] = {
    # file: (why it does not import, the keys its errors name; "" for the file itself)
    "AAbiAbi__ServerlessInfrastructure__stack.yml": (
        f"python3: {_NO_TEMPLATE}", ["functions.slack-interactive.lang", "functions.slack-request.lang"]),
    "Qolzam__openfaas-email__stack.yml": (f"node12: {_NO_TEMPLATE}", ["functions.email-fn.lang"]),
    "S1naHeidari__openfaas-benchmarks__cpu_memory__model-training.yml": (
        f"python3-flask-debian: {_NO_TEMPLATE}", ["functions.model-training.lang"]),
    "UST-MICO__OpenFaasFunctions__DummyFunction__stack.yml": (f"java8: {_NO_TEMPLATE}", ["functions.dummy.lang"]),
    "ajaxe__openfaas-functions__all.yml": (
        "the function unfluff is declared twice (faas-cli's yaml.v3 refuses a duplicate key too)", [""]),
    "austinrivas__openfaas-hasura-backend__services__auth__auth.yml": (
        f"deno-http, pulled by configuration.templates: {_NO_TEMPLATE}", ["functions.auth-login.lang"]),
    "fpommerening__OpenFaaS-Dotnet__samples__Alexa__Alexa.yml": (
        f"the name Alexa is not a DNS-1123 label (Kubernetes refuses it); csharp: {_NO_TEMPLATE}",
        ["functions.Alexa", "functions.Alexa.lang"]),
    "halay08__hasura-openfaas__functions__request-otp.ci.yml": (
        f"node-typescript: {_NO_TEMPLATE}", ["functions.request-otp.lang"]),
    "jpauwels__faas-audio-analysis__stack.yml": (
        f"python3-binary: {_NO_TEMPLATE} (its five dockerfile functions import)",
        ["functions.ac-analysis.lang", "functions.ac-search.lang"]),
    "leoho0722__mnist-openfaas-example__mnist-pipeline.yml": (
        f"python3-flask-debian: {_NO_TEMPLATE}",
        [f"functions.mnist-{name}.lang" for name in ("preprocess", "training-model", "model-evaluate", "faas-trigger")]),
    "marcopyre__mspr2-openfaas__openfaas__generate_totp.yml": (
        f"python3-flask: {_NO_TEMPLATE}", ["functions.generate-totp.lang"]),
    "metaspan__openfaas-functions__w3f__w3f-1kv-candidates.yml": (
        f"node12: {_NO_TEMPLATE}",
        ["functions.w3f-1kv-candidates-kusama.lang", "functions.w3f-1kv-candidates-polkadot.lang"]),
    "openfaas__faas-cli__sample__hmac.yml": (f"go: {_NO_TEMPLATE}", ["functions.github-hmac.lang"]),
    "openfaas__faas-cli__stack.yml": (
        f"python, node and ruby: {_NO_TEMPLATE} (its skip_build and dockerfile functions import)",
        ["functions.url-ping.lang", "functions.nodejs-echo.lang", "functions.ruby-echo.lang"]),
    "openfaas__faas-cli__testing__stack.yml": (
        f"golang-middleware-inproc: {_NO_TEMPLATE}", ["functions.inproc-fn.lang"]),
    "openfaas__faas__sample-functions__Memes9Gag__stack.yml": (
        "committed with git merge-conflict markers: not YAML (faas-cli cannot read it either)", [""]),
    "openfaas__faas__sample-functions__stack.yml": (
        f"go: {_NO_TEMPLATE} (its 16 dockerfile functions import)",
        ["functions.apikey-secret.lang", "functions.haveibeenpwned.lang", "functions.business-strategy-generator.lang"]),
    "openfaas__openfaas-cloud__dashboard__stack.yml": (f"node12: {_NO_TEMPLATE}", ["functions.system-dashboard.lang"]),
    "openfaas__openfaas-cloud__stack.yml": (
        f"go: {_NO_TEMPLATE} (its dockerfile function git-tar imports)",
        [f"functions.{name}.lang" for name in (
            "system-github-event", "github-push", "buildshiprun", "garbage-collect", "github-status", "import-secrets",
            "pipeline-log", "list-functions", "audit-event", "metrics", "function-logs", "echo")]),
    "openfaas__workshop__issue-bot-secrets__stack.yml": (
        f"the image is the placeholder <your-username>/issue-bot; python: {_NO_TEMPLATE}",
        ["functions.issue-bot.image", "functions.issue-bot.lang"]),
    "openfaas__workshop__issue-bot__stack.yml": (
        f"python: {_NO_TEMPLATE}; the secret alexellis_github_auth_token has '_', which Docker Swarm allowed and a "
        "Kubernetes Secret name does not", ["functions.issue-bot.lang", "functions.issue-bot.secrets[0]"]),
    "rajiniw95__springboot-openfaas-coursemgmt__serverlessFuncs-localRegistry__saveCourse__savecourse.yml": (
        f"java11: {_NO_TEMPLATE}", ["functions.savecourse.lang"]),
    "welteki__openfaas-function-patterns__python__singleton__stack.yml": (
        f"python3-flask: {_NO_TEMPLATE}", ["functions.notification-hub.lang"]),
}
CORPUS_CE_FAILURES: dict[str, tuple[str, list[str]]] = {
    # file: (why it imports but `check` fails on CE, faasplane's default edition; the keys)
    "openfaas__faas__sample-functions__samples.yml": (
        f"16 functions: CE allows {names.CE_MAX_FUNCTIONS}", ["functions.wordcountfunction"]),
}
_FILE_LEVEL = re.compile(r"^(not valid YAML: line \d+ column \d+: |cannot be read: |expected a mapping )")


def _corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.yml"))


def _lang_template(lang: object) -> str | None:
    """faasplane's template for a corpus function's lang, as the importer maps it (None: no template)."""
    name = str(lang or "").partition("@")[0]
    name = "dockerfile" if name.lower() == "dockerfile" else name
    return name if name in function_templates.available_templates() else None


def _materialise(source: Path, directory: Path) -> Path:
    """A copy of a corpus file in `directory`, with what it refers to outside itself stood in for (the corpus
    holds the stack files only): each built function's handler scaffolded from faasplane's template of its lang
    (an empty directory when faasplane has no such template), each environment_file as an empty environment."""
    target = directory / source.name
    shutil.copy(source, target)
    try:
        document = yaml.safe_load(source.read_text())
    except yaml.YAMLError:
        return target
    functions = document.get("functions") if isinstance(document, dict) else None
    for index, function in enumerate((functions or {}).values()):
        if not isinstance(function, dict):
            continue
        for name in function.get("environment_file") or []:
            if not (directory / name).exists():
                (directory / name).parent.mkdir(parents=True, exist_ok=True)
                (directory / name).write_text("environment: {}\n")
        handler = function.get("handler")
        if function.get("skip_build") or not isinstance(handler, str) or "${" in handler:
            continue
        (directory / handler).mkdir(parents=True, exist_ok=True)
        template = _lang_template(function.get("lang"))
        if template is not None:
            scaffold.scaffold("fn", template, directory / ".scaffold" / str(index))
            shutil.copytree(directory / ".scaffold" / str(index) / "fn", directory / handler, dirs_exist_ok=True)
    return target


def _error_key(line: str, display: str, function_names: list[str]) -> str:
    """The key an error line names, checked to be `FILE: functions.NAME[.KEY...]: message` for a function of the
    file, a top-level key, or `FILE: message` for the file itself (a YAML error with its line and column)."""
    assert line.startswith(f"{display}: "), line
    rest = line[len(display) + 2:]
    if _FILE_LEVEL.match(rest):
        return ""
    key, separator, message = rest.partition(": ")
    assert separator and message, line
    if key.startswith("functions."):
        name = next((n for n in sorted(function_names, key=len, reverse=True)
                     if key == f"functions.{n}" or key.startswith((f"functions.{n}.", f"functions.{n}["))), None)
        assert name is not None, f"{line}: names no function of the file"
    else:
        assert key.split(".")[0] in ("version", "provider", "functions"), line
    return key


def test_the_corpus_is_real_and_varied():
    files = _corpus_files()
    assert len(files) >= 20
    sources = [path.read_text().splitlines()[0] for path in files]
    assert all(re.match(r"^# Source: https://github\.com/[^/]+/[^/]+/blob/[0-9a-f]{40}/\S+ ", s) for s in sources)
    assert set(CORPUS_FAILURES) | set(CORPUS_CE_FAILURES) <= {path.name for path in files}
    text = "\n".join(path.read_text() for path in files)
    for feature in ("lang: python3-http", "lang: golang-middleware", "lang: dockerfile", "lang: Dockerfile",
                    "lang: java", "lang: node", "lang: go\n", "${", "environment_file:", "secrets:",
                    "com.openfaas.scale.", "limits:", "requests:", "build_args:", "configuration:", "skip_build: true",
                    "annotations:", "exec_timeout:"):
        assert feature in text, feature


@pytest.mark.parametrize("source", _corpus_files(), ids=lambda path: path.name)
def test_a_real_stack_file_imports_or_names_the_file_function_and_key(source, tmp_path, capsys, monkeypatch):
    path = _materialise(source, tmp_path)
    try:
        document = yaml.safe_load(source.read_text())
    except yaml.YAMLError:
        document = {}
    function_names = [str(name) for name in (document.get("functions") or {})]
    for variable in set(re.findall(r"\$\{(\w+)", source.read_text())):
        monkeypatch.delenv(variable, raising=False)

    try:
        stack = parse(path, {}, display=source.name)
    except StackYmlError as exc:
        failed = [_error_key(line, source.name, function_names) for line in exc.problems]
        assert source.name in CORPUS_FAILURES, f"does not import: {exc.problems}"
        assert failed == CORPUS_FAILURES[source.name][1]
    else:
        assert source.name not in CORPUS_FAILURES, f"{source.name} imports now: {CORPUS_FAILURES.get(source.name)}"
        assert [d.name for d in stack.functions] == function_names
        for declaration in stack.functions:
            assert isinstance(declaration.args, FunctionArgs)
            assert declaration.args.problems(declaration.name) == []
            assert declaration.args.lang in function_templates.available_templates() or declaration.args.image_ref

    code = stackyml.main(["check", str(path)])
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == CE_LINE.strip()
    errors = [line for line in err.splitlines() if ": warning: " not in line]
    keys = [_error_key(line, str(path), function_names) for line in errors]
    expected = CORPUS_FAILURES.get(source.name) or CORPUS_CE_FAILURES.get(source.name)
    assert code == (2 if expected else 0)
    assert keys == (expected[1] if expected else [])
    if not expected:
        assert len(out.splitlines()) == 1 + len(function_names)
