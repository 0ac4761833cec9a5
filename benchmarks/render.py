"""Render benchmark: the prod stack with 10, 100 and 300 declared functions.

    python -m benchmarks.render [--sizes 10 100 300] [--json FILE]

Each size runs in a fresh process (so peak memory is that size's own): the prod stack's config (with the
Pro edition, since CE allows at most 15 functions) through the same `Platform` the program builds, plus N
`Function`s with prebuilt image references so nothing is built. Reports seconds for the mock-engine run,
peak RSS of the process, and the marginal cost per added function. Target: 100 functions in at most 5 s
and 300 MB on the 2-core machine, with a roughly constant cost per added function.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import from the repository, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "render.json"
TARGET_SECONDS_AT_100 = 5.0
TARGET_MB_AT_100 = 300.0


def measure(count: int) -> dict[str, float]:
    """Render the prod platform with `count` functions in this process; seconds and peak RSS."""
    from faasplane.components.config import load_config
    from faasplane.components.function import Function
    from faasplane.components.function.args import FunctionArgs, Scale
    from faasplane.components.platform import Platform
    from faasplane.components.render import read_stack_config
    from faasplane.components.render.mock_engine import run_program

    config, secret_keys = read_stack_config("prod")
    config.update({"faasplane:edition": "pro", "faasplane:licenseKey": "benchmark-licence"})
    secret_keys.append("faasplane:licenseKey")

    def program() -> None:
        platform = Platform("faasplane", load_config())
        for index in range(count):
            digest = hashlib.sha256(str(index).encode()).hexdigest()
            image_ref = f"registry.example.com/fn-{index:03d}@sha256:{digest}"
            Function(f"fn-{index:03d}", FunctionArgs(image_ref=image_ref, scale=Scale(min=1, max=10)), platform)

    started = time.perf_counter()
    rendered = run_program(program, config, stack="prod", secret_keys=secret_keys)
    seconds = time.perf_counter() - started
    objects = len(rendered.kubernetes_objects())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"functions": count, "seconds": seconds, "peak_rss_mb": peak_mb, "objects": objects}


def run_child(count: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.render", "--child", str(count)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"render of {count} functions failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 300])
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child)))
        return 0

    baseline = run_child(0)
    rows = [run_child(size) for size in sorted(args.sizes)]
    print(f"{'functions':>9} {'objects':>8} {'seconds':>8} {'peak MB':>8} {'ms/function':>12}")
    print(f"{0:>9} {baseline['objects']:>8} {baseline['seconds']:>8.2f} {baseline['peak_rss_mb']:>8.1f} {'':>12}")
    previous = baseline
    for row in rows:
        row["marginal_ms_per_function"] = 1000 * (row["seconds"] - previous["seconds"]) / (
            row["functions"] - previous["functions"]
        )
        previous = row
        print(
            f"{row['functions']:>9} {row['objects']:>8} {row['seconds']:>8.2f} {row['peak_rss_mb']:>8.1f} "
            f"{row['marginal_ms_per_function']:>12.1f}"
        )
    at_100 = next((row for row in rows if row["functions"] == 100), None)
    verdict = {}
    if at_100:
        verdict = {
            "seconds_at_100_ok": at_100["seconds"] <= TARGET_SECONDS_AT_100,
            "peak_mb_at_100_ok": at_100["peak_rss_mb"] <= TARGET_MB_AT_100,
        }
        print(
            f"100 functions: {at_100['seconds']:.2f} s (target <= {TARGET_SECONDS_AT_100} s), "
            f"{at_100['peak_rss_mb']:.0f} MB (target <= {TARGET_MB_AT_100:.0f} MB)"
        )
    report = {"stack": "prod", "baseline": baseline, "sizes": rows, "targets": verdict}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
