"""amtool accepts the generated alertmanager.yml and routes only the scaling alert to the scaler."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasplane.components import names
from faasplane.components.config import PlatformConfig
from faasplane.components.platform import monitoring_config as mc
from tests.monitoring import tools
from tests.monitoring.stacks import STACKS, pro_config, stack_config

pytestmark = pytest.mark.monitoring

CONFIGS = {stack: stack_config(stack) for stack in STACKS} | {"pro-renamed": pro_config()}


@pytest.fixture(scope="module")
def amtool() -> str:
    return tools.require("amtool")


def write_config(directory: Path, config: PlatformConfig, **kwargs: str) -> Path:
    tools.write(directory, {mc.ALERTMANAGER_FILE: mc.alertmanager_config(config, **kwargs)})
    return directory / mc.ALERTMANAGER_FILE


def routes_test(amtool: str, path: Path, receiver: str, *labels: str) -> tuple[int, str]:
    result = tools.run(
        [amtool, "config", "routes", "test", f"--config.file={path}", f"--verify.receivers={receiver}", *labels]
    )
    return result.returncode, tools.explain(result)


@pytest.mark.parametrize("name", CONFIGS)
def test_check_config_with_the_in_cluster_password_path(amtool: str, tmp_path: Path, name: str) -> None:
    """The file at /var/secrets need not exist: Alertmanager reads `password_file` when it sends."""
    path = write_config(tmp_path, CONFIGS[name])
    assert not Path(mc.PASSWORD_FILE).exists()
    result = tools.run([amtool, "check-config", str(path)])
    assert result.returncode == 0, tools.explain(result)
    assert "SUCCESS" in result.stdout


def test_check_config_with_a_real_password_file(amtool: str, tmp_path: Path) -> None:
    password = tmp_path / names.BASIC_AUTH_PASSWORD_KEY
    password.write_text("secret")
    path = write_config(tmp_path, stack_config("dev"), password_file=str(password))
    assert str(password) in path.read_text()
    result = tools.run([amtool, "check-config", str(path)])
    assert result.returncode == 0, tools.explain(result)


@pytest.mark.parametrize("name", CONFIGS)
def test_scaling_alert_reaches_the_scaler(amtool: str, tmp_path: Path, name: str) -> None:
    config = CONFIGS[name]
    path = write_config(tmp_path, config)
    functions_namespace = config.namespaces.functions
    for function in (f"sum.{functions_namespace}", f"other.{functions_namespace}", "bare"):
        code, output = routes_test(
            amtool, path, names.SCALER_RECEIVER, f"alertname={config.alert_rule.name}", f"function_name={function}"
        )
        assert code == 0, output


def test_default_rule_routes_like_the_chart_alert(amtool: str, tmp_path: Path) -> None:
    path = write_config(tmp_path, stack_config("dev"))
    code, output = routes_test(
        amtool, path, names.SCALER_RECEIVER, f"alertname={names.SCALING_ALERT_NAME}", "function_name=sum.openfaas-fn"
    )
    assert code == 0, output


UNRELATED = {
    "other-alert": ("alertname=Watchdog",),
    "other-alert-for-a-function": ("alertname=FunctionErrors", "function_name=sum.openfaas-fn"),
    "no-alertname": ("function_name=sum.openfaas-fn",),
    "prefix-of-the-name": ("alertname=APIHighInvocation",),
}


@pytest.mark.parametrize("labels", UNRELATED.values(), ids=UNRELATED.keys())
def test_unrelated_alerts_do_not_reach_the_scaler(amtool: str, tmp_path: Path, labels: tuple[str, ...]) -> None:
    path = write_config(tmp_path, stack_config("dev"))
    code, output = routes_test(amtool, path, mc.DEFAULT_RECEIVER, *labels)
    assert code == 0, output
    code, output = routes_test(amtool, path, names.SCALER_RECEIVER, *labels)
    assert code != 0, output


def test_renamed_rule_routes_by_its_own_name(amtool: str, tmp_path: Path) -> None:
    """A stack that renames the alert routes the new name, and the chart's name no longer scales."""
    path = write_config(tmp_path, pro_config())
    code, output = routes_test(
        amtool, path, mc.DEFAULT_RECEIVER, f"alertname={names.SCALING_ALERT_NAME}", "function_name=sum.faas-fns"
    )
    assert code == 0, output
