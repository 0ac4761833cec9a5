"""The async queue: NATS with the right store, the queue-worker wired to NATS and the gateway."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faasplane.components import k8s, names
from faasplane.components.config import ConfigError, parse_config
from faasplane.components.images import resolve_images
from faasplane.components.platform.queue import Queue, streaming_limits
from faasplane.components.render.mock_engine import Rendered, run_program
from tests.objects import env, matches, objects, one, pod
from tests.validation import schema_errors

LICENSE = "pro-licence-do-not-leak"
LICENSE_SECRET = "test-license-secret"
PRO = {"edition": "pro", "licenseKey": LICENSE}


def render(settings: dict[str, Any]) -> Rendered:
    config = parse_config(settings)
    images = resolve_images(config.edition, config.images)
    license_secret = LICENSE_SECRET if config.edition == names.EDITION_PRO else None
    return run_program(
        lambda: Queue("test-queue", config, images, license_secret_name=license_secret)
    )


@pytest.fixture(scope="module")
def dev() -> Rendered:
    return render({})


@pytest.fixture(scope="module")
def prod() -> Rendered:
    return render(
        {
            "namespaces": {"controlPlane": "faas", "functions": "fns"},
            "queue": {
                "store": "file",
                "storageSize": "5Gi",
                "storageClassName": "ssd",
                "ackWait": "2m",
                "workerReplicas": 3,
                "workerResources": {
                    "requests": {"cpu": "100m", "memory": "64Mi"},
                    "limits": {"cpu": "500m", "memory": "256Mi"},
                },
            },
        }
    )


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_every_object_passes_the_kubernetes_schemas(variant: str, request: pytest.FixtureRequest) -> None:
    rendered = request.getfixturevalue(variant)
    for obj in rendered.kubernetes_objects():
        assert schema_errors(obj) == [], obj["kind"]


def test_component_and_children(dev: Rendered) -> None:
    assert [r.name for r in dev.of_type(f"{names.TYPE_PREFIX}:Queue")] == ["test-queue"]
    children = [r for r in dev.resources if r.type.startswith("kubernetes:")]
    assert children and all(r.name.startswith("test-queue-") for r in children)


# --- NATS ------------------------------------------------------------------------------------------


def test_dev_runs_nats_streaming_in_memory_without_a_volume(dev: Rendered) -> None:
    [nats] = pod(dev, names.NATS)["containers"]
    assert nats["args"][:4] == ["--store", "memory", "--cluster_id", names.NATS_CLUSTER_ID]
    assert nats["args"][4:] == streaming_limits(parse_config({})), "bounded channels"
    assert nats["command"] == ["/nats-streaming-server"]
    assert objects(dev, "PersistentVolumeClaim") == []
    assert "volumes" not in pod(dev, names.NATS)


def test_prod_file_store_keeps_messages_on_a_claim(prod: Rendered) -> None:
    claim = one(prod, "PersistentVolumeClaim")
    assert claim["metadata"]["namespace"] == "faas"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["spec"]["storageClassName"] == "ssd"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    spec = pod(prod, names.NATS)
    [nats] = spec["containers"]
    [volume] = spec["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    [store_mount] = [m for m in nats["volumeMounts"] if m["name"] == volume["name"]]
    assert nats["args"][:2] == ["--store", "file"]
    assert nats["args"][nats["args"].index("--dir") + 1] == store_mount["mountPath"]
    assert "readOnly" not in store_mount, "the store is writable"
    # fsGroup makes the claim writable by the numeric non-root user the scratch image lacks.
    assert spec["securityContext"]["runAsUser"] == k8s.NON_ROOT_UID
    assert spec["securityContext"]["fsGroup"] == k8s.NON_ROOT_UID
    assert one(prod, "Deployment", names.NATS)["spec"]["strategy"] == {"type": "Recreate"}


def test_claim_without_storage_class_uses_the_default() -> None:
    claim = one(render({"queue": {"store": "file"}}), "PersistentVolumeClaim")
    assert "storageClassName" not in claim["spec"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"


def test_memory_store_rolls_without_recreate(dev: Rendered) -> None:
    assert one(dev, "Deployment", names.NATS)["spec"]["strategy"]["type"] == "RollingUpdate"


def test_nats_service(dev: Rendered) -> None:
    service = one(dev, "Service", names.NATS)
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("client", names.NATS_PORT, "client")
    ]
    labels = one(dev, "Deployment", names.NATS)["spec"]["template"]["metadata"]["labels"]
    assert labels == names.app_labels(names.NATS)
    assert matches(service["spec"]["selector"], labels)
    [nats] = pod(dev, names.NATS)["containers"]
    assert {p["name"]: p["containerPort"] for p in nats["ports"]} == {"client": names.NATS_PORT}


# --- queue-worker ----------------------------------------------------------------------------------


def test_worker_env_dev(dev: Rendered) -> None:
    [worker] = pod(dev, names.QUEUE_WORKER)["containers"]
    values = env(worker)
    assert values["faas_nats_address"] == "nats.openfaas.svc.cluster.local"
    assert values["faas_nats_port"] == str(names.NATS_PORT)
    assert values["faas_nats_cluster_name"] == names.NATS_CLUSTER_ID
    assert values["faas_nats_queue_group"] == names.NATS_QUEUE_GROUP
    assert values["faas_gateway_address"] == "gateway.openfaas.svc.cluster.local"
    assert values["faas_gateway_port"] == str(names.GATEWAY_PORT)
    assert values["ack_wait"] == "60s"
    assert "basic_auth" not in values and "secret_mount_path" not in values  # the CE worker reads no credentials


def test_worker_follows_config(prod: Rendered) -> None:
    deployment = one(prod, "Deployment", names.QUEUE_WORKER)
    assert deployment["spec"]["replicas"] == 3
    [worker] = deployment["spec"]["template"]["spec"]["containers"]
    values = env(worker)
    assert values["ack_wait"] == "120s"
    assert values["faas_nats_address"] == "nats.faas.svc.cluster.local"
    assert values["faas_gateway_address"] == "gateway.faas.svc.cluster.local"
    assert worker["resources"] == {
        "requests": {"cpu": "100m", "memory": "64Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert deployment["spec"]["template"]["metadata"]["labels"] == names.app_labels(names.QUEUE_WORKER)


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_ce_worker_gets_no_env_it_does_not_read(variant: str, request: pytest.FixtureRequest) -> None:
    # queue-worker 0.14.2 (readconfig.go) hard-codes MaxInflight 1 and subscribes to the fixed channel
    # "faas-request": neither max_inflight nor faas_nats_channel is read.
    [worker] = pod(request.getfixturevalue(variant), names.QUEUE_WORKER)["containers"]
    assert not {"max_inflight", "faas_nats_channel"} & set(env(worker))


def test_ce_worker_gets_no_credentials_it_does_not_use(dev: Rendered) -> None:
    """Least privilege: the CE queue-worker invokes through the gateway's unauthenticated /function/ route."""
    spec = pod(dev, names.QUEUE_WORKER)
    assert "volumes" not in spec
    [worker] = spec["containers"]
    assert "volumeMounts" not in worker


