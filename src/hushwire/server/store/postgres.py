"""The PostgreSQL store backend: the memory mirror, group-committed into a PostgreSQL database.

:class:`PostgresStore` is the :class:`~hushwire.server.store.contract.QueueStore` a relay runs
with ``--store postgresql://...``: the memory mirror of ``hushwire.server.store.mirror`` (the
same one SQLite uses) over a journal that turns each batch of changes into one PostgreSQL
transaction, through the asyncpg driver on the event loop. It stands for simplexmq's
``Server.QueueStore.Postgres`` with ``Server.MsgStore.Postgres``; see docs/architecture.md and
docs/relay.md.

*Why a mirror, and what it costs.* The contract's reads (``get_by_*``, ``peek``,
``queue_size``) are synchronous and every decision (id collisions, quota, which message is the
head) is taken in memory against the intended view, so this backend keeps exactly the
semantics, and passes exactly the tests, of the SQLite one, and PostgreSQL only sees batched
writes. The price: **one relay process owns a database at a time**, as with SQLite. The
store takes a session-level advisory lock on open (waiting up to :data:`OWNER_LOCK_WAIT` for a
crashed predecessor's session to end) and a second relay on the same database is refused with
:class:`~hushwire.server.store.contract.StoreError`. Several processes serving one address use
``hushwire.server.store.cluster`` instead, which decides in the database, on the same schema
(:func:`migrate`), holding the same lock shared.

*Driver.* asyncpg, on the event loop (no thread): for this store's pattern (small
transactions of batched inserts and deletes of ~200-byte rows) it measured the least client
CPU per transaction of the drivers tried: about 0.75 ms for 64 inserts + 64 deletes against
1.4-2.6 ms for psycopg 3 (sync, sync pipelined or async pipelined), 0.5-0.7 ms against
0.7-1.4 ms for 16 + 16, and about the same for one row; wall time is the commit's WAL flush
for all of them.

*Durability.* A batch is one transaction, committed with ``synchronous_commit = on`` (set
for the session whatever the server default is): a mutation's awaitable returns only after
PostgreSQL has flushed its WAL record, so it survives a crash of the relay, of PostgreSQL or
of the machine, provided the server runs with ``fsync`` on.

*Schema.* Versioned by :data:`MIGRATIONS`: migration ``n`` (1-based) brings the database from
version ``n - 1`` to ``n``; the ``schema_version`` table records each one applied. On open, the
missing ones run in one transaction; a database newer than this code is refused.

*Failures.* A failed batch is rolled back, its callers (and those queued behind it) get
``StoreError`` and the mirror forgets their intended changes. If the connection was lost, the
next batch reconnects (and takes the lock again), so a PostgreSQL restart costs the writes in
flight, not the relay. If a COMMIT was sent but its answer lost, the database may hold a
batch memory does not: memory is then *behind* the database, never ahead (at worst a message
the sender was told failed is delivered after a restart; never a loss).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import asyncpg

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

__all__ = [
    "INSERT_QUEUE",
    "LOCK_KEY",
    "MIGRATIONS",
    "PG_SCHEMA_VERSION",
    "SESSION_SETTINGS",
    "UPDATE_QUEUE",
    "PostgresStore",
    "migrate",
    "redact_dsn",
    "scrub",
]

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 1: queues and their message FIFOs (``seq`` orders every entry of the store).
    (
        """CREATE TABLE queues (
            recipient_id bytea PRIMARY KEY,
            sender_id bytea NOT NULL UNIQUE,
            recipient_keys bytea[] NOT NULL,
            rcv_dh_secret bytea NOT NULL,
            sender_key bytea,
            queue_mode text,
            status text NOT NULL,
            notifier_id bytea UNIQUE,
            ntf_key bytea,
            rcv_ntf_dh_secret bytea,
            link_id bytea UNIQUE,
            link_fixed_data bytea,
            link_user_data bytea,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL
        )""",
        """CREATE TABLE messages (
            seq bigint PRIMARY KEY,
            recipient_id bytea NOT NULL REFERENCES queues ON DELETE CASCADE,
            msg_id bytea NOT NULL,
            ts bigint NOT NULL,
            notification boolean NOT NULL,
            is_quota boolean NOT NULL,
            body bytea NOT NULL
        )""",
        "CREATE INDEX messages_by_queue ON messages (recipient_id, seq)",
    ),
    # 2: the cluster (hushwire.server.store.cluster): message sequence numbers from the
    # database, the identity the nodes share, and the decisions taken under the queue's row
    # lock, each announcing its change on the change stream (channel "hushwire").
    (
        "CREATE SEQUENCE hw_msg_seq",
        "SELECT setval('hw_msg_seq', coalesce((SELECT max(seq) FROM messages), 0) + 1, false)",
        "ALTER TABLE messages ALTER COLUMN seq SET DEFAULT nextval('hw_msg_seq')",
        """CREATE TABLE cluster_identity (
            one boolean PRIMARY KEY CHECK (one),
            key_hash bytea NOT NULL
        )""",
        # writeMsg: the quota rule of hushwire.server.store.contract.quota_decision.
        """CREATE FUNCTION hw_write(p_rid bytea, p_msg_id bytea, p_ts bigint, p_ntf boolean,
                p_body bytea, p_quota integer, p_tag text) RETURNS text
            LANGUAGE plpgsql AS $$
        DECLARE
            n bigint;
            last_quota boolean;
            s bigint;
        BEGIN
            PERFORM 1 FROM queues WHERE recipient_id = p_rid FOR UPDATE;
            IF NOT FOUND THEN
                RETURN 'missing';
            END IF;
            SELECT count(*) INTO n FROM messages WHERE recipient_id = p_rid;
            SELECT is_quota INTO last_quota FROM messages WHERE recipient_id = p_rid
                ORDER BY seq DESC LIMIT 1;
            IF n > 0 AND last_quota THEN
                RETURN 'quota_blocked';
            END IF;
            IF n >= p_quota THEN
                INSERT INTO messages (recipient_id, msg_id, ts, notification, is_quota, body)
                    VALUES (p_rid, p_msg_id, p_ts, false, true, '') RETURNING seq INTO s;
                PERFORM pg_notify('hushwire',
                    'a ' || p_tag || ' 1 ' || encode(p_rid, 'hex') || ' ' || s || 'Q');
                RETURN 'quota_exceeded';
            END IF;
            INSERT INTO messages (recipient_id, msg_id, ts, notification, is_quota, body)
                VALUES (p_rid, p_msg_id, p_ts, p_ntf, false, p_body) RETURNING seq INTO s;
            PERFORM pg_notify('hushwire',
                'a ' || p_tag || ' 1 ' || encode(p_rid, 'hex') || ' ' || s);
            RETURN 'stored';
        END $$""",
        # ACK: delete the head iff it has this id.
        """CREATE FUNCTION hw_ack(p_rid bytea, p_msg_id bytea, p_tag text) RETURNS boolean
            LANGUAGE plpgsql AS $$
        DECLARE
            s bigint;
            m bytea;
        BEGIN
            PERFORM 1 FROM queues WHERE recipient_id = p_rid FOR UPDATE;
            IF NOT FOUND THEN
                RETURN false;
            END IF;
            SELECT seq, msg_id INTO s, m FROM messages WHERE recipient_id = p_rid
                ORDER BY seq LIMIT 1;
            IF NOT FOUND OR m <> p_msg_id THEN
                RETURN false;
            END IF;
            DELETE FROM messages WHERE seq = s;
            PERFORM pg_notify('hushwire',
                'd ' || p_tag || ' 1 ' || encode(p_rid, 'hex') || ' ' || s);
            RETURN true;
        END $$""",
        # Group commit: SENDs ('w') and ACKs ('a') of many clients in one statement, one
        # transaction; the caller orders them by queue (row locks always taken in that order).
        """CREATE FUNCTION hw_batch(p_kind text[], p_rid bytea[], p_msg_id bytea[],
                p_ts bigint[], p_ntf boolean[], p_body bytea[], p_quota integer[],
                p_tag text[]) RETURNS text[]
            LANGUAGE plpgsql AS $$
        DECLARE
            outcome text[] := '{}';
        BEGIN
            FOR i IN 1 .. coalesce(array_length(p_kind, 1), 0) LOOP
                IF p_kind[i] = 'w' THEN
                    outcome := outcome || hw_write(p_rid[i], p_msg_id[i], p_ts[i], p_ntf[i],
                        p_body[i], p_quota[i], p_tag[i]);
                ELSIF hw_ack(p_rid[i], p_msg_id[i], p_tag[i]) THEN
                    outcome := outcome || 'acked'::text;
                ELSE
                    outcome := outcome || 'not_head'::text;
                END IF;
            END LOOP;
            RETURN outcome;
        END $$""",
        # Expiry (contract.expired_prefix), one queue at a time under its row lock.
        """CREATE FUNCTION hw_expire(p_cutoff bigint, p_tag text) RETURNS bigint
            LANGUAGE plpgsql AS $$
        DECLARE
            r bytea;
            seqs bigint[];
            total bigint := 0;
            i integer;
        BEGIN
            FOR r IN SELECT DISTINCT recipient_id FROM messages
                    WHERE ts < p_cutoff AND NOT is_quota ORDER BY recipient_id LOOP
                PERFORM 1 FROM queues WHERE recipient_id = r FOR UPDATE;
                CONTINUE WHEN NOT FOUND;
                WITH gone AS (
                    DELETE FROM messages WHERE recipient_id = r AND seq < coalesce(
                        (SELECT min(seq) FROM messages
                            WHERE recipient_id = r AND (ts >= p_cutoff OR is_quota)),
                        9223372036854775807)
                    RETURNING seq)
                SELECT array_agg(seq ORDER BY seq) INTO seqs FROM gone;
                CONTINUE WHEN seqs IS NULL;
                total := total + cardinality(seqs);
                i := 1;
                WHILE i <= cardinality(seqs) LOOP
                    PERFORM pg_notify('hushwire', 'd ' || p_tag || ' 0 ' || encode(r, 'hex')
                        || ' ' || array_to_string(seqs[i:i + 399], ','));
                    i := i + 400;
                END LOOP;
            END LOOP;
            RETURN total;
        END $$""",
    ),
)
"""Schema migrations, oldest first; never edit one that has shipped, append a new one."""

PG_SCHEMA_VERSION: Final = len(MIGRATIONS)
"""Version of the PostgreSQL schema this code writes."""

LOCK_KEY: Final = 0x68757368_77697265
"""Advisory lock (per database): held exclusive by the relay that owns the store
("hushwire"), shared by the nodes of a cluster (``hushwire.server.store.cluster``)."""

MIGRATION_LOCK_KEY: Final = LOCK_KEY + 1
"""Transaction-level advisory lock taken while migrating the schema."""

CONNECT_TIMEOUT: Final = 10.0
"""Seconds to wait for the database when connecting."""

OWNER_LOCK_WAIT: float = 5.0
"""Seconds to wait for the owner lock: a relay restarted right after a crash may find the
server still closing the dead one's connection."""

