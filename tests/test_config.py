"""The typed stack configuration: defaults, the stack files, and a table of bad configs with their messages."""

from __future__ import annotations

import pytest

from faasplane.components.config import (
    ConfigError,
    PlatformConfig,
    deep_merge,
    duration_seconds,
    go_duration,
    load_config,
    misspelt_namespaces,
    parse_config,
)
from faasplane.components.render import read_stack_config
from faasplane.components.render.mock_engine import run_program

PASSWORD = "an-admin-password-of-the-test"


def load(config: dict, secret_keys: list[str] | None = None) -> PlatformConfig:
    """Load the config the way the program does: through Pulumi's config of a (mocked) stack, with the
    admin password every stack sets as a secret (unless the test gives its own)."""
    loaded: list[PlatformConfig] = []
    config = {"faasplane:adminPassword": PASSWORD, **config}
    keys = [*(secret_keys or []), "faasplane:adminPassword"]
    run_program(lambda: loaded.append(load_config()), config, secret_keys=keys)
    return loaded[0]


def test_defaults_match_the_openfaas_chart() -> None:
    config = load({})
    assert config.edition == "ce"
    assert (config.namespaces.control_plane, config.namespaces.functions) == ("openfaas", "openfaas-fn")
    assert config.gateway.exposure.type == "NodePort" and config.gateway.exposure.node_port == 31112
    assert (config.gateway.read_timeout, config.gateway.upstream_timeout) == ("1m5s", "1m")
    assert (config.alert_rule.name, config.alert_rule.threshold_rps, config.alert_rule.for_) == (
        "APIHighInvocationRate", 5.0, "5s",
    )
    assert (config.alertmanager.group_wait, config.alertmanager.group_interval) == ("5s", "10s")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_are_valid(stack: str) -> None:
    values, secret_keys = read_stack_config(stack)
    config = load(values, secret_keys)
    assert isinstance(config, PlatformConfig)


def test_prod_is_highly_available_and_persistent() -> None:
    values, secret_keys = read_stack_config("prod")
    config = load(values, secret_keys)
    assert config.gateway.replicas >= 2
    assert config.availability.pod_disruption_budget and config.availability.topology_spread
    assert config.queue.store == "file" and config.prometheus.storage == "persistent"
    assert config.gateway.exposure.type == "Ingress" and config.gateway.exposure.tls


def test_dev_targets_the_local_kind_cluster() -> None:
    values, _ = read_stack_config("dev")
    assert values["kubernetes:context"] == "kind-faasplane"
    config = load(values)
    assert config.registry.server == "localhost:5001"
    assert config.queue.store == "memory" and config.prometheus.storage == "emptyDir"


