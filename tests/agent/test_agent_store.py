"""hushwire.agent.store on a real SQLite file: sealing with a passphrase, persistence."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from hushwire.agent.store import (
    AgentStore,
    ConnState,
    RcvQueueState,
    SndMessage,
    SndQueueState,
    StoreLockedError,
)
from hushwire.errors import ConfigError, DecodeError

SECRET = b"PRIVATE-KEY-BYTES-\x00\x01"


def _state() -> ConnState:
    st = ConnState("c1", "duplex", "joiner", "connected", agent_version=7, created_at=5)
    st.rcv.append(
        RcvQueueState("smp://x@h", b"r" * 24, b"s" * 24, SECRET, b"dh", b"srv", b"e2e", "M")
    )
    st.snd = SndQueueState("smp://x@h", b"t" * 24, b"peer", "M", SECRET, b"own")
    st.ratchet = b'{"ratchet":1}'
    st.peer_info = b'{"displayName":"Ada Lovelace"}'
    st.seen = [b"h" * 32]
    return st


@pytest.mark.parametrize("passphrase", [None, "correct horse"])
def test_round_trip_and_restart(tmp_path: Path, passphrase: str | None) -> None:
    path = tmp_path / "agent.sqlite3"
    store = AgentStore(path, passphrase)
    store.save(_state(), 10)
    store.add_snd_message(SndMessage("c1", 2, "msg", b"h" * 32, b"body", "pending", None), 11)
    rid = store.add_rcv_message("c1", 2, b"m" * 32, b"hello Ada", "ok", 12)
    store.close()
    store = AgentStore(path, passphrase)
    assert store.load("c1") == _state()
    assert store.conn_for_queue("smp://x@h", b"r" * 24) == "c1"
    assert [m.body for m in store.pending_snd_messages()] == [b"body"]
    assert [(m.id, m.body) for m in store.unacked_rcv_messages()] == [(rid, b"hello Ada")]
    store.ack_rcv_message(rid)
    assert store.unacked_rcv_messages() == []
    store.delete_connection("c1")
    assert store.load("c1") is None and store.conn_for_queue("smp://x@h", b"r" * 24) is None
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("agent.sqlite3*"))
    # With a passphrase nothing secret is on disk in the clear.
    if passphrase:
        assert SECRET not in raw and b"Ada" not in raw and b"hello" not in raw


def test_seen_hashes_are_one_string_and_the_older_list_form_still_loads() -> None:
    st = _state()
    st.seen = [bytes([i]) * 32 for i in range(3)]
    doc = json.loads(st.to_json())
    assert doc["seen"] == {"b": base64.b64encode(b"".join(st.seen)).decode()}
    assert ConnState.from_json(st.to_json()) == st
    doc["seen"] = [{"b": base64.b64encode(h).decode()} for h in st.seen]  # written before
    assert ConnState.from_json(json.dumps(doc).encode()) == st
    doc["seen"] = {"b": base64.b64encode(b"x" * 33).decode()}
    with pytest.raises(DecodeError):
        ConnState.from_json(json.dumps(doc).encode())


def test_passphrase_is_required_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    AgentStore(path, "right").close()
    with pytest.raises(StoreLockedError, match="protected by a passphrase"):
        AgentStore(path, None)
    with pytest.raises(StoreLockedError, match="wrong passphrase"):
        AgentStore(path, "wrong")
    AgentStore(path, "right").close()
    plain = tmp_path / "plain.sqlite3"
    AgentStore(plain).close()
    with pytest.raises(ConfigError, match="has no passphrase"):
        AgentStore(plain, "late")


def test_store_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    AgentStore(path).close()
    assert path.stat().st_mode & 0o077 == 0


def test_statuses_are_stored_as_today_s_strings(tmp_path: Path) -> None:
    """A status from the state machine is stored as its plain string; a database written
    before the table existed (plain strings) reads back as the same statuses."""
    import json
    import sqlite3

    from hushwire.agent.machine import ConnStatus, SndKind

    path = tmp_path / "agent.sqlite3"
    store = AgentStore(path)
    st = _state()
    st.status = ConnStatus.WAIT_HELLO
    store.save(st, 10)
    store.add_snd_message(SndMessage("c1", 1, SndKind.CONF_K, b"h", b"b", "pending", None), 11)
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT status FROM connections").fetchall() == [("wait_hello",)]
    assert db.execute("SELECT kind FROM snd_messages").fetchall() == [("conf_k",)]
    state = json.loads(db.execute("SELECT state FROM connections").fetchone()[0])
    assert state["status"] == "wait_hello"
    db.close()
    store = AgentStore(path)
    loaded = store.load("c1")
    assert loaded is not None and ConnStatus(loaded.status) is ConnStatus.WAIT_HELLO
    assert [m.kind for m in store.pending_snd_messages()] == ["conf_k"]
    store.close()
