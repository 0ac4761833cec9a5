"""A function as a typed Pulumi resource: validated arguments, an image built from a template, and the
Deployment and Service faas-netes would have made for it.

    Function("sum", FunctionArgs(handler="functions/sum", lang="golang-middleware", scale=Scale(max=5)), platform)

Everything that can be checked without building or deploying is checked when the `Function` is
constructed, before anything is registered, so `pulumi preview` stops with a `FunctionError` naming the
function, the field, the value and what was expected.

The platform is either the `components.platform.Platform` component of the same program or a
`PlatformRef` (for an application team deploying onto a platform stack it does not own, see
`PlatformRef.from_stack_reference`). With a `PlatformRef` built from a stack reference the edition is
an output of the other stack: the edition's limits are then checked once that output is known (in
`pulumi preview` that is before anything is created, since stack outputs are read, not computed), by a
check the Deployment's inputs depend on; everything else is still checked at construction.
"""

from __future__ import annotations

import functools
import math
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import jinja2
import pulumi
import pulumi_docker_build as docker_build
import pulumi_kubernetes as kubernetes
import yaml

from components import build, k8s, names
from components.config import Resources, duration_seconds, go_duration
from components.errors import UserError
from components.images import TEMPLATE_IMAGES
from scaler import labels as scale_labels

if TYPE_CHECKING:
    from components.config import PlatformConfig

TYPE = f"{names.PROJECT}:function:Function"
ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
BUILD_DIR = ROOT / "build" / "functions"
"""Where build contexts are rendered: one stable directory per function, so an unchanged handler gives
the same content hash (same tag, same digest, no rollout)."""

HEALTH_PATH = "/_/health"
PORT_NAME = "http"
TMP_VOLUME = "tmp"
SCRAPE_ANNOTATION = "prometheus.io.scrape"
CE_REJECTED_SCALE_FIELDS = ("zero", "zero_duration", "target", "type")
"""Scale fields whose labels faas-netes CE rejects on deploy."""
MAX_TARGET = getattr(scale_labels, "MAX_TARGET", 1e9)
"""The largest `scale.target` the scaler reads (scaler/labels.py parses targets in (0, 1e9])."""
WATCHDOG_TIMEOUT_ENV = {"read": "read_timeout", "write": "write_timeout", "exec": "exec_timeout"}

DEFAULT_REQUESTS = {"cpu": "20m", "memory": "32Mi"}
DEFAULT_LIMITS = {"cpu": "500m", "memory": "128Mi"}

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_BUILD_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_IMAGE_REF = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?"  # registry host
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"  # path
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"  # tag, digest
)
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_QUANTITY_SCALE = {
    None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


# --- errors --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a declaration: the field (dotted, as in `FunctionArgs`) and the message."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class FunctionError(UserError):
    """A function declaration is invalid; one line per problem, each naming the function and the field."""

    def __init__(self, function: str, problems: Sequence[Problem]):
        self.function = function
        self.problems = list(problems)
        super().__init__("\n".join(f"function {function!r}: {problem}" for problem in self.problems))


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Path):
        return repr(str(value))
    return str(value)


def _invalid(field_name: str, value: Any, expected: str) -> Problem:
    return Problem(field_name, f"{_show(value)} is not valid: expected {expected}")


