"""The admin password under the real engine: readable with --show-secrets, never in plain text in the state."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from scripts.engine import EngineStack

pytestmark = pytest.mark.engine


def test_the_admin_password_is_a_secret_output_and_never_plain_in_the_state(
    deployed: Callable[[str], EngineStack],
) -> None:
    engine = deployed("dev")
    password = engine.pulumi("config", "get", "faasplane:adminPassword").stdout.strip()
    assert len(password) >= 30
    assert engine.pulumi("stack", "output", "adminPassword", "--show-secrets").stdout.strip() == password
    assert engine.pulumi("stack", "output", "adminPassword").stdout.strip() == "[secret]"

    exported = json.dumps(engine.export())
    assert password not in exported
    state_files = [path for path in engine.state_dir.rglob("*") if path.is_file()]
    assert state_files and not any(password.encode() in path.read_bytes() for path in state_files)
    assert password not in engine.stack_file.read_text(), "the stack file holds it encrypted"
    assert password in json.dumps(engine.export(show_secrets=True)), "the check above can see a leak"
