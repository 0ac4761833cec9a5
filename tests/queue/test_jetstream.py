"""NATS 2.14 with JetStream, started with the arguments the Pro edition renders: the queue-worker's stream and
durable consumer, created with the settings the Pro queue-worker is rendered with, survive a kill with every
queued invocation."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasplane.components import names
from faasplane.components.config import duration_seconds
from faasplane.components.images import PRO_IMAGES
from faasplane.components.render import render_stack
from tests.objects import env, pod
from tests.queue.conftest import client, kill, started, tool

pytestmark = pytest.mark.queue

PRO = {f"{names.PROJECT}:edition": names.EDITION_PRO, f"{names.PROJECT}:licenseKey": "test-licence"}
QUEUED = 100


def jetstream(args: list[str], store: Path, log: Path):
    return started(tool("nats-server"), args, store, log, monitor_flag="--http_port", ready_path="/healthz")


def test_the_stream_its_consumer_and_the_queued_invocations_survive_a_kill(natsclient: str, tmp_path: Path) -> None:
    rendered = render_stack("dev", PRO, extra_secret_keys=[f"{names.PROJECT}:licenseKey"])
    nats = pod(rendered, names.NATS)["containers"][0]
    worker = env(pod(rendered, names.QUEUE_WORKER)["containers"][0])
    assert nats["image"] == PRO_IMAGES["nats"], "the image whose version make tools builds"
    args = nats["args"]
    assert args[0] == "--js", "the Pro edition runs NATS with JetStream"
    stream, durable = worker["nats_stream"], worker["nats_durable"]
    store = tmp_path / "store"
    with jetstream(args, store, tmp_path / "nats-1.log") as server:
        # What the queue-worker sets up when it starts, then the gateway's publishes.
        client(natsclient, "js-setup", "-url", server.url, "-stream", stream, "-subject", names.NATS_CHANNEL,
               "-durable", durable, "-replicas", worker["nats_stream_replicas"], "-ack-wait", worker["ack_wait"],
               "-max-ack-pending", worker["max_inflight"])
        assert client(natsclient, "js-pub", "-url", server.url, "-subject", names.NATS_CHANNEL,
                      "-count", str(QUEUED)) == {"published": QUEUED}
        kill(server)
    assert (store / "jetstream" / "$G" / "streams" / stream).is_dir(), \
        "the stream is kept under the rendered --store_dir"
    with jetstream(args, store, tmp_path / "nats-2.log") as server:
        state = client(natsclient, "js-count", "-url", server.url, "-stream", stream, "-durable", durable)
    print(f"after SIGKILL and restart: {state}")
    assert state["messages"] == QUEUED, "none lost"
    assert state["consumer"] == {"name": durable, "pending": QUEUED, "ack_wait_s": duration_seconds(worker["ack_wait"]),
                                 "max_ack_pending": int(worker["max_inflight"])}, \
        "the queue-worker's durable consumer survived the kill, with every invocation still to deliver"
