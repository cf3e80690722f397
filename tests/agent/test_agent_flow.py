"""Python visitor <-> Python owner through a real relay on loopback (docs/protocol/agent.md).

The owner makes a contact address; visitors join it (fast SKEY path), exchange messages
and receipts; the owner and the relay restart in the middle and the conversation goes on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import agent_for, connect, relay_at, run, wait_for

from hushwire.agent.agent import (
    Agent,
    AgentError,
    ConnectionEstablished,
    ConnectionRequested,
    MessageReceived,
    ReceiptReceived,
)
from hushwire.server.config import RelayConfig
from hushwire.server.run import start_relay


def test_visitor_and_owner_talk_with_receipts(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner = agent_for(r, tmp_path / "owner")
            visitor = agent_for(r, tmp_path / "visitor")
            await owner.start()
            await visitor.start()
            _, link = await owner.create_address(b'{"event":"x.info","owner":1}')
            assert link.startswith("simplex:/contact#/?v=2-7&smp=")
            v_conn = await visitor.join(link, b'{"event":"x.info","visitor":1}')
            req = await wait_for(owner, ConnectionRequested)
            assert req.info == b'{"event":"x.info","visitor":1}'
            est_o = await wait_for(owner, ConnectionEstablished)
            est_v = await wait_for(visitor, ConnectionEstablished)
            assert est_v.conn_id == v_conn and est_v.info == b'{"event":"x.info","owner":1}'
            o_conn = est_o.conn_id
            for i in range(3):
                await visitor.send(v_conn, b"hello %d" % i)
            got = [await wait_for(owner, MessageReceived) for _ in range(3)]
            assert [m.body for m in got] == [b"hello 0", b"hello 1", b"hello 2"]
            assert all(m.integrity == "ok" for m in got)
            for m in got:
                await owner.ack_message(m.msg_id, receipt=True)
            receipts = [await wait_for(visitor, ReceiptReceived) for _ in range(3)]
            assert all(rc.ok for rc in receipts)
            sid = await owner.send(o_conn, b"welcome")
            reply = await wait_for(visitor, MessageReceived)
            assert reply.body == b"welcome" and reply.integrity == "ok"
            await visitor.ack_message(reply.msg_id)
            rcpt = await wait_for(owner, ReceiptReceived)
            assert rcpt.snd_id == sid and rcpt.ok
            await owner.stop()
            await visitor.stop()

    run(main)


def test_owner_and_relay_restart_mid_conversation(tmp_path: Path) -> None:
    async def main() -> None:
        r = await start_relay(RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0)))
        port = r.ws_port
        assert port is not None
        owner = agent_for(r, tmp_path / "owner")
        visitor = agent_for(r, tmp_path / "visitor")
        await owner.start()
        await visitor.start()
        _, link = await owner.create_address(b"owner")
        v_conn = await visitor.join(link, b"visitor")
        await wait_for(owner, ConnectionEstablished)
        await wait_for(visitor, ConnectionEstablished)
        await visitor.send(v_conn, b"before")
        m = await wait_for(owner, MessageReceived)
        await owner.ack_message(m.msg_id)
        # The owner goes away; the visitor keeps writing; the owner comes back.
        await owner.stop()
        await visitor.send(v_conn, b"while away")
        owner = agent_for(r, tmp_path / "owner")
        await owner.start()
        m = await wait_for(owner, MessageReceived)
        assert m.body == b"while away"
        await owner.ack_message(m.msg_id)
        o_conn = m.conn_id
        # The relay restarts on the same port: both reconnect and resubscribe.
        await r.stop()
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", port), host="127.0.0.1")
        )
        await owner.send(o_conn, b"after the relay restart")
        m2 = await wait_for(visitor, MessageReceived)
        assert m2.body == b"after the relay restart"
        await visitor.send(v_conn, b"and back")
        m3 = await wait_for(owner, MessageReceived)
        assert m3.body == b"and back" and m3.integrity == "ok"
        await owner.stop()
        await visitor.stop()
        await r.stop()

    run(main, 120)


def test_slow_handshake_with_key_and_hello(tmp_path: Path) -> None:
    """A reply queue the visitor may not secure: 'K' confirmation, KEY, HELLO both ways."""

    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner = agent_for(r, tmp_path / "owner")
            owner._reply_mode = "C"
            visitor = agent_for(r, tmp_path / "visitor")
            o_conn, v_conn = await connect(owner, visitor)
            o_state, v_state = owner.connection(o_conn), visitor.connection(v_conn)
            assert o_state is not None and v_state is not None
            assert o_state.slow and v_state.slow
            # Confirmation is message 1 and each HELLO is message 2 (docs/protocol/agent.md).
            assert (o_state.last_snd_id, v_state.last_snd_id) == (2, 2)
            await visitor.send(v_conn, b"after hello")
            m = await wait_for(owner, MessageReceived)
            assert m.body == b"after hello" and m.integrity == "ok"
            await owner.send(o_conn, b"reply")
            m2 = await wait_for(visitor, MessageReceived)
            assert m2.body == b"reply" and m2.integrity == "ok"
            await owner.stop()
            await visitor.stop()

    run(main)


def test_deleting_a_connection_removes_its_queues(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner = agent_for(r, tmp_path / "owner")
            visitor = agent_for(r, tmp_path / "visitor")
            _, v_conn = await connect(owner, visitor)
            queues = r.relay.store.stats().queues
            await visitor.delete(v_conn)
            assert visitor.connection(v_conn) is None
            assert r.relay.store.stats().queues == queues - 1
            await owner.stop()
            await visitor.stop()

    run(main)


def test_joiner_sends_while_waiting_for_the_reply_hello(tmp_path: Path) -> None:
    """Slow path: the owner has sent HELLO and may talk before the visitor's HELLO is back.

    simplex-js sends the texts typed before the connection was up ahead of its HELLO reply,
    so the owner answers them in this state (tests/interop/test_simplex_js_visitor.py).
    """

    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner = agent_for(r, tmp_path / "owner")
            owner._reply_mode = "C"
            visitor = agent_for(r, tmp_path / "visitor")
            enqueue = visitor._enqueue

            def no_hello_reply(st: Any, message: Any, kind: str) -> int:
                return 0 if kind == "hello_reply" else enqueue(st, message, kind)

            visitor._enqueue = no_hello_reply  # type: ignore[method-assign]
            await owner.start()
            await visitor.start()
            _, link = await owner.create_address(b"owner")
            v_conn = await visitor.join(link, b"visitor")
            o_conn = (await wait_for(owner, ConnectionRequested)).conn_id
            for _ in range(500):
                o_state = owner.connection(o_conn)
                if o_state is not None and o_state.status == "hello":
                    break
                await asyncio.sleep(0.01)
            assert o_state is not None and o_state.status == "hello"
            await owner.send(o_conn, b"before your hello")
            m = await wait_for(visitor, MessageReceived)
            assert m.conn_id == v_conn and m.body == b"before your hello"
            assert m.integrity == "ok"
            # The initiator cannot: its queue may not be secured yet.
            v_state = visitor.connection(v_conn)
            assert v_state is not None and v_state.status == "wait_hello"
            with pytest.raises(AgentError):
                await visitor.send(v_conn, b"too early")
            await owner.stop()
            await visitor.stop()

    run(main)


def test_a_repeated_invitation_does_not_make_a_second_connection(tmp_path: Path) -> None:
    async def main() -> None:
        from hushwire.agent.links import parse_link
        from hushwire.client import SMPClient

        async with relay_at(tmp_path / "relay") as r:
            owner = agent_for(r, tmp_path / "owner")
            visitor = agent_for(r, tmp_path / "visitor")
            await owner.start()
            await visitor.start()
            _, link = await owner.create_address(b"owner")
            await visitor.join(link, b"visitor")
            (invitation,) = visitor.store.pending_snd_messages()  # before it goes out
            await wait_for(owner, ConnectionEstablished)
            # The same invitation arrives again (as after a lost ACK) ...
            contact = parse_link(link).queues[0]
            raw = await SMPClient.connect(r.address, ws_url=f"ws://127.0.0.1:{r.ws_port}/")
            await raw.send(contact.sender_id, invitation.body)
            await raw.close()
            # ... then another visitor joins: the owner sees exactly one new request.
            second = agent_for(r, tmp_path / "second")
            await second.start()
            await second.join(link, b"second visitor")
            requests = []
            while True:
                ev = await asyncio.wait_for(owner.events.get(), 15)
                if isinstance(ev, ConnectionRequested):
                    requests.append(ev.info)
                if isinstance(ev, ConnectionEstablished):
                    break
            assert requests == [b"second visitor"]
            for a in (owner, visitor, second):
                await a.stop()

    run(main)


def test_owner_confirmation_before_the_invitation_send_is_recorded(tmp_path: Path) -> None:
    """The owner's confirmation can arrive before the visitor has recorded its invitation as
    sent; recording it must not mark the owner's reply queue as already confirmed."""

    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner = agent_for(r, tmp_path / "owner")
            visitor = agent_for(r, tmp_path / "visitor")
            original_sent, original_confirm = visitor._after_sent, visitor._handshake_step
            recorded = asyncio.Event()

            async def late_sent(conn_id: str, m: object) -> None:
                if getattr(m, "kind", "") == "invitation":
                    await wait_for_status(visitor, conn_id, "confirming")
                await original_sent(conn_id, m)  # type: ignore[arg-type]
                if getattr(m, "kind", "") == "invitation":
                    recorded.set()

            async def late_confirm(conn_id: str) -> None:
                await recorded.wait()  # the invitation is recorded as sent first
                await original_confirm(conn_id)

            visitor._after_sent = late_sent  # type: ignore[method-assign]
            visitor._handshake_step = late_confirm  # type: ignore[method-assign]
            _, v_conn = await connect(owner, visitor)
            st = visitor.connection(v_conn)
            assert st is not None and st.status == "connected"
            await owner.stop()
            await visitor.stop()

    run(main)


async def wait_for_status(agent: Agent, conn_id: str, status: str) -> None:
    for _ in range(500):
        st = agent.connection(conn_id)
        if st is not None and st.status == status:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{conn_id} never reached {status}")
