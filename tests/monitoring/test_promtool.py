"""promtool accepts the generated prometheus.yml and rules.yml, and the scaling alert fires when it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasplane.components.config import AlertRule, Prometheus
from faasplane.components.platform import monitoring_config as mc
from tests.monitoring import tools
from tests.monitoring.stacks import PROD_LIKE_RULE, STACKS, pro_config, stack_config

pytestmark = pytest.mark.monitoring


@pytest.fixture(scope="module")
def promtool() -> str:
    return tools.require("promtool")


PRO = "pro"
"""Not a stack file: the Pro configuration of tests.monitoring.stacks (its prometheus.yml adds the queue-worker job)."""


def rendered_files(stack: str) -> dict[str, object]:
    config = pro_config() if stack == PRO else stack_config(stack)
    return {mc.PROMETHEUS_FILE: mc.prometheus_config(config), mc.RULES_FILE: mc.rules_data(config.alert_rule)}


def test_the_pro_case_has_the_queue_worker_job() -> None:
    jobs = rendered_files(PRO)[mc.PROMETHEUS_FILE]["scrape_configs"]  # type: ignore[index]
    assert [job["job_name"] for job in jobs] == [mc.SCRAPE_JOB, mc.QUEUE_WORKER_JOB]


@pytest.mark.parametrize("stack", [*STACKS, PRO])
def test_check_config_as_rendered(promtool: str, tmp_path: Path, stack: str) -> None:
    if not tools.knows_kubernetes_sd(promtool):
        pytest.skip(
            "this promtool is built without Kubernetes service discovery (Debian's package is): "
            "test_check_config_with_file_sd checks the rest of the same document"
        )
    directory = tools.write(tmp_path / stack, rendered_files(stack))
    result = tools.run([promtool, "check", "config", str(directory / mc.PROMETHEUS_FILE)])
    assert result.returncode == 0, tools.explain(result)


@pytest.mark.parametrize("stack", [*STACKS, PRO])
def test_check_config_with_file_sd(promtool: str, tmp_path: Path, stack: str) -> None:
    files = rendered_files(stack)
    files[mc.PROMETHEUS_FILE] = tools.with_file_sd(files[mc.PROMETHEUS_FILE])  # type: ignore[arg-type]
    directory = tools.write(tmp_path / stack, files)
    (directory / "targets.json").write_text("[]")
    # Run from elsewhere: the relative rule file must resolve beside prometheus.yml, not in the cwd.
    result = tools.run([promtool, "check", "config", str(directory / mc.PROMETHEUS_FILE)], cwd=tmp_path)
    assert result.returncode == 0, tools.explain(result)
    output = result.stdout + result.stderr
    assert str(directory / mc.RULES_FILE) in output and "1 rules found" in output, output


def test_check_config_loopback_static_targets(promtool: str, tmp_path: Path) -> None:
    """The builder a full-loop test uses: fixed loopback addresses, fast intervals, no Kubernetes."""
    settings = Prometheus(scrape_interval="1s", evaluation_interval="1s", gateway_scrape_interval="1s")
    data = mc.prometheus_data(
        settings, alertmanager_targets=["127.0.0.1:19093"], static_targets=["127.0.0.1:18082"]
    )
    directory = tools.write(tmp_path, {mc.PROMETHEUS_FILE: data, mc.RULES_FILE: mc.rules_data(AlertRule())})
    result = tools.run([promtool, "check", "config", str(directory / mc.PROMETHEUS_FILE)])
    assert result.returncode == 0, tools.explain(result)


@pytest.mark.parametrize("stack", STACKS)
def test_check_rules(promtool: str, tmp_path: Path, stack: str) -> None:
    directory = tools.write(tmp_path, {mc.RULES_FILE: mc.rules_data(stack_config(stack).alert_rule)})
    result = tools.run([promtool, "check", "rules", str(directory / mc.RULES_FILE)])
    assert result.returncode == 0, tools.explain(result)


RULES = {
    "default": AlertRule(),
    "prod-like": PROD_LIKE_RULE,
    "every-status-code": pro_config().alert_rule,
    "fractional": AlertRule(threshold_rps=2.5, for_="3s", rate_window="20s", severity="minor"),
}


@pytest.mark.parametrize("rule", RULES.values(), ids=RULES.keys())
def test_alert_fires_only_for_the_busy_function_after_for(promtool: str, tmp_path: Path, rule: AlertRule) -> None:
    directory = tools.write(
        tmp_path, {mc.RULES_FILE: mc.rules_data(rule), "rules_test.yml": tools.rule_test_data(rule)}
    )
    result = tools.run([promtool, "test", "rules", "rules_test.yml"], cwd=directory)
    assert result.returncode == 0, tools.explain(result)


BROKEN = {
    "fires-early": AlertRule(for_="4s"),
    "fires-late": AlertRule(for_="6s"),
    "threshold-too-high": AlertRule(threshold_rps=20),
    "counts-errors": AlertRule(status_code=None),
}


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_rule_test_rejects_a_different_rule(promtool: str, tmp_path: Path, broken: AlertRule) -> None:
    """The unit test has teeth: the default rule's test fails against a rule that differs from it."""
    directory = tools.write(
        tmp_path, {mc.RULES_FILE: mc.rules_data(broken), "rules_test.yml": tools.rule_test_data(AlertRule())}
    )
    result = tools.run([promtool, "test", "rules", "rules_test.yml"], cwd=directory)
    assert result.returncode == 1, tools.explain(result)
    assert "FAILED" in result.stdout + result.stderr
