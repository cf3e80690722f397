"""GRP/1 cover traffic: a Poisson frame schedule independent of activity, sans-I/O.

docs/grp.md, "Cover traffic". Each side sends frames only at the ticks of its own Poisson
process of rate ``λ`` (exponential gaps ``-ln(U)/λ``, ``U`` from a CSPRNG in (0, 1]). At a
tick it sends CLOSE once closing with nothing queued, else REKEY when due, else the next
queued block, else a COVER frame, so the times and sizes an observer sees are the same
whatever is being said (a Loopix-style substitution; "real frames at once plus dummies"
would show every send).

:class:`CoverScheduler` decides what the next tick carries; the caller (the connection's
tick loop in ``hushwire.transport.grp``) sleeps the gaps. Both take the clock and the random
source as arguments, so the statistics are tested on a deterministic schedule
(tests/grp/test_cover.py). :class:`RateGuard` is the receiving side's check that a peer keeps
to the schedule: a peer past a burst of ``BURST`` frames or ``3λ`` on average is closed.
"""

from __future__ import annotations

import math
import secrets
from collections import deque
from collections.abc import Callable
from typing import Final

from hushwire.grp.frames import CloseReason, FrameSender, FrameType, close_body

CLIENT_RATE: Final = 1.0
"""Frames per second each way on a client link (a protocol constant: every GRP client must
look alike; docs/grp.md explains the choice)."""
LINK_RATE: Final = 2.0
"""Default frames per second each way on a relay-to-relay link (an operator setting)."""
CLIENT_MAX_AGE: Final = 6 * 3600.0
"""Seconds after which a client closes its GRP connection, so that reconnecting runs a new
handshake with a new ML-KEM key (recovery after a compromise of the session keys)."""
QUEUE_LIMIT: Final = 256
"""Frames a side may have waiting for ticks before its writer is held back."""
REKEY_SECONDS: Final = 60.0
"""A side sends REKEY at least this often (the brief bound is 120 s; half leaves room)."""
BURST: Final = 32
"""Frames a peer may send above its rate in one burst before it is closed (at least)."""
STALL_SECONDS: Final = 10.0
"""...or this many seconds' worth of frames at a high rate, whichever is more: frames bunch
up when the network or the receiver stalls."""
RATE_FACTOR: Final = 3.0
"""A peer averaging more than this many times the rate is closed."""

_system_random = secrets.SystemRandom()


def exponential_gap(rate: float, uniform: Callable[[], float] = _system_random.random) -> float:
    """One gap of a Poisson process of ``rate``: ``-ln(U)/rate`` with ``U`` in (0, 1]
    (``uniform`` returns [0, 1), so ``U = 1 - uniform()``)."""
    if rate <= 0:
        raise ValueError("the cover rate must be positive")
    return -math.log(1.0 - uniform()) / rate


class CoverScheduler:
    """What each tick of one direction carries, and how long until the next tick."""

    __slots__ = (
        "_close_sent",
        "_closing",
        "_last_rekey",
        "_queue",
        "_sender",
        "_uniform",
        "limit",
        "rate",
    )

    def __init__(
        self,
        sender: FrameSender,
        rate: float,
        *,
        now: float,
        uniform: Callable[[], float] = _system_random.random,
        limit: int = QUEUE_LIMIT,
    ) -> None:
        if rate <= 0:
            raise ValueError("the cover rate must be positive")
        self._sender = sender
        self.rate = rate
        self.limit = limit
        self._uniform = uniform
        self._queue: deque[bytes] = deque()
        self._last_rekey = now
        self._closing: CloseReason | None = None
        self._close_sent = False

    def next_gap(self) -> float:
        return exponential_gap(self.rate, self._uniform)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def has_room(self) -> bool:
        return len(self._queue) < self.limit

    def enqueue(self, block: bytes) -> None:
        """Queue one SMP block for a DATA frame (the caller checks :meth:`has_room`)."""
        if not self.has_room():
            raise ValueError("the GRP send queue is full")
        self._queue.append(block)

    def close(self, reason: CloseReason = CloseReason.NORMAL) -> None:
        """Send CLOSE at the next tick after the queued blocks."""
        self._closing = reason

    def seal_close(self, reason: CloseReason) -> bytes:
        """A CLOSE frame now, ahead of anything queued (the connection is going away)."""
        self._closing = reason
        self._close_sent = True
        self._queue.clear()
        return self._sender.seal(FrameType.CLOSE, close_body(reason))

    @property
    def closed(self) -> bool:
        """True once the CLOSE frame went out."""
        return self._close_sent

    def tick(self, now: float) -> tuple[FrameType, bytes]:
        """The frame for a tick at ``now``: CLOSE when closing and nothing is queued, else
        REKEY when due, else a queued block, else COVER. Returns its type (for counting) and
        wire bytes."""
        if self._closing is not None and not self._queue and not self._close_sent:
            self._close_sent = True
            return FrameType.CLOSE, self._sender.seal(FrameType.CLOSE, close_body(self._closing))
        if now - self._last_rekey >= REKEY_SECONDS:
            self._last_rekey = now
            return FrameType.REKEY, self._sender.seal(FrameType.REKEY)
        if self._queue:
            return FrameType.DATA, self._sender.seal(FrameType.DATA, self._queue.popleft())
        return FrameType.COVER, self._sender.seal(FrameType.COVER)


class RateGuard:
    """The receiving side's check: a token bucket of ``burst`` frames (default ``BURST`` or
    ``STALL_SECONDS`` of frames at ``rate``, whichever is more) refilled at
    ``RATE_FACTOR * rate``. :meth:`admit` is False once a peer is past it."""

    __slots__ = ("_at", "_capacity", "_refill", "_tokens")

    def __init__(self, rate: float, *, now: float, burst: int | None = None) -> None:
        if burst is None:
            burst = max(BURST, int(STALL_SECONDS * rate))
        self._capacity = float(burst)
        self._refill = RATE_FACTOR * rate
        self._tokens = self._capacity
        self._at = now

    def admit(self, now: float) -> bool:
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._refill)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
