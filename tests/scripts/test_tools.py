"""`make tools` (scripts.tools) without Go: versions, the go environment, links, the lock, failures, pins.

The builds here are recipe tools (no Go module): their step is a function of this file, patched into
scripts.tools.recipes, and the tools cache is a temporary `$FAASPLANE_TOOLS`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import scripts.tools
from scripts.tools import __main__ as cli
from scripts.tools import build, pins, recipes
from scripts.tools.build import BuildError


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "tools"
    monkeypatch.setenv("FAASPLANE_TOOLS", str(home))
    scripts.tools._current_builds.cache_clear()
    yield home
    scripts.tools._current_builds.cache_clear()


def write_tool(tool: pins.Tool, staging: Path, work: Path, log: Path) -> None:
    (staging / "hello").write_text("#!/bin/sh\necho hello\n")
    (staging / "hello").chmod(0o755)


def broken_tool(tool: pins.Tool, staging: Path, work: Path, log: Path) -> None:
    (staging / "hello").write_text("half")
    raise RuntimeError("the recipe broke")


def recipe_tool(name: str, step: str, monkeypatch: pytest.MonkeyPatch, function) -> pins.Tool:
    monkeypatch.setattr(recipes, step, function, raising=False)
    return pins._tool(name, {"tier": "engine", "licence": "Apache-2.0", "recipe": step,
                             "binaries": {"hello": "written by the step"}})


# --- the Go version -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("go1.26.8", (1, 26, 8)),
    ("go1.26", (1, 26, 0)),
    ("go1.26rc1", (1, 26, -1)),
    ("go1.24beta2", (1, 24, -1)),
    ("go1.26.8 X:nodwarf5", (1, 26, 8)),
    ("go1.27-devel_abc123 Tue Jan 1 00:00:00 2026 +0000", (1, 27, 0)),
    ("devel go1.27-abc123", (1, 27, 0)),
    ("", None),
    ("gccgo", None),
])
def test_go_versions_are_parsed(text: str, expected: tuple[int, int, int] | None) -> None:
    assert build.parse_go_version(text) == expected


def test_the_minimum_is_what_the_pinned_modules_need() -> None:
    assert build.GO_MIN == (1, 26, 6)
    assert build.check_go_version("go1.26.6") == "go1.26.6"
    assert build.check_go_version("go1.27rc1") == "go1.27rc1"
    for old in ("go1.24.9", "go1.25.7", "go1.26.5", "go1.26rc1"):
        with pytest.raises(BuildError, match=r"too old: the pinned modules need Go 1\.26\.6 or later"):
            build.check_go_version(old)
    with pytest.raises(BuildError, match="cannot tell"):
        build.check_go_version("gccgo")


def fake_go(directory: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    directory.mkdir()
    (directory / "go").write_text(f"#!/bin/sh\n{script}\n")
    (directory / "go").chmod(0o755)
    monkeypatch.setenv("PATH", str(directory))
    build._go_version.cache_clear()


def test_a_failing_go_env_is_not_reported_as_too_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_go(tmp_path / "bin", "echo 'go: cannot find GOROOT directory' >&2; exit 2", monkeypatch)
    try:
        with pytest.raises(BuildError) as error:
            build.go_version()
        assert "failed (exit 2): go: cannot find GOROOT directory" in str(error.value)
        assert "too old" not in str(error.value)
    finally:
        build._go_version.cache_clear()


def test_an_old_go_and_no_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_go(tmp_path / "bin", "echo go1.25.3", monkeypatch)
    try:
        with pytest.raises(BuildError, match=r"go1\.25\.3 is too old.*https://go\.dev/dl"):
            build.go_version()
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        build._go_version.cache_clear()
        with pytest.raises(BuildError, match=r"go is not on PATH: install Go 1\.26\.6 or later"):
            build.go_version()
    finally:
        build._go_version.cache_clear()


def test_goflags_keep_the_users_and_add_module_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    build._configured_goflags.cache_clear()
    monkeypatch.setenv("GOFLAGS", "-modcacherw -mod=vendor")
    monkeypatch.delenv("GOTOOLCHAIN", raising=False)
    monkeypatch.delenv("GONOSUMDB", raising=False)
    try:
        env = build.go_env()
    finally:
        build._configured_goflags.cache_clear()
    assert env["GOFLAGS"] == "-modcacherw -mod=mod"
    assert env["GOTOOLCHAIN"] == "local"
    assert "GONOSUMDB" not in env


# --- links, builds, failures ----------------------------------------------------------------------

def test_links_are_replaced_atomically_and_left_alone_when_right(cache: Path, monkeypatch) -> None:
    tool = recipe_tool("hello", "write_hello", monkeypatch, write_tool)
    first, second = cache / "hello" / "a", cache / "hello" / "b"
    for directory in (first, second):
        directory.mkdir(parents=True)
        (directory / "hello").write_text("x")
    build.link(tool, first)
    link = cache / "bin" / "hello"
    inode = link.lstat().st_ino
    build.link(tool, first)
    assert link.lstat().st_ino == inode  # not replaced: a warm run removes no link, even for a moment
    build.link(tool, second)
    assert os.readlink(link) == str(second / "hello")
    assert sorted(p.name for p in (cache / "bin").iterdir()) == ["hello"]  # no temporary link left


def test_a_build_links_and_deletes_older_builds(cache: Path, monkeypatch) -> None:
    tool = recipe_tool("hello", "write_hello", monkeypatch, write_tool)
    old = cache / "hello" / "local-0000000000"
    (old / "hello").parent.mkdir(parents=True)
    (old / "hello").write_text("old")
    leftover = cache / "hello" / "local-1111111111.partial"
    leftover.mkdir()
    monkeypatch.setattr(pins, "load", lambda: [tool])
    result = build.build(tool)
    assert not result.cached and result.directory == build.built_dir(tool)
    assert sorted(p.name for p in (cache / "hello").iterdir()) == [result.directory.name]
    assert scripts.tools.find("hello") == cache / "bin" / "hello"
    again = build.build(tool)
    assert again.cached and again.directory == result.directory


def test_a_failed_build_leaves_no_link_to_an_older_build_and_no_staging(cache: Path, monkeypatch) -> None:
    tool = recipe_tool("hello", "break_hello", monkeypatch, broken_tool)
    old = cache / "hello" / "local-0000000000"
    old.mkdir(parents=True)
    (old / "hello").write_text("#!/bin/sh\n")
    (old / "hello").chmod(0o755)
    (old / ".built").write_text("{}")
    build.link(tool, old)
    monkeypatch.setattr(pins, "load", lambda: [tool])
    assert scripts.tools.find("hello") is None  # an older build: not what the pins ask for
    assert scripts.tools.stale("hello")
    with pytest.raises(RuntimeError):
        build.build(tool)
    assert not (cache / "bin" / "hello").exists() and not (cache / "bin" / "hello").is_symlink()
    assert not build.built_dir(tool).with_name(build.built_dir(tool).name + ".partial").exists()
    assert build.log_path(tool).exists()  # the log stays


def test_a_corrupt_marker_rebuilds(cache: Path, monkeypatch) -> None:
    tool = recipe_tool("hello", "write_hello", monkeypatch, write_tool)
    build.build(tool)
    (build.built_dir(tool) / ".built").write_text("{not json")
    assert not build.build(tool).cached


def test_one_tools_unexpected_error_fails_only_that_tool(cache: Path, monkeypatch, capsys) -> None:
    broken = recipe_tool("broken", "break_hello", monkeypatch, broken_tool)
    fine = recipe_tool("hello", "write_hello", monkeypatch, write_tool)
    monkeypatch.setattr(cli, "load", lambda: [broken, fine])
    assert cli.main([]) == 1
    out, err = capsys.readouterr()
    line = next(line for line in out.splitlines() if "FAILED" in line)
    assert line.strip() == (f"FAILED: unexpected RuntimeError: the recipe broke (log {cache}/work/broken/build.log)")
    assert "broken: unexpected RuntimeError" in err
    assert (cache / "bin" / "hello").exists()


def test_rebuild_without_tiers_builds_only_that_tool(cache: Path, monkeypatch, capsys) -> None:
    other = recipe_tool("other", "break_hello", monkeypatch, broken_tool)
    fine = recipe_tool("hello", "write_hello", monkeypatch, write_tool)
    monkeypatch.setattr(cli, "load", lambda: [other, fine])
    assert cli.main(["--rebuild", "hello"]) == 0
    out = capsys.readouterr().out
    assert "--> hello" in out and "--> other" not in out


def test_the_lock_keeps_a_second_run_out(cache: Path) -> None:
    probe = ("import fcntl, sys\nwith open(sys.argv[1], 'a+') as f:\n"
             "    try:\n        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    except BlockingIOError:\n"
             "        sys.exit(3)\n")
    with build.locked():
        held = subprocess.run([sys.executable, "-c", probe, str(cache / ".lock")], check=False)
    free = subprocess.run([sys.executable, "-c", probe, str(cache / ".lock")], check=False)
    assert (held.returncode, free.returncode) == (3, 0)


def test_recipes_name_the_pin_key(tmp_path: Path) -> None:
    tool = pins._tool("docker-build", {"tier": "engine", "licence": "x", "module": "m", "version": "v1.0.0",
                                       "binaries": {"b": "m/b"}, "stand_ins": [{"module": "x"}]})
    with pytest.raises(BuildError, match=r"tools\.docker-build\.stand_ins\[0\]: missing source, files, go"):
        recipes.stand_ins(tool, tmp_path, tmp_path / "log")
    provider = pins._tool("kubernetes", {"tier": "engine", "licence": "x", "module": "m", "version": "v1.0.0",
                                         "binaries": {"b": "m/b"}})
    with pytest.raises(BuildError, match=r"tools\.kubernetes\.requires: pin github.com/pulumi/pulumi-kubernetes"):
        recipes.kubernetes_provider(provider, tmp_path, tmp_path / "log")


# --- pins -----------------------------------------------------------------------------------------

def test_the_language_host_is_a_cache_entry_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    tools = {tool.name: tool for tool in pins.load()}
    cli_tool, host = tools["pulumi"], tools["pulumi-langhost"]
    assert host.recipe == "langhost" and list(host.binaries) == ["pulumi-language-python"]
    before = (cli_tool.fingerprint, host.fingerprint)
    monkeypatch.setattr(recipes, "langhost_inputs", lambda: b"an edited langhost.py")
    assert cli_tool.fingerprint == before[0]
    assert host.fingerprint != before[1]
    monkeypatch.undo()
    assert host.fingerprint == before[1]
    monkeypatch.setattr(recipes, "langhost_python", lambda: "/usr/bin/python3.12")
    assert host.fingerprint != before[1]


def test_a_recipe_tool_takes_no_module(tmp_path: Path) -> None:
    with pytest.raises(pins.PinError, match="a recipe tool takes none of"):
        pins._tool("x", {"tier": "engine", "licence": "x", "recipe": "langhost", "module": "m", "binaries": {}})


def test_file_sources_follow_the_version() -> None:
    kwok = next(tool for tool in pins.load() if tool.name == "kwok")
    sources = {kwok.expand(source).partition(":")[0] for source in kwok.files.values()}
    assert sources == {f"sigs.k8s.io/kwok@{kwok.version}"}


def test_missing_message_names_go_and_stand_ins_only_for_monitoring(cache: Path, monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert "needs Go 1.26.6 or later" in scripts.tools.missing_message(["etcd"])
    assert "prometheus-alertmanager" not in scripts.tools.missing_message(["etcd"])
    assert "prometheus-alertmanager" in scripts.tools.missing_message(["amtool"])


def test_missing_message_names_the_build_tiers_to_run() -> None:
    assert "run `make tools TIERS=cluster`" in scripts.tools.missing_message(["etcd", "kubectl"])
    assert 'run `make tools TIERS="monitoring queue"`' in scripts.tools.missing_message(["nats-server", "amtool"])
    assert "run `make tools` " in scripts.tools.missing_message(["not-pinned"])


def test_the_wrapper_takes_both_forms_a_prepare_step_returns(tmp_path: Path) -> None:
    tool = pins._tool("k", {"tier": "cluster", "licence": "x", "module": "k8s.io/kubernetes", "version": "v1.37.2",
                            "binaries": {"b": "k8s.io/kubernetes/cmd/b"}})
    gomod = build.wrapper_gomod(tool, "go1.26.6", {"k8s.io/api": "k8s.io/api v0.37.2", "example.com/m": tmp_path})
    assert "\tk8s.io/api => k8s.io/api v0.37.2\n" in gomod
    assert f"\texample.com/m => {tmp_path}\n" in gomod
    assert "\tk8s.io/kubernetes v1.37.2\n" in gomod and "go 1.26.6\n" in gomod


def _pinned(tier: str) -> set[str]:
    return {name for tool in pins.load() if tool.tier == tier for name in tool.binaries}


def test_the_lists_of_tools_elsewhere_name_pinned_binaries_of_their_tier() -> None:
    """The pins are the one list of tools: the cluster script starts exactly its tier's binaries, and the
    tools the engine script and the tier report name are pinned in the tier they are reported under."""
    from scripts import cluster, engine
    from tests import tiers

    assert set(cluster.BINARIES) == _pinned("cluster")
    assert set(engine.REQUIRED_TOOLS) <= _pinned("engine")
    for tier, names in tiers.TOOLS.items():
        assert set(names) <= _pinned(tier), f"tests/tiers.py TOOLS[{tier!r}] names tools not pinned in that tier"
