"""Build one pinned tool from the Go module proxy into the tools cache.

Each tool gets a wrapper module of its own (`$FAASPLANE_TOOLS/work/<tool>`): it requires the pinned
module (and its pinned siblings), carries the replace lines that the module's own go.mod has but `go get`
cannot follow, and declares the binaries' packages as `tool` directives. `go build` then writes the
binaries into `$FAASPLANE_TOOLS/<tool>/<version>-<fingerprint>/`, which is complete only once its
`.built` marker exists; `bin/` links to the current build. Nothing outside the registries is contacted.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from scripts.tools import bin_dir, home
from scripts.tools.pins import Tool

GO_MIN = (1, 24)
"""`go get -tool` needs Go 1.24."""
LOG_TAIL = 25


class BuildError(Exception):
    """A tool could not be fetched or built; the message names the module, the version and the cause."""


@dataclass
class Built:
    tool: Tool
    directory: Path
    seconds: float
    cached: bool


def go_env() -> dict[str, str]:
    """The environment of every go command: module mode, no toolchain download, static where possible."""
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    env["GOTOOLCHAIN"] = env.get("GOTOOLCHAIN", "local")
    env.setdefault("GOPROXY", "https://proxy.golang.org")
    env.setdefault("GONOSUMDB", "")
    return env


def go_version() -> str:
    """`go1.26.8` of the go on PATH; a clear error when there is none or it is too old."""
    go = shutil.which("go")
    if go is None:
        raise BuildError("go is not on PATH: install Go 1.24 or later (Debian: golang-go, or https://go.dev/dl)")
    result = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    version = result.stdout.strip()
    numbers = tuple(int(part) for part in version.removeprefix("go").split(".")[:2] if part.isdigit())
    if numbers < GO_MIN:
        raise BuildError(f"{version or 'go'} is too old: `go get -tool` needs go{GO_MIN[0]}.{GO_MIN[1]} or later")
    return version


def run(args: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None, what: str = "") -> None:
    """Run a command, appending its output to `log`; a failure raises with the log's last lines."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(args)}\n")
        out.flush()
        result = subprocess.run(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env or go_env(), check=False)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-LOG_TAIL:])
        raise BuildError(f"{what or ' '.join(args[:3])} failed (exit {result.returncode}); log {log}:\n{tail}")


def module_dir(module: str, version: str, work: Path) -> Path:
    """The extracted module in the module cache (downloaded from the proxy when missing)."""
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        cwd=work, capture_output=True, text=True, env=go_env(), check=False,
    )
    try:
        info = json.loads(result.stdout or "{}")
    except ValueError:
        info = {}
    if info.get("Error") or not info.get("Dir"):
        raise BuildError(f"{module}@{version} could not be fetched: {info.get('Error') or result.stderr.strip()}")
    return Path(info["Dir"])


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


def wrapper_gomod(tool: Tool, go: str, local_replaces: dict[str, Path | str]) -> str:
    """The wrapper module's go.mod: requires, replaces (a pinned `module version`, or a prepared local copy)."""
    lines = [f"module local/faasplane-tools/{tool.name}", "", f"go {go.removeprefix('go')}", ""]
    requires = {tool.module: tool.version, **tool.requires}
    lines += ["require ("] + [f"\t{module} {version}" for module, version in requires.items()] + [")", ""]
    replaces = {module: target for module, target in tool.replaces.items()}
    replaces.update({module: str(path) for module, path in local_replaces.items()})
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


def build(tool: Tool, *, force: bool = False) -> Built:
    """Build `tool` unless a complete build of the same pins is already in the cache."""
    from scripts.tools import recipes

    target = built_dir(tool)
    marker = target / ".built"
    if marker.exists() and not force:
        link(tool, target)
        return Built(tool, target, float(json.loads(marker.read_text()).get("seconds", 0)), cached=True)

    started = time.monotonic()
    go = go_version()
    work = home() / "work" / tool.name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    log = work / "build.log"
    staging = target.with_name(target.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    env = go_env()
    env["CGO_ENABLED"] = "1" if tool.cgo else "0"
    env.update(tool.env)

    local_replaces: dict[str, Path | str] = {}
    if tool.prepare:
        step = getattr(recipes, tool.prepare, None)
        if step is None:
            raise BuildError(f"tools.{tool.name}.prepare: no step {tool.prepare!r} in scripts/tools/recipes.py")
        local_replaces.update(step(tool, work, log))
    (work / "go.mod").write_text(wrapper_gomod(tool, go, local_replaces))

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
        module_version, _, path = source.partition(":")
        module, _, version = module_version.partition("@")
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
    seconds = time.monotonic() - started
    (staging / ".built").write_text(json.dumps({"seconds": round(seconds, 1), "go": go, "module": tool.module,
                                                "version": tool.version}))
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    link(tool, target)
    return Built(tool, target, seconds, cached=False)


def built_dir(tool: Tool) -> Path:
    return home() / tool.name / f"{tool.version}-{tool.fingerprint}"


def built_binary(tool: Tool, name: str) -> Path | None:
    """A binary of the current build of `tool`, or None when it is not built."""
    directory = built_dir(tool)
    path = directory / name
    return path if (directory / ".built").exists() and path.exists() else None


def link(tool: Tool, target: Path) -> None:
    """Point `bin/<name>` at this build, for every binary and file of the tool. Provider plugins are not
    linked: the engine takes them from PULUMI_HOME (`pulumi plugin install --file`), where their version
    is checked, and a plugin found on PATH would be used whatever its version."""
    if tool.plugin:
        return
    bins = bin_dir()
    bins.mkdir(parents=True, exist_ok=True)
    for name in [*tool.binaries, *(name for name in tool.files if "/" not in name)]:  # data files stay put
        path = bins / name
        if path.is_symlink() or path.exists():
            path.unlink()
        path.symlink_to(target / name)
