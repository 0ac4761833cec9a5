"""NATS 2.14 with JetStream, started with the arguments the Pro edition renders: a stream survives a kill."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasplane.components import names
from faasplane.components.images import PRO_IMAGES
from tests.queue.conftest import client, kill, rendered_nats, started, tool

pytestmark = pytest.mark.queue

PRO = {f"{names.PROJECT}:edition": names.EDITION_PRO, f"{names.PROJECT}:licenseKey": "test-licence"}


def jetstream(args: list[str], store: Path, log: Path):
    return started(tool("nats-server"), args, store, log, monitor_flag="--http_port", ready_path="/healthz")


def test_a_stream_and_its_messages_survive_a_kill(natsclient: str, tmp_path: Path) -> None:
    container = rendered_nats("dev", PRO, [f"{names.PROJECT}:licenseKey"])
    assert container["image"] == PRO_IMAGES["nats"], "the image whose version make tools builds"
    args = container["args"]
    assert args[0] == "--js", "the Pro edition runs NATS with JetStream"
    store = tmp_path / "store"
    common = ["-stream", names.NATS_CHANNEL, "-subject", names.NATS_CHANNEL]
    with jetstream(args, store, tmp_path / "nats-1.log") as server:
        assert client(natsclient, "js-pub", "-url", server.url, *common, "-count", "100") == {"published": 100}
        kill(server)
    assert (store / "jetstream").is_dir(), "the store is where the rendered --store_dir points"
    with jetstream(args, store, tmp_path / "nats-2.log") as server:
        state = client(natsclient, "js-count", "-url", server.url, "-stream", names.NATS_CHANNEL)
    assert state["messages"] == 100 and state["storage"] == "File"
