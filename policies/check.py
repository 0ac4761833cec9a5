"""Run the policy pack over an offline render, without the Pulumi CLI or a cluster.

    python -m faasplane.policies.check DIR [--config FILE]

DIR is a directory written by `python -m faasplane.components.render` (`DIR/manifests/<namespace>/<kind>-<name>.yaml`,
one object per file). Every manifest becomes the resource Pulumi would hand the policies: its type
`kubernetes:<group or core>/<version>:<Kind>` and its camelCase object as props. The same validators as
the pack (`faasplane.policies.rules`) run over them, with the same configuration file format as
`pulumi preview --policy-pack-config FILE`.

Prints a table of violations (policy, enforcement, resource, message). Exit codes: 0 when no mandatory
policy is violated (advisory findings are printed but do not fail), 1 when one is, 2 when DIR or the
config file cannot be used, 3 when a validator crashes (a bug in the pack, never a pass).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from faasplane.components import names
from faasplane.policies import kube
from faasplane.policies.rules import PACK_NAME, POLICIES, PolicySpec

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2
EXIT_POLICY_ERROR = 3

MANIFESTS = "manifests"
ALL = "all"
"""The config key that sets the enforcement level of every policy (as in Pulumi's config files)."""
LEVELS = {level.value: level for level in EnforcementLevel}
STACK = "(stack)"


class InputError(Exception):
    """DIR or the config file cannot be used; the message says which file and why."""


class PolicyError(Exception):
    """A validator raised: a bug in the pack, not a finding about the stack."""


# --- the render ----------------------------------------------------------------------------------


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )


def urn_for(type_token: str, obj: Mapping[str, Any], stack: str = "render") -> str:
    """A URN for an object of a render (the Pulumi resource name is not in a manifest: `namespace/name`)."""
    namespace = kube.namespace_of(obj)
    name = f"{namespace}/{kube.name_of(obj)}" if namespace else kube.name_of(obj)
    return f"urn:pulumi:{stack}::{names.PROJECT}::{type_token}::{name}"


def as_resource(obj: Mapping[str, Any], stack: str = "render") -> PolicyResource:
    """The resource Pulumi would hand a policy for one Kubernetes object."""
    type_token = kube.type_token(str(obj["apiVersion"]), str(obj["kind"]))
    urn = urn_for(type_token, obj, stack)
    return PolicyResource(
        resource_type=type_token,
        props=obj,
        urn=urn,
        name=urn.rsplit("::", 1)[1],
        opts=_options(),
        provider=None,
        parent=None,
        dependencies=[],
        property_dependencies={},
    )


