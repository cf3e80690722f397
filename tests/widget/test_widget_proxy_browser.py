"""An owner on another relay than the widget's, in Chromium under the strict CSP: the owner's
agent has its address on relay B, which has no WebSocket listener at all; the widget is
embedded with relay A (``data-relay="ws://A#smp://A..."``), loads its ``proxy`` module and
sends everything for B (the invitation, its confirmation, messages, receipts) through A with
SMP private routing (PRXY/PFWD), while its own queue is on A. The visitor chats both ways,
also after a reload (``data-resume``), and B's counters show every command it ran for the
visitor came forwarded by A's proxy (RFWD), never over a connection of the browser. A relay
that does not proxy makes the chat fail with the proxy's refusal; an owner whose address is
on A but whose reply queue is on B brings the module in mid-handshake.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import test_widget_browser as wb
from test_widget_shortlink_browser import ShortOwner

from conftest import loopback_address as address
from conftest import loopback_relay as relay
from hushwire.agent.agent import Agent
from hushwire.server.run import RunningRelay
from hushwire.widget import SnippetOptions, snippet


def embed_relay(a: RunningRelay) -> str:
    """``data-relay``: A's WebSocket URL, then ``#`` and A's SMP address."""
    return f"ws://127.0.0.1:{a.ws_port}/#{address(a).encode()}"


@asynccontextmanager
async def owner_on(b: RunningRelay, tmp: Path) -> AsyncIterator[tuple[wb.Owner, str]]:
    owner = wb.Owner(Agent(tmp / "owner", address(b), client_config=wb.OWNER_CFG))
    try:
        yield owner, await owner.start()
    finally:
        await owner.stop()


@asynccontextmanager
async def chat_page(
    tmp: Path, a: RunningRelay, link: str, relay_url: str, *, resume: bool = False
) -> AsyncIterator[tuple[Any, list[str], wb.PageServer]]:
    """The host page under the strict CSP (connect-src: A only) embedding ``link`` with
    ``data-relay=relay_url``, open in Chromium with the chat button clicked."""
    with wb.page_server() as site:
        site.csp = wb.strict_csp(f"ws://127.0.0.1:{a.ws_port}")
        site.host_page(snippet(SnippetOptions(link, relay_url, resume=resume)))
        async with wb.chromium(tmp) as ctx:
            page, errors = await wb.open_page(ctx, site)
            await page.get_by_role("button", name="Open chat").click()
            yield page, errors, site


def test_visitor_chats_with_an_owner_on_another_relay(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with (
            relay(tmp_path / "a") as a,
            relay(tmp_path / "b", ws=None) as b,
            owner_on(b, tmp_path) as (owner, link),
        ):
            assert b.ws_port is None  # a browser cannot even reach B
            assert f"%40127.0.0.1%3A{b.tls_port}%2F" in link  # the address is on B
            owner_connections = b.relay.metrics.connections_total
            async with chat_page(tmp_path, a, link, embed_relay(a), resume=True) as (
                page,
                errors,
                site,
            ):
                await wb.chat_established(page, owner)
                assert "/hushwire-widget-proxy.js" in site.paths
                await wb.exchange(page, owner, "Hello from relay A", "Hello from relay B")
                out = page.get_by_role("log", name="Messages").locator(".msg.out .tick")
                await expect(out).to_have_attribute("data-state", "delivered")
                before = ["Hello from relay A", "Hello from relay B"]
                await wb.reload_and_resume(page, owner, before, "Still through A", "Still on B")
                await expect(out.last).to_have_attribute("data-state", "delivered")
                assert len(owner.names) == 1  # resumed, not joined again
                await wb.csp_clean(page, site)
                assert errors == []

            m_a, m_b = a.relay.metrics, b.relay.metrics
            forwarded = m_a.proxy_commands[("PFWD", "success")]
            # invitation, confirmation, 2 messages, receipts for the owner's 2 messages
            assert forwarded >= 6
            assert m_b.forwarded_received == forwarded == m_b.commands["RFWD"]
            assert m_a.proxy_commands[("PRXY", "success")] >= 1
            # B saw the owner's connection(s) and A's one proxy connection, nothing else
            assert m_b.connections_total == owner_connections + 1
            assert m_b.commands["PRXY"] == m_b.commands["PFWD"] == 0

    wb.run(main, timeout=180)


def test_a_relay_that_does_not_proxy_stops_the_chat_with_its_refusal(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with (
            relay(tmp_path / "a", allow_proxy=False) as a,
            relay(tmp_path / "b", ws=None) as b,
            owner_on(b, tmp_path) as (owner, link),
        ):
            async with chat_page(tmp_path, a, link, embed_relay(a)) as (page, errors, _):
                await expect(page.locator(".panel")).to_have_attribute("data-state", "failed")
                await expect(page.get_by_role("status")).to_contain_text(
                    "the relay refused the invitation: this relay cannot send to the "
                    "owner's relay (PROXY BASIC_AUTH)"
                )
                assert errors == []
            await asyncio.sleep(0.2)
            assert owner.names == []
            assert b.relay.metrics.forwarded_received == 0

    wb.run(main)


def test_the_relays_own_address_after_the_hash_changes_nothing_for_an_owner_on_it(
    tmp_path: Path,
) -> None:
    """``#smp://`` naming the address's own relay: the module loads, the chat goes direct,
    nothing is proxied."""

    async def main() -> None:
        async with relay(tmp_path / "a") as a, owner_on(a, tmp_path) as (owner, link):
            async with chat_page(tmp_path, a, link, embed_relay(a)) as (page, errors, site):
                await wb.chat_established(page, owner)
                await wb.exchange(page, owner, "Same relay", "Direct")
                assert "/hushwire-widget-proxy.js" in site.paths
                assert errors == []
            assert not a.relay.metrics.proxy_commands
            assert a.relay.metrics.forwarded_received == 0

    wb.run(main)


def test_a_reply_queue_on_another_relay_brings_the_module_in_mid_handshake(
    tmp_path: Path,
) -> None:
    """The owner's address is on the widget's relay A (plain ``data-relay``, no module at
    first) but its reply queue on B, as a SimpleX app with several relays may do: the worker
    stops at the owner's confirmation without acknowledging it, hands the session to a worker
    with the ``proxy`` module, which reads the confirmation again and goes on through A; after
    a reload, the restored session moves to such a worker too."""

    async def main() -> None:
        async with (
            relay(tmp_path / "a") as a,
            relay(tmp_path / "b", ws=None) as b,
            owner_on(a, tmp_path) as (owner, link),
        ):
            owner.agent.server = address(b)  # new queues (the reply queue) on B
            plain = f"ws://127.0.0.1:{a.ws_port}/"
            async with chat_page(tmp_path, a, link, plain, resume=True) as (page, errors, site):
                await wb.chat_established(page, owner)
                assert "/hushwire-widget-proxy.js" in site.paths
                await wb.exchange(page, owner, "Reply queue on B", "Read on B")
                # after a reload the page starts a worker without the module again: the
                # restored session moves to one with it before anything is sent
                before = ["Reply queue on B", "Read on B"]
                await wb.reload_and_resume(page, owner, before, "Reloaded", "Still read on B")
                await wb.csp_clean(page, site)
                assert errors == []
            forwarded = a.relay.metrics.proxy_commands[("PFWD", "success")]
            assert forwarded >= 5  # our confirmation, 2 messages, 2 receipts
            assert b.relay.metrics.forwarded_received == forwarded
            assert len(owner.names) == 1

    wb.run(main)


def test_a_short_link_on_another_relay_is_read_through_the_widgets_relay(
    tmp_path: Path,
) -> None:
    """What SimpleX apps share: the short link of an address on B. The widget reads the link
    data with LGET forwarded through A (B never sees the browser), checks it and joins."""

    async def main() -> None:
        async with (
            relay(tmp_path / "a") as a,
            relay(tmp_path / "b", ws=None) as b,
        ):
            agent = Agent(tmp_path / "owner", address(b), client_config=wb.OWNER_CFG)
            owner = ShortOwner(agent)
            try:
                short = await owner.start()
                assert "/a#" in short
                owner_connections = b.relay.metrics.connections_total
                async with chat_page(tmp_path, a, short, embed_relay(a)) as (page, errors, site):
                    await wb.chat_established(page, owner)
                    assert {"/hushwire-widget-short.js", "/hushwire-widget-proxy.js"} <= {
                        p.split("?")[0] for p in site.paths
                    }
                    await wb.exchange(page, owner, "Found you by the short link on B", "Hi!")
                    assert errors == []
            finally:
                await owner.stop()
            m = b.relay.metrics
            # B ran the one LGET, forwarded like the rest, over A's proxy connection only
            assert m.commands["LGET"] == 1
            assert m.commands["RFWD"] == m.forwarded_received >= 4  # LGET, invitation, ...
            assert m.connections_total == owner_connections + 1

    wb.run(main)
