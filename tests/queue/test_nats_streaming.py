"""NATS Streaming 0.25.6 with the rendered arguments: the file store keeps queued invocations across a kill,
and the memory store stays under the pod's memory limit however much goes through it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from faasplane.components import names
from faasplane.components.config import parse_config
from faasplane.components.quantities import quantity_value
from faasplane.components.render import read_stack_config
from tests.doubles.processes import peak_rss_kib
from tests.queue.conftest import client, kill, rendered_nats, started, tool

pytestmark = pytest.mark.queue

COMMON = ["-cluster", names.NATS_CLUSTER_ID, "-channel", names.NATS_CHANNEL]
QUEUED = 500


def streaming(args: list[str], store: Path, log: Path):
    return started(tool("nats-streaming-server"), args, store, log, monitor_flag="--http_port",
                   ready_path="/streaming/serverz")


def channel(server, name: str = names.NATS_CHANNEL) -> dict:
    return httpx.get(f"{server.monitor}/streaming/channelsz", params={"channel": name}, timeout=5).json()


def test_the_file_store_delivers_every_queued_message_after_a_kill(natsclient: str, tmp_path: Path) -> None:
    container = rendered_nats("prod")
    args = container["args"]
    assert args[:2] == ["--store", "file"] and "--max_bytes" in args, "prod renders a bounded file store"
    store = tmp_path / "store"
    with streaming(args, store, tmp_path / "nats-1.log") as server:
        # The queue-worker's durable queue group exists before the invocations arrive, then it is gone.
        client(natsclient, "stan-sub", "-url", server.url, *COMMON, "-group", names.NATS_QUEUE_GROUP, "-register")
        assert client(natsclient, "stan-pub", "-url", server.url, *COMMON, "-count", str(QUEUED)) == \
            {"published": QUEUED}
        assert channel(server)["msgs"] == QUEUED
        kill(server)
    with streaming(args, store, tmp_path / "nats-2.log") as server:
        got = client(natsclient, "stan-sub", "-url", server.url, *COMMON, "-group", names.NATS_QUEUE_GROUP,
                     "-expect", str(QUEUED), "-timeout", "60s")
    print(f"after SIGKILL and restart: {got}")
    assert got["distinct"] == QUEUED, "none lost"
    assert got["duplicates"] <= QUEUED, "redeliveries are counted, not hidden"


def test_the_memory_store_stays_under_the_pod_memory_limit(natsclient: str, tmp_path: Path) -> None:
    container = rendered_nats("dev")
    args = container["args"]
    assert args[:2] == ["--store", "memory"]
    limit = quantity_value(container["resources"]["limits"]["memory"])
    per_channel = int(args[args.index("--max_bytes") + 1])
    config, _ = read_stack_config("dev")
    assert per_channel == parse_config({k.split(":", 1)[1]: v for k, v in config.items()
                                         if k.startswith("faasplane:")}).queue.channel_bytes()
    message_size, total = 16 * 1024, 10 * per_channel
    count = total // message_size
    with streaming(args, tmp_path / "unused", tmp_path / "nats.log") as server:
        # The queue-worker consumes and acknowledges while the gateway publishes.
        consumer = subprocess.Popen(
            [natsclient, "stan-sub", "-url", server.url, *COMMON, "-group", names.NATS_QUEUE_GROUP,
             "-expect", str(count), "-timeout", "240s"], stdout=subprocess.PIPE, text=True,
        )
        client(natsclient, "stan-pub", "-url", server.url, *COMMON, "-count", str(count), "-size", str(message_size))
        output, _ = consumer.communicate(timeout=300)
        got = json.loads(output.strip().splitlines()[-1])
        stored = channel(server)
        peak = (peak_rss_kib(server.process.pid) or 0) * 1024
    print(f"streamed {total / 2**20:.0f}Mi through a {per_channel / 2**20:.0f}Mi channel limit: stored "
          f"{stored['bytes'] / 2**20:.1f}Mi, peak RSS {peak / 2**20:.0f}Mi of a {limit / 2**20:.0f}Mi limit")
    assert got["distinct"] == count, "every message was consumed while it streamed through"
    assert stored["bytes"] <= per_channel, "the channel limit evicts the oldest acknowledged messages"
    assert 0 < peak < 0.75 * limit, "the server stays under the pod's memory limit with a margin"


def test_without_the_rendered_limits_the_memory_store_keeps_everything(natsclient: str, tmp_path: Path) -> None:
    """The default limits are what the rendered ones replace: the same stream is all kept in memory."""
    args = ["--store", "memory", "--cluster_id", names.NATS_CLUSTER_ID]
    message_size, count = 16 * 1024, 2048
    with streaming(args, tmp_path / "unused", tmp_path / "nats.log") as server:
        client(natsclient, "stan-pub", "-url", server.url, *COMMON, "-count", str(count), "-size", str(message_size))
        stored = channel(server)
    assert stored["bytes"] >= count * message_size
