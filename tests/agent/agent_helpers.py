"""Helpers the agent tests share: an in-process relay on loopback, agents on it, and waiting
for one kind of agent event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from hushwire.agent.agent import Agent, AgentEvent, ConnectionEstablished
from hushwire.agent.machine import Transition, effect_from_json, effect_to_json, input_from_json
from hushwire.client import ClientConfig
from hushwire.server.config import RelayConfig
from hushwire.server.run import RunningRelay, start_relay

E = TypeVar("E")
CFG = ClientConfig(ping_interval=None, command_timeout=10)


def run(coro: Callable[[], Awaitable[None]], timeout: float = 90) -> None:
    asyncio.run(asyncio.wait_for(coro(), timeout))


@asynccontextmanager
async def relay_at(data: Path, ws_port: int = 0) -> AsyncIterator[RunningRelay]:
    running = await start_relay(RelayConfig(data=data, ws=("127.0.0.1", ws_port), host="127.0.0.1"))
    try:
        yield running
    finally:
        await running.stop()


def agent_for(r: RunningRelay, data: Path) -> Agent:
    return Agent(data, r.address, ws_url=f"ws://127.0.0.1:{r.ws_port}/", client_config=CFG)


async def started_pair(r: RunningRelay, data: Path) -> tuple[Agent, Agent]:
    """An owner and a visitor agent on ``r`` (under ``data/owner``, ``data/visitor``), started."""
    owner, visitor = agent_for(r, data / "owner"), agent_for(r, data / "visitor")
    await owner.start()
    await visitor.start()
    return owner, visitor


async def wait_for(agent: Agent, kind: type[E], pred: Callable[[E], bool] = lambda e: True) -> E:
    while True:
        ev: AgentEvent = await asyncio.wait_for(agent.events.get(), 15)
        if isinstance(ev, kind) and pred(ev):
            return ev


async def connect(owner: Agent, visitor: Agent) -> tuple[str, str]:
    """Start both agents; the owner makes its address and the visitor joins it. Returns
    ``(owner's conn_id, visitor's conn_id)`` once both sides are established."""
    await owner.start()
    await visitor.start()
    _, link = await owner.create_address(b"owner")
    v_conn = await visitor.join(link, b"visitor")
    o_conn = (await wait_for(owner, ConnectionEstablished)).conn_id
    await wait_for(visitor, ConnectionEstablished)
    return o_conn, v_conn


def check_transcript(step: Callable[[str, Any], Transition], t: dict[str, Any]) -> None:
    """Run a state-table transcript (``state``, then ``steps`` of input, state, effects)."""
    state = t["state"]
    for i, s in enumerate(t["steps"]):
        tr = step(state, input_from_json(s["input"]))
        got = [effect_to_json(e) for e in tr.effects]
        assert (tr.status, got) == (s["state"], s["effects"]), f"step {i}: {s['input']}"
        assert [effect_from_json(e) for e in s["effects"]] == list(tr.effects)
        state = tr.status
