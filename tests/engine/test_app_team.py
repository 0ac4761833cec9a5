"""Platform reuse, for real: examples/app-team, a Pulumi project of its own with faasplane installed as a
package, deploys a function onto the dev platform stack through a StackReference on the same file backend."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from faasplane.components import names
from scripts.engine import ROOT, EngineStack, Workspace

pytestmark = pytest.mark.engine

EXAMPLE = ROOT / "examples" / "app-team"
ECHO_IMAGE = "localhost:5001/echo@sha256:" + "e" * 64


@pytest.fixture(scope="module")
def platform(new_engine: Callable[..., EngineStack]) -> EngineStack:
    engine = new_engine("dev")
    engine.pulumi("up", "--yes", "--skip-preview")
    return engine


@pytest.fixture(scope="module")
def app_team(platform: EngineStack, engine_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A copy of the example with a virtualenv of its own: faasplane installed from this repository as a
    wheel (with the SDK versions of uv.lock, whose provider plugins make tools built), nothing else of it."""
    directory = tmp_path_factory.mktemp("app-team")
    project = directory / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".venv", "build", "Pulumi.*.yaml", "uv.lock"))
    constraints = directory / "constraints.txt"
    exported = subprocess.run(["uv", "export", "--frozen", "--no-default-groups", "--no-emit-project",
                               "--no-hashes", "--quiet"], cwd=ROOT, capture_output=True, text=True, check=True)
    constraints.write_text(exported.stdout)
    subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(project / ".venv")], check=True,
                   timeout=120)
    subprocess.run(["uv", "pip", "install", "--quiet", "--python", str(project / ".venv" / "bin" / "python"),
                    "--constraint", str(constraints), str(ROOT)], check=True, timeout=900)
    workspace = Workspace("dev", directory, home=engine_home, project=project, state=platform.state_dir,
                          passphrase=platform.passphrase_file)
    workspace.prepare()
    workspace.pulumi("config", "set", "kubernetes:renderYamlToDirectory", str(directory / "manifests"))
    workspace.pulumi("config", "set", "echoImage", ECHO_IMAGE)
    return workspace


def manifests(directory: Path) -> dict[str, dict]:
    return {str(path.relative_to(directory)): yaml.safe_load(path.read_text()) for path in directory.rglob("*.yaml")}


def test_the_example_imports_nothing_of_the_repository_but_the_package(app_team: Workspace) -> None:
    probe = ("import faasplane.components.function as f, sys; "
             f"print(f.__file__); print(any(p.rstrip('/') == {str(ROOT)!r} for p in sys.path))")
    result = subprocess.run([str(app_team.project_dir / ".venv" / "bin" / "python"), "-c", probe],
                            cwd=app_team.project_dir, capture_output=True, text=True, check=True)
    module_file, repo_on_path = result.stdout.split()
    assert "site-packages/faasplane/components/function/__init__.py" in module_file
    assert repo_on_path == "False"


def test_deploys_through_a_stack_reference_and_leaves_the_platform_alone(
    platform: EngineStack, app_team: Workspace
) -> None:
    before = manifests(platform.manifests_dir)
    app_team.pulumi("up", "--yes", "--skip-preview")
    deployed = manifests(app_team.directory / "manifests")
    kinds = sorted((obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]) for obj in deployed.values())
    assert kinds == [("Deployment", names.FUNCTIONS_NAMESPACE, "echo"), ("Service", names.FUNCTIONS_NAMESPACE, "echo")]
    [deployment] = [o for o in deployed.values() if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == ECHO_IMAGE
    outputs = json.loads(app_team.pulumi("stack", "output", "--json").stdout)
    assert outputs == {"echoImage": ECHO_IMAGE}

    app_team.pulumi("destroy", "--yes", "--skip-preview")
    assert manifests(app_team.directory / "manifests") == {}
    assert manifests(platform.manifests_dir) == before
    platform.pulumi("preview", "--expect-no-changes")


def test_the_platforms_ce_edition_limits_an_app_teams_declaration(app_team: Workspace) -> None:
    app_team.pulumi("config", "set", "maxReplicas", "6")
    try:
        result = app_team.pulumi("preview", check=False)
    finally:
        app_team.pulumi("config", "rm", "maxReplicas")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "function 'echo'" in output and "above the CE edition's limit of 5 replicas" in output, output
    assert "Traceback" not in output and "unhandled exception" not in output, output


def test_builds_go_under_the_app_teams_own_directory(app_team: Workspace) -> None:
    app_team.pulumi("config", "rm", "echoImage")
    try:
        app_team.pulumi("preview", check=False)
    finally:
        app_team.pulumi("config", "set", "echoImage", ECHO_IMAGE)
    context = app_team.project_dir / "build" / "functions" / "echo"
    assert (context / "function" / "handler.py").read_text() == (EXAMPLE / "echo" / "handler.py").read_text()
    assert (context / "index.py").is_file(), "the template's entry point is rendered beside the handler"
    assert not (ROOT / "build" / "functions" / "echo").exists()
