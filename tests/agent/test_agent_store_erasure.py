"""Erasure in the agent store (issue 16, B5): once a connection is deleted its keys and
message bodies are gone from the raw files, the database's free pages and its WAL included
(``secure_delete`` and a WAL checkpoint after the delete). Read as someone who copies the
data directory would."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from pathlib import Path

import pytest

from hushwire.agent.store import AgentStore, ConnState, RcvQueueState, SndMessage, SndQueueState

KEY = b"ERASE-ME-KEY-4c1d9e-"
KEY_STORED = base64.b64encode(KEY)
"""Keys are stored base64-encoded in the connection's JSON."""
BODY = b"ERASE-ME-BODY-77f2a0"
KEPT = b"KEEP-ME-BODY-19ab33"


def _state(conn_id: str, key: bytes) -> ConnState:
    st = ConnState(conn_id, "duplex", "joiner", "connected", agent_version=7, created_at=5)
    st.rcv.append(
        RcvQueueState("smp://x@h", conn_id.encode() * 8, b"s" * 24, key, b"dh", b"srv", b"e", "M")
    )
    st.snd = SndQueueState("smp://x@h", b"t" * 24, b"peer", "M", key, b"own")
    return st


def _raw(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("agent.sqlite3*")))


def _fill(store: AgentStore) -> None:
    store.save(_state("gone", KEY), 10)
    store.add_snd_message(SndMessage("gone", 2, "msg", b"h" * 32, BODY, "pending", None), 11)
    store.add_rcv_message("gone", 2, b"m" * 32, BODY + b" (received)", "ok", 12)
    store.save(_state("kept", b"other key"), 10)
    store.add_rcv_message("kept", 2, b"k" * 32, KEPT, "ok", 12)


def test_secure_delete_is_on(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.sqlite3")
    try:
        assert store._db.execute("PRAGMA secure_delete").fetchone() == (1,)
    finally:
        store.close()


def test_a_deleted_connection_leaves_no_trace_in_the_files(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.sqlite3")
    try:
        _fill(store)
        # Fold what was written into the database file, so the markers are in its pages
        # (not only in the WAL) before the delete.
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        raw = _raw(tmp_path)
        assert KEY_STORED in raw and BODY in raw and KEPT in raw
        store.delete_connection("gone")
        # While the store is still open (no close-time checkpoint helps).
        raw = _raw(tmp_path)
        assert KEY_STORED not in raw and BODY not in raw
        assert KEPT in raw
        assert (tmp_path / "agent.sqlite3-wal").stat().st_size == 0
    finally:
        store.close()
    reopened = AgentStore(tmp_path / "agent.sqlite3")
    try:
        assert reopened.load("gone") is None
        assert [m.body for m in reopened.unacked_rcv_messages()] == [KEPT]
    finally:
        reopened.close()


def test_with_group_commit_the_checkpoint_follows_the_commit(tmp_path: Path) -> None:
    async def main() -> None:
        store = AgentStore(tmp_path / "agent.sqlite3")
        try:
            store.defer_commits()
            _fill(store)
            await store.durable()
            store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            assert BODY in _raw(tmp_path)
            store.delete_connection("gone")
            await store.durable()
            raw = _raw(tmp_path)
            assert KEY_STORED not in raw and BODY not in raw and KEPT in raw
        finally:
            store.close()

    asyncio.run(main())


def test_without_secure_delete_the_markers_would_survive(tmp_path: Path) -> None:
    """The test above can fail: plain SQLite keeps deleted rows in free pages."""
    path = tmp_path / "agent.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA secure_delete=OFF")
    db.execute("CREATE TABLE t (v BLOB)")
    db.execute("INSERT INTO t VALUES (?)", (BODY,))
    db.execute("DELETE FROM t")
    db.close()
    assert BODY in _raw(tmp_path)


@pytest.mark.parametrize("passphrase", ["correct horse"])
def test_sealed_store_erases_too(tmp_path: Path, passphrase: str) -> None:
    store = AgentStore(tmp_path / "agent.sqlite3", passphrase)
    try:
        _fill(store)
        sealed = store._db.execute("SELECT state FROM connections WHERE conn_id='gone'").fetchone()
        assert sealed is not None
        blob = bytes(sealed[0])[:24]
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        assert blob in _raw(tmp_path)
        store.delete_connection("gone")
        assert blob not in _raw(tmp_path)
    finally:
        store.close()
