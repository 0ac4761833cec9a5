"""Building blocks for the Kubernetes objects every component creates, hardened by default.

Each helper returns plain data (pulumi-kubernetes `*ArgsDict` shapes with snake_case keys), so
components compose them and tests read them back from the rendered manifests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from faasplane.components import names
from faasplane.components.config import PlatformConfig, Resources

CREDENTIALS_HASH_ROUNDS = 50_000

NON_ROOT_UID = 10001
"""The default numeric user for our own images and for images that do not pin one."""


def metadata(name: str | None, namespace: str, labels: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    """Object metadata; `name=None` leaves the name to Pulumi's auto-naming (ConfigMaps, Secrets)."""
    meta: dict[str, Any] = {"namespace": namespace, "labels": dict(labels)}
    if name is not None:
        meta["name"] = name
    meta.update({key: value for key, value in extra.items() if value})
    return meta


def pod_security_context(run_as_user: int | None = NON_ROOT_UID) -> dict[str, Any]:
    """Pod-level settings that satisfy the `restricted` Pod Security Standard."""
    context: dict[str, Any] = {"run_as_non_root": True, "seccomp_profile": {"type": "RuntimeDefault"}}
    if run_as_user is not None:
        context.update(run_as_user=run_as_user, run_as_group=run_as_user, fs_group=run_as_user)
    return context


def container_security_context(read_only_root_filesystem: bool = True) -> dict[str, Any]:
    """Container-level hardening: no privilege escalation, no capabilities, read-only root."""
    return {
        "run_as_non_root": True,
        "allow_privilege_escalation": False,
        "privileged": False,
        "read_only_root_filesystem": read_only_root_filesystem,
        "capabilities": {"drop": ["ALL"]},
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def container(
    name: str,
    image: Any,
    resources: Resources,
    *,
    args: Sequence[Any] | None = None,
    command: Sequence[Any] | None = None,
    env: Mapping[str, Any] | None = None,
    ports: Mapping[str, int] | None = None,
    volume_mounts: Sequence[dict[str, Any]] = (),
    liveness_probe: dict[str, Any] | None = None,
    readiness_probe: dict[str, Any] | None = None,
    read_only_root_filesystem: bool = True,
) -> dict[str, Any]:
    """A hardened container: requests and limits, security context, named ports, probes."""
    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        "image_pull_policy": "IfNotPresent",
        "resources": resources.as_k8s(),
        "security_context": container_security_context(read_only_root_filesystem),
    }
    if command:
        spec["command"] = list(command)
    if args:
        spec["args"] = list(args)
    env_list = [{"name": key, "value": str(value)} for key, value in (env or {}).items()]
    if env_list:
        spec["env"] = env_list
    if ports:
        spec["ports"] = [
            {"name": port_name, "container_port": port, "protocol": "TCP"} for port_name, port in ports.items()
        ]
    if volume_mounts:
        spec["volume_mounts"] = list(volume_mounts)
    if liveness_probe:
        spec["liveness_probe"] = liveness_probe
    if readiness_probe:
        spec["readiness_probe"] = readiness_probe
    return spec


def http_probe(path: str, port: int | str, *, initial_delay: int = 2, period: int = 10,
               timeout: int = 1, failure_threshold: int = 3) -> dict[str, Any]:
    return {
        "http_get": {"path": path, "port": port},
        "initial_delay_seconds": initial_delay,
        "period_seconds": period,
        "timeout_seconds": timeout,
        "failure_threshold": failure_threshold,
    }


def tcp_probe(port: int | str, *, initial_delay: int = 2, period: int = 10) -> dict[str, Any]:
    return {"tcp_socket": {"port": port}, "initial_delay_seconds": initial_delay, "period_seconds": period}


def empty_dir(name: str, size_limit: str = "64Mi", medium: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"size_limit": size_limit}
    if medium:
        source["medium"] = medium
    return {"name": name, "empty_dir": source}


