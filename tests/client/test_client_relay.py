"""hushwire.client against the real relay (hushwire.server), started in-process on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import loopback_address as address
from conftest import loopback_relay as relay
from hushwire.client import (
    ClientConfig,
    ClientEvent,
    Disconnected,
    IdentityMismatch,
    MessageEvent,
    QueueDeleted,
    Reconnected,
    ReconnectingClient,
    SMPClient,
    SMPCommandError,
    SubscriptionEnded,
    decrypt_message,
)
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.server.run import RunningRelay
from hushwire.smp.commands import IDS, MSG
from hushwire.smp.errors import ErrorType
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.smp.version import VersionRange

QUIET = ClientConfig(ping_interval=None, command_timeout=20.0)


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 60))


async def connect(
    r: RunningRelay,
    transport: str,
    config: ClientConfig = QUIET,
    versions: VersionRange | None = None,
) -> SMPClient:
    url = f"ws://127.0.0.1:{r.ws_port}" if transport == "ws" else None
    return await SMPClient.connect(address(r), ws_url=url, config=config, version_range=versions)


async def next_event(q: asyncio.Queue[ClientEvent]) -> ClientEvent:
    return await asyncio.wait_for(q.get(), 20)


async def receive(c: SMPClient, ids: IDS, dh: KeyPair) -> tuple[MSG, bytes]:
    ev = await next_event(c.events)
    assert isinstance(ev, MessageEvent) and ev.recipient_id == ids.rcv_id
    body = decrypt_message(ev.msg, dh, ids.srv_dh_key)
    assert isinstance(body, RcvMsgBody)
    return ev.msg, body.body


@pytest.mark.parametrize("transport", ["tls", "ws"])
@pytest.mark.parametrize("alg", [KeyAlg.ED25519, KeyAlg.X25519])
def test_lifecycle_on_relay(tmp_path: Path, transport: str, alg: KeyAlg) -> None:
    async def main() -> None:
        async with relay(tmp_path) as r:
            async with (
                await connect(r, transport) as rcv,
                await connect(r, transport) as snd,
            ):
                assert rcv.version == 18 and rcv.block_encryption
                rkey, dh = KeyPair.generate(alg), KeyPair.generate(KeyAlg.X25519)
                # recipient secures (KEY)
                ids = await rcv.create_queue(rkey, dh)
                skey = KeyPair.generate(alg)
                await rcv.secure(ids.rcv_id, rkey, skey.public)
                await snd.send(ids.snd_id, b"first", key=skey)
                await snd.send(ids.snd_id, b"second", key=skey)
                msg, body = await receive(rcv, ids, dh)
                assert body == b"first"
                nxt = await rcv.ack(ids.rcv_id, rkey, msg.msg_id)
                assert nxt is not None
                body2 = decrypt_message(nxt, dh, ids.srv_dh_key)
                assert isinstance(body2, RcvMsgBody) and body2.body == b"second"
                assert await rcv.ack(ids.rcv_id, rkey, nxt.msg_id) is None
                info = await rcv.queue_info(ids.rcv_id, rkey)
                assert info is not None
                # sender secures (SKEY)
                ids2 = await rcv.create_queue(rkey, dh)
                skey2 = KeyPair.generate(alg)
                await snd.secure_sender(ids2.snd_id, skey2)
                with pytest.raises(SMPCommandError) as ei:
                    await snd.send(ids2.snd_id, b"unsigned")
                assert ei.value.error is ErrorType.AUTH
                await snd.send(ids2.snd_id, b"via skey", key=skey2)
                msg3, body3 = await receive(rcv, ids2, dh)
                assert body3 == b"via skey"
                assert await rcv.ack(ids2.rcv_id, rkey, msg3.msg_id) is None
                await rcv.suspend(ids2.rcv_id, rkey)
                with pytest.raises(SMPCommandError):
                    await snd.send(ids2.snd_id, b"off", key=skey2)
                for i in (ids, ids2):
                    await rcv.delete(i.rcv_id, rkey)
                with pytest.raises(SMPCommandError):
                    await rcv.subscribe(ids.rcv_id, rkey)

    run(main)


@pytest.mark.parametrize("top", [7, 9, 10, 11, 15, 16])
def test_older_versions_on_relay(tmp_path: Path, top: int) -> None:
    async def main() -> None:
        async with relay(tmp_path) as r:
            versions = VersionRange(7, top)
            async with await connect(r, "ws", versions=versions) as c:
                assert c.version == top
                rkey, skey = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.ED448)
                dh = KeyPair.generate(KeyAlg.X25519)
                ids = await c.create_queue(rkey, dh, subscribe=False)
                await c.secure(ids.rcv_id, rkey, skey.public)
                await c.send(ids.snd_id, b"old", key=skey)
                msg = await c.get(ids.rcv_id, rkey)
                assert msg is not None
                body = decrypt_message(msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody) and body.body == b"old"
                assert await c.ack(ids.rcv_id, rkey, msg.msg_id) is None

    run(main)


def test_end_deld_and_batching_on_relay(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path) as r:
            async with await connect(r, "tls") as a, await connect(r, "ws") as b:
                rkey, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                ids = await a.create_queue(rkey, dh)
                await b.subscribe(ids.rcv_id, rkey)
                assert await next_event(a.events) == SubscriptionEnded(ids.rcv_id)
                before = a.blocks_sent
                await asyncio.gather(*(a.send(ids.snd_id, b"m%d" % i) for i in range(40)))
                assert a.blocks_sent - before == 1
                seen = []
                msg, body = await receive(b, ids, dh)
                seen.append(body)
                while (nxt := await b.ack(ids.rcv_id, rkey, msg.msg_id)) is not None:
                    msg = nxt
                    decrypted = decrypt_message(msg, dh, ids.srv_dh_key)
                    assert isinstance(decrypted, RcvMsgBody)
                    seen.append(decrypted.body)
                assert sorted(seen) == sorted(b"m%d" % i for i in range(40))
                await a.delete(ids.rcv_id, rkey)
                assert await next_event(b.events) == QueueDeleted(ids.rcv_id)

    run(main)


def test_keepalive_on_relay(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path) as r:
            async with await connect(r, "tls", replace(QUIET, ping_interval=0.02)) as c:
                while c.lag is None:
                    await asyncio.sleep(0.01)
                assert c.lag >= 0 and not c.closed

    run(main)


def test_wrong_key_hash_on_relay(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path) as r:
            bad = replace(address(r), key_hash=bytes(32))
            with pytest.raises(IdentityMismatch):
                await SMPClient.connect(bad, config=QUIET)
            with pytest.raises(IdentityMismatch):
                await SMPClient.connect(bad, ws_url=f"ws://127.0.0.1:{r.ws_port}", config=QUIET)

    run(main)


def test_reconnect_on_relay(tmp_path: Path) -> None:
    async def main() -> None:
        async def sleep(_: float) -> None:
            await asyncio.sleep(0)

        async with relay(tmp_path) as r:
            rc = ReconnectingClient(address(r), config=QUIET, sleep=sleep)
            async with rc, await connect(r, "ws") as snd:
                rkey, dh = KeyPair.generate(KeyAlg.X25519), KeyPair.generate(KeyAlg.X25519)
                ids = await rc.create_queue(rkey, dh)
                await r.relay.close_sessions()
                assert isinstance(await next_event(rc.events), Disconnected)
                ev = await next_event(rc.events)
                assert isinstance(ev, Reconnected) and ev.resubscribed == (ids.rcv_id,)
                snd2 = await connect(r, "ws")
                async with snd2:
                    await snd2.send(ids.snd_id, b"after reconnect")
                ev2 = await next_event(rc.events)
                assert isinstance(ev2, MessageEvent)
                body = decrypt_message(ev2.msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody) and body.body == b"after reconnect"
                assert await rc.ack(ids.rcv_id, rkey, ev2.msg.msg_id) is None
                await snd.wait_closed()  # close_sessions dropped it too

    run(main)
