"""Engine benchmark: the real `pulumi preview` and `pulumi up` (render mode) with 2, 15 and 100 functions.

    python -m benchmarks.engine [--sizes 2 15 100] [--repeat 3] [--json FILE]

Each size is a fresh stack of benchmarks/engine_program (the dev stack's config, the Pro edition so that 100
functions are allowed, prebuilt images) on a file backend, with the tools of `make tools`. Next to it, in the
same run, the offline render of the same program under the mock engine. For the real engine it reports wall
seconds, the peak RSS of the whole process tree (CLI, language host, program, providers) summed at each
sample, the CPU seconds of the whole tree (from wait4: every process the CLI started and waited for, however
short-lived) and, sampled from /proc, the part each component used, which shows where the time goes (what
the samples miss, the last moments of each process and the ones that live less than a sample, is reported as
unattributed). One untimed preview warms the caches first; each size is then measured `--repeat` times on
fresh stacks and the table shows the run with the median seconds (every sample is in the JSON, with the
machine's CPU count and load). Target: `pulumi preview` of 100 functions in at most 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import from the repository, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import yaml  # noqa: E402

from scripts import tools  # noqa: E402
from scripts.engine import ROOT, Workspace, signal_group  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "engine.json"
PROGRAM = ROOT / "benchmarks" / "engine_program"
TARGET_PREVIEW_S_AT_100 = 60.0
SAMPLE_S = 0.05
STEP_TIMEOUT_S = 1800
"""A pulumi step that runs longer is killed with every process it started."""
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
        self.own_cpu_s = 0.0
        """CPU seconds the sampling itself used (on the cores it measures)."""

    @staticmethod
    def _children(pid: int) -> list[int] | None:
        """The children of `pid` from /proc/PID/task/*/children (None where the kernel has no such file)."""
        found: list[int] = []
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return []
        for task in tasks:
            try:
                found += [int(child) for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except FileNotFoundError:
                if not Path(f"/proc/{pid}/task/{task}").exists():
                    continue  # the thread ended
                return None
            except OSError:
                continue
        return found

    def _scan(self) -> dict[int, list[int]]:
        """Every process's children, from a scan of /proc (where the children files are missing)."""
        children: dict[int, list[int]] = defaultdict(list)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry))
        return children

    def _tree(self) -> list[int]:
        scanned: dict[int, list[int]] | None = None
        found, pending = [], [self.root]
        while pending:
            pid = pending.pop()
            found.append(pid)
            children = self._children(pid) if scanned is None else None
            if children is None:
                scanned = scanned if scanned is not None else self._scan()
                children = scanned.get(pid, [])
            pending += children
        return found

    def run(self) -> None:
        started = time.thread_time()
        try:
            self._sample_until_stopped()
        finally:
            self.own_cpu_s = time.thread_time() - started

    def _sample_until_stopped(self) -> None:
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


@dataclass
class Measured:
    returncode: int
    output: str
    seconds: float
    timed_out: bool
    peak_rss: int
    cpu_total_s: float
    """User and system CPU of the process and every descendant it waited for (wait4's rusage)."""
    cpu_by_part: dict[str, float]
    sampler_cpu_s: float


def run_measured(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
                 timeout: float = STEP_TIMEOUT_S) -> Measured:
    """Run `command` in a process group of its own, sampled by a TreeSampler. Past `timeout`, and when it
    ends, whatever of its group is left (plugins it did not stop) is killed: nothing outlives the step."""
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        signal_group(process.pid, signal.SIGKILL)

    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        sampler = TreeSampler(process.pid)
        sampler.start()
        timer = threading.Timer(timeout, expire)
        timer.start()
        reaped = None
        try:
            reaped = os.wait4(process.pid, 0)
        finally:
            seconds = time.perf_counter() - started
            timer.cancel()
            sampler.stop.set()
            sampler.join()
            signal_group(process.pid, signal.SIGKILL)
            if reaped is None:
                process.wait()
        _, status, usage = reaped
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    return Measured(process.returncode, text, seconds, timed_out.is_set(), sampler.peak_rss,
                    usage.ru_utime + usage.ru_stime, sampler.cpu_by_part(), sampler.own_cpu_s)


def timed(workspace: Workspace, *args: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
    env.update(workspace.environment())
    env.update(extra_env or {})
    command = ["pulumi", *args, "--stack", workspace.stack, "--non-interactive"]
    measured = run_measured(command, cwd=workspace.project_dir, env=env)
    if measured.timed_out:
        raise SystemExit(f"`{' '.join(command)}` did not finish within {STEP_TIMEOUT_S}s: killed with every "
                         f"process it started\n{measured.output[-3000:]}")
    if measured.returncode != 0:
        raise SystemExit(f"`{' '.join(command)}` failed:\n{measured.output[-3000:]}")
    attributed = sum(measured.cpu_by_part.values())
    return {"seconds": measured.seconds, "peak_rss_mb": measured.peak_rss / 2**20,
            "cpu_seconds_total": round(measured.cpu_total_s, 2), "cpu_seconds": measured.cpu_by_part,
            "cpu_seconds_unattributed": round(max(0.0, measured.cpu_total_s - attributed), 2),
            "sampler_cpu_seconds": round(measured.sampler_cpu_s, 2)}


STEPS = ("preview", "up", "up_without_checkpoints")


def median_run(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The sample with the median seconds (the lower middle one of an even count), with every sample's seconds."""
    ordered = sorted(samples, key=lambda sample: sample["seconds"])
    return {**ordered[(len(ordered) - 1) // 2], "seconds_samples": [round(s["seconds"], 2) for s in samples],
            "seconds_median": round(statistics.median(s["seconds"] for s in samples), 2)}


def measure_size(count: int, scratch: Path, home: Path, repeat: int) -> dict[str, Any]:
    """`repeat` runs of preview, up and up without checkpoints, each on fresh stacks."""
    samples: dict[str, list[dict[str, Any]]] = {step: [] for step in STEPS}
    objects = 0
    for index in range(repeat):
        workspace = prepare(count, scratch / f"n{count}-{index}", home)
        samples["preview"].append(timed(workspace, "preview"))
        samples["up"].append(timed(workspace, "up", "--yes", "--skip-preview"))
        objects = sum(1 for _ in (scratch / f"n{count}-{index}" / "manifests").rglob("*.yaml"))
        # The file backend rewrites the whole state after every step; how much of `up` that is:
        again = prepare(count, scratch / f"n{count}-{index}-no-checkpoints", home)
        samples["up_without_checkpoints"].append(timed(again, "up", "--yes", "--skip-preview",
                                                       extra_env={"PULUMI_SKIP_CHECKPOINTS": "true"}))
    return {"functions": count, "render_s": offline_render(count), "objects": objects,
            **{step: median_run(runs) for step, runs in samples.items()}}


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
    parser.add_argument("--repeat", type=int, default=3, help="runs of each size on fresh stacks (default 3)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    if tools.find("pulumi") is None:
        print(f"the Pulumi CLI is not built: run `make tools` (cache {tools.home()})", file=sys.stderr)
        return 2
    rows = []
    machine = {"cpu_count": os.cpu_count(), "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="faasplane-engine-bench-") as scratch:
        home = Path(scratch) / "pulumi-home"
        # Warm-up, not recorded: the first run pays for cold caches (plugins, bytecode, the page cache).
        timed(prepare(min(args.sizes), Path(scratch) / "warm-up", home), "preview")
        for count in args.sizes:
            rows.append(measure_size(count, Path(scratch), home, args.repeat))
            print(f"measured {count} functions", file=sys.stderr, flush=True)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    parts = sorted({part for row in rows for step in ("preview", "up") for part in row[step]["cpu_seconds"]})
    print(f"medians of {args.repeat} run(s) on {machine['cpu_count']} CPUs")
    print(f"{'functions':>9} {'objects':>7} {'render s':>8} {'preview s':>9} {'up s':>6} {'up*':>6} {'peak MB':>8} "
          f"{'up CPU s':>8}  of which by part")
    for row in rows:
        up = row["up"]
        cpu = ", ".join(f"{part} {up['cpu_seconds'].get(part, 0):.1f}" for part in parts)
        peak = max(row["preview"]["peak_rss_mb"], up["peak_rss_mb"])
        print(f"{row['functions']:>9} {row['objects']:>7} {row['render_s']:>8.2f} {row['preview']['seconds']:>9.1f} "
              f"{up['seconds']:>6.1f} {row['up_without_checkpoints']['seconds']:>6.1f} {peak:>8.0f} "
              f"{up['cpu_seconds_total']:>8.1f}  {cpu}, unattributed {up['cpu_seconds_unattributed']:.1f} "
              f"(sampler {up['sampler_cpu_seconds']:.1f})")
    print("up*: the same `pulumi up` with PULUMI_SKIP_CHECKPOINTS=true (the file backend then writes the state "
          "once, at the end)")
    at_100 = next((row for row in rows if row["functions"] == 100), None)
    verdict = {}
    if at_100:
        verdict = {"preview_at_100_ok": at_100["preview"]["seconds"] <= TARGET_PREVIEW_S_AT_100}
        seconds = at_100["preview"]["seconds"]
        print(f"preview of 100 functions: {seconds:.1f} s (target <= {TARGET_PREVIEW_S_AT_100:.0f} s)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "repeat": args.repeat, "sizes": rows, "targets": verdict},
                                    indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