CE_WORKER_ENV = {
    "faas_nats_address", "faas_nats_port", "faas_nats_cluster_name", "faas_nats_queue_group", "faas_gateway_address",
    "faas_gateway_port", "ack_wait",
}


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_ce_worker_is_untouched_by_the_pro_settings(variant: str, request: pytest.FixtureRequest) -> None:
    """The CE worker gets exactly its own env, no port, no annotations: the Pro settings leave CE as it was."""
    deployment = one(request.getfixturevalue(variant), "Deployment", names.QUEUE_WORKER)
    [worker] = deployment["spec"]["template"]["spec"]["containers"]
    assert set(env(worker)) == CE_WORKER_ENV
    assert "ports" not in worker
    assert "annotations" not in deployment["spec"]["template"]["metadata"]


def test_pro_worker_mounts_only_its_licence() -> None:
    """Least privilege, as the chart: the JetStream worker invokes through /function/ and reads no credentials."""
    deployment = one(render(PRO), "Deployment", names.QUEUE_WORKER)
    spec = deployment["spec"]["template"]["spec"]
    assert {v["name"]: v["secret"]["secretName"] for v in spec["volumes"]} == {"license": LICENSE_SECRET}
    [worker] = spec["containers"]
    assert [(m["name"], m["mountPath"], m["readOnly"]) for m in worker["volumeMounts"]] == [
        ("license", names.LICENSE_MOUNT_PATH, True)
    ]
    assert not {"basic_auth", "secret_mount_path"} & set(env(worker))
    # Nothing of the credentials is mounted, so a new password has nothing to roll.
    assert names.CREDENTIALS_REVISION_ANNOTATION not in deployment["spec"]["template"]["metadata"].get(
        "annotations", {}
    )


