"""A relay as one node of a cluster: the change stream's events turned into SMP pushes, and
``--workers N`` (N processes of one relay sharing its ports).

Several relay processes and machines serve one address (``smp://KEYHASH@host``) from one
PostgreSQL store (:class:`~hushwire.server.store.cluster.ClusterStore`). What the store's
change stream reports becomes, in this node's dispatcher:

- entries appended to a queue (a SEND on any node) or its head removed: delivery is tried
  for this node's subscriber, if any (``MSG``);
- a SUB on another node, committed after this node's: ``END`` to this node's subscriber
  (one subscriber per queue, cluster-wide); likewise an NSUB: ``END`` (with the notifier
  id) to this node's notifier subscriber;
- a message with the notification flag stored on another node: ``NMSG`` to this node's
  notifier subscriber, if any;
- the queue deleted on another node: ``DELD``; its notifier deleted or replaced: ``DELD``
  (with the notifier id) to this node's notifier subscriber;
- the view reloaded after the store was unreachable: delivery is tried for every queue this
  node's clients are subscribed to.

:func:`run_workers` forks the worker processes (each its own event loop and its own store
connections, all listening on the same ports with SO_REUSEPORT, the kernel spreading new
connections over them) and supervises them: a worker that dies after having started is
started again; SIGTERM/SIGINT stop them all. simplexmq has no counterpart: its server is
one process per address.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Final

from hushwire.server.dispatch import Dispatcher
from hushwire.server.store.contract import StoredMessage

__all__ = ["RESTART_AFTER", "NodeEvents", "run_workers"]

log = logging.getLogger("hushwire.relay")

_STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)

RESTART_AFTER: Final = 5.0
"""A worker that dies after running this many seconds is started again; one that dies
sooner (it could not start) stops the relay with exit status 1."""


class NodeEvents:
    """:class:`~hushwire.server.store.cluster.ClusterEvents` for one relay's dispatcher."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    def appended(self, rid: bytes) -> None:
        self._dispatcher.try_deliver(rid)

    def notification(self, rid: bytes, msg: StoredMessage) -> None:
        q = self._dispatcher.store.get_by_recipient(rid)
        if q is not None and q.notifier is not None:
            self._dispatcher.notify(q, msg)

    def deleted(self, rid: bytes) -> None:
        self._dispatcher.end_subscription(rid, deleted=True)

    def taken(self, rid: bytes) -> None:
        self._dispatcher.end_subscription(rid, deleted=False)

    def ntf_taken(self, notifier_id: bytes) -> None:
        self._dispatcher.end_ntf_subscription(notifier_id)

    def ntf_deleted(self, notifier_id: bytes) -> None:
        self._dispatcher.end_ntf_subscription(notifier_id, deleted=True)

    def resynced(self) -> None:
        for rid in list(self._dispatcher.subscribers):
            self._dispatcher.try_deliver(rid)


async def check_store(dsn: str) -> None:
    """Open and close the cluster store once (schema migrated, reachable, not a single
    owner's): before any worker starts, so that a bad store is one error, not N."""
    from hushwire.server.store.cluster import ClusterStore

    store = ClusterStore(dsn)
    await store.open()
    await store.close()


def _stop_all(pids: dict[int, float], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def run_workers(n: int, worker: Callable[[int], int]) -> int:
    """Fork ``n`` processes running ``worker(index)`` (its return value is the exit status)
    and supervise them until SIGTERM/SIGINT; return the relay's exit status."""
    stopping = False

    pids: dict[int, float] = {}
    index: dict[int, int] = {}

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        _stop_all(pids, signal.SIGTERM)  # waitpid is retried after a handler (PEP 475)

    def spawn(i: int, again: bool = False) -> None:
        """Fork worker ``i``. SIGTERM and SIGINT are held meanwhile: a stop arriving during
        the fork reaches the parent's handler only once the worker is in ``pids`` (else the
        parent would wait for that worker forever), and the worker only once its default
        actions are back."""
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            raise
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            for sig in _STOP_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            if i > 0 or again:  # one set of start-up lines, from the first worker's start
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            code = 1
            try:
                code = worker(i)
            finally:
                sys.stdout.flush()
                os._exit(code)
        pids[pid], index[pid] = time.monotonic(), i
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    old = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    status = 0
    try:
        for i in range(n):
            spawn(i)
        while pids:
            try:
                pid, wstatus = os.waitpid(-1, 0)
            except InterruptedError:  # pragma: no cover - PEP 475 retries waitpid
                continue
            except ChildProcessError:  # pragma: no cover
                break
            started = pids.pop(pid, None)
            i = index.pop(pid, 0)
            if started is None or stopping:
                continue
            code = os.waitstatus_to_exitcode(wstatus)
            if time.monotonic() - started < RESTART_AFTER:
                log.error("worker %d exited with %d while starting: stopping the relay", i, code)
                status = 1
                stopping = True
                _stop_all(pids, signal.SIGTERM)
                continue
            log.warning("worker %d exited with %d: starting it again", i, code)
            spawn(i, again=True)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return status
