"""The inbox's history at rest (issue 16, B5): with a passphrase, ``inbox.sqlite3`` holds no
visitor name and no message text in the clear; "End conversation" leaves no trace of the
erased messages in the database file, its WAL or its free pages. Checked by reading the
raw files, as someone who copies the data directory would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_inbox_service import (
    CFG,
    base,
    logged_in,
    poll,
    run,
    say,
    visitor_joins,
    wait_for,
    ws_url,
)

from hushwire.agent.agent import MessageReceived
from hushwire.agent.store import Sealer
from hushwire.errors import ConfigError
from hushwire.inbox.run import start_inbox
from hushwire.inbox.store import InboxStore
from hushwire.server.config import RelayConfig
from hushwire.server.run import start_relay

NAME = "Zebulon Quartzfeather"
SECRET_IN = "the door code is PLUM-7713"
SECRET_OUT = "thanks, noted as ORCHID-4242"
PASSPHRASE = "correct horse battery staple"


def _raw(data: Path, *names: str) -> bytes:
    """The bytes of the named files and their -wal and -shm companions, as on disk."""
    blob = b""
    for name in names:
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = data / (name + suffix)
            if p.exists():
                blob += p.read_bytes()
    return blob


def test_with_a_passphrase_the_history_holds_no_plaintext(tmp_path: Path) -> None:
    async def main() -> None:
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        data = tmp_path / "inbox"
        try:
            inbox = await start_inbox(
                data, r.address, ws_url=ws_url(r), client_config=CFG, passphrase=PASSPHRASE
            )
            try:
                visitor, v_conn = await visitor_joins(r, tmp_path, inbox, name=NAME)
                await visitor.send(v_conn, say(SECRET_IN))
                await poll(lambda: inbox.service.conversations()[0].last_text == SECRET_IN)
                conv = inbox.service.conversations()[0]
                await inbox.service.reply(conv.id, SECRET_OUT)
                got = await wait_for(visitor, MessageReceived)
                await visitor.ack_message(got.msg_id, receipt=True)
                # What the owner reads is intact...
                assert conv.name == NAME
                assert [m.text for m in inbox.service.conversation(conv.id)[1]] == [
                    SECRET_IN,
                    SECRET_OUT,
                ]
                assert [m["text"] for m in inbox.service.search("plum")] == [SECRET_IN]
                # ...and none of it is on disk in the clear, in any of the stores.
                raw = _raw(data, "inbox.sqlite3", "agent.sqlite3")
                for plain in (NAME, SECRET_IN, SECRET_OUT, "PLUM-7713", "ORCHID-4242"):
                    assert plain.encode() not in raw, plain
            finally:
                await inbox.stop()
            # A restart with the passphrase reads the history back.
            again = await start_inbox(
                data, r.address, ws_url=ws_url(r), client_config=CFG, passphrase=PASSPHRASE
            )
            try:
                (conv,) = again.service.conversations()
                assert conv.name == NAME and conv.last_text == SECRET_OUT
                # Ending it erases it: nothing of it is left either.
                await again.service.end(conv.id)
                assert again.service.conversations() == []
            finally:
                await again.stop()
            await visitor.stop()
        finally:
            await r.stop()

    run(main)


def test_end_conversation_leaves_nothing_in_the_database_its_wal_or_free_pages(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        data = tmp_path / "inbox"
        try:
            inbox = await start_inbox(data, r.address, ws_url=ws_url(r), client_config=CFG)
            try:
                visitor, v_conn = await visitor_joins(r, tmp_path, inbox, name=NAME)
                await visitor.send(v_conn, say(SECRET_IN))
                await poll(lambda: inbox.service.conversations()[0].last_text == SECRET_IN)
                conv = inbox.service.conversations()[0]
                # Without a passphrase the history is plain (a file only the owner reads).
                assert SECRET_IN.encode() in _raw(data, "inbox.sqlite3")
                # "End conversation", as the owner clicks it in the web UI.
                session = await logged_in(inbox)
                async with session:
                    async with session.post(
                        f"{base(inbox)}/api/conversations/{conv.id}/end",
                        json={},
                        headers={"Origin": base(inbox)},
                    ) as resp:
                        assert resp.status == 200
                raw = _raw(data, "inbox.sqlite3")
                for plain in (NAME, SECRET_IN, "PLUM-7713"):
                    assert plain.encode() not in raw, plain
                await visitor.stop()
            finally:
                await inbox.stop()
        finally:
            await r.stop()

    run(main)


def test_a_sealed_history_refuses_the_wrong_key_and_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    store = InboxStore(path)
    store.use_sealer(Sealer(b"k" * 32))
    store.upsert_conversation("c1", NAME, "online", 1.0)
    store.add_incoming("c1", 1, 0, SECRET_IN, 2.0)
    store.close()
    assert SECRET_IN.encode() not in _raw(tmp_path, "inbox.sqlite3")
    for sealer in (Sealer(b"x" * 32), Sealer(None)):
        store = InboxStore(path)
        with pytest.raises(ConfigError):
            store.use_sealer(sealer)
        store.close()
    store = InboxStore(path)
    store.use_sealer(Sealer(b"k" * 32))
    assert store.messages("c1")[0].text == SECRET_IN
    store.close()


def test_a_plain_history_is_sealed_when_a_passphrase_comes_in(tmp_path: Path) -> None:
    """Histories written by earlier versions under --passphrase-env were plain: sealed at the
    next start, and the plain text is gone from the file."""
    path = tmp_path / "inbox.sqlite3"
    store = InboxStore(path)
    store.upsert_conversation("c1", NAME, "online", 1.0)
    store.add_incoming("c1", 1, 0, SECRET_IN, 2.0)
    store.close()
    store = InboxStore(path)
    store.use_sealer(Sealer(b"k" * 32))
    assert store.conversation("c1").last_text == SECRET_IN  # type: ignore[union-attr]
    store.close()
    raw = _raw(tmp_path, "inbox.sqlite3")
    assert SECRET_IN.encode() not in raw and NAME.encode() not in raw
    db = sqlite3.connect(path)
    assert db.execute("SELECT typeof(text) FROM messages").fetchone()[0] == "blob"
    db.close()
