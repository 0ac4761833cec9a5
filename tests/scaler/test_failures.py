"""The failure log (scaler/failures.py): first failure, one summary per interval, recovery once; an injected clock."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from faasplane.scaler.alerts import FunctionRef
from faasplane.scaler.engine import WEBHOOK_FINAL, WEBHOOK_RETRY
from faasplane.scaler.failures import (
    FAILED_EVENT,
    RECOVERED_EVENT,
    REPEATED_EVENT,
    FailureLog,
    Outlook,
    describe_exception,
    excerpt,
    iso,
    outlook,
)
from faasplane.scaler.idler import Idler
from faasplane.scaler.provider import READY_OUTLOOK, ProviderClient, ProviderError
from tests.doubles.processes import free_port

from .conftest import FakeClock, StaticLoad, firing, harness, resolved

ECHO = {"function": "echo", "namespace": "openfaas-fn"}
DETAILS = {"operation": "get_function", "cause": "HTTP 500: boom", "outlook": "retried"}


class Lines:
    """Collects what the failure log emits: (level, event, fields)."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str, dict[str, object]]] = []

    def __call__(self, level: int, event: str, **fields: object) -> None:
        self.lines.append((level, event, fields))

    def events(self) -> list[str]:
        return [event for _, event, _ in self.lines]


class Clocks:
    """The monotonic and the wall clock, moved together by hand."""

    def __init__(self) -> None:
        self.monotonic = FakeClock(1000.0)
        self.wall = FakeClock(START)

    def advance(self, seconds: float) -> None:
        self.monotonic.advance(seconds)
        self.wall.advance(seconds)


START = 1_700_000_000.0


def failure_log(interval: float = 60.0, **kwargs) -> tuple[FailureLog, Clocks, Lines]:
    clocks, lines = Clocks(), Lines()
    return FailureLog(interval, clock=clocks.monotonic, wall_clock=clocks.wall, emit=lines, **kwargs), clocks, lines


def test_the_first_failure_is_logged_with_its_cause_and_outlook():
    log, _, lines = failure_log()
    log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
    assert lines.lines == [(logging.WARNING, FAILED_EVENT, {**ECHO, "error": "http-500", **DETAILS})]


def test_a_storm_is_one_line_then_one_summary_per_interval():
    log, clock, lines = failure_log(60.0)
    for _ in range(50):  # 50 alerts within a second
        log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
        clock.advance(0.01)
    assert lines.events() == [FAILED_EVENT]
    log.flush()  # the interval has not passed: nothing yet
    assert lines.events() == [FAILED_EVENT]
    clock.advance(60)
    log.flush()
    assert lines.events() == [FAILED_EVENT, REPEATED_EVENT]
    level, _, fields = lines.lines[1]
    assert level == logging.WARNING
    assert fields["repeats"] == 49 and fields["function"] == "echo" and fields["error"] == "http-500"
    assert fields["since"] == iso(START)
    assert fields["message"] == f"49 more since {iso(START)}"
    assert fields["cause"] == "HTTP 500: boom" and fields["outlook"] == "retried"
    log.flush()
    clock.advance(120)
    log.flush()  # nothing new happened: no line
    assert len(lines.lines) == 2


def test_repeats_after_the_interval_are_summarized_by_the_next_failure():
    log, clock, lines = failure_log(60.0)
    log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
    clock.advance(30)
    log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
    clock.advance(30)
    log.failed("echo.openfaas-fn", "http-500", ECHO, {**DETAILS, "cause": "HTTP 500: later"})
    assert lines.events() == [FAILED_EVENT, REPEATED_EVENT]
    assert lines.lines[1][2]["repeats"] == 2
    assert lines.lines[1][2]["cause"] == "HTTP 500: later"  # the latest failure's details
    for _ in range(100):  # one line per interval at most, whatever the rate
        clock.advance(1)
        log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
    assert lines.events() == [FAILED_EVENT, REPEATED_EVENT, REPEATED_EVENT]


def test_keys_are_per_function_and_per_error():
    log, _, lines = failure_log()
    log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
    log.failed("echo.openfaas-fn", "timeout", ECHO, DETAILS)
    log.failed("sum.team-a", "http-500", {"function": "sum", "namespace": "team-a"}, DETAILS)
    log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
    assert [(fields["function"], fields["error"]) for _, _, fields in lines.lines] == [
        ("echo", "http-500"), ("echo", "timeout"), ("sum", "http-500")]


