"""Idle scale-to-zero: a background pass over opted-in functions (both policies, needs Prometheus).

A function labelled `com.openfaas.scale.zero=true` goes to 0 when Prometheus saw no invocation
and nothing in flight for its `zero-duration`, and when neither its creation, a scale-up nor the
scaler's own start is more recent than that (`decision.decide_idle`). A provider that refuses 0
(OpenFaaS CE answers 400) is logged once per function and never asked again by this process.
"""

from __future__ import annotations

import logging

from scaler import decision as rules
from scaler.alerts import FunctionRef
from scaler.decision import Decision, IdleFacts
from scaler.engine import Scaler
from scaler.labels import TYPE_CAPACITY, ScaleSpec
from scaler.logs import log_event
from scaler.provider import FunctionInfo, ProviderError
from scaler.state import FunctionState

KNOWN_FUNCTIONS_QUERY = "count by (function_name) (gateway_service_count)"


def invocations_query(function_key: str, window: float) -> str:
    """Invocations started in the last `window` seconds (the key is a validated name.namespace)."""
    return (
        "sum by (function_name) (increase(gateway_function_invocation_started"
        f'{{function_name="{function_key}"}}[{max(1, int(window))}s]))'
    )


class Idler:
    def __init__(self, scaler: Scaler) -> None:
        self.scaler = scaler

    async def run_once(self) -> None:
        """One pass over the configured namespaces; does nothing without Prometheus."""
        scaler = self.scaler
        if scaler.load_source is None:
            return
        for namespace in scaler.settings.idle_namespaces:
            try:
                functions = await scaler.provider.list_functions(namespace)
            except ProviderError as error:
                log_event(logging.WARNING, "idle-list-failed", namespace=namespace, error=error.kind)
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
            invocations = await scaler.load_source.query(invocations_query(ref.key, spec.zero_duration))
            now = scaler.clock()
            state = scaler.state.function(ref)
            facts = IdleFacts(
                replicas=info.replicas,
                invocations_in_window=None if invocations is None else invocations.get(ref.key, 0.0),
                in_flight=None if in_flight is None else in_flight.get(ref.key, 0.0),
                gateway_knows_function=known is not None and ref.key in known,
                age=None if info.created_at is None else scaler.wall_clock() - info.created_at.timestamp(),
                since_scale_up=None if state.last_scale_up is None else now - state.last_scale_up,
                scaler_uptime=now - scaler.started_at,
            )
            idle, why = rules.decide_idle(spec, facts)
            if idle:
                await self._scale_to_zero(ref, state)
            else:
                log_event(logging.DEBUG, "idle-check", function=ref.name, namespace=ref.namespace, reason=why)

    async def _scale_to_zero(self, ref: FunctionRef, state: FunctionState) -> None:
        scaler = self.scaler
        async with state.lock:
            try:
                info = await scaler.provider.get_function(ref)
            except ProviderError as error:
                log_event(logging.WARNING, "idle-failed", function=ref.name, namespace=ref.namespace,
                          error=error.kind)
                return
            if info.replicas == 0 or state.zero_refused:
                return
            choice = Decision(0, rules.IDLE, state.history)
            _, reason = await scaler.apply(ref, state, info.replicas, choice, scaler.clock(), trigger="idle")
            if reason.startswith("provider-refused"):
                state.zero_refused = True
                scaler.metrics.scale_to_zero_refused.inc()
                log_event(
                    logging.WARNING, "scale-to-zero-refused", function=ref.name, namespace=ref.namespace,
                    detail="the provider does not accept 0 replicas (OpenFaaS CE); not trying again",
                )
            elif reason == rules.IDLE:
                state.descending = False
