"""Invalid declarations fail when the Function is constructed, with messages naming function, field, value."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasplane.components.errors import UserError
from faasplane.components.function import Function
from faasplane.components.function import templating as function_templates
from faasplane.components.function.args import FunctionArgs, ResourceSpec, Scale, Timeouts
from faasplane.components.function.errors import FunctionError
from faasplane.functions import FUNCTIONS_DIR
from tests.functions.helpers import objects, platform_ref, render

REF = "ghcr.io/acme/fn:1.0"
HELLO = FUNCTIONS_DIR / "hello"


@pytest.fixture(autouse=True)
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(function_templates, "BUILD_DIR", tmp_path / "build")
    return tmp_path / "build"


def error(name: str, args: FunctionArgs, edition: str = "ce") -> str:
    with pytest.raises(FunctionError) as caught:
        render(lambda: Function(name, args, platform_ref(edition=edition)))
    assert isinstance(caught.value, UserError)
    assert caught.value.function == name
    return str(caught.value)


CASES = [
    # (function name, args, the whole message)
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(max=0)),
     "function 'sum': scale.max: 0 is not valid: expected an integer >= scale.min (1) and <= 10000"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(min=3, max=2)),
     "function 'sum': scale.max: 2 is not valid: expected an integer >= scale.min (3) and <= 10000"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(min=21)),
     "function 'sum': scale.max: unset, so the scaler's default (20) applies, below scale.min (21): set scale.max\n"
     "function 'sum': scale.min: 21 is above the CE edition's limit of 5 replicas: set faasplane:edition to pro with "
     "a licence, or lower scale.min to 5"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(min=0)),
     "function 'sum': scale.min: 0 is not valid: expected an integer 1..10000"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(min=True)),
     "function 'sum': scale.min: True is not valid: expected an integer 1..10000"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(factor=0)),
     "function 'sum': scale.factor: 0 is not valid: expected an integer 1..100 (percent of max added per step)"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(factor=101)),
     "function 'sum': scale.factor: 101 is not valid: expected an integer 1..100 (percent of max added per step)"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(target=0)),
     "function 'sum': scale.target: 0 is not valid: expected a number > 0 and <= 1000000000 (load per replica)"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(target_proportion=1.5)),
     "function 'sum': scale.target_proportion: 1.5 is not valid: expected a number in (0, 1]"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(target_proportion=0)),
     "function 'sum': scale.target_proportion: 0 is not valid: expected a number in (0, 1]"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(zero_duration="15 minutes")),
     "function 'sum': scale.zero_duration: '15 minutes' is not valid: expected a duration such as 30s, 15m or 1h30m"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(zero_duration="30s")),
     "function 'sum': scale.zero_duration: '30s' is not valid: expected at least 1m: over a shorter window the idler "
     "sees too few Prometheus scrapes to tell that the function is idle (the scaler would use 1m)"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(zero_duration="59.5s")),
     "function 'sum': scale.zero_duration: '59.5s' is not valid: expected at least 1m: over a shorter window the "
     "idler sees too few Prometheus scrapes to tell that the function is idle (the scaler would use 1m)"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(down_window="soon")),
     "function 'sum': scale.down_window: 'soon' is not valid: expected a duration such as 30s, 15m or 1h30m"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(type="cpu")),
     "function 'sum': scale.type: 'cpu' is not valid: expected one of rps, capacity"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(zero="yes")),  # type: ignore[arg-type]
     "function 'sum': scale.zero: 'yes' is not valid: expected true or false"),
    ("sum", FunctionArgs(image_ref=REF, timeouts=Timeouts(read="10")),
     "function 'sum': timeouts.read: '10' is not valid: expected a duration such as 30s, 1m5s or 500ms"),
    ("sum", FunctionArgs(image_ref=REF, timeouts=Timeouts(write="1m", exec="2m")),
     "function 'sum': timeouts.exec: '2m' is not valid: expected at most timeouts.write (1m): "
     "the watchdog stops writing the response at write"),
    ("sum", FunctionArgs(image_ref=REF, requests=ResourceSpec(memory="lots")),
     "function 'sum': requests.memory: 'lots' is not valid: expected a Kubernetes quantity such as 128Mi or 1Gi"),
    ("sum", FunctionArgs(image_ref=REF, limits=ResourceSpec(cpu="-1")),
     "function 'sum': limits.cpu: '-1' is not valid: expected a Kubernetes quantity such as 100m or 0.5"),
    ("sum", FunctionArgs(image_ref=REF, limits=ResourceSpec(cpu="0")),
     "function 'sum': limits.cpu: '0' is not valid: expected a quantity above 0"),
    ("sum", FunctionArgs(image_ref=REF, requests=ResourceSpec(memory="256Mi"), limits=ResourceSpec(memory="128Mi")),
     "function 'sum': requests.memory: '256Mi' is not valid: expected at most limits.memory (128Mi)"),
    ("Sum", FunctionArgs(image_ref=REF),
     "function 'Sum': name: 'Sum' is not valid: expected a DNS-1123 label that starts with a letter (lower-case "
     "letters, digits and '-', at most 63 characters): it names the Deployment and the Service"),
    ("sum", FunctionArgs(image_ref="not a reference"),
     "function 'sum': image_ref: 'not a reference' is not valid: expected an image reference such as "
     "ghcr.io/org/fn@sha256:<digest>"),
    ("sum", FunctionArgs(image_ref=REF, handler=HELLO),
     "function 'sum': handler: cannot be combined with image_ref (a prebuilt image): drop handler to deploy "
     "image_ref, or drop image_ref to build"),
    ("sum", FunctionArgs(handler=HELLO),
     "function 'sum': lang: missing: expected one of dockerfile, golang-middleware, python3-http, "
     "or give a prebuilt image_ref"),
    ("sum", FunctionArgs(handler=HELLO, lang="node18"),
     "function 'sum': lang: 'node18' is not valid: expected one of dockerfile, golang-middleware, python3-http"),
    ("sum", FunctionArgs(lang="python3-http"),
     "function 'sum': handler: missing: expected the directory with the function's handler"),
    ("sum", FunctionArgs(handler=HELLO, lang="python3-http", image="Sum:latest"),
     "function 'sum': image: 'Sum:latest' is not valid: expected a repository name such as 'sum' or 'team/sum' "
     "(no registry, no tag)"),
    ("sum", FunctionArgs(image_ref=REF, env={"fprocess": "cat"}),
     "function 'sum': env.fprocess: is set by the toolkit: use fprocess instead"),
    ("sum", FunctionArgs(image_ref=REF, env={"write_timeout": "1m"}),
     "function 'sum': env.write_timeout: is set by the toolkit: use timeouts.write instead"),
    ("sum", FunctionArgs(image_ref=REF, env={"1X": "a"}),
     "function 'sum': env.1X: '1X' is not valid: expected an environment variable name (letters, digits, '_', "
     "'-', '.')"),
    ("sum", FunctionArgs(image_ref=REF, env={"X": None}),  # type: ignore[dict-item]
     "function 'sum': env.X: None is not valid: expected a string, number or boolean"),
    ("sum", FunctionArgs(image_ref=REF, labels={"faas_function": "other"}),
     "function 'sum': labels.faas_function: is set by the toolkit to the function name"),
    ("sum", FunctionArgs(image_ref=REF, labels={"com.openfaas.scale.max": "3"}),
     "function 'sum': labels.com.openfaas.scale.max: is a scaling label: use scale.max instead"),
    ("sum", FunctionArgs(image_ref=REF, labels={"team": "a b"}),
     "function 'sum': labels.team: 'a b' is not valid: expected a label value: at most 63 letters, digits, "
     "'-', '_' or '.', starting and ending with a letter or digit"),
    ("sum", FunctionArgs(image_ref=REF, secrets=["API_KEY"]),
     "function 'sum': secrets[0]: 'API_KEY' is not valid: expected a Secret name (DNS-1123 subdomain)"),
    ("sum", FunctionArgs(image_ref=REF, secrets=["a", "a"]),
     "function 'sum': secrets[1]: 'a' is not valid: expected each Secret once"),
    ("sum", FunctionArgs(image_ref=REF, constraints=["zone"]),
     "function 'sum': constraints[0]: 'zone' is not valid: expected a node label constraint key=value"),
    ("sum", FunctionArgs(image_ref=REF, build_args={"bad-name": "1"}),
     "function 'sum': build_args: cannot be combined with image_ref (a prebuilt image): drop build_args to "
     "deploy image_ref, or drop image_ref to build"),
    ("hello", FunctionArgs(handler=HELLO, lang="python3-http", build_args={"bad-name": "1"}),
     "function 'hello': build_args.bad-name: 'bad-name' is not valid: expected a build argument name "
     "(letters, digits, '_')"),
    # Go durations, as the watchdog reads them: a unit on every number (a bare 1.5 is no Go duration).
    ("sum", FunctionArgs(image_ref=REF, timeouts=Timeouts(exec="1.5")),
     "function 'sum': timeouts.exec: '1.5' is not valid: expected a duration such as 30s, 1m5s or 500ms"),
    ("sum", FunctionArgs(image_ref=REF, timeouts=Timeouts(exec="1H")),
     "function 'sum': timeouts.exec: '1H' is not valid: expected a duration such as 30s, 1m5s or 500ms"),
    ("sum", FunctionArgs(image_ref=REF, timeouts=Timeouts(write="1.5s", exec="1.6s")),
     "function 'sum': timeouts.exec: '1.6s' is not valid: expected at most timeouts.write (1.5s): "
     "the watchdog stops writing the response at write"),
    # Fields of the wrong type are reported, not raised as a bare TypeError.
    ("sum", FunctionArgs(image_ref=REF, env=None),  # type: ignore[arg-type]
     "function 'sum': env: None is not valid: expected a mapping of names to values"),
    ("sum", FunctionArgs(image_ref=REF, env=["A=1"]),  # type: ignore[arg-type]
     "function 'sum': env: ['A=1'] is not valid: expected a mapping of names to values"),
    ("sum", FunctionArgs(image_ref=REF, secrets=None),  # type: ignore[arg-type]
     "function 'sum': secrets: None is not valid: expected a list of Secret names, or a mapping of names to Pulumi secrets"),
    ("sum", FunctionArgs(image_ref=REF, secrets=3),  # type: ignore[arg-type]
     "function 'sum': secrets: 3 is not valid: expected a list of Secret names, or a mapping of names to Pulumi secrets"),
    ("sum", FunctionArgs(image_ref=REF, constraints=None),  # type: ignore[arg-type]
     "function 'sum': constraints: None is not valid: expected a mapping or a list of key=value strings"),
    ("hello", FunctionArgs(handler=HELLO, lang="python3-http", build_args=None),  # type: ignore[arg-type]
     "function 'hello': build_args: None is not valid: expected a mapping of names to values"),
    ("hello", FunctionArgs(handler=HELLO, lang="python3-http", build_args=["A=1"]),  # type: ignore[arg-type]
     "function 'hello': build_args: ['A=1'] is not valid: expected a mapping of names to values"),
    ("hello", FunctionArgs(handler=3, lang="python3-http"),  # type: ignore[arg-type]
     "function 'hello': handler: 3 is not valid: expected the path of the directory with the function's handler"),
    ("sum", FunctionArgs(image_ref=REF, labels=None),  # type: ignore[arg-type]
     "function 'sum': labels: None is not valid: expected a mapping of label keys to values"),
    ("sum", FunctionArgs(image_ref=REF, scale=None),  # type: ignore[arg-type]
     "function 'sum': scale: None is not valid: expected a Scale(...)"),
    ("sum", FunctionArgs(image_ref=REF, timeouts={"exec": "2m"}),  # type: ignore[arg-type]
     "function 'sum': timeouts: {'exec': '2m'} is not valid: expected a Timeouts(...)"),
    # The edition's limits (CE).
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(max=10)),
     "function 'sum': scale.max: 10 is above the CE edition's limit of 5 replicas: set faasplane:edition to pro "
     "with a licence, or lower scale.max to 5"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(zero=True)),
     "function 'sum': scale.zero: the CE edition rejects the label com.openfaas.scale.zero on deploy: set "
     "faasplane:edition to pro with a licence, or remove scale.zero"),
    ("sum", FunctionArgs(image_ref=REF, scale=Scale(type="capacity")),
     "function 'sum': scale.type: the CE edition rejects the label com.openfaas.scale.type on deploy: set "
     "faasplane:edition to pro with a licence, or remove scale.type"),
]


@pytest.mark.parametrize(("name", "args", "message"), CASES, ids=[m.split(": ")[1] for _, _, m in CASES])
def test_invalid_declaration(name, args, message):
    assert error(name, args) == message


def test_handler_directory_must_exist(tmp_path):
    message = error("hello", FunctionArgs(handler=tmp_path / "nope", lang="python3-http"))
    assert message == (
        f"function 'hello': handler: '{tmp_path / 'nope'}' is not valid: expected an existing directory with the handler"
    )


def test_handler_must_have_what_the_template_needs(tmp_path):
    (tmp_path / "py").mkdir()
    assert error("hello", FunctionArgs(handler=tmp_path / "py", lang="python3-http")) == (
        f"function 'hello': handler: '{tmp_path / 'py'}' has no handler.py: the python3-http template needs "
        "handler.py with a function handle(event, context)"
    )
    (tmp_path / "py" / "handler.py").write_text("def main(req):\n    return req\n")
    assert error("hello", FunctionArgs(handler=tmp_path / "py", lang="python3-http")) == (
        f"function 'hello': handler: '{tmp_path / 'py' / 'handler.py'}' does not define what the python3-http "
        "template calls: expected handler.py with a function handle(event, context)"
    )
    go = tmp_path / "go"
    go.mkdir()
    (go / "go.mod").write_text("module example.com/sum\n\ngo 1.23\n")
    (go / "handler.go").write_text("package function\n")
    message = error("sum", FunctionArgs(handler=go, lang="golang-middleware"))
    assert "expected go.mod declaring `module handler/function`" in message
    assert "expected handler.go with func Handle(w http.ResponseWriter, r *http.Request)" in message
    (tmp_path / "docker").mkdir()
    assert "has no Dockerfile" in error("custom", FunctionArgs(handler=tmp_path / "docker", lang="dockerfile"))


def test_every_problem_is_reported_at_once():
    message = error("sum", FunctionArgs(image_ref=REF, scale=Scale(factor=0, target=-1), env={"fprocess": "x"}))
    assert message.splitlines() == [
        "function 'sum': env.fprocess: is set by the toolkit: use fprocess instead",
        "function 'sum': scale.factor: 0 is not valid: expected an integer 1..100 (percent of max added per step)",
        "function 'sum': scale.target: -1 is not valid: expected a number > 0 and <= 1000000000 (load per replica)",
    ]


def test_nothing_is_registered_when_a_declaration_is_invalid():
    from faasplane.components.render.mock_engine import run_program

    def program():
        platform = platform_ref()
        Function("ok", FunctionArgs(image_ref=REF), platform)
        Function("bad", FunctionArgs(image_ref=REF, scale=Scale(max=0)), platform)

    with pytest.raises(FunctionError):
        run_program(program)


def test_pro_edition_lifts_the_ce_limits():
    args = FunctionArgs(image_ref=REF, scale=Scale(min=6, max=50, zero=True, zero_duration="10m", type="capacity",
                                                   target=20))
    rendered, _ = render(lambda: Function("sum", args, platform_ref(edition="pro")))
    assert objects(rendered, "Deployment")["sum"]["spec"]["replicas"] == 6


def test_ce_min_above_the_replica_limit():
    assert error("sum", FunctionArgs(image_ref=REF, scale=Scale(min=6, max=6))).splitlines() == [
        "function 'sum': scale.min: 6 is above the CE edition's limit of 5 replicas: set faasplane:edition to pro "
        "with a licence, or lower scale.min to 5",
        "function 'sum': scale.max: 6 is above the CE edition's limit of 5 replicas: set faasplane:edition to pro "
        "with a licence, or lower scale.max to 5",
    ]


def test_ce_allows_fifteen_functions_per_platform():
    def declare(count):
        platform = platform_ref()
        return [Function(f"fn-{i}", FunctionArgs(image_ref=REF), platform) for i in range(count)]

    rendered, _ = render(lambda: declare(15))
    assert len(objects(rendered, "Deployment")) == 15
    with pytest.raises(FunctionError) as caught:
        render(lambda: declare(16))
    assert str(caught.value) == (
        "function 'fn-15': name: is function number 16 on this platform: the CE edition allows at most 15 "
        "functions: set faasplane:edition to pro with a licence, or declare fewer functions"
    )


def test_functions_are_counted_per_platform():
    def declare():
        first, second = platform_ref(), platform_ref(namespace="team-b-fn")
        return [Function(f"a-{i}", FunctionArgs(image_ref=REF), first) for i in range(15)] + [
            Function(f"b-{i}", FunctionArgs(image_ref=REF), second) for i in range(15)
        ]

    rendered, _ = render(declare)
    assert len(objects(rendered, "Deployment")) == 30


def test_names_are_unique_per_platform():
    def declare():
        platform = platform_ref(edition="pro")
        return [Function("sum", FunctionArgs(image_ref=REF), platform),
                Function("sum", FunctionArgs(image_ref=REF), platform)]

    with pytest.raises(FunctionError) as caught:
        render(declare)
    assert str(caught.value) == (
        "function 'sum': name: 'sum' is not valid: expected a name not yet declared on this platform "
        "(function names are unique per namespace)"
    )


def test_every_wrong_type_is_reported_at_once_with_the_other_problems():
    args = FunctionArgs(image_ref=REF, env=None, secrets=None, constraints=None, build_args=None,  # type: ignore[arg-type]
                        scale=Scale(factor=0))
    assert error("sum", args).splitlines() == [
        "function 'sum': env: None is not valid: expected a mapping of names to values",
        "function 'sum': secrets: None is not valid: expected a list of Secret names, or a mapping of names to Pulumi secrets",
        "function 'sum': constraints: None is not valid: expected a mapping or a list of key=value strings",
        "function 'sum': build_args: None is not valid: expected a mapping of names to values",
        "function 'sum': scale.factor: 0 is not valid: expected an integer 1..100 (percent of max added per step)",
    ]


@pytest.mark.parametrize(("text", "nanoseconds"), [
    ("30s", 30 * 10**9), ("1.5s", 1_500_000_000), ("1m30s", 90 * 10**9), ("500ms", 500_000_000), ("2h", 7200 * 10**9),
    (".5s", 500_000_000), ("1.s", 10**9), ("1h2m3.5s", 3723_500_000_000), ("10us", 10_000), ("10\u00b5s", 10_000),
    ("7ns", 7),
])
def test_go_durations(text, nanoseconds):
    from faasplane.components.function.args import format_go_duration, parse_go_duration

    assert parse_go_duration(text) == nanoseconds
    assert parse_go_duration(format_go_duration(nanoseconds)) == nanoseconds


@pytest.mark.parametrize("text", ["", "10", "1.5", "s", ".s", "1H", "1d", "-1s", "+1s", " 1s", "1s ", "1 s", "1m 5s",
                                  "3000000h"])
def test_not_go_durations(text):
    from faasplane.components.function.args import parse_go_duration

    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_zero_duration_at_the_floor_is_accepted():
    from faasplane.scaler import labels as scale_labels

    assert scale_labels.MIN_ZERO_DURATION_SECONDS == 60
    for value in ("1m", "60s", "1h"):
        scale = Scale(zero=True, zero_duration=value)
        assert scale.problems() == []
        assert scale_labels.parse_scale_labels(scale.to_labels()).problems == ()
