"""Functions benchmark: `sum` at concurrency 1, 16 and 64, called directly and through of-watchdog.

    python -m benchmarks.functions [--seconds 5] [--concurrency 1 16 64] [--json FILE]

`sum` is built from its rendered build context as its Dockerfile builds it (tests/functions/run.py) and served
with the rendered Deployment's environment. Each level runs for the same number of seconds with the same
client, benchmarks/loadgen (Go, one kept-alive connection per worker: a Python client saturates first on
two cores), and reports requests/s, p50/p99 latency of the answered calls, and the client's CPU seconds.
Called through the watchdog too when an of-watchdog binary is there (`fwatchdog` on PATH, or
FAASPLANE_WATCHDOG): the watchdog's overhead is then the ratio of the two. The Go module proxy these machines
reach does not serve of-watchdog, so here the watchdog columns say so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import from the repository, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from faasplane.functions import FUNCTIONS_DIR  # noqa: E402
from tests.doubles.processes import free_port, managed, wait_http  # noqa: E402
from tests.functions.run import as_non_root, build, readable_dir, rendered_env, serving  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "functions.json"
LOADGEN = ROOT / "benchmarks" / "loadgen"
BODY = " ".join(str(i) for i in range(32))
EXPECTED = str(sum(range(32)))


def watchdog_binary() -> str | None:
    return os.environ.get("FAASPLANE_WATCHDOG") or shutil.which("fwatchdog")


@contextlib.contextmanager
def through_watchdog(watchdog: str, directory: Path) -> Iterator[str]:
    """sum behind the watchdog in http mode, as the image runs it (its fprocess, upstream_url, timeouts)."""
    command, context = build("sum", "golang-middleware", FUNCTIONS_DIR / "sum", directory / "sum")
    upstream, port = free_port(), free_port()
    env = {"PATH": os.environ["PATH"], **rendered_env("sum"), "fprocess": " ".join(command), "mode": "http",
           "upstream_url": f"http://127.0.0.1:{upstream}", "port": str(port), "prefix_logs": "false"}
    with managed([*as_non_root(), watchdog], directory / "watchdog.log", env=env, cwd=context) as process:
        wait_http(f"http://127.0.0.1:{port}/_/health", process, timeout=30)
        yield f"http://127.0.0.1:{port}"


def build_loadgen(directory: Path) -> Path:
    """benchmarks/loadgen compiled into `directory` (standard library only: no module download)."""
    binary = directory / "loadgen"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"}
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=LOADGEN, env=env, check=True, timeout=600)
    return binary


def load(loadgen: Path, url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """One level: loadgen's JSON, plus the CPU seconds the client used (it shares the cores with the server)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    reply = subprocess.run([str(loadgen), "-url", url, "-body", BODY, "-expect", EXPECTED, "-c", str(concurrency),
                            "-d", f"{seconds}s"], capture_output=True, text=True, check=True, timeout=seconds + 120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row: dict[str, Any] = json.loads(reply.stdout)
    row["client_cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.functions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    if shutil.which("go") is None:
        print("error: go is needed to build the sum function (its template compiles it)", file=sys.stderr)
        return 2
    watchdog = watchdog_binary()
    results: dict[str, dict[int, dict[str, Any]]] = {}
    with readable_dir() as directory:
        loadgen = build_loadgen(directory)
        with serving("sum", "golang-middleware", FUNCTIONS_DIR / "sum", directory / "direct",
                     rendered_env("sum")) as url:
            results["direct"] = {level: load(loadgen, url, level, args.seconds) for level in args.concurrency}
        if watchdog:
            with through_watchdog(watchdog, directory / "watchdog") as url:
                results["watchdog"] = {level: load(loadgen, url, level, args.seconds) for level in args.concurrency}

    print(f"{'concurrency':>11} {'direct rps':>11} {'p50 ms':>7} {'p99 ms':>7} {'client cpu':>10} "
          f"{'watchdog rps':>13} {'p50 ms':>7} {'p99 ms':>7} {'overhead':>9}")
    for level in args.concurrency:
        direct = results["direct"][level]
        line = (f"{level:>11} {direct['rps']:>11.0f} {direct['p50_ms']:>7.2f} {direct['p99_ms']:>7.2f} "
                f"{direct['client_cpu_s']:>9.1f}s")
        if "watchdog" in results:
            through = results["watchdog"][level]
            line += (f" {through['rps']:>13.0f} {through['p50_ms']:>7.2f} {through['p99_ms']:>7.2f} "
                     f"{direct['rps'] / through['rps']:>8.2f}x")
        else:
            line += f" {'-':>13} {'-':>7} {'-':>7} {'-':>9}"
        print(line)
    if "watchdog" not in results:
        print("through the watchdog: not measured, no of-watchdog binary (fwatchdog on PATH or FAASPLANE_WATCHDOG); "
              "the Go module proxy here does not serve github.com/openfaas/of-watchdog")
    errors = sum(row["errors"] for rows in results.values() for row in rows.values())
    print(f"errors: {errors}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"body": BODY, "seconds_per_level": args.seconds, "cpus": os.cpu_count(),
                                     "client": "benchmarks/loadgen", "results": results, "watchdog": watchdog},
                                    indent=2))
    print(f"wrote {args.json}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
