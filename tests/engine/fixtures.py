"""Fixtures of the engine and cluster tiers: the program under the real Pulumi CLI, language host and
providers (`make tools`). Registered for the whole suite by tests/conftest.py.

Every stack lives in a temporary directory of its own (nothing touches build/engine); PULUMI_HOME, with the
provider plugins installed from the tools cache, is shared by the session.

The faasplane wheel (`faasplane_wheel`) is built once per session from a copy of the package's sources, not
in the checkout, so nothing a build leaves in the checkout (build/lib, *.egg-info) can reach it; the unit
tier's tests/test_package.py checks it and the app-team fixtures of the engine and cluster tiers install it
(`install_faasplane`, with the SDK versions of uv.lock).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts import tools
from scripts.engine import ROOT, EngineStack, Workspace, missing_tools
from tests.tiers import require


@pytest.fixture(scope="session")
def engine_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = missing_tools()
    require(not missing, "engine", f"{', '.join(missing)} not built here: run `make tools` (cache {tools.home()})")
    return tmp_path_factory.mktemp("pulumi-home")


@pytest.fixture(scope="session")
def new_engine(tmp_path_factory: pytest.TempPathFactory, engine_home: Path) -> Callable[..., EngineStack]:
    """A fresh engine stack in a directory of its own: `new_engine("dev", overrides={...})`."""

    def make(stack: str, **kwargs: object) -> EngineStack:
        engine = EngineStack(stack, directory=tmp_path_factory.mktemp(f"engine-{stack}"), home=engine_home,
                             **kwargs)  # type: ignore[arg-type]
        engine.prepare()
        return engine

    return make


@pytest.fixture(scope="session")
def deployed(new_engine: Callable[..., EngineStack]) -> Callable[[str], EngineStack]:
    """dev and prod after `pulumi up`, shared by the read-only tests of the session."""
    stacks: dict[str, EngineStack] = {}

    def get(stack: str) -> EngineStack:
        if stack not in stacks:
            engine = new_engine(stack)
            engine.pulumi("up", "--yes", "--skip-preview")
            stacks[stack] = engine
        return stacks[stack]

    return get


# --- the faasplane wheel and the application team's project ------------------------------------------

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SOURCE_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "build", "*.egg-info", ".pytest_cache")
"""What a checkout accumulates that is not source (all of it gitignored)."""
APP_TEAM_EXAMPLE = ROOT / "examples" / "app-team"
ECHO_IMAGE = "localhost:5001/echo@sha256:" + "e" * 64
"""The prebuilt image the app team's tests deploy (these machines build no images)."""
WHEEL_BUILD_TIMEOUT = 240
INSTALL_TIMEOUT = 240
"""Both below pytest-timeout's 300 s, so they fire first; the fixtures' first consumers get a longer budget."""


def package_sources() -> list[Path]:
    """What a build of the faasplane distribution reads: pyproject.toml, its readme and the package folders."""
    folders = sorted(set(PYPROJECT["tool"]["setuptools"]["package-dir"].values()))
    return [ROOT / "pyproject.toml", ROOT / PYPROJECT["project"]["readme"], *(ROOT / folder for folder in folders)]


@dataclass(frozen=True)
class FaasplaneWheel:
    path: Path
    constraints: Path
    """`uv export --frozen` of the runtime dependencies: the versions of uv.lock, whose plugins make tools built."""


def build_faasplane_wheel(directory: Path) -> FaasplaneWheel:
    """`uv build` of a copy of the sources: an sdist, then the wheel from the sdist."""
    source = directory / "source"
    source.mkdir()
    for path in package_sources():
        if path.is_dir():
            shutil.copytree(path, source / path.relative_to(ROOT), ignore=SOURCE_IGNORE)
        else:
            shutil.copy2(path, source / path.name)
    out = directory / "dist"
    result = subprocess.run(["uv", "build", "--quiet", "--out-dir", str(out), str(source)], capture_output=True,
                            text=True, timeout=WHEEL_BUILD_TIMEOUT, check=False)
    assert result.returncode == 0, f"uv build failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    [wheel] = out.glob("*.whl")
    exported = subprocess.run(["uv", "export", "--frozen", "--no-default-groups", "--no-emit-project",
                               "--no-hashes", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              check=False)
    assert exported.returncode == 0, exported.stderr
    constraints = directory / "constraints.txt"
    constraints.write_text(exported.stdout)
    return FaasplaneWheel(wheel, constraints)


@pytest.fixture(scope="session")
def faasplane_wheel(tmp_path_factory: pytest.TempPathFactory) -> FaasplaneWheel:
    if shutil.which("uv") is None:
        pytest.skip("uv is not on PATH: the faasplane wheel is built and installed with uv")
    return build_faasplane_wheel(tmp_path_factory.mktemp("faasplane-wheel"))


def install_faasplane(wheel: FaasplaneWheel, venv: Path) -> Path:
    """A new virtualenv at `venv` with the wheel and its dependencies (constrained to uv.lock); its python."""
    subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(["uv", "pip", "install", "--quiet", "--python", str(python), "--constraint",
                    str(wheel.constraints), str(wheel.path)], check=True, timeout=INSTALL_TIMEOUT)
    return python


def app_team_workspace(directory: Path, wheel: FaasplaneWheel, platform: EngineStack, home: Path) -> Workspace:
    """A copy of examples/app-team in `directory`/project with a virtualenv of its own holding the faasplane
    wheel (nothing else of this repository), on the platform stack's backend and passphrase."""
    project = directory / "project"
    shutil.copytree(APP_TEAM_EXAMPLE, project, ignore=shutil.ignore_patterns(".venv", "build", "Pulumi.*.yaml",
                                                                            "uv.lock"))
    install_faasplane(wheel, project / ".venv")
    workspace = Workspace("dev", directory, home=home, project=project, state=platform.state_dir,
                          passphrase=platform.passphrase_file)
    workspace.prepare()
    return workspace