def test_recovery_is_logged_once_with_the_count():
    log, clock, lines = failure_log()
    for _ in range(5):
        log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
    log.failed("echo.openfaas-fn", "timeout", ECHO, DETAILS)
    clock.advance(12.5)
    log.succeeded("sum.team-a")  # never failed: nothing
    log.succeeded("echo.openfaas-fn")
    log.succeeded("echo.openfaas-fn")
    assert lines.events() == [FAILED_EVENT, FAILED_EVENT, RECOVERED_EVENT]
    level, _, fields = lines.lines[-1]
    assert level == logging.INFO
    assert fields == {**ECHO, "failures": 6, "errors": ["http-500", "timeout"],
                      "since": iso(START), "seconds": 12.5}
    log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)  # a new run starts with a full line
    assert lines.events()[-1] == FAILED_EVENT


def test_the_final_flush_reports_every_pending_repeat():
    log, clock, lines = failure_log(60.0)
    for _ in range(3):
        log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
    log.flush(final=True)
    assert lines.events() == [FAILED_EVENT, REPEATED_EVENT]
    assert lines.lines[-1][2]["repeats"] == 2


def test_quiet_subjects_are_forgotten_and_the_number_is_bounded():
    log, clock, lines = failure_log(60.0, forget_after=600.0, max_subjects=3)
    log.failed("echo.openfaas-fn", "http-500", ECHO, DETAILS)
    clock.advance(600)
    log.flush()
    assert len(log) == 0
    log.succeeded("echo.openfaas-fn")  # forgotten: no recovery line
    assert lines.events() == [FAILED_EVENT]
    for index in range(5):
        log.failed(f"f{index}.ns", "connection", {"function": f"f{index}"}, DETAILS)
    assert len(log) == 3


def test_describe_exception_names_the_class_the_message_and_the_root_cause():
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except OSError as inner:
            raise httpx.ConnectError("All connection attempts failed") from inner
    except httpx.ConnectError as error:
        text = describe_exception(error)
    assert text == "ConnectError: All connection attempts failed (ConnectionRefusedError: [Errno 111] Connect call failed)"
    assert describe_exception(TimeoutError()) == "TimeoutError"


def test_excerpt_is_one_short_line():
    assert excerpt("  <html>\n  <body>bad\tgateway</body>  ") == "<html> <body>bad gateway</body>"
    assert len(excerpt("x" * 10_000)) == 160


# -- the provider client reports to it ----------------------------------------------------------------


def provider_with(handler, lines: Lines) -> ProviderClient:
    return ProviderClient("http://provider", transport=httpx.MockTransport(handler),
                          failures=FailureLog(emit=lines))


@pytest.mark.anyio
async def test_the_client_reports_the_call_its_cause_and_the_callers_outlook():
    lines = Lines()
    answer = {"status": 503}

    def handler(request: httpx.Request) -> httpx.Response:
        if answer["status"] >= 300:
            return httpx.Response(answer["status"], text="upstream\n busy")
        return httpx.Response(200, json={"replicas": 1})

    provider = provider_with(handler, lines)
    ref = FunctionRef("echo", "openfaas-fn")
    with outlook(Outlook("retried later", "never retried")), pytest.raises(ProviderError):
        await provider.scale(ref, 3)
    answer["status"] = 400
    with outlook(Outlook("retried later", "never retried")), pytest.raises(ProviderError):
        await provider.scale(ref, 0)
    answer["status"] = 200
    await provider.get_function(ref)
    assert lines.events() == [FAILED_EVENT, FAILED_EVENT, RECOVERED_EVENT]
    first, refused = lines.lines[0][2], lines.lines[1][2]
    assert first == {"function": "echo", "namespace": "openfaas-fn", "error": "http-503", "operation": "scale",
                     "request": "POST /system/scale-function/echo?namespace=openfaas-fn", "status": 503,
                     "cause": "HTTP 503: upstream busy", "replicas": 3, "outlook": "retried later"}
    assert (refused["error"], refused["outlook"], refused["status"]) == ("refused-400", "never retried", 400)
    assert lines.lines[2][2]["failures"] == 2


@pytest.mark.anyio
async def test_an_unreachable_provider_and_the_readiness_check_are_reported():
    lines = Lines()

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("All connection attempts failed", request=request)

    provider = provider_with(handler, lines)
    with pytest.raises(ProviderError):
        await provider.list_functions("team-a")
    assert await provider.ready() is False
    listed, ready = lines.lines[0][2], lines.lines[1][2]
    assert (listed["operation"], listed["namespace"], listed["error"]) == ("list_functions", "team-a", "connection")
    assert listed["cause"] == "ConnectError: All connection attempts failed"
    assert listed["outlook"] == "the caller gets the error"  # no outlook set by a caller
    assert (ready["operation"], ready["error"], ready["outlook"]) == ("healthz", "connection", READY_OUTLOOK.retry)


