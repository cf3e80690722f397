"""The web app and the Python agent (the port of simplexmq's agent, what a SimpleX app runs)
connect in Chromium: the app's invitation on its origin (https://APP_HOST/invitation#/?..., as
a deployed app shows it) joined by a Python ``Agent``, a Python invitation and a Python contact
address opened in the app; each time messages both ways with receipts."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from test_app_browser import (
    browser,
    connected_contact,
    new_invitation,
    online,
    open_app,
    relay_and_app,
)

from hushwire.agent.agent import Agent, ConnectionEstablished, MessageReceived, ReceiptReceived
from hushwire.agent.links import parse_link
from hushwire.app.server import RunningApp
from hushwire.bot.common import chat_events, profile_info, text_message
from hushwire.chat.messages import XMsgNew
from hushwire.client import ClientConfig
from hushwire.testing import RelayProcess
from hushwire.testing.browser import CHROMIUM

if not os.environ.get("CI"):
    pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("needs Debian's chromium: run `make chromium`", allow_module_level=True)


class Peer:
    """A Python agent that acknowledges every message with a receipt and collects texts."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.texts: asyncio.Queue[str] = asyncio.Queue()
        self.receipts: asyncio.Queue[int] = asyncio.Queue()
        self.established = asyncio.Event()
        self.conns: list[str] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            ev = await self.agent.events.get()
            if isinstance(ev, ConnectionEstablished):
                self.conns.append(ev.conn_id)
                self.established.set()
            elif isinstance(ev, MessageReceived):
                for chat in chat_events(ev):
                    if isinstance(chat, XMsgNew) and chat.text is not None:
                        await self.texts.put(chat.text)
                await self.agent.ack_message(ev.msg_id, receipt=True)
            elif isinstance(ev, ReceiptReceived):
                await self.receipts.put(ev.snd_id)


@asynccontextmanager
async def python_peer(tmp: Path, relay: RelayProcess) -> AsyncIterator[Peer]:
    """A started Python agent (its data in tmp/py) on ``relay``, as a :class:`Peer`."""
    cfg = ClientConfig(command_timeout=10)
    agent = Agent(tmp / "py", relay.address, ws_url=relay.ws_url, client_config=cfg)
    await agent.start()
    peer = Peer(agent)
    try:
        yield peer
    finally:
        peer.task.cancel()
        await agent.stop()


@asynccontextmanager
async def app_and_peer(tmp: Path) -> AsyncIterator[tuple[RunningApp, Any, list[str], Peer]]:
    """A relay, the app and one browser page on it (online), and a Python :class:`Peer`:
    ``(app, page, page_errors, peer)``."""
    async with relay_and_app(tmp) as (relay, app), browser() as b:
        async with python_peer(tmp, relay) as peer:
            page, errors = await open_app(b, app.url)
            await online(page)
            yield app, page, errors, peer


async def talk(page: Any, peer: Peer, conn: str, name: str) -> None:
    from playwright.async_api import expect

    contact = await connected_contact(page, name)
    await asyncio.wait_for(peer.established.wait(), 30)
    await contact.get_by_role("button").click()
    await page.get_by_label("Message", exact=True).fill("from the browser")
    await page.keyboard.press("Enter")
    assert await asyncio.wait_for(peer.texts.get(), 30) == "from the browser"
    log = page.get_by_role("log", name="Messages")
    await expect(log.locator("li.out [data-tick=delivered]")).to_have_count(1)
    snd_id = await peer.agent.send(conn, text_message("from Python"))
    await expect(log).to_contain_text("from Python")
    while await asyncio.wait_for(peer.receipts.get(), 30) != snd_id:
        pass


@pytest.mark.timeout(300)
def test_the_app_and_the_python_agent_invite_each_other(tmp_path: Path) -> None:

    async def main() -> None:
        async with app_and_peer(tmp_path) as (app, page, errors, peer):
            agent = peer.agent
            # the app invites; Python joins the link as the deployed app shows it
            shown = await new_invitation(page)
            https = re.sub(r"^http://", "https://", shown)
            assert parse_link(https).mode == "invitation"
            conn = await agent.join(https, profile_info("Python joiner"))
            await talk(page, peer, conn, "Python joiner")

            # Python invites; the app opens the link on its origin
            peer.established.clear()
            conn2, link = await agent.create_invitation(profile_info("Python inviter"))
            assert link.startswith("simplex:/invitation#/?")
            await page.goto(app.url + link.removeprefix("simplex:/"))
            await talk(page, peer, conn2, "Python inviter")

            # a Python contact address, opened in the app (the address's owner accepts)
            peer.established.clear()
            peer.conns.clear()
            _, address = await agent.create_address(profile_info("Python address"))
            await page.goto(app.url + address.removeprefix("simplex:/"))
            await asyncio.wait_for(peer.established.wait(), 30)
            await talk(page, peer, peer.conns[-1], "Python address")
            assert errors == []
            assert app.server.reports == []

    asyncio.run(asyncio.wait_for(main(), 240))
