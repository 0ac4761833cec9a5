"""The real tools faasplane builds from Go modules (`make tools`) and where they are found.

The package's importable modules are standard library only, so `python3 -m scripts.tools` runs before any
virtualenv exists (langhost.py, run by the Pulumi CLI from its own virtualenv, is the exception). The tools
live outside the repository, in `$FAASPLANE_TOOLS` (default `~/.cache/faasplane/tools`), with the binaries
and files a user runs linked into its `bin/` (not the provider plugins: the engine installs those into
PULUMI_HOME); nothing is vendored into the repository.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scripts.tools.pins import Tool

ROOT = Path(__file__).resolve().parents[2]
PINS_FILE = Path(__file__).resolve().parent / "pins.toml"
ENV_VAR = "FAASPLANE_TOOLS"
GO_MIN = (1, 26, 6)
"""The newest `go` line among the pinned modules' go.mod files: github.com/pulumi/pulumi/pkg/v3 v3.274.0 says
`go 1.26.6`; k8s.io/kubernetes v1.37.2, etcd v3.7.3, kwok v0.8.0 and pulumi-docker-build v0.0.22 say 1.26.0.
With GOTOOLCHAIN=local an older go cannot build them (and `go get -tool` itself needs 1.24)."""
GO_MIN_TEXT = "Go {}.{}.{}".format(*GO_MIN)


def home() -> Path:
    """The tools cache: `$FAASPLANE_TOOLS`, or `~/.cache/faasplane/tools`."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "faasplane" / "tools"


def bin_dir() -> Path:
    return home() / "bin"


def linked_names(tool: Tool) -> list[str]:
    """What `make tools` links into `bin/` for `tool`: its binaries and top-level files (not a plugin's)."""
    if tool.plugin:
        return []
    return [*tool.binaries, *(name for name in tool.files if "/" not in name)]  # data files stay put


@functools.cache
def _current_builds() -> dict[str, str] | None:
    """`bin/` name -> `<tool>/<version>-<fingerprint>`, the build the current pins ask for (None when the pin
    file does not load). Computed once per process."""
    from scripts.tools.pins import PinError, load

    try:
        tools = load()
    except PinError:
        return None
    return {name: f"{tool.name}/{tool.version}-{tool.fingerprint}" for tool in tools for name in linked_names(tool)}


def find(name: str) -> Path | None:
    """The tools-built binary `name`, or None when `make tools` has not built it for the current pins (a link
    left at an older build, after a pin changed, does not count)."""
    path = bin_dir() / name
    if not (path.exists() and os.access(path, os.X_OK)):
        return None
    builds = _current_builds()
    if builds is None or name not in builds:
        return None
    directory = home() / builds[name]
    if os.path.realpath(path) != os.path.realpath(directory / name) or not (directory / ".built").exists():
        return None
    return path


def stale(name: str) -> bool:
    """`bin/<name>` is there but not the build the current pins ask for."""
    path = bin_dir() / name
    return path.is_symlink() and find(name) is None


SYSTEM_NAMES = {"alertmanager": ("alertmanager", "prometheus-alertmanager")}
"""The names Debian's packages give a tool, where they differ from the upstream binary's."""
BUILT = "make tools"
SYSTEM = "system"


def in_ci() -> bool:
    """CI runs only the tools-built versions: the system's may stand in on a developer's machine alone."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Located:
    """A tool binary and where it comes from (`make tools`, or the system's package standing in)."""

    name: str
    path: Path
    origin: str

    @property
    def version(self) -> str:
        return _version(str(self.path))

    def describe(self) -> str:
        where = "built by make tools" if self.origin == BUILT else "the system's, standing in for the deployed version"
        return f"{self.name} {self.version} ({where}: {self.path})"


@functools.cache
def _version(path: str) -> str:
    try:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "unknown"
    match = re.search(r"\bv?(\d+\.\d+\.\d+)", (result.stdout + result.stderr).strip().split("\n")[0])
    return match.group(1) if match else "unknown"


def locate(name: str, *, allow_system: bool | None = None) -> Located | None:
    """The tools-built `name`; else (outside CI, unless `allow_system` says otherwise) the system's."""
    built = find(name)
    if built is not None:
        return Located(name, built, BUILT)
    if allow_system is None:
        allow_system = not in_ci()
    if allow_system:
        for candidate in SYSTEM_NAMES.get(name, (name,)):
            found = shutil.which(candidate)
            if found:
                return Located(name, Path(found), SYSTEM)
    return None


MONITORING_NAMES = ("prometheus", "promtool", "alertmanager", "amtool")
"""The tools Debian packages (prometheus, prometheus-alertmanager) can stand in for outside CI."""


def build_tiers_of(names: list[str]) -> list[str]:
    """The build tiers (`make tools TIERS=...`) whose pins make `names`, in build order; none for a name not
    pinned, or when the pin file does not load."""
    from scripts.tools.pins import BUILD_TIERS, PinError, load

    try:
        tools = load()
    except PinError:
        return []
    found = {tool.tier for tool in tools if set(names) & {*tool.binaries, *linked_names(tool)}}
    return [tier for tier in BUILD_TIERS if tier in found]


def make_tools_command(names: list[str]) -> str:
    """`make tools TIERS=...` building just what makes `names` (plain `make tools` when no pin names them)."""
    tiers = build_tiers_of(names)
    if not tiers:
        return "make tools"
    return f"make tools TIERS={tiers[0]}" if len(tiers) == 1 else f'make tools TIERS="{" ".join(tiers)}"'


def missing_message(names: list[str]) -> str:
    """What to do when tools are missing: build their tiers (and, outside CI, the Debian packages that may
    stand in for the monitoring tools)."""
    text = (f"{', '.join(names)} not found: run `{make_tools_command(names)}` (builds the deployed versions into "
            f"{home()}, needs {GO_MIN_TEXT} or later)")
    old = [name for name in names if stale(name)]
    if old:
        text += f"; {bin_dir()} holds an older build of {', '.join(old)} than scripts/tools/pins.toml asks for"
    if not in_ci() and set(names) & set(MONITORING_NAMES):
        text += "; outside CI the Debian packages prometheus and prometheus-alertmanager can stand in (older versions)"
    return text
