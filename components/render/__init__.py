"""Offline render: run the stack's program under the mock engine and write what it would deploy.

    python -m faasplane.components.render --stack dev --out DIR

writes `DIR/manifests/<namespace or _cluster>/<kind>-<name>.yaml` (one file per Kubernetes object,
exactly the inputs Pulumi would send, secret values redacted) and the monitoring configuration
(`DIR/prometheus/prometheus.yml`, `DIR/prometheus/rules.yml`, `DIR/alertmanager/alertmanager.yml`).
Invalid configuration exits with code 2 and the error on stderr.
"""

from __future__ import annotations

import argparse
import runpy
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from faasplane.components import names
from faasplane.components.config import deep_merge
from faasplane.components.render.mock_engine import REDACTED, Rendered, run_program

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "__main__.py"
STACKS_DIR = ROOT / "stacks"
ADMIN_PASSWORD_KEY = f"{names.PROJECT}:adminPassword"
RENDER_ADMIN_PASSWORD = "placeholder-of-the-render"  # noqa: S105 (a placeholder, redacted in every output)

MONITORING_FILES = {
    "prometheus.yml": "prometheus/prometheus.yml",
    "rules.yml": "prometheus/rules.yml",
    "alertmanager.yml": "alertmanager/alertmanager.yml",
}
"""ConfigMap data keys whose contents are also written as files of their own."""


class StackFileError(Exception):
    """A stack file is missing or is not a Pulumi stack file."""


def stack_file(stack: str, stacks_dir: Path = STACKS_DIR) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def read_stack_config(stack: str, stacks_dir: Path = STACKS_DIR) -> tuple[dict[str, Any], list[str]]:
    """The `config:` map of `stacks/Pulumi.<stack>.yaml` and the keys that hold secrets.

    Encrypted (`secure:`) values cannot be read without the stack's passphrase; they are replaced by
    a placeholder and kept marked as secrets, which is all a render needs.
    """
    path = stack_file(stack, stacks_dir)
    if not path.is_file():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stacks_dir.glob("Pulumi.*.yaml"))
        raise StackFileError(f"{path}: no such stack file; stacks: {', '.join(known) or 'none'}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise StackFileError(f"{path}: expected a mapping with a 'config' mapping")
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = f"{REDACTED}-{key}"
            secret_keys.append(key)
        else:
            config[key] = value
    return config, secret_keys


def render_stack(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    stacks_dir: Path = STACKS_DIR,
    extra_secret_keys: list[str] | None = None,
) -> Rendered:
    """Run `__main__.py` with the stack's config (plus overrides) under the mock engine.

    An override that is a mapping is merged into the stack file's mapping of that key, key by key
    (`{"faasplane:gateway": {"replicas": 3}}` keeps the stack's exposure); any other value replaces it.
    """
    config, secret_keys = read_stack_config(stack, stacks_dir)
    config = deep_merge(config, overrides or {})
    secret_keys.extend(extra_secret_keys or [])
    if ADMIN_PASSWORD_KEY not in config:
        # The stack's own password is encrypted (or set on the user's machine only): the render needs one.
        config[ADMIN_PASSWORD_KEY] = RENDER_ADMIN_PASSWORD
        secret_keys.append(ADMIN_PASSWORD_KEY)
    return run_program(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        config,
        stack=stack,
        secret_keys=secret_keys,
    )


def object_path(obj: Mapping[str, Any]) -> Path:
    metadata = obj.get("metadata") or {}
    folder = metadata.get("namespace") or "_cluster"
    return Path("manifests") / folder / f"{obj['kind'].lower()}-{metadata['name']}.yaml"


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)


def write_render(rendered: Rendered, out: Path) -> list[Path]:
    """Write one file per object and the monitoring files; returns the written paths."""
    if out.exists():
        shutil.rmtree(out / "manifests", ignore_errors=True)
    written: list[Path] = []
    for obj in rendered.kubernetes_objects():
        path = out / object_path(obj)
        if path in written:
            raise ValueError(f"two objects render to {path}: {obj['kind']} names must be unique per namespace")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(obj))
        written.append(path)
        if obj["kind"] == "ConfigMap":
            for key, target in MONITORING_FILES.items():
                if key in (obj.get("data") or {}):
                    file = out / target
                    file.parent.mkdir(parents=True, exist_ok=True)
                    file.write_text(obj["data"][key])
                    written.append(file)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faasplane.components.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads stacks/Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=YAML",
        help="override one config value, e.g. --set 'faasplane:prometheus={scrapeInterval: 1s}'; a mapping is "
             "merged into the stack file's mapping key by key, any other value replaces it",
    )
    args = parser.parse_args(argv)
    from faasplane.components.errors import UserError

    overrides: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"--set {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        if ":" not in key:
            key = f"{names.PROJECT}:{key}"
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            print(f"--set {item!r}: the value is not valid YAML: {exc}", file=sys.stderr)
            return 2
    try:
        rendered = render_stack(args.stack, overrides)
    except StackFileError as exc:
        print(exc, file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"{stack_file(args.stack)}: {exc}", file=sys.stderr)
        return 2
    written = write_render(rendered, args.out)
    manifests = sum(1 for path in written if "manifests" in path.parts)
    print(f"rendered stack {args.stack}: {manifests} Kubernetes objects in {args.out / 'manifests'}")
    return 0

