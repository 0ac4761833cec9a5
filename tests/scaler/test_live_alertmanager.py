"""The real Alertmanager (the deployed version, from make tools) posting to `python -m faasplane.scaler` with
real basic auth, and the scaler scaling the faas-provider double. Loopback only."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import yaml

from faasplane.scaler.labels import SCALE_DOWN_WINDOW, SCALE_MAX
from tests.doubles.faas_provider import DoubleFunction, FaasProviderDouble
from tests.doubles.processes import free_port, managed, scaler_process, wait_http
from tests.monitoring import tools

pytestmark = pytest.mark.monitoring


@pytest.fixture(scope="module")
def alertmanager_bin() -> str:
    return tools.require("alertmanager")


def alertmanager_config(scaler_url: str, password_file: str, wrong_password_file: str) -> dict:
    def receiver(name: str, password: str) -> dict:
        return {"name": name, "webhook_configs": [{
            "url": f"{scaler_url}/system/alert",
            "send_resolved": True,
            "max_alerts": 0,
            "http_config": {"basic_auth": {"username": "alertmanager", "password_file": password}},
        }]}

    return {
        "route": {
            "receiver": "scaler",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            # short, so the test sees real repeats of the same notification
            "repeat_interval": "2s",
            "routes": [{"receiver": "intruder", "matchers": ['team="intruder"']}],
        },
        "receivers": [receiver("scaler", password_file), receiver("intruder", wrong_password_file)],
    }


def wait_for(condition, timeout: float, what: str, details=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{details()}")


def post_alert(alertmanager: str, function_name: str, *, ends: datetime | None = None, **labels: str) -> None:
    alert = {
        "labels": {"alertname": "APIHighInvocationRate", "function_name": function_name, **labels},
        "annotations": {"description": "live test"},
        "startsAt": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    httpx.post(f"{alertmanager}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()


def metric(scaler_url: str, line_start: str) -> float:
    for line in httpx.get(f"{scaler_url}/metrics", timeout=5).text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_alertmanager_drives_the_scaler_with_basic_auth(tmp_path, alertmanager_bin):
    password_file = tmp_path / "password"
    password_file.write_text(secrets.token_urlsafe(24))
    wrong_password_file = tmp_path / "wrong-password"
    wrong_password_file.write_text("not-the-password")
    double = FaasProviderDouble([
        DoubleFunction("echo", labels={SCALE_MAX: "20", SCALE_DOWN_WINDOW: "0s"}),
        DoubleFunction("other"),
    ])
    with double.serve() as double_url:
        env = {
            "SCALER_PROVIDER_URL": double_url,
            "SCALER_AUTH_USER": "alertmanager",
            "SCALER_AUTH_PASSWORD_FILE": str(password_file),
            "SCALER_RECONCILE_INTERVAL": "1s",
            "SCALER_DOWN_PERIOD": "1s",
        }
        with scaler_process(env, tmp_path / "scaler.log") as (scaler_url, scaler):
            config_file = tmp_path / "alertmanager.yml"
            config_file.write_text(yaml.safe_dump(
                alertmanager_config(scaler_url, str(password_file), str(wrong_password_file))
            ))
            port = free_port()
            alertmanager = f"http://127.0.0.1:{port}"
            args = [alertmanager_bin, f"--config.file={config_file}", f"--storage.path={tmp_path / 'am-data'}",
                    f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
            with managed(args, tmp_path / "alertmanager.log") as am:
                wait_http(f"{alertmanager}/-/ready", am)

                def logs() -> str:
                    return f"--- scaler ---\n{scaler.log()}\n--- alertmanager ---\n{am.log()}"

                # firing: one CE step (no Prometheus configured): 1 -> 3 for max 20
                post_alert(alertmanager, "echo.openfaas-fn")
                wait_for(lambda: double.replicas("echo") == 3, 20, "the firing webhook to scale echo", logs)

                # an alert routed with the wrong password is refused (401) and scales nothing
                post_alert(alertmanager, "other.openfaas-fn", team="intruder")
                wait_for(lambda: metric(scaler_url, 'scaler_webhook_requests_total{code="401"}') >= 1, 20,
                         "the wrongly authenticated webhook", logs)

                # Alertmanager repeats the notification (repeat_interval 2s): no extra step
                delivered = metric(scaler_url, 'scaler_webhook_requests_total{code="200"}')
                post_alert(alertmanager, "echo.openfaas-fn")  # and Prometheus re-posts the alert
                wait_for(lambda: metric(scaler_url, 'scaler_webhook_requests_total{code="200"}') >= delivered + 2,
                         20, "two repeats of the firing notification", logs)
                assert [call.replicas for call in double.calls_for("echo")] == [3]

                # resolved: no drop straight to min, a stabilized descent by halves (window 0s here)
                post_alert(alertmanager, "echo.openfaas-fn", ends=datetime.now(UTC))
                wait_for(lambda: double.replicas("echo") == 1, 20, "the descent to min", logs)

                assert [call.replicas for call in double.calls_for("echo")] == [3, 2, 1]
                assert double.calls_for("other") == []
                assert metric(scaler_url, 'scaler_webhook_requests_total{code="200"}') >= 2
                assert metric(scaler_url, 'scaler_webhook_requests_total{code="5') == 0
                assert '"event":"decision"' in scaler.log() and '"reason":"step-down"' in scaler.log()
