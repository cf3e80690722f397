"""Write-ahead in the web app, in Chromium: the app's worker sends (SEND) and acknowledges (ACK)
only after the page answered that IndexedDB committed a sealed profile covering it
(docs/app.md, "What is stored when").

A Python agent (the app's contact) and the app talk in bursts both ways while the app's tab is
reloaded, or closed and opened again, in the middle of each burst. After each reopening the
conversation goes on; at the end every message Python sent is shown exactly once, in order
(none lost to an ACK that went out before its profile was stored), what the app shows as sent
is exactly what Python got, once each, in order, and Python's agent never met a message it
could not decrypt nor a gap in the hash chain (a restored profile that reused a ratchet step).

A write that IndexedDB refuses (its transaction aborted) holds the message back and tells the
person, in English and German; once a write succeeds the message goes out and the notice goes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from test_app_browser import browser, connected_contact, new_invitation, online
from test_app_browser import relay_and_app as app_on_relay
from test_app_interop import Peer

from hushwire.agent.agent import Agent, AgentProblem, MessageReceived, RatchetSyncChanged
from hushwire.app.server import RunningApp
from hushwire.bot.common import profile_info, text_message
from hushwire.client import ClientConfig
from hushwire.testing.browser import CHROMIUM

if not os.environ.get("CI"):
    pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("needs Debian's chromium: run `make chromium`", allow_module_level=True)

ROUNDS = 5
"""Reopenings of the app's tab, each in the middle of a burst (odd rounds close the tab)."""
BURST = 5
"""Messages each side sends in a burst."""

WRITES = """(() => {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    const r = put.apply(this, args);
    if (window.__failWrites) this.transaction.abort();
    const until = performance.now() + (window.__slowWrites ?? 0);
    const spin = () => {
      if (performance.now() < until) this.count().onsuccess = spin;
    };
    spin();
    return r;
  };
})();"""
"""An init script for IndexedDB's writes: while ``window.__failWrites`` each write's transaction
aborts; ``window.__slowWrites`` (ms) keeps each write's transaction busy that long before it
commits (a slow disk: the window in which a tab that goes loses what was not committed)."""

LEFT = "[data-tick=sent], [data-tick=delivered]"
"""The tick of a message the relay took."""

UNSAVED_EN = "This browser could not save the conversation"
UNSAVED_DE = "Dieser Browser konnte die Unterhaltung nicht speichern"


