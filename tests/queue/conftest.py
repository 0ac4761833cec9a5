"""The queue tier: NATS Streaming and NATS with JetStream at the deployed versions, started with the arguments
the Queue component renders (only the addresses and the store directory are moved onto loopback and a temp
directory), and a Go client that publishes and consumes as the gateway and the queue-worker do."""

from __future__ import annotations

import contextlib
import json
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
from tests import tiers
from tests.doubles.processes import ManagedProcess, free_port, managed, wait_http

CLIENT_SOURCE = Path(__file__).resolve().parent / "natsclient"


def rendered_nats(stack: str, overrides: dict[str, Any] | None = None, secret_keys: list[str] | None = None,
                  ) -> dict[str, Any]:
    """The NATS container of the stack's render: its command, args and memory limit."""
    for obj in render_stack(stack, overrides, extra_secret_keys=secret_keys).kubernetes_objects():
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == names.NATS:
            return obj["spec"]["template"]["spec"]["containers"][0]
    raise AssertionError(f"the {stack} render has no {names.NATS} Deployment")


def tool(name: str) -> str:
    located = locate(name, allow_system=False)
    tiers.require(located is not None, "queue", missing_message([name]))
    assert located is not None
    return str(located.path)


@pytest.fixture(scope="session")
def natsclient(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/queue/natsclient, built with the machine's Go from the module proxy (cached after the first)."""
    go = shutil.which("go")
    tiers.require(go is not None, "queue", "go is not on PATH (the queue tier's client is a Go program)")
    binary = tmp_path_factory.mktemp("natsclient") / "natsclient"
    result = subprocess.run([go, "build", "-o", str(binary), "."], cwd=CLIENT_SOURCE, capture_output=True,
                            text=True, timeout=600, check=False, env={**__import__("os").environ,
                                                                       "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"})
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
