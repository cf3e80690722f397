"""Dispatch with no sockets: requests in, exact replies and pushes out, over the memory store.

Requests are encoded and decoded exactly as a session does (``encode_client_transmission`` ->
``decode_client_transmission``) and handed to :class:`Dispatcher` with a plain client object;
no transport, no handshake, no event-loop timing. Also the session's :class:`TokenBucket`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from hushwire.client import decrypt_message
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey
from hushwire.server.config import RelayConfig, RelayLimits
from hushwire.server.dispatch import Dispatcher, Sub
from hushwire.server.metrics import Metrics
from hushwire.server.session import TokenBucket
from hushwire.server.store import MemoryStore
from hushwire.smp.commands import (
    ACK,
    END,
    ERR,
    GET,
    IDS,
    KEY,
    MSG,
    NEW,
    OK,
    PING,
    PONG,
    SEND,
    SOK,
    SUB,
    BrokerMsg,
    Command,
    MsgFlags,
)
from hushwire.smp.errors import CMD, CommandError, ErrorType
from hushwire.smp.ids import NO_CORR_ID, NO_ENTITY, MsgId
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.smp.transmission import (
    ClientRequest,
    authorized_bytes,
    decode_client_transmission,
    encode_client_transmission,
)
from hushwire.smp.version import CURRENT_SMP_VERSION

T = TypeVar("T")
NOW = 1_700_000_000
VERSION = CURRENT_SMP_VERSION
SESSION_ID = bytes(range(32))


class FakeClient:
    """A :class:`hushwire.server.dispatch.Client` that records what it is pushed."""

    def __init__(self, cid: str = "test-1") -> None:
        self.cid = cid
        self.version = VERSION
        self.session_key: PrivateKey = KeyPair.generate(KeyAlg.X25519).private
        self.subs: dict[bytes, Sub] = {}
        self.pushed: list[tuple[bytes, bytes, BrokerMsg]] = []
        self.new_throttled = 0
        self.deferred: set[bytes] = set()
        self.backlogged = False

    def push(self, corr_id: bytes, entity_id: bytes, msg: BrokerMsg) -> None:
        self.pushed.append((corr_id, entity_id, msg))

    async def throttle_new(self) -> None:
        self.new_throttled += 1


def request(
    cmd: Command, entity: bytes = b"", key: KeyPair | None = None, corr: bytes | None = None
) -> ClientRequest:
    """``cmd`` as a session would decode it, signed with ``key`` (Ed25519) if given."""
    corr = corr if corr is not None else os.urandom(24)
    body = cmd.encode(VERSION)
    auth = b""
    if key is not None:
        auth = key.private.sign(authorized_bytes(SESSION_ID, corr, entity, body))
    data = encode_client_transmission(VERSION, SESSION_ID, corr, entity, body, auth)
    req = decode_client_transmission(data, VERSION, SESSION_ID)
    assert isinstance(req, ClientRequest)
    return req


def run(body: Callable[[Dispatcher], Awaitable[T]], config: RelayConfig | None = None) -> T:
    async def main() -> T:
        store = MemoryStore(clock=lambda: NOW)
        await store.open()
        try:
            cfg = config or RelayConfig(data=Path("unused"))
            return await body(Dispatcher(cfg, store, Metrics(), clock=lambda: NOW))
        finally:
            await store.close()

    return asyncio.run(main())


class Queue:
    """A recipient's keys and the queue's ids once created."""

    def __init__(self) -> None:
        self.rcv = KeyPair.generate(KeyAlg.ED25519)
        self.dh = KeyPair.generate(KeyAlg.X25519)
        self.snd = KeyPair.generate(KeyAlg.ED25519)
        self.ids: IDS | None = None

    @property
    def rid(self) -> bytes:
        assert self.ids is not None
        return self.ids.rcv_id

    @property
    def sid(self) -> bytes:
        assert self.ids is not None
        return self.ids.snd_id

    def open(self, msg: BrokerMsg) -> RcvMsgBody:
        assert isinstance(msg, MSG) and self.ids is not None
        got = decrypt_message(msg, self.dh, self.ids.srv_dh_key)
        assert isinstance(got, RcvMsgBody)
        return got


async def create(d: Dispatcher, client: FakeClient, q: Queue) -> None:
    req = request(NEW(q.rcv.public, q.dh.public), key=q.rcv)
    [(corr, ent, ids)] = await d.process(client, req)
    assert (corr, ent) == (req.corr_id, b"")
    assert isinstance(ids, IDS)
    assert len(ids.rcv_id) == 24 and len(ids.snd_id) == 24 and ids.rcv_id != ids.snd_id
    q.ids = ids


def test_new_send_sub_msg_ack() -> None:
    q = Queue()
    recipient, sender = FakeClient("rcv"), FakeClient("snd")

    async def body(d: Dispatcher) -> None:
        await create(d, recipient, q)
        # NEW subscribes (sub mode S, the default) and is throttled per connection
        assert recipient.new_throttled == 1
        assert d.subscribers == {q.rid: recipient}
        assert recipient.subs == {q.rid: Sub()}
        # the sender sends before the queue is secured: no signature
        send1 = request(SEND(MsgFlags(), b"hello"), q.sid)
        assert await d.process(sender, send1) == [(send1.corr_id, q.sid, OK())]
        # committed, so pushed at once to the idle subscriber
        [(corr, ent, msg)] = recipient.pushed
        assert (corr, ent) == (NO_CORR_ID, q.rid)
        assert q.open(msg) == RcvMsgBody(NOW, MsgFlags(), b"hello")
        assert isinstance(msg, MSG)
        first_id = msg.msg_id
        assert recipient.subs[q.rid].delivered == first_id
        # KEY secures; from then on SEND must be signed
        key = request(KEY(q.snd.public), q.rid, q.rcv)
        assert await d.process(recipient, key) == [(key.corr_id, q.rid, OK())]
        unsigned = request(SEND(MsgFlags(), b"x"), q.sid)
        assert await d.process(sender, unsigned) == [(unsigned.corr_id, q.sid, ERR(ErrorType.AUTH))]
        send2 = request(SEND(MsgFlags(notification=True), b"second"), q.sid, q.snd)
        assert await d.process(sender, send2) == [(send2.corr_id, q.sid, OK())]
        assert len(recipient.pushed) == 1  # one message in flight per queue
        # ACK of the first: its reply is the next message
        ack1 = request(ACK(MsgId(first_id)), q.rid, q.rcv)
        [(corr, ent, msg2)] = await d.process(recipient, ack1)
        assert (corr, ent) == (ack1.corr_id, q.rid)
        assert q.open(msg2) == RcvMsgBody(NOW, MsgFlags(notification=True), b"second")
        assert isinstance(msg2, MSG)
        # a stale ACK: NO_MSG
        stale = request(ACK(MsgId(first_id)), q.rid, q.rcv)
        assert await d.process(recipient, stale) == [(stale.corr_id, q.rid, ERR(ErrorType.NO_MSG))]
        ack2 = request(ACK(msg2.msg_id), q.rid, q.rcv)
        assert await d.process(recipient, ack2) == [(ack2.corr_id, q.rid, OK())]
        assert d.store.queue_size(q.rid) == 0
        assert recipient.subs[q.rid].delivered is None
        assert d.metrics.messages_in == 2 and d.metrics.messages_acked == 2
        assert d.metrics.errors == {"AUTH": 1, "NO_MSG": 1}
        assert sender.pushed == [] and sender.subs == {}

    run(body)


def test_sub_moves_the_queue_and_redelivers_the_head() -> None:
    q = Queue()
    first, second, sender = FakeClient("a"), FakeClient("b"), FakeClient("s")

    async def body(d: Dispatcher) -> None:
        await create(d, first, q)
        send = request(SEND(MsgFlags(), b"m"), q.sid)
        assert await d.process(sender, send) == [(send.corr_id, q.sid, OK())]
        [(_, _, pushed)] = first.pushed
        # another connection subscribes: the first gets END, the second the same message
        sub = request(SUB(), q.rid, q.rcv)
        replies = await d.process(second, sub)
        assert first.pushed[1:] == [(NO_CORR_ID, q.rid, END())]
        assert q.rid not in first.subs
        assert replies[0] == (sub.corr_id, q.rid, SOK(None))
        [(corr, ent, again)] = replies[1:]
        assert (corr, ent) == (NO_CORR_ID, q.rid)
        assert again == pushed  # same id, same encryption: a redelivery
        assert d.subscribers == {q.rid: second}
        # the subscriber goes away: the message stays for the next SUB
        d.drop_client(second)
        assert d.subscribers == {} and second.subs == {}
        assert d.store.queue_size(q.rid) == 1

    run(body)


def test_get_then_sub_is_prohibited_and_unknown_queues_are_auth() -> None:
    q = Queue()
    client = FakeClient()

    async def body(d: Dispatcher) -> None:
        await create(d, client, q)
        d.drop_client(client)  # GET works on a queue this client does not subscribe
        get = request(GET(), q.rid, q.rcv)
        assert await d.process(client, get) == [(get.corr_id, q.rid, OK())]
        sub = request(SUB(), q.rid, q.rcv)
        prohibited = ERR(CMD(CommandError.PROHIBITED))
        assert await d.process(client, sub) == [(sub.corr_id, q.rid, prohibited)]
        unknown = os.urandom(24)
        sub2 = request(SUB(), unknown, q.rcv)
        assert await d.process(client, sub2) == [(sub2.corr_id, unknown, ERR(ErrorType.AUTH))]
        ping = request(PING())
        assert await d.process(client, ping) == [(ping.corr_id, NO_ENTITY, PONG())]

    run(body)


def test_quota_and_ack_next_as_push() -> None:
    q = Queue()
    recipient, sender = FakeClient("r"), FakeClient("s")
    config = RelayConfig(
        data=Path("unused"), ack_next_as_push=True, limits=RelayLimits(queue_quota=2)
    )

    async def body(d: Dispatcher) -> None:
        await create(d, recipient, q)
        replies = []
        for i in range(4):
            send = request(SEND(MsgFlags(), b"m%d" % i), q.sid)
            replies.append((send.corr_id, await d.process(sender, send)))
        results = [r[0][2] for _, r in replies]
        quota = ERR(ErrorType.QUOTA)
        assert results == [OK(), OK(), quota, quota]
        assert d.store.queue_size(q.rid) == 3  # two messages and the quota entry
        [(_, _, m0)] = recipient.pushed
        assert isinstance(m0, MSG)
        ack = request(ACK(m0.msg_id), q.rid, q.rcv)
        [ok, (corr, ent, m1)] = await d.process(recipient, ack)
        assert ok == (ack.corr_id, q.rid, OK())
        assert (corr, ent) == (NO_CORR_ID, q.rid)
        assert q.open(m1) == RcvMsgBody(NOW, MsgFlags(), b"m1")

    run(body, config)


def test_token_bucket() -> None:
    now = [100.0]
    per_second = TokenBucket(4, 1.0, clock=lambda: now[0])
    assert [per_second.take() for _ in range(4)] == [0.0] * 4  # the burst
    assert per_second.take() == 0.25  # one token in debt: a quarter second
    now[0] += 0.5  # two tokens back, the debt paid
    assert per_second.take() == 0.0
    assert per_second.take(2) == 0.5  # two tokens in debt
    now[0] += 100.0  # refills to the capacity, no further
    assert per_second.take(4) == 0.0
    assert per_second.take() == 0.25
    per_minute = TokenBucket(60, 60.0, clock=lambda: now[0])
    assert per_minute.take(60) == 0.0
    assert per_minute.take() == 1.0  # one a second
    with pytest.raises(ValueError):
        TokenBucket(0, 1.0)
