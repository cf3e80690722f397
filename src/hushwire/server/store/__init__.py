"""The relay's queue and message store: one contract, several backends.

- ``contract``: records, errors, the :class:`QueueStore` interface dispatch uses, and the
  backend-neutral rules (quota, expiry, acknowledgement) as pure functions;
- ``mirror``: :class:`MirroredStore`, the memory mirror with its committed and intended views
  and group commit, shared by every backend;
- ``writer``: the group-commit writer thread of blocking database drivers;
- ``memory``: :class:`MemoryStore`, no disk (tests, ``hushwire.testing``, reference);
- ``sqlite``: :class:`SQLiteStore`, the embedded durable backend the relay runs with;
- ``postgres``: ``PostgresStore`` (``--store postgresql://...``), imported from its module
  only, so that the optional ``asyncpg`` driver is needed only by relays that use it.

Mirrors simplexmq ``Simplex.Messaging.Server.QueueStore`` and
``Simplex.Messaging.Server.MsgStore``; see docs/protocol/smp.md and docs/architecture.md.
"""

from __future__ import annotations

from hushwire.server.store.contract import (
    COMMIT_LATENCY_BUCKETS,
    AppendMessage,
    Change,
    CommitHook,
    DeleteMessages,
    DeleteQueue,
    NotifierRecord,
    PutQueue,
    QueueNotFoundError,
    QueueRecord,
    QueueStatus,
    QueueStore,
    StoreClosedError,
    StoredMessage,
    StoreError,
    StoreStats,
    WriteResult,
)
from hushwire.server.store.memory import MemoryBacking, MemoryStore
from hushwire.server.store.mirror import Journal, MirroredStore
from hushwire.server.store.sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "COMMIT_LATENCY_BUCKETS",
    "SCHEMA_VERSION",
    "AppendMessage",
    "Change",
    "CommitHook",
    "DeleteMessages",
    "DeleteQueue",
    "Journal",
    "MemoryBacking",
    "MemoryStore",
    "MirroredStore",
    "NotifierRecord",
    "PutQueue",
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
