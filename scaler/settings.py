"""Configuration from environment variables, validated once at start.

`Settings.from_env` raises `SettingsError` naming the variable and what was expected; the
entry point prints it and exits, so a bad value never gets as far as serving traffic.
Every variable is documented in scaler/README.md. `unknown_variables` finds the `SCALER_*`
variables of an environment that `from_env` does not read (a misspelling is otherwise silently
ignored), with the closest known name.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from faasplane.scaler.alerts import is_valid_name
from faasplane.scaler.decision import UP_ADDEND, UP_FACTOR
from faasplane.scaler.labels import parse_duration

POLICY_PROPORTIONAL = "proportional"
POLICY_OPENFAAS = "openfaas"
POLICIES = (POLICY_PROPORTIONAL, POLICY_OPENFAAS)
LOG_LEVELS = ("debug", "info", "warning", "error")
PREFIX = "SCALER_"
# What Kubernetes puts in a pod's environment for a Service named `scaler` (when service links are
# on): not settings, not misspellings either.
_SERVICE_LINK = re.compile(r"SCALER_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?)")


class SettingsError(ValueError):
    def __init__(self, variable: str, expected: str, got: str | None = None) -> None:
        shown = "" if got is None else f", got {got[:80]!r}"
        super().__init__(f"{variable}: expected {expected}{shown}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    provider_url: str
    listen_host: str = "0.0.0.0"
    listen_port: int = 8080
    provider_user: str | None = None
    provider_password: str | None = None
    auth_user: str | None = None
    auth_password: str | None = None
    prometheus_url: str | None = None
    policy: str = POLICY_PROPORTIONAL
    max_replicas_cap: int | None = None
    default_namespace: str = "openfaas-fn"
    provider_connect_timeout: float = 3.0
    provider_timeout: float = 10.0
    provider_concurrency: int = 16
    prometheus_timeout: float = 3.0
    rate_window: float = 30.0
    up_period: float = 15.0
    up_factor: float = UP_FACTOR
    up_addend: int = UP_ADDEND
    down_period: float = 15.0
    fallback_step_interval: float = 20.0
    dedupe_window: float = 10.0
    reconcile_interval: float = 15.0
    idle_interval: float = 30.0
    idle_namespaces: tuple[str, ...] = ("openfaas-fn",)
    shutdown_timeout: float = 20.0
    log_level: str = "info"

    @property
    def auth_required(self) -> bool:
        return self.auth_user is not None and self.auth_password is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every `SCALER_*` variable; raises `SettingsError`."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        provider_url = _url("SCALER_PROVIDER_URL", get("SCALER_PROVIDER_URL"), required=True)
        assert provider_url is not None
        host, port = _listen("SCALER_LISTEN", get("SCALER_LISTEN") or "0.0.0.0:8080")
        provider_user, provider_password = _credentials(
            env, "SCALER_PROVIDER_USER", "SCALER_PROVIDER_PASSWORD_FILE"
        )
        auth_user, auth_password = _credentials(env, "SCALER_AUTH_USER", "SCALER_AUTH_PASSWORD_FILE")
        policy = (get("SCALER_POLICY") or POLICY_PROPORTIONAL).lower()
        if policy not in POLICIES:
            raise SettingsError("SCALER_POLICY", " or ".join(POLICIES), policy)
        namespace = get("SCALER_DEFAULT_NAMESPACE") or "openfaas-fn"
        if not is_valid_name(namespace):
            raise SettingsError("SCALER_DEFAULT_NAMESPACE", "a Kubernetes namespace name", namespace)
        idle_namespaces = tuple(
            item.strip() for item in (get("SCALER_IDLE_NAMESPACES") or namespace).split(",") if item.strip()
        )
        for item in idle_namespaces:
            if not is_valid_name(item):
                raise SettingsError("SCALER_IDLE_NAMESPACES", "comma-separated namespace names", item)
        log_level = (get("SCALER_LOG_LEVEL") or "info").lower()
        if log_level not in LOG_LEVELS:
            raise SettingsError("SCALER_LOG_LEVEL", " or ".join(LOG_LEVELS), log_level)

        def seconds(name: str, default: float, *, minimum: float = 0.0) -> float:
            return _seconds(name, get(name), default, minimum)

        def integer(name: str, default: int | None, *, minimum: int) -> int | None:
            return _integer(name, get(name), default, minimum)

        up_factor = _factor("SCALER_UP_FACTOR", get("SCALER_UP_FACTOR"), UP_FACTOR)
        up_addend = integer("SCALER_UP_ADDEND", UP_ADDEND, minimum=0) or 0
        if up_addend < 1 and up_factor < 2:
            # max(floor(factor x 1), 1 + 0) is 1: a function at 1 replica could never grow.
            raise SettingsError(
                "SCALER_UP_ADDEND",
                f"at least 1 when SCALER_UP_FACTOR is below 2 (it is {up_factor:g}; with "
                "SCALER_UP_ADDEND=0 a function at 1 replica could never scale up); raise one of the two",
                str(up_addend),
            )
        return cls(
            provider_url=provider_url,
            listen_host=host,
            listen_port=port,
            provider_user=provider_user,
            provider_password=provider_password,
            auth_user=auth_user,
            auth_password=auth_password,
            prometheus_url=_url("SCALER_PROMETHEUS_URL", get("SCALER_PROMETHEUS_URL")),
            policy=policy,
            max_replicas_cap=integer("SCALER_MAX_REPLICAS_CAP", None, minimum=1),
            default_namespace=namespace,
            provider_connect_timeout=seconds("SCALER_PROVIDER_CONNECT_TIMEOUT", 3.0, minimum=0.001),
            provider_timeout=seconds("SCALER_PROVIDER_TIMEOUT", 10.0, minimum=0.001),
            provider_concurrency=integer("SCALER_PROVIDER_CONCURRENCY", 16, minimum=1) or 16,
            prometheus_timeout=seconds("SCALER_PROMETHEUS_TIMEOUT", 3.0, minimum=0.001),
            rate_window=seconds("SCALER_RATE_WINDOW", 30.0, minimum=1.0),
            up_period=seconds("SCALER_UP_PERIOD", 15.0, minimum=0.001),
            up_factor=up_factor,
            up_addend=up_addend,
            down_period=seconds("SCALER_DOWN_PERIOD", 15.0, minimum=0.001),
            fallback_step_interval=seconds("SCALER_FALLBACK_STEP_INTERVAL", 20.0),
            dedupe_window=seconds("SCALER_DEDUPE_WINDOW", 10.0),
            reconcile_interval=seconds("SCALER_RECONCILE_INTERVAL", 15.0, minimum=0.01),
            idle_interval=seconds("SCALER_IDLE_INTERVAL", 30.0, minimum=0.01),
            idle_namespaces=idle_namespaces,
            shutdown_timeout=seconds("SCALER_SHUTDOWN_TIMEOUT", 20.0),
            log_level=log_level,
        )


def _factor(name: str, value: str | None, default: float) -> float:
    if value is None or not value.strip():
        return default
    try:
        factor = float(value)
    except ValueError:
        factor = float("nan")
    if not (factor >= 1.0 and factor < float("inf")):
        raise SettingsError(name, "a number >= 1 (how many times the count may grow per up period)", value)
    return factor


def _url(name: str, value: str | None, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise SettingsError(name, "an http(s) URL (required)")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(name, "an http(s) URL such as http://gateway.openfaas:8080", value)
    return value.rstrip("/")


def _listen(name: str, value: str) -> tuple[str, int]:
    host, colon, port_text = value.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SettingsError(name, "host:port such as 0.0.0.0:8080", value)
    return host, int(port_text)


def _credentials(env: Mapping[str, str], user_var: str, file_var: str) -> tuple[str | None, str | None]:
    user = env.get(user_var, "").strip() or None
    path = env.get(file_var, "").strip() or None
    if user is None and path is None:
        return None, None
    if user is None or path is None:
        missing = user_var if user is None else file_var
        raise SettingsError(missing, f"to be set together with {file_var if user is None else user_var}")
    try:
        with open(path, encoding="utf-8") as handle:
            password = handle.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(file_var, "a readable file holding the password", f"{path}: {error}") from None
    if not password:
        raise SettingsError(file_var, "a file with a non-empty password", path)
    return user, password


def _seconds(name: str, value: str | None, default: float, minimum: float) -> float:
    if value is None:
        return default
    try:
        parsed = parse_duration(value)
    except ValueError:
        raise SettingsError(name, "a duration such as 10s, 1m or 2.5", value) from None
    if parsed < minimum:
        raise SettingsError(name, f"a duration of at least {minimum}s", value)
    return parsed


def _integer(name: str, value: str | None, default: int | None, minimum: int) -> int | None:
    if value is None:
        return default
    try:
        parsed = int(value)
    except ValueError:
        raise SettingsError(name, f"an integer >= {minimum}", value) from None
    if parsed < minimum:
        raise SettingsError(name, f"an integer >= {minimum}", value)
    return parsed


@functools.cache
def known_variables() -> frozenset[str]:
    """Every variable `Settings.from_env` reads, recorded by running it on a minimal environment."""
    seen: set[str] = set()

    class Recording(dict[str, str]):
        def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
            seen.add(key)
            return super().get(key, default)

    Settings.from_env(Recording({"SCALER_PROVIDER_URL": "http://provider:8080"}))
    return frozenset(seen)


def unknown_variables(env: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """`(name, closest known name or None)` for each `SCALER_*` variable of `env` that is not a setting.

    Case-insensitive on the prefix (`scaler_policy` is not read either); Kubernetes service links
    of a Service named `scaler` are not reported.
    """
    known = known_variables()
    # compared without the common prefix, which would make every name look close to every other
    suffixes = {variable[len(PREFIX):]: variable for variable in sorted(known)}
    found = []
    for name in sorted(env):
        if not name.upper().startswith(PREFIX) or name in known or _SERVICE_LINK.fullmatch(name):
            continue
        close = difflib.get_close_matches(name.upper()[len(PREFIX):], list(suffixes), n=1)
        found.append((name, suffixes[close[0]] if close else None))
    return found