BAD_CONFIGS = [
    pytest.param({"faasplane:gatway": {"replicas": 2}},
                 "faasplane:gatway: unknown key (did you mean 'gateway'?)", id="misspelt-top-level-key"),
    pytest.param({"faasplane:gateway": {"exposure": {"nodeport": 31112}}},
                 "faasplane:gateway.exposure.nodeport: unknown key (did you mean 'nodePort'?)", id="misspelt-nested-key"),
    pytest.param({"faasplane:gateway": {"replicas": "two"}},
                 'faasplane:gateway.replicas: "two" is not valid: Input should be a valid integer', id="wrong-type"),
    pytest.param({"faasplane:gateway": {"replicas": 0}},
                 "faasplane:gateway.replicas: 0 is not valid: Input should be greater than or equal to 1",
                 id="out-of-range"),
    pytest.param({"faasplane:gateway": {"exposure": {"nodePort": 8080}}},
                 "faasplane:gateway.exposure.nodePort: 8080 is not valid: Input should be greater than or equal to 30000",
                 id="node-port-range"),
    pytest.param({"faasplane:gateway": {"exposure": {"type": "Ingress"}}},
                 "faasplane:gateway.exposure: type Ingress needs host", id="ingress-without-host"),
    pytest.param({"faasplane:gateway": {"upstreamTimeout": "2m"}},
                 "faasplane:gateway: upstreamTimeout 2m must be shorter than writeTimeout 1m5s", id="timeouts"),
    pytest.param({"faasplane:prometheus": {"scrapeInterval": "fast"}},
                 "faasplane:prometheus.scrapeInterval: \"fast\" is not valid: 'fast' is not a duration", id="duration"),
    pytest.param({"faasplane:queue": {"storageSize": "lots"}},
                 "faasplane:queue.storageSize: \"lots\" is not valid: 'lots' is not a Kubernetes quantity",
                 id="quantity"),
    pytest.param({"faasplane:queue": {"store": "disk"}},
                 "faasplane:queue.store: \"disk\" is not valid: Input should be 'memory' or 'file'", id="enum"),
    pytest.param({"faasplane:namespaces": {"functions": "Functions_NS"}},
                 "faasplane:namespaces.functions: \"Functions_NS\" is not valid: 'Functions_NS' is not a DNS-1123 label",
                 id="namespace-name"),
    pytest.param({"faasplane:namespaces": {"controlPlane": "faas", "functions": "faas"}},
                 "faasplane:namespaces: controlPlane and functions must be different namespaces", id="same-namespace"),
    pytest.param({"faasplane:edition": "enterprise"},
                 "faasplane:edition: \"enterprise\" is not valid: Input should be 'ce' or 'pro'", id="edition"),
    pytest.param({"faasplane:edition": "pro"},
                 "edition 'pro' needs the OpenFaaS Pro licence: pulumi config set --secret faasplane:licenseKey",
                 id="pro-without-licence"),
    pytest.param({"faasplane:images": {"gatway": "example/gateway:1"}},
                 "faasplane:images: unknown keys ['gatway']", id="unknown-image-key"),
    pytest.param({"faasplane:scaler": {"env": {"POLICY": "openfaas"}}},
                 "faasplane:scaler: env key 'POLICY' is not a scaler setting", id="scaler-env-not-a-setting"),
    pytest.param({"faasplane:scaler": {"env": {"SCALER_UP_FACTR": "2"}}},
                 "env key 'SCALER_UP_FACTR' is not a scaler setting (did you mean 'SCALER_UP_FACTOR'?)",
                 id="scaler-env-misspelt"),
    pytest.param({"faasplane:scaler": {"env": {"SCALER_MAX_REPLICAS_CAP": "50"}}},
                 "env key 'SCALER_MAX_REPLICAS_CAP' is wired by the platform", id="scaler-env-wired"),
    pytest.param({"faasplane:scaler": {"env": {"SCALER_UP_PERIOD": "soon"}}},
                 "faasplane:scaler: env: SCALER_UP_PERIOD: expected a duration", id="scaler-env-bad-value"),
    pytest.param({"faasplane:prometheus": {"gatewayScrapeInterval": "30s"}},
                 "alertRule.rateWindow 10s must be at least twice prometheus.gatewayScrapeInterval 30s",
                 id="rate-window-too-short-for-the-scrapes"),
    pytest.param({"faasplane:queue": {"maxInflight": 4}},
                 "queue.maxInflight 4 is not supported by the OpenFaaS CE queue-worker", id="ce-max-inflight"),
    pytest.param({"faasplane:queue": {"durableName": "workers-2"}},
                 "faasplane: queue.durableName \"workers-2\" (default \"faas-workers\"): a setting of the OpenFaaS "
                 "Pro JetStream queue-worker, which edition 'ce' does not run", id="ce-durable-name"),
    pytest.param({"faasplane:queue": {"maxRetryAttempts": 5, "retryHttpCodes": [429]}},
                 "queue.maxRetryAttempts 5 (default 100), queue.retryHttpCodes [429] (default [408, 429, 500, 502, "
                 "503, 504]): settings of the OpenFaaS Pro JetStream queue-worker, which edition 'ce' does not run "
                 "(the CE queue-worker has no such setting): remove it, or use edition 'pro'", id="ce-retries"),
    pytest.param({"faasplane:queue": {"initialRetryWait": "1s"}},
                 "queue.initialRetryWait \"1s\" (default \"10s\"): a setting of the OpenFaaS Pro", id="ce-retry-wait"),
    pytest.param({"faasplane:profiles": {"createCrd": True}},
                 "faasplane: profiles.createCrd true: Profiles are an OpenFaaS Pro feature (the CE provider does not "
                 "read them), so edition 'ce' installs no Profile CRD: remove it, or use edition 'pro'",
                 id="ce-profile-crd"),
    pytest.param({"faasplane:queue": {"streamReplicas": 3}},
                 "faasplane:queue.streamReplicas: 3 is not valid: a stream cannot have more replicas than NATS "
                 "servers, and faasplane runs one NATS server: expected 1, not 3", id="stream-replicas"),
    pytest.param({"faasplane:queue": {"streamReplicas": 0}},
                 "faasplane:queue.streamReplicas: 0 is not valid: Input should be greater than or equal to 1",
                 id="stream-replicas-zero"),
    pytest.param({"faasplane:queue": {"retryHttpCodes": [429, 700]}},
                 "faasplane:queue.retryHttpCodes[1]: 700 is not valid: 700 is not an HTTP status code: expected "
                 "100 to 599", id="retry-code-range"),
    pytest.param({"faasplane:queue": {"retryHttpCodes": [429, "many"]}},
                 "faasplane:queue.retryHttpCodes[1]: \"many\" is not valid: Input should be a valid integer",
                 id="retry-code-type"),
    pytest.param({"faasplane:queue": {"retryHttpCodes": [502, 429, 502]}},
                 "faasplane:queue.retryHttpCodes: [502, 429, 502] is not valid: [502] given more than once",
                 id="retry-code-twice"),
    pytest.param({"faasplane:queue": {"initialRetryWait": "5m"}},
                 "faasplane:queue: initialRetryWait 5m must not be longer than maxRetryWait 120s", id="retry-waits"),
    pytest.param({"faasplane:queue": {"maxRetryWait": "a while"}},
                 "faasplane:queue.maxRetryWait: \"a while\" is not valid: 'a while' is not a duration",
                 id="retry-wait-duration"),
    pytest.param({"faasplane:queue": {"maxRetryAttempts": 0}},
                 "faasplane:queue.maxRetryAttempts: 0 is not valid: Input should be greater than or equal to 1",
                 id="retry-attempts"),
    pytest.param({"faasplane:queue": {"durableName": "faas.workers"}},
                 "faasplane:queue.durableName: \"faas.workers\" is not valid: 'faas.workers' is not a JetStream "
                 "consumer name", id="durable-name"),
    pytest.param({"faasplane:profiles": {"createCRD": True}},
                 "faasplane:profiles.createCRD: unknown key (did you mean 'createCrd'?)", id="profiles-misspelt"),
    pytest.param({"faasplane:scaler": {"replicas": 2}},
                 "faasplane:scaler.replicas: 2 is not valid: Input should be less than or equal to 1", id="scaler-replicas"),
    pytest.param({"faasplane:alertRule": {"thresholdRps": 0}},
                 "faasplane:alertRule.thresholdRps: 0 is not valid: Input should be greater than 0", id="threshold"),
    pytest.param({"faasplane:gateway": "big"},
                 'faasplane:gateway: "big" is not valid: Input should be a valid dictionary', id="section-not-a-map"),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS)
