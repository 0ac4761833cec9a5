"""`scripts/up.sh` and `scripts/down.sh` where docker, kind and pulumi are absent (as on CI).

The missing-tool path runs for real; the rest of the flow runs against recording stubs of the four
tools, which checks the order of the steps, what each step is given, and that re-running is safe.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from scripts import kind_config
from tests.e2e_kind.stubs import GATEWAY_URL, make_repo, minimal_path, script_env, write_stubs

TOOLS = ("docker", "kind", "pulumi", "uv")


def _run(repo: Path, script: str, path: str, state: Path) -> subprocess.CompletedProcess[str]:
    (state / "home").mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(repo / "scripts" / script)], env=script_env(path, state), capture_output=True, text=True,
        timeout=120, cwd=state,
    )


def _tree(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*") if "__pycache__" not in p.parts}


def _log(state: Path) -> list[str]:
    return (state / "log").read_text().splitlines() if (state / "log").exists() else []


@pytest.mark.parametrize("script", ["up.sh", "down.sh"])
def test_missing_tools_exit_2_listing_each_before_changing_anything(tmp_path: Path, script: str) -> None:
    repo = make_repo(tmp_path / "repo")
    before = _tree(repo)
    result = _run(repo, script, minimal_path(tmp_path / "bin"), tmp_path / "state")
    assert result.returncode == 2, result.stderr
    missing = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert [line.split(":")[0].removeprefix("  - ") for line in missing] == list(TOOLS)
    for line in missing:
        assert "http" in line or "install" in line, f"no install hint in {line!r}"
    assert "Nothing was changed" in result.stderr
    assert _tree(repo) == before
    assert not (repo / ".pulumi").exists() and not (repo / ".pulumi-passphrase").exists()


def test_docker_daemon_not_running_is_a_missing_tool(tmp_path: Path) -> None:
    repo, state, bin_dir = make_repo(tmp_path / "repo"), tmp_path / "state", tmp_path / "stubs"
    write_stubs(bin_dir)
    state.mkdir()
    (state / "daemon-down").touch()
    result = _run(repo, "up.sh", f"{bin_dir}:{minimal_path(tmp_path / 'bin')}", state)
    assert result.returncode == 2, result.stderr
    assert "  - docker daemon: " in result.stderr
    assert "  - kind" not in result.stderr and "  - pulumi" not in result.stderr
    assert [line.split()[:2] for line in _log(state)] == [["docker", "info"]], "did something before exiting"


def test_only_the_missing_ones_are_listed(tmp_path: Path) -> None:
    repo, state, bin_dir = make_repo(tmp_path / "repo"), tmp_path / "state", tmp_path / "stubs"
    write_stubs(bin_dir, tools=("docker", "uv"))
    result = _run(repo, "up.sh", f"{bin_dir}:{minimal_path(tmp_path / 'bin')}", state)
    assert result.returncode == 2
    listed = [line.split(":")[0].removeprefix("  - ") for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert listed == ["kind", "pulumi"]


@pytest.fixture
def stubbed(tmp_path: Path) -> tuple[Path, Path, str]:
    repo, state, bin_dir = make_repo(tmp_path / "repo"), tmp_path / "state", tmp_path / "stubs"
    write_stubs(bin_dir)
    return repo, state, f"{bin_dir}:{minimal_path(tmp_path / 'bin')}"


def test_up_creates_registry_cluster_and_stack_then_prints_how_to_use_it(stubbed: tuple[Path, Path, str]) -> None:
    repo, state, path = stubbed
    result = _run(repo, "up.sh", path, state)
    assert result.returncode == 0, result.stderr
    log = _log(state)
    mutating = [line for line in log if line.split()[1] in ("sync", "create", "up") or line.startswith("docker run")]
    assert mutating[0] == "uv sync --frozen", "the environment comes from the lock file first"
    assert "docker run -d --restart=always -p 127.0.0.1:5001:5000 --network bridge --name kind-registry" in (
        "\n".join(log)
    )
    assert any(line.startswith("kind create cluster --name faasplane --config=") for line in log)

    config = kind_config.stack_settings("dev")
    assert yaml.safe_load((state / "kind-config.yaml").read_text()) == kind_config.cluster_config(config)
    mapping = kind_config.cluster_config(config)["nodes"][0]["extraPortMappings"]
    assert mapping == [{"containerPort": 31112, "hostPort": 31112, "listenAddress": "127.0.0.1", "protocol": "TCP"}]
    assert (state / "node-file-path").read_text().strip() == "/etc/containerd/certs.d/localhost:5001/hosts.toml"
    assert (state / "node-file").read_text().strip() == '[host."http://kind-registry:5000"]'
    assert "docker network connect kind kind-registry" in log
    applied = yaml.safe_load((state / "kubectl-apply.yaml").read_text())
    assert applied["metadata"] == {"name": "local-registry-hosting", "namespace": "kube-public"}
    assert yaml.safe_load(applied["data"]["localRegistryHosting.v1"])["host"] == "localhost:5001"

    pulumi = [line for line in log if line.startswith("pulumi ")]
    assert [line.split(" [")[0] for line in pulumi] == [
        "pulumi stack select --create dev --non-interactive",
        "pulumi config get faasplane:adminPassword --stack dev",
        "pulumi config set --secret faasplane:adminPassword --stack dev --non-interactive",
        "pulumi up --yes --refresh --non-interactive --stack dev",
        "pulumi stack output externalGatewayUrl --stack dev",
    ]
    passphrase = repo / ".pulumi-passphrase"
    for line in pulumi:
        assert f"backend=file://{repo}/.pulumi " in line and f"passfile={passphrase} " in line and "pass=]" in line
    assert (repo / ".pulumi").is_dir()
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600 and len(passphrase.read_text().strip()) >= 40
    password = (state / "admin-password").read_text()
    assert len(password) >= 40 and "\n" not in password and ":" not in password, "a secret from stdin, not argv"
    # The order that makes it work: registry and cluster before Pulumi pushes images and deploys.
    assert log.index("uv sync --frozen") < next(i for i, line in enumerate(log) if line.startswith("kind create"))
    assert next(i for i, line in enumerate(log) if line.startswith("kind create")) < next(
        i for i, line in enumerate(log) if line.startswith("pulumi up")
    )

    out = result.stdout
    assert f"Gateway:        {GATEWAY_URL}\n" in out
    assert "pulumi stack output adminPassword --show-secrets --stack dev" in out
    assert f"PULUMI_BACKEND_URL=file://{repo}/.pulumi" in out
    assert f"curl -s -d '1 2 3' {GATEWAY_URL}/function/sum" in out


def test_up_again_creates_nothing_and_keeps_the_passphrase(stubbed: tuple[Path, Path, str]) -> None:
    repo, state, path = stubbed
    assert _run(repo, "up.sh", path, state).returncode == 0
    passphrase = (repo / ".pulumi-passphrase").read_text()
    (state / "log").unlink()
    again = _run(repo, "up.sh", path, state)
    assert again.returncode == 0, again.stderr
    log = _log(state)
    assert not [line for line in log if line.startswith(("kind create", "docker run", "docker network", "docker start"))]
    assert any(line.startswith("pulumi up --yes") for line in log)
    assert (repo / ".pulumi-passphrase").read_text() == passphrase
    assert not [line for line in log if line.startswith("pulumi config set")], "the admin password is kept"


def test_up_restarts_a_stopped_registry(stubbed: tuple[Path, Path, str]) -> None:
    repo, state, path = stubbed
    assert _run(repo, "up.sh", path, state).returncode == 0
    (state / "containers" / "kind-registry").write_text("false\n")
    (state / "log").unlink()
    assert _run(repo, "up.sh", path, state).returncode == 0
    assert "docker start kind-registry" in _log(state)


def test_up_refuses_to_replace_a_lost_passphrase_of_existing_state(stubbed: tuple[Path, Path, str]) -> None:
    repo, state, path = stubbed
    stacks = repo / ".pulumi" / ".pulumi" / "stacks" / "faasplane"
    stacks.mkdir(parents=True)
    (stacks / "dev.json").write_text("{}")
    result = _run(repo, "up.sh", path, state)
    assert result.returncode == 1
    assert ".pulumi-passphrase is missing" in result.stderr
    assert not (repo / ".pulumi-passphrase").exists()
    assert not [line for line in _log(state) if line.startswith("pulumi up")]


def test_up_after_forgetting_the_stack_stops_on_the_salt_of_the_lost_passphrase(
    stubbed: tuple[Path, Path, str],
) -> None:
    """`make down`, then remove .pulumi/ and the passphrase as its message says: the stack file still has
    the encryptionsalt: line of the old passphrase, which a new one cannot match ("incorrect passphrase")."""
    repo, state, path = stubbed
    stack_file = repo / "stacks" / "Pulumi.dev.yaml"
    assert "encryptionsalt:" not in stack_file.read_text()
    assert _run(repo, "up.sh", path, state).returncode == 0
    assert "\nencryptionsalt: " in stack_file.read_text(), "the stub writes the salt as pulumi does"
    down = _run(repo, "down.sh", path, state)
    assert down.returncode == 0, down.stderr
    assert "encryptionsalt: line of stacks/Pulumi.dev.yaml" in down.stderr, "down must name the salt line"
    shutil.rmtree(repo / ".pulumi")
    (repo / ".pulumi-passphrase").unlink()
    (state / "log").unlink()
    before = _tree(repo)

    result = _run(repo, "up.sh", path, state)
    assert result.returncode == 2, result.stderr
    assert "stacks/Pulumi.dev.yaml still has the encryptionsalt: line" in result.stderr
    assert "restore " in result.stderr and "delete the encryptionsalt: line" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert _tree(repo) == before and not (repo / ".pulumi-passphrase").exists()
    assert [line.split()[:2] for line in _log(state)] == [["docker", "info"]], "did something before exiting"

    # Doing what it says (deleting the salt line) lets the next `make up` start the stack over.
    stack_file.write_text("".join(
        line for line in stack_file.read_text().splitlines(keepends=True) if not line.startswith("encryptionsalt:")
    ))
    again = _run(repo, "up.sh", path, state)
    assert again.returncode == 0, again.stderr
    assert (repo / ".pulumi-passphrase").exists() and stack_file.read_text().count("encryptionsalt:") == 1


def test_up_with_the_passphrase_restored_keeps_the_salt(stubbed: tuple[Path, Path, str]) -> None:
    repo, state, path = stubbed
    assert _run(repo, "up.sh", path, state).returncode == 0
    shutil.rmtree(repo / ".pulumi")
    again = _run(repo, "up.sh", path, state)
    assert again.returncode == 0, again.stderr
    assert (repo / "stacks" / "Pulumi.dev.yaml").read_text().count("encryptionsalt:") == 1


def test_down_destroys_then_deletes_cluster_and_registry_and_is_safe_to_repeat(
    stubbed: tuple[Path, Path, str],
) -> None:
    repo, state, path = stubbed
    assert _run(repo, "up.sh", path, state).returncode == 0
    (state / "log").unlink()
    down = _run(repo, "down.sh", path, state)
    assert down.returncode == 0, down.stderr
    log = [line.split(" [")[0] for line in _log(state)]
    destroy = log.index("pulumi destroy --yes --non-interactive --stack dev")
    delete = log.index("kind delete cluster --name faasplane")
    assert destroy < delete < log.index("docker rm -f kind-registry")
    (state / "log").unlink()
    again = _run(repo, "down.sh", path, state)
    assert again.returncode == 0, again.stderr
    assert not [line for line in _log(state) if line.startswith(("pulumi destroy", "kind delete", "docker rm"))]


def test_scripts_are_executable() -> None:
    for script in ("up.sh", "down.sh"):
        assert os.access(kind_config.ROOT / "scripts" / script, os.X_OK)


def test_the_e2e_idempotence_check_reads_the_pulumi_summary() -> None:
    from tests.e2e_kind.test_kind_cluster import _summary_changes

    assert _summary_changes("Updating (dev)\n\nResources:\n    35 unchanged\n\nDuration: 4s\n") == []
    changed = "Resources:\n    ~ 1 updated\n    + 2 created\n    32 unchanged\n\nDuration: 9s\n"
    assert _summary_changes(changed) == ["~ 1 updated", "+ 2 created"]
    with pytest.raises(AssertionError, match="no Resources: summary"):
        _summary_changes("error: could not connect")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _gone_soon(pids: list[int], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_running(pid) for pid in pids)


@pytest.mark.timeout(60)
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_the_e2e_runner_kills_what_the_script_started_on_timeout(tmp_path: Path) -> None:
    """make up runs pulumi, kind and docker under bash: a timeout must stop all of them, not just bash."""
    from tests.e2e_kind.test_kind_cluster import run_group

    pids = tmp_path / "pids"
    script = f"sleep 300 & echo $! >{pids}; sleep 300 & echo $! >>{pids}; wait"
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_group(["bash", "-c", script], timeout=1.0, grace=2.0)
    children = [int(pid) for pid in pids.read_text().split()]
    assert len(children) == 2
    assert _gone_soon(children), f"still running after the timeout: {children}"
    assert time.monotonic() - started < 10


@pytest.mark.timeout(60)
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_the_e2e_runner_kills_what_a_failed_script_left_behind(tmp_path: Path) -> None:
    from tests.e2e_kind.test_kind_cluster import run_group

    pids = tmp_path / "pids"
    result = run_group(["bash", "-c", f"sleep 300 >/dev/null 2>&1 & echo $! >{pids}; echo out; exit 3"], timeout=30)
    assert result.returncode == 3 and result.stdout == "out\n"
    assert _gone_soon([int(pids.read_text())]), "a failed script's child kept running"
    ok = run_group(["bash", "-c", "echo fine"], timeout=30)
    assert (ok.returncode, ok.stdout) == (0, "fine\n")
