"""Committed queue records by recipient id, with their sender, notifier and link id indexes.

:class:`RecordIndex` is the record half of the committed view that both memory views of the
store keep: the memory mirror of every single-process backend
(:class:`~hushwire.server.store.mirror.MirroredStore`) and the read view of a cluster node
(:class:`~hushwire.server.store.view.ReplicaView`). It keeps the three indexes in step with
the records; :class:`IndexedReads` answers dispatch's synchronous ``get_by_*`` look-ups from
it (simplexmq ``Server.QueueStore``: ``getQueue`` by recipient, sender, notifier or link id).
"""

from __future__ import annotations

from hushwire.server.store.contract import QueueRecord, QueueStore

__all__ = ["IndexedReads", "RecordIndex"]


class RecordIndex:
    """Queue records by recipient id; ``sender_ids``, ``notifier_ids`` and ``link_ids`` map
    each secondary id to its recipient id. Changed only by :meth:`put`."""

    def __init__(self) -> None:
        self.records: dict[bytes, QueueRecord] = {}
        self.sender_ids: dict[bytes, bytes] = {}
        self.notifier_ids: dict[bytes, bytes] = {}
        self.link_ids: dict[bytes, bytes] = {}

    def put(self, rid: bytes, new: QueueRecord | None) -> None:
        """Replace (``None``: remove) the record of ``rid``. An index entry of the old record
        is removed only while it still leads to ``rid``."""
        old = self.records.get(rid)
        if old is not None:
            for index, ident in (
                (self.sender_ids, old.sender_id),
                (self.notifier_ids, old.notifier.notifier_id if old.notifier else None),
                (self.link_ids, old.link_id),
            ):
                if ident is not None and index.get(ident) == rid:
                    del index[ident]
        if new is None:
            self.records.pop(rid, None)
            return
        self.records[rid] = new
        self.sender_ids[new.sender_id] = rid
        if new.notifier is not None:
            self.notifier_ids[new.notifier.notifier_id] = rid
        if new.link_id is not None:
            self.link_ids[new.link_id] = rid


class IndexedReads(QueueStore):
    """The :class:`~hushwire.server.store.contract.QueueStore` look-ups by id, answered from
    the committed records in ``_committed`` (the base of the mirror and the cluster store)."""

    _committed: RecordIndex

    def get_by_recipient(self, recipient_id: bytes) -> QueueRecord | None:
        return self._committed.records.get(recipient_id)

    # Each look-up reads the dictionaries itself: one call per command on the relay's path.

    def get_by_sender(self, sender_id: bytes) -> QueueRecord | None:
        c = self._committed
        rid = c.sender_ids.get(sender_id)
        return None if rid is None else c.records.get(rid)

    def get_by_notifier(self, notifier_id: bytes) -> QueueRecord | None:
        c = self._committed
        rid = c.notifier_ids.get(notifier_id)
        return None if rid is None else c.records.get(rid)

    def get_by_link(self, link_id: bytes) -> QueueRecord | None:
        c = self._committed
        rid = c.link_ids.get(link_id)
        return None if rid is None else c.records.get(rid)
