"""The widget's visitor as the customer of a business chat, in Chromium (Debian's package,
driven by Playwright) on a host page with the strict CSP: a team inbox (``hushwire inbox
--team``) with two operator inboxes (``--join-team``), all on a real relay process on
loopback with real SQLite files. The visitor writes; both operators get it; both answer and
the visitor sees each answer exactly once under the business's name (or, with operator
names on, under the operator's); an operator's typing shows and goes; hostile texts render
as text; after a reload (``data-resume``) the conversation is there and goes on. The widget
meets the business address with its core only and loads ``hushwire-widget-business.js``
(SRI-checked) when the business accepts; the CSP reports nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from test_widget_browser import (
    HOSTILE,
    chromium,
    csp_clean,
    open_page,
    page_server,
    run,
    strict_csp,
)

from hushwire.client import ClientConfig
from hushwire.inbox.run import RunningInbox, start_inbox
from hushwire.inbox.team import TeamHost
from hushwire.inbox.team_common import TeamSettings
from hushwire.testing import RelayProcess
from hushwire.testing import start_relay_process as start_relay
from hushwire.widget import SnippetOptions, snippet

CFG = ClientConfig(command_timeout=10)
BUSINESS = "Tiny Bakery"


async def poll(cond: Callable[[], bool], what: str, timeout: float = 40) -> None:
    for _ in range(int(timeout * 20)):
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def texts(inbox: RunningInbox, direction: str) -> list[str]:
    """The message texts of the inbox's (one) conversation in one direction."""
    convs = inbox.service.conversations()
    if not convs:
        return []
    _, msgs = inbox.service.conversation(convs[0].id)
    return [m.text for m in msgs if m.direction == direction]


def conv_id(inbox: RunningInbox) -> str:
    (conv,) = inbox.service.conversations()
    return conv.id


@asynccontextmanager
async def team_of_two(
    tmp: Path,
    settings: TeamSettings | None = None,
    business: str = BUSINESS,
    operators: tuple[str, str] = ("Bob", "Cy"),
) -> AsyncIterator[tuple[RelayProcess, RunningInbox, RunningInbox, RunningInbox]]:
    """A relay, a team inbox named ``business`` and two operator inboxes."""
    relay = await asyncio.to_thread(start_relay, tmp / "relay", tls=False)
    started: list[RunningInbox] = []
    try:
        team = await start_inbox(
            tmp / "team", relay.address, ws_url=relay.ws_url, name=business,
            client_config=CFG, team="host", team_settings=settings,
        )  # fmt: skip
        started.append(team)
        host = team.service.team
        assert isinstance(host, TeamHost)
        for i, name in enumerate(operators):
            link = await host.invite_operator()
            op = await start_inbox(
                tmp / f"op{i}", relay.address, ws_url=relay.ws_url, name=name,
                client_config=CFG, join_team=link,
            )  # fmt: skip
            started.append(op)
        await poll(
            lambda: [o["status"] for o in host.operators_json()] == ["active", "active"],
            "both operators active",
        )
        yield relay, team, started[1], started[2]
    finally:
        for inbox in reversed(started):
            await inbox.stop()
        await asyncio.to_thread(relay.stop)


async def business_chat(
    page: Any, team: RunningInbox, ops: tuple[RunningInbox, ...], visitor: str = "Ada"
) -> None:
    """The widget is in the chat and every operator has the conversation."""
    panel = page.locator(".panel")
    for _ in range(600):
        state = await panel.get_attribute("data-state")
        if state == "failed":
            raise AssertionError(await page.get_by_role("status").inner_text())
        if state == "chat":
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the widget never got into the chat")
    for op in ops:
        await poll(
            lambda op=op: [c.status for c in op.service.conversations()] == ["online"],
            "the operator's conversation",
        )
    assert [c.name for c in team.service.conversations()] == [visitor]


def sr_names(page: Any) -> Awaitable[list[str]]:
    """The screen-reader author label of every incoming message."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => [...document.querySelector("[data-hushwire]").shadowRoot
              .querySelectorAll("li.msg.in:not(.live) > .sr")].map((e) => e.textContent)"""
    )


