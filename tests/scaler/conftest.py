"""Fixtures for the scaler tests: the faas-provider double, a fake clock, a fake load source."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field

import httpx
import pytest

from faasplane.scaler.app import create_app
from faasplane.scaler.engine import Scaler
from faasplane.scaler.labels import SCALE_MAX, SCALE_MIN
from faasplane.scaler.metrics import ScalerMetrics
from faasplane.scaler.provider import ProviderClient
from faasplane.scaler.settings import Settings
from tests.doubles.faas_provider import DoubleFunction, FaasProviderDouble


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class StaticLoad:
    """A LoadSource answering fixed vectors; `None` for a kind means Prometheus is unavailable."""

    vectors: dict[str, dict[str, float] | None] = field(default_factory=dict)
    queries: dict[str, dict[str, float] | None] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def loads(self, kind: str) -> Mapping[str, float] | None:
        self.asked.append(kind)
        return self.vectors.get(kind)

    async def query(self, promql: str) -> Mapping[str, float] | None:
        self.asked.append(promql)
        for fragment, vector in self.queries.items():
            if fragment in promql:
                return vector
        return None


def standard_functions() -> list[DoubleFunction]:
    return [
        DoubleFunction("echo", labels={SCALE_MIN: "1", SCALE_MAX: "20"}),
        DoubleFunction("sum", namespace="team-a", replicas=2),
        DoubleFunction("small", labels={SCALE_MAX: "3"}),
    ]


@pytest.fixture
def double() -> Iterator[FaasProviderDouble]:
    provider = FaasProviderDouble(standard_functions())
    with provider.serve() as url:
        provider.url = url  # type: ignore[attr-defined]
        yield provider


@dataclass
class Harness:
    client: httpx.AsyncClient
    scaler: Scaler
    clock: FakeClock

    async def alert(self, *alerts: dict, status: str = "firing", **kwargs) -> httpx.Response:
        return await self.client.post("/system/alert", json={"status": status, "alerts": list(alerts)}, **kwargs)


@contextlib.asynccontextmanager
async def harness(
    provider_url: str,
    *,
    load: StaticLoad | None = None,
    clock: FakeClock | None = None,
    wall_clock=None,
    provider_auth: tuple[str, str] | None = None,
    environment: Mapping[str, str] | None = None,
    **overrides,
) -> AsyncIterator[Harness]:
    """The scaler app in-process (httpx ASGI transport) against `provider_url`, no background loops."""
    settings = Settings(provider_url=provider_url, **overrides)
    clock = clock or FakeClock()
    metrics = ScalerMetrics()
    provider = ProviderClient(
        provider_url, auth=provider_auth, connect_timeout=settings.provider_connect_timeout,
        timeout=settings.provider_timeout, concurrency=settings.provider_concurrency, metrics=metrics,
    )
    extra = {"wall_clock": wall_clock} if wall_clock is not None else {}
    scaler = Scaler(settings, provider, load, metrics, clock=clock, **extra)
    app = create_app(settings, scaler=scaler, background=False, environment=environment)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://scaler") as client:
                yield Harness(client, scaler, clock)
    finally:
        await provider.aclose()


def firing(function_name: str, fingerprint: str | None = None, starts: str | None = None, status="firing") -> dict:
    alert: dict = {"status": status, "labels": {"alertname": "APIHighInvocationRate", "function_name": function_name}}
    if fingerprint:
        alert["fingerprint"] = fingerprint
    if starts:
        alert["startsAt"] = starts
    return alert


def resolved(function_name: str, fingerprint: str | None = None, starts: str | None = None) -> dict:
    return firing(function_name, fingerprint, starts, status="resolved")
