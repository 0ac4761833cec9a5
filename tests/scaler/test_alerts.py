"""Webhook payload parsing: Alertmanager v4 and the minimal OpenFaaS shape."""

from datetime import UTC, datetime

import pytest

from faasplane.scaler.alerts import (
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
    [[], "alerts", None, {}, {"alerts": {}}, {"alerts": None}, {"status": "firing"}],
)
def test_only_an_envelope_that_can_never_be_valid_is_rejected(payload):
    with pytest.raises(PayloadError) as caught:
        parse_notification(payload, NS)
    assert caught.value.errors


@pytest.mark.parametrize(
    ("alert", "reason"),
    [
        ("x", "invalid-alert"),
        ({"status": "firing", "labels": []}, "invalid-alert"),
        ({"status": "firing", "labels": "x"}, "invalid-alert"),
        ({"status": 3, "labels": {"function_name": "echo"}}, "invalid-alert"),
        ({"labels": {"function_name": "echo"}}, "no-status"),
        ({"status": "", "labels": {"function_name": "echo"}}, "no-status"),
        ({"status": "firing", "labels": {"function_name": 7}}, "invalid-alert"),
        ({"status": "firing", "labels": {"function_name": "echo", "alertname": 1.5}}, "invalid-alert"),
        ({"status": "firing", "labels": {"function_name": "echo"}, "fingerprint": {}}, "invalid-alert"),
        ({"status": "firing", "labels": {"function_name": "echo"}, "startsAt": 0}, "invalid-alert"),
        ({"status": "firing", "labels": {"function_name": "echo"}, "endsAt": []}, "invalid-alert"),
    ],
)
def test_one_unusable_alert_is_ignored_and_the_others_proceed(alert, reason):
    notification = parse_notification({"alerts": [am_alert("echo"), alert, am_alert("sum.team-a")]}, NS)
    assert [a.function.key for a in notification.alerts] == ["echo.openfaas-fn", "sum.team-a"]
    assert [(item.index, item.reason) for item in notification.ignored] == [(1, reason)]
    if reason == "invalid-alert":
        assert notification.ignored[0].detail


def test_the_reason_of_a_wrongly_typed_field_is_reported():
    notification = parse_notification({"alerts": [{"status": "firing", "labels": "x"}]}, NS)
    assert notification.ignored[0].detail == "labels must be an object, got a string"


def test_wrongly_typed_envelope_fields_are_treated_as_absent():
    payload = {"status": 1, "receiver": [], "truncatedAlerts": "many", "alerts": [am_alert("echo")]}
    notification = parse_notification(payload, NS)
    assert (notification.status, notification.receiver, notification.truncated_alerts) == (None, None, 0)
    assert [a.function.name for a in notification.alerts] == ["echo"]
    assert parse_notification({"truncatedAlerts": -1, "alerts": []}, NS).truncated_alerts == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T01:00:00.123456789+01:00", datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("2026-13-01T00:00:00Z", None),
        ("yesterday", None),
        # offsets that push a valid local time out of datetime's range: no answer, no exception
        ("9999-12-31T23:59:59-00:01", None),
        ("9999-12-31T23:59:59-23:59", None),
        ("0001-01-01T00:00:00+23:59", None),
        ("0002-01-01T00:00:00+23:59", datetime(1, 12, 31, 0, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59+00:01", datetime(9999, 12, 31, 23, 58, 59, tzinfo=UTC)),
    ],
)
def test_timestamps(text, expected):
    assert parse_timestamp(text) == expected
