"""The Function component under mocks: faas-netes shape, hardening, scaling labels, image build, digest."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pulumi
import pytest

from faasplane.components import function as function_module
from faasplane.components import names
from faasplane.components.config import ConfigError
from faasplane.components.function import Function, PlatformRef, build
from faasplane.components.function import templating as function_templates
from faasplane.components.function.args import FunctionArgs, ResourceSpec, Scale, Timeouts
from faasplane.components.function.errors import FunctionError
from faasplane.components.images import TEMPLATE_IMAGES
from faasplane.components.render.mock_engine import REDACTED, normalize, run_program
from faasplane.functions import FUNCTIONS_DIR, declare_functions
from faasplane.scaler import labels as scale_labels
from tests.functions.helpers import PLATFORM_STACK, FakePlatform, objects, platform_ref, render
from tests.validation import schema_errors


@pytest.fixture(autouse=True)
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "build"
    monkeypatch.setattr(function_templates, "BUILD_DIR", directory)
    return directory


@pytest.fixture
def examples():
    return render(lambda: declare_functions(platform_ref()))


def test_examples_declare_sum_and_hello(examples):
    rendered, functions = examples
    assert [fn.function_name for fn in functions] == ["sum", "hello"]
    assert set(objects(rendered, "Deployment")) == {"sum", "hello"}
    assert set(objects(rendered, "Service")) == {"sum", "hello"}
    assert len(rendered.of_type(function_module.TYPE)) == 2


def test_every_object_passes_the_kubernetes_schemas(examples):
    rendered, _ = examples
    for obj in rendered.kubernetes_objects():
        assert schema_errors(obj) == []


@pytest.mark.parametrize("name", ["sum", "hello"])
def test_deployment_follows_faas_netes(examples, name):
    rendered, _ = examples
    deployment = objects(rendered, "Deployment")[name]
    assert deployment["metadata"]["namespace"] == "openfaas-fn"
    spec = deployment["spec"]
    assert spec["selector"] == {"matchLabels": {names.FUNCTION_LABEL: name}}
    template_labels = spec["template"]["metadata"]["labels"]
    assert template_labels[names.FUNCTION_LABEL] == name
    assert template_labels[scale_labels.SCALE_MIN] == "1"
    assert template_labels[scale_labels.SCALE_MAX] == "5"
    assert deployment["metadata"]["labels"] == template_labels
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    for found in (deployment["metadata"]["annotations"], spec["template"]["metadata"]["annotations"]):
        assert found["prometheus.io.scrape"] == "false"

    (container,) = spec["template"]["spec"]["containers"]
    assert container["name"] == name
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    probe = {
        "httpGet": {"path": "/_/health", "port": 8080},
        "initialDelaySeconds": 2, "periodSeconds": 2, "timeoutSeconds": 1, "failureThreshold": 3,
    }
    assert container["livenessProbe"] == probe
    assert container["readinessProbe"] == probe
    assert container["env"][0]["name"] == "fprocess"


def test_container_is_hardened_like_the_platform(examples):
    rendered, _ = examples
    pod = objects(rendered, "Deployment")["sum"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "runAsNonRoot": True, "allowPrivilegeEscalation": False, "privileged": False,
        "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["automountServiceAccountToken"] is False
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]


def test_fprocess_and_timeouts_come_first_in_env(examples):
    rendered, _ = examples
    env = objects(rendered, "Deployment")["sum"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "fprocess", "value": "./handler"},
        {"name": "read_timeout", "value": "10s"},
        {"name": "write_timeout", "value": "10s"},
        {"name": "exec_timeout", "value": "10s"},
    ]


def test_service_follows_faas_netes(examples):
    rendered, _ = examples
    service = objects(rendered, "Service")["hello"]
    assert service["metadata"]["namespace"] == "openfaas-fn"
    assert service["metadata"]["annotations"] == {"prometheus.io.scrape": "false"}
    assert service["spec"] == {
        "type": "ClusterIP",
        "selector": {names.FUNCTION_LABEL: "hello"},
        "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}],
    }


def test_image_is_built_from_the_rendered_context_and_referenced_by_digest(examples, build_dir):
    rendered, functions = examples
    images = {image.name: image for image in rendered.of_type("docker-build:index:Image")}
    assert set(images) == {"sum-image", "hello-image"}
    image = images["hello-image"]
    context = build_dir / "hello"
    assert image.inputs["context"] == {"location": str(context)}
    tag = build.content_hash(context, None, {})
    assert image.inputs["tags"] == [f"localhost:5001/hello:{tag}"]
    assert image.inputs["push"] is True
    assert (context / "function" / "handler.py").read_bytes() == (FUNCTIONS_DIR / "hello" / "handler.py").read_bytes()
    dockerfile = (context / "Dockerfile").read_text()
    assert f"FROM {TEMPLATE_IMAGES['watchdog']} AS watchdog" in dockerfile
    assert f"FROM {TEMPLATE_IMAGES['python']} AS ship" in dockerfile
    reference = f"localhost:5001/hello@{image.state['digest']}"
    container = objects(rendered, "Deployment")["hello"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == reference
    assert rendered.outputs["functions"]["hello"] == reference


def test_go_context_has_the_template_and_the_handler(examples, build_dir):
    context = build_dir / "sum"
    assert (context / "main.go").is_file()
    assert (context / "go.work").read_text().startswith("go 1.23")
    assert (context / "function" / "handler.go").is_file()
    assert (context / "function" / "handler_test.go").is_file()
    assert f"FROM {TEMPLATE_IMAGES['golang']} AS build" in (context / "Dockerfile").read_text()


def _hello_copy(tmp_path: Path) -> Path:
    handler = tmp_path / "hello"
    shutil.copytree(FUNCTIONS_DIR / "hello", handler, ignore=shutil.ignore_patterns("__pycache__"))
    return handler


def _tag(rendered) -> str:
    (image,) = rendered.of_type("docker-build:index:Image")
    return image.inputs["tags"][0]


def test_unchanged_handler_keeps_its_tag_and_a_changed_one_gets_a_new_one(tmp_path):
    handler = _hello_copy(tmp_path)

    def declare():
        return Function("hello", FunctionArgs(handler=handler, lang="python3-http"), platform_ref())

    first = _tag(render(declare)[0])
    context_file = function_templates.BUILD_DIR / "hello" / "index.py"
    mtime = context_file.stat().st_mtime_ns
    time.sleep(0.01)
    assert _tag(render(declare)[0]) == first
    assert context_file.stat().st_mtime_ns == mtime, "an unchanged file is not rewritten"

    (handler / "handler.py").write_text((handler / "handler.py").read_text() + "\n# changed\n")
    assert _tag(render(declare)[0]) != first


def test_a_removed_handler_file_leaves_the_context(tmp_path):
    handler = _hello_copy(tmp_path)
    (handler / "extra.txt").write_text("x")

    def declare():
        return Function("hello", FunctionArgs(handler=handler, lang="python3-http"), platform_ref())

    render(declare)
    assert (function_templates.BUILD_DIR / "hello" / "function" / "extra.txt").exists()
    (handler / "extra.txt").unlink()
    render(declare)
    assert not (function_templates.BUILD_DIR / "hello" / "function" / "extra.txt").exists()


def test_build_args_are_passed_and_change_the_tag(tmp_path):
    handler = _hello_copy(tmp_path)
    plain = _tag(render(lambda: Function("hello", FunctionArgs(handler=handler, lang="python3-http"),
                                         platform_ref()))[0])
    rendered, _ = render(lambda: Function(
        "hello", FunctionArgs(handler=handler, lang="python3-http", build_args={"TEST_ENABLED": "false"}),
        platform_ref(),
    ))
    (image,) = rendered.of_type("docker-build:index:Image")
    assert image.inputs["buildArgs"] == {"TEST_ENABLED": "false"}
    assert image.inputs["tags"][0] != plain


def test_dockerfile_lang_builds_the_handler_directory_as_is(tmp_path):
    handler = tmp_path / "custom"
    handler.mkdir()
    (handler / "Dockerfile").write_text("FROM scratch\n")
    rendered, functions = render(lambda: Function(
        "custom", FunctionArgs(handler=handler, lang="dockerfile", image="team/custom"), platform_ref()
    ))
    (image,) = rendered.of_type("docker-build:index:Image")
    assert image.inputs["context"] == {"location": str(handler)}
    assert image.inputs["tags"][0].startswith("localhost:5001/team/custom:")
    container = objects(rendered, "Deployment")["custom"]["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container, "no fprocess: the Dockerfile sets its own"


def test_prebuilt_image_ref_builds_nothing_and_reads_no_files():
    ref = "ghcr.io/acme/echo@sha256:" + "a" * 64
    rendered, functions = render(lambda: Function("echo", FunctionArgs(image_ref=ref), platform_ref()))
    assert rendered.of_type("docker-build:index:Image") == []
    assert functions[0].image is None
    container = objects(rendered, "Deployment")["echo"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == ref
    assert rendered.outputs["functions"] == {"echo": ref}


def test_stack_function_images_replace_the_build_of_named_functions(build_dir):
    ref = "registry.example.com/ci/sum@sha256:" + "b" * 64
    platform = FakePlatform(functionImages={"sum": ref})
    rendered, functions = render(lambda: declare_functions(platform))
    images = rendered.of_type("docker-build:index:Image")
    assert [image.name for image in images] == ["hello-image"], "hello is still built, sum is not"
    container = objects(rendered, "Deployment")["sum"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == ref
    assert not (build_dir / "sum").exists(), "a prebuilt function renders no build context"
    function_module.check_function_images(platform)


def test_a_function_image_for_an_undeclared_function_names_the_key_and_the_declared_ones():
    platform = FakePlatform(functionImages={"summ": "registry.example.com/ci/sum:1.0"})
    render(lambda: declare_functions(platform))
    with pytest.raises(ConfigError) as error:
        function_module.check_function_images(platform)
    assert str(error.value).endswith(
        "faasplane:functionImages.summ: no function 'summ' is declared; declared: sum, hello"
    )


def test_full_declaration_reaches_the_objects():
    args = FunctionArgs(
        image_ref="ghcr.io/acme/full:1.0",
        fprocess="python index.py",
        env={"LOG_LEVEL": "debug", "WORKERS": 4, "DRY_RUN": False},
        secrets=["api-key", "db-password"],
        labels={"team": "payments", "tier": 2},
        annotations={"topic": "orders", "prometheus.io.scrape": "true"},
        requests=ResourceSpec(cpu="100m", memory="64Mi"),
        limits=ResourceSpec(cpu="1", memory="256Mi"),
        scale=Scale(min=2, max=10, factor=25, target=40, target_proportion=0.8, type="capacity", zero=True,
                    zero_duration="10m", down_window="2m"),
        read_only_root_filesystem=False,
        constraints=["kubernetes.io/arch=arm64", "node.kubernetes.io/instance-type = m6g.large"],
        timeouts=Timeouts(read="30s", write="1m5s", exec="1m"),
    )
    rendered, _ = render(lambda: Function("full", args, platform_ref(edition="pro")))
    deployment = objects(rendered, "Deployment")["full"]
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["metadata"]["labels"] == {
        "faas_function": "full", "team": "payments", "tier": "2",
        scale_labels.SCALE_MIN: "2", scale_labels.SCALE_MAX: "10", scale_labels.SCALE_FACTOR: "25",
        scale_labels.SCALE_ZERO: "true", scale_labels.SCALE_ZERO_DURATION: "10m",
        scale_labels.SCALE_TYPE: "capacity", scale_labels.SCALE_TARGET: "40",
        scale_labels.SCALE_TARGET_PROPORTION: "0.8", scale_labels.SCALE_DOWN_WINDOW: "2m",
    }
    assert scale_labels.parse_scale_labels(pod["metadata"]["labels"]).problems == ()
    assert pod["metadata"]["annotations"] == {"prometheus.io.scrape": "true", "topic": "orders"}
    spec = pod["spec"]
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "arm64", "node.kubernetes.io/instance-type": "m6g.large"}
    (container,) = spec["containers"]
    assert container["env"] == [
        {"name": "fprocess", "value": "python index.py"},
        {"name": "read_timeout", "value": "30s"},
        {"name": "write_timeout", "value": "65s"},
        {"name": "exec_timeout", "value": "60s"},
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "WORKERS", "value": "4"},
        {"name": "DRY_RUN", "value": "false"},
    ]
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"},
    }
    assert container["securityContext"]["readOnlyRootFilesystem"] is False
    assert container["volumeMounts"] == [
        {"name": "full-projected-secrets", "mountPath": names.FUNCTION_SECRET_MOUNT_PATH, "readOnly": True}
    ]
    assert spec["volumes"] == [
        {"name": "full-projected-secrets",
         "projected": {"sources": [{"secret": {"name": "api-key"}}, {"secret": {"name": "db-password"}}]}}
    ]
    for obj in rendered.kubernetes_objects():
        assert schema_errors(obj) == []


def test_a_request_above_the_default_limit_raises_the_limit():
    args = FunctionArgs(image_ref="ghcr.io/acme/big:1", requests=ResourceSpec(memory="512Mi"),
                        limits=ResourceSpec(cpu="50m"))
    assert args.resources().as_k8s() == {
        "requests": {"cpu": "20m", "memory": "512Mi"}, "limits": {"cpu": "50m", "memory": "512Mi"},
    }
    small = FunctionArgs(image_ref="ghcr.io/acme/big:1", limits=ResourceSpec(cpu="10m", memory="16Mi"))
    assert small.resources().as_k8s()["requests"] == {"cpu": "10m", "memory": "16Mi"}


def test_platform_component_gives_namespace_registry_and_edition(tmp_path):
    platform = FakePlatform(namespaces={"functions": "team-fn"}, registry={"server": "registry.example.com/faas"})
    rendered, _ = render(lambda: declare_functions(platform))
    assert {obj["metadata"]["namespace"] for obj in rendered.kubernetes_objects()} == {"team-fn"}
    tags = [image.inputs["tags"][0] for image in rendered.of_type("docker-build:index:Image")]
    assert all(tag.startswith("registry.example.com/faas/") for tag in tags)


def test_registry_credentials_come_from_the_platform_config():
    platform = FakePlatform(registry={"server": "registry.example.com", "username": "robot"},
                            registryPassword="s3cret")
    rendered, _ = render(lambda: Function(
        "hello", FunctionArgs(handler=FUNCTIONS_DIR / "hello", lang="python3-http"), platform
    ))
    (image,) = rendered.of_type("docker-build:index:Image")
    registries = image.inputs["registries"]
    assert normalize(registries) == REDACTED, "the password keeps the registries secret"
    assert registries["value"] == [{"address": "registry.example.com", "username": "robot", "password": "s3cret"}]


STACK_OUTPUTS = {
    PLATFORM_STACK: {
        "functionsNamespace": "shared-fn", "registry": "registry.internal:5000", "edition": "pro",
        "gatewayUrl": "http://gateway.openfaas.svc.cluster.local:8080",
    }
}


def _run_on_stack(declare, outputs=STACK_OUTPUTS):
    declared = []

    def program():
        declared.extend(declare(PlatformRef.from_stack_reference(PLATFORM_STACK)))

    return run_program(program, stack_outputs=outputs), declared


def test_stack_reference_platform_supplies_namespace_and_registry():
    rendered, functions = _run_on_stack(declare_functions)
    assert {obj["metadata"]["namespace"] for obj in rendered.kubernetes_objects()} == {"shared-fn"}
    for image in rendered.of_type("docker-build:index:Image"):
        name = image.name.removesuffix("-image")
        context = function_templates.BUILD_DIR / name
        assert image.inputs["tags"] == [f"registry.internal:5000/{name}:{build.content_hash(context, None, {})}"]
    deployment = objects(rendered, "Deployment")["sum"]
    image = {i.name: i for i in rendered.of_type("docker-build:index:Image")}["sum-image"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == (
        f"registry.internal:5000/sum@{image.state['digest']}"
    )
    assert len(rendered.of_type("pulumi:pulumi:StackReference")) == 1


def test_stack_reference_edition_limits_are_checked_when_the_output_is_known():
    ce = {PLATFORM_STACK: dict(STACK_OUTPUTS[PLATFORM_STACK], edition="ce")}

    def declare(platform):
        return [Function("big", FunctionArgs(image_ref="ghcr.io/acme/big:1", scale=Scale(max=10)), platform)]

    with pytest.raises(FunctionError, match=r"function 'big': scale.max: 10 is above the CE edition's limit of 5"):
        _run_on_stack(declare, ce)
    rendered, _ = _run_on_stack(declare)  # pro: allowed
    assert objects(rendered, "Deployment")["big"]["spec"]["replicas"] == 1


def test_three_hundred_prebuilt_functions_are_cheap():
    def declare():
        platform = platform_ref(edition="pro")
        return [
            Function(f"fn-{i}", FunctionArgs(image_ref=f"ghcr.io/acme/fn-{i}:1", scale=Scale(min=1, max=20)), platform)
            for i in range(300)
        ]

    started = time.perf_counter()
    rendered, functions = render(declare)
    elapsed = time.perf_counter() - started
    assert len(objects(rendered, "Deployment")) == 300
    assert elapsed < 60, f"300 functions took {elapsed:.1f}s"


def test_timeouts_beyond_the_gateway_are_a_warning(monkeypatch):
    warnings = []
    monkeypatch.setattr(function_module.pulumi.log, "warn", lambda message, resource=None: warnings.append(message))
    platform = FakePlatform(gateway={"upstreamTimeout": "1m", "writeTimeout": "1m5s"})
    render(lambda: Function("slow", FunctionArgs(image_ref="ghcr.io/acme/slow:1",
                                                 timeouts=Timeouts(write="5m", exec="2m")), platform))
    assert warnings == [
        "function 'slow': timeouts.exec 2m is longer than the gateway's upstreamTimeout 1m: synchronous calls end at "
        "the gateway first; raise faasplane:gateway upstreamTimeout (and writeTimeout)",
        "function 'slow': timeouts.write 5m is longer than the gateway's upstreamTimeout 1m: synchronous calls end "
        "at the gateway first; raise faasplane:gateway upstreamTimeout (and writeTimeout)",
    ]


@pytest.mark.parametrize(("edition", "policy", "expected"), [("ce", None, "5"), ("pro", None, "20"),
                                                              ("pro", "openfaas", "5")])
def test_min_and_max_labels_are_always_written(edition, policy, expected):
    """The platform's policy (function-scale-bounds) requires both on every function's pod template."""
    if policy:
        platform = FakePlatform(edition=edition, licenseKey="key", scaler={"policy": policy})
    else:
        platform = platform_ref(edition=edition)
    rendered, _ = render(lambda: Function("plain", FunctionArgs(image_ref="ghcr.io/acme/plain:1"), platform))
    labels = objects(rendered, "Deployment")["plain"]["spec"]["template"]["metadata"]["labels"]
    assert labels == {"faas_function": "plain", scale_labels.SCALE_MIN: "1", scale_labels.SCALE_MAX: expected}


def test_default_max_follows_the_referenced_stack_edition():
    def declare(platform):
        return [Function("plain", FunctionArgs(image_ref="ghcr.io/acme/plain:1"), platform)]

    for edition, expected in (("ce", "5"), ("pro", "20")):
        outputs = {PLATFORM_STACK: dict(STACK_OUTPUTS[PLATFORM_STACK], edition=edition)}
        rendered, _ = _run_on_stack(declare, outputs)
        labels = objects(rendered, "Deployment")["plain"]["spec"]["template"]["metadata"]["labels"]
        assert labels[scale_labels.SCALE_MAX] == expected


def test_stack_reference_registry_can_be_overridden_by_the_application_team():
    from faasplane.components.render.mock_engine import run_program as run

    def program():
        platform = PlatformRef.from_stack_reference(PLATFORM_STACK, registry="registry.team.example:443/apps")
        Function("hello", FunctionArgs(handler=FUNCTIONS_DIR / "hello", lang="python3-http"), platform)

    rendered = run(program, stack_outputs=STACK_OUTPUTS)
    (image,) = rendered.of_type("docker-build:index:Image")
    assert image.inputs["tags"][0].startswith("registry.team.example:443/apps/hello:")
    assert objects(rendered, "Deployment")["hello"]["metadata"]["namespace"] == "shared-fn"


def test_a_later_pulumi_up_leaves_the_replica_count_to_the_scaler():
    """Pulumi sets replicas to scale.min on create, then ignores them: a function under load keeps its scale."""
    seen: dict[str, list[str]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        seen[args.type_] = list(args.opts.ignore_changes or [])

    render(
        lambda: Function(
            "echo",
            FunctionArgs(image_ref="ghcr.io/acme/echo:1.0", scale=Scale(min=2, max=5)),
            platform_ref(),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
    )
    assert seen["kubernetes:apps/v1:Deployment"] == ["spec.replicas"]
    assert seen["kubernetes:core/v1:Service"] == []


def _timeout_env(timeouts: Timeouts) -> list[dict[str, str]]:
    rendered, _ = render(lambda: Function("slow", FunctionArgs(image_ref="ghcr.io/acme/slow:1", timeouts=timeouts),
                                          platform_ref(edition="pro")))
    env = objects(rendered, "Deployment")["slow"]["spec"]["template"]["spec"]["containers"][0]["env"]
    return [item for item in env if item["name"].endswith("_timeout")]


def test_a_long_exec_timeout_alone_raises_the_watchdogs_read_and_write_timeouts():
    """of-watchdog stops writing at write_timeout and ends the call at read_timeout (30s defaults): an exec of
    2m alone would be cut short, so an unset read and write follow exec."""
    assert _timeout_env(Timeouts(exec="2m")) == [
        {"name": "read_timeout", "value": "120s"},
        {"name": "write_timeout", "value": "120s"},
        {"name": "exec_timeout", "value": "120s"},
    ]
    assert _timeout_env(Timeouts(read="5m", exec="2m")) == [
        {"name": "read_timeout", "value": "300s"},
        {"name": "write_timeout", "value": "120s"},
        {"name": "exec_timeout", "value": "120s"},
    ]
    assert _timeout_env(Timeouts(read="10s", write="10s", exec="5s")) == [
        {"name": "read_timeout", "value": "10s"},
        {"name": "write_timeout", "value": "10s"},
        {"name": "exec_timeout", "value": "5s"},
    ], "set values are kept"
    assert _timeout_env(Timeouts(read="30s")) == [{"name": "read_timeout", "value": "30s"}]


def test_an_exec_timeout_alone_still_warns_against_the_gateway_once(monkeypatch):
    warnings = []
    monkeypatch.setattr(function_module.pulumi.log, "warn", lambda message, resource=None: warnings.append(message))
    platform = FakePlatform(gateway={"upstreamTimeout": "1m", "writeTimeout": "1m5s"})
    render(lambda: Function("slow", FunctionArgs(image_ref="ghcr.io/acme/slow:1", timeouts=Timeouts(exec="2m")),
                            platform))
    assert warnings == [
        "function 'slow': timeouts.exec 2m is longer than the gateway's upstreamTimeout 1m: synchronous calls end at "
        "the gateway first; raise faasplane:gateway upstreamTimeout (and writeTimeout)",
    ]


def test_timeouts_take_go_durations_as_the_watchdog_does(monkeypatch):
    """of-watchdog parses its timeouts with Go's time.ParseDuration: fractions and compound values."""
    warnings = []
    monkeypatch.setattr(function_module.pulumi.log, "warn", lambda message, resource=None: warnings.append(message))
    platform = FakePlatform(gateway={"upstreamTimeout": "1m", "writeTimeout": "1m5s"})
    rendered, _ = render(lambda: Function(
        "quick", FunctionArgs(image_ref="ghcr.io/acme/quick:1", timeouts=Timeouts(read="1.5s", write="1m30s",
                                                                                  exec="1.25s")), platform))
    env = objects(rendered, "Deployment")["quick"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[-3:] == [
        {"name": "read_timeout", "value": "1500ms"},
        {"name": "write_timeout", "value": "90s"},
        {"name": "exec_timeout", "value": "1250ms"},
    ]
    assert warnings == [
        "function 'quick': timeouts.write 1m30s is longer than the gateway's upstreamTimeout 1m: synchronous calls "
        "end at the gateway first; raise faasplane:gateway upstreamTimeout (and writeTimeout)",
    ]


def test_secret_values_become_secrets_mounted_where_faas_cli_mounts_them():
    api_key = "api-key-value-do-not-leak"
    rendered, functions = render(lambda: Function("echo", FunctionArgs(
        image_ref="ghcr.io/acme/echo:1", secrets={"api-key": pulumi.Output.secret(api_key), "db": None}),
        platform_ref()))
    [secret] = objects(rendered, "Secret").values()
    assert secret["metadata"]["namespace"] == "openfaas-fn" and secret["metadata"]["name"].startswith("echo-secret-")
    assert secret["data"] == {"api-key": REDACTED}, "kept secret, redacted in the render"
    assert api_key not in str(rendered.kubernetes_objects())
    pod = objects(rendered, "Deployment")["echo"]["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if "projected" in v]
    assert volume["projected"]["sources"] == [
        {"secret": {"name": secret["metadata"]["name"], "items": [{"key": "api-key", "path": "api-key"}]}},
        {"secret": {"name": "db"}},
    ]
    [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["mountPath"] == "/var/openfaas/secrets" and mount["readOnly"] is True
    assert set(functions[0].secrets) == {"api-key"}


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ({"api-key": "plain"}, "secrets.api-key: is a plain-text value: give a Pulumi secret"),
        ({"API_KEY": pulumi.Output.secret("x")}, "secrets.API_KEY: 'API_KEY' is not valid: expected a Secret name"),
        (["db", "db"], "secrets[1]: 'db' is not valid: expected each Secret once"),
    ],
)
def test_bad_secrets_name_the_function_and_the_secret(secrets, message):
    with pytest.raises(FunctionError) as error:
        render(lambda: Function("echo", FunctionArgs(image_ref="ghcr.io/acme/echo:1", secrets=secrets), platform_ref()))
    assert "function 'echo'" in str(error.value) and message in str(error.value), str(error.value)
