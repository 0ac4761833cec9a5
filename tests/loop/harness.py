"""The full scaling loop on loopback, with real processes:

    faas-provider double --/metrics--> Prometheus --alerts--> Alertmanager --webhook--> scaler
          ^                                                                               |
          +-------------------------- /system/scale-function -----------------------------+

Prometheus and Alertmanager run with the configuration rendered for the dev stack: the same builder
functions (`faasplane.components.platform.monitoring_config`) fed with the stack's config plus interval overrides, and
only the addresses pointed at loopback. `check_against_render` proves it: it renders the dev stack
with the same overrides and asserts that the two differ in exactly the address fields. The scaler
runs as `python -m faasplane.scaler` with the environment of the rendered scaler Deployment, again with only
addresses and credential paths rewritten (plus the knobs a caller passes).

Load model. The double's gateway metrics carry the offered load: every request is served (the double
runs with unlimited capacity), so `gateway_function_invocation_total` rises at the offered rate and
in-flight = rate x latency (Little's law). One replica's capacity is a property of the function's
labels: `com.openfaas.scale.type=capacity`, `target` = capacity_rps x latency (the in-flight count of
one replica at full capacity), `target-proportion=1`, so the proportional policy's desired count is
exactly `ceil(offered / capacity_rps)`. The double's own capacity cap is not used on purpose: a
capped replica serves at most its capacity, so the CE alert (served rate above a threshold) could
not tell a 1x load from an 8x load on one replica; the need is computed from the offered load instead.

By hand (prints the timeline of one load step):

    uv run python -m tests.loop.harness [--policy proportional|openfaas] [--rps 12] [--hold 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from faasplane.components import names
from faasplane.components.config import PlatformConfig, duration_seconds, parse_config
from faasplane.components.platform import monitoring_config as mc
from faasplane.components.render import read_stack_config, render_stack
from faasplane.scaler import labels as scale_labels
from scripts.tools import Located, in_ci, locate, missing_message
from tests import tiers
from tests.doubles.faas_provider import DoubleFunction
from tests.doubles.processes import ManagedProcess, free_port, managed, scaler_process, wait_http

STACK = "dev"
BINARY_OVERRIDES = tiers.LOOP_OVERRIDES
"""Environment variables that point the loop at other Prometheus/Alertmanager binaries (outside CI)."""


class MissingTools(Exception):
    """Prometheus or Alertmanager is not available; the message says how to get it."""


def monitoring_binaries(*, allow_system: bool | None = None) -> dict[str, Located]:
    """The Prometheus and Alertmanager the loop runs: outside CI $PROMETHEUS_BIN/$ALERTMANAGER_BIN, else the
    deployed versions built by make tools, else (outside CI) the system's standing in. CI runs the deployed
    versions only, as the tier report says: an override set there is refused, not quietly ignored."""
    found: dict[str, Located] = {}
    missing = []
    for name, variable in BINARY_OVERRIDES.items():
        if os.environ.get(variable) and in_ci():
            raise MissingTools(f"${variable} is set, but CI runs the deployed {name} built by make tools: unset it")
        if os.environ.get(variable):
            found[name] = Located(name, Path(os.environ[variable]), f"${variable}")
        elif located := locate(name, allow_system=allow_system):
            found[name] = located
        else:
            missing.append(name)
    if missing:
        raise MissingTools(missing_message(missing))
    return found


LATENCY_S = DoubleFunction("latency").latency
"""Seconds per request in the double's in-flight model."""

LOOP_OVERRIDES: dict[str, dict[str, Any]] = {
    f"{names.PROJECT}:prometheus": {"scrapeInterval": "1s", "evaluationInterval": "1s", "gatewayScrapeInterval": "1s"},
    f"{names.PROJECT}:alertmanager": {"groupWait": "1s", "groupInterval": "1s", "repeatInterval": "2s"},
    f"{names.PROJECT}:alertRule": {"for": "2s"},
}
"""Intervals shortened for loopback (merged into the stack's own values of these keys)."""

STOP_FRACTION = 0.0
"""After the load step the offered load falls to this fraction of one replica's capacity: 0, the load
stops (the double's in-flight requests then complete, so the capacity load falls to 0 too)."""

