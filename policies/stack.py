"""A stack's Kubernetes objects as the stack policies read them (`StackValidationArgs.resources`).

The look-ups here (the gateway, the functions, ConfigMaps by data key, namespace labels) are shared by the
stack policies and by the resource policies that need to recognise a function Deployment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from faasplane.components import names
from faasplane.policies import kube


@dataclass(frozen=True)
class Obj:
    """One Kubernetes object of a stack, as a stack policy sees it."""

    kind: str
    props: Mapping[str, Any]
    urn: str

    @property
    def name(self) -> str:
        return kube.name_of(self.props)

    @property
    def namespace(self) -> str:
        return kube.namespace_of(self.props)

    @property
    def label(self) -> str:
        return kube.describe(self.kind, self.props)

    @property
    def pod(self) -> kube.PodTemplate | None:
        return kube.pod_template(self.kind, self.props)


class Stack:
    """The Kubernetes objects of a stack with the look-ups the stack policies share."""

    def __init__(self, resources: Iterable[Any]):
        self.objects: list[Obj] = []
        for resource in resources:
            kind = kube.kind_of(str(getattr(resource, "resource_type", "")))
            props = getattr(resource, "props", None)
            if kind and isinstance(props, Mapping):
                self.objects.append(Obj(kind, props, str(getattr(resource, "urn", ""))))

    def of_kind(self, *kinds: str) -> list[Obj]:
        return [obj for obj in self.objects if obj.kind in kinds]

    def find(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        for obj in self.of_kind(kind):
            if obj.name == name and (namespace is None or obj.namespace == namespace):
                return obj
        return None

    def workloads(self) -> list[Obj]:
        return [obj for obj in self.objects if obj.kind in kube.WORKLOAD_KINDS]

    def functions(self) -> list[Obj]:
        return [obj for obj in self.of_kind("Deployment") if is_function(obj.props)]

    def gateway(self) -> Obj | None:
        return self.find("Deployment", names.GATEWAY)

    def config_maps_with(self, key: str) -> list[Obj]:
        return [obj for obj in self.of_kind("ConfigMap") if key in kube.mapping(obj.props.get("data"))]

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """A namespace's labels, with the name label the API server adds to every namespace."""
        found = self.find("Namespace", namespace)
        labels = {str(k): str(v) for k, v in kube.labels_of(found.props).items()} if found else {}
        labels[kube.NAMESPACE_NAME_LABEL] = namespace
        return labels

    def platform_namespaces(self) -> list[str]:
        """The namespaces the stack creates and those its workloads run in."""
        found = [obj.name for obj in self.of_kind("Namespace") if obj.name]
        found += [obj.namespace for obj in self.workloads() if obj.namespace]
        return sorted(set(found))


def is_function(props: Mapping[str, Any]) -> bool:
    """A function Deployment: it carries the `faas_function` label (on itself or its pod template)."""
    pod = kube.pod_template("Deployment", props)
    return names.FUNCTION_LABEL in kube.labels_of(props) or bool(pod and names.FUNCTION_LABEL in pod.labels)


def function_labels(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The labels faas-netes and the scaler read a function's settings from: its pod template's."""
    pod = kube.pod_template("Deployment", props)
    return pod.labels if pod else {}


def parse_yaml(text: Any) -> tuple[Any, str | None]:
    """A YAML document from a ConfigMap value, or the reason it cannot be read."""
    if not isinstance(text, str):
        return None, "is not a string"
    try:
        return yaml.safe_load(text), None
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"is not valid YAML ({first_line})"
