"""faasplane as an installable package: one import name (`faasplane`), every module of the sources shipped and
nothing else. The wheel is the one the app-team fixtures install (tests/engine/fixtures.py: built from a copy
of the sources, so a stale build/ in the checkout cannot leak into it)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.engine.fixtures import PYPROJECT, FaasplaneWheel, install_faasplane, package_sources

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def test_every_python_package_of_the_shipped_folders_is_listed() -> None:
    listed = set(SETUPTOOLS["packages"])
    for package, folder in SETUPTOOLS["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            if "templates" in relative.parts or (package == "faasplane.functions" and relative.parts):
                continue  # function templates and handlers are data: they are built into images
            name = ".".join([package, *relative.parts])
            assert name in listed, f"{name} ({init.parent}) is not in [tool.setuptools] packages"


def source_files(suffix: str) -> set[str]:
    """Every `suffix` file of the shipped folders, as the path the wheel would give it."""
    found = set()
    for package, folder in SETUPTOOLS["package-dir"].items():
        for path in (ROOT / folder).rglob(f"*{suffix}"):
            relative = path.relative_to(ROOT / folder)
            if "__pycache__" in relative.parts:
                continue
            found.add("/".join([*package.split("."), *relative.parts]))
    return found


def test_the_wheel_is_built_from_a_copy_of_the_sources() -> None:
    """What the wheel fixture copies follows pyproject.toml, so a new package folder cannot be left out."""
    copied = {path.relative_to(ROOT).as_posix() for path in package_sources()}
    assert copied == {"pyproject.toml", PYPROJECT["project"]["readme"], *SETUPTOOLS["package-dir"].values()}


@pytest.mark.timeout(600)
def test_the_wheel_holds_every_module_of_the_sources_and_nothing_else(faasplane_wheel: FaasplaneWheel) -> None:
    names = zipfile.ZipFile(faasplane_wheel.path).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"faasplane"}, "nothing else lands in site-packages, so no import name can collide"
    # The modules, and the function templates' and handlers' .py files (package data, built into images).
    shipped = {name for name in names if name.endswith(".py")}
    expected = source_files(".py")
    assert sorted(shipped - expected) == [], "in the wheel, but no longer in the sources"
    assert sorted(expected - shipped) == [], "in the sources, but missing from the wheel"
    for needed in ("faasplane/components/function/templates/python3-http/index.py",
                   "faasplane/components/function/templates/golang-middleware/main.go",
                   "faasplane/policies/PulumiPolicy.yaml", "faasplane/functions/sum/handler.go"):
        assert needed in names, needed


@pytest.mark.timeout(600)
def test_the_wheel_imports_from_a_clean_environment(faasplane_wheel: FaasplaneWheel, tmp_path: Path) -> None:
    python = install_faasplane(faasplane_wheel, tmp_path / "venv")
    probe = ("from faasplane.components.function import Function, PlatformRef; "
             "from faasplane.components.function.templating import template; "
             "print(template('python3-http').directory.is_dir())")
    result = subprocess.run([str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
