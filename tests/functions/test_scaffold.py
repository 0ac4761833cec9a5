"""The scaffold (`python -m faasplane.components.function.scaffold NAME --lang LANG`): a handler the template accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import unittest
from pathlib import Path

import pytest

from faasplane.components.function import Function, scaffold
from faasplane.components.function import templating as function_templates
from faasplane.components.function.args import FunctionArgs
from faasplane.components.function.templating import available_templates, template
from tests.functions.helpers import objects, platform_ref, render

ROOT = Path(__file__).resolve().parent.parent.parent
EXPECTED_FILES = {
    "python3-http": ["__init__.py", "handler.py", "requirements.txt", "test_handler.py"],
    "golang-middleware": ["go.mod", "handler.go", "handler_test.go"],
    "dockerfile": ["Dockerfile", "handler.sh", "test.sh"],
}


@pytest.fixture(autouse=True)
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(function_templates, "BUILD_DIR", tmp_path / "build")
    return tmp_path / "build"


def test_every_template_has_a_skeleton():
    assert set(EXPECTED_FILES) == set(available_templates())


@pytest.mark.parametrize("lang", sorted(EXPECTED_FILES))
def test_scaffold_creates_a_handler_the_template_accepts(tmp_path, lang):
    written = scaffold.scaffold("my-fn", lang, tmp_path)
    target = tmp_path / "my-fn"
    assert sorted(str(p.relative_to(target)) for p in written) == EXPECTED_FILES[lang]
    assert template(lang).handler_problems(target) == []
    assert not any("{{" in p.read_text() for p in written), "every placeholder is rendered"
    rendered, _ = render(lambda: Function("my-fn", FunctionArgs(handler=target, lang=lang), platform_ref()))
    assert "my-fn" in objects(rendered, "Deployment")


def test_python_skeleton_passes_its_own_test(tmp_path, monkeypatch):
    scaffold.scaffold("my-fn", "python3-http", tmp_path)
    package = tmp_path / "pkg" / "function"  # the layout of the image: /home/app/function
    shutil.copytree(tmp_path / "my-fn", package)
    monkeypatch.syspath_prepend(str(package.parent))
    for module in [m for m in sys.modules if m == "function" or m.startswith("function.")]:
        monkeypatch.delitem(sys.modules, module)
    suite = unittest.defaultTestLoader.discover(str(package), top_level_dir=str(package.parent))
    result = unittest.TextTestRunner(verbosity=0).run(suite)
    assert result.testsRun == 1
    assert result.wasSuccessful()


def test_dockerfile_skeleton_passes_its_own_test(tmp_path):
    scaffold.scaffold("my-fn", "dockerfile", tmp_path)
    if shutil.which("sh") is None:
        pytest.skip("no sh to run test.sh")
    result = subprocess.run(["sh", "test.sh"], cwd=tmp_path / "my-fn", capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_refuses_an_existing_directory(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(scaffold.ScaffoldError, match=r"taken already exists: choose another name, or remove"):
        scaffold.scaffold("taken", "python3-http", tmp_path)


def test_refuses_an_unknown_template(tmp_path):
    with pytest.raises(scaffold.ScaffoldError) as caught:
        scaffold.scaffold("a", "node18", tmp_path)
    assert str(caught.value) == "unknown template 'node18': expected one of dockerfile, golang-middleware, python3-http"
    assert not (tmp_path / "a").exists()


def test_refuses_an_invalid_name(tmp_path):
    with pytest.raises(scaffold.ScaffoldError, match=r"function name 'My_Fn' is not valid: expected a DNS-1123 label"):
        scaffold.scaffold("My_Fn", "python3-http", tmp_path)


def test_prints_the_declaration(tmp_path, capsys):
    assert scaffold.main(["echo", "--lang", "golang-middleware", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Created {tmp_path / 'echo'} from the golang-middleware template: go.mod, handler.go, ")
    assert out.endswith(
        "        Function(\n"
        '            "echo",\n'
        '            FunctionArgs(handler=FUNCTIONS_DIR / "echo", lang="golang-middleware", scale=Scale(min=1, max=5)),\n'
        "            platform,\n"
        "        ),\n"
    )


def test_command_line_exit_codes(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "faasplane.components.function.scaffold", *args, "--dir", str(tmp_path)]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert run("hi", "--lang", "python3-http").returncode == 0
    again = run("hi", "--lang", "python3-http")
    assert again.returncode == 2
    assert again.stderr == (
        f"faasplane.components.function.scaffold: {tmp_path / 'hi'} already exists: choose another name, or remove the directory first\n"
    )
    unknown = run("other", "--lang", "cobol")
    assert unknown.returncode == 2
    assert "unknown template 'cobol'" in unknown.stderr
