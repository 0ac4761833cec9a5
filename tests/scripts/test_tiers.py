"""The end-of-run tier table (tests/tiers.py): what it says when CI requires a tier whose tools are missing."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest
from tests.tiers import TierReport, require

def pytest_configure(config):
    config.addinivalue_line("markers", "engine: engine")
    config.addinivalue_line("markers", "queue: queue")
    config.pluginmanager.register(TierReport(), "faasplane-tiers")

@pytest.fixture(scope="session")
def pulumi():
    require(False, "engine", "pulumi not found: run `make tools`")
"""
TESTS = """
import pytest
from tests.tiers import require

@pytest.mark.engine
@pytest.mark.parametrize("n", range(3))
def test_engine(pulumi, n):
    pass

@pytest.mark.queue
def test_queue():
    require(False, "queue", "nats-server not found")

def test_unit():
    pass
"""


def table(result: pytest.RunResult) -> list[str]:
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "test tiers" in line)
    return lines[start + 1:]


def test_a_required_tier_with_missing_tools_says_why_in_ci(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_tiers_example=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, errors=3)
    lines = table(result)
    assert any(line.startswith("engine      FAILED (required in CI): 3 failed (required in CI)") for line in lines)
    assert "FAILED (required in CI): pulumi not found: run `make tools` x3" in "\n".join(lines)
    assert any(line.startswith("queue       FAILED (required in CI): 1 failed (required in CI)") for line in lines)
    assert "FAILED (required in CI): nats-server not found x1" in "\n".join(lines)
    assert any(line.startswith("unit        RAN: 1 passed") for line in lines)
    assert not any("RAN: " in line and "errors" in line for line in lines)


def test_outside_ci_the_same_tier_is_skipped_with_its_reason(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_tiers_example=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=4)
    text = "\n".join(table(result))
    assert "engine      SKIPPED: 3 skipped" in text
    assert "skipped 3: pulumi not found: run `make tools`" in text


def test_outside_ci_the_report_names_the_binary_the_loop_ran_instead(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("PROMETHEUS_BIN", "/opt/other/prometheus")
    monkeypatch.delenv("ALERTMANAGER_BIN", raising=False)
    pytester.makeconftest(CONFTEST.replace('"queue: queue")', '"queue: queue")\n    config.addinivalue_line('
                                                              '"markers", "monitoring: monitoring")'))
    pytester.makepyfile(test_tiers_example="import pytest\n\n@pytest.mark.monitoring\ndef test_loop():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    lines = table(result)
    assert any(line.strip() == "but the scaling loop ran $PROMETHEUS_BIN (/opt/other/prometheus)" for line in lines)
    assert not any("$ALERTMANAGER_BIN" in line for line in lines)