def test_bad_config_names_the_key_and_what_was_expected(config: dict, message: str) -> None:
    with pytest.raises(ConfigError) as failure:
        load(config)
    assert message in str(failure.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as failure:
        load({"faasplane:gateway": {"replicas": 0, "readTimeout": "soon"}, "faasplane:queue": {"store": "disk"}})
    assert len(failure.value.problems) == 3


def test_a_licence_given_in_plain_text_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"faasplane:licenseKey: must be a secret: pulumi config set --secret"):
        load({"faasplane:edition": "pro", "faasplane:licenseKey": "eyJhbGciOi"})


def test_a_secret_licence_enables_pro() -> None:
    config = load({"faasplane:edition": "pro", "faasplane:licenseKey": "eyJhbGciOi"}, ["faasplane:licenseKey"])
    assert config.edition == "pro" and config.license_key == "eyJhbGciOi"
    assert "eyJhbGciOi" not in repr(config)


PRO = {"faasplane:edition": "pro", "faasplane:licenseKey": "eyJhbGciOi"}


def test_pro_queue_worker_settings_default_to_the_charts() -> None:
    queue = load(PRO, ["faasplane:licenseKey"]).queue
    assert (queue.durable_name, queue.stream_replicas, queue.max_retry_attempts) == ("faas-workers", 1, 100)
    assert (queue.max_retry_wait, queue.initial_retry_wait) == ("120s", "10s")
    assert queue.retry_http_codes == [408, 429, 500, 502, 503, 504]


