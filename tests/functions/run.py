"""Build a function's rendered build context with the Dockerfile's steps and serve it, as the image's non-root
user where the machine allows: the template's upstream server, on the address the watchdog would proxy to.
Used by the functions tier and benchmarks/functions.py.

What differs from the image: the machine's Go and Python run the steps (not the base images' versions), the
handler's tests run as the user running pytest, and a python3-http handler's requirements.txt is not
installed (the example handlers have none beyond the standard library)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from faasplane.components.function.templating import render_build_context, template
from faasplane.components.k8s import NON_ROOT_UID
from faasplane.components.render import render_stack
from tests import objects, tiers
from tests.doubles.processes import free_port, managed, wait_port

USER_ID = NON_ROOT_UID
"""The templates' USER (a numeric uid without a passwd entry, as in the images)."""
NO_TESTS_RAN = 5
"""unittest's exit status when discovery found no test (Python 3.12 and later)."""


def go() -> str:
    found = shutil.which("go")
    tiers.require(found is not None, "functions", "go is not on PATH: the Go template's handler is compiled with it")
    assert found is not None
    return found


def rendered_env(function: str) -> dict[str, str]:
    """The literal container environment of the function's Deployment in the dev render (entries from
    Secrets are left out: the functions tier serves handlers without a cluster to read them from)."""
    return objects.env(objects.pod(render_stack("dev"), function)["containers"][0])


SYSTEM_PYTHON = Path("/usr/bin/python3")
"""An interpreter outside /root (mode 700 here), which a non-root user can run."""


def as_non_root() -> list[str]:
    """A command prefix that drops root, as the image's USER does (nothing when not root or not possible)."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return []
    return [setpriv, f"--reuid={USER_ID}", f"--regid={USER_ID}", "--clear-groups"]


def python() -> str:
    """The interpreter index.py runs under: one the non-root user can run, where there is one."""
    return str(SYSTEM_PYTHON) if as_non_root() and os.access(SYSTEM_PYTHON, os.X_OK) else sys.executable


@contextlib.contextmanager
def readable_dir() -> Iterator[Path]:
    """A directory the non-root user can read (pytest's own temp directories are private to root)."""
    directory = Path(tempfile.mkdtemp(prefix="faasplane-functions-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def build(name: str, lang: str, handler: Path, destination: Path) -> tuple[list[str], Path]:
    """Render the build context and run the Dockerfile's test and build steps on it (with the differences the
    module docstring lists); (the fprocess command, its directory)."""
    context = render_build_context(name, template(lang), handler, destination)
    context.chmod(0o755)
    for path in context.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    if lang == "golang-middleware":
        env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": ""}  # as the Dockerfile
        tested = subprocess.run([go(), "test", "./..."], cwd=context / "function", env=env, capture_output=True,
                                text=True, timeout=600, check=False)
        assert tested.returncode == 0, tested.stdout + tested.stderr
        built = subprocess.run([go(), "build", "-trimpath", "-o", str(context / "handler"), "."], cwd=context,
                               env=env, capture_output=True, text=True, timeout=600, check=False)
        assert built.returncode == 0, built.stderr
        (context / "handler").chmod(0o755)
        return [str(context / "handler")], context
    (context / "function" / "__init__.py").touch()  # as the Dockerfile does before its tests
    tested = subprocess.run([python(), "-m", "unittest", "discover", "--start-directory", "function",
                             "--top-level-directory", "."], cwd=context, capture_output=True, text=True,
                            timeout=300, check=False)
    # As the Dockerfile: exit 5 (no test ran, from Python 3.12) builds; any other failure does not.
    assert tested.returncode in (0, NO_TESTS_RAN), tested.stdout + tested.stderr
    return [python(), "index.py"], context


@contextlib.contextmanager
def serving(name: str, lang: str, handler: Path, tmp_path: Path, env: dict[str, str]) -> Iterator[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    tmp_path.chmod(0o755)
    command, directory = build(name, lang, handler, tmp_path / name)
    port = free_port()
    full_env = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(tmp_path),
                **env, "upstream_url": f"http://127.0.0.1:{port}"}
    with managed([*as_non_root(), *command], tmp_path / f"{name}.log", env=full_env, cwd=directory) as process:
        wait_port(port, process)
        if as_non_root():
            uid = next(line.split()[1] for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
                       if line.startswith("Uid:"))
            assert uid == str(USER_ID), "the function runs as the image's non-root user"
        yield f"http://127.0.0.1:{port}"
