"""A visitor on the widget's GRP profile (``data-profile="grp"``) in Chromium under the strict
CSP, through two relays on loopback: the entry relay E serves GRP/1 and TLS but no plain
WebSocket; the owner's inbox (``--require-grp``) has its address on D, which a browser cannot
reach at all. The widget loads its ``grp`` and ``proxy`` modules, reaches E over GRP/1 only
(the page's one WebSocket, and the CSP's only ``connect-src``) and sends everything for D
through E (PRXY/PFWD); D's counters show that every command it ran for the visitor came
forwarded over E's one proxy connection. Both ways, at a test cover rate and once at the
protocol's 1 frame/s with the snippet exactly as the inbox printed it, and across a reload
(``data-resume``). A visitor whose widget is not on GRP reads the inbox's refusal and the chat
ends; the inbox stores nothing of it. The profile with a plain relay fails closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import test_widget_browser as wb

from conftest import loopback_address as address
from conftest import loopback_relay
from hushwire.client import ClientConfig
from hushwire.inbox.grpgate import REFUSAL
from hushwire.inbox.run import RunningInbox, start_inbox
from hushwire.server.run import RunningRelay
from hushwire.testing.grp import grp_relay, tls_address
from hushwire.widget import SnippetOptions, snippet

FAST = 20.0
"""The test cover rate (frames/s; the relay's ``grp_cover_rate`` and the widget's test-only
``&cover=``): the protocol's 1/s makes each round trip take about two seconds."""
CFG = ClientConfig(command_timeout=20)


@dataclass
class Setup:
    entry: RunningRelay
    dest: RunningRelay
    inbox: RunningInbox
    grp_relay: str
    """data-relay of the GRP embed: E's GRP address, '#', E's SMP address."""
    grp_ws: str
    """E's GRP endpoint as the browser dials it."""
    grp_origin: str
    """Its origin, the page's only ``connect-src``."""
    inbox_connections: int
    """D's connections before any visitor (the inbox's own)."""


@asynccontextmanager
async def relays_and_inbox(
    tmp: Path, rate: float, *, entry_ws: bool = False
) -> AsyncIterator[Setup]:
    """E (GRP at ``rate``, TLS, a plain WebSocket only if ``entry_ws``), D (TLS only) and the
    inbox on D requiring GRP, whose snippet names E."""
    async with (
        grp_relay(tmp / "e", rate, ws=entry_ws) as e,
        loopback_relay(tmp / "d", ws=None) as d,
    ):
        assert e.grp_address is not None
        grp = f"{e.grp_address.encode()}#{tls_address(e).encode()}"
        inbox = await start_inbox(
            tmp / "inbox",
            address(d),
            widget_relay=grp,
            client_config=CFG,
            require_grp=True,
        )
        try:
            ws = e.grp_address.ws_url
            origin = ws.removesuffix("/grp/1")
            yield Setup(e, d, inbox, grp, ws, origin, d.relay.metrics.connections_total)
        finally:
            await inbox.stop()


def embed(s: Setup, rate: float | None) -> str:
    """The GRP snippet for the inbox's address (with the test rate, if any)."""
    tag = snippet(SnippetOptions(s.inbox.service.address, s.grp_relay, profile="grp"))
    if rate is not None:
        relay = s.grp_relay.replace("#", f"&cover={rate:g}#")
        tag = tag.replace(f'data-relay="{s.grp_relay}"', f'data-relay="{relay}"')
        assert relay in tag
    return tag


@asynccontextmanager
async def visitor_page(
    tmp: Path, tag: str, connect_src: str
) -> AsyncIterator[tuple[Any, list[str], wb.PageServer, list[str]]]:
    """The host page embedding ``tag`` under the strict CSP (``connect-src`` only
    ``connect_src``), in Chromium with the chat opened; the URLs of every WebSocket the page
    or its workers open."""
    with wb.page_server() as site:
        site.csp = wb.strict_csp(connect_src)
        site.host_page(tag)
        async with wb.chromium(tmp) as ctx:
            sockets: list[str] = []
            page = ctx.pages[0] if ctx.pages else await ctx.new_page()
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page, errors = await wb.open_page(ctx, site)
            await page.get_by_role("button", name="Open chat").click()
            yield page, errors, site, sockets