def test_pro_queue_worker_settings_are_taken_with_pro() -> None:
    settings = {"durableName": "jobs", "maxRetryAttempts": 7, "maxRetryWait": "1m", "initialRetryWait": "500ms",
                "retryHttpCodes": [429, 503], "streamReplicas": 1}
    config = load({**PRO, "faasplane:queue": settings, "faasplane:profiles": {"createCrd": True}},
                  ["faasplane:licenseKey"])
    assert (config.queue.durable_name, config.queue.max_retry_attempts) == ("jobs", 7)
    assert (config.queue.max_retry_wait, config.queue.initial_retry_wait) == ("1m", "500ms")
    assert config.queue.retry_http_codes == [429, 503]
    assert config.profiles.create_crd is True


def test_ce_accepts_the_pro_settings_at_their_defaults() -> None:
    """Spelling a default out (even as another duration of the same length) is not a Pro setting."""
    config = load({"faasplane:queue": {"durableName": "faas-workers", "streamReplicas": 1, "maxRetryWait": "2m",
                                       "retryHttpCodes": [408, 429, 500, 502, 503, 504]},
                   "faasplane:profiles": {"createCrd": False}})
    assert config.edition == "ce" and config.profiles.create_crd is False


def test_keys_of_other_namespaces_are_left_to_their_owners() -> None:
    assert load({"kubernetes:context": "kind-faasplane", "pulumi:tags": "x"}).edition == "ce"


@pytest.mark.parametrize(
    ("text", "seconds", "go"),
    [("1m5s", 65, "65s"), ("500ms", 0.5, "500ms"), ("2h", 7200, "7200s"), ("15d", 1296000, "1296000s")],
)
def test_durations(text: str, seconds: float, go: str) -> None:
    assert duration_seconds(text) == seconds
    assert go_duration(text) == go


