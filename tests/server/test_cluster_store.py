"""The cluster store (``hushwire.server.store.cluster``): two nodes on one PostgreSQL database.

Each test opens two :class:`ClusterStore` nodes on a fresh database of the throwaway server
(``pg_helpers``) and checks what a cluster needs beyond the store contract: a change on one
node is seen by the other (and reported to its relay), decisions under concurrency are the
database's (quota, acknowledgement, expiry), subscriptions end on the node whose SUB is older,
one identity per store, no single-owner relay beside a cluster, and a clear error when the
store cannot be reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import test_store_contract as tc
from pg_helpers import pg_server, sql
from store_helpers import NOW, cluster_backend, make_msg, make_rec, new_id
from test_store_postgres import _closed_port

from hushwire.errors import ConfigError
from hushwire.server.config import load_config
from hushwire.server.store import (
    QueueStatus,
    QueueStore,
    StoredMessage,
    StoreError,
    WriteResult,
    postgres,
)
from hushwire.server.store.cluster import ClusterStore
from hushwire.server.store.postgres import PostgresStore


class Events:
    """A relay's side of the stream: what it was told, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, bytes]] = []

    def appended(self, rid: bytes) -> None:
        self.log.append(("appended", rid))

    def notification(self, rid: bytes, msg: StoredMessage) -> None:
        self.log.append(("notification", msg.msg_id))

    def deleted(self, rid: bytes) -> None:
        self.log.append(("deleted", rid))

    def taken(self, rid: bytes) -> None:
        self.log.append(("taken", rid))

    def ntf_taken(self, notifier_id: bytes) -> None:
        self.log.append(("ntf_taken", notifier_id))

    def ntf_deleted(self, notifier_id: bytes) -> None:
        self.log.append(("ntf_deleted", notifier_id))

    def resynced(self) -> None:
        self.log.append(("resynced", b""))


Body = Callable[[ClusterStore, ClusterStore, Events, Events], Awaitable[None]]


def _two_nodes(body: Body, dsn: str | None = None) -> None:
    dsn = dsn or pg_server().new_database()

    async def main() -> None:
        a, b = ClusterStore(dsn, node="a"), ClusterStore(dsn, node="b")
        await a.open()
        await b.open()
        ea, eb = Events(), Events()
        a.events, b.events = ea, eb
        try:
            await asyncio.wait_for(body(a, b, ea, eb), 60)
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_changes_on_one_node_are_seen_and_reported_on_the_other() -> None:
    async def body(a: ClusterStore, b: ClusterStore, ea: Events, eb: Events) -> None:
        rec = make_rec()
        rid = rec.recipient_id
        assert await a.create_queue(rec)
        assert a.get_by_recipient(rid) == rec  # read your writes
        await b.catch_up()
        assert b.get_by_sender(rec.sender_id) == rec
        assert not await b.create_queue(make_rec(sid=rec.sender_id))  # collision, other node
        msgs = [make_msg(i, ntf=i == 1) for i in range(3)]
        for m in msgs:
            assert await a.write_message(rid, m, 10) is WriteResult.STORED
        await b.catch_up()
        assert b.messages(rid) == a.messages(rid) == tuple(msgs)
        assert ("appended", rid) in eb.log
        assert [e for e in eb.log if e[0] == "notification"] == [("notification", msgs[1].msg_id)]
        assert not [e for e in ea.log if e[0] == "notification"]  # a's own dispatch notifies
        assert await b.delete_head(rid, msgs[0].msg_id)
        assert b.peek(rid) == msgs[1]
        await a.catch_up()
        assert a.peek(rid) == msgs[1]
        after = await b.set_status(rid, QueueStatus.OFF)
        await a.catch_up()
        assert a.get_by_recipient(rid) == after
        assert await a.delete_queue(rid)
        await b.catch_up()
        assert b.get_by_recipient(rid) is None and b.messages(rid) == ()
        assert eb.log[-1] == ("deleted", rid)
        assert a.stats().queues == b.stats().queues == 0

    _two_nodes(body)