async def chat_up(page: Any, inbox: RunningInbox, timeout: float) -> str:
    """The widget shows the chat and the inbox has the visitor online: its conversation id."""
    panel = page.locator(".panel")
    for _ in range(int(timeout * 10)):
        state = await panel.get_attribute("data-state")
        if state == "failed":
            why = await page.get_by_role("status").inner_text()
            raise AssertionError(f"the widget could not start the chat: {why}")
        online = [c for c in inbox.service.conversations() if c.status == "online"]
        if state == "chat" and online:
            return online[0].id
        await asyncio.sleep(0.1)
    raise AssertionError(f"no chat after {timeout} s")


async def inbox_reads(inbox: RunningInbox, conv: str, text: str, timeout: float) -> None:
    for _ in range(int(timeout * 10)):
        _, messages = inbox.service.conversation(conv)
        if any(m.direction == "in" and m.text == text for m in messages):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the inbox did not get {text!r}")


async def exchange(page: Any, inbox: RunningInbox, conv: str, text: str, reply: str) -> None:
    from playwright.async_api import expect

    field = page.get_by_role("textbox", name="Message")
    await field.fill(text)
    await field.press("Enter")
    await inbox_reads(inbox, conv, text, 60)
    await inbox.service.reply(conv, reply)
    log = page.get_by_role("log", name="Messages")
    await expect(log.locator(".msg.in .text").last).to_have_text(reply, timeout=60_000)


