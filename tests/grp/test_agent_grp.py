"""A visitor agent on GRP/1 with mandatory two hops: its entry relay E (over GRP) forwards
every sender command to the owner's relay D (``PFWD`` -> ``RFWD``); nothing goes directly,
and a destination on E itself is refused. Two real relays on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest

from hushwire.agent.agent import (
    Agent,
    AgentEvent,
    AgentProblem,
    ConnectionEstablished,
    MessageReceived,
)
from hushwire.agent.routing import GRP_ROUTING
from hushwire.client import ClientConfig
from hushwire.server.run import RunningRelay
from hushwire.testing.grp import grp_relay, tls_address
from hushwire.transport.grp import CoverSettings

RATE = 50.0
CFG = ClientConfig(ping_interval=None, command_timeout=20)
E_ = TypeVar("E_", bound=AgentEvent)


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 120))


async def wait_for(agent: Agent, kind: type[E_]) -> E_:
    while True:
        ev: AgentEvent = await asyncio.wait_for(agent.events.get(), 30)
        if isinstance(ev, kind):
            return ev


def relay(data: Path) -> AbstractAsyncContextManager[RunningRelay]:
    return grp_relay(data, RATE)


def grp_visitor(data: Path, entry: RunningRelay, counters: dict[str, int]) -> Agent:
    assert entry.grp_address is not None
    return Agent(
        data,
        tls_address(entry),
        ws_url=entry.grp_address.encode(),
        client_config=replace(CFG, grp_cover=CoverSettings(rate=RATE, counters=counters)),
        routing=GRP_ROUTING,
    )


@pytest.mark.parametrize("link", ["tls", "grp"])
def test_a_grp_visitor_chats_through_two_relays(tmp_path: Path, link: str) -> None:
    """``link``: how E reaches D (TLS as any proxy does, or GRP when D is one of E's
    ``grp_peers``)."""

    async def main() -> None:
        counters: dict[str, int] = {}
        async with relay(tmp_path / "d") as d:
            assert d.grp_address is not None
            peers = (d.grp_address.encode(),) if link == "grp" else ()
            async with grp_relay(tmp_path / "e", RATE, grp_peers=peers) as e:
                await chat(tmp_path, e, d, counters)
            # The E-D link carried the forwards over GRP, or D's GRP port saw nothing.
            assert d.grp is not None
            assert (d.grp.cover.counters.get("recv_DATA", 0) > 0) == (link == "grp")

    run(main)


async def chat(tmp_path: Path, e: RunningRelay, d: RunningRelay, counters: dict[str, int]) -> None:
    """The owner on D, the visitor on E over GRP: a conversation both ways."""
    owner = Agent(tmp_path / "owner", tls_address(d), client_config=CFG)
    visitor = grp_visitor(tmp_path / "visitor", e, counters)
    await owner.start()
    await visitor.start()
    try:
        _, link = await owner.create_address(b"owner")
        v_conn = await visitor.join(link, b"visitor")
        o_est, _ = await asyncio.gather(
            wait_for(owner, ConnectionEstablished), wait_for(visitor, ConnectionEstablished)
        )
        sent = [b"over GRP %d" % i for i in range(3)]
        for body in sent:
            await visitor.send(v_conn, body)
        got = [await wait_for(owner, MessageReceived) for _ in sent]
        assert [m.body for m in got] == sent
        await asyncio.gather(*(owner.ack_message(m.msg_id) for m in got))
        await owner.send(o_est.conn_id, b"to the visitor")
        back = await wait_for(visitor, MessageReceived)
        assert back.body == b"to the visitor" and back.integrity == "ok"
        # The visitor only ever had its GRP connection to E.
        assert list(visitor._clients) == [tls_address(e).encode()]
    finally:
        await owner.stop()
        await visitor.stop()
    # D saw its owner and E (as the proxy), never the visitor; every visitor command reached
    # it forwarded.
    assert d.relay.metrics.connections_total == 2
    assert d.relay.metrics.forwarded_received >= 5  # confirmation, SKEY, 3 messages
    assert e.relay.metrics.forwarded_received == 0
    assert e.grp is not None and e.grp.cover.counters.get("recv_DATA", 0) > 0
    assert counters.get("sent_COVER", 0) > 0 and counters.get("sent_DATA", 0) > 0


def test_a_destination_on_the_entry_relay_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path / "e") as e:
            owner = Agent(tmp_path / "owner", tls_address(e), client_config=CFG)
            visitor = grp_visitor(tmp_path / "visitor", e, {})
            await owner.start()
            await visitor.start()
            try:
                _, link = await owner.create_address(b"owner")
                await visitor.join(link, b"visitor")
                problem = await wait_for(visitor, AgentProblem)
                assert "PROXY BROKER HOST" in problem.message
                # Nothing reached the owner, directly or otherwise.
                await asyncio.sleep(0.5)
                assert all(
                    not isinstance(ev, ConnectionEstablished)
                    for ev in [owner.events.get_nowait() for _ in range(owner.events.qsize())]
                )
                assert e.relay.metrics.forwarded_received == 0
            finally:
                await owner.stop()
                await visitor.stop()

    run(main)
