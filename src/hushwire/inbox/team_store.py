"""A team inbox's own durable state: ``team.sqlite3`` in the inbox's data directory.

``agent.sqlite3`` keeps keys and ratchets and ``inbox.sqlite3`` what the people read; this
store holds the groups behind a team inbox (:mod:`hushwire.inbox.team`):

* ``groups``: one business chat per visitor conversation, the group state as JSON
  (:class:`~hushwire.chat.group_host.GroupHost` on the team inbox,
  :class:`~hushwire.chat.group_member.GroupMember` on an operator's inbox);
* ``conns``: which agent connection leads to which member of which conversation;
* ``operators``: the team inbox's 1:1 connections to its operators (an operator's inbox
  keeps its one connection to its team here too);
* ``outbox``: chat bodies decided but not yet handed to the agent;
* ``assign``: who a conversation is assigned to; ``authors``: which operator wrote a
  stored message (the inbox history only knows "in" and "out").

A step commits the group state and its outbox in one transaction, then hands the outbox to
the agent, then acknowledges the agent message (the pattern of :mod:`hushwire.rooms.store`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hushwire.agent.store import Sealer
from hushwire.datadir import SqliteOutbox, open_sqlite
from hushwire.errors import ConfigError

__all__ = ["Operator", "TeamStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (conv_id TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conns (conn_id TEXT PRIMARY KEY, conv_id TEXT NOT NULL,
                                  member_id BLOB NOT NULL, UNIQUE (conv_id, member_id));
CREATE TABLE IF NOT EXISTS operators (conn_id TEXT PRIMARY KEY, name TEXT NOT NULL,
                                      status TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, conn_id TEXT NOT NULL,
                                   body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS assign (conv_id TEXT PRIMARY KEY, member_id TEXT NOT NULL,
                                   name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS authors (msg_row INTEGER PRIMARY KEY, name TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator as the team inbox knows it: its 1:1 connection, its name and status
    (``invited``: the link is out; ``active``; ``removed``)."""

    conn_id: str
    name: str
    status: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.conn_id, "name": self.name, "status": self.status}


