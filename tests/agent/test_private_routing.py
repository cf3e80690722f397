"""Private message routing between two agents on two relays (docs/agent.md): the owner on
relay A, the visitor on relay B, each sending only through its own relay, which forwards
to the other (``PFWD`` -> ``RFWD``). Neither agent ever connects to the other's relay; the
relays' admin ``/metrics`` show the forwarded commands and only the proxy's connection."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from hushwire.agent.agent import (
    Agent,
    AgentEvent,
    ConnectionEstablished,
    MessageReceived,
)
from hushwire.agent.routing import ProxyMode, RoutingSettings
from hushwire.client import ClientConfig
from hushwire.server.metrics import machine_totals
from hushwire.testing.relayproc import RelayProcess, start_relay_process

CFG = ClientConfig(ping_interval=None, command_timeout=20)
E = TypeVar("E", bound=AgentEvent)


def run(coro: Callable[[], Awaitable[None]], timeout: float = 120) -> None:
    asyncio.run(asyncio.wait_for(coro(), timeout))


async def wait_for(agent: Agent, kind: type[E]) -> E:
    while True:
        ev: AgentEvent = await asyncio.wait_for(agent.events.get(), 30)
        if isinstance(ev, kind):
            return ev


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def relay_with_admin(data: Path, host: str) -> tuple[RelayProcess, int]:
    port = free_port()
    r = start_relay_process(data, ws=False, host=host, extra=["--admin", f"127.0.0.1:{port}"])
    return r, port


def metrics(port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return machine_totals(resp.read().decode())


def test_owner_and_visitor_send_only_through_their_own_relays(tmp_path: Path) -> None:
    # Different host names: relays are known by host (the port does not count).
    a, a_admin = relay_with_admin(tmp_path / "relay-a", "localhost")
    b, b_admin = relay_with_admin(tmp_path / "relay-b", "127.0.0.1")

    async def main() -> None:
        # The owner proxies always, the visitor to relays it does not know (A is one).
        owner = Agent(
            tmp_path / "owner",
            a.address,
            client_config=CFG,
            routing=RoutingSettings(ProxyMode.ALWAYS),
        )
        visitor = Agent(
            tmp_path / "visitor",
            b.address,
            client_config=CFG,
            routing=RoutingSettings(ProxyMode.UNKNOWN),
        )
        await owner.start()
        await visitor.start()
        try:
            _, link = await owner.create_address(b"owner")
            v_conn = await visitor.join(link, b"visitor")
            o_conn = (await wait_for(owner, ConnectionEstablished)).conn_id
            await wait_for(visitor, ConnectionEstablished)
            for i in range(3):
                await visitor.send(v_conn, b"to the owner %d" % i)
            got = [await wait_for(owner, MessageReceived) for _ in range(3)]
            assert [m.body for m in got] == [b"to the owner %d" % i for i in range(3)]
            for m in got:
                await owner.ack_message(m.msg_id)
            for i in range(2):
                await owner.send(o_conn, b"to the visitor %d" % i)
            back = [await wait_for(visitor, MessageReceived) for _ in range(2)]
            assert [m.body for m in back] == [b"to the visitor 0", b"to the visitor 1"]
            assert all(m.integrity == "ok" for m in [*got, *back])
            # Each agent has only ever had a client for its own relay.
            assert list(owner._clients) == [a.address.encode()]
            assert list(visitor._clients) == [b.address.encode()]
        finally:
            await owner.stop()
            await visitor.stop()

    try:
        run(main)
        ma, mb = metrics(a_admin), metrics(b_admin)
    finally:
        a.stop()
        b.stop()
    # Each relay saw two connections: its own agent's and the other relay's (as a proxy).
    assert ma["hushwire_connections_total"] == 2
    assert mb["hushwire_connections_total"] == 2
    # The visitor's joining message (the confirmation), its SKEY of the owner's reply queue
    # and its 3 messages reached A forwarded; so did the owner's SKEY, HELLO and 2 messages
    # at B (receipts and HELLOs add more).
    assert ma["hushwire_forwarded_received_total"] >= 5
    assert mb["hushwire_forwarded_received_total"] >= 3
    assert ma['hushwire_commands_total{command="RFWD"}'] >= 5
    # One proxy session per destination, reused for every command.
    assert ma['hushwire_commands_total{command="PRXY"}'] == 1
    assert mb['hushwire_commands_total{command="PRXY"}'] == 1
    assert ma['hushwire_proxy_commands_total{command="PRXY",result="success"}'] == 1
    assert mb['hushwire_proxy_commands_total{command="PRXY",result="success"}'] == 1
