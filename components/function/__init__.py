"""A function as a typed Pulumi resource: validated arguments, an image built from a template, and the
Deployment and Service faas-netes would have made for it.

    Function("sum", FunctionArgs(handler="functions/sum", lang="golang-middleware", scale=Scale(max=5)), platform)

Everything that can be checked without building or deploying is checked when the `Function` is
constructed, before anything is registered, so `pulumi preview` stops with a `FunctionError` naming the
function, the field, the value and what was expected.

The platform is either the `faasplane.components.platform.Platform` component of the same program or a
`PlatformRef` (for an application team deploying onto a platform stack it does not own, see
`PlatformRef.from_stack_reference`). With a `PlatformRef` built from a stack reference the edition is
an output of the other stack: the edition's limits are then checked once that output is known (in
`pulumi preview` that is before anything is created, since stack outputs are read, not computed), by a
check the Deployment's inputs depend on; everything else is still checked at construction.

This module is the entry point (the names in `__all__`); the arguments and their validation are in
`faasplane.components.function.args`, the errors in `faasplane.components.function.errors` and the
templates and build contexts in `faasplane.components.function.templating`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pulumi
import pulumi_kubernetes as kubernetes

from faasplane.components import k8s, names
from faasplane.components.config import duration_seconds
from faasplane.components.function import build
from faasplane.components.function import templating as function_templates
from faasplane.components.function.args import FunctionArgs, ResourceSpec, Scale, Timeouts, as_text, is_int
from faasplane.components.function.errors import FunctionError, Problem, invalid
from faasplane.components.function.templating import Template, render_build_context, template
from faasplane.scaler import labels as scale_labels

if TYPE_CHECKING:
    import pulumi_docker_build as docker_build

    from faasplane.components.config import PlatformConfig

__all__ = [
    "Function",
    "FunctionArgs",
    "FunctionError",
    "PlatformComponent",
    "PlatformRef",
    "ResourceSpec",
    "Scale",
    "Timeouts",
    "check_function_images",
    "default_max_replicas",
    "edition_problems",
    "timeout_warnings",
]

TYPE = f"{names.PROJECT}:function:Function"
HEALTH_PATH = "/_/health"
PORT_NAME = "http"
TMP_VOLUME = "tmp"
SCRAPE_ANNOTATION = "prometheus.io.scrape"
CE_REJECTED_SCALE_FIELDS = ("zero", "zero_duration", "target", "type")
"""Scale fields whose labels faas-netes CE rejects on deploy."""


# --- the platform a function is deployed onto ----------------------------------------------------


class PlatformComponent(Protocol):
    """What `Function` reads from the `faasplane.components.platform.Platform` component."""

    config: PlatformConfig
    functions_namespace: str


@dataclass(eq=False)
class PlatformRef:
    """A platform described by values rather than by the component: its functions namespace, registry
    and edition (plain values or outputs of a stack reference)."""

    functions_namespace: pulumi.Input[str]
    registry: pulumi.Input[str]
    """Registry server (host[:port][/path]) images are pushed to."""
    edition: pulumi.Input[str] = names.EDITION_CE
    registry_push: bool = True
    registry_username: str | None = None
    registry_password: pulumi.Input[str] | None = None
    gateway_url: pulumi.Input[str] | None = None
    stack_reference: pulumi.StackReference | None = None

    @classmethod
    def from_stack_reference(
        cls,
        reference: pulumi.StackReference | str,
        *,
        registry: str | None = None,
        registry_username: str | None = None,
        registry_password: pulumi.Input[str] | None = None,
    ) -> PlatformRef:
        """The platform exported by a faasplane stack (`organization/faasplane/<stack>` with a local
        backend). `registry` overrides the platform's registry, e.g. when the application team pushes
        to a registry of its own."""
        if isinstance(reference, str):
            reference = pulumi.StackReference(reference)
        return cls(
            functions_namespace=reference.require_output("functionsNamespace"),
            registry=registry if registry is not None else reference.require_output("registry"),
            edition=reference.require_output("edition"),
            registry_username=registry_username,
            registry_password=registry_password,
            gateway_url=reference.get_output("gatewayUrl"),
            stack_reference=reference,
        )


@dataclass
class _Target:
    key: object
    namespace: pulumi.Input[str]
    registry_server: pulumi.Input[str]
    registry_push: bool
    registry_username: str | None
    registry_password: pulumi.Input[str] | None
    edition: pulumi.Input[str]
    config: PlatformConfig | None
    depends_on: list[pulumi.Resource]


def _target(platform: PlatformComponent | PlatformRef) -> _Target:
    if isinstance(platform, PlatformRef):
        return _Target(
            key=platform,
            namespace=platform.functions_namespace,
            registry_server=platform.registry,
            registry_push=platform.registry_push,
            registry_username=platform.registry_username,
            registry_password=platform.registry_password,
            edition=platform.edition,
            config=None,
            depends_on=[platform.stack_reference] if platform.stack_reference is not None else [],
        )
    config = platform.config
    namespaces = getattr(platform, "namespaces", None)
    dependency = namespaces if isinstance(namespaces, pulumi.Resource) else platform
    return _Target(
        key=platform,
        namespace=platform.functions_namespace,
        registry_server=config.registry.server,
        registry_push=config.registry.push,
        registry_username=config.registry.username,
        registry_password=pulumi.Output.secret(config.registry_password) if config.registry_password else None,
        edition=config.edition,
        config=config,
        depends_on=[dependency] if isinstance(dependency, pulumi.Resource) else [],
    )


_DECLARED: weakref.WeakKeyDictionary[object, list[str]] = weakref.WeakKeyDictionary()
"""Function names declared per platform object, in order: unique names and the CE function count."""


def check_function_images(platform: PlatformComponent) -> None:
    """Every `faasplane:functionImages` key names a function declared on `platform`: call it once all are declared."""
    from faasplane.components.config import ConfigError

    declared = _DECLARED.get(platform, [])
    unknown = sorted(set(platform.config.function_images) - set(declared))
    if unknown:
        raise ConfigError(
            [f"{names.PROJECT}:functionImages.{key}: no function {key!r} is declared; declared: "
             f"{', '.join(declared) or 'none'}" for key in unknown]
        )


def default_max_replicas(edition: str, policy: str | None = None) -> int:
    """`scale.max` when a declaration leaves it unset: the CE cap on CE (and with the scaler's `openfaas`
    policy), the scaler's proportional default otherwise (`scaler/labels.py`)."""
    if edition == names.EDITION_CE or policy == "openfaas":
        return scale_labels.DEFAULT_MAX_OPENFAAS
    return scale_labels.DEFAULT_MAX


