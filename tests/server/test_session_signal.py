"""The session's one-waiter flag (``hushwire.server.session.Signal``)."""

from __future__ import annotations

import asyncio

from hushwire.server.session import Signal


def test_signal_wait_set_clear_and_cancel() -> None:
    async def main() -> None:
        s = Signal()
        assert not s.is_set()
        waiter = asyncio.create_task(s.wait())
        await asyncio.sleep(0)
        assert not waiter.done()
        s.set()
        await asyncio.wait_for(waiter, 1)
        assert s.is_set()
        await asyncio.wait_for(s.wait(), 1)  # already set: returns at once
        s.clear()
        cancelled = asyncio.create_task(s.wait())
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        again = asyncio.create_task(s.wait())  # a cancelled wait leaves the flag usable
        await asyncio.sleep(0)
        assert not again.done()
        s.set()
        await asyncio.wait_for(again, 1)
        assert Signal(True).is_set()

    asyncio.run(main())
