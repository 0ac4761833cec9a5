"""scripts/pin-images.py runs in the project's environment and says so, in one line, anywhere else."""

from __future__ import annotations

import subprocess
import sys

from faasplane.components.render import ROOT

SCRIPT = ROOT / "scripts" / "pin-images.py"


def test_it_runs_in_the_project_environment() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--stack STACK" in result.stdout


def test_without_faasplane_it_says_how_to_run_it_instead_of_a_traceback() -> None:
    # -S: no site-packages, so the installed `faasplane` package is not importable (as under a system python3).
    result = subprocess.run([sys.executable, "-S", str(SCRIPT), "--stack", "prod"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "scripts/pin-images.py: cannot import faasplane (this Python is not the project's environment): "
        "run it with uv run --frozen python scripts/pin-images.py --stack STACK [--apply]"
    ]
