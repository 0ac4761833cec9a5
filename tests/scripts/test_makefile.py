"""The Makefile's help, and the lists it shares with the rest of the project (the tiers test-fast leaves out)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import tiers

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "Makefile"

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str) -> str:
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=True, timeout=60).stdout


@needs_make
def test_help_starts_every_description_in_one_column() -> None:
    lines = make("help").splitlines()
    targets = set(re.findall(r"^([a-z0-9-]+):.*## ", MAKEFILE.read_text(), flags=re.M))
    assert len(lines) == len(targets) and "cluster-down" in targets
    columns = set()
    for line in lines:
        match = re.fullmatch(r"(  make \S+ +)\S.*", line)
        assert match, line
        columns.add(len(match.group(1)))
    assert len(columns) == 1, f"descriptions start in columns {sorted(columns)}"


@needs_make
@pytest.mark.parametrize(("value", "cluster"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_only_a_true_cluster_value_targets_the_cluster(value: str, cluster: bool) -> None:
    for target in ("engine", "engine-down"):
        command = make("-n", target, f"CLUSTER={value}").splitlines()[-1]
        assert ("--cluster" in command.split()) is cluster, command


def test_test_fast_leaves_out_every_tier_but_the_unit_tier() -> None:
    """test-fast is the unit tier: it leaves out every tier that runs real tools (a marker of tests/tiers.py),
    whether CI requires that tier or not (e2e_kind is not required, and is left out all the same)."""
    [expression] = re.findall(r'^test-fast:.*\n\t.*pytest -m "not \(([^)]*)\)"', MAKEFILE.read_text(), flags=re.M)
    left_out = expression.split(" or ")
    assert len(left_out) == len(set(left_out))
    assert set(left_out) == set(tiers.TIERS) - {"unit"}
