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

Prints figures only, the last line ``RESULT {json}``; nothing is asserted (tests never assert
on time).

    .venv/bin/python benchmarks/app_budget.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

from widget_budget import (
    ARGS,
    CHROMIUM,
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


async def join_times(tmp: Path, rounds: int) -> None:
    from playwright.async_api import async_playwright, expect

    app_ms: list[float] = []
    python_ms: list[float] = []
    with relay(tmp) as (server, ws_port):
        ws_url = f"ws://127.0.0.1:{ws_port}/"
        app = await start_app(server.encode(), ws_url)
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    a = await (await browser.new_context()).new_page()
                    await a.goto(app.url)
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
                finally:
                    await browser.close()
        finally:
            await app.stop()
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    size_report()
    if not Path(CHROMIUM).exists():
        print("join: skipped, no Chromium at /usr/bin/chromium (make chromium)")
    else:
        with tempfile.TemporaryDirectory(prefix="hushwire-app-bench-") as tmp:
            asyncio.run(join_times(Path(tmp), args.rounds))
    print_result()


if __name__ == "__main__":
    main()
