"""The queue tier: NATS Streaming and NATS with JetStream at the deployed versions, started with the arguments
the Queue component renders (only the addresses and the store directory are moved onto loopback and a temp
directory), and a Go client that publishes and consumes as the gateway and the queue-worker do."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faasplane.components import names
from faasplane.components.platform.queue import NATS_STORE_DIR
from faasplane.components.render import render_stack
from scripts.tools import locate, missing_message
from scripts.tools.build import parse_go_version
from tests import tiers
from tests.doubles.processes import ManagedProcess, free_port, managed, wait_http
from tests.objects import pod

CLIENT_SOURCE = Path(__file__).resolve().parent / "natsclient"
SERVERS = tiers.TOOLS["queue"]
"""The servers the tier runs (nats-streaming-server, nats-server), built by `make tools TIERS=queue`."""


def rendered_nats(stack: str, overrides: dict[str, Any] | None = None, secret_keys: list[str] | None = None,
                  ) -> dict[str, Any]:
    """The NATS container of the stack's render: its command, args and memory limit."""
    return pod(render_stack(stack, overrides, extra_secret_keys=secret_keys), names.NATS)["containers"][0]


def missing_servers(wanted: tuple[str, ...] = SERVERS) -> list[str]:
    return [name for name in wanted if locate(name, allow_system=False) is None]


def tool(name: str) -> str:
    located = locate(name, allow_system=False)
    tiers.require(located is not None, "queue", missing_message([name]))
    assert located is not None
    return str(located.path)


@pytest.fixture(scope="session")
def queue_servers() -> None:
    """The tier's servers: checked before the client is built, so a machine without them skips at once."""
    absent = missing_servers()
    tiers.require(not absent, "queue", missing_message(absent))


@pytest.fixture(scope="session")
def natsclient(queue_servers: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/queue/natsclient, built with the machine's Go (the module cache or proxy supplies the modules
    go.sum pins; -mod=readonly: the build never rewrites go.mod or go.sum)."""
    go = shutil.which("go")
    tiers.require(go is not None, "queue", "go is not on PATH (the queue tier's client is a Go program)")
    assert go is not None
    [required] = re.findall(r"^go (\S+)$", (CLIENT_SOURCE / "go.mod").read_text(), re.MULTILINE)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"}
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=True,
                             env=env).stdout.strip()
    have, need = parse_go_version(version), parse_go_version(f"go{required}")
    tiers.require(have is not None and need is not None and have >= need, "queue",
                  f"tests/queue/natsclient needs Go {required} (its go.mod), this machine has {version}")
    binary = tmp_path_factory.mktemp("natsclient") / "natsclient"
    result = subprocess.run([go, "build", "-o", str(binary), "."], cwd=CLIENT_SOURCE, capture_output=True,
                            text=True, timeout=240, check=False, env=env)
    assert result.returncode == 0, result.stderr
    return str(binary)


def client(natsclient: str, *args: str, timeout: float = 300) -> dict[str, Any]:
    result = subprocess.run([natsclient, *args], capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class Server:
    process: ManagedProcess
    url: str
    monitor: str
    store: Path


def loopback_args(args: list[str], store: Path, port: int, monitor: int, flag: str) -> list[str]:
    """The rendered args with the store directory moved to `store` and the listeners on loopback."""
    moved = [str(store) if arg == NATS_STORE_DIR else arg for arg in args]
    return [*moved, "--addr", "127.0.0.1", "--port", str(port), flag, str(monitor)]


@contextlib.contextmanager
def started(binary: str, args: list[str], store: Path, log: Path, *, monitor_flag: str,
            ready_path: str) -> Iterator[Server]:
    port, monitor = free_port(), free_port()
    with managed([binary, *loopback_args(args, store, port, monitor, monitor_flag)], log) as process:
        wait_http(f"http://127.0.0.1:{monitor}{ready_path}", process, timeout=30)
        yield Server(process, f"nats://127.0.0.1:{port}", f"http://127.0.0.1:{monitor}", store)


def kill(server: Server) -> None:
    """SIGKILL: no shutdown, no flush."""
    server.process.process.send_signal(signal.SIGKILL)
    server.process.process.wait(10)
