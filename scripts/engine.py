"""The real Pulumi engine, offline: `make engine STACK=<stack>` and `make engine-down STACK=<stack>`.

Runs the program with the Pulumi CLI, language host and providers that `make tools` built, a file backend
and the passphrase secrets provider, against no cluster: the kubernetes provider writes the manifests it
would apply (`renderYamlToDirectory`). With `--cluster` it deploys to the API server of `make cluster-up`,
refreshing the state from the cluster first (a cluster made anew holds none of the stack's objects); that
stack lives in `build/engine/<stack>-cluster/`, apart from the offline one (the provider's target is part
of every resource, so one state switched between the two would replace, and so delete, everything).

    build/engine/pulumi-home/           PULUMI_HOME, with the provider plugins installed from the tools cache
    build/engine/<stack>/project/       the stack's working directory: Pulumi.yaml (`main:` is this repository)
                                        and Pulumi.<stack>.yaml, made from stacks/Pulumi.<stack>.yaml
    build/engine/<stack>/state/         the file backend
    build/engine/<stack>/passphrase     the secrets passphrase (mode 600)
    build/engine/<stack>/manifests/     what the kubernetes provider rendered
    build/engine/<stack>/env            `export` lines: source it to run any pulumi command on this stack

The generated stack file is the repository's, with three differences: the kubernetes provider's target
(render directory or the loopback cluster instead of `kubernetes:context`), prebuilt image references for
the scaler and every declared function (these machines build no images), and the stack's secrets (the
admin password is generated; encrypted values of the repository's file are replaced by placeholders).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faasplane.components import names
from faasplane.components.config import deep_merge
from scripts import tools
from scripts.tools.build import built_binary
from scripts.tools.pins import load as load_pins

ROOT = Path(__file__).resolve().parent.parent
ENGINE_DIR = ROOT / "build" / "engine"
PROVIDER_TARGET_KEYS = ("kubernetes:context", "kubernetes:kubeconfig", "kubernetes:cluster",
                        "kubernetes:renderYamlToDirectory")
ADMIN_PASSWORD_KEY = f"{names.PROJECT}:adminPassword"
PLACEHOLDER_SECRET = "engine-placeholder-secret"  # noqa: S105 (stands in for a value encrypted with another passphrase)
COMMAND_TIMEOUT = 1200
REQUIRED_TOOLS = ("pulumi", "pulumi-language-python")
"""Linked into the tools' bin/ by `make tools`; the provider plugins are found by their pins."""


def missing_tools() -> list[str]:
    """What `make tools` has not built of what the engine runs: the CLI, the language host, the providers."""
    missing = [tool for tool in REQUIRED_TOOLS if tools.find(tool) is None]
    return missing + [f"the {tool.plugin} provider {tool.release}" for tool in load_pins()
                      if tool.plugin and built_binary(tool, f"pulumi-resource-{tool.plugin}") is None]


class EngineError(Exception):
    """The engine cannot run here or a pulumi command failed; the message says which and why.

    `code` is the exit status of `python -m scripts.engine`: 1 for a failed command, 2 for what the user has
    to set up first (the subclasses)."""

    code = 1


class NotSetUp(EngineError):
    """Something to do before the engine can run: `make tools`, `make cluster-up`, a stack file."""

    code = 2


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise EngineError(f"{what} printed no valid JSON ({error}): {text[:500]!r}") from None


def prebuilt_reference(registry: str, repository: str) -> str:
    """A stable digest reference standing in for an image these machines cannot build."""
    digest = hashlib.sha256(f"faasplane-engine:{repository}".encode()).hexdigest()
    return f"{registry}/{repository}@sha256:{digest}"


def declared_functions(stack: str) -> list[str]:
    """The functions the program declares for `stack` (asked of the offline render, which runs the program)."""
    from faasplane.components.function import TYPE
    from faasplane.components.render import render_stack

    return [resource.name for resource in render_stack(stack).of_type(TYPE)]


