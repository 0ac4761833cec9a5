"""faas-provider API client: read a function, set its replicas, list functions.

Calls share one connection pool and a semaphore, so at most `concurrency` requests are in flight
whatever the size of a webhook payload. Each call has a total deadline (`timeout`) on top of
httpx's connect timeout.

Errors are classified for the HTTP contract with Alertmanager:
`FunctionNotFound` and `ProviderRefused` are permanent (a retry cannot help), any other
`ProviderError` is transient (network, timeout, 5xx, 401/403/429) and worth a retry.

Every failed call is reported to a `FailureLog` (scaler/failures.py: logged with its cause and the
caller's retry outlook, rate-limited per function and error), every successful one too (recovery).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from faasplane.scaler.alerts import FunctionRef, is_valid_name, parse_timestamp
from faasplane.scaler.failures import FailureLog, Outlook, current_outlook, describe_exception, excerpt
from faasplane.scaler.metrics import ScalerMetrics

_TRANSIENT_4XX = frozenset({401, 403, 408, 429})
# Deadline of the readiness check: below the kubelet's default probe timeout (1 s), so /readyz
# answers 503 in time rather than letting the probe time out.
READY_TIMEOUT = 0.8
READY_OUTLOOK = Outlook(
    "/readyz answers 503 (the pod is not ready) until the provider answers; the kubelet probes again",
    "/readyz answers 503 (the pod is not ready) until the provider answers; the kubelet probes again",
)


class ProviderError(Exception):
    """A provider call failed; `kind` is a short label used in metrics and responses."""

    transient = True

    def __init__(self, kind: str, detail: str = "", *, status: int | None = None) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        self.status = status


class FunctionNotFound(ProviderError):
    transient = False


class ProviderRefused(ProviderError):
    """The provider answered 4xx to a scale request: it will not accept this replica count."""

    transient = False

    def __init__(self, status_code: int, detail: str = "") -> None:
        super().__init__(f"refused-{status_code}", detail, status=status_code)
        self.status_code = status_code


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    namespace: str
    replicas: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    available_replicas: int | None = None
    created_at: datetime | None = None


def function_info_from_json(data: object, function: FunctionRef) -> FunctionInfo:
    """FunctionStatus JSON of `function` -> FunctionInfo; raises ProviderError('bad-response').

    Name and namespace are the ones asked for, never taken from the answer, so a confused
    provider cannot redirect a later scale call.
    """
    if not isinstance(data, dict):
        raise ProviderError("bad-response", "function status is not a JSON object")
    replicas = data.get("replicas", 0)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise ProviderError("bad-response", f"replicas is {replicas!r}")
    available = data.get("availableReplicas")
    created = data.get("createdAt")
    return FunctionInfo(
        name=function.name,
        namespace=function.namespace,
        replicas=replicas,
        labels=_string_map(data.get("labels")),
        annotations=_string_map(data.get("annotations")),
        available_replicas=available if isinstance(available, int) and not isinstance(available, bool)
        else None,
        created_at=parse_timestamp(created) if isinstance(created, str) else None,
    )


def _string_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(key): str(item) for key, item in value.items() if isinstance(item, str | int | float)}


class ProviderClient:
    """The provider API over a fixed set of single-connection httpx clients.

    Checking a client out of the queue is the concurrency bound. One connection per client keeps
    httpcore's pool bookkeeping O(1) per request: a single client with N connections rescans all
    of them on every request, which made each call about five times more expensive at N = 32.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | None = None,
        connect_timeout: float = 3.0,
        timeout: float = 10.0,
        concurrency: int = 16,
        metrics: ScalerMetrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        failures: FailureLog | None = None,
    ) -> None:
        self._timeout = timeout
        self._metrics = metrics
        self._concurrency = concurrency
        self.failures = failures if failures is not None else FailureLog()
        self._settings = {
            "base_url": base_url.rstrip("/"),
            "auth": auth,
            "timeout": httpx.Timeout(timeout, connect=connect_timeout),
            "limits": httpx.Limits(max_connections=1, max_keepalive_connections=1),
            "headers": {"User-Agent": "faasplane-scaler"},
            # one TLS context for all clients (building one per client is slow)
            "verify": ssl.create_default_context() if transport is None else True,
        }
        self._transport = transport
        self._all: list[httpx.AsyncClient] = []
        self._idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        # The readiness check has a client of its own, outside the concurrency bound: a probe must
        # not queue behind a burst of webhook calls, nor take a slot from them.
        self._health: httpx.AsyncClient | None = None

    async def _checkout(self) -> httpx.AsyncClient:
        """An idle client; a new one while fewer than `concurrency` exist, else wait for one."""
        if self._idle.empty() and len(self._all) < self._concurrency:
            client = httpx.AsyncClient(transport=self._transport, **self._settings)  # type: ignore[arg-type]
            self._all.append(client)
            return client
        return await self._idle.get()

    async def aclose(self) -> None:
        for client in self._all:
            await client.aclose()
        if self._health is not None:
            await self._health.aclose()

    async def get_function(self, function: FunctionRef) -> FunctionInfo:
        request = f"GET /system/function/{function.name}?namespace={function.namespace}"
        try:
            response = await self._call(
                "get_function", "GET", f"/system/function/{function.name}",
                params={"namespace": function.namespace},
            )
            if response.status_code == 404:
                self._count_error("get_function", "not-found")
                raise FunctionNotFound("not-found", _http_cause(response), status=404)
            self._raise_for_status("get_function", response)
            info = function_info_from_json(self._json("get_function", response), function)
        except ProviderError as error:
            self._failed(function.key, _function_identity(function), "get_function", request, error)
            raise
        self.failures.succeeded(function.key)
        return info

    async def scale(self, function: FunctionRef, replicas: int) -> None:
        request = f"POST /system/scale-function/{function.name}?namespace={function.namespace}"
        try:
            response = await self._call(
                "scale", "POST", f"/system/scale-function/{function.name}",
                params={"namespace": function.namespace},
                json={"serviceName": function.name, "replicas": replicas, "namespace": function.namespace},
            )
            if response.status_code == 404:
                self._count_error("scale", "not-found")
                raise FunctionNotFound("not-found", _http_cause(response), status=404)
            if 400 <= response.status_code < 500 and response.status_code not in _TRANSIENT_4XX:
                self._count_error("scale", "refused")
                raise ProviderRefused(response.status_code, _http_cause(response))
            self._raise_for_status("scale", response)
        except ProviderError as error:
            self._failed(function.key, _function_identity(function), "scale", request, error,
                         replicas=replicas)
            raise
        self.failures.succeeded(function.key)

    async def list_functions(self, namespace: str) -> list[FunctionInfo]:
        subject = f"list {namespace}"
        try:
            response = await self._call(
                "list_functions", "GET", "/system/functions", params={"namespace": namespace}
            )
            self._raise_for_status("list_functions", response)
            data = self._json("list_functions", response)
            if not isinstance(data, list):
                raise ProviderError("bad-response", "function list is not a JSON list")
        except ProviderError as error:
            self._failed(subject, {"operation": "list_functions", "namespace": namespace}, "list_functions",
                         f"GET /system/functions?namespace={namespace}", error)
            raise
        self.failures.succeeded(subject)
        result = []
        for item in data:
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and is_valid_name(name):
                try:
                    result.append(function_info_from_json(item, FunctionRef(name, namespace)))
                except (ProviderError, ValueError, OverflowError, OSError):
                    continue  # one unusable entry does not hide the others
        return result

    async def ready(self, timeout: float = READY_TIMEOUT) -> bool:
        """Whether the provider answers its health check within `timeout` seconds.

        Uses a client of its own, outside the concurrency bound, with its own short deadline.
        """
        started = time.perf_counter()
        if self._health is None:
            settings = {**self._settings, "timeout": httpx.Timeout(timeout)}
            self._health = httpx.AsyncClient(transport=self._transport, **settings)  # type: ignore[arg-type]
        error: ProviderError | None = None
        try:
            async with asyncio.timeout(timeout):
                response = await self._health.get("/healthz")
            if response.status_code >= 300:
                error = ProviderError(f"http-{response.status_code}", _http_cause(response),
                                      status=response.status_code)
        except (TimeoutError, httpx.TimeoutException) as caught:
            error = ProviderError("timeout", f"no answer within {timeout:g}s ({describe_exception(caught)})")
        except httpx.HTTPError as caught:
            error = ProviderError("connection", describe_exception(caught))
        finally:
            if self._metrics is not None:
                self._metrics.provider_duration.labels("healthz").observe(time.perf_counter() - started)
        if error is None:
            self.failures.succeeded("healthz")
            return True
        self._count_error("healthz", error.kind)
        self._failed("healthz", {"operation": "healthz"}, "healthz", "GET /healthz", error, outlook=READY_OUTLOOK)
        return False

    async def _call(self, operation: str, method: str, url: str, **kwargs: object) -> httpx.Response:
        started = time.perf_counter()
        client = await self._checkout()
        try:
            async with asyncio.timeout(self._timeout):
                response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except (TimeoutError, httpx.TimeoutException) as error:
            self._count_error(operation, "timeout")
            raise ProviderError(
                "timeout", f"no answer within {self._timeout:g}s ({describe_exception(error)})"
            ) from error
        except httpx.HTTPError as error:
            self._count_error(operation, "connection")
            raise ProviderError("connection", describe_exception(error)) from error
        finally:
            self._idle.put_nowait(client)
            if self._metrics is not None:
                self._metrics.provider_duration.labels(operation).observe(time.perf_counter() - started)
        return response

    def _raise_for_status(self, operation: str, response: httpx.Response) -> None:
        if response.status_code < 300:
            return
        kind = f"http-{response.status_code}"
        self._count_error(operation, kind)
        raise ProviderError(kind, _http_cause(response), status=response.status_code)

    def _json(self, operation: str, response: httpx.Response) -> object:
        try:
            return response.json()
        except ValueError as error:
            self._count_error(operation, "bad-response")
            raise ProviderError(
                "bad-response", f"HTTP {response.status_code}, body not JSON: {excerpt(response.text)}"
            ) from error

    def _count_error(self, operation: str, kind: str) -> None:
        if self._metrics is not None:
            self._metrics.provider_errors.labels(operation, kind).inc()

    def _failed(
        self, subject: str, identity: dict[str, object], operation: str, request: str, error: ProviderError,
        *, outlook: Outlook | None = None, **extra: object,
    ) -> None:
        """Report a failed call to the failure log, with the outlook of the caller (failures.outlook)."""
        details: dict[str, object] = {"operation": operation, "request": request}
        if error.status is not None:
            details["status"] = error.status
        details["cause"] = error.detail or error.kind
        details.update(extra)
        details["outlook"] = (outlook or current_outlook.get()).for_error(error.transient)
        self.failures.failed(subject, error.kind, identity, details)


def _function_identity(function: FunctionRef) -> dict[str, object]:
    return {"function": function.name, "namespace": function.namespace}


def _http_cause(response: httpx.Response) -> str:
    """`HTTP 500: <the body's first characters>`."""
    body = excerpt(response.text)
    return f"HTTP {response.status_code}: {body}" if body else f"HTTP {response.status_code}"
