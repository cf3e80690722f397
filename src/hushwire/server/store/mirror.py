"""The memory mirror every store backend shares: two views, group commit, backpressure.

A backend is a :class:`Journal` (load the committed state, commit batches of
:data:`~hushwire.server.store.contract.Change`) under :class:`MirroredStore`, which implements
the whole :class:`~hushwire.server.store.contract.QueueStore` contract on top of it. The
queue and message logic of simplexmq ``Simplex.Messaging.Server.QueueStore`` and
``Simplex.Messaging.Server.MsgStore`` therefore lives here once, with the rules of
``hushwire.server.store.contract``; see docs/architecture.md.

Theory of operation
-------------------
*Memory mirror.* Queue records, the sender / notifier / link indexes and every message FIFO are
held in memory, loaded on :meth:`MirroredStore.open`. Reads (``get_by_*``, ``peek``,
``queue_size``, ``stats``) are plain synchronous dictionary look-ups and never touch the
backend.

*Two views.* The mirror keeps two views of the same state:

- the **committed view** is what reads return. It changes only when a transaction holding the
  change has committed, so nothing a reader sees can be lost by a crash;
- the **intended view** is the committed view plus every mutation submitted but not yet
  committed. All decisions (id collisions, ``secure`` with another key, quota, whether the head
  id matches) are taken against it, synchronously on the event loop, in submission order, so
  concurrent callers see each other's effects exactly as if they ran one after another.

For records the intended view is a small overlay (rid -> pending record version, plus reserved
ids); for messages each FIFO holds its committed entries followed by pending appends, with a
count of committed entries and of pending head deletions.

*Group commit.* Each mutation becomes one :class:`PendingOp` (its changes, an in-memory
"apply" step, the caller's future) handed to the journal. The journal commits whatever is
pending as one transaction and reports the batch back on the loop (:meth:`_batch_done`): each
operation's apply step moves its change into the committed view, in order, and then its
caller's future is resolved: **a mutation's awaitable returns only after its transaction has
committed**. While one commit runs, new operations accumulate for the next batch, so the
commit rate adapts to the load with no timer. At most ``max_pending`` operations are in
flight; further callers wait for room, first come first served (backpressure, not an error).
A decision that changes nothing still waits for the pending changes it saw (a barrier).

*Failed commit.* The journal has rolled the batch back, so the backend holds none of it. The
committed view was never touched, so memory is not ahead of the backend. Every operation of
the batch fails with :class:`StoreError`, and so does every operation already queued behind it
(their decisions assumed the failed ones), the intended view is reset to the committed one,
and the journal resumes: a transient failure (disk full) does not need a restart. If the
commit itself reports an error after the backend made it durable, memory may be *behind* the
backend after a restart, never ahead, and the caller saw an error (the SMP sender retries; at
worst a duplicate, never a loss).
"""

from __future__ import annotations

import abc
import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

from hushwire.limits import STORE_MAX_PENDING_WRITES
from hushwire.server.store.contract import (
    COMMIT_LATENCY_BUCKETS,
    AppendMessage,
    Change,
    DeleteMessages,
    DeleteQueue,
    NotifierRecord,
    PutQueue,
    QueueNotFoundError,
    QueueRecord,
    QueueStatus,
    Row,
    StoreClosedError,
    StoredMessage,
    StoreError,
    StoreStats,
    WriteResult,
    check_message,
    check_new_queue,
    check_queue_id,
    check_recipient_keys,
    cumulative_buckets,
    expired_prefix,
    head_matches,
    latency_bucket,
    link_update_allowed,
    queue_from_row,
    quota_decision,
    secured_with,
    unsecured_expired,
    without_link,
    without_notifier,
)
from hushwire.server.store.records import IndexedReads, RecordIndex

__all__ = ["BatchDone", "Journal", "MirroredStore", "PendingOp", "Snapshot"]

_T = TypeVar("_T")
_K = TypeVar("_K")
_Apply = Callable[[], None]