# --- typed arguments -----------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True, kw_only=True)
class Scale:
    """Scaling parameters, written as the `com.openfaas.scale.*` labels (`scaler/labels.py`).

    Unset fields write no label, so the scaler's documented defaults apply; `min` also sets the
    initial replica count (default 1)."""

    min: int | None = None
    max: int | None = None
    factor: int | None = None
    zero: bool | None = None
    zero_duration: str | None = None
    type: str | None = None
    target: float | None = None
    target_proportion: float | None = None
    down_window: str | None = None

    LABELS = {
        "min": scale_labels.SCALE_MIN,
        "max": scale_labels.SCALE_MAX,
        "factor": scale_labels.SCALE_FACTOR,
        "zero": scale_labels.SCALE_ZERO,
        "zero_duration": scale_labels.SCALE_ZERO_DURATION,
        "type": scale_labels.SCALE_TYPE,
        "target": scale_labels.SCALE_TARGET,
        "target_proportion": scale_labels.SCALE_TARGET_PROPORTION,
        "down_window": scale_labels.SCALE_DOWN_WINDOW,
    }

    @property
    def replicas(self) -> int:
        return self.min if _is_int(self.min) else scale_labels.DEFAULT_MIN

    def set_fields(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        limit = scale_labels.MAX_REPLICAS_LIMIT
        if self.min is not None and not (_is_int(self.min) and 1 <= self.min <= limit):
            out.append(_invalid("scale.min", self.min, f"an integer 1..{limit}"))
        if self.max is not None:
            low = self.replicas
            if not (_is_int(self.max) and low <= self.max <= limit):
                out.append(_invalid("scale.max", self.max, f"an integer >= scale.min ({low}) and <= {limit}"))
        elif _is_int(self.min) and self.min > scale_labels.DEFAULT_MAX:
            out.append(
                Problem("scale.max", f"unset, so the scaler's default ({scale_labels.DEFAULT_MAX}) applies, below "
                                     f"scale.min ({self.min}): set scale.max")
            )
        if self.factor is not None and not (_is_int(self.factor) and 1 <= self.factor <= 100):
            out.append(_invalid("scale.factor", self.factor, "an integer 1..100 (percent of max added per step)"))
        if self.zero is not None and not isinstance(self.zero, bool):
            out.append(_invalid("scale.zero", self.zero, "true or false"))
        for name in ("zero_duration", "down_window"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                if not isinstance(value, str):
                    raise ValueError
                scale_labels.parse_duration(value)
            except ValueError:
                out.append(_invalid(f"scale.{name}", value, "a duration such as 30s, 15m or 1h30m"))
        if self.type is not None and self.type not in scale_labels.SCALE_TYPES:
            out.append(_invalid("scale.type", self.type, f"one of {', '.join(scale_labels.SCALE_TYPES)}"))
        if self.target is not None and not (_is_number(self.target) and 0 < self.target <= MAX_TARGET):
            expected = f"a number > 0 and <= {MAX_TARGET:.0f} (load per replica)"
            out.append(_invalid("scale.target", self.target, expected))
        if self.target_proportion is not None and not (
            _is_number(self.target_proportion) and 0 < self.target_proportion <= 1
        ):
            out.append(_invalid("scale.target_proportion", self.target_proportion, "a number in (0, 1]"))
        return out

    def to_labels(self, default_max: pulumi.Input[int] | None = None) -> dict[str, pulumi.Input[str]]:
        """The labels; `min` always (the replica count faas-netes starts with), `max` always when a
        default is given (the platform's policy checks both on every function)."""
        out: dict[str, pulumi.Input[str]] = {}
        for name, key in self.LABELS.items():
            value = getattr(self, name)
            if name == "min":
                value = self.replicas
            elif name == "max" and value is None and default_max is not None:
                out[key] = pulumi.Output.from_input(default_max).apply(str) if isinstance(
                    default_max, pulumi.Output
                ) else str(default_max)
                continue
            if value is None:
                continue
            if isinstance(value, bool):
                out[key] = "true" if value else "false"
            elif isinstance(value, int | float):
                out[key] = _format_number(value)
            else:
                out[key] = str(value)
        return out


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """The watchdog's timeouts (`read_timeout`, `write_timeout`, `exec_timeout`), e.g. "30s", "1m5s"."""

    read: str | None = None
    write: str | None = None
    exec: str | None = None

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        seconds: dict[str, float] = {}
        for name in WATCHDOG_TIMEOUT_ENV:
            value = getattr(self, name)
            if value is None:
                continue
            try:
                if not isinstance(value, str):
                    raise ValueError
                seconds[name] = duration_seconds(value)
            except ValueError:
                out.append(_invalid(f"timeouts.{name}", value, "a duration such as 30s, 1m5s or 500ms"))
                continue
            if seconds[name] <= 0:
                out.append(_invalid(f"timeouts.{name}", value, "a duration above 0"))
        if "exec" in seconds and "write" in seconds and seconds["exec"] > seconds["write"]:
            out.append(
                _invalid(
                    "timeouts.exec", self.exec,
                    f"at most timeouts.write ({self.write}): the watchdog stops writing the response at write",
                )
            )
        return out

    def env(self) -> dict[str, str]:
        return {
            env: go_duration(getattr(self, name))
            for name, env in WATCHDOG_TIMEOUT_ENV.items()
            if getattr(self, name) is not None
        }


@dataclass(frozen=True, kw_only=True)
class ResourceSpec:
    """CPU and memory of a request or a limit; unset values take the defaults."""

    cpu: str | None = None
    memory: str | None = None


def quantity_value(value: Any) -> float:
    """The number a Kubernetes quantity stands for (`100m` is 0.1, `1Ki` is 1024); ValueError if none."""
    usable = isinstance(value, str | int | float) and not isinstance(value, bool)
    match = _QUANTITY.match(str(value)) if usable else None
    if not match:
        raise ValueError(f"{value!r} is not a quantity")
    return float(match.group(1)) * _QUANTITY_SCALE[match.group(2)]


@dataclass(frozen=True, kw_only=True)
class FunctionArgs:
    """What a function is made of and how it runs. Either `handler` + `lang` (built from a template and
    pushed to the platform's registry as `image`, tagged by content hash) or a prebuilt `image_ref`."""

    handler: str | Path | None = None
    """Directory with the handler (relative paths are relative to the working directory)."""
    lang: str | None = None
    """Template name: one of the directories of `components/templates` (python3-http, golang-middleware,
    dockerfile)."""
    image: str | None = None
    """Repository in the platform's registry (default: the function name); the tag is a content hash."""
    image_ref: str | None = None
    """A prebuilt image reference (nothing is built); prefer a digest reference."""
    fprocess: str | None = None
    """The watchdog's process; default: the template's."""
    env: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    secrets: Sequence[str] = ()
    """Kubernetes Secrets in the functions namespace, mounted at /var/openfaas/secrets/<key>."""
    labels: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    annotations: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    requests: ResourceSpec = ResourceSpec()
    limits: ResourceSpec = ResourceSpec()
    scale: Scale = Scale()
    read_only_root_filesystem: bool = True
    constraints: Mapping[str, str] | Sequence[str] = field(default_factory=dict)
    """Node selector, as a mapping or as faas-cli's `key=value` strings."""
    timeouts: Timeouts = Timeouts()
    build_args: Mapping[str, str] = field(default_factory=dict)

    # --- derived values ---

    @property
    def builds(self) -> bool:
        return self.image_ref is None

    def node_selector(self) -> dict[str, str]:
        if isinstance(self.constraints, Mapping):
            return {str(k): str(v) for k, v in self.constraints.items()}
        selector = {}
        for item in self.constraints:
            key, _, value = str(item).partition("=")
            selector[key.strip()] = value.strip()
        return selector

    def resources(self) -> Resources:
        requests = {k: _str(v) for k, v in vars(self.requests).items() if v is not None}
        limits = {k: _str(v) for k, v in vars(self.limits).items() if v is not None}
        for key in ("cpu", "memory"):
            if key not in requests:
                default = DEFAULT_REQUESTS[key]
                if key in limits and quantity_value(limits[key]) < quantity_value(default):
                    default = limits[key]
                requests[key] = default
            if key not in limits:
                default = DEFAULT_LIMITS[key]
                if quantity_value(requests[key]) > quantity_value(default):
                    default = requests[key]
                limits[key] = default
        return Resources.of(requests["cpu"], requests["memory"], limits["cpu"], limits["memory"])

    # --- validation ---

    def problems(self, name: str) -> list[Problem]:
        """Every problem that can be found without the platform (empty when there is none)."""
        out: list[Problem] = []
        problem = name_problem(name)
        if problem:
            out.append(problem)
        out += self._source_problems(name)
        out += self._env_problems()
        out += _label_problems("labels", self.labels, reserved=True)
        out += _annotation_problems(self.annotations)
        out += self._secret_problems()
        out += self._resource_problems()
        out += self._constraint_problems()
        if not isinstance(self.read_only_root_filesystem, bool):
            out.append(_invalid("read_only_root_filesystem", self.read_only_root_filesystem, "true or false"))
        out += self.scale.problems() if isinstance(self.scale, Scale) else [
            _invalid("scale", self.scale, "a Scale(...)")
        ]
        out += self.timeouts.problems() if isinstance(self.timeouts, Timeouts) else [
            _invalid("timeouts", self.timeouts, "a Timeouts(...)")
        ]
        return out

    def _source_problems(self, name: str) -> list[Problem]:
        out: list[Problem] = []
        if self.image_ref is not None:
            if not isinstance(self.image_ref, str) or not _IMAGE_REF.match(self.image_ref):
                out.append(
                    _invalid("image_ref", self.image_ref, "an image reference such as ghcr.io/org/fn@sha256:<digest>")
                )
            for other in ("handler", "image", "build_args"):
                if getattr(self, other):
                    out.append(
                        Problem(other, "cannot be combined with image_ref (a prebuilt image): "
                                       f"drop {other} to deploy image_ref, or drop image_ref to build")
                    )
            if self.lang is not None and self.lang not in available_templates():
                out.append(_invalid("lang", self.lang, f"one of {', '.join(available_templates())}"))
            return out
        for key, value in dict(self.build_args).items():
            if not isinstance(key, str) or not _BUILD_ARG.match(key):
                out.append(_invalid(f"build_args.{key}", key, "a build argument name (letters, digits, '_')"))
            elif not isinstance(value, str | int | float) or isinstance(value, bool):
                out.append(_invalid(f"build_args.{key}", value, "a string"))
        if self.image is not None and (not isinstance(self.image, str) or not _REPOSITORY.match(self.image)):
            out.append(
                _invalid("image", self.image, "a repository name such as 'sum' or 'team/sum' (no registry, no tag)")
            )
        if self.lang is None:
            out.append(Problem("lang", f"missing: expected one of {', '.join(available_templates())}, "
                                       "or give a prebuilt image_ref"))
        elif self.lang not in available_templates():
            out.append(_invalid("lang", self.lang, f"one of {', '.join(available_templates())}"))
        if self.handler is None:
            out.append(Problem("handler", "missing: expected the directory with the function's handler"))
            return out
        handler = Path(self.handler)
        if not handler.is_dir():
            out.append(_invalid("handler", str(self.handler), "an existing directory with the handler"))
        elif self.lang in available_templates():
            out += template(self.lang).handler_problems(handler)
        return out

    def _env_problems(self) -> list[Problem]:
        out: list[Problem] = []
        hints = {"fprocess": "fprocess"} | {env: f"timeouts.{name}" for name, env in WATCHDOG_TIMEOUT_ENV.items()}
        for key, value in dict(self.env).items():
            if not isinstance(key, str) or not _ENV_NAME.match(key):
                out.append(
                    _invalid(f"env.{key}", key, "an environment variable name (letters, digits, '_', '-', '.')")
                )
            elif key in hints:
                out.append(Problem(f"env.{key}", f"is set by the toolkit: use {hints[key]} instead"))
            elif not isinstance(value, str | int | float | bool):
                out.append(_invalid(f"env.{key}", value, "a string, number or boolean"))
        if self.fprocess is not None and (not isinstance(self.fprocess, str) or not self.fprocess.strip()):
            out.append(_invalid("fprocess", self.fprocess, "a non-empty command"))
        return out

    def _secret_problems(self) -> list[Problem]:
        out: list[Problem] = []
        if isinstance(self.secrets, str):
            return [_invalid("secrets", self.secrets, "a list of Secret names")]
        seen: set[str] = set()
        for index, secret in enumerate(self.secrets):
            if not isinstance(secret, str) or len(secret) > 253 or not _DNS1123_SUBDOMAIN.match(secret):
                out.append(_invalid(f"secrets[{index}]", secret, "a Secret name (DNS-1123 subdomain)"))
            elif secret in seen:
                out.append(_invalid(f"secrets[{index}]", secret, "each Secret once"))
            seen.add(str(secret))
        return out

    def _resource_problems(self) -> list[Problem]:
        out: list[Problem] = []
        values: dict[str, float] = {}
        for kind in ("requests", "limits"):
            spec = getattr(self, kind)
            if not isinstance(spec, ResourceSpec):
                out.append(_invalid(kind, spec, "a ResourceSpec(cpu=..., memory=...)"))
                continue
            for key in ("cpu", "memory"):
                value = getattr(spec, key)
                if value is None:
                    continue
                try:
                    values[f"{kind}.{key}"] = quantity_value(value)
                except ValueError:
                    example = "100m or 0.5" if key == "cpu" else "128Mi or 1Gi"
                    out.append(_invalid(f"{kind}.{key}", value, f"a Kubernetes quantity such as {example}"))
                    continue
                if values[f"{kind}.{key}"] <= 0:
                    out.append(_invalid(f"{kind}.{key}", value, "a quantity above 0"))
        for key in ("cpu", "memory"):
            request, limit = values.get(f"requests.{key}"), values.get(f"limits.{key}")
            if request is not None and limit is not None and request > limit:
                out.append(
                    _invalid(f"requests.{key}", _str(getattr(self.requests, key)),
                             f"at most limits.{key} ({_str(getattr(self.limits, key))})")
                )
        return out

    def _constraint_problems(self) -> list[Problem]:
        if isinstance(self.constraints, str):
            return [_invalid("constraints", self.constraints, "a mapping or a list of key=value strings")]
        if not isinstance(self.constraints, Mapping):
            out = []
            for index, item in enumerate(self.constraints):
                if not isinstance(item, str) or "=" not in item or item.count("=") != 1:
                    out.append(_invalid(f"constraints[{index}]", item, "a node label constraint key=value"))
            if out:
                return out
        return _label_problems("constraints", self.node_selector(), reserved=False)


def name_problem(name: Any) -> Problem | None:
    """What is wrong with a function name (None when it is valid)."""
    if not isinstance(name, str) or len(name) > 63 or not _DNS1035_LABEL.match(name):
        return _invalid(
            "name", name,
            "a DNS-1123 label that starts with a letter (lower-case letters, digits and '-', "
            "at most 63 characters): it names the Deployment and the Service",
        )
    return None


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _format_number(value)
    return str(value)


def _label_key_problem(where: str, key: Any) -> Problem | None:
    if not isinstance(key, str) or not key:
        return _invalid(where, key, "a label key")
    prefix, _, name = key.rpartition("/")
    if (prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix))) or len(name) > 63 or not (
        _LABEL_NAME.match(name)
    ):
        return _invalid(
            where, key, "a label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit",
        )
    return None


