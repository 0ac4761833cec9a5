"""faasplane's Python language host for the Pulumi CLI (`pulumi-language-python`), for machines without Pulumi's.

Pulumi's own host lives in an untagged Go module (`github.com/pulumi/pulumi/sdk/python/cmd/
pulumi-language-python/v3`) that the Go module proxy these machines reach does not serve at any version,
and the only release of it that is served (inside `sdk/v3@v3.68.0`, 2023) runs policy packs from the wrong
directory under today's CLI. So `make tools` builds the CLI and the providers, and this module speaks the
CLI's LanguageRuntime gRPC protocol itself, for everything the engine tier uses:

- `Run`: the program, with the SDK's own `pulumi-language-python-exec` (copied from `sdk/v3` at the CLI's
  version by `make tools`), the stack config in `PULUMI_CONFIG`, exit code 32 meaning "already reported";
- `GetRequiredPackages`: a resource plugin for every installed package that ships a `pulumi-plugin.json`;
- `RunPlugin`: policy packs (`python -u -m pulumi.policy ARGS PACK_DIR`, in the pack's directory) and
  other Python plugins;
- `About`, `GetProgramDependencies`, `GetPluginInfo`, `Handshake`, `Cancel`.

The virtualenv comes from the project's runtime options, as in Pulumi's host: `virtualenv: DIR` (relative
to the project), or `toolchain: uv` (the `.venv` of the uv project around the Pulumi project, or
`UV_PROJECT_ENVIRONMENT`), else the `python3` on PATH. With the official installer, Pulumi's host is used
instead: nothing in the project depends on this one.

    pulumi-language-python [-flag=value ...] ENGINE_ADDRESS     (started by the Pulumi CLI)
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

EXEC_SCRIPT = "pulumi-language-python-exec"
BAIL_EXIT_CODE = 32
"""The exec script's exit code after it has already shown the user an actionable message."""
ANALYZER_KIND = "analyzer"

_PLUGINS_SNIPPET = """
import json, importlib.metadata as md
out = []
for dist in md.distributions():
    for file in dist.files or []:
        if file.name == "pulumi-plugin.json":
            try:
                data = json.loads(file.read_text())
            except (OSError, ValueError):
                continue
            out.append({"package": dist.metadata["Name"], "packageVersion": dist.version, **data})
print(json.dumps(out))
"""
_DEPENDENCIES_SNIPPET = """
import json, importlib.metadata as md
print(json.dumps(sorted({d.metadata["Name"]: d.version for d in md.distributions()}.items())))
"""


class HostError(Exception):
    """The program's environment is not usable; the message says what to do."""


@dataclass(frozen=True)
class Program:
    """Where a program or plugin lives and which Python runs it (from a request's ProgramInfo)."""

    root: Path
    directory: Path
    entry_point: str
    options: dict[str, Any]

    @classmethod
    def of(cls, info: Any) -> Program:
        options = json_format.MessageToDict(info.options) if info.HasField("options") else {}
        root = Path(info.root_directory or ".").resolve()
        return cls(root, Path(info.program_directory or root).resolve(), info.entry_point or ".", options)

    def virtualenv(self) -> Path | None:
        configured = self.options.get("virtualenv")
        if configured:
            return (self.root / configured).resolve()
        if self.options.get("toolchain") == "uv":
            if os.environ.get("UV_PROJECT_ENVIRONMENT"):
                return Path(os.environ["UV_PROJECT_ENVIRONMENT"]).resolve()
            for directory in (self.root, *self.root.parents):
                if (directory / "pyproject.toml").is_file():
                    return directory / ".venv"
            return self.root / ".venv"
        return None

    def python(self) -> str:
        venv = self.virtualenv()
        if venv is None:
            found = shutil.which("python3") or shutil.which("python")
            if found is None:
                raise HostError("no python3 on PATH: install Python 3 or set runtime.options.virtualenv")
            return found
        python = venv / "bin" / "python"
        if not python.exists():
            raise HostError(
                f"the project's virtualenv {venv} has no bin/python: create it first (uv sync, or "
                f"python3 -m venv {venv} and install the project's dependencies)"
            )
        return str(python)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        venv = self.virtualenv()
        if venv is not None:
            env["VIRTUAL_ENV"] = str(venv)
            env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
            env.pop("PYTHONHOME", None)
        env.update(extra or {})
        return env


