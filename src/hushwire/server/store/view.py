"""The read view of a cluster node: queue records, their id indexes and message FIFOs.

:class:`ReplicaView` is what :class:`~hushwire.server.store.cluster.ClusterStore` answers
dispatch's synchronous reads from (``get_by_*``, ``peek``, ``queue_size``). It holds committed
state only and is changed by the change stream, in commit order; every change is idempotent
(FIFO entries are keyed by their sequence number, a record is replaced whole), so replaying
changes a fresh snapshot already holds is harmless. The same look-ups as the memory mirror
of ``hushwire.server.store.mirror`` (simplexmq ``Server.QueueStore``), without its pending
view: a cluster node decides nothing in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from hushwire.server.store.contract import (
    SELECT_QUEUES,
    QueueRecord,
    StoredMessage,
    queue_from_row,
)
from hushwire.server.store.records import RecordIndex

__all__ = ["ReplicaView", "fetch_changed", "message_from_row", "record_from_row"]


def record_from_row(row: Any) -> QueueRecord:
    """A ``queues`` row of PostgreSQL (recipient keys as ``bytea[]``)."""
    return queue_from_row(row, tuple(row["recipient_keys"]))


def message_from_row(row: Any) -> StoredMessage:
    """A ``messages`` row (msg_id, ts, notification, is_quota, body)."""
    return StoredMessage(
        row["msg_id"], row["ts"], bool(row["notification"]), row["body"], bool(row["is_quota"])
    )


async def fetch_changed(
    conn: Any, seqs: list[int], rids: list[bytes]
) -> tuple[dict[int, StoredMessage], dict[bytes, QueueRecord]]:
    """Entries by sequence number and records by recipient id, as PostgreSQL holds them now
    (one missing was deleted by a later commit, whose notification follows)."""
    bodies: dict[int, StoredMessage] = {}
    rows: dict[bytes, QueueRecord] = {}
    if seqs:
        for r in await conn.fetch(
            "SELECT seq, msg_id, ts, notification, is_quota, body FROM messages "
            "WHERE seq = ANY($1::bigint[])",
            seqs,
        ):
            bodies[int(r["seq"])] = message_from_row(r)
    if rids:
        for r in await conn.fetch(SELECT_QUEUES + " WHERE recipient_id = ANY($1::bytea[])", rids):
            rows[r["recipient_id"]] = record_from_row(r)
    return bodies, rows


class ReplicaView(RecordIndex):
    """Committed queue records and FIFOs, changed only by :meth:`put`, :meth:`append`,
    :meth:`delete` and :meth:`load`."""

    def __init__(self) -> None:
        super().__init__()
        self._fifos: dict[bytes, OrderedDict[int, StoredMessage]] = {}
        self.messages = 0
        self.bytes = 0

    def load(self, queue_rows: Iterable[Any], msg_rows: Iterable[Any]) -> None:
        """Replace everything by a snapshot (rows of ``SELECT_QUEUES``, ``SELECT_MESSAGES``)."""
        self.__init__()  # type: ignore[misc]
        for r in queue_rows:
            self.put(r["recipient_id"], record_from_row(r))
        for r in msg_rows:
            self.append(r["recipient_id"], int(r["seq"]), message_from_row(r))

    def put(self, rid: bytes, new: QueueRecord | None) -> None:
        """Replace (``None``: delete, with its FIFO) the record of ``rid``."""
        super().put(rid, new)
        if new is None:
            fifo = self._fifos.pop(rid, None)
            if fifo is not None:
                self.messages -= len(fifo)
                self.bytes -= sum(len(m.body) for m in fifo.values())

    def append(self, rid: bytes, seq: int, m: StoredMessage) -> bool:
        """Add entry ``seq`` to the FIFO of a known queue; False if unknown or already there."""
        if rid not in self.records:
            return False
        fifo = self._fifos.setdefault(rid, OrderedDict())
        if seq in fifo:
            return False
        fifo[seq] = m
        self.messages += 1
        self.bytes += len(m.body)
        return True

    def delete(self, rid: bytes, seqs: Iterable[int]) -> bool:
        """Remove these entries; False if none was there."""
        fifo = self._fifos.get(rid)
        if fifo is None:
            return False
        changed = False
        for s in seqs:
            m = fifo.pop(s, None)
            if m is not None:
                changed = True
                self.messages -= 1
                self.bytes -= len(m.body)
        if not fifo:
            del self._fifos[rid]
        return changed

    def fifo(self, rid: bytes) -> tuple[StoredMessage, ...]:
        f = self._fifos.get(rid)
        return () if f is None else tuple(f.values())

    def head(self, rid: bytes) -> StoredMessage | None:
        f = self._fifos.get(rid)
        return next(iter(f.values())) if f else None

    def size(self, rid: bytes) -> int:
        f = self._fifos.get(rid)
        return 0 if f is None else len(f)
