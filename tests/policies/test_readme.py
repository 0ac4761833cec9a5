"""policies/README.md documents every policy as registered: severity, default enforcement, configuration."""

from __future__ import annotations

import re

from faasplane.components.render import ROOT
from faasplane.policies.rules import POLICIES

README = (ROOT / "policies" / "README.md").read_text()


def table_rows() -> dict[str, list[str]]:
    rows = {}
    for line in README.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([a-z-]+)`", cells[0]) if len(cells) == 8 else None
        if match:
            rows[match.group(1)] = cells
    return rows


def test_the_policy_table_matches_the_pack() -> None:
    rows = table_rows()
    assert list(rows) == [spec.name for spec in POLICIES]
    for spec in POLICIES:
        _, scope, _, severity, default, _, _, config = rows[spec.name]
        assert scope == spec.scope
        assert severity == spec.severity.value
        assert default.strip("*") == spec.enforcement.value
        for prop in spec.config:
            assert f"`{prop}`" in config, (spec.name, prop)
        if not spec.config:
            assert config == "none"


def test_both_ways_of_running_are_documented() -> None:
    assert "pulumi preview --stack prod --policy-pack policies --policy-pack-config policies/config/prod.json" in README
    assert "python -m faasplane.policies.check build/render/prod --config policies/config/prod.json" in README
    assert "make review STACK=prod" in README