def _unref(counts: dict[_K, int], key: _K) -> bool:
    """Drop one reference to ``key``; True when that was the last (``key`` is then gone)."""
    n = counts.get(key, 0) - 1
    if n > 0:
        counts[key] = n
        return False
    counts.pop(key, None)
    return True


class PendingOp:
    """One submitted mutation: what to persist, what to apply once committed, who waits."""

    __slots__ = ("apply", "changes", "future")

    def __init__(
        self, changes: tuple[Change, ...], apply: _Apply | None, future: asyncio.Future[None]
    ) -> None:
        self.changes = changes
        """Empty for a barrier (a decision that changed nothing)."""
        self.apply = apply
        self.future = future


BatchDone = Callable[[list[PendingOp], float | None, Exception | None], None]
"""Called on the loop for each finished batch: the batch, the commit's seconds (``None`` if
it had no changes or failed) and the error (``None`` if committed)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The committed state a journal loads: records, and FIFO entries in ``seq`` order."""

    records: dict[bytes, QueueRecord]
    messages: list[tuple[int, bytes, StoredMessage]]
    """(seq, recipient id, entry), ascending ``seq``; entries of unknown queues are ignored."""
    next_seq: int

    @classmethod
    def from_rows(
        cls,
        queue_rows: Iterable[Row],
        recipient_keys: Callable[[Any], tuple[bytes, ...]],
        message_rows: Iterable[Sequence[Any]],
    ) -> Snapshot:
        """The snapshot an SQL backend loads: its ``queues`` rows (``SELECT_QUEUES``, the
        stored recipient keys decoded by ``recipient_keys``) and its ``messages`` rows
        (``SELECT_MESSAGES``: seq, recipient id, msg id, ts, notification, quota, body)."""
        records: dict[bytes, QueueRecord] = {}
        for row in queue_rows:
            rec = queue_from_row(row, recipient_keys(row["recipient_keys"]))
            records[rec.recipient_id] = rec
        messages: list[tuple[int, bytes, StoredMessage]] = []
        next_seq = 1
        for seq, rid, msg_id, ts, ntf, is_quota, body in message_rows:
            next_seq = int(seq) + 1
            messages.append(
                (int(seq), rid, StoredMessage(msg_id, ts, bool(ntf), body, bool(is_quota)))
            )
        return cls(records, messages, next_seq)


class Journal(abc.ABC):
    """The durable side of a :class:`MirroredStore`."""

    @abc.abstractmethod
    async def start(self, done: BatchDone) -> Snapshot:
        """Open the backend and load it; later batches are reported to ``done`` on the loop."""

    @abc.abstractmethod
    def submit(self, op: PendingOp) -> None:
        """Queue ``op`` for the next batch (called on the loop)."""

    @abc.abstractmethod
    def take_queued(self) -> list[PendingOp]:
        """After a failed batch (on the loop): remove and return what is queued behind it."""

    @abc.abstractmethod
    def resume(self) -> None:
        """After a failed batch has been handled: go on committing."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Commit everything submitted, then release the backend."""


class _MsgQueue:
    """One FIFO: ``committed`` committed entries, then pending appends; the first ``pops``
    committed-or-pending entries are being deleted (intended view starts after them)."""

    __slots__ = ("bytes", "committed", "entries", "pops")

    def __init__(self) -> None:
        self.entries: deque[tuple[int, StoredMessage]] = deque()
        self.committed = 0
        self.pops = 0
        self.bytes = 0

    def intended_size(self) -> int:
        return len(self.entries) - self.pops


