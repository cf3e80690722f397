"""hushwire.client against the real relay code over in-memory connections (hushwire.testing).

What a real relay never sends (a forged or unparsable hello, a block that does not decode,
a server that falls silent) is produced by the in-memory transport's hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest

from hushwire.client import (
    Backoff,
    ClientConfig,
    ClientEvent,
    ConnectFailed,
    ConnectionLost,
    Disconnected,
    HandshakeFailed,
    IdentityMismatch,
    MessageEvent,
    QueueDeleted,
    Reconnected,
    ReconnectingClient,
    ResponseTimeout,
    ServerErrorEvent,
    SMPClient,
    SMPCommandError,
    SubscriptionEnded,
    VersionMismatch,
    decrypt_message,
    decrypt_message_with_key,
    queue_dh_key,
)
from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.errors import CryptoError
from hushwire.smp.address import SMPServer
from hushwire.smp.block import encode_block, pad_handshake
from hushwire.smp.commands import ERR, MSG, QueueMode
from hushwire.smp.errors import CMD, CommandError, ErrorType
from hushwire.smp.hello import CertChainPubKey, ServerHello
from hushwire.smp.ids import NO_ENTITY
from hushwire.smp.msgbody import RcvMsgBody, RcvMsgQuota, pad_rcv_msg_body
from hushwire.smp.transmission import encode_server_transmission
from hushwire.smp.version import VersionRange
from hushwire.testing import (
    FakeClock,
    FakeIdentity,
    MemoryRelay,
    drop_all_blocks,
    replace_block,
    rewrite_server_hello,
)

QUIET = ClientConfig(ping_interval=None, command_timeout=10.0)


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 30))


async def ws_client(server: MemoryRelay, config: ClientConfig = QUIET) -> SMPClient:
    return await server.connect(config=config)


async def next_event(q: asyncio.Queue[ClientEvent]) -> ClientEvent:
    return await asyncio.wait_for(q.get(), 10)


async def eventually(cond: Callable[[], bool]) -> None:
    while not cond():
        await asyncio.sleep(0.005)


def ed() -> KeyPair:
    return KeyPair.generate(KeyAlg.ED25519)


def xk() -> KeyPair:
    return KeyPair.generate(KeyAlg.X25519)


# --------------------------------------------------------------------------- handshake


def test_handshake_ws_negotiates_highest_version_with_block_encryption() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as c:
                assert c.version == 18
                assert c.block_encryption
                assert c.transport_kind == "ws"
                assert len(c.session_id) == 32
                assert await c.ping() >= 0
                hello = srv.client_hellos[0]
                assert hello.version == 18
                assert hello.key_hash == srv.identity.key_hash
                assert hello.session_key is not None
                assert c.server_session_key.alg is KeyAlg.X25519

    run(main)


@pytest.mark.parametrize("top", [7, 9, 10, 11, 14, 16, 17])
def test_handshake_picks_highest_common_version(top: int) -> None:
    async def main() -> None:
        async with MemoryRelay(versions=VersionRange(6, top)) as srv:
            async with await ws_client(srv) as c:
                assert c.version == top
                assert c.block_encryption is (top >= 11)
                ids = await c.create_queue(ed(), xk())
                assert (ids.queue_mode is QueueMode.MESSAGING) is (top >= 9)
                assert await c.ping() >= 0

    run(main)


def test_handshake_client_range_caps_version() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            c = await srv.connect(config=QUIET, version_range=VersionRange(7, 10))
            async with c:
                assert c.version == 10
                assert not c.block_encryption

    run(main)


def test_handshake_native_tls() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await srv.connect("tls", config=QUIET) as c:
                assert c.transport_kind == "tls"
                assert c.version == 18
                assert c.block_encryption
                ids = await c.create_queue(ed(), xk())
                await c.send(ids.snd_id, b"hi")
                ev = await next_event(c.events)
                assert isinstance(ev, MessageEvent)

    run(main)


def test_wrong_key_hash_is_identity_mismatch() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            other = FakeIdentity.make()
            address = replace(srv.address, key_hash=other.key_hash)
            with pytest.raises(IdentityMismatch, match="does not match the address"):
                await srv.connect(server=address, config=QUIET)
            assert srv.client_hellos == []

    run(main)


def test_bad_signed_key_is_refused() -> None:
    def forge(h: ServerHello) -> ServerHello:
        assert h.cert_key is not None
        stranger = KeyPair.generate(KeyAlg.ED25519)
        signed = x509.sign_key(stranger.private, xk().public)
        return replace(h, cert_key=CertChainPubKey(h.cert_key.cert_chain, signed))

    async def main() -> None:
        async with MemoryRelay(to_client=rewrite_server_hello(forge)) as srv:
            with pytest.raises(HandshakeFailed, match="not signed by its certificate"):
                await ws_client(srv)

    run(main)


def test_garbage_signed_key_is_refused() -> None:
    def forge(h: ServerHello) -> ServerHello:
        assert h.cert_key is not None
        return replace(h, cert_key=CertChainPubKey(h.cert_key.cert_chain, b"\x30\x00"))

    async def main() -> None:
        async with MemoryRelay(to_client=rewrite_server_hello(forge)) as srv:
            with pytest.raises(HandshakeFailed, match="not signed"):
                await ws_client(srv)

    run(main)


def test_leaf_from_another_ca_is_refused() -> None:
    other = FakeIdentity.make()

    def forge(h: ServerHello) -> ServerHello:
        assert h.cert_key is not None
        chain = (other.online_cert, h.cert_key.cert_chain[1])
        signed = x509.sign_key(other.online_key, xk().public)
        return replace(h, cert_key=CertChainPubKey(chain, signed))

    async def main() -> None:
        async with MemoryRelay(to_client=rewrite_server_hello(forge)) as srv:
            with pytest.raises(HandshakeFailed, match="chain is not valid"):
                await ws_client(srv)

    run(main)


@pytest.mark.parametrize("n", [1, 5])
def test_chain_length_is_checked(n: int) -> None:
    def forge(h: ServerHello) -> ServerHello:
        assert h.cert_key is not None
        chain = (h.cert_key.cert_chain * 3)[:n]
        return replace(h, cert_key=CertChainPubKey(chain, h.cert_key.signed_key))

    async def main() -> None:
        async with MemoryRelay(to_client=rewrite_server_hello(forge)) as srv:
            with pytest.raises(HandshakeFailed, match="certificates"):
                await ws_client(srv)

    run(main)


def test_missing_chain_is_refused() -> None:
    async def main() -> None:
        hook: Callable[[ServerHello], ServerHello] = lambda h: replace(h, cert_key=None)  # noqa: E731
        async with MemoryRelay(to_client=rewrite_server_hello(hook)) as srv:
            with pytest.raises(HandshakeFailed, match="no certificate chain"):
                await ws_client(srv)

    run(main)


@pytest.mark.parametrize("versions", [VersionRange(6, 6), VersionRange(19, 20)])
def test_version_mismatch(versions: VersionRange) -> None:
    async def main() -> None:
        async with MemoryRelay(versions=versions) as srv:
            with pytest.raises(VersionMismatch, match="no common SMP version"):
                await ws_client(srv)

    run(main)


def test_client_range_below_v7_is_refused() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            with pytest.raises(ValueError, match="v7"):
                await srv.connect(version_range=VersionRange(6, 18))

    run(main)


def test_unparsable_hello() -> None:
    async def main() -> None:
        async with MemoryRelay(to_client=replace_block(0, pad_handshake(b"\x00"))) as srv:
            with pytest.raises(HandshakeFailed, match="does not parse"):
                await srv.connect()

    run(main)


def test_server_that_never_says_hello_times_out() -> None:
    async def main() -> None:
        async with MemoryRelay(to_client=drop_all_blocks) as srv:
            with pytest.raises(HandshakeFailed, match="in time"):
                await srv.connect(timeout=0.2)

    run(main)


def test_tls_session_id_must_be_channel_binding() -> None:
    hook: Callable[[ServerHello], ServerHello] = lambda h: replace(h, session_id=os.urandom(32))  # noqa: E731

    async def main() -> None:
        async with MemoryRelay(to_client=rewrite_server_hello(hook)) as srv:
            with pytest.raises(HandshakeFailed, match="channel binding"):
                await srv.connect("tls", config=QUIET)

    run(main)


def test_tls_certificate_must_be_chain_leaf() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            leaf, _ = srv.identity.another_online()
            with pytest.raises(HandshakeFailed, match="TLS certificate"):
                await srv.connect("tls", config=QUIET, tls_cert=leaf)

    run(main)


def test_connect_failure() -> None:
    async def main() -> None:
        with socket.socket() as s:  # a port that nothing listens on
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        address = SMPServer(("127.0.0.1",), bytes(32), port)
        with pytest.raises(ConnectFailed):
            await SMPClient.connect(address, config=QUIET, timeout=5)
        with pytest.raises(ConnectFailed):
            await SMPClient.connect(address, ws_url=f"ws://127.0.0.1:{address.port}", timeout=5)

    run(main)


# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize("alg", [KeyAlg.ED25519, KeyAlg.ED448, KeyAlg.X25519])
def test_queue_lifecycle(alg: KeyAlg) -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as rcv, await ws_client(srv) as snd:
                rkey, dh, skey = KeyPair.generate(alg), xk(), KeyPair.generate(alg)
                ids = await rcv.create_queue(rkey, dh)
                assert ids.rcv_id in rcv.subscriptions
                await rcv.secure(ids.rcv_id, rkey, skey.public)
                with pytest.raises(SMPCommandError) as ei:
                    await snd.send(ids.snd_id, b"no key")
                assert ei.value.error is ErrorType.AUTH
                await snd.send(ids.snd_id, b"one", key=skey)
                await snd.send(ids.snd_id, b"two", key=skey, notification=True)
                ev = await next_event(rcv.events)
                assert isinstance(ev, MessageEvent) and ev.recipient_id == ids.rcv_id
                body = decrypt_message(ev.msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody)
                assert body.body == b"one" and not body.flags.notification
                nxt = await rcv.ack(ids.rcv_id, rkey, ev.msg.msg_id)
                assert nxt is not None
                key = queue_dh_key(dh, ids.srv_dh_key)
                body2 = decrypt_message_with_key(key, nxt)
                assert isinstance(body2, RcvMsgBody)
                assert body2.body == b"two" and body2.flags.notification
                assert await rcv.ack(ids.rcv_id, rkey, nxt.msg_id) is None
                # GET is for a connection that has not subscribed the queue (the reference
                # answers the subscriber's own GET with CMD PROHIBITED)
                with pytest.raises(SMPCommandError) as gi:
                    await rcv.get(ids.rcv_id, rkey)
                assert gi.value.error == CMD(CommandError.PROHIBITED)
                assert await snd.get(ids.rcv_id, rkey) is None
                await rcv.suspend(ids.rcv_id, rkey)
                with pytest.raises(SMPCommandError):
                    await snd.send(ids.snd_id, b"off", key=skey)
                await rcv.delete(ids.rcv_id, rkey)
                assert ids.rcv_id not in rcv.subscriptions
                with pytest.raises(SMPCommandError):
                    await rcv.subscribe(ids.rcv_id, rkey)

    run(main)


def test_sender_secures_with_skey_and_get() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as rcv, await ws_client(srv) as snd:
                rkey, dh, skey = xk(), xk(), xk()
                ids = await rcv.create_queue(rkey, dh, subscribe=False)
                assert ids.rcv_id not in rcv.subscriptions
                await snd.secure_sender(ids.snd_id, skey)
                await snd.send(ids.snd_id, b"hello", key=skey)
                msg = await rcv.get(ids.rcv_id, rkey)
                assert msg is not None
                body = decrypt_message(msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody) and body.body == b"hello"
                assert await rcv.ack(ids.rcv_id, rkey, msg.msg_id) is None
                # a contact queue cannot be secured by the sender
                cids = await rcv.create_queue(rkey, dh, messaging=False)
                with pytest.raises(SMPCommandError):
                    await snd.secure_sender(cids.snd_id, skey)

    run(main)


def test_subscribe_delivers_waiting_message_as_event() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as rcv:
                rkey, dh = ed(), xk()
                ids = await rcv.create_queue(rkey, dh, subscribe=False)
                await rcv.send(ids.snd_id, b"waiting")
                await rcv.subscribe(ids.rcv_id, rkey)
                assert rcv.subscriptions[ids.rcv_id] == rkey
                ev = await next_event(rcv.events)
                assert isinstance(ev, MessageEvent)
                body = decrypt_message(ev.msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody) and body.body == b"waiting"

    run(main)


def test_wrong_key_gets_err_auth() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as c:
                ids = await c.create_queue(ed(), xk())
                with pytest.raises(SMPCommandError) as ei:
                    await c.subscribe(ids.rcv_id, ed())
                assert ei.value.error is ErrorType.AUTH
                assert "AUTH" in str(ei.value)

    run(main)


def test_bad_key_types_are_refused_locally() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as c:
                with pytest.raises(ValueError, match="X25519"):
                    await c.create_queue(ed(), ed())
                with pytest.raises(ValueError, match="cannot authorize"):
                    await c.subscribe(b"q" * 24, KeyPair.generate(KeyAlg.X448))
                with pytest.raises(ValueError, match="at most"):
                    await c.send(b"s" * 24, bytes(16049))
                assert not c._pending

    run(main)


def test_concurrent_commands_are_correlated_and_batched() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as c:
                await c.ping()
                before, server_before = c.blocks_sent, srv.blocks_received
                keys = [(ed(), xk()) for _ in range(20)]
                ids, _ = await asyncio.gather(
                    asyncio.gather(*(c.create_queue(k, d, subscribe=False) for k, d in keys)),
                    asyncio.gather(*(c.ping() for _ in range(30))),
                )
                assert len({i.rcv_id for i in ids}) == 20
                # 20 NEW (~170 bytes each) and 30 PING fit one block.
                assert c.blocks_sent - before == 1
                assert srv.blocks_received - server_before == 1
                assert c.transmissions_sent >= 51
                # every queue answers to its own key
                for (k, _), i in zip(keys, ids, strict=True):
                    await c.subscribe(i.rcv_id, k)

    run(main)


def test_large_batches_split_into_blocks() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as c:
                ids = await c.create_queue(ed(), xk())
                before = c.blocks_sent
                body = bytes(6000)
                await asyncio.gather(*(c.send(ids.snd_id, body) for _ in range(6)))
                assert c.blocks_sent - before == 3  # two 6 KB SENDs per block

    run(main)


def test_response_timeout_and_late_answer() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as c:
                srv.hold_responses()
                with pytest.raises(ResponseTimeout, match="PING"):
                    await c.ping(timeout=0.05)
                assert not c._pending
                srv.release_responses()  # the late PONG arrives first and is dropped
                assert await c.ping() >= 0

    run(main)


def test_cancelled_command_is_not_sent() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as c:
                await c.ping()
                task = asyncio.create_task(c.ping())
                await asyncio.sleep(0)  # queued, writer not yet run
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                pings = srv.relay.metrics.commands["PING"]
                await c.ping()
                assert srv.relay.metrics.commands["PING"] == pings + 1

    run(main)


# --------------------------------------------------------------------------- events


def test_end_and_deld_events() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as a, await ws_client(srv) as b:
                rkey = ed()
                ids = await a.create_queue(rkey, xk())
                await b.subscribe(ids.rcv_id, rkey)
                ev = await next_event(a.events)
                assert ev == SubscriptionEnded(ids.rcv_id)
                assert ids.rcv_id not in a.subscriptions
                await a.delete(ids.rcv_id, rkey)
                ev = await next_event(b.events)
                assert ev == QueueDeleted(ids.rcv_id)
                assert ids.rcv_id not in b.subscriptions

    run(main)


def test_server_error_event() -> None:
    async def main() -> None:
        # No relay pushes ERR on a queue, so the test writes it on the wire itself: below v11
        # blocks are not encrypted.
        async with MemoryRelay(versions=VersionRange(6, 10)) as srv:
            async with await ws_client(srv) as c:
                ids = await c.create_queue(ed(), xk())
                err = ERR(ErrorType.INTERNAL)
                t = encode_server_transmission(c.version, c.session_id, b"", ids.rcv_id, err)
                srv.links[0].inject("to_client", encode_block([t]))
                ev = await next_event(c.events)
                assert ev == ServerErrorEvent(ids.rcv_id, ErrorType.INTERNAL)

    run(main)


def test_slow_event_consumer_does_not_hold_up_commands() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            cfg = replace(QUIET, max_events=1)
            async with await ws_client(srv, cfg) as c:
                rkeys = [ed() for _ in range(3)]
                all_ids = [await c.create_queue(k, xk()) for k in rkeys]
                for ids in all_ids:
                    await c.send(ids.snd_id, b"x")
                got = set()
                for _ in range(3):
                    ev = await next_event(c.events)
                    assert isinstance(ev, MessageEvent)
                    got.add(ev.recipient_id)
                assert got == {i.rcv_id for i in all_ids}
                assert c.events.maxsize == 1

    run(main)


def test_undecodable_block_is_an_error_event() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            async with await ws_client(srv) as c:
                await c.ping()
                srv.links[0].inject("to_client", os.urandom(16384))
                ev = await next_event(c.events)
                assert ev == ServerErrorEvent(NO_ENTITY, ErrorType.BLOCK)

    run(main)


def test_event_backlog_is_capped() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            cfg = replace(QUIET, max_events=1, max_event_backlog=1)
            async with await ws_client(srv, cfg) as c, await ws_client(srv) as snd:
                all_ids = [await c.create_queue(ed(), xk()) for _ in range(3)]
                for ids in all_ids:
                    with contextlib.suppress(ConnectionLost):
                        await snd.send(ids.snd_id, b"x")
                reason = await c.wait_closed()
                assert "not being consumed" in str(reason)

    run(main)


def test_decrypt_message_quota_and_wrong_key() -> None:
    from hushwire.crypto.nacl import cb_encrypt, cb_nonce

    dh, srv = xk(), xk()
    key = queue_dh_key(dh, srv.public)
    msg_id = os.urandom(24)
    quota = MSG(msg_id, cb_encrypt(key, cb_nonce(msg_id), pad_rcv_msg_body(RcvMsgQuota(5))))  # type: ignore[arg-type]
    assert decrypt_message(quota, dh, srv.public) == RcvMsgQuota(5)
    assert len(quota.body) == 16122
    with pytest.raises(CryptoError):
        decrypt_message(quota, xk(), srv.public)


# --------------------------------------------------------------------------- keepalive


def test_keepalive_measures_lag() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            cfg = replace(QUIET, ping_interval=0.01)
            async with await ws_client(srv, cfg) as c:
                assert c.lag is None
                await eventually(lambda: c.lag is not None)
                assert c.lag is not None and c.lag >= 0
                assert not c.closed

    run(main)


def test_keepalive_closes_after_missed_pongs() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            srv.hold_responses()  # the hello still arrives, then nothing
            cfg = replace(QUIET, ping_interval=0.01, ping_count=2)
            c = await ws_client(srv, cfg)
            reason = await asyncio.wait_for(c.wait_closed(), 10)
            assert isinstance(reason, ConnectionLost)
            assert "2 PINGs" in str(reason)
            assert c.closed
            with pytest.raises(ConnectionLost):
                await c.ping()
            await c.close()

    run(main)


def test_connection_loss_fails_waiting_commands() -> None:
    async def main() -> None:
        async with MemoryRelay() as srv:
            c = await ws_client(srv)
            srv.hold_responses()
            waiting = asyncio.create_task(c.ping())
            await eventually(lambda: srv.relay.metrics.commands["PING"] == 1)
            srv.drop_all()
            with pytest.raises(ConnectionLost):
                await waiting
            reason = await c.wait_closed()
            assert isinstance(reason, ConnectionLost)
            await c.close()

    run(main)


# --------------------------------------------------------------------------- reconnect


def test_backoff_delays() -> None:
    b = Backoff(initial=1.0, maximum=10.0, factor=2.0, jitter=0.5)
    assert [b.delay(n, 0.0) for n in range(6)] == [1, 2, 4, 8, 10, 10]
    assert b.delay(2, 1.0) == 2.0
    assert b.delay(1000, 0.5) == 7.5
    with pytest.raises(ValueError):
        Backoff(jitter=2)
    with pytest.raises(ValueError):
        Backoff(initial=5, maximum=1)


def test_reconnect_resubscribes() -> None:
    async def main() -> None:
        clock = FakeClock()
        away = asyncio.Event()

        async def sleep(d: float) -> None:
            await clock.sleep(d)
            await away.wait()

        async with MemoryRelay() as srv:
            rc = srv.reconnecting_client(config=QUIET, sleep=sleep, rng=lambda: 0.0)
            async with rc:
                rkey, dh = ed(), xk()
                ids = await rc.create_queue(rkey, dh)
                gone_key = ed()
                gone = await rc.create_queue(gone_key, xk())
                first = rc.client
                srv.drop_all()
                ev = await next_event(rc.events)
                assert isinstance(ev, Disconnected)
                # the queue is deleted while we are away: the server refuses its SUB
                assert await srv.store.delete_queue(gone.rcv_id)
                away.set()
                ev = await next_event(rc.events)
                assert isinstance(ev, Reconnected)
                assert ev.resubscribed == (ids.rcv_id,)
                assert ev.failed == ((gone.rcv_id, ErrorType.AUTH),)
                assert clock.sleeps == [1.0]
                assert rc.client is not first and rc.connected
                assert rc.reconnects == 1
                # one SUB for each queue: ids (resubscribed) and gone (refused)
                assert srv.relay.metrics.commands["SUB"] == 2
                await rc.send(ids.snd_id, b"after")
                ev = await next_event(rc.events)
                assert isinstance(ev, MessageEvent)
                body = decrypt_message(ev.msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody) and body.body == b"after"
                assert await rc.ack(ids.rcv_id, rkey, ev.msg.msg_id) is None
                assert await rc.ping() >= 0
            assert not rc.connected
            with pytest.raises(ConnectionLost):
                _ = rc.client

    run(main)


def test_reconnect_backs_off_and_gives_up() -> None:
    async def main() -> None:
        clock = FakeClock()

        async with MemoryRelay() as srv:
            calls = 0

            async def connector() -> SMPClient:
                nonlocal calls
                calls += 1
                if calls > 1:
                    raise ConnectFailed("down")
                return await ws_client(srv)

            rc = ReconnectingClient(
                srv.address,
                config=QUIET,
                backoff=Backoff(initial=0.5, maximum=3, jitter=0.5),
                max_attempts=4,
                sleep=clock.sleep,
                rng=lambda: 0.5,
                connector=connector,
            )
            await rc.start()
            await rc.ping()  # the server has the session
            srv.drop_all()
            await asyncio.wait_for(rc.wait_stopped(), 10)
            assert clock.sleeps == [0.375, 0.75, 1.5, 2.25]
            assert isinstance(rc.failure, ConnectFailed)
            with pytest.raises(ConnectionLost):
                await rc.ping()
            await rc.close()

    run(main)


def test_commands_wait_for_reconnection() -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def sleep(d: float) -> None:
            await gate.wait()

        async with MemoryRelay() as srv:
            rc = srv.reconnecting_client(config=QUIET, sleep=sleep)
            async with rc:
                await rc.ping()  # the server has the session
                srv.drop_all()
                assert isinstance(await next_event(rc.events), Disconnected)
                with pytest.raises(ConnectionLost):
                    _ = rc.client
                with pytest.raises(ConnectionLost, match="not connected"):
                    await rc.wait_connected(timeout=0.01)
                pinging = asyncio.create_task(rc.ping())
                gate.set()
                assert await pinging >= 0
                assert isinstance(await next_event(rc.events), Reconnected)

    run(main)


def test_protocol_errors_are_typed() -> None:
    err = SMPCommandError(CMD(CommandError.PROHIBITED))
    assert err.error == CMD(CommandError.PROHIBITED)
    assert "CMD PROHIBITED" in str(err)
