"""The real tools faasplane builds from Go modules (`make tools`) and where they are found.

Everything here is standard library only, so `python3 -m scripts.tools` runs before any virtualenv exists.
The tools live outside the repository, in `$FAASPLANE_TOOLS` (default `~/.cache/faasplane/tools`), with
every binary linked into its `bin/`; nothing is vendored into the repository.
"""

from __future__ import annotations

import os
import shutil
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


def find_or_system(name: str) -> tuple[Path | None, str]:
    """The tools-built binary, else the one on PATH; and which it is ("tools" or "system")."""
    built = find(name)
    if built is not None:
        return built, "tools"
    system = shutil.which(name)
    return (Path(system), "system") if system else (None, "")
