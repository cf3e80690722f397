"""hushwire.testing.relay: the real relay over in-memory connections, and its hooks."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hushwire.client import (
    ClientConfig,
    ConnectionLost,
    MessageEvent,
    ResponseTimeout,
    decrypt_message,
)
from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.server.store import QueueStore, SQLiteStore
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.testing import (
    FakeClock,
    FakeIdentity,
    MemoryRelay,
    connect_client,
    memory_pipe,
    new_store,
    rewrite_server_hello,
)

QUIET = ClientConfig(ping_interval=None, command_timeout=10.0)


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 30))


def test_relay_runs_on_the_store_it_is_given_and_closes_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "given.sqlite3")

    async def main() -> None:
        async with MemoryRelay(store=store) as mem:
            assert mem.store is store and mem.relay.store is store
            async with await mem.connect(config=QUIET) as c:
                ids = await c.create_queue(
                    KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                )
                assert store.get_by_recipient(ids.rcv_id) is not None
        await store.close()  # already closed by the relay: idempotent

    run(main)
    assert (tmp_path / "given.sqlite3").exists()


def test_new_store_is_a_queue_store(tmp_path: Path) -> None:
    assert isinstance(new_store(tmp_path), QueueStore)


def test_the_relay_clock_dates_messages() -> None:
    clock = FakeClock()
    clock.advance(42)

    async def main() -> None:
        async with MemoryRelay(clock=clock.time) as mem:
            async with await mem.connect(config=QUIET) as c:
                dh = KeyPair.generate(KeyAlg.X25519)
                ids = await c.create_queue(KeyPair.generate(KeyAlg.ED25519), dh)
                await c.send(ids.snd_id, b"dated")
                ev = await asyncio.wait_for(c.events.get(), 10)
                assert isinstance(ev, MessageEvent)
                body = decrypt_message(ev.msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody)
                assert (body.ts, body.body) == (1_700_000_042, b"dated")

    run(main)


def test_hellos_and_blocks_are_counted() -> None:
    async def main() -> None:
        async with MemoryRelay() as mem:
            assert mem.blocks_received == 0
            async with await mem.connect(config=QUIET) as c:
                await c.ping()
                assert [h.version for h in mem.client_hellos] == [18]
                assert mem.client_hellos[0].key_hash == mem.identity.key_hash
                assert mem.blocks_received == 2  # the hello and the PING
                assert len(mem.links) == 1

    run(main)


def test_responses_held_for_later_connections_let_the_hello_through() -> None:
    async def main() -> None:
        async with MemoryRelay() as mem:
            mem.hold_responses()
            c = await mem.connect(config=QUIET)
            with pytest.raises(ResponseTimeout):
                await c.ping(timeout=0.05)
            mem.release_responses()
            assert await c.ping() >= 0
            await c.close()

    run(main)


def test_drop_all_is_a_connection_loss_and_close_is_final() -> None:
    async def main() -> None:
        mem = await MemoryRelay().start()
        c = await mem.connect(config=QUIET)
        mem.drop_all()
        assert isinstance(await asyncio.wait_for(c.wait_closed(), 10), ConnectionLost)
        await c.close()
        await mem.close()
        await mem.close()  # idempotent
        with pytest.raises(RuntimeError, match="not running"):
            mem.dial()

    run(main)


def test_a_relay_must_be_started_before_dialling() -> None:
    async def main() -> None:
        mem = MemoryRelay()
        with pytest.raises(RuntimeError, match="not running"):
            mem.dial()
        await mem.close()

    run(main)


def test_an_unchanged_hello_rewrite_and_native_tls_connect() -> None:
    async def main() -> None:
        async with MemoryRelay(to_client=rewrite_server_hello(lambda h: h)) as mem:
            async with await mem.connect("tls", config=QUIET) as c:
                assert (c.transport_kind, c.version, c.block_encryption) == ("tls", 18, True)

    run(main)


def test_connect_client_over_a_pipe_served_by_the_relay() -> None:
    async def main() -> None:
        async with MemoryRelay() as mem:
            link = memory_pipe()
            served = asyncio.create_task(mem.relay.handle(link.server))
            cfg = replace(QUIET, wall_clock=lambda: datetime.now(UTC))
            async with await connect_client(link.client, mem.address, config=cfg) as c:
                assert await c.ping() >= 0
            await asyncio.wait_for(served, 10)

    run(main)


def test_fake_identity(tmp_path: Path) -> None:
    ident = FakeIdentity.make(KeyAlg.ED448, host="relay.test")
    assert ident.key_hash == x509.key_hash(ident.ca_cert)
    assert ident.cert_chain == (ident.online_cert, ident.ca_cert)
    now = datetime.now(UTC)
    x509.validate_chain(list(ident.cert_chain), ident.key_hash, now=now)
    leaf, key = ident.another_online()
    assert leaf != ident.online_cert and key.alg is KeyAlg.ED448
    x509.validate_chain([leaf, ident.ca_cert], ident.key_hash, now=now)
    server = ident.server_identity(tmp_path / "id")
    assert server.key_hash == ident.key_hash and server.cert_chain == ident.cert_chain
    assert x509.load_certs_pem(server.chain_pem_path.read_bytes()) == list(ident.cert_chain)
    assert x509.load_key_pem(server.key_pem_path.read_bytes()).public() == (
        ident.online_key.public()
    )
    assert stat.S_IMODE(server.key_pem_path.stat().st_mode) == 0o600
    assert "ca_key" not in repr(ident) and "online_key" not in repr(ident)
