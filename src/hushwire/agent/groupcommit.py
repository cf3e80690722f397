"""The agent store's group commit: one COMMIT for every step waiting, the log synced off the loop.

Mirrors nothing in simplexmq (its agent commits each step with SQLite's own fsync); it is the
agent's counterpart of the relay's group commit (docs/architecture.md), kept to what one
SQLite connection on the loop needs. :class:`hushwire.agent.store.AgentStore` owns the
connection and says how to commit, roll back and sync; this module decides when.

Theory of operation
-------------------
Once :meth:`hushwire.agent.store.AgentStore.defer_commits` was called, each step is a
savepoint inside one open SQLite transaction (the *batch*), and nothing is durable until
:meth:`GroupCommit.durable` (awaited before anything is done outside on the strength of the
step: an ACK to the relay, a SEND, an event) says so.

* The COMMIT runs on the loop one turn after the first waiter asked for it, so every step that
  reached that point in the meantime shares it.
* The fsync of the log runs on a worker thread while the loop goes on (SQLite runs with
  ``synchronous=NORMAL``; the store's sync touches no object of the loop's connection). One
  sync at a time, each covering every commit made before it started; each waiter is released
  by the first sync that covers its commit. Commits made while a sync runs wait for the next
  one, which starts as soon as the running one ends: the sync rate follows the load, and the
  loop never waits for the disk. Now and then the sync also checkpoints the log.
* :meth:`GroupCommit.committed` waits for the COMMIT only (what survives the process being
  killed, though not yet a power loss), for what may safely happen twice after a power loss.
* A failed COMMIT rolls the whole batch back (the store drops its memory view) and fails its
  waiters: nothing they wrote is kept, so nothing they would have acknowledged is lost. A
  failed sync fails every waiter and every later call (what was committed may not be on
  disk: the agent must be restarted).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Final

from hushwire.errors import HushwireError

__all__ = ["CHECKPOINT_EVERY", "GroupCommit"]

CHECKPOINT_EVERY: Final = 64
"""Commits between two checkpoints of the log (run by the sync's thread)."""


class GroupCommit:
    """The commits and log syncs of one store, and who waits for them (on one event loop)."""

    def __init__(
        self,
        *,
        batch_open: Callable[[], bool],
        commit: Callable[[], None],
        rollback: Callable[[], None],
        sync: Callable[[bool], None],
    ) -> None:
        """``batch_open``: a transaction is open; ``commit``: COMMIT it (raises
        ``sqlite3.Error``, leaving it open); ``rollback``: drop it; ``sync(checkpoint)``:
        make every commit so far durable, and checkpoint the log if asked (blocking; run on
        a worker thread, except from :meth:`commit_now` and :meth:`close`)."""
        self._batch_open = batch_open
        self._commit = commit
        self._rollback = rollback
        self._sync = sync
        self.commits = 0
        """COMMITs made (a group commit counts once): for tests and benchmarks."""
        self.synced = 0
        """Commits up to this one are on disk."""
        self.syncs = 0
        """Log syncs run on the worker thread (one covers every commit before it)."""
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        """:meth:`durable` callers: (the commit they need on disk, their future)."""
        self._commit_waiters: list[asyncio.Future[None]] = []
        """:meth:`committed` callers: the next COMMIT releases them."""
        self._flush_scheduled = False
        self._syncing = False
        self._checkpointed = 0
        """:attr:`commits` when the last checkpoint was asked for."""
        self._broken: HushwireError | None = None
        self._closed = False

    def commit_now(self) -> None:
        """COMMIT and sync at once, on this thread (before group commit is in use)."""
        self._commit()
        self.commits += 1
        self._sync(False)
        self.synced = self.commits

    def close(self) -> None:
        """Commit and sync what is left, at once; from now on nothing is started."""
        if self._batch_open():
            self._commit()
            self.commits += 1
        if self.commits > self.synced and self._broken is None:
            self._sync(False)
            self.synced = self.commits
        self._closed = True

    async def durable(self) -> None:
        """Return once everything written so far is committed and on disk (at once if it is).

        Raises the commit's error if the group commit failed (nothing of it is kept)."""
        if self._broken is not None:
            raise self._broken
        need = self.commits + 1 if self._batch_open() else self.commits
        if need <= self.synced:
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((need, fut))
        if need > self.commits:
            self._schedule_flush()
        elif not self._syncing:
            self._start_sync()
        await fut

    async def committed(self) -> None:
        """Return once everything written so far is committed, not waiting for the log sync:
        it survives the process being killed, not yet a power loss (a few milliseconds later
        it does). For what may happen twice after a power loss."""
        if self._broken is not None:
            raise self._broken
        if not self._batch_open():
            return
        fut = asyncio.get_running_loop().create_future()
        self._commit_waiters.append(fut)
        self._schedule_flush()
        await fut

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """COMMIT the batch (also while a sync runs: the next sync covers it), release the
        :meth:`committed` callers, and start a sync if one is waited for."""
        self._flush_scheduled = False
        if self._closed:
            return
        error = None
        if self._batch_open():
            try:
                self._commit()
                self.commits += 1
            except sqlite3.Error as e:
                self._rollback()
                error = HushwireError(f"the agent store could not commit: {e}")
                _release([f for n, f in self._waiters if n > self.commits], error)
                self._waiters = [(n, f) for n, f in self._waiters if n <= self.commits]
        waiting, self._commit_waiters = self._commit_waiters, []
        _release(waiting, error)
        if self._waiters and not self._syncing:
            self._start_sync()

    def _start_sync(self) -> None:
        self._syncing = True
        self.syncs += 1
        upto = self.commits
        checkpoint = upto - self._checkpointed >= CHECKPOINT_EVERY
        if checkpoint:
            self._checkpointed = upto
        sync = asyncio.get_running_loop().run_in_executor(None, self._sync, checkpoint)
        sync.add_done_callback(lambda f: self._synced(f, upto))

    def _synced(self, sync: asyncio.Future[None], upto: int) -> None:
        """The sync that covers commits up to ``upto`` ended: release their waiters; start
        the next sync if later commits are waited for."""
        self._syncing = False
        if self._closed:
            return  # close() committed and synced everything
        error = None if sync.cancelled() else sync.exception()
        if error is not None:
            self._broken = HushwireError(f"the agent store could not write to disk: {error}")
            waiting, self._waiters = self._waiters, []
            _release([f for _, f in waiting], self._broken)
            return
        self.synced = max(self.synced, upto)
        _release([f for n, f in self._waiters if n <= upto], None)
        self._waiters = [(n, f) for n, f in self._waiters if n > upto]
        if any(n <= self.commits for n, _ in self._waiters):
            self._start_sync()


def _release(waiters: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for fut in waiters:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)
