"""The scaler's HTTP interface: POST /system/alert, /healthz, /readyz, /metrics.

Status codes follow Alertmanager's delivery rules (2xx done, 5xx retried, any 4xx dropped):

* 200: every alert was applied, was already right, or was skipped for a permanent reason.
* 400: a payload that can never be valid; no provider call is made.
* 401: missing or wrong credentials (when SCALER_AUTH_* are set). 413: body above 1 MiB.
* 502: a provider call failed in a way a retry may fix (network, timeout, 3xx, 5xx, 401/403/408/429,
  an unusable answer). A retry adds no step: `proportional` decisions are idempotent, and in
  `openfaas` applied deliveries are remembered for SCALER_DEDUPE_WINDOW (scaler/README.md).
* 500: an unexpected exception; logged with the request id and counted, the process keeps serving.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from faasplane.scaler.alerts import PayloadError, parse_notification
from faasplane.scaler.engine import FAILED, Scaler
from faasplane.scaler.failures import FAILURE_LOG_INTERVAL, FailureLog
from faasplane.scaler.idler import Idler
from faasplane.scaler.load import PrometheusLoad
from faasplane.scaler.logs import log_event, request_id
from faasplane.scaler.metrics import CONTENT_TYPE, ScalerMetrics
from faasplane.scaler.provider import ProviderClient
from faasplane.scaler.settings import Settings, unknown_variables

MAX_BODY_BYTES = 1024 * 1024
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class BodyTooLarge(Exception):
    pass


def json_response(data: object, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON with ASCII escapes, so any echoed input (even lone surrogates) encodes safely."""
    body = json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode()
    return Response(body, status_code, headers=headers, media_type="application/json")


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing (BodyTooLarge) as soon as it is known to exceed `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ValueError("invalid Content-Length")
        if int(declared) > limit:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class BasicAuth:
    """Checks HTTP basic credentials in constant time."""

    def __init__(self, user: str, password: str) -> None:
        self._user = user.encode()
        self._password = password.encode()

    def check(self, header: str | None) -> bool:
        if not header or not header[:6].lower() == "basic ":
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, colon, password = decoded.partition(b":")
        user_ok = secrets.compare_digest(user, self._user)
        password_ok = secrets.compare_digest(password, self._password)
        return bool(colon) and user_ok and password_ok


class AlertEndpoint:
    def __init__(self, scaler: Scaler, auth: BasicAuth | None) -> None:
        self.scaler = scaler
        self.auth = auth
        self.metrics = scaler.metrics

    async def __call__(self, request: Request) -> Response:
        started = time.perf_counter()
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        try:
            response = await self._respond(request, rid)
        except Exception as error:  # the contract: never crash, answer and keep serving
            self.metrics.unexpected_errors.labels("webhook").inc()
            log_event(logging.ERROR, "unexpected-error", error=f"{type(error).__name__}: {error}"[:500])
            logging.getLogger("scaler").debug("traceback", exc_info=True)
            response = json_response({"requestId": rid, "error": "internal error"}, 500)
        finally:
            request_id.reset(token)
        response.headers["X-Request-Id"] = rid
        self.metrics.webhook_requests.labels(str(response.status_code)).inc()
        self.metrics.webhook_duration.observe(time.perf_counter() - started)
        return response

    async def _respond(self, request: Request, rid: str) -> Response:
        if self.auth is not None and not self.auth.check(request.headers.get("authorization")):
            return json_response(
                {"requestId": rid, "error": "unauthorized"}, 401,
                headers={"WWW-Authenticate": 'Basic realm="scaler"'},
            )
        try:
            body = await read_body(request)
        except BodyTooLarge:
            return json_response({"requestId": rid, "error": f"body larger than {MAX_BODY_BYTES} bytes"}, 413)
        except ValueError as error:
            return json_response({"requestId": rid, "error": str(error)}, 400)
        except ClientDisconnect:
            return json_response({"requestId": rid, "error": "client went away"}, 400)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return json_response({"requestId": rid, "error": "body is not valid JSON"}, 400)
        try:
            notification = parse_notification(payload, self.scaler.settings.default_namespace)
        except PayloadError as error:
            return json_response({"requestId": rid, "error": "invalid payload", "details": error.errors}, 400)
        except RecursionError:
            return json_response({"requestId": rid, "error": "payload nested too deeply"}, 400)

        for _ in notification.ignored:
            self.metrics.alerts.labels("ignored").inc()
        if notification.ignored:
            log_event(logging.INFO, "alerts-ignored", count=len(notification.ignored),
                      reasons=sorted({item.reason for item in notification.ignored}))
        results = await self.scaler.handle(notification)
        failed = any(result.outcome == FAILED for result in results)
        body_out: dict[str, object] = {
            "requestId": rid,
            "status": "retry" if failed else "ok",
            "results": [result.as_dict() for result in results],
            "ignored": [
                {"index": item.index, "reason": item.reason}
                | ({"function_name": item.function_name} if item.function_name else {})
                | ({"detail": item.detail} if item.detail else {})
                for item in notification.ignored
            ],
        }
        if notification.truncated_alerts:
            body_out["truncatedAlerts"] = notification.truncated_alerts
        return json_response(body_out, 502 if failed else 200)


def create_app(
    settings: Settings,
    *,
    scaler: Scaler | None = None,
    background: bool = True,
    environment: Mapping[str, str] | None = None,
) -> Starlette:
    """Build the ASGI app. Pass `scaler` to inject fakes; `background=False` skips the loops.

    `environment` (the process's) is checked at start for `SCALER_*` variables that are not settings.
    """
    metrics = scaler.metrics if scaler is not None else ScalerMetrics()
    owned: list[Callable[[], Awaitable[None]]] = []
    if scaler is None:
        auth = (settings.provider_user, settings.provider_password) if settings.provider_user else None
        provider = ProviderClient(
            settings.provider_url,
            auth=auth,  # type: ignore[arg-type]
            connect_timeout=settings.provider_connect_timeout,
            timeout=settings.provider_timeout,
            concurrency=settings.provider_concurrency,
            metrics=metrics,
            failures=FailureLog(),
        )
        owned.append(provider.aclose)
        load = None
        if settings.prometheus_url:
            load = PrometheusLoad(
                settings.prometheus_url, timeout=settings.prometheus_timeout, rate_window=settings.rate_window,
                metrics=metrics,
            )
            owned.append(load.aclose)
        scaler = Scaler(settings, provider, load, metrics)
    engine = scaler
    failures = getattr(engine.provider, "failures", None)  # a fake provider may have none
    failure_log = failures if isinstance(failures, FailureLog) else None
    auth_check = None
    if settings.auth_required:
        assert settings.auth_user is not None and settings.auth_password is not None
        auth_check = BasicAuth(settings.auth_user, settings.auth_password)

    async def healthz(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ready = await engine.provider.ready()
        return json_response({"status": "ready" if ready else "provider unreachable"}, 200 if ready else 503)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        if background:
            if not engine.openfaas_policy:
                tasks.append(asyncio.create_task(
                    run_periodically(settings.reconcile_interval, engine.reconcile_once, "reconcile", metrics)
                ))
            if engine.load_source is not None:
                tasks.append(asyncio.create_task(
                    run_periodically(settings.idle_interval, Idler(engine).run_once, "idler", metrics)
                ))
            if failure_log is not None:
                async def flush_failures() -> None:
                    failure_log.flush()

                tasks.append(asyncio.create_task(
                    run_periodically(FAILURE_LOG_INTERVAL, flush_failures, "failure-log", metrics)
                ))
        log_event(logging.INFO, "started", policy=settings.policy, provider=settings.provider_url,
                  prometheus=settings.prometheus_url, auth=auth_check is not None,
                  cap=settings.max_replicas_cap)
        log_startup_warnings(settings, environment or {})
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for close in owned:
                await close()
            if failure_log is not None:
                failure_log.flush(final=True)  # the repeats not summarized yet
            log_event(logging.INFO, "stopped")

    routes = [
        Route("/system/alert", AlertEndpoint(engine, auth_check).__call__, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.scaler = engine
    return app


def log_startup_warnings(settings: Settings, environment: Mapping[str, str]) -> None:
    """One warning line per `SCALER_*` variable that is not a setting, and one if the webhook is open."""
    for name, suggestion in unknown_variables(environment):
        hint = f"; did you mean {suggestion}?" if suggestion else ""
        fields = {"variable": name} | ({"suggestion": suggestion} if suggestion else {})
        log_event(logging.WARNING, "unknown-variable", **fields,
                  message=f"{name} is not a scaler setting and is ignored{hint}")
    if not settings.auth_required:
        log_event(
            logging.WARNING, "webhook-open", route="/system/alert",
            listen=f"{settings.listen_host}:{settings.listen_port}",
            message=f"POST /system/alert needs no credentials: anyone who can reach port {settings.listen_port} "
            "can scale functions; set SCALER_AUTH_USER and SCALER_AUTH_PASSWORD_FILE to require basic auth",
        )


async def run_periodically(
    interval: float, job: Callable[[], Awaitable[None]], name: str, metrics: ScalerMetrics
) -> None:
    """Run `job` every `interval` seconds; an exception is logged and counted, never fatal."""
    while True:
        await asyncio.sleep(interval)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            metrics.unexpected_errors.labels(name).inc()
            detail = f"{type(error).__name__}: {error}"[:500]
            log_event(logging.ERROR, "background-error", job=name, error=detail)
