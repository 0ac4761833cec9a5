"""`python -m faasplane.scaler` as a process: JSON logs, and graceful shutdown that lets in-flight webhooks finish."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.doubles.faas_provider import DoubleFunction, FaasProviderDouble
from tests.doubles.processes import free_port, scaler_process


def test_sigterm_lets_the_in_flight_webhook_finish(tmp_path):
    double = FaasProviderDouble([DoubleFunction("slow")])
    double.set_fault("slow", hang=1.5, operations=["get"])  # the provider takes 1.5 s to answer
    with double.serve() as double_url:
        with scaler_process({"SCALER_PROVIDER_URL": double_url}, tmp_path / "scaler.log") as (url, scaler):
            answers: list[httpx.Response] = []
            payload = {"alerts": [{"status": "firing", "labels": {"function_name": "slow"}}]}
            sender = threading.Thread(target=lambda: answers.append(
                httpx.post(f"{url}/system/alert", json=payload, timeout=10)))
            sender.start()
            deadline = time.monotonic() + 10
            while double.in_flight == 0:  # the scaler's read is at the provider: the webhook is in flight
                assert time.monotonic() < deadline, "the webhook never reached the provider"
                time.sleep(0.01)
            scaler.process.send_signal(signal.SIGTERM)
            sender.join(10)
            scaler.process.wait(10)
            assert answers and answers[0].status_code == 200
            assert answers[0].json()["results"][0]["outcome"] == "applied"
            assert double.replicas("slow") == 3
            assert scaler.process.returncode is not None
    lines = [json.loads(line) for line in (tmp_path / "scaler.log").read_text().splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert events[0] == "started" and events[-1] == "stopped" and "decision" in events
    assert all({"ts", "level", "event"} <= line.keys() for line in lines)


def log_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


@contextlib.contextmanager
def unreachable_provider():
    yield f"http://127.0.0.1:{free_port()}", None  # nothing listens there: connection refused


@contextlib.contextmanager
def failing_provider():
    double = FaasProviderDouble([DoubleFunction("echo")])
    double.set_fault("echo", status=500)
    with double.serve() as url:
        yield url, double


@pytest.mark.parametrize(
    ("provider", "error", "cause"),
    [(unreachable_provider, "connection", "ConnectionRefusedError"), (failing_provider, "http-500", "HTTP 500: injected fault")],
    ids=["unreachable", "answers-500"],
)
def test_an_alert_storm_against_a_failing_provider_is_logged_once_and_summarized(tmp_path, provider, error, cause):
    storm = 50
    log = tmp_path / "scaler.log"
    payload = {"alerts": [{"status": "firing", "labels": {"function_name": "echo"}}]}
    with provider() as (provider_url, double):
        env = {"SCALER_PROVIDER_URL": provider_url, "SCALER_POLCY": "openfaas", "SCALER_LOG_LEVEL": "debug"}
        with scaler_process(env, log) as (url, _):
            with httpx.Client(timeout=10) as client, ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: client.post(f"{url}/system/alert", json=payload), range(storm)))
                assert client.get(f"{url}/readyz").status_code == (503 if double is None else 200)
            assert {answer.status_code for answer in answers} == {502}
            if double is not None:  # the provider is back: one line says so
                double.clear_fault("echo")
                assert httpx.post(f"{url}/system/alert", json=payload, timeout=10).status_code == 200
    lines = log_lines(log)
    events = [line["event"] for line in lines]
    assert events[0] == "started" and events[-1] == "stopped"
    warnings = {line["event"]: line for line in lines if line["level"] == "warning"}
    assert warnings["unknown-variable"]["suggestion"] == "SCALER_POLICY"
    assert "SCALER_AUTH_USER" in warnings["webhook-open"]["message"]

    echo = [line for line in lines if line.get("function") == "echo" and line["event"].startswith("provider-")]
    first = echo[0]
    assert (first["event"], first["level"], first["operation"], first["error"]) == (
        "provider-call-failed", "warning", "get_function", error)
    assert first["namespace"] == "openfaas-fn" and first["request_id"]
    assert cause in first["cause"]
    assert "502" in first["outlook"] and "Alertmanager retries" in first["outlook"]
    if double is None:
        assert [line["event"] for line in echo] == ["provider-call-failed", "provider-call-failures"]
        assert echo[1]["repeats"] == storm - 1  # summarized when the scaler stops
        ready = [line for line in lines if line.get("operation") == "healthz"]
        assert ready and ready[0]["error"] == "connection" and "503" in ready[0]["outlook"]
    else:
        assert [line["event"] for line in echo] == ["provider-call-failed", "provider-recovered"]
        assert echo[1]["failures"] == storm and echo[1]["errors"] == ["http-500"]
    assert len(lines) < 15  # far fewer lines than alerts, even at debug level