def edition_problems(name: str, args: FunctionArgs, edition: str, position: int) -> list[Problem]:
    """What the edition does not allow; `position` is the function's 1-based count on its platform."""
    if edition != names.EDITION_CE:
        return []
    fix = "set faasplane:edition to pro with a licence"
    out: list[Problem] = []
    if position > names.CE_MAX_FUNCTIONS:
        out.append(
            Problem("name", f"is function number {position} on this platform: the CE edition allows at most "
                            f"{names.CE_MAX_FUNCTIONS} functions: {fix}, or declare fewer functions")
        )
    scale = args.scale
    if not isinstance(scale, Scale):  # reported by FunctionArgs.problems
        return out
    for key in ("min", "max"):
        value = getattr(scale, key)
        if is_int(value) and value > names.CE_MAX_REPLICAS:
            out.append(
                Problem(f"scale.{key}", f"{value} is above the CE edition's limit of {names.CE_MAX_REPLICAS} "
                                        f"replicas: {fix}, or lower scale.{key} to {names.CE_MAX_REPLICAS}")
            )
    for key in CE_REJECTED_SCALE_FIELDS:
        if getattr(scale, key) is not None:
            label = Scale.LABELS[key]
            out.append(
                Problem(f"scale.{key}", f"the CE edition rejects the label {label} on deploy: {fix}, "
                                        f"or remove scale.{key}")
            )
    return out


