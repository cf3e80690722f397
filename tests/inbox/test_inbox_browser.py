"""The inbox web UI in Chromium (Debian's package, driven by Playwright): log in, see the
conversation, read a visitor's message (HTML shown as text), reply with the keyboard-named
controls, see the delivered tick."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_inbox_service import (
    XSS,
    chat_text,
    relay_and_inbox,
    run,
    say,
    visitor_joins,
    wait_for,
)

from hushwire.agent.agent import MessageReceived
from hushwire.testing.browser import CHROMIUM, CHROMIUM_ARGS

ARGS = list(CHROMIUM_ARGS)
SCREENSHOT = Path("/tmp/hushwire-inbox.png")

# On CI (`make test`) both are installed, so a missing one fails instead of skipping.
if not os.environ.get("CI"):
    pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("needs Debian's chromium: run `make chromium`", allow_module_level=True)


async def open_chromium(
    p: Any, tmp: Path, *, accept_dialogs: bool = False
) -> tuple[Any, Any, list[str]]:
    """Debian's chromium with a fresh profile in ``tmp`` (close the context), its page, and
    the page's errors, dialogs among them unless they are accepted."""
    ctx = await p.chromium.launch_persistent_context(
        str(tmp / "chromium-profile"),
        executable_path=CHROMIUM,
        args=ARGS,
        headless=True,
        viewport={"width": 1100, "height": 700},
    )
    page = ctx.pages[0] if ctx.pages else await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    if accept_dialogs:
        page.on("dialog", lambda d: d.accept())
    else:
        page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
    return ctx, page, errors


def test_owner_reads_and_replies_in_chromium(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (r, inbox):
            visitor, v_conn = await visitor_joins(r, tmp_path, inbox, name="Ada")
            async with async_playwright() as p:
                ctx, page, errors = await open_chromium(p, tmp_path)
                try:
                    await page.goto(inbox.login_link)
                    assert page.url == f"http://127.0.0.1:{inbox.web.port}/"
                    convs = page.get_by_role("list", name="Conversations")
                    await expect(convs).to_be_visible()
                    item = convs.get_by_role("link", name="Ada")
                    await expect(item).to_be_visible()
                    await expect(page.get_by_role("status")).to_have_text("Live")

                    # The visitor writes, HTML included: it arrives live, unread, as text.
                    await visitor.send(v_conn, say("Hello! Do you ship to Norway?"))
                    await visitor.send(v_conn, say(XSS))
                    await expect(item).to_contain_text(XSS)
                    await expect(item.locator(".badge")).to_have_text("2")
                    await item.click()
                    log = page.get_by_role("log", name="Messages")
                    await expect(log.locator(".msg.in")).to_have_count(2)
                    await expect(log.locator(".msg-text").last).to_have_text(XSS)
                    assert await page.locator("img").count() == 1  # only the settings QR code
                    await expect(item.locator(".badge")).to_have_count(0)

                    # The owner replies with the named controls.
                    reply_box = page.get_by_role("textbox", name="Reply")
                    await reply_box.fill("Yes, we ship to Norway <3")
                    await page.get_by_role("button", name="Send").click()
                    await expect(reply_box).to_have_value("")
                    got = await wait_for(visitor, MessageReceived)
                    assert chat_text(got) == "Yes, we ship to Norway <3"
                    await visitor.ack_message(got.msg_id, receipt=True)
                    out = log.locator(".msg.out")
                    await expect(out.locator(".msg-text")).to_have_text("Yes, we ship to Norway <3")
                    await expect(out.locator(".tick")).to_have_attribute("data-state", "delivered")
                    await expect(out.locator(".tick")).to_have_text("✓✓")

                    # Enter sends too (keyboard only).
                    await reply_box.fill("Anything else?")
                    await reply_box.press("Enter")
                    got = await wait_for(visitor, MessageReceived)
                    assert chat_text(got) == "Anything else?"
                    await page.screenshot(path=str(SCREENSHOT), full_page=True)

                    # Search and settings.
                    await page.get_by_role("searchbox", name="Search messages").fill("norway")
                    await page.keyboard.press("Enter")
                    await expect(page.locator("#results li")).to_have_count(2)
                    await page.get_by_role("link", name="Settings").click()
                    # The short link first, the full link (for older apps) below it.
                    short = inbox.service.short_address
                    assert short
                    await expect(page.get_by_label("Short link", exact=True)).to_have_value(short)
                    full = page.get_by_label("Full link (for older apps)", exact=True)
                    await expect(full).to_have_value(inbox.service.address)
                    await expect(page.locator("#address")).to_have_value(inbox.service.address)
                    assert await page.locator("#short-address, #address").evaluate_all(
                        "els => els.map(e => e.id)"
                    ) == ["short-address", "address"]
                    await expect(page.get_by_role("button", name="Copy short link")).to_be_visible()
                    await expect(page.get_by_role("button", name="Copy full link")).to_be_visible()
                    qr_ok = await page.locator("#qr").evaluate("i => i.complete && i.naturalWidth")
                    assert qr_ok
                    # The widget is built: the settings page shows its embed snippet.
                    await expect(page.locator("#snippet")).to_contain_text("<script")
                    await expect(page.locator("#snippet")).to_contain_text("integrity=")
                    await page.screenshot(path=str(SCREENSHOT.with_name("hushwire-settings.png")))
                    assert errors == []
                finally:
                    await ctx.close()
            await visitor.stop()

    run(main, 180)


def test_chromium_is_installed_where_the_makefile_puts_it() -> None:
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
