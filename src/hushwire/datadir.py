"""One process per data directory: an advisory lock on ``DIR/lock``.

``hushwire inbox``, ``hushwire bot`` and ``hushwire chat`` each own their data directory:
two processes on one agent store would both subscribe to the same queues (the relay keeps
one subscriber and ends the other) and both write the same rows. So the first process
takes an exclusive ``flock`` on ``DIR/lock`` and holds it for its whole life (the lock dies
with the open file, so a crash frees it); the file holds the holder's process id, which a
second process names in its one-line refusal. The file itself is never deleted: removing
it would let a third process lock a new file while the first still holds the old one.

The apps' own SQLite files next to the agent store are opened with :func:`open_sqlite`
(or :func:`open_private_db`).
The long-running apps also share :func:`stop_on_signals`, the event SIGTERM or SIGINT sets
to stop them cleanly (with the lock released and the store closed), and the terminal ones
:func:`stdin_lines`, the lines the person types.

No simplexmq module stands for this: the reference agent keeps its store in one SQLite
file opened by one process, and this is how Hushwire makes that true.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hushwire.errors import ConfigError

LOCK_FILE: Final = "lock"


class DataDirInUse(ConfigError):
    """Another process holds the data directory."""


@dataclass(frozen=True, slots=True)
class DataDirLock:
    """A held lock; :meth:`release`, leaving its ``with`` block or the process's exit frees
    it."""

    path: Path
    fd: int

    def release(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass

    def __enter__(self) -> DataDirLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_data_dir(data: Path) -> DataDirLock:
    """Lock ``data`` (created 0700 if missing) for this process, or raise
    :class:`DataDirInUse` naming the process that holds it."""
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        who = f"pid {holder}" if holder else "pid unknown"
        raise DataDirInUse(
            f"{data} is in use by another Hushwire process ({who}): stop that process "
            "first, or give this one another --data directory"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return DataDirLock(path, fd)


def _holder(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def open_sqlite(path: Path, schema: str) -> sqlite3.Connection:
    """An app's own SQLite file whose ``schema`` is idempotent SQL run at every open (a
    room's, a team inbox's); opened as :func:`open_private_db` opens its files."""
    db = _open_private(path)
    db.executescript(schema)
    return db


class SqliteOutbox:
    """The ``outbox`` table (``id``, ``conn_id``, ``body``) of an app's own SQLite file:
    chat bodies decided and committed with the app's state, not yet handed to the agent."""

    db: sqlite3.Connection

    def outbox(self) -> list[tuple[int, str, bytes]]:
        rows = self.db.execute("SELECT id, conn_id, body FROM outbox ORDER BY id")
        return [(int(i), str(c), self.opened(bytes(b))) for i, c, b in rows.fetchall()]

    def opened(self, body: bytes) -> bytes:
        """A stored body as it is sent (a store that seals its bodies opens them here)."""
        return body

    def sent(self, *outbox_ids: int) -> None:
        """These bodies were handed to the agent, which keeps them until the relay has them
        (one transaction)."""
        if not outbox_ids:
            return
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")  # autocommit mode: else one commit per row
            self.db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in outbox_ids])


def stop_on_signals() -> asyncio.Event:
    """An event that SIGTERM or SIGINT sets (call it in the running event loop): a
    long-running app waits on it, then shuts down."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def stdin_lines() -> asyncio.Queue[str | None]:
    """The lines typed on stdin, each with its newline, then None at the end of input (call
    it in the running event loop). A daemon thread reads them, so a blocking read never
    holds up the loop nor the process's exit."""
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def open_private_db(path: Path, schema: tuple[str, ...], version: int) -> sqlite3.Connection:
    """An app's own SQLite file in its data directory (the inbox's history, the shop's
    orders): the file and its ``-wal``/``-shm`` made owner-only before SQLite opens them,
    autocommit (transactions by :func:`db_transaction`), ``secure_delete`` (erased rows are
    zeroed), WAL with ``synchronous=FULL`` (a commit is on disk when it returns), foreign
    keys on; ``schema`` is run once on a new file, and a file of another ``version`` is
    refused with a :class:`ConfigError`."""
    db = _open_private(path)
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found == 0:
        with db_transaction(db):
            for stmt in schema:
                db.execute(stmt)
            db.execute(f"PRAGMA user_version={version}")
    elif found != version:
        db.close()
        raise ConfigError(
            f"{path} has schema {found}; this Hushwire reads {version}: "
            "run the Hushwire version that wrote it, or restore a matching backup"
        )
    return db


def _open_private(path: Path) -> sqlite3.Connection:
    """The file and its ``-wal``/``-shm`` owner-only before SQLite opens them, autocommit,
    ``secure_delete``, WAL with ``synchronous=FULL``, foreign keys on."""
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        os.close(os.open(part, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(part, 0o600)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA secure_delete=ON")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


@contextmanager
def db_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
