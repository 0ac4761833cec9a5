"""Platform reuse, for real: examples/app-team, a Pulumi project of its own with faasplane installed as a
package, deploys a function onto the dev platform stack through a StackReference on the same file backend.

The platform stack renames its functions namespace and registry, so the app team's objects can only land
where they do if they came through the reference (the defaults would put them in names.FUNCTIONS_NAMESPACE).
The tests run in file order: the deploy test destroys what it created, and the later ones only preview.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from faasplane.components import names
from scripts.engine import ROOT, EngineStack, Workspace
from tests.engine.fixtures import APP_TEAM_EXAMPLE, ECHO_IMAGE, FaasplaneWheel, app_team_workspace

pytestmark = pytest.mark.engine

TEAM_NAMESPACE = "team-functions"
TEAM_REGISTRY = "registry.team.example:5000/platform"
assert TEAM_NAMESPACE != names.FUNCTIONS_NAMESPACE


@pytest.fixture(scope="module")
def platform(new_engine: Callable[..., EngineStack]) -> EngineStack:
    engine = new_engine("dev", overrides={f"{names.PROJECT}:namespaces": {"functions": TEAM_NAMESPACE},
                                          f"{names.PROJECT}:registry": {"server": TEAM_REGISTRY}})
    engine.pulumi("up", "--yes", "--skip-preview")
    return engine


@pytest.fixture(scope="module")
def app_team(platform: EngineStack, engine_home: Path, faasplane_wheel: FaasplaneWheel,
             tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The example with faasplane installed from the session's wheel, rendering to manifests/."""
    directory = tmp_path_factory.mktemp("app-team")
    workspace = app_team_workspace(directory, faasplane_wheel, platform, engine_home)
    workspace.pulumi("config", "set", "kubernetes:renderYamlToDirectory", str(directory / "manifests"))
    workspace.pulumi("config", "set", "echoImage", ECHO_IMAGE)
    return workspace


def manifests(directory: Path) -> dict[str, dict]:
    return {str(path.relative_to(directory)): yaml.safe_load(path.read_text()) for path in directory.rglob("*.yaml")}


@pytest.mark.timeout(900)  # the first to request app_team: the platform's up, the wheel and its install
def test_the_example_imports_nothing_of_the_repository_but_the_package(app_team: Workspace) -> None:
    probe = ("import faasplane.components.function as f, sys; "
             f"print(f.__file__); print(any(p.rstrip('/') == {str(ROOT)!r} for p in sys.path))")
    result = subprocess.run([str(app_team.project_dir / ".venv" / "bin" / "python"), "-c", probe],
                            cwd=app_team.project_dir, capture_output=True, text=True, check=True)
    module_file, repo_on_path = result.stdout.splitlines()
    assert "site-packages/faasplane/components/function/__init__.py" in module_file
    assert repo_on_path == "False"


def test_deploys_through_a_stack_reference_and_leaves_the_platform_alone(
    platform: EngineStack, app_team: Workspace
) -> None:
    before = manifests(platform.manifests_dir)
    app_team.pulumi("up", "--yes", "--skip-preview")
    deployed = manifests(app_team.directory / "manifests")
    kinds = sorted((obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]) for obj in deployed.values())
    assert kinds == [("Deployment", TEAM_NAMESPACE, "echo"), ("Service", TEAM_NAMESPACE, "echo")], \
        "in the platform stack's functions namespace, read through the reference"
    [deployment] = [o for o in deployed.values() if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == ECHO_IMAGE
    outputs = json.loads(app_team.pulumi("stack", "output", "--json").stdout)
    assert outputs == {"echoImage": ECHO_IMAGE}

    app_team.pulumi("destroy", "--yes", "--skip-preview")
    assert manifests(app_team.directory / "manifests") == {}
    assert manifests(platform.manifests_dir) == before
    platform.pulumi("preview", "--expect-no-changes")


def test_the_platforms_ce_edition_limits_an_app_teams_declaration(app_team: Workspace) -> None:
    app_team.pulumi("config", "set", "maxReplicas", str(names.CE_MAX_REPLICAS + 1))
    try:
        result = app_team.pulumi("preview", check=False)
    finally:
        app_team.pulumi("config", "rm", "maxReplicas")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "function 'echo'" in output and f"above the CE edition's limit of {names.CE_MAX_REPLICAS} replicas" in output, output
    assert "Traceback" not in output and "unhandled exception" not in output, output


def test_builds_go_under_the_app_teams_own_directory(app_team: Workspace) -> None:
    app_team.pulumi("config", "rm", "echoImage")
    try:
        result = app_team.pulumi("preview", "--json", check=False)
    finally:
        app_team.pulumi("config", "set", "echoImage", ECHO_IMAGE)
    steps = json.loads(result.stdout).get("steps", [])
    tags = [tag for step in steps if step["urn"].split("::")[-2].endswith("docker-build:index:Image")
            for tag in step.get("newState", {}).get("inputs", {}).get("tags", [])]
    assert tags and all(tag.startswith(f"{TEAM_REGISTRY}/echo:") for tag in tags), \
        f"the image goes to the platform stack's registry: {tags}\n{result.stderr[-2000:]}"
    context = app_team.project_dir / "build" / "functions" / "echo"
    assert (context / "function" / "handler.py").read_text() == \
        (APP_TEAM_EXAMPLE / "echo" / "handler.py").read_text()
    assert (context / "index.py").is_file(), "the template's entry point is rendered beside the handler"
    assert not (ROOT / "build" / "functions" / "echo").exists()