@dataclass
class Workspace:
    """A Pulumi project directory driven with the tools-built CLI, a file backend and a passphrase file.

    `directory` holds the state, the passphrase and the env file; the project is `project_dir` (by default
    `directory/project`). Two workspaces on one state directory and passphrase see each other's stacks, as
    StackReference needs."""

    stack: str
    directory: Path
    home: Path = ENGINE_DIR / "pulumi-home"
    project: Path | None = None
    state: Path | None = None
    passphrase: Path | None = None

    def __post_init__(self) -> None:
        self.directory = self.directory.resolve()

    @property
    def project_dir(self) -> Path:
        return (self.project or self.directory / "project").resolve()

    @property
    def stack_file(self) -> Path:
        return self.project_dir / f"Pulumi.{self.stack}.yaml"

    @property
    def state_dir(self) -> Path:
        return (self.state or self.directory / "state").resolve()

    @property
    def passphrase_file(self) -> Path:
        return (self.passphrase or self.directory / "passphrase").resolve()

    @property
    def env_file(self) -> Path:
        return self.directory / "env"

    def environment(self) -> dict[str, str]:
        """What every pulumi command of this stack runs with (also written to the env file, with
        FAASPLANE_ENGINE_DIR, the project directory, for a user who sources it)."""
        return {
            "PATH": f"{tools.bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": f"file://{self.state_dir}",
            "PULUMI_CONFIG_PASSPHRASE_FILE": str(self.passphrase_file),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }

    def pulumi(self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = COMMAND_TIMEOUT,
               extra_env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run `pulumi ARGS --stack STACK` in the project directory."""
        return self._run(["pulumi", *args, "--stack", self.stack, "--non-interactive"], check, stdin, timeout,
                         extra_env)

    def _run(self, command: list[str], check: bool = True, stdin: str | None = None,
             timeout: float = COMMAND_TIMEOUT, extra_env: Mapping[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
        env.update(self.environment())
        env.update(extra_env or {})
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            # A session of its own: on a timeout the language host and the providers go with pulumi.
            process = subprocess.Popen(command, cwd=self.project_dir, env=env, text=True, start_new_session=True,
                                       stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as error:
            raise EngineError(f"`{shlex.join(command)}` could not start: {error}") from None
        try:
            stdout, stderr = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            stdout, stderr = _kill_group(process)
            raise EngineError(f"`{shlex.join(command)}` timed out after {timeout:.0f} s in {self.project_dir}; "
                              f"it was stopped with its plugins. Its last output:\n{stdout[-2000:]}{stderr[-2000:]}",
                              ) from None
        except BaseException:
            _kill_group(process)
            raise
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if check and result.returncode != 0:
            raise EngineError(f"`{shlex.join(command)}` failed (exit {result.returncode}) in {self.project_dir}:\n"
                              f"{result.stdout[-4000:]}{result.stderr[-4000:]}")
        return result

    @staticmethod
    def check_tools() -> None:
        """The CLI, its language host and every pinned provider plugin are built (`make tools`)."""
        missing = missing_tools()
        if missing:
            raise NotSetUp(f"{', '.join(missing)} not built: run `make tools` (builds into {tools.home()})")

    def prepare(self) -> None:
        """Backend, passphrase, plugins, the stack selected, the env file; safe to repeat."""
        self.check_tools()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.project_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.passphrase_file.exists():
            self.passphrase_file.touch(mode=0o600)
            self.passphrase_file.write_text(secrets.token_urlsafe(32))
        self.install_plugins()
        listed = self.pulumi("stack", "ls", "--json", check=False)
        names_listed = {entry.get("name") for entry in _json(listed.stdout or "[]", "pulumi stack ls")} \
            if listed.returncode == 0 else set()
        if self.stack not in names_listed:
            self.pulumi("stack", "init")  # which also selects it
        else:
            self.pulumi("stack", "select")
        self.write_env_file()

    def install_plugins(self) -> None:
        """Install every pinned provider plugin into PULUMI_HOME (offline, from the tools cache).

        PULUMI_HOME outlives a rebuild, and a provider can be rebuilt at the same release (another recipe or
        stand-in: another fingerprint, so another path): a marker beside the plugins names the build each came
        from, and a plugin from another build is installed again."""
        installed = set()
        listing = self._run(["pulumi", "plugin", "ls", "--json"], check=False)
        if listing.returncode == 0 and listing.stdout.strip():
            installed = {(p.get("kind"), p.get("name"), p.get("version"))
                         for p in _json(listing.stdout, "pulumi plugin ls")}
        for tool in load_pins():
            if tool.plugin is None:
                continue
            built = built_binary(tool, f"pulumi-resource-{tool.plugin}")
            if built is None:
                raise NotSetUp(f"the {tool.plugin} provider {tool.release} is not built: run `make tools`")
            marker = self.home / "plugins" / f".faasplane-resource-{tool.plugin}-{tool.release}"
            current = marker.read_text() if marker.is_file() else None
            if ("resource", tool.plugin, tool.release) in installed and current == str(built):
                continue
            self._run(["pulumi", "plugin", "install", "resource", tool.plugin, tool.release, "--file", str(built),
                       "--reinstall"])
            marker.write_text(str(built))

    def write_env_file(self) -> None:
        lines = [f"# Source this file to run pulumi on the stack {self.stack!r}:",
                 f"#   . {self.env_file} && cd \"$FAASPLANE_ENGINE_DIR\" && pulumi preview --stack {self.stack}"]
        for key, value in {**self.environment(), "FAASPLANE_ENGINE_DIR": str(self.project_dir)}.items():
            if key == "PATH":
                lines.append(f"export PATH={shlex.quote(str(tools.bin_dir()))}:\"$PATH\"")
            else:
                lines.append(f"export {key}={shlex.quote(value)}")
        self.env_file.write_text("\n".join(lines) + "\n")

    def export(self, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "export"] + (["--show-secrets"] if show_secrets else [])
        return _json(self.pulumi(*args).stdout, "pulumi stack export")

    def set_secret(self, key: str, value: str) -> None:
        """`pulumi config set --secret KEY` with the value on stdin (never on a command line)."""
        self.pulumi("config", "set", "--secret", key, stdin=value)

    def secret(self, key: str) -> str:
        """The decrypted value of the secret setting KEY (`pulumi config get`)."""
        return self.pulumi("config", "get", key).stdout.rstrip("\n")


def default_directory(stack: str, cluster: bool = False) -> Path:
    """build/engine/<stack>, or build/engine/<stack>-cluster for the stack deployed to `make cluster-up`."""
    return ENGINE_DIR / (f"{stack}-cluster" if cluster else stack)


@dataclass
class EngineStack(Workspace):
    """The faasplane program on one of its stacks (`stacks/Pulumi.<stack>.yaml`), default build/engine/<stack>."""

    directory: Path = field(default=Path())
    kubeconfig: Path | None = None
    """Deploy to this cluster instead of rendering manifests."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Config values merged into the generated stack file (tests)."""

    def __post_init__(self) -> None:
        if self.directory == Path():
            self.directory = default_directory(self.stack, cluster=self.kubeconfig is not None)
        super().__post_init__()

    @property
    def on_cluster(self) -> bool:
        return self.kubeconfig is not None

    @property
    def manifests_dir(self) -> Path:
        return self.directory / "manifests"

    def stack_config(self) -> tuple[dict[str, Any], list[str]]:
        """The generated stack file's `config:` and the keys of the repository file's encrypted values."""
        from faasplane.components.render import STACKS_DIR, StackFileError, read_stack_config

        try:
            config, encrypted = read_stack_config(self.stack)
        except StackFileError as error:
            missing = not (STACKS_DIR / f"Pulumi.{self.stack}.yaml").is_file()
            raise (NotSetUp if missing else EngineError)(str(error)) from None
        for key in [*encrypted, *PROVIDER_TARGET_KEYS]:
            config.pop(key, None)
        if self.kubeconfig is not None:
            config["kubernetes:kubeconfig"] = str(self.kubeconfig)
        else:
            config["kubernetes:renderYamlToDirectory"] = str(self.manifests_dir)
        registry = str((config.get(f"{names.PROJECT}:registry") or {}).get("server", "localhost:5001"))
        prebuilt = {
            f"{names.PROJECT}:scaler": {"image": prebuilt_reference(registry, names.SCALER)},
            f"{names.PROJECT}:functionImages": {
                name: prebuilt_reference(registry, name) for name in declared_functions(self.stack)
            },
        }
        config = deep_merge(config, prebuilt)
        config = deep_merge(config, self.overrides)
        return config, encrypted

    def prepare(self) -> None:
        """Project, stack file, passphrase, backend, plugins and secrets; safe to repeat."""
        self.check_tools()  # before anything is written or rendered
        self.project_dir.mkdir(parents=True, exist_ok=True)
        project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
        project.pop("stackConfigDir", None)
        project["main"] = str(ROOT)
        # The working directory may be outside the uv project (tests use temporary ones): name its .venv.
        project["runtime"] = {"name": "python", "options": {"virtualenv": str(ROOT / ".venv")}}
        (self.project_dir / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))

        config, encrypted = self.stack_config()
        previous = yaml.safe_load(self.stack_file.read_text()) if self.stack_file.exists() else {}
        document: dict[str, Any] = {key: value for key, value in (previous or {}).items() if key != "config"}
        kept = {key: value for key, value in ((previous or {}).get("config") or {}).items()
                if isinstance(value, dict) and set(value) == {"secure"}}
        document["config"] = {**config, **kept}
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

        super().prepare()
        for key in [ADMIN_PASSWORD_KEY, *encrypted]:
            if key not in kept:
                self.set_secret(key, secrets.token_urlsafe(30) if key == ADMIN_PASSWORD_KEY else PLACEHOLDER_SECRET)

    def manifests(self) -> list[dict[str, Any]]:
        """Every object the kubernetes provider rendered."""
        documents = []
        for path in sorted(self.manifests_dir.rglob("*.yaml")):
            documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        return documents