SCALER_KNOBS = {
    "SCALER_RECONCILE_INTERVAL": "1s",
    "SCALER_UP_PERIOD": "2s",
    "SCALER_DOWN_PERIOD": "2s",
    "SCALER_PROVIDER_TIMEOUT": "3s",
    "SCALER_PROMETHEUS_TIMEOUT": "3s",
    # Between Alertmanager's group_interval (1 s here) and its repeat_interval (2 s), as the README asks:
    # the openfaas policy then steps on every repeat, exactly like the CE handler it is compared with.
    "SCALER_DEDUPE_WINDOW": "1s",
    "SCALER_LOG_LEVEL": "info",
}
"""The scaler's own periods, shortened in proportion with the pipeline's (defaults 15 s). The Prometheus
timeout is the scaler's default, set here so that tests can derive their slack from it."""


# --- configuration ---------------------------------------------------------------------------------


def stack_overrides(stack: str = STACK, overrides: Mapping[str, Mapping[str, Any]] = LOOP_OVERRIDES) -> dict:
    """Each override merged into the stack file's own value of that key, as render_stack merges it (stack_config
    parses these, so the merge is done here once for both)."""
    raw, _ = read_stack_config(stack)
    merged: dict[str, Any] = {}
    for key, values in overrides.items():
        base = raw.get(key) or {}
        merged[key] = {**base, **values}
    return merged


def stack_config(stack: str = STACK, overrides: Mapping[str, Mapping[str, Any]] = LOOP_OVERRIDES) -> PlatformConfig:
    raw, _ = read_stack_config(stack)
    raw.update(stack_overrides(stack, overrides))
    prefix = f"{names.PROJECT}:"
    return parse_config({key.removeprefix(prefix): value for key, value in raw.items() if key.startswith(prefix)})


@dataclass(frozen=True)
class Addresses:
    """Where everything listens on loopback, and the credential file every component reads."""

    double: str
    scaler: str
    prometheus: str
    alertmanager: str
    password_file: Path


def loopback_documents(config: PlatformConfig, at: Addresses) -> dict[str, dict[str, Any]]:
    """prometheus.yml, rules.yml and alertmanager.yml from the same builders as the cluster's, aimed at
    the loopback processes: the double is a static target, the scaler's webhook is on loopback, and
    Alertmanager reads the password from a temp file."""
    return {
        mc.PROMETHEUS_FILE: mc.prometheus_data(
            config.prometheus,
            alertmanager_targets=[mc.host_port(at.alertmanager)],
            static_targets=[mc.host_port(at.double)],
        ),
        mc.RULES_FILE: mc.rules_data(config.alert_rule),
        mc.ALERTMANAGER_FILE: mc.alertmanager_data(
            config.alertmanager,
            config.alert_rule,
            webhook_url=at.scaler + names.ALERT_WEBHOOK_PATH,
            password_file=str(at.password_file),
        ),
    }


def rendered_documents(stack: str = STACK, overrides: Mapping[str, Mapping[str, Any]] = LOOP_OVERRIDES) -> dict:
    """The monitoring documents and the scaler env of the stack as Pulumi would deploy them."""
    rendered = render_stack(stack, stack_overrides(stack, overrides))
    documents: dict[str, Any] = {}
    scaler_env: dict[str, str] | None = None
    for obj in rendered.kubernetes_objects():
        if obj["kind"] == "ConfigMap":
            for key, text in (obj.get("data") or {}).items():
                if key in (mc.PROMETHEUS_FILE, mc.RULES_FILE, mc.ALERTMANAGER_FILE):
                    documents[key] = yaml.safe_load(text)
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].startswith(names.SCALER):
            for container in obj["spec"]["template"]["spec"]["containers"]:
                if container["name"] == names.SCALER:
                    scaler_env = {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}
    missing = {mc.PROMETHEUS_FILE, mc.RULES_FILE, mc.ALERTMANAGER_FILE} - set(documents)
    if missing or scaler_env is None:
        raise AssertionError(f"the {stack} render lacks {sorted(missing)} or the scaler Deployment")
    documents["scaler-env"] = scaler_env
    return documents


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths (`key.key[0]`) at which two parsed documents differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                found.append(f"{path}.{key}".lstrip("."))
            else:
                found += differences(a[key], b[key], f"{path}.{key}".lstrip("."))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


ALLOWED_DIFFERENCES = {
    mc.PROMETHEUS_FILE: {
        # Alertmanager on loopback instead of its Service.
        "alerting.alertmanagers[0].static_configs[0].targets[0]",
        # The double as a static target instead of pod discovery (no Kubernetes API on loopback).
        "scrape_configs[0].job_name",
        "scrape_configs[0].kubernetes_sd_configs",
        "scrape_configs[0].relabel_configs",
        "scrape_configs[0].static_configs",
    },
    mc.RULES_FILE: set(),
    mc.ALERTMANAGER_FILE: {
        "receivers[1].webhook_configs[0].url",
        "receivers[1].webhook_configs[0].http_config.basic_auth.password_file",
    },
}


