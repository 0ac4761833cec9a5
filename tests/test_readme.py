"""The README stays true: its configuration reference matches the typed model, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from faasplane.components.config import reference as config_reference

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_configuration_reference_matches_the_model() -> None:
    assert config_reference.replace_in(README) == README, (
        "README's configuration reference is stale: run python -m faasplane.components.config.reference --write README.md"
    )


def test_every_setting_of_the_model_is_documented() -> None:
    keys = [key for key, *_ in config_reference.rows()]
    assert len(keys) > 40
    for key in keys:
        assert f"`{key}`" in README


def test_make_targets_named_in_the_readme_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z0-9-]+):", makefile, flags=re.M))
    for target in set(re.findall(r"`make ([a-z0-9-]+)", README)):
        assert target in targets, f"README names `make {target}`, which the Makefile lacks"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in README
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), flags=re.M)
