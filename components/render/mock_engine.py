"""Run a Pulumi program under Pulumi's mock engine and record every resource it registers.

This is how the offline render and the tests see exactly the inputs Pulumi would send to the
providers, without the Pulumi CLI, its plugins or a cluster. The mocks answer the way the real
providers would where the program depends on it: auto-named Kubernetes objects get a stable suffix,
`docker-build` images a digest, stack references their outputs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from faasplane.components import names

SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key Pulumi uses to mark a serialized secret value."""
REDACTED = "[secret]"
AUTONAMED_ANNOTATION = "pulumi.com/autonamed"


@dataclass(frozen=True)
class RecordedResource:
    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]

    @property
    def is_kubernetes_object(self) -> bool:
        return self.type.startswith("kubernetes:") and "kind" in self.inputs


@dataclass
class Rendered:
    """Everything a program registered, plus its stack outputs."""

    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        """The Kubernetes objects as they would be sent to the API server (secrets redacted)."""
        return [normalize(r.state) for r in self.resources if r.is_kubernetes_object]


def _unwrap(value: Any) -> tuple[Any, bool]:
    """A value without its secret marker, and whether it had one."""
    if isinstance(value, Mapping) and SECRET_SIG in value:
        return value.get("value"), True
    return value, False


def _secret_data(data: Any, string_data: Any) -> Any:
    """A Secret's `data` with its `stringData` merged in base64-encoded, as the provider applies it; the
    result is marked secret when either part was (a secret single value keeps its own marker)."""
    data_values, data_secret = _unwrap(data or {})
    string_values, string_secret = _unwrap(string_data or {})
    merged = dict(data_values)
    for key, value in string_values.items():
        plain, secret = _unwrap(value)
        encoded = base64.b64encode(str(plain).encode()).decode()
        merged[key] = {SECRET_SIG: value[SECRET_SIG], "value": encoded} if secret else encoded
    if data_secret or string_secret:
        marker = (data if data_secret else string_data)[SECRET_SIG]
        return {SECRET_SIG: marker, "value": merged}
    return merged


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def normalize(value: Any) -> Any:
    """Plain data: secrets redacted, integral floats (the wire format of numbers) back to ints."""
    if isinstance(value, Mapping):
        if SECRET_SIG in value:
            secret = value.get("value")
            # Keep the keys of a secret map (a Secret's data) so a reviewer sees what it holds.
            return {key: REDACTED for key in secret} if isinstance(secret, Mapping) else REDACTED
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    """Pulumi mocks that behave like the providers and remember every registration."""

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None):
        self.recorded: list[RecordedResource] = []
        self.stack_outputs = dict(stack_outputs or {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        state = dict(inputs)
        if args.typ.startswith("kubernetes:") and "kind" in inputs:
            metadata = dict(inputs.get("metadata") or {})
            if not metadata.get("name"):
                # The provider's auto-naming: the resource name plus a suffix (random there, stable here),
                # and an annotation saying so on the object it applies.
                metadata["name"] = f"{args.name}-{_digest(args.name, inputs)[:8]}"
                metadata["annotations"] = {**(metadata.get("annotations") or {}), AUTONAMED_ANNOTATION: "true"}
            state["metadata"] = metadata
            if inputs["kind"] == "Secret" and inputs.get("stringData"):
                # The provider applies a Secret's stringData as base64 `data`, as the API server stores it.
                state["data"] = _secret_data(inputs.get("data"), inputs["stringData"])
                del state["stringData"]
        elif args.typ == "docker-build:index:Image":
            digest = "sha256:" + _digest(args.name, inputs)
            tags = inputs.get("tags") or [args.name]
            repository = str(tags[0]).rsplit(":", 1)[0] if ":" in str(tags[0]).rsplit("/", 1)[-1] else str(tags[0])
            state["digest"] = digest
            state["ref"] = f"{repository}@{digest}"
        elif args.typ == "pulumi:pulumi:StackReference":
            stack_name = inputs.get("name", args.name)
            state["outputs"] = dict(self.stack_outputs.get(stack_name, {}))
            state["secretOutputNames"] = []
        self.recorded.append(RecordedResource(args.typ, args.name, inputs, state))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def run_program(
    program: Callable[[], Any],
    config: Mapping[str, Any] | None = None,
    *,
    stack: str = "dev",
    project: str = names.PROJECT,
    secret_keys: list[str] | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Rendered:
    """Run `program` under the mock engine with the given config and return what it registered.

    `config` maps full keys (`faasplane:gateway`) to values; structured values may be given as Python
    data and are passed to the program as JSON, as the Pulumi CLI does. Exceptions raised by the
    program (a `ConfigError`, a validation error) propagate to the caller unchanged.
    """
    _ensure_event_loop()
    mocks = RecordingMocks(stack_outputs)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    wire_config = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in (config or {}).items()
    }
    pulumi.runtime.set_all_config(wire_config, secret_keys=list(secret_keys or []))
    outputs: dict[str, Any] = {}
    original_export = pulumi.export

    def capture_export(name: str, value: Any) -> None:
        outputs[name] = value
        original_export(name, value)

    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    pulumi.export = capture_export
    try:
        _sync_await(run_pulumi_func(program))
    finally:
        pulumi.export = original_export
    resolved = {name: _resolve(value) for name, value in outputs.items()}
    return Rendered(resources=mocks.recorded, outputs=resolved)


def _ensure_event_loop() -> None:
    """Pulumi's runtime drives its own event loop; give it one if `asyncio.run()` closed or unset it."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


def _resolve(value: Any) -> Any:
    """The plain value of an export (secrets redacted)."""
    if isinstance(value, pulumi.Output):
        is_secret = _sync_await(value.is_secret())
        if is_secret:
            return REDACTED
        return normalize(_resolve(_sync_await(value.future())))
    if isinstance(value, Mapping):
        return {key: _resolve(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_resolve(item) for item in value]
    return normalize(value)
