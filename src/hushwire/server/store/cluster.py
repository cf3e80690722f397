"""The cluster store: many relay processes on one PostgreSQL database, one relay address.

:class:`ClusterStore` is the :class:`~hushwire.server.store.contract.QueueStore` every node of
a cluster runs with (``hushwire relay --store postgresql://... --cluster``, or ``--workers
N``). It stands for simplexmq's ``Server.QueueStore.Postgres`` with ``Server.MsgStore.
Postgres``, and goes further: simplexmq runs one process per address, this store lets any
number of processes and machines with a copy of the same identity serve one address. See
docs/deploy.md (cluster) and docs/architecture.md.

Theory of operation
-------------------
*Decisions in the database.* Every mutation is one transaction that decides under a row lock
of the queue (``SELECT ... FOR UPDATE``): quota and "writing stopped" (``hw_write`` of
migration 2 in ``hushwire.server.store.postgres``), acknowledgement of the head (``hw_ack``),
expiry per queue (``hw_expire``), id collisions (unique constraints), secure-once, link rules.
Two nodes writing to one queue are serialised by PostgreSQL as one relay serialises them in
memory. SENDs and ACKs submitted while one batch commits go together in the next
(``hw_batch``: one statement, one commit, row locks taken in queue order).

*A replicated read view.* Dispatch reads synchronously (``get_by_*``, ``peek``), so each node
keeps a copy of the committed state in memory: loaded on open, then changed only by the
**change stream**: every transaction announces what it changed with ``pg_notify`` on the
channel :data:`CHANNEL` (a queue record changed, entries appended, entries deleted), and
PostgreSQL delivers notifications to every listening session **in commit order**, so every
node applies the same changes in the same order as the database committed them. Bodies of
other nodes' messages do not fit a notification (8000 bytes): a node fetches them by
sequence number, one query per batch of notifications. Applying is idempotent (entries are
keyed by their sequence number, records are re-read), so replaying notifications already
covered by a fresh snapshot is harmless.

*Read your writes.* A mutation returns only once its own last notification has come back
through this node's stream and been applied (benchmarks/cluster_notify.py: its cost).

*Subscriptions cluster-wide.* SMP allows one subscriber per queue. A SUB on any node is
announced on the stream (:meth:`ClusterStore.announce_subscription`); a node that holds an
older subscription to that queue ends it (``END``), and the node whose own announcement is
still in flight ignores the older one it sees first, so of two near-simultaneous SUBs the
one committed last wins everywhere. Deliveries in flight are per connection, as in a single
relay: a message given and not yet acknowledged stays the head in the database and is given
again on the next SUB (SMP's redelivery), so a node that dies loses nothing and delivers
nothing twice except that un-acknowledged head.

*Failure.* When its listening session is lost (PostgreSQL restarted, network cut) the node
is **unhealthy** (:attr:`ClusterStore.healthy`: ``/healthz`` 503, commands refused with ``ERR
INTERNAL``, mutations raise ``StoreError``). It reconnects by itself, listens, reloads the
snapshot, applies what arrived meanwhile on top of it, and is healthy again.

*Exclusion.* Cluster nodes hold the advisory lock of ``hushwire.server.store.postgres``
*shared* for as long as they listen, a single-owner relay holds it exclusive: the two kinds
never run on one database at once. A node records the key hash of its identity in the
``cluster_identity`` table on first start; a node with another identity is refused
(:meth:`ClusterStore.join`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Final, TypeVar

import asyncpg

from hushwire.server.store.contract import (
    SELECT_MESSAGES,
    SELECT_QUEUES,
    LatencyHistogram,
    NotifierRecord,
    QueueNotFoundError,
    QueueRecord,
    QueueStatus,
    StoreClosedError,
    StoredMessage,
    StoreError,
    StoreStats,
    WriteResult,
    check_message,
    check_new_queue,
    check_queue_id,
    check_recipient_keys,
    head_matches,
    link_update_allowed,
    queue_row,
    secured_with,
    without_link,
    without_notifier,
)
from hushwire.server.store.postgres import (
    CONNECT_TIMEOUT,
    INSERT_QUEUE,
    LOCK_KEY,
    SESSION_SETTINGS,
    UPDATE_QUEUE,
    migrate,
    redact_dsn,
    scrub,
)
from hushwire.server.store.records import IndexedReads
from hushwire.server.store.stream import (
    CHANNEL,
    MAX_BATCH,
    NOTIFY,
    NOTIFYING,
    BatchOp,
    ClusterEvents,
    OwnSubscriptions,
    StreamEvent,
    StreamFigures,
    batch_columns,
    payload,
    report_record_change,
)
from hushwire.server.store.view import (
    ReplicaView,
    fetch_changed,
    record_from_row,
)

__all__ = ["CHANNEL", "ClusterEvents", "ClusterStore"]

log = logging.getLogger("hushwire.relay")

RECONNECT_DELAY: float = 0.25
"""Seconds between attempts to reach PostgreSQL again after the stream was lost."""

WATCH_INTERVAL: float = 0.5
"""Seconds between checks that the listening session is alive."""

_T = TypeVar("_T")

_INSERT_QUEUE: Final = INSERT_QUEUE + " ON CONFLICT DO NOTHING"


async def _keep_session(_conn: Any) -> None:
    """No reset on release (a round trip per command): pooled sessions never change."""


class ClusterStore(IndexedReads):
    """:class:`QueueStore` shared by the nodes of a cluster (module docstring).

    ``dsn``: a libpq URI of an existing database; ``node``: this node's name in the stream
    (default: random); ``pool_size``: connections for transactions.
    """

    def __init__(
        self,
        dsn: str,
        *,
        node: str | None = None,
        clock: Callable[[], float] = time.time,
        pool_size: int = 8,
    ) -> None:
        self._dsn = dsn
        self.node = node or os.urandom(6).hex()
        self._clock = clock
        self._pool_size = pool_size
        self._pool: Any = None
        self._listen: Any = None
        self._open = False
        self._healthy = False
        self._tokens = itertools.count(1)
        self._waiters: dict[int, asyncio.Future[None]] = {}
        self._own_msgs: dict[int, StoredMessage] = {}
        self._own_subs = OwnSubscriptions()
        self._inbox: list[tuple[float, str]] = []  # (arrival time, notification) to apply
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.events: ClusterEvents | None = None
        self._committed: ReplicaView = ReplicaView()
        self._epoch = 0
        self._loading = False
        self._batch: list[BatchOp] = []
        self._flusher: asyncio.Task[None] | None = None
        self._max_batch = 0
        self._committed_ops = 0
        # stats
        self._pending = 0
        self._pending_high_water = 0
        self._commits = 0
        self._failed = 0
        self._commit_latency = LatencyHistogram()
        self.figures = StreamFigures()
        """What the change stream did here (``/metrics``)."""

    @property
    def where(self) -> str:
        return redact_dsn(self._dsn)

    shared = True  # the contract's property, constant here

    @property
    def healthy(self) -> bool:
        """Listening and up to date: the node may serve commands."""
        return self._open and self._healthy

    # ----------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        if self._open or self._tasks:
            raise StoreError("store already opened")
        await self._attach()  # raises StoreError: unreachable, single-owner store, schema
        self._healthy = True
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._pool_size,
                timeout=CONNECT_TIMEOUT,
                server_settings=SESSION_SETTINGS,
                reset=_keep_session,
            )
        except Exception as e:
            await self._drop_listen()
            raise StoreError(f"cannot reach the PostgreSQL store {self.where}: {self._s(e)}") from e
        self._open = True
        self._tasks = [
            asyncio.create_task(self._apply_loop(), name="hushwire-cluster stream"),
            asyncio.create_task(self._watch_loop(), name="hushwire-cluster watch"),
        ]

    async def join(self, key_hash: bytes) -> None:
        """Record this relay identity's key hash in the store, or refuse a different one."""

        async def claim(conn: Any) -> Any:
            # Two statements: the SELECT must see a row another node inserted meanwhile.
            await conn.execute(
                "INSERT INTO cluster_identity (one, key_hash) VALUES (true, $1) "
                "ON CONFLICT DO NOTHING",
                key_hash,
            )
            return await conn.fetchval("SELECT key_hash FROM cluster_identity")

        stored = await self._call(claim)
        if not isinstance(stored, bytes) or not hmac.compare_digest(stored, key_hash):
            raise StoreError(
                f"the PostgreSQL store {self.where} serves another relay identity: copy that "
                "relay's identity directory to this node's --data (docs/deploy.md)"
            )

    async def close(self) -> None:
        if not self._open:
            return
        if self._flusher is not None:  # what was submitted is committed (or fails)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._flusher), CONNECT_TIMEOUT)
        self._open = False
        self._healthy = False
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        self._fail_waiters(StoreClosedError("the store is closed"))
        await self._drop_listen()
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pool.close(), CONNECT_TIMEOUT)
            self._pool = None

    def _s(self, e: BaseException) -> str:
        return scrub(self._dsn, e)

    # ----------------------------------------------------------------- the stream

    async def _attach(self) -> None:
        """Connect the listening session, take the shared lock, migrate, listen, load."""
        try:
            conn = await asyncpg.connect(
                self._dsn, timeout=CONNECT_TIMEOUT, server_settings=SESSION_SETTINGS
            )
        except Exception as e:
            raise StoreError(f"cannot reach the PostgreSQL store {self.where}: {self._s(e)}") from e
        try:
            got = await conn.fetchval("SELECT pg_try_advisory_lock_shared($1)", LOCK_KEY)
            if not got:
                raise StoreError(
                    f"the PostgreSQL store {self.where} is in use by a single-owner relay "
                    "(stop it, then start the cluster nodes)"
                )
            await migrate(conn, self.where)
            await conn.execute(
                "SELECT setval('hw_msg_seq', greatest((SELECT last_value FROM hw_msg_seq), "
                "(SELECT coalesce(max(seq), 0) FROM messages)))"
            )
            await conn.add_listener(CHANNEL, self._on_notify)
            await conn.execute(f"LISTEN {CHANNEL}")
            queues = await conn.fetch(SELECT_QUEUES)
            msgs = await conn.fetch(SELECT_MESSAGES)
        except StoreError:
            await conn.close()
            raise
        except Exception as e:
            conn.terminate()
            raise StoreError(f"cannot open the PostgreSQL store {self.where}: {self._s(e)}") from e
        self._committed.load(queues, msgs)
        self._listen = conn

    async def _drop_listen(self) -> None:
        conn, self._listen = self._listen, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), CONNECT_TIMEOUT)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._inbox.append((time.perf_counter(), payload))
        self._wakeup.set()

    async def _watch_loop(self) -> None:
        """Notice a lost listening session; reconnect and reload until it works again."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            conn = self._listen
            if conn is not None and not conn.is_closed():
                try:
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), 5)
                    continue
                except Exception:
                    conn.terminate()
            if self._healthy:
                log.warning("cluster store %s: change stream lost; refusing commands", self.where)
            self._healthy = False
            self._listen = None
            # Batches taken before this point are older than the snapshot about to be loaded
            # (dropped: _apply checks the epoch); what arrives once listening again waits in
            # the inbox until the snapshot is in place, then is applied on top of it.
            self._epoch += 1
            self._loading = True
            while True:
                try:
                    self._inbox.clear()
                    await self._attach()
                    while self._inbox:
                        batch, self._inbox = self._inbox, []
                        await self._apply(batch, self._epoch)
                    break
                except Exception as e:
                    log.debug("cluster store: still unreachable: %s", self._s(e))
                    if self._listen is not None:
                        self._listen.terminate()
                        self._listen = None
                    await asyncio.sleep(RECONNECT_DELAY)
            self._loading = False
            self.figures.resyncs += 1
            log.warning("cluster store %s: stream back, view reloaded", self.where)
            # Commits whose notifications were lost are in the snapshot just loaded.
            for tok, fut in list(self._waiters.items()):
                if tok < 0:
                    del self._waiters[tok]
                    self._own_msgs.pop(-tok, None)
                    if not fut.done():
                        fut.set_result(None)
            self._healthy = True
            self._wakeup.set()
            if self.events is not None:
                self.events.resynced()

    async def _apply_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._inbox and not self._loading:
                batch, self._inbox = self._inbox, []
                try:
                    await self._apply(batch, self._epoch)
                except Exception as e:
                    log.warning("cluster store: applying the change stream failed: %s", self._s(e))
                    if self._listen is not None:
                        self._listen.terminate()  # the watcher reloads everything

    async def _apply(self, received: list[tuple[float, str]], epoch: int) -> None:
        events = [e for _, p in received if (e := StreamEvent.parse(p)) is not None]
        fetch_seqs = [
            int(e.arg.rstrip("Q"))
            for e in events
            if e.kind == "a" and not (e.node == self.node and e.token in self._own_msgs)
        ]
        rids = list({e.rid for e in events if e.kind == "q"})
        bodies: dict[int, StoredMessage] = {}
        rows: dict[bytes, QueueRecord] = {}
        if fetch_seqs or rids:
            async with self._pool.acquire(timeout=CONNECT_TIMEOUT) as conn:
                bodies, rows = await fetch_changed(conn, fetch_seqs, rids)
            if epoch != self._epoch:
                return  # the view was reloaded meanwhile, from a snapshot that covers these
        touched: set[bytes] = set()
        notify: list[tuple[bytes, StoredMessage]] = []
        for e in events:
            self.figures.events += 1
            own = e.node == self.node
            if e.kind == "q":
                new = rows.get(e.rid)
                old = self._committed.records.get(e.rid)
                self._committed.put(e.rid, new)
                if old is not None and self.events is not None:
                    report_record_change(self.events, old, new)
            elif e.kind == "a":
                seq = int(e.arg.rstrip("Q"))
                m = self._own_msgs.pop(e.token, None) if own else None
                if m is not None and e.arg.endswith("Q"):
                    m = StoredMessage(m.msg_id, m.ts, False, b"", is_quota=True)
                if m is None:
                    m = bodies.get(seq)
                if m is not None and self._committed.append(e.rid, seq, m):
                    touched.add(e.rid)
                    if not own and m.flags_notification:
                        notify.append((e.rid, m))
            elif e.kind == "d":
                if self._committed.delete(e.rid, [int(s) for s in e.arg.split(",") if s]):
                    touched.add(e.rid)
            elif e.kind in ("s", "n"):
                self._own_subs.seen((e.kind, e.rid), own, self.events)
            if own and e.final:
                fut = self._waiters.pop(e.token, None) or self._waiters.pop(-e.token, None)
                if fut is not None and not fut.done():
                    fut.set_result(None)
        applied = time.perf_counter()
        for arrived, _ in received:
            self.figures.apply_lag.observe(applied - arrived)
        if self.events is not None:
            for rid in touched:
                self.events.appended(rid)
            for rid, m in notify:
                self.events.notification(rid, m)

    # ----------------------------------------------------------------- transactions

    def _check(self) -> None:
        if not self._open:
            raise StoreClosedError("the store is not open")
        if not self._healthy:
            raise StoreError(f"the PostgreSQL store {self.where} is unreachable")

    async def _call(self, body: Callable[[Any], Awaitable[_T]]) -> _T:
        """Run ``body`` on a pooled connection (no transaction, no stream wait)."""
        self._check()
        try:
            async with self._pool.acquire(timeout=CONNECT_TIMEOUT) as conn:
                return await body(conn)
        except (StoreError, ValueError, QueueNotFoundError):
            raise
        except Exception as e:
            raise StoreError(f"store command failed: {self._s(e)}") from e

    async def _txn(
        self,
        body: Callable[[Any, str, int], Awaitable[tuple[_T, bool]]],
        own_msg: StoredMessage | None = None,
        *,
        single: bool = False,
    ) -> _T:
        """One transaction; ``body(conn, tag, token)`` returns (result, whether it notified
        with ``final``). Returns once this node has applied its final notification.
        ``single``: the body runs one statement, its own transaction (one round trip instead
        of three: no BEGIN, no COMMIT)."""
        self._check()
        token = next(self._tokens)
        tag = f"{self.node} {token}"
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters[token] = fut
        if own_msg is not None:
            self._own_msgs[token] = own_msg
        self._pending += 1
        self._pending_high_water = max(self._pending_high_water, self._pending)
        start = time.perf_counter()
        try:
            async with self._pool.acquire(timeout=CONNECT_TIMEOUT) as conn:
                if single:
                    result, notified = await body(conn, tag, token)
                else:
                    async with conn.transaction():
                        result, notified = await body(conn, tag, token)
        except BaseException as e:
            self._waiters.pop(token, None)
            self._own_msgs.pop(token, None)
            self._pending -= 1
            if isinstance(e, QueueNotFoundError | ValueError | asyncio.CancelledError):
                raise
            self._failed += 1
            raise StoreError(f"store commit failed: {self._s(e)}") from e
        self._pending -= 1
        self._count_commit(time.perf_counter() - start)
        if not notified:
            self._waiters.pop(token, None)
            self._own_msgs.pop(token, None)
            return result
        if token in self._waiters:
            # committed: from now on a reload of the view also covers it (see _watch_loop)
            self._waiters[-token] = self._waiters.pop(token)
        await self._roundtrip(fut)
        return result

    async def _roundtrip(self, fut: asyncio.Future[None]) -> None:
        """Wait for a committed command's own notification (timed for ``/metrics``)."""
        start = time.perf_counter()
        await asyncio.shield(fut)
        self.figures.notify_roundtrip.observe(time.perf_counter() - start)

    def _count_commit(self, seconds: float, ops: int = 1) -> None:
        self._commits += 1
        self._committed_ops += ops
        self._max_batch = max(self._max_batch, ops)
        self._commit_latency.observe(seconds)

    def _fail_waiters(self, e: Exception) -> None:
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(e)
                fut.exception()  # retrieved: nobody may be waiting any more
        self._waiters.clear()

    async def catch_up(self) -> None:
        """Return once everything committed before this call has been applied here."""
        await self._txn(self._barrier, single=True)

    @staticmethod
    async def _barrier(conn: Any, tag: str, _token: int) -> tuple[None, bool]:
        await conn.execute(NOTIFY, payload("b", tag, True))
        return None, True

    def announce_subscription(self, entity_id: bytes, *, notifier: bool = False) -> None:
        """Tell the other nodes this node's client subscribed to the queue ``entity_id``
        (SUB), or to the notifications of the notifier id ``entity_id`` (NSUB, ``notifier``);
        they end theirs."""
        if not self.healthy:
            return
        key = ("n" if notifier else "s", entity_id)
        self._own_subs.announcing(key)
        task = asyncio.get_running_loop().create_task(
            self._announce(key), name="hushwire-cluster announce"
        )
        self._tasks.append(task)
        task.add_done_callback(self._forget_task)

    async def announced(self) -> None:
        """Return once this node's announcements so far are committed and seen here."""
        pending = [t for t in self._tasks if t.get_name() == "hushwire-cluster announce"]
        await asyncio.gather(*pending, return_exceptions=True)
        await self.catch_up()

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _announce(self, key: tuple[str, bytes]) -> None:
        note = payload(key[0], f"{self.node} 0", True, key[1])
        try:
            await self._call(lambda c: c.execute(NOTIFY, note))
        except StoreError:
            self._own_subs.seen(key, True, None)  # not announced: do not wait for it

    # ----------------------------------------------------------------- queue records

    async def create_queue(self, rec: QueueRecord) -> bool:
        check_new_queue(rec)

        async def body(conn: Any, tag: str, _t: int) -> tuple[bool, bool]:
            done = await conn.execute(_INSERT_QUEUE, *queue_row(rec, list(rec.recipient_keys)))
            if done.endswith(" 0"):
                return False, False
            await conn.execute(NOTIFY, payload("q", tag, True, rec.recipient_id))
            return True, True

        return await self._txn(body)

    async def _update(
        self, rid: bytes, change: Callable[[QueueRecord], QueueRecord | None]
    ) -> tuple[QueueRecord, QueueRecord | None]:
        """Lock the record, apply ``change`` (``None``: no change), write it. Returns the
        record before and the one written (``None``: unchanged, or a unique id in use)."""

        async def body(conn: Any, tag: str, _t: int) -> tuple[Any, bool]:
            row = await conn.fetchrow(SELECT_QUEUES + " WHERE recipient_id = $1 FOR UPDATE", rid)
            if row is None:
                raise QueueNotFoundError("no such queue")
            rec = record_from_row(row)
            new = change(rec)
            if new is None:
                return (rec, None), False
            new = replace(new, updated_at=int(self._clock()))
            try:
                async with conn.transaction():  # a savepoint: an id in use leaves rec as is
                    await conn.execute(UPDATE_QUEUE, *queue_row(new, list(new.recipient_keys)))
            except asyncpg.UniqueViolationError:
                return (rec, None), False
            await conn.execute(NOTIFY, payload("q", tag, True, rid))
            return (rec, new), True

        result: tuple[QueueRecord, QueueRecord | None] = await self._txn(body)
        return result

    async def secure(self, recipient_id: bytes, sender_key: bytes) -> QueueRecord:
        old, new = await self._update(recipient_id, lambda r: secured_with(r, sender_key))
        return new or old

    async def set_status(self, recipient_id: bytes, status: QueueStatus) -> QueueRecord:
        old, new = await self._update(
            recipient_id, lambda r: None if r.status is status else replace(r, status=status)
        )
        return new or old

    async def update_recipient_keys(
        self, recipient_id: bytes, keys: tuple[bytes, ...]
    ) -> QueueRecord:
        check_recipient_keys(keys)
        old, new = await self._update(recipient_id, lambda r: replace(r, recipient_keys=keys))
        return new or old

    async def delete_queue(self, recipient_id: bytes) -> bool:
        async def body(conn: Any, tag: str, _t: int) -> tuple[bool, bool]:
            done = await conn.execute("DELETE FROM queues WHERE recipient_id = $1", recipient_id)
            if done.endswith(" 0"):
                return False, False
            await conn.execute(NOTIFY, payload("q", tag, True, recipient_id))
            return True, True

        return await self._txn(body)

    async def set_notifier(self, recipient_id: bytes, notifier: NotifierRecord) -> bool:
        check_queue_id(notifier.notifier_id, "notifier id")

        def change(rec: QueueRecord) -> QueueRecord | None:
            if rec.notifier is not None and rec.notifier.notifier_id == notifier.notifier_id:
                return None  # in use, by this queue (as the reference counts it)
            return replace(rec, notifier=notifier)

        _, new = await self._update(recipient_id, change)
        return new is not None

    async def delete_notifier(self, recipient_id: bytes) -> NotifierRecord | None:
        old, _ = await self._update(recipient_id, without_notifier)
        return old.notifier

    async def set_link(
        self, recipient_id: bytes, link_id: bytes, link_data: tuple[bytes, bytes]
    ) -> bool:
        check_queue_id(link_id, "link id")

        def change(rec: QueueRecord) -> QueueRecord | None:
            if not link_update_allowed(rec, link_id, link_data):
                return None
            return replace(rec, link_id=link_id, link_data=link_data)

        _, new = await self._update(recipient_id, change)
        return new is not None

    async def delete_link_data(self, recipient_id: bytes) -> bool:
        old, _ = await self._update(recipient_id, without_link)
        return old.link_id is not None

    async def expire_unsecured_queues(self, created_before_ts: int) -> int:
        async def body(conn: Any, tag: str, _t: int) -> tuple[int, bool]:
            rids = await conn.fetch(
                "DELETE FROM queues WHERE queue_mode = 'M' AND sender_key IS NULL "
                "AND created_at < $1 RETURNING recipient_id",
                created_before_ts,
            )
            for r in rids:
                await conn.execute(NOTIFY, payload("q", tag, False, r["recipient_id"]))
            await conn.execute(NOTIFY, payload("b", tag, True))
            return len(rids), True

        return await self._txn(body)

    # ----------------------------------------------------------------- messages

    async def write_message(
        self, recipient_id: bytes, msg: StoredMessage, quota: int
    ) -> WriteResult:
        check_message(msg, quota)
        outcome = await self._batched(BatchOp("w", recipient_id, msg.msg_id, msg, quota))
        if outcome == "missing":
            raise QueueNotFoundError("no such queue")
        return WriteResult(outcome)

    def peek(self, recipient_id: bytes) -> StoredMessage | None:
        return self._committed.head(recipient_id)

    def messages(self, recipient_id: bytes) -> tuple[StoredMessage, ...]:
        return self._committed.fifo(recipient_id)

    def queue_size(self, recipient_id: bytes) -> int:
        return self._committed.size(recipient_id)

    async def delete_head(self, recipient_id: bytes, msg_id: bytes) -> bool:
        head = self.peek(recipient_id)
        if head is None or not head_matches(head, msg_id):
            return False  # the head in the database is never newer than a delivered one
        return await self._batched(BatchOp("a", recipient_id, msg_id, None, 0)) == "acked"

    # ----------------------------------------------------------------- group commit

    async def _batched(self, op: BatchOp) -> str:
        """Run a SEND or ACK in the next batch (``hw_batch``: one statement, one commit for
        every SEND and ACK submitted meanwhile); return its outcome once this node has
        applied its notification."""
        self._check()
        loop = asyncio.get_running_loop()
        op.token = next(self._tokens)
        op.outcome = loop.create_future()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters[op.token] = waiter
        if op.msg is not None:
            self._own_msgs[op.token] = op.msg
        self._batch.append(op)
        self._pending += 1
        self._pending_high_water = max(self._pending_high_water, self._pending)
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush(), name="hushwire-cluster batch")
        try:
            outcome = await asyncio.shield(op.outcome)
        except BaseException:
            self._waiters.pop(op.token, None)
            self._own_msgs.pop(op.token, None)
            raise
        if outcome not in NOTIFYING:
            self._waiters.pop(op.token, None)
            self._own_msgs.pop(op.token, None)
            return outcome
        if op.token in self._waiters:  # committed: a reload of the view now covers it
            self._waiters[-op.token] = self._waiters.pop(op.token)
        await self._roundtrip(waiter)
        return outcome

    async def _flush(self) -> None:
        try:
            while self._batch:
                ops, self._batch = self._batch[:MAX_BATCH], self._batch[MAX_BATCH:]
                ops.sort(key=lambda o: o.rid)  # stable: one queue's ops keep their order
                start = time.perf_counter()
                try:
                    async with self._pool.acquire(timeout=CONNECT_TIMEOUT) as conn:
                        outcomes = await conn.fetchval(
                            "SELECT hw_batch($1::text[], $2::bytea[], $3::bytea[], "
                            "$4::bigint[], $5::boolean[], $6::bytea[], $7::integer[], "
                            "$8::text[])",
                            *batch_columns(ops, self.node),
                        )
                except Exception as e:
                    self._failed += 1
                    for op in ops:
                        if not op.outcome.done():
                            op.outcome.set_exception(
                                StoreError(f"store commit failed: {self._s(e)}")
                            )
                            op.outcome.exception()  # retrieved, even if its caller left
                    continue
                finally:
                    self._pending -= len(ops)
                self._count_commit(time.perf_counter() - start, len(ops))
                for op, outcome in zip(ops, outcomes, strict=True):
                    if not op.outcome.done():
                        op.outcome.set_result(outcome)
        finally:
            self._flusher = None

    async def expire_messages(self, older_than_ts: int) -> int:
        async def body(conn: Any, tag: str, _t: int) -> tuple[int, bool]:
            n = int(await conn.fetchval("SELECT hw_expire($1, $2)", older_than_ts, tag))
            await conn.execute(NOTIFY, payload("b", tag, True))
            return n, True

        return await self._txn(body)

    # ----------------------------------------------------------------- stats

    def stored_bytes(self) -> int:
        return self._committed.bytes

    def stats(self) -> StoreStats:
        return StoreStats(
            queues=len(self._committed.records),
            messages=self._committed.messages,
            bytes=self._committed.bytes,
            pending_writes=self._pending,
            pending_high_water=self._pending_high_water,
            commits=self._commits,
            committed_ops=self._committed_ops,
            failed_commits=self._failed,
            max_batch=self._max_batch,
            commit_seconds_total=self._commit_latency.total,
            commit_latency_buckets=self._commit_latency.cumulative(),
        )
