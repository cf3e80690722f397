"""Short links in the web app, in Chromium, with the Python agent (what ``hushwire inbox`` and the
SimpleX apps run) on a real relay: the app joins a Python one-time invitation by its short link
opened on the app's origin (``/i#...``: LKEY secures the queue, the confirmation skips SKEY),
and a Python contact address by its relay short link pasted into "Paste a link" (``LGET``);
messages go both ways with receipts each time. A short link the relay has no data for fails
with a message, and the server never sees a link's fragment.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from test_app_browser import (
    browser,
    clean,
    no_link_reached_the_server,
    online,
    open_app,
    relay_and_app,
)
from test_app_interop import Peer, talk

from hushwire.agent.agent import Agent
from hushwire.agent.shortlinks import ShortLink
from hushwire.bot.common import profile_info
from hushwire.client import ClientConfig

# (test_app_browser skips this module too without Playwright or Chromium)


def on_origin(short: str, origin: str) -> str:
    """The short link on the app's origin: its ``simplex:/`` form (the relay's hosts in ``h=``)
    with the origin in place of the scheme, as the app shows full links."""
    simplex = dataclasses.replace(ShortLink.parse(short), scheme="simplex").to_str()
    assert simplex.startswith("simplex:/")
    return origin + simplex.removeprefix("simplex:/")


@pytest.mark.timeout(300)
def test_the_app_joins_python_short_links(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (relay, app), browser() as b:
            cfg = ClientConfig(command_timeout=10)
            agent = Agent(tmp_path / "py", relay.address, ws_url=relay.ws_url, client_config=cfg)
            await agent.start()
            peer = Peer(agent)
            try:
                page, errors = await open_app(b, app.url)
                await online(page)

                # a one-time invitation's short link, opened on the app's origin
                conn, _, short = await agent.create_short_invitation(profile_info("Python inviter"))
                assert "/i#" in short
                opened = on_origin(short, app.url)
                assert opened.startswith(app.url + "i#")
                await page.goto(opened)
                await talk(page, peer, conn, "Python inviter")
                assert page.url == app.url  # the fragment left the address bar

                # a contact address's short link (https://relay/a#...) pasted into the app
                peer.established.clear()
                peer.conns.clear()
                await agent.create_address(profile_info("Python address"))
                address = agent.short_address()
                assert address is not None and "/a#" in address
                await page.get_by_label("Paste a link").fill(address)
                await page.get_by_role("button", name="Connect", exact=True).click()
                await asyncio.wait_for(peer.established.wait(), 30)
                await talk(page, peer, peer.conns[-1], "Python address")

                # a short link the relay has no data for: the join fails, saying why
                link = ShortLink.parse(address)
                unknown = dataclasses.replace(link, link_key=bytes(32)).to_str()
                await page.get_by_label("Paste a link").fill(unknown)
                await page.get_by_role("button", name="Connect", exact=True).click()
                failed = page.get_by_role("list", name="Contacts").get_by_role("listitem")
                await expect(failed.filter(has_text="New contact")).to_contain_text(
                    "failed: LinkError: the relay has no address for this short link"
                )
                await clean(page, errors)
                no_link_reached_the_server(app, "/i", opened.split("#")[1][:16])
            finally:
                peer.task.cancel()
                await agent.stop()

    asyncio.run(asyncio.wait_for(main(), 240))
