"""Start and stop real processes (the scaler, Alertmanager, Prometheus, the double) on loopback.

Every process is stopped by its PID (SIGTERM, then SIGKILL) when its context manager exits,
also when the test fails. Output goes to a log file so a failing test can show it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.cluster import free_port as free_port  # one definition, with its race explained

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ManagedProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait, then SIGKILL; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM (peak resident set size) of a live process, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def wait_http(url: str, process: ManagedProcess | None = None, timeout: float = 20.0,
              auth: tuple[str, str] | None = None) -> None:
    """Poll `url` until it answers 2xx; fails early if `process` died."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise RuntimeError(f"process exited with {process.process.returncode}:\n{process.log()}")
        try:
            response = httpx.get(url, timeout=1.0, auth=auth)
            if response.status_code < 300:
                return
            last = response.status_code
        except httpx.HTTPError as error:
            last = error
        time.sleep(0.05)
    detail = process.log() if process is not None else ""
    raise TimeoutError(f"{url} not ready after {timeout}s (last: {last!r})\n{detail}")


@contextlib.contextmanager
def managed(
    args: list[str], log_path: Path, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Iterator[ManagedProcess]:
    """Run `args` with output to `log_path`; always stopped on exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None, cwd=cwd or REPO_ROOT,
        )
    managed_process = ManagedProcess(process, log_path)
    try:
        yield managed_process
    finally:
        managed_process.stop()


@contextlib.contextmanager
def scaler_process(
    env: Mapping[str, str], log_path: Path, *, port: int | None = None
) -> Iterator[tuple[str, ManagedProcess]]:
    """`python -m faasplane.scaler` with `env` (SCALER_LISTEN is set here); yields (base URL, process)."""
    port = port or free_port()
    full_env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("SCALER_")},
        "PYTHONDONTWRITEBYTECODE": "1",
        **env,
        "SCALER_LISTEN": f"127.0.0.1:{port}",
    }
    url = f"http://127.0.0.1:{port}"
    with managed([sys.executable, "-m", "faasplane.scaler"], log_path, env=full_env) as process:
        wait_http(f"{url}/healthz", process)
        yield url, process


@contextlib.contextmanager
def double_process(
    functions_file: Path, log_path: Path, *, ce: bool = False
) -> Iterator[tuple[str, ManagedProcess]]:
    """The faas-provider double as a process; yields (base URL, process)."""
    port = free_port()
    args = [sys.executable, "-m", "tests.doubles.faas_provider", "--listen", f"127.0.0.1:{port}",
            "--functions", str(functions_file)]
    if ce:
        args.append("--ce")
    url = f"http://127.0.0.1:{port}"
    with managed(args, log_path) as process:
        wait_http(f"{url}/healthz", process)
        yield url, process


def wait_port(port: int, process: ManagedProcess | None = None, timeout: float = 30.0) -> None:
    """Wait until something listens on 127.0.0.1:`port`; fails early if `process` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise RuntimeError(f"process exited with {process.process.returncode}:\n{process.log()}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s\n{process.log() if process else ''}")
