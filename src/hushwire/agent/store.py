"""The agent's durable store: connections, queues, ratchets and messages in one SQLite file.

Everything secret (private keys, per-queue secrets, ratchet states, message bodies and the
peers' profiles) is *sealed* before it is written: with an owner passphrase, AES-256-GCM
under a key derived with scrypt (salt and a verifier kept in the ``meta`` table); without
one, as is, in a file created with mode 0600. Ids used to route messages (recipient queue
ids, connection ids) stay in the clear so messages can be dispatched without unsealing.

Theory of operation: each connection's whole state (:class:`ConnState`) is one sealed JSON
document, rewritten in the same transaction as whatever the step produced (a received
message, an outgoing message ready to send). So a ratchet step, the message it decrypted
and the counters of the hash chain are committed together, before the relay gets the ACK:
a crash neither loses a message nor decrypts one twice. A commit counts as done once the
write-ahead log is fsynced after it (:meth:`AgentStore._sync_log`): SQLite runs in WAL mode
with ``synchronous=NORMAL`` (its COMMIT writes the log without syncing it; checkpoints still
sync) and the store syncs the log itself, which makes a commit survive power loss as
``synchronous=FULL`` would.

*Migrations.* A field added to :class:`ConnState` has a default and lives inside the sealed
JSON document, so a state written before it existed loads with the default (the short link
fields of a contact address made before short links: no short link). The recent message
hashes (``seen``) are written as one base64 string of the concatenated hashes; the list of
strings written before still loads. Only a change of the SQL tables bumps
:data:`SCHEMA_VERSION`.

*Memory view.* The state of every connection written or read is also kept in memory (the
last version written, committed or about to be), and so is the queue -> connection index:
:meth:`AgentStore.load` hands out a copy without touching SQLite. A step that fails and rolls
back drops the whole memory view, which is then read again from SQLite.

*Group commit.* By default every :meth:`AgentStore.transaction` commits on exit. An agent
running on an event loop calls :meth:`AgentStore.defer_commits`: from then on each
transaction is a savepoint inside one open SQLite transaction (all or nothing per step, as
before), committed for every connection at once and synced off the loop when someone awaits
:meth:`AgentStore.durable` (:mod:`hushwire.agent.groupcommit` decides when).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hushwire.agent.groupcommit import GroupCommit
from hushwire.errors import ConfigError, CryptoError, DecodeError, HushwireError

SCHEMA_VERSION: Final = 1

_SCHEMA: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE connections (conn_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
    "status TEXT NOT NULL, state BLOB NOT NULL, created_at INTEGER NOT NULL, "
    "updated_at INTEGER NOT NULL)",
    "CREATE TABLE rcv_index (server TEXT NOT NULL, rcv_id BLOB NOT NULL, "
    "conn_id TEXT NOT NULL, PRIMARY KEY (server, rcv_id))",
    "CREATE INDEX rcv_index_conn ON rcv_index (conn_id)",
    "CREATE TABLE snd_messages (conn_id TEXT NOT NULL, snd_id INTEGER NOT NULL, "
    "kind TEXT NOT NULL, msg_hash BLOB NOT NULL, body BLOB NOT NULL, "
    "status TEXT NOT NULL, receipt TEXT, created_at INTEGER NOT NULL, "
    "PRIMARY KEY (conn_id, snd_id))",
    "CREATE TABLE rcv_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "conn_id TEXT NOT NULL, peer_snd_id INTEGER NOT NULL, msg_hash BLOB NOT NULL, "
    "body BLOB NOT NULL, integrity TEXT NOT NULL, app_acked INTEGER NOT NULL DEFAULT 0, "
    "created_at INTEGER NOT NULL)",
    "CREATE INDEX rcv_messages_conn ON rcv_messages (conn_id, app_acked)",
)

SCRYPT_N: Final = 2**15
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_VERIFIER: Final = b"hushwire agent store v1"
log = logging.getLogger("hushwire.agent")


class StoreLockedError(HushwireError):
    """The store is sealed with a passphrase that was not given or is wrong."""


class Sealer:
    """Seals and opens secret blobs (AES-256-GCM with a passphrase, else identity)."""

    def __init__(self, key: bytes | None) -> None:
        self._aead = AESGCM(key) if key is not None else None

    @property
    def encrypted(self) -> bool:
        return self._aead is not None

    def seal(self, data: bytes) -> bytes:
        if self._aead is None:
            return data
        nonce = os.urandom(12)
        return b"\x01" + nonce + self._aead.encrypt(nonce, data, None)

    def open(self, blob: bytes) -> bytes:
        if self._aead is None or not blob:
            return blob  # plain, or a body erased once it was no longer needed
        if len(blob) < 29 or blob[0] != 1:
            raise CryptoError()
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], None)
        except InvalidTag:
            raise CryptoError() from None


def _b64(b: bytes) -> str:
    return binascii.b2a_base64(b, newline=False).decode("ascii")


_HASH_LEN: Final = 32
"""Length of the SHA-256 hashes in ``ConnState.seen`` (stored as one base64 string)."""


def _enc(v: Any) -> Any:
    """A stored value as JSON: bytes as ``{"b": base64}``, a queue as an object of its fields."""
    t = type(v)
    if t is bytes:
        return {"b": _b64(v)}
    if t is RcvQueueState or t is SndQueueState:
        return {k: {"b": _b64(x)} if type(x) is bytes else x for k, x in vars(v).items()}
    return v


_T = TypeVar("_T")


def _shallow(obj: _T) -> _T:
    """A shallow copy of a plain (non-slotted) dataclass instance, without ``copy.copy``'s
    generic machinery (states are copied several times per message)."""
    new: _T = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def _unb64(s: str) -> bytes:
    return base64.b64decode(s.encode("ascii"), validate=True)


@dataclass
class RcvQueueState:
    """A queue this agent receives on."""

    server: str
    """The relay's address (``smp://...``), as the key of the client that serves it."""
    rcv_id: bytes
    snd_id: bytes
    rcv_auth_key: bytes
    """Recipient auth private key, PKCS#8 DER (Ed25519)."""
    rcv_dh_key: bytes
    """Private X25519 key for the server-to-recipient layer (PKCS#8 DER)."""
    srv_dh_key: bytes
    """The relay's X25519 public key from IDS (SPKI DER)."""
    e2e_key: bytes
    """Private X25519 key whose public half is the queue's ``dh=`` in links (PKCS#8 DER)."""
    mode: str
    """``M`` (messaging: the sender secures it) or ``C`` (contact)."""
    e2e_shared: bytes | None = None
    """Per-queue box key, set by the peer's first confirmation."""
    secured: bool = False
    replaces: bytes | None = None
    """Queue rotation: the recipient id of the queue this new one replaces."""


