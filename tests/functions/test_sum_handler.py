"""The sum handler's Go tests: they run in the image build, and here with the machine's Go (functions tier)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from faasplane.components.function.templating import template
from faasplane.functions import FUNCTIONS_DIR
from tests import tiers

GO = shutil.which("go")


@pytest.mark.functions
def test_go_tests_pass():
    tiers.require(GO is not None, "functions", "go is not on PATH: the sum handler's tests run in its image build")
    result = subprocess.run([GO, "test", "./..."], cwd=FUNCTIONS_DIR / "sum", capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_build_runs_the_go_tests():
    dockerfile = (template("golang-middleware").directory / "Dockerfile.j2").read_text()
    test_step = dockerfile.index("go test ./...")
    assert test_step < dockerfile.index("go build"), "a failing test stops the build before the binary exists"
    assert (FUNCTIONS_DIR / "sum" / "handler_test.go").is_file()
