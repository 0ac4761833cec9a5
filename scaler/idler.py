"""Idle scale-to-zero: a background pass over opted-in functions (both policies, needs Prometheus).

A function labelled `com.openfaas.scale.zero=true` goes to 0 when Prometheus saw no invocation
and nothing in flight for its idle window, and when neither its creation, a scale-up nor the
scaler's own start is more recent than that (`decision.decide_idle`). The window is its
`zero-duration`, but at least MIN_ZERO_DURATION_SECONDS and two idler passes
(`decision.idle_window`). A function without any invocation series counts as idle only when the
gateway already reported it (`gateway_service_count`) one window ago: a series too young for
`increase()` is not "no invocations".

Facts from Prometheus are gathered first; the decision is then taken again under the function's
lock on a fresh read (`Scaler.decide_locked`), and given up if the count changed or a scale-up
happened meanwhile. A provider that refuses 0 (OpenFaaS CE answers 400) is logged once per
function and never asked again by this process. One function that cannot be considered (an
unexpected error) is logged and counted; the others still are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from faasplane.scaler import decision as rules
from faasplane.scaler.alerts import FunctionRef
from faasplane.scaler.decision import Decision, IdleFacts
from faasplane.scaler.engine import Scaler
from faasplane.scaler.failures import Outlook, outlook
from faasplane.scaler.labels import TYPE_CAPACITY, ScaleSpec
from faasplane.scaler.logs import log_event
from faasplane.scaler.provider import FunctionInfo, FunctionNotFound, ProviderError
from faasplane.scaler.state import FunctionState

KNOWN_FUNCTIONS_QUERY = "count by (function_name) (gateway_service_count)"


def invocations_query(function_key: str, window: float) -> str:
    """Invocations started in the last `window` seconds (the key is a validated name.namespace)."""
    return (
        "sum by (function_name) (increase(gateway_function_invocation_started"
        f'{{function_name="{function_key}"}}[{max(1, int(window))}s]))'
    )


def never_invoked_query(function_key: str, window: float) -> str:
    """The function if the gateway reported it `window` seconds ago and has no invocation series now."""
    selector = f'{{function_name="{function_key}"}}'
    return (
        f"count by (function_name) (gateway_service_count{selector} offset {max(1, int(window))}s)"
        f" unless on (function_name) count by (function_name) (gateway_function_invocation_started{selector})"
    )


class Idler:
    def __init__(self, scaler: Scaler) -> None:
        self.scaler = scaler
        self.outlook = Outlook(
            f"the idler tries again at its next pass, in {scaler.settings.idle_interval:g}s",
            "the idler leaves the function as it is (a refused 0 is not asked again)",
        )

    def _idle(self, ref: FunctionRef, spec: ScaleSpec, facts: IdleFacts, replicas: int, window: float) -> bool:
        """`decide_idle` on `facts` with the replicas given and the state and clocks as they are now."""
        scaler = self.scaler
        state = scaler.state.function(ref)
        now = scaler.clock()
        current = replace(
            facts,
            replicas=replicas,
            since_scale_up=None if state.last_scale_up is None else now - state.last_scale_up,
            scaler_uptime=now - scaler.started_at,
        )
        idle, why = rules.decide_idle(spec, current, window)
        if not idle:
            log_event(logging.DEBUG, "idle-check", function=ref.name, namespace=ref.namespace, reason=why)
        return idle

    def window(self, spec: ScaleSpec) -> float:
        return rules.idle_window(spec.zero_duration, self.scaler.settings.idle_interval)

    async def run_once(self) -> None:
        """One pass over the configured namespaces; does nothing without Prometheus."""
        if self.scaler.load_source is None:
            return
        with outlook(self.outlook):
            await self._run_once()

    async def _run_once(self) -> None:
        scaler = self.scaler
        for namespace in scaler.settings.idle_namespaces:
            try:
                functions = await scaler.provider.list_functions(namespace)
            except ProviderError as error:
                # the failed call itself is logged, rate-limited, by the provider client (failures.py)
                log_event(logging.DEBUG, "idle-list-failed", namespace=namespace, error=error.kind)
                continue
            now = scaler.clock()
            candidates = []
            for info in functions:
                ref = FunctionRef(info.name, info.namespace)
                scaler.state.observe_replicas(ref, info.replicas, now)
                spec = scaler.spec_for(info)
                if spec.zero and info.replicas > 0 and not scaler.state.function(ref).zero_refused:
                    candidates.append((ref, info, spec))
            if candidates:
                await self._consider(candidates)

    async def _consider(self, candidates: list[tuple[FunctionRef, FunctionInfo, ScaleSpec]]) -> None:
        scaler = self.scaler
        assert scaler.load_source is not None
        in_flight = await scaler.load_source.loads(TYPE_CAPACITY)
        known = await scaler.load_source.query(KNOWN_FUNCTIONS_QUERY)
        for ref, info, spec in candidates:
            try:
                await self._consider_one(ref, info, spec, in_flight, known)
            except Exception as error:  # one bad function does not stop the pass
                scaler.metrics.unexpected_errors.labels("idler").inc()
                log_event(logging.ERROR, "idle-failed", function=ref.name, namespace=ref.namespace,
                          error=f"{type(error).__name__}: {error}"[:500])

    async def _consider_one(
        self, ref: FunctionRef, info: FunctionInfo, spec: ScaleSpec,
        in_flight: Mapping[str, float] | None, known: Mapping[str, float] | None,
    ) -> None:
        scaler = self.scaler
        assert scaler.load_source is not None
        window = self.window(spec)
        invocations = await scaler.load_source.query(invocations_query(ref.key, window))
        never_invoked = False
        if invocations is not None and ref.key not in invocations:
            quiet = await scaler.load_source.query(never_invoked_query(ref.key, window))
            never_invoked = quiet is not None and ref.key in quiet
        facts = IdleFacts(
            replicas=info.replicas,
            invocations_in_window=None if invocations is None else invocations.get(ref.key),
            in_flight=None if in_flight is None else in_flight.get(ref.key, 0.0),
            gateway_knows_function=known is not None and ref.key in known,
            age=None if info.created_at is None else scaler.wall_clock() - info.created_at.timestamp(),
            since_scale_up=None,
            scaler_uptime=0.0,
            never_invoked=never_invoked,
        )
        if not self._idle(ref, spec, facts, info.replicas, window):
            return  # not idle on the facts gathered so far: no need to read the function again

        async def decide(state: FunctionState, fresh: FunctionInfo, now: float) -> Decision | None:
            """Decide again on the fresh read, under the lock; give up if anything changed."""
            if state.zero_refused or fresh.replicas == 0:
                return None
            if fresh.replicas != info.replicas:
                log_event(logging.DEBUG, "idle-check", function=ref.name, namespace=ref.namespace,
                          reason="replicas-changed")
                return None
            fresh_spec = scaler.spec_for(fresh)
            if self.window(fresh_spec) != window:
                return None  # the labels changed since the metrics were read
            if not self._idle(ref, fresh_spec, facts, fresh.replicas, window):
                return None
            return Decision(0, rules.IDLE, state.history)

        try:
            applied = await scaler.decide_locked(ref, "idle", decide)
        except FunctionNotFound:
            return
        except ProviderError as error:
            log_event(logging.DEBUG, "idle-failed", function=ref.name, namespace=ref.namespace,
                      error=error.kind)  # the failed call is logged by the provider client
            return
        if applied is None:
            return
        state = scaler.state.function(ref)
        _, reason = applied
        if reason.startswith("provider-refused"):
            state.zero_refused = True
            scaler.metrics.scale_to_zero_refused.inc()
            log_event(
                logging.WARNING, "scale-to-zero-refused", function=ref.name, namespace=ref.namespace,
                detail="the provider does not accept 0 replicas (OpenFaaS CE); not trying again",
            )
        elif reason == rules.IDLE:
            state.descending = False
