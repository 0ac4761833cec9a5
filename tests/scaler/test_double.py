"""The faas-provider double itself: API shape, CE mode, auth, faults, call log, load model, process mode."""

from __future__ import annotations

import json
import sys

import httpx
import pytest

from tests.doubles.faas_provider import DoubleFunction, FaasProviderDouble
from tests.doubles.processes import free_port, managed, wait_http

from .conftest import FakeClock


def metric_value(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{prefix} not in metrics:\n{text}")


def test_function_status_scale_and_list():
    double = FaasProviderDouble([DoubleFunction("echo", labels={"a": "b"}, replicas=2),
                                 DoubleFunction("sum", namespace="team-a")])
    with double.serve() as url:
        status = httpx.get(f"{url}/system/function/echo", params={"namespace": "openfaas-fn"}).json()
        assert {k: status[k] for k in ("name", "namespace", "labels", "replicas", "availableReplicas")} == {
            "name": "echo", "namespace": "openfaas-fn", "labels": {"a": "b"}, "replicas": 2,
            "availableReplicas": 2}
        assert {"image", "annotations", "invocationCount", "createdAt"} <= status.keys()
        assert httpx.get(f"{url}/system/function/nope").status_code == 404
        assert httpx.get(f"{url}/system/function/echo", params={"namespace": "team-a"}).status_code == 404
        body = {"serviceName": "sum", "replicas": 4, "namespace": "team-a"}
        assert httpx.post(f"{url}/system/scale-function/sum", params={"namespace": "team-a"}, json=body).status_code == 202
        assert double.replicas("sum", "team-a") == 4
        assert [f["name"] for f in httpx.get(f"{url}/system/functions", params={"namespace": "team-a"}).json()] == ["sum"]
        bad = httpx.post(f"{url}/system/scale-function/sum", json={"replicas": -1})
        assert bad.status_code == 400
        calls = httpx.get(f"{url}/_double/calls").json()
        assert [(c["function"], c["replicas"], c["status"]) for c in calls] == [("sum", 4, 202)]
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_ce_mode_refuses_zero_and_clamps_above_five():
    double = FaasProviderDouble([DoubleFunction("echo", replicas=2)], ce=True)
    with double.serve() as url:
        zero = httpx.post(f"{url}/system/scale-function/echo", json={"serviceName": "echo", "replicas": 0})
        assert zero.status_code == 400 and double.replicas("echo") == 2
        many = httpx.post(f"{url}/system/scale-function/echo", json={"serviceName": "echo", "replicas": 9})
        assert many.status_code == 202 and double.replicas("echo") == 5
    assert [(c.replicas, c.status_code, c.applied) for c in double.calls] == [(0, 400, None), (9, 202, 5)]


def test_basic_auth_guards_system_routes_only():
    double = FaasProviderDouble([DoubleFunction("echo")], auth=("admin", "pw"))
    with double.serve() as url:
        assert httpx.get(f"{url}/system/function/echo").status_code == 401
        assert httpx.get(f"{url}/system/function/echo", auth=("admin", "no")).status_code == 401
        assert httpx.get(f"{url}/system/function/echo", auth=("admin", "pw")).status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.get(f"{url}/metrics").status_code == 200


def test_faults_per_function_and_operation():
    double = FaasProviderDouble([DoubleFunction("echo"), DoubleFunction("ok")])
    with double.serve() as url:
        double.set_fault("echo", status=500, operations=["scale"])
        assert httpx.get(f"{url}/system/function/echo").status_code == 200
        assert httpx.post(f"{url}/system/scale-function/echo", json={"replicas": 2}).status_code == 500
        assert httpx.post(f"{url}/system/scale-function/ok", json={"replicas": 2}).status_code == 202
        double.set_fault("echo", hang=2.0)
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{url}/system/function/echo", timeout=0.2)
        httpx.post(f"{url}/_double/fault", json={"function": "echo", "status": None})
        assert httpx.get(f"{url}/system/function/echo", timeout=1).status_code == 200


def test_load_model_counts_served_requests_from_elapsed_time():
    clock = FakeClock(0.0)
    double = FaasProviderDouble([DoubleFunction("echo", replicas=2, capacity=10.0, latency=0.1)], clock=clock)
    double.set_load("echo", 50.0)  # offered 50, served min(50, 2 x 10) = 20
    clock.advance(10)
    text = double.metrics_text()
    assert metric_value(text, 'gateway_function_invocation_total{function_name="echo.openfaas-fn",code="200"}') == 200
    started = metric_value(text, 'gateway_function_invocation_started{function_name="echo.openfaas-fn"}')
    assert started == pytest.approx(200 + 20 * 0.1 + 30 * 1.0)  # in flight: served x latency + excess
    assert metric_value(text, 'gateway_service_count{function_name="echo.openfaas-fn"}') == 2
    double.set_replicas("echo", 5)  # now everything is served
    clock.advance(10)
    text = double.metrics_text()
    assert metric_value(text, 'gateway_function_invocation_total{function_name="echo.openfaas-fn",code="200"}') == 700
    double.set_load("echo", 0)  # load stops: the requests in flight complete, counters never go back
    clock.advance(1)
    text = double.metrics_text()
    later_started = metric_value(text, 'gateway_function_invocation_started{function_name="echo.openfaas-fn"}')
    later_total = metric_value(text, 'gateway_function_invocation_total{function_name="echo.openfaas-fn",code="200"}')
    assert later_started >= started and later_total >= 700
    assert later_started - later_total == pytest.approx(0.0)  # no in-flight left: capacity load is 0


def test_zero_replicas_serve_nothing():
    clock = FakeClock(0.0)
    double = FaasProviderDouble([DoubleFunction("echo", replicas=0)], clock=clock)
    double.set_load("echo", 10)
    clock.advance(5)
    text = double.metrics_text()
    assert metric_value(text, 'gateway_function_invocation_total{function_name="echo.openfaas-fn",code="200"}') == 0


def test_runs_as_a_process_from_a_functions_file(tmp_path):
    functions = tmp_path / "functions.json"
    functions.write_text(json.dumps({"functions": [
        {"name": "echo", "namespace": "openfaas-fn", "labels": {"com.openfaas.scale.max": "3"}, "replicas": 2,
         "capacity": 5}]}))
    port = free_port()
    args = [sys.executable, "-m", "tests.doubles.faas_provider", "--listen", f"127.0.0.1:{port}",
            "--functions", str(functions), "--ce"]
    with managed(args, tmp_path / "double.log") as process:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", process)
        assert httpx.get(f"{url}/system/function/echo").json()["replicas"] == 2
        assert httpx.post(f"{url}/_double/load", json={"function": "echo", "rps": 100}).status_code == 200
        assert httpx.post(f"{url}/system/scale-function/echo", json={"replicas": 0}).status_code == 400
        state = httpx.get(f"{url}/_double/functions").json()
        assert state[0]["offered"] == 100 and state[0]["served"] == 10
    assert process.process.returncode is not None
    assert f"listening on http://127.0.0.1:{port}" in process.log()
