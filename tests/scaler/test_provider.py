"""The provider client and the Prometheus load source, against httpx mock transports."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from faasplane.scaler.alerts import FunctionRef
from faasplane.scaler.load import LoadSnapshot, PrometheusLoad, parse_vector
from faasplane.scaler.metrics import ScalerMetrics
from faasplane.scaler.provider import FunctionNotFound, ProviderClient, ProviderError, ProviderRefused

pytestmark = pytest.mark.anyio

ECHO = FunctionRef("echo", "openfaas-fn")


def client(handler) -> ProviderClient:
    return ProviderClient("http://provider", transport=httpx.MockTransport(handler), concurrency=2)


async def test_reads_a_function_status():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/system/function/echo"
        assert request.url.params["namespace"] == "openfaas-fn"
        return httpx.Response(200, json={
            "name": "someone-else", "namespace": "elsewhere", "replicas": 3, "availableReplicas": 2,
            "labels": {"com.openfaas.scale.max": "9", "n": 1}, "createdAt": "2026-01-01T00:00:00Z",
        })

    info = await client(handler).get_function(ECHO)
    assert (info.name, info.namespace) == ("echo", "openfaas-fn")  # never taken from the answer
    assert (info.replicas, info.available_replicas) == (3, 2)
    assert info.labels == {"com.openfaas.scale.max": "9", "n": "1"}
    assert info.created_at is not None and info.created_at.year == 2026


async def test_scale_sends_the_faas_provider_body():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.url.params["namespace"], request.read()))
        return httpx.Response(202)

    await client(handler).scale(ECHO, 4)
    assert seen == [("POST", "/system/scale-function/echo", "openfaas-fn",
                     b'{"serviceName":"echo","replicas":4,"namespace":"openfaas-fn"}')]


@pytest.mark.parametrize(
    ("status", "error", "transient"),
    [
        (404, FunctionNotFound, False),
        (400, ProviderRefused, False),
        (422, ProviderRefused, False),
        (401, ProviderError, True),
        (429, ProviderError, True),
        (500, ProviderError, True),
        (503, ProviderError, True),
    ],
)
async def test_scale_errors_are_classified(status, error, transient):
    provider = client(lambda request: httpx.Response(status, text="no"))
    with pytest.raises(error) as caught:
        await provider.scale(ECHO, 0)
    assert caught.value.transient is transient


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json=[]),
        httpx.Response(200, json={"replicas": -1}),
        httpx.Response(200, json={"replicas": "3"}),
        httpx.Response(200, json={"replicas": True}),
    ],
)
async def test_unusable_function_status_is_a_transient_error(response):
    with pytest.raises(ProviderError) as caught:
        await client(lambda request: response).get_function(ECHO)
    assert caught.value.kind == "bad-response" and caught.value.transient


async def test_network_errors_are_transient():
    def handler(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(ProviderError) as caught:
        await client(handler).get_function(ECHO)
    assert caught.value.kind == "connection"


async def test_list_skips_entries_that_are_not_functions():
    body = [{"name": "ok", "replicas": 1}, {"name": "Bad Name", "replicas": 1}, {"replicas": 1}, "x",
            {"name": "broken", "replicas": "many"}]
    infos = await client(lambda request: httpx.Response(200, json=body)).list_functions("ns")
    assert [(info.name, info.namespace) for info in infos] == [("ok", "ns")]


@pytest.mark.parametrize("created", ["9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00+23:59", "soon"])
async def test_a_created_at_out_of_range_is_unknown_not_an_error(created):
    entry = {"name": "echo", "replicas": 2, "createdAt": created}
    info = await client(lambda request: httpx.Response(200, json=entry)).get_function(ECHO)
    assert (info.replicas, info.created_at) == (2, None)
    body = [entry, {"name": "ok", "replicas": 1, "createdAt": "2026-01-01T00:00:00Z"}]
    infos = await client(lambda request: httpx.Response(200, json=body)).list_functions("ns")
    assert [(info.name, info.created_at is None) for info in infos] == [("echo", True), ("ok", False)]


async def test_ready_has_its_own_deadline_below_the_probe_timeout():
    async def hanging(request):
        await asyncio.sleep(5)
        return httpx.Response(200)

    provider = ProviderClient("http://provider", transport=httpx.MockTransport(hanging), timeout=10.0)
    started = time.perf_counter()
    assert await provider.ready() is False
    assert time.perf_counter() - started < 1.0  # kubelet's probe timeout is 1 s; the call deadline is 10 s


async def test_ready_does_not_wait_for_the_calls_in_flight():
    release = asyncio.Event()

    async def handler(request):
        if request.url.path != "/healthz":
            await release.wait()  # every webhook slot is busy
        return httpx.Response(200, json={"replicas": 1})

    provider = ProviderClient("http://provider", transport=httpx.MockTransport(handler), concurrency=1)
    busy = asyncio.create_task(provider.get_function(ECHO))
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    assert await provider.ready() is True
    assert time.perf_counter() - started < 0.5
    release.set()
    await busy


async def test_a_404_on_scale_is_counted_like_a_404_on_read():
    metrics = ScalerMetrics()
    provider = ProviderClient("http://provider", transport=httpx.MockTransport(lambda r: httpx.Response(404)),
                              metrics=metrics)
    for call in (provider.scale(ECHO, 2), provider.get_function(ECHO)):
        with pytest.raises(FunctionNotFound):
            await call
    for operation in ("scale", "get_function"):
        labels = {"operation": operation, "kind": "not-found"}
        assert metrics.registry.get_sample_value("scaler_provider_errors_total", labels) == 1


def prometheus(answer) -> PrometheusLoad:
    return PrometheusLoad("http://prometheus", transport=httpx.MockTransport(answer))


def vector(*samples):
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"function_name": name}, "value": [1.0, str(value)]} for name, value in samples
    ]}}


async def test_rps_load_query():
    asked = []

    def answer(request):
        asked.append(request.url.params["query"])
        return httpx.Response(200, json=vector(("echo.openfaas-fn", 12.5), ("sum.team-a", 3)))

    loads = await prometheus(answer).loads("rps")
    assert loads == {"echo.openfaas-fn": 12.5, "sum.team-a": 3.0}
    assert asked == ["sum by (function_name) (rate(gateway_function_invocation_total[30s]))"]
    await PrometheusLoad("http://p", rate_window=5, transport=httpx.MockTransport(answer)).loads("rps")
    assert asked[-1] == "sum by (function_name) (rate(gateway_function_invocation_total[5s]))"


async def test_capacity_load_is_never_negative():
    answer = lambda request: httpx.Response(200, json=vector(("echo.openfaas-fn", -4), ("b.c", 2)))  # noqa: E731
    assert await prometheus(answer).loads("capacity") == {"echo.openfaas-fn": 0.0, "b.c": 2.0}


@pytest.mark.parametrize(
    "answer",
    [
        lambda request: httpx.Response(500, text="down"),
        lambda request: httpx.Response(200, json={"status": "error"}),
        lambda request: httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix"}}),
        lambda request: (_ for _ in ()).throw(httpx.ConnectError("no")),
    ],
)
async def test_unavailable_prometheus_means_no_measurement(answer):
    assert await prometheus(answer).loads("rps") is None


def test_parse_vector_ignores_malformed_samples():
    data = vector(("a.b", 1), ("c.d", "NaN"))
    data["data"]["result"] += [{"metric": {}}, "x", {"metric": {"function_name": "e.f"}, "value": [1, "x"]}]
    assert parse_vector(data) == {"a.b": 1.0}


async def test_a_snapshot_queries_each_kind_once():
    calls = []

    def answer(request):
        calls.append(request.url.params["query"])
        return httpx.Response(200, json=vector(("echo.openfaas-fn", 5)))

    snapshot = LoadSnapshot(prometheus(answer))
    assert await snapshot.load("rps", "echo.openfaas-fn") == 5.0
    assert await snapshot.load("rps", "other.openfaas-fn") is None
    assert await LoadSnapshot(None).load("rps", "echo.openfaas-fn") is None
    assert len(calls) == 1
