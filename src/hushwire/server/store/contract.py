"""The relay store contract: records, errors, the :class:`QueueStore` interface and its rules.

Mirrors simplexmq ``Simplex.Messaging.Server.QueueStore`` (queue records, id indexes, secure /
notifier / link updates) and ``Simplex.Messaging.Server.MsgStore`` (per-queue message FIFO
with quota and expiry); see docs/protocol/smp.md and docs/architecture.md.

Dispatch (``hushwire.server.dispatch``) sees only :class:`QueueStore`. Every backend
(``memory``, ``sqlite``, a later PostgreSQL one) implements it, and the tests in
``tests/server/test_store_contract.py`` run unchanged against each. The rules below are
backend-neutral and written once, as pure functions every backend calls:

*Quota* (``Server/MsgStore/STM.hs`` ``writeMsg``, :func:`quota_decision`): a write is allowed
while the queue is under its quota. At size >= quota a quota entry (the rejected message's id
and time, empty body) is appended instead, and writing stops until the queue has been drained
empty. "Writing stopped" is derived rather than stored: the queue is non-empty and its last
entry is the quota entry, so it survives a restart with no extra column.

*Expiry* (``Server/MsgStore/Types.hs`` ``deleteExpireMsgs_``, :func:`expired_prefix`): from the
head, ordinary messages older than the cut-off are deleted; it stops at the first newer
message or at a quota entry, as the reference does.

*Acknowledgement* (:func:`head_matches`): only the head of a FIFO is ever deleted, and only by
the id it was delivered with (constant-time compare); at most one message per queue is in
flight, which the relay's subscription state enforces (``hushwire.server.dispatch``).

*Durable changes.* A mutation is persisted as a short list of :data:`Change` values (put a
queue record, delete a queue, append a message, delete messages); a backend turns them into
its own statements. :data:`CommitHook` is the seam through which tests make a commit fail.

*SQL rows.* The SQL backends keep a queue record in the same ``queues`` columns;
:func:`queue_row` and :func:`queue_from_row` map between the two once (each backend stores the
recipient-key list its own way).
"""

from __future__ import annotations

import abc
import enum
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Final, Protocol

from hushwire.errors import HushwireError
from hushwire.limits import MAX_MESSAGE_LENGTH_V6, MSG_ID_SIZE, QUEUE_ID_SIZE

__all__ = [
    "COMMIT_LATENCY_BUCKETS",
    "SELECT_MESSAGES",
    "SELECT_QUEUES",
    "AppendMessage",
    "Change",
    "CommitHook",
    "DeleteMessages",
    "DeleteQueue",
    "LatencyHistogram",
    "NotifierRecord",
    "PutQueue",
    "QueueNotFoundError",
    "QueueRecord",
    "QueueStatus",
    "QueueStore",
    "Row",
    "StoreClosedError",
    "StoreError",
    "StoreStats",
    "StoredMessage",
    "WriteResult",
    "check_message",
    "check_new_queue",
    "check_queue_id",
    "check_recipient_keys",
    "cumulative_buckets",
    "expired_prefix",
    "head_matches",
    "latency_bucket",
    "link_update_allowed",
    "message_row",
    "queue_from_row",
    "queue_row",
    "quota_decision",
    "secured_with",
    "unsecured_expired",
    "without_link",
    "without_notifier",
]

COMMIT_LATENCY_BUCKETS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
"""Upper bounds (seconds) of the commit latency histogram; a final +Inf bucket is implied."""


def latency_bucket(seconds: float) -> int:
    """Index of the histogram bucket (:data:`COMMIT_LATENCY_BUCKETS`, then +Inf) of a commit."""
    i = 0
    while i < len(COMMIT_LATENCY_BUCKETS) and seconds > COMMIT_LATENCY_BUCKETS[i]:
        i += 1
    return i


def cumulative_buckets(counts: Sequence[int]) -> tuple[tuple[float, int], ...]:
    """Per-bucket counts as (upper bound, cumulative count) pairs, the last bound ``inf``."""
    out: list[tuple[float, int]] = []
    total = 0
    for bound, count in zip((*COMMIT_LATENCY_BUCKETS, float("inf")), counts, strict=True):
        total += count
        out.append((bound, total))
    return tuple(out)