class MirroredStore(IndexedReads):
    """:class:`QueueStore` as a memory mirror over a :class:`Journal` (module docstring).

    ``clock`` returns the current time in seconds (``updated_at`` of changed records);
    ``max_pending`` caps mutations in flight (default ``STORE_MAX_PENDING_WRITES``).
    """

    def __init__(self, journal: Journal, *, clock: Callable[[], float], max_pending: int) -> None:
        self._check_max_pending(max_pending)
        self._journal = journal
        self._clock = clock
        self._max_pending = max_pending
        # committed view
        self._committed = RecordIndex()
        self._msgs: dict[bytes, _MsgQueue] = {}
        self._messages = 0
        self._bytes = 0
        # intended overlay
        self._intended: dict[bytes, QueueRecord | None] = {}
        self._intended_refs: dict[bytes, int] = {}
        self._reserved: dict[tuple[str, bytes], int] = {}
        self._dirty_msgs: set[bytes] = set()
        self._next_seq = 1
        # submission
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._woken = 0
        self._pending = 0
        self._open = False
        # stats
        self._pending_high_water = 0
        self._commits = 0
        self._committed_ops = 0
        self._failed_commits = 0
        self._max_batch = 0
        self._commit_seconds = 0.0
        self._buckets = [0] * (len(COMMIT_LATENCY_BUCKETS) + 1)

    @staticmethod
    def _check_max_pending(n: int) -> None:
        if not 1 <= n <= STORE_MAX_PENDING_WRITES:
            raise ValueError(f"max_pending must be within 1..{STORE_MAX_PENDING_WRITES}")

    def set_max_pending(self, max_pending: int) -> None:
        """Change the cap on mutations in flight; callers waiting for room are let in."""
        self._check_max_pending(max_pending)
        self._max_pending = max_pending
        if self._open:
            self._wake()

    # ----------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        if self._started:
            raise StoreError("store already opened")
        self._started = True
        self._loop = asyncio.get_running_loop()
        snap = await self._journal.start(self._batch_done)
        for rid, rec in snap.records.items():
            self._committed.put(rid, rec)
        msgs: dict[bytes, _MsgQueue] = {}
        for seq, rid, m in snap.messages:
            if rid not in self._committed.records:
                continue
            mq = msgs.get(rid)
            if mq is None:
                mq = msgs[rid] = _MsgQueue()
            mq.entries.append((seq, m))
            mq.committed += 1
            mq.bytes += len(m.body)
        self._msgs = msgs
        self._messages = sum(mq.committed for mq in msgs.values())
        self._bytes = sum(mq.bytes for mq in msgs.values())
        self._next_seq = snap.next_seq
        self._open = True

    async def close(self) -> None:
        """Commit everything already submitted, then release the backend."""
        if not self._open:
            return
        self._open = False
        for fut in self._waiters:  # callers waiting for room now see the store closed
            if not fut.done():
                fut.set_result(None)
                self._woken += 1
        self._waiters.clear()
        await self._journal.stop()

    # ----------------------------------------------------------------- loop side of commits

    def _batch_done(
        self, batch: list[PendingOp], seconds: float | None, error: Exception | None
    ) -> None:
        self._pending -= len(batch)
        if error is None:
            if seconds is not None:
                self._commits += 1
                self._commit_seconds += seconds
                self._buckets[latency_bucket(seconds)] += 1
            self._committed_ops += len(batch)
            self._max_batch = max(self._max_batch, len(batch))
            for op in batch:
                if op.apply is not None:
                    op.apply()
                if not op.future.done():
                    op.future.set_result(None)
            if self._pending == 0:
                self._dirty_msgs.clear()
        else:
            self._failed_commits += 1
            behind = self._journal.take_queued()
            self._pending -= len(behind)
            self._reset_intended()
            for op in [*batch, *behind]:
                if not op.future.done():
                    exc = StoreError(f"store commit failed: {error}")
                    exc.__cause__ = error
                    op.future.set_exception(exc)
            self._journal.resume()
        self._wake()

    def _reset_intended(self) -> None:
        self._intended.clear()
        self._intended_refs.clear()
        self._reserved.clear()
        for rid in self._dirty_msgs:
            mq = self._msgs.get(rid)
            if mq is None:
                continue
            while len(mq.entries) > mq.committed:
                mq.entries.pop()
            mq.pops = 0
            if not mq.entries:
                del self._msgs[rid]
        self._dirty_msgs.clear()

    # ----------------------------------------------------------------- submission

    async def _wait_room(self) -> None:
        """Return when one more operation may be submitted; waiters are served in order.

        The caller must decide and submit synchronously after this returns. A woken waiter
        that finds the room taken goes back to the front of the line.
        """
        if not self._open:
            raise StoreClosedError("the store is not open")
        if self._pending < self._max_pending and not self._waiters and not self._woken:
            return
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(fut)
        while True:
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._woken -= 1
                    self._loop.call_soon(self._wake)  # pass the turn on
                raise
            self._woken -= 1
            if not self._open:
                raise StoreClosedError("the store is not open")
            if self._pending < self._max_pending:
                # Runs after this caller's synchronous submission: wakes the next one if
                # there is still room (or if this caller did not need its turn after all).
                self._loop.call_soon(self._wake)
                return
            fut = self._loop.create_future()
            self._waiters.appendleft(fut)

    def _wake(self) -> None:
        free = self._max_pending - self._pending - self._woken
        while free > 0 and self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                self._woken += 1
                free -= 1

    async def _submit(self, changes: tuple[Change, ...], apply: _Apply | None, result: _T) -> _T:
        """Queue one operation (call with room, right after the synchronous decision)."""
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pending += 1
        self._pending_high_water = max(self._pending_high_water, self._pending)
        self._journal.submit(PendingOp(changes, apply, fut))
        await fut
        return result

    async def _settled(self, result: _T) -> _T:
        """Return a decision that changed nothing, once the changes it saw have committed."""
        if self._pending == 0:
            return result
        return await self._submit((), None, result)

    def _now(self) -> int:
        return int(self._clock())

    # ----------------------------------------------------------------- record bookkeeping

    stages_sender_keys: ClassVar[bool] = True

    def staged_sender_key(self, recipient_id: bytes) -> bytes | None:
        rec = self._intended.get(recipient_id)
        return None if rec is None else rec.sender_key

    def _intended_record(self, rid: bytes) -> QueueRecord | None:
        if rid in self._intended:
            return self._intended[rid]
        return self._committed.records.get(rid)

    @staticmethod
    def _ids(rec: QueueRecord) -> list[tuple[str, bytes]]:
        ids = [("r", rec.recipient_id), ("s", rec.sender_id)]
        if rec.notifier is not None:
            ids.append(("n", rec.notifier.notifier_id))
        if rec.link_id is not None:
            ids.append(("l", rec.link_id))
        return ids

    def _id_in_use(self, kind: str, ident: bytes) -> bool:
        if (kind, ident) in self._reserved:
            return True
        if kind == "r":
            return ident in self._committed.records
        c = self._committed
        index = {"s": c.sender_ids, "n": c.notifier_ids, "l": c.link_ids}[kind]
        return ident in index

    def _stage_record(self, rid: bytes, new: QueueRecord | None) -> tuple[Change, _Apply]:
        """Put a record change into the intended view; return its change and apply step."""
        old = self._intended_record(rid)
        reserved = self._ids(new) if new is not None else []
        for key in reserved:
            self._reserved[key] = self._reserved.get(key, 0) + 1
        self._intended[rid] = new
        self._intended_refs[rid] = self._intended_refs.get(rid, 0) + 1
        change: Change = DeleteQueue(rid) if new is None else PutQueue(new, new=old is None)

        def apply() -> None:
            self._apply_record(rid, new)
            for key in reserved:
                _unref(self._reserved, key)
            if _unref(self._intended_refs, rid):
                self._intended.pop(rid, None)

        return change, apply

    def _apply_record(self, rid: bytes, new: QueueRecord | None) -> None:
        self._committed.put(rid, new)
        if new is None:
            mq = self._msgs.pop(rid, None)
            if mq is not None:
                self._messages -= mq.committed
                self._bytes -= mq.bytes

    async def _update(
        self, rid: bytes, change: Callable[[QueueRecord], QueueRecord | None]
    ) -> QueueRecord:
        """Apply ``change`` to the intended record (``None`` = no change) and commit it."""
        await self._wait_room()
        rec = self._intended_record(rid)
        if rec is None:
            raise QueueNotFoundError("no such queue")
        new = change(rec)
        if new is None:
            return await self._settled(rec)
        new = replace(new, updated_at=self._now())
        staged, apply = self._stage_record(rid, new)
        return await self._submit((staged,), apply, new)

    # ----------------------------------------------------------------- queue records

    async def create_queue(self, rec: QueueRecord) -> bool:
        check_new_queue(rec)
        await self._wait_room()
        if any(self._id_in_use(kind, ident) for kind, ident in self._ids(rec)):
            return await self._settled(False)
        staged, apply = self._stage_record(rec.recipient_id, rec)
        return await self._submit((staged,), apply, True)

    async def secure(self, recipient_id: bytes, sender_key: bytes) -> QueueRecord:
        return await self._update(recipient_id, lambda rec: secured_with(rec, sender_key))

    async def set_status(self, recipient_id: bytes, status: QueueStatus) -> QueueRecord:
        def change(rec: QueueRecord) -> QueueRecord | None:
            return None if rec.status is status else replace(rec, status=status)

        return await self._update(recipient_id, change)

    async def update_recipient_keys(
        self, recipient_id: bytes, keys: tuple[bytes, ...]
    ) -> QueueRecord:
        check_recipient_keys(keys)
        return await self._update(recipient_id, lambda rec: replace(rec, recipient_keys=keys))

    async def delete_queue(self, recipient_id: bytes) -> bool:
        await self._wait_room()
        if self._intended_record(recipient_id) is None:
            return await self._settled(False)
        staged, apply = self._stage_record(recipient_id, None)
        return await self._submit((staged,), apply, True)

    async def set_notifier(self, recipient_id: bytes, notifier: NotifierRecord) -> bool:
        check_queue_id(notifier.notifier_id, "notifier id")
        await self._wait_room()
        rec = self._intended_record(recipient_id)
        if rec is None:
            raise QueueNotFoundError("no such queue")
        if self._id_in_use("n", notifier.notifier_id):
            return await self._settled(False)
        new = replace(rec, notifier=notifier, updated_at=self._now())
        staged, apply = self._stage_record(recipient_id, new)
        return await self._submit((staged,), apply, True)

    async def delete_notifier(self, recipient_id: bytes) -> NotifierRecord | None:
        old: list[NotifierRecord | None] = [None]

        def change(rec: QueueRecord) -> QueueRecord | None:
            old[0] = rec.notifier
            return without_notifier(rec)

        await self._update(recipient_id, change)
        return old[0]

    async def set_link(
        self, recipient_id: bytes, link_id: bytes, link_data: tuple[bytes, bytes]
    ) -> bool:
        check_queue_id(link_id, "link id")
        await self._wait_room()
        rec = self._intended_record(recipient_id)
        if rec is None:
            raise QueueNotFoundError("no such queue")
        if not link_update_allowed(rec, link_id, link_data):
            return await self._settled(False)
        if rec.link_id is None and self._id_in_use("l", link_id):
            return await self._settled(False)
        new = replace(rec, link_id=link_id, link_data=link_data, updated_at=self._now())
        staged, apply = self._stage_record(recipient_id, new)
        return await self._submit((staged,), apply, True)

    async def delete_link_data(self, recipient_id: bytes) -> bool:
        had = [False]

        def change(rec: QueueRecord) -> QueueRecord | None:
            had[0] = rec.link_id is not None
            return without_link(rec)

        await self._update(recipient_id, change)
        return had[0]

    async def expire_unsecured_queues(self, created_before_ts: int) -> int:
        await self._wait_room()
        victims = [
            rid
            for rid in self._committed.records
            if (rec := self._intended_record(rid)) is not None
            and unsecured_expired(rec, created_before_ts)
        ]
        if not victims:
            return await self._settled(0)
        steps = [self._stage_record(rid, None) for rid in victims]

        def apply() -> None:
            for _, a in steps:
                a()

        return await self._submit(tuple(c for c, _ in steps), apply, len(victims))

    # ----------------------------------------------------------------- messages

    async def write_message(
        self, recipient_id: bytes, msg: StoredMessage, quota: int
    ) -> WriteResult:
        check_message(msg, quota)
        await self._wait_room()
        if self._intended_record(recipient_id) is None:
            raise QueueNotFoundError("no such queue")
        mq = self._msgs.get(recipient_id)
        size = mq.intended_size() if mq is not None else 0
        last = mq.entries[-1][1] if mq is not None and size > 0 else None
        entry, result = quota_decision(size, last, msg, quota)
        if entry is None:
            return await self._settled(result)
        if mq is None:
            mq = self._msgs[recipient_id] = _MsgQueue()
        seq = self._next_seq
        self._next_seq += 1
        mq.entries.append((seq, entry))
        self._dirty_msgs.add(recipient_id)
        rid = recipient_id
        body_len = len(entry.body)

        def apply() -> None:
            q = self._msgs.get(rid)
            if q is not None:
                q.committed += 1
                q.bytes += body_len
                self._messages += 1
                self._bytes += body_len

        return await self._submit((AppendMessage(seq, rid, entry),), apply, result)

    def peek(self, recipient_id: bytes) -> StoredMessage | None:
        mq = self._msgs.get(recipient_id)
        if mq is None or mq.committed == 0:
            return None
        return mq.entries[0][1]

    def messages(self, recipient_id: bytes) -> tuple[StoredMessage, ...]:
        mq = self._msgs.get(recipient_id)
        if mq is None:
            return ()
        return tuple(m for _, m in list(mq.entries)[: mq.committed])

    def queue_size(self, recipient_id: bytes) -> int:
        mq = self._msgs.get(recipient_id)
        return 0 if mq is None else mq.committed

    def _stage_pops(self, rid: bytes, mq: _MsgQueue, n: int) -> tuple[list[int], _Apply]:
        seqs = [mq.entries[mq.pops + i][0] for i in range(n)]
        mq.pops += n
        self._dirty_msgs.add(rid)

        def apply() -> None:
            q = self._msgs.get(rid)
            if q is None:
                return
            for _ in range(n):
                _, m = q.entries.popleft()
                q.committed -= 1
                q.bytes -= len(m.body)
                self._messages -= 1
                self._bytes -= len(m.body)
            q.pops -= n
            if not q.entries:
                del self._msgs[rid]

        return seqs, apply

    async def delete_head(self, recipient_id: bytes, msg_id: bytes) -> bool:
        await self._wait_room()
        mq = self._msgs.get(recipient_id)
        if self._intended_record(recipient_id) is None or mq is None or mq.intended_size() == 0:
            return await self._settled(False)
        if not head_matches(mq.entries[mq.pops][1], msg_id):
            return await self._settled(False)
        seqs, apply = self._stage_pops(recipient_id, mq, 1)
        return await self._submit((DeleteMessages(tuple(seqs)),), apply, True)

    async def expire_messages(self, older_than_ts: int) -> int:
        await self._wait_room()
        all_seqs: list[int] = []
        applies: list[_Apply] = []
        for rid, mq in self._msgs.items():
            if self._intended_record(rid) is None:
                continue
            pending = (mq.entries[i][1] for i in range(mq.pops, len(mq.entries)))
            n = expired_prefix(pending, older_than_ts)
            if n:
                seqs, apply = self._stage_pops(rid, mq, n)
                all_seqs.extend(seqs)
                applies.append(apply)
        if not all_seqs:
            return await self._settled(0)

        def apply_all() -> None:
            for a in applies:
                a()

        return await self._submit((DeleteMessages(tuple(all_seqs)),), apply_all, len(all_seqs))

    # ----------------------------------------------------------------- stats

    def stored_bytes(self) -> int:
        return self._bytes

    def stats(self) -> StoreStats:
        return StoreStats(
            queues=len(self._committed.records),
            messages=self._messages,
            bytes=self._bytes,
            pending_writes=self._pending,
            pending_high_water=self._pending_high_water,
            commits=self._commits,
            committed_ops=self._committed_ops,
            failed_commits=self._failed_commits,
            max_batch=self._max_batch,
            commit_seconds_total=self._commit_seconds,
            commit_latency_buckets=cumulative_buckets(self._buckets),
        )
