"""Web app budgets: the app's script size, and time from opening an invitation link to connected.

1. Script: ``hushwire/static/app/hushwire-app.js`` (the page and its embedded crypto worker),
   raw and gzipped (level 9), beside the widget's core for scale. The app has no size budget of
   its own; the figure is reported.
2. Open invitation -> connected, in Chromium (Debian's package, driven by Playwright) on
   127.0.0.1: a relay process, the app served in this process, browser A (one page, kept open)
   makes a new invitation each round; browser B, a new context each round, opens the link: from
   ``page.goto(link)`` to B's contacts list saying "connected" (both ends connected: B is
   connected once A's confirmation came). Median of ``--rounds`` (default 5) after one warm-up.
   Beside it, in the same run, the same handshake by two Python ``Agent`` s in this process
   (``create_invitation``, ``join`` -> the joiner's ConnectionEstablished): the protocol's round
   trips without the browser.

3. Rooms, in the same Chromium: browser A hosts a room with ``--members`` - 1 browser members
   (default 11: the host and 10 members), each its own context.
   - open room link -> joined and able to send, in a room of 5: while the room has 4 members
     (the host and 3), a new context opens the link; from ``page.goto(link)`` to its contacts
     list showing the room "connected" (the host admitted it: it can send), then it leaves.
     Median of ``--rounds``.
   - message to N browser members: the host writes ``--rounds`` messages, one at a time; each
     member page records (``Date.now()``, one clock: one machine) when the message appears in
     its log. p50 and max over all deliveries, and p50 to the first and to the last member.
   The 1:1 figure above is the baseline from the same run (one connection, no forwarding).

Prints figures only, the last line ``RESULT {json}``; nothing is asserted (tests never assert
on time).

    .venv/bin/python benchmarks/app_budget.py [--rounds N] [--members N]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from widget_budget import (
    ARGS,
    FIGURES,
    chromium_version,
    drain,
    print_result,
    relay,
    summary,
)

from hushwire.agent.agent import Agent, ConnectionEstablished
from hushwire.app.server import start_app
from hushwire.bot.common import profile_info
from hushwire.smp.address import SMPServer
from hushwire.testing.browser import CHROMIUM
from hushwire.widget import bundle_bytes


def size_report() -> None:
    app = resources.files("hushwire.static").joinpath("app").joinpath("hushwire-app.js")
    data = app.read_bytes()
    gz = len(gzip.compress(data, 9))
    widget_gz = len(gzip.compress(bundle_bytes(), 9))
    FIGURES.update(app_script_gzip_bytes=gz, app_script_raw_bytes=len(data))
    FIGURES.update(widget_core_gzip_bytes=widget_gz)
    print(
        f"app script: {len(data)} bytes raw, {gz} bytes gzipped = {gz / 1024:.1f} KB "
        f"(widget core for scale: {widget_gz / 1024:.1f} KB gzipped)"
    )


@asynccontextmanager
async def app_in_chromium(tmp: Path) -> AsyncIterator[tuple[SMPServer, str, str, Any]]:
    """A relay on loopback, the app served on it, and Debian's Chromium: ``(the relay's
    address, its WebSocket URL, the app's URL, the browser)``."""
    from playwright.async_api import async_playwright

    with relay(tmp) as (server, ws_port):
        ws_url = f"ws://127.0.0.1:{ws_port}/"
        app = await start_app(server.encode(), ws_url)
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    yield server, ws_url, app.url, browser
                finally:
                    await browser.close()
        finally:
            await app.stop()


async def join_times(tmp: Path, rounds: int) -> None:
    from playwright.async_api import expect

    app_ms: list[float] = []
    python_ms: list[float] = []
    async with app_in_chromium(tmp) as (server, ws_url, app_url, browser):
        a = await (await browser.new_context()).new_page()
        await a.goto(app_url)
        await expect(a.get_by_role("status")).to_contain_text("Online")
        box = a.get_by_role("textbox", name="Invitation link")
        link = ""
        for i in range(rounds + 1):  # round 0 warms up Chromium and the relay
            await a.get_by_role("button", name="New invitation").click()
            await expect(box).not_to_have_value(link)
            link = await box.input_value()
            b = await (await browser.new_context()).new_page()
            t0 = time.perf_counter()
            await b.goto(link)
            contacts = b.get_by_role("list", name="Contacts")
            await expect(contacts).to_contain_text("connected", timeout=30_000)
            if i > 0:
                app_ms.append((time.perf_counter() - t0) * 1000)
            await b.context.close()
        for i in range(rounds):
            inviter = Agent(tmp / f"inviter-{i}", server, ws_url=ws_url)
            joiner = Agent(tmp / f"joiner-{i}", server, ws_url=ws_url)
            await inviter.start()
            await joiner.start()
            drainer = asyncio.create_task(drain(inviter))
            _, link = await inviter.create_invitation(profile_info("Inviter"))
            t0 = time.perf_counter()
            await joiner.join(link, profile_info("Joiner"))
            while not isinstance(await joiner.events.get(), ConnectionEstablished):
                pass
            python_ms.append((time.perf_counter() - t0) * 1000)
            drainer.cancel()
            await joiner.stop()
            await inviter.stop()
    print(f"open invitation -> connected, Chromium {await chromium_version()}, loopback:")
    print("  " + summary("app: open the link -> connected", app_ms))
    print("  " + summary("Python Agents: join -> ConnectionEstablished", python_ms))
    FIGURES["app_open_invitation_to_connected_ms"] = statistics.median(app_ms) if app_ms else None
    FIGURES["python_invitation_join_ms"] = statistics.median(python_ms) if python_ms else None


