"""faasplane as an installable package: one import name (`faasplane`), every subpackage and data file shipped."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(["uv", "build", "--wheel", "--out-dir", str(out), str(ROOT)], capture_output=True,
                            text=True, timeout=300, check=False)
    if result.returncode != 0 and "No such file" in result.stderr:
        pytest.skip("uv is not on PATH")
    assert result.returncode == 0, result.stderr
    [built] = out.glob("*.whl")
    return built


def test_the_wheel_holds_one_import_package_with_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"faasplane"}, "nothing else lands in site-packages, so no import name can collide"
    for needed in ("faasplane/components/platform/__init__.py",
                   "faasplane/components/function/templates/python3-http/index.py",
                   "faasplane/components/function/templates/golang-middleware/main.go",
                   "faasplane/components/render/__main__.py", "faasplane/policies/PulumiPolicy.yaml",
                   "faasplane/scaler/__main__.py", "faasplane/functions/sum/handler.go"):
        assert needed in names, needed
    assert not any(name.startswith(("faasplane/tests", "faasplane/scripts")) for name in names)


def test_the_wheel_imports_from_a_clean_environment(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(["uv", "pip", "install", "--quiet", "--python", str(python), str(wheel)], check=True, timeout=600)
    probe = ("from faasplane.components.function import Function, PlatformRef; "
             "from faasplane.components.function.templating import template; "
             "print(template('python3-http').directory.is_dir())")
    result = subprocess.run([str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
