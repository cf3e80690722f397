"""The relay as the destination of private routing (RFWD/RRES), on loopback.

The test plays the proxy with an ordinary SMPClient (proxy flag in its hello) and the
sender with the pure functions of hushwire.smp.proxy: what a proxy relay does, byte for
byte, without a second relay.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import loopback_relay as relay
from hushwire.client import ClientConfig, MessageEvent, SMPClient, SMPCommandError, decrypt_message
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.crypto.nacl import cb_encrypt
from hushwire.server.run import RunningRelay
from hushwire.smp.commands import (
    ERR,
    GET,
    IDS,
    LGET,
    LKEY,
    LNK,
    NEW,
    OK,
    PING,
    RFWD,
    RRES,
    SEND,
    SKEY,
    Command,
    ContactLink,
    MessagingLink,
    MsgFlags,
    QRContact,
    QRMessaging,
    QueueLinkData,
)
from hushwire.smp.errors import CMD, CommandError, ErrorType
from hushwire.smp.ids import NO_ENTITY, LinkId, SenderId
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.smp.proxy import (
    ERR_TRANSPORT_NO_AUTH,
    ProxiedRelay,
    accept_pkey,
    open_forwarded_response,
    pkey_answer,
    seal_forwarded,
    unwrap_rres,
    wrap_rfwd,
)
from hushwire.smp.transmission import ServerTransmission
from hushwire.smp.version import max_message_length

QUIET = ClientConfig(ping_interval=None, command_timeout=20.0)


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 60))


async def connect(r: RunningRelay, *, proxy: bool = False) -> SMPClient:
    addr = replace(r.address, hosts=("127.0.0.1",), port=r.tls_port)
    return await SMPClient.connect(addr, config=replace(QUIET, proxy_server=proxy))


def proxied(proxy: SMPClient) -> ProxiedRelay:
    """What the sender learns from PKEY, built from the proxy's own session."""
    cert = proxy.server_cert_key
    pkey = pkey_answer(proxy.session_id, proxy.version, proxy.version_range, cert)
    assert not isinstance(pkey, ErrorType)
    accepted = accept_pkey(pkey, proxy.server.key_hash, now=datetime.now(UTC))
    assert isinstance(accepted, ProxiedRelay)
    return accepted


async def forward(
    proxy: SMPClient,
    dest: ProxiedRelay,
    entity: bytes,
    command: Command,
    key: KeyPair | None = None,
) -> ServerTransmission:
    """Seal as the sender, forward as the proxy, open the answer as the sender."""
    sealed = seal_forwarded(
        dest,
        entity,
        command,
        cmd_key=KeyPair.generate(KeyAlg.X25519).private,
        nonce=os.urandom(24),
        auth_key=key.private if key is not None else None,
    )
    box = proxy.session_box_key
    assert box is not None
    n2 = os.urandom(24)
    rfwd = wrap_rfwd(box, n2, sealed.corr_id, sealed.pfwd)
    reply = await proxy.request(NO_ENTITY, rfwd, corr_id=n2)
    assert isinstance(reply, RRES)
    return open_forwarded_response(sealed, unwrap_rres(box, n2, reply), dest.session_id)


