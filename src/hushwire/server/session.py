"""Session I/O: one client connection after the handshake, its reader, writer and throttles.

Mirrors simplexmq ``Simplex.Messaging.Server`` ``runClient`` / ``receive`` / ``send`` over
``hushwire.transport``; the commands themselves run in ``hushwire.server.dispatch``. See
docs/protocol/smp.md (transport blocks, batching) and docs/architecture.md.

Theory of operation
-------------------
A :class:`Session` runs one reader loop. The reader decrypts (v11+) and decodes each block's
batch, hands its commands to the :class:`CommandRunner` **in order** and queues the response
transmissions; at the end of the loop iteration everything queued is packed into as few
blocks as possible and written to the connection at once. Only when the connection's output
buffer is full does a writer task wait for the peer to take it (and send what is queued
meanwhile); an idle connection holds no task. Commands of one connection therefore keep
their order; commands of different connections interleave only at store awaits.

Pipelining: the commands of a block start at once, in order, so that their store writes share
group commits instead of waiting for one commit each. Responses still go out in request order
(a command's replies are pushed once it and every command before it have finished; no task per
block, only a done callback per command), and commands on one entity id keep their
order: a command waits for the previous command on that id, except that consecutive SENDs run
together (the store keeps their order), and the first SEND behind an SKEY does not wait for the
SKEY's commit: it is decided against the key the SKEY staged and its write commits with the
SKEY's or after it (a client's confirmation sent right behind its SKEY costs one commit, not
two; if the SKEY has not staged its key yet the SEND runs again once the SKEY is done). At
most ``PIPELINED_BLOCKS`` blocks are in progress.

A flooding client is slowed down by its own :class:`TokenBucket` (commands per second, NEW per
minute), never anyone else. Signed commands (each costs a signature check) also draw on
budgets shared by all connections of one peer address and by the whole relay
(:attr:`Session.sig_budgets`), so that many connections cannot multiply one client's rate.
A session whose outgoing buffer grows past its cap (a reader that
does not read) is closed, so it can never delay another client's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from typing import Final, Protocol

from hushwire.crypto.keys import PrivateKey
from hushwire.errors import DecodeError
from hushwire.limits import SMP_BLOCK_SIZE
from hushwire.server.auth import BoxKeys
from hushwire.server.config import RelayLimits
from hushwire.server.dispatch import Reply, Sub
from hushwire.server.metrics import Metrics
from hushwire.smp.block import Batch, BlockChain, batch_transmissions, pad_block, unpad_block
from hushwire.smp.commands import ERR, SEND, SKEY, BrokerMsg
from hushwire.smp.errors import ErrorType
from hushwire.smp.ids import NO_CORR_ID, NO_ENTITY
from hushwire.smp.transmission import (
    ClientRequest,
    RequestError,
    decode_client_batch,
    encode_server_transmission,
)
from hushwire.transport import BlockConn, ConnectionClosedError, TransportFailure

__all__ = ["PIPELINED_BLOCKS", "CommandRunner", "Session", "Signal", "TokenBucket"]

log = logging.getLogger("hushwire.relay")

PIPELINED_BLOCKS: Final = 8
"""Blocks of one connection whose commands may be in progress at once."""


class TokenBucket:
    """``capacity`` tokens, refilled at ``capacity`` per ``period`` seconds (burst = capacity).

    :meth:`take` is pure bookkeeping (it returns how long the caller should wait);
    :meth:`acquire` also waits. ``clock`` is monotonic seconds.
    """

    __slots__ = ("_at", "_capacity", "_clock", "_period", "_tokens")

    def __init__(
        self, capacity: float, period: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity <= 0 or period <= 0:
            raise ValueError("a token bucket needs a positive capacity and period")
        self._capacity = float(capacity)
        self._period = float(period)
        self._clock = clock
        self._tokens = float(capacity)
        self._at = clock()

    def take(self, n: float = 1) -> float:
        """Take ``n`` tokens (going into debt if need be); return the seconds to wait."""
        now = self._clock()
        refill = (now - self._at) * self._capacity / self._period
        self._tokens = min(self._capacity, self._tokens + refill)
        self._at = now
        self._tokens -= n
        if self._tokens < 0:
            return -self._tokens * self._period / self._capacity
        return 0.0

    def try_take(self, n: float = 1) -> bool:
        """Take ``n`` tokens if there are that many (no debt); False if there are not."""
        if self.take(0) > 0 or self._tokens < n:
            return False
        self._tokens -= n
        return True

    async def acquire(self, n: float = 1) -> None:
        """Take ``n`` tokens and wait until the debt, if any, is paid."""
        delay = self.take(n)
        if delay > 0:
            await asyncio.sleep(delay)


class Signal:
    """A flag a task can wait for: ``asyncio.Event`` for one waiter, without its deque.

    Every connection holds two of these, most of them idle; an ``Event`` (with its waiter
    deque) costs about 1 KB of memory, this under 0.1 KB. ``wait`` may be awaited by one task
    at a time.
    """

    __slots__ = ("_flag", "_waiter")

    def __init__(self, flag: bool = False) -> None:
        self._flag = flag
        self._waiter: asyncio.Future[None] | None = None

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        self._flag = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._flag = False

    async def wait(self) -> None:
        """Return once the flag is set (at once if it is)."""
        while not self._flag:
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter


class CommandRunner(Protocol):
    """What a session hands its commands to (the relay, over ``hushwire.server.dispatch``)."""

    async def process(self, session: Session, req: ClientRequest) -> list[Reply]:
        """Run one command; the transmissions to send back, in order."""

    def count_error(self, e: ErrorType) -> None:
        """Count an error answered without running a command."""

    def try_deliver(self, rid: bytes) -> None:
        """Push queue ``rid``'s head message to its subscriber if it has nothing in flight."""

    @property
    def stages_sender_keys(self) -> bool:
        """The store shows an SKEY's key once decided, before its commit
        (``QueueStore.staged_sender_key``)."""