SEEN = """window.__seen = {};
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) {
    if (n instanceof HTMLElement && n.matches("li.in")) {
      const t = n.querySelector(".text")?.textContent ?? "";
      if (!(t in window.__seen)) window.__seen[t] = Date.now();
    }
  }
}).observe(document, { childList: true, subtree: true });"""


async def room_times(tmp: Path, rounds: int, members: int) -> None:
    from playwright.async_api import expect

    join_ms: list[float] = []
    deliveries: list[float] = []
    first: list[float] = []
    last: list[float] = []
    async with app_in_chromium(tmp) as (_, _, app_url, browser):

        async def page() -> Any:
            ctx = await browser.new_context()
            await ctx.add_init_script(SEEN)
            pg = await ctx.new_page()
            await pg.goto(app_url)
            await expect(pg.get_by_role("status")).to_contain_text("Online")
            return pg

        async def joined(pg: Any) -> None:
            item = pg.get_by_role("list", name="Contacts").get_by_role("listitem")
            await expect(item).to_contain_text("connected", timeout=60_000)

        host = await page()
        await host.get_by_label("Room name").fill("Bench")
        await host.get_by_role("button", name="New room").click()
        box = host.get_by_role("textbox", name="Room link")
        await expect(box).not_to_have_value("")
        link = await box.input_value()
        pages = []
        for _ in range(members - 1):
            pg = await page()
            await pg.goto(link)
            await joined(pg)
            pages.append(pg)
            if len(pages) == 3:  # a room of 4: each newcomer makes it 5
                for i in range(rounds + 1):
                    pg5 = await browser.new_page()
                    await pg5.goto(app_url)
                    await expect(pg5.get_by_role("status")).to_contain_text("Online")
                    t0 = time.perf_counter()
                    await pg5.goto(link)
                    await joined(pg5)
                    if i > 0:
                        join_ms.append((time.perf_counter() - t0) * 1000)
                    await pg5.get_by_role("list", name="Contacts").get_by_role("button").click()
                    await pg5.get_by_role("button", name="Leave room").click()
                    # left once the worker said so (the room's x.grp.leave is then sent)
                    await expect(
                        pg5.get_by_role("list", name="Contacts").get_by_role("listitem")
                    ).to_have_count(0)
                    await pg5.close()
        members_list = host.get_by_role("list", name="Members").get_by_role("listitem")
        await expect(members_list).to_have_count(members, timeout=60_000)
        for i in range(rounds + 1):
            text = f"bench {i}"
            await host.get_by_label("Message", exact=True).fill(text)
            t0 = await host.evaluate("Date.now()")
            await host.keyboard.press("Enter")
            for pg in pages:
                await expect(pg.get_by_role("log", name="Messages").locator("li.in")).to_have_count(
                    i + 1, timeout=60_000
                )
            seen = [await pg.evaluate(f"window.__seen[{text!r}]") for pg in pages]
            ms = sorted(float(x - t0) for x in seen)
            if i > 0:
                deliveries.extend(ms)
                first.append(ms[0])
                last.append(ms[-1])
    n = members - 1
    print(f"rooms, Chromium {await chromium_version()}, loopback, the host in a browser:")
    print("  " + summary("open room link -> joined, room of 5", join_ms))
    print("  " + summary(f"message -> each of {n} browser members", deliveries))
    print("  " + summary("  to the first member", first))
    print("  " + summary("  to the last member", last))
    FIGURES["app_room_join_in_room_of_5_ms"] = statistics.median(join_ms) if join_ms else None
    FIGURES[f"app_room_message_to_{n}_members_p50_ms"] = (
        statistics.median(deliveries) if deliveries else None
    )
    FIGURES[f"app_room_message_to_{n}_members_max_ms"] = max(deliveries) if deliveries else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--members", type=int, default=11, help="room members, the host included")
    args = ap.parse_args()
    size_report()
    if not Path(CHROMIUM).exists():
        print("join: skipped, no Chromium at /usr/bin/chromium (make chromium)")
    else:
        with tempfile.TemporaryDirectory(prefix="hushwire-app-bench-") as tmp:
            asyncio.run(join_times(Path(tmp), args.rounds))
        with tempfile.TemporaryDirectory(prefix="hushwire-app-bench-") as tmp:
            asyncio.run(room_times(Path(tmp), args.rounds, max(args.members, 4)))
    print_result()


if __name__ == "__main__":
    main()
