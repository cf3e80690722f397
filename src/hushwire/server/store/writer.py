"""The group-commit writer: one thread that commits everything pending as one transaction.

A blocking database driver (stdlib ``sqlite3`` today) runs on this thread only, so the event
loop never waits for a disk. It is the durable half of the group commit described in
``hushwire.server.store.mirror`` (simplexmq needs none: its STM store appends to
``Server.StoreLog`` and ``Server.MsgStore.Journal`` files, and ``Server.QueueStore.Postgres``
uses a connection pool; see docs/architecture.md).

Theory of operation
-------------------
The thread opens the connection and loads the committed state (handed to the loop through
:meth:`GroupCommitWriter.start`). Operations submitted on the loop are collected and handed
to the thread once per loop iteration (one queue put and at most one thread wake-up for all
the commands that iteration ran). The thread blocks for the first hand-off, takes everything
else queued, and calls ``commit(conn, changes)`` once for the whole batch (which runs one
transaction: all or nothing). The outcome goes back to the loop with one
``call_soon_threadsafe``. While a commit runs, new operations queue up for the next batch, so
the commit rate follows the load with no timer. A batch of barriers only (no changes) is
handed back without a transaction.

After a failed batch the thread waits until the loop has taken the operations queued behind
it (:meth:`take_queued`, they fail too) and calls :meth:`resume`. :meth:`stop` queues a stop
marker: everything submitted before it is committed first, then the connection is closed.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future as ThreadFuture
from typing import Final, Generic, TypeVar

from hushwire.server.store.contract import Change
from hushwire.server.store.mirror import BatchDone, PendingOp, Snapshot

__all__ = ["GroupCommitWriter"]

_C = TypeVar("_C")
_STOP: Final = None


class GroupCommitWriter(Generic[_C]):
    """One writer thread over a connection of type ``_C``.

    ``connect`` opens and loads (on the thread; an exception is raised by :meth:`start`);
    ``commit`` persists one batch's changes in one transaction or raises, leaving nothing of
    it; ``disconnect`` closes the connection when the thread ends.
    """

    def __init__(
        self,
        name: str,
        *,
        connect: Callable[[], tuple[_C, Snapshot]],
        commit: Callable[[_C, Sequence[Change]], None],
        disconnect: Callable[[_C], None],
    ) -> None:
        self._name = name
        self._connect = connect
        self._commit = commit
        self._disconnect = disconnect
        self._queue: queue.SimpleQueue[list[PendingOp] | None] = queue.SimpleQueue()
        self._outbox: list[PendingOp] = []
        """Submitted this loop iteration, not yet handed to the thread."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resume = threading.Event()
        self._thread: threading.Thread | None = None

    async def start(self, done: BatchDone) -> Snapshot:
        """Start the thread; return the loaded state. Batches are reported to ``done``."""
        if self._thread is not None:
            raise RuntimeError("writer already started")
        loop = self._loop = asyncio.get_running_loop()
        ready: ThreadFuture[Snapshot] = ThreadFuture()
        self._thread = threading.Thread(
            target=self._main, args=(loop, ready, done), name=self._name, daemon=True
        )
        self._thread.start()
        return await asyncio.wrap_future(ready)

    def submit(self, op: PendingOp) -> None:
        """Queue ``op`` (on the loop); it reaches the thread at the end of this iteration."""
        if not self._outbox:
            assert self._loop is not None, "writer not started"
            self._loop.call_soon(self._hand_off)
        self._outbox.append(op)

    def _hand_off(self) -> None:
        ops, self._outbox = self._outbox, []
        if ops:
            self._queue.put(ops)

    def take_queued(self) -> list[PendingOp]:
        """Remove what is queued (call on the loop after a failure); a stop stays queued."""
        taken: list[PendingOp] = []
        saw_stop = False
        while self._take_until_stop(taken):  # go on past a stop: take all there is
            saw_stop = True
        taken.extend(self._outbox)
        self._outbox = []
        if saw_stop:
            self._queue.put(_STOP)
        return taken

    def _take_until_stop(self, into: list[PendingOp]) -> bool:
        """Move what is queued into ``into`` without waiting, up to a stop marker (taken
        off the queue); True when that marker was reached."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            into.extend(item)

    def resume(self) -> None:
        self._resume.set()

    async def stop(self) -> None:
        """Commit everything submitted, then end the thread and close the connection."""
        thread = self._thread
        if thread is None:
            return
        self._hand_off()
        self._queue.put(_STOP)
        await asyncio.to_thread(thread.join)

    # ----------------------------------------------------------------- the thread

    def _main(
        self, loop: asyncio.AbstractEventLoop, ready: ThreadFuture[Snapshot], done: BatchDone
    ) -> None:
        try:
            conn, snapshot = self._connect()
        except BaseException as e:
            ready.set_exception(e)
            return
        ready.set_result(snapshot)
        try:
            stop = False
            while not stop:
                first = self._queue.get()
                if first is _STOP:
                    break
                batch = list(first)
                stop = self._take_until_stop(batch)
                seconds, error = self._run_batch(conn, batch)
                try:
                    loop.call_soon_threadsafe(done, batch, seconds, error)
                except RuntimeError:  # the loop is gone: nobody is left to answer
                    return
                if error is not None:
                    self._resume.wait()
                    self._resume.clear()
        finally:
            self._disconnect(conn)

    def _run_batch(self, conn: _C, batch: list[PendingOp]) -> tuple[float | None, Exception | None]:
        changes = [c for op in batch for c in op.changes]
        if not changes:
            return None, None
        start = time.perf_counter()
        try:
            self._commit(conn, changes)
        except Exception as e:
            return None, e
        return time.perf_counter() - start, None
