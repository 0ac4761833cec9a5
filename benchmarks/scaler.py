"""Benchmark of the scaler as a real process (`python -m faasplane.scaler`) against the faas-provider double.

Everything runs on loopback: the double as a process, the scaler as a process, and a small
keep-alive HTTP/1.1 load generator in this process (raw asyncio streams, so the client's own
cost stays small on a 2-core machine).

Phases:

1. Single-alert webhooks at concurrency 16 for `--seconds`: each of the 16 connections posts a
   firing alert for its own function (so per-function serialization does not hide the
   throughput; after the first decision every post is a repeat, which is what Alertmanager sends
   most of the time). Reports webhooks/s, p50/p99 latency and the scaler's peak RSS (VmHWM).
   Targets: >= 500/s, p99 <= 50 ms, RSS <= 100 MB.
2. One payload with 1,000 firing alerts for 1,000 distinct functions, end to end (until the
   scaler answers, every scale call made). Target: <= 2 s.

Usage: `uv run python -m benchmarks.scaler [--seconds 5] [--json benchmarks/results/scaler.json]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

if __package__ in (None, ""):  # run as a file: import from the repository, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from tests.doubles.processes import REPO_ROOT, double_process, peak_rss_kib, scaler_process  # noqa: E402

CONCURRENCY = 16
BATCH_SIZE = 1000
TARGETS = {"webhooks_per_second": 500.0, "p99_ms": 50.0, "peak_rss_mb": 100.0, "batch_seconds": 2.0}


def firing_payload(function_names: list[str]) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "APIHighInvocationRate", "function_name": f"{name}.openfaas-fn"},
            "startsAt": "2026-01-01T00:00:00Z",
            "fingerprint": f"fp-{name}",
        }
        for name in function_names
    ]
    return json.dumps({"version": "4", "status": "firing", "receiver": "scaler", "alerts": alerts}).encode()


def http_request(body: bytes) -> bytes:
    head = (
        "POST /system/alert HTTP/1.1\r\nHost: scaler\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def webhook_worker(
    host: str, port: int, request: bytes, until: float, latencies: list[float], statuses: Counter
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            status, _ = await read_response(reader)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
    finally:
        writer.close()


async def single_alert_phase(url: str, functions: list[str], seconds: float) -> dict[str, object]:
    host, port = url.removeprefix("http://").split(":")
    requests = [http_request(firing_payload([name])) for name in functions]
    # warm-up: connections, first decisions, imports
    warm: list[float] = []
    await asyncio.gather(*(
        webhook_worker(host, int(port), request, time.perf_counter() + 1.0, warm, Counter())
        for request in requests
    ))
    latencies: list[float] = []
    statuses: Counter = Counter()
    started = time.perf_counter()
    await asyncio.gather(*(
        webhook_worker(host, int(port), request, started + seconds, latencies, statuses)
        for request in requests
    ))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "webhooks": len(latencies),
        "seconds": round(elapsed, 3),
        "webhooks_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


async def batch_phase(url: str, double_url: str, functions: list[str]) -> dict[str, object]:
    host, port = url.removeprefix("http://").split(":")
    request = http_request(firing_payload(functions))
    reader, writer = await asyncio.open_connection(host, int(port))
    started = time.perf_counter()
    writer.write(request)
    status, body = await read_response(reader)
    elapsed = time.perf_counter() - started
    writer.close()
    results = json.loads(body).get("results", [])
    async with httpx.AsyncClient() as client:
        calls = (await client.get(f"{double_url}/_double/calls")).json()
    wanted = set(functions)
    scaled = {call["function"] for call in calls if call["function"] in wanted and call["status"] == 202}
    return {
        "alerts": len(functions),
        "status": status,
        "seconds": round(elapsed, 3),
        "applied": sum(1 for result in results if result.get("outcome") == "applied"),
        "functions_scaled_at_provider": len(scaled),
    }


def run(seconds: float, workdir: Path, extra_env: dict[str, str] | None = None) -> dict[str, object]:
    extra_env = extra_env or {}
    single = [f"bench-{index:02d}" for index in range(CONCURRENCY)]
    batch = [f"fn-{index:04d}" for index in range(BATCH_SIZE)]
    functions_file = workdir / "functions.json"
    functions_file.write_text(json.dumps([
        {"name": name, "labels": {"com.openfaas.scale.max": "20"}} for name in single + batch
    ]))
    with double_process(functions_file, workdir / "double.log") as (double_url, _double):
        env = {"SCALER_PROVIDER_URL": double_url, "SCALER_LOG_LEVEL": "info", **extra_env}
        with scaler_process(env, workdir / "scaler.log") as (url, scaler):
            phase_one = asyncio.run(single_alert_phase(url, single, seconds))
            rss_after_single = peak_rss_kib(scaler.pid)
            phase_two = asyncio.run(batch_phase(url, double_url, batch))
            rss = peak_rss_kib(scaler.pid)
    return {
        "single_alert": {**phase_one, "concurrency": CONCURRENCY,
                         "peak_rss_mb": round((rss_after_single or 0) / 1024, 1)},
        "batch": phase_two,
        "scaler_peak_rss_mb": round((rss or 0) / 1024, 1),
        "targets": TARGETS,
        "machine": {"python": platform.python_version(), "cpus": _cpus(), "platform": platform.platform()},
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _cpus() -> int:
    try:
        return len(__import__("os").sched_getaffinity(0))
    except AttributeError:
        return __import__("os").cpu_count() or 0


def verdicts(result: dict) -> list[tuple[str, str, str, bool | None]]:
    single, batch = result["single_alert"], result["batch"]
    return [
        ("webhooks/s (c=16)", f"{single['webhooks_per_second']}", ">= 500", single["webhooks_per_second"] >= 500),
        ("p50 latency", f"{single['p50_ms']} ms", "", None),
        ("p99 latency", f"{single['p99_ms']} ms", "<= 50 ms", single["p99_ms"] <= 50),
        ("non-200 answers", f"{sum(v for k, v in single['statuses'].items() if k != '200')}", "0",
         set(single["statuses"]) <= {"200"}),
        ("scaler peak RSS", f"{result['scaler_peak_rss_mb']} MB", "<= 100 MB", result["scaler_peak_rss_mb"] <= 100),
        ("1,000-alert payload", f"{batch['seconds']} s", "<= 2 s", batch["seconds"] <= 2.0),
        ("  functions scaled", f"{batch['functions_scaled_at_provider']}", "1000",
         batch["functions_scaled_at_provider"] == BATCH_SIZE and batch["status"] == 200),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the single-alert phase")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "scaler.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scaler-bench-") as workdir:
        result = run(args.seconds, Path(workdir))
    rows = verdicts(result)
    result["passed"] = all(ok is not False for *_, ok in rows)
    width = max(len(row[0]) for row in rows)
    print(f"{'measure':<{width}}  {'value':>12}  {'target':>10}  ok")
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("yes" if ok else "NO")
        print(f"{name:<{width}}  {value:>12}  {target:>10}  {verdict}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.json}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
