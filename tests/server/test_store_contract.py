"""The store contract, run unchanged against every backend (``store_helpers.BACKENDS``).

Queue records, FIFO, quota, expiry, restarts, group commit and failed commits. A restart is a
second store opened on the same durable state; failures are injected through the
``before_commit`` seam (:data:`hushwire.server.store.CommitHook`). Each test drives the
store with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from store_helpers import (
    BACKENDS,
    NOW,
    Backend,
    contents,
    make_msg,
    make_rec,
    new_id,
    notifier,
    overlay_is_empty,
    with_store,
)

from hushwire.server.store import (
    COMMIT_LATENCY_BUCKETS,
    AppendMessage,
    Change,
    MirroredStore,
    NotifierRecord,
    PutQueue,
    QueueNotFoundError,
    QueueRecord,
    QueueStatus,
    StoreClosedError,
    StoredMessage,
    StoreError,
    WriteResult,
)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](tmp_path)


class SimulatedDiskError(Exception):
    """What the ``before_commit`` seam raises to make a commit fail."""


# --------------------------------------------------------------------------- records


def test_create_get_and_collisions(backend: Backend) -> None:
    ntf = notifier()
    link_id = new_id()
    rec = make_rec(notifier=ntf, link=(link_id, (b"fixed", b"user")))

    async def body(s: MirroredStore) -> None:
        assert await s.create_queue(rec)
        assert s.get_by_recipient(rec.recipient_id) == rec
        assert s.get_by_sender(rec.sender_id) == rec
        assert s.get_by_notifier(ntf.notifier_id) == rec
        assert s.get_by_link(link_id) == rec
        assert s.get_by_recipient(rec.sender_id) is None
        assert s.get_by_sender(new_id()) is None
        assert s.get_by_notifier(new_id()) is None
        assert s.get_by_link(new_id()) is None
        # every kind of id collides
        assert not await s.create_queue(make_rec(rid=rec.recipient_id))
        assert not await s.create_queue(make_rec(sid=rec.sender_id))
        assert not await s.create_queue(
            make_rec(notifier=NotifierRecord(ntf.notifier_id, b"k", b"s"))
        )
        assert not await s.create_queue(make_rec(link=(link_id, (b"f", b"u"))))
        assert s.stats().queues == 1
        # concurrent creates with the same sender id: exactly one wins
        sid = new_id()
        results = await asyncio.gather(*(s.create_queue(make_rec(sid=sid)) for _ in range(5)))
        assert sorted(results) == [False, False, False, False, True]
        assert s.stats().queues == 2

    with_store(backend, body)

    async def reopened(s: MirroredStore) -> None:
        assert s.get_by_recipient(rec.recipient_id) == rec
        assert s.get_by_link(link_id) == rec
        assert not await s.create_queue(make_rec(sid=rec.sender_id))

    with_store(backend, reopened)


def test_record_validation() -> None:
    with pytest.raises(ValueError):
        QueueRecord(new_id(), new_id(), (), b"s")
    with pytest.raises(ValueError):
        QueueRecord(new_id(), new_id(), (b"k",), b"s", queue_mode="X")
    with pytest.raises(ValueError):
        QueueRecord(new_id(), new_id(), (b"k",), b"s", link_id=new_id())
    assert "rcv_dh_secret" not in repr(make_rec())
    assert "body" not in repr(make_msg())


def test_bad_arguments_are_refused(backend: Backend) -> None:
    async def body(s: MirroredStore) -> None:
        rec = make_rec()
        await s.create_queue(rec)
        with pytest.raises(ValueError):
            await s.create_queue(make_rec(rid=b"short"))
        with pytest.raises(ValueError):
            await s.write_message(rec.recipient_id, StoredMessage(b"x", NOW, False, b""), 3)
        with pytest.raises(ValueError):
            await s.write_message(rec.recipient_id, make_msg(), 0)
        with pytest.raises(ValueError):
            big = StoredMessage(new_id(), NOW, False, bytes(16089))
            await s.write_message(rec.recipient_id, big, 3)
        with pytest.raises(ValueError):
            quota_entry = StoredMessage(new_id(), NOW, False, b"", is_quota=True)
            await s.write_message(rec.recipient_id, quota_entry, 3)
        with pytest.raises(ValueError):
            await s.update_recipient_keys(rec.recipient_id, ())
        with pytest.raises(ValueError):
            await s.set_link(rec.recipient_id, b"short", (b"f", b"u"))

    with_store(backend, body)
    with pytest.raises(ValueError):
        backend.make(max_pending=0)


def test_secure(backend: Backend) -> None:
    rec = make_rec()

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        secured = await s.secure(rec.recipient_id, b"key-1")
        assert secured.sender_key == b"key-1"
        assert secured.updated_at == NOW + 5
        assert s.get_by_sender(rec.sender_id) == secured
        assert (await s.secure(rec.recipient_id, b"key-1")).sender_key == b"key-1"
        # another key: unchanged, the caller sees sender_key != its key
        assert (await s.secure(rec.recipient_id, b"key-2")).sender_key == b"key-1"
        with pytest.raises(QueueNotFoundError):
            await s.secure(new_id(), b"key-1")

    with_store(backend, body)
    with_store(backend, lambda s: _assert_sender_key(s, rec.recipient_id, b"key-1"))


async def _assert_sender_key(s: MirroredStore, rid: bytes, key: bytes) -> None:
    got = s.get_by_recipient(rid)
    assert got is not None and got.sender_key == key


def test_status(backend: Backend) -> None:
    rec = make_rec()

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        assert (await s.set_status(rec.recipient_id, QueueStatus.OFF)).status is QueueStatus.OFF
        again = await s.set_status(rec.recipient_id, QueueStatus.OFF)  # idempotent
        assert again.status is QueueStatus.OFF
        await s.set_status(rec.recipient_id, QueueStatus.BLOCKED)
        with pytest.raises(QueueNotFoundError):
            await s.set_status(new_id(), QueueStatus.OFF)

    with_store(backend, body)

    async def reopened(s: MirroredStore) -> None:
        got = s.get_by_recipient(rec.recipient_id)
        assert got is not None and got.status is QueueStatus.BLOCKED

    with_store(backend, reopened)


def test_update_recipient_keys(backend: Backend) -> None:
    rec = make_rec(mode="C")
    keys = (b"k1" * 22, b"k2" * 22, b"")

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        assert (await s.update_recipient_keys(rec.recipient_id, keys)).recipient_keys == keys
        with pytest.raises(QueueNotFoundError):
            await s.update_recipient_keys(new_id(), keys)

    with_store(backend, body)

    async def reopened(s: MirroredStore) -> None:
        got = s.get_by_recipient(rec.recipient_id)
        assert got is not None and got.recipient_keys == keys

    with_store(backend, reopened)


def test_notifier(backend: Backend) -> None:
    a, b = make_rec(), make_rec()
    n1, n2 = notifier(), notifier()

    async def body(s: MirroredStore) -> None:
        await s.create_queue(a)
        await s.create_queue(b)
        assert await s.set_notifier(a.recipient_id, n1)
        assert s.get_by_notifier(n1.notifier_id) == s.get_by_recipient(a.recipient_id)
        assert not await s.set_notifier(b.recipient_id, n1)  # used by another queue
        assert not await s.set_notifier(a.recipient_id, n1)  # reference: DUPLICATE even if own
        assert await s.set_notifier(a.recipient_id, n2)  # replaces, frees n1
        assert s.get_by_notifier(n1.notifier_id) is None
        assert await s.set_notifier(b.recipient_id, n1)
        assert await s.delete_notifier(b.recipient_id) == n1
        assert await s.delete_notifier(b.recipient_id) is None
        assert s.get_by_notifier(n1.notifier_id) is None
        with pytest.raises(QueueNotFoundError):
            await s.set_notifier(new_id(), notifier())

    with_store(backend, body)

    async def reopened(s: MirroredStore) -> None:
        got = s.get_by_notifier(n2.notifier_id)
        assert got is not None and got.recipient_id == a.recipient_id and got.notifier == n2
        assert s.get_by_notifier(n1.notifier_id) is None

    with_store(backend, reopened)


def test_link_data(backend: Backend) -> None:
    a, b = make_rec(mode="C"), make_rec(mode="C")
    l1, l2 = new_id(), new_id()

    async def body(s: MirroredStore) -> None:
        await s.create_queue(a)
        await s.create_queue(b)
        assert await s.set_link(a.recipient_id, l1, (b"fixed", b"user"))
        assert await s.set_link(a.recipient_id, l1, (b"fixed", b"user 2"))  # user data only
        assert not await s.set_link(a.recipient_id, l1, (b"other fixed", b"u"))
        assert not await s.set_link(a.recipient_id, l2, (b"fixed", b"u"))  # link id immutable
        assert not await s.set_link(b.recipient_id, l1, (b"f", b"u"))  # used by a
        got = s.get_by_link(l1)
        assert got is not None and got.link_data == (b"fixed", b"user 2")
        assert await s.set_link(b.recipient_id, l2, (b"f2", b"u2"))
        assert await s.delete_link_data(b.recipient_id)
        assert not await s.delete_link_data(b.recipient_id)
        assert s.get_by_link(l2) is None
        with pytest.raises(QueueNotFoundError):
            await s.set_link(new_id(), l2, (b"f", b"u"))
        with pytest.raises(QueueNotFoundError):
            await s.delete_link_data(new_id())

    with_store(backend, body)

    async def reopened(s: MirroredStore) -> None:
        got = s.get_by_link(l1)
        assert got is not None and got.recipient_id == a.recipient_id
        assert got.link_data == (b"fixed", b"user 2")
        assert s.get_by_link(l2) is None

    with_store(backend, reopened)


def test_delete_queue_deletes_messages(backend: Backend) -> None:
    rec = make_rec(notifier=notifier(), link=(new_id(), (b"f", b"u")))
    other = make_rec()

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        await s.create_queue(other)
        for i in range(3):
            await s.write_message(rec.recipient_id, make_msg(i), 10)
        await s.write_message(other.recipient_id, make_msg(9), 10)
        assert s.stats().messages == 4
        assert await s.delete_queue(rec.recipient_id)
        assert not await s.delete_queue(rec.recipient_id)
        assert s.get_by_recipient(rec.recipient_id) is None
        assert s.get_by_sender(rec.sender_id) is None
        assert rec.notifier is not None and s.get_by_notifier(rec.notifier.notifier_id) is None
        assert rec.link_id is not None and s.get_by_link(rec.link_id) is None
        assert s.peek(rec.recipient_id) is None
        assert s.queue_size(rec.recipient_id) == 0
        assert s.stats().messages == 1
        assert s.stats().queues == 1
        with pytest.raises(QueueNotFoundError):
            await s.write_message(rec.recipient_id, make_msg(), 10)
        assert not await s.delete_head(rec.recipient_id, new_id())

    with_store(backend, body)
    assert list(backend.durable()) == [other.recipient_id]

    async def reopened(s: MirroredStore) -> None:
        assert s.get_by_recipient(rec.recipient_id) is None
        assert s.stats().queues == 1 and s.stats().messages == 1
        assert await s.create_queue(rec)  # ids are free again
        assert s.queue_size(rec.recipient_id) == 0

    with_store(backend, reopened)


# --------------------------------------------------------------------------- messages


def test_fifo_order_and_delete_head(backend: Backend) -> None:
    rec = make_rec()
    msgs = [make_msg(i, ntf=i % 2 == 0) for i in range(5)]

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        rid = rec.recipient_id
        assert s.peek(rid) is None
        assert not await s.delete_head(rid, msgs[0].msg_id)  # empty
        for m in msgs:
            assert await s.write_message(rid, m, 128) is WriteResult.STORED
        assert s.queue_size(rid) == 5
        assert contents(s, rid) == msgs
        assert not await s.delete_head(rid, msgs[1].msg_id)  # not the head
        assert not await s.delete_head(rid, new_id())
        assert s.peek(rid) == msgs[0]
        for i, m in enumerate(msgs):
            assert s.peek(rid) == m
            assert await s.delete_head(rid, m.msg_id)
            assert s.queue_size(rid) == 4 - i
        assert s.peek(rid) is None
        assert not await s.delete_head(new_id(), msgs[0].msg_id)  # no such queue
        with pytest.raises(QueueNotFoundError):
            await s.write_message(new_id(), make_msg(), 128)

    with_store(backend, body)


def test_quota_semantics(backend: Backend) -> None:
    """Server/MsgStore/STM.hs writeMsg with quota = 3."""
    rec = make_rec()
    rid = rec.recipient_id
    m = [make_msg(i) for i in range(10)]

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        for i in range(3):
            assert await s.write_message(rid, m[i], 3) is WriteResult.STORED
        assert await s.write_message(rid, m[3], 3) is WriteResult.QUOTA_EXCEEDED
        assert await s.write_message(rid, m[4], 3) is WriteResult.QUOTA_BLOCKED
        assert await s.write_message(rid, m[5], 3) is WriteResult.QUOTA_BLOCKED
        got = contents(s, rid)
        assert got[:3] == m[:3] and len(got) == 4
        marker = got[3]
        assert marker.is_quota and marker.msg_id == m[3].msg_id and marker.ts == m[3].ts
        assert marker.body == b""
        assert s.queue_size(rid) == 4
        # partly drained: still blocked until empty
        assert await s.delete_head(rid, m[0].msg_id)
        assert await s.write_message(rid, m[6], 3) is WriteResult.QUOTA_BLOCKED

    with_store(backend, body)

    async def reopened(s: MirroredStore) -> None:
        # over-quota state survives a restart
        assert await s.write_message(rid, m[7], 3) is WriteResult.QUOTA_BLOCKED
        for x in (m[1], m[2], m[3]):  # the quota entry is acknowledged like a message
            head = s.peek(rid)
            assert head is not None and head.msg_id == x.msg_id
            assert await s.delete_head(rid, x.msg_id)
        assert s.queue_size(rid) == 0
        assert await s.write_message(rid, m[8], 3) is WriteResult.STORED
        assert contents(s, rid) == [m[8]]

    with_store(backend, reopened)


def test_quota_one_and_concurrent_writers(backend: Backend) -> None:
    rec = make_rec()
    rid = rec.recipient_id

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        results = await asyncio.gather(*(s.write_message(rid, make_msg(i), 1) for i in range(4)))
        assert results == [
            WriteResult.STORED,
            WriteResult.QUOTA_EXCEEDED,
            WriteResult.QUOTA_BLOCKED,
            WriteResult.QUOTA_BLOCKED,
        ]

    with_store(backend, body)


def test_expire_messages(backend: Backend) -> None:
    a, b, c = make_rec(), make_rec(), make_rec()

    async def body(s: MirroredStore) -> None:
        for r in (a, b, c):
            await s.create_queue(r)
        a_msgs = [make_msg(i, ts=t) for i, t in enumerate((100, 200, 300))]
        for x in a_msgs:
            await s.write_message(a.recipient_id, x, 10)
        await s.write_message(b.recipient_id, make_msg(ts=100), 10)
        # c: old messages, then a quota entry, which stops expiry as in the reference
        c_msgs = [make_msg(i, ts=50) for i in range(3)]
        for x in c_msgs:
            await s.write_message(c.recipient_id, x, 2)
        assert await s.expire_messages(250) == 2 + 1 + 2
        assert contents(s, a.recipient_id) == a_msgs[2:]
        assert s.queue_size(b.recipient_id) == 0 and s.peek(b.recipient_id) is None
        left = contents(s, c.recipient_id)
        assert len(left) == 1 and left[0].is_quota
        assert await s.expire_messages(250) == 0
        assert s.stats().messages == 2

    with_store(backend, body)

    async def reopened(s: MirroredStore) -> None:
        assert s.stats().messages == 2
        assert s.queue_size(a.recipient_id) == 1

    with_store(backend, reopened)


def test_expire_unsecured_queues(backend: Backend) -> None:
    old_m = make_rec(mode="M", created_at=100)
    old_m_secured = make_rec(mode="M", created_at=100, sender_key=b"k")
    old_c = make_rec(mode="C", created_at=100)
    old_legacy = make_rec(mode=None, created_at=100)
    new_m = make_rec(mode="M", created_at=1000)

    async def body(s: MirroredStore) -> None:
        for r in (old_m, old_m_secured, old_c, old_legacy, new_m):
            await s.create_queue(r)
        await s.write_message(old_m.recipient_id, make_msg(), 10)
        assert await s.expire_unsecured_queues(500) == 1
        assert s.get_by_recipient(old_m.recipient_id) is None
        assert s.get_by_sender(old_m.sender_id) is None
        assert s.stats().queues == 4 and s.stats().messages == 0
        assert await s.expire_unsecured_queues(500) == 0

    with_store(backend, body)
    assert backend.durable() == {}
    with_store(backend, _assert_queue_count(4))


def _assert_queue_count(n: int) -> Callable[[MirroredStore], Awaitable[None]]:
    async def check(s: MirroredStore) -> None:
        assert s.stats().queues == n

    return check


# --------------------------------------------------------------------------- durability


def test_restart_restores_everything(backend: Backend) -> None:
    rng = random.Random(7)
    recs = [
        make_rec(
            mode=rng.choice(["M", "C", None]),
            sender_key=rng.choice([None, b"sk" + os.urandom(30)]),
            notifier=rng.choice([None, notifier()]),
            link=rng.choice([None, (new_id(), (os.urandom(50), os.urandom(70)))]),
        )
        for _ in range(30)
    ]
    expected: dict[bytes, list[StoredMessage]] = {}

    async def body(s: MirroredStore) -> dict[bytes, QueueRecord | None]:
        for r in recs:
            assert await s.create_queue(r)
        await s.set_status(recs[0].recipient_id, QueueStatus.OFF)
        for i in range(300):
            r = rng.choice(recs)
            m = StoredMessage(new_id(), NOW + i, rng.random() < 0.5, os.urandom(rng.randrange(200)))
            await s.write_message(r.recipient_id, m, 1000)
            expected.setdefault(r.recipient_id, []).append(m)
        for r in recs[:10]:  # acknowledge a few heads
            head = s.peek(r.recipient_id)
            if head is not None:
                assert await s.delete_head(r.recipient_id, head.msg_id)
                expected[r.recipient_id].pop(0)
        assert s.stats().queues == len(recs)
        return {r.recipient_id: s.get_by_recipient(r.recipient_id) for r in recs}

    before = with_store(backend, body)

    async def reopened(s: MirroredStore) -> None:
        assert s.stats().queues == len(before)
        assert {r.recipient_id: s.get_by_recipient(r.recipient_id) for r in recs} == before
        for r in recs:
            assert contents(s, r.recipient_id) == expected.get(r.recipient_id, [])
        st = s.stats()
        assert st.messages == sum(len(v) for v in expected.values())
        assert st.bytes == sum(len(m.body) for v in expected.values() for m in v)
        # new writes after a restart keep FIFO order after the restored ones
        r = recs[1]
        m = make_msg()
        await s.write_message(r.recipient_id, m, 1000)
        assert contents(s, r.recipient_id) == [*expected.get(r.recipient_id, []), m]

    with_store(backend, reopened)


def test_lifecycle_errors(backend: Backend) -> None:
    async def main() -> None:
        s = backend.make()
        with pytest.raises(StoreClosedError):
            await s.create_queue(make_rec())
        await s.close()  # closing an unopened store does nothing
        await s.open()
        with pytest.raises(StoreError):
            await s.open()
        await s.close()
        await s.close()
        with pytest.raises(StoreClosedError):
            await s.write_message(new_id(), make_msg(), 3)

    asyncio.run(main())


# --------------------------------------------------------------------------- group commit


def test_concurrent_writes_are_group_committed(backend: Backend) -> None:
    recs = [make_rec() for _ in range(20)]
    sent: dict[bytes, list[StoredMessage]] = {r.recipient_id: [] for r in recs}

    async def body(s: MirroredStore) -> None:
        for r in recs:
            await s.create_queue(r)
        before = s.stats()
        calls = []
        for i in range(400):
            r = recs[i % len(recs)]
            m = make_msg(i)
            sent[r.recipient_id].append(m)
            calls.append(s.write_message(r.recipient_id, m, 1000))
        results = await asyncio.gather(*calls)
        assert all(x is WriteResult.STORED for x in results)
        after = s.stats()
        commits = after.commits - before.commits
        assert after.committed_ops - before.committed_ops == 400
        assert 1 <= commits < 400
        assert after.max_batch > 1
        for r in recs:
            assert contents(s, r.recipient_id) == sent[r.recipient_id]
        assert after.pending_writes == 0
        buckets = after.commit_latency_buckets
        assert buckets[-1] == (float("inf"), after.commits)
        assert [b for b, _ in buckets[:-1]] == list(COMMIT_LATENCY_BUCKETS)
        assert all(x[1] <= y[1] for x, y in itertools.pairwise(buckets))
        assert after.commit_seconds_total > 0

    with_store(backend, body)


def test_pending_writes_are_bounded(backend: Backend) -> None:
    rec = make_rec()
    msgs = [make_msg(i) for i in range(100)]

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        results = await asyncio.gather(*(s.write_message(rec.recipient_id, m, 1000) for m in msgs))
        assert all(x is WriteResult.STORED for x in results)
        st = s.stats()
        assert st.pending_high_water <= 4
        assert st.max_batch <= 4
        assert st.commits >= 100 // 4
        assert contents(s, rec.recipient_id) == msgs

    with_store(backend, body, max_pending=4)


def test_one_pending_write_means_one_commit_per_write(backend: Backend) -> None:
    rec = make_rec()

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        await asyncio.gather(
            *(s.write_message(rec.recipient_id, make_msg(i), 100) for i in range(20))
        )
        st = s.stats()
        assert st.max_batch == 1 and st.commits == 21

    with_store(backend, body, max_pending=1)


@pytest.mark.parametrize("seed", range(4))
def test_interleaved_operations_match_a_sequential_model(backend: Backend, seed: int) -> None:
    """Decisions are taken in submission order against committed + pending state, so
    concurrent callers get exactly what a one-at-a-time model predicts."""
    quota = 3
    rng = random.Random(seed)
    recs = [make_rec() for _ in range(3)]
    model: dict[bytes, list[StoredMessage]] = {r.recipient_id: [] for r in recs}
    ops: list[tuple[bytes, StoredMessage | bytes]] = []
    expected: list[object] = []
    for i in range(300):
        rid = rng.choice(recs).recipient_id
        q = model[rid]
        if rng.random() < 0.55:
            m = make_msg(i)
            ops.append((rid, m))
            if q and q[-1].is_quota:
                expected.append(WriteResult.QUOTA_BLOCKED)
            elif len(q) >= quota:
                q.append(StoredMessage(m.msg_id, m.ts, False, b"", True))
                expected.append(WriteResult.QUOTA_EXCEEDED)
            else:
                q.append(m)
                expected.append(WriteResult.STORED)
        else:
            mid = q[0].msg_id if q and rng.random() < 0.8 else new_id()
            ops.append((rid, mid))
            ok = bool(q) and q[0].msg_id == mid
            if ok:
                q.pop(0)
            expected.append(ok)

    async def body(s: MirroredStore) -> None:
        for r in recs:
            await s.create_queue(r)
        calls: list[Awaitable[object]] = [
            s.write_message(rid, arg, quota)
            if isinstance(arg, StoredMessage)
            else s.delete_head(rid, arg)
            for rid, arg in ops
        ]
        assert await asyncio.gather(*calls) == expected
        assert s.stats().commits < len(ops)
        for r in recs:
            assert contents(s, r.recipient_id) == model[r.recipient_id]

    async def reopened(s: MirroredStore) -> None:
        for r in recs:
            assert contents(s, r.recipient_id) == model[r.recipient_id]

    with_store(backend, body)
    with_store(backend, reopened)


def test_cancelled_caller_still_commits(backend: Backend) -> None:
    rec = make_rec()
    m = make_msg()

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        task = asyncio.ensure_future(s.write_message(rec.recipient_id, m, 10))
        await asyncio.sleep(0)  # submitted
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await s.write_message(rec.recipient_id, make_msg(), 10)  # a barrier behind it
        assert contents(s, rec.recipient_id)[0] == m

    with_store(backend, body)


# --------------------------------------------------------------------------- failed commits


def has_poison(changes: Sequence[Change]) -> bool:
    return any(isinstance(c, AppendMessage) and c.msg.body == b"poison" for c in changes)


def test_failed_commit_leaves_memory_equal_to_disk(backend: Backend) -> None:
    rec = make_rec()
    rid = rec.recipient_id
    first = make_msg(0)
    poison = StoredMessage(new_id(), NOW, False, b"poison")

    def before_commit(changes: Sequence[Change]) -> None:
        if has_poison(changes):
            raise SimulatedDiskError("disk I/O error (simulated)")

    async def body(s: MirroredStore) -> list[bytes]:
        await s.create_queue(rec)
        assert await s.write_message(rid, first, 100) is WriteResult.STORED
        others = [make_msg(i) for i in range(1, 6)]
        calls = [s.write_message(rid, m, 100) for m in others[:2]]
        calls.append(s.write_message(rid, poison, 100))
        calls.extend(s.write_message(rid, m, 100) for m in others[2:])
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert isinstance(results[2], StoreError)
        assert isinstance(results[2].__cause__, SimulatedDiskError)
        assert s.stats().failed_commits == 1
        assert s.stats().pending_writes == 0
        assert overlay_is_empty(s)
        mem = [m.msg_id for m in contents(s, rid)]
        succeeded = [
            m.msg_id
            for m, r in zip(others[:2] + others[2:], results[:2] + results[3:], strict=True)
            if r is WriteResult.STORED
        ]
        assert mem == [first.msg_id, *succeeded]
        # the store goes on: the intended view was reset to the committed one
        last = make_msg(7)
        assert await s.write_message(rid, last, 100) is WriteResult.STORED
        return [*mem, last.msg_id]

    expected = with_store(backend, body, before_commit=before_commit)
    assert backend.durable() == {rid: expected}


def test_failed_create_releases_its_ids(backend: Backend) -> None:
    rec = make_rec(notifier=notifier())
    full = [True]

    def before_commit(changes: Sequence[Change]) -> None:
        if full[0] and any(isinstance(c, PutQueue) for c in changes):
            raise SimulatedDiskError("database or disk is full (simulated)")

    async def body(s: MirroredStore) -> None:
        with pytest.raises(StoreError, match="disk is full"):
            await s.create_queue(rec)
        assert s.get_by_recipient(rec.recipient_id) is None
        full[0] = False
        assert await s.create_queue(rec)
        assert s.get_by_recipient(rec.recipient_id) == rec

    with_store(backend, body, before_commit=before_commit)
    with_store(backend, _assert_queue_count(1))


def test_close_commits_everything_submitted(backend: Backend) -> None:
    rec = make_rec()
    msgs = [make_msg(i) for i in range(50)]

    async def main() -> None:
        s = backend.make()
        await s.open()
        await s.create_queue(rec)
        tasks = [asyncio.ensure_future(s.write_message(rec.recipient_id, m, 100)) for m in msgs]
        await asyncio.sleep(0)
        await s.close()
        assert all(t.result() is WriteResult.STORED for t in tasks)

    asyncio.run(main())
    assert backend.durable()[rec.recipient_id] == [m.msg_id for m in msgs]


def test_pending_record_changes_are_seen_by_later_callers(backend: Backend) -> None:
    rec = make_rec()
    rid = rec.recipient_id
    n = notifier()
    m = make_msg()

    async def body(s: MirroredStore) -> None:
        results = await asyncio.gather(
            s.create_queue(rec),
            s.secure(rid, b"key-1"),
            s.secure(rid, b"key-2"),
            s.set_status(rid, QueueStatus.OFF),
            s.set_notifier(rid, n),
            s.write_message(rid, m, 10),
            s.delete_head(rid, m.msg_id),
            s.delete_queue(rid),
            s.write_message(rid, make_msg(), 10),
            s.delete_queue(rid),
            s.create_queue(make_rec(sid=rec.sender_id)),  # still reserved: conservative
            return_exceptions=True,
        )
        assert results[0] is True
        assert isinstance(results[1], QueueRecord) and results[1].sender_key == b"key-1"
        assert isinstance(results[2], QueueRecord) and results[2].sender_key == b"key-1"
        assert isinstance(results[3], QueueRecord) and results[3].status is QueueStatus.OFF
        assert results[4:8] == [True, WriteResult.STORED, True, True]
        assert isinstance(results[8], QueueNotFoundError)
        assert results[9:] == [False, False]
        assert s.get_by_recipient(rid) is None and s.stats().queues == 0
        assert overlay_is_empty(s)
        assert await s.create_queue(make_rec(sid=rec.sender_id))  # freed once committed

    with_store(backend, body)
    with_store(backend, _assert_queue_count(1))


def test_waiting_for_room_is_fifo_and_survives_cancellation(backend: Backend) -> None:
    rec = make_rec()
    rid = rec.recipient_id
    msgs = [make_msg(i) for i in range(6)]

    async def body(s: MirroredStore) -> None:
        await s.create_queue(rec)
        tasks = [asyncio.ensure_future(s.write_message(rid, m, 100)) for m in msgs]
        await asyncio.sleep(0)  # the first is submitted, the others wait in line
        assert s.stats().pending_writes == 1 and len(s._waiters) == 5
        tasks[2].cancel()  # cancelled while waiting
        # cancelled just after being given its turn: the turn passes on
        s.set_max_pending(2)
        tasks[1].cancel()
        s.set_max_pending(1)
        done = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(done[1], asyncio.CancelledError)
        assert isinstance(done[2], asyncio.CancelledError)
        assert [r for i, r in enumerate(done) if i not in (1, 2)] == [WriteResult.STORED] * 4
        assert contents(s, rid) == [m for i, m in enumerate(msgs) if i not in (1, 2)]
        assert s._woken == 0 and not s._waiters

    with_store(backend, body, max_pending=1)


def test_close_turns_away_callers_waiting_for_room(backend: Backend) -> None:
    rec = make_rec()
    rid = rec.recipient_id

    async def main() -> None:
        s = backend.make(max_pending=1)
        await s.open()
        await s.create_queue(rec)
        tasks = [asyncio.ensure_future(s.write_message(rid, make_msg(i), 100)) for i in range(4)]
        await asyncio.sleep(0)
        await s.close()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results[0] is WriteResult.STORED
        assert all(isinstance(r, StoreClosedError) for r in results[1:])

    asyncio.run(main())
    with_store(backend, lambda s: _assert_size(s, rid, 1))


async def _assert_size(s: MirroredStore, rid: bytes, n: int) -> None:
    assert s.queue_size(rid) == n
