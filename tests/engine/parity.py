"""The real engine's manifests next to the offline render of the same program and config.

Two things differ by design and are set aside, nothing else: the suffix the kubernetes provider gives an
auto-named object is random (the mocks derive a stable one), so each real name is mapped to the render's
name of the same resource, everywhere it appears; and secret values (plain in the rendered YAML, redacted in
the offline render) are compared by key only. The render gets the engine stack's admin password, so what
is derived from it (the credentials-revision annotation) is compared.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from faasplane.components.render import render_stack
from faasplane.components.render.mock_engine import REDACTED
from scripts.engine import ADMIN_PASSWORD_KEY, EngineStack


def engine_config(engine: EngineStack) -> dict[str, Any]:
    """The generated stack file's plain `faasplane:*` values (what the render must be given too)."""
    document = yaml.safe_load(engine.stack_file.read_text())
    return {key: value for key, value in document["config"].items()
            if key.startswith("faasplane:") and not (isinstance(value, dict) and set(value) == {"secure"})}


def _logical_names(engine: EngineStack) -> dict[str, str]:
    """Resource name -> the metadata.name the provider gave it."""
    names: dict[str, str] = {}
    for resource in engine.export()["deployment"]["resources"]:
        metadata = (resource.get("outputs") or {}).get("metadata") or {}
        if resource["type"].startswith("kubernetes:") and metadata.get("name"):
            names[resource["urn"].rsplit("::", 1)[-1]] = metadata["name"]
    return names


def _rename(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _rename(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_rename(item, names) for item in value]
    if isinstance(value, str):
        return names.get(value, value)
    return value


def _secrets_aside(obj: dict[str, Any]) -> dict[str, Any]:
    if obj.get("kind") == "Secret":
        obj = {**obj, "data": {key: REDACTED for key in obj.get("data") or {}}}
    return obj


def key(obj: dict[str, Any]) -> str:
    return f"{obj['kind']} {obj['metadata'].get('namespace') or '-'}/{obj['metadata']['name']}"


def paired(engine: EngineStack) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(real, rendered) objects by kind, namespace and name, made comparable as the module says."""
    # The same admin password, so that what is derived from it (the pods' credentials-revision) compares too.
    password = {ADMIN_PASSWORD_KEY: engine.secret(ADMIN_PASSWORD_KEY)}
    rendered = render_stack(engine.stack, {**engine_config(engine), **password},
                            extra_secret_keys=[ADMIN_PASSWORD_KEY])
    render_names = {r.name: r.state["metadata"]["name"] for r in rendered.resources if r.is_kubernetes_object}
    real_names = _logical_names(engine)
    mapping = {real_names[name]: render_names[name] for name in render_names
               if name in real_names and real_names[name] != render_names[name]}
    real = {key(obj): _secrets_aside(obj) for obj in (_rename(o, mapping) for o in engine.manifests())}
    offline = {key(obj): _secrets_aside(obj) for obj in rendered.kubernetes_objects()}
    return real, offline


def differences(real: Any, offline: Any, path: str = "") -> list[str]:
    """Every field where the two differ, as `path: real=... render=...`."""
    if isinstance(real, dict) and isinstance(offline, dict):
        out = []
        for name in sorted(set(real) | set(offline)):
            where = f"{path}.{name}"
            if name not in offline:
                out.append(f"{where}: only in the real manifest: {json.dumps(real[name])[:200]}")
            elif name not in real:
                out.append(f"{where}: only in the render: {json.dumps(offline[name])[:200]}")
            else:
                out += differences(real[name], offline[name], where)
        return out
    if isinstance(real, list) and isinstance(offline, list) and len(real) == len(offline):
        return [d for index, pair in enumerate(zip(real, offline, strict=True))
                for d in differences(*pair, f"{path}[{index}]")]
    return [] if real == offline else [f"{path}: real={json.dumps(real)[:200]} render={json.dumps(offline)[:200]}"]
