"""A fake clock: wall time and monotonic time that move only when a test moves them.

Hand its methods to the time seams the package already has:

- ``Relay(clock=clock.time)`` and ``SQLiteStore(path, clock=clock.time)`` (message and queue
  timestamps, expiry);
- ``Agent(..., clock=clock.time)``;
- ``ClientConfig(clock=clock.monotonic, wall_clock=clock.now)`` (round trips, certificate
  dates) and ``client_handshake(..., now=clock.now)``;
- ``ReconnectingClient(..., sleep=clock.sleep)`` (backoff delays: recorded in
  :attr:`FakeClock.sleeps`, and the clock moves by each one);
- ``load_or_create_identity(..., now=clock.now())``.

Event-loop timers (``asyncio.sleep``, ``asyncio.timeout``) are not driven by this clock.
A test utility of Hushwire's own; it has no simplexmq counterpart.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Final

DEFAULT_WALL: Final = 1_700_000_000.0
"""2023-11-14T22:13:20Z: a fixed, certificate-friendly start for wall time."""


class FakeClock:
    """Wall time (seconds since the epoch) and monotonic time, advanced by hand."""

    def __init__(self, wall: float = DEFAULT_WALL, monotonic: float = 0.0) -> None:
        self._wall = float(wall)
        self._monotonic = float(monotonic)
        self.sleeps: list[float] = []
        """Every delay :meth:`sleep` was asked for, in order."""

    def time(self) -> float:
        """Wall time in seconds, as ``time.time``."""
        return self._wall

    def monotonic(self) -> float:
        """Monotonic seconds, as ``time.monotonic``."""
        return self._monotonic

    def now(self) -> datetime:
        """Wall time as an aware UTC datetime, as ``datetime.now(UTC)``."""
        return datetime.fromtimestamp(self._wall, UTC)

    def advance(self, seconds: float) -> None:
        """Move both clocks forward; time never goes back."""
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self._wall += seconds
        self._monotonic += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the delay, advance by it and let other tasks run once."""
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
