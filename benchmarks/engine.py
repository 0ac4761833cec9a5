"""Engine benchmark: the real `pulumi preview` and `pulumi up` (render mode) with 2, 15 and 100 functions.

    python -m benchmarks.engine [--sizes 2 15 100] [--json FILE]

Each size is a fresh stack of benchmarks/engine_program (the dev stack's config, the Pro edition so that 100
functions are allowed, prebuilt images) on a file backend, with the tools of `make tools`. Next to it, in the
same run, the offline render of the same program under the mock engine. For the real engine it reports wall
seconds, the peak RSS of the whole process tree (CLI, language host, program, providers) summed at each
sample, and the CPU seconds each part used, which shows where the time goes. Target: `pulumi preview` of
100 functions in at most 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import from the repository, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import yaml  # noqa: E402

from scripts import tools  # noqa: E402
from scripts.engine import ROOT, Workspace  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "engine.json"
PROGRAM = ROOT / "benchmarks" / "engine_program"
TARGET_PREVIEW_S_AT_100 = 60.0
SAMPLE_S = 0.05
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def part_of(cmdline: str) -> str:
    """Which part of the engine a process is, from its command line."""
    if "pulumi-resource-" in cmdline:
        return "provider " + cmdline.split("pulumi-resource-", 1)[1].split()[0].split("/")[0]
    if "pulumi-language-python-exec" in cmdline:
        return "program"
    if "langhost.py" in cmdline or "importlib.metadata" in cmdline or "platform.python_version" in cmdline:
        return "language host"  # the host and the helpers it runs in the program's environment
    if "pulumi.policy" in cmdline:
        return "policy pack"
    return "engine (CLI)" if cmdline.split(" ", 1)[0].endswith("pulumi") else "other"


class TreeSampler(threading.Thread):
    """Samples a process and its descendants: the peak of their summed RSS, the CPU seconds of each part."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = pid
        self.stop = threading.Event()
        self.peak_rss = 0
        self.cpu: dict[int, tuple[str, float]] = {}

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = defaultdict(list)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry))
        found, pending = [], [self.root]
        while pending:
            pid = pending.pop()
            found.append(pid)
            pending += children.get(pid, [])
        return found

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            for pid in self._tree():
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                except OSError:
                    continue
                total += int(fields[21]) * PAGE
                seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
                # An exiting process has no command line left: keep the part it was first seen as.
                part = self.cpu[pid][0] if pid in self.cpu else part_of(cmdline) if cmdline else None
                if part is not None:
                    self.cpu[pid] = (part, seconds)
            self.peak_rss = max(self.peak_rss, total)
            time.sleep(SAMPLE_S)

    def cpu_by_part(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for part, seconds in self.cpu.values():
            out[part] += seconds
        return dict(sorted(out.items()))


def stack_config(count: int, manifests: Path) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    config = {key: value for key, value in document["config"].items() if not key.startswith("kubernetes:")}
    config.update({
        "kubernetes:renderYamlToDirectory": str(manifests),
        "faasplane:edition": "pro",
        "faasplane:scaler": {"image": "registry.example.com/faasplane-scaler@sha256:" + "0" * 64},
        "bench:functions": count,
    })
    return config


def prepare(count: int, directory: Path, home: Path) -> Workspace:
    workspace = Workspace("bench", directory, home=home)
    workspace.project_dir.mkdir(parents=True)
    project = {"name": "faasplane", "main": str(PROGRAM),
               "runtime": {"name": "python", "options": {"virtualenv": str(ROOT / ".venv")}}}
    (workspace.project_dir / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    workspace.stack_file.write_text(yaml.safe_dump({"config": stack_config(count, directory / "manifests")}))
    workspace.prepare()
    workspace.set_secret("faasplane:adminPassword", "benchmark-admin-password")
    workspace.set_secret("faasplane:licenseKey", "benchmark-licence")
    return workspace


def timed(workspace: Workspace, *args: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
    env.update(workspace.environment())
    env.update(extra_env or {})
    command = ["pulumi", *args, "--stack", workspace.stack, "--non-interactive"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=workspace.project_dir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    sampler = TreeSampler(process.pid)
    sampler.start()
    output, _ = process.communicate(timeout=1800)
    seconds = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"`{' '.join(command)}` failed:\n{output[-3000:]}")
    return {"seconds": seconds, "peak_rss_mb": sampler.peak_rss / 2**20, "cpu_seconds": sampler.cpu_by_part()}


def offline_render(count: int) -> float:
    """Seconds of the same program under the mock engine, in a fresh process (imports included)."""
    code = (
        "import runpy, time; t = time.perf_counter(); "
        "from faasplane.components.render.mock_engine import run_program; "
        f"config = {json.dumps(stack_config(count, Path('/unused')))!r}; "
        "import json; config = json.loads(config); "
        "config.update({'faasplane:adminPassword': 'benchmark-admin-password', 'faasplane:licenseKey': 'x'}); "
        f"run_program(lambda: runpy.run_path({str(PROGRAM)!r}, run_name='__main__'), config, stack='bench', "
        "secret_keys=['faasplane:adminPassword', 'faasplane:licenseKey']); print(time.perf_counter() - t)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False,
                            timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"the offline render of {count} functions failed:\n{result.stderr[-3000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 15, 100])
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    if tools.find("pulumi") is None:
        print(f"the Pulumi CLI is not built: run `make tools` (cache {tools.home()})", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="faasplane-engine-bench-") as scratch:
        home = Path(scratch) / "pulumi-home"
        for count in args.sizes:
            workspace = prepare(count, Path(scratch) / f"n{count}", home)
            row = {"functions": count, "render_s": offline_render(count),
                   "preview": timed(workspace, "preview"), "up": timed(workspace, "up", "--yes", "--skip-preview")}
            # The file backend rewrites the whole state after every step; how much of `up` that is:
            again = prepare(count, Path(scratch) / f"n{count}-no-checkpoints", home)
            row["up_without_checkpoints"] = timed(again, "up", "--yes", "--skip-preview",
                                                  extra_env={"PULUMI_SKIP_CHECKPOINTS": "true"})
            row["objects"] = sum(1 for _ in (Path(scratch) / f"n{count}" / "manifests").rglob("*.yaml"))
            rows.append(row)
            print(f"measured {count} functions", file=sys.stderr, flush=True)

    parts = sorted({part for row in rows for step in ("preview", "up") for part in row[step]["cpu_seconds"]})
    print(f"{'functions':>9} {'objects':>7} {'render s':>8} {'preview s':>9} {'up s':>6} {'up*':>6} {'peak MB':>8}  "
          "CPU seconds of `pulumi up` by part")
    for row in rows:
        cpu = ", ".join(f"{part} {row['up']['cpu_seconds'].get(part, 0):.1f}" for part in parts)
        peak = max(row["preview"]["peak_rss_mb"], row["up"]["peak_rss_mb"])
        print(f"{row['functions']:>9} {row['objects']:>7} {row['render_s']:>8.2f} {row['preview']['seconds']:>9.1f} "
              f"{row['up']['seconds']:>6.1f} {row['up_without_checkpoints']['seconds']:>6.1f} {peak:>8.0f}  {cpu}")
    print("up*: the same `pulumi up` with PULUMI_SKIP_CHECKPOINTS=true (the file backend then writes the state "
          "once, at the end)")
    at_100 = next((row for row in rows if row["functions"] == 100), None)
    verdict = {}
    if at_100:
        verdict = {"preview_at_100_ok": at_100["preview"]["seconds"] <= TARGET_PREVIEW_S_AT_100}
        seconds = at_100["preview"]["seconds"]
        print(f"preview of 100 functions: {seconds:.1f} s (target <= {TARGET_PREVIEW_S_AT_100:.0f} s)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"sizes": rows, "targets": verdict}, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