def check_against_render(loopback: Mapping[str, Any], rendered: Mapping[str, Any]) -> None:
    """Fail unless the loopback documents equal the rendered ones except for the addresses."""
    for name, allowed in ALLOWED_DIFFERENCES.items():
        found = set(differences(rendered[name], loopback[name]))
        if not found <= allowed:
            raise AssertionError(f"{name}: the loopback config differs from the dev render in {sorted(found - allowed)}")
    job = loopback[mc.PROMETHEUS_FILE]["scrape_configs"][0]
    if job["scrape_interval"] != rendered[mc.PROMETHEUS_FILE]["scrape_configs"][0]["scrape_interval"]:
        raise AssertionError("the loopback scrape interval is not the rendered gateway scrape interval")


def scaler_env_from_render(rendered_env: Mapping[str, str], at: Addresses) -> dict[str, str]:
    """The rendered scaler Deployment's env with addresses and credential paths on loopback."""
    env = dict(rendered_env)
    rewritten = {
        "SCALER_PROVIDER_URL": at.double,
        "SCALER_PROMETHEUS_URL": at.prometheus,
        "SCALER_PROVIDER_PASSWORD_FILE": str(at.password_file),
        "SCALER_AUTH_PASSWORD_FILE": str(at.password_file),
    }
    for key, value in rewritten.items():
        if key not in env:
            raise AssertionError(f"the rendered scaler env has no {key}: the loop would not test what deploys")
        env[key] = value
    env.pop("SCALER_LISTEN", None)  # scaler_process picks a loopback port
    return env


def pipeline_bound_s(config: PlatformConfig) -> float:
    """scrape + evaluation + for + group_wait: the configured delay from load to first webhook."""
    return sum(
        duration_seconds(value)
        for value in (
            config.prometheus.gateway_scrape_interval,
            config.prometheus.evaluation_interval,
            config.alert_rule.for_,
            config.alertmanager.group_wait,
        )
    )


# --- functions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoopFunction:
    """A function of the double whose labels make one replica worth `capacity_rps`."""

    name: str
    capacity_rps: float
    min: int = 1
    max: int = 5
    factor: int = scale_labels.DEFAULT_FACTOR
    down_window: str = "5s"
    namespace: str = names.FUNCTIONS_NAMESPACE

    @property
    def labels(self) -> dict[str, str]:
        return {
            scale_labels.SCALE_MIN: str(self.min),
            scale_labels.SCALE_MAX: str(self.max),
            scale_labels.SCALE_FACTOR: str(self.factor),
            scale_labels.SCALE_TYPE: scale_labels.TYPE_CAPACITY,
            scale_labels.SCALE_TARGET: repr(self.capacity_rps * LATENCY_S),
            scale_labels.SCALE_TARGET_PROPORTION: "1",
            scale_labels.SCALE_DOWN_WINDOW: self.down_window,
        }

    def need(self, rps: float) -> int:
        """Replicas the offered load needs, within [min, max]."""
        return min(max(math.ceil(rps / self.capacity_rps - 1e-9), self.min), self.max)

    def as_double(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "labels": self.labels, "replicas": self.min}


@dataclass(frozen=True)
class Call:
    time: float
    replicas: int
    applied: int | None
    status: int


# --- the loop ----------------------------------------------------------------------------------------