def test_quota_holds_with_writers_on_both_nodes() -> None:
    quota = 5
    dsn = pg_server().new_database()

    async def body(a: ClusterStore, b: ClusterStore, _ea: Events, _eb: Events) -> None:
        rec = make_rec()
        rid = rec.recipient_id
        assert await a.create_queue(rec)
        await b.catch_up()
        writes = [(a if i % 2 else b).write_message(rid, make_msg(i), quota) for i in range(16)]
        results = await asyncio.gather(*writes)
        assert results.count(WriteResult.STORED) == quota
        assert results.count(WriteResult.QUOTA_EXCEEDED) == 1
        assert results.count(WriteResult.QUOTA_BLOCKED) == 16 - quota - 1
        await a.catch_up()
        await b.catch_up()
        entries = a.messages(rid)
        assert entries == b.messages(rid)
        assert [m.is_quota for m in entries] == [False] * quota + [True]

    _two_nodes(body, dsn)
    rows = sql(dsn, "SELECT is_quota FROM messages ORDER BY seq")
    assert [r["is_quota"] for r in rows] == [False] * quota + [True]


def test_a_message_is_acknowledged_once_across_nodes() -> None:
    async def body(a: ClusterStore, b: ClusterStore, _ea: Events, _eb: Events) -> None:
        rec = make_rec()
        rid = rec.recipient_id
        assert await a.create_queue(rec)
        m1, m2 = make_msg(1), make_msg(2)
        await a.write_message(rid, m1, 10)
        await a.write_message(rid, m2, 10)
        await b.catch_up()
        done = await asyncio.gather(a.delete_head(rid, m1.msg_id), b.delete_head(rid, m1.msg_id))
        assert sorted(done) == [False, True]
        assert not await a.delete_head(rid, new_id())  # not the head
        await a.catch_up()
        await b.catch_up()
        assert a.messages(rid) == b.messages(rid) == (m2,)

    _two_nodes(body)


def test_expiry_on_one_node_removes_the_old_prefix_everywhere() -> None:
    async def body(a: ClusterStore, b: ClusterStore, _ea: Events, eb: Events) -> None:
        rec = make_rec()
        rid = rec.recipient_id
        assert await a.create_queue(rec)
        old = [make_msg(i, ts=NOW - 100) for i in range(3)]
        new = make_msg(9, ts=NOW)
        for m in [*old[:2], new, old[2]]:
            await a.write_message(rid, m, 10)
        assert await b.expire_messages(NOW - 10) == 2  # stops at the first newer one
        assert b.messages(rid) == (new, old[2])
        await a.catch_up()
        assert a.messages(rid) == (new, old[2])
        unsecured = make_rec(created_at=NOW - 100)
        assert await a.create_queue(unsecured)
        await b.catch_up()  # b's subscribers could only know a queue b has seen
        assert await b.expire_unsecured_queues(NOW - 10) == 1
        assert b.get_by_recipient(unsecured.recipient_id) is None
        assert ("deleted", unsecured.recipient_id) in eb.log

    _two_nodes(body)


def test_the_later_subscription_wins_on_every_node() -> None:
    async def body(a: ClusterStore, b: ClusterStore, ea: Events, eb: Events) -> None:
        rid = new_id()
        a.announce_subscription(rid)
        await a.announced()
        await b.catch_up()
        eb.log.clear()  # b was told too: it had no subscriber then, nothing to end
        b.announce_subscription(rid)
        await b.announced()
        await a.catch_up()
        assert ea.log == [("taken", rid)]  # a's client is older: a ends it
        assert eb.log == []
        ea.log.clear()
        # Two at once: whichever commits last keeps the queue, the other ends its own.
        a.announce_subscription(rid)
        b.announce_subscription(rid)
        await a.announced()
        await b.announced()
        await a.catch_up()
        assert len(ea.log) + len(eb.log) == 1

    _two_nodes(body)


