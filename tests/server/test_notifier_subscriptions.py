"""One notifier subscriber per queue (NSUB), in one relay process and across cluster nodes.

simplexmq's Server.hs runs notifier subscriptions through the same ``serverThread`` as queue
subscriptions: a NSUB from another client sends the older subscriber ``END`` with the
notifier id as its entity (any SMP version), and a repeated NSUB from the same client changes
nothing; deleting the notifier (NDEL, DEL, or NKEY replacing it) sends its subscriber
``DELD`` (``END`` below v10), unless the subscriber is the client that deleted it. Here the
same, in one :class:`Dispatcher`, and with two dispatchers on two
:class:`ClusterStore` nodes of one real PostgreSQL database (``pg_helpers``), where the NSUB
travels on the change stream like SUB.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from test_cluster_store import _two_nodes
from test_dispatch import FakeClient, Queue, create, request, run

from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.server.cluster import NodeEvents
from hushwire.server.config import RelayConfig
from hushwire.server.dispatch import Dispatcher
from hushwire.server.metrics import Metrics
from hushwire.server.store.cluster import ClusterStore
from hushwire.smp.commands import (
    DEL,
    DELD,
    END,
    NDEL,
    NID,
    NKEY,
    NMSG,
    NSUB,
    OK,
    SEND,
    SOK,
    SUB,
    MsgFlags,
)
from hushwire.smp.ids import NO_CORR_ID

NOW = 1_700_000_000


async def enable_notifications(d: Dispatcher, owner: FakeClient, q: Queue) -> tuple[bytes, KeyPair]:
    """NKEY: the queue's notifier id and the notifier's signing key."""
    nk, ndh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
    [(_, _, nid)] = await d.process(owner, request(NKEY(nk.public, ndh.public), q.rid, q.rcv))
    assert isinstance(nid, NID)
    return bytes(nid.notifier_id), nk


async def nsub(d: Dispatcher, client: FakeClient, nid: bytes, nk: KeyPair) -> None:
    req = request(NSUB(), nid, nk)
    assert await d.process(client, req) == [(req.corr_id, nid, SOK(None))]


async def send_notified(d: Dispatcher, q: Queue, body: bytes) -> None:
    req = request(SEND(MsgFlags(notification=True), body), q.sid)
    assert await d.process(FakeClient("snd"), req) == [(req.corr_id, q.sid, OK())]


def kinds(client: FakeClient) -> list[tuple[bytes, str]]:
    return [(ent, type(msg).__name__) for _, ent, msg in client.pushed]


def test_a_newer_nsub_ends_the_older_one_in_one_process() -> None:
    q = Queue()
    owner, first, second = FakeClient("owner"), FakeClient("ntf-1"), FakeClient("ntf-2")

    async def body(d: Dispatcher) -> None:
        await create(d, owner, q)
        nid, nk = await enable_notifications(d, owner, q)
        await nsub(d, first, nid, nk)
        await nsub(d, first, nid, nk)  # again, the same client: nothing ends
        assert first.pushed == []
        await nsub(d, second, nid, nk)
        assert first.pushed == [(NO_CORR_ID, nid, END())]
        assert d.ntf_subscribers == {nid: second}
        await send_notified(d, q, b"hello")
        assert kinds(second) == [(nid, "NMSG")]
        assert kinds(first) == [(nid, "END")]  # the ended subscriber hears no more

    run(body)


def _two_dispatchers(body: Callable[[Dispatcher, Dispatcher], Awaitable[None]]) -> None:
    """Two dispatchers, each on its own node of one fresh database."""

    async def nodes(a: ClusterStore, b: ClusterStore, _ea: object, _eb: object) -> None:
        cfg = RelayConfig(data=Path("unused"))
        da = Dispatcher(cfg, a, Metrics(), clock=lambda: NOW)
        db = Dispatcher(cfg, b, Metrics(), clock=lambda: NOW)
        a.events, b.events = NodeEvents(da), NodeEvents(db)
        await body(da, db)

    _two_nodes(nodes)


def test_a_nsub_on_another_node_ends_the_older_one() -> None:
    q = Queue()
    owner, first, second = FakeClient("owner"), FakeClient("ntf-1"), FakeClient("ntf-2")

    async def body(da: Dispatcher, db: Dispatcher) -> None:
        a, b = da.store, db.store
        assert isinstance(a, ClusterStore) and isinstance(b, ClusterStore)
        await create(da, owner, q)
        nid, nk = await enable_notifications(da, owner, q)
        await nsub(da, first, nid, nk)
        await a.announced()
        await b.catch_up()
        await nsub(db, second, nid, nk)  # node b: the queue made on a, NSUB'd here
        await b.announced()
        await a.catch_up()
        assert first.pushed == [(NO_CORR_ID, nid, END())]
        assert da.ntf_subscribers == {} and db.ntf_subscribers == {nid: second}
        assert second.pushed == []
        # A notified SEND on either node reaches the subscriber on b, never the ended one.
        await send_notified(da, q, b"via a")
        await b.catch_up()
        await send_notified(db, q, b"via b")
        assert kinds(second) == [(nid, "NMSG"), (nid, "NMSG")]
        assert isinstance(second.pushed[0][2], NMSG)
        assert kinds(first) == [(nid, "END")]
        # And the other way round: the subscriber on a again ends the one on b.
        await nsub(da, first, nid, nk)
        await a.announced()
        await b.catch_up()
        assert kinds(second)[-1] == (nid, "END")
        assert da.ntf_subscribers == {nid: first} and db.ntf_subscribers == {}

    _two_dispatchers(body)


def test_deleting_the_notifier_sends_deld_to_its_subscriber() -> None:
    q = Queue()
    owner, ntf = FakeClient("owner"), FakeClient("ntf")

    async def body(d: Dispatcher) -> None:
        await create(d, owner, q)
        nid, nk = await enable_notifications(d, owner, q)
        await nsub(d, ntf, nid, nk)
        # NKEY again: a new notifier replaces the subscribed one
        nid2, nk2 = await enable_notifications(d, owner, q)
        assert ntf.pushed == [(NO_CORR_ID, nid, DELD())]
        await nsub(d, ntf, nid2, nk2)
        ndel = request(NDEL(), q.rid, q.rcv)
        assert await d.process(owner, ndel) == [(ndel.corr_id, q.rid, OK())]
        assert ntf.pushed[1:] == [(NO_CORR_ID, nid2, DELD())]
        nid3, nk3 = await enable_notifications(d, owner, q)
        await nsub(d, owner, nid3, nk3)  # the owner itself subscribed: not told of its DEL
        delete = request(DEL(), q.rid, q.rcv)
        assert await d.process(owner, delete) == [(delete.corr_id, q.rid, OK())]
        assert d.ntf_subscribers == {}
        assert owner.pushed == [] and len(ntf.pushed) == 2

    run(body)


def test_a_notifier_deleted_on_another_node_sends_deld() -> None:
    q = Queue()
    owner, ntf = FakeClient("owner"), FakeClient("ntf")

    async def body(da: Dispatcher, db: Dispatcher) -> None:
        a, b = da.store, db.store
        assert isinstance(a, ClusterStore) and isinstance(b, ClusterStore)
        await create(da, owner, q)
        nid, nk = await enable_notifications(da, owner, q)
        await nsub(db, ntf, nid, nk)  # subscribed on b
        ndel = request(NDEL(), q.rid, q.rcv)
        assert await da.process(owner, ndel) == [(ndel.corr_id, q.rid, OK())]  # on a
        await b.catch_up()
        assert ntf.pushed == [(NO_CORR_ID, nid, DELD())]
        assert db.ntf_subscribers == {}
        # A queue deleted on a: DELD for its notifier's subscriber on b too.
        nid2, nk2 = await enable_notifications(da, owner, q)
        await nsub(db, ntf, nid2, nk2)
        delete = request(DEL(), q.rid, q.rcv)
        assert await da.process(owner, delete) == [(delete.corr_id, q.rid, OK())]
        await b.catch_up()
        assert ntf.pushed[1:] == [(NO_CORR_ID, nid2, DELD())]
        assert owner.pushed == []

    _two_dispatchers(body)


def test_del_on_one_node_deld_to_the_subscriber_on_another_not_to_the_deleter() -> None:
    """The queue counterpart: the deleting client is told nothing (its own subscription ends
    with its OK), the subscriber on the other node gets DELD."""
    q, kept = Queue(), Queue()
    owner, other = FakeClient("owner"), FakeClient("other")

    async def body(da: Dispatcher, db: Dispatcher) -> None:
        a, b = da.store, db.store
        assert isinstance(a, ClusterStore) and isinstance(b, ClusterStore)
        await create(da, owner, kept)  # deleted with the owner subscribed to it, on a
        delete = request(DEL(), kept.rid, kept.rcv)
        assert await da.process(owner, delete) == [(delete.corr_id, kept.rid, OK())]
        assert owner.pushed == [] and owner.subs == {}
        await create(da, owner, q)
        await b.catch_up()
        sub = request(SUB(), q.rid, q.rcv)
        assert await db.process(other, sub) == [(sub.corr_id, q.rid, SOK(None))]
        await b.announced()
        await a.catch_up()
        assert owner.pushed == [(NO_CORR_ID, q.rid, END())]  # the older subscription
        delete = request(DEL(), q.rid, q.rcv)
        assert await da.process(owner, delete) == [(delete.corr_id, q.rid, OK())]
        await b.catch_up()
        assert other.pushed == [(NO_CORR_ID, q.rid, DELD())]
        assert len(owner.pushed) == 1

    _two_dispatchers(body)
