"""The control-plane and functions namespaces, with Pod Security admission labels."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from faasplane.components import names
from faasplane.components.config import PlatformConfig

RESTRICTED = "restricted"
BASELINE = "baseline"

CONTROL_PLANE_ENFORCE = RESTRICTED
"""Every control-plane pod (gateway + faas-netes, NATS, queue-worker, Prometheus, Alertmanager, scaler) is
built with `faasplane.components.k8s` helpers, which satisfy the restricted standard, so it is enforced."""

FUNCTIONS_ENFORCE = BASELINE
"""The functions namespace enforces `baseline`, and audits and warns at `restricted`.

Why not enforce `restricted`: functions deployed through the gateway API (`faas-cli deploy`, the OpenFaaS
UI) get their pods from faas-netes, which only sets `runAsUser` and `readOnlyRootFilesystem` on the
container; it sets neither `allowPrivilegeEscalation: false`, `capabilities.drop: [ALL]` nor a seccomp
profile. With `restricted` enforced, the API server would reject those pods and such a deploy would leave a
Deployment with no pods. `baseline` still forbids privileged pods, host namespaces and hostPath; the
`restricted` audit and warn labels report every function pod that falls short of it."""


def pod_security_labels(enforce: str, audit: str = RESTRICTED, warn: str = RESTRICTED) -> dict[str, str]:
    return {
        names.POD_SECURITY_ENFORCE: enforce,
        names.POD_SECURITY_AUDIT: audit,
        names.POD_SECURITY_WARN: warn,
    }


class Namespaces(pulumi.ComponentResource):
    """The namespace of the platform's own workloads and the namespace functions run in."""

    control_plane: k8s.core.v1.Namespace
    functions: k8s.core.v1.Namespace

    def __init__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{names.TYPE_PREFIX}:Namespaces", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        common = {names.PART_OF_LABEL: names.PROJECT}

        self.control_plane = k8s.core.v1.Namespace(
            f"{name}-control-plane",
            metadata={
                "name": config.namespaces.control_plane,
                "labels": {**common, **pod_security_labels(CONTROL_PLANE_ENFORCE)},
            },
            opts=child,
        )
        self.functions = k8s.core.v1.Namespace(
            f"{name}-functions",
            metadata={
                "name": config.namespaces.functions,
                "labels": {**common, **pod_security_labels(FUNCTIONS_ENFORCE)},
            },
            opts=child,
        )

        self.register_outputs(
            {
                "controlPlaneNamespace": self.control_plane.metadata.name,
                "functionsNamespace": self.functions.metadata.name,
            }
        )
