"""Test tiers: which ran, which were skipped and why, printed at the end of every run (and so by `.ci/run`).

A tier is a marker (`engine`, `monitoring`, `functions`, `queue`, `cluster`, `e2e_kind`); tests
without one are the `unit` tier. With `CI=true`, a required tier whose tools are missing fails its tests
instead of skipping them (see `require`).
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest

from scripts.tools import in_ci, locate

TIERS = {
    "unit": "mocks, test doubles and pure code",
    "monitoring": "Prometheus and Alertmanager at the deployed versions: rules, routes, the scaling loop",
    "engine": "the real Pulumi CLI, language host and providers (make tools)",
    "functions": "the function templates built and served for real (without of-watchdog: not served here)",
    "queue": "NATS Streaming and NATS JetStream at the deployed versions (make tools)",
    "cluster": "a real Kubernetes control plane on loopback (make tools)",
    "e2e_kind": "docker, kind and the Pulumi CLI on a user's machine",
}
REQUIRED_IN_CI = ("engine", "monitoring", "functions", "queue", "cluster")
"""Tiers CI may not skip: with CI=true their missing tools fail the tests."""
TOOLS = {
    "engine": ("pulumi",),
    "monitoring": ("prometheus", "promtool", "alertmanager", "amtool"),
    "queue": ("nats-streaming-server", "nats-server"),
    "cluster": ("kube-apiserver", "etcd", "kwok"),
}
"""The tools a tier runs, named with their version and origin under the tier when it ran."""
LOOP_OVERRIDES = {"prometheus": "PROMETHEUS_BIN", "alertmanager": "ALERTMANAGER_BIN"}
"""Environment variables that point the monitoring tier's scaling loop (tests/loop) at other binaries,
outside CI only: CI runs the deployed versions. The report names them when they are set."""


REQUIRED_FAILURE = re.compile(r"the (\w+) tier is required in CI, but (.*)", re.S)
"""The message of `require`'s failure, from which the tier report takes the reason."""


def require(available: bool, tier: str, reason: str) -> None:
    """Skip with `reason` when a tier's tools are missing, or fail when CI requires the tier."""
    if available:
        return
    if in_ci() and tier in REQUIRED_IN_CI:
        pytest.fail(f"the {tier} tier is required in CI, but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class TierResult:
    outcomes: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    required_failures: Counter[str] = field(default_factory=Counter)
    """Reasons `require` failed tests of a tier CI requires (its tools are missing)."""
    called: int = 0
    """Tests that reached their call phase: the tier ran only if some did."""


def tier_of(item: pytest.Item) -> str:
    for name in TIERS:
        if name != "unit" and item.get_closest_marker(name) is not None:
            return name
    return "unit"


class TierReport:
    """A pytest plugin: counts outcomes per tier and prints them with the reasons for skips."""

    def __init__(self) -> None:
        self.tiers: dict[str, str] = {}
        self.results: dict[str, TierResult] = defaultdict(TierResult)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.tiers = {item.nodeid: tier_of(item) for item in items}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.results[self.tiers.get(report.nodeid, "unit")]
        required = REQUIRED_FAILURE.match(report.longreprtext.strip()) if report.failed else None
        if required is not None:
            result.outcomes["failed (required in CI)"] += 1
            result.required_failures[required.group(2).strip().splitlines()[0]] += 1
            return
        if report.when == "call":
            result.called += 1
        if report.skipped and hasattr(report, "wasxfail"):
            result.outcomes["xfailed"] += 1
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            result.outcomes["skipped"] += 1
            result.skip_reasons[reason.removeprefix("Skipped: ")] += 1
        elif report.when == "call":
            result.outcomes["xpassed" if hasattr(report, "wasxfail") else report.outcome] += 1
        elif report.failed:
            result.outcomes["errors"] += 1

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        write = terminalreporter.write_line
        terminalreporter.section("test tiers")
        for tier, description in TIERS.items():
            result = self.results.get(tier)
            collected = sum(1 for value in self.tiers.values() if value == tier)
            if not collected:
                write(f"{tier:<11} not selected ({description})")
                continue
            counts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(result.outcomes.items())) \
                if result else "not run"
            ran = result is not None and result.called > 0
            failed = result is not None and bool(result.required_failures)
            status = "RAN" if ran else "FAILED (required in CI)" if failed else "SKIPPED"
            write(f"{tier:<11} {status}: {counts} ({description})")
            if ran:
                for name in TOOLS.get(tier, ()):
                    located = locate(name)
                    write(f"{'':<11}   uses {located.describe() if located else name + ': not found'}")
                    override = LOOP_OVERRIDES.get(name) if tier == "monitoring" and not in_ci() else None
                    if override and os.environ.get(override):
                        write(f"{'':<11}     but the scaling loop ran ${override} ({os.environ[override]})")
            for reason, count in (result.required_failures.most_common() if result else []):
                write(f"{'':<11}   FAILED (required in CI): {reason} x{count}")
            for reason, count in (result.skip_reasons.most_common() if result else []):
                write(f"{'':<11}   skipped {count}: {reason}")