# --- the command line ------------------------------------------------------------------------------


def _timed(label: str, action: Any, timings: list[tuple[str, float]]) -> Any:
    print(f"==> {label}", flush=True)
    started = time.monotonic()
    result = action()
    timings.append((label, time.monotonic() - started))
    return result


def _refresh(engine: EngineStack) -> list[str]:
    """On a cluster, the state is refreshed first: the cluster may have been made anew since the last run."""
    return ["--refresh"] if engine.on_cluster else []


def up(engine: EngineStack) -> int:
    timings: list[tuple[str, float]] = []
    print(f"stack {engine.stack} in {engine.directory}", flush=True)
    refresh = _refresh(engine)
    _timed("prepare (project, stack, plugins, secrets)", engine.prepare, timings)
    preview = _timed(shlex.join(["pulumi", "preview", *refresh]),
                     lambda: engine.pulumi("preview", "--diff", *refresh), timings)
    print(preview.stdout[-3000:])
    updated = _timed(shlex.join(["pulumi", "up", "--yes", *refresh]),
                     lambda: engine.pulumi("up", "--yes", "--skip-preview", *refresh), timings)
    print(updated.stdout[-3000:])
    _timed("pulumi preview --expect-no-changes",
           lambda: engine.pulumi("preview", "--expect-no-changes"), timings)
    state = engine.export()
    resources = state.get("deployment", {}).get("resources", [])
    print(f"\nstack {engine.stack}: {len(resources)} resources in {engine.state_dir}")
    if engine.kubeconfig is None:
        print(f"manifests: {len(engine.manifests())} objects in {engine.manifests_dir}")
    else:
        print(f"cluster: {engine.kubeconfig}")
    for label, seconds in timings:
        print(f"  {seconds:6.1f} s  {label}")
    print(f"\nto run pulumi on it: . {engine.env_file} && cd \"$FAASPLANE_ENGINE_DIR\"")
    return 0


