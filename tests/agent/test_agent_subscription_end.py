"""``END`` and ``DELD`` reach the application (issue 16, B2): a second agent on a copy of the
same data subscribes the same queues; the first gets :class:`SubscriptionEnded`, does not
subscribe again by itself (not even after its relay connection is re-established), and the
second keeps the queue. ``DELD`` becomes :class:`QueueDeleted`. Real relay on loopback."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from agent_helpers import CFG, agent_for, relay_at, run, wait_for

from hushwire.agent.agent import (
    Agent,
    AgentEvent,
    ConnectionRequested,
    QueueDeleted,
    SubscriptionEnded,
)
from hushwire.agent.sealing import key_pair
from hushwire.agent.store import AgentStore
from hushwire.client.events import SubscriptionEnded as ClientSubscriptionEnded
from hushwire.client.reconnect import ReconnectingClient


def _drain(agent: Agent) -> list[AgentEvent]:
    out: list[AgentEvent] = []
    while not agent.events.empty():
        out.append(agent.events.get_nowait())
    return out


async def _poll(cond: object, what: str) -> None:
    for _ in range(1500):
        if callable(cond) and cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def _owner_with_copy(r: object, tmp_path: Path) -> tuple[Agent, Agent, str, str]:
    """An owner with a contact address, and a copy of its data directory (made while it
    was stopped, as a backup restored elsewhere would be). Returns (first, second, address
    connection id, link); the first is running, the second is not started."""
    first = agent_for(r, tmp_path / "first")  # type: ignore[arg-type]
    await first.start()
    addr_conn, link = await first.create_address(b'{"event":"x.info","owner":1}')
    await first.stop()
    shutil.copytree(tmp_path / "first", tmp_path / "second")
    first = agent_for(r, tmp_path / "first")  # type: ignore[arg-type]
    await first.start()
    second = agent_for(r, tmp_path / "second")  # type: ignore[arg-type]
    return first, second, addr_conn, link


def test_the_first_agent_is_told_and_does_not_take_the_queue_back(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            first, second, addr_conn, link = await _owner_with_copy(r, tmp_path)
            visitor = agent_for(r, tmp_path / "visitor")
            try:
                await second.start()
                ended = await wait_for(first, SubscriptionEnded)
                assert ended == SubscriptionEnded(addr_conn, r.address.encode())
                # The first agent's relay connection drops and comes back: it subscribes
                # again what it still holds, but not the ended queue.
                rc = first._clients[r.address.encode()]
                await rc.client.close()
                await _poll(lambda: rc.reconnects == 1 and rc.connected, "the reconnect")
                assert _rcv_ids(first) and not _rcv_ids(first) & set(rc.client.subscriptions)
                # A visitor joins the address: the second agent gets it, the first does
                # not, and the second is never told END (no stealing back and forth).
                await visitor.start()
                await visitor.join(link, b'{"event":"x.info","visitor":1}')
                req = await wait_for(second, ConnectionRequested)
                assert req.info == b'{"event":"x.info","visitor":1}'
                assert not any(isinstance(e, SubscriptionEnded) for e in _drain(second))
                assert not any(isinstance(e, ConnectionRequested) for e in _drain(first))
                # The application decides to take the queue back: now the second is told.
                await first.resubscribe(addr_conn)
                back = await wait_for(second, SubscriptionEnded)
                assert back.conn_id == addr_conn
                assert not any(isinstance(e, SubscriptionEnded) for e in _drain(first))
            finally:
                await visitor.stop()
                await second.stop()
                await first.stop()

    run(main)


def _rcv_ids(agent: Agent) -> set[bytes]:
    return {q.rcv_id for st in agent.store.all_connections() for q in st.rcv}


def test_a_queue_deleted_by_another_client_becomes_queue_deleted(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            first, _, addr_conn, _ = await _owner_with_copy(r, tmp_path)
            store = AgentStore(tmp_path / "second" / "agent.sqlite3")
            st = store.load(addr_conn)
            store.close()
            assert st is not None
            q = st.rcv[0]
            other = ReconnectingClient(r.address, ws_url=f"ws://127.0.0.1:{r.ws_port}/", config=CFG)
            try:
                await other.start()
                await other.delete(q.rcv_id, key_pair(q.rcv_auth_key))
                gone = await wait_for(first, QueueDeleted)
                assert gone == QueueDeleted(addr_conn, r.address.encode())
            finally:
                await other.close()
                await first.stop()

    run(main)


def test_an_end_from_a_previous_relay_connection_is_ignored(tmp_path: Path) -> None:
    """An ``END`` that the current relay connection did not send (the queue is subscribed
    on it) comes from a connection that is gone: it is ignored, as simplexmq does."""

    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            first, second, addr_conn, _ = await _owner_with_copy(r, tmp_path)
            try:
                rc = first._clients[r.address.encode()]
                [rid] = list(rc.client.subscriptions)
                rc.events.put_nowait(ClientSubscriptionEnded(rid))
                await _poll(rc.events.empty, "the agent to take the stale END")
                # The real one: the second agent subscribes.
                await second.start()
                ended = await wait_for(first, SubscriptionEnded)
                assert ended.conn_id == addr_conn
                await _poll(lambda: rid not in rc.client.subscriptions, "the END")
                await _poll(rc.events.empty, "the agent to take the END")
                await asyncio.sleep(0.1)
                assert not any(isinstance(e, SubscriptionEnded) for e in _drain(first))
            finally:
                await second.stop()
                await first.stop()

    run(main)