def test_pro_worker_gets_the_charts_settings_by_default() -> None:
    [worker] = pod(render(PRO), names.QUEUE_WORKER)["containers"]
    assert env(worker) == {
        "nats_host": "nats.openfaas.svc.cluster.local",
        "nats_port": str(names.NATS_PORT),
        "nats_stream": names.NATS_CHANNEL,
        "nats_durable": "faas-workers",
        "default_function_name": names.FUNCTIONS_NAMESPACE,
        "max_inflight": "1",
        "scaling_mode": "static",
        "gateway_url": "http://gateway.openfaas.svc.cluster.local:8080",
        "tls_insecure": "false",
        "nats_stream_replicas": "1",
        "ack_wait": "60s",
        "upstream_timeout": "60s",
        "max_retry_attempts": "100",
        "max_retry_wait": "120s",
        "initial_retry_wait": "10s",
        "retry_http_codes": "408,429,500,502,503,504",
    }


def test_pro_worker_settings_follow_the_config() -> None:
    rendered = render(
        {
            **PRO,
            "namespaces": {"controlPlane": "faas", "functions": "fns"},
            "kubernetesDNSDomain": "corp.example",
            "gateway": {"upstreamTimeout": "45s"},
            "queue": {
                "durableName": "jobs", "maxInflight": 20, "ackWait": "3m", "maxRetryAttempts": 12,
                "maxRetryWait": "2m", "initialRetryWait": "1500ms", "retryHttpCodes": [429, 503],
            },
        }
    )
    [worker] = pod(rendered, names.QUEUE_WORKER)["containers"]
    values = env(worker)
    assert values["nats_host"] == "nats.faas.svc.corp.example"
    assert values["gateway_url"] == "http://gateway.faas.svc.corp.example:8080"
    assert values["default_function_name"] == "fns"
    assert (values["nats_durable"], values["max_inflight"], values["ack_wait"]) == ("jobs", "20", "180s")
    assert values["upstream_timeout"] == "45s"
    assert (values["max_retry_attempts"], values["max_retry_wait"], values["initial_retry_wait"]) == (
        "12", "120s", "1500ms"
    )
    assert values["retry_http_codes"] == "429,503"
    for obj in rendered.kubernetes_objects():
        assert schema_errors(obj) == []


def test_pro_worker_declares_its_metrics_port() -> None:
    [worker] = pod(render(PRO), names.QUEUE_WORKER)["containers"]
    assert worker["ports"] == [
        {"name": names.METRICS_PORT_NAME, "containerPort": names.QUEUE_WORKER_METRICS_PORT, "protocol": "TCP"}
    ]


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_every_container_is_hardened(variant: str, request: pytest.FixtureRequest) -> None:
    rendered = request.getfixturevalue(variant)
    for deployment in objects(rendered, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is False, "neither NATS nor the worker calls the API"
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert isinstance(spec["securityContext"]["runAsUser"], int) and spec["securityContext"]["runAsUser"] > 0
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}
            assert container["resources"]["requests"] and container["resources"]["limits"]