class Session:
    """One client connection after the handshake (a :class:`~hushwire.server.dispatch.Client`)."""

    def __init__(
        self,
        runner: CommandRunner,
        limits: RelayLimits,
        metrics: Metrics,
        conn: BlockConn,
        version: int,
        session_id: bytes,
        session_key: PrivateKey,
        chains: tuple[BlockChain, BlockChain] | None,
    ) -> None:
        self.runner = runner
        self.limits = limits
        self.metrics = metrics
        self.conn = conn
        self.cid = conn.conn_id
        self.version = version
        self.session_id = session_id
        self.session_key = session_key
        self.session_box_key: bytes | None = None
        """The box key of private routing (``RFWD``), when the client hello carried a key."""
        self.send_chain: BlockChain | None = chains[0] if chains else None
        self.recv_chain: BlockChain | None = chains[1] if chains else None
        self.subs: dict[bytes, Sub] = {}
        self.box_keys: BoxKeys = {}
        """X25519 authenticator box keys of this connection (``hushwire.server.auth``)."""
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._flush_pending = False
        self._drained = Signal(True)
        self.deferred: set[bytes] = set()
        """Queues whose delivery waits until the send queue is no longer backlogged."""
        self._closing = False
        self._commands = TokenBucket(limits.commands_per_second, 1.0)
        self._new_queues = TokenBucket(limits.new_queues_per_minute, 60.0)
        self.peer_address: str | None = None
        """The peer's IP address, for budgets shared per address (set by the relay)."""
        self.new_queue_quota: TokenBucket | None = None
        """Queue creations shared by the connections of the peer's address (set by the
        relay); NEW past it is answered ``ERR QUOTA``."""
        self.sig_budgets: tuple[tuple[str, TokenBucket], ...] = ()
        """Budgets of signature checks shared with other sessions (the peer address's, the
        relay's), by name; the relay sets them after the handshake."""
        self._blocks_in_progress = 0
        self._pipeline_free = Signal()
        self._writer_task: asyncio.Task[None] | None = None
        self._answers: list[tuple[asyncio.Future[list[Reply]], bool]] = []
        """Commands started and not yet answered, in request order; True ends a block."""
        self._chains: dict[
            bytes, tuple[asyncio.Future[list[Reply]] | None, list[asyncio.Future[list[Reply]]]]
        ] = {}

    # ------------------------------------------------------------------ output

    @property
    def _soft_cap(self) -> int:
        return self.limits.send_queue_blocks * SMP_BLOCK_SIZE // 2

    @property
    def _hard_cap(self) -> int:
        return self.limits.send_queue_blocks * SMP_BLOCK_SIZE

    @property
    def backlogged(self) -> bool:
        """More is queued for the peer than half the send queue: deliveries wait (see
        :attr:`deferred`) until what is queued has gone to the connection."""
        return self._out_bytes >= self._soft_cap

    def push(self, corr_id: bytes, entity_id: bytes, msg: BrokerMsg) -> None:
        """Queue one push (not an answer to a command of this session); a session that lets
        pushes pile up past the send queue is closed (deliveries wait instead: see
        :attr:`backlogged`, so what piles up here are notices such as ``END``)."""
        if self._queue(corr_id, entity_id, msg) > self._hard_cap:
            self.metrics.disconnects["slow_reader"] += 1
            log.info("%s: closed: client does not read its messages", self.cid)
            self.close_now()

    def _queue(self, corr_id: bytes, entity_id: bytes, msg: BrokerMsg) -> int:
        """Queue one transmission; the bytes queued now (0 once the session is closing)."""
        if self._closing:
            return 0
        t = encode_server_transmission(self.version, self.session_id, corr_id, entity_id, msg)
        self._out.append(t)
        self._out_bytes += len(t)
        if not self._flush_pending:
            # Everything pushed in this loop iteration goes out together, in as few blocks
            # as it fits in; an idle connection holds no task and no scheduled callback.
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)
        if self._out_bytes >= self._soft_cap:
            self._drained.clear()
        return self._out_bytes

    def close_now(self) -> None:
        self._closing = True
        self._drained.set()
        self.conn.abort()

    async def stop_writer(self) -> None:
        """Stop the writer task, if one was started (after :meth:`close_now`)."""
        task, self._writer_task = self._writer_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _take_blocks(self) -> list[bytes]:
        """Everything queued, packed into blocks (encrypted at v11+); the queue is then empty."""
        items, self._out = self._out, []
        self._out_bytes = 0
        self._drained.set()
        if self.deferred:
            asyncio.get_running_loop().call_soon(self._deliver_deferred)
        blocks: list[bytes] = []
        for part in batch_transmissions(items):
            if not isinstance(part, Batch):  # pragma: no cover - responses always fit
                log.error("%s: a response did not fit in a block", self.cid)
                continue
            if self.send_chain is not None:
                blocks.append(self.send_chain.encrypt(part.payload))
            else:
                blocks.append(pad_block(part.payload))
        return blocks

    def _flush(self) -> None:
        """Send what :meth:`push` queued (scheduled by it): written at once when the
        connection takes it, else handed to a writer task that waits for the peer's side."""
        self._flush_pending = False
        if self._closing or self._writer_task is not None or not self._out:
            return  # a running writer task sends what is queued once its send completes
        blocks = self._take_blocks()
        if self.conn.can_write_now:
            try:
                if not self.conn.write_now(blocks):
                    return
            except (ConnectionClosedError, TransportFailure, OSError):
                self.close_now()
                return
            blocks = []  # written; what is left is to wait until the peer takes them
        self._writer_task = asyncio.get_running_loop().create_task(self.writer(blocks))

    async def writer(self, blocks: list[bytes]) -> None:
        """Send ``blocks``, then whatever was queued meanwhile, until nothing is left
        (started by :meth:`_flush` when the connection cannot take data at once).

        A send that takes longer than ``send_timeout`` closes the session (a timer per send,
        cheaper than a timeout context)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                timer = loop.call_later(self.limits.send_timeout, self._send_timed_out)
                try:
                    await self.conn.send_blocks(blocks)
                finally:
                    timer.cancel()
                if self._closing or not self._out:
                    break
                blocks = self._take_blocks()
        except (ConnectionClosedError, TransportFailure, OSError):
            self.close_now()
        if self._writer_task is asyncio.current_task():
            self._writer_task = None

    def _deliver_deferred(self) -> None:
        """The deliveries that waited for the send queue are tried again, queue by queue."""
        rids, self.deferred = self.deferred, set()
        for rid in rids:
            if self._closing:
                return
            self.runner.try_deliver(rid)

    def _send_timed_out(self) -> None:
        """The writer's send did not finish in ``send_timeout``: the client does not read."""
        if not self._closing:
            self.metrics.disconnects["slow_reader"] += 1
            log.info("%s: closed: client does not read its messages", self.cid)
            self.close_now()

    # ------------------------------------------------------------------ input

    async def throttle_new(self) -> None:
        """NEW is limited per minute on top of the command rate."""
        await self._new_queues.acquire()

    async def reader(self) -> None:
        while not self._closing:
            block = await self.conn.recv_block()
            try:
                if self.recv_chain is not None:
                    payload = self.recv_chain.decrypt(block)
                else:
                    payload = unpad_block(block)
            except DecodeError:
                reqs: list[ClientRequest | RequestError] = [
                    RequestError(NO_CORR_ID, NO_ENTITY, ErrorType.BLOCK)
                ]
            else:
                reqs = decode_client_batch(payload, self.version, self.session_id)
            delay = self._commands.take(len(reqs))
            if self.sig_budgets:
                signed = 0
                for r in reqs:
                    if isinstance(r, ClientRequest) and r.auth:
                        signed += 1
                if signed:
                    for name, bucket in self.sig_budgets:
                        wait = bucket.take(signed)
                        if wait > 0:
                            self.metrics.throttled[name] += 1
                            delay = max(delay, wait)
            if delay > 0:
                await asyncio.sleep(delay)
            if self._blocks_in_progress >= PIPELINED_BLOCKS:
                self._pipeline_free.clear()
                await self._pipeline_free.wait()
            self._blocks_in_progress += 1
            last = len(reqs) - 1
            for i, req in enumerate(reqs):
                fut = self._start(req)
                self._answers.append((fut, i == last))
                fut.add_done_callback(self._answer_ready)
            if not self._drained.is_set():
                await self._drained.wait()

    def _answer_ready(self, _: asyncio.Future[list[Reply]]) -> None:
        """Push the replies of every finished command at the head, in request order."""
        answers = self._answers
        while answers and answers[0][0].done():
            fut, ends_block = answers.pop(0)
            if fut.cancelled():
                replies: list[Reply] = []
            elif (exc := fut.exception()) is not None:  # pragma: no cover - _run answers
                log.error("%s: a command failed", self.cid, exc_info=exc)
                replies = []
            else:
                replies = fut.result()
            # Answers never close the session: the reader takes no further block while
            # they are more than half the send queue, so they are bounded by what it read.
            for corr, ent, msg in replies:
                self._queue(corr, ent, msg)
            if ends_block:
                self._blocks_in_progress -= 1
                self._pipeline_free.set()

    def _start(self, req: ClientRequest | RequestError) -> asyncio.Future[list[Reply]]:
        if isinstance(req, RequestError):
            self.runner.count_error(req.error)
            done: asyncio.Future[list[Reply]] = asyncio.get_running_loop().create_future()
            done.set_result([(req.corr_id, req.entity_id, ERR(req.error))])
            return done
        key = bytes(req.entity_id)
        chain = self._chains.get(key)
        is_send = isinstance(req.command, SEND)
        if chain is None:  # nothing in progress on this id (the usual case): nothing to wait for
            task = asyncio.create_task(self._run(req, []))
            self._chains[key] = (None, [task]) if is_send else (task, [])
        else:
            barrier, sends = chain
            staged = self.runner.stages_sender_keys
            if is_send and not sends and staged and _skey_in_progress(barrier):
                assert barrier is not None
                task = asyncio.create_task(self._run_behind_skey(req, barrier))
            else:
                waits = [barrier] if is_send else [barrier, *sends]
                task = asyncio.create_task(self._run(req, [w for w in waits if w is not None]))
            if is_send:
                sends.append(task)  # the list is this chain's own
            else:
                self._chains[key] = (task, [])
        if isinstance(req.command, SKEY):
            task.set_name(_SKEY_TASK)
        task.add_done_callback(functools.partial(self._forget, key))
        return task

    async def _run_behind_skey(
        self, req: ClientRequest, skey: asyncio.Future[list[Reply]]
    ) -> list[Reply]:
        """The first SEND behind an SKEY of the same queue: it starts after the SKEY's first
        step, which staged its key unless it waits itself (for a command before it, or for
        room in the store); then the SEND, refused, runs again once the SKEY is done (the
        refused attempt counts in the command and error metrics)."""
        replies = await self._run(req, [])
        if skey.done() or not _refused(replies):
            return replies
        with contextlib.suppress(BaseException):
            await skey
        return await self._run(req, [])

    def _forget(self, key: bytes, task: asyncio.Future[list[Reply]]) -> None:
        chain = self._chains.get(key)
        if chain is not None and chain[0] in (None, task) and all(t.done() for t in chain[1]):
            if chain[0] is None or chain[0].done():
                del self._chains[key]

    async def _run(
        self, req: ClientRequest, waits: list[asyncio.Future[list[Reply]]]
    ) -> list[Reply]:
        for w in waits:
            with contextlib.suppress(BaseException):
                await w
        try:
            return await self.runner.process(self, req)
        except Exception:  # pragma: no cover - a bug must not take the session down
            log.exception("%s: command failed", self.cid)
            return [(req.corr_id, req.entity_id, ERR(ErrorType.INTERNAL))]

    async def settle(self) -> None:
        """Let commands already started finish (their writes are committed either way)."""
        pending = [fut for fut, _ in self._answers]
        if pending:
            await asyncio.wait(pending, timeout=10)


_SKEY_TASK: Final = "hushwire-relay-skey"
"""The name of an SKEY command's task (a SEND behind one does not wait for its commit). A name,
not a set of the session's SKEY tasks: a 30th attribute gives every Session a dictionary of
its own instead of the shared key table, about 1.4 KB more per idle connection."""


def _skey_in_progress(fut: asyncio.Future[list[Reply]] | None) -> bool:
    """``fut`` is an SKEY command's task, still running."""
    return isinstance(fut, asyncio.Task) and not fut.done() and fut.get_name() == _SKEY_TASK


def _refused(replies: list[Reply]) -> bool:
    """The replies are one ``ERR AUTH``."""
    return (
        len(replies) == 1
        and isinstance(replies[0][2], ERR)
        and replies[0][2].error == ErrorType.AUTH
    )
