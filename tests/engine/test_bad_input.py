"""Bad input reaches the user as the real CLI shows it: the project's message, and no traceback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scripts.engine import EngineStack

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def engine(new_engine: Callable[..., EngineStack]) -> EngineStack:
    return new_engine("dev")


def preview_fails_with(engine: EngineStack, *messages: str) -> str:
    result = engine.pulumi("preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for message in messages:
        assert message in output, output
    assert "Traceback" not in output and "unhandled exception" not in output, output
    return output


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (
            ["--path", "faasplane:gateway.replicsa", "2"],
            ["faasplane:gateway.replicsa: unknown key (did you mean 'replicas'?)"],
        ),
        (
            ["faasplane:licenseKey", "a-licence-in-plain-text"],
            ["faasplane:licenseKey: must be a secret: pulumi config set --secret faasplane:licenseKey"],
        ),
        (
            ["--path", "faasplane:queue.maxInflight", "4"],
            ["queue.maxInflight 4 is not supported by the OpenFaaS CE queue-worker", "use edition 'pro'"],
        ),
        (
            ["--path", "faasplane:queue.streamReplicas", "3"],
            ["faasplane:queue.streamReplicas: 3 is not valid", "faasplane runs one NATS server"],
        ),
        (
            ["--path", "faasplane:profiles.createCrd", "true"],
            ["profiles.createCrd true: Profiles are an OpenFaaS Pro feature", "use edition 'pro'"],
        ),
    ],
    ids=["misspelt-key", "plain-text-secret", "ce-limit", "stream-replicas", "ce-profile-crd"],
)
def test_bad_config_stops_preview_with_the_projects_message(
    engine: EngineStack, args: list[str], messages: list[str]
) -> None:
    engine.pulumi("config", "set", *args)
    try:
        preview_fails_with(engine, "invalid stack configuration", *messages)
    finally:
        key = args[1] if args[0] == "--path" else args[0]
        engine.pulumi("config", "rm", *(["--path"] if args[0] == "--path" else []), key)
    engine.pulumi("preview")


def test_a_missing_admin_password_names_the_command_that_sets_it(engine: EngineStack) -> None:
    engine.pulumi("config", "rm", "faasplane:adminPassword")
    try:
        preview_fails_with(engine, "faasplane:adminPassword: not set",
                           'pulumi config set --secret faasplane:adminPassword "$(openssl rand -base64 30)"')
    finally:
        engine.set_secret("faasplane:adminPassword", "a-new-admin-password-of-the-test")


def test_pro_without_the_profile_crd_learns_it_at_preview(engine: EngineStack) -> None:
    """The Pro provider reads Profiles; a stack that does not install their CRD says so before anything runs."""
    engine.pulumi("config", "set", "faasplane:edition", "pro")
    engine.set_secret("faasplane:licenseKey", "test-licence")
    try:
        result = engine.pulumi("preview")
        output = result.stdout + result.stderr
        assert "the Profile CRD (profiles.openfaas.com)" in output, output
        assert "faasplane:profiles.createCrd true" in output, output
    finally:
        engine.pulumi("config", "rm", "faasplane:edition")
        engine.pulumi("config", "rm", "faasplane:licenseKey")
