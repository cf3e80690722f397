"""Queue rotation over two real relays (relay processes on loopback, docs/protocol/agent.md).

The owner moves its receiving queue from relay A to relay B (:meth:`Agent.switch_connection`,
QADD -> QKEY -> QUSE -> QTEST); the visitor follows. Messages the visitor sends before,
during and after the switch all arrive, once each and in order; afterwards the visitor
sends to B only and the old queue is gone from A.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agent_helpers import CFG, connect, run, wait_for

from hushwire.agent.agent import (
    OLD_QUEUE_WAITS,
    Agent,
    AgentError,
    MessageReceived,
    QueueSwitchChanged,
)
from hushwire.agent.store import ConnState, RcvQueueState
from hushwire.errors import HushwireError
from hushwire.smp.address import SMPServer
from hushwire.testing.relayproc import RelayProcess, start_relay_process


@pytest.fixture
def relays(tmp_path: Path) -> object:
    # Different host names: relays are told apart by host and port, as the reference does.
    a = start_relay_process(tmp_path / "relay-a", ws=False, host="localhost")
    b = start_relay_process(tmp_path / "relay-b", ws=False, host="127.0.0.1")
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def _agents(tmp_path: Path, relay: RelayProcess) -> tuple[Agent, Agent]:
    """The owner and the visitor, both on ``relay`` (not started)."""
    return (
        Agent(tmp_path / "owner", relay.address, client_config=CFG),
        Agent(tmp_path / "visitor", relay.address, client_config=CFG),
    )


async def _connected(tmp_path: Path, relay: RelayProcess) -> tuple[Agent, str, Agent, str]:
    owner, visitor = _agents(tmp_path, relay)
    o_conn, v_conn = await connect(owner, visitor)
    return owner, o_conn, visitor, v_conn


def _phases(events: list[object], direction: str) -> list[str]:
    return [
        e.phase for e in events if isinstance(e, QueueSwitchChanged) and e.direction == direction
    ]


async def _collect(agent: Agent, until: int, direction: str) -> tuple[list[object], list[bytes]]:
    """Events until ``until`` switch events of ``direction``; the bodies received meanwhile
    (each acknowledged)."""
    events: list[object] = []
    bodies: list[bytes] = []
    while len(_phases(events, direction)) < until:
        ev = await wait_for(agent, object)
        events.append(ev)
        if isinstance(ev, MessageReceived):
            bodies.append(ev.body)
            await agent.ack_message(ev.msg_id, receipt=False)
    return events, bodies


def test_owner_moves_its_queue_to_another_relay(
    tmp_path: Path, relays: tuple[RelayProcess, RelayProcess]
) -> None:
    a, b = relays

    async def main() -> None:
        owner, o_conn, visitor, v_conn = await _connected(tmp_path, a)
        try:
            before = owner.connection(o_conn)
            assert before is not None and len(before.rcv) == 1
            old_rcv = before.rcv[0]

            await owner.switch_connection(o_conn, b.address)
            with pytest.raises(AgentError, match="already changing"):
                await owner.switch_connection(o_conn, b.address)
            # The visitor keeps talking while the queues change.
            sent = [b"during %d" % i for i in range(4)]
            for body in sent[:2]:
                await visitor.send(v_conn, body)
            v_events, _ = await _collect(visitor, 3, "snd")  # started, confirmed, secured
            for body in sent[2:]:
                await visitor.send(v_conn, body)
            o_events, got = await _collect(owner, 4, "rcv")
            assert _phases(o_events, "rcv") == ["started", "confirmed", "secured", "completed"]
            v_rest, _ = await _collect(visitor, 1, "snd")
            assert _phases(v_events + v_rest, "snd") == [
                "started",
                "confirmed",
                "secured",
                "completed",
            ]
            while len(got) < len(sent):
                m = await wait_for(owner, MessageReceived)
                got.append(m.body)
                await owner.ack_message(m.msg_id, receipt=False)
            assert got == sent

            after = owner.connection(o_conn)
            v_state = visitor.connection(v_conn)
            assert after is not None and v_state is not None
            assert [q.server for q in after.rcv] == [b.address.encode()]
            assert after.rcv_switch == "none" and after.rcv[0].replaces is None
            assert v_state.snd is not None and v_state.snd_next is None
            assert SMPServer.parse(v_state.snd.server).key_hash == b.address.key_hash
            assert v_state.snd.snd_id == after.rcv[0].snd_id

            # After the switch: both ways, in order, hash chain intact.
            for i in range(3):
                await visitor.send(v_conn, b"after %d" % i)
            later = [await wait_for(owner, MessageReceived) for _ in range(3)]
            assert [m.body for m in later] == [b"after %d" % i for i in range(3)]
            assert all(m.integrity == "ok" for m in later)
            await owner.send(o_conn, b"reply")
            r = await wait_for(visitor, MessageReceived)
            assert r.body == b"reply" and r.integrity == "ok"

            # The old queue is deleted on relay A.
            rc = await owner._client(a.address)
            with pytest.raises(Exception, match="AUTH"):
                await rc.subscribe(old_rcv.rcv_id, owner._key_pair(old_rcv.rcv_auth_key))
        finally:
            await owner.stop()
            await visitor.stop()

    run(main, 120)


def test_rotation_survives_restarts(
    tmp_path: Path, relays: tuple[RelayProcess, RelayProcess]
) -> None:
    """Both agents restart in the middle of a rotation: the stored switch state goes on."""
    a, b = relays

    async def main() -> None:
        owner, o_conn, visitor, v_conn = await _connected(tmp_path, a)
        await owner.switch_connection(o_conn, b.address)
        await _collect(visitor, 1, "snd")  # the visitor took QADD
        await visitor.stop()
        await owner.stop()
        await asyncio.sleep(0.1)
        owner, visitor = _agents(tmp_path, a)
        await owner.start()
        await visitor.start()
        try:
            o_events, _ = await _collect(owner, 3, "rcv")
            assert _phases(o_events, "rcv") == ["confirmed", "secured", "completed"]
            await visitor.send(v_conn, b"after the restarts")
            m = await wait_for(owner, MessageReceived)
            assert m.body == b"after the restarts" and m.integrity == "ok"
            st = owner.connection(o_conn)
            assert st is not None and [q.server for q in st.rcv] == [b.address.encode()]
        finally:
            await owner.stop()
            await visitor.stop()

    run(main, 120)


def test_a_message_after_a_gap_on_the_new_queue_waits_for_the_old_one(tmp_path: Path) -> None:
    """The order rule of our side of a rotation, without a relay: a message on the new
    queue that skips ids waits (is not processed, so not acknowledged) while the old queue
    exists, at most OLD_QUEUE_WAITS times; without a gap, or once the old queue is gone, it
    is taken at once."""
    agent = Agent(tmp_path / "a", SMPServer.parse(f"smp://{'A' * 43}@localhost:5223"))
    old = RcvQueueState("smp://x", b"old", b"s1", b"", b"", b"", b"", "M")
    new = RcvQueueState("smp://y", b"new", b"s2", b"", b"", b"", b"", "M", replaces=b"old")
    st = ConnState("c", "duplex", "joiner", "connected", rcv=[old, new], last_rcv_id=3)
    agent._wait_for_old_queue(st, new, 4)  # the next id: no gap
    agent._wait_for_old_queue(st, old, 9)  # not the replacing queue
    for _ in range(OLD_QUEUE_WAITS):
        with pytest.raises(HushwireError, match="waits for the old queue"):
            agent._wait_for_old_queue(st, new, 5)
    agent._wait_for_old_queue(st, new, 5)  # it waited long enough: taken with its gap
    st.rcv = [new]
    agent._wait_for_old_queue(st, new, 7)  # the old queue is gone
    agent.store.close()
