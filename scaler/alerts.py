"""Parse webhook payloads (Alertmanager v4 and the minimal OpenFaaS shape) into typed alerts.

`parse_notification` takes the decoded JSON and either returns a `Notification` or raises
`PayloadError` for a payload that can never be valid: not a JSON object, or no `alerts` list
(the HTTP layer answers 400, which Alertmanager drops). Problems with a single alert (not an
object, a wrongly typed field, no status, no `function_name`, a name that is not a valid
function name) do not fail the batch: the alert is listed in `Notification.ignored` and the
others proceed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

# DNS-1123 label: what Kubernetes (and so OpenFaaS) accepts as a function name or namespace.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})"
)
MAX_ERRORS_REPORTED = 20


class PayloadError(ValueError):
    """The payload can never be valid; `errors` says why (at most MAX_ERRORS_REPORTED)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors[:MAX_ERRORS_REPORTED]


@dataclass(frozen=True)
class FunctionRef:
    name: str
    namespace: str

    @property
    def key(self) -> str:
        """`name.namespace`, the gateway's `function_name` label value."""
        return f"{self.name}.{self.namespace}"


@dataclass(frozen=True)
class Alert:
    status: str
    function: FunctionRef
    alertname: str
    # Identity of the alert: Alertmanager's fingerprint, or a hash of the labels.
    fingerprint: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # Position in the payload's `alerts` list, to report results per alert.
    index: int = 0


@dataclass(frozen=True)
class IgnoredAlert:
    index: int
    reason: str
    function_name: str | None = None
    # What was wrong with an `invalid-alert` (a wrongly typed field, not an object...).
    detail: str | None = None


@dataclass(frozen=True)
class Notification:
    status: str | None
    receiver: str | None
    alerts: list[Alert] = field(default_factory=list)
    ignored: list[IgnoredAlert] = field(default_factory=list)
    truncated_alerts: int = 0


def is_valid_name(text: str) -> bool:
    """Whether `text` is a DNS-1123 label (a valid function name or namespace)."""
    return _NAME.fullmatch(text) is not None


def split_function_name(value: str, default_namespace: str) -> FunctionRef | None:
    """`name` or `name.namespace` (split at the last dot); None if not a valid function name."""
    name, dot, namespace = value.rpartition(".")
    if not dot:
        name, namespace = value, default_namespace
    if is_valid_name(name) and is_valid_name(namespace):
        return FunctionRef(name, namespace)
    return None


def parse_timestamp(value: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime; None for Go's zero time or anything unparseable."""
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    # The whole conversion is guarded: an offset can push a valid local time out of datetime's
    # range (e.g. 9999-12-31T23:59:59-00:01 is year 10000 in UTC: OverflowError).
    try:
        parsed = datetime.fromisoformat(
            f"{year}-{month}-{day}T{hour}:{minute}:{second}"
            f"{'.' + fraction[:6].ljust(6, '0') if fraction else ''}"
            f"{'+00:00' if zone in ('Z', 'z') else zone}"
        )
        if parsed.year <= 1:
            return None
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _labels_fingerprint(labels: dict[str, object]) -> str:
    text = "\x00".join(f"{key}\x01{value}" for key, value in sorted(labels.items()))
    return "labels:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def parse_notification(payload: object, default_namespace: str) -> Notification:
    """Validate a decoded webhook payload; raises `PayloadError` only if it can never be valid.

    Only the envelope can make a payload invalid: not an object, or no `alerts` list. A single
    alert that cannot be used (not an object, labels not an object, a wrongly typed field, no
    status, no usable `function_name`) is listed in `ignored` with its reason and the others
    proceed. Wrongly typed envelope fields (`status`, `receiver`, `truncatedAlerts`) are treated
    as absent.
    """
    if not isinstance(payload, dict):
        raise PayloadError([f"payload must be a JSON object, got {_kind(payload)}"])
    raw_alerts = payload.get("alerts")
    if not isinstance(raw_alerts, list):
        raise PayloadError([f"alerts must be a list, got {_kind(raw_alerts)}"])
    status = _str_or_none(payload.get("status"))
    receiver = _str_or_none(payload.get("receiver"))
    truncated = payload.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        truncated = 0

    alerts: list[Alert] = []
    ignored: list[IgnoredAlert] = []
    for index, raw in enumerate(raw_alerts):
        if not isinstance(raw, dict):
            ignored.append(IgnoredAlert(index, "invalid-alert", detail=f"alert must be an object, got {_kind(raw)}"))
            continue
        labels = raw.get("labels", {})
        if not isinstance(labels, dict):
            detail = f"labels must be an object, got {_kind(labels)}"
            ignored.append(IgnoredAlert(index, "invalid-alert", detail=detail))
            continue
        errors: list[str] = []
        alert_status = _optional_str(raw, "status", "status", errors) or status
        fingerprint = _optional_str(raw, "fingerprint", "fingerprint", errors)
        starts_at = _optional_str(raw, "startsAt", "startsAt", errors)
        ends_at = _optional_str(raw, "endsAt", "endsAt", errors)
        function_name = _optional_str(labels, "function_name", "labels.function_name", errors)
        alertname = _optional_str(labels, "alertname", "labels.alertname", errors)
        if errors:
            ignored.append(IgnoredAlert(index, "invalid-alert", detail="; ".join(errors)))
            continue
        if not alert_status:
            ignored.append(IgnoredAlert(index, "no-status"))
            continue
        if function_name is None:
            ignored.append(IgnoredAlert(index, "no-function-name"))
            continue
        function = split_function_name(function_name, default_namespace)
        if function is None:
            ignored.append(IgnoredAlert(index, "invalid-function-name", function_name[:253]))
            continue
        alerts.append(
            Alert(
                status=alert_status,
                function=function,
                alertname=alertname or "",
                fingerprint=fingerprint or _labels_fingerprint(labels),
                starts_at=parse_timestamp(starts_at) if starts_at else None,
                ends_at=parse_timestamp(ends_at) if ends_at else None,
                index=index,
            )
        )
    return Notification(status, receiver, alerts, ignored, truncated)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _optional_str(mapping: dict[str, object], key: str, where: str, errors: list[str]) -> str | None:
    value = mapping.get(key)
    if value is None or isinstance(value, str):
        return value
    errors.append(f"{where} must be a string, got {_kind(value)}")
    return None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
