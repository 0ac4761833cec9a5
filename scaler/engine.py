"""The scaler's core: apply decisions for alerts and descend after resolved alerts.

`Scaler` ties the pure decisions to the provider, the load source and the state. It knows
nothing about HTTP. Clocks are injectable (`clock` is monotonic seconds, `wall_clock` is Unix
seconds) so tests can drive time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field

from faasplane.scaler import decision as rules
from faasplane.scaler.alerts import Alert, FunctionRef, Notification
from faasplane.scaler.decision import Decision, Limits
from faasplane.scaler.failures import Outlook, outlook
from faasplane.scaler.labels import DEFAULT_MAX, DEFAULT_MAX_OPENFAAS, ScaleSpec, parse_scale_labels
from faasplane.scaler.load import LoadSnapshot, LoadSource
from faasplane.scaler.logs import log_event
from faasplane.scaler.metrics import ScalerMetrics
from faasplane.scaler.provider import FunctionInfo, FunctionNotFound, ProviderClient, ProviderError, ProviderRefused
from faasplane.scaler.settings import POLICY_OPENFAAS, Settings
from faasplane.scaler.state import Delivery, DeliveryKey, FunctionState, ScalerState

# A payload naming at least this many functions of one namespace reads them with one list call
# instead of one GET each (a 1,000-alert payload then costs 1 list + the scale calls).
LIST_THRESHOLD = 16

# What follows a failed provider call, in its log line (scaler/failures.py).
WEBHOOK_RETRY = (
    "the webhook answers 502: Alertmanager retries the notification with backoff until the group's "
    "next flush (group_interval)"
)
WEBHOOK_FINAL = "the alert is skipped and the webhook answers 200: Alertmanager does not retry it"
PREFETCH_OUTLOOK = Outlook(
    "the scaler reads the payload's functions one by one instead",
    "the scaler reads the payload's functions one by one instead",
)

APPLIED = "applied"
UNCHANGED = "unchanged"
SKIPPED = "skipped"
FAILED = "failed"


@dataclass
class Prefetched:
    """Functions read with one list call per namespace, with the state version at reading time."""

    infos: dict[FunctionRef, tuple[FunctionInfo, int]] = field(default_factory=dict)
    namespaces: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class AlertResult:
    """What happened to one alert of a webhook."""

    index: int
    function: str
    status: str
    outcome: str
    reason: str
    replicas_from: int | None = None
    replicas_to: int | None = None

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["from"] = data.pop("replicas_from")
        data["to"] = data.pop("replicas_to")
        return {key: value for key, value in data.items() if value is not None}


class Scaler:
    def __init__(
        self,
        settings: Settings,
        provider: ProviderClient,
        load_source: LoadSource | None = None,
        metrics: ScalerMetrics | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.provider = provider
        self.load_source = load_source
        self.metrics = metrics or ScalerMetrics()
        self.state = ScalerState()
        self.clock = clock
        self.wall_clock = wall_clock
        self.started_at = clock()
        self.limits = Limits(
            cap=settings.max_replicas_cap,
            up_period=settings.up_period,
            up_factor=settings.up_factor,
            up_addend=settings.up_addend,
            down_period=settings.down_period,
            fallback_step_interval=settings.fallback_step_interval,
        )
        self.openfaas_policy = settings.policy == POLICY_OPENFAAS
        self._default_max = DEFAULT_MAX_OPENFAAS if self.openfaas_policy else DEFAULT_MAX
        every = f"{settings.reconcile_interval:g}s"
        self.webhook_outlook = Outlook(WEBHOOK_RETRY, WEBHOOK_FINAL)
        # proportional: a resolved alert whose read or scale failed is left descending for the reconciler
        self.descent_outlook = Outlook(
            f"{WEBHOOK_RETRY}; meanwhile the reconcile loop retries the descent every {every}", WEBHOOK_FINAL
        )
        self.reconcile_outlook = Outlook(
            f"the reconcile loop retries the descent in {every}", "the descent of this function stops"
        )

    def spec_for(self, info: FunctionInfo) -> ScaleSpec:
        return parse_scale_labels(info.labels, default_max=self._default_max)

    # -- alerts -------------------------------------------------------------------------------

    async def handle(self, notification: Notification) -> list[AlertResult]:
        """Apply every alert; alerts of one function run in order under its lock."""
        snapshot = LoadSnapshot(None if self.openfaas_policy else self.load_source)
        groups: dict[FunctionRef, list[Alert]] = {}
        for alert in notification.alerts:
            groups.setdefault(alert.function, []).append(alert)
        with outlook(PREFETCH_OUTLOOK):
            prefetched = await self._prefetch(groups)
        batches = await asyncio.gather(
            *(self._handle_function(ref, alerts, snapshot, prefetched) for ref, alerts in groups.items())
        )
        results = sorted((result for batch in batches for result in batch), key=lambda item: item.index)
        for result in results:
            self.metrics.alerts.labels(result.outcome).inc()
        return results

    async def _prefetch(self, groups: dict[FunctionRef, list[Alert]]) -> Prefetched:
        prefetched = Prefetched()
        counts = Counter(ref.namespace for ref in groups)
        for namespace, count in counts.items():
            if count < LIST_THRESHOLD:
                continue
            # The versions before the list call: a change the scaler makes while the list is in
            # flight bumps the version, so the (possibly older) listed count is not used for it.
            versions = {ref: self._version(ref) for ref in groups if ref.namespace == namespace}
            try:
                infos = await self.provider.list_functions(namespace)
            except ProviderError:
                continue  # fall back to one GET per function
            prefetched.namespaces.add(namespace)
            for info in infos:
                ref = FunctionRef(info.name, namespace)
                if ref in versions:
                    prefetched.infos[ref] = (info, versions[ref])
        return prefetched

    def _version(self, ref: FunctionRef) -> int:
        state = self.state.functions.get(ref)
        return 0 if state is None else state.version

    async def _read_function(self, ref: FunctionRef, state: FunctionState, prefetched: Prefetched) -> FunctionInfo:
        """The function as listed for this payload if nothing changed it since, else a fresh GET."""
        entry = prefetched.infos.get(ref)
        if entry is not None and entry[1] == state.version:
            return entry[0]
        if entry is None and ref.namespace in prefetched.namespaces:
            raise FunctionNotFound("not-found", ref.key)  # not in the fresh list of its namespace
        return await self.provider.get_function(ref)

    async def _handle_function(
        self, ref: FunctionRef, alerts: list[Alert], snapshot: LoadSnapshot, prefetched: Prefetched
    ) -> list[AlertResult]:
        state = self.state.function(ref)
        state.waiters += 1
        unknown = False
        try:
            async with state.lock:
                results = []
                for alert in alerts:
                    descent = alert.status == rules.RESOLVED and not self.openfaas_policy
                    with outlook(self.descent_outlook if descent else self.webhook_outlook):
                        result = await self._handle_alert(ref, state, alert, snapshot, prefetched)
                    unknown = unknown or result.reason == "unknown-function"
                    results.append(result)
                return results
        finally:
            state.waiters -= 1
            if unknown:
                self.state.forget(ref)

    async def _handle_alert(
        self, ref: FunctionRef, state: FunctionState, alert: Alert, snapshot: LoadSnapshot, prefetched: Prefetched
    ) -> AlertResult:
        def result(outcome: str, reason: str, before: int | None = None, after: int | None = None):
            return AlertResult(alert.index, ref.key, alert.status, outcome, reason, before, after)

        proportional = not self.openfaas_policy
        if proportional and alert.status not in (rules.FIRING, rules.RESOLVED):
            return result(SKIPPED, "unknown-status")
        if proportional:
            if self.state.is_stale(alert):
                reason = f"stale-{alert.status}"
                log_event(logging.INFO, reason, function=ref.name, namespace=ref.namespace,
                          fingerprint=alert.fingerprint)
                return result(SKIPPED, reason)
            self.state.record(alert)

        delivery_key = (ref.key, alert.fingerprint, alert.starts_at, alert.status)
        earlier = None
        if self.openfaas_policy and self.settings.dedupe_window > 0:
            earlier = self.state.delivery(delivery_key, self.clock())
            if earlier is not None and earlier.done:
                # A retry or duplicate of a delivery that was applied: the same answer, no new step.
                log_event(logging.DEBUG, "duplicate-delivery", function=ref.name, namespace=ref.namespace,
                          fingerprint=alert.fingerprint)
                return result(earlier.outcome, earlier.reason, earlier.before, earlier.to)

        try:
            info = await self._read_function(ref, state, prefetched)
        except FunctionNotFound:
            return result(SKIPPED, "unknown-function")
        except ProviderError as error:
            if alert.status == rules.RESOLVED and proportional:
                state.descending = True  # the reconciler takes over if no retry comes
            return result(FAILED, f"provider-{error.kind}")

        now = self.clock()
        self.state.observe_replicas(ref, info.replicas, now)
        spec = self.spec_for(info)
        if self.openfaas_policy:
            if earlier is not None and info.replicas == earlier.to:
                # The earlier delivery's scale call failed (e.g. timed out) but was applied.
                self._remember(delivery_key, now, APPLIED, earlier.reason, earlier.before, earlier.to)
                return result(APPLIED, earlier.reason, earlier.before, earlier.to)
            choice = rules.decide_openfaas(alert.status, info.replicas, spec, self.limits.cap)
            outcome, reason = await self.apply(ref, state, info.replicas, choice, now, trigger=alert.status)
            if outcome != SKIPPED and self.settings.dedupe_window > 0:
                # a failed scale is remembered with the decision's reason, as pending
                self._remember(delivery_key, now, outcome, choice.reason, info.replicas, choice.target)
            return result(outcome, reason, info.replicas, choice.target if outcome != FAILED else None)
        load = await snapshot.load(spec.type, ref.key)
        if alert.status == rules.FIRING:
            state.descending = False
            choice = rules.decide_firing(info.replicas, spec, load, state.history, now, self.limits)
        else:
            choice = rules.decide_resolved(info.replicas, spec, load, state.history, now, self.limits)
        outcome, reason = await self.apply(ref, state, info.replicas, choice, now, trigger=alert.status)
        return result(outcome, reason, info.replicas, choice.target if outcome != FAILED else None)

    def _remember(
        self, key: DeliveryKey, now: float, outcome: str, reason: str, before: int, to: int
    ) -> None:
        """Remember an `openfaas` delivery for SCALER_DEDUPE_WINDOW; a failed one only as pending."""
        done = outcome != FAILED
        self.state.remember_delivery(key, Delivery(
            now + self.settings.dedupe_window, done, outcome, reason, before, to,
        ))

    async def apply(
        self, ref: FunctionRef, state: FunctionState, current: int, choice: Decision, now: float,
        *, trigger: str,
    ) -> tuple[str, str]:
        """Set the decided count if it differs, keep the history only if that worked, log and count it.

        Returns the outcome (applied, unchanged, skipped, failed) and the reason.
        """
        descent = trigger in (rules.RESOLVED, "reconcile") and not self.openfaas_policy
        outcome = UNCHANGED
        if choice.target != current:
            # Bumped before the call: even a scale that fails (a timeout) may have been applied, so
            # a count read before it must not be used any more.
            state.version += 1
            try:
                await self.provider.scale(ref, choice.target)
                outcome = APPLIED
            except FunctionNotFound:
                self._log_decision(ref, current, choice, trigger, "unknown-function")
                return SKIPPED, "unknown-function"
            except ProviderRefused as error:
                self._log_decision(ref, current, choice, trigger, error.kind)
                state.descending = False
                return SKIPPED, f"provider-{error.kind}"
            except ProviderError as error:
                self._log_decision(ref, current, choice, trigger, error.kind)
                state.descending = state.descending or descent
                return FAILED, f"provider-{error.kind}"
        if not self.openfaas_policy:
            state.history = choice.history
        if descent:
            state.descending = not choice.settled
        if choice.target > current:
            state.last_scale_up = now
        state.last_seen_replicas = choice.target
        key = ref.key
        self.metrics.decisions.labels(key, choice.direction(current), choice.reason).inc()
        self.metrics.desired_replicas.labels(key).set(choice.target)
        self._log_decision(ref, current, choice, trigger, None)
        return outcome, choice.reason

    def _log_decision(
        self, ref: FunctionRef, current: int, choice: Decision, trigger: str, error: str | None
    ) -> None:
        fields: dict[str, object] = {
            "function": ref.name,
            "namespace": ref.namespace,
            "from": current,
            "to": choice.target,
            "reason": choice.reason,
            "policy": self.settings.policy,
            "trigger": trigger,
        }
        if error is not None:
            fields["error"] = error
        log_event(logging.WARNING if error else logging.INFO, "decision", **fields)

    # -- stabilized descent ---------------------------------------------------------------------

    async def reconcile_once(self) -> None:
        """One tick of the descent after resolved alerts: step every descending function once."""
        refs = self.state.descending()
        if not refs:
            return
        snapshot = LoadSnapshot(self.load_source)
        with outlook(self.reconcile_outlook):
            await asyncio.gather(*(self._reconcile_function(ref, snapshot) for ref in refs))

    async def _reconcile_function(self, ref: FunctionRef, snapshot: LoadSnapshot) -> None:
        async def decide(state: FunctionState, info: FunctionInfo, now: float) -> Decision:
            spec = self.spec_for(info)
            load = await snapshot.load(spec.type, ref.key)
            return rules.decide_resolved(info.replicas, spec, load, state.history, now, self.limits)

        try:
            await self.decide_locked(ref, "reconcile", decide, wanted=lambda state: state.descending)
        except FunctionNotFound:
            state = self.state.functions.get(ref)
            if state is not None:
                state.descending = False
            self.state.forget(ref)
        except ProviderError as error:
            # the failed call itself is logged, rate-limited, by the provider client (failures.py)
            log_event(logging.DEBUG, "reconcile-failed", function=ref.name, namespace=ref.namespace,
                      error=error.kind)

    # -- one background decision -----------------------------------------------------------------

    async def decide_locked(
        self,
        ref: FunctionRef,
        trigger: str,
        decide: Callable[[FunctionState, FunctionInfo, float], Awaitable[Decision | None]],
        *,
        wanted: Callable[[FunctionState], bool] = lambda state: True,
    ) -> tuple[str, str] | None:
        """Lock -> read -> decide -> apply: the sequence of every decision made outside a webhook.

        Under the function's lock: nothing unless `wanted(state)`; read the function fresh (a
        `ProviderError`, including `FunctionNotFound`, propagates); record the count seen (an
        increase counts as a scale-up); `decide(state, info, now)` returns the Decision, or None
        for nothing to do; apply it. Returns apply's (outcome, reason), or None if nothing was decided.
        Deciding on the fresh read, under the lock, is what keeps a decision from acting on facts
        that a concurrent webhook has changed.
        """
        state = self.state.function(ref)
        async with state.lock:
            if not wanted(state):
                return None
            info = await self.provider.get_function(ref)
            now = self.clock()
            self.state.observe_replicas(ref, info.replicas, now)
            choice = await decide(state, info, now)
            if choice is None:
                return None
            return await self.apply(ref, state, info.replicas, choice, now, trigger=trigger)
