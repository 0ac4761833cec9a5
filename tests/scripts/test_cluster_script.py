"""scripts/cluster.py without the cluster: process identity, what `down` signals and removes, what `up`
accepts as its directory, and the errors it reports instead of tracebacks."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from scripts import cluster as cluster_script
from scripts.cluster import OWNED, Cluster, ClusterError, PortTaken, identity, same_process


@pytest.fixture
def sleeper():
    """A process in a session of its own, as `up` starts the components."""
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield process
    process.kill()
    process.wait()


def test_a_recorded_process_is_the_same_only_with_its_start_time_and_executable(sleeper: subprocess.Popen) -> None:
    recorded = identity(sleeper.pid)
    assert recorded is not None and recorded["exe"].endswith("sleep")
    assert same_process(recorded)
    assert not same_process({**recorded, "start": str(int(recorded["start"]) + 1)})  # the PID reused later
    assert not same_process({**recorded, "exe": "/usr/bin/other"})
    assert not same_process(sleeper.pid)  # a bare PID (no identity recorded) is never signalled


def test_the_command_name_may_hold_a_parenthesis(tmp_path: Path) -> None:
    odd = tmp_path / "sl) eep"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", odd)
    process = subprocess.Popen([str(odd), "60"])
    try:
        recorded = identity(process.pid)
        assert recorded is not None and same_process(recorded)
    finally:
        process.kill()
        process.wait()
    assert not same_process(recorded)


def test_stop_leaves_a_process_that_is_no_longer_the_one_up_started(tmp_path: Path, sleeper: subprocess.Popen):
    recorded = identity(sleeper.pid)
    assert recorded is not None
    stale = Cluster(tmp_path, processes={"etcd": {**recorded, "start": "1"}})
    stale.stop(timeout=1)
    assert sleeper.poll() is None
    Cluster(tmp_path, processes={"etcd": recorded}).stop(timeout=5)
    assert sleeper.wait(timeout=5) is not None


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _leftovers(directory: Path, created: bool) -> None:
    for name in ("pki", "logs", "etcd"):
        (directory / name).mkdir(parents=True)
        (directory / name / "file").write_text("x")
    (directory / "kubeconfig").write_text("x")
    (directory / "state.json").write_text(json.dumps({"ports": {}, "nodes": 1, "created_directory": created,
                                                      "processes": {"etcd": {"pid": _dead_pid(), "start": "0", "exe": "etcd"}}}))


def test_down_removes_only_what_up_created(tmp_path: Path) -> None:
    directory = tmp_path / "cluster"
    _leftovers(directory, created=False)
    (directory / "notes.txt").write_text("the user's")
    Cluster.load(directory).down()
    assert sorted(path.name for path in directory.iterdir()) == ["notes.txt"]


def test_down_removes_the_directory_up_made(tmp_path: Path) -> None:
    directory = tmp_path / "cluster"
    _leftovers(directory, created=True)
    Cluster.load(directory).down()
    assert not directory.exists()


def test_up_starts_afresh_over_a_cluster_that_no_longer_runs(tmp_path: Path) -> None:
    directory = tmp_path / "cluster"
    _leftovers(directory, created=True)
    cluster = Cluster(directory)
    cluster._claim_directory()
    assert cluster.cleared and cluster.created_directory
    assert sorted(path.name for path in directory.iterdir()) == ["state.json"]
    assert directory.stat().st_mode & 0o777 == 0o700


def test_up_refuses_a_directory_whose_cluster_runs(tmp_path: Path, sleeper: subprocess.Popen) -> None:
    Cluster(tmp_path, processes={"etcd": identity(sleeper.pid) or {}})._save()
    with pytest.raises(ClusterError, match="already running"):
        Cluster(tmp_path)._claim_directory()


def test_up_refuses_a_directory_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("x")
    with pytest.raises(ClusterError, match="no state.json"):
        Cluster(tmp_path)._claim_directory()
    assert [path.name for path in tmp_path.iterdir()] == ["mine.txt"]


def test_up_takes_an_empty_directory_and_makes_it_private(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    cluster = Cluster(tmp_path)
    cluster._claim_directory()
    assert not cluster.created_directory and tmp_path.stat().st_mode & 0o777 == 0o700


def test_an_unreadable_state_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "state.json").write_text('{"processes": ')
    assert cluster_script.main(["down", "--dir", str(tmp_path)]) == 1
    assert f"{tmp_path / 'state.json'} is unreadable" in capsys.readouterr().err


def test_missing_openssl_is_reported_before_anything_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cluster_script.tools, "locate", lambda name, **_: object())
    monkeypatch.setattr(cluster_script, "built_binary", lambda tool, name: tmp_path / name)
    monkeypatch.setattr(Cluster, "_binary", staticmethod(lambda name: name))
    monkeypatch.setattr(cluster_script.shutil, "which", lambda name: None)
    directory = tmp_path / "cluster"
    with pytest.raises(ClusterError, match="openssl is not installed"):
        Cluster(directory).up()
    assert not directory.exists()


def test_a_kubectl_that_hangs_is_an_error_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(command: list[str], **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(command, 120)

    monkeypatch.setattr(Cluster, "_binary", staticmethod(lambda name: name))
    monkeypatch.setattr(cluster_script.subprocess, "run", hang)
    with pytest.raises(ClusterError, match="kubectl get nodes timed out"):
        Cluster(tmp_path).kubectl("get", "nodes")


def test_a_port_taken_while_starting_is_told_apart(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "etcd.log").write_text("listen tcp 127.0.0.1:2379: bind: address already in use\n")
    cluster = Cluster(tmp_path, processes={"etcd": {"pid": _dead_pid()}})
    with pytest.raises(PortTaken):
        cluster._wait("etcd", lambda: False, timeout=1)


def test_owned_names_what_up_writes() -> None:
    assert {"pki", "logs", "etcd", "kubeconfig", "env", "state.json"} <= set(OWNED)


def test_free_port_is_defined_once_and_bindable() -> None:
    from tests.doubles import processes

    assert processes.free_port is cluster_script.free_port
    port = cluster_script.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))  # nothing held on to it