class Faults(asyncio.Queue[Any]):
    """A Python agent's event queue that notes what says a message went wrong on the way: a
    message not decrypted or not read, a ratchet out of step, a hash chain with a gap or a
    repeat."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def put_nowait(self, item: Any) -> None:
        broken = isinstance(item, MessageReceived) and item.integrity != "ok"
        if broken or isinstance(item, AgentProblem | RatchetSyncChanged):
            self.seen.append(repr(item))
        super().put_nowait(item)


@asynccontextmanager
async def app_and_python(tmp: Path) -> AsyncIterator[tuple[RunningApp, Any, Peer, Faults]]:
    """A relay, the app, a browser and a Python :class:`Peer` whose events are watched."""
    async with app_on_relay(tmp) as (relay, app), browser() as b:
        cfg = ClientConfig(command_timeout=10)
        agent = Agent(tmp / "py", relay.address, ws_url=relay.ws_url, client_config=cfg)
        faults = Faults()
        agent.events = faults
        await agent.start()
        peer = Peer(agent)
        try:
            yield app, b, peer, faults
        finally:
            peer.task.cancel()
            await agent.stop()


async def drain(peer: Peer, count: int, timeout: float = 30) -> list[str]:
    """The texts Python got, in order, once ``count`` came (or time ran out), and any repeat
    that comes a second later."""
    got: list[str] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while len(got) < count and loop.time() < end:
        try:
            got.append(await asyncio.wait_for(peer.texts.get(), max(0.1, end - loop.time())))
        except TimeoutError:
            break
    await asyncio.sleep(1)
    while not peer.texts.empty():
        got.append(peer.texts.get_nowait())
    return got


async def new_tab(ctx: Any, url: str, errors: list[str]) -> Any:
    """A new tab of the app in ``ctx`` (its page errors noted in ``errors``)."""
    page = await ctx.new_page()
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    await page.goto(url)
    return page


async def open_chat(page: Any, name: str) -> None:
    """Wait until the app is online again with ``name`` connected, and open that chat."""
    await online(page)
    contact = await connected_contact(page, name)
    await contact.get_by_role("button").click()


async def invited(
    b: Any, app: RunningApp, peer: Peer, init: str, errors: list[str]
) -> tuple[Any, str]:
    """A new context on the app (:data:`WRITES` and ``init`` run first in each page), whose
    invitation Python joined: ``(the page with Python's chat open, Python's connection)``."""
    ctx = await b.new_context(viewport={"width": 360, "height": 740})
    await ctx.add_init_script(WRITES + "\n" + init)
    page = await new_tab(ctx, app.url, errors)
    await online(page)
    link = await new_invitation(page)
    conn = await peer.agent.join(link.replace("http://", "https://"), profile_info("Python"))
    await asyncio.wait_for(peer.established.wait(), 30)
    await open_chat(page, "Python")
    return page, conn


@pytest.mark.timeout(300)
def test_reloads_and_closes_mid_burst_lose_and_repeat_nothing(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with app_and_python(tmp_path) as (app, b, peer, faults):
            errors: list[str] = []
            page, conn = await invited(b, app, peer, "window.__slowWrites = 100;", errors)
            ctx = page.context
            from_python: list[str] = []
            anchors: list[str] = []

            async def python_burst(r: int) -> None:
                for i in range(BURST):
                    text = f"python {r}.{i}"
                    await peer.agent.send(conn, text_message(text))
                    from_python.append(text)

            for r in range(ROUNDS):
                burst = asyncio.create_task(python_burst(r))
                field = page.get_by_label("Message", exact=True)
                for i in range(BURST):
                    await field.fill(f"app {r}.{i}")
                    await field.press("Enter")
                    if i == 0:  # the first has left: the rest are on their way at the reload
                        first = page.locator("#messages li.out").filter(has_text=f"app {r}.0")
                        await expect(first.locator(LEFT)).to_have_count(1)
                # the tab goes: Python's messages arriving, the app's on their way
                if r % 2 == 0:
                    await page.reload()
                else:
                    await page.close()
                    page = await new_tab(ctx, app.url, errors)
                await burst
                await open_chat(page, "Python")
                # the conversation goes on both ways after each reopening
                anchors.append(f"app after {r}")
                await page.get_by_label("Message", exact=True).fill(anchors[-1])
                await page.keyboard.press("Enter")
                text = f"python after {r}"
                await peer.agent.send(conn, text_message(text))
                from_python.append(text)
                log = page.get_by_role("log", name="Messages")
                anchor = log.locator("li.out").filter(has_text=anchors[-1])
                await expect(anchor.locator("[data-tick=delivered]")).to_have_count(1)
                await expect(log.locator("li.in").filter(has_text=text)).to_have_count(1)

            # Python to the app: every message shown once, in order
            await expect(log.locator("li.in .text")).to_have_text(from_python)
            # the app to Python: what the app shows as sent is what Python got, once each
            await expect(log.locator("li.out .text").last).to_have_text(anchors[-1])
            shown = await log.locator("li.out .text").all_inner_texts()
            got = await drain(peer, len(shown))
            assert got == shown
            assert all(a in got for a in anchors)
            assert len(got) > len(anchors), "no message of a burst went out at all"
            assert faults.seen == []
            # and once more from what is stored
            await page.reload()
            await open_chat(page, "Python")
            await expect(log.locator("li.in .text")).to_have_text(from_python)
            await expect(log.locator("li.out .text")).to_have_text(shown)
            assert [e for e in errors if e.startswith("pageerror")] == []
            assert app.server.reports == []

    asyncio.run(asyncio.wait_for(main(), 280))


@pytest.mark.timeout(300)
def test_a_write_that_fails_holds_the_message_and_says_so(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with app_and_python(tmp_path) as (app, b, peer, _):
            errors: list[str] = []
            page, conn = await invited(b, app, peer, "", errors)
            ctx = page.context
            field = page.get_by_label("Message", exact=True)
            await field.fill("before")
            await field.press("Enter")
            assert await asyncio.wait_for(peer.texts.get(), 30) == "before"
            log = page.get_by_role("log", name="Messages")
            # its receipt is in (and acknowledged) before the writes start failing
            await expect(log.locator("li.out [data-tick=delivered]")).to_have_count(1)
            await page.wait_for_timeout(500)

            # IndexedDB refuses every write: the text is queued, not sent, and the page says so
            await page.evaluate("window.__failWrites = true")
            await field.fill("while failing")
            await field.press("Enter")
            queued = log.locator("li.out").filter(has_text="while failing")
            await expect(queued.locator("[data-tick=queued]")).to_have_count(1)
            alert = page.locator("#error")
            await expect(alert).to_contain_text(UNSAVED_EN)
            await expect(alert).to_contain_text("Free some disk space")
            # nor is a message from Python acknowledged: the one after it does not come
            await peer.agent.send(conn, text_message("from python 1"))
            await peer.agent.send(conn, text_message("from python 2"))
            await expect(log.locator("li.in")).to_have_text(["from python 1"])
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(peer.texts.get(), 4)
            await expect(log.locator("li.in")).to_have_text(["from python 1"])

            # writes work again: the retry stores the profile, then the text goes
            await page.evaluate("window.__failWrites = false")
            assert await asyncio.wait_for(peer.texts.get(), 30) == "while failing"
            await expect(log.locator("li.in .text")).to_have_text(
                ["from python 1", "from python 2"]
            )
            await expect(alert).to_have_text("")
            await expect(queued.locator("[data-tick=delivered]")).to_have_count(1)

            # the same notice in German (?lang=de): a name that cannot be saved is not "saved"
            de = await ctx.new_page()
            await page.close()
            await de.goto(app.url + "?lang=de")
            await expect(de.get_by_role("status")).to_contain_text("Verbunden")
            await de.evaluate("window.__failWrites = true")
            await de.get_by_label("Ihr Name").fill("Ada")
            await de.get_by_role("button", name="Name speichern").click()
            await expect(de.locator("#error")).to_contain_text(UNSAVED_DE)
            await expect(de.locator("#name-saved")).to_have_text("")
            await de.evaluate("window.__failWrites = false")
            await expect(de.locator("#name-saved")).to_have_text(
                "Name gespeichert.", timeout=15_000
            )
            await expect(de.locator("#error")).to_have_text("")
            assert errors == []
            assert app.server.reports == []

    asyncio.run(asyncio.wait_for(main(), 280))
