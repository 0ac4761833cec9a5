"""Environment variables -> Settings; a bad value stops the process with a message naming it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from faasplane.scaler.settings import Settings, SettingsError, known_variables, unknown_variables
from tests.doubles.processes import REPO_ROOT

BASE = {"SCALER_PROVIDER_URL": "http://gateway.openfaas:8080/"}


def test_defaults():
    settings = Settings.from_env(BASE)
    assert settings.provider_url == "http://gateway.openfaas:8080"
    assert (settings.listen_host, settings.listen_port) == ("0.0.0.0", 8080)
    assert settings.policy == "proportional"
    assert settings.max_replicas_cap is None
    assert settings.default_namespace == "openfaas-fn"
    assert settings.idle_namespaces == ("openfaas-fn",)
    assert (settings.provider_connect_timeout, settings.provider_timeout) == (3.0, 10.0)
    assert settings.provider_concurrency == 16
    assert settings.prometheus_url is None
    assert not settings.auth_required


def test_every_variable_is_read(tmp_path):
    provider_password = tmp_path / "provider"
    provider_password.write_text("p4ss\n")
    auth_password = tmp_path / "auth"
    auth_password.write_text("s3cret")
    settings = Settings.from_env({
        **BASE,
        "SCALER_LISTEN": "[::1]:9000",
        "SCALER_PROVIDER_USER": "admin", "SCALER_PROVIDER_PASSWORD_FILE": str(provider_password),
        "SCALER_AUTH_USER": "am", "SCALER_AUTH_PASSWORD_FILE": str(auth_password),
        "SCALER_PROMETHEUS_URL": "http://prometheus:9090",
        "SCALER_POLICY": "OpenFaaS",
        "SCALER_MAX_REPLICAS_CAP": "5",
        "SCALER_DEFAULT_NAMESPACE": "fns",
        "SCALER_PROVIDER_CONNECT_TIMEOUT": "1s", "SCALER_PROVIDER_TIMEOUT": "2500ms",
        "SCALER_PROVIDER_CONCURRENCY": "4", "SCALER_PROMETHEUS_TIMEOUT": "2", "SCALER_RATE_WINDOW": "1m",
        "SCALER_UP_PERIOD": "30s", "SCALER_UP_FACTOR": "2", "SCALER_UP_ADDEND": "0", "SCALER_DOWN_PERIOD": "1m", "SCALER_FALLBACK_STEP_INTERVAL": "25s",
        "SCALER_DEDUPE_WINDOW": "12s",
        "SCALER_RECONCILE_INTERVAL": "5s", "SCALER_IDLE_INTERVAL": "1m",
        "SCALER_IDLE_NAMESPACES": "fns, team-a", "SCALER_SHUTDOWN_TIMEOUT": "5s", "SCALER_LOG_LEVEL": "DEBUG",
    })
    assert (settings.listen_host, settings.listen_port) == ("::1", 9000)
    assert (settings.provider_user, settings.provider_password) == ("admin", "p4ss")
    assert (settings.auth_user, settings.auth_password) == ("am", "s3cret") and settings.auth_required
    assert settings.policy == "openfaas" and settings.max_replicas_cap == 5
    assert settings.default_namespace == "fns" and settings.idle_namespaces == ("fns", "team-a")
    assert (settings.provider_connect_timeout, settings.provider_timeout, settings.prometheus_timeout) == (1, 2.5, 2)
    assert (settings.up_period, settings.down_period, settings.fallback_step_interval) == (30, 60, 25)
    assert (settings.up_factor, settings.up_addend) == (2.0, 0)
    assert settings.dedupe_window == 12
    assert (settings.reconcile_interval, settings.idle_interval, settings.shutdown_timeout) == (5, 60, 5)
    assert settings.provider_concurrency == 4 and settings.log_level == "debug"
    assert settings.rate_window == 60


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SCALER_PROVIDER_URL"),
        ({"SCALER_PROVIDER_URL": "gateway:8080"}, "SCALER_PROVIDER_URL"),
        ({"SCALER_PROVIDER_URL": "ftp://gateway"}, "SCALER_PROVIDER_URL"),
        ({**BASE, "SCALER_LISTEN": "8080"}, "SCALER_LISTEN"),
        ({**BASE, "SCALER_LISTEN": "0.0.0.0:99999"}, "SCALER_LISTEN"),
        ({**BASE, "SCALER_POLICY": "fast"}, "SCALER_POLICY"),
        ({**BASE, "SCALER_MAX_REPLICAS_CAP": "0"}, "SCALER_MAX_REPLICAS_CAP"),
        ({**BASE, "SCALER_MAX_REPLICAS_CAP": "five"}, "SCALER_MAX_REPLICAS_CAP"),
        ({**BASE, "SCALER_DEFAULT_NAMESPACE": "Open_FaaS"}, "SCALER_DEFAULT_NAMESPACE"),
        ({**BASE, "SCALER_PROVIDER_TIMEOUT": "soon"}, "SCALER_PROVIDER_TIMEOUT"),
        ({**BASE, "SCALER_PROVIDER_TIMEOUT": "0"}, "SCALER_PROVIDER_TIMEOUT"),
        ({**BASE, "SCALER_PROVIDER_CONCURRENCY": "0"}, "SCALER_PROVIDER_CONCURRENCY"),
        ({**BASE, "SCALER_PROMETHEUS_URL": "prometheus"}, "SCALER_PROMETHEUS_URL"),
        ({**BASE, "SCALER_AUTH_USER": "admin"}, "SCALER_AUTH_PASSWORD_FILE"),
        ({**BASE, "SCALER_AUTH_PASSWORD_FILE": "/x"}, "SCALER_AUTH_USER"),
        ({**BASE, "SCALER_PROVIDER_USER": "a", "SCALER_PROVIDER_PASSWORD_FILE": "/nonexistent"},
         "SCALER_PROVIDER_PASSWORD_FILE"),
        ({**BASE, "SCALER_IDLE_NAMESPACES": "ok,Not_OK"}, "SCALER_IDLE_NAMESPACES"),
        ({**BASE, "SCALER_LOG_LEVEL": "loud"}, "SCALER_LOG_LEVEL"),
        ({**BASE, "SCALER_RATE_WINDOW": "500ms"}, "SCALER_RATE_WINDOW"),
        ({**BASE, "SCALER_UP_FACTOR": "0.5"}, "SCALER_UP_FACTOR"),
        ({**BASE, "SCALER_UP_FACTOR": "nan"}, "SCALER_UP_FACTOR"),
        ({**BASE, "SCALER_UP_FACTOR": "lots"}, "SCALER_UP_FACTOR"),
        ({**BASE, "SCALER_UP_ADDEND": "-1"}, "SCALER_UP_ADDEND"),
        ({**BASE, "SCALER_UP_PERIOD": "0"}, "SCALER_UP_PERIOD"),
        ({**BASE, "SCALER_UP_PERIOD": "0s"}, "SCALER_UP_PERIOD"),
        ({**BASE, "SCALER_DOWN_PERIOD": "0"}, "SCALER_DOWN_PERIOD"),
        ({**BASE, "SCALER_UP_FACTOR": "1", "SCALER_UP_ADDEND": "0"}, "SCALER_UP_ADDEND"),
        ({**BASE, "SCALER_UP_FACTOR": "1.9", "SCALER_UP_ADDEND": "0"}, "SCALER_UP_ADDEND"),
    ],
)
def test_bad_values_name_the_variable(env, variable):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: expected")


def test_a_scale_up_bound_that_can_never_grow_names_both_variables():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**BASE, "SCALER_UP_FACTOR": "1", "SCALER_UP_ADDEND": "0"})
    assert "SCALER_UP_FACTOR" in str(caught.value) and "SCALER_UP_ADDEND" in str(caught.value)
    for factor, addend in (("1", "1"), ("2", "0"), ("10", "0")):  # each of these can always grow
        settings = Settings.from_env({**BASE, "SCALER_UP_FACTOR": factor, "SCALER_UP_ADDEND": addend})
        assert (settings.up_factor, settings.up_addend) == (float(factor), int(addend))


def test_empty_password_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SettingsError, match="SCALER_AUTH_PASSWORD_FILE"):
        Settings.from_env({**BASE, "SCALER_AUTH_USER": "a", "SCALER_AUTH_PASSWORD_FILE": str(empty)})


def test_the_process_exits_at_start_with_the_message():
    env = {"PATH": "/usr/bin:/bin", "SCALER_PROVIDER_URL": "http://x", "SCALER_POLICY": "fast"}
    done = subprocess.run([sys.executable, "-m", "faasplane.scaler"], env=env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2
    assert "SCALER_POLICY: expected proportional or openfaas, got 'fast'" in done.stderr


# -- SCALER_* variables that are not settings ---------------------------------------------------------


def test_the_variables_read_are_the_documented_ones():
    readme = (REPO_ROOT / "scaler" / "README.md").read_text()
    documented = set(re.findall(r"^\| `(SCALER_[A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert known_variables() == documented
    assert len(documented) == 26


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("SCALER_POLCY", "SCALER_POLICY"),
        ("SCALER_UP_FACTR", "SCALER_UP_FACTOR"),
        ("SCALER_AUTH_PASSWORD", "SCALER_AUTH_PASSWORD_FILE"),
        ("SCALER_PROMETHEUS", "SCALER_PROMETHEUS_URL"),
        ("scaler_policy", "SCALER_POLICY"),  # not read either: names are case-sensitive
        ("SCALER_COLOUR", None),  # nothing close: no guess (the shared prefix does not count)
    ],
)
def test_an_unknown_variable_is_found_with_the_closest_setting(name, suggestion):
    env = {**BASE, "SCALER_POLICY": "openfaas", "PATH": "/bin", name: "x"}
    assert unknown_variables(env) == [(name, suggestion)]


def test_settings_and_kubernetes_service_links_are_not_unknown():
    links = {"SCALER_SERVICE_HOST": "10.0.0.1", "SCALER_SERVICE_PORT": "8080", "SCALER_SERVICE_PORT_HTTP": "8080",
             "SCALER_PORT": "tcp://10.0.0.1:8080", "SCALER_PORT_8080_TCP": "tcp://10.0.0.1:8080",
             "SCALER_PORT_8080_TCP_PROTO": "tcp", "SCALER_PORT_8080_TCP_PORT": "8080",
             "SCALER_PORT_8080_TCP_ADDR": "10.0.0.1"}
    assert unknown_variables({**BASE, **links, **{name: "" for name in known_variables()}}) == []
    assert unknown_variables({"SCALER_PORTS": "1", "SCALER_SERVICE_HOSTNAME": "x"}) == [
        ("SCALER_PORTS", None), ("SCALER_SERVICE_HOSTNAME", None)]
