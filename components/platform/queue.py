"""Asynchronous invocations: NATS (Streaming in CE, JetStream in Pro) and the queue-worker."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from faasplane.components import k8s, names
from faasplane.components.config import PlatformConfig, go_duration

NATS_STORE_DIR = "/var/lib/nats"
"""Where NATS keeps its file store (CE `--store file`) or its JetStream store (Pro)."""
NATS_DATA_VOLUME = "nats-data"
NATS_PVC_NAME = f"{names.NATS}-data"
LICENSE_VOLUME = "license"
STREAMING_SERVER = "/nats-streaming-server"
"""The binary of the nats-streaming image (a scratch image: no shell, no USER)."""


def streaming_limits(config: PlatformConfig) -> list[str]:
    """NATS Streaming's channel limits: without them it keeps up to a million messages or 1GB per channel,
    acknowledged or not, far beyond the memory limit of a memory store."""
    queue = config.queue
    return [
        "--max_channels", str(queue.max_channels),
        "--max_bytes", str(queue.channel_bytes()),
        "--max_msgs", str(queue.max_messages),
        "--max_age", go_duration(queue.max_age),
    ]


def pro_worker_env(config: PlatformConfig) -> dict[str, Any]:
    """The JetStream queue-worker's settings, as the chart passes them (its defaults where faasplane has no
    setting). Functions are invoked through the gateway; the stream and its consumer live in our one NATS."""
    queue = config.queue
    namespace = config.namespaces.control_plane
    domain = config.kubernetes_dns_domain
    return {
        "nats_host": names.service_host(names.NATS, namespace, domain),
        "nats_port": names.NATS_PORT,
        "nats_stream": names.NATS_CHANNEL,
        "nats_durable": queue.durable_name,
        # The chart's name for the namespace a function without one is taken to be in.
        "default_function_name": config.namespaces.functions,
        # Up to max_inflight invocations at once per worker.
        "max_inflight": queue.max_inflight,
        # `static`: every worker consumes the one shared stream (the chart's default mode).
        "scaling_mode": "static",
        "gateway_url": names.service_url(names.GATEWAY, namespace, names.GATEWAY_PORT, domain=domain),
        "tls_insecure": "false",
        "nats_stream_replicas": queue.stream_replicas,
        "ack_wait": go_duration(queue.ack_wait),
        "upstream_timeout": go_duration(config.gateway.upstream_timeout),
        "max_retry_attempts": queue.max_retry_attempts,
        "max_retry_wait": go_duration(queue.max_retry_wait),
        "initial_retry_wait": go_duration(queue.initial_retry_wait),
        "retry_http_codes": ",".join(str(code) for code in queue.retry_http_codes),
    }


class Queue(pulumi.ComponentResource):
    """NATS and the queue-worker that replays queued invocations through the gateway."""

    nats_deployment: kubernetes.apps.v1.Deployment
    nats_service: kubernetes.core.v1.Service
    nats_volume_claim: kubernetes.core.v1.PersistentVolumeClaim | None
    worker_deployment: kubernetes.apps.v1.Deployment

    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        images: dict[str, str],
        license_secret_name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(f"{names.TYPE_PREFIX}:Queue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = config.namespaces.control_plane
        queue = config.queue
        pro = config.edition == names.EDITION_PRO
        persistent = queue.store == "file"
        nats_labels = names.app_labels(names.NATS)
        worker_labels = names.app_labels(names.QUEUE_WORKER)

        # --- NATS ---
        self.nats_volume_claim = None
        volumes: list[dict[str, Any]] = []
        if persistent:
            self.nats_volume_claim = kubernetes.core.v1.PersistentVolumeClaim(
                f"{name}-nats-data",
                # A fixed name: an auto-named claim would be replaced, and its queued messages lost, on change.
                metadata=k8s.metadata(NATS_PVC_NAME, namespace, nats_labels),
                spec=k8s.claim_spec(queue.storage_size, queue.storage_class_name),
                opts=child,
            )
            volumes.append(
                {
                    "name": NATS_DATA_VOLUME,
                    "persistent_volume_claim": {"claim_name": self.nats_volume_claim.metadata.name},
                }
            )
        elif pro:
            volumes.append(k8s.empty_dir(NATS_DATA_VOLUME, size_limit="1Gi"))

        if pro:
            # The Pro queue-worker consumes from NATS JetStream, which NATS Streaming cannot serve.
            if "nats-streaming" in images["nats"]:
                pulumi.log.warn(
                    f"edition pro runs the JetStream queue-worker, but the NATS image is {images['nats']}: "
                    "set faasplane:images.nats to a NATS server image (nats:2.x)",
                    resource=self,
                )
            nats_command = None
            nats_args = ["--js", "--store_dir", NATS_STORE_DIR]
        else:
            nats_command = [STREAMING_SERVER]
            nats_args = ["--store", queue.store, "--cluster_id", names.NATS_CLUSTER_ID]
            if persistent:
                nats_args += ["--dir", NATS_STORE_DIR]
            nats_args += streaming_limits(config)
        nats_container = k8s.container(
            names.NATS,
            images["nats"],
            queue.nats_resources,
            command=nats_command,
            args=nats_args,
            ports={"client": names.NATS_PORT},
            volume_mounts=[k8s.mount(NATS_DATA_VOLUME, NATS_STORE_DIR)] if volumes else (),
            liveness_probe=k8s.tcp_probe("client", initial_delay=5),
            readiness_probe=k8s.tcp_probe("client", initial_delay=2, period=5),
        )
        self.nats_deployment = kubernetes.apps.v1.Deployment(
            f"{name}-nats",
            metadata=k8s.metadata(names.NATS, namespace, nats_labels),
            spec=k8s.deployment_spec(
                nats_labels,
                # The image sets no USER: a numeric non-root uid, and fsGroup so the store is writable.
                k8s.pod_spec([nats_container], volumes=volumes, run_as_user=k8s.NON_ROOT_UID),
                replicas=1,
                # A ReadWriteOnce claim cannot be attached to a second pod during a rolling update, and two
                # servers must never share one file store.
                strategy={"type": "Recreate"} if persistent else None,
            ),
            opts=child,
        )
        self.nats_service = kubernetes.core.v1.Service(
            f"{name}-nats-service",
            metadata=k8s.metadata(names.NATS, namespace, nats_labels),
            spec=k8s.cluster_ip_service_spec(nats_labels, {"client": names.NATS_PORT}),
            opts=child,
        )

        # --- queue-worker ---
        domain = config.kubernetes_dns_domain
        nats_host = names.service_host(names.NATS, namespace, domain)
        gateway_host = names.service_host(names.GATEWAY, namespace, domain)
        worker_mounts: list[dict[str, Any]] = []
        worker_volumes: list[dict[str, Any]] = []
        worker_ports: dict[str, int] = {}
        if pro:
            # The Pro queue-worker reads only its licence: like the CE worker it invokes functions through the
            # gateway's /function/ route, and the chart mounts no credentials into it (least privilege).
            if license_secret_name is None:
                raise ValueError("the Pro queue-worker needs the licence Secret: pass license_secret_name")
            worker_mounts.append(k8s.mount(LICENSE_VOLUME, names.LICENSE_MOUNT_PATH, read_only=True))
            worker_volumes.append(k8s.secret_volume(LICENSE_VOLUME, license_secret_name))
            worker_command = ["jetstream-queue-worker", f"-license-file={names.LICENSE_FILE}"]
            worker_env = pro_worker_env(config)
            # Its metrics server, declared so Prometheus's queue-worker job (which keeps this port by name)
            # and the NetworkPolicy admitting Prometheus can name it.
            worker_ports = {names.METRICS_PORT_NAME: names.QUEUE_WORKER_METRICS_PORT}
        else:
            worker_command = None
            # The CE queue-worker subscribes to the fixed channel `faas-request` and processes one message at a
            # time (max_inflight is hard-coded to 1), so neither a channel nor max_inflight is passed. It
            # invokes functions through the gateway's unauthenticated /function/ route and reads no
            # credentials, so the basic-auth Secret is not mounted (least privilege).
            worker_env = {
                "faas_nats_address": nats_host,
                "faas_nats_port": names.NATS_PORT,
                "faas_nats_cluster_name": names.NATS_CLUSTER_ID,
                "faas_nats_queue_group": names.NATS_QUEUE_GROUP,
                "faas_gateway_address": gateway_host,
                "faas_gateway_port": names.GATEWAY_PORT,
                "ack_wait": go_duration(queue.ack_wait),
            }
        # No probes: the CE queue-worker serves no HTTP endpoint, and its image has no shell for an exec
        # probe; a lost NATS connection makes it exit (after its reconnect attempts), which restarts the pod.
        worker = k8s.container(
            names.QUEUE_WORKER,
            images["queueWorker"],
            queue.worker_resources,
            command=worker_command,
            env=worker_env,
            ports=worker_ports,
            volume_mounts=worker_mounts,
        )
        self.worker_deployment = kubernetes.apps.v1.Deployment(
            f"{name}-queue-worker",
            metadata=k8s.metadata(names.QUEUE_WORKER, namespace, worker_labels),
            spec=k8s.deployment_spec(
                worker_labels,
                k8s.pod_spec(
                    [worker],
                    volumes=worker_volumes,
                    topology_spread_labels=worker_labels if config.availability.topology_spread else None,
                ),
                replicas=queue.worker_replicas,
            ),
            opts=child,
        )

        self.nats_url = f"nats://{nats_host}:{names.NATS_PORT}"
        self.register_outputs({"natsUrl": self.nats_url})