@dataclass
class Loop:
    """A running loop: the addresses, the processes and control of the double."""

    at: Addresses
    config: PlatformConfig
    functions: dict[str, LoopFunction]
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    workdir: Path = Path()
    binaries: dict[str, Located] = field(default_factory=dict)
    """The Prometheus and Alertmanager this loop runs, and where they come from."""

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.at.double, timeout=5.0)

    def set_load(self, function: str, rps: float) -> float:
        """Offered load of one function; returns the moment it took effect (monotonic, as the double's)."""
        fn = self.functions[function]
        with self._client() as client:
            before = time.monotonic()
            client.post("/_double/load", json={"function": fn.name, "namespace": fn.namespace, "rps": rps}).raise_for_status()
            return (before + time.monotonic()) / 2

    def replicas(self, function: str) -> int:
        fn = self.functions[function]
        with self._client() as client:
            states = client.get("/_double/functions").raise_for_status().json()
        return next(int(s["replicas"]) for s in states if s["name"] == fn.name and s["namespace"] == fn.namespace)

    def calls(self, function: str) -> list[Call]:
        """Every scale call the double received for `function`, in order (monotonic times)."""
        fn = self.functions[function]
        with self._client() as client:
            log = client.get("/_double/calls").raise_for_status().json()
        return [
            Call(float(c["time"]), int(c["replicas"]), c.get("applied"), int(c["status"]))
            for c in log
            if c["function"] == fn.name and c["namespace"] == fn.namespace
        ]

    def wait_for(self, what: str, predicate: Callable[[], bool], timeout: float, poll: float = 0.1) -> float:
        """Poll until `predicate()`; returns the monotonic time it held; fails with the logs after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if predicate():
                return time.monotonic()
            time.sleep(poll)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.logs()}")

    def observe(self, function: str, seconds: float, poll: float = 0.2) -> list[tuple[float, int]]:
        """(monotonic time, replicas) of `function` every `poll` seconds for `seconds`."""
        samples = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.check_alive()
            samples.append((time.monotonic(), self.replicas(function)))
            time.sleep(poll)
        return samples

    def scaler_decisions(self, function: str) -> list[dict[str, Any]]:
        """The scaler's `decision` log events for `function`, with `mono`: their time on the monotonic
        clock of the double's call log (the log's `ts` is wall-clock)."""
        offset = time.time() - time.monotonic()
        fn = self.functions[function]
        events = []
        for line in self.processes["scaler"].log_path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if (
                isinstance(event, dict) and event.get("event") == "decision"
                and event.get("function") == fn.name and event.get("namespace") == fn.namespace
            ):
                events.append({**event, "mono": float(event["ts"]) - offset})
        return events

    def scaler_counter(self, name: str, **match: str) -> float:
        """Sum of a counter of the scaler's /metrics over the samples whose labels match."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(f"{self.at.scaler}/metrics", timeout=5.0).raise_for_status().text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in match.items())
        )

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if not process.alive():
                raise AssertionError(f"{name} exited with {process.process.returncode}:\n{process.log()}")

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {name} (pid {p.pid}) ---\n{p.log(tail)}" for name, p in self.processes.items())

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}


