"""The relay's queue and message store: one contract, several backends.

- ``contract``: records, errors, the :class:`QueueStore` interface dispatch uses, and the
  backend-neutral rules (quota, expiry, acknowledgement) as pure functions; every name in its
  ``__all__`` is re-exported here;
- ``mirror``: :class:`MirroredStore`, the memory mirror with its committed and intended views
  and group commit, shared by every backend;
- ``records``: the committed queue records with their sender, notifier and link indexes,
  shared by the mirror and a cluster node's read view (``view``);
- ``writer``: the group-commit writer thread of blocking database drivers;
- ``memory``: :class:`MemoryStore`, no disk (tests, ``hushwire.testing``, reference);
- ``sqlite``: :class:`SQLiteStore`, the embedded durable backend the relay runs with;
- ``postgres``: ``PostgresStore`` (``--store postgresql://...``), imported from its module
  only, so that the optional ``asyncpg`` driver is needed only by relays that use it.

Mirrors simplexmq ``Simplex.Messaging.Server.QueueStore`` and
``Simplex.Messaging.Server.MsgStore``; see docs/protocol/smp.md and docs/architecture.md.
"""

from __future__ import annotations

from hushwire.server.store import contract
from hushwire.server.store.contract import *  # noqa: F403  (the contract is the interface)
from hushwire.server.store.memory import MemoryBacking, MemoryStore
from hushwire.server.store.mirror import Journal, MirroredStore
from hushwire.server.store.sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "Journal",
    "MemoryBacking",
    "MemoryStore",
    "MirroredStore",
    "SQLiteStore",
]
__all__ += contract.__all__
