"""Short links in the web app, in Chromium, with the Python agent (what ``hushwire inbox`` and the
SimpleX apps run) on a real relay: the app joins a Python one-time invitation by its short link
opened on the app's origin (``/i#...``: LKEY secures the queue, the confirmation skips SKEY),
and a Python contact address by its relay short link pasted into "Paste a link" (``LGET``);
messages go both ways with receipts each time. A short link the relay has no data for fails
with a message, and the server never sees a link's fragment. A German browser joins a
``hushwire room host`` room by the short link the host prints, opened on the app's origin.
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
    relay_and_app,
)
from test_app_german import entry, open_de, say, set_name, verbunden
from test_app_interop import app_and_peer, talk
from test_app_rooms import chat_args, cli, room_host

from hushwire.agent.shortlinks import ShortLink
from hushwire.bot.common import profile_info

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
        async with app_and_peer(tmp_path) as (app, page, errors, peer):
            agent = peer.agent

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

    asyncio.run(asyncio.wait_for(main(), 240))


@pytest.mark.timeout(300)
def test_a_german_browser_joins_a_python_room_by_its_short_link(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (relay, app), browser() as b:
            async with room_host(tmp_path, relay) as host:
                # the host prints the short link first, then the full one
                short = await host.expect(lambda x: x.startswith("https://"), "short link")
                assert "/a#" in short
                link = await host.expect(lambda x: x.startswith("simplex:/contact#"), "link")
                async with cli(tmp_path, *chat_args(relay, link, tmp_path / "py", "ada")) as ada:
                    await ada.expect(lambda x: x.startswith("Joined the room Lobby"), "joined")
                    page, errors = await open_de(b, app.url)
                    await verbunden(page)
                    await set_name(page, "Ann")
                    await page.goto(on_origin(short, app.url))
                    room = entry(page, "Lobby")
                    await expect(room).to_contain_text("verbunden")
                    await room.get_by_role("button").click()
                    await expect(page.locator("#chat-title")).to_have_text("Lobby")
                    members = page.get_by_role("list", name="Mitglieder").get_by_role("listitem")
                    await expect(members).to_have_text(["Lobby (Gastgeber)"])
                    await ada.expect(lambda x: x == "* Ann joined", "ada sees the app join")
                    await say(page, "Hallo aus dem Browser")
                    await ada.expect(
                        lambda x: x == "< Ann: Hallo aus dem Browser", "the app's message"
                    )
                    await host.say("Willkommen")
                    log = page.get_by_role("log", name="Nachrichten")
                    await expect(log.locator("li.in")).to_have_text(["Lobby: Willkommen"])
                    await clean(page, errors)
                    no_link_reached_the_server(app, "/a", short.split("#")[1][:16])

    asyncio.run(asyncio.wait_for(main(), 240))