def test_nats_is_probed(dev: Rendered) -> None:
    [nats] = pod(dev, names.NATS)["containers"]
    assert nats["livenessProbe"]["tcpSocket"]["port"] == "client"
    assert nats["readinessProbe"]["tcpSocket"]["port"] == "client"


def test_topology_spread_only_when_asked(dev: Rendered) -> None:
    assert "topologySpreadConstraints" not in pod(dev, names.QUEUE_WORKER)
    spread = pod(render({"availability": {"topologySpread": True}}), names.QUEUE_WORKER)
    assert all(
        c["labelSelector"]["matchLabels"] == names.app_labels(names.QUEUE_WORKER)
        for c in spread["topologySpreadConstraints"]
    )


# --- Pro -------------------------------------------------------------------------------------------


def test_pro_uses_jetstream_and_the_gateways_licence_secret() -> None:
    rendered = render({"edition": "pro", "licenseKey": LICENSE, "images": {"nats": "nats:2.14.0"}})
    assert LICENSE not in json.dumps(rendered.kubernetes_objects())
    [nats] = pod(rendered, names.NATS)["containers"]
    assert nats["image"] == "nats:2.14.0"
    assert "--js" in nats["args"] and "command" not in nats
    assert objects(rendered, "Secret") == [], "the licence Secret is the gateway's, not a second copy"
    licence = {"metadata": {"name": LICENSE_SECRET}}
    spec = pod(rendered, names.QUEUE_WORKER)
    [worker] = spec["containers"]
    assert worker["image"].startswith("ghcr.io/openfaasltd/jetstream-queue-worker:")
    assert f"-license-file={names.SECRET_MOUNT_PATH}/license/license" in worker["command"]
    volumes = {v["name"]: v["secret"]["secretName"] for v in spec["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in worker["volumeMounts"]}
    [licence_volume] = [name for name, secret in volumes.items() if secret == licence["metadata"]["name"]]
    assert mounts[licence_volume] == f"{names.SECRET_MOUNT_PATH}/license"
    assert env(worker)["nats_host"] == "nats.openfaas.svc.cluster.local"
    assert env(worker)["gateway_url"] == "http://gateway.openfaas.svc.cluster.local:8080"
    # The JetStream queue-worker does read max_inflight (default 1).
    assert env(worker)["max_inflight"] == "1"
    concurrent = render({"edition": "pro", "licenseKey": LICENSE, "queue": {"maxInflight": 4}})
    [worker] = pod(concurrent, names.QUEUE_WORKER)["containers"]
    assert env(worker)["max_inflight"] == "4"
    for obj in rendered.kubernetes_objects():
        assert schema_errors(obj) == []


def test_ce_has_no_licence(dev: Rendered) -> None:
    assert objects(dev, "Secret") == []


def test_nats_streaming_keeps_its_channels_within_the_memory_limit() -> None:
    """Without limits NATS Streaming keeps up to 1M messages or 1GB per channel: the store is bounded."""
    dev = parse_config({})
    args = streaming_limits(dev)
    per_channel = int(args[args.index("--max_bytes") + 1])
    channels = int(args[args.index("--max_channels") + 1])
    assert channels * per_channel == 128 * 2**20, "half the 256Mi NATS memory limit, all channels full"
    assert args[args.index("--max_age") + 1] == "86400s" and args[args.index("--max_msgs") + 1] == "100000"


def test_a_file_store_is_bounded_by_its_volume() -> None:
    prod = parse_config({"queue": {"store": "file", "storageSize": "5Gi"}})
    assert prod.queue.max_channels * prod.queue.channel_bytes() == int(0.8 * 5 * 2**30)


def test_limits_that_do_not_fit_name_the_keys() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"queue": {"maxBytes": "64Mi", "maxChannels": 4}})
    assert "faasplane:queue: maxChannels 4 x maxBytes 64Mi = 256Mi does not fit the NATS memory limit 256Mi" in str(
        error.value
    )
    assert parse_config({"queue": {"maxBytes": "40Mi", "maxChannels": 4}}).queue.channel_bytes() == 40 * 2**20
