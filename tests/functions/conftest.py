"""Fixtures of the function tests."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from faasplane.components.function.templating import TEMPLATES_DIR
from tests.functions.run import readable_dir


def load_index():
    """The python3-http template's index.py as a module (it is not a package of the project)."""
    spec = importlib.util.spec_from_file_location("python3_http_index", TEMPLATES_DIR / "python3-http" / "index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def serve() -> Callable[..., Any]:
    """Serve a handle(event, context) with the template's server on loopback; yields a caller."""

    @contextlib.contextmanager
    def serving(handle) -> Iterator[Callable[..., tuple[int, dict[str, str], Any]]]:
        index = load_index()
        server = index.make_server(handle, host="127.0.0.1", port=0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()

        def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
            connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
            try:
                chunked = "chunked" in (headers or {}).get("Transfer-Encoding", "")
                connection.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
                response = connection.getresponse()
                data = response.read()
                found = dict(response.getheaders())
            finally:
                connection.close()
            if found.get("Content-Type") == "application/json":
                return response.status, found, json.loads(data)
            return response.status, found, data.decode()

        try:
            yield call
        finally:
            server.shutdown()
            server.server_close()

    return serving


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory a non-root user can read, for functions served as one (tests/functions/run.py)."""
    with readable_dir() as directory:
        yield directory