def down(engine: EngineStack) -> int:
    if not engine.stack_file.exists():
        print(f"no engine stack {engine.stack!r} in {engine.directory}: nothing to destroy")
        return 0
    print(f"stack {engine.stack} in {engine.directory}", flush=True)
    engine.prepare()
    result = engine.pulumi("destroy", "--yes", "--skip-preview", *_refresh(engine))
    print(result.stdout[-3000:])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "env"])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--cluster", action="store_true", help="deploy to the make cluster-up API server")
    args = parser.parse_args(argv)
    kubeconfig = ROOT / "build" / "cluster" / "kubeconfig" if args.cluster else None
    if kubeconfig is not None and not kubeconfig.is_file():
        print(f"error: {kubeconfig} is missing: run `make cluster-up` first", file=sys.stderr)
        return NotSetUp.code
    engine = EngineStack(args.stack, kubeconfig=kubeconfig)
    try:
        if args.command == "up":
            return up(engine)
        if args.command == "down":
            return down(engine)
        engine.prepare()
        print(engine.env_file)
        return 0
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code


def signal_group(pgid: int, sig: int) -> None:
    """Send `sig` to process group `pgid`, if any of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _kill_group(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Stop the process group of `process` (pulumi, its language host, its providers): SIGTERM, up to 10 s,
    then SIGKILL to whatever of the group is left; returns what it printed."""
    signal_group(process.pid, signal.SIGTERM)
    try:
        output = process.communicate(timeout=10.0)
    except subprocess.TimeoutExpired:
        signal_group(process.pid, signal.SIGKILL)
        try:
            return process.communicate(timeout=10.0)
        except subprocess.TimeoutExpired:  # a descendant of another group holds the pipes: give up on them
            process.kill()
            process.wait()
            return "", ""
    signal_group(process.pid, signal.SIGKILL)  # plugins that outlived the CLI
    return output


if __name__ == "__main__":
    sys.exit(main())
