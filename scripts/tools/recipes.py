"""Extra steps of a tool's build, named in pins.toml: `prepare` runs before the wrapper module is built (for
modules whose zip lacks files their build needs), `post` after the binaries are in the staging directory.

A prepare step gets (tool, work directory, log) and returns replace targets for the wrapper module: {module
path: a local directory, or a `module version` string}. A post step gets (tool, staging directory, work
directory, log). Steps use only what the registries serve (the Go module proxy, PyPI), and raise BuildError
naming the pin key (`tools.NAME.KEY`) where the pin is at fault.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.tools import ROOT
from scripts.tools.build import BuildError, download, go_env, module_dir, run, writable_copy

if TYPE_CHECKING:
    from scripts.tools.pins import Tool

LANGHOST_SOURCE = Path(__file__).resolve().parent / "langhost.py"
LANGHOST_ROOT_PACKAGES = ("pulumi",)
"""The language host imports the Pulumi SDK (its gRPC stubs) and grpcio; their versions come from uv.lock."""
LANGHOST_NAME = "pulumi-language-python"
LAUNCHER = """#!/bin/sh
# faasplane's Python language host for the Pulumi CLI (scripts/tools/langhost.py), built by `make tools`
# (the pulumi-langhost tool) with a virtualenv of its own: Pulumi's host is not served by the Go module proxy.
here=$(dirname "$(readlink -f "$0")")
exec "$here/langhost-venv/bin/python" "$here/langhost.py" "$@"
"""
CLI_LAUNCHER = """#!/bin/sh
# Beside the Pulumi CLI, where it looks for its language hosts first: runs faasplane's host, the
# pulumi-langhost tool of `make tools`, through its link in the tools' bin/ (built and cached on its own).
here=$(dirname "$(readlink -f "$0")")
host="$here/../../bin/pulumi-language-python"
if [ ! -x "$host" ]; then
  echo "faasplane's Python language host is not built ($host): run make tools" >&2
  exit 1
fi
exec "$host" "$@"
"""


def locked_closure(roots: tuple[str, ...], lock: Path = ROOT / "uv.lock") -> list[str]:
    """`name==version` for the packages in uv.lock that `roots` need, transitively (Linux markers kept simple:
    every dependency listed is included, which is a superset on Linux)."""
    packages = {p["name"]: p for p in tomllib.loads(lock.read_text())["package"]}
    seen: dict[str, str] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in packages:
            continue
        package = packages[name]
        seen[name] = package["version"]
        pending += [dep["name"] for dep in package.get("dependencies", [])]
    return sorted(f"{name}=={version}" for name, version in seen.items())


def langhost_python() -> str:
    """The interpreter of the langhost venv: the one running `make tools`, by its real path."""
    return os.path.realpath(sys.executable)


def langhost(tool: Tool, staging: Path, work: Path, log: Path) -> None:
    """faasplane's language host (the pulumi-langhost tool): its script, a virtualenv with the locked SDK and
    a launcher, which the CLI's own launcher (`langhost_launcher`) runs through `bin/`."""
    venv = staging / "langhost-venv"
    requirements = locked_closure(LANGHOST_ROOT_PACKAGES)
    python = langhost_python()
    uv = shutil.which("uv")
    env = dict(os.environ)  # uv and pip, not go: the user's own environment
    if uv:
        run([uv, "venv", "--quiet", "--python", python, str(venv)], work, log, env, "create the langhost venv")
        run([uv, "pip", "install", "--quiet", "--no-deps", "--python", str(venv / "bin" / "python"), *requirements],
            work, log, env, "install the Pulumi SDK into the langhost venv")
    else:
        run([python, "-m", "venv", str(venv)], work, log, env, "create the langhost venv")
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", *requirements],
            work, log, env, "install the Pulumi SDK into the langhost venv")
    shutil.copyfile(LANGHOST_SOURCE, staging / "langhost.py")
    launcher = staging / LANGHOST_NAME
    launcher.write_text(LAUNCHER)
    launcher.chmod(0o755)
    check = venv / "bin" / "python"
    if not check.exists():
        raise BuildError(f"the langhost venv has no python at {check}")


def langhost_inputs() -> bytes:
    """What the langhost build depends on besides its pin: its source, its launcher, the locked SDK versions,
    and the interpreter (path and version) its venv is made from."""
    closure = "\n".join(locked_closure(LANGHOST_ROOT_PACKAGES))
    parts = [LANGHOST_SOURCE.read_bytes(), LAUNCHER.encode(), closure.encode(),
             inspect.getsource(locked_closure).encode(), langhost_python().encode(), sys.version.encode()]
    return b"\0".join(parts)


