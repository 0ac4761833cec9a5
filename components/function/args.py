"""The typed arguments of a function (`FunctionArgs`, `Scale`, `Timeouts`, `ResourceSpec`) and their
validation: everything that can be checked without the platform, reported as `Problem`s that name the
field, the value and what was expected."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

import pulumi

from faasplane.components import names
from faasplane.components.config import Resources
from faasplane.components.formatting import format_number
from faasplane.components.function.errors import Problem, invalid
from faasplane.components.function.templating import available_templates, template
from faasplane.components.images import is_image_reference
from faasplane.components.quantities import quantity_value
from faasplane.scaler import labels as scale_labels
from faasplane.scaler.labels import MAX_TARGET

WATCHDOG_TIMEOUT_ENV = {"read": "read_timeout", "write": "write_timeout", "exec": "exec_timeout"}
"""`Timeouts` field -> the watchdog's environment variable."""

# Go's time.ParseDuration: one or more `<number><unit>`, the number with an optional fraction.
_GO_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)", re.ASCII)
_GO_DURATION_UNIT_NS = {
    "ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_GO_DURATION_MAX_NS = 2**63 - 1

DEFAULT_REQUESTS = {"cpu": "20m", "memory": "32Mi"}
DEFAULT_LIMITS = {"cpu": "500m", "memory": "128Mi"}

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_BUILD_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_go_duration(text: str) -> int:
    """Nanoseconds in a duration the watchdog reads, in the grammar of Go's `time.ParseDuration`: `30s`, `1.5s`,
    `1m30s`, `500ms`, `2h` (units ns, us, ms, s, m, h). Stricter than Go in two ways: no sign, and a bare number
    (which the watchdog reads as seconds) is refused, so every value names its unit. ValueError otherwise.

    `faasplane.components.config.duration_seconds` is Prometheus's grammar (days and weeks, whole numbers); the watchdog
    is a Go program, so its timeouts take Go's."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"{text!r} is not a Go duration")
    total, position = Fraction(0), 0
    for match in _GO_DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += Fraction(match.group(1)) * _GO_DURATION_UNIT_NS[match.group(2)]
        position = match.end()
    if position != len(text) or total > _GO_DURATION_MAX_NS:
        raise ValueError(f"{text!r} is not a Go duration")
    return math.floor(total)


def format_go_duration(nanoseconds: int) -> str:
    """A duration in the largest of s, ms, us and ns that writes it exactly: `65s`, `1500ms`."""
    for unit, size in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if nanoseconds % size == 0:
            return f"{nanoseconds // size}{unit}"
    return f"{nanoseconds}ns"


def as_text(value: Any) -> str:
    """A label, annotation, environment or build-arg value as Kubernetes takes it (booleans as true/false,
    whole floats without `.0`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_number(value)
    return str(value)


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
        return self.min if is_int(self.min) else scale_labels.DEFAULT_MIN

    def set_fields(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        limit = scale_labels.MAX_REPLICAS_LIMIT
        if self.min is not None and not (is_int(self.min) and 1 <= self.min <= limit):
            out.append(invalid("scale.min", self.min, f"an integer 1..{limit}"))
        if self.max is not None:
            low = self.replicas
            if not (is_int(self.max) and low <= self.max <= limit):
                out.append(invalid("scale.max", self.max, f"an integer >= scale.min ({low}) and <= {limit}"))
        elif is_int(self.min) and self.min > scale_labels.DEFAULT_MAX:
            out.append(
                Problem("scale.max", f"unset, so the scaler's default ({scale_labels.DEFAULT_MAX}) applies, below "
                                     f"scale.min ({self.min}): set scale.max")
            )
        if self.factor is not None and not (is_int(self.factor) and 1 <= self.factor <= 100):
            out.append(invalid("scale.factor", self.factor, "an integer 1..100 (percent of max added per step)"))
        if self.zero is not None and not isinstance(self.zero, bool):
            out.append(invalid("scale.zero", self.zero, "true or false"))
        for name in ("zero_duration", "down_window"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                if not isinstance(value, str):
                    raise ValueError
                seconds = scale_labels.parse_duration(value)
            except ValueError:
                out.append(invalid(f"scale.{name}", value, "a duration such as 30s, 15m or 1h30m"))
                continue
            if name == "zero_duration" and seconds < scale_labels.MIN_ZERO_DURATION_SECONDS:
                floor = scale_labels.format_duration(scale_labels.MIN_ZERO_DURATION_SECONDS)
                expected = (
                    f"at least {floor}: over a shorter window the idler sees too few Prometheus scrapes to tell "
                    f"that the function is idle (the scaler would use {floor})"
                )
                out.append(invalid("scale.zero_duration", value, expected))
        if self.type is not None and self.type not in scale_labels.SCALE_TYPES:
            out.append(invalid("scale.type", self.type, f"one of {', '.join(scale_labels.SCALE_TYPES)}"))
        if self.target is not None and not (_is_number(self.target) and 0 < self.target <= MAX_TARGET):
            expected = f"a number > 0 and <= {MAX_TARGET:.0f} (load per replica)"
            out.append(invalid("scale.target", self.target, expected))
        if self.target_proportion is not None and not (
            _is_number(self.target_proportion) and 0 < self.target_proportion <= 1
        ):
            out.append(invalid("scale.target_proportion", self.target_proportion, "a number in (0, 1]"))
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
                out[key] = format_number(value)
            else:
                out[key] = str(value)
        return out


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """The watchdog's timeouts (`read_timeout`, `write_timeout`, `exec_timeout`) as Go durations, e.g. "30s",
    "1m5s", "1.5s".

    A set `exec` also sets an unset `read` and `write` to its value: the watchdog's HTTP server stops writing
    the response at write_timeout and ends the call at read_timeout (Go cancels a request's context when the
    read deadline passes, golang/go#18447); both default to 30s in of-watchdog (10s before 0.9.11), so a
    longer exec alone would be cut short."""

    read: str | None = None
    write: str | None = None
    exec: str | None = None

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        nanoseconds: dict[str, int] = {}
        for name in WATCHDOG_TIMEOUT_ENV:
            value = getattr(self, name)
            if value is None:
                continue
            try:
                nanoseconds[name] = parse_go_duration(value)
            except ValueError:
                out.append(invalid(f"timeouts.{name}", value, "a duration such as 30s, 1m5s or 500ms"))
                continue
            if nanoseconds[name] <= 0:
                out.append(invalid(f"timeouts.{name}", value, "a duration above 0"))
        if "exec" in nanoseconds and "write" in nanoseconds and nanoseconds["exec"] > nanoseconds["write"]:
            out.append(
                invalid(
                    "timeouts.exec", self.exec,
                    f"at most timeouts.write ({self.write}): the watchdog stops writing the response at write",
                )
            )
        return out

    def seconds(self, name: str) -> float | None:
        """A timeout in seconds (None when unset)."""
        value = getattr(self, name)
        return None if value is None else parse_go_duration(value) / 1e9

    def effective(self) -> dict[str, str]:
        """The value of each timeout the watchdog is given, by field: the set ones, and `exec` for an unset
        `read` or `write` when `exec` is set."""
        values = {name: getattr(self, name) for name in WATCHDOG_TIMEOUT_ENV}
        if self.exec is not None:
            values = {name: self.exec if value is None else value for name, value in values.items()}
        return {name: value for name, value in values.items() if value is not None}

    def env(self) -> dict[str, str]:
        return {
            WATCHDOG_TIMEOUT_ENV[name]: format_go_duration(parse_go_duration(value))
            for name, value in self.effective().items()
        }


@dataclass(frozen=True, kw_only=True)
class ResourceSpec:
    """CPU and memory of a request or a limit; unset values take the defaults."""

    cpu: str | None = None
    memory: str | None = None


@dataclass(frozen=True, kw_only=True)
class FunctionArgs:
    """What a function is made of and how it runs. Either `handler` + `lang` (built from a template and
    pushed to the platform's registry as `image`, tagged by content hash) or a prebuilt `image_ref`."""

    handler: str | Path | None = None
    """Directory with the handler (relative paths are relative to the working directory)."""
    lang: str | None = None
    """Template name: one of the directories of `components/function/templates` (python3-http, golang-middleware,
    dockerfile)."""
    image: str | None = None
    """Repository in the platform's registry (default: the function name); the tag is a content hash."""
    image_ref: str | None = None
    """A prebuilt image reference (nothing is built); prefer a digest reference."""
    fprocess: str | None = None
    """The watchdog's process; default: the template's."""
    env: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    secrets: Sequence[str] | Mapping[str, pulumi.Input[str] | None] = ()
    """Secrets the function reads from /var/openfaas/secrets/<name>, as faas-cli mounts them: a list of the
    names of existing Secrets in the functions namespace, or a mapping of name to a Pulumi secret value
    (`config.require_secret("apiKey")`), for which the function creates the Secret (None: an existing one)."""
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
        requests = {k: as_text(v) for k, v in vars(self.requests).items() if v is not None}
        limits = {k: as_text(v) for k, v in vars(self.limits).items() if v is not None}
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
        # A field of the wrong type is reported once, here, and its contents are not looked into.
        shape = self._type_problems()
        out += shape
        wrong = {problem.field for problem in shape}
        out += self._source_problems(name, wrong)
        if "env" not in wrong:
            out += self._env_problems()
        if self.fprocess is not None and (not isinstance(self.fprocess, str) or not self.fprocess.strip()):
            out.append(invalid("fprocess", self.fprocess, "a non-empty command"))
        if "labels" not in wrong:
            out += _label_problems("labels", self.labels, reserved=True)
        if "annotations" not in wrong:
            out += _annotation_problems(self.annotations)
        if "secrets" not in wrong:
            out += self._secret_problems()
        out += self._resource_problems()
        if "constraints" not in wrong:
            out += self._constraint_problems()
        if not isinstance(self.read_only_root_filesystem, bool):
            out.append(invalid("read_only_root_filesystem", self.read_only_root_filesystem, "true or false"))
        if "scale" not in wrong:
            out += self.scale.problems()
        if "timeouts" not in wrong:
            out += self.timeouts.problems()
        return out

    def _type_problems(self) -> list[Problem]:
        """The fields that hold the wrong kind of value (a mapping where a list belongs, None, ...)."""
        checks: list[tuple[str, bool, str]] = [
            ("handler", self.handler is None or isinstance(self.handler, str | os.PathLike),
             "the path of the directory with the function's handler"),
            ("env", isinstance(self.env, Mapping), "a mapping of names to values"),
            ("secrets", _is_list(self.secrets) or isinstance(self.secrets, Mapping),
             "a list of Secret names, or a mapping of names to Pulumi secrets"),
            ("labels", isinstance(self.labels, Mapping), "a mapping of label keys to values"),
            ("annotations", isinstance(self.annotations, Mapping), "a mapping"),
            ("requests", isinstance(self.requests, ResourceSpec), "a ResourceSpec(cpu=..., memory=...)"),
            ("limits", isinstance(self.limits, ResourceSpec), "a ResourceSpec(cpu=..., memory=...)"),
            ("scale", isinstance(self.scale, Scale), "a Scale(...)"),
            ("constraints", isinstance(self.constraints, Mapping) or _is_list(self.constraints),
             "a mapping or a list of key=value strings"),
            ("timeouts", isinstance(self.timeouts, Timeouts), "a Timeouts(...)"),
            ("build_args", isinstance(self.build_args, Mapping), "a mapping of names to values"),
        ]
        return [invalid(name, getattr(self, name), expected) for name, ok, expected in checks if not ok]

    def _source_problems(self, name: str, wrong: set[str]) -> list[Problem]:
        out: list[Problem] = []
        if self.image_ref is not None:
            if not is_image_reference(self.image_ref):
                out.append(
                    invalid("image_ref", self.image_ref, "an image reference such as ghcr.io/org/fn@sha256:<digest>")
                )
            for other in ("handler", "image", "build_args"):
                if other not in wrong and getattr(self, other):
                    out.append(
                        Problem(other, "cannot be combined with image_ref (a prebuilt image): "
                                       f"drop {other} to deploy image_ref, or drop image_ref to build")
                    )
            if self.lang is not None and self.lang not in available_templates():
                out.append(invalid("lang", self.lang, f"one of {', '.join(available_templates())}"))
            return out
        for key, value in ({} if "build_args" in wrong else self.build_args).items():
            if not isinstance(key, str) or not _BUILD_ARG.match(key):
                out.append(invalid(f"build_args.{key}", key, "a build argument name (letters, digits, '_')"))
            elif not isinstance(value, str | int | float) or isinstance(value, bool):
                out.append(invalid(f"build_args.{key}", value, "a string"))
        if self.image is not None and (not isinstance(self.image, str) or not _REPOSITORY.match(self.image)):
            out.append(
                invalid("image", self.image, "a repository name such as 'sum' or 'team/sum' (no registry, no tag)")
            )
        if self.lang is None:
            out.append(Problem("lang", f"missing: expected one of {', '.join(available_templates())}, "
                                       "or give a prebuilt image_ref"))
        elif self.lang not in available_templates():
            out.append(invalid("lang", self.lang, f"one of {', '.join(available_templates())}"))
        if self.handler is None:
            out.append(Problem("handler", "missing: expected the directory with the function's handler"))
            return out
        if "handler" in wrong:
            return out
        handler = Path(self.handler)
        if not handler.is_dir():
            out.append(invalid("handler", str(self.handler), "an existing directory with the handler"))
        elif self.lang in available_templates():
            out += template(self.lang).handler_problems(handler)
        return out

    def _env_problems(self) -> list[Problem]:
        out: list[Problem] = []
        hints = {"fprocess": "fprocess"} | {env: f"timeouts.{name}" for name, env in WATCHDOG_TIMEOUT_ENV.items()}
        for key, value in self.env.items():
            if not isinstance(key, str) or not _ENV_NAME.match(key):
                out.append(
                    invalid(f"env.{key}", key, "an environment variable name (letters, digits, '_', '-', '.')")
                )
            elif key in hints:
                out.append(Problem(f"env.{key}", f"is set by the toolkit: use {hints[key]} instead"))
            elif not isinstance(value, str | int | float | bool):
                out.append(invalid(f"env.{key}", value, "a string, number or boolean"))
        return out

    def _secret_problems(self) -> list[Problem]:
        out: list[Problem] = []
        seen: set[str] = set()
        mapping = isinstance(self.secrets, Mapping)
        for index, secret in enumerate(self.secrets):
            where = f"secrets.{secret}" if mapping else f"secrets[{index}]"
            if not isinstance(secret, str) or len(secret) > 253 or not _DNS1123_SUBDOMAIN.match(secret):
                out.append(invalid(where, secret, "a Secret name (DNS-1123 subdomain)"))
            elif secret in seen:
                out.append(invalid(where, secret, "each Secret once"))
            seen.add(str(secret))
            if mapping:
                value = self.secrets[secret]  # type: ignore[index]
                if value is not None and not isinstance(value, pulumi.Output):
                    out.append(Problem(where, "is a plain-text value: give a Pulumi secret "
                                              "(config.require_secret(...) or pulumi.Output.secret(...)), or None to "
                                              "mount an existing Secret of that name"))
        return out

    def secret_values(self) -> dict[str, pulumi.Output[str]]:
        """The secrets this function creates: name -> its Pulumi secret value."""
        if not isinstance(self.secrets, Mapping):
            return {}
        return {name: value for name, value in self.secrets.items() if value is not None}

    def _resource_problems(self) -> list[Problem]:
        out: list[Problem] = []
        values: dict[str, float] = {}
        for kind in ("requests", "limits"):
            spec = getattr(self, kind)
            if not isinstance(spec, ResourceSpec):
                continue
            for key in ("cpu", "memory"):
                value = getattr(spec, key)
                if value is None:
                    continue
                try:
                    values[f"{kind}.{key}"] = quantity_value(value)
                except ValueError:
                    example = "100m or 0.5" if key == "cpu" else "128Mi or 1Gi"
                    out.append(invalid(f"{kind}.{key}", value, f"a Kubernetes quantity such as {example}"))
                    continue
                if values[f"{kind}.{key}"] <= 0:
                    out.append(invalid(f"{kind}.{key}", value, "a quantity above 0"))
        for key in ("cpu", "memory"):
            request, limit = values.get(f"requests.{key}"), values.get(f"limits.{key}")
            if request is not None and limit is not None and request > limit:
                out.append(
                    invalid(f"requests.{key}", as_text(getattr(self.requests, key)),
                            f"at most limits.{key} ({as_text(getattr(self.limits, key))})")
                )
        return out

    def _constraint_problems(self) -> list[Problem]:
        if not isinstance(self.constraints, Mapping):
            out = []
            for index, item in enumerate(self.constraints):
                if not isinstance(item, str) or "=" not in item or item.count("=") != 1:
                    out.append(invalid(f"constraints[{index}]", item, "a node label constraint key=value"))
            if out:
                return out
        return _label_problems("constraints", self.node_selector(), reserved=False)


def _is_list(value: Any) -> bool:
    """A list or tuple (any sequence but text)."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def name_problem(name: Any) -> Problem | None:
    """What is wrong with a function name (None when it is valid)."""
    if not isinstance(name, str) or len(name) > 63 or not _DNS1035_LABEL.match(name):
        return invalid(
            "name", name,
            "a DNS-1123 label that starts with a letter (lower-case letters, digits and '-', "
            "at most 63 characters): it names the Deployment and the Service",
        )
    return None


def _label_key_problem(where: str, key: Any) -> Problem | None:
    if not isinstance(key, str) or not key:
        return invalid(where, key, "a label key")
    prefix, _, name = key.rpartition("/")
    if (prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix))) or len(name) > 63 or not (
        _LABEL_NAME.match(name)
    ):
        return invalid(
            where, key, "a label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit",
        )
    return None


def _label_problems(kind: str, values: Mapping[str, Any], *, reserved: bool) -> list[Problem]:
    out: list[Problem] = []
    if not isinstance(values, Mapping):
        return [invalid(kind, values, "a mapping of label keys to values")]
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
            out.append(invalid(where, value, "a string"))
            continue
        text = as_text(value)
        if len(text) > 63 or not _LABEL_VALUE.match(text):
            out.append(
                invalid(where, text, "a label value: at most 63 letters, digits, '-', '_' or '.', "
                                     "starting and ending with a letter or digit")
            )
    return out


def _annotation_problems(values: Mapping[str, Any]) -> list[Problem]:
    if not isinstance(values, Mapping):
        return [invalid("annotations", values, "a mapping")]
    out: list[Problem] = []
    for key, value in values.items():
        problem = _label_key_problem(f"annotations.{key}", key)
        if problem:
            out.append(problem)
        elif not isinstance(value, str | int | float | bool):
            out.append(invalid(f"annotations.{key}", value, "a string"))
    return out

