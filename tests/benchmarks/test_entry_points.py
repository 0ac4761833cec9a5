"""Every benchmark runs both as a module (`python -m benchmarks.X`) and as a file (`python benchmarks/X.py`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem != "__init__")


def test_the_benchmarks_are_the_ones_the_readme_lists() -> None:
    assert BENCHMARKS == ["engine", "functions", "reaction", "render", "scaler"]


@pytest.mark.parametrize("name", BENCHMARKS)
@pytest.mark.parametrize("how", ["module", "file"])
def test_runs_as_a_module_and_as_a_file(name: str, how: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", f"benchmarks.{name}"] if how == "module" else \
        [sys.executable, str(ROOT / "benchmarks" / f"{name}.py")]
    # From another directory, so nothing but the entry point itself makes the repository importable.
    result = subprocess.run([*command, "--help"], cwd=ROOT if how == "module" else tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
