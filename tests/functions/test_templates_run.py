"""The function templates run for real: each example's build context, rendered as `Function` renders it, is
built as its Dockerfile builds it (the Go handler compiled against the template's main.go, the Python one
under the template's index.py) and served with the environment of the rendered Deployment, as a non-root
user where the machine allows, then called over HTTP.

The watchdog is not part of this: of-watchdog is not served by the Go module proxy these machines reach, so
the tests call each template's upstream server directly, on the address the watchdog would proxy to.
What only the watchdog does (`/_/health`, cutting a call at exec_timeout) is not tested here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from faasplane.components.function import scaffold
from faasplane.components.function import templating as function_templates
from faasplane.functions import FUNCTIONS_DIR
from tests.functions.run import rendered_env, serving

pytestmark = pytest.mark.functions
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


def concurrently(url: str, bodies: list[str]) -> list[httpx.Response]:
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(lambda body: client.post(url, content=body), bodies))


def test_sum_adds_the_numbers_in_the_body(workdir: Path) -> None:
    with serving("sum", "golang-middleware", FUNCTIONS_DIR / "sum", workdir, rendered_env("sum")) as url:
        assert httpx.post(url, content="1 2 3.5").text.strip() == "6.5"
        bad = httpx.post(url, content="1 two")
        assert bad.status_code == 400 and "field 2" in bad.text
        replies = concurrently(url, [f"{i} {i}" for i in range(16)])
        assert [reply.text.strip() for reply in replies] == [str(2 * i) for i in range(16)]


def test_hello_answers_and_sixteen_calls_at_once_succeed(workdir: Path) -> None:
    with serving("hello", "python3-http", FUNCTIONS_DIR / "hello", workdir, rendered_env("hello")) as url:
        reply = httpx.get(url, params={"name": "faasplane"})
        assert reply.status_code == 200 and reply.json()["message"] == "Hello, faasplane!"
        replies = concurrently(url, [f"caller-{i}" for i in range(16)])
        assert [reply.json()["message"] for reply in replies] == [f"Hello, caller-{i}!" for i in range(16)]


def test_the_application_teams_example_passes_its_tests_and_echoes(workdir: Path) -> None:
    with serving("echo", "python3-http", EXAMPLES_DIR / "app-team" / "echo", workdir, {}) as url:
        reply = httpx.post(url, content="ping")
        assert reply.status_code == 200 and reply.text == "ping"


@pytest.mark.parametrize("lang", ["python3-http", "golang-middleware"])
def test_a_scaffolded_function_passes_its_own_test_and_serves(lang: str, workdir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(function_templates, "BUILD_DIR", workdir / "build")
    scaffold.scaffold("scaffolded", lang, workdir / "functions")
    with serving("scaffolded", lang, workdir / "functions" / "scaffolded", workdir / "run", {}) as url:
        reply = httpx.post(url, content="ping")
        assert reply.status_code == 200, reply.text
        # What the skeleton's handler documents: its name and the size of the body it got.
        if lang == "python3-http":
            assert reply.json() == {"function": "scaffolded", "received": 4}
        else:
            assert reply.text == "scaffolded received 4 bytes\n"


@pytest.mark.parametrize(
    ("lang", "source"),
    [
        ("python3-http", "def handle(event, context):\n    raise RuntimeError('broken')\n"),
        ("golang-middleware", 'package function\n\nimport "net/http"\n\n'
                              'func Handle(w http.ResponseWriter, r *http.Request) { panic("broken") }\n'),
    ],
)
def test_a_handler_error_is_a_5xx(lang: str, source: str, workdir: Path) -> None:
    handler = workdir / "broken"
    handler.mkdir()
    if lang == "python3-http":
        (handler / "handler.py").write_text(source)
    else:
        (handler / "handler.go").write_text(source)
        (handler / "go.mod").write_text("module handler/function\n\ngo 1.23\n")
    with serving("broken", lang, handler, workdir / "run", {}) as url:
        reply = httpx.post(url, content="x")
        assert 500 <= reply.status_code < 600, reply.text
        again = httpx.post(url, content="x")
        assert again.status_code == reply.status_code, "the server lives on"


def test_the_go_server_cuts_a_call_at_the_rendered_write_timeout(workdir: Path) -> None:
    """The Deployment's write_timeout reaches the Go template's server: a call running longer gets no reply."""
    handler = workdir / "slow"
    handler.mkdir()
    (handler / "handler.go").write_text(
        'package function\n\nimport (\n\t"net/http"\n\t"time"\n)\n\n'
        "func Handle(w http.ResponseWriter, r *http.Request) {\n"
        '\tif r.URL.Query().Get("sleep") != "" {\n\t\ttime.Sleep(3 * time.Second)\n\t}\n'
        '\tw.Write([]byte("done"))\n}\n'
    )
    (handler / "go.mod").write_text("module handler/function\n\ngo 1.23\n")
    env = {**rendered_env("sum"), "write_timeout": "1s"}
    with serving("slow", "golang-middleware", handler, workdir / "run", env) as url:
        assert httpx.get(url).text == "done", "a call within the timeout is answered"
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url, params={"sleep": "1"}, timeout=30)
