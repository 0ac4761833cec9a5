"""NATS Streaming 0.25.6 with the rendered arguments: the file store keeps queued invocations across a kill,
and the memory store stays under the pod's memory limit however much goes through it."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from faasplane.components import names
from faasplane.components.config import MEMORY_STORE_MAX_SHARE, parse_config
from faasplane.components.quantities import quantity_value
from faasplane.components.render import read_stack_config
from tests.doubles.processes import peak_rss_kib
from tests.queue.conftest import client, kill, rendered_nats, started, tool

pytestmark = pytest.mark.queue

COMMON = ["-cluster", names.NATS_CLUSTER_ID, "-channel", names.NATS_CHANNEL]
QUEUED = 500
MESSAGE_SIZE = 16 * 1024


def streaming(args: list[str], store: Path, log: Path):
    return started(tool("nats-streaming-server"), args, store, log, monitor_flag="--http_port",
                   ready_path="/streaming/serverz")


def channel(server, name: str = names.NATS_CHANNEL) -> dict:
    return httpx.get(f"{server.monitor}/streaming/channelsz", params={"channel": name}, timeout=5).json()


def queue_subscriptions(server, name: str = names.NATS_CHANNEL) -> list[dict[str, Any]]:
    """The channel's subscriptions of the queue-worker's durable queue group (online and offline)."""
    response = httpx.get(f"{server.monitor}/streaming/channelsz", params={"channel": name, "subs": 1}, timeout=5)
    if response.status_code != 200:  # the channel does not exist yet
        return []
    return [sub for sub in response.json().get("subscriptions") or []
            if sub.get("queue_name", "").split(":")[-1] == names.NATS_QUEUE_GROUP and sub.get("is_durable")]


def wait_for_subscriber(server, consumer: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until the consumer's durable queue subscription is online on the server (or the consumer exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert consumer.poll() is None, f"the consumer exited with {consumer.returncode}"
        if any(not sub.get("is_offline") for sub in queue_subscriptions(server)):
            return
        time.sleep(0.1)
    raise TimeoutError(f"no online {names.NATS_QUEUE_GROUP} subscriber after {timeout}s")


def channel_limit(args: list[str]) -> int:
    return int(args[args.index("--max_bytes") + 1])


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
        durable = queue_subscriptions(server)
        got = client(natsclient, "stan-sub", "-url", server.url, *COMMON, "-group", names.NATS_QUEUE_GROUP,
                     "-expect", str(QUEUED), "-timeout", "60s")
    print(f"after SIGKILL and restart: {got}")
    assert [sub["is_offline"] for sub in durable] == [True], "the durable queue group survived the kill"
    assert got["distinct"] == QUEUED, "none lost"


def test_the_memory_store_stays_under_the_pod_memory_limit(natsclient: str, tmp_path: Path) -> None:
    container = rendered_nats("dev")
    args = container["args"]
    assert args[:2] == ["--store", "memory"]
    limit = quantity_value(container["resources"]["limits"]["memory"])
    per_channel = channel_limit(args)
    config, _ = read_stack_config("dev")
    assert per_channel == parse_config({k.split(":", 1)[1]: v for k, v in config.items()
                                         if k.startswith("faasplane:")}).queue.channel_bytes()
    total = 10 * per_channel
    count = total // MESSAGE_SIZE
    with streaming(args, tmp_path / "unused", tmp_path / "nats.log") as server:
        # The queue-worker consumes and acknowledges while the gateway publishes. It is subscribed before
        # the first message: the channel limit drops the oldest messages, acknowledged or not, so a consumer
        # that started late would miss some.
        consumer = subprocess.Popen(
            [natsclient, "stan-sub", "-url", server.url, *COMMON, "-group", names.NATS_QUEUE_GROUP,
             "-expect", str(count), "-timeout", "240s"], stdout=subprocess.PIPE, text=True,
        )
        try:
            wait_for_subscriber(server, consumer)
            client(natsclient, "stan-pub", "-url", server.url, *COMMON, "-count", str(count),
                   "-size", str(MESSAGE_SIZE))
            output, _ = consumer.communicate(timeout=260)
        finally:
            consumer.kill()
            consumer.wait()
        got = json.loads(output.strip().splitlines()[-1])
        stored = channel(server)
        peak = (peak_rss_kib(server.process.pid) or 0) * 1024
    print(f"streamed {total / 2**20:.0f}Mi through a {per_channel / 2**20:.0f}Mi channel limit: stored "
          f"{stored['bytes'] / 2**20:.1f}Mi, peak RSS {peak / 2**20:.0f}Mi of a {limit / 2**20:.0f}Mi limit")
    assert got["distinct"] == count, "every message was consumed while it streamed through"
    assert stored["bytes"] <= per_channel, "the channel limit drops the oldest messages, acknowledged or not"
    assert 0 < peak < MEMORY_STORE_MAX_SHARE * limit, "the server stays under the pod's memory limit with a margin"


def test_without_the_rendered_limits_the_memory_store_keeps_everything(natsclient: str, tmp_path: Path) -> None:
    """The default limits are what the rendered ones replace: twice the rendered channel limit, streamed
    with the server's defaults, is all kept in memory."""
    per_channel = channel_limit(rendered_nats("dev")["args"])
    args = ["--store", "memory", "--cluster_id", names.NATS_CLUSTER_ID]
    count = 2 * per_channel // MESSAGE_SIZE
    with streaming(args, tmp_path / "unused", tmp_path / "nats.log") as server:
        client(natsclient, "stan-pub", "-url", server.url, *COMMON, "-count", str(count), "-size", str(MESSAGE_SIZE))
        stored = channel(server)
    assert stored["bytes"] >= count * MESSAGE_SIZE > per_channel
