"""hushwire.agent.store's group commit and memory view, the outbox's wait for the commit, and
an owner killed mid-stream (every message is committed before its ACK)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import agent_for, connect, relay_at, run, wait_for

from hushwire.agent import groupcommit
from hushwire.agent.agent import MessageReceived, ReceiptReceived
from hushwire.agent.outbox import Outbox
from hushwire.agent.store import AgentStore, ConnState, SndMessage, SndQueueState
from hushwire.crypto.keys import KeyAlg, PrivateKey
from hushwire.errors import HushwireError
from hushwire.smp.address import SMPServer

SERVER = "smp://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=@localhost:5223"


def _state(conn_id: str) -> ConnState:
    st = ConnState(conn_id, "duplex", "initiator", "connected")
    auth = PrivateKey.generate(KeyAlg.ED25519).to_der()
    st.snd = SndQueueState(SERVER, b"s" * 24, b"peer", "M", auth, b"own")
    return st


def _committed(path: Path, sql: str) -> list[Any]:
    """What another connection sees: only committed rows."""
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_steps_wait_for_one_group_commit(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    store = AgentStore(path)

    async def main() -> None:
        store.defer_commits()
        before = store.commits
        for c in ("a", "b", "c"):
            with store.transaction():
                store.save(_state(c), 1)
        assert _committed(path, "SELECT conn_id FROM connections") == []
        loaded = store.load("b")  # the memory view has what is not committed yet
        assert loaded is not None and loaded.conn_id == "b"
        await asyncio.gather(store.durable(), store.durable(), store.durable())
        assert store.commits == before + 1
        got = _committed(path, "SELECT conn_id FROM connections ORDER BY conn_id")
        assert got == [("a",), ("b",), ("c",)]
        await store.durable()  # nothing written since: no commit
        assert store.commits == before + 1

    asyncio.run(main())
    store.close()


def test_a_failed_step_rolls_back_alone_and_the_memory_view_follows(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    store = AgentStore(path)

    async def main() -> None:
        store.defer_commits()
        store.save(_state("a"), 1)
        with pytest.raises(RuntimeError), store.transaction():
            st = _state("b")
            store.save(st, 1)
            store.add_snd_message(SndMessage("b", 1, "msg", b"h", b"x", "pending", None), 1)
            raise RuntimeError("the step failed")
        store.save(_state("c"), 1)
        await store.durable()
        assert store.load("b") is None and store.next_snd_message("b") is None
        got = _committed(path, "SELECT conn_id FROM connections ORDER BY conn_id")
        assert got == [("a",), ("c",)]

    asyncio.run(main())
    store.close()


def test_a_failed_group_commit_fails_every_waiter_and_keeps_nothing(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    store = AgentStore(path)
    real_commit = store._commit

    def failing_commit() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    async def main() -> None:
        store.defer_commits()
        store.save(_state("a"), 1)
        store.save(_state("b"), 1)
        store._commit = failing_commit  # type: ignore[method-assign]
        results = await asyncio.gather(store.durable(), store.durable(), return_exceptions=True)
        assert all(isinstance(r, HushwireError) for r in results)
        assert store.load("a") is None and store.load("b") is None
        store._commit = real_commit  # type: ignore[method-assign]
        store.save(_state("c"), 1)
        await store.durable()
        assert _committed(path, "SELECT conn_id FROM connections") == [("c",)]

    asyncio.run(main())
    store.close()


def test_the_log_sync_runs_off_the_loop_and_commits_go_on_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    store = AgentStore(path)
    gate = threading.Event()
    syncs: list[int] = []
    real_sync = store._sync_log

    def slow_sync() -> None:
        assert gate.wait(10)
        syncs.append(len(_committed(path, "SELECT conn_id FROM connections")))
        real_sync()

    async def turns() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    async def main() -> None:
        store.defer_commits()
        store._sync_log = slow_sync  # type: ignore[method-assign]
        before = store.commits
        store.save(_state("a"), 1)
        first = asyncio.ensure_future(store.durable())
        await turns()  # the loop goes on while the log is synced
        assert store.commits == before + 1 and not first.done()
        store.save(_state("b"), 1)
        store.save(_state("c"), 1)
        later = [asyncio.ensure_future(store.durable()) for _ in range(2)]
        await turns()  # b and c are committed together without waiting for a's sync...
        assert store.commits == before + 2
        assert not first.done() and not any(f.done() for f in later)  # ...but not on disk
        store.save(_state("d"), 1)
        await store.committed()  # what survives a kill, not yet a power loss
        assert store.commits == before + 3
        assert len(_committed(path, "SELECT conn_id FROM connections")) == 4
        assert not first.done() and not any(f.done() for f in later)
        gate.set()
        await first
        await asyncio.gather(*later)
        assert syncs == [4, 4]  # a's sync, then one sync for every commit made meanwhile
        await store.durable()  # d was covered by the second sync
        assert syncs == [4, 4] and store.commits == before + 3 and store.group.syncs == 2

    asyncio.run(main())
    store.close()


def test_a_failed_log_sync_fails_its_waiters_and_every_later_one(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.sqlite3")

    def failing_sync() -> None:
        raise OSError(5, "Input/output error")

    async def main() -> None:
        store.defer_commits()
        store._sync_log = failing_sync  # type: ignore[method-assign]
        store.save(_state("a"), 1)
        with pytest.raises(HushwireError, match="could not write to disk"):
            await store.durable()
        with pytest.raises(HushwireError, match="could not write to disk"):
            await store.durable()  # nothing is confirmed as durable any more

    asyncio.run(main())
    store.close()


@pytest.mark.parametrize("every", [4, 10_000])
def test_the_log_is_checkpointed_by_the_sync_thread(
    tmp_path: Path, every: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groupcommit, "CHECKPOINT_EVERY", every)
    path = tmp_path / "agent.sqlite3"
    store = AgentStore(path)

    async def main() -> None:
        store.defer_commits()
        for i in range(60):
            st = _state(f"c{i}")
            st.peer_info = os.urandom(8000)  # a few pages per commit
            store.save(st, 1)
            await store.durable()

    asyncio.run(main())
    wal = Path(f"{path}-wal").stat().st_size
    store.close()
    assert len(_committed(path, "SELECT conn_id FROM connections")) == 60
    if every == 4:  # checkpointed: the log is reused from its start
        assert wal < 20 * 8000
    else:  # never checkpointed while open: every commit's pages are in the log
        assert wal > 60 * 8000


def test_loaded_states_are_copies(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.sqlite3")
    store.save(_state("a"), 1)
    st = store.load("a")
    assert st is not None and st.snd is not None
    st.status = "joining"
    st.snd.secured = True
    st.seen.append(b"x" * 32)
    again = store.load("a")
    assert again is not None and again.status == "connected"
    assert again.snd is not None and not again.snd.secured
    assert again.seen == []
    store.close()


def test_the_outbox_sends_only_committed_messages(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    store = AgentStore(path)
    seen_committed: list[list[Any]] = []

    class Client:
        async def send(self, sid: bytes, body: bytes, *, key: Any) -> None:
            seen_committed.append(_committed(path, "SELECT snd_id FROM snd_messages"))

    async def get_client(server: SMPServer) -> Any:
        return Client()

    async def after_sent(conn_id: str, m: SndMessage) -> None:
        pass

    async def report(conn_id: str, message: str) -> None:
        raise AssertionError(message)

    async def main() -> None:
        store.defer_commits()
        with store.transaction():
            store.save(_state("c1"), 1)
            store.add_snd_message(SndMessage("c1", 1, "msg", b"h", b"m1", "pending", None), 1)
        box = Outbox(store, get_client, after_sent, report)
        box.kick("c1")
        await asyncio.gather(*box.tasks())

    asyncio.run(main())
    assert seen_committed == [[(1,)]]
    store.close()


# --------------------------------------------------------------------------- crash

_OWNER = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path
    from hushwire.agent.agent import Agent, MessageReceived
    from hushwire.client import ClientConfig
    from hushwire.smp.address import SMPServer

    async def main() -> None:
        data, address, ws_url, out = sys.argv[1:5]
        agent = Agent(Path(data), SMPServer.parse(address), ws_url=ws_url,
                      client_config=ClientConfig(ping_interval=None, command_timeout=10))
        await agent.start()
        _, link = await agent.create_address(b"owner")
        print(link, flush=True)
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        while True:
            ev = await agent.events.get()
            if isinstance(ev, MessageReceived):
                os.write(fd, ev.body + b" " + ev.integrity.encode() + b"\\n")
                os.fsync(fd)
                await agent.ack_message(ev.msg_id)

    asyncio.run(main())
    """
)