@pytest.mark.anyio
async def test_concurrent_callers_keep_their_own_outlook():
    lines = Lines()
    provider = provider_with(lambda request: httpx.Response(500), lines)

    async def call(name: str) -> None:
        with outlook(Outlook(f"outlook of {name}", "final")):
            await asyncio.sleep(0)
            with pytest.raises(ProviderError):
                await provider.get_function(FunctionRef(name, "ns"))

    await asyncio.gather(call("a"), call("b"), call("c"))
    assert sorted((fields["function"], fields["outlook"]) for _, _, fields in lines.lines) == [
        ("a", "outlook of a"), ("b", "outlook of b"), ("c", "outlook of c")]


# -- each caller's outlook, in-process against the double -----------------------------------------------


def failures_logged(caplog) -> list[dict]:
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "scaler"]
    return [line for line in lines if line["event"] in (FAILED_EVENT, REPEATED_EVENT, RECOVERED_EVENT)]


@pytest.mark.anyio
async def test_a_webhook_failure_tells_alertmanager_retries_and_a_refusal_that_it_does_not(double, caplog):
    caplog.set_level(logging.INFO, logger="scaler")
    double.set_fault("echo", status=500)
    double.set_fault("small", status=400, operations=["scale"])
    async with harness(double.url, policy="openfaas") as h:
        response = await h.alert(firing("echo"), firing("small"))
        assert response.status_code == 502
    by_function = {line["function"]: line for line in failures_logged(caplog)}
    echo, small = by_function["echo"], by_function["small"]
    assert (echo["event"], echo["operation"], echo["error"], echo["status"]) == (
        FAILED_EVENT, "get_function", "http-500", 500)
    assert echo["cause"] == "HTTP 500: injected fault" and echo["request_id"]
    assert echo["outlook"] == WEBHOOK_RETRY and "502" in echo["outlook"] and "group_interval" in echo["outlook"]
    assert (small["operation"], small["error"], small["replicas"]) == ("scale", "refused-400", 2)
    assert small["outlook"] == WEBHOOK_FINAL and "does not retry" in small["outlook"]


@pytest.mark.anyio
async def test_a_failed_descent_names_the_reconcile_loop(double, caplog):
    caplog.set_level(logging.INFO, logger="scaler")
    double.set_replicas("echo", 8)
    double.set_replicas("sum", 8, namespace="team-a")
    load = StaticLoad(vectors={"rps": {"echo.openfaas-fn": 0.0, "sum.team-a": 0.0}})
    async with harness(double.url, load=load, reconcile_interval=15.0) as h:
        double.set_fault("echo", status=503)
        response = await h.alert(resolved("echo"), resolved("sum.team-a"))
        assert response.status_code == 502
        double.function("sum", "team-a").labels["com.openfaas.scale.down.window"] = "0s"
        double.set_fault("sum", "team-a", status=503)
        h.clock.advance(15)
        await h.scaler.reconcile_once()
        double.clear_fault("sum", "team-a")
        await h.scaler.reconcile_once()
    lines = failures_logged(caplog)
    echo = [line for line in lines if line["function"] == "echo"]
    sums = [line for line in lines if line["function"] == "sum"]
    # the reconciler's two retries are repeats, summarized when the scaler stops
    assert [line["event"] for line in echo] == [FAILED_EVENT, REPEATED_EVENT]
    assert echo[0]["outlook"] == f"{WEBHOOK_RETRY}; meanwhile the reconcile loop retries the descent every 15s"
    assert echo[1]["repeats"] == 2 and echo[1]["outlook"] == "the reconcile loop retries the descent in 15s"
    assert [line["event"] for line in sums] == [FAILED_EVENT, RECOVERED_EVENT]
    assert sums[0]["outlook"] == "the reconcile loop retries the descent in 15s"
    assert sums[1]["failures"] == 1


@pytest.mark.anyio
async def test_the_idler_and_the_readiness_check_name_their_own_retry(double, caplog):
    caplog.set_level(logging.INFO, logger="scaler")
    double.set_fault(None, operations=["list"], status=502)
    async with harness(double.url, load=StaticLoad(), idle_interval=30.0) as h:
        await Idler(h.scaler).run_once()
        await Idler(h.scaler).run_once()
    async with harness(f"http://127.0.0.1:{free_port()}") as h:
        assert (await h.client.get("/readyz")).status_code == 503
    listed, repeated, ready = failures_logged(caplog)
    assert (repeated["event"], repeated["repeats"]) == (REPEATED_EVENT, 1)  # the second pass, at stop
    assert (listed["operation"], listed["namespace"], listed["error"]) == ("list_functions", "openfaas-fn", "http-502")
    assert listed["outlook"] == "the idler tries again at its next pass, in 30s"
    assert (ready["operation"], ready["error"]) == ("healthz", "connection")
    assert "ConnectionRefusedError" in ready["cause"] and "503" in ready["outlook"]
