"""Running one policy over rendered objects with the real pulumi-policy argument objects."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from faasplane.components.render.mock_engine import Rendered
from faasplane.policies import check, kube
from faasplane.policies.rules import BY_NAME


@dataclass(frozen=True)
class Found:
    """One violation: the resource it is reported against (`(stack)` for none) and the message."""

    resource: str
    message: str


class Objects(list):
    """A stack's Kubernetes objects (plain camelCase dicts, a private copy) with look-ups for mutations."""

    @classmethod
    def of(cls, rendered: Rendered) -> Objects:
        return cls(copy.deepcopy(rendered.kubernetes_objects()))

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        for obj in self:
            meta = obj["metadata"]
            if obj["kind"] == kind and meta["name"] == name and namespace in (None, meta.get("namespace")):
                return obj
        raise KeyError(f"{kind} {namespace or '*'}/{name} is not in the render")

    def remove(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        obj = self.get(kind, name, namespace)
        self.remove_obj(obj)
        return obj

    def remove_obj(self, obj: dict[str, Any]) -> None:
        for index, item in enumerate(self):
            if item is obj:
                del self[index]
                return

    def of_kind(self, kind: str) -> Iterator[dict[str, Any]]:
        return (obj for obj in self if obj["kind"] == kind)

    def config_map_with(self, key: str) -> dict[str, Any]:
        for obj in self.of_kind("ConfigMap"):
            if key in (obj.get("data") or {}):
                return obj
        raise KeyError(f"no ConfigMap holds {key}")

    def pod_spec(self, kind: str, name: str) -> dict[str, Any]:
        return self.get(kind, name)["spec"]["template"]["spec"]

    def container(self, deployment: str, container: str | None = None) -> dict[str, Any]:
        containers = self.pod_spec("Deployment", deployment)["containers"]
        name = container or deployment
        return next(c for c in containers if c["name"] == name)

    def template_labels(self, deployment: str) -> dict[str, str]:
        return self.get("Deployment", deployment)["spec"]["template"]["metadata"]["labels"]


def set_env(container: dict[str, Any], name: str, value: str | None = None, **source: Any) -> None:
    """Set (or with neither value nor source, remove) one env var of a container."""
    env = [e for e in container.get("env", []) if e["name"] != name]
    if value is not None:
        env.append({"name": name, "value": value})
    elif source:
        env.append({"name": name, "valueFrom": source})
    container["env"] = env


def run(policy: str, objects: list[Mapping[str, Any]], config: Mapping[str, Any] | None = None,
        wrap: Any = None) -> list[Found]:
    """The violations one policy reports over the objects, called as the Pulumi engine calls it."""
    spec = BY_NAME[policy]
    settings = check.PackConfig(properties={policy: dict(config or {})}).settings(spec)
    resources = [check.as_resource(obj) for obj in objects]
    if wrap is not None:
        for resource in resources:
            resource.props = wrap(resource.props)
    labels = {r.urn: kube.describe(kube.kind_of(r.resource_type), r.props) for r in resources}
    found: list[Found] = []
    if spec.scope == "resource":
        for resource in resources:
            args = ResourceValidationArgs(
                resource.resource_type, resource.props, resource.urn, resource.name, resource.opts, None, settings
            )
            spec.validate(args, lambda message, urn=None, _r=resource: found.append(Found(labels[_r.urn], message)))
    else:
        args = StackValidationArgs(resources, settings)
        spec.validate(args, lambda message, urn=None: found.append(Found(labels.get(urn or "", "(stack)"), message)))
    if wrap is None:
        record_seed(policy, objects, config, found)
    return found


SEEDS_ENV = "FAASPLANE_POLICY_SEEDS"
"""When set to a file, `run` appends every call and its findings there (one JSON object a line): the seeded
violations the engine tier replays through the real CrossGuard pack."""


def record_seed(policy: str, objects: list[Mapping[str, Any]], config: Mapping[str, Any] | None,
                found: list[Found]) -> None:
    target = os.environ.get(SEEDS_ENV)
    if not target:
        return
    entry = {"test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0], "policy": policy,
             "config": dict(config or {}), "objects": list(objects),
             "found": [{"resource": f.resource, "message": f.message} for f in found]}
    with open(target, "a") as out:
        out.write(json.dumps(entry, default=str) + "\n")


def messages(found: list[Found]) -> list[str]:
    return [f.message for f in found]
