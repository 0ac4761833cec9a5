"""Function load from the gateway's metrics, through the Prometheus HTTP API.

One instant query per load type returns the load of every function (keyed by `name.namespace`),
so a webhook with a thousand alerts costs one or two queries, not a thousand. Any failure (no
Prometheus, timeout, bad answer) yields `None`, which the decisions treat as "no measurement":
the fallback step on firing, never a scale-down beyond the stabilized descent.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Protocol

import httpx

from faasplane.scaler.labels import TYPE_CAPACITY, TYPE_RPS
from faasplane.scaler.metrics import ScalerMetrics

DEFAULT_RATE_WINDOW = 30.0


def load_queries(rate_window: float = DEFAULT_RATE_WINDOW) -> dict[str, str]:
    """PromQL per load type: rps over `rate_window` seconds, and in-flight requests."""
    window = f"{max(1, round(rate_window))}s"
    return {
        TYPE_RPS: f"sum by (function_name) (rate(gateway_function_invocation_total[{window}]))",
        TYPE_CAPACITY: (
            "sum by (function_name) (gateway_function_invocation_started)"
            " - sum by (function_name) (gateway_function_invocation_total)"
        ),
    }


class LoadSource(Protocol):
    async def loads(self, kind: str) -> Mapping[str, float] | None:
        """Load of every function for `kind` (rps or capacity), or None if unavailable."""

    async def query(self, promql: str) -> Mapping[str, float] | None:
        """An instant vector keyed by `function_name`, or None if unavailable."""


class PrometheusLoad:
    def __init__(
        self, base_url: str, *, timeout: float = 3.0, rate_window: float = DEFAULT_RATE_WINDOW,
        metrics: ScalerMetrics | None = None, transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._queries = load_queries(rate_window)
        self._metrics = metrics
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout), transport=transport,
            headers={"User-Agent": "faasplane-scaler"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def loads(self, kind: str) -> Mapping[str, float] | None:
        promql = self._queries.get(kind)
        if promql is None:
            return None
        result = await self.query(promql)
        if result is not None and kind == TYPE_CAPACITY:
            # Counter resets make started - total negative for a while; that is no load.
            return {name: max(0.0, value) for name, value in result.items()}
        return result

    async def query(self, promql: str) -> Mapping[str, float] | None:
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.get("/api/v1/query", params={"query": promql})
            data = response.json()
        except (TimeoutError, httpx.HTTPError, ValueError):
            self._count("error")
            return None
        vector = parse_vector(data)
        self._count("ok" if vector is not None else "error")
        return vector

    def _count(self, result: str) -> None:
        if self._metrics is not None:
            self._metrics.load_queries.labels(result).inc()


def parse_vector(data: object) -> dict[str, float] | None:
    """`{function_name: value}` from a Prometheus instant-vector answer; None if malformed."""
    if not isinstance(data, dict) or data.get("status") != "success":
        return None
    body = data.get("data")
    if not isinstance(body, dict) or body.get("resultType") != "vector":
        return None
    result = body.get("result")
    if not isinstance(result, list):
        return None
    vector: dict[str, float] = {}
    for sample in result:
        try:
            name = sample["metric"]["function_name"]
            value = float(sample["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if isinstance(name, str) and math.isfinite(value):
            vector[name] = vector.get(name, 0.0) + value
    return vector


class LoadSnapshot:
    """Loads fetched at most once per kind for one webhook or one background pass."""

    def __init__(self, source: LoadSource | None) -> None:
        self._source = source
        self._cache: dict[str, asyncio.Task[Mapping[str, float] | None]] = {}

    async def load(self, kind: str, function_key: str) -> float | None:
        if self._source is None:
            return None
        task = self._cache.get(kind)
        if task is None:
            task = asyncio.ensure_future(self._source.loads(kind))
            self._cache[kind] = task
        vector = await asyncio.shield(task)
        if vector is None:
            return None
        return vector.get(function_key)