@dataclass(slots=True)
class LatencyHistogram:
    """Observed durations in the buckets of :data:`COMMIT_LATENCY_BUCKETS` (a Prometheus
    histogram: per-bucket counts and the sum of what was observed)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(COMMIT_LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[latency_bucket(seconds)] += 1
        self.total += seconds

    def cumulative(self) -> tuple[tuple[float, int], ...]:
        return cumulative_buckets(self.counts)


# --------------------------------------------------------------------------- errors


class StoreError(HushwireError):
    """The store could not do what was asked (commit failed, file unusable)."""


class StoreClosedError(StoreError):
    """The store is not open (never opened, or closed)."""


class QueueNotFoundError(StoreError):
    """No queue with this recipient id (dispatch answers ``AUTH``)."""


# --------------------------------------------------------------------------- records


class QueueStatus(enum.Enum):
    """``ServerEntityStatus`` (Server/QueueStore.hs): Active | Off | Blocked."""

    ACTIVE = "active"
    OFF = "off"
    BLOCKED = "blocked"


class WriteResult(enum.Enum):
    """Outcome of :meth:`QueueStore.write_message`."""

    STORED = "stored"
    """The message was appended; the sender gets ``OK``."""
    QUOTA_EXCEEDED = "quota_exceeded"
    """The queue was full: the quota entry was appended now; the sender gets ``ERR QUOTA``."""
    QUOTA_BLOCKED = "quota_blocked"
    """The queue is already over quota: nothing appended; the sender gets ``ERR QUOTA``."""


@dataclass(frozen=True, slots=True)
class NotifierRecord:
    """``NtfCreds``: the notifier id, its auth key (SPKI DER) and the NMSG DH secret."""

    notifier_id: bytes
    ntf_key: bytes
    rcv_ntf_dh_secret: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class QueueRecord:
    """``QueueRec`` (Server/QueueStore.hs) plus the recipient id and times (seconds)."""

    recipient_id: bytes
    sender_id: bytes
    recipient_keys: tuple[bytes, ...]
    """Recipient auth public keys, SPKI DER, non-empty (RKEY replaces them)."""
    rcv_dh_secret: bytes = field(repr=False)
    sender_key: bytes | None = None
    """Sender auth public key (SPKI DER) once secured by KEY / SKEY / LKEY."""
    queue_mode: str | None = None
    """``"M"`` messaging, ``"C"`` contact, ``None`` for queues created with v6-8."""
    status: QueueStatus = QueueStatus.ACTIVE
    notifier: NotifierRecord | None = None
    link_id: bytes | None = None
    link_data: tuple[bytes, bytes] | None = field(default=None, repr=False)
    """(encrypted fixed data, encrypted user data) of a short link."""
    created_at: int = 0
    updated_at: int = 0

    def __post_init__(self) -> None:
        if not self.recipient_keys:
            raise ValueError("a queue needs at least one recipient key")
        if self.queue_mode not in (None, "M", "C"):
            raise ValueError(f"unknown queue mode {self.queue_mode!r}")
        if (self.link_id is None) != (self.link_data is None):
            raise ValueError("link_id and link_data go together")


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One FIFO entry: a message, or the quota entry (``is_quota``, empty body)."""

    msg_id: bytes
    ts: int
    """Server time of the SEND, seconds."""
    flags_notification: bool
    body: bytes = field(repr=False)
    is_quota: bool = False


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Gauges and commit-latency figures for metrics."""

    queues: int
    messages: int
    """Committed FIFO entries, quota entries included."""
    bytes: int
    """Body bytes of the committed entries."""
    pending_writes: int
    pending_high_water: int
    commits: int
    """Transactions committed (one per batch that had changes to persist)."""
    committed_ops: int
    """Mutations resolved as committed (including no-op barriers)."""
    failed_commits: int
    max_batch: int
    commit_seconds_total: float
    commit_latency_buckets: tuple[tuple[float, int], ...]
    """(upper bound seconds, cumulative count) pairs, last bound ``inf``."""


# --------------------------------------------------------------------------- durable changes


@dataclass(frozen=True, slots=True)
class PutQueue:
    """Insert (``new``) or replace the record of ``rec.recipient_id``."""

    rec: QueueRecord
    new: bool


@dataclass(frozen=True, slots=True)
class DeleteQueue:
    """Delete a queue record and every message of its FIFO."""

    recipient_id: bytes


@dataclass(frozen=True, slots=True)
class AppendMessage:
    """Append ``msg`` to the FIFO of ``recipient_id``; ``seq`` orders all entries of a store."""

    seq: int
    recipient_id: bytes
    msg: StoredMessage


@dataclass(frozen=True, slots=True)
class DeleteMessages:
    """Delete the FIFO entries with these sequence numbers."""

    seqs: tuple[int, ...]


Change = PutQueue | DeleteQueue | AppendMessage | DeleteMessages
"""One durable effect of a mutation; a committed batch is a sequence of these."""

CommitHook = Callable[[Sequence[Change]], None]
"""Called with a batch's changes just before it commits (inside the transaction, on the
backend's commit thread); an exception it raises fails the batch exactly as a failed commit
does. The seam through which tests simulate disk errors."""


# --------------------------------------------------------------------------- rules


def check_queue_id(ident: bytes, what: str) -> None:
    """Refuse an id that is not ``QUEUE_ID_SIZE`` bytes (``ValueError``: a caller bug)."""
    if len(ident) != QUEUE_ID_SIZE:
        raise ValueError(f"{what} must be {QUEUE_ID_SIZE} bytes")


def check_new_queue(rec: QueueRecord) -> None:
    """Refuse a record :meth:`QueueStore.create_queue` may not store (``ValueError``)."""
    check_queue_id(rec.recipient_id, "recipient id")
    check_queue_id(rec.sender_id, "sender id")


def check_recipient_keys(keys: tuple[bytes, ...]) -> None:
    """Refuse an empty key list for :meth:`QueueStore.update_recipient_keys`."""
    if not keys:
        raise ValueError("a queue needs at least one recipient key")


def check_message(msg: StoredMessage, quota: int) -> None:
    """Refuse arguments of :meth:`QueueStore.write_message` that no caller may pass."""
    if len(msg.msg_id) != MSG_ID_SIZE:
        raise ValueError(f"message id must be {MSG_ID_SIZE} bytes")
    if len(msg.body) > MAX_MESSAGE_LENGTH_V6:
        raise ValueError(f"message body over {MAX_MESSAGE_LENGTH_V6} bytes")
    if msg.is_quota:
        raise ValueError("the store appends quota entries itself")
    if quota < 1:
        raise ValueError("quota must be at least 1")


def quota_decision(
    size: int, last: StoredMessage | None, msg: StoredMessage, quota: int
) -> tuple[StoredMessage | None, WriteResult]:
    """What to append to a FIFO of ``size`` entries ending with ``last`` (``writeMsg``).

    Returns the entry to append (``None``: nothing) and the caller's result.
    """
    if size > 0 and last is not None and last.is_quota:
        return None, WriteResult.QUOTA_BLOCKED
    if size >= quota:
        return StoredMessage(msg.msg_id, msg.ts, False, b"", is_quota=True), (
            WriteResult.QUOTA_EXCEEDED
        )
    return msg, WriteResult.STORED


def expired_prefix(entries: Iterable[StoredMessage], older_than_ts: int) -> int:
    """How many entries from the head expire: ordinary messages with ``ts`` before the
    cut-off, stopping at the first newer one or at a quota entry."""
    n = 0
    for m in entries:
        if m.is_quota or m.ts >= older_than_ts:
            break
        n += 1
    return n


def head_matches(head: StoredMessage, msg_id: bytes) -> bool:
    """May ``msg_id`` acknowledge (delete) this head? Constant-time compare."""
    return hmac.compare_digest(head.msg_id, msg_id)


def link_update_allowed(rec: QueueRecord, link_id: bytes, link_data: tuple[bytes, bytes]) -> bool:
    """A queue with a link may only replace the user data of that same link (same id and
    fixed data); whether a new link id is free is the backend's index look-up."""
    if rec.link_id is None:
        return True
    assert rec.link_data is not None
    return hmac.compare_digest(rec.link_id, link_id) and rec.link_data[0] == link_data[0]


