"""The in-memory store backend: no disk, for tests, ``hushwire.testing`` and as a reference.

:class:`MemoryStore` is the memory mirror of ``hushwire.server.store.mirror`` over a journal
whose "disk" is a :class:`MemoryBacking`: plain dictionaries that receive each committed batch
of changes. Nothing survives the process, but a backing outlives the store that wrote it, so
closing a store and opening another on the same backing is a restart: the contract tests check
that the changes alone rebuild the state, as they would for SQLite or PostgreSQL (simplexmq's
``Server.QueueStore.STM`` and ``Server.MsgStore.STM`` without a store log; see
docs/architecture.md).

Batches commit on the event loop, after the submitting callers yield (``call_soon``), so
concurrent mutations still share one commit and every rule of the mirror (decisions against
the intended view, awaitables returning after the commit, failed batches) behaves as with a
real backend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

from hushwire.limits import STORE_MAX_PENDING_WRITES
from hushwire.server.store.contract import (
    AppendMessage,
    Change,
    CommitHook,
    DeleteMessages,
    DeleteQueue,
    PutQueue,
    QueueRecord,
    StoredMessage,
    StoreError,
)
from hushwire.server.store.mirror import BatchDone, Journal, MirroredStore, PendingOp, Snapshot

__all__ = ["MemoryBacking", "MemoryStore"]


class MemoryBacking:
    """What a :class:`MemoryStore` has committed: queue records and FIFO entries by ``seq``."""

    def __init__(self) -> None:
        self.queues: dict[bytes, QueueRecord] = {}
        self.messages: dict[int, tuple[bytes, StoredMessage]] = {}
        self.in_use = False
        """A store has it open (a second one is refused, like a second relay on one file)."""

    def snapshot(self) -> Snapshot:
        entries = [(seq, rid, m) for seq, (rid, m) in sorted(self.messages.items())]
        next_seq = entries[-1][0] + 1 if entries else 1
        return Snapshot(dict(self.queues), entries, next_seq)

    def message_ids(self) -> dict[bytes, list[bytes]]:
        """Committed message ids per queue, in FIFO order (what a reopened store will see)."""
        out: dict[bytes, list[bytes]] = {}
        for _, (rid, m) in sorted(self.messages.items()):
            out.setdefault(rid, []).append(m.msg_id)
        return out

    def apply(self, changes: list[Change]) -> None:
        """Apply one committed batch (the mirror decided it, so it cannot conflict)."""
        for c in changes:
            if isinstance(c, PutQueue):
                self.queues[c.rec.recipient_id] = c.rec
            elif isinstance(c, DeleteQueue):
                self.queues.pop(c.recipient_id, None)
                for seq in [s for s, (rid, _) in self.messages.items() if rid == c.recipient_id]:
                    del self.messages[seq]
            elif isinstance(c, AppendMessage):
                self.messages[c.seq] = (c.recipient_id, c.msg)
            else:
                assert isinstance(c, DeleteMessages)
                for seq in c.seqs:
                    self.messages.pop(seq, None)


_IN_USE: Final = "the memory backing is in use by another store (another relay?)"


class _MemoryJournal(Journal):
    def __init__(self, backing: MemoryBacking, before_commit: CommitHook | None) -> None:
        self._backing = backing
        self._before_commit = before_commit
        self._queued: list[PendingOp] = []
        self._done: BatchDone | None = None
        self._scheduled = False
        self._open = False

    async def start(self, done: BatchDone) -> Snapshot:
        if self._backing.in_use:
            raise StoreError(_IN_USE)
        self._backing.in_use = True
        self._open = True
        self._done = done
        return self._backing.snapshot()

    def submit(self, op: PendingOp) -> None:
        self._queued.append(op)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._queued = self._queued, []
        if not batch:
            return
        assert self._done is not None
        changes = [c for op in batch for c in op.changes]
        if not changes:
            self._done(batch, None, None)
            return
        start = time.perf_counter()
        try:
            if self._before_commit is not None:
                self._before_commit(changes)
        except Exception as e:
            self._done(batch, None, e)
            return
        self._backing.apply(changes)
        self._done(batch, time.perf_counter() - start, None)

    def take_queued(self) -> list[PendingOp]:
        taken, self._queued = self._queued, []
        return taken

    def resume(self) -> None:
        """Nothing to do: a failed batch stops nothing here."""

    async def stop(self) -> None:
        if not self._open:
            return
        self._flush()
        self._open = False
        self._backing.in_use = False
        # Let the callers of the batch just committed resume before close() returns, as
        # they do while a real backend's thread is joined.
        await asyncio.sleep(0)


class MemoryStore(MirroredStore):
    """:class:`QueueStore` with no disk; ``backing`` (default: a new one) is its "disk".

    ``clock``, ``max_pending`` and ``before_commit`` as for
    :class:`~hushwire.server.store.sqlite.SQLiteStore`.
    """

    def __init__(
        self,
        backing: MemoryBacking | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_pending: int = STORE_MAX_PENDING_WRITES,
        before_commit: CommitHook | None = None,
    ) -> None:
        self.backing = backing if backing is not None else MemoryBacking()
        super().__init__(
            _MemoryJournal(self.backing, before_commit), clock=clock, max_pending=max_pending
        )
