"""Running promtool and amtool on the generated documents, and the data their tests need."""

from __future__ import annotations

import copy
import functools
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from faasplane.components.config import AlertRule, duration_seconds
from faasplane.components.formatting import format_number
from faasplane.components.platform import monitoring_config
from scripts.tools import locate, missing_message
from tests import tiers

TOOL_TIMEOUT = 60


def require(tool: str) -> str:
    """The tool's path: the tools-built deployed version, the system's standing in outside CI; else the
    test skips (fails in CI, where the monitoring tier is required) saying how to get it."""
    located = locate(tool)
    tiers.require(located is not None, "monitoring", missing_message([tool]))
    assert located is not None
    return str(located.path)


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def write(directory: Path, files: dict[str, Any]) -> Path:
    """Dump each document into `directory` under its file name; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_text(monitoring_config.dump(data))
    return directory


@functools.cache
def knows_kubernetes_sd(promtool: str) -> bool:
    """Whether this promtool was built with Kubernetes service discovery.

    Debian's `prometheus` package is built without it: its promtool rejects `kubernetes_sd_configs`
    as an unknown field, while the upstream binaries (and the prom/prometheus image) accept it.
    """
    with tempfile.TemporaryDirectory() as directory:
        probe = Path(directory) / "prometheus.yml"
        probe.write_text(
            monitoring_config.dump(
                {"scrape_configs": [{"job_name": "probe", "kubernetes_sd_configs": [{"role": "pod"}]}]}
            )
        )
        result = run([promtool, "check", "config", str(probe)])
    if result.returncode == 0:
        return True
    if "kubernetes_sd_configs not found" in result.stdout + result.stderr:
        return False
    raise AssertionError(f"promtool failed on a minimal config:\n{explain(result)}")


def with_file_sd(prometheus: dict[str, Any], targets_file: str = "targets.json") -> dict[str, Any]:
    """The same document with each `kubernetes_sd_configs` swapped for a file SD.

    Everything else (globals, rule files, alerting, relabelling of the discovered pods) stays, so a
    promtool without Kubernetes discovery still checks all of it.
    """
    document = copy.deepcopy(prometheus)
    for job in document["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["file_sd_configs"] = [{"files": [targets_file]}]
    return document


# --- promtool test rules -------------------------------------------------------------------------

BURST = "burst.openfaas-fn"
STEADY = "steady.openfaas-fn"
IDLE = "idle.openfaas-fn"
BELOW = "below.openfaas-fn"
FAILING = "failing.openfaas-fn"
SERIES_SECONDS = 180


def _seconds(value: float) -> str:
    return f"{int(value)}s" if float(value).is_integer() else f"{int(value * 1000)}ms"


def _series(function: str, code: str, rps: float) -> dict[str, str]:
    """A counter from 0 at t=0, one sample a second, growing by `rps` a second."""
    return {
        "series": f'gateway_function_invocation_total{{code="{code}",function_name="{function}"}}',
        "values": f"0+{format_number(rps)}x{SERIES_SECONDS}",
    }


def rule_test_data(rule: AlertRule, rules_file: str = monitoring_config.RULES_FILE) -> dict[str, Any]:
    """A `promtool test rules` file for the scaling rule, with a sample every second from t=0.

    A counter that starts at t=0 shows `rate(x[W])` ramping up as the window fills: at t <= W it is
    rps * t / W. So:
    - BURST runs at 2 * W * threshold: above the threshold from the second sample (t=1s), which pins
      the moment the rule becomes pending; it must not fire at t=for and must fire at t=for+1s.
    - STEADY runs at twice the threshold: it crosses after W/2 and fires once the window is full.
    - IDLE (0), BELOW (half the threshold) never fire; FAILING (as BURST, but status 500) fires only
      when the rule counts every status code.
    """
    threshold = rule.threshold_rps
    hold = duration_seconds(rule.for_)
    window = duration_seconds(rule.rate_window)
    if window < 2:
        raise ValueError("the rule test needs a rate window of at least 2s (samples are 1s apart)")
    code = rule.status_code or "200"
    failing_code = "500" if rule.status_code != "500" else "503"
    burst = 2 * window * threshold
    series = [
        _series(BURST, code, burst),
        _series(STEADY, code, 2 * threshold),
        _series(IDLE, code, 0),
        _series(BELOW, code, threshold / 2),
        _series(FAILING, failing_code, burst),
    ]
    counted_failing = [FAILING] if rule.status_code is None else []

    def expected(functions: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "exp_labels": {"function_name": function, "service": "gateway", "severity": rule.severity},
                "exp_annotations": {
                    "description": f'High invocation total on "{function}"',
                    "summary": f'High invocation total on "{function}"',
                },
            }
            for function in sorted(functions)
        ]

    checks = [
        # Pending since t=1s: at t=for it has been pending for `for` minus one second.
        {"eval_time": _seconds(hold), "alertname": rule.name, "exp_alerts": []},
        {"eval_time": _seconds(hold + 1), "alertname": rule.name, "exp_alerts": expected([BURST, *counted_failing])},
        {
            "eval_time": _seconds(window + hold + 2),
            "alertname": rule.name,
            "exp_alerts": expected([BURST, STEADY, *counted_failing]),
        },
        {
            "eval_time": _seconds(window + hold + 60),
            "alertname": rule.name,
            "exp_alerts": expected([BURST, STEADY, *counted_failing]),
        },
    ]
    return {
        "rule_files": [rules_file],
        "evaluation_interval": "1s",
        "tests": [{"interval": "1s", "input_series": series, "alert_rule_test": checks}],
    }
