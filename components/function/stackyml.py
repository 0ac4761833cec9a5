"""Read faas-cli `stack.yml` files into typed function declarations.

    python -m faasplane.components.function.stackyml check FILE [--edition ce|pro]

prints the edition whose limits were checked (`edition: ce (...)`: CE, faasplane's default, unless
`--edition pro`), then one line per function, `NAME IMAGE min=N max=N`, and exits 0; or prints
`FILE: functions.NAME.KEY: message` for each error (the file's, then the edition's) on stderr and exits 2.
Warnings (keys faas-cli ignores, with a "did you mean" for a misspelt one, features faasplane does not use,
values faasplane adjusts) follow on stderr as `FILE: KEY: warning: message`, also when there are errors, and
do not change the exit code.

What is read, and how it maps onto `FunctionArgs`:
- `version` (1.0, or absent), `provider.name` (`openfaas`, or `faas` in old files), `provider.gateway`;
- per function: `lang` (`dockerfile` in any case, as faas-cli compares it; a template pinned with
  `NAME@REF` is built with faasplane's own NAME template, with a warning), `handler` (relative to the
  file), `image` (its repository, without registry
  host and tag, names the image pushed to the platform's registry; with `skip_build: true` the image is
  deployed as is), `fprocess`, `environment` (plus `environment_file`s, which override it as in
  faas-cli; `read_timeout`, `write_timeout`, `exec_timeout` become `timeouts`; an `exec_timeout` above
  `write_timeout`, which the watchdog accepts but cuts at write_timeout, is imported as write_timeout with
  a warning), `secrets`,
  `constraints`, `labels` (the `com.openfaas.scale.*` labels become `scale`), `annotations`, `limits`,
  `requests`, `readonly_root_filesystem` (default true here, false in faas-cli), `build_args`;
- `${VAR}` and `${VAR:-default}` are substituted from the environment in every string value (after
  parsing, so a value cannot change the document's structure); label, annotation, environment and
  build-arg values may be numbers or booleans, and are taken as written, as faas-cli's YAML library
  takes them (`on` stays `on`, `1.10` stays `1.10`; only true and false are booleans);
- `namespace`, `build_options`, `platforms`, `build_secrets`, `configuration` and unknown keys are
  reported as warnings and ignored.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from faasplane.components.errors import UserError
from faasplane.components.function import (
    Function,
    PlatformComponent,
    PlatformRef,
    default_max_replicas,
    edition_problems,
)
from faasplane.components.function.args import (
    WATCHDOG_TIMEOUT_ENV,
    FunctionArgs,
    ResourceSpec,
    Scale,
    Timeouts,
    parse_go_duration,
)
from faasplane.components.function.errors import Problem, show
from faasplane.components.function.templating import available_templates
from faasplane.components.names import CE_MAX_FUNCTIONS, CE_MAX_REPLICAS, EDITION_CE, EDITION_PRO
from faasplane.scaler import labels as scale_labels

PROVIDERS = ("openfaas", "faas")
VERSIONS = ("1.0",)
FUNCTION_KEYS = {
    "lang", "handler", "image", "fprocess", "environment", "environment_file", "secrets", "skip_build",
    "constraints", "labels", "annotations", "limits", "requests", "readonly_root_filesystem", "build_args",
}
IGNORED_FUNCTION_KEYS = {
    "namespace": "functions deploy to the platform's functions namespace",
    "build_options": "not supported: use build_args (the templates read ADDITIONAL_PACKAGE)",
    "platforms": "not supported: images are built for the builder's platform",
    "build_secrets": "not supported by the faasplane templates",
}
TOP_LEVEL_KEYS = {"version", "provider", "functions"}
IGNORED_TOP_LEVEL_KEYS = {"configuration": "faasplane ships its own templates (components/function/templates)"}
PROVIDER_KEYS = {"name", "gateway", "network"}
DOCKERFILE = "dockerfile"
"""The template faas-cli recognises in any case (`lang: Dockerfile` in older files)."""
RESOURCE_KEYS = ("memory", "cpu")
TIMEOUT_ENV = {env: name for name, env in WATCHDOG_TIMEOUT_ENV.items()}
SCALE_FIELDS = {label: name for name, label in Scale.LABELS.items()}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class StackYmlError(UserError):
    """A stack.yml cannot be imported; one `FILE: KEY: message` line per problem, and the file's warnings."""

    def __init__(self, problems: list[str], warnings: list[str] | None = None):
        self.problems = problems
        self.warnings = list(warnings or [])
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class FunctionDeclaration:
    name: str
    args: FunctionArgs
    image: str | None
    """The `image` as written (after substitution)."""


