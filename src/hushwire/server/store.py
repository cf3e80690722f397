"""The relay's durable queue and message store: the only relay code that touches disk.

Mirrors simplexmq ``Server/QueueStore`` (queue records, id indexes, secure / notifier / link
updates), ``Server/MsgStore`` (per-queue message FIFO with quota and expiry) and the defaults
of ``Server/Env/STM.hs``; smp-relay.md sections 5.2, 5.3 and 6.

:class:`QueueStore` is the interface dispatch uses; :class:`SQLiteStore` is the embedded
implementation (stdlib ``sqlite3``). A later Redis or PostgreSQL backend implements the same
interface without touching dispatch.

Theory of operation (SQLiteStore)
---------------------------------
*Memory mirror.* Queue records, the sender / notifier / link indexes and every message FIFO are
held in memory, loaded on :meth:`open`. Reads (``get_by_*``, ``peek``, ``queue_size``,
``stats``) are plain synchronous dictionary look-ups and never touch disk.

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

*Group commit.* Each mutation becomes one operation (SQL to run, an in-memory "apply" step,
the caller's future) put on the queue of a single writer thread. The writer blocks for the
first operation, then takes everything else pending, runs it all in one ``BEGIN IMMEDIATE`` /
``COMMIT`` and hands the batch back with one ``loop.call_soon_threadsafe``. On the loop each
operation's apply step moves its change into the committed view, in order, and then its
caller's future is resolved: **a mutation's awaitable returns only after its transaction has
committed**. While one commit's fsync runs, new operations accumulate for the next batch, so
the commit rate adapts to the load with no timer. At most ``STORE_MAX_PENDING_WRITES``
operations are in flight; further callers wait for room (backpressure, not an error).

*Failed commit.* The transaction is rolled back, so disk holds none of the batch. The committed
view was never touched, so memory is not ahead of disk. Every operation of the batch fails
with :class:`StoreError`, and so does every operation already queued behind it (their
decisions assumed the failed ones), the intended view is reset to the committed one, and the
writer resumes: a transient failure (disk full) does not need a restart. If COMMIT itself
reports an I/O error after SQLite wrote the WAL, the change may still be on disk after a
restart: memory may then be *behind* disk, never ahead, and the caller saw an error (the SMP
sender retries; at worst a duplicate, never a loss).

*Durability.* ``journal_mode=WAL`` with ``synchronous=FULL``: SQLite fsyncs the WAL on every
commit, so a committed transaction survives not only ``kill -9`` of the process (for which
``NORMAL`` would suffice, the WAL pages being in the OS page cache) but also an OS crash or
power loss (``NORMAL`` in WAL mode may lose the last commits there). Group commit pays one
fsync per batch, not per write, which makes ``FULL`` affordable. ``locking_mode=EXCLUSIVE``
keeps a second relay process from opening the same file while this one runs (the memory mirror
assumes it is the only writer).

*Quota* (``Server/MsgStore/STM.hs`` ``writeMsg``): a write is allowed while the queue can be
written or is empty. At size >= quota a quota entry (the rejected message's id and time) is
appended instead and writing stops until the queue has been drained empty. "Writing stopped"
is derived rather than stored: the queue is non-empty and its last entry is the quota entry,
so it survives a restart with no extra column.

*Expiry* (``Server/MsgStore/Types.hs`` ``deleteExpireMsgs_``): from the head, ordinary messages
older than the cut-off are deleted; it stops at the first newer message or at a quota entry,
as the reference does.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import hmac
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future as ThreadFuture
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, TypeVar

from hushwire.errors import HushwireError
from hushwire.limits import (
    MAX_MESSAGE_LENGTH_V6,
    MSG_ID_SIZE,
    QUEUE_ID_SIZE,
    STORE_MAX_PENDING_WRITES,
)

__all__ = [
    "COMMIT_LATENCY_BUCKETS",
    "SCHEMA_VERSION",
    "NotifierRecord",
    "QueueNotFoundError",
    "QueueRecord",
    "QueueStatus",
    "QueueStore",
    "SQLiteStore",
    "StoreClosedError",
    "StoreError",
    "StoreStats",
    "StoredMessage",
    "WriteResult",
]

SCHEMA_VERSION: Final = 1
"""Version of the SQLite schema this code writes; kept in the ``meta`` table."""

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

_T = TypeVar("_T")


# --------------------------------------------------------------------------- errors


class StoreError(HushwireError):
    """The store could not do what was asked (commit failed, file unusable)."""


class StoreClosedError(StoreError):
    """The store is not open (never opened, or closed)."""


class QueueNotFoundError(StoreError):
    """No queue with this recipient id (dispatch answers ``AUTH``)."""


# --------------------------------------------------------------------------- data types


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
    """Transactions committed (one per batch that had SQL to run)."""
    committed_ops: int
    """Mutations resolved as committed (including no-op barriers)."""
    failed_commits: int
    max_batch: int
    commit_seconds_total: float
    commit_latency_buckets: tuple[tuple[float, int], ...]
    """(upper bound seconds, cumulative count) pairs, last bound ``inf``."""


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
        """Append ``msg`` under the quota rules of the module docstring."""

    @abc.abstractmethod
    def peek(self, recipient_id: bytes) -> StoredMessage | None:
        """The head of the FIFO (oldest un-acknowledged entry), or ``None``."""

    @abc.abstractmethod
    async def delete_head(self, recipient_id: bytes, msg_id: bytes) -> bool:
        """Delete the head iff its id equals ``msg_id`` (constant-time compare)."""

    @abc.abstractmethod
    def queue_size(self, recipient_id: bytes) -> int:
        """Entries in the FIFO, the quota entry included."""

    @abc.abstractmethod
    async def expire_messages(self, older_than_ts: int) -> int:
        """Delete messages with ``ts < older_than_ts`` from the heads; return how many."""

    @abc.abstractmethod
    async def expire_unsecured_queues(self, created_before_ts: int) -> int:
        """Delete messaging queues never secured and created before the cut-off."""

    @abc.abstractmethod
    def stats(self) -> StoreStats:
        """Gauges and commit-latency figures for metrics."""


# --------------------------------------------------------------------------- SQLite schema

_SCHEMA: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE queues (
        recipient_id BLOB PRIMARY KEY,
        sender_id BLOB NOT NULL UNIQUE,
        recipient_keys BLOB NOT NULL,
        rcv_dh_secret BLOB NOT NULL,
        sender_key BLOB,
        queue_mode TEXT,
        status TEXT NOT NULL,
        notifier_id BLOB UNIQUE,
        ntf_key BLOB,
        rcv_ntf_dh_secret BLOB,
        link_id BLOB UNIQUE,
        link_fixed_data BLOB,
        link_user_data BLOB,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        recipient_id BLOB NOT NULL,
        msg_id BLOB NOT NULL,
        ts INTEGER NOT NULL,
        notification INTEGER NOT NULL,
        is_quota INTEGER NOT NULL,
        body BLOB NOT NULL
    )""",
    "CREATE INDEX messages_by_queue ON messages (recipient_id, seq)",
)

