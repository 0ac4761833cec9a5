"""The engine with a scripted provider object: orderings that HTTP tests cannot force."""

from __future__ import annotations

import asyncio

import pytest

from faasplane.scaler.alerts import FunctionRef, parse_notification
from faasplane.scaler.engine import Scaler
from faasplane.scaler.provider import FunctionInfo, FunctionNotFound
from faasplane.scaler.settings import Settings

from .conftest import FakeClock, StaticLoad, firing

pytestmark = pytest.mark.anyio

NS = "openfaas-fn"
LABELS = {"com.openfaas.scale.max": "20"}


class GatedProvider:
    """A provider whose list call takes its snapshot at once but answers only when `gate` is set."""

    def __init__(self, count: int) -> None:
        self.replicas = {f"fn-{i}": 1 for i in range(count)}
        self.gate = asyncio.Event()
        self.calls: list[tuple[str, int]] = []

    async def get_function(self, ref: FunctionRef) -> FunctionInfo:
        if ref.name not in self.replicas:
            raise FunctionNotFound("not-found", ref.key)
        return FunctionInfo(ref.name, ref.namespace, self.replicas[ref.name], dict(LABELS))

    async def scale(self, ref: FunctionRef, replicas: int) -> None:
        self.calls.append((ref.name, replicas))
        self.replicas[ref.name] = replicas

    async def list_functions(self, namespace: str) -> list[FunctionInfo]:
        snapshot = [FunctionInfo(name, namespace, count, dict(LABELS)) for name, count in self.replicas.items()]
        await self.gate.wait()
        return snapshot


async def test_a_list_read_before_a_scale_is_not_used_after_it():
    provider = GatedProvider(20)
    load = StaticLoad(vectors={"rps": {f"fn-0.{NS}": 450.0}})  # needs 10
    scaler = Scaler(Settings(provider_url="http://provider"), provider, load, clock=FakeClock())  # type: ignore[arg-type]
    big = parse_notification({"alerts": [firing(f"fn-{i}") for i in range(20)]}, NS)
    one = parse_notification({"alerts": [firing("fn-0")]}, NS)

    large = asyncio.create_task(scaler.handle(big))
    await asyncio.sleep(0)  # the large payload's list call is in flight, its snapshot says fn-0 is at 1
    first = await scaler.handle(one)
    assert [(r.replicas_from, r.replicas_to) for r in first] == [(1, 10)]

    load.vectors["rps"] = {f"fn-0.{NS}": 200.0}  # lower when the large payload decides: needs 5
    provider.gate.set()
    results = [r for r in await large if r.function == f"fn-0.{NS}"]
    # read again after the change: 10, and a firing alert never scales down
    assert [(r.replicas_from, r.replicas_to, r.reason) for r in results] == [(10, 10, "hold")]
    assert [call for call in provider.calls if call[0] == "fn-0"] == [("fn-0", 10)]