def unsecured_expired(rec: QueueRecord, created_before_ts: int) -> bool:
    """A messaging queue never secured and created before the cut-off is removed."""
    return rec.queue_mode == "M" and rec.sender_key is None and rec.created_at < created_before_ts


def without_notifier(rec: QueueRecord) -> QueueRecord | None:
    """The record after NDEL (``None``: it has no notifier, unchanged)."""
    return None if rec.notifier is None else replace(rec, notifier=None)


def without_link(rec: QueueRecord) -> QueueRecord | None:
    """The record after LDEL (``None``: it has no link, unchanged)."""
    return None if rec.link_id is None else replace(rec, link_id=None, link_data=None)


def secured_with(rec: QueueRecord, sender_key: bytes) -> QueueRecord | None:
    """The record after ``secure``: the key is set only if none is (``None``: unchanged)."""
    if rec.sender_key is not None:
        return None
    return replace(rec, sender_key=sender_key)


# --------------------------------------------------------------------------- SQL rows

SELECT_QUEUES: Final = (
    "SELECT recipient_id, sender_id, recipient_keys, rcv_dh_secret, sender_key, queue_mode, "
    "status, notifier_id, ntf_key, rcv_ntf_dh_secret, link_id, link_fixed_data, link_user_data, "
    "created_at, updated_at FROM queues"
)
"""Every ``queues`` row, in the columns :func:`queue_from_row` reads (both SQL backends)."""

