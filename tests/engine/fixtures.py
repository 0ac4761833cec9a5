"""Fixtures of the engine and cluster tiers: the program under the real Pulumi CLI, language host and
providers (`make tools`). Registered for the whole suite by tests/conftest.py.

Every stack lives in a temporary directory of its own (nothing touches build/engine); PULUMI_HOME, with the
provider plugins installed from the tools cache, is shared by the session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scripts import tools
from scripts.engine import EngineStack
from scripts.tools.build import built_binary
from scripts.tools.pins import load as load_pins
from tests.tiers import require


def missing_tools() -> list[str]:
    """What `make tools` has not built of the engine tier."""
    missing = [] if tools.find("pulumi") else ["the Pulumi CLI"]
    for tool in load_pins():
        if tool.plugin and built_binary(tool, f"pulumi-resource-{tool.plugin}") is None:
            missing.append(f"the {tool.plugin} provider {tool.release}")
    return missing


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
def deployed(new_engine: Callable[..., EngineStack]) -> Iterator[Callable[[str], EngineStack]]:
    """dev and prod after `pulumi up`, shared by the read-only tests of the session."""
    stacks: dict[str, EngineStack] = {}

    def get(stack: str) -> EngineStack:
        if stack not in stacks:
            engine = new_engine(stack)
            engine.pulumi("up", "--yes", "--skip-preview")
            stacks[stack] = engine
        return stacks[stack]

    yield get