def _label_problems(kind: str, values: Mapping[str, Any], *, reserved: bool) -> list[Problem]:
    out: list[Problem] = []
    if not isinstance(values, Mapping):
        return [_invalid(kind, values, "a mapping of label keys to values")]
    for key, value in values.items():
        where = f"{kind}.{key}"
        problem = _label_key_problem(where, key)
        if problem:
            out.append(problem)
            continue
        if reserved and key == names.FUNCTION_LABEL:
            out.append(Problem(where, "is set by the toolkit to the function name"))
            continue
        if reserved and key.startswith(scale_labels.PREFIX):
            field_name = next((f for f, label in Scale.LABELS.items() if label == key), None)
            hint = f"scale.{field_name}" if field_name else "the scale fields"
            out.append(Problem(where, f"is a scaling label: use {hint} instead"))
            continue
        if not isinstance(value, str | int | float | bool):
            out.append(_invalid(where, value, "a string"))
            continue
        text = _str(value)
        if len(text) > 63 or not _LABEL_VALUE.match(text):
            out.append(
                _invalid(where, text, "a label value: at most 63 letters, digits, '-', '_' or '.', "
                                      "starting and ending with a letter or digit")
            )
    return out


def _annotation_problems(values: Mapping[str, Any]) -> list[Problem]:
    if not isinstance(values, Mapping):
        return [_invalid("annotations", values, "a mapping")]
    out: list[Problem] = []
    for key, value in values.items():
        problem = _label_key_problem(f"annotations.{key}", key)
        if problem:
            out.append(problem)
        elif not isinstance(value, str | int | float | bool):
            out.append(_invalid(f"annotations.{key}", value, "a string"))
    return out


