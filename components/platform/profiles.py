"""The OpenFaaS Pro Profile CRD (`profiles.openfaas.com`), installed only when a stack is asked to.

A CustomResourceDefinition is cluster-scoped: one API shared by every OpenFaaS installation on the cluster.
So it is opt-in (`faasplane:profiles.createCrd`), and the stack that creates it keeps it when destroyed (as
the chart keeps it on uninstall): deleting a CRD deletes every Profile of every namespace with it.

The schema is our own and deliberately coarse: it names the ten fields of a Profile's `spec` and types the
plain ones, and leaves the nested Kubernetes structures (affinity, tolerations, security context, ...) to the
Pro provider, which validates them as it applies them to function pods.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from faasplane.components import names

VERSION = "v1"
PRESERVE_UNKNOWN_FIELDS = "x-kubernetes-preserve-unknown-fields"
"""Spelt as the API spells it: values inside a schema's `properties` map reach the provider untranslated."""


def _open_object() -> dict[str, Any]:
    """An object whose fields are not listed here: kept as given (no pruning)."""
    return {"type": "object", PRESERVE_UNKNOWN_FIELDS: True}


def _open_array() -> dict[str, Any]:
    return {"type": "array", "items": _open_object()}


PROFILE_SPEC_FIELDS: dict[str, dict[str, Any]] = {
    "affinity": _open_object(),
    "dnsConfig": _open_object(),
    "dnsPolicy": {"type": "string"},
    "podSecurityContext": _open_object(),
    "priorityClassName": {"type": "string"},
    "resources": _open_object(),
    "runtimeClassName": {"type": "string"},
    "strategy": _open_object(),
    "tolerations": _open_array(),
    "topologySpreadConstraints": _open_array(),
}
"""The fields of a Profile's `spec` the Pro provider applies to the pods (and Deployments) of functions."""


def profile_schema() -> dict[str, Any]:
    """A structural openAPIV3Schema for Profile objects."""
    return {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": {key: dict(value) for key, value in PROFILE_SPEC_FIELDS.items()}},
        },
    }


def profile_crd_spec() -> dict[str, Any]:
    return {
        "group": names.PROFILE_API_GROUP,
        "names": {
            "kind": names.PROFILE_KIND,
            "list_kind": f"{names.PROFILE_KIND}List",
            "plural": names.PROFILE_PLURAL,
            "singular": names.PROFILE_SINGULAR,
        },
        "scope": "Namespaced",
        "versions": [
            {"name": VERSION, "served": True, "storage": True, "schema": {"open_apiv3_schema": profile_schema()}}
        ],
    }


class ProfileDefinition(pulumi.ComponentResource):
    """The Profile CustomResourceDefinition, retained when the stack is destroyed."""

    definition: kubernetes.apiextensions.v1.CustomResourceDefinition

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{names.TYPE_PREFIX}:ProfileDefinition", name, None, opts)
        self.definition = kubernetes.apiextensions.v1.CustomResourceDefinition(
            f"{name}-crd",
            metadata={"name": names.PROFILE_CRD, "labels": {names.PART_OF_LABEL: names.PROJECT}},
            spec=profile_crd_spec(),
            # Shared, cluster-scoped API: never deleted with one stack (the chart's resource-policy keep).
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.register_outputs({"name": names.PROFILE_CRD})