def test_an_owner_killed_mid_stream_loses_no_message(tmp_path: Path) -> None:
    from hushwire.agent.agent import Agent, ConnectionEstablished
    from hushwire.client import ClientConfig
    from hushwire.server.config import RelayConfig
    from hushwire.server.run import start_relay

    out = tmp_path / "received"
    total = 120

    def lines() -> list[bytes]:
        return out.read_bytes().splitlines() if out.exists() else []

    async def owner(r: Any) -> tuple[asyncio.subprocess.Process, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _OWNER, str(tmp_path / "owner"), r.address.encode(),
            f"ws://127.0.0.1:{r.ws_port}/", str(out),
            stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        assert proc.stdout is not None
        link = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        assert link.startswith("simplex:/contact#"), link
        return proc, link

    async def main() -> None:
        r = await start_relay(RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0)))
        cfg = ClientConfig(ping_interval=None, command_timeout=10)
        visitor = Agent(
            tmp_path / "visitor", r.address, ws_url=f"ws://127.0.0.1:{r.ws_port}/",
            client_config=cfg,
        )  # fmt: skip
        proc, link = await owner(r)
        try:
            await visitor.start()
            conn = await visitor.join(link, b"visitor")
            while not isinstance(
                await asyncio.wait_for(visitor.events.get(), 30), ConnectionEstablished
            ):
                pass
            for i in range(total):
                await visitor.send(conn, b"m%03d" % i)
            for _ in range(3000):  # kill it while messages are flowing
                if len(lines()) >= 10:
                    break
                await asyncio.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            proc, _ = await owner(r)
            for _ in range(600):
                if len({x.split()[0] for x in lines()}) >= total:
                    break
                await asyncio.sleep(0.05)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await visitor.stop()
            await r.stop()

    asyncio.run(asyncio.wait_for(main(), 120))
    got = lines()
    bodies = [x.split()[0] for x in got]
    # Nothing lost; a message handed over again is one the owner had not acknowledged to
    # itself yet (it was killed between writing it down and ack_message).
    assert sorted(set(bodies)) == [b"m%03d" % i for i in range(total)]
    assert len(bodies) - len(set(bodies)) <= 1
    assert bodies == sorted(bodies)
    assert all(x.split()[1] == b"ok" for x in got)


