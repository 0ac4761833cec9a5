"""The real tools faasplane builds from Go modules (`make tools`) and where they are found.

Everything here is standard library only, so `python3 -m scripts.tools` runs before any virtualenv exists.
The tools live outside the repository, in `$FAASPLANE_TOOLS` (default `~/.cache/faasplane/tools`), with
every binary linked into its `bin/`; nothing is vendored into the repository.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PINS_FILE = Path(__file__).resolve().parent / "pins.toml"
ENV_VAR = "FAASPLANE_TOOLS"


def home() -> Path:
    """The tools cache: `$FAASPLANE_TOOLS`, or `~/.cache/faasplane/tools`."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "faasplane" / "tools"


def bin_dir() -> Path:
    return home() / "bin"


def find(name: str) -> Path | None:
    """The tools-built binary `name`, or None when `make tools` has not built it."""
    path = bin_dir() / name
    return path if path.exists() and os.access(path, os.X_OK) else None


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


def missing_message(names: list[str]) -> str:
    """What to do when tools are missing (the same advice make up gives for its tools)."""
    system = "" if in_ci() else (
        "; outside CI the Debian packages prometheus and prometheus-alertmanager can stand in (older versions)"
    )
    return (f"{', '.join(names)} not found: run `make tools` (builds the deployed versions into {home()}, "
            f"needs Go 1.24+){system}")
