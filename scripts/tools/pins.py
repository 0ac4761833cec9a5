"""The pin file (`scripts/tools/pins.toml`) as typed data, with versions derived from deployed images."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.tools import PINS_FILE, ROOT

BUILD_TIERS = ("engine", "monitoring", "queue", "cluster")
"""Every build tier (`make tools TIERS=...`), in build order (the engine first: everything else builds on it).
Not the test tiers of tests/tiers.py, which add unit, functions and e2e_kind."""

FIELDS = {
    "tier", "licence", "module", "version", "version_from", "binaries", "requires", "replaces", "tags",
    "ldflags", "cgo", "files", "prepare", "post", "plugin", "env", "release", "excludes", "tidy",
    "stand_ins", "recipe",
}


class PinError(Exception):
    """The pin file is wrong; the message names the tool and the key."""


@dataclass(frozen=True)
class Tool:
    name: str
    tier: str
    licence: str
    module: str
    version: str
    """The Go module version (`v0.305.0` for Prometheus 3.5.0)."""
    release: str
    """The release version the binaries report (`3.5.0`)."""
    binaries: dict[str, str]
    requires: dict[str, str] = field(default_factory=dict)
    replaces: dict[str, str] = field(default_factory=dict)
    excludes: tuple[str, ...] = ()
    tidy: bool = True
    stand_ins: tuple[dict[str, Any], ...] = ()
    """Local modules standing in for dependencies the proxy refuses (see the docker-build pin)."""
    tags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    cgo: bool = False
    files: dict[str, str] = field(default_factory=dict)
    prepare: str | None = None
    post: str | None = None
    plugin: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    recipe: str | None = None
    """A step of scripts/tools/recipes.py that builds the whole tool (no Go module: `binaries` names what it
    writes, `module` and `version` are absent)."""
    entry: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The entry as written in the pin file (what the fingerprint hashes, with the resolved version)."""

    def expand(self, text: str) -> str:
        minor = self.release.split(".")[1] if self.release.count(".") >= 1 else ""
        return text.replace("{version}", self.version).replace("{release}", self.release).replace("{minor}", minor)

    @property
    def fingerprint(self) -> str:
        """A short hash of everything that shapes the build: a changed pin rebuilds, an unchanged one doesn't."""
        data = {k: v for k, v in self.entry.items() if k not in ("tier", "licence")}
        data["resolved"] = [self.version, self.release]
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=list).encode())
        if self.prepare or self.post or self.recipe:
            from scripts.tools import recipes

            for step in filter(None, (self.prepare, self.post, self.recipe)):
                # The step's own code (not the whole file: editing one recipe rebuilds only its tool).
                function = getattr(recipes, step, None)
                digest.update(inspect.getsource(function).encode() if function else step.encode())
                inputs = getattr(recipes, f"{step}_inputs", None)
                if inputs is not None:
                    digest.update(inputs())
        return digest.hexdigest()[:10]


@functools.cache
def _images() -> Any:
    """`components/images.py`, loaded on its own (standard library only, no Pulumi import), once per process."""
    spec = importlib.util.spec_from_file_location("faasplane_images", ROOT / "components" / "images.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


def image_tag(reference: str) -> str:
    """The tag of an image reference (`prom/prometheus:v3.5.0@sha256:...` -> `v3.5.0`)."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        raise PinError(f"image {reference!r} has no tag to take a version from")
    return last.rsplit(":", 1)[1]


def version_from_image(source: str) -> tuple[str, str]:
    """(module version, release) for `version_from = "TABLE:KEY[:scheme]"` in components/images.py.

    The `prometheus3` scheme maps Prometheus 3.x.y to the module version v0.3xx.y that Prometheus
    publishes its Go module under; the default maps a tag `1.2.3`/`v1.2.3` to `v1.2.3`.
    """
    table, _, rest = source.partition(":")
    key, _, scheme = rest.partition(":")
    images = getattr(_images(), table, None)
    if not isinstance(images, dict) or key not in images:
        raise PinError(f"version_from {source!r}: no image {key!r} in components/images.py {table}")
    tag = image_tag(images[key])
    match = _SEMVER.match(tag)
    if not match:
        raise PinError(f"version_from {source!r}: tag {tag!r} is not a version")
    major, minor, patch = (int(part) for part in match.groups())
    release = f"{major}.{minor}.{patch}"
    if scheme == "prometheus3":
        if major != 3:
            raise PinError(f"version_from {source!r}: the prometheus3 scheme needs a 3.x tag, not {tag!r}")
        return f"v0.{300 + minor}.{patch}", release
    if scheme:
        raise PinError(f"version_from {source!r}: unknown scheme {scheme!r}")
    return f"v{release}", release


def _tool(name: str, entry: dict[str, Any]) -> Tool:
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        raise PinError(f"{PINS_FILE.name}: tools.{name}: unknown keys {unknown}; expected some of {sorted(FIELDS)}")
    recipe = entry.get("recipe")
    for key in ("tier", "licence", "binaries") if recipe else ("tier", "licence", "module", "binaries"):
        if key not in entry:
            raise PinError(f"{PINS_FILE.name}: tools.{name}: missing {key!r}")
    if entry["tier"] not in BUILD_TIERS:
        raise PinError(f"{PINS_FILE.name}: tools.{name}.tier: {entry['tier']!r} is not one of {BUILD_TIERS}")
    if recipe:
        built_by_go = sorted(set(entry) & {"module", "version", "version_from", "requires", "replaces", "excludes",
                                           "tags", "ldflags", "cgo", "files", "prepare", "stand_ins", "tidy"})
        if built_by_go:
            raise PinError(f"{PINS_FILE.name}: tools.{name}: a recipe tool takes none of {built_by_go}")
    elif ("version" in entry) == ("version_from" in entry):
        raise PinError(f"{PINS_FILE.name}: tools.{name}: give exactly one of 'version' and 'version_from'")
    if recipe:
        version, release = "local", entry.get("release", "local")
    elif "version_from" in entry:
        version, release = version_from_image(entry["version_from"])
    else:
        version = entry["version"]
        release = entry.get("release") or version.removeprefix("v")
    return Tool(
        name=name,
        tier=entry["tier"],
        licence=entry["licence"],
        module=entry.get("module", ""),
        version=version,
        release=release,
        binaries=dict(entry["binaries"]),
        requires=dict(entry.get("requires", {})),
        replaces=dict(entry.get("replaces", {})),
        excludes=tuple(entry.get("excludes", ())),
        tidy=bool(entry.get("tidy", True)),
        stand_ins=tuple(entry.get("stand_ins", ())),
        tags=tuple(entry.get("tags", ())),
        ldflags=tuple(entry.get("ldflags", ())),
        cgo=bool(entry.get("cgo", False)),
        files=dict(entry.get("files", {})),
        prepare=entry.get("prepare"),
        post=entry.get("post"),
        plugin=entry.get("plugin"),
        env=dict(entry.get("env", {})),
        recipe=recipe,
        entry=dict(entry),
    )


def load(path: Path = PINS_FILE) -> list[Tool]:
    """Every pinned tool, in tier order, then file order."""
    try:
        document = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise PinError(f"{path}: not valid TOML: {error}") from None
    tools = [_tool(name, entry) for name, entry in document.get("tools", {}).items()]
    return sorted(tools, key=lambda tool: BUILD_TIERS.index(tool.tier))