SELECT_MESSAGES: Final = (
    "SELECT seq, recipient_id, msg_id, ts, notification, is_quota, body FROM messages ORDER BY seq"
)
"""Every ``messages`` row in ``seq`` order, in the columns
:meth:`~hushwire.server.store.mirror.Snapshot.from_rows` reads (both SQL backends)."""


class Row(Protocol):
    """A result row read by column name (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: str, /) -> Any: ...


def queue_row(rec: QueueRecord, recipient_keys: object) -> tuple[object, ...]:
    """The ``queues`` columns of a record, in the SQL backends' order (recipient id, sender
    id, recipient keys, DH secret, sender key, mode, status, notifier id, notifier key, NMSG
    DH secret, link id, fixed and user link data, created, updated); ``recipient_keys`` as
    the backend stores the list."""
    n = rec.notifier
    fixed, user = rec.link_data if rec.link_data is not None else (None, None)
    return (
        rec.recipient_id,
        rec.sender_id,
        recipient_keys,
        rec.rcv_dh_secret,
        rec.sender_key,
        rec.queue_mode,
        rec.status.value,
        n.notifier_id if n else None,
        n.ntf_key if n else None,
        n.rcv_ntf_dh_secret if n else None,
        rec.link_id,
        fixed,
        user,
        rec.created_at,
        rec.updated_at,
    )


def message_row(change: AppendMessage) -> tuple[object, ...]:
    """The ``messages`` columns of an appended entry, in the SQL backends' order (those of
    :data:`SELECT_MESSAGES`: seq, recipient id, message id, time, notification, quota, body)."""
    m = change.msg
    return (
        change.seq,
        change.recipient_id,
        m.msg_id,
        m.ts,
        m.flags_notification,
        m.is_quota,
        m.body,
    )


def queue_from_row(row: Row, recipient_keys: tuple[bytes, ...]) -> QueueRecord:
    """The record a ``queues`` row holds; ``recipient_keys`` decoded by the backend."""
    notifier = None
    if row["notifier_id"] is not None:
        notifier = NotifierRecord(row["notifier_id"], row["ntf_key"], row["rcv_ntf_dh_secret"])
    link_data = None
    if row["link_id"] is not None:
        link_data = (row["link_fixed_data"], row["link_user_data"])
    return QueueRecord(
        recipient_id=row["recipient_id"],
        sender_id=row["sender_id"],
        recipient_keys=recipient_keys,
        rcv_dh_secret=row["rcv_dh_secret"],
        sender_key=row["sender_key"],
        queue_mode=row["queue_mode"],
        status=QueueStatus(row["status"]),
        notifier=notifier,
        link_id=row["link_id"],
        link_data=link_data,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# --------------------------------------------------------------------------- interface


class QueueStore(abc.ABC):
    """What dispatch needs from a queue + message store.

    Look-ups are synchronous and served from memory; every mutation is durable when its
    awaitable returns. Mutations of a missing queue raise :class:`QueueNotFoundError` unless
    the method says otherwise; an unusable store raises :class:`StoreError`.
    """

    @abc.abstractmethod
    async def open(self) -> None:
        """Load the store; nothing else may be called before."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Commit what was already submitted, then release the store (idempotent)."""

    @abc.abstractmethod
    async def create_queue(self, rec: QueueRecord) -> bool:
        """Add a queue; ``False`` if its recipient, sender, notifier or link id is in use."""

    @abc.abstractmethod
    def get_by_recipient(self, recipient_id: bytes) -> QueueRecord | None:
        """The queue with this recipient id."""

    @abc.abstractmethod
    def get_by_sender(self, sender_id: bytes) -> QueueRecord | None:
        """The queue with this sender id."""

    @abc.abstractmethod
    def get_by_notifier(self, notifier_id: bytes) -> QueueRecord | None:
        """The queue whose notifier has this id."""

    stages_sender_keys: ClassVar[bool] = False
    """:meth:`staged_sender_key` tells (a store that decides in memory before it commits)."""

    def staged_sender_key(self, recipient_id: bytes) -> bytes | None:
        """The sender key a ``secure`` of this queue has decided and not yet committed
        (None: none, or a store that does not tell). A mutation decided after it commits
        with it or later, never before."""
        return None

    @abc.abstractmethod
    def get_by_link(self, link_id: bytes) -> QueueRecord | None:
        """The queue whose short link has this id."""

    @abc.abstractmethod
    async def secure(self, recipient_id: bytes, sender_key: bytes) -> QueueRecord:
        """Set the sender key if none is set; return the record afterwards.

        Secured by this call or before with the same key iff ``result.sender_key ==
        sender_key`` (compare in constant time); a different key leaves the record unchanged
        and dispatch answers ``AUTH``.
        """

    @abc.abstractmethod
    async def set_status(self, recipient_id: bytes, status: QueueStatus) -> QueueRecord:
        """Set the status (OFF, BLOCKED, back to ACTIVE); return the record afterwards."""

    @abc.abstractmethod
    async def delete_queue(self, recipient_id: bytes) -> bool:
        """Delete the queue and all its messages; ``False`` if there was none."""

    @abc.abstractmethod
    async def set_notifier(self, recipient_id: bytes, notifier: NotifierRecord) -> bool:
        """Add or replace the notifier; ``False`` if the notifier id is in use (any queue,
        this one included, as in the reference)."""

    @abc.abstractmethod
    async def delete_notifier(self, recipient_id: bytes) -> NotifierRecord | None:
        """Remove the notifier; return the one removed, if any."""

    @abc.abstractmethod
    async def set_link(
        self, recipient_id: bytes, link_id: bytes, link_data: tuple[bytes, bytes]
    ) -> bool:
        """Add link data, or replace the user data of the same link (same id and fixed data).

        ``False`` if the queue has another link, or the link id is used by another queue.
        """

    @abc.abstractmethod
    async def delete_link_data(self, recipient_id: bytes) -> bool:
        """Remove link data; ``False`` if there was none."""

    @abc.abstractmethod
    async def update_recipient_keys(
        self, recipient_id: bytes, keys: tuple[bytes, ...]
    ) -> QueueRecord:
        """Replace the recipient keys (RKEY); return the record afterwards."""

    @abc.abstractmethod
    async def write_message(
        self, recipient_id: bytes, msg: StoredMessage, quota: int
    ) -> WriteResult:
        """Append ``msg`` under the quota rule (:func:`quota_decision`)."""

    @abc.abstractmethod
    def peek(self, recipient_id: bytes) -> StoredMessage | None:
        """The head of the FIFO (oldest un-acknowledged entry), or ``None``."""

    @abc.abstractmethod
    def messages(self, recipient_id: bytes) -> tuple[StoredMessage, ...]:
        """The whole FIFO, head first, the quota entry included (tests and inspection)."""

    @abc.abstractmethod
    async def delete_head(self, recipient_id: bytes, msg_id: bytes) -> bool:
        """Delete the head iff :func:`head_matches` it; ``False`` otherwise (or no queue)."""

    @abc.abstractmethod
    def queue_size(self, recipient_id: bytes) -> int:
        """Entries in the FIFO, the quota entry included."""

    @abc.abstractmethod
    async def expire_messages(self, older_than_ts: int) -> int:
        """Delete :func:`expired_prefix` of every FIFO; return how many entries went."""

    @abc.abstractmethod
    async def expire_unsecured_queues(self, created_before_ts: int) -> int:
        """Delete the queues :func:`unsecured_expired` selects; return how many."""

    @abc.abstractmethod
    def stats(self) -> StoreStats:
        """Gauges and commit-latency figures for metrics."""

    def stored_bytes(self) -> int:
        """``stats().bytes`` alone: message bytes stored (checked on every SEND, so a store
        that keeps the figure at hand returns it without building the whole stats)."""
        return self.stats().bytes

    # Shared stores (``hushwire.server.store.cluster``): several relay processes on one
    # store. A store of one process keeps these defaults.

    @property
    def shared(self) -> bool:
        """Whether other processes change this store too (reads may lag behind them)."""
        return False

    @property
    def healthy(self) -> bool:
        """Whether the store can serve commands now (``/healthz``; dispatch refuses commands
        with ``ERR INTERNAL`` while it cannot)."""
        return True

    async def catch_up(self) -> None:  # noqa: B027 - a default, not a stub
        """Return once every change other processes committed before the call is visible
        to this one's reads (a look-up that missed may then be repeated)."""

    def announce_subscription(  # noqa: B027
        self, entity_id: bytes, *, notifier: bool = False
    ) -> None:
        """Tell the other processes that a client of this one subscribed to the queue
        ``entity_id`` (its recipient id), or with ``notifier`` to its notifications
        (``entity_id`` is then the notifier id)."""
