"""The widget joins an inbox by its short link, in Chromium under the strict CSP: the owner's
agent (as ``hushwire inbox`` does) makes a contact address with a short link on a real relay;
the embed names only the short link; the widget loads its ``short`` module, resolves the link
with ``LGET`` on the relay, checks the link data and joins the full address inside it; then
the conversation works both ways. A short link whose data the relay does not have fails with
a message and no chat.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import test_widget_browser as wb

from hushwire.agent.agent import Agent
from hushwire.agent.shortlinks import ShortLink
from hushwire.bot.common import profile_info
from hushwire.testing import RelayProcess
from hushwire.testing import start_relay_process as start_relay
from hushwire.widget import SnippetOptions, snippet


class ShortOwner(wb.Owner):
    """The owner as the inbox runs it: its address has a short link with profile data."""

    async def start(self) -> str:
        await self.agent.start()
        data = json.dumps({"profile": {"displayName": "Tiny Bakery", "fullName": ""}})
        await self.agent.create_address(profile_info("Tiny Bakery"), link_data=data.encode())
        short = self.agent.short_address()
        assert short is not None, "the relay gave the address no short link"
        self._task = asyncio.create_task(self._run())
        return short


@asynccontextmanager
async def relay_and_short_owner(tmp: Path) -> AsyncIterator[tuple[RelayProcess, wb.Owner, str]]:
    relay = await asyncio.to_thread(start_relay, tmp / "relay", tls=False)
    agent = Agent(tmp / "owner", relay.address, ws_url=relay.ws_url, client_config=wb.OWNER_CFG)
    owner = ShortOwner(agent)
    try:
        yield relay, owner, await owner.start()
    finally:
        await owner.stop()
        await asyncio.to_thread(relay.stop)


def test_widget_joins_the_inbox_by_its_short_link(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_short_owner(tmp_path) as (relay, owner, short):
            assert "/a#" in short and "contact#" not in short
            with wb.page_server() as site:
                site.csp = wb.strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
                tag = snippet(SnippetOptions(short, relay.ws_url, lang="en"))
                site.host_page(tag)
                async with wb.chromium(tmp_path) as ctx:
                    page, errors = await wb.open_page(ctx, site)
                    await page.get_by_role("button", name="Open chat").click()
                    await wb.chat_established(page, owner)
                    await wb.exchange(page, owner, "Found you by the short link", "Welcome!")
                    log = page.get_by_role("log", name="Messages")
                    await expect(log.locator(".msg.in .text")).to_have_text(["Welcome!"])
                    out = log.locator(".msg.out .tick")
                    await expect(out).to_have_attribute("data-state", "delivered")
                    await wb.csp_clean(page, site)
                    assert errors == []

                    # Another link key on the same relay: the relay has no data for it (AUTH).
                    link = ShortLink.parse(short)
                    other = ShortLink(link.scheme, link.server, bytes(32), "A")
                    site.host_page(snippet(SnippetOptions(other.to_str(), relay.ws_url, lang="en")))
                    await page.reload()
                    await page.get_by_role("button", name="Open chat").click()
                    panel = page.locator(".panel")
                    await expect(panel).to_have_attribute("data-state", "failed")
                    await expect(page.get_by_role("status")).to_contain_text(
                        "The chat could not start: LinkError: the relay has no address for "
                        "this short link"
                    )
                    assert len(owner.names) == 1

    wb.run(main)


def test_a_short_link_chat_resumes_after_reload(tmp_path: Path) -> None:
    """data-resume with a short link: the sealed state keeps the full address the link
    resolved to, so the reload restores the chat without resolving the link again."""

    async def main() -> None:
        async with relay_and_short_owner(tmp_path) as (relay, owner, short):
            with wb.page_server() as site:
                site.csp = wb.strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
                site.host_page(snippet(SnippetOptions(short, relay.ws_url, resume=True)))
                async with wb.chromium(tmp_path) as ctx:
                    page, errors = await wb.open_page(ctx, site)
                    await page.get_by_role("button", name="Open chat").click()
                    await wb.chat_established(page, owner)
                    await wb.exchange(page, owner, "Before the reload", "Got it")
                    await wb.reload_and_resume(
                        page,
                        owner,
                        ["Before the reload", "Got it"],
                        "After the reload",
                        "Still here",
                    )
                    assert len(owner.names) == 1  # resumed, not joined again
                    assert errors == []

    wb.run(main)