def test_the_owner_s_confirmation_before_our_invitation_is_recorded_as_sent(
    tmp_path: Path,
) -> None:
    """The visitor's confirm step runs while its invitation is still pending (the owner's
    confirmation was processed before the relay's OK): it does nothing then, and goes on
    once the invitation is recorded as sent."""
    from hushwire.agent.agent import Agent, ConnectionEstablished
    from hushwire.client import ClientConfig
    from hushwire.server.config import RelayConfig
    from hushwire.server.run import start_relay

    async def main() -> None:
        r = await start_relay(RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0)))
        url = f"ws://127.0.0.1:{r.ws_port}/"
        cfg = ClientConfig(ping_interval=None, command_timeout=10)
        owner = Agent(tmp_path / "owner", r.address, ws_url=url, client_config=cfg)
        visitor = Agent(tmp_path / "visitor", r.address, ws_url=url, client_config=cfg)
        original_confirm = visitor._handshake_step
        skipped = asyncio.Event()

        async def confirm(conn_id: str) -> None:
            pending = visitor.store.next_snd_message(conn_id)
            await original_confirm(conn_id)
            if pending is not None and pending.kind == "invitation":
                st = visitor.connection(conn_id)
                assert st is not None and st.status == "confirming" and st.last_snd_id == 0
                skipped.set()

        visitor._handshake_step = confirm  # type: ignore[method-assign]
        try:
            await owner.start()
            await visitor.start()
            (rc,) = visitor._clients.values()
            real_send = rc.send

            async def slow_ok(sid: bytes, body: bytes, *, key: Any = None) -> None:
                await real_send(sid, body, key=key)
                if key is None:  # the invitation: its OK is processed late
                    await skipped.wait()

            rc.send = slow_ok  # type: ignore[method-assign]
            _, link = await owner.create_address(b"owner")
            v_conn = await visitor.join(link, b"visitor")
            while True:
                ev = await asyncio.wait_for(visitor.events.get(), 15)
                if isinstance(ev, ConnectionEstablished):
                    break
            assert skipped.is_set() and ev.conn_id == v_conn
            st = visitor.connection(v_conn)
            assert st is not None and st.status == "connected"
        finally:
            await owner.stop()
            await visitor.stop()
            await r.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_an_ack_returns_once_committed_and_its_receipt_leaves_once_on_disk(
    tmp_path: Path,
) -> None:
    synced = threading.Event()
    synced.set()

    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner, visitor = agent_for(r, tmp_path / "o"), agent_for(r, tmp_path / "v")
            real_sync = owner.store._sync_log

            def gated_sync() -> None:
                assert synced.wait(10)
                real_sync()

            owner.store._sync_log = gated_sync  # type: ignore[method-assign]
            try:
                _, v_conn = await connect(owner, visitor)
                snd_id = await visitor.send(v_conn, b"hello")
                got = await wait_for(owner, MessageReceived)
                synced.clear()  # the owner's disk stalls
                await owner.ack_message(got.msg_id, receipt=True)
                acked = f"SELECT app_acked FROM rcv_messages WHERE id={got.msg_id}"
                assert _committed(tmp_path / "o" / "agent.sqlite3", acked) == [(1,)]
                with pytest.raises(TimeoutError):  # no receipt before the ack is on disk
                    await asyncio.wait_for(wait_for(visitor, ReceiptReceived), 0.5)
                synced.set()
                rcpt = await wait_for(visitor, ReceiptReceived)
                assert (rcpt.conn_id, rcpt.snd_id, rcpt.ok) == (v_conn, snd_id, True)
            finally:
                synced.set()
                await owner.stop()
                await visitor.stop()

    run(main)