@dataclass
class SndQueueState:
    """The peer's queue this agent sends to."""

    server: str
    snd_id: bytes
    peer_e2e_key: bytes
    """The queue's ``dh=`` public key (SPKI DER)."""
    mode: str
    snd_auth_key: bytes
    """Our sender auth private key (PKCS#8 DER, Ed25519)."""
    own_e2e_key: bytes
    """Our per-queue X25519 private key, sent once in the confirmation's PubHeader."""
    secured: bool = False
    confirmed: bool = False
    """Our confirmation (or invitation) went out on it."""


@dataclass
class ConnState:
    """Everything the agent knows about one connection (sealed as JSON)."""

    conn_id: str
    kind: str
    """``contact`` (an address we own), ``invitation`` (a one-time link we made), ``duplex``."""
    role: str
    """``initiator`` (made the invitation) or ``joiner`` (used it)."""
    status: str
    agent_version: int = 0
    rcv: list[RcvQueueState] = field(default_factory=list)
    snd: SndQueueState | None = None
    ratchet: bytes | None = None
    """Ratchet state (``Ratchet.to_json()``)."""
    x3dh_keys: tuple[bytes, bytes] | None = None
    """Initiator: our two X448 private keys until the peer's confirmation arrives."""
    own_info: bytes = b""
    peer_info: bytes = b""
    link: str = ""
    """For contact addresses and invitations: the link to give out."""
    slow: bool = False
    """The handshake takes the KEY + HELLO path."""
    last_snd_id: int = 0
    last_snd_hash: bytes = b""
    last_rcv_id: int = 0
    last_rcv_hash: bytes = b""
    created_at: int = 0
    seen: list[bytes] = field(default_factory=list)
    """SHA-256 of the most recent encrypted agent messages received, to recognise a
    redelivery (a relay delivers again what was not acknowledged) before the ratchet."""
    short_link: str = ""
    """For a contact address made on an SMP v15+ relay: its short link (``https://.../a#...``)."""
    link_root_key: bytes = b""
    """The short link's root private key (PKCS#8 DER, Ed25519): signs new user data."""
    link_id: bytes = b""
    """The link id the relay stores the link data under (``LSET`` names it)."""
    link_enc_fixed: bytes = b""
    """The encrypted fixed link data, sent unchanged with every ``LSET``."""
    link_data: bytes = b""
    """The user data last published (the profile JSON apps show before joining)."""
    ratchet_sync: str = "ok"
    """Ratchet re-synchronisation state (:class:`hushwire.agent.machine.SyncState`)."""
    sync_keys: tuple[bytes, bytes] | None = None
    """Our two X448 private keys (PKCS#8 DER) of a re-sync we started, until agreed."""
    ratchet_key_hashes: list[bytes] = field(default_factory=list)
    """Hashes of the peer's AgentRatchetKey keys already processed (the most recent ones)."""
    snd_next: SndQueueState | None = None
    """Queue rotation by the peer: the queue that replaces ``snd`` (from its QADD)."""
    snd_next_from: int = 0
    """The first message id sealed for and sent to ``snd_next`` (its QTEST); 0 before QUSE."""
    snd_switch: str = "none"
    """Rotation of our send queue (:class:`hushwire.agent.machine.SwitchStatus`)."""
    rcv_switch: str = "none"
    """Rotation of our receive queue (:class:`hushwire.agent.machine.SwitchStatus`)."""

    def to_json(self) -> bytes:
        # vars() of a dataclass lists the fields in their order (set by __init__)
        obj = {}
        for k, v in vars(self).items():
            t = type(v)
            if t is bytes:
                v = {"b": _b64(v)}
            elif t is list or t is tuple:
                if k == "seen" and all(len(h) == _HASH_LEN for h in v):
                    # One base64 string of the concatenated hashes (a list of them before).
                    v = {"b": _b64(b"".join(v))}
                else:
                    v = [_enc(x) for x in v]
            elif t is RcvQueueState or t is SndQueueState:
                v = _enc(v)
            obj[k] = v
        return json.dumps(obj, separators=(",", ":")).encode()

    def queue_for(self, snd_id: int) -> SndQueueState | None:
        """The send queue message ``snd_id`` is sealed for and sent to: during a rotation
        by the peer, from its QTEST on, the new queue; otherwise the current one."""
        if self.snd_next is not None and 0 < self.snd_next_from <= snd_id:
            return self.snd_next
        return self.snd

    def copy(self) -> ConnState:
        """An independent copy (queues and lists copied; bytes are immutable)."""
        c = _shallow(self)
        c.rcv = [_shallow(q) for q in self.rcv]
        c.snd = None if self.snd is None else _shallow(self.snd)
        c.snd_next = None if self.snd_next is None else _shallow(self.snd_next)
        c.seen = list(self.seen)
        c.ratchet_key_hashes = list(self.ratchet_key_hashes)
        return c

    @classmethod
    def from_json(cls, data: bytes) -> ConnState:
        def dec(v: Any) -> Any:
            if isinstance(v, dict) and set(v) == {"b"}:
                return _unb64(v["b"])
            if isinstance(v, list):
                return [dec(x) for x in v]
            return v

        obj = {k: dec(v) for k, v in json.loads(data).items()}
        seen = obj.get("seen")
        if isinstance(seen, bytes):
            if len(seen) % _HASH_LEN:
                raise DecodeError("stored message hashes of a wrong length")
            obj["seen"] = [seen[i : i + _HASH_LEN] for i in range(0, len(seen), _HASH_LEN)]
        obj["rcv"] = [RcvQueueState(**{k: dec(v) for k, v in q.items()}) for q in obj["rcv"]]
        for name in ("snd", "snd_next"):
            if obj.get(name) is not None:
                obj[name] = SndQueueState(**{k: dec(v) for k, v in obj[name].items()})
        for name in ("x3dh_keys", "sync_keys"):
            if obj.get(name) is not None:
                obj[name] = tuple(obj[name])
        return cls(**obj)