def load_render(directory: Path) -> list[PolicyResource]:
    """Every manifest under `DIR/manifests` as a policy resource, in a stable order."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory (expected the output of python -m faasplane.components.render)")
    manifests = directory / MANIFESTS
    if not manifests.is_dir():
        raise InputError(
            f"{directory}: no {MANIFESTS}/ directory (expected the output of python -m faasplane.components.render)"
        )
    files = sorted(p for p in manifests.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise InputError(f"{manifests}: no manifests (*.yaml)")
    resources = []
    for path in files:
        try:
            documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InputError(f"{path}: cannot read it as YAML: {str(exc).splitlines()[0]}") from None
        for document in documents:
            if not isinstance(document, dict) or not document.get("apiVersion") or not document.get("kind"):
                raise InputError(f"{path}: not a Kubernetes object (apiVersion and kind are required)")
            if not kube.name_of(document):
                raise InputError(f"{path}: {document['kind']} has no metadata.name")
            resources.append(as_resource(document, directory.name or "render"))
    return resources


# --- the configuration ---------------------------------------------------------------------------


@dataclass
class PackConfig:
    """Enforcement levels and properties per policy, as `--policy-pack-config` gives them."""

    levels: dict[str, EnforcementLevel] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    all_level: EnforcementLevel | None = None

    def level(self, spec: PolicySpec) -> EnforcementLevel:
        level = self.levels.get(spec.name) or self.all_level or spec.enforcement
        # pulumi-policy reports a remediate policy's remaining violations as mandatory.
        return EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level

    def settings(self, spec: PolicySpec) -> dict[str, Any]:
        values = {key: prop["default"] for key, prop in spec.config.items() if "default" in prop}
        values.update(self.properties.get(spec.name, {}))
        return values


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def schema_errors(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """The JSON Schema keywords the pack's config schemas use: type, enum, minimum, maximum, pattern, items."""
    expected = schema.get("type")
    if expected:
        types = _JSON_TYPES[expected]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            return [f"{where}: {json.dumps(value)} is not of type {expected}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {json.dumps(value)} is not one of {schema['enum']}")
    if "minimum" in schema and isinstance(value, int | float) and value < schema["minimum"]:
        errors.append(f"{where}: {value} is below the minimum {schema['minimum']}")
    if "maximum" in schema and isinstance(value, int | float) and value > schema["maximum"]:
        errors.append(f"{where}: {value} is above the maximum {schema['maximum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if "items" in schema and isinstance(value, list):
        for index, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{where}[{index}]")
    return errors


def parse_config(data: Any, source: str = "config") -> PackConfig:
    """Validate a pack configuration (the JSON of `pulumi preview --policy-pack-config`).

    Stricter than the Pulumi CLI on purpose: an unknown policy name or property is an error here, so a
    typo cannot silently leave a policy at its default.
    """
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a JSON object mapping policy names to settings")
    by_name = {spec.name: spec for spec in POLICIES}
    config = PackConfig()
    errors: list[str] = []
    for key, value in data.items():
        if key != ALL and key not in by_name:
            errors.append(f"{key}: unknown policy; expected {ALL} or one of {', '.join(by_name)}")
            continue
        if isinstance(value, str):
            level, properties = value, {}
        elif isinstance(value, dict):
            properties = dict(value)
            level = properties.pop("enforcementLevel", None)
        else:
            errors.append(f"{key}: {json.dumps(value)} is not an enforcement level or an object")
            continue
        if level is not None:
            if level not in LEVELS:
                errors.append(f"{key}: enforcementLevel {level!r} is not one of {', '.join(LEVELS)}")
            elif key == ALL:
                config.all_level = LEVELS[level]
            else:
                config.levels[key] = LEVELS[level]
        if key == ALL:
            if properties:
                errors.append(f"{ALL}: only enforcementLevel may be set for all policies")
            continue
        schema = by_name[key].config
        for prop, prop_value in properties.items():
            if prop not in schema:
                known = ", ".join(schema) or "none"
                errors.append(f"{key}.{prop}: unknown property; this policy's properties: {known}")
            else:
                errors += schema_errors(prop_value, schema[prop], f"{key}.{prop}")
        config.properties[key] = {p: v for p, v in properties.items() if p in schema}
    if errors:
        raise InputError(f"{source}: invalid policy pack configuration:\n" + "\n".join(f"  {e}" for e in errors))
    return config


def load_config(path: Path | None) -> PackConfig:
    if path is None:
        return PackConfig()
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    if not text.strip():
        return PackConfig()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from None
    return parse_config(data, str(path))


# --- evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: EnforcementLevel
    resource: str
    message: str
    urn: str = ""

    @property
    def mandatory(self) -> bool:
        return self.enforcement == EnforcementLevel.MANDATORY


def display(resource: PolicyResource) -> str:
    return kube.describe(kube.kind_of(resource.resource_type), resource.props)


def _reporter(found: list[Violation], policy: str, level: EnforcementLevel, labels: Mapping[str, str],
              default_urn: str | None = None) -> Any:
    """A `report_violation` that records into `found` (resource policies report against `default_urn`)."""

    def report_violation(message: str, urn: str | None = None) -> None:
        target = default_urn or urn or ""
        found.append(Violation(policy, level, labels.get(target, STACK), message, target))

    return report_violation


def evaluate(resources: Sequence[PolicyResource], config: PackConfig | None = None) -> list[Violation]:
    """Run every enabled policy over the resources, as the Pulumi engine would."""
    config = config or PackConfig()
    labels = {resource.urn: display(resource) for resource in resources}
    found: list[Violation] = []
    for spec in POLICIES:
        level = config.level(spec)
        if level == EnforcementLevel.DISABLED:
            continue
        settings = config.settings(spec)
        if spec.scope == "resource":
            for resource in resources:
                args = ResourceValidationArgs(
                    resource.resource_type, resource.props, resource.urn, resource.name, resource.opts,
                    resource.provider, settings,
                )
                _validate(spec, args, _reporter(found, spec.name, level, labels, resource.urn), labels[resource.urn])
        else:
            args = StackValidationArgs(list(resources), settings)
            _validate(spec, args, _reporter(found, spec.name, level, labels), STACK)
    return found


def _validate(spec: PolicySpec, args: Any, report: Any, subject: str) -> None:
    try:
        spec.validate(args, report)
    except Exception as exc:
        raise PolicyError(f"policy {spec.name} failed on {subject}: {type(exc).__name__}: {exc}") from exc


def format_table(violations: Sequence[Violation]) -> str:
    rows = [("POLICY", "ENFORCEMENT", "RESOURCE", "MESSAGE")]
    ordered = sorted(
        violations,
        key=lambda v: (not v.mandatory, [s.name for s in POLICIES].index(v.policy), v.resource),
    )
    rows += [(v.policy, v.enforcement.value, v.resource, v.message) for v in ordered]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] for row in rows
    )


FIXES = {
    "pinned-images": (
        "pin the images by digest, on a machine that reaches their registries: "
        "uv run --frozen python scripts/pin-images.py --stack STACK prints the "
        "`pulumi config set --path faasplane:images.<key> <image>@sha256:<digest>` commands (it needs "
        "docker buildx or crane) and --apply runs them (it needs the Pulumi CLI); or set those keys yourself"
    ),
}
"""What to do about a policy's mandatory findings, where one step fixes them all."""


def run(directory: Path, config_path: Path | None = None, out: Any = None) -> int:
    """Check a render and print the report; returns the exit code."""
    out = out or sys.stdout
    resources = load_render(directory)
    config = load_config(config_path)
    violations = evaluate(resources, config)
    mandatory = sum(v.mandatory for v in violations)
    source = f" with {config_path}" if config_path else ""
    print(f"policy pack {PACK_NAME}: {len(POLICIES)} policies over {len(resources)} objects in {directory}{source}",
          file=out)
    if violations:
        print(format_table(violations), file=out)
    print(f"{len(violations)} violation(s): {mandatory} mandatory, {len(violations) - mandatory} advisory", file=out)
    for policy in sorted({v.policy for v in violations if v.mandatory and v.policy in FIXES}):
        print(f"to fix {policy}: {FIXES[policy]}", file=out)
    return EXIT_VIOLATIONS if mandatory else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m faasplane.policies.check", description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="output of python -m faasplane.components.render")
    parser.add_argument(
        "--config", type=Path, metavar="FILE",
        help="policy pack config (same JSON as pulumi preview --policy-pack-config), e.g. policies/config/prod.json",
    )
    args = parser.parse_args(argv)
    try:
        return run(args.directory, args.config)
    except InputError as exc:
        print(f"faasplane.policies.check: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PolicyError as exc:
        traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        print(f"faasplane.policies.check: {exc} (a bug in the policy pack, not a finding)", file=sys.stderr)
        return EXIT_POLICY_ERROR


if __name__ == "__main__":
    sys.exit(main())