def test_a_visitor_on_grp_chats_with_the_inbox_through_two_relays(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relays_and_inbox(tmp_path, FAST) as s:
            assert s.entry.ws_port is None and s.dest.ws_port is None  # nothing but GRP
            tag = embed(s, FAST)
            async with visitor_page(tmp_path, tag, s.grp_origin) as (page, errors, site, sockets):
                conv = await chat_up(page, s.inbox, 60)
                paths = {p.split("?")[0] for p in site.paths}
                assert {"/hushwire-widget-grp.js", "/hushwire-widget-proxy.js"} <= paths
                await exchange(page, s.inbox, conv, "Hello over GRP", "Hello from the inbox")
                await exchange(page, s.inbox, conv, "Zweimal: ü€😀", "Second reply")
                out = page.get_by_role("log", name="Messages").locator(".msg.out .tick")
                await expect(out.last).to_have_attribute("data-state", "delivered")
                await wb.csp_clean(page, site)
                assert errors == []
                # the page's only WebSockets went to E's GRP endpoint
                assert sockets and set(sockets) == {s.grp_ws}
            (c,) = s.inbox.service.conversations()
            assert c.name == "Visitor"
            _, messages = s.inbox.service.conversation(c.id)
            assert [(m.direction, m.text) for m in messages] == [
                ("in", "Hello over GRP"),
                ("out", "Hello from the inbox"),
                ("in", "Zweimal: ü€😀"),
                ("out", "Second reply"),
            ]
            m_e, m_d = s.entry.relay.metrics, s.dest.relay.metrics
            forwarded = m_e.proxy_commands[("PFWD", "success")]
            # invitation, confirmation, SKEY, 2 messages, receipts for the inbox's 2 messages
            assert forwarded >= 6
            assert m_d.forwarded_received == forwarded == m_d.commands["RFWD"]
            # D saw the inbox's connection(s) and E's one proxy connection, nothing else
            assert m_d.connections_total == s.inbox_connections + 1
            assert m_d.commands["PRXY"] == m_d.commands["PFWD"] == 0
            assert m_e.proxy_commands[("PRXY", "success")] >= 1
            # cover frames flowed both ways between the browser and E
            assert s.entry.grp is not None
            counters = s.entry.grp.cover.counters
            assert counters.get("recv_COVER", 0) > 0 and counters.get("sent_COVER", 0) > 0
            assert counters.get("recv_DATA", 0) > 0 and counters.get("sent_DATA", 0) > 0

    wb.run(main, timeout=240)


def test_a_visitor_on_grp_at_the_protocol_rate_with_the_inbox_snippet(tmp_path: Path) -> None:
    """λ = 1 frame/s as deployed, and the embed exactly as the inbox printed it."""

    async def main() -> None:
        async with relays_and_inbox(tmp_path, 1.0) as s:
            tag = s.inbox.service.snippet
            assert tag is not None and 'data-profile="grp"' in tag
            async with visitor_page(tmp_path, tag, s.grp_origin) as (page, errors, site, sockets):
                conv = await chat_up(page, s.inbox, 120)
                await exchange(page, s.inbox, conv, "At one frame a second", "Still here")
                await wb.csp_clean(page, site)
                assert errors == []
                assert sockets and set(sockets) == {s.grp_ws}
            assert s.dest.relay.metrics.connections_total == s.inbox_connections + 1

    wb.run(main, timeout=300)


def test_an_inbox_that_requires_grp_tells_a_visitor_without_it_and_ends_the_chat(
    tmp_path: Path,
) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relays_and_inbox(tmp_path, FAST, entry_ws=True) as s:
            assert s.entry.ws_port is not None
            plain_ws = f"ws://127.0.0.1:{s.entry.ws_port}"
            relay = f"{plain_ws}/#{tls_address(s.entry).encode()}"  # the proxy, no GRP
            tag = snippet(SnippetOptions(s.inbox.service.address, relay))
            async with visitor_page(tmp_path, tag, plain_ws) as (page, errors, site, _):
                log = page.get_by_role("log", name="Messages")
                await expect(log.locator(".msg.in .text").last).to_have_text(
                    REFUSAL, timeout=60_000
                )
                await expect(page.locator(".panel")).to_have_attribute("data-state", "ended")
                await expect(log.locator(".note").last).to_have_text("The conversation was ended.")
                await wb.csp_clean(page, site)
                assert errors == []
            assert s.inbox.service.conversations() == []

    wb.run(main, timeout=240)


def test_the_grp_profile_with_a_plain_relay_fails_closed(tmp_path: Path) -> None:
    """``data-profile="grp"`` with a ``ws://`` relay (an embed written by hand): the chat does
    not start, says why, and no WebSocket is opened at all."""
    from playwright.async_api import expect

    async def main() -> None:
        async with relays_and_inbox(tmp_path, FAST, entry_ws=True) as s:
            plain_ws = f"ws://127.0.0.1:{s.entry.ws_port}"
            relay = f"{plain_ws}/#{tls_address(s.entry).encode()}"
            tag = snippet(SnippetOptions(s.inbox.service.address, relay))
            tag = tag.replace(" async>", ' data-profile="grp" async>', 1)
            assert 'data-profile="grp"' in tag
            async with visitor_page(tmp_path, tag, plain_ws) as (page, errors, site, sockets):
                await expect(page.locator(".panel")).to_have_attribute("data-state", "failed")
                await expect(page.get_by_role("status")).to_contain_text(
                    'GrpEmbedError: data-profile="grp" needs data-relay="grp://'
                )
                assert "/hushwire-widget-grp.js" in {p.split("?")[0] for p in site.paths}
                assert sockets == []
                assert errors == []
            assert s.entry.relay.metrics.connections_total == 0

    wb.run(main)


def test_a_resumed_chat_on_grp_dials_grp_again(tmp_path: Path) -> None:
    """``data-resume``: after a reload the stored session is restored in a worker with the
    ``grp`` module and goes on over GRP through E, never over a plain WebSocket."""
    from playwright.async_api import expect

    async def main() -> None:
        async with relays_and_inbox(tmp_path, FAST) as s:
            tag = embed(s, FAST).replace(" async>", " data-resume async>", 1)
            async with visitor_page(tmp_path, tag, s.grp_origin) as (page, errors, site, sockets):
                conv = await chat_up(page, s.inbox, 60)
                await exchange(page, s.inbox, conv, "Before the reload", "Seen")
                stored = await wb.stored_sessions(page)
                assert stored == [{"extractable": False, "alg": "AES-GCM", "sealed": True}]
                await page.reload()
                await page.get_by_role("button", name="Open chat").click()
                log = page.get_by_role("log", name="Messages")
                await expect(log.locator(".msg .text")).to_have_text(["Before the reload", "Seen"])
                await exchange(page, s.inbox, conv, "After the reload", "Still over GRP")
                await wb.csp_clean(page, site)
                assert errors == []
                assert len(sockets) >= 2 and set(sockets) == {s.grp_ws}
            assert len(s.inbox.service.conversations()) == 1  # resumed, not joined again
            assert s.dest.relay.metrics.connections_total == s.inbox_connections + 1

    wb.run(main, timeout=240)
