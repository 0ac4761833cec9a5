"""The engine benchmark's process-tree sampler: it sums the RSS of a whole tree and names the parts."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.engine import TreeSampler, part_of


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