@pytest.mark.parametrize("text", ["", "5", "m", "1.5s", "5 s", "-1s", "1s1m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        duration_seconds(text)


def test_numbers_written_where_text_is_expected_are_taken_as_text() -> None:
    config = load({"faasplane:alertRule": {"statusCode": 500}, "faasplane:scaler": {"env": {"SCALER_UP_FACTOR": 2}}})
    assert config.alert_rule.status_code == "500"
    assert config.scaler.env == {"SCALER_UP_FACTOR": "2"}


def test_scaler_tunables_are_what_the_scaler_reads_less_the_wiring() -> None:
    from faasplane.components.config import SCALER_WIRED, scaler_tunables

    assert {"SCALER_UP_PERIOD", "SCALER_DOWN_PERIOD", "SCALER_UP_FACTOR", "SCALER_RATE_WINDOW"} <= scaler_tunables()
    assert not scaler_tunables() & SCALER_WIRED


def test_alert_rule_for_is_spelt_as_in_prometheus() -> None:
    assert parse_config({"alertRule": {"for": "1m"}}).alert_rule.for_ == "1m"


def test_the_admin_password_is_required_and_must_be_a_secret() -> None:
    with pytest.raises(ConfigError) as missing:
        run_program(load_config, {})
    assert "faasplane:adminPassword: not set" in str(missing.value)
    assert 'pulumi config set --secret faasplane:adminPassword "$(openssl rand -base64 30)"' in str(missing.value)
    with pytest.raises(ConfigError) as plain:
        run_program(load_config, {"faasplane:adminPassword": PASSWORD})
    assert "faasplane:adminPassword: must be a secret" in str(plain.value)
    with pytest.raises(ConfigError) as short:
        load({"faasplane:adminPassword": "short"}, ["faasplane:adminPassword"])
    assert "faasplane:adminPassword" in str(short.value) and "at least 16 characters" in str(short.value)


def test_missing_admin_password_is_reported_with_the_other_problems() -> None:
    with pytest.raises(ConfigError) as error:
        run_program(load_config, {"faasplane:edition": "enterprise"})
    assert [p.split(":")[1] for p in error.value.problems] == ["edition", "adminPassword"]


def test_function_images_are_image_references() -> None:
    ref = "registry.example.com/fn/sum@sha256:" + "a" * 64
    assert load({"faasplane:functionImages": {"sum": ref}}).function_images == {"sum": ref}
    with pytest.raises(ConfigError) as error:
        load({"faasplane:functionImages": {"sum": "Not An Image"}})
    assert "faasplane:functionImages.sum: \"Not An Image\" is not valid: 'Not An Image' is not an image reference" in str(
        error.value
    )


def test_deep_merge_lays_the_override_over_the_base_key_by_key() -> None:
    base = {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "f": [1], "g": {"h": 4}}
    override = {"a": {"c": {"d": 20}, "x": 5}, "f": [2], "g": 7, "new": {"k": 1}}
    merged = deep_merge(base, override)
    assert merged == {"a": {"b": 1, "c": {"d": 20, "e": 3}, "x": 5}, "f": [2], "g": 7, "new": {"k": 1}}
    assert base == {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "f": [1], "g": {"h": 4}}, "the base is not changed"
    assert override["a"] == {"c": {"d": 20}, "x": 5}, "nor is the override"


def test_a_resources_block_gives_only_what_it_changes() -> None:
    config = load({"faasplane:gateway": {"resources": {"limits": {"memory": "512Mi"}}}})
    assert config.gateway.resources.limits.memory == "512Mi"
    assert (config.gateway.resources.limits.cpu, config.gateway.resources.requests.memory) == ("500m", "64Mi")
    assert config.gateway.provider_resources.limits.memory == "256Mi", "other blocks keep their defaults"
    with pytest.raises(ConfigError) as error:
        load({"faasplane:queue": {"natsResources": {"limits": {"memory": "lots"}}}})
    assert "faasplane:queue.natsResources.limits.memory" in str(error.value)


def test_a_dotted_key_in_the_stack_file_says_to_nest_the_value() -> None:
    with pytest.raises(ConfigError) as error:
        load({"faasplane:alertRule.thresholdRps": 10})
    message = str(error.value)
    assert "faasplane:alertRule.thresholdRps: a dotted key is not a path in a stack file" in message
    assert "pulumi config set --path 'faasplane:alertRule.thresholdRps' 10" in message


def test_a_namespace_like_faasplanes_is_reported_as_a_typo() -> None:
    assert misspelt_namespaces(["fasplane:edition", "kubernetes:context", "faasplane:edition", "aws:region"]) == [
        "fasplane:edition: the namespace 'fasplane' is not 'faasplane', so nothing reads this setting: "
        "did you mean faasplane:edition?"
    ]