class TeamStore(SqliteOutbox):
    """The team's SQLite file (WAL, synchronous commits), private to the owner."""

    def __init__(self, path: Path) -> None:
        self.db = open_sqlite(path, _SCHEMA)
        self.sealer = Sealer(None)

    def use_sealer(self, sealer: Sealer) -> None:
        """Seal the group states (they hold the kept messages) and the outbox's bodies with
        the agent store's key under an owner passphrase, from now on."""
        self.sealer = sealer

    def opened(self, body: bytes) -> bytes:
        return self.sealer.open(body)

    def _sealed(self, sends: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        return [(conn, self.sealer.seal(body)) for conn, body in sends]

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def remembered_role(path: Path, asked: str | None) -> str | None:
        """The team role of the inbox in ``path``'s directory: the one it was made with
        (``host`` or ``operator``, kept across runs without the option), or ``asked`` for a
        new one. Asking another role than the remembered one is a :class:`ConfigError`."""
        if not path.exists():
            return asked
        db = sqlite3.connect(path)
        try:
            row = db.execute("SELECT v FROM kv WHERE k = 'role'").fetchone()
        except sqlite3.OperationalError:
            row = None
        finally:
            db.close()
        role = None if row is None else json.loads(row[0])
        if role is not None and asked is not None and role != asked:
            what = {"host": "a team inbox (--team)", "operator": "an operator (--join-team)"}
            raise ConfigError(
                f"{path.parent} is {what.get(role, role)}: it cannot become "
                f"{what.get(asked, asked)}; use another --data"
            )
        return role if role is not None else asked

    # --- values

    def get(self, key: str) -> Any:
        row = self.db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, json.dumps(value)))

    # --- groups and their connections

    def group(self, conv_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT state FROM groups WHERE conv_id = ?", (conv_id,)).fetchone()
        if row is None:
            return None
        state = row[0] if isinstance(row[0], str) else self.sealer.open(bytes(row[0]))
        return dict(json.loads(state))

    def has_group(self, conv_id: str) -> bool:
        found = self.db.execute("SELECT 1 FROM groups WHERE conv_id = ?", (conv_id,))
        return found.fetchone() is not None

    def group_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT conv_id FROM groups ORDER BY rowid")]

    def member_of(self, conn_id: str) -> tuple[str, bytes] | None:
        row = self.db.execute(
            "SELECT conv_id, member_id FROM conns WHERE conn_id = ?", (conn_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def conn_of(self, conv_id: str, member_id: bytes) -> str | None:
        row = self.db.execute(
            "SELECT conn_id FROM conns WHERE conv_id = ? AND member_id = ?", (conv_id, member_id)
        ).fetchone()
        return None if row is None else str(row[0])

    def commit(
        self,
        conv_id: str,
        state: dict[str, Any] | None,
        sends: list[tuple[str, bytes]],
        *,
        link: tuple[str, bytes] | None = None,
        unlink: str | None = None,
    ) -> None:
        """One step of conversation ``conv_id``: its new group state (None: forget the
        group), the bodies to send, a connection linked to a member or one forgotten."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if state is None:
                self.db.execute("DELETE FROM groups WHERE conv_id = ?", (conv_id,))
                self.db.execute("DELETE FROM conns WHERE conv_id = ?", (conv_id,))
                self.db.execute("DELETE FROM assign WHERE conv_id = ?", (conv_id,))
            else:
                text = json.dumps(state, separators=(",", ":"))
                stored = self.sealer.seal(text.encode()) if self.sealer.encrypted else text
                self.db.execute("INSERT OR REPLACE INTO groups VALUES (?, ?)", (conv_id, stored))
            if link is not None:
                self.db.execute(
                    "INSERT OR REPLACE INTO conns VALUES (?, ?, ?)", (link[0], conv_id, link[1])
                )
            if unlink is not None:
                self.db.execute("DELETE FROM conns WHERE conn_id = ?", (unlink,))
            self.db.executemany(
                "INSERT INTO outbox (conn_id, body) VALUES (?, ?)", self._sealed(sends)
            )

    def enqueue(self, sends: list[tuple[str, bytes]]) -> None:
        """Bodies to send outside any conversation (to an operator's 1:1 connection)."""
        with self.db:
            self.db.executemany(
                "INSERT INTO outbox (conn_id, body) VALUES (?, ?)", self._sealed(sends)
            )

    # --- operators

    def add_operator(self, conn_id: str, name: str, status: str, now: float) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO operators VALUES (?, ?, ?, ?)", (conn_id, name, status, now)
            )

    def operator(self, conn_id: str) -> Operator | None:
        row = self.db.execute("SELECT * FROM operators WHERE conn_id = ?", (conn_id,)).fetchone()
        return None if row is None else Operator(*row)

    def operators(self) -> list[Operator]:
        rows = self.db.execute("SELECT * FROM operators ORDER BY created_at").fetchall()
        return [Operator(*r) for r in rows]

    # --- assignment and authors

    def assignment(self, conv_id: str) -> tuple[str, str] | None:
        row = self.db.execute(
            "SELECT member_id, name FROM assign WHERE conv_id = ?", (conv_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def set_assignment(self, conv_id: str, member_id: str | None, name: str) -> None:
        with self.db:
            if member_id is None:
                self.db.execute("DELETE FROM assign WHERE conv_id = ?", (conv_id,))
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO assign VALUES (?, ?, ?)", (conv_id, member_id, name)
                )

    def set_author(self, msg_row: int, name: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO authors VALUES (?, ?)", (msg_row, name))

    def authors(self, msg_rows: list[int]) -> dict[int, str]:
        if not msg_rows:
            return {}
        wanted = set(msg_rows)
        low, high = min(wanted), max(wanted)
        rows = self.db.execute(
            "SELECT msg_row, name FROM authors WHERE msg_row BETWEEN ? AND ?", (low, high)
        )
        return {int(r[0]): str(r[1]) for r in rows if int(r[0]) in wanted}
