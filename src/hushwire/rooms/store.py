"""A room's own durable state: ``room.sqlite3`` in the data directory.

``agent.sqlite3`` stays the source of truth for keys and ratchets; this store holds the group
(:class:`hushwire.chat.group_host.GroupHost` as JSON), which agent connection belongs to which
member, and an outbox of chat bodies decided but not yet handed to the agent. A step commits
the new group state and its outbox in one transaction, then hands the outbox to the agent,
then acknowledges the agent message: a crash at any point repeats at most a send, which
members drop as a duplicate by its message id (docs/architecture.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hushwire.datadir import SqliteOutbox, open_sqlite

__all__ = ["RoomStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conns (conn_id TEXT PRIMARY KEY, member_id BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, conn_id TEXT NOT NULL,
                                   body BLOB NOT NULL);
"""


class RoomStore(SqliteOutbox):
    """The room's SQLite file (WAL, synchronous commits)."""

    def __init__(self, path: Path) -> None:
        self.db = open_sqlite(path, _SCHEMA)

    def close(self) -> None:
        self.db.close()

    def load(self, key: str) -> Any:
        row = self.db.execute("SELECT v FROM state WHERE k = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def member_of(self, conn_id: str) -> bytes | None:
        row = self.db.execute("SELECT member_id FROM conns WHERE conn_id = ?", (conn_id,))
        found = row.fetchone()
        return None if found is None else bytes(found[0])

    def conn_of(self, member_id: bytes) -> str | None:
        row = self.db.execute("SELECT conn_id FROM conns WHERE member_id = ?", (member_id,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def commit(
        self,
        state: dict[str, Any],
        sends: list[tuple[str, bytes]],
        *,
        link: tuple[str, bytes] | None = None,
        unlink: str | None = None,
    ) -> None:
        """One step: the new state, the bodies to send, a connection linked to a member or
        one forgotten, in one transaction."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT OR REPLACE INTO state (k, v) VALUES ('group', ?)",
                (json.dumps(state, separators=(",", ":")),),
            )
            if link is not None:
                self.db.execute("INSERT OR REPLACE INTO conns VALUES (?, ?)", link)
            if unlink is not None:
                self.db.execute("DELETE FROM conns WHERE conn_id = ?", (unlink,))
            self.db.executemany("INSERT INTO outbox (conn_id, body) VALUES (?, ?)", sends)

    def save_value(self, key: str, value: Any) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO state (k, v) VALUES (?, ?)", (key, json.dumps(value))
            )