def langhost_launcher(tool: Tool, staging: Path, work: Path, log: Path) -> None:
    """The CLI's `pulumi-language-python`: a fixed launcher of the pulumi-langhost tool, so the host and its
    venv are built and cached on their own (editing them does not rebuild the CLI)."""
    launcher = staging / LANGHOST_NAME
    launcher.write_text(CLI_LAUNCHER)
    launcher.chmod(0o755)


def kubernetes_provider(tool: Tool, work: Path, log: Path) -> dict[str, Path]:
    """The kubernetes provider module with the two files its main package embeds, generated as its own
    `generate.go` does (the schema with the release version set, the terraform mapping re-serialized):
    they are build outputs upstream, so the module zip lacks them."""
    sdk = "github.com/pulumi/pulumi-kubernetes/sdk/v4"
    if sdk not in tool.requires:
        raise BuildError(f"tools.{tool.name}.requires: pin {sdk} (the SDK module the provider's go.mod replaces)")
    source = writable_copy(module_dir(tool.module, tool.version, work), work / "provider")
    command = source / "cmd" / "pulumi-resource-kubernetes"
    # Inside the copy its own go.mod applies: point its ../sdk replace at the pinned published SDK module.
    run(["go", "mod", "edit", f"-dropreplace={sdk}", f"-require={sdk}@{tool.requires[sdk]}"], source, log,
        what="pin the kubernetes SDK module in the provider copy")
    run(["go", "mod", "download", sdk], source, log, what=f"fetch {sdk}@{tool.requires[sdk]}")
    env = {**go_env(), "VERSION": tool.release}
    run(["go", "run", "generate.go"], command, log, env, "generate schema-embed.json (generate.go)")
    for name in ("schema-embed.json", "terraform-mapping-embed.json"):
        if not (command / name).is_file():
            raise BuildError(f"generate.go of {tool.module}@{tool.version} did not write {name}")
    return {tool.module: source}


def stand_ins(tool: Tool, work: Path, log: Path) -> dict[str, Path | str]:
    """A local module for each `stand_ins` entry: the listed files of a served module version, under the
    module path of the dependency the proxy refuses, with the requirements the entry names."""
    replaces: dict[str, Path | str] = {}
    for index, entry in enumerate(tool.stand_ins):
        key = f"tools.{tool.name}.stand_ins[{index}]"
        missing = [name for name in ("module", "source", "files", "go") if name not in entry]
        if missing:
            raise BuildError(f"{key}: missing {', '.join(missing)}")
        source_module, _, source_version = entry["source"].partition("@")
        if not source_version:
            raise BuildError(f"{key}.source: {entry['source']!r} is not MODULE@VERSION")
        if entry.get("sum"):
            # sum.golang.org does not answer for it: the pinned hash is checked here instead.
            info = download(source_module, source_version, work, {**go_env(), "GONOSUMDB": source_module})
            if info.get("Sum") != entry["sum"]:
                raise BuildError(f"{key}.sum: {entry['source']} has hash {info.get('Sum')!r}, not the pinned "
                                 f"{entry['sum']}")
        origin = module_dir(source_module, source_version, work)
        target = work / f"stand-in-{index}"
        if target.exists():
            shutil.rmtree(target)
        for destination, relative in entry["files"].items():
            if not (origin / relative).is_file():
                raise BuildError(f"{key}.files.{destination}: {relative} is not in {entry['source']}")
            path = target / destination
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin / relative, path)
        requires = "".join(f"\t{module} {version}\n" for module, version in entry.get("requires", {}).items())
        (target / "go.mod").write_text(f"module {entry['module']}\n\ngo {entry['go']}\n\nrequire (\n{requires})\n")
        replaces[entry["module"]] = target
    return replaces


def kubernetes_staging(tool: Tool, work: Path, log: Path) -> dict[str, Path | str]:
    """k8s.io/kubernetes replaces each staging module (k8s.io/api, client-go, ...) with ./staging/...: pin
    every one it requires to the published module of the same release (v1.37.2 -> v0.37.2)."""
    info = download(tool.module, tool.version, work)
    try:
        gomod = Path(info["GoMod"]).read_text()
    except (KeyError, OSError) as error:
        raise BuildError(f"the go.mod of {tool.module}@{tool.version} could not be read: {error}") from None
    staging = re.findall(r"^\s*(\S+)\s*=>\s*\./staging/", gomod, re.M)
    required = set(re.findall(r"^\s*(\S+) v0\.0\.0\b", gomod, re.M))
    if not tool.version.startswith("v1."):
        raise BuildError(f"tools.{tool.name}.version: {tool.version} is not a Kubernetes v1.x release")
    published = "v0." + tool.version.removeprefix("v1.")
    pins: dict[str, Path | str] = {module: f"{module} {published}" for module in staging if module in required}
    if not pins:
        raise BuildError(f"no staging modules found in the go.mod of {tool.module}@{tool.version}")
    return pins
