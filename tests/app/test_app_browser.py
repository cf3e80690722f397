"""The web app in Chromium (Debian's package, driven by Playwright): two browsers, one relay
process on loopback, the app served by ``hushwire app serve``'s server.

A makes a one-time invitation (keyboard only) and B opens its link: both are connected, their
contacts lists name each other, messages go both ways with sent and delivered ticks, the security
codes match, B reloads and is still connected with its history, hostile names and texts render as
inert text, a text typed while the relay is down goes out when it is back, a second tab of A
says the profile is open elsewhere and takes it over, at 360 px wide. The CSP
reports nothing and the server's request log never holds the link's fragment.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from hushwire.app.server import RunningApp, start_app
from hushwire.testing import RelayProcess
from hushwire.testing import start_relay_process as start_relay
from hushwire.testing.browser import CHROMIUM, CHROMIUM_ARGS

ARGS = list(CHROMIUM_ARGS)
WIDTH = 360
HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">Alice'
HOSTILE_TEXTS = [
    "<script>window.__pwned=2</script>",
    '<a href="javascript:window.__pwned=3">x</a> & &amp; <b>bold?</b>',
]
PROBE = """window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.effectiveDirective + " " + e.blockedURI);
});"""

if not os.environ.get("CI"):
    pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("needs Debian's chromium: run `make chromium`", allow_module_level=True)


@asynccontextmanager
async def relay_and_app(tmp: Path) -> AsyncIterator[tuple[RelayProcess, RunningApp]]:
    relay = await asyncio.to_thread(start_relay, tmp / "relay", tls=False)
    try:
        app = await start_app(relay.address.encode(), relay.ws_url)
        try:
            yield relay, app
        finally:
            await app.stop()
    finally:
        await asyncio.to_thread(relay.stop)


@asynccontextmanager
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=30_000)
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


async def open_app(b: Any, url: str, locale: str = "en-US") -> tuple[Any, list[str]]:
    """A new browser context (360 px wide, speaking ``locale``) on ``url``; its console errors."""
    ctx = await b.new_context(viewport={"width": WIDTH, "height": 740}, locale=locale)
    await ctx.add_init_script(PROBE)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(url)
    return page, errors


async def online(page: Any) -> None:
    from playwright.async_api import expect

    await expect(page.get_by_role("status")).to_contain_text("Online")


async def connected_contact(page: Any, name: str) -> Any:
    from playwright.async_api import expect

    contacts = page.get_by_role("list", name="Contacts")
    item = contacts.get_by_role("listitem").filter(has_text=name)
    await expect(item).to_contain_text("connected")
    return item


async def new_invitation(page: Any) -> str:
    """Press "New invitation" and return the link it shows."""
    from playwright.async_api import expect

    await page.get_by_role("button", name="New invitation").click()
    box = page.get_by_role("textbox", name="Invitation link")
    await expect(box).not_to_have_value("")
    return str(await box.input_value())


async def clean(page: Any, errors: list[str]) -> None:
    await page.wait_for_timeout(200)
    assert await page.evaluate("window.__csp") == []
    assert await page.evaluate("window.__pwned") is None
    assert errors == []
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"the page scrolls sideways at {WIDTH} px ({width} px wide)"


def no_link_reached_the_server(app: RunningApp, path: str, secret: str) -> None:
    """The server saw ``GET path`` (a link opened) and never a fragment nor the link's parts,
    nor any CSP report."""
    assert app.server.reports == []
    assert f"GET {path}" in app.server.requests
    for line in app.server.requests:
        assert "#" not in line and "smp" not in line and secret not in line, line


@pytest.mark.timeout(300)
def test_two_browsers_invite_chat_reload_and_survive_a_relay_restart(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (relay, app), browser() as b:
            a, a_errors = await open_app(b, app.url)
            await online(a)
            await a.get_by_label("Your name").fill(HOSTILE_NAME)
            await a.get_by_role("button", name="Save name").click()
            await expect(a.locator("#name-saved")).to_have_text("Name saved.")
            # keyboard only: Tab to "New invitation" and press Enter
            for _ in range(12):
                if await a.evaluate("document.activeElement?.id") == "new-invitation":
                    break
                await a.keyboard.press("Tab")
            assert await a.evaluate("document.activeElement?.id") == "new-invitation"
            await a.keyboard.press("Enter")
            box = a.get_by_role("textbox", name="Invitation link")
            await expect(box).to_have_value(
                # the app's origin, the SimpleX query in the fragment
                re.compile("^" + app.url + r"invitation#/\?v=\d-\d&smp=smp%3A%2F%2F")
            )
            await expect(
                a.get_by_role("img", name="QR code of the invitation link")
            ).to_be_visible()
            link = await box.input_value()

            bp, b_errors = await open_app(b, app.url)
            await online(bp)
            await bp.get_by_label("Your name").fill("Bob")
            await bp.get_by_role("button", name="Save name").click()
            await expect(bp.locator("#name-saved")).to_have_text("Name saved.")
            await bp.goto(link)
            await online(bp)
            bob = await connected_contact(a, "Bob")
            # connection quality: the keepalive round trip
            await expect(a.get_by_role("status")).to_contain_text(
                re.compile(r"^Online · keepalive \d+ ms · (good|fair|poor)$")
            )
            alice = await connected_contact(bp, HOSTILE_NAME)
            assert bp.url == app.url  # the fragment left the address bar

            # B's chat is open (focus in the message box): type and press Enter
            await expect(bp.get_by_label("Message", exact=True)).to_be_focused()
            await bp.keyboard.type("hello from B")
            await bp.keyboard.press("Enter")
            await bob.get_by_role("button").click()
            a_log = a.get_by_role("log", name="Messages")
            b_log = bp.get_by_role("log", name="Messages")
            await expect(a_log).to_contain_text("hello from B")
            await expect(b_log.locator("li.out [data-tick=delivered]")).to_have_count(1)
            await a.get_by_label("Message", exact=True).fill("hello from A")
            await a.keyboard.press("Enter")
            await expect(b_log).to_contain_text("hello from A")
            await expect(a_log.locator("li.out [data-tick=delivered]")).to_have_count(1)
            for text in HOSTILE_TEXTS:
                await bp.get_by_label("Message", exact=True).fill(text)
                await bp.keyboard.press("Enter")
                await expect(a_log.locator("li.in").filter(has_text=text)).to_have_count(1)
            assert await a_log.locator("script, a, b, img").count() == 0

            # the security codes match
            await a.get_by_role("button", name="Verify").click()
            await alice.get_by_role("button").click()
            await bp.get_by_role("button", name="Verify").click()
            for page in (a, bp):  # the worker answers Verify asynchronously
                await expect(page.locator("#security-code")).to_contain_text("Security code")
            code_a = await a.locator("#security-code").inner_text()
            code_b = await bp.locator("#security-code").inner_text()
            assert code_a == code_b
            assert re.fullmatch(r"Security code: (\d{5} )+\d{1,5}\. .*", code_a)

            # B reloads: still connected, history kept, both directions work
            await bp.reload()
            await online(bp)
            alice = await connected_contact(bp, HOSTILE_NAME)
            await alice.get_by_role("button").click()
            await expect(b_log).to_contain_text("hello from A")
            await expect(b_log.locator("li.out [data-tick=delivered]")).to_have_count(3)
            await a.get_by_label("Message", exact=True).fill("after the reload")
            await a.keyboard.press("Enter")
            await expect(b_log).to_contain_text("after the reload")
            await bp.get_by_label("Message", exact=True).fill("B is back")
            await bp.keyboard.press("Enter")
            await expect(a_log).to_contain_text("B is back")

            # the relay goes away: A's text waits, and goes out when the relay is back
            port = relay.ws_port
            await asyncio.to_thread(relay.stop)
            await expect(a.get_by_role("status")).to_contain_text("Offline")
            await a.get_by_label("Message", exact=True).fill("typed offline")
            await a.keyboard.press("Enter")
            await expect(a_log.locator("li.out").filter(has_text="typed offline")).to_have_count(1)
            again = await asyncio.to_thread(
                start_relay, tmp_path / "relay", tls=False, ws_port=port
            )
            try:
                await expect(b_log).to_contain_text("typed offline", timeout=60_000)
                await expect(a_log.locator("li.out [data-tick=delivered]")).to_have_count(
                    3, timeout=30_000
                )
                # one tab owns the profile: a second tab of A says so and can take over
                a2 = await a.context.new_page()
                await a2.goto(app.url)
                await expect(a2.get_by_role("alert")).to_have_text(
                    "This profile is open in another tab."
                )
                await a2.get_by_role("button", name="Use it here").click()
                await online(a2)
                await connected_contact(a2, "Bob")
                await expect(a.get_by_role("alert")).to_have_text(
                    "This profile is now open in another tab."
                )
                await a2.get_by_role("list", name="Contacts").get_by_role("button").click()
                await expect(a2.get_by_role("log", name="Messages")).to_contain_text(
                    "typed offline"
                )
            finally:
                await asyncio.to_thread(again.stop)

            await clean(a, a_errors)
            await clean(bp, b_errors)
            no_link_reached_the_server(app, "/invitation", "x3dh")

    asyncio.run(asyncio.wait_for(main(), 240))


@pytest.mark.timeout(300)
def test_a_profile_moves_to_another_browser_and_opens_with_its_passphrase(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (_, app), browser() as b:
            a, a_errors = await open_app(b, app.url)
            await online(a)
            link = await new_invitation(a)
            bp, _ = await open_app(b, app.url)
            await bp.goto(link)
            await connected_contact(bp, "Anonymous")
            await bp.get_by_label("Message", exact=True).fill("before the move")
            await bp.keyboard.press("Enter")
            bob = await connected_contact(a, "Anonymous")
            await bob.get_by_role("button").click()
            await expect(a.get_by_role("log", name="Messages")).to_contain_text("before the move")

            await a.get_by_label("Passphrase", exact=True).fill("short")
            await a.get_by_role("button", name="Export profile").click()
            await expect(a.get_by_role("alert")).to_contain_text("at least 8 characters")
            await a.get_by_label("Passphrase", exact=True).fill("correct horse battery")
            async with a.expect_download() as info:
                await a.get_by_role("button", name="Export profile").click()
            exported = tmp_path / "profile.hushwire"
            await (await info.value).save_as(exported)
            assert exported.read_bytes().startswith(b"HUSHWIRE-APP-1\n")
            assert b"before the move" not in exported.read_bytes()

            c, c_errors = await open_app(b, app.url)
            await online(c)
            await c.get_by_label("Profile file").set_input_files(str(exported))
            await c.get_by_label("Passphrase", exact=True).fill("wrong horse battery")
            await c.get_by_role("button", name="Import profile").click()
            await expect(c.get_by_role("alert")).to_have_text(
                "DecodeError: the profile does not open with this passphrase"
            )
            await c.get_by_label("Passphrase", exact=True).fill("correct horse battery")
            await c.get_by_role("button", name="Import profile").click()
            moved = await connected_contact(c, "Anonymous")
            await moved.get_by_role("button").click()
            await expect(c.get_by_role("log", name="Messages")).to_contain_text("before the move")

            # A protects its stored profile with a passphrase: a reload asks for it
            await a.get_by_label("New profile passphrase").fill("open sesame 123")
            await a.get_by_role("button", name="Set passphrase").click()
            await expect(a.locator("#transfer")).to_have_text(
                "The profile now needs its passphrase to open."
            )
            await a.reload()
            unlock = a.locator("#unlock-form")
            await unlock.get_by_label("Passphrase to open the profile").fill("open sesame 124")
            await unlock.get_by_role("button", name="Open profile").click()
            await expect(unlock.get_by_role("alert")).to_have_text(
                "DecodeError: the passphrase does not open this profile"
            )
            await unlock.get_by_label("Passphrase to open the profile").fill("open sesame 123")
            await a.keyboard.press("Enter")
            await expect(unlock).to_have_count(0)
            await connected_contact(a, "Anonymous")
            assert c_errors == [] and a_errors == []
            assert app.server.reports == []

    asyncio.run(asyncio.wait_for(main(), 240))


@pytest.mark.timeout(300)
def test_a_join_goes_on_across_reloads_while_the_inviter_is_away(tmp_path: Path) -> None:
    """B opens A's link while A's tab is closed; B reloads while waiting; A comes back: both end
    up connected (B's half-done join was kept, A answers the confirmation waiting on the relay).
    Then A renames B (kept across a reload) and deletes B: B sees the conversation ended."""
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (_, app), browser() as b:
            a, _ = await open_app(b, app.url)
            await online(a)
            await a.get_by_label("Your name").fill("Alice")
            await a.get_by_role("button", name="Save name").click()
            await expect(a.locator("#name-saved")).to_have_text("Name saved.")
            link = await new_invitation(a)
            ctx = a.context
            await a.close()

            bp, b_errors = await open_app(b, app.url)
            await online(bp)
            await bp.goto(link)
            contacts = bp.get_by_role("list", name="Contacts")
            await expect(contacts).to_contain_text("connecting")
            await bp.wait_for_timeout(1000)  # the confirmation is on the relay by now
            await bp.reload()
            await online(bp)
            await expect(contacts).to_contain_text("connecting")

            a = await ctx.new_page()
            await a.goto(app.url)
            await online(a)
            await connected_contact(a, "Anonymous")
            alice = await connected_contact(bp, "Alice")
            await alice.get_by_role("button").click()
            await bp.get_by_label("Message", exact=True).fill("made it")
            await bp.keyboard.press("Enter")
            await a.get_by_role("list", name="Contacts").get_by_role("button").click()
            await expect(a.get_by_role("log", name="Messages")).to_contain_text("made it")

            # rename (kept across a reload), then delete: B sees the conversation ended
            await a.get_by_label("Contact name").fill("Bob <i>the</i> builder")
            await a.get_by_role("button", name="Rename").click()
            await connected_contact(a, "Bob <i>the</i> builder")
            await a.reload()
            await online(a)
            bob = await connected_contact(a, "Bob <i>the</i> builder")
            await bob.get_by_role("button").click()
            await a.get_by_role("button", name="Delete").click()
            await expect(
                a.get_by_role("list", name="Contacts").get_by_role("listitem")
            ).to_have_count(0)
            await expect(bp.get_by_role("list", name="Contacts")).to_contain_text("ended")
            await a.reload()
            await online(a)
            await expect(
                a.get_by_role("list", name="Contacts").get_by_role("listitem")
            ).to_have_count(0)
            assert b_errors == []
            assert app.server.reports == []

    asyncio.run(asyncio.wait_for(main(), 240))
