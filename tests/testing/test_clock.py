"""hushwire.testing.clock: time that moves only when the test moves it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hushwire.testing import FakeClock


def test_clocks_start_where_told_and_move_together() -> None:
    clock = FakeClock()
    assert clock.time() == 1_700_000_000.0
    assert clock.monotonic() == 0.0
    assert clock.now() == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    clock.advance(1.5)
    assert clock.time() == 1_700_000_001.5
    assert clock.monotonic() == 1.5
    other = FakeClock(wall=10, monotonic=100)
    assert (other.time(), other.monotonic()) == (10.0, 100.0)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_sleep_records_advances_and_yields() -> None:
    clock = FakeClock()
    order: list[str] = []

    async def other() -> None:
        order.append("other")

    async def main() -> None:
        task = asyncio.create_task(other())
        await clock.sleep(2.0)
        order.append("after sleep")
        await clock.sleep(-1.0)  # a negative delay is recorded, time stays
        await task

    asyncio.run(main())
    assert clock.sleeps == [2.0, -1.0]
    assert clock.monotonic() == 2.0
    assert order == ["other", "after sleep"]
