"""Fuzz POST /system/alert in-process: never a 5xx, 400 only for an envelope that can never be
valid, no provider call for a malformed payload or alert, and the service still answers afterwards. Runs 2,000 examples (profile `scaler-fuzz`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from faasplane.scaler.alerts import FunctionRef, split_function_name
from faasplane.scaler.app import create_app
from faasplane.scaler.engine import Scaler
from faasplane.scaler.provider import FunctionInfo, FunctionNotFound
from faasplane.scaler.settings import Settings

from .conftest import FakeClock

settings.register_profile(
    "scaler-fuzz",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FUZZ = settings.get_profile("scaler-fuzz")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class RecordingProvider:
    """A fake provider object (no network) that records every call."""

    def __init__(self) -> None:
        self.replicas = {FunctionRef("echo", "openfaas-fn"): 1, FunctionRef("sum", "team-a"): 2}
        self.calls: list[tuple[str, str, str]] = []

    async def get_function(self, ref: FunctionRef) -> FunctionInfo:
        self.calls.append(("get", ref.name, ref.namespace))
        if ref not in self.replicas:
            raise FunctionNotFound("not-found", ref.key)
        return FunctionInfo(ref.name, ref.namespace, self.replicas[ref], {"com.openfaas.scale.max": "6"})

    async def scale(self, ref: FunctionRef, replicas: int) -> None:
        self.calls.append(("scale", ref.name, ref.namespace))
        self.replicas[ref] = replicas

    async def list_functions(self, namespace: str) -> list[FunctionInfo]:
        self.calls.append(("list", "", namespace))
        return [FunctionInfo(r.name, r.namespace, n) for r, n in self.replicas.items() if r.namespace == namespace]

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        pass


class InProcessClient:
    """Drive the ASGI app through httpx's ASGI transport on a private event loop (sync API for hypothesis)."""

    def __init__(self, app) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._stack = contextlib.AsyncExitStack()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scaler")

    def __enter__(self) -> InProcessClient:
        self._loop.run_until_complete(self._stack.enter_async_context(self._app.router.lifespan_context(self._app)))
        return self

    def __exit__(self, *exc_info) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.run_until_complete(self._stack.aclose())
        self._loop.close()

    def get(self, url: str) -> httpx.Response:
        return self._loop.run_until_complete(self._client.get(url))

    def post(self, url: str, **kwargs) -> httpx.Response:
        return self._loop.run_until_complete(self._client.post(url, **kwargs))


@contextlib.contextmanager
def running(policy: str):
    provider = RecordingProvider()
    config = Settings(provider_url="http://provider", policy=policy)
    scaler = Scaler(config, provider, None, clock=FakeClock())  # type: ignore[arg-type]
    with InProcessClient(create_app(config, scaler=scaler, background=False)) as client:
        yield client, provider


@pytest.fixture(scope="module")
def proportional():
    with running("proportional") as service:
        yield service


@pytest.fixture(scope="module")
def openfaas():
    with running("openfaas") as service:
        yield service


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
function_names = st.sampled_from(
    ["echo", "echo.openfaas-fn", "sum.team-a", "ghost", "a.b.c", "../x", "", "ECHO", "echo.", ".ns", "x" * 70]
) | st.text(max_size=30)
statuses = st.sampled_from(["firing", "resolved", "pending", ""]) | json_values
timestamps = st.sampled_from([
    "2026-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "yesterday",
    # offsets at the edges of datetime's range (OverflowError when converted to UTC)
    "9999-12-31T23:59:59-00:01", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59.999999999+00:00", "0002-01-01T00:00:00+23:59",
]) | json_values
labels = st.fixed_dictionaries(
    {}, optional={"alertname": st.text(max_size=10) | json_values, "function_name": function_names | json_values}
)
alerts = st.fixed_dictionaries(
    {},
    optional={
        "status": statuses,
        "labels": labels | json_values,
        "fingerprint": st.text(max_size=16) | json_values,
        "startsAt": timestamps,
        "endsAt": timestamps,
        "annotations": json_values,
    },
)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "version": st.just("4") | json_values,
        "status": statuses,
        "receiver": st.text(max_size=10) | json_values,
        "alerts": st.lists(alerts, max_size=5) | json_values,
        "truncatedAlerts": st.integers(-2, 5) | json_values,
        "groupLabels": json_values,
    },
)
valid_alerts = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["firing", "resolved"]),
        "labels": st.fixed_dictionaries({"alertname": st.text(max_size=8), "function_name": function_names}),
    },
    optional={
        "fingerprint": st.sampled_from(["f1", "f2"]),
        "startsAt": st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "9999-12-31T23:59:59-00:01"]),
    },
)
valid_payloads = st.fixed_dictionaries(
    {"alerts": st.lists(valid_alerts, max_size=6)},
    optional={"status": st.sampled_from(["firing", "resolved"]), "receiver": st.text(max_size=8)},
)