def test_the_later_notifier_subscription_wins_on_every_node() -> None:
    """NSUB is announced like SUB, under its own kind: the older notifier subscription ends
    (never the queue subscription of the same id), on the node that holds it."""

    async def body(a: ClusterStore, b: ClusterStore, ea: Events, eb: Events) -> None:
        nid = new_id()
        a.announce_subscription(nid, notifier=True)
        await a.announced()
        await b.catch_up()
        eb.log.clear()  # b had no notifier subscriber then
        b.announce_subscription(nid, notifier=True)
        await b.announced()
        await a.catch_up()
        assert ea.log == [("ntf_taken", nid)]
        assert eb.log == []
        ea.log.clear()
        # A queue SUB of an equal id ends no notifier subscription, and the other way round.
        a.announce_subscription(nid)
        await a.announced()
        await b.catch_up()
        assert eb.log == [("taken", nid)]
        assert ea.log == []

    _two_nodes(body)


def test_one_identity_per_store() -> None:
    async def body(a: ClusterStore, b: ClusterStore, _ea: Events, _eb: Events) -> None:
        key_hash = new_id() + new_id()[:8]
        await a.join(key_hash)
        await b.join(key_hash)  # a copy of the same identity joins
        with pytest.raises(StoreError, match="serves another relay identity"):
            await b.join(new_id() + new_id()[:8])

    _two_nodes(body)


def test_no_single_owner_relay_beside_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "OWNER_LOCK_WAIT", 0.2)
    dsn = pg_server().new_database()
    pairs: list[tuple[QueueStore, QueueStore, str]] = [
        (ClusterStore(dsn), PostgresStore(dsn), "in use by another relay process"),
        (PostgresStore(dsn), ClusterStore(dsn), "in use by a single-owner relay"),
    ]

    async def main() -> None:
        for running, refused, message in pairs:
            await running.open()
            try:
                with pytest.raises(StoreError, match=message):
                    await refused.open()
            finally:
                await running.close()

    asyncio.run(main())


def test_unreachable_cluster_store_is_a_clear_error() -> None:
    dsn = f"postgresql://relay:s3cret@127.0.0.1:{_closed_port()}/hushwire"

    async def main() -> None:
        with pytest.raises(StoreError, match="cannot reach the PostgreSQL store") as e:
            await ClusterStore(dsn).open()
        assert "s3cret" not in str(e.value)

    asyncio.run(main())


# --------------------------------------------------------------------------- the contract

CONTRACT = [
    tc.test_create_get_and_collisions,
    tc.test_secure,
    tc.test_status,
    tc.test_update_recipient_keys,
    tc.test_notifier,
    tc.test_link_data,
    tc.test_delete_queue_deletes_messages,
    tc.test_fifo_order_and_delete_head,
    tc.test_quota_semantics,
    tc.test_quota_one_and_concurrent_writers,
    tc.test_expire_messages,
    tc.test_expire_unsecured_queues,
    tc.test_restart_restores_everything,
    tc.test_lifecycle_errors,
]
"""The contract tests that speak only of the QueueStore interface (the others test the
memory mirror's group commit, pending view and ``max_pending``, which a cluster node does not
have; test_bad_arguments_are_refused ends with ``max_pending``)."""


@pytest.mark.parametrize("contract_test", CONTRACT, ids=lambda t: t.__name__[5:])
def test_the_store_contract_holds(contract_test: Callable[..., None], tmp_path: Path) -> None:
    contract_test(cluster_backend(tmp_path))


def test_cluster_settings() -> None:
    dsn = "postgresql://u@h/db"
    cfg = load_config(None, data="/d", ws="127.0.0.1:1", store=dsn, workers=3)
    assert (cfg.cluster, cfg.workers) == (True, 3)
    assert load_config(None, data="/d", ws="127.0.0.1:1", store=dsn, cluster=True).workers == 1
    assert not load_config(None, data="/d", ws="127.0.0.1:1", store=dsn).cluster
    for bad, message in (
        ({"cluster": True}, "shares a PostgreSQL store"),
        ({"workers": 2}, "shares a PostgreSQL store"),
        ({"workers": 2, "store": dsn, "ws": "127.0.0.1:0"}, "fixed ports"),
        ({"workers": 2, "store": dsn, "grp": "127.0.0.1:2"}, "without --workers"),
        ({"workers": 0, "store": dsn}, "whole number from 1 to 256"),
        ({"cluster": "yes", "store": dsn}, "true or false"),
    ):
        settings = {"data": "/d", "ws": "127.0.0.1:1", **bad}
        with pytest.raises(ConfigError, match=message):
            load_config(None, **settings)
