"""Helpers the agent tests share: an in-process relay on loopback, agents on it, and waiting
for one kind of agent event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from hushwire.agent.agent import Agent, AgentEvent
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


async def wait_for(agent: Agent, kind: type[E], pred: Callable[[E], bool] = lambda e: True) -> E:
    while True:
        ev: AgentEvent = await asyncio.wait_for(agent.events.get(), 15)
        if isinstance(ev, kind) and pred(ev):
            return ev