def test_two_operators_answer_the_same_visitor(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with team_of_two(tmp_path) as (relay, team, bob, cy):
            with page_server() as site:
                site.csp = strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
                opts = SnippetOptions(
                    team.service.address, relay.ws_url, ask_name=True, lang="en", resume=True
                )
                site.host_page(snippet(opts))
                async with chromium(tmp_path) as ctx:
                    page, errors = await open_page(ctx, site)
                    loaded: list[str] = []
                    page.on("request", lambda r: loaded.append(r.url.rsplit("/", 1)[-1]))
                    await page.get_by_role("button", name="Open chat").click()
                    await page.get_by_role("textbox", name="Your name (optional)").fill("Ada")
                    await page.get_by_role("button", name="Start chat").click()
                    await business_chat(page, team, (bob, cy))
                    # the business module came when the business answered, not before
                    assert "hushwire-widget-business.js" in loaded
                    await expect(page.locator(".head p")).to_contain_text(f"{BUSINESS} · ")

                    # The visitor writes: the team and both operators get it.
                    field = page.get_by_role("textbox", name="Message")
                    await field.fill("Hello! Do you have rye bread today?")
                    await field.press("Enter")
                    log = page.get_by_role("log", name="Messages")
                    # the team inbox stored it and sent a receipt: two ticks
                    await expect(log.locator(".msg.out .tick")).to_have_attribute(
                        "data-state", "delivered"
                    )
                    for inbox in (team, bob, cy):
                        await poll(
                            lambda inbox=inbox: (
                                texts(inbox, "in") == ["Hello! Do you have rye bread today?"]
                            ),
                            "the visitor's message at every inbox",
                        )

                    # Cy types (a live message, forwarded): the visitor sees it, then the text.
                    assert await cy.service.team.set_typing(conv_id(cy), True)  # type: ignore[union-attr]
                    live = log.locator(".msg.in.live")
                    await expect(live).to_have_text("…")
                    # Both operators answer: each once, under the business's name.
                    await bob.service.reply(conv_id(bob), "Yes, two loaves left.")
                    await cy.service.reply(conv_id(cy), "I can keep one for you.")
                    incoming = log.locator(".msg.in:not(.live) .text")
                    await expect(incoming).to_have_count(2)
                    await expect(live).to_have_count(0)
                    got = sorted(await incoming.all_text_contents())
                    assert got == ["I can keep one for you.", "Yes, two loaves left."]
                    assert await sr_names(page) == [f"{BUSINESS}: "] * 2
                    assert await log.locator(".from").count() == 0
                    # every operator sees the other's answer too
                    for inbox in (team, bob, cy):
                        await poll(
                            lambda inbox=inbox: len(texts(inbox, "out")) == 2,
                            "both answers at every inbox",
                        )

                    # Hostile texts from an operator arrive as text.
                    for text in HOSTILE:
                        await bob.service.reply(conv_id(bob), text)
                    await expect(incoming).to_have_count(2 + len(HOSTILE))
                    assert (await incoming.all_text_contents())[2:] == HOSTILE
                    tags = await page.evaluate(
                        """() => [...document.querySelector("[data-hushwire]").shadowRoot
                              .querySelectorAll("li.msg.in *")].map((e) => e.tagName)"""
                    )
                    assert set(tags) == {"SPAN"}
                    assert await page.evaluate("window.__pwned === undefined")
                    before = await log.locator(".msg .text").all_text_contents()
                    await asyncio.sleep(1)  # nothing arrives twice, late
                    assert await log.locator(".msg .text").all_text_contents() == before

                    # Reload: the conversation is back, once, and goes on.
                    await page.reload()
                    await page.get_by_role("button", name="Open chat").click()
                    await expect(log.locator(".msg .text")).to_have_text(before)
                    await expect(page.get_by_role("status")).to_contain_text("Connected")
                    await expect(page.locator(".head p")).to_contain_text(f"{BUSINESS} · ")
                    await field.fill("After the reload")
                    await field.press("Enter")
                    for inbox in (team, bob, cy):
                        await poll(
                            lambda inbox=inbox: texts(inbox, "in")[-1:] == ["After the reload"],
                            "the message sent after the reload",
                        )
                    await cy.service.reply(conv_id(cy), "Still here.")
                    await expect(incoming.last).to_have_text("Still here.")
                    await expect(incoming).to_have_count(3 + len(HOSTILE))
                    await page.screenshot(path="/tmp/hushwire-widget-business.png")

                    # The visitor ends it: x.grp.leave reaches the team.
                    await page.get_by_role("button", name="End conversation").click()
                    await expect(log.locator(".note")).to_contain_text(["ended"])
                    await poll(
                        lambda: [c.status for c in team.service.conversations()] == ["ended"],
                        "the team's conversation ended",
                    )
                    await csp_clean(page, site)
                    assert errors == []

    run(main, 240)


def test_operator_names_when_the_team_shows_them(tmp_path: Path) -> None:
    """Operator names on: the operator's name above his text; the owner's message is the
    business's. Hostile business and operator names are shown as text. The visitor comes by
    the business address's short link."""
    from playwright.async_api import expect

    business = "<i>Tiny</i> Bakery & Co"
    evil = "<img src=x onerror=window.__pwned=9>"

    async def main() -> None:
        names_on = TeamSettings(show_operator_names=True)
        async with team_of_two(tmp_path, names_on, business, ("Bob", evil)) as (
            relay,
            team,
            bob,
            cy,
        ):
            with page_server() as site:
                site.csp = strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
                # the short link, as the inbox's snippet gives it (the "short" module resolves it)
                short = team.service.short_address
                assert short is not None and short != team.service.address
                site.host_page(snippet(SnippetOptions(short, relay.ws_url)))
                async with chromium(tmp_path) as ctx:
                    page, errors = await open_page(ctx, site)
                    await page.get_by_role("button", name="Open chat").click()
                    await business_chat(page, team, (bob, cy), "Visitor")
                    await expect(page.locator(".head p")).to_contain_text(f"{business} · ")
                    log = page.get_by_role("log", name="Messages")
                    incoming = log.locator(".msg.in .text")
                    await bob.service.reply(conv_id(bob), "Bob here.")
                    await expect(incoming).to_have_text(["Bob here."])
                    await cy.service.reply(conv_id(cy), "Me too.")
                    await expect(incoming).to_have_text(["Bob here.", "Me too."])
                    await team.service.reply(conv_id(team), "The owner here.")
                    await expect(incoming).to_have_text(["Bob here.", "Me too.", "The owner here."])
                    await expect(log.locator(".msg.in .from")).to_have_text(["Bob", evil])
                    assert await sr_names(page) == ["Bob: ", f"{evil}: ", f"{business}: "]
                    tags = await page.evaluate(
                        """() => [...document.querySelector("[data-hushwire]").shadowRoot
                              .querySelectorAll(".head *, li.msg.in *")].map((e) => e.tagName)"""
                    )
                    assert "IMG" not in tags and "I" not in tags
                    assert await page.evaluate("window.__pwned === undefined")
                    await csp_clean(page, site)
                    assert errors == []

    run(main, 240)


def test_without_the_business_module_the_chat_stops_and_says_why(tmp_path: Path) -> None:
    """The business module not served (or changed: SRI refuses it): when the business accepts,
    the widget says which module did not load; no group code ever runs without it."""
    from playwright.async_api import expect

    async def main() -> None:
        async with team_of_two(tmp_path) as (relay, team, _, _):
            with page_server() as site:
                site.csp = strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
                site.host_page(snippet(SnippetOptions(team.service.address, relay.ws_url)))
                async with chromium(tmp_path) as ctx:
                    page, _ = await open_page(ctx, site)
                    await page.route(
                        "**/hushwire-widget-business.js",
                        lambda route: route.fulfill(
                            body="window.Hushwire.define('business', 'tampered')",
                            content_type="text/javascript",
                        ),
                    )
                    await page.get_by_role("button", name="Open chat").click()
                    await expect(page.get_by_role("status")).to_contain_text(
                        "The chat could not start: the widget's module "
                        "hushwire-widget-business.js did not load"
                    )
                    await expect(
                        page.get_by_role("button", name="Start a new chat")
                    ).to_be_visible()
                    await expect(page.get_by_role("textbox", name="Message")).to_be_hidden()

    run(main, 240)
