"""The cluster store's change stream: its notifications, and what a relay hears from it.

Every transaction of :class:`~hushwire.server.store.cluster.ClusterStore` announces what it
changed with ``pg_notify`` on :data:`CHANNEL`; the payload is one line of six fields,
``KIND NODE TOKEN FINAL RID ARG``:

- ``q``: the queue record ``RID`` changed (nodes read it again; gone means deleted);
- ``a``: entry ``ARG`` (a sequence number; a ``Q`` suffix marks the quota entry) appended
  to the FIFO of ``RID``;
- ``d``: entries ``ARG`` (sequence numbers, comma-separated) deleted from that FIFO;
- ``s``: a client of ``NODE`` subscribed to ``RID``;
- ``n``: a client of ``NODE`` subscribed to the notifications of the notifier id ``RID``
  (NSUB; nodes of an older release ignore the kind);
- ``b``: nothing changed (a barrier: everything committed before it has been seen).

``NODE`` and ``TOKEN`` name the command that wrote it; ``FINAL`` is 1 on its last
notification (the one its caller waits for). The SQL functions of migration 2 in
``hushwire.server.store.postgres`` write the same format. :class:`ClusterEvents` is what the
relay does when the stream changes something it serves (``hushwire.server.cluster``), and
:class:`BatchOp` one SEND or ACK waiting for the group commit (``hw_batch``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from hushwire.server.store.contract import LatencyHistogram, QueueRecord, StoredMessage

__all__ = [
    "CHANNEL",
    "MAX_BATCH",
    "NOTIFY",
    "NOTIFYING",
    "BatchOp",
    "ClusterEvents",
    "OwnSubscriptions",
    "StreamEvent",
    "StreamFigures",
    "batch_columns",
    "payload",
    "report_record_change",
]

CHANNEL: Final = "hushwire"
"""The notification channel of the change stream."""

NOTIFY: Final = "SELECT pg_notify('" + CHANNEL + "', $1)"


MAX_BATCH: Final = 256
"""SENDs and ACKs committed together at most."""

NOTIFYING: Final = frozenset({"stored", "quota_exceeded", "acked"})
"""Outcomes of ``hw_batch`` that announced a change on the stream."""


@dataclass(slots=True)
class BatchOp:
    """A SEND (``w``) or ACK (``a``) waiting for the next batch."""

    kind: str
    rid: bytes
    msg_id: bytes
    msg: StoredMessage | None
    quota: int
    token: int = 0
    outcome: asyncio.Future[str] = field(init=False)


def batch_columns(ops: list[BatchOp], node: str) -> tuple[list[Any], ...]:
    """``hw_batch``'s arrays, one element per operation."""
    empty = StoredMessage(b"", 0, False, b"")
    msgs = [op.msg or empty for op in ops]
    return (
        [op.kind for op in ops],
        [op.rid for op in ops],
        [op.msg_id for op in ops],
        [m.ts for m in msgs],
        [m.flags_notification for m in msgs],
        [m.body for m in msgs],
        [op.quota for op in ops],
        [f"{node} {op.token}" for op in ops],
    )


class ClusterEvents(Protocol):
    """What the relay does when the stream changes something it serves (hushwire.server.cluster)."""

    def appended(self, rid: bytes) -> None:
        """Entries were appended to (or the head removed from) this queue: try delivery."""

    def notification(self, rid: bytes, msg: StoredMessage) -> None:
        """Another node stored a message with the notification flag (NMSG to this node's
        notifier subscriber, if any)."""

    def deleted(self, rid: bytes) -> None:
        """The queue is gone (deleted on some node)."""

    def taken(self, rid: bytes) -> None:
        """Another node's client subscribed to this queue after this node's client."""

    def ntf_taken(self, notifier_id: bytes) -> None:
        """Another node's client subscribed to these notifications (NSUB) after this
        node's client."""

    def ntf_deleted(self, notifier_id: bytes) -> None:
        """The notifier was deleted or replaced (NDEL, DEL, NKEY on some node)."""

    def resynced(self) -> None:
        """The view was reloaded after the stream was lost: retry every delivery."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One notification: ``kind node token final rid_hex arg``."""

    kind: str
    node: str
    token: int
    final: bool
    rid: bytes
    arg: str

    @classmethod
    def parse(cls, payload: str) -> StreamEvent | None:
        parts = payload.split(" ")
        if len(parts) != 6:
            return None
        kind, node, token, final, rid, arg = parts
        try:
            raw = b"" if rid == "-" else bytes.fromhex(rid)
            return cls(kind, node, int(token), final == "1", raw, arg)
        except ValueError:
            return None


def payload(kind: str, tag: str, final: bool, rid: bytes = b"", arg: str = "-") -> str:
    return f"{kind} {tag} {int(final)} {rid.hex() or '-'} {arg}"


def report_record_change(events: ClusterEvents, old: QueueRecord, new: QueueRecord | None) -> None:
    """Tell the relay what a changed queue record ends: the queue (deleted), its notifier
    (deleted or replaced by another)."""
    if new is None:
        events.deleted(old.recipient_id)
    gone, now = old.notifier, new.notifier if new is not None else None
    if gone is not None and (now is None or now.notifier_id != gone.notifier_id):
        events.ntf_deleted(gone.notifier_id)


class OwnSubscriptions:
    """This node's subscription announcements (``s`` SUB, ``n`` NSUB) not yet seen back on
    the stream: another node's announcement ends this node's subscription only if this
    node's own, if any, came before it (of two at once, the one committed last wins)."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, bytes], int] = {}

    def announcing(self, key: tuple[str, bytes]) -> None:
        self._pending[key] = self._pending.get(key, 0) + 1

    def seen(self, key: tuple[str, bytes], own: bool, events: ClusterEvents | None) -> None:
        """An announcement came back (``own``) or arrived from another node."""
        if own:
            left = self._pending.pop(key, 0) - 1
            if left > 0:
                self._pending[key] = left
        elif key not in self._pending and events is not None:
            kind, eid = key
            if kind == "n":
                events.ntf_taken(eid)
            else:
                events.taken(eid)


@dataclass(slots=True)
class StreamFigures:
    """What a node's change stream did (``/metrics``, ``hushwire.server.scrape``)."""

    events: int = 0
    """Notifications applied."""
    resyncs: int = 0
    """Reloads of the view after the stream was lost."""
    notify_roundtrip: LatencyHistogram = field(default_factory=LatencyHistogram)
    """Per command: from its commit to this node applying its own notification (the wait
    for read-your-writes, on top of the commit)."""
    apply_lag: LatencyHistogram = field(default_factory=LatencyHistogram)
    """Per notification: from its arrival at this node to its application to the view
    (queueing behind earlier batches, fetching bodies)."""