# --- templates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandlerRequirement:
    file: str
    pattern: str | None
    expect: str


@dataclass(frozen=True)
class Template:
    """A language template: `components/templates/<name>/` with its `template.yml`."""

    name: str
    directory: Path
    fprocess: str | None
    requires: tuple[HandlerRequirement, ...]
    render_context: bool
    """False for `dockerfile`: the handler directory is the build context as is."""

    @property
    def skeleton(self) -> Path:
        return self.directory / "skeleton"

    def handler_problems(self, handler: Path) -> list[Problem]:
        out: list[Problem] = []
        for requirement in self.requires:
            path = handler / requirement.file
            if not path.is_file():
                out.append(
                    Problem("handler", f"{str(handler)!r} has no {requirement.file}: the {self.name} template "
                                       f"needs {requirement.expect}")
                )
                continue
            if requirement.pattern and not re.search(requirement.pattern, path.read_text(errors="replace"), re.M):
                out.append(
                    Problem("handler", f"{str(path)!r} does not define what the {self.name} template calls: "
                                       f"expected {requirement.expect}")
                )
        return out

    def files(self) -> list[Path]:
        """The template's own build files (not its metadata or handler skeleton)."""
        skip = {self.directory / "template.yml", self.skeleton}
        return [
            path for path in build.context_files(self.directory)
            if path not in skip and self.skeleton not in path.parents
        ]


