"""A faas-provider API test double (with a gateway metrics load model). Not a real provider.

It answers the parts of the faas-provider HTTP API the scaler uses, keeps every function's
replica count in memory, records every scale call, can inject faults per function, and exports
gateway-style metrics from a simple load model so a real Prometheus can scrape it.

Use it in-process::

    double = FaasProviderDouble([DoubleFunction("echo", labels={...})])
    with double.serve() as url:            # a uvicorn thread on an ephemeral loopback port
        ...
        assert double.replicas("echo") == 3

or as a process::

    python -m tests.doubles.faas_provider --listen 127.0.0.1:0 --functions functions.json [--ce]

(the first line printed is ``listening on http://HOST:PORT``). The functions file is a JSON list
(or ``{"functions": [...]}``) of objects with ``name``, ``namespace``, ``labels``, ``replicas``,
``capacity`` (served rps per replica, optional) and ``image`` (optional).

Routes:

* ``GET /system/function/{name}?namespace=``: FunctionStatus JSON, 404 if unknown.
* ``POST /system/scale-function/{name}?namespace=`` with ``{"serviceName","replicas","namespace"}``: 202.
* ``GET /system/functions?namespace=``: list of FunctionStatus.
* ``GET /healthz``; ``GET /metrics`` (gateway metrics, text format).
* ``GET /_double/calls``: the scale-call log; ``GET /_double/functions``: current state;
  ``POST /_double/load`` ``{"function","namespace","rps"}``: offered load;
  ``POST /_double/fault`` ``{"function","namespace","status"|"hang"|null}``: fault injection;
  ``POST /_double/replicas`` ``{"function","namespace","replicas"}``: change replicas as the gateway
  would (e.g. scale from zero) without logging a scale call.

Basic auth, when configured, guards the ``/system`` routes only (401 otherwise).

CE mode (``ce=True``) imitates OpenFaaS CE: a scale request for 0 replicas is refused with 400
(nothing changes), and a request above 5 is accepted with 202 but the count is clamped to 5,
as the CE informer resets a Deployment above 5 to 5. The call log shows both the requested and
the applied count.

Load model, per function: ``offered`` rps (set by the test), ``served = min(offered, replicas x
capacity)`` (capacity unset: everything is served; zero replicas serve nothing).
``gateway_function_invocation_total{code="200"}`` advances at the served rate, computed from
elapsed time. In-flight requests are ``served x latency + (offered - served) x 1 s`` (the excess
waits about a second); ``gateway_function_invocation_started`` is the total plus the in-flight
count, never going backwards (when the load drops, started stays until total catches up).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import json
import math
import secrets
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

DEFAULT_NAMESPACE = "openfaas-fn"
CE_MAX_REPLICAS = 5
EXCESS_WAIT_SECONDS = 1.0


@dataclass
class DoubleFunction:
    name: str
    namespace: str = DEFAULT_NAMESPACE
    labels: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    capacity: float | None = None  # served rps per replica; None = unlimited
    latency: float = 0.05  # seconds per request, for the in-flight model
    image: str = "ghcr.io/example/fn:latest"
    annotations: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # load model state
    offered: float = 0.0
    total: float = 0.0
    started: float = 0.0
    updated: float | None = None

    @property
    def key(self) -> str:
        return f"{self.name}.{self.namespace}"

    def served(self) -> float:
        if self.capacity is None:
            return self.offered if self.replicas > 0 else 0.0
        return min(self.offered, self.replicas * self.capacity)

    def advance(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            self.total += self.served() * (now - self.updated)
        self.updated = now
        served = self.served()
        in_flight = served * self.latency + max(0.0, self.offered - served) * EXCESS_WAIT_SECONDS
        # Requests that were in flight when the load fell complete: in-flight drains to the new level.
        self.total = max(self.total, self.started - in_flight)
        self.started = max(self.started, self.total + in_flight)

    def status(self) -> dict[str, object]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "image": self.image,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "replicas": self.replicas,
            "availableReplicas": self.replicas,
            "invocationCount": int(self.total),
            "createdAt": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


@dataclass(frozen=True)
class ScaleCall:
    time: float
    function: str
    namespace: str
    replicas: int
    status_code: int
    applied: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "time": self.time, "function": self.function, "namespace": self.namespace,
            "replicas": self.replicas, "status": self.status_code, "applied": self.applied,
        }


@dataclass(frozen=True)
class Fault:
    status: int | None = None  # answer this status code
    hang: float | None = None  # or sleep this long before answering normally
    operations: frozenset[str] = frozenset({"get", "scale"})


class FaasProviderDouble:
    """In-memory faas-provider API (see the module docstring)."""

    def __init__(
        self,
        functions: Iterable[DoubleFunction] = (),
        *,
        ce: bool = False,
        auth: tuple[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ce = ce
        self.auth = auth
        self.clock = clock
        self._lock = threading.Lock()
        self._functions: dict[tuple[str, str], DoubleFunction] = {}
        self._faults: dict[tuple[str, str], Fault] = {}
        self._calls: list[ScaleCall] = []
        self.requests = 0
        self.operations: Counter[str] = Counter()  # /system requests by operation: get, scale, list
        self.in_flight = 0
        self.max_in_flight = 0
        self.clients: set[tuple[str, int]] = set()
        for function in functions:
            self.add_function(function)
        self.app = self._build_app()

    # -- control from tests ---------------------------------------------------------------------

    def add_function(self, function: DoubleFunction) -> DoubleFunction:
        with self._lock:
            function.advance(self.clock())
            self._functions[(function.name, function.namespace)] = function
        return function

    def function(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> DoubleFunction:
        with self._lock:
            return self._functions[(name, namespace)]

    def replicas(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> int:
        return self.function(name, namespace).replicas

    def set_replicas(self, name: str, replicas: int, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Change replicas as something other than the scaler would (not logged as a call)."""
        with self._lock:
            function = self._functions[(name, namespace)]
            function.advance(self.clock())
            function.replicas = replicas

    def set_load(self, name: str, rps: float, namespace: str = DEFAULT_NAMESPACE) -> None:
        with self._lock:
            function = self._functions[(name, namespace)]
            function.advance(self.clock())
            function.offered = max(0.0, float(rps))

    def set_fault(
        self, name: str | None, namespace: str = DEFAULT_NAMESPACE, *, status: int | None = None,
        hang: float | None = None, operations: Iterable[str] = ("get", "scale"),
    ) -> None:
        """Make calls for one function fail (`status`) or hang (`hang` seconds, then answer).

        `name=None` with `operations=["list"]` targets the function list of a namespace.
        """
        with self._lock:
            self._faults[(name, namespace)] = Fault(status, hang, frozenset(operations))

    def clear_fault(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> None:
        with self._lock:
            self._faults.pop((name, namespace), None)

    @property
    def calls(self) -> list[ScaleCall]:
        with self._lock:
            return list(self._calls)

    def calls_for(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> list[ScaleCall]:
        return [call for call in self.calls if call.function == name and call.namespace == namespace]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # -- metrics ----------------------------------------------------------------------------------

    def metrics_text(self) -> str:
        """Gateway metrics in the Prometheus text format, rendered from data."""
        now = self.clock()
        total, started, services = [], [], []
        with self._lock:
            for function in self._functions.values():
                function.advance(now)
                total.append(({"function_name": function.key, "code": "200"}, function.total))
                started.append(({"function_name": function.key}, function.started))
                services.append(({"function_name": function.key}, float(function.replicas)))
        families = [
            ("gateway_function_invocation_total", "counter", "Function invocations completed", total),
            ("gateway_function_invocation_started", "counter", "Function invocations started", started),
            ("gateway_service_count", "gauge", "Current replica count of a function", services),
        ]
        lines: list[str] = []
        for name, kind, help_text, samples in families:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                lines.append(f"{name}{{{_render_labels(labels)}}} {_render_value(value)}")
        return "\n".join(lines) + "\n"

    # -- HTTP ---------------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        if self.auth is None:
            return True
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, ValueError):
            return False
        return secrets.compare_digest(user, self.auth[0]) & secrets.compare_digest(password, self.auth[1])

    async def _system(self, request: Request, operation: str, handler: Callable[[], Response]) -> Response:
        self.requests += 1
        self.operations[operation] += 1
        if request.client is not None:
            self.clients.add((request.client.host, request.client.port))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if not self._authorized(request):
                return Response("unauthorized", 401, headers={"WWW-Authenticate": 'Basic realm="double"'})
            name = request.path_params.get("name")
            namespace = request.query_params.get("namespace") or DEFAULT_NAMESPACE
            fault = self._faults.get((name, namespace))
            if fault is not None and operation in fault.operations:
                if fault.hang is not None:
                    await asyncio.sleep(fault.hang)
                if fault.status is not None:
                    return Response("injected fault", fault.status)
            return handler()
        finally:
            self.in_flight -= 1

    def _build_app(self) -> Starlette:
        async def get_function(request: Request) -> Response:
            def answer() -> Response:
                name = request.path_params["name"]
                namespace = request.query_params.get("namespace") or DEFAULT_NAMESPACE
                with self._lock:
                    function = self._functions.get((name, namespace))
                    if function is None:
                        return Response(f"function {name} not found", 404)
                    function.advance(self.clock())
                    return JSONResponse(function.status())

            return await self._system(request, "get", answer)

        async def scale_function(request: Request) -> Response:
            body = await request.body()

            def answer() -> Response:
                name = request.path_params["name"]
                try:
                    data = json.loads(body)
                except ValueError:
                    return Response("invalid JSON", 400)
                if not isinstance(data, dict):
                    return Response("expected a JSON object", 400)
                namespace = (
                    request.query_params.get("namespace") or data.get("namespace") or DEFAULT_NAMESPACE
                )
                replicas = data.get("replicas")
                if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
                    return Response("replicas must be a non-negative integer", 400)
                return self._scale(name, str(namespace), replicas)

            return await self._system(request, "scale", answer)

        async def list_functions(request: Request) -> Response:
            def answer() -> Response:
                namespace = request.query_params.get("namespace") or DEFAULT_NAMESPACE
                now = self.clock()
                with self._lock:
                    found = [f for f in self._functions.values() if f.namespace == namespace]
                    for function in found:
                        function.advance(now)
                    return JSONResponse([function.status() for function in found])

            return await self._system(request, "list", answer)

        async def healthz(request: Request) -> Response:
            return PlainTextResponse("OK")

        async def metrics(request: Request) -> Response:
            return PlainTextResponse(self.metrics_text(), media_type="text/plain; version=0.0.4")

        async def calls(request: Request) -> Response:
            return JSONResponse([call.as_dict() for call in self.calls])

        async def functions(request: Request) -> Response:
            now = self.clock()
            with self._lock:
                for function in self._functions.values():
                    function.advance(now)
                return JSONResponse([
                    {**function.status(), "offered": function.offered, "served": function.served()}
                    for function in self._functions.values()
                ])

        async def control(request: Request) -> Response:
            try:
                data = await request.json()
                name = data["function"]
                namespace = data.get("namespace") or DEFAULT_NAMESPACE
                action = request.path_params["action"]
                if action == "load":
                    self.set_load(name, float(data["rps"]), namespace)
                elif action == "replicas":
                    self.set_replicas(name, int(data["replicas"]), namespace)
                elif action == "fault":
                    if data.get("status") is None and data.get("hang") is None:
                        self.clear_fault(name, namespace)
                    else:
                        self.set_fault(name, namespace, status=data.get("status"), hang=data.get("hang"))
                else:
                    return Response("unknown action", 404)
            except (ValueError, KeyError, TypeError):
                return Response("bad request", 400)
            return JSONResponse({"ok": True})

        return Starlette(routes=[
            Route("/system/function/{name}", get_function, methods=["GET"]),
            Route("/system/scale-function/{name}", scale_function, methods=["POST"]),
            Route("/system/functions", list_functions, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/_double/calls", calls, methods=["GET"]),
            Route("/_double/functions", functions, methods=["GET"]),
            Route("/_double/{action}", control, methods=["POST"]),
        ])

    def _scale(self, name: str, namespace: str, replicas: int) -> Response:
        now = self.clock()
        with self._lock:
            function = self._functions.get((name, namespace))
            if function is None:
                self._calls.append(ScaleCall(now, name, namespace, replicas, 404, None))
                return Response(f"function {name} not found", 404)
            if self.ce and replicas == 0:
                self._calls.append(ScaleCall(now, name, namespace, replicas, 400, None))
                return Response("replicas cannot be set to 0 in OpenFaaS CE", 400)
            applied = min(replicas, CE_MAX_REPLICAS) if self.ce else replicas
            function.advance(now)
            function.replicas = applied
            self._calls.append(ScaleCall(now, name, namespace, replicas, 202, applied))
        return Response(status_code=202)

    # -- serving ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve on a uvicorn thread; yields the base URL and stops the server on exit."""
        server = BackgroundServer(self.app, host, port)
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


class BackgroundServer:
    """A uvicorn server on its own thread and event loop, bound to a pre-opened socket."""

    def __init__(self, app: object, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = listening_socket(host, port)
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"double-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test double did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn.

    The protocol must be IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted
    sockets whose `proto` says TCP, and without it every keep-alive response written in two parts
    (headers, body) waits ~40 ms for a delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _render_labels(labels: dict[str, str]) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return ",".join(f'{key}="{escape(value)}"' for key, value in labels.items())


def _render_value(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else "NaN"


def load_functions(path: str) -> list[DoubleFunction]:
    """Read a functions file (a JSON list, or an object with a `functions` list)."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    items = data["functions"] if isinstance(data, dict) else data
    return [
        DoubleFunction(
            name=item["name"],
            namespace=item.get("namespace") or DEFAULT_NAMESPACE,
            labels={str(k): str(v) for k, v in (item.get("labels") or {}).items()},
            replicas=int(item.get("replicas", 1)),
            capacity=None if item.get("capacity") is None else float(item["capacity"]),
            image=item.get("image") or "ghcr.io/example/fn:latest",
        )
        for item in items
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="faas-provider API test double")
    parser.add_argument("--listen", default="127.0.0.1:0", help="host:port (port 0: pick a free one)")
    parser.add_argument("--functions", help="JSON file listing the functions")
    parser.add_argument("--ce", action="store_true", help="behave like OpenFaaS CE (no 0, clamp to 5)")
    parser.add_argument("--auth-user")
    parser.add_argument("--auth-password-file")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    auth = None
    if args.auth_user and args.auth_password_file:
        with open(args.auth_password_file, encoding="utf-8") as handle:
            auth = (args.auth_user, handle.read().strip())
    functions = load_functions(args.functions) if args.functions else []
    double = FaasProviderDouble(functions, ce=args.ce, auth=auth)
    sock = listening_socket(host or "127.0.0.1", int(port))
    bound_host, bound_port = sock.getsockname()[:2]
    print(f"listening on http://{bound_host}:{bound_port}", flush=True)
    config = uvicorn.Config(double.app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=1)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