SESSION_SETTINGS: Final = {
    "synchronous_commit": "on",
    "application_name": "hushwire-relay",
    # A relay whose machine vanished (no FIN) releases the owner lock within about a minute.
    "tcp_keepalives_idle": "30",
    "tcp_keepalives_interval": "10",
    "tcp_keepalives_count": "3",
}

INSERT_QUEUE: Final = (
    "INSERT INTO queues (recipient_id, sender_id, recipient_keys, rcv_dh_secret, sender_key, "
    "queue_mode, status, notifier_id, ntf_key, rcv_ntf_dh_secret, link_id, link_fixed_data, "
    "link_user_data, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)
UPDATE_QUEUE: Final = (
    "UPDATE queues SET sender_id = $2, recipient_keys = $3, rcv_dh_secret = $4, "
    "sender_key = $5, queue_mode = $6, status = $7, notifier_id = $8, ntf_key = $9, "
    "rcv_ntf_dh_secret = $10, link_id = $11, link_fixed_data = $12, link_user_data = $13, "
    "created_at = $14, updated_at = $15 WHERE recipient_id = $1"
)
_INSERT_MESSAGE: Final = (
    "INSERT INTO messages (seq, recipient_id, msg_id, ts, notification, is_quota, body) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
_DELETE_MESSAGES: Final = "DELETE FROM messages WHERE seq = ANY($1::bigint[])"
_DELETE_QUEUE: Final = "DELETE FROM queues WHERE recipient_id = $1"


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparsable DSN>"
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def scrub(dsn: str, error: BaseException) -> str:
    """An error's text with the DSN's password (if any) replaced by ``***``."""
    text = str(error)
    try:
        password = urlsplit(dsn).password
    except ValueError:
        return text
    return text.replace(password, "***") if password else text


async def migrate(conn: Any, where: str) -> None:
    """Bring the schema up to :data:`PG_SCHEMA_VERSION` in one transaction (several nodes
    starting at once take turns: a transaction-level advisory lock); a newer one is refused."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        version = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
        if version > PG_SCHEMA_VERSION:
            raise StoreError(
                f"{where}: store schema version {version}, this relay understands up to "
                f"{PG_SCHEMA_VERSION}; use a matching Hushwire version"
            )
        for n in range(version + 1, PG_SCHEMA_VERSION + 1):
            for stmt in MIGRATIONS[n - 1]:
                await conn.execute(stmt)
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", n)


async def _execute(conn: Any, changes: Sequence[Change]) -> None:
    """Run the SQL of a batch's changes in order (inside its transaction); runs of appended
    messages go as one pipelined ``executemany``, runs of deletions as one statement."""
    i = 0
    while i < len(changes):
        change = changes[i]
        if isinstance(change, AppendMessage):
            rows = []
            while i < len(changes) and isinstance(c := changes[i], AppendMessage):
                rows.append(message_row(c))
                i += 1
            await conn.executemany(_INSERT_MESSAGE, rows)
            continue
        if isinstance(change, DeleteMessages):
            seqs: list[int] = []
            while i < len(changes) and isinstance(c := changes[i], DeleteMessages):
                seqs.extend(c.seqs)
                i += 1
            await conn.execute(_DELETE_MESSAGES, seqs)
            continue
        if isinstance(change, PutQueue):
            row = queue_row(change.rec, list(change.rec.recipient_keys))
            await conn.execute(INSERT_QUEUE if change.new else UPDATE_QUEUE, *row)
        else:
            assert isinstance(change, DeleteQueue)
            await conn.execute(_DELETE_QUEUE, change.recipient_id)  # messages cascade
        i += 1


class _PostgresJournal(Journal):
    """Opens, migrates and loads one database, then commits batches from a task on the loop."""

    def __init__(self, dsn: str, before_commit: CommitHook | None) -> None:
        self._dsn = dsn
        self._before_commit = before_commit
        self._conn: Any = None
        self._queued: list[PendingOp] = []
        self._wakeup: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._done: BatchDone | None = None
        self._stopping = False

    # ----------------------------------------------------------------- connection

    async def _connect(self) -> Any:
        """Connect, take the owner lock and bring the schema up to date."""
        where = redact_dsn(self._dsn)
        try:
            conn = await asyncpg.connect(
                self._dsn,
                timeout=CONNECT_TIMEOUT,
                server_settings=SESSION_SETTINGS,
            )
        except Exception as e:
            raise StoreError(
                f"cannot reach the PostgreSQL store {where}: {scrub(self._dsn, e)}"
            ) from e
        try:
            await self._lock(conn, where)
            await migrate(conn, where)
        except StoreError:
            await conn.close()
            raise
        except Exception as e:
            await conn.close()
            raise StoreError(
                f"cannot open the PostgreSQL store {where}: {scrub(self._dsn, e)}"
            ) from e
        return conn

    @staticmethod
    async def _lock(conn: Any, where: str) -> None:
        """Take the owner lock (held by this session until it ends), waiting a little."""
        wait_ms = str(max(1, int(OWNER_LOCK_WAIT * 1000)))
        await conn.execute("SELECT set_config('lock_timeout', $1, false)", wait_ms)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        except asyncpg.LockNotAvailableError:
            raise StoreError(
                f"the PostgreSQL store {where} is in use by another relay process "
                "(one process owns a store)"
            ) from None
        await conn.execute("SELECT set_config('lock_timeout', '0', false)")

    @staticmethod
    async def _load(conn: Any) -> Snapshot:
        queues = await conn.fetch(SELECT_QUEUES)
        return Snapshot.from_rows(queues, tuple, await conn.fetch(SELECT_MESSAGES))

    # ----------------------------------------------------------------- Journal

    async def start(self, done: BatchDone) -> Snapshot:
        conn = await self._connect()
        try:
            snapshot = await self._load(conn)
        except Exception as e:
            await conn.close()
            raise StoreError(f"cannot load the PostgreSQL store: {scrub(self._dsn, e)}") from e
        self._conn = conn
        self._done = done
        self._task = asyncio.create_task(self._run(), name="hushwire-store postgres")
        return snapshot

    def submit(self, op: PendingOp) -> None:
        self._queued.append(op)
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def take_queued(self) -> list[PendingOp]:
        taken, self._queued = self._queued, []
        return taken

    def resume(self) -> None:
        """Nothing to do: the commit task goes on by itself after a failed batch."""

    async def stop(self) -> None:
        """Commit everything submitted, then close the connection."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self._wake()
        await asyncio.shield(task)
        self._task = None
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), CONNECT_TIMEOUT)

    # ----------------------------------------------------------------- the commit task

    async def _run(self) -> None:
        done = self._done
        assert done is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._queued:
                if self._stopping:
                    return
                self._wakeup = loop.create_future()
                await self._wakeup
                continue
            batch, self._queued = self._queued, []
            changes = [c for op in batch for c in op.changes]
            if not changes:
                done(batch, None, None)
                continue
            start = time.perf_counter()
            try:
                await self._commit(changes)
            except Exception as e:
                done(batch, None, e)
                continue
            done(batch, time.perf_counter() - start, None)

    async def _commit(self, changes: Sequence[Change]) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = None
            self._conn = await self._connect()  # the previous connection was lost
        conn = self._conn
        try:
            async with conn.transaction():
                await _execute(conn, changes)
                if self._before_commit is not None:
                    self._before_commit(changes)
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
            conn.terminate()  # unknown state: start over on a new connection
            raise


class PostgresStore(MirroredStore):
    """:class:`QueueStore` on a PostgreSQL database, with a memory mirror and group commit.

    ``dsn`` is a libpq URI (``postgresql://user:password@host:port/dbname``); the database
    must exist and the user may create tables in it (the schema is made on first open).
    ``clock``, ``max_pending`` and ``before_commit`` as for
    :class:`~hushwire.server.store.sqlite.SQLiteStore`. :meth:`open` raises
    :class:`~hushwire.server.store.contract.StoreError` if the database cannot be reached,
    is another relay's, or has a newer schema.
    """

    def __init__(
        self,
        dsn: str,
        *,
        clock: Callable[[], float] = time.time,
        max_pending: int = STORE_MAX_PENDING_WRITES,
        before_commit: CommitHook | None = None,
    ) -> None:
        self._dsn = dsn
        super().__init__(_PostgresJournal(dsn, before_commit), clock=clock, max_pending=max_pending)

    @property
    def where(self) -> str:
        """The DSN without its password."""
        return redact_dsn(self._dsn)