def secret_volume(name: str, secret_name: Any, items: Sequence[tuple[str, str]] | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"secret_name": secret_name, "default_mode": 0o440}
    if items:
        source["items"] = [{"key": key, "path": path} for key, path in items]
    return {"name": name, "secret": source}


def config_map_volume(name: str, config_map_name: Any) -> dict[str, Any]:
    return {"name": name, "config_map": {"name": config_map_name}}


def mount(name: str, path: str, read_only: bool = False, sub_path: str | None = None) -> dict[str, Any]:
    volume_mount: dict[str, Any] = {"name": name, "mount_path": path}
    if read_only:
        # False is the default: the provider leaves it out of what it applies, so the program does too.
        volume_mount["read_only"] = True
    if sub_path:
        volume_mount["sub_path"] = sub_path
    return volume_mount


def pod_spec(
    containers: Sequence[dict[str, Any]],
    *,
    volumes: Sequence[dict[str, Any]] = (),
    service_account_name: Any = None,
    run_as_user: int | None = NON_ROOT_UID,
    automount_service_account_token: bool = False,
    topology_spread_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A pod spec with the restricted security context; a service account token only when asked for."""
    spec: dict[str, Any] = {
        "containers": list(containers),
        "security_context": pod_security_context(run_as_user),
        "automount_service_account_token": automount_service_account_token,
        "enable_service_links": False,
    }
    if volumes:
        spec["volumes"] = list(volumes)
    if service_account_name is not None:
        spec["service_account_name"] = service_account_name
    if topology_spread_labels:
        spec["topology_spread_constraints"] = [
            {
                "max_skew": 1,
                "topology_key": key,
                "when_unsatisfiable": "ScheduleAnyway",
                "label_selector": {"match_labels": dict(topology_spread_labels)},
            }
            for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
        ]
    return spec


def credentials_revision(password: str, namespace: str) -> str:
    """A short, salted, slow hash of the admin password: it changes when the password does, so the pods that
    mount the fixed-name credentials Secret roll, and it tells nothing about the password."""
    salt = f"faasplane:{namespace}:{names.AUTH_SECRET_NAME}".encode()
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, CREDENTIALS_HASH_ROUNDS).hex()[:16]


def credentials_annotation(config: PlatformConfig) -> dict[str, str]:
    """The pod annotation of every Deployment that mounts the credentials Secret."""
    revision = credentials_revision(config.admin_password or "", config.namespaces.control_plane)
    return {names.CREDENTIALS_REVISION_ANNOTATION: revision}


def deployment_spec(
    labels: Mapping[str, str],
    pod: dict[str, Any],
    *,
    replicas: int = 1,
    pod_annotations: Mapping[str, Any] | None = None,
    strategy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    template_meta: dict[str, Any] = {"labels": dict(labels)}
    if pod_annotations:
        template_meta["annotations"] = dict(pod_annotations)
    return {
        "replicas": replicas,
        "selector": {"match_labels": dict(labels)},
        "strategy": strategy
        or {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 0, "max_surge": 1}},
        "template": {"metadata": template_meta, "spec": pod},
    }


def service_ports(ports: Mapping[str, int]) -> list[dict[str, Any]]:
    return [
        {"name": name, "port": port, "target_port": name, "protocol": "TCP"} for name, port in ports.items()
    ]


def claim_spec(size: str, storage_class_name: str | None = None) -> dict[str, Any]:
    """A ReadWriteOnce PersistentVolumeClaim of `size` (the cluster's default StorageClass unless named)."""
    spec: dict[str, Any] = {"access_modes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class_name:
        spec["storage_class_name"] = storage_class_name
    return spec


def cluster_ip_service_spec(selector: Mapping[str, str], ports: Mapping[str, int]) -> dict[str, Any]:
    """An in-cluster Service selecting `selector`, one named port per entry (target: the same-named port)."""
    return {"type": "ClusterIP", "selector": dict(selector), "ports": service_ports(ports)}
