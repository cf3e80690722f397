"""Key pairs made ahead of time, while the agent waits for a relay's answer.

No simplexmq counterpart: simplexmq's agent generates every key when a step needs it. The
bytes on the wire do not change, only when the CPU work is done.

A connection's handshake makes seven X448 key pairs (about 0.3 ms of CPU each) and a few
Ed25519 and X25519 ones, most of them on its critical path. :meth:`KeyPool.fill_while`
awaits the commands a step sent to a relay; once they are on the wire it runs the step's own
CPU work that does not depend on the answers, then makes key pairs for later steps, one per
turn of the event loop, until the answers are in. :meth:`KeyPool.take` hands one out when
a step needs it (or makes it then, if there is none).

Rules: a pair is handed out once (popped) and the pool keeps no other reference to it, so a
key is never used twice; pairs come from :meth:`KeyPair.generate`, as without the pool; the
pool lives in memory only and is never stored; a process forked from this one starts with an
empty pool (it would otherwise hand out the same keys as its parent).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

from hushwire.crypto.keys import KeyAlg, KeyPair

__all__ = ["KEYS_AHEAD", "KeyPool", "settle"]

T = TypeVar("T")

KEYS_AHEAD: Final[Mapping[KeyAlg, int]] = {KeyAlg.ED25519: 3, KeyAlg.X25519: 4, KeyAlg.X448: 1}
"""Pairs kept ready per algorithm (made in this order, the cheap ones first): what one
handshake takes on its critical path (new queues, send queues, the first ratchet step) of
one side. Keys of work that runs while a round trip is under way anyway are made there."""

SETTLE_TURNS: Final = 3
"""Event-loop turns :meth:`KeyPool.fill_while` lets pass before its own work: the SMP
client's writer task needs two to put the queued commands on the wire."""


class KeyPool:
    """Key pairs made ahead of time (see the module docstring)."""

    def __init__(self, ahead: Mapping[KeyAlg, int] = KEYS_AHEAD) -> None:
        self._ahead = dict(ahead)
        self._ready: dict[KeyAlg, list[KeyPair]] = {alg: [] for alg in self._ahead}
        self._pid = os.getpid()

    def _current(self) -> dict[KeyAlg, list[KeyPair]]:
        if os.getpid() != self._pid:  # a forked child: never reuse the parent's keys
            self._pid = os.getpid()
            self._ready = {alg: [] for alg in self._ahead}
        return self._ready

    def take(self, alg: KeyAlg) -> KeyPair:
        """A fresh pair, never handed out before."""
        ready = self._current().get(alg)
        return ready.pop() if ready else KeyPair.generate(alg)

    def ready(self, alg: KeyAlg) -> int:
        """How many pairs of ``alg`` are ready."""
        return len(self._current().get(alg, ()))

    def _make_one(self) -> bool:
        """Make one missing pair; False if the pool is full."""
        for alg, ready in self._current().items():
            if len(ready) < self._ahead[alg]:
                ready.append(KeyPair.generate(alg))
                return True
        return False

    async def fill_while(self, aw: Awaitable[T], work: Callable[[], None] | None = None) -> T:
        """Await ``aw`` (commands to a relay). Meanwhile, once they are on the wire, run
        ``work`` (CPU work that does not need the answers; an exception it raises is raised
        after ``aw`` is done), then make missing key pairs, one per event-loop turn, until
        ``aw`` is done or the pool is full."""
        fut = asyncio.ensure_future(aw)
        failed: Exception | None = None
        try:
            await settle(fut)
            if work is not None:
                try:
                    work()
                except Exception as e:  # raised once the commands are answered
                    failed = e
            while not fut.done() and self._make_one():
                await asyncio.sleep(0)  # whatever is ready (an answer) goes first
            result = await fut
        except BaseException:
            fut.cancel()
            raise
        if failed is not None:
            raise failed
        return result


async def settle(fut: asyncio.Future[Any] | None = None) -> None:
    """Let :data:`SETTLE_TURNS` event-loop turns pass (fewer if ``fut`` is done first): the
    commands queued before are then on the wire."""
    for _ in range(SETTLE_TURNS):
        if fut is not None and fut.done():
            return
        await asyncio.sleep(0)
