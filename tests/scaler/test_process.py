"""`python -m faasplane.scaler` as a process: JSON logs, and graceful shutdown that lets in-flight webhooks finish."""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx

from tests.doubles.faas_provider import DoubleFunction, FaasProviderDouble
from tests.doubles.processes import scaler_process


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
