"""The inbox's own history: ``inbox.sqlite3`` in the data directory.

One row per conversation (the agent's connection id, the visitor's display name, its state
and unread count) and one per message (direction, text, time, delivery state). The agent's
``agent.sqlite3`` stays the source of truth for keys and ratchets; this store holds what the
owner reads. A received message is written here *before* the agent is told to acknowledge
it, so a crash between the two hands it over again and ``agent_msg_id`` (unique) makes the
second write a no-op.

States of a conversation: ``connecting`` (a visitor asked, the handshake is running),
``online`` (the connection is up: messages flow both ways), ``ended`` (the visitor ended
it or its queues are gone; the history is kept until the owner deletes it).

Delivery states of an owner's message: ``pending`` (stored, not yet on the relay), ``sent``
(the relay has it), ``delivered`` (the visitor's agent sent a receipt), ``failed``.

At rest: under an owner passphrase (``--passphrase-env``) visitors' names and message texts
are sealed with the agent store's :class:`~hushwire.agent.store.Sealer` (AES-256-GCM under
the key the agent derives from the passphrase; :meth:`InboxStore.use_sealer`); a verifier
in ``meta`` refuses another key, and a plain history from an earlier version is sealed on
the first start. Search then runs over the opened texts in Python. With or without a
passphrase, ``secure_delete`` zeroes erased rows and free pages, and erasing a
conversation ends with ``wal_checkpoint(TRUNCATE)``: its text survives neither in the
file nor in the WAL.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hushwire.agent.store import Sealer
from hushwire.datadir import db_transaction, open_private_db
from hushwire.errors import ConfigError, CryptoError

SCHEMA_VERSION = 1
NAME_MAX = 100
"""Longest visitor name kept (characters); a longer one is cut."""

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "status TEXT NOT NULL, unread INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, "
    "updated_at REAL NOT NULL)",
    "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conv_id TEXT NOT NULL "
    "REFERENCES conversations(id) ON DELETE CASCADE, direction TEXT NOT NULL, "
    "text TEXT NOT NULL, at REAL NOT NULL, state TEXT NOT NULL, snd_id INTEGER, "
    "agent_msg_id INTEGER, part INTEGER NOT NULL DEFAULT 0, UNIQUE (agent_msg_id, part))",
    "CREATE INDEX messages_conv ON messages (conv_id, id)",
    "CREATE INDEX messages_snd ON messages (conv_id, snd_id)",
)


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    name: str
    status: str
    unread: int
    created_at: float
    updated_at: float
    last_text: str | None
    last_direction: str | None
    last_at: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    conv_id: str
    direction: str
    """``in`` (from the visitor) or ``out`` (the owner's)."""
    text: str
    at: float
    state: str
    """``received`` for ``in``; ``pending``, ``sent``, ``delivered`` or ``failed`` for ``out``."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def clean_name(name: str) -> str:
    """A visitor's display name as shown: printable, at most :data:`NAME_MAX` characters."""
    shown = "".join(c for c in name if c.isprintable()).strip()[:NAME_MAX]
    return shown or "Visitor"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SEAL_CHECK = b"hushwire inbox history v1"
"""Sealed into ``meta`` as ``seal_check``: proves the key at the next start."""


def _fold(text: str) -> str:
    """Case folding as SQLite's LIKE does it: ASCII letters only."""
    return text.translate(_ASCII_LOWER)


_CONV_SELECT = (
    "SELECT c.id, c.name, c.status, c.unread, c.created_at, c.updated_at, "
    "m.text, m.direction, m.at FROM conversations c LEFT JOIN messages m ON m.id = "
    "(SELECT MAX(id) FROM messages WHERE conv_id = c.id)"
)


class InboxStore:
    """SQLite store of conversations and messages; used from one thread (the event loop)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_private_db(path, _SCHEMA, SCHEMA_VERSION)  # owner-only, WAL, FULL
        self._sealer = Sealer(None)

    def close(self) -> None:
        self._db.close()

    def use_sealer(self, sealer: Sealer) -> None:
        """Seal names and texts with ``sealer`` from now on (before anything else is read or
        written). A history sealed with another key, or sealed while ``sealer`` is plain,
        is refused; a plain history is sealed now."""
        check = self._db.execute("SELECT value FROM meta WHERE key = 'seal_check'").fetchone()
        if check is not None:
            try:
                ok = sealer.encrypted and sealer.open(bytes(check[0])) == _SEAL_CHECK
            except CryptoError:
                ok = False
            if not ok:
                raise ConfigError(
                    f"{self.path} is sealed with another passphrase than the one given: "
                    "start with the passphrase it was made with"
                )
            self._sealer = sealer
            return
        if not sealer.encrypted:
            return
        self._sealer = sealer
        with self.transaction():
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('seal_check', ?)",
                (sealer.seal(_SEAL_CHECK),),
            )
            for cid, name in self._db.execute(
                "SELECT id, name FROM conversations WHERE typeof(name) = 'text'"
            ).fetchall():
                self._db.execute(
                    "UPDATE conversations SET name = ? WHERE id = ?", (self._seal(name), cid)
                )
            for mid, text in self._db.execute(
                "SELECT id, text FROM messages WHERE typeof(text) = 'text'"
            ).fetchall():
                self._db.execute(
                    "UPDATE messages SET text = ? WHERE id = ?", (self._seal(text), mid)
                )
        self._checkpoint()

    def _seal(self, text: str) -> str | bytes:
        return self._sealer.seal(text.encode("utf-8")) if self._sealer.encrypted else text

    def _open(self, value: object) -> str:
        if isinstance(value, bytes):
            return self._sealer.open(value).decode("utf-8")
        return str(value)

    def _conv(self, row: Any) -> Conversation:
        r = list(row)
        r[1] = self._open(r[1])
        if r[6] is not None:
            r[6] = self._open(r[6])
        return Conversation(*r)

    def _msg(self, row: Any) -> Message:
        r = list(row)
        r[3] = self._open(r[3])
        return Message(*r)

    def _checkpoint(self) -> None:
        """Move the WAL into the file and empty it, so erased text is not left in it."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def transaction(self) -> AbstractContextManager[None]:
        return db_transaction(self._db)

    # -------------------------------------------------------------- conversations

    def upsert_conversation(self, conv_id: str, name: str | None, status: str, now: float) -> bool:
        """Create the conversation or update its state (and its name when given); True if
        it was created."""
        row = self._db.execute(
            "SELECT status FROM conversations WHERE id = ?", (conv_id,)
        ).fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO conversations (id, name, status, unread, created_at, updated_at) "
                "VALUES (?, ?, ?, 0, ?, ?)",
                (conv_id, self._seal(clean_name(name or "")), status, now, now),
            )
            return True
        if name is not None:
            self._db.execute(
                "UPDATE conversations SET name = ? WHERE id = ?",
                (self._seal(clean_name(name)), conv_id),
            )
        if row[0] != "ended" or status == "ended":
            self._db.execute(
                "UPDATE conversations SET status = ?, updated_at = ? WHERE id = ?",
                (status, now, conv_id),
            )
        return False

    def set_status(self, conv_id: str, status: str, now: float) -> bool:
        cur = self._db.execute(
            "UPDATE conversations SET status = ?, updated_at = ? WHERE id = ? AND status != ?",
            (status, now, conv_id, status),
        )
        return cur.rowcount > 0

    def conversation(self, conv_id: str) -> Conversation | None:
        row = self._db.execute(_CONV_SELECT + " WHERE c.id = ?", (conv_id,)).fetchone()
        return self._conv(row) if row else None

    def conversations(self) -> list[Conversation]:
        rows = self._db.execute(
            _CONV_SELECT + " ORDER BY COALESCE(m.at, c.updated_at) DESC, c.created_at DESC"
        ).fetchall()
        return [self._conv(r) for r in rows]

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def conversation_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM conversations")}

    def find_conversations(self, prefix: str) -> list[str]:
        """Ids starting with ``prefix`` (what the terminal commands accept)."""
        rows = self._db.execute(
            "SELECT id FROM conversations WHERE substr(id, 1, ?) = ?", (len(prefix), prefix)
        )
        return [r[0] for r in rows]

    def mark_read(self, conv_id: str) -> bool:
        cur = self._db.execute(
            "UPDATE conversations SET unread = 0 WHERE id = ? AND unread != 0", (conv_id,)
        )
        return cur.rowcount > 0

    def delete_conversation(self, conv_id: str) -> bool:
        """Erase the conversation and its whole history."""
        with self.transaction():
            self._db.execute("DELETE FROM messages WHERE conv_id = ?", (conv_id,))
            cur = self._db.execute("DELETE FROM conversations WHERE id = ?", (conv_id,))
        self._checkpoint()
        return cur.rowcount > 0

    # -------------------------------------------------------------- messages

    def add_incoming(
        self,
        conv_id: str,
        agent_msg_id: int,
        part: int,
        text: str,
        now: float,
        *,
        direction: str = "in",
    ) -> Message | None:
        """Store a received message (``part`` of a batch); None if it was stored before. A
        team's message written by another operator is received as ``out`` (no unread)."""
        with self.transaction():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO messages (conv_id, direction, text, at, state, "
                "agent_msg_id, part) VALUES (?, ?, ?, ?, 'received', ?, ?)",
                (conv_id, direction, self._seal(text), now, agent_msg_id, part),
            )
            if cur.rowcount == 0:
                return None
            self._db.execute(
                "UPDATE conversations SET unread = unread + ?, updated_at = ? WHERE id = ?",
                (int(direction == "in"), now, conv_id),
            )
        assert cur.lastrowid is not None
        return Message(cur.lastrowid, conv_id, direction, text, now, "received")

    def add_outgoing(self, conv_id: str, snd_id: int, text: str, now: float) -> Message:
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO messages (conv_id, direction, text, at, state, snd_id) "
                "VALUES (?, 'out', ?, ?, 'pending', ?)",
                (conv_id, self._seal(text), now, snd_id),
            )
            self._db.execute(
                "UPDATE conversations SET unread = 0, updated_at = ? WHERE id = ?",
                (now, conv_id),
            )
        assert cur.lastrowid is not None
        return Message(cur.lastrowid, conv_id, "out", text, now, "pending")

    def set_delivery(self, conv_id: str, snd_id: int, state: str) -> Message | None:
        """Move an owner's message forward (pending -> sent -> delivered); never back."""
        order = {"pending": 0, "sent": 1, "failed": 1, "delivered": 2}
        row = self._db.execute(
            "SELECT id, state FROM messages WHERE conv_id = ? AND snd_id = ? AND direction = 'out'",
            (conv_id, snd_id),
        ).fetchone()
        if row is None or order.get(row[1], 0) >= order[state]:
            return None
        self._db.execute("UPDATE messages SET state = ? WHERE id = ?", (state, row[0]))
        return self.message(row[0])

    def message(self, msg_id: int) -> Message | None:
        row = self._db.execute(
            "SELECT id, conv_id, direction, text, at, state FROM messages WHERE id = ?", (msg_id,)
        ).fetchone()
        return self._msg(row) if row else None

    def messages(self, conv_id: str) -> list[Message]:
        rows = self._db.execute(
            "SELECT id, conv_id, direction, text, at, state FROM messages WHERE conv_id = ? "
            "ORDER BY id",
            (conv_id,),
        )
        return [self._msg(r) for r in rows]

    def search(self, text: str, limit: int = 100) -> list[tuple[Message, str]]:
        """Messages whose text contains ``text`` (case-insensitive for ASCII), newest first,
        each with its conversation's name."""
        # Over the opened texts (sealed ones cannot be matched in SQL), newest first.
        needle = _fold(text)
        rows = self._db.execute(
            "SELECT m.id, m.conv_id, m.direction, m.text, m.at, m.state, c.name FROM messages m "
            "JOIN conversations c ON c.id = m.conv_id ORDER BY m.id DESC"
        )
        found: list[tuple[Message, str]] = []
        for r in rows:
            msg = self._msg(r[:6])
            if needle in _fold(msg.text):
                found.append((msg, self._open(r[6])))
                if len(found) >= limit:
                    break
        return found
