"""Write-ahead resume in Chromium: the page is reloaded again and again in the middle of a burst
of owner messages and visitor sends (data-resume), and still every message arrives exactly
once in both directions, and the owner's agent never meets a message it cannot decrypt (a
restored state that reused a ratchet key would give RATCHET_HEADER, a lost ACK a gap).

The widget's worker sends (SEND) and acknowledges (ACK) only after the page confirmed that
IndexedDB committed a sealed state covering it (docs/widget.md section 4). A real relay on
loopback and a Python owner agent, as in test_widget_browser.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from test_widget_browser import OWNER_CFG, Owner, resume_chat, run

from hushwire.agent.agent import Agent, AgentProblem, MessageReceived, RatchetSyncChanged
from hushwire.testing import RelayProcess
from hushwire.testing import start_relay_process as start_relay

ROUNDS = 8
"""Reloads, each in the middle of a burst."""
BURST = 6
"""Messages each side sends in a burst."""


class _Watch(asyncio.Queue[Any]):
    """The owner agent's event queue, noting every event that says a message went wrong: a
    problem (a message it could not decrypt or read), a ratchet that needs re-synchronising,
    a message whose hash chain is broken (one lost or repeated)."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def put_nowait(self, item: Any) -> None:
        bad_chain = isinstance(item, MessageReceived) and item.integrity != "ok"
        if isinstance(item, AgentProblem | RatchetSyncChanged) or bad_chain:
            self.problems.append(repr(item))
        super().put_nowait(item)


@asynccontextmanager
async def watched_owner(tmp: Path) -> AsyncIterator[tuple[RelayProcess, Owner, str, _Watch]]:
    relay = await asyncio.to_thread(start_relay, tmp / "relay", tls=False)
    agent = Agent(tmp / "owner", relay.address, ws_url=relay.ws_url, client_config=OWNER_CFG)
    watch = _Watch()
    agent.events = watch
    owner = Owner(agent)
    try:
        link = await owner.start()
        yield relay, owner, link, watch
    finally:
        await owner.stop()
        await asyncio.to_thread(relay.stop)


async def received(owner: Owner, until: int, timeout: float = 30) -> list[str]:
    """What the owner got from the visitor, in order, once ``until`` texts came (or time ran
    out)."""
    got: list[str] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while len(got) < until and loop.time() < end:
        try:
            got.append(await asyncio.wait_for(owner.texts.get(), max(0.1, end - loop.time())))
        except TimeoutError:
            break
    await asyncio.sleep(1)  # a repeat would come now
    while not owner.texts.empty():
        got.append(owner.texts.get_nowait())
    return got


def test_reloads_in_the_middle_of_bursts_lose_and_repeat_nothing(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with watched_owner(tmp_path) as (relay, owner, link, watch):
            async with resume_chat(tmp_path, relay, owner, link) as (page, errors, _):
                field = page.get_by_role("textbox", name="Message")
                log = page.get_by_role("log", name="Messages")
                from_owner: list[str] = []
                anchors: list[str] = []

                async def owner_burst(r: int) -> None:
                    for i in range(BURST):
                        text = f"owner {r}.{i}"
                        await owner.say(text)
                        from_owner.append(text)

                for r in range(ROUNDS):
                    burst = asyncio.create_task(owner_burst(r))
                    for i in range(BURST):
                        await field.fill(f"visitor {r}.{i}")
                        await field.press("Enter")
                    # the reload: owner messages arriving, visitor messages on their way
                    await page.reload()
                    await burst
                    await page.get_by_role("button", name="Open chat").click()
                    await expect(page.get_by_role("status")).to_contain_text("Connected")
                    anchors.append(f"after reload {r}")
                    await field.fill(anchors[-1])
                    await field.press("Enter")

                # Owner to visitor: every message shown once, in order (none lost with an ACK
                # that went out before its state was stored, none shown twice).
                await expect(log.locator(".msg.in .text")).to_have_text(from_owner)
                # Visitor to owner: what the page shows as sent is what the owner got, once
                # each, in order. (A text typed but not yet taken by the worker at the
                # reload is neither: the page's own queue goes with the page.)
                await expect(log.locator(".msg.out .text").last).to_have_text(anchors[-1])
                shown = await log.locator(".msg.out .text").all_inner_texts()
                got = await received(owner, len(shown))
                assert got == shown
                assert len(set(got)) == len(got)
                assert all(a in got for a in anchors)
                assert len(got) > len(anchors), "no message of a burst went out at all"
                # the owner's agent never met a message it could not decrypt, nor a gap
                assert watch.problems == []
                await page.reload()
                await page.get_by_role("button", name="Open chat").click()
                await expect(log.locator(".msg.in .text")).to_have_text(from_owner)
                await expect(log.locator(".msg.out .text")).to_have_text(shown)
                assert [e for e in errors if e.startswith("pageerror")] == []

    run(main, timeout=300)
