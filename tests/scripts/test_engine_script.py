"""scripts/engine.py without the tools: where each target's state lives, what runs before anything is
written, a command that hangs, plugins rebuilt at the same release, and the exit codes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from scripts import engine as engine_script
from scripts.engine import ENGINE_DIR, EngineError, EngineStack, NotSetUp, Workspace


def test_offline_and_cluster_stacks_keep_separate_state() -> None:
    offline = EngineStack("dev")
    on_cluster = EngineStack("dev", kubeconfig=Path("/tmp/kubeconfig"))
    assert offline.directory == ENGINE_DIR / "dev"
    assert on_cluster.directory == ENGINE_DIR / "dev-cluster"
    assert offline.state_dir != on_cluster.state_dir


def test_overrides_are_merged_into_the_stack_config_key_by_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_script, "declared_functions", lambda stack: ["sum"])
    engine = EngineStack("dev", overrides={"faasplane:gateway": {"replicas": 3},
                                           "faasplane:functionImages": {"extra": "x"}})
    config, _ = engine.stack_config()
    gateway = config["faasplane:gateway"]
    assert gateway["replicas"] == 3
    assert gateway["exposure"]["nodePort"] == 31112, "the rest of the stack file's gateway block stays"
    assert config["faasplane:functionImages"] == {"sum": engine_script.prebuilt_reference("localhost:5001", "sum"),
                                                 "extra": "x"}, "the overrides merge into the prebuilt images too"


def test_the_project_directory_is_exported_by_the_env_file_only(tmp_path: Path) -> None:
    workspace = Workspace("dev", tmp_path, project=tmp_path / "project")
    assert "FAASPLANE_ENGINE_DIR" not in workspace.environment()  # pulumi and its plugins have no use for it
    workspace.write_env_file()
    assert f"export FAASPLANE_ENGINE_DIR={tmp_path / 'project'}\n" in workspace.env_file.read_text()


def test_missing_tools_are_reported_before_anything_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine_script.tools, "find", lambda name: None)
    rendered: list[str] = []
    monkeypatch.setattr(engine_script, "declared_functions", lambda stack: rendered.append(stack) or [])
    engine = EngineStack("dev", directory=tmp_path / "dev")
    with pytest.raises(NotSetUp, match="make tools"):
        engine.prepare()
    assert not (tmp_path / "dev").exists() and not rendered


def test_a_missing_language_host_is_named_even_when_the_cli_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pulumi-language-python the CLI would fail later, deep in `stack init`: say so up front."""
    monkeypatch.setattr(engine_script.tools, "find", lambda name: None if name == "pulumi-language-python" else name)
    with pytest.raises(NotSetUp, match=r"^pulumi-language-python.* not built: run `make tools`"):
        EngineStack.check_tools()


def test_a_command_that_times_out_goes_with_its_process_group(tmp_path: Path) -> None:
    workspace = Workspace("dev", tmp_path, project=tmp_path)
    pid_file = tmp_path / "child"
    # A child that would outlive its parent, as the language host and the providers outlive pulumi.
    script = f"sleep 300 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"timed out after 1 s") as raised:
        workspace._run(["sh", "-c", script], timeout=1)
    assert time.monotonic() - started < 30
    assert "sh -c" in str(raised.value)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    stat = Path(f"/proc/{child}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_a_provider_rebuilt_at_the_same_release_is_installed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    tool = SimpleNamespace(plugin="kubernetes", release="4.25.0")
    monkeypatch.setattr(engine_script, "load_pins", lambda: [tool])
    built = {"path": tmp_path / "build-1" / "pulumi-resource-kubernetes"}
    monkeypatch.setattr(engine_script, "built_binary", lambda tool, name: built["path"])
    installs: list[list[str]] = []

    def run(self: Workspace, command: list[str], check: bool = True, *args: object, **kwargs: object):
        if command[1:3] == ["plugin", "ls"]:
            listed = [{"kind": "resource", "name": "kubernetes", "version": "4.25.0"}] if installs else []
            return subprocess.CompletedProcess(command, 0, json.dumps(listed), "")
        installs.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(Workspace, "_run", run)
    workspace = Workspace("dev", tmp_path, home=tmp_path / "home")
    (tmp_path / "home" / "plugins").mkdir(parents=True)
    workspace.install_plugins()
    workspace.install_plugins()
    assert len(installs) == 1
    built["path"] = tmp_path / "build-2" / "pulumi-resource-kubernetes"
    workspace.install_plugins()
    assert len(installs) == 2 and "--reinstall" in installs[1] and str(built["path"]) in installs[1]


@pytest.mark.parametrize(("error", "code"), [
    (EngineError("`pulumi up` failed: run `make tools` said the language host"), 1),
    (NotSetUp("pulumi not built"), 2),
])
def test_the_exit_code_follows_the_kind_of_error(error: EngineError, code: int, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def fail(engine: EngineStack) -> int:
        raise error

    monkeypatch.setattr(engine_script, "up", fail)
    assert engine_script.main(["up", "--stack", "dev"]) == code
    assert str(error) in capsys.readouterr().err


def test_no_such_stack_file_is_something_to_set_up() -> None:
    with pytest.raises(NotSetUp, match="no such stack file"):
        EngineStack("no-such-stack").stack_config()


def test_pulumi_output_that_is_not_json_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Workspace, "pulumi", lambda self, *args, **kwargs: SimpleNamespace(stdout="warning: x"))
    with pytest.raises(EngineError, match="pulumi stack export printed no valid JSON"):
        Workspace("dev", tmp_path).export()
