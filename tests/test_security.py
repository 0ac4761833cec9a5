"""Security by default, checked on every object both stacks render."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from faasplane.components import names
from faasplane.components.images import CE_IMAGES
from faasplane.components.render import RENDER_ADMIN_PASSWORD
from faasplane.components.render.mock_engine import Rendered

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


def pod_specs(objects: list[dict]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in WORKLOAD_KINDS:
            template = obj["spec"]["template"] if obj["kind"] != "CronJob" else obj["spec"]["jobTemplate"]["spec"]["template"]
            yield f"{obj['kind']}/{obj['metadata']['name']}", template["spec"]


def containers(objects: list[dict]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for where, spec in pod_specs(objects):
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield f"{where}:{container['name']}", container, spec


def test_every_container_has_requests_and_limits(stack_objects: list[dict]) -> None:
    for where, container, _ in containers(stack_objects):
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            assert set(resources.get(kind, {})) >= {"cpu", "memory"}, f"{where}: {kind} missing"


def test_every_container_is_hardened(stack_objects: list[dict]) -> None:
    for where, container, pod in containers(stack_objects):
        context = container.get("securityContext", {})
        pod_context = pod.get("securityContext", {})
        assert context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True, where
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("capabilities", {}).get("drop") == ["ALL"], where
        assert not context.get("privileged", False), where
        assert context.get("readOnlyRootFilesystem") is True, where
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        assert seccomp.get("type") == "RuntimeDefault", where
        uid = context.get("runAsUser", pod_context.get("runAsUser"))
        assert uid is None or uid > 0, where


def test_no_pod_uses_the_host(stack_objects: list[dict]) -> None:
    for where, spec in pod_specs(stack_objects):
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC"), where
        assert all("hostPath" not in volume for volume in spec.get("volumes", [])), where


def test_only_pods_that_call_the_api_get_a_token(stack_objects: list[dict]) -> None:
    with_token = {where for where, spec in pod_specs(stack_objects) if spec.get("automountServiceAccountToken", True)}
    assert with_token == {f"Deployment/{names.GATEWAY}", f"Deployment/{names.PROMETHEUS}"}


def test_rbac_is_namespaced_and_least_privilege(stack_objects: list[dict]) -> None:
    assert not [o for o in stack_objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    for role in (o for o in stack_objects if o["kind"] == "Role"):
        for rule in role["rules"]:
            assert "*" not in rule.get("verbs", []) and "*" not in rule.get("resources", []), role["metadata"]
            assert "*" not in rule.get("apiGroups", []), role["metadata"]


def test_images_are_tagged_never_latest_and_digests_are_kept(stack_objects: list[dict]) -> None:
    """Every image names a version; those images.py pins by digest reach the pods with it (the
    `pinned-images` policy is what demands digests for everything in prod)."""
    for where, container, _ in containers(stack_objects):
        image = container["image"]
        assert re.search(r"(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$", image.rsplit("/", 1)[-1]), f"{where}: {image}"
        assert ":latest" not in image, f"{where}: {image}"
    used = {container["image"] for _, container, _ in containers(stack_objects)}
    for key in ("prometheus", "alertmanager"):
        assert CE_IMAGES[key] in used and "@sha256:" in CE_IMAGES[key]


def test_namespaces_enforce_pod_security(stack_objects: list[dict]) -> None:
    namespaces = {o["metadata"]["name"]: o["metadata"]["labels"] for o in stack_objects if o["kind"] == "Namespace"}
    assert set(namespaces) == {names.CONTROL_PLANE_NAMESPACE, names.FUNCTIONS_NAMESPACE}
    assert namespaces[names.CONTROL_PLANE_NAMESPACE][names.POD_SECURITY_ENFORCE] == "restricted"
    for labels in namespaces.values():
        assert labels[names.POD_SECURITY_ENFORCE] in ("restricted", "baseline")
        assert labels[names.POD_SECURITY_WARN] == "restricted"


def test_every_namespace_denies_ingress_by_default(stack_objects: list[dict]) -> None:
    default_deny = {
        o["metadata"]["namespace"]
        for o in stack_objects
        if o["kind"] == "NetworkPolicy"
        and o["spec"].get("podSelector") in ({}, {"matchLabels": {}})
        and "Ingress" in o["spec"].get("policyTypes", [])
        and not o["spec"].get("ingress")
    }
    assert default_deny == {names.CONTROL_PLANE_NAMESPACE, names.FUNCTIONS_NAMESPACE}


def test_config_maps_and_secrets_are_auto_named_or_roll_their_pods(rendered_stacks: dict[str, Rendered]) -> None:
    """A fixed name turns a change into a delete-before-replace that rolls nothing: ConfigMaps and Secrets are
    auto-named, except the credentials Secret (the chart's `basic-auth`, which connectors read), whose every
    mounting pod carries a revision annotation of the password instead."""
    for rendered in rendered_stacks.values():
        for resource in rendered.resources:
            if resource.is_kubernetes_object and resource.inputs["kind"] in ("ConfigMap", "Secret"):
                name = (resource.inputs.get("metadata") or {}).get("name")
                assert not name or name == names.AUTH_SECRET_NAME, resource.name
        for obj in rendered.kubernetes_objects():
            if obj["kind"] != "Deployment":
                continue
            template = obj["spec"]["template"]
            mounted = [v for v in template["spec"].get("volumes", [])
                       if (v.get("secret") or {}).get("secretName") == names.AUTH_SECRET_NAME]
            if mounted:
                annotations = template["metadata"].get("annotations") or {}
                assert names.CREDENTIALS_REVISION_ANNOTATION in annotations, obj["metadata"]["name"]


def test_credentials_appear_only_inside_secrets(rendered_stacks: dict[str, Rendered]) -> None:
    """The admin password reaches pods only through Secret volumes or references, never as a literal.

    The render's password is marked secret but its value is still in the recorded inputs, so a literal use
    anywhere outside a Secret (an env value, a ConfigMap, an annotation) shows up in the inputs checked here.
    """
    for rendered in rendered_stacks.values():
        for resource in rendered.resources:
            if resource.is_kubernetes_object and resource.inputs["kind"] != "Secret":
                text = json.dumps(resource.inputs, default=str)
                assert RENDER_ADMIN_PASSWORD not in text, resource.name
        secrets = [r for r in rendered.resources if r.is_kubernetes_object and r.inputs["kind"] == "Secret"]
        assert any(RENDER_ADMIN_PASSWORD in json.dumps(r.inputs, default=str) for r in secrets)
