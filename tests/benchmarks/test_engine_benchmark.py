"""The engine benchmark's measuring: the process-tree sampler sums the RSS of a whole tree and names the
parts; the CPU total counts what the sampler cannot see; a step past its timeout leaves nothing running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.engine import TreeSampler, part_of, run_measured


def test_parts_are_named_from_the_command_line() -> None:
    assert part_of("/cache/bin/pulumi up --yes") == "engine (CLI)"
    assert part_of("/home/.pulumi/plugins/resource-kubernetes-v4.25.0/pulumi-resource-kubernetes") \
        == "provider kubernetes"
    assert part_of(".venv/bin/python -u /cache/pulumi-language-python-exec --monitor 127.0.0.1:1 .") == "program"
    assert part_of("/cache/langhost-venv/bin/python /cache/langhost.py 127.0.0.1:2") == "language host"
    assert part_of("python -u -m pulumi.policy 127.0.0.1:3 /repo/policies") == "policy pack"
    assert part_of("sleep 1") == "other"


def test_the_sampler_sees_children_and_their_memory() -> None:
    code = "import subprocess, sys; b = bytearray(64 * 2**20); subprocess.run([sys.executable, '-c', " \
           "'import time; x = bytearray(64 * 2**20); time.sleep(1.5)'])"
    process = subprocess.Popen([sys.executable, "-c", code])
    sampler = TreeSampler(process.pid)
    sampler.start()
    process.wait(30)
    sampler.stop.set()
    sampler.join()
    assert sampler.peak_rss > 128 * 2**20, "parent and child memory are summed"
    assert len(sampler.cpu) >= 2


BURN = "import time; t = time.process_time(); exec('while time.process_time() - t < 0.3: pass')"
"""Python that uses 0.3 CPU seconds and exits."""


def test_the_cpu_total_counts_children_too_short_lived_to_sample() -> None:
    # Twenty children of 0.3 s CPU each, one after another: the total must hold all of them.
    code = f"import subprocess, sys\nfor _ in range(20): subprocess.run([sys.executable, '-c', {BURN!r}])"
    measured = run_measured([sys.executable, "-c", code])
    assert measured.returncode == 0 and not measured.timed_out, measured.output
    assert measured.cpu_total_s >= 20 * 0.3
    assert measured.cpu_total_s >= sum(measured.cpu_by_part.values())


def test_a_step_past_its_timeout_is_killed_with_every_process_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild"
    code = ("import subprocess, sys, time; "
            f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
            f"open({str(pid_file)!r}, 'w').write(str(child.pid)); time.sleep(600)")
    measured = run_measured([sys.executable, "-c", code], timeout=3)
    assert measured.timed_out
    assert pid_file.exists(), f"the grandchild had not started within the timeout:\n{measured.output}"
    grandchild = int(pid_file.read_text())
    stat = Path(f"/proc/{grandchild}/stat")
    # Killed: gone, or a zombie until init reaps it.
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
