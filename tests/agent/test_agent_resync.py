"""Ratchet re-synchronisation over a real relay on loopback (docs/protocol/agent.md).

Broken on purpose in two ways: a store restored from an older copy, and a damaged chain key.

One side's store is restored from an older copy, so its ratchet is behind the peer's: the
peer's next message cannot be decrypted (``RATCHET_HEADER``, re-sync ``required``, the
message reported lost), sending is refused, and after :meth:`Agent.synchronize_ratchet`
both sides agree on a new ratchet (AgentRatchetKey both ways, EREADY) and talk again.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from agent_helpers import agent_for, connect, relay_at, run, wait_for

from hushwire.agent.agent import (
    Agent,
    AgentError,
    AgentProblem,
    MessageReceived,
    RatchetSyncChanged,
)
from hushwire.agent.store import AgentStore
from hushwire.encoding.strings import b64url_encode
from hushwire.server.run import RunningRelay


async def _talk(a: Agent, a_conn: str, b: Agent, body: bytes) -> MessageReceived:
    await a.send(a_conn, body)
    m = await wait_for(b, MessageReceived)
    assert m.body == body
    await b.ack_message(m.msg_id, receipt=False)
    return m


async def _connected(r: RunningRelay, tmp_path: Path) -> tuple[Agent, str, Agent, str]:
    owner = agent_for(r, tmp_path / "owner")
    visitor = agent_for(r, tmp_path / "visitor")
    o_conn, v_conn = await connect(owner, visitor)
    return owner, o_conn, visitor, v_conn


def _sync_events(events: list[object]) -> list[tuple[str, str | None]]:
    return [(e.state, e.error) for e in events if isinstance(e, RatchetSyncChanged)]


async def _drain_until(agent: Agent, pred: type, n: int = 1) -> list[object]:
    """Events up to and including the ``n``-th of type ``pred``."""
    seen: list[object] = []
    while sum(isinstance(e, pred) for e in seen) < n:
        seen.append(await wait_for(agent, object))
    return seen


def test_restored_store_breaks_the_ratchet_and_resync_repairs_it(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner, o_conn, visitor, v_conn = await _connected(r, tmp_path)
            await _talk(visitor, v_conn, owner, b"hello")
            await _talk(owner, o_conn, visitor, b"welcome")
            # A backup of the visitor's store, then two more round trips (DH steps).
            await visitor.stop()
            shutil.copytree(tmp_path / "visitor", tmp_path / "backup")
            visitor = agent_for(r, tmp_path / "visitor")
            await visitor.start()
            for i in range(2):
                await _talk(visitor, v_conn, owner, b"lost period %d" % i)
                await _talk(owner, o_conn, visitor, b"lost reply %d" % i)
            # The visitor's device is restored from the backup.
            await visitor.stop()
            shutil.rmtree(tmp_path / "visitor")
            shutil.copytree(tmp_path / "backup", tmp_path / "visitor")
            visitor = agent_for(r, tmp_path / "visitor")
            await visitor.start()

            await owner.send(o_conn, b"cannot be read")
            events = await _drain_until(visitor, AgentProblem)
            assert _sync_events(events) == [("required", "RATCHET_HEADER")]
            problem = events[-1]
            assert isinstance(problem, AgentProblem) and problem.conn_id == v_conn
            assert "RATCHET_HEADER" in problem.message
            assert not any(isinstance(e, MessageReceived) for e in events)
            state = visitor.connection(v_conn)
            assert state is not None and state.ratchet_sync == "required"
            with pytest.raises(AgentError, match="out of step"):
                await visitor.send(v_conn, b"refused")
            # The owner is not out of step: it may not start a re-sync without force.
            with pytest.raises(AgentError, match="not out of step"):
                await owner.synchronize_ratchet(o_conn)

            assert await visitor.synchronize_ratchet(v_conn) == "started"
            v_events = await _drain_until(visitor, RatchetSyncChanged, 3)
            o_events = await _drain_until(owner, RatchetSyncChanged, 2)
            assert _sync_events(v_events) == [("started", None), ("agreed", None), ("ok", None)]
            assert _sync_events(o_events) == [("agreed", None), ("ok", None)]
            for agent, conn in ((owner, o_conn), (visitor, v_conn)):
                st = agent.connection(conn)
                assert st is not None and st.ratchet_sync == "ok" and st.sync_keys is None

            # Both talk again (the lost message was reported above; the hash chain went on
            # through the owner's EREADY, which always reaches the visitor first).
            m = await _talk(owner, o_conn, visitor, b"after the re-sync")
            assert m.integrity == "ok"
            await _talk(visitor, v_conn, owner, b"and back")
            m2 = await _talk(owner, o_conn, visitor, b"in step")
            assert m2.integrity == "ok"
            await owner.stop()
            await visitor.stop()

    run(main, 120)


def test_both_sides_start_a_resync_at_once(tmp_path: Path) -> None:
    """Both sides force a re-sync at the same time: each gets the other's key while
    ``started``, agrees with the keys it stored, and the order of the key hashes decides
    which one sends EREADY first."""

    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner, o_conn, visitor, v_conn = await _connected(r, tmp_path)
            await _talk(visitor, v_conn, owner, b"hello")
            assert await owner.synchronize_ratchet(o_conn, force=True) == "started"
            assert await visitor.synchronize_ratchet(v_conn, force=True) == "started"
            for agent in (owner, visitor):
                events = await _drain_until(agent, RatchetSyncChanged, 3)
                assert _sync_events(events) == [("started", None), ("agreed", None), ("ok", None)]
            await _talk(owner, o_conn, visitor, b"after")
            await _talk(visitor, v_conn, owner, b"and back")
            await owner.stop()
            await visitor.stop()

    run(main)


def test_corrupted_ratchet_state_allows_a_resync(tmp_path: Path) -> None:
    """The visitor's stored receiving chain key is damaged: the owner's next message fails
    to authenticate (``DECRYPT_AES``, re-sync ``allowed``: sending still works), and a
    re-sync the visitor starts repairs the connection."""

    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner, o_conn, visitor, v_conn = await _connected(r, tmp_path)
            await _talk(owner, o_conn, visitor, b"first")
            await visitor.stop()
            store = AgentStore(tmp_path / "visitor" / "agent.sqlite3")
            st = store.load(v_conn)
            assert st is not None and st.ratchet is not None
            doc = json.loads(st.ratchet)
            doc["rcv"][0] = b64url_encode(os.urandom(32))
            st.ratchet = json.dumps(doc).encode()
            store.save(st, 0)
            store.close()
            visitor = agent_for(r, tmp_path / "visitor")
            await visitor.start()

            await owner.send(o_conn, b"same chain, wrong key")
            events = await _drain_until(visitor, AgentProblem)
            assert _sync_events(events) == [("allowed", "DECRYPT_AES")]
            await _talk(visitor, v_conn, owner, b"allowed still sends")
            await visitor.synchronize_ratchet(v_conn)
            v_events = await _drain_until(visitor, RatchetSyncChanged, 3)
            assert _sync_events(v_events)[-1] == ("ok", None)
            await _drain_until(owner, RatchetSyncChanged, 2)
            m = await _talk(owner, o_conn, visitor, b"repaired")
            assert m.integrity == "ok"
            await owner.stop()
            await visitor.stop()

    run(main)