@contextlib.contextmanager
def running_loop(
    functions: list[LoopFunction],
    *,
    scaler_env: Mapping[str, str | None] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] = LOOP_OVERRIDES,
    workdir: Path | None = None,
    binaries: Mapping[str, Located] | None = None,
) -> Iterator[Loop]:
    """Start the double, the scaler, Alertmanager and Prometheus on loopback; stop each by PID on exit.

    `scaler_env` adds to (or, with None values, removes from) the rendered scaler env and SCALER_KNOBS.
    `binaries` are the Prometheus and Alertmanager to run (default: `monitoring_binaries()`).
    """
    binaries = dict(binaries or monitoring_binaries())
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="faasplane-loop-")))
        workdir.mkdir(parents=True, exist_ok=True)
        password_file = workdir / names.BASIC_AUTH_PASSWORD_KEY
        password_file.write_text(secrets.token_urlsafe(24))
        password_file.chmod(0o600)
        ports = {name: free_port() for name in ("double", "scaler", "prometheus", "alertmanager")}
        at = Addresses(**{name: f"http://127.0.0.1:{port}" for name, port in ports.items()}, password_file=password_file)
        config = stack_config(STACK, overrides)
        rendered = rendered_documents(STACK, overrides)
        documents = loopback_documents(config, at)
        check_against_render(documents, rendered)
        loop = Loop(at, config, {fn.name: fn for fn in functions}, workdir=workdir, binaries=binaries)

        # The double, behind the same basic auth the gateway has.
        functions_file = workdir / "functions.json"
        functions_file.write_text(json.dumps([fn.as_double() for fn in functions]))
        loop.processes["double"] = stack.enter_context(managed(
            [sys.executable, "-m", "tests.doubles.faas_provider", "--listen", f"127.0.0.1:{ports['double']}",
             "--functions", str(functions_file), "--auth-user", names.BASIC_AUTH_ADMIN_USER,
             "--auth-password-file", str(password_file)],
            workdir / "double.log",
        ))
        wait_http(f"{at.double}/healthz", loop.processes["double"])

        # The scaler with the rendered Deployment's env.
        env = {**scaler_env_from_render(rendered["scaler-env"], at), **SCALER_KNOBS}
        for key, value in (scaler_env or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        _, loop.processes["scaler"] = stack.enter_context(
            scaler_process(env, workdir / "scaler.log", port=ports["scaler"])
        )

        # Alertmanager, gossip off, storage in the temp dir.
        am_dir = workdir / "alertmanager"
        am_dir.mkdir()
        (am_dir / mc.ALERTMANAGER_FILE).write_text(mc.dump(documents[mc.ALERTMANAGER_FILE]))
        loop.processes["alertmanager"] = stack.enter_context(managed(
            [str(binaries["alertmanager"].path), f"--config.file={am_dir / mc.ALERTMANAGER_FILE}", f"--storage.path={am_dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{ports['alertmanager']}", "--cluster.listen-address=",
             "--log.level=info"],
            workdir / "alertmanager.log",
        ))
        wait_http(f"{at.alertmanager}/-/ready", loop.processes["alertmanager"])

        # Prometheus with the rule file beside its config, as in the ConfigMap.
        prom_dir = workdir / "prometheus"
        prom_dir.mkdir()
        (prom_dir / mc.RULES_FILE).write_text(mc.dump(documents[mc.RULES_FILE]))
        (prom_dir / mc.PROMETHEUS_FILE).write_text(mc.dump(documents[mc.PROMETHEUS_FILE]))
        loop.processes["prometheus"] = stack.enter_context(managed(
            [str(binaries["prometheus"].path), f"--config.file={prom_dir / mc.PROMETHEUS_FILE}", f"--storage.tsdb.path={prom_dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{ports['prometheus']}", "--log.level=info"],
            workdir / "prometheus.log",
            cwd=prom_dir,
        ))
        wait_http(f"{at.prometheus}/-/ready", loop.processes["prometheus"], timeout=30)
        loop.wait_for("Prometheus to scrape the double", lambda: _target_up(at.prometheus), timeout=15)
        yield loop


def _target_up(prometheus: str) -> bool:
    try:
        reply = httpx.get(f"{prometheus}/api/v1/query", params={"query": "up"}, timeout=2.0).json()
    except (httpx.HTTPError, ValueError):
        return False
    return any(sample["value"][1] == "1" for sample in reply.get("data", {}).get("result", []))


def replicas_at(calls: list[Call], start: int, at: float) -> int:
    """The replica count at monotonic time `at`, from the starting count and the applied calls."""
    replicas = start
    for call in calls:
        if call.time > at:
            break
        if call.applied is not None:
            replicas = call.applied
    return replicas


# --- by hand -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.loop.harness", description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", choices=["proportional", "openfaas"], default=None,
                        help="SCALER_POLICY (default: the dev stack's)")
    parser.add_argument("--capacity", type=float, default=4.0, help="one replica's capacity in rps")
    parser.add_argument("--rps", type=float, default=12.0, help="offered load during the step")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds to keep the load on after the target")
    parser.add_argument("--max", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep configs and logs in this directory")
    args = parser.parse_args(argv)
    busy = LoopFunction("busy", args.capacity, max=args.max)
    idle = LoopFunction("idle", args.capacity, max=args.max)
    env = {"SCALER_POLICY": args.policy} if args.policy else {}
    need = busy.need(args.rps)
    try:
        binaries = monitoring_binaries()
    except MissingTools as error:
        print(f"error: the loop needs Prometheus and Alertmanager: {error}", file=sys.stderr)
        return 2
    for located in binaries.values():
        print(f"running {located.describe()}")
    with running_loop([busy, idle], scaler_env=env, workdir=args.keep, binaries=binaries) as loop:
        print(f"processes: {loop.pids()}  pipeline bound {pipeline_bound_s(loop.config):.1f}s  need {need}")
        t0 = loop.set_load("busy", args.rps)
        reached = loop.wait_for(f"{need} replicas", lambda: loop.replicas("busy") >= need, timeout=120)
        time.sleep(args.hold)
        stopped = loop.set_load("busy", busy.capacity_rps * STOP_FRACTION)
        loop.wait_for("the way back to min", lambda: loop.replicas("busy") <= busy.min, timeout=120)
        for call in loop.calls("busy"):
            print(f"  t={call.time - t0:6.2f}s  scale busy -> {call.replicas} (applied {call.applied}, {call.status})")
        print(f"reached {need} after {reached - t0:.2f}s; load stopped at {stopped - t0:.2f}s; "
              f"idle calls: {len(loop.calls('idle'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
