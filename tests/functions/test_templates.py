"""The language templates: pinned base images, non-root users, tests in the build, the python3-http server."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from faasplane.components import k8s
from faasplane.components.function import templating as function_templates
from faasplane.components.function.templating import available_templates, render_build_context, template
from faasplane.components.images import TEMPLATE_IMAGES
from faasplane.functions import FUNCTIONS_DIR

BUILT = {"python3-http": FUNCTIONS_DIR / "hello", "golang-middleware": FUNCTIONS_DIR / "sum"}


def test_templates_ship_with_the_toolkit():
    assert available_templates() == ("dockerfile", "golang-middleware", "python3-http")
    assert template("python3-http").fprocess == "python index.py"
    assert template("golang-middleware").fprocess == "./handler"
    assert template("dockerfile").fprocess is None
    assert template("dockerfile").render_context is False


def test_build_contexts_go_beside_the_pulumi_project_or_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Outside the engine the SDK reports the placeholder root "root_directory": not a directory to build in.
    assert function_templates.build_dir() == tmp_path.resolve() / "build" / "functions"
    project = tmp_path / "project"
    monkeypatch.setattr("pulumi.get_root_directory", lambda: str(project))
    assert function_templates.build_dir() == project / "build" / "functions"


@pytest.fixture(params=sorted(BUILT))
def dockerfile(request, tmp_path: Path) -> str:
    context = render_build_context("fn", template(request.param), BUILT[request.param], tmp_path / "ctx")
    return (context / "Dockerfile").read_text()


def test_base_images_come_from_images_py(dockerfile):
    images = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.M)
    assert images and set(images) <= set(TEMPLATE_IMAGES.values())
    assert images[0] == TEMPLATE_IMAGES["watchdog"]


def test_runs_as_a_numeric_non_root_user(dockerfile):
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.M)
    assert users[-1] == str(k8s.NON_ROOT_UID), "runAsNonRoot can only verify a numeric user"


def test_runs_the_handler_tests_before_shipping(dockerfile):
    assert "ARG TEST_ENABLED=true" in dockerfile
    assert re.search(r"(python -m unittest discover|go test \./\.\.\.)", dockerfile)


def run_instruction(dockerfile: str, marker: str) -> str:
    """The shell command of the Dockerfile's RUN instruction containing `marker`, continuations joined."""
    joined = dockerfile.replace("\\\n", " ")
    [line] = [line for line in joined.splitlines() if line.startswith("RUN ") and marker in line]
    return line.removeprefix("RUN ")


@pytest.mark.parametrize(("exit_status", "build_fails"), [(0, False), (5, False), (1, True)])
def test_python_handler_tests_fail_the_build_only_when_a_test_fails(exit_status, build_fails, tmp_path):
    """unittest exits 5 when no test ran (Python 3.12, the template's): a handler without tests still builds."""
    context = render_build_context("fn", template("python3-http"), FUNCTIONS_DIR / "hello", tmp_path / "ctx")
    command = run_instruction((context / "Dockerfile").read_text(), "unittest discover")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "python"  # the interpreter's exit status is what the instruction acts on
    stand_in.write_text(f"#!/bin/sh\nexit {exit_status}\n")
    stand_in.chmod(0o755)
    result = subprocess.run(["/bin/sh", "-c", command], env={"PATH": f"{bin_dir}:/usr/bin:/bin",
                            "TEST_ENABLED": "true"}, capture_output=True, text=True, timeout=30, check=False)
    assert (result.returncode != 0) is build_fails, result.stdout + result.stderr
    assert ("none ran" in result.stdout) is (exit_status == 5)


def test_watchdog_health_file_is_on_the_writable_tmp(dockerfile):
    assert "HEALTHCHECK --interval=5s CMD [ -e /tmp/.lock ] || exit 1" in dockerfile
    assert 'mode="http"' in dockerfile


def test_python_writes_no_bytecode_on_the_read_only_root(tmp_path):
    context = render_build_context("fn", template("python3-http"), FUNCTIONS_DIR / "hello", tmp_path / "ctx")
    assert "PYTHONDONTWRITEBYTECODE=1" in (context / "Dockerfile").read_text()


def test_rendering_is_stable(tmp_path):
    first = render_build_context("fn", template("golang-middleware"), FUNCTIONS_DIR / "sum", tmp_path / "a")
    second = render_build_context("fn", template("golang-middleware"), FUNCTIONS_DIR / "sum", tmp_path / "b")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


# --- the python3-http server (index.py) ---


def echo(event, context):
    return {
        "statusCode": 201,
        "body": {"method": event.method, "path": event.path, "query": event.query,
                 "body": event.body.decode(), "header": event.headers.get("x-custom"), "host": context.hostname},
        "headers": {"X-Fn": "echo"},
    }


def test_event_and_context_follow_the_openfaas_interface(serve, monkeypatch):
    monkeypatch.setenv("HOSTNAME", "echo-abc")
    with serve(echo) as call:
        status, headers, body = call("PUT", "/a/b?x=1&x=2&y=", b"payload", {"X-Custom": "yes"})
    assert status == 201
    assert headers["X-Fn"] == "echo"
    assert body == {"method": "PUT", "path": "/a/b", "query": {"x": "1", "y": ""}, "body": "payload",
                    "header": "yes", "host": "echo-abc"}


@pytest.mark.parametrize(
    ("result", "status", "content_type", "text"),
    [
        (None, 200, None, ""),
        ("plain", 200, "text/plain; charset=utf-8", "plain"),
        ({"body": "x", "statusCode": 404}, 404, "text/plain; charset=utf-8", "x"),
        ({"statusCode": 204}, 204, None, ""),
        ({"body": b"\x00\x01", "headers": {"Content-Type": "application/octet-stream"}}, 200,
         "application/octet-stream", "\x00\x01"),
    ],
)
def test_results_are_formatted_like_the_openfaas_template(serve, result, status, content_type, text):
    with serve(lambda event, context: result) as call:
        got_status, headers, body = call("POST", "/", b"")
    assert got_status == status
    assert headers.get("Content-Type") == content_type or content_type is None
    assert body == text


def test_a_failing_handler_answers_500_and_keeps_serving(serve):
    def boom(event, context):
        if event.query.get("fail"):
            raise RuntimeError("boom")
        return "fine"

    with serve(boom) as call:
        assert call("GET", "/?fail=1")[0] == 500
        assert call("GET", "/")[:1] == (200,)


def test_a_chunked_body_is_read_whole(serve):
    with serve(lambda event, context: event.body) as call:
        status, _, body = call("POST", "/", iter([b"1 2 ", b"3"]), {"Transfer-Encoding": "chunked"})
    assert (status, body) == (200, "1 2 3")
