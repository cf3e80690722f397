"""Store test helpers: record and message factories, and the backends the contract runs on.

Adding a backend to the contract suite (``test_store_contract.py``) is one entry in
:data:`BACKENDS`: a function from a temporary directory to a :class:`Backend`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pg_helpers import pg_server, sql

from hushwire.server.store import (
    MemoryBacking,
    MemoryStore,
    MirroredStore,
    NotifierRecord,
    QueueRecord,
    SQLiteStore,
    StoredMessage,
)
from hushwire.server.store.cluster import ClusterStore
from hushwire.server.store.postgres import PostgresStore

T = TypeVar("T")
NOW = 1_700_000_000


def new_id() -> bytes:
    return os.urandom(24)


def make_rec(
    *,
    mode: str | None = "M",
    created_at: int = NOW,
    sender_key: bytes | None = None,
    notifier: NotifierRecord | None = None,
    link: tuple[bytes, tuple[bytes, bytes]] | None = None,
    rid: bytes | None = None,
    sid: bytes | None = None,
) -> QueueRecord:
    return QueueRecord(
        recipient_id=rid or new_id(),
        sender_id=sid or new_id(),
        recipient_keys=(b"rcv-key-" + os.urandom(8),),
        rcv_dh_secret=os.urandom(32),
        sender_key=sender_key,
        queue_mode=mode,
        notifier=notifier,
        link_id=link[0] if link else None,
        link_data=link[1] if link else None,
        created_at=created_at,
        updated_at=created_at,
    )


def make_msg(i: int = 0, ts: int = NOW, ntf: bool = False) -> StoredMessage:
    return StoredMessage(new_id(), ts, ntf, f"body {i}".encode())


def notifier() -> NotifierRecord:
    return NotifierRecord(new_id(), b"ntf-key", os.urandom(32))


@dataclass(frozen=True, slots=True)
class Backend:
    """A store backend under test, with state that outlives one store (a restart)."""

    name: str
    make: Callable[..., MirroredStore]
    """A new store on the same durable state; keywords: clock, max_pending, before_commit."""
    durable: Callable[[], dict[bytes, list[bytes]]]
    """Committed message ids per queue, read from the durable state itself."""


def sqlite_backend(tmp: Path, name: str = "s.db") -> Backend:
    db = tmp / name
    return Backend("sqlite", lambda **kw: SQLiteStore(db, **kw), lambda: sqlite_contents(db))


def memory_backend(tmp: Path) -> Backend:
    backing = MemoryBacking()
    return Backend("memory", lambda **kw: MemoryStore(backing, **kw), backing.message_ids)


def _pg_durable(dsn: str) -> Callable[[], dict[bytes, list[bytes]]]:
    def durable() -> dict[bytes, list[bytes]]:
        out: dict[bytes, list[bytes]] = {}
        for rid, mid in sql(dsn, "SELECT recipient_id, msg_id FROM messages ORDER BY seq"):
            out.setdefault(rid, []).append(mid)
        return out

    return durable


def postgres_backend(tmp: Path) -> Backend:
    """A fresh database on the run's throwaway server (``pg_helpers``)."""
    dsn = pg_server().new_database()
    return Backend("postgres", lambda **kw: PostgresStore(dsn, **kw), _pg_durable(dsn))


def cluster_backend(tmp: Path) -> Backend:
    """A cluster node (``ClusterStore``) on a fresh database; it takes only ``clock``. Not in
    :data:`BACKENDS`: it runs the interface part of the contract (test_cluster_store.py)."""
    dsn = pg_server().new_database()

    def make(**kw: Any) -> Any:
        return ClusterStore(dsn, **{k: v for k, v in kw.items() if k == "clock"})

    return Backend("cluster", make, _pg_durable(dsn))


BACKENDS: dict[str, Callable[[Path], Backend]] = {
    "memory": memory_backend,
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
}


def with_store(backend: Backend, body: Callable[[Any], Awaitable[T]], **kw: Any) -> T:
    """Open a store of ``backend``, run ``body``, close it (also on failure)."""

    async def main() -> T:
        s = backend.make(clock=lambda: NOW + 5, **kw)
        await s.open()
        try:
            return await body(s)
        finally:
            await s.close()

    return asyncio.run(main())


def contents(s: MirroredStore, rid: bytes) -> list[StoredMessage]:
    """Committed FIFO of a queue, read from the memory mirror."""
    return list(s.messages(rid))


def sqlite_contents(path: Path) -> dict[bytes, list[bytes]]:
    out: dict[bytes, list[bytes]] = {}
    conn = sqlite3.connect(path)
    try:
        for rid, mid in conn.execute("SELECT recipient_id, msg_id FROM messages ORDER BY seq"):
            out.setdefault(rid, []).append(mid)
    finally:
        conn.close()
    return out


def overlay_is_empty(s: MirroredStore) -> bool:
    """No pending record version or reserved id is left in the intended view."""
    return not s._intended and not s._reserved and not s._intended_refs