@dataclass(frozen=True, slots=True)
class SndMessage:
    conn_id: str
    snd_id: int
    kind: str
    msg_hash: bytes
    body: bytes
    """The SMP SEND body, encrypted and ready to go."""
    status: str
    receipt: str | None


@dataclass(frozen=True, slots=True)
class RcvMessage:
    id: int
    conn_id: str
    peer_snd_id: int
    msg_hash: bytes
    body: bytes
    integrity: str
    created_at: int


_M = TypeVar("_M", SndMessage, RcvMessage)

_SELECT: Final[dict[type, str]] = {
    SndMessage: "SELECT conn_id, snd_id, kind, msg_hash, body, status, receipt FROM snd_messages ",
    RcvMessage: "SELECT id, conn_id, peer_snd_id, msg_hash, body, integrity, created_at "
    "FROM rcv_messages ",
}
"""The columns of each stored message record, in the order of its fields."""
_NAMES: Final[dict[type, tuple[str, ...]]] = {r: tuple(f.name for f in fields(r)) for r in _SELECT}


class AgentStore:
    """SQLite store of one agent (one owner or one visitor)."""

    def __init__(self, path: Path, passphrase: str | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        if new:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        self._states: dict[str, ConnState] = {}
        """Memory view: the last state written or read of each connection (see above)."""
        self._index: dict[tuple[str, bytes], str] = {}
        self._deferred = False
        self._unit = False
        """A step (transaction) is open."""
        self._dir_synced = False
        self.group = GroupCommit(
            batch_open=lambda: self._db.in_transaction,
            commit=lambda: self._commit(),
            rollback=self._rollback_batch,
            sync=lambda checkpoint: self._sync_then_checkpoint(checkpoint),
        )
        """When commits are made and synced (its ``commits`` and ``syncs`` count them)."""
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # The commit's fsync of the log is done by _sync_log (on a thread for group commits).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        # Erased rows are overwritten with zeros, not left in free pages (issue 16, B5).
        self._db.execute("PRAGMA secure_delete=ON")
        self._checkpoint_due = False
        """A connection was deleted: after the next commit, fold the WAL into the database
        and truncate it, so the erased keys and bodies do not linger in old WAL frames."""
        if new or not self._has_schema():
            with self.transaction():
                for stmt in _SCHEMA:
                    self._db.execute(stmt)
                self._set_meta("schema_version", str(SCHEMA_VERSION).encode())
                if passphrase:
                    new_salt = os.urandom(16)
                    self._set_meta("scrypt_salt", new_salt)
                    sealer = Sealer(_derive(passphrase, new_salt))
                    self._set_meta("verifier", sealer.seal(_VERIFIER))
        version = int(self._meta("schema_version") or b"0")
        if version != SCHEMA_VERSION:
            raise ConfigError(
                f"{path} was written by another version of Hushwire (schema {version}); "
                "use that version or restore a backup"
            )
        self.sealer: Sealer
        salt = self._meta("scrypt_salt")
        if salt is None:
            if passphrase:
                raise ConfigError(
                    f"{path} has no passphrase; start without --passphrase (or move the data "
                    "directory away to start over with one)"
                )
            self.sealer = Sealer(None)
        else:
            if not passphrase:
                raise StoreLockedError(f"{path} is protected by a passphrase: give it")
            self.sealer = Sealer(_derive(passphrase, salt))
            try:
                ok = self.sealer.open(self._meta("verifier") or b"") == _VERIFIER
            except CryptoError:
                ok = False
            if not ok:
                raise StoreLockedError("wrong passphrase for the agent store")

    def _has_schema(self) -> bool:
        row = self._db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        return row is not None

    def _meta(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def _set_meta(self, key: str, value: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def commits(self) -> int:
        """Commits made (a group commit counts once): for tests and benchmarks."""
        return self.group.commits

    def close(self) -> None:
        if self._deferred:
            self.group.close()
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic step (nested calls join the outer one): durable on exit, or, once
        :meth:`defer_commits` was called, at the next group commit (:meth:`durable`)."""
        if self._unit:
            yield
            return
        deferred = self._deferred
        if deferred:
            # A savepoint inside the open batch: undone alone, committed with the batch.
            if not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("SAVEPOINT step")
            undo: tuple[str, ...] = ("ROLLBACK TO step", "RELEASE step")
        else:
            self._db.execute("BEGIN IMMEDIATE")
            undo = ("ROLLBACK",)
        self._unit = True
        try:
            yield
        except BaseException:
            for sql in undo:
                self._db.execute(sql)
            self._forget()
            raise
        finally:
            self._unit = False
        if deferred:
            self._db.execute("RELEASE step")
        else:
            self.group.commit_now()

    def defer_commits(self) -> None:
        """Group commit from now on (call on the event loop that will await :meth:`durable`)."""
        self._deferred = True
        # Checkpoints are run by the log sync's thread from now on (_sync_then_checkpoint).
        self._db.execute("PRAGMA wal_autocheckpoint=0")

    async def durable(self) -> None:
        """Return once everything written so far is committed and on disk (at once if it is).

        Raises the commit's error if the group commit failed (nothing of it is kept)."""
        await self.group.durable()

    async def committed(self) -> None:
        """Return once everything written so far is committed, not waiting for the log sync
        (safe from a killed process, not yet from a power loss)."""
        await self.group.committed()

    def _rollback_batch(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
        self._forget()

    def _sync_then_checkpoint(self, checkpoint: bool) -> None:
        """On the worker thread: sync the log; if asked, copy it into the database (a
        PASSIVE checkpoint on a connection of this call's own, which does not hold up the
        loop's connection), so the log does not grow without end."""
        self._sync_log()
        if not checkpoint:
            return
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                db.close()
        except sqlite3.Error as e:  # the commits are on disk all the same; retried later
            log.warning("agent store: checkpoint failed: %s", e)

    def _commit(self) -> None:
        """COMMIT: its log is written, not yet synced (:meth:`_sync_log` makes it durable)."""
        self._db.execute("COMMIT")
        if self._checkpoint_due:
            self._checkpoint_due = False
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def _sync_log(self) -> None:
        """fsync the write-ahead log (and once its directory): what was committed before is
        then as durable as a ``synchronous=FULL`` commit. Touches no SQLite object, so it
        runs on a worker thread while the loop goes on."""
        try:
            fd = os.open(f"{self.path}-wal", os.O_RDONLY)
        except FileNotFoundError:  # pragma: no cover - the log exists while we are open
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if not self._dir_synced:
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._dir_synced = True

    def _forget(self) -> None:
        """Drop the memory view (after a rollback it may be ahead of SQLite)."""
        self._states.clear()
        self._index.clear()

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str) -> bytes | None:
        blob = self._meta("setting:" + key)
        return None if blob is None else self.sealer.open(blob)

    def set_setting(self, key: str, value: bytes) -> None:
        with self.transaction():
            self._set_meta("setting:" + key, self.sealer.seal(value))

    # ------------------------------------------------------------------ connections

    def save(self, st: ConnState, now: int) -> None:
        """Insert or replace a connection and index its receive queues."""
        old = self._states.get(st.conn_id)
        with self.transaction():
            self._db.execute(
                "INSERT INTO connections (conn_id, kind, status, state, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (conn_id) DO UPDATE SET kind=excluded."
                "kind, status=excluded.status, state=excluded.state, updated_at=excluded."
                "updated_at",
                (st.conn_id, st.kind, st.status, self.sealer.seal(st.to_json()), now, now),
            )
            queues = [(q.server, q.rcv_id) for q in st.rcv]
            if old is None or [(q.server, q.rcv_id) for q in old.rcv] != queues:
                for q in [] if old is None else old.rcv:
                    self._index.pop((q.server, q.rcv_id), None)
                self._db.execute("DELETE FROM rcv_index WHERE conn_id=?", (st.conn_id,))
                for q in st.rcv:
                    self._db.execute(
                        "INSERT OR REPLACE INTO rcv_index (server, rcv_id, conn_id) "
                        "VALUES (?, ?, ?)",
                        (q.server, q.rcv_id, st.conn_id),
                    )
                    self._index[(q.server, q.rcv_id)] = st.conn_id
            self._states[st.conn_id] = st.copy()

    def load(self, conn_id: str) -> ConnState | None:
        """A copy of the connection's state (from memory once read or written)."""
        st = self.peek(conn_id)
        return None if st is None else st.copy()

    def peek(self, conn_id: str) -> ConnState | None:
        """The connection's state in the memory view itself, to read only (never change it:
        change a copy from :meth:`load` and :meth:`save` it)."""
        st = self._states.get(conn_id)
        if st is None:
            row = self._db.execute(
                "SELECT state FROM connections WHERE conn_id=?", (conn_id,)
            ).fetchone()
            if row is None:
                return None
            st = ConnState.from_json(self.sealer.open(bytes(row[0])))
            self._states[conn_id] = st
        return st

    def all_connections(self) -> list[ConnState]:
        rows = self._db.execute(
            "SELECT conn_id, state FROM connections ORDER BY created_at"
        ).fetchall()
        out = []
        for conn_id, blob in rows:
            st = self._states.get(str(conn_id))
            if st is None:
                st = self._states[str(conn_id)] = ConnState.from_json(self.sealer.open(bytes(blob)))
            out.append(st.copy())
        return out

    def conn_for_queue(self, server: str, rcv_id: bytes) -> str | None:
        conn_id = self._index.get((server, rcv_id))
        if conn_id is not None:
            return conn_id
        row = self._db.execute(
            "SELECT conn_id FROM rcv_index WHERE server=? AND rcv_id=?", (server, rcv_id)
        ).fetchone()
        if row is None:
            return None
        self._index[(server, rcv_id)] = str(row[0])
        return str(row[0])

    def delete_connection(self, conn_id: str) -> None:
        with self.transaction():
            for table in ("connections", "rcv_index", "snd_messages", "rcv_messages"):
                self._db.execute(f"DELETE FROM {table} WHERE conn_id=?", (conn_id,))  # noqa: S608
            self._states.pop(conn_id, None)
            for k in [k for k, v in self._index.items() if v == conn_id]:
                del self._index[k]
            self._checkpoint_due = True

    # ------------------------------------------------------------------ messages

    def add_snd_message(self, m: SndMessage, now: int) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO snd_messages (conn_id, snd_id, kind, msg_hash, body, status, "
                "receipt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    m.conn_id,
                    m.snd_id,
                    m.kind,
                    m.msg_hash,
                    self.sealer.seal(m.body),
                    m.status,
                    m.receipt,
                    now,
                ),
            )

    def pending_snd_messages(self, conn_id: str | None = None) -> list[SndMessage]:
        where = "WHERE status='pending'"
        args: tuple[str, ...] = ()
        if conn_id is not None:
            where += " AND conn_id=?"
            args = (conn_id,)
        return self._messages(SndMessage, where + " ORDER BY conn_id, snd_id", args)

    def _messages(self, record: type[_M], where: str, args: tuple[Any, ...] = ()) -> list[_M]:
        """The stored messages of ``record``'s table that ``where`` selects, their sealed
        bodies opened (the columns are named and ordered as the record's fields)."""
        rows = self._db.execute(_SELECT[record] + where, args).fetchall()
        names = _NAMES[record]
        found = []
        for row in rows:
            values = dict(zip(names, row, strict=True))
            values["body"] = self.sealer.open(bytes(values["body"]))
            found.append(record(**values))
        return found

    def next_snd_message(self, conn_id: str) -> SndMessage | None:
        """The oldest pending message of the connection (the next to send)."""
        where = "WHERE status='pending' AND conn_id=? ORDER BY snd_id LIMIT 1"
        found = self._messages(SndMessage, where, (conn_id,))
        return found[0] if found else None

    def set_snd_status(self, conn_id: str, snd_id: int, status: str) -> None:
        with self.transaction():
            # The encrypted body is no longer needed once the relay has it.
            self._db.execute(
                "UPDATE snd_messages SET status=?1, body=CASE WHEN ?1='sent' THEN x'' "
                "ELSE body END WHERE conn_id=?2 AND snd_id=?3",
                (status, conn_id, snd_id),
            )

    def snd_message_hash(self, conn_id: str, snd_id: int) -> tuple[str, bytes] | None:
        row = self._db.execute(
            "SELECT kind, msg_hash FROM snd_messages WHERE conn_id=? AND snd_id=?",
            (conn_id, snd_id),
        ).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def set_receipt(self, conn_id: str, snd_id: int, receipt: str) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE snd_messages SET receipt=? WHERE conn_id=? AND snd_id=?",
                (receipt, conn_id, snd_id),
            )

    def add_rcv_message(
        self,
        conn_id: str,
        peer_snd_id: int,
        msg_hash: bytes,
        body: bytes,
        integrity: str,
        now: int,
    ) -> int:
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO rcv_messages (conn_id, peer_snd_id, msg_hash, body, integrity, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (conn_id, peer_snd_id, msg_hash, self.sealer.seal(body), integrity, now),
            )
            assert cur.lastrowid is not None
            return int(cur.lastrowid)

    def unacked_rcv_messages(self) -> list[RcvMessage]:
        return self._messages(RcvMessage, "WHERE app_acked=0 ORDER BY id")

    def rcv_message(self, msg_id: int) -> RcvMessage | None:
        found = self._messages(RcvMessage, "WHERE id=?", (msg_id,))
        return found[0] if found else None

    def ack_rcv_message(self, msg_id: int) -> None:
        """The application has the message: its body is no longer kept here."""
        with self.transaction():
            self._db.execute("UPDATE rcv_messages SET app_acked=1, body=x'' WHERE id=?", (msg_id,))


def _derive(passphrase: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        passphrase.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=128 * 1024 * 1024,
        dklen=32,
    )
