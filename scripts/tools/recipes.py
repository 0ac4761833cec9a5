"""Extra steps of a tool's build, named in pins.toml: `prepare` runs before the wrapper module is built (for
modules whose zip lacks files their build needs), `post` after the binaries are in the staging directory.

A prepare step gets (tool, work directory, log) and returns replace targets for the wrapper module
({module path: local directory}). A post step gets (tool, staging directory, work directory, log). Steps use
only what the registries serve (the Go module proxy, PyPI).
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.tools import ROOT
from scripts.tools.build import BuildError, go_env, run

if TYPE_CHECKING:
    from scripts.tools.pins import Tool

LANGHOST_SOURCE = Path(__file__).resolve().parent / "langhost.py"
LANGHOST_ROOT_PACKAGES = ("pulumi",)
"""The language host imports the Pulumi SDK (its gRPC stubs) and grpcio; their versions come from uv.lock."""
LAUNCHER = """#!/bin/sh
# faasplane's Python language host for the Pulumi CLI (scripts/tools/langhost.py), built by `make tools`
# beside the CLI, with a virtualenv of its own: Pulumi's host is not served by the Go module proxy.
here=$(dirname "$(readlink -f "$0")")
exec "$here/langhost-venv/bin/python" "$here/langhost.py" "$@"
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


def langhost(tool: Tool, staging: Path, work: Path, log: Path) -> None:
    """faasplane's language host beside the CLI: its script, a virtualenv with the locked SDK, a launcher."""
    venv = staging / "langhost-venv"
    requirements = locked_closure(LANGHOST_ROOT_PACKAGES)
    uv = shutil.which("uv")
    env = None
    if uv:
        run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], work, log, env, "create the langhost venv")
        run([uv, "pip", "install", "--quiet", "--no-deps", "--python", str(venv / "bin" / "python"), *requirements],
            work, log, env, "install the Pulumi SDK into the langhost venv")
    else:
        run([sys.executable, "-m", "venv", str(venv)], work, log, env, "create the langhost venv")
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", *requirements],
            work, log, env, "install the Pulumi SDK into the langhost venv")
    shutil.copyfile(LANGHOST_SOURCE, staging / "langhost.py")
    launcher = staging / "pulumi-language-python"
    launcher.write_text(LAUNCHER)
    launcher.chmod(0o755)
    check = staging / "langhost-venv" / "bin" / "python"
    if not check.exists():
        raise BuildError(f"the langhost venv has no python at {check}")


def langhost_inputs() -> bytes:
    """What the langhost build depends on besides the pins: its source and the locked SDK versions."""
    return LANGHOST_SOURCE.read_bytes() + "\n".join(locked_closure(LANGHOST_ROOT_PACKAGES)).encode()


def kubernetes_provider(tool: Tool, work: Path, log: Path) -> dict[str, Path]:
    """The kubernetes provider module with the two files its main package embeds, generated as its own
    `generate.go` does (the schema with the release version set, the terraform mapping re-serialized):
    they are build outputs upstream, so the module zip lacks them."""
    from scripts.tools.build import module_dir, writable_copy

    source = writable_copy(module_dir(tool.module, tool.version, work), work / "provider")
    command = source / "cmd" / "pulumi-resource-kubernetes"
    # Inside the copy its own go.mod applies: point its ../sdk replace at the pinned published SDK module.
    sdk = "github.com/pulumi/pulumi-kubernetes/sdk/v4"
    run(["go", "mod", "edit", f"-dropreplace={sdk}", f"-require={sdk}@{tool.requires[sdk]}"], source, log,
        what="pin the kubernetes SDK module in the provider copy")
    run(["go", "mod", "download", sdk], source, log, what=f"fetch {sdk}@{tool.requires[sdk]}")
    env = {**go_env(), "VERSION": tool.release}
    run(["go", "run", "generate.go"], command, log, env, "generate schema-embed.json (generate.go)")
    for name in ("schema-embed.json", "terraform-mapping-embed.json"):
        if not (command / name).is_file():
            raise BuildError(f"generate.go of {tool.module}@{tool.version} did not write {name}")
    return {tool.module: source}


def stand_ins(tool: Tool, work: Path, log: Path) -> dict[str, Path]:
    """A local module for each `stand_ins` entry: the listed files of a served module version, under the
    module path of the dependency the proxy refuses, with the requirements the entry names."""
    import json
    import subprocess

    from scripts.tools.build import module_dir

    replaces: dict[str, Path] = {}
    for index, entry in enumerate(tool.stand_ins):
        source_module, _, source_version = entry["source"].partition("@")
        env = go_env()
        if entry.get("sum"):
            env["GONOSUMDB"] = source_module
            result = subprocess.run(["go", "mod", "download", "-json", entry["source"]], cwd=work, env=env,
                                    capture_output=True, text=True, check=False)
            info = json.loads(result.stdout or "{}")
            if info.get("Sum") != entry["sum"]:
                raise BuildError(f"{entry['source']}: hash {info.get('Sum') or info.get('Error')!r} is not the "
                                 f"pinned {entry['sum']}")
        origin = module_dir(source_module, source_version, work)
        target = work / f"stand-in-{index}"
        if target.exists():
            shutil.rmtree(target)
        for destination, relative in entry["files"].items():
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
    import json
    import re
    import subprocess

    result = subprocess.run(["go", "mod", "download", "-json", f"{tool.module}@{tool.version}"], cwd=work,
                            env=go_env(), capture_output=True, text=True, check=False)
    info = json.loads(result.stdout or "{}")
    if info.get("Error") or not info.get("GoMod"):
        raise BuildError(f"{tool.module}@{tool.version} could not be fetched: {info.get('Error') or result.stderr}")
    gomod = Path(info["GoMod"]).read_text()
    staging = re.findall(r"^\s*(\S+)\s*=>\s*\./staging/", gomod, re.M)
    required = set(re.findall(r"^\s*(\S+) v0\.0\.0\b", gomod, re.M))
    published = "v0." + tool.version.removeprefix("v1.")
    pins: dict[str, Path | str] = {module: f"{module} {published}" for module in staging if module in required}
    if not pins:
        raise BuildError(f"no staging modules found in the go.mod of {tool.module}@{tool.version}")
    return pins