@dataclass
class StackFile:
    path: Path
    version: str | None
    provider: str
    gateway: str | None
    functions: list[FunctionDeclaration] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- YAML ----------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe loading that refuses duplicate keys (a second `sum:` would silently replace the first)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


class _Int(int):
    """An integer that remembers how the file wrote it (`010`, `1_000`)."""

    text: str


class _Float(float):
    """A float that remembers how the file wrote it (`1.10`, `1e3`)."""

    text: str


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> _Int:
    value = _Int(loader.construct_yaml_int(node))
    value.text = node.value
    return value


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> _Float:
    value = _Float(loader.construct_yaml_float(node))
    value.text = node.value
    return value


_BOOL_TAG = "tag:yaml.org,2002:bool"
# faas-cli reads stack.yml with YAML 1.2 rules (gopkg.in/yaml.v3): only true and false are booleans, so
# `GO111MODULE: on` is the string "on", not YAML 1.1's true.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


class _Context:
    """Problems and warnings of one file, each prefixed with the file and the key."""

    def __init__(self, path: Path, display: str, env: Mapping[str, str]):
        self.path = path
        self.display = display
        self.env = env
        self.errors: list[str] = []
        self.error_keys: list[str] = []
        """The key of each error, in the order of `errors`."""
        self.warnings: list[str] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append(f"{self.display}: {key}: {message}" if key else f"{self.display}: {message}")
        self.error_keys.append(key)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.display}: {key}: warning: {message}")

    def warn_unknown(self, where: str, key: Any, known: set[str], reasons: Mapping[str, str] | None = None) -> None:
        """A key faas-cli does not read (or reads and faasplane ignores, with the reason): a warning, with the
        closest known key when the key looks misspelt."""
        reasons = reasons or {}
        location = f"{where}.{key}" if where else str(key)
        if key in reasons:
            self.warn(location, f"{reasons[key]}; ignored")
        elif key in TIMEOUT_ENV and where.startswith("functions."):
            self.warn(location, f"faas-cli ignores it here; ignored: a watchdog timeout belongs under "
                                f"{where}.environment")
        else:
            self.warn(location, f"unknown key, faas-cli ignores it; ignored{_did_you_mean(key, known | set(reasons))}")

    def substitute(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            def replace(match: re.Match[str]) -> str:
                name, default = match.group(1), match.group(2)
                if default is not None:  # ${VAR:-default}: the default when unset or empty
                    return self.env.get(name) or default
                if name not in self.env:
                    self.warn(key, f"${{{name}}} is not set: substituted an empty string")
                return self.env.get(name, "")

            return _VARIABLE.sub(replace, value)
        if isinstance(value, Mapping):
            return {k: self.substitute(v, f"{key}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v, f"{key}[{i}]") for i, v in enumerate(value)]
        return value


def _did_you_mean(key: Any, known: set[str]) -> str:
    """`: did you mean 'labels'?` for the known key closest to a misspelt one (empty when none is close)."""
    close = difflib.get_close_matches(str(key), sorted(known), n=1) or difflib.get_close_matches(
        str(key).lower(), sorted(known), n=1
    )
    return f": did you mean {close[0]!r}?" if close else ""


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error on one line: where and what."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


_show = functools.partial(show, none="null")
"""A value as stack.yml messages quote it: as `function_errors.show`, with YAML's `null` for None."""


def _scalar(value: Any) -> str | None:
    """A label, annotation, environment or build-arg value as text: as the file writes it, which is what
    faas-cli passes on (`1.10`, not `1.1`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _Int | _Float):
        return value.text
    if isinstance(value, int | float | str):
        return str(value)
    return None


def _string_map(ctx: _Context, key: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        ctx.error(key, f"{_show(value)} is not valid: expected a mapping of names to values")
        return {}
    out: dict[str, str] = {}
    for name, item in value.items():
        text = _scalar(item)
        if text is None:
            ctx.error(f"{key}.{name}", f"{_show(item)} is not valid: expected a string or a number")
        else:
            out[str(name)] = text
    return out


def _string_list(ctx: _Context, key: str, value: Any, positions: list[int] | None = None) -> list[str]:
    """The strings of a list (the others are errors); `positions` gets the index in the file of each."""
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.error(key, f"{_show(value)} is not valid: expected a list of strings")
        return []
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            ctx.error(f"{key}[{index}]", f"{_show(item)} is not valid: expected a string")
        else:
            out.append(item)
            if positions is not None:
                positions.append(index)
    return out


_TRUE_WORDS = ("true", "yes", "y", "on")
_FALSE_WORDS = ("false", "no", "n", "off")


def _boolean(ctx: _Context, key: str, value: Any, default: bool) -> bool:
    """A boolean key: true or false, or a YAML 1.1 word faas-cli's YAML library still reads into a boolean
    field (yes/no, on/off, y/n)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS + _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    ctx.error(key, f"{_show(value)} is not valid: expected true or false")
    return default


def _string(ctx: _Context, key: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    ctx.error(key, f"{_show(value)} is not valid: expected a string")
    return None


# --- conversion ----------------------------------------------------------------------------------


def repository_of(image: str) -> str:
    """The repository part of an image reference: no registry host, no tag, no digest."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return "/".join(parts)


def _scale(ctx: _Context, key: str, labels: dict[str, str]) -> Scale:
    values: dict[str, Any] = {}
    for label in [k for k in labels if k.startswith(scale_labels.PREFIX)]:
        text = labels.pop(label).strip()
        where = f"{key}.{label}"
        name = SCALE_FIELDS.get(label)
        if name is None:
            ctx.warn(where, f"unknown scaling label: expected one of {', '.join(scale_labels.ALL_LABELS)}; ignored")
            continue
        try:
            if name in ("min", "max", "factor"):
                values[name] = int(text)
            elif name in ("target", "target_proportion"):
                values[name] = float(text)
            elif name == "zero":
                if text.lower() not in ("true", "false"):
                    raise ValueError
                values[name] = text.lower() == "true"
            else:
                values[name] = text
        except ValueError:
            expected = {"min": "an integer", "max": "an integer", "factor": "an integer", "zero": "true or false"}
            ctx.error(where, f"{text!r} is not valid: expected {expected.get(name, 'a number')}")
    return Scale(**values)


def _resources(ctx: _Context, key: str, value: Any) -> ResourceSpec:
    if value is None:
        return ResourceSpec()
    if not isinstance(value, Mapping):
        ctx.error(key, f"{_show(value)} is not valid: expected a mapping with memory and cpu")
        return ResourceSpec()
    for extra in sorted(set(value) - set(RESOURCE_KEYS), key=str):
        hint = _did_you_mean(extra, set(RESOURCE_KEYS))
        ctx.warn(f"{key}.{extra}", f"faas-cli reads only memory and cpu; ignored{hint}")
    spec: dict[str, str] = {}
    for name in RESOURCE_KEYS:
        item = value.get(name)
        if item is None:
            continue
        text = _scalar(item)
        if text is None or isinstance(item, bool):
            ctx.error(f"{key}.{name}", f"{_show(item)} is not valid: expected a quantity such as 128Mi or 100m")
        else:
            spec[name] = text
    return ResourceSpec(**spec)


def _environment_files(ctx: _Context, key: str, value: Any) -> dict[str, str]:
    merged: dict[str, str] = {}
    for index, name in enumerate(_string_list(ctx, key, value)):
        where = f"{key}[{index}]"
        path = ctx.path.parent / name
        try:
            document = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
        except OSError as exc:
            ctx.error(where, f"{name!r} cannot be read: {exc.strerror}")
            continue
        except yaml.YAMLError as exc:
            ctx.error(where, f"{name!r} is not valid YAML: {_yaml_problem(exc)}")
            continue
        if not isinstance(document, Mapping) or not isinstance(document.get("environment", {}), Mapping):
            ctx.error(where, f"{name!r} is not valid: expected a file with an environment mapping")
            continue
        environment = ctx.substitute(document.get("environment") or {}, f"{where}.environment")
        merged |= _string_map(ctx, f"{where}.environment", environment)
    return merged


def _language(ctx: _Context, key: str, lang: str | None) -> str | None:
    """`lang` as faasplane names the template: `dockerfile` in any case (faas-cli compares it so), and
    `NAME@REF` (a template faas-cli pulls at a ref) as faasplane's own NAME, with a warning. Anything else is
    returned as written (FunctionArgs reports a template faasplane does not have)."""
    if lang is None:
        return None
    name, pinned, ref = lang.partition("@")
    if name.lower() == DOCKERFILE:
        name = DOCKERFILE
    if not pinned:
        return name if name == DOCKERFILE else lang
    if name not in available_templates():
        return lang
    ctx.warn(key, f"{lang!r} pins the {name} template at {ref!r} (faas-cli pulls that ref): faasplane builds "
                  f"with its own {name} template (components/function/templates/{name}); the ref is ignored")
    return name


def _exec_within_write(ctx: _Context, key: str, timeouts: dict[str, str]) -> dict[str, str]:
    """The timeouts, with an `exec` above `write` lowered to `write` (and a warning saying so): the watchdog
    accepts such a pair, faas-cli deploys it, and the call's response is cut at write_timeout anyway;
    FunctionArgs refuses it, so the file would not import otherwise."""
    if "exec" not in timeouts or "write" not in timeouts:
        return timeouts
    try:
        above = parse_go_duration(timeouts["exec"]) > parse_go_duration(timeouts["write"])
    except ValueError:
        return timeouts  # reported by FunctionArgs
    if not above:
        return timeouts
    execute, write = timeouts["exec"], timeouts["write"]
    ctx.warn(
        f"{key}.environment.{WATCHDOG_TIMEOUT_ENV['exec']}",
        f"{execute!r} is above write_timeout ({write}): the classic watchdog accepts it, but the response is cut "
        f"at write_timeout, so a call still running at {write} returns no response; imported as exec_timeout "
        f"{write} (raise write_timeout to {execute} to let calls run that long)",
    )
    return timeouts | {"exec": write}


_LIST_ITEM = re.compile(r"^(\w+)\[(\d+)\](.*)$")


def _field_key(name: str, problem_field: str, positions: Mapping[str, list[int]] | None = None) -> str:
    """The stack.yml key of a `FunctionArgs` field, for messages; `positions` maps the index of an item of a
    list field to its index in the file (where items that are not strings were left out)."""
    base = f"functions.{name}"
    if problem_field == "name":
        return base
    item = _LIST_ITEM.match(problem_field)
    if item and positions and item.group(1) in positions:
        list_name, index, rest = item.group(1), int(item.group(2)), item.group(3)
        problem_field = f"{list_name}[{positions[list_name][index]}]{rest}"
    head, sep, rest = problem_field.partition(".")
    if head == "scale":
        return f"{base}.labels.{Scale.LABELS[rest]}"
    if head == "timeouts":
        return f"{base}.environment.{WATCHDOG_TIMEOUT_ENV[rest]}"
    renamed = {"env": "environment", "read_only_root_filesystem": "readonly_root_filesystem", "image_ref": "image"}
    return f"{base}.{renamed.get(head, head)}{sep}{rest}"


def _function(ctx: _Context, name: str, raw: Any) -> FunctionDeclaration | None:
    key = f"functions.{name}"
    if not isinstance(raw, Mapping):
        ctx.error(key, f"{_show(raw)} is not valid: expected a mapping (lang, handler, image, ...)")
        return None
    data = ctx.substitute(dict(raw), key)
    for extra in sorted(set(data) - FUNCTION_KEYS, key=str):
        ctx.warn_unknown(key, extra, FUNCTION_KEYS, IGNORED_FUNCTION_KEYS)
    errors_before = len(ctx.errors)
    # Every field is read and checked, so one run lists all of a function's errors. A key with an error in
    # its shape (a string where a list belongs, say) is left out of what FunctionArgs is given, and what
    # FunctionArgs then finds at or under that key is not reported a second time.

    image = _string(ctx, f"{key}.image", data.get("image"))
    lang = _language(ctx, f"{key}.lang", _string(ctx, f"{key}.lang", data.get("lang")))
    handler = _string(ctx, f"{key}.handler", data.get("handler"))
    fprocess = _string(ctx, f"{key}.fprocess", data.get("fprocess"))
    skip_build = _boolean(ctx, f"{key}.skip_build", data.get("skip_build"), False)
    environment = _string_map(ctx, f"{key}.environment", data.get("environment"))
    environment |= _environment_files(ctx, f"{key}.environment_file", data.get("environment_file"))
    timeouts = {TIMEOUT_ENV[k]: environment.pop(k) for k in list(environment) if k in TIMEOUT_ENV}
    for name_, value in list(timeouts.items()):
        if value.isdigit():
            timeouts[name_] = f"{value}s"  # the watchdog reads a bare number as seconds
    timeouts = _exec_within_write(ctx, key, timeouts)
    if "fprocess" in environment:
        env_fprocess = environment.pop("fprocess")
        fprocess = fprocess or env_fprocess
    labels = _string_map(ctx, f"{key}.labels", data.get("labels"))
    scale = _scale(ctx, f"{key}.labels", labels)
    annotations = _string_map(ctx, f"{key}.annotations", data.get("annotations"))

    # Whether the image is built or deployed as is decides what the source fields must be: when that is
    # unknown (skip_build is invalid, or its image is missing), they are not checked further.
    source_unknown = f"{key}.skip_build" in ctx.error_keys[errors_before:]
    if skip_build:
        if image is None and f"{key}.image" not in ctx.error_keys[errors_before:]:
            ctx.error(f"{key}.image", "missing: skip_build needs the image to deploy")
        source_unknown = source_unknown or image is None
        source: dict[str, Any] = {"image_ref": image}
    else:
        source = {
            "lang": lang,
            "handler": (ctx.path.parent / handler) if handler is not None else None,
            "image": repository_of(image) if image else None,
            "build_args": _string_map(ctx, f"{key}.build_args", data.get("build_args")),
        }
    positions: dict[str, list[int]] = {"secrets": [], "constraints": []}
    args = FunctionArgs(
        **source,
        fprocess=fprocess,
        env=environment,
        secrets=_string_list(ctx, f"{key}.secrets", data.get("secrets"), positions["secrets"]),
        labels=labels,
        annotations=annotations,
        requests=_resources(ctx, f"{key}.requests", data.get("requests")),
        limits=_resources(ctx, f"{key}.limits", data.get("limits")),
        scale=scale,
        read_only_root_filesystem=_boolean(
            ctx, f"{key}.readonly_root_filesystem", data.get("readonly_root_filesystem"), True
        ),
        constraints=_string_list(ctx, f"{key}.constraints", data.get("constraints"), positions["constraints"]),
        timeouts=Timeouts(**timeouts),
    )
    reported = set(ctx.error_keys[errors_before:])
    if source_unknown:
        reported |= {f"{key}.{field_name}" for field_name in ("image", "lang", "handler", "build_args")}
    for problem in args.problems(name):
        problem_key = _field_key(name, problem.field, positions)
        if not any(problem_key == done or problem_key.startswith((f"{done}.", f"{done}[")) for done in reported):
            ctx.error(problem_key, problem.message)
    if len(ctx.errors) > errors_before:
        return None
    return FunctionDeclaration(name=name, args=args, image=image)


def parse(path: Path | str, env: Mapping[str, str] | None = None, *, display: str | None = None) -> StackFile:
    """Read a stack.yml; raises `StackYmlError` listing every problem."""
    path = Path(path)
    ctx = _Context(path, display or str(path), os.environ if env is None else env)
    try:
        document = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except OSError as exc:
        raise StackYmlError([f"{ctx.display}: cannot be read: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        raise StackYmlError([f"{ctx.display}: not valid YAML: {_yaml_problem(exc)}"]) from None
    if not isinstance(document, Mapping):
        raise StackYmlError([f"{ctx.display}: expected a mapping with version, provider and functions"])

    for extra in sorted(set(document) - TOP_LEVEL_KEYS, key=str):
        ctx.warn_unknown("", extra, TOP_LEVEL_KEYS, IGNORED_TOP_LEVEL_KEYS)
    version = document.get("version")
    version_text = None if version is None else str(version)
    if version_text is not None and version_text not in VERSIONS + ("1",):
        ctx.error("version", f"{_show(version)} is not valid: expected 1.0")
    provider = ctx.substitute(document.get("provider") or {}, "provider")
    provider_name = "openfaas"
    gateway = None
    if not isinstance(provider, Mapping):
        ctx.error("provider", f"{_show(provider)} is not valid: expected a mapping with name and gateway")
    else:
        provider_name = provider.get("name", "openfaas")
        if provider_name not in PROVIDERS:
            ctx.error("provider.name", f"{_show(provider_name)} is not valid: expected openfaas (or faas)")
        gateway = provider.get("gateway")
        for extra in sorted(set(provider) - PROVIDER_KEYS, key=str):
            ctx.warn_unknown("provider", extra, PROVIDER_KEYS)

    functions = document.get("functions")
    declarations: list[FunctionDeclaration] = []
    if not isinstance(functions, Mapping) or not functions:
        ctx.error("functions", f"{_show(functions)} is not valid: expected a mapping of function names to "
                               "declarations")
    else:
        for name, raw in functions.items():
            declaration = _function(ctx, str(name), raw)
            if declaration is not None:
                declarations.append(declaration)
    if ctx.errors:
        raise StackYmlError(ctx.errors, ctx.warnings)
    return StackFile(
        path=path, version=version_text, provider=str(provider_name), gateway=gateway,
        functions=declarations, warnings=ctx.warnings,
    )


def check_edition(stack: StackFile, edition: str, display: str | None = None) -> list[str]:
    """The edition's limits over the file's functions (as if they were the platform's only ones)."""
    out = []
    for position, declaration in enumerate(stack.functions, start=1):
        for problem in edition_problems(declaration.name, declaration.args, edition, position):
            out.append(f"{display or stack.path}: {_field_key(declaration.name, problem.field)}: {problem.message}")
    return out


def declare(
    path: Path | str, platform: PlatformComponent | PlatformRef, env: Mapping[str, str] | None = None
) -> list[Function]:
    """A `Function` for each function of a stack.yml, deployed onto `platform`."""
    try:
        stack = parse(path, env)
    except StackYmlError as exc:
        for warning in exc.warnings:
            pulumi.log.warn(warning)
        raise
    for warning in stack.warnings:
        pulumi.log.warn(warning)
    return [Function(d.name, d.args, platform) for d in stack.functions]


def summary(declaration: FunctionDeclaration, edition: str | None = None) -> str:
    """`NAME IMAGE min=N max=N`; an unset max is the default the Function writes (20, or 5 on CE)."""
    scale = declaration.args.scale
    maximum = scale.max if scale.max is not None else default_max_replicas(edition or EDITION_PRO)
    return f"{declaration.name} {declaration.image or '-'} min={scale.replicas} max={maximum}"


def edition_line(edition: str) -> str:
    """The line `check` starts with: the edition whose limits were checked."""
    if edition == EDITION_CE:
        return (f"edition: ce (OpenFaaS CE limits checked: at most {CE_MAX_FUNCTIONS} functions and "
                f"{CE_MAX_REPLICAS} replicas; --edition pro to lift them)")
    return "edition: pro (no CE limits checked)"


def _print_problems(errors: list[str], warnings: list[str]) -> None:
    """Errors, then warnings, on stderr."""
    for line in errors + warnings:
        print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faasplane.components.function.stackyml",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a stack.yml and list its functions")
    check.add_argument("file", help="the stack.yml to check")
    check.add_argument("--edition", choices=(EDITION_CE, EDITION_PRO), default=EDITION_CE,
                       help="the edition whose limits are checked (default: ce, faasplane's default edition)")
    args = parser.parse_args(argv)
    print(edition_line(args.edition))
    try:
        stack = parse(args.file, display=args.file)
    except StackYmlError as exc:
        _print_problems(exc.problems, exc.warnings)
        return 2
    problems = check_edition(stack, args.edition, args.file)
    _print_problems(problems, stack.warnings)
    if problems:
        return 2
    for declaration in stack.functions:
        print(summary(declaration, args.edition))
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["FunctionDeclaration", "Problem", "StackFile", "StackYmlError", "declare", "main", "parse"]
