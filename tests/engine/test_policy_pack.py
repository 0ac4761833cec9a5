"""The CrossGuard pack under the real CLI: `pulumi preview --policy-pack policies --policy-pack-config ...`.

Violations are read from the CLI's streaming JSON events (`policyEvent`: policy name, resource, message),
not from its text output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from faasplane.components.render import ROOT
from faasplane.policies import check, kube
from faasplane.policies.rules import BY_NAME
from scripts.engine import EngineStack, Workspace
from tests.engine import parity
from tests.policies.helpers import SEEDS_ENV

pytestmark = pytest.mark.engine

PACK = ROOT / "policies"
CONFIG_DIR = PACK / "config"
RESOURCE_PROGRAM = '''"""Registers the Kubernetes objects of objects.json as the kubernetes provider's resources."""
import json
from pathlib import Path

import pulumi

for item in json.loads(Path(__file__).with_name("objects.json").read_text()):
    pulumi.CustomResource(item["type"], item["name"], item["props"])
'''


def policy_events(workspace: Workspace, config: Path | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every policy violation the real pack reports in `pulumi preview` of the workspace's stack, and the
    preview's exit code."""
    args = ["preview", "--json", "--policy-pack", str(PACK)]
    if config is not None:
        args += ["--policy-pack-config", str(config)]
    result = workspace.pulumi(*args, check=False, extra_env={"PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "true"})
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    found = [event["policyEvent"] for event in events if "policyEvent" in event]
    loaded = any("policyLoadEvent" in event for event in events)
    assert loaded, f"the pack did not load:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return found, result.returncode


def message_of(event: dict[str, Any]) -> str:
    """The violation's own message (the event's first line is the policy's description)."""
    return event["message"].rstrip("\n").split("\n")[-1]


def resource_name(event: dict[str, Any]) -> str:
    return event.get("resourceUrn", "").rsplit("::", 1)[-1]


# --- the stacks -------------------------------------------------------------------------------------


def test_dev_passes_and_reports_its_advisory_exposure(deployed: Callable[[str], EngineStack]) -> None:
    engine = deployed("dev")
    events, returncode = policy_events(engine, CONFIG_DIR / "dev.json")
    assert [(e["policyName"], e["enforcementLevel"]) for e in events] == [("exposure", "advisory")]
    assert returncode == 0, "an advisory violation does not fail the preview"


def test_prod_reports_the_same_mandatory_violations_as_the_offline_check(
    deployed: Callable[[str], EngineStack],
) -> None:
    engine = deployed("prod")
    events, returncode = policy_events(engine, CONFIG_DIR / "prod.json")
    real = Counter((e["policyName"], message_of(e)) for e in events if e["enforcementLevel"] == "mandatory")

    _, offline_objects = parity.paired(engine)
    resources = [check.as_resource(obj) for obj in offline_objects.values()]
    violations = check.evaluate(resources, check.load_config(CONFIG_DIR / "prod.json"))
    offline = Counter((v.policy, v.message) for v in violations if v.mandatory)
    assert real and real == offline
    assert returncode != 0, "a mandatory violation fails the preview"


# --- every seeded violation of the policy tests ------------------------------------------------------


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Each distinct (policy, objects, config) that tests/policies/test_policies.py shows failing."""
    record = tmp_path_factory.mktemp("seeds") / "seeds.jsonl"
    env = {**os.environ, SEEDS_ENV: str(record)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                             str(ROOT / "tests" / "policies" / "test_policies.py")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    distinct: dict[str, dict[str, Any]] = {}
    for line in record.read_text().splitlines():
        entry = json.loads(line)
        if entry["found"]:
            key = json.dumps([entry["policy"], entry["config"], entry["objects"]], sort_keys=True)
            distinct.setdefault(key, entry)
    seeded = {entry["policy"] for entry in distinct.values()}
    assert sorted(set(BY_NAME) - seeded) == [], "the policy tests seed a violation for every policy"
    return list(distinct.values())


def objects_workspace(directory: Path, home: Path, items: list[dict[str, Any]]) -> Workspace:
    """A project that registers `items` ({type, name, props}) as they are, in a stack of its own."""
    workspace = Workspace("seeds", directory, home=home)
    workspace.project_dir.mkdir(parents=True, exist_ok=True)
    project = {"name": "policy-seeds", "runtime": {"name": "python",
                                                   "options": {"virtualenv": str(ROOT / ".venv")}}}
    (workspace.project_dir / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    (workspace.project_dir / "__main__.py").write_text(RESOURCE_PROGRAM)
    (workspace.project_dir / "objects.json").write_text(json.dumps(items))
    workspace.prepare()
    # The objects are only previewed, never created: the provider needs no cluster and renders nothing.
    workspace.pulumi("config", "set", "kubernetes:renderYamlToDirectory", str(directory / "unused"))
    return workspace


def as_item(obj: dict[str, Any], prefix: str) -> dict[str, Any]:
    resource = check.as_resource(obj)
    return {"type": resource.resource_type, "name": f"{prefix}{resource.name}", "props": obj}


def pack_config(directory: Path, seed: dict[str, Any]) -> Path:
    path = directory / "pack-config.json"
    path.write_text(json.dumps({seed["policy"]: seed["config"]} if seed["config"] else {}))
    return path


def expected(seed: dict[str, Any]) -> Counter[str]:
    return Counter(found["message"] for found in seed["found"])


@pytest.mark.timeout(900)  # the first to request `seeds`: a nested pytest run of up to 600 s
def test_every_resource_policy_seed_is_reported_by_the_real_pack(
    seeds: list[dict[str, Any]], engine_home: Path, tmp_path: Path
) -> None:
    """Resource policies judge one object at a time: the violating objects of every seed go into one stack
    (a preview per pack configuration), named after their seed, and each seed's findings are compared."""
    by_config: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, seed in enumerate(seeds):
        if BY_NAME[seed["policy"]].scope == "resource":
            by_config.setdefault(json.dumps([seed["policy"], seed["config"]] if seed["config"] else None),
                                 []).append((index, seed))
    resource_policies = {name for name, rule in BY_NAME.items() if rule.scope == "resource"}
    assert {seed["policy"] for members in by_config.values() for _, seed in members} == resource_policies
    mismatches = []
    for group, members in enumerate(by_config.values()):
        items = []
        for index, seed in members:
            labels = {found["resource"] for found in seed["found"]}
            items += [as_item(obj, f"seed{index}-") for obj in seed["objects"]
                      if kube.describe(obj["kind"], obj) in labels]
        workspace = objects_workspace(tmp_path / f"group{group}", engine_home, items)
        events, _ = policy_events(workspace, pack_config(workspace.directory, members[0][1]))
        for index, seed in members:
            reported = Counter(message_of(e) for e in events if e["policyName"] == seed["policy"]
                               and resource_name(e).startswith(f"seed{index}-"))
            if reported != expected(seed):
                mismatches.append(f"{seed['test']} ({seed['policy']}): real {dict(reported)} != {dict(expected(seed))}")
    assert mismatches == [], "\n".join(mismatches)


@pytest.mark.timeout(1200)
def test_every_stack_policy_seed_is_reported_by_the_real_pack(
    seeds: list[dict[str, Any]], engine_home: Path, tmp_path: Path
) -> None:
    """Stack policies judge the whole set: one preview per seed, with all of its objects."""
    stack_seeds = [seed for seed in seeds if BY_NAME[seed["policy"]].scope == "stack"]
    assert {seed["policy"] for seed in stack_seeds} == {name for name, rule in BY_NAME.items() if rule.scope == "stack"}

    def replay(index: int, seed: dict[str, Any]) -> str | None:
        workspace = objects_workspace(tmp_path / f"seed{index}", engine_home,
                                      [as_item(obj, "") for obj in seed["objects"]])
        events, _ = policy_events(workspace, pack_config(workspace.directory, seed))
        reported = Counter(message_of(e) for e in events if e["policyName"] == seed["policy"])
        if reported == expected(seed):
            return None
        return f"{seed['test']} ({seed['policy']}): real {dict(reported)} != {dict(expected(seed))}"

    # Each preview waits on a handful of processes starting: three at a time keep two cores busy.
    with ThreadPoolExecutor(max_workers=3) as pool:
        mismatches = [m for m in pool.map(replay, range(len(stack_seeds)), stack_seeds) if m]
    assert mismatches == [], "\n".join(mismatches)
