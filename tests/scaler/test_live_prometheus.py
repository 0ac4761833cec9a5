"""Real Prometheus scraping the double's gateway metrics every second; the scaler's load queries
and a load-based decision of `python -m faasplane.scaler` on top. Loopback only."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import yaml

from faasplane.scaler.labels import SCALE_MAX, SCALE_TARGET, SCALE_TARGET_PROPORTION, SCALE_TYPE
from faasplane.scaler.load import PrometheusLoad
from tests.doubles.faas_provider import DoubleFunction, FaasProviderDouble
from tests.doubles.processes import free_port, managed, scaler_process, wait_http
from tests.monitoring import tools

pytestmark = pytest.mark.monitoring


@pytest.fixture(scope="module")
def prometheus_bin() -> str:
    return tools.require("prometheus")


@pytest.fixture
def scraped_double(tmp_path, prometheus_bin):
    """The double with two busy functions, scraped by a real Prometheus every second."""
    double = FaasProviderDouble([
        DoubleFunction("web", replicas=2, capacity=10.0, latency=0.1,
                       labels={SCALE_MAX: "20", SCALE_TARGET: "6", SCALE_TARGET_PROPORTION: "1.0"}),
        DoubleFunction("queue", replicas=1, capacity=10.0, labels={SCALE_TYPE: "capacity", SCALE_TARGET: "5"}),
    ])
    double.set_load("web", 50.0)  # served: min(50, 2 x 10) = 20 rps
    double.set_load("queue", 30.0)  # served: 10 rps, in flight: 10 x 0.05 + 20 x 1 s = 20.5
    with double.serve() as double_url:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "gateway", "static_configs": [
                {"targets": [double_url.removeprefix("http://")]}]}],
        }))
        args = [prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}"]
        with managed(args, tmp_path / "prometheus.log") as process:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/-/ready", process, timeout=30)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # until rate() has a few samples
                vector = asyncio.run(_loads(url, "rps"))
                if vector and vector.get("web.openfaas-fn", 0) > 0:
                    time.sleep(RATE_WINDOW + 1)  # a full window of samples
                    break
                time.sleep(0.5)
            else:
                pytest.fail(f"Prometheus never saw the double's metrics\n{process.log()}")
            yield double, double_url, url


RATE_WINDOW = 4.0  # seconds; rate() of a series younger than its window under-estimates


async def _loads(url: str, kind: str):
    source = PrometheusLoad(url, rate_window=RATE_WINDOW)
    try:
        return await source.loads(kind)
    finally:
        await source.aclose()


def test_loads_from_real_prometheus_drive_the_scaler(scraped_double, tmp_path):
    double, double_url, prometheus_url = scraped_double
    rps = asyncio.run(_loads(prometheus_url, "rps"))
    assert rps["web.openfaas-fn"] == pytest.approx(20.0, rel=0.15)  # what is served, not what is offered
    assert rps["queue.openfaas-fn"] == pytest.approx(10.0, rel=0.15)
    in_flight = asyncio.run(_loads(prometheus_url, "capacity"))
    assert in_flight["web.openfaas-fn"] == pytest.approx(20 * 0.1 + 30 * 1.0, rel=0.1)
    assert in_flight["queue.openfaas-fn"] == pytest.approx(20.5, rel=0.1)

    env = {"SCALER_PROVIDER_URL": double_url, "SCALER_PROMETHEUS_URL": prometheus_url,
           "SCALER_RATE_WINDOW": f"{RATE_WINDOW}s"}
    with scaler_process(env, tmp_path / "scaler.log") as (scaler_url, scaler):
        payload = {"status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": "APIHighInvocationRate", "function_name": name}}
            for name in ("web.openfaas-fn", "queue.openfaas-fn")]}
        response = httpx.post(f"{scaler_url}/system/alert", json=payload, timeout=10)
        assert response.status_code == 200, scaler.log()
        reasons = {r["function"]: (r["reason"], r["to"]) for r in response.json()["results"]}
        # web (rps): 20 rps measured -> ceil(20 / (6 x 1.0)) = 4
        # queue (capacity): ~20.5 in flight -> ceil(20.5 / (5 x 0.9)) = 5
        assert reasons == {"web.openfaas-fn": ("load", 4), "queue.openfaas-fn": ("load", 5)}
        assert (double.replicas("web"), double.replicas("queue")) == (4, 5)
