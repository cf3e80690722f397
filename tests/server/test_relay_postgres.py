"""``hushwire relay --store postgresql://...`` as a real process on the throwaway PostgreSQL
server (``pg_helpers``): a message is delivered, survives a restart and a ``kill -9`` of the
relay (it is in PostgreSQL, not under ``--data``), and a relay whose store is unreachable
says so in one line and exits non-zero."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pg_helpers import pg_server, sql
from test_store_postgres import _closed_port

from hushwire.client import ClientConfig, MessageEvent, SMPClient, decrypt_message
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.errors import ConfigError
from hushwire.server.config import load_config
from hushwire.smp.commands import IDS
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.testing import RelayProcess
from hushwire.testing import start_relay_process as start_relay


async def _connect(relay: RelayProcess) -> SMPClient:
    return await SMPClient.connect(
        replace(relay.address, hosts=("127.0.0.1",)),
        ws_url=relay.ws_url,
        config=ClientConfig(ping_interval=None, command_timeout=10),
    )


def test_relay_on_postgres_delivers_and_keeps_messages(tmp_path: Path) -> None:
    dsn = pg_server().new_database()
    data = tmp_path / "relay"
    rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
    sk = KeyPair.generate(KeyAlg.ED25519)

    async def send_and_receive() -> IDS:
        relay = start_relay(data, tls=False, extra=["--store", dsn])
        try:
            rcv, snd = await _connect(relay), await _connect(relay)
            ids = await rcv.create_queue(rk, dh)
            await rcv.secure(ids.rcv_id, rk, sk.public)
            await snd.send(ids.snd_id, b"hello over postgres", key=sk)
            ev = await asyncio.wait_for(rcv.events.get(), 20)
            assert isinstance(ev, MessageEvent)
            msg = ev.msg
            body = decrypt_message(msg, dh, ids.srv_dh_key)
            assert isinstance(body, RcvMsgBody) and body.body == b"hello over postgres"
            assert await rcv.ack(ids.rcv_id, rk, msg.msg_id) is None
            for text in (b"kept 1", b"kept 2"):  # left in the queue
                await snd.send(ids.snd_id, text, key=sk)
            await rcv.close()
            await snd.close()
            return ids
        finally:
            assert relay.stop() == 0

    async def after_restart(ids: IDS, kill: bool) -> list[bytes]:
        relay = start_relay(data, tls=False, extra=["--store", dsn])
        try:
            c = await _connect(relay)
            got: list[bytes] = []
            while (msg := await c.get(ids.rcv_id, rk)) is not None:
                plain = decrypt_message(msg, dh, ids.srv_dh_key)
                assert isinstance(plain, RcvMsgBody)
                got.append(plain.body)
                if kill:  # leave it: the relay dies right after GET
                    break
                await c.ack(ids.rcv_id, rk, msg.msg_id)
            await c.close()
            return got
        finally:
            if kill:
                relay.kill9()
            else:
                assert relay.stop() == 0

    ids = asyncio.run(asyncio.wait_for(send_and_receive(), 60))
    assert not (data / "relay.sqlite3").exists()
    assert len(sql(dsn, "SELECT 1 FROM messages")) == 2
    assert asyncio.run(asyncio.wait_for(after_restart(ids, kill=True), 60)) == [b"kept 1"]
    assert asyncio.run(asyncio.wait_for(after_restart(ids, kill=False), 60)) == [
        b"kept 1",
        b"kept 2",
    ]
    assert sql(dsn, "SELECT 1 FROM messages") == []


@pytest.mark.parametrize("mode", [[], ["--cluster"], ["--workers", "2"]], ids=str)
def test_relay_with_unreachable_store_says_so_and_exits(tmp_path: Path, mode: list[str]) -> None:
    """One process, a cluster node, and the parent of workers (which checks the store
    before it forks any)."""
    data = tmp_path / "relay"
    dsn = f"postgresql://relay:s3cret@127.0.0.1:{_closed_port()}/hushwire"
    args = [sys.executable, "-m", "hushwire", "relay", "--data", str(data)]
    args += ["--ws", f"127.0.0.1:{_closed_port()}", "--store", dsn, *mode]
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        "hushwire relay: cannot reach the PostgreSQL store "
        f"postgresql://relay:***@127.0.0.1:{dsn.split(':')[3]}"
    )
    assert "s3cret" not in done.stderr
    assert not (data / "identity").exists() and not any(data.glob("*"))


def test_store_setting() -> None:
    cfg = load_config(None, data="/d", ws="127.0.0.1:1", store="postgresql://u@h/db")
    assert cfg.store == "postgresql://u@h/db"
    assert load_config(None, data="/d", ws="127.0.0.1:1").store is None
    with pytest.raises(ConfigError, match="postgresql://"):
        load_config(None, data="/d", ws="127.0.0.1:1", store="mysql://u@h/db")


def test_sqlite_relay_needs_no_postgres_driver(tmp_path: Path) -> None:
    """``make demo`` needs nothing but SQLite: with asyncpg absent the relay module and the
    store package import, and asking for PostgreSQL says what to install."""
    code = (
        "import sys; sys.modules['asyncpg'] = None\n"
        "from pathlib import Path\n"
        "from hushwire.server import run, store\n"
        "from hushwire.server.config import load_config\n"
        "assert 'hushwire.server.store.postgres' not in sys.modules\n"
        f"cfg = load_config(None, data={str(tmp_path)!r}, ws='127.0.0.1:0')\n"
        "assert isinstance(run.make_store(cfg), store.SQLiteStore)\n"
        "try:\n"
        "    run.make_store(load_config(None, data='/d', ws='h:1', store='postgresql://h/d'))\n"
        "except store.StoreError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'hushwire[postgres]'" in done.stdout
