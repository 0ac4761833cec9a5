"""POST /system/alert and friends, end to end in-process against the faas-provider double."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from faasplane.scaler.app import run_periodically
from faasplane.scaler.labels import SCALE_MAX
from faasplane.scaler.metrics import ScalerMetrics
from tests.doubles.faas_provider import DoubleFunction, FaasProviderDouble
from tests.doubles.processes import free_port

from .conftest import StaticLoad, firing, harness, resolved

pytestmark = pytest.mark.anyio

NS = "openfaas-fn"


def rps(**loads: float) -> StaticLoad:
    return StaticLoad(vectors={"rps": {f"{name}.{NS}": value for name, value in loads.items()}})


# -- proportional policy -------------------------------------------------------------------------


async def test_firing_alert_scales_to_the_load_within_the_rate_limit(double):
    async with harness(double.url, load=rps(echo=900.0)) as h:  # needs 20
        response = await h.alert(firing("echo"))
        assert response.status_code == 200
        result = response.json()["results"][0]
        assert result == {"index": 0, "function": "echo.openfaas-fn", "status": "firing",
                          "outcome": "applied", "reason": "load-rate-limited", "from": 1, "to": 10}
        assert double.replicas("echo") == 10
        h.clock.advance(16)  # the next up period: may grow again
        await h.alert(firing("echo"))
        assert double.replicas("echo") == 20


async def test_the_same_notification_any_number_of_times_scales_once(double):
    async with harness(double.url, load=rps(echo=900.0)) as h:  # needs 20, at most 10 this period
        alert = firing("echo", fingerprint="f1", starts="2026-01-01T00:00:00Z")
        first = await h.alert(alert)
        repeats = await asyncio.gather(*(h.alert(alert) for _ in range(8)))  # HA duplicates, retries
        assert first.status_code == 200 and all(r.status_code == 200 for r in repeats)
        assert [call.replicas for call in double.calls_for("echo")] == [10]
        assert double.replicas("echo") == 10


async def test_without_prometheus_the_fallback_steps_once_per_interval_not_per_notification(double):
    async with harness(double.url, load=None, fallback_step_interval=20.0) as h:
        for _ in range(5):  # a burst of duplicates
            assert (await h.alert(firing("echo"))).status_code == 200
        assert double.replicas("echo") == 3  # one CE step: ceil(20 * 10 / 100) = 2
        h.clock.advance(30)  # Alertmanager's repeat after the interval
        await h.alert(firing("echo"))
        await h.alert(firing("echo"))
        assert double.replicas("echo") == 5
        assert [call.replicas for call in double.calls_for("echo")] == [3, 5]


async def test_unreachable_prometheus_is_treated_like_no_prometheus(double):
    async with harness(double.url, load=StaticLoad(vectors={"rps": None})) as h:
        response = await h.alert(firing("echo"))
        assert response.json()["results"][0]["reason"] == "ce-step"
        assert double.replicas("echo") == 3


async def test_resolved_descends_gradually_after_the_window(double):
    double.set_replicas("echo", 1)
    double.function("echo").labels["com.openfaas.scale.down.window"] = "60s"
    load = rps(echo=900.0)
    async with harness(double.url, load=load) as h:
        await h.alert(firing("echo"))
        h.clock.advance(16)
        await h.alert(firing("echo"))
        h.clock.advance(16)
        await h.alert(firing("echo"))
        assert double.replicas("echo") == 20
        load.vectors["rps"] = {"echo.openfaas-fn": 0.0}

        response = await h.alert(resolved("echo"))
        assert response.json()["results"][0]["reason"] == "stabilizing"
        assert double.replicas("echo") == 20  # no drop straight to min

        seen = []
        for _ in range(12):  # the reconciler's ticks: Alertmanager sends resolved only once
            h.clock.advance(15)
            await h.scaler.reconcile_once()
            seen.append(double.replicas("echo"))
        assert seen == [20, 20, 20, 20, 10, 5, 3, 2, 1, 1, 1, 1]  # held for the 60 s window, then halving
        assert h.scaler.state.descending() == []


async def test_a_firing_alert_stops_the_descent(double):
    double.set_replicas("echo", 8)
    load = rps(echo=0.0)
    async with harness(double.url, load=load) as h:
        double.function("echo").labels["com.openfaas.scale.down.window"] = "0s"
        await h.alert(resolved("echo"))
        assert double.replicas("echo") == 8  # nothing known about echo yet: held for one window
        h.clock.advance(15)
        await h.scaler.reconcile_once()
        assert double.replicas("echo") == 4
        load.vectors["rps"] = {"echo.openfaas-fn": 180.0}  # needs 4
        await h.alert(firing("echo"))
        h.clock.advance(15)
        await h.scaler.reconcile_once()
        assert double.replicas("echo") == 4
        assert h.scaler.state.descending() == []


async def test_stale_firing_after_its_resolved_is_ignored(double):
    async with harness(double.url, load=rps(echo=450.0)) as h:
        starts = "2026-01-01T00:00:00Z"
        await h.alert(resolved("echo", fingerprint="f1", starts=starts))
        response = await h.alert(firing("echo", fingerprint="f1", starts=starts))
        assert response.status_code == 200
        assert response.json()["results"][0] == {
            "index": 0, "function": "echo.openfaas-fn", "status": "firing", "outcome": "skipped",
            "reason": "stale-firing",
        }
        assert double.calls_for("echo") == []
        # a new episode of the same alert (later startsAt) is acted on
        await h.alert(firing("echo", fingerprint="f1", starts="2026-01-01T00:05:00Z"))
        assert double.replicas("echo") == 10


async def test_a_late_resolved_of_an_older_episode_does_not_start_a_descent(double):
    async with harness(double.url, load=rps(echo=450.0)) as h:
        old, new = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"
        await h.alert(firing("echo", fingerprint="f1", starts=old))
        await h.alert(resolved("echo", fingerprint="f1", starts=old))
        await h.alert(firing("echo", fingerprint="f1", starts=new))  # fires again
        late = await h.alert(resolved("echo", fingerprint="f1", starts=old))  # a retry of the old resolved
        assert late.json()["results"][0]["reason"] == "stale-resolved"
        assert h.scaler.state.descending() == []


async def test_the_provider_cap_clamps_every_decision(double):
    async with harness(double.url, load=rps(echo=9000.0), max_replicas_cap=3) as h:
        await h.alert(firing("echo"))
        assert double.replicas("echo") == 3


# -- openfaas policy ---------------------------------------------------------------------------------


async def test_openfaas_policy_is_ce_compatible_one_step_per_notification(double):
    async with harness(double.url, policy="openfaas") as h:
        for small, echo in ((2, 3), (3, 5), (3, 7), (3, 9), (3, 11)):
            await h.alert(firing("small"))  # max 3 from its label: step 1
            await h.alert(firing("echo"))  # max 20 from its label: step 2
            assert (double.replicas("small"), double.replicas("echo")) == (small, echo)
            h.clock.advance(30)  # the next repeat (repeat_interval), after SCALER_DEDUPE_WINDOW
        await h.alert(resolved("echo"))
        assert double.replicas("echo") == 1  # CE: resolved -> min at once


async def test_one_failing_function_does_not_fail_or_repeat_the_others(double):
    double.set_fault("sum", "team-a", status=500)
    async with harness(double.url, policy="openfaas") as h:
        payload = [firing("echo"), firing("sum.team-a"), firing("ghost"), {"status": "firing", "labels": {}}]
        response = await h.alert(*payload)
        assert response.status_code == 502  # Alertmanager retries
        outcomes = {r["function"]: (r["outcome"], r["reason"]) for r in response.json()["results"]}
        assert outcomes == {
            "echo.openfaas-fn": ("applied", "ce-step"),
            "sum.team-a": ("failed", "provider-http-500"),
            "ghost.openfaas-fn": ("skipped", "unknown-function"),
        }
        assert response.json()["ignored"] == [{"index": 3, "reason": "no-function-name"}]
        assert double.replicas("echo") == 3

        # Alertmanager retries the whole batch: the alert that was applied is answered from memory
        for _ in range(2):
            h.clock.advance(2)
            retry = await h.alert(*payload)
            assert retry.status_code == 502
            echo = next(r for r in retry.json()["results"] if r["function"] == "echo.openfaas-fn")
            assert (echo["outcome"], echo["reason"], echo["from"], echo["to"]) == ("applied", "ce-step", 1, 3)
        double.clear_fault("sum", "team-a")
        h.clock.advance(2)
        assert (await h.alert(*payload)).status_code == 200
        assert [call.replicas for call in double.calls_for("echo")] == [3]  # one step, not one per delivery
        assert [call.replicas for call in double.calls_for("sum", "team-a")] == [3]
        # a repeat after SCALER_DEDUPE_WINDOW (Alertmanager's repeat_interval) steps again, as in CE
        h.clock.advance(30)
        assert (await h.alert(*payload)).status_code == 200
        assert double.replicas("echo") == 5 and double.replicas("sum", "team-a") == 4


async def test_a_scale_that_timed_out_but_was_applied_is_not_stepped_again_on_retry(double):
    double.set_fault("echo", hang=0.6, operations=["scale"])  # the provider applies it after we gave up
    async with harness(double.url, policy="openfaas", provider_timeout=0.2) as h:
        alert = firing("echo", fingerprint="f1", starts="2026-01-01T00:00:00Z")
        first = await h.alert(alert)
        assert first.status_code == 502
        assert first.json()["results"][0]["reason"] == "provider-timeout"
        await asyncio.sleep(0.8)
        assert double.replicas("echo") == 3  # applied after all
        double.clear_fault("echo")
        retry = await h.alert(alert)
        assert retry.status_code == 200
        assert retry.json()["results"][0] == {"index": 0, "function": "echo.openfaas-fn", "status": "firing",
                                              "outcome": "applied", "reason": "ce-step", "from": 1, "to": 3}
        assert double.replicas("echo") == 3
        assert [call.replicas for call in double.calls_for("echo")] == [3]


async def test_ha_duplicates_in_openfaas_mode_step_once(double):
    async with harness(double.url, policy="openfaas") as h:
        alert = firing("echo", fingerprint="f1", starts="2026-01-01T00:00:00Z")
        responses = await asyncio.gather(*(h.alert(alert) for _ in range(4)))
        assert all(r.status_code == 200 for r in responses)
        assert [call.replicas for call in double.calls_for("echo")] == [3]
        # another episode of the alert (a new startsAt) is a new delivery
        await h.alert(firing("echo", fingerprint="f1", starts="2026-01-01T00:10:00Z"))
        assert double.replicas("echo") == 5


async def test_retry_after_a_transient_failure_does_not_add_steps_in_proportional_mode(double):
    double.set_fault("sum", "team-a", status=503, operations=["scale"])
    async with harness(double.url, load=StaticLoad(vectors={"rps": {"echo.openfaas-fn": 450.0,
                                                                    "sum.team-a": 450.0}})) as h:
        payload = [firing("echo"), firing("sum.team-a")]
        assert (await h.alert(*payload)).status_code == 502
        double.clear_fault("sum", "team-a")
        retry = await h.alert(*payload)
        assert retry.status_code == 200
        assert double.replicas("echo") == 10  # needs 10: reached once, not a step per delivery
        assert double.replicas("sum", "team-a") == 10
        assert [c.replicas for c in double.calls_for("echo")] == [10]


async def test_a_hanging_provider_times_out_into_a_retryable_answer(double):
    double.set_fault("echo", hang=5.0)
    async with harness(double.url, provider_timeout=0.3) as h:
        started = asyncio.get_running_loop().time()
        response = await h.alert(firing("echo"), firing("small"))
        elapsed = asyncio.get_running_loop().time() - started
        assert response.status_code == 502
        results = {r["function"]: r["reason"] for r in response.json()["results"]}
        assert results["echo.openfaas-fn"] == "provider-timeout"
        assert results["small.openfaas-fn"] == "ce-step"
        assert elapsed < 2.0


async def test_unreachable_provider_is_retryable_and_not_ready():
    url = f"http://127.0.0.1:{free_port()}"
    async with harness(url, provider_connect_timeout=0.5) as h:
        response = await h.alert(firing("echo"))
        assert response.status_code == 502
        assert response.json()["results"][0]["reason"] == "provider-connection"
        assert (await h.client.get("/readyz")).status_code == 503
        assert (await h.client.get("/healthz")).status_code == 200


async def test_ready_when_the_provider_answers(double):
    async with harness(double.url) as h:
        assert (await h.client.get("/readyz")).json() == {"status": "ready"}


# -- the HTTP contract --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[]", b'{"alerts": "none"}', b'{"status": "firing"}', b"\xff\xfe",
     b"[" * 100_000 + b"]" * 100_000],
)
async def test_payloads_that_can_never_be_valid_get_400_and_no_provider_call(double, body):
    async with harness(double.url) as h:
        response = await h.client.post("/system/alert", content=body)
        assert response.status_code == 400
        assert "error" in response.json()
        assert double.requests == 0


async def test_one_wrongly_typed_alert_is_ignored_and_the_rest_of_the_batch_applied(double):
    async with harness(double.url, policy="openfaas") as h:
        bad = [{"status": 1, "labels": {"function_name": "small"}},
               {"status": "firing", "labels": {"function_name": "small"}, "startsAt": 0},
               {"status": "firing", "labels": "small"}]
        response = await h.alert(*bad, firing("echo"))
        assert response.status_code == 200
        body = response.json()
        assert [(r["function"], r["outcome"]) for r in body["results"]] == [("echo.openfaas-fn", "applied")]
        assert [(item["index"], item["reason"]) for item in body["ignored"]] == [
            (0, "invalid-alert"), (1, "invalid-alert"), (2, "invalid-alert")]
        assert body["ignored"][1]["detail"] == "startsAt must be a string, got a number"
        assert double.calls_for("small") == []  # never a provider call for a malformed alert
        assert double.replicas("echo") == 3


@pytest.mark.parametrize("starts", ["9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00+23:59"])
async def test_a_timestamp_out_of_range_is_no_timestamp_not_a_500(double, starts):
    async with harness(double.url) as h:
        response = await h.alert(firing("echo", fingerprint="f1", starts=starts))
        assert response.status_code == 200
        assert response.json()["results"][0]["outcome"] == "applied"


async def test_bodies_over_one_mib_get_413_by_header_and_by_stream(double):
    async with harness(double.url) as h:
        big = b'{"alerts": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
        assert (await h.client.post("/system/alert", content=big)).status_code == 413

        async def chunks():
            for _ in range(20):
                yield b"x" * 65536

        streamed = await h.client.post("/system/alert", content=chunks())  # no Content-Length
        assert streamed.status_code == 413
        just_fits = b'{"alerts": [], "pad": "' + b"x" * (1024 * 1024 - 30) + b'"}'
        assert (await h.client.post("/system/alert", content=just_fits)).status_code == 200


async def test_basic_auth_is_required_when_configured(double, tmp_path):
    async with harness(double.url, auth_user="admin", auth_password="s3cret") as h:
        payload = {"alerts": [firing("echo")]}
        assert (await h.client.post("/system/alert", json=payload)).status_code == 401
        for credentials in (("admin", "wrong"), ("root", "s3cret"), ("admin", "s3cret-longer"), ("", "")):
            response = await h.client.post("/system/alert", json=payload, auth=credentials)
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Basic")
        garbled = await h.client.post("/system/alert", json=payload, headers={"Authorization": "Basic %%%"})
        assert garbled.status_code == 401
        assert double.requests == 0
        ok = await h.client.post("/system/alert", json=payload, auth=("admin", "s3cret"))
        assert ok.status_code == 200
        assert (await h.client.get("/healthz")).status_code == 200  # probes need no credentials


def startup_lines(caplog) -> list[dict]:
    return [json.loads(record.getMessage()) for record in caplog.records
            if record.name == "scaler" and record.levelno >= logging.WARNING]


async def test_start_warns_that_the_webhook_is_open_without_credentials(double, caplog):
    caplog.set_level(logging.INFO, logger="scaler")
    async with harness(double.url, listen_port=9090):
        pass
    (line,) = startup_lines(caplog)
    assert (line["event"], line["level"], line["route"]) == ("webhook-open", "warning", "/system/alert")
    assert "anyone who can reach port 9090" in line["message"]
    assert "SCALER_AUTH_USER" in line["message"] and "SCALER_AUTH_PASSWORD_FILE" in line["message"]
    caplog.clear()
    async with harness(double.url, auth_user="admin", auth_password="s3cret"):
        pass
    assert startup_lines(caplog) == []


async def test_start_warns_once_per_unknown_variable_with_a_guess(double, caplog):
    caplog.set_level(logging.INFO, logger="scaler")
    environment = {"SCALER_POLCY": "openfaas", "SCALER_COLOUR": "blue", "SCALER_POLICY": "proportional",
                   "HOME": "/root"}
    async with harness(double.url, environment=environment, auth_user="admin", auth_password="s3cret"):
        pass
    lines = startup_lines(caplog)
    assert [(line["event"], line["variable"], line.get("suggestion")) for line in lines] == [
        ("unknown-variable", "SCALER_COLOUR", None), ("unknown-variable", "SCALER_POLCY", "SCALER_POLICY")]
    assert lines[1]["message"] == "SCALER_POLCY is not a scaler setting and is ignored; did you mean SCALER_POLICY?"
    assert lines[0]["message"] == "SCALER_COLOUR is not a scaler setting and is ignored"


async def test_provider_basic_auth_is_sent():
    provider = FaasProviderDouble([DoubleFunction("echo")], auth=("admin", "pw"))
    with provider.serve() as url:
        async with harness(url, provider_auth=("admin", "pw")) as h:
            assert (await h.alert(firing("echo"))).status_code == 200
            assert provider.replicas("echo") == 3
        async with harness(url, provider_auth=("admin", "nope")) as h:
            response = await h.alert(firing("echo"))
            assert response.status_code == 502  # a credentials problem on our side: worth a retry
            assert response.json()["results"][0]["reason"] == "provider-http-401"


async def test_an_unexpected_exception_answers_500_and_the_service_keeps_serving(double, monkeypatch):
    async with harness(double.url) as h:
        async def broken(notification):
            raise RuntimeError("boom")

        monkeypatch.setattr(h.scaler, "handle", broken)
        response = await h.alert(firing("echo"), headers={"X-Request-Id": "req-42"})
        assert response.status_code == 500
        assert response.json() == {"requestId": "req-42", "error": "internal error"}
        monkeypatch.undo()
        assert (await h.alert(firing("echo"))).status_code == 200
        metrics = (await h.client.get("/metrics")).text
        assert 'scaler_unexpected_errors_total{where="webhook"} 1.0' in metrics


async def test_request_ids_are_echoed_or_generated(double):
    async with harness(double.url) as h:
        given = await h.alert(headers={"X-Request-Id": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123" == given.json()["requestId"]
        hostile = await h.alert(headers={"X-Request-Id": b"bad id;\xe9" * 20})
        assert len(hostile.headers["x-request-id"]) == 32


async def test_a_thousand_alerts_use_bounded_provider_concurrency(tmp_path):
    functions = [DoubleFunction(f"fn-{i}") for i in range(1000)]
    provider = FaasProviderDouble(functions)
    with provider.serve() as url:
        async with harness(url, provider_concurrency=8, policy="openfaas") as h:
            response = await h.alert(*(firing(f"fn-{i}") for i in range(1000)))
            assert response.status_code == 200
            assert all(r["outcome"] == "applied" for r in response.json()["results"])
        assert provider.max_in_flight <= 8
        assert len(provider.clients) <= 8  # connections are reused, not one per alert
        assert len(provider.calls) == 1000


# -- observability ---------------------------------------------------------------------------------------


async def test_one_json_log_line_per_decision(double, caplog):
    caplog.set_level(logging.INFO, logger="scaler")
    async with harness(double.url, load=rps(echo=90.0)) as h:
        await h.alert(firing("echo"), firing("ghost"))
    decisions = [json.loads(r.getMessage()) for r in caplog.records if '"event":"decision"' in r.getMessage()]
    assert len(decisions) == 1
    line = decisions[0]
    assert {k: line[k] for k in ("function", "namespace", "from", "to", "reason", "policy")} == {
        "function": "echo", "namespace": "openfaas-fn", "from": 1, "to": 2, "reason": "load",
        "policy": "proportional",
    }
    assert "request_id" in line


async def test_metrics_cover_webhooks_decisions_provider_calls_and_desired_replicas(double):
    double.set_fault("small", status=500)
    async with harness(double.url, load=rps(echo=90.0)) as h:
        await h.alert(firing("echo"))
        await h.alert(firing("small"))
        await h.client.post("/system/alert", content=b"nope")
        text = (await h.client.get("/metrics")).text
    assert 'scaler_webhook_requests_total{code="200"} 1.0' in text
    assert 'scaler_webhook_requests_total{code="502"} 1.0' in text
    assert 'scaler_webhook_requests_total{code="400"} 1.0' in text
    assert 'scaler_decisions_total{direction="up",function="echo.openfaas-fn",reason="load"} 1.0' in text
    assert 'scaler_desired_replicas{function="echo.openfaas-fn"} 2.0' in text
    assert 'scaler_provider_request_duration_seconds_count{operation="scale"} 1.0' in text
    assert 'scaler_provider_errors_total{kind="http-500",operation="get_function"} 1.0' in text


async def test_unknown_functions_do_not_create_metric_series_or_state(double):
    async with harness(double.url) as h:
        await h.alert(*(firing(f"ghost-{i}") for i in range(50)))
        text = (await h.client.get("/metrics")).text
        assert "ghost" not in text
        assert h.scaler.state.functions == {}


async def test_empty_alert_list_is_fine(double):
    async with harness(double.url) as h:
        response = await h.alert()
        assert response.status_code == 200
        assert response.json()["results"] == []


async def test_wrong_methods_and_paths(double):
    async with harness(double.url) as h:
        assert (await h.client.get("/system/alert")).status_code == 405
        assert (await h.client.get("/nope")).status_code == 404


async def test_truncated_alerts_are_reported(double):
    async with harness(double.url) as h:
        response = await h.client.post("/system/alert", json={"truncatedAlerts": 3, "alerts": []})
        assert response.json()["truncatedAlerts"] == 3


async def test_labels_of_the_function_drive_the_decision(double):
    double.add_function(DoubleFunction("capped", labels={SCALE_MAX: "2"}))
    async with harness(double.url, load=StaticLoad(vectors={"rps": {"capped.openfaas-fn": 9000.0}})) as h:
        await h.alert(firing("capped"))
    assert double.replicas("capped") == 2


async def test_an_invalid_content_length_is_a_400(double):
    async with harness(double.url) as h:
        response = await h.client.post("/system/alert", content=b'{"alerts": []}', headers={"Content-Length": "x"})
        assert response.status_code == 400
        assert response.json()["error"] == "invalid Content-Length"


# -- large payloads ------------------------------------------------------------------------------------


async def test_a_large_payload_reads_its_functions_with_one_list_call(tmp_path):
    provider = FaasProviderDouble([DoubleFunction(f"fn-{i}") for i in range(30)])
    with provider.serve() as url:
        async with harness(url, policy="openfaas") as h:
            names = [f"fn-{i}" for i in range(30)] + ["gone-1", "gone-2"]
            response = await h.alert(*(firing(name) for name in names))
        outcomes = [(r["function"], r["outcome"]) for r in response.json()["results"]]
        assert outcomes[-2:] == [("gone-1.openfaas-fn", "skipped"), ("gone-2.openfaas-fn", "skipped")]
        assert all(outcome == "applied" for _, outcome in outcomes[:30])
        assert provider.operations == {"list": 1, "scale": 30}


async def test_a_failing_list_falls_back_to_one_read_per_function(tmp_path):
    provider = FaasProviderDouble([DoubleFunction(f"fn-{i}") for i in range(20)])
    provider.set_fault(None, status=500, operations=["list"])
    with provider.serve() as url:
        async with harness(url, policy="openfaas") as h:
            response = await h.alert(*(firing(f"fn-{i}") for i in range(20)))
        assert response.status_code == 200
        assert provider.operations == {"list": 1, "get": 20, "scale": 20}


async def test_two_alerts_for_one_function_in_a_large_payload_read_it_again_after_a_change(tmp_path):
    provider = FaasProviderDouble([DoubleFunction(f"fn-{i}") for i in range(20)])
    with provider.serve() as url:
        async with harness(url, policy="openfaas") as h:
            alerts = [firing(f"fn-{i}") for i in range(20)] + [{**firing("fn-0"), "labels": {
                "alertname": "Other", "function_name": "fn-0"}}]
            await h.alert(*alerts)
        # CE steps of 1 per alert; the second alert starts from the count the first one set
        assert [call.replicas for call in provider.calls_for("fn-0")] == [2, 3]
        assert provider.operations == {"list": 1, "get": 1, "scale": 21}


# -- serialization and background loops ---------------------------------------------------------------


async def test_concurrent_webhooks_for_one_function_are_serialized(double):
    async with harness(double.url, policy="openfaas") as h:  # CE steps: every distinct alert counts
        responses = await asyncio.gather(*(h.alert(firing("echo", fingerprint=f"f{i}")) for i in range(6)))
    assert all(r.status_code == 200 for r in responses)
    # each decision read the count the previous one set: no lost update
    assert [call.replicas for call in double.calls_for("echo")] == [3, 5, 7, 9, 11, 13]


async def test_an_unknown_status_is_skipped_in_proportional_mode(double):
    async with harness(double.url) as h:
        response = await h.alert(firing("echo", status="pending"))
    assert response.json()["results"][0]["reason"] == "unknown-status"
    assert double.requests == 0


async def test_a_failing_background_job_is_counted_and_retried():
    metrics = ScalerMetrics()
    runs = []

    async def job():
        runs.append(1)
        raise RuntimeError("boom")

    task = asyncio.create_task(run_periodically(0.01, job, "reconcile", metrics))
    await asyncio.sleep(0.2)
    assert not task.done()
    task.cancel()
    assert len(runs) >= 3
    assert metrics.registry.get_sample_value("scaler_unexpected_errors_total", {"where": "reconcile"}) == len(runs)
