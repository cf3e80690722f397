"""The SQLite store backend: one file, stdlib ``sqlite3``, committed by the writer thread.

:class:`SQLiteStore` is the embedded :class:`~hushwire.server.store.contract.QueueStore` the
relay runs with: the memory mirror of ``hushwire.server.store.mirror`` over a journal that
turns each batch of changes into one SQLite transaction on the thread of
``hushwire.server.store.writer``. It plays the part of simplexmq's durable backends
(``Server.QueueStore.Postgres`` with ``Server.MsgStore.Postgres``, or the STM store with
``Server.StoreLog`` and ``Server.MsgStore.Journal``) for a single process; see
docs/architecture.md.

*Durability.* ``journal_mode=WAL`` with ``synchronous=FULL``: SQLite fsyncs the WAL on every
commit, so a committed transaction survives not only ``kill -9`` of the process (for which
``NORMAL`` would suffice, the WAL pages being in the OS page cache) but also an OS crash or
power loss (``NORMAL`` in WAL mode may lose the last commits there). Group commit pays one
fsync per batch, not per write, which makes ``FULL`` affordable. ``locking_mode=EXCLUSIVE``
keeps a second relay process from opening the same file while this one runs (the memory mirror
assumes it is the only writer).

*Failed commit.* The transaction is rolled back, so disk holds none of the batch. If COMMIT
itself reports an I/O error after SQLite wrote the WAL, the change may still be on disk after
a restart: memory may then be *behind* disk, never ahead (``hushwire.server.store.mirror``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from hushwire.limits import STORE_MAX_PENDING_WRITES
from hushwire.server.store.contract import (
    SELECT_MESSAGES,
    SELECT_QUEUES,
    AppendMessage,
    Change,
    CommitHook,
    DeleteMessages,
    DeleteQueue,
    PutQueue,
    StoreError,
    message_row,
    queue_row,
)
from hushwire.server.store.mirror import BatchDone, Journal, MirroredStore, PendingOp, Snapshot
from hushwire.server.store.writer import GroupCommitWriter

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

SCHEMA_VERSION: Final = 1
"""Version of the SQLite schema this code writes; kept in the ``meta`` table."""

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

_DELETE_MESSAGE: Final = "DELETE FROM messages WHERE seq = ?"

_Row = tuple[object, ...]


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


def _execute_queue_change(conn: sqlite3.Connection, change: PutQueue | DeleteQueue) -> None:
    """Run the SQL of one queue change (inside the batch's transaction)."""
    if isinstance(change, PutQueue):
        row = queue_row(change.rec, _encode_keys(change.rec.recipient_keys))
        if change.new:
            conn.execute(_INSERT_QUEUE, row)
        else:
            conn.execute(_UPDATE_QUEUE, (*row[1:], row[0]))
    else:
        conn.execute("DELETE FROM messages WHERE recipient_id = ?", (change.recipient_id,))
        conn.execute("DELETE FROM queues WHERE recipient_id = ?", (change.recipient_id,))


def _execute_messages(
    conn: sqlite3.Connection, inserts: list[AppendMessage], deletes: list[int]
) -> None:
    """Message appends, then deletions, each as one ``executemany``.

    Appends may go first: a deletion only ever names an entry appended before it. An entry
    both appended and deleted in the same run never touches the file (same end state).
    """
    gone = set(deletes)
    rows = [message_row(c) for c in inserts if c.seq not in gone]
    if rows:
        conn.executemany(_INSERT_MESSAGE, rows)
    if len(rows) < len(inserts):
        gone.difference_update(c.seq for c in inserts)
        deletes = [s for s in deletes if s in gone]
    if deletes:
        conn.executemany(_DELETE_MESSAGE, [(s,) for s in deletes])


def _execute_all(conn: sqlite3.Connection, changes: Sequence[Change]) -> None:
    """Run the SQL of a batch (inside its transaction), in as few statements as it allows.

    Queue changes run one by one, in order; between two of them, the message changes run as
    one insert and one delete (``_execute_messages``): fewer calls into SQLite, each of which
    releases and takes back the GIL that the event loop holds most of the time.
    """
    inserts: list[AppendMessage] = []
    deletes: list[int] = []
    for change in changes:
        if isinstance(change, AppendMessage):
            inserts.append(change)
        elif isinstance(change, DeleteMessages):
            deletes.extend(change.seqs)
        else:
            if inserts or deletes:
                _execute_messages(conn, inserts, deletes)
                inserts, deletes = [], []
            _execute_queue_change(conn, change)
    if inserts or deletes:
        _execute_messages(conn, inserts, deletes)


class _SQLiteJournal(Journal):
    """Opens, loads and commits one SQLite file on a :class:`GroupCommitWriter` thread."""

    def __init__(self, path: Path, before_commit: CommitHook | None) -> None:
        self._path = path
        self._before_commit = before_commit
        self._writer: GroupCommitWriter[sqlite3.Connection] = GroupCommitWriter(
            f"hushwire-store {path.name}",
            connect=self._connect_and_load,
            commit=self._commit,
            disconnect=sqlite3.Connection.close,
        )

    async def start(self, done: BatchDone) -> Snapshot:
        return await self._writer.start(done)

    def submit(self, op: PendingOp) -> None:
        self._writer.submit(op)

    def take_queued(self) -> list[PendingOp]:
        return self._writer.take_queued()

    def resume(self) -> None:
        self._writer.resume()

    async def stop(self) -> None:
        await self._writer.stop()

    # ----------------------------------------------------------------- on the writer thread

    def _connect_and_load(self) -> tuple[sqlite3.Connection, Snapshot]:
        conn = self._connect()
        try:
            return conn, self._load(conn)
        except BaseException:
            conn.close()
            raise

    def _private_files(self) -> None:
        """The store and its WAL are readable by this user only, like the keys (SQLite
        gives the WAL the database file's mode); files an older version left open are
        tightened."""
        path = str(self._path)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        for name in (path, path + "-wal", path + "-shm", path + "-journal"):
            with contextlib.suppress(FileNotFoundError):
                if stat.S_IMODE(os.stat(name).st_mode) & 0o077:
                    os.chmod(name, 0o600)

    def _connect(self) -> sqlite3.Connection:
        self._private_files()
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
            self._private_files()
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

    @staticmethod
    def _load(conn: sqlite3.Connection) -> Snapshot:
        return Snapshot.from_rows(
            conn.execute(SELECT_QUEUES), _decode_keys, conn.execute(SELECT_MESSAGES)
        )

    def _commit(self, conn: sqlite3.Connection, changes: Sequence[Change]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _execute_all(conn, changes)
            if self._before_commit is not None:
                self._before_commit(changes)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise


class SQLiteStore(MirroredStore):
    """:class:`QueueStore` on one SQLite file, with a memory mirror and group commit.

    ``clock`` returns the current time in seconds (``updated_at`` of changed records);
    ``max_pending`` caps mutations in flight (default ``STORE_MAX_PENDING_WRITES``);
    ``before_commit`` is the failure-injection seam of
    :data:`~hushwire.server.store.contract.CommitHook` (tests only).
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        max_pending: int = STORE_MAX_PENDING_WRITES,
        before_commit: CommitHook | None = None,
    ) -> None:
        self._path = Path(path)
        super().__init__(
            _SQLiteJournal(self._path, before_commit), clock=clock, max_pending=max_pending
        )

    @property
    def path(self) -> Path:
        return self._path
