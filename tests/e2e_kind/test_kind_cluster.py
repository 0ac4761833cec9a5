"""The whole thing on a machine with docker, kind and the Pulumi CLI: `make up` (twice: the second run
must change nothing), call `sum`, put load on it, watch its replicas grow and come back, `make down`.

It takes 10-20 minutes and creates (then deletes) the kind cluster `faasplane` and the registry
container `kind-registry`, so besides the tools it needs `FAASPLANE_E2E_KIND=1`. Where a tool is
missing (as on CI) it is skipped with a reason naming each missing one.

    FAASPLANE_E2E_KIND=1 uv run pytest tests/e2e_kind -m e2e_kind -s
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from faasplane.components import names
from faasplane.scaler import labels
from scripts import kind_config

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = "sum"
LOAD_RPS = float(os.environ.get("FAASPLANE_E2E_LOAD_RPS", "120"))
"""Offered load: with the Pro-like defaults (target 50 rps x 0.9) that needs ceil(120 / 45) = 3 replicas."""
SCALE_UP_DEADLINE_S = 240.0
LOAD_AFTER_TARGET_S = 30.0
"""Keep the load on this long after the target is reached, to see that the replicas hold steady."""
SCALE_DOWN_DEADLINE_S = labels.DEFAULT_DOWN_WINDOW_SECONDS + 180.0


def missing_prerequisites() -> list[str]:
    missing = [tool for tool in ("docker", "kind", "pulumi", "uv") if shutil.which(tool) is None]
    if "docker" not in missing:
        probe = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode != 0:
            missing.append("a running docker daemon")
    return missing


_MISSING = missing_prerequisites()

pytestmark = [
    pytest.mark.e2e_kind,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(bool(_MISSING), reason=f"needs docker, kind, pulumi and uv; missing here: {', '.join(_MISSING)}"),
    pytest.mark.skipif(
        not _MISSING and os.environ.get("FAASPLANE_E2E_KIND") != "1",
        reason="creates and deletes the kind cluster 'faasplane' and its registry: set FAASPLANE_E2E_KIND=1 to run",
    ),
]


def _pulumi_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PULUMI_CONFIG_PASSPHRASE"}
    env["PULUMI_BACKEND_URL"] = f"file://{ROOT}/.pulumi"
    env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(ROOT / ".pulumi-passphrase")
    return env


def run_group(
    command: list[str], *, timeout: float, capture: bool = True, grace: float = 10.0, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run` for a command that starts others (up.sh runs pulumi, kind, docker, uv): it runs in
    a session and process group of its own, and unless it exits 0 (on the timeout, a non-zero exit, or
    any exception such as Ctrl-C or pytest-timeout) the whole group gets SIGTERM, then SIGKILL after
    `grace` seconds. A plain `subprocess.run(timeout=...)` kills only bash and leaves the rest running."""
    pipe = subprocess.PIPE if capture else None
    process = subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, start_new_session=True, **kwargs)
    clean = False
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        clean = process.returncode == 0
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    finally:
        if not clean:
            _kill_group(process, grace)


def _kill_group(process: subprocess.Popen[str], grace: float) -> None:
    # The group id is the leader's pid; it names the group as long as any member is left, also after
    # the leader itself has exited (pulumi, kind or docker still running under a dead bash).
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while True:
            process.poll()  # reap the leader once it has exited
            if not group_alive(process.pid) or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if not group_alive(process.pid):
            break
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=grace)


def group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs (zombies waiting to be reaped do not count)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat_file in proc.glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            return True
    return False


def _output(name: str, *, secret: bool = False) -> str:
    command = ["pulumi", "stack", "output", name, "--stack", "dev"] + (["--show-secrets"] if secret else [])
    result = run_group(command, cwd=ROOT, env=_pulumi_env(), timeout=120)
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, command, result.stdout, result.stderr)
    return result.stdout.strip()