_INSERT_QUEUE: Final = (
    "INSERT INTO queues (recipient_id, sender_id, recipient_keys, rcv_dh_secret, sender_key, "
    "queue_mode, status, notifier_id, ntf_key, rcv_ntf_dh_secret, link_id, link_fixed_data, "
    "link_user_data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_QUEUES: Final = (
    "SELECT recipient_id, sender_id, recipient_keys, rcv_dh_secret, sender_key, queue_mode, "
    "status, notifier_id, ntf_key, rcv_ntf_dh_secret, link_id, link_fixed_data, link_user_data, "
    "created_at, updated_at FROM queues"
)
_UPDATE_QUEUE: Final = (
    "UPDATE queues SET sender_id = ?, recipient_keys = ?, rcv_dh_secret = ?, sender_key = ?, "
    "queue_mode = ?, status = ?, notifier_id = ?, ntf_key = ?, rcv_ntf_dh_secret = ?, "
    "link_id = ?, link_fixed_data = ?, link_user_data = ?, created_at = ?, updated_at = ? "
    "WHERE recipient_id = ?"
)
_INSERT_MESSAGE: Final = (
    "INSERT INTO messages (seq, recipient_id, msg_id, ts, notification, is_quota, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)

_Row = tuple[object, ...]
_Sql = Callable[[sqlite3.Connection], None]
_Apply = Callable[[], None]


def _encode_keys(keys: tuple[bytes, ...]) -> bytes:
    out = bytearray()
    for k in keys:
        out += len(k).to_bytes(2, "big") + k
    return bytes(out)


def _decode_keys(data: bytes) -> tuple[bytes, ...]:
    keys: list[bytes] = []
    i = 0
    while i < len(data):
        n = int.from_bytes(data[i : i + 2], "big")
        keys.append(data[i + 2 : i + 2 + n])
        i += 2 + n
    return tuple(keys)


def _queue_row(r: QueueRecord) -> _Row:
    n = r.notifier
    fixed, user = r.link_data if r.link_data is not None else (None, None)
    return (
        r.recipient_id,
        r.sender_id,
        _encode_keys(r.recipient_keys),
        r.rcv_dh_secret,
        r.sender_key,
        r.queue_mode,
        r.status.value,
        n.notifier_id if n else None,
        n.ntf_key if n else None,
        n.rcv_ntf_dh_secret if n else None,
        r.link_id,
        fixed,
        user,
        r.created_at,
        r.updated_at,
    )


def _record_from_row(row: sqlite3.Row) -> QueueRecord:
    notifier = None
    if row["notifier_id"] is not None:
        notifier = NotifierRecord(row["notifier_id"], row["ntf_key"], row["rcv_ntf_dh_secret"])
    link_data = None
    if row["link_id"] is not None:
        link_data = (row["link_fixed_data"], row["link_user_data"])
    return QueueRecord(
        recipient_id=row["recipient_id"],
        sender_id=row["sender_id"],
        recipient_keys=_decode_keys(row["recipient_keys"]),
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


def _sql_insert_queue(conn: sqlite3.Connection, rec: QueueRecord) -> None:
    conn.execute(_INSERT_QUEUE, _queue_row(rec))


def _sql_update_queue(conn: sqlite3.Connection, rec: QueueRecord) -> None:
    row = _queue_row(rec)
    conn.execute(_UPDATE_QUEUE, (*row[1:], row[0]))


def _sql_delete_queue(conn: sqlite3.Connection, recipient_id: bytes) -> None:
    conn.execute("DELETE FROM messages WHERE recipient_id = ?", (recipient_id,))
    conn.execute("DELETE FROM queues WHERE recipient_id = ?", (recipient_id,))


def _sql_insert_message(
    conn: sqlite3.Connection, seq: int, recipient_id: bytes, msg: StoredMessage
) -> None:
    conn.execute(
        _INSERT_MESSAGE,
        (seq, recipient_id, msg.msg_id, msg.ts, msg.flags_notification, msg.is_quota, msg.body),
    )


def _sql_delete_messages(conn: sqlite3.Connection, seqs: list[int]) -> None:
    conn.executemany("DELETE FROM messages WHERE seq = ?", [(s,) for s in seqs])


# --------------------------------------------------------------------------- SQLite store


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


class _Op:
    __slots__ = ("apply", "future", "sql")

    def __init__(
        self, sql: _Sql | None, apply: _Apply | None, future: asyncio.Future[None]
    ) -> None:
        self.sql = sql
        self.apply = apply
        self.future = future


_STOP: Final = None
_Loaded = tuple[dict[bytes, QueueRecord], dict[bytes, _MsgQueue], int]


class SQLiteStore(QueueStore):
    """:class:`QueueStore` on one SQLite file, with a memory mirror and group commit.

    ``clock`` returns the current time in seconds (``updated_at`` of changed records);
    ``max_pending`` caps mutations in flight (default ``STORE_MAX_PENDING_WRITES``).
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        max_pending: int = STORE_MAX_PENDING_WRITES,
    ) -> None:
        if not 1 <= max_pending <= STORE_MAX_PENDING_WRITES:
            raise ValueError(f"max_pending must be within 1..{STORE_MAX_PENDING_WRITES}")
        self._path = Path(path)
        self._clock = clock
        self._max_pending = max_pending
        # committed view
        self._records: dict[bytes, QueueRecord] = {}
        self._by_sender: dict[bytes, bytes] = {}
        self._by_notifier: dict[bytes, bytes] = {}
        self._by_link: dict[bytes, bytes] = {}
        self._msgs: dict[bytes, _MsgQueue] = {}
        self._messages = 0
        self._bytes = 0
        # intended overlay
        self._intended: dict[bytes, QueueRecord | None] = {}
        self._intended_refs: dict[bytes, int] = {}
        self._reserved: dict[tuple[str, bytes], int] = {}
        self._dirty_msgs: set[bytes] = set()
        self._next_seq = 1
        # writer
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._resume = threading.Event()
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

    # ----------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        if self._thread is not None:
            raise StoreError("store already opened")
        self._loop = asyncio.get_running_loop()
        ready: ThreadFuture[_Loaded] = ThreadFuture()
        self._thread = threading.Thread(
            target=self._writer_main,
            args=(self._loop, ready),
            name=f"hushwire-store {self._path.name}",
            daemon=True,
        )
        self._thread.start()
        records, msgs, next_seq = await asyncio.wrap_future(ready)
        for rec in records.values():
            self._index(rec)
        self._records = records
        self._msgs = msgs
        self._messages = sum(mq.committed for mq in msgs.values())
        self._bytes = sum(mq.bytes for mq in msgs.values())
        self._next_seq = next_seq
        self._open = True

    async def close(self) -> None:
        """Commit everything already submitted, then stop the writer and close the file."""
        if not self._open:
            return
        self._open = False
        for fut in self._waiters:  # callers waiting for room now see the store closed
            if not fut.done():
                fut.set_result(None)
                self._woken += 1
        self._waiters.clear()
        self._queue.put(_STOP)
        thread = self._thread
        assert thread is not None
        await asyncio.to_thread(thread.join)

    # ----------------------------------------------------------------- writer thread

    def _connect(self) -> sqlite3.Connection:
        # A second process holding the file (another relay) makes open() fail after 1 s.
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=1.0)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self._path}: cannot use WAL journal mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
            if has_meta is None:
                for stmt in _SCHEMA:
                    conn.execute(stmt)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            else:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                version = int(row[0]) if row is not None else 0
                if version != SCHEMA_VERSION:
                    # Migrations from older versions go here when there are any.
                    raise StoreError(
                        f"{self._path}: store schema version {version}, this relay "
                        f"understands {SCHEMA_VERSION}; use a matching Hushwire version"
                    )
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            conn.close()
            raise StoreError(
                f"{self._path}: cannot open the store ({e}); is another relay using it, "
                "or is it not a Hushwire relay store?"
            ) from e
        except BaseException:
            conn.close()
            raise
        return conn

    def _load(self, conn: sqlite3.Connection) -> _Loaded:
        records: dict[bytes, QueueRecord] = {}
        for row in conn.execute(_SELECT_QUEUES):
            rec = _record_from_row(row)
            records[rec.recipient_id] = rec
        msgs: dict[bytes, _MsgQueue] = {}
        next_seq = 1
        for seq, rid, msg_id, ts, ntf, is_quota, body in conn.execute(
            "SELECT seq, recipient_id, msg_id, ts, notification, is_quota, body "
            "FROM messages ORDER BY seq"
        ):
            next_seq = seq + 1
            if rid not in records:
                continue
            mq = msgs.get(rid)
            if mq is None:
                mq = msgs[rid] = _MsgQueue()
            mq.entries.append((seq, StoredMessage(msg_id, ts, bool(ntf), body, bool(is_quota))))
            mq.committed += 1
            mq.bytes += len(body)
        return records, msgs, next_seq

    def _writer_main(self, loop: asyncio.AbstractEventLoop, ready: ThreadFuture[_Loaded]) -> None:
        try:
            conn = self._connect()
            loaded = self._load(conn)
        except BaseException as e:
            ready.set_exception(e)
            return
        ready.set_result(loaded)
        try:
            stop = False
            while not stop:
                first = self._queue.get()
                if first is _STOP:
                    break
                batch = [first]
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)
                seconds, error = self._run_batch(conn, batch)
                try:
                    loop.call_soon_threadsafe(self._batch_done, batch, seconds, error)
                except RuntimeError:  # the loop is gone: nobody is left to answer
                    return
                if error is not None:
                    self._resume.wait()
                    self._resume.clear()
        finally:
            conn.close()

    @staticmethod
    def _run_batch(
        conn: sqlite3.Connection, batch: list[_Op]
    ) -> tuple[float | None, Exception | None]:
        if all(op.sql is None for op in batch):
            return None, None
        start = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for op in batch:
                    if op.sql is not None:
                        op.sql(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
        except Exception as e:
            return None, e
        return time.perf_counter() - start, None

    # ----------------------------------------------------------------- loop side of commits

    def _batch_done(self, batch: list[_Op], seconds: float | None, error: Exception | None) -> None:
        self._pending -= len(batch)
        if error is None:
            if seconds is not None:
                self._commits += 1
                self._commit_seconds += seconds
                i = 0
                while i < len(COMMIT_LATENCY_BUCKETS) and seconds > COMMIT_LATENCY_BUCKETS[i]:
                    i += 1
                self._buckets[i] += 1
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
            failed = list(batch)
            saw_stop = False
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    saw_stop = True
                else:
                    failed.append(item)
                    self._pending -= 1
            self._reset_intended()
            for op in failed:
                if not op.future.done():
                    exc = StoreError(f"store commit failed: {error}")
                    exc.__cause__ = error
                    op.future.set_exception(exc)
            if saw_stop:
                self._queue.put(_STOP)
            self._resume.set()
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

    async def _submit(self, sql: _Sql | None, apply: _Apply | None, result: _T) -> _T:
        """Queue one operation (call with room, right after the synchronous decision)."""
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pending += 1
        self._pending_high_water = max(self._pending_high_water, self._pending)
        self._queue.put(_Op(sql, apply, fut))
        await fut
        return result

    async def _settled(self, result: _T) -> _T:
        """Return a decision that changed nothing, once the changes it saw have committed."""
        if self._pending == 0:
            return result
        return await self._submit(None, None, result)

    def _now(self) -> int:
        return int(self._clock())

    # ----------------------------------------------------------------- record bookkeeping

    def _intended_record(self, rid: bytes) -> QueueRecord | None:
        if rid in self._intended:
            return self._intended[rid]
        return self._records.get(rid)

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
            return ident in self._records
        index = {"s": self._by_sender, "n": self._by_notifier, "l": self._by_link}[kind]
        return ident in index

    def _index(self, rec: QueueRecord) -> None:
        rid = rec.recipient_id
        self._by_sender[rec.sender_id] = rid
        if rec.notifier is not None:
            self._by_notifier[rec.notifier.notifier_id] = rid
        if rec.link_id is not None:
            self._by_link[rec.link_id] = rid

    def _unindex(self, rec: QueueRecord) -> None:
        rid = rec.recipient_id
        for index, ident in (
            (self._by_sender, rec.sender_id),
            (self._by_notifier, rec.notifier.notifier_id if rec.notifier else None),
            (self._by_link, rec.link_id),
        ):
            if ident is not None and index.get(ident) == rid:
                del index[ident]

    def _stage_record(self, rid: bytes, new: QueueRecord | None) -> tuple[_Sql, _Apply]:
        """Put a record change into the intended view; return its SQL and apply step."""
        old = self._intended_record(rid)
        reserved = self._ids(new) if new is not None else []
        for key in reserved:
            self._reserved[key] = self._reserved.get(key, 0) + 1
        self._intended[rid] = new
        self._intended_refs[rid] = self._intended_refs.get(rid, 0) + 1

        sql: _Sql
        if new is None:

            def sql(conn: sqlite3.Connection) -> None:
                _sql_delete_queue(conn, rid)

        elif old is None:

            def sql(conn: sqlite3.Connection) -> None:
                _sql_insert_queue(conn, new)

        else:

            def sql(conn: sqlite3.Connection) -> None:
                _sql_update_queue(conn, new)

        def apply() -> None:
            self._apply_record(rid, new)
            for key in reserved:
                n = self._reserved.get(key, 0) - 1
                if n > 0:
                    self._reserved[key] = n
                else:
                    self._reserved.pop(key, None)
            refs = self._intended_refs.get(rid, 0) - 1
            if refs > 0:
                self._intended_refs[rid] = refs
            else:
                self._intended_refs.pop(rid, None)
                self._intended.pop(rid, None)

        return sql, apply

    def _apply_record(self, rid: bytes, new: QueueRecord | None) -> None:
        old = self._records.get(rid)
        if old is not None:
            self._unindex(old)
        if new is None:
            self._records.pop(rid, None)
            mq = self._msgs.pop(rid, None)
            if mq is not None:
                self._messages -= mq.committed
                self._bytes -= mq.bytes
        else:
            self._records[rid] = new
            self._index(new)

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
        sql, apply = self._stage_record(rid, new)
        return await self._submit(sql, apply, new)

    # ----------------------------------------------------------------- queue records

    async def create_queue(self, rec: QueueRecord) -> bool:
        _check_id(rec.recipient_id, "recipient id")
        _check_id(rec.sender_id, "sender id")
        await self._wait_room()
        if any(self._id_in_use(kind, ident) for kind, ident in self._ids(rec)):
            return await self._settled(False)
        sql, apply = self._stage_record(rec.recipient_id, rec)
        return await self._submit(sql, apply, True)

    def get_by_recipient(self, recipient_id: bytes) -> QueueRecord | None:
        return self._records.get(recipient_id)

    def get_by_sender(self, sender_id: bytes) -> QueueRecord | None:
        rid = self._by_sender.get(sender_id)
        return None if rid is None else self._records.get(rid)

    def get_by_notifier(self, notifier_id: bytes) -> QueueRecord | None:
        rid = self._by_notifier.get(notifier_id)
        return None if rid is None else self._records.get(rid)

    def get_by_link(self, link_id: bytes) -> QueueRecord | None:
        rid = self._by_link.get(link_id)
        return None if rid is None else self._records.get(rid)

    async def secure(self, recipient_id: bytes, sender_key: bytes) -> QueueRecord:
        def change(rec: QueueRecord) -> QueueRecord | None:
            if rec.sender_key is not None:
                return None
            return replace(rec, sender_key=sender_key)

        return await self._update(recipient_id, change)

    async def set_status(self, recipient_id: bytes, status: QueueStatus) -> QueueRecord:
        def change(rec: QueueRecord) -> QueueRecord | None:
            return None if rec.status is status else replace(rec, status=status)

        return await self._update(recipient_id, change)

    async def update_recipient_keys(
        self, recipient_id: bytes, keys: tuple[bytes, ...]
    ) -> QueueRecord:
        if not keys:
            raise ValueError("a queue needs at least one recipient key")
        return await self._update(recipient_id, lambda rec: replace(rec, recipient_keys=keys))

    async def delete_queue(self, recipient_id: bytes) -> bool:
        await self._wait_room()
        if self._intended_record(recipient_id) is None:
            return await self._settled(False)
        sql, apply = self._stage_record(recipient_id, None)
        return await self._submit(sql, apply, True)

    async def set_notifier(self, recipient_id: bytes, notifier: NotifierRecord) -> bool:
        _check_id(notifier.notifier_id, "notifier id")
        await self._wait_room()
        rec = self._intended_record(recipient_id)
        if rec is None:
            raise QueueNotFoundError("no such queue")
        if self._id_in_use("n", notifier.notifier_id):
            return await self._settled(False)
        new = replace(rec, notifier=notifier, updated_at=self._now())
        sql, apply = self._stage_record(recipient_id, new)
        return await self._submit(sql, apply, True)

    async def delete_notifier(self, recipient_id: bytes) -> NotifierRecord | None:
        old: list[NotifierRecord | None] = [None]

        def change(rec: QueueRecord) -> QueueRecord | None:
            old[0] = rec.notifier
            return None if rec.notifier is None else replace(rec, notifier=None)

        await self._update(recipient_id, change)
        return old[0]

    async def set_link(
        self, recipient_id: bytes, link_id: bytes, link_data: tuple[bytes, bytes]
    ) -> bool:
        _check_id(link_id, "link id")
        await self._wait_room()
        rec = self._intended_record(recipient_id)
        if rec is None:
            raise QueueNotFoundError("no such queue")
        if rec.link_id is not None:
            assert rec.link_data is not None
            same = hmac.compare_digest(rec.link_id, link_id) and rec.link_data[0] == link_data[0]
            if not same:
                return await self._settled(False)
        elif self._id_in_use("l", link_id):
            return await self._settled(False)
        new = replace(rec, link_id=link_id, link_data=link_data, updated_at=self._now())
        sql, apply = self._stage_record(recipient_id, new)
        return await self._submit(sql, apply, True)

    async def delete_link_data(self, recipient_id: bytes) -> bool:
        had = [False]

        def change(rec: QueueRecord) -> QueueRecord | None:
            had[0] = rec.link_id is not None
            return replace(rec, link_id=None, link_data=None) if had[0] else None

        await self._update(recipient_id, change)
        return had[0]

    async def expire_unsecured_queues(self, created_before_ts: int) -> int:
        await self._wait_room()
        victims = [
            rid
            for rid in self._records
            if (rec := self._intended_record(rid)) is not None
            and rec.queue_mode == "M"
            and rec.sender_key is None
            and rec.created_at < created_before_ts
        ]
        if not victims:
            return await self._settled(0)
        steps = [self._stage_record(rid, None) for rid in victims]

        def sql(conn: sqlite3.Connection) -> None:
            for s, _ in steps:
                s(conn)

        def apply() -> None:
            for _, a in steps:
                a()

        return await self._submit(sql, apply, len(victims))

    # ----------------------------------------------------------------- messages

    async def write_message(
        self, recipient_id: bytes, msg: StoredMessage, quota: int
    ) -> WriteResult:
        if len(msg.msg_id) != MSG_ID_SIZE:
            raise ValueError(f"message id must be {MSG_ID_SIZE} bytes")
        if len(msg.body) > MAX_MESSAGE_LENGTH_V6:
            raise ValueError(f"message body over {MAX_MESSAGE_LENGTH_V6} bytes")
        if msg.is_quota:
            raise ValueError("the store appends quota entries itself")
        if quota < 1:
            raise ValueError("quota must be at least 1")
        await self._wait_room()
        if self._intended_record(recipient_id) is None:
            raise QueueNotFoundError("no such queue")
        mq = self._msgs.get(recipient_id)
        size = mq.intended_size() if mq is not None else 0
        if size > 0 and mq is not None and mq.entries[-1][1].is_quota:
            return await self._settled(WriteResult.QUOTA_BLOCKED)
        if size >= quota:
            entry = StoredMessage(msg.msg_id, msg.ts, False, b"", is_quota=True)
            result = WriteResult.QUOTA_EXCEEDED
        else:
            entry = msg
            result = WriteResult.STORED
        if mq is None:
            mq = self._msgs[recipient_id] = _MsgQueue()
        seq = self._next_seq
        self._next_seq += 1
        mq.entries.append((seq, entry))
        self._dirty_msgs.add(recipient_id)
        rid = recipient_id

        def sql(conn: sqlite3.Connection) -> None:
            _sql_insert_message(conn, seq, rid, entry)

        def apply() -> None:
            q = self._msgs.get(rid)
            if q is not None:
                q.committed += 1
                q.bytes += len(entry.body)
                self._messages += 1
                self._bytes += len(entry.body)

        return await self._submit(sql, apply, result)

    def peek(self, recipient_id: bytes) -> StoredMessage | None:
        mq = self._msgs.get(recipient_id)
        if mq is None or mq.committed == 0:
            return None
        return mq.entries[0][1]

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
        head = mq.entries[mq.pops][1]
        if not hmac.compare_digest(head.msg_id, msg_id):
            return await self._settled(False)
        seqs, apply = self._stage_pops(recipient_id, mq, 1)

        def sql(conn: sqlite3.Connection) -> None:
            _sql_delete_messages(conn, seqs)

        return await self._submit(sql, apply, True)

    async def expire_messages(self, older_than_ts: int) -> int:
        await self._wait_room()
        all_seqs: list[int] = []
        applies: list[_Apply] = []
        for rid, mq in self._msgs.items():
            if self._intended_record(rid) is None:
                continue
            n = 0
            for i in range(mq.pops, len(mq.entries)):
                m = mq.entries[i][1]
                if m.is_quota or m.ts >= older_than_ts:
                    break
                n += 1
            if n:
                seqs, apply = self._stage_pops(rid, mq, n)
                all_seqs.extend(seqs)
                applies.append(apply)
        if not all_seqs:
            return await self._settled(0)

        def sql(conn: sqlite3.Connection) -> None:
            _sql_delete_messages(conn, all_seqs)

        def apply_all() -> None:
            for a in applies:
                a()

        return await self._submit(sql, apply_all, len(all_seqs))

    # ----------------------------------------------------------------- stats

    def stats(self) -> StoreStats:
        cumulative: list[tuple[float, int]] = []
        total = 0
        for bound, count in zip(
            (*COMMIT_LATENCY_BUCKETS, float("inf")), self._buckets, strict=True
        ):
            total += count
            cumulative.append((bound, total))
        return StoreStats(
            queues=len(self._records),
            messages=self._messages,
            bytes=self._bytes,
            pending_writes=self._pending,
            pending_high_water=self._pending_high_water,
            commits=self._commits,
            committed_ops=self._committed_ops,
            failed_commits=self._failed_commits,
            max_batch=self._max_batch,
            commit_seconds_total=self._commit_seconds,
            commit_latency_buckets=tuple(cumulative),
        )


def _check_id(ident: bytes, what: str) -> None:
    if len(ident) != QUEUE_ID_SIZE:
        raise ValueError(f"{what} must be {QUEUE_ID_SIZE} bytes")