def exec_script() -> str:
    """The SDK's program runner, copied beside the CLI by `make tools` and linked into the tools' `bin/`
    (this host lives in `$FAASPLANE_TOOLS/pulumi-langhost/<build>/`); else found on PATH."""
    here = Path(__file__).resolve().parent
    for candidate in (here / EXEC_SCRIPT, here.parent.parent / "bin" / EXEC_SCRIPT):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(EXEC_SCRIPT)
    if found is None:
        raise HostError(f"{EXEC_SCRIPT} is not on PATH: run `make tools` (it copies it from the Pulumi SDK module)")
    return found


def installed_plugins(program: Program) -> list[dict[str, Any]]:
    """The `pulumi-plugin.json` of every package installed in the program's environment."""
    result = subprocess.run(
        [program.python(), "-c", _PLUGINS_SNIPPET], capture_output=True, text=True, env=program.env(),
        cwd=program.root, check=False, timeout=120,
    )
    if result.returncode != 0:
        raise HostError(f"listing the installed Pulumi packages failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def plugin_version(plugin: dict[str, Any]) -> str:
    version = str(plugin.get("version") or plugin.get("packageVersion") or "")
    return version if not version or version.startswith("v") else f"v{version}"


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """The LanguageRuntime service; each RPC maps a `HostError` to a gRPC error the CLI shows."""

    def __init__(self, engine_address: str):
        self.engine_address = engine_address
        self.children: set[subprocess.Popen[bytes]] = set()
        self.lock = threading.Lock()

    # --- bookkeeping ------------------------------------------------------------------------------

    def _start(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(args, **kwargs)
        with self.lock:
            self.children.add(child)
        return child

    def _done(self, child: subprocess.Popen[bytes]) -> int:
        code = child.wait()
        with self.lock:
            self.children.discard(child)
        return code

    @staticmethod
    def _fail(context: grpc.ServicerContext, error: Exception) -> None:
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))

    # --- RPCs -------------------------------------------------------------------------------------

    def Handshake(self, request, context):  # noqa: N802 (gRPC method names)
        if request.engine_address:
            self.engine_address = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request, context):  # noqa: N802
        from importlib.metadata import version

        return plugin_pb2.PluginInfo(version=version("pulumi"))

    def GetRequiredPackages(self, request, context):  # noqa: N802
        try:
            plugins = installed_plugins(Program.of(request.info))
        except HostError as error:
            self._fail(context, error)
        packages = [
            plugin_pb2.PackageDependency(
                kind="resource", name=p["name"], version=plugin_version(p), server=p.get("server", "")
            )
            for p in plugins
            if p.get("resource") and p.get("name")
        ]
        return language_pb2.GetRequiredPackagesResponse(packages=packages)

    def GetRequiredPlugins(self, request, context):  # noqa: N802
        response = self.GetRequiredPackages(request, context)
        return language_pb2.GetRequiredPluginsResponse(
            plugins=[
                plugin_pb2.PluginDependency(name=p.name, kind=p.kind, version=p.version, server=p.server)
                for p in response.packages
            ]
        )

    def Run(self, request, context):  # noqa: N802
        try:
            program = Program.of(request.info)
            args = [program.python(), "-u", exec_script()]
        except HostError as error:
            return language_pb2.RunResponse(error=str(error))
        for flag, value in (
            ("monitor", request.monitor_address),
            ("engine", self.engine_address),
            ("project", request.project),
            ("root_directory", request.info.root_directory),
            ("stack", request.stack),
            ("pwd", request.pwd),
            ("dry_run", "true" if request.dryRun else "false"),
            ("parallel", str(request.parallel)),
            ("organization", request.organization),
        ):
            if value:
                args += [f"--{flag}", value]
        args.append(request.info.entry_point or request.program or ".")
        args += list(request.args)
        extra = {
            "PULUMI_CONFIG": json.dumps(dict(request.config)),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(request.configSecretKeys)),
        }
        child = self._start(args, cwd=request.pwd or program.directory, env=program.env(extra))
        code = self._done(child)
        sys.stdout.flush()
        if code == 0:
            return language_pb2.RunResponse()
        if code == BAIL_EXIT_CODE:
            return language_pb2.RunResponse(bail=True)
        if code < 0:
            return language_pb2.RunResponse(error=f"program exited unexpectedly: signal {-code}")
        return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {code}")

    def RunPlugin(self, request, context) -> Iterator[language_pb2.RunPluginResponse]:  # noqa: N802
        try:
            program = Program.of(request.info)
            python = program.python()
        except HostError as error:
            self._fail(context, error)
        if request.kind == ANALYZER_KIND:
            # Policy packs run as `python -m pulumi.policy ENGINE PACK_DIR` in the pack's directory.
            args = [python, "-u", "-m", "pulumi.policy", *request.args, str(program.directory)]
            cwd = program.directory
        else:
            args = [python, "-u", str(program.directory), *request.args]
            cwd = Path(request.pwd or program.directory)
        extra = dict(item.split("=", 1) for item in request.env if "=" in item)
        child = self._start(args, cwd=cwd, env=program.env(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        chunks: queue.Queue[tuple[str, bytes] | None] = queue.Queue()

        def pump(stream: Any, name: str) -> None:
            for chunk in iter(lambda: stream.read1(65536), b""):
                chunks.put((name, chunk))
            chunks.put(None)

        pumps = [threading.Thread(target=pump, args=(child.stdout, "stdout"), daemon=True),
                 threading.Thread(target=pump, args=(child.stderr, "stderr"), daemon=True)]
        for thread in pumps:
            thread.start()
        open_streams = len(pumps)
        while open_streams:
            item = chunks.get()
            if item is None:
                open_streams -= 1
                continue
            name, chunk = item
            yield language_pb2.RunPluginResponse(**{name: chunk})
        yield language_pb2.RunPluginResponse(exitcode=self._done(child))

    def InstallDependencies(self, request, context):  # noqa: N802
        program = Program.of(request.info)
        if program.options.get("toolchain") == "uv":
            args = ["uv", "sync"]
        else:
            self._fail(context, HostError("this host installs dependencies only for toolchain uv (uv sync); "
                                          "install the project's requirements into its virtualenv yourself"))
        child = self._start(args, cwd=program.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert child.stdout is not None
        for chunk in iter(lambda: child.stdout.read1(65536), b""):
            yield language_pb2.InstallDependenciesResponse(stdout=chunk)
        if self._done(child) != 0:
            self._fail(context, HostError(f"{' '.join(args)} failed in {program.root}"))

    def About(self, request, context):  # noqa: N802
        try:
            python = Program.of(request.info).python()
        except HostError as error:
            self._fail(context, error)
        version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True, check=False).stdout.strip()
        return language_pb2.AboutResponse(executable=python, version=version)

    def GetProgramDependencies(self, request, context):  # noqa: N802
        try:
            program = Program.of(request.info)
            result = subprocess.run([program.python(), "-c", _DEPENDENCIES_SNIPPET], capture_output=True,
                                    text=True, env=program.env(), check=False, timeout=120)
        except HostError as error:
            self._fail(context, error)
        pairs = json.loads(result.stdout or "[]")
        return language_pb2.GetProgramDependenciesResponse(
            dependencies=[language_pb2.DependencyInfo(name=name, version=version) for name, version in pairs]
        )

    def Cancel(self, request, context):  # noqa: N802
        with self.lock:
            for child in self.children:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
        from google.protobuf import empty_pb2

        return empty_pb2.Empty()


def main(argv: list[str] | None = None) -> int:
    args = [arg for arg in (sys.argv[1:] if argv is None else argv) if not arg.startswith("-")]
    engine_address = args[-1] if args else ""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)],
    )
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageHost(engine_address), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    for signum in (signal.SIGTERM, signal.SIGINT):
        # The CLI interrupts its plugins when it is done with them: that is a normal end.
        signal.signal(signum, lambda *_: server.stop(2))
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    sys.exit(main())