def _summary_changes(output: str) -> list[str]:
    """Lines of the last `Resources:` summary of a `pulumi up` that are not `N unchanged`."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == "Resources:"]
    assert starts, f"no Resources: summary in the pulumi output:\n{output[-3000:]}"
    changes = []
    for line in lines[starts[-1] + 1:]:
        if not line.strip():
            break
        if not re.fullmatch(r"\s*\d+ unchanged", line):
            changes.append(line.strip())
    return changes


def _cluster_exists() -> bool:
    listed = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, timeout=60, check=False)
    return kind_config.CLUSTER_NAME in listed.stdout.split()


@pytest.fixture(scope="module")
def platform() -> Iterator[tuple[str, str]]:
    """`scripts/up.sh`, then (gateway URL, admin password); `scripts/down.sh` afterwards, also on failure,
    unless the cluster was there before the test (then it is left as it was found)."""
    existed = _cluster_exists()
    try:
        up = run_group([str(ROOT / "scripts" / "up.sh")], cwd=ROOT, timeout=1800)
        assert up.returncode == 0, f"make up failed:\n{up.stdout[-4000:]}\n{up.stderr[-4000:]}"
        url = _output("externalGatewayUrl").rstrip("/")
        assert f"curl -s -d '1 2 3' {url}/function/sum" in up.stdout
        again = run_group([str(ROOT / "scripts" / "up.sh")], cwd=ROOT, timeout=1800)
        assert again.returncode == 0, f"make up again failed:\n{again.stdout[-4000:]}\n{again.stderr[-4000:]}"
        assert "creating" not in again.stderr, f"the second make up created something:\n{again.stderr}"
        changes = _summary_changes(again.stdout)
        assert not changes, f"the second make up changed the stack: {changes}"
        yield url, _output("adminPassword", secret=True)
    finally:
        if not existed:
            run_group([str(ROOT / "scripts" / "down.sh")], cwd=ROOT, timeout=1200, capture=False)


@dataclass
class Load:
    """Paced POSTs to one function from a few threads, until stopped."""

    url: str
    rps: float
    workers: int = 16
    ok: int = 0
    failed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _run(self) -> None:
        interval = self.workers / self.rps
        with httpx.Client(timeout=10.0) as client:
            next_at = time.monotonic()
            while not self.stop.is_set():
                try:
                    good = client.post(self.url, content=b"1 2 3").status_code == 200
                except httpx.HTTPError:
                    good = False
                with self.lock:
                    self.ok += good
                    self.failed += not good
                next_at += interval
                self.stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> Load:
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.workers)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def _replicas(client: httpx.Client, url: str) -> int:
    reply = client.get(f"{url}/system/function/{FUNCTION}", params={"namespace": names.FUNCTIONS_NAMESPACE})
    reply.raise_for_status()
    return int(reply.json()["replicas"])


def test_up_call_sum_scale_under_load_and_back(platform: tuple[str, str]) -> None:
    url, password = platform
    with httpx.Client(timeout=10.0) as client:
        reply = client.post(f"{url}/function/{FUNCTION}", content=b"1 2 3")
        assert reply.status_code == 200 and reply.text.strip() == "6", reply.text

    needed = min(5, math.ceil(LOAD_RPS / (labels.DEFAULT_TARGET * labels.DEFAULT_TARGET_PROPORTION)))
    samples: list[tuple[float, int, bool]] = []
    with httpx.Client(timeout=10.0, auth=(names.BASIC_AUTH_ADMIN_USER, password)) as admin:
        start = _replicas(admin, url)
        assert start == 1
        t0 = time.monotonic()
        reached_at = None
        with Load(f"{url}/function/{FUNCTION}", LOAD_RPS) as load:
            while time.monotonic() - t0 < SCALE_UP_DEADLINE_S:
                replicas = _replicas(admin, url)
                samples.append((time.monotonic() - t0, replicas, True))
                if replicas >= needed and reached_at is None:
                    reached_at = time.monotonic()
                if reached_at is not None and time.monotonic() - reached_at >= LOAD_AFTER_TARGET_S:
                    break
                time.sleep(2)
        assert load.ok > 0 and load.failed <= 0.05 * (load.ok + load.failed), (load.ok, load.failed)
        assert reached_at is not None, f"replicas never reached {needed} under {LOAD_RPS} rps: {samples}"

        stopped = time.monotonic()
        while time.monotonic() - stopped < SCALE_DOWN_DEADLINE_S:
            replicas = _replicas(admin, url)
            samples.append((time.monotonic() - t0, replicas, False))
            if replicas == 1:
                break
            time.sleep(5)

    assert all(1 <= replicas <= 5 for _, replicas, _ in samples), samples
    under_load = [replicas for _, replicas, loaded in samples if loaded]
    assert all(b >= a for a, b in zip(under_load, under_load[1:], strict=False)), f"flapped under load: {samples}"
    assert samples[-1][1] == 1, f"did not come back to min within {SCALE_DOWN_DEADLINE_S}s: {samples}"