@functools.cache
def available_templates() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in TEMPLATES_DIR.iterdir() if (p / "template.yml").is_file()))


@functools.cache
def template(name: str) -> Template:
    directory = TEMPLATES_DIR / name
    data = yaml.safe_load((directory / "template.yml").read_text()) or {}
    return Template(
        name=name,
        directory=directory,
        fprocess=data.get("fprocess"),
        requires=tuple(
            HandlerRequirement(item["file"], item.get("pattern"), item["expect"]) for item in data.get("requires", [])
        ),
        render_context=bool(data.get("render_context", True)),
    )


def template_parameters(function: str) -> dict[str, Any]:
    """What the `.j2` files of the templates and skeletons may use."""
    go = re.search(r":(\d+\.\d+)", TEMPLATE_IMAGES["golang"])
    return {
        "function": function,
        "images": dict(TEMPLATE_IMAGES),
        "uid": k8s.NON_ROOT_UID,
        "go_version": go.group(1) if go else "1.23",
    }


def render_template_file(path: Path, function: str) -> str:
    return _jinja().from_string(path.read_text()).render(**template_parameters(function))


def _jinja() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)  # noqa: S701


def render_build_context(name: str, tmpl: Template, handler: Path, destination: Path) -> Path:
    """Render the template (files ending `.j2` through jinja2) and overlay the handler into `function/`.

    Files are written only when their content changes and stale files are removed, so the directory is
    the same, byte for byte, for the same template and handler."""
    wanted: dict[Path, bytes] = {}
    for path in tmpl.files():
        relative = path.relative_to(tmpl.directory)
        if path.suffix == ".j2":
            wanted[relative.with_suffix("")] = render_template_file(path, name).encode()
        else:
            wanted[relative] = path.read_bytes()
    for path in build.context_files(handler):
        wanted[Path("function") / path.relative_to(handler)] = path.read_bytes()
    destination.mkdir(parents=True, exist_ok=True)
    for relative, content in wanted.items():
        target = destination / relative
        if not target.is_file() or target.read_bytes() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    for existing in sorted(destination.rglob("*"), reverse=True):
        relative = existing.relative_to(destination)
        if existing.is_file() and relative not in wanted:
            existing.unlink()
        elif existing.is_dir() and not any(existing.iterdir()):
            existing.rmdir()
    return destination