def _mutate(payload: dict, where: int, key: str, value: object) -> dict:
    """Replace one field of a valid payload (top level or one alert or its labels) with junk."""
    targets: list[dict] = [payload]
    for alert in payload["alerts"]:
        targets += [alert, alert["labels"]]
    targets[where % len(targets)][key] = value
    return payload


mutated_payloads = st.builds(
    _mutate, valid_payloads, st.integers(0, 20),
    st.sampled_from(["status", "alerts", "labels", "function_name", "fingerprint", "startsAt", "truncatedAlerts"]),
    json_values,
)
bodies = st.one_of(
    valid_payloads.map(lambda value: json.dumps(value).encode()),
    mutated_payloads.map(lambda value: json.dumps(value).encode()),
    payloads.map(lambda value: json.dumps(value).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64),
    payloads.map(lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")),
)


def valid_envelope(payload: object) -> bool:
    """Whether the payload can be answered 200: an object with an `alerts` list."""
    return isinstance(payload, dict) and isinstance(payload.get("alerts"), list)


def usable_alerts(payload: dict) -> set[tuple[str, str]]:
    """The (name, namespace) of the alerts the scaler may act on (our definition of a usable alert)."""
    refs = set()
    top_status = payload.get("status") if isinstance(payload.get("status"), str) else None
    for alert in payload["alerts"]:
        if not isinstance(alert, dict) or not isinstance(alert.get("labels", {}), dict):
            continue
        fields = [alert.get(key) for key in ("status", "fingerprint", "startsAt", "endsAt")]
        fields += [alert.get("labels", {}).get(key) for key in ("function_name", "alertname")]
        if any(value is not None and not isinstance(value, str) for value in fields):
            continue
        if not (alert.get("status") or top_status):
            continue
        ref = split_function_name(alert.get("labels", {}).get("function_name") or "", "openfaas-fn")
        if ref is not None:
            refs.add((ref.name, ref.namespace))
    return refs


def check(service, body: bytes) -> None:
    client, provider = service
    before = len(provider.calls)
    response = client.post("/system/alert", content=body, headers={"Content-Type": "application/json"})
    made = provider.calls[before:]
    event(f"status {response.status_code}, provider calls: {'yes' if made else 'no'}")
    assert response.status_code in (200, 400), response.text
    assert response.json()["requestId"]
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        decoded = None
    if response.status_code == 400:
        assert made == [], "a rejected payload must not reach the provider"
        assert not valid_envelope(decoded)
    else:
        assert valid_envelope(decoded)
        usable = usable_alerts(decoded)
        namespaces = {namespace for _, namespace in usable}
        for operation, name, namespace in made:  # never a provider call for a malformed alert
            assert (name, namespace) in usable if operation != "list" else namespace in namespaces
        assert all(DNS_LABEL.fullmatch(name) and DNS_LABEL.fullmatch(ns) for _, name, ns in made if name)
        for ref, replicas in provider.replicas.items():
            assert 1 <= replicas <= 6, (ref, replicas)


@FUZZ
@given(body=bodies)
def test_alert_endpoint_survives_anything(proportional, body):
    check(proportional, body)


@settings(FUZZ, max_examples=300)
@given(body=bodies)
def test_alert_endpoint_survives_anything_in_openfaas_mode(openfaas, body):
    check(openfaas, body)


@pytest.mark.parametrize("policy", ["proportional", "openfaas"])
def test_the_service_still_answers_after_the_fuzzing(policy, request):
    client, provider = request.getfixturevalue(policy)
    assert client.get("/healthz").status_code == 200
    response = client.post("/system/alert", json={"alerts": [
        {"status": "firing", "labels": {"alertname": "A", "function_name": "sum.team-a"}}]})
    assert response.status_code == 200
    assert response.json()["results"][0]["function"] == "sum.team-a"
    assert "scaler_unexpected_errors_total{" not in client.get("/metrics").text
