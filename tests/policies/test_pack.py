"""`policies/__main__.py` builds the PolicyPack Pulumi runs, without starting its (blocking) server."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
import yaml
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity, StackValidationPolicy

from faasplane.components.render import ROOT
from faasplane.policies.rules import POLICIES

PACK_DIR = ROOT / "policies"
EXPECTED = [
    # name, kind, severity, default enforcement, configurable properties
    ("function-scale-bounds", ResourceValidationPolicy, Severity.MEDIUM, "mandatory", ["maxReplicasCeiling"]),
    ("container-resources", ResourceValidationPolicy, Severity.MEDIUM, "mandatory", ["maxMemoryLimit"]),
    ("pinned-images", ResourceValidationPolicy, Severity.HIGH, "mandatory", ["digestsOnly"]),
    ("pod-hardening", ResourceValidationPolicy, Severity.HIGH, "mandatory", []),
    ("gateway-auth", ResourceValidationPolicy, Severity.CRITICAL, "mandatory", []),
    ("network-isolation", StackValidationPolicy, Severity.HIGH, "mandatory", []),
    ("scaling-wiring", StackValidationPolicy, Severity.HIGH, "mandatory", []),
    ("edition-limits", StackValidationPolicy, Severity.HIGH, "mandatory", ["edition"]),
    ("no-plaintext-secrets", ResourceValidationPolicy, Severity.CRITICAL, "mandatory", ["allowedNames"]),
    ("exposure", ResourceValidationPolicy, Severity.HIGH, "advisory", ["tlsAnnotations"]),
]


class PackRecorder:
    """Stands in for `PolicyPack`, whose constructor would start the gRPC server and block."""

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        PackRecorder.calls.append((args, kwargs))


def test_the_pack_imports_the_project_from_a_bare_interpreter() -> None:
    """In a fresh interpreter outside the project (as the Pulumi analyzer plugin starts it), `__main__.py`
    finds `faasplane.policies.rules` and `faasplane.components` in the installed package; PolicyPack is swapped for a recorder."""
    script = (
        "import runpy, sys, pulumi_policy\n"
        "calls = []\n"
        "pulumi_policy.PolicyPack = lambda *a, **k: calls.append((a, k))\n"
        f"sys.path = [{str(PACK_DIR)!r}] + [p for p in sys.path if p not in ('', {str(ROOT)!r})]\n"
        f"runpy.run_path({str(PACK_DIR)!r}, run_name='__main__')\n"
        "[(args, kwargs)] = calls\n"
        "print(args[0], len(args[1]), kwargs['enforcement_level'].value)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd="/", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["faasplane", "10", "mandatory"]


def test_importing_main_only_defines_the_policy_list() -> None:
    from faasplane.policies.__main__ import build_policies

    policies = build_policies()
    assert [
        (p.name, type(p), p.severity, p.enforcement_level.value,
         sorted(p.config_schema.properties) if p.config_schema else [])
        for p in policies
    ] == [(name, kind, severity, level, sorted(config)) for name, kind, severity, level, config in EXPECTED]
    assert all(p.description and p.remediation_steps for p in policies)


def test_running_the_pack_as_pulumi_does_registers_every_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pulumi runs `runpy.run_path(<pack dir>, run_name="__main__")` with the pack dir first on sys.path."""
    PackRecorder.calls.clear()
    monkeypatch.setattr(pulumi_policy, "PolicyPack", PackRecorder)
    monkeypatch.setattr(sys, "path", [str(PACK_DIR), *[p for p in sys.path if p not in ("", str(ROOT))]])
    runpy.run_path(str(PACK_DIR), run_name="__main__")
    [(args, kwargs)] = PackRecorder.calls
    name, policies = args
    assert name == "faasplane"
    assert kwargs == {"enforcement_level": EnforcementLevel.MANDATORY}
    assert [p.name for p in policies] == [spec.name for spec in POLICIES]
    assert len({p.name for p in policies}) == 10


def test_the_policies_validate_with_the_same_functions_the_check_runs() -> None:
    from faasplane.policies.__main__ import build_policies

    for policy, spec in zip(build_policies(), POLICIES, strict=True):
        assert policy.name == spec.name
        # The validator is stored privately by pulumi-policy; it must be the very function check.py calls.
        stored = getattr(policy, f"_{type(policy).__name__}__validate")
        assert stored is spec.validate


def test_config_schemas_have_defaults_the_cli_fills_in() -> None:
    for spec in POLICIES:
        for prop, schema in spec.config.items():
            assert "description" in schema, (spec.name, prop)
            if prop != "edition":  # unset edition means "infer from the gateway image"
                assert "default" in schema, (spec.name, prop)


def test_pulumi_policy_yaml_declares_a_python_pack() -> None:
    document = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert document["runtime"] == {"name": "python", "options": {"toolchain": "uv"}}, "runs in the project's .venv"
    assert Path(PACK_DIR / "__main__.py").is_file()