# --- the platform a function is deployed onto ----------------------------------------------------


class PlatformComponent(Protocol):
    """What `Function` reads from the `components.platform.Platform` component."""

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
    for key in ("min", "max"):
        value = getattr(scale, key)
        if _is_int(value) and value > names.CE_MAX_REPLICAS:
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
        value = getattr(timeouts, name)
        if value is not None and duration_seconds(value) > duration_seconds(upstream):
            out.append(
                f"timeouts.{name} {value} is longer than the gateway's upstreamTimeout {upstream}: synchronous "
                "calls end at the gateway first; raise faasplane:gateway upstreamTimeout (and writeTimeout)"
            )
    return out


# --- the resource --------------------------------------------------------------------------------


class Function(pulumi.ComponentResource):
    """A function deployed the way faas-netes deploys one, with its image built from a template."""

    function_name: str
    namespace: pulumi.Input[str]
    image_ref: pulumi.Output[str]
    image: docker_build.Image | None
    deployment: kubernetes.apps.v1.Deployment
    service: kubernetes.core.v1.Service

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
                _invalid("name", name, "a name not yet declared on this platform (function names are unique "
                                       "per namespace)")
            )
        position = len(declared) + 1
        if isinstance(target.edition, str):
            # A field that is already invalid is not reported a second time for the edition.
            invalid = {problem.field for problem in problems}
            problems += [p for p in edition_problems(name, args, target.edition, position) if p.field not in invalid]
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
        if args.image_ref is not None:
            self.image_ref = pulumi.Output.from_input(args.image_ref)
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
        self.annotations = {SCRAPE_ANNOTATION: "false"} | {k: _str(v) for k, v in args.annotations.items()}
        selector = {names.FUNCTION_LABEL: name}
        child = pulumi.ResourceOptions(parent=self, depends_on=target.depends_on or None)

        self.deployment = kubernetes.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.metadata(name, target.namespace, self.labels, annotations=self.annotations),
            spec=self._deployment_spec(name, args, tmpl, replicas, selector),
            opts=child,
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
        user = {k: _str(v) for k, v in args.labels.items()}
        return {names.FUNCTION_LABEL: name} | user | args.scale.to_labels(default_max)

    def _build(
        self, name: str, args: FunctionArgs, tmpl: Template, target: _Target
    ) -> tuple[docker_build.Image, pulumi.Output[str]]:
        handler = Path(args.handler)  # type: ignore[arg-type]
        context = render_build_context(name, tmpl, handler, BUILD_DIR / name) if tmpl.render_context else handler
        repository = args.image or name
        build_args = {k: _str(v) for k, v in args.build_args.items()}
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
        env |= {k: _str(v) for k, v in args.env.items()}
        volumes: list[dict[str, Any]] = []
        mounts: list[dict[str, Any]] = []
        if args.read_only_root_filesystem:
            volumes.append(k8s.empty_dir(TMP_VOLUME))
            mounts.append(k8s.mount(TMP_VOLUME, "/tmp"))
        if args.secrets:
            volume = f"{name}-projected-secrets"
            volumes.append(
                {"name": volume, "projected": {"sources": [{"secret": {"name": s}} for s in args.secrets]}}
            )
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
