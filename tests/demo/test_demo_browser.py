"""The demo as a first-time user meets it: ``hushwire demo``'s website and inbox in two
Chromium tabs. The visitor writes, the owner reads and replies, the visitor sees the reply,
and both see their messages delivered (✓✓)."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest

from hushwire.demo.run import RunningDemo, run_demo
from hushwire.testing.browser import CHROMIUM, CHROMIUM_ARGS

ARGS = list(CHROMIUM_ARGS)

if not os.environ.get("CI"):
    pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("needs Debian's chromium: run `make chromium`", allow_module_level=True)


def test_two_tabs_hold_an_encrypted_conversation(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    stop = asyncio.Event()
    failures: list[BaseException] = []

    async def flow(demo: RunningDemo) -> None:
        try:
            async with async_playwright() as p:
                ctx = await p.chromium.launch_persistent_context(
                    str(tmp_path / "chromium"),
                    executable_path=CHROMIUM,
                    args=ARGS,
                    headless=True,
                    viewport={"width": 1100, "height": 760},
                )
                try:
                    errors: list[str] = []
                    site = ctx.pages[0] if ctx.pages else await ctx.new_page()
                    site.on("pageerror", lambda e: errors.append(str(e)))
                    site.on("console", lambda m: m.type == "error" and errors.append(m.text))
                    await site.goto(demo.site_url)
                    inbox = await ctx.new_page()
                    inbox.on("pageerror", lambda e: errors.append(str(e)))
                    await inbox.goto(demo.inbox.login_link)

                    # The visitor opens the chat, gives a name and writes.
                    await site.get_by_role("button", name="Open chat").click()
                    await site.get_by_role("textbox", name="Your name (optional)").fill("Ada")
                    await site.get_by_role("button", name="Start chat").click()
                    await expect(site.get_by_role("status")).to_contain_text(
                        "Connected", timeout=20000
                    )
                    field = site.get_by_role("textbox", name="Message")
                    await field.fill("Two rye loaves for Saturday, please <b>!</b>")
                    await site.get_by_role("button", name="Send").click()

                    # The owner sees the conversation, opens it and reads the text as text.
                    convs = inbox.get_by_role("list", name="Conversations")
                    item = convs.get_by_role("link", name="Ada")
                    await expect(item).to_be_visible(timeout=20000)
                    await item.click()
                    log = inbox.get_by_role("log", name="Messages")
                    await expect(log.locator(".msg.in .msg-text")).to_have_text(
                        ["Two rye loaves for Saturday, please <b>!</b>"]
                    )
                    reply = inbox.get_by_role("textbox", name="Reply")
                    await reply.fill("Done: two rye loaves on Saturday.")
                    await inbox.get_by_role("button", name="Send").click()

                    # The visitor sees the reply; both sides see their message delivered.
                    vlog = site.get_by_role("log", name="Messages")
                    await expect(vlog.locator(".msg.in .text")).to_have_text(
                        ["Done: two rye loaves on Saturday."], timeout=20000
                    )
                    await expect(vlog.locator(".msg.out .tick")).to_have_attribute(
                        "data-state", "delivered", timeout=20000
                    )
                    await expect(log.locator(".msg.out .tick")).to_have_attribute(
                        "data-state", "delivered", timeout=20000
                    )
                    await site.screenshot(path="/tmp/hushwire-demo-site.png")
                    await inbox.screenshot(path="/tmp/hushwire-demo-inbox.png")
                    assert errors == []
                finally:
                    await ctx.close()
        except BaseException as e:
            failures.append(e)
        finally:
            stop.set()

    async def main() -> None:
        await run_demo(
            tmp_path / "demo",
            out=io.StringIO(),
            ports={"relay": 0, "site": 0, "inbox": 0},
            stop=stop,
            opener=lambda url: None,
            started=lambda demo: _background(flow(demo)),
        )

    asyncio.run(asyncio.wait_for(main(), 180))
    if failures:
        raise failures[0]


_tasks: set[asyncio.Task[None]] = set()


async def _background(coro: object) -> None:
    task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
