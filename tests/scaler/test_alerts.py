"""Webhook payload parsing: Alertmanager v4 and the minimal OpenFaaS shape."""

from datetime import UTC, datetime

import pytest

from scaler.alerts import (
    FunctionRef,
    PayloadError,
    parse_notification,
    parse_timestamp,
    split_function_name,
)

NS = "openfaas-fn"


def alertmanager_payload(*alerts, status="firing"):
    return {
        "version": "4", "groupKey": '{}:{alertname="APIHighInvocationRate"}', "truncatedAlerts": 0,
        "status": status, "receiver": "scale-up", "groupLabels": {"alertname": "APIHighInvocationRate"},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def am_alert(function_name, status="firing", fingerprint="c0ffee", starts="2026-01-01T00:00:00Z"):
    return {
        "status": status,
        "labels": {"alertname": "APIHighInvocationRate", "function_name": function_name},
        "annotations": {"description": "High invocation total"},
        "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("echo", FunctionRef("echo", NS)),
        ("echo.team-a", FunctionRef("echo", "team-a")),
        ("a.b.c", None),  # splits at the last dot: "a.b" is no valid function name
        ("echo.", None),
        (".team-a", None),
        ("", None),
        ("Echo", None),
        ("../../system", None),
        ("echo/../x", None),
        ("x" * 64, None),
        ("x" * 63, FunctionRef("x" * 63, NS)),
    ],
)
def test_function_name_is_split_at_the_last_dot_and_validated(value, expected):
    assert split_function_name(value, NS) == expected


def test_alertmanager_v4_payload():
    notification = parse_notification(
        alertmanager_payload(am_alert("sum.team-a"), am_alert("echo", status="resolved", fingerprint="beef")),
        NS,
    )
    assert notification.receiver == "scale-up"
    first, second = notification.alerts
    assert first.function == FunctionRef("sum", "team-a")
    assert (first.status, first.fingerprint, first.alertname) == ("firing", "c0ffee", "APIHighInvocationRate")
    assert first.starts_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert first.ends_at is None  # Go's zero time
    assert (second.status, second.function, second.index) == ("resolved", FunctionRef("echo", NS), 1)


def test_minimal_openfaas_shape_without_fingerprints():
    payload = {"status": "firing", "receiver": "r", "alerts": [
        {"status": "firing", "labels": {"alertname": "A", "function_name": "echo"}},
        {"status": "firing", "labels": {"alertname": "A", "function_name": "echo"}},
        {"status": "firing", "labels": {"alertname": "B", "function_name": "echo"}},
    ]}
    first, same, other = parse_notification(payload, NS).alerts
    assert first.fingerprint == same.fingerprint != other.fingerprint
    assert first.starts_at is None


def test_alert_status_falls_back_to_the_payload_status():
    payload = {"status": "resolved", "alerts": [{"labels": {"function_name": "echo"}}]}
    assert parse_notification(payload, NS).alerts[0].status == "resolved"


def test_alerts_without_a_usable_function_name_are_ignored_not_fatal():
    payload = alertmanager_payload(am_alert("echo"), {"status": "firing", "labels": {"alertname": "Other"}},
                                   am_alert("Not_Valid"))
    notification = parse_notification(payload, NS)
    assert [alert.function.name for alert in notification.alerts] == ["echo"]
    assert [(item.index, item.reason) for item in notification.ignored] == [
        (1, "no-function-name"), (2, "invalid-function-name"),
    ]


def test_empty_alert_list_is_valid():
    assert parse_notification({"alerts": []}, NS).alerts == []


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "alerts",
        None,
        {},
        {"alerts": {}},
        {"alerts": None},
        {"status": 1, "alerts": []},
        {"alerts": ["x"]},
        {"alerts": [{"status": "firing", "labels": []}]},
        {"alerts": [{"status": 3, "labels": {"function_name": "echo"}}]},
        {"alerts": [{"labels": {"function_name": "echo"}}]},  # no status anywhere
        {"alerts": [{"status": "firing", "labels": {"function_name": 7}}]},
        {"alerts": [{"status": "firing", "labels": {"function_name": "echo"}, "fingerprint": {}}]},
        {"alerts": [{"status": "firing", "labels": {"function_name": "echo"}, "startsAt": 0}]},
        {"truncatedAlerts": "many", "alerts": []},
        {"truncatedAlerts": -1, "alerts": []},
    ],
)
def test_payloads_that_can_never_be_valid_are_rejected(payload):
    with pytest.raises(PayloadError) as caught:
        parse_notification(payload, NS)
    assert caught.value.errors


def test_one_bad_alert_rejects_the_batch_and_names_it():
    payload = {"alerts": [am_alert("echo"), {"status": "firing", "labels": "x"}]}
    with pytest.raises(PayloadError) as caught:
        parse_notification(payload, NS)
    assert caught.value.errors == ["alerts[1].labels must be an object, got a string"]


def test_errors_are_capped():
    with pytest.raises(PayloadError) as caught:
        parse_notification({"alerts": [1] * 500}, NS)
    assert len(caught.value.errors) == 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T01:00:00.123456789+01:00", datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("2026-13-01T00:00:00Z", None),
        ("yesterday", None),
    ],
)
def test_timestamps(text, expected):
    assert parse_timestamp(text) == expected