@pytest.mark.parametrize("alg", [KeyAlg.ED25519, KeyAlg.X25519])
def test_forwarded_send_and_skey_deliver(tmp_path: Path, alg: KeyAlg) -> None:
    async def main() -> None:
        async with relay(tmp_path) as r:
            async with await connect(r) as rcv, await connect(r, proxy=True) as px:
                assert not px.block_encryption  # proxy flag: no v11 block layer
                dest = proxied(px)
                assert dest.version == 17
                rkey, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                ids = await rcv.create_queue(rkey, dh)
                # unsecured queue: SEND without auth
                t = await forward(px, dest, ids.snd_id, SEND(MsgFlags(False), b"hello"))
                assert t.result == OK() and t.entity_id == ids.snd_id
                ev = await asyncio.wait_for(rcv.events.get(), 20)
                assert isinstance(ev, MessageEvent)
                body = decrypt_message(ev.msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody) and body.body == b"hello"
                assert await rcv.ack(ids.rcv_id, rkey, ev.msg.msg_id) is None
                # the sender secures the queue through the proxy, then signs its SEND
                skey = KeyPair.generate(alg)
                t = await forward(px, dest, ids.snd_id, SKEY(skey.public), skey)
                assert t.result == OK()
                t = await forward(px, dest, ids.snd_id, SEND(MsgFlags(False), b"unsigned"))
                assert t.result == ERR(ErrorType.AUTH)
                big = bytes(range(256)) * (max_message_length(17) // 256)
                t = await forward(px, dest, ids.snd_id, SEND(MsgFlags(False), big), skey)
                assert t.result == OK()
                ev = await asyncio.wait_for(rcv.events.get(), 20)
                assert isinstance(ev, MessageEvent)
                body = decrypt_message(ev.msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody) and body.body == big
                m = r.relay.metrics
                assert m.forwarded_received == 4
                assert m.commands["RFWD"] == 4 and m.commands["SEND"] == 3

    run(main)


def test_forwarded_errors(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path) as r:
            async with await connect(r) as rcv, await connect(r, proxy=True) as px:
                dest = proxied(px)
                # unknown queue: the destination's AUTH, inside RRES
                t = await forward(px, dest, os.urandom(24), SEND(MsgFlags(False), b"x"))
                assert t.result == ERR(ErrorType.AUTH)
                t = await forward(px, dest, os.urandom(24), LGET())
                assert t.result == ERR(ErrorType.AUTH)
                # a command that may not be forwarded
                t = await forward(px, dest, NO_ENTITY, PING())
                assert t.result == ERR(CMD(CommandError.PROHIBITED))
                rkey, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                ids = await rcv.create_queue(rkey, dh, subscribe=False)
                t = await forward(px, dest, ids.rcv_id, GET(), rkey)
                assert t.result == ERR(CMD(CommandError.PROHIBITED))
                # the outer box does not open: CRYPTO answered to RFWD itself
                with pytest.raises(SMPCommandError) as ei:
                    await px.request(NO_ENTITY, RFWD(os.urandom(200)), corr_id=os.urandom(24))
                assert ei.value.error is ErrorType.CRYPTO
                # the inner box is sealed for another key: CRYPTO too
                other = replace(dest, server_key=KeyPair.generate(KeyAlg.X25519).public)
                with pytest.raises(SMPCommandError) as ei:
                    await forward(px, other, ids.snd_id, SEND(MsgFlags(False), b"x"))
                assert ei.value.error is ErrorType.CRYPTO
                # the outer box opens but holds no FwdTransmission: CMD SYNTAX
                box = px.session_box_key
                assert box is not None
                n2 = os.urandom(24)
                junk = RFWD(cb_encrypt(box, n2, b"\x01"))
                with pytest.raises(SMPCommandError) as ei:
                    await px.request(NO_ENTITY, junk, corr_id=n2)
                assert ei.value.error == CMD(CommandError.SYNTAX)
                assert await rcv.get(ids.rcv_id, rkey) is None  # nothing got through

    run(main)


def test_rfwd_needs_the_proxy_hello_key(tmp_path: Path) -> None:
    """A session whose hello carried no key cannot be a proxy's (TRANSPORT NO_AUTH)."""

    async def main() -> None:
        async with relay(tmp_path) as r:
            async with await connect(r, proxy=True) as px:
                await px.ping()  # the relay has made its session
                assert len(r.relay.sessions) == 1
                for s in r.relay.sessions:
                    s.session_box_key = None
                with pytest.raises(SMPCommandError) as ei:
                    await px.request(NO_ENTITY, RFWD(os.urandom(64)), corr_id=os.urandom(24))
                assert ei.value.error == ERR_TRANSPORT_NO_AUTH

    run(main)


def test_forwarded_lkey_and_lget(tmp_path: Path) -> None:
    """Short links through a proxy: LKEY secures a messaging queue, LGET reads a contact
    queue's link data; both answer LNK inside RRES."""

    async def main() -> None:
        async with relay(tmp_path) as r:
            async with await connect(r) as rcv, await connect(r, proxy=True) as px:
                dest = proxied(px)
                rkey, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                data = QueueLinkData(b"fixed data", b"user data")
                # a messaging queue with a link: the sender id is derived from the corrId
                corr = os.urandom(24)
                sid = SenderId(hashlib.sha3_384(corr).digest()[:24])
                new = NEW(
                    rkey.public, dh.public, queue_req_data=QRMessaging(MessagingLink(sid, data))
                )
                ids = await rcv.request(NO_ENTITY, new, rkey, corr_id=corr)
                assert isinstance(ids, IDS) and ids.link_id is not None
                skey = KeyPair.generate(KeyAlg.ED25519)
                t = await forward(px, dest, ids.link_id, LKEY(skey.public), skey)
                assert t.result == LNK(sid, data) and t.entity_id == ids.link_id
                t = await forward(px, dest, sid, SEND(MsgFlags(False), b"after LKEY"), skey)
                assert t.result == OK()
                # a contact queue with a link: anyone may LGET it
                corr2 = os.urandom(24)
                sid2 = SenderId(hashlib.sha3_384(corr2).digest()[:24])
                link_id = LinkId(os.urandom(24))
                contact = QRContact(ContactLink(link_id, sid2, data))
                new2 = NEW(rkey.public, dh.public, queue_req_data=contact)
                await rcv.request(NO_ENTITY, new2, rkey, corr_id=corr2)
                t = await forward(px, dest, link_id, LGET())
                assert t.result == LNK(sid2, data)
                # LGET on the messaging queue's link is refused, as directly
                t = await forward(px, dest, ids.link_id, LGET())
                assert t.result == ERR(ErrorType.AUTH)

    run(main)
