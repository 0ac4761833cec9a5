"""Reading Kubernetes objects the way Pulumi hands them to a policy.

Pulumi gives a policy the resource's inputs: camelCase Kubernetes objects, wrapped in read-only
`Mapping`/`Sequence` proxies (numbers may arrive as floats). Everything here therefore tests for
`Mapping` and `Sequence`, never for `dict` and `list`, and never mutates what it reads. The offline
check (`faasplane.policies.check`) hands the validators plain dicts of the very same shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from faasplane.components import names

TYPE_PREFIX = "kubernetes:"
CORE_GROUP = "core"

WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "Pod"}
)
"""Kinds that carry a pod spec (directly or in a template)."""

CONTAINER_SECTIONS = ("initContainers", "containers", "ephemeralContainers")

NAMESPACE_NAME_LABEL = names.NAMESPACE_NAME_LABEL
"""The label the API server puts on every Namespace; NetworkPolicies select namespaces by it."""


# --- resource types ------------------------------------------------------------------------------


def type_token(api_version: str, kind: str) -> str:
    """The Pulumi type of a Kubernetes object: `kubernetes:<group or core>/<version>:<Kind>`."""
    group, _, version = str(api_version).rpartition("/")
    return f"{TYPE_PREFIX}{group or CORE_GROUP}/{version}:{kind}"


def kind_of(resource_type: str) -> str | None:
    """The Kind of a Pulumi Kubernetes type (`kubernetes:apps/v1:Deployment` -> `Deployment`)."""
    if not resource_type.startswith(TYPE_PREFIX) or resource_type.count(":") != 2:
        return None
    return resource_type.rsplit(":", 1)[1]


# --- plain reading of proxied data ---------------------------------------------------------------


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def sequence(value: Any) -> Sequence[Any]:
    return value if isinstance(value, Sequence) and not isinstance(value, str | bytes) else ()


def dig(value: Any, *keys: str) -> Any:
    """`value[k1][k2]...`, or None as soon as a step is missing or not a mapping."""
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def labels_of(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(dig(props, "metadata", "labels"))


def annotations_of(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(dig(props, "metadata", "annotations"))


def name_of(props: Mapping[str, Any]) -> str:
    return str(dig(props, "metadata", "name") or "")


def namespace_of(props: Mapping[str, Any]) -> str:
    return str(dig(props, "metadata", "namespace") or "")


def describe(kind: str | None, props: Mapping[str, Any]) -> str:
    """`Kind namespace/name` (or `Kind name` for cluster-scoped objects), as a reviewer reads it."""
    name = name_of(props) or "<unnamed>"
    namespace = namespace_of(props)
    return f"{kind or 'object'} {namespace + '/' if namespace else ''}{name}"


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def as_int(value: Any) -> int | None:
    """An integer from a label value or a number (Pulumi sends numbers as floats); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return None


# --- pods ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodTemplate:
    """The pod a workload runs: its labels, annotations and spec."""

    labels: Mapping[str, Any]
    annotations: Mapping[str, Any]
    spec: Mapping[str, Any]


def pod_template(kind: str | None, props: Mapping[str, Any]) -> PodTemplate | None:
    """The pod template of a workload object (None for anything else)."""
    if kind not in WORKLOAD_KINDS:
        return None
    if kind == "Pod":
        meta, spec = dig(props, "metadata"), dig(props, "spec")
    elif kind == "CronJob":
        template = dig(props, "spec", "jobTemplate", "spec", "template")
        meta, spec = dig(template, "metadata"), dig(template, "spec")
    else:
        template = dig(props, "spec", "template")
        meta, spec = dig(template, "metadata"), dig(template, "spec")
    return PodTemplate(
        labels=mapping(dig(meta, "labels")),
        annotations=mapping(dig(meta, "annotations")),
        spec=mapping(spec),
    )


def containers(pod_spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every container of a pod spec: init, regular and ephemeral."""
    for section in CONTAINER_SECTIONS:
        for item in sequence(pod_spec.get(section)):
            if isinstance(item, Mapping):
                yield item


def container_label(container: Mapping[str, Any]) -> str:
    return f"container {str(container.get('name') or '<unnamed>')!r}"


def env_entries(container: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for item in sequence(container.get("env")):
        if isinstance(item, Mapping) and item.get("name"):
            yield item


def env_value(container: Mapping[str, Any], name: str) -> Any:
    """The literal value of env var `name` (the last one wins, as in Kubernetes); None when unset.

    An entry with neither `value` nor `valueFrom` sets the variable to the empty string, as Kubernetes does:
    the provider drops `value: ""` (the field's zero value) before a policy sees the object, so the two
    spellings must read alike."""
    value = None
    for item in env_entries(container):
        if item.get("name") == name:
            value = item.get("value", "" if "valueFrom" not in item else None)
    return value


def env_is_set(container: Mapping[str, Any], name: str) -> bool:
    """Whether `name` has a non-empty literal value or a `valueFrom` source."""
    found = False
    for item in env_entries(container):
        if item.get("name") == name:
            found = bool(item.get("value")) or isinstance(item.get("valueFrom"), Mapping)
    return found


# --- label selectors -----------------------------------------------------------------------------


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a LabelSelector selects an object with `labels` (`{}` selects everything)."""
    selector = mapping(selector)
    for key, value in mapping(selector.get("matchLabels")).items():
        if key not in labels or str(labels[key]) != str(value):
            return False
    for expression in sequence(selector.get("matchExpressions")):
        expression = mapping(expression)
        key = expression.get("key")
        operator = expression.get("operator")
        values = [str(v) for v in sequence(expression.get("values"))]
        present = key in labels
        if operator == "In" and not (present and str(labels[key]) in values):
            return False
        if operator == "NotIn" and present and str(labels[key]) in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def selector_is_empty(selector: Any) -> bool:
    """A selector that selects everything: absent, `{}`, or with no terms."""
    selector = mapping(selector)
    return not mapping(selector.get("matchLabels")) and not sequence(selector.get("matchExpressions"))


# --- quantities ----------------------------------------------------------------------------------

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
_FACTORS = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity (`100m`, `0.5`, `128Mi`, `1Gi`, `1e3`) as a number; None if it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _FACTORS[match.group(2)]
    except InvalidOperation:
        return None


# --- images --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str | None
    digest: str | None


def parse_image(reference: str) -> ImageRef:
    """Split `registry:port/path/name:tag@sha256:...` into repository, tag and digest."""
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    last = name[slash + 1 :]
    if ":" in last:
        repository, tag = name[: slash + 1] + last.split(":", 1)[0], last.split(":", 1)[1]
    else:
        repository, tag = name, None
    return ImageRef(repository=repository, tag=tag or None, digest=digest or None)
