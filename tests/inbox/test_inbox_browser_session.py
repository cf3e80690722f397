"""The two-half browser session in Chromium (issue 16, B3): the page claims its key after
login and keeps it in its origin's storage; a tab that lost the key ends up at the login
page (no reload loop); logging out ends the session on the server."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest
from test_inbox_browser import ARGS, CHROMIUM
from test_inbox_service import base, relay_and_inbox, run

from hushwire.inbox.auth import KEY_HEADER, cookie_name

if not os.environ.get("CI"):
    pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("needs Debian's chromium: run `make chromium`", allow_module_level=True)


def test_the_page_keeps_its_key_and_logout_ends_the_session(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (_, inbox):
            url = base(inbox)
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    ctx = await browser.new_context()
                    page = await ctx.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda e: errors.append(str(e)))
                    await page.goto(inbox.login_link)
                    await expect(page.get_by_role("status")).to_have_text("Live")
                    key = await page.evaluate("localStorage.getItem('hushwire-inbox-key')")
                    assert isinstance(key, str) and len(key) >= 40
                    cookies = await ctx.cookies(url)
                    assert [c["name"] for c in cookies] == [cookie_name(inbox.web.port)]
                    cookie = cookies[0]["value"]
                    # A reload keeps working with the stored key (the claim is spent).
                    await page.reload()
                    await expect(page.get_by_role("status")).to_have_text("Live")

                    # A tab whose storage lost the key cannot get it again: it logs out
                    # and shows the login page, once.
                    await page.evaluate("localStorage.clear()")
                    await page.reload()
                    await expect(page.locator("h1")).to_have_text("Hushwire inbox")
                    await expect(page.locator("body")).to_contain_text("login link")
                    assert await ctx.cookies(url) == []

                    # Log in again, then log out from the settings page.
                    await page.goto(inbox.login_link)
                    await expect(page.get_by_role("status")).to_have_text("Live")
                    key = await page.evaluate("localStorage.getItem('hushwire-inbox-key')")
                    cookie = (await ctx.cookies(url))[0]["value"]
                    await page.get_by_role("link", name="Settings").click()
                    await page.get_by_role("button", name="Log out of this browser").click()
                    await expect(page.locator("body")).to_contain_text("login link")
                    assert await page.evaluate("localStorage.length") == 0
                    assert errors == []
                finally:
                    await browser.close()
            # The server forgot the session: a saved copy of cookie and key is refused.
            headers = {"Cookie": f"{cookie_name(inbox.web.port)}={cookie}", KEY_HEADER: key}
            async with aiohttp.ClientSession() as c:
                async with c.get(f"{url}/api/conversations", headers=headers) as resp:
                    assert resp.status == 401

    run(main, 180)
