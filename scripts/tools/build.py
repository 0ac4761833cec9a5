"""Build one pinned tool from the Go module proxy into the tools cache.

Each tool gets a wrapper module of its own (`$FAASPLANE_TOOLS/work/<tool>`): it requires the pinned
module (and its pinned siblings), carries the replace lines that the module's own go.mod has but `go get`
cannot follow, and declares the binaries' packages as `tool` directives. `go build` then writes the
binaries into `$FAASPLANE_TOOLS/<tool>/<version>-<fingerprint>/`, which is complete only once its
`.built` marker exists; `bin/` links to the current build, and older builds of the tool are deleted. A tool
with a `recipe` (the language host) is built by that step alone, without Go. Nothing outside the registries
is contacted. A whole run holds the cache's lock (`locked()`).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.tools import GO_MIN, GO_MIN_TEXT, bin_dir, home, linked_names
from scripts.tools.pins import Tool

GO_DOWNLOAD = "https://go.dev/dl"
LOG_TAIL = 25


class BuildError(Exception):
    """A tool could not be fetched or built; the message names the module, the version and the cause."""


@dataclass
class Built:
    tool: Tool
    directory: Path
    seconds: float
    cached: bool


@functools.cache
def _configured_goflags() -> str:
    """GOFLAGS as the user has it: the environment's, else what `go env -w` stored."""
    if "GOFLAGS" in os.environ:
        return os.environ["GOFLAGS"]
    go = shutil.which("go")
    if go is None:
        return ""
    try:
        result = subprocess.run([go, "env", "GOFLAGS"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def go_env() -> dict[str, str]:
    """The environment of every go command: module mode (added to the user's GOFLAGS), no toolchain download,
    the public proxy."""
    env = dict(os.environ)
    flags = [flag for flag in _configured_goflags().split() if not flag.startswith("-mod=")]
    env["GOFLAGS"] = " ".join([*flags, "-mod=mod"])
    env.setdefault("GOTOOLCHAIN", "local")
    env.setdefault("GOPROXY", "https://proxy.golang.org")
    return env


_GOVERSION = re.compile(r"(?:devel )?go(\d+)\.(\d+)(?:\.(\d+))?(rc\d+|beta\d+|-\S*)?(?:\s.*)?", re.S)


def parse_go_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a GOVERSION: `go1.26.8` -> (1, 26, 8); a pre-release `go1.26rc1` comes before
    go1.26.0, as (1, 26, -1); a development build (`go1.27-devel_...`, `devel go1.27-abcdef`) counts as go1.27.0.
    None if unreadable."""
    match = _GOVERSION.fullmatch(text.strip())
    if not match:
        return None
    major, minor, patch, suffix = match.groups()
    if patch is not None:
        return int(major), int(minor), int(patch)
    return int(major), int(minor), -1 if suffix and not suffix.startswith("-") else 0


def check_go_version(version: str) -> str:
    """`version` if it is new enough for the pinned modules, else a BuildError saying what is needed."""
    numbers = parse_go_version(version)
    if numbers is None:
        raise BuildError(f"cannot tell which Go `go env GOVERSION` reports ({version!r}): the pinned modules need "
                         f"{GO_MIN_TEXT} or later ({GO_DOWNLOAD})")
    if numbers < GO_MIN:
        raise BuildError(f"{version} is too old: the pinned modules need {GO_MIN_TEXT} or later, and GOTOOLCHAIN=local "
                         f"keeps go from downloading one (install it from {GO_DOWNLOAD}; Debian's golang is older)")
    return version


@functools.cache
def _go_version() -> tuple[str, str]:
    """(GOVERSION, error): looked up once per run."""
    go = shutil.which("go")
    if go is None:
        return "", f"go is not on PATH: install {GO_MIN_TEXT} or later from {GO_DOWNLOAD} (Debian's golang is older)"
    try:
        result = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return "", f"`{go} env GOVERSION` could not run: {error}"
    if result.returncode != 0 or not result.stdout.strip():
        detail = (result.stderr.strip().splitlines() or ["no output"])[0]
        return "", f"`{go} env GOVERSION` failed (exit {result.returncode}): {detail}"
    return result.stdout.strip(), ""


def go_version() -> str:
    """`go1.26.8` of the go on PATH; a clear error when there is none, it does not answer, or it is too old."""
    version, error = _go_version()
    if error:
        raise BuildError(error)
    return check_go_version(version)


def run(args: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None, what: str = "") -> None:
    """Run a command, appending its output to `log`; a failure raises with the log's last lines. `env` None
    means the go environment (`go_env()`)."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(args)}\n")
        out.flush()
        try:
            result = subprocess.run(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                    env=go_env() if env is None else env, check=False)
        except OSError as error:
            raise BuildError(f"{what or ' '.join(args[:3])} could not start: {error}; log {log}") from None
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-LOG_TAIL:])
        raise BuildError(f"{what or ' '.join(args[:3])} failed (exit {result.returncode}); log {log}:\n{tail}")