def timeout_warnings(timeouts: Timeouts, config: PlatformConfig) -> list[str]:
    """Function timeouts the gateway cuts short: its upstreamTimeout bounds every synchronous call."""
    upstream = config.gateway.upstream_timeout
    out = []
    for name in ("exec", "write"):
        seconds = timeouts.seconds(name)
        value = getattr(timeouts, name)
        if seconds is not None and seconds > duration_seconds(upstream):
            out.append(
                f"timeouts.{name} {value} is longer than the gateway's upstreamTimeout {upstream}: synchronous "
                "calls end at the gateway first; raise faasplane:gateway upstreamTimeout (and writeTimeout)"
            )
    return out


# --- the resource --------------------------------------------------------------------------------


SCALER_OWNED_FIELDS = ["spec.replicas"]
"""Deployment fields that the scaler (and the gateway's scale-from-zero) change after the first deploy."""


class Function(pulumi.ComponentResource):
    """A function deployed the way faas-netes deploys one, with its image built from a template."""

    function_name: str
    namespace: pulumi.Input[str]
    image_ref: pulumi.Output[str]
    image: pulumi.CustomResource | None
    """The `docker-build:index:Image` that builds it, or None for a prebuilt image."""
    deployment: kubernetes.apps.v1.Deployment
    service: kubernetes.core.v1.Service
    secrets: dict[str, kubernetes.core.v1.Secret]
    """The Secrets this function created from `FunctionArgs.secrets` values, by name."""

    def __init__(
        self,
        name: str,
        args: FunctionArgs,
        platform: PlatformComponent | PlatformRef,
        opts: pulumi.ResourceOptions | None = None,
    ):
        target = _target(platform)
        problems = args.problems(name)
        declared = _DECLARED.setdefault(target.key, [])
        if name in declared:
            problems.append(
                invalid("name", name, "a name not yet declared on this platform (function names are unique "
                                      "per namespace)")
            )
        position = len(declared) + 1
        if isinstance(target.edition, str):
            # A field that is already invalid is not reported a second time for the edition.
            reported = {problem.field for problem in problems}
            problems += [p for p in edition_problems(name, args, target.edition, position) if p.field not in reported]
        if problems:
            raise FunctionError(name, problems)
        declared.append(name)

        super().__init__(TYPE, name, None, opts)
        self.function_name = name
        self.args = args
        self.namespace = target.namespace
        tmpl = template(args.lang) if args.lang else None

        if target.config is not None:
            for warning in timeout_warnings(args.timeouts, target.config):
                pulumi.log.warn(f"function {name!r}: {warning}", resource=self)

        self.image = None
        prebuilt = target.config.function_images.get(name) if target.config is not None else None
        if args.image_ref is not None:
            self.image_ref = pulumi.Output.from_input(args.image_ref)
        elif prebuilt is not None:
            self.image_ref = pulumi.Output.from_input(prebuilt)
        else:
            assert tmpl is not None and args.handler is not None
            self.image, self.image_ref = self._build(name, args, tmpl, target)

        replicas: pulumi.Input[int] = args.scale.replicas
        if not isinstance(target.edition, str):
            # The edition is an output of another stack: check its limits once it is known. The
            # Deployment depends on the check, so a violation fails the update before it is created.
            def check(edition: str) -> int:
                found = edition_problems(name, args, edition, position)
                if found:
                    raise FunctionError(name, found)
                return args.scale.replicas

            replicas = pulumi.Output.from_input(target.edition).apply(check)

        policy = target.config.scaler.policy if target.config is not None else None
        default_max: pulumi.Input[int]
        if isinstance(target.edition, str):
            default_max = default_max_replicas(target.edition, policy)
        else:
            default_max = pulumi.Output.from_input(target.edition).apply(default_max_replicas)
        self.labels = self._labels(name, args, default_max)
        self.annotations = {SCRAPE_ANNOTATION: "false"} | {k: as_text(v) for k, v in args.annotations.items()}
        selector = {names.FUNCTION_LABEL: name}
        child = pulumi.ResourceOptions(parent=self, depends_on=target.depends_on or None)

        # Secrets given as values: one Secret each, in the functions namespace, the value kept secret.
        self.secrets = {
            secret: kubernetes.core.v1.Secret(
                f"{name}-secret-{secret}",
                metadata=k8s.metadata(None, target.namespace, {names.FUNCTION_LABEL: name}),
                type="Opaque",
                string_data={secret: pulumi.Output.secret(value)},
                opts=child,
            )
            for secret, value in args.secret_values().items()
        }

        self.deployment = kubernetes.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.metadata(name, target.namespace, self.labels, annotations=self.annotations),
            spec=self._deployment_spec(name, args, tmpl, replicas, selector),
            # The replica count starts at scale.min; from then on the scaler and the gateway own it, so
            # a later `pulumi up` must not reset a function under load to its minimum.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=SCALER_OWNED_FIELDS)),
        )
        self.service = kubernetes.core.v1.Service(
            f"{name}-service",
            metadata=k8s.metadata(name, target.namespace, selector, annotations=self.annotations),
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [
                    port | {"target_port": names.FUNCTION_PORT}
                    for port in k8s.service_ports({PORT_NAME: names.FUNCTION_PORT})
                ],
            },
            opts=child,
        )
        self.register_outputs(
            {"functionName": name, "namespace": target.namespace, "imageRef": self.image_ref}
        )

    @staticmethod
    def _labels(name: str, args: FunctionArgs, default_max: pulumi.Input[int]) -> dict[str, pulumi.Input[str]]:
        user = {k: as_text(v) for k, v in args.labels.items()}
        return {names.FUNCTION_LABEL: name} | user | args.scale.to_labels(default_max)

    def _build(
        self, name: str, args: FunctionArgs, tmpl: Template, target: _Target
    ) -> tuple[docker_build.Image, pulumi.Output[str]]:
        handler = Path(args.handler)  # type: ignore[arg-type]
        context = handler
        if tmpl.render_context:
            context = render_build_context(name, tmpl, handler, function_templates.build_dir() / name)
        repository = args.image or name
        build_args = {k: as_text(v) for k, v in args.build_args.items()}
        return build.build_image(
            f"{name}-image",
            context=context,
            repository=repository,
            server=target.registry_server,
            push=target.registry_push,
            username=target.registry_username,
            password=target.registry_password,
            build_args=build_args,
            parent=self,
        )

    def _deployment_spec(
        self,
        name: str,
        args: FunctionArgs,
        tmpl: Template | None,
        replicas: pulumi.Input[int],
        selector: dict[str, str],
    ) -> dict[str, Any]:
        env: dict[str, str] = {}
        fprocess = args.fprocess or (tmpl.fprocess if tmpl else None)
        if fprocess:
            env["fprocess"] = fprocess
        env |= args.timeouts.env()
        env |= {k: as_text(v) for k, v in args.env.items()}
        volumes: list[dict[str, Any]] = []
        mounts: list[dict[str, Any]] = []
        if args.read_only_root_filesystem:
            volumes.append(k8s.empty_dir(TMP_VOLUME))
            mounts.append(k8s.mount(TMP_VOLUME, "/tmp"))
        if args.secrets:
            volume = f"{name}-projected-secrets"
            created = {secret: resource.metadata.name for secret, resource in self.secrets.items()}
            sources = [
                # A created Secret is auto-named (a new value rolls the Deployment); its one key is the file.
                {"secret": {"name": created[s], "items": [{"key": s, "path": s}]}} if s in created
                else {"secret": {"name": s}}
                for s in args.secrets
            ]
            volumes.append({"name": volume, "projected": {"sources": sources}})
            mounts.append(k8s.mount(volume, names.FUNCTION_SECRET_MOUNT_PATH, read_only=True))
        probe = k8s.http_probe(HEALTH_PATH, names.FUNCTION_PORT, initial_delay=2, period=2, timeout=1,
                               failure_threshold=3)
        container = k8s.container(
            name,
            self.image_ref,
            args.resources(),
            env=env,
            ports={PORT_NAME: names.FUNCTION_PORT},
            volume_mounts=mounts,
            liveness_probe=probe,
            readiness_probe=probe,
            read_only_root_filesystem=args.read_only_root_filesystem,
        )
        pod = k8s.pod_spec([container], volumes=volumes)
        node_selector = args.node_selector()
        if node_selector:
            pod["node_selector"] = node_selector
        spec = k8s.deployment_spec(selector, pod, replicas=replicas, pod_annotations=self.annotations)  # type: ignore[arg-type]
        spec["template"]["metadata"]["labels"] = dict(self.labels)
        return spec