def download(module: str, version: str, work: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`go mod download -json MODULE@VERSION` (from the proxy when not in the module cache): its JSON, or a
    BuildError naming the module and the cause."""
    try:
        result = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=work,
                                capture_output=True, text=True, env=go_env() if env is None else env, check=False)
    except OSError as error:
        raise BuildError(f"{module}@{version} could not be fetched: go did not start: {error}") from None
    try:
        info = json.loads(result.stdout or "{}")
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    if info.get("Error") or not info.get("Dir"):
        cause = info.get("Error") or result.stderr.strip() or f"go exited {result.returncode} without an answer"
        raise BuildError(f"{module}@{version} could not be fetched: {cause}")
    return info


def module_dir(module: str, version: str, work: Path) -> Path:
    """The extracted module in the module cache (downloaded from the proxy when missing)."""
    return Path(download(module, version, work)["Dir"])


def writable_copy(source: Path, target: Path) -> Path:
    """A writable copy of a read-only module cache directory."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)
    for dirpath, dirnames, filenames in os.walk(target):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
    target.chmod(target.stat().st_mode | stat.S_IWUSR)
    return target


def wrapper_gomod(tool: Tool, go: str, prepared_replaces: dict[str, Path | str]) -> str:
    """The wrapper module's go.mod: requires, the pin's replaces, and those its prepare step returned
    (`prepared_replaces`: module -> a local directory, or a `module version` string)."""
    lines = [f"module local/faasplane-tools/{tool.name}", "", f"go {go.removeprefix('go')}", ""]
    requires = {tool.module: tool.version, **tool.requires}
    lines += ["require ("] + [f"\t{module} {version}" for module, version in requires.items()] + [")", ""]
    replaces = {module: target for module, target in tool.replaces.items()}
    replaces.update({module: str(path) for module, path in prepared_replaces.items()})
    if replaces:
        lines += ["replace ("] + [f"\t{module} => {target}" for module, target in replaces.items()] + [")", ""]
    if tool.excludes:
        lines += ["exclude ("] + [f"\t{item.replace('@', ' ')}" for item in tool.excludes] + [")", ""]
    return "\n".join(lines)


def owner(package: str, versions: dict[str, str]) -> str:
    """The pinned module a package belongs to (the longest module path that prefixes it)."""
    candidates = [m for m in versions if package == m or package.startswith(m + "/")]
    if not candidates:
        raise BuildError(f"package {package} is in none of the pinned modules {sorted(versions)}")
    return max(candidates, key=len)


def log_path(tool: Tool) -> Path:
    """The build log of `tool` (kept after a failure)."""
    return home() / "work" / tool.name / "build.log"


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Hold the tools cache's lock (`$FAASPLANE_TOOLS/.lock`) for a whole `make tools` run: a second run waits
    for the first instead of removing its work directories and staging builds."""
    directory = home()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            print(f"waiting for another `make tools` ({holder}) to finish with {directory}", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _marker_seconds(marker: Path) -> float | None:
    """The build time a `.built` marker records; None when it is missing or unreadable (then: build again)."""
    try:
        data = json.loads(marker.read_text())
        return float(data.get("seconds", 0)) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None


def build(tool: Tool, *, force: bool = False) -> Built:
    """Build `tool` unless a complete build of the same pins is already in the cache. Call it under `locked()`.

    Before building, the tool's `bin/` links are removed (a failed build must not leave them at an older
    build); after a successful build they point at it and older builds of the tool are deleted. A failed
    build leaves no staging directory behind, only its log."""
    target = built_dir(tool)
    seconds = None if force else _marker_seconds(target / ".built")
    if seconds is not None:
        link(tool, target)
        prune(tool, target)
        return Built(tool, target, seconds, cached=True)

    unlink(tool)
    started = time.monotonic()
    staging = target.with_name(target.name + ".partial")
    try:
        _build(tool, staging, started)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        # --rebuild: move the old build aside first, so the new one appears under the same name at once.
        old = target.with_name(f"{target.name}.old-{os.getpid()}")
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)
    link(tool, target)
    prune(tool, target)
    return Built(tool, target, time.monotonic() - started, cached=False)


def _build(tool: Tool, staging: Path, started: float) -> None:
    from scripts.tools import recipes

    go = "" if tool.recipe else go_version()
    work = home() / "work" / tool.name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    log = work / "build.log"
    log.touch()
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    if tool.recipe:
        step = getattr(recipes, tool.recipe, None)
        if step is None:
            raise BuildError(f"tools.{tool.name}.recipe: no step {tool.recipe!r} in scripts/tools/recipes.py")
        step(tool, staging, work, log)
        absent = [name for name in tool.binaries if not (staging / name).exists()]
        if absent:
            raise BuildError(f"tools.{tool.name}.recipe: {tool.recipe} did not write {', '.join(absent)}")
        _mark(tool, staging, started, {"recipe": tool.recipe})
        return
    env = go_env()
    env["CGO_ENABLED"] = "1" if tool.cgo else "0"
    env.update(tool.env)

    prepared_replaces: dict[str, Path | str] = {}
    if tool.prepare:
        step = getattr(recipes, tool.prepare, None)
        if step is None:
            raise BuildError(f"tools.{tool.name}.prepare: no step {tool.prepare!r} in scripts/tools/recipes.py")
        prepared_replaces.update(step(tool, work, log))
    (work / "go.mod").write_text(wrapper_gomod(tool, go, prepared_replaces))

    versions = {tool.module: tool.version, **tool.requires}
    packages = list(dict.fromkeys(tool.binaries.values()))
    what = f"fetch {tool.module}@{tool.version}"
    run(["go", "get", "-tool", *(f"{pkg}@{versions[owner(pkg, versions)]}" for pkg in packages)], work, log, env, what)
    # `go get` may have raised a pinned sibling to what another module asks for: put the pins back.
    for module, version in versions.items():
        run(["go", "mod", "edit", f"-require={module}@{version}"], work, log, env, what)
    if tool.tidy:
        run(["go", "mod", "tidy"], work, log, env, what)

    ldflags = " ".join(["-s", "-w", *(tool.expand(flag) for flag in tool.ldflags)])
    for binary, package in tool.binaries.items():
        args = ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(staging / binary)]
        if tool.tags:
            args += ["-tags", ",".join(tool.tags)]
        run([*args, package], work, log, env, f"build {binary} ({package}) of {tool.module}@{tool.version}")
    for name, source in tool.files.items():
        module_version, _, path = tool.expand(source).partition(":")
        module, _, version = module_version.partition("@")
        if not (module and version and path):
            raise BuildError(f"tools.{tool.name}.files.{name}: {source!r} is not MODULE@VERSION:PATH")
        origin = module_dir(module, version, work) / path
        if not origin.is_file():
            raise BuildError(f"tools.{tool.name}.files.{name}: {path} is not in {module}@{version}")
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, staging / name)
        (staging / name).chmod(0o755 if "/" not in name else 0o644)
    if tool.post:
        step = getattr(recipes, tool.post, None)
        if step is None:
            raise BuildError(f"tools.{tool.name}.post: no step {tool.post!r} in scripts/tools/recipes.py")
        step(tool, staging, work, log)
    _mark(tool, staging, started, {"go": go, "module": tool.module, "version": tool.version})


def _mark(tool: Tool, staging: Path, started: float, facts: dict[str, str]) -> None:
    """The `.built` marker: the build is complete."""
    seconds = time.monotonic() - started
    (staging / ".built").write_text(json.dumps({"seconds": round(seconds, 1), **facts}))


def built_dir(tool: Tool) -> Path:
    return home() / tool.name / f"{tool.version}-{tool.fingerprint}"


def built_binary(tool: Tool, name: str) -> Path | None:
    """A binary of the current build of `tool`, or None when it is not built."""
    directory = built_dir(tool)
    path = directory / name
    return path if (directory / ".built").exists() and path.exists() else None


def link(tool: Tool, target: Path) -> None:
    """Point `bin/<name>` at this build, for every binary and file of the tool, each link replaced atomically
    (and left alone when it already points here). Provider plugins are not linked: the engine takes them
    from PULUMI_HOME (`pulumi plugin install --file`), where their version is checked, and a plugin found on
    PATH would be used whatever its version."""
    bins = bin_dir()
    names = linked_names(tool)
    if names:
        bins.mkdir(parents=True, exist_ok=True)
    for name in names:
        path, want = bins / name, target / name
        if path.is_symlink() and os.readlink(path) == str(want):
            continue
        temporary = bins / f".{name}.{os.getpid()}.tmp"
        temporary.unlink(missing_ok=True)
        os.symlink(want, temporary)
        os.replace(temporary, path)


def unlink(tool: Tool) -> None:
    """Remove the tool's `bin/` links (before a build: a failed one must leave none at an older build)."""
    for name in linked_names(tool):
        path = bin_dir() / name
        if path.is_symlink():
            path.unlink(missing_ok=True)


def prune(tool: Tool, keep: Path) -> list[Path]:
    """Delete the tool's other builds (superseded `<version>-<fingerprint>` directories and leftovers of
    failed ones), keeping `keep`; the deleted directories."""
    removed = []
    for entry in sorted(keep.parent.iterdir()):
        if entry != keep and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
