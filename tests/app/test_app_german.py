"""The web app in German, in Chromium: two browser contexts with the locale ``de-DE`` on one
relay. Keyboard only and 360 px wide, A makes a one-time invitation, B opens it, messages go both
ways with their ticks, the security codes match, A makes a room, B joins it by pasting its link,
the members list names both, messages go both ways in the room; every control is found by its
German accessible name and the texts are German. An English browser asking ``?lang=de`` gets
German too, and the choice is remembered; the language select switches back to English.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from test_app_browser import browser, clean, open_app, relay_and_app

# (test_app_browser skips this module too without Playwright or Chromium)


async def open_de(b: Any, url: str, locale: str = "de-DE") -> tuple[Any, list[str]]:
    return await open_app(b, url, locale)


async def verbunden(page: Any) -> None:
    from playwright.async_api import expect

    await expect(page.get_by_role("status")).to_contain_text("Verbunden")
    assert await page.evaluate("document.documentElement.lang") == "de"


async def set_name(page: Any, name: str) -> None:
    from playwright.async_api import expect

    await page.get_by_label("Ihr Name").fill(name)
    await page.get_by_role("button", name="Name speichern").click()
    await expect(page.locator("#name-saved")).to_have_text("Name gespeichert.")


def entry(page: Any, name: str) -> Any:
    return page.get_by_role("list", name="Kontakte").get_by_role("listitem").filter(has_text=name)


async def say(page: Any, text: str) -> None:
    await page.get_by_label("Nachricht", exact=True).fill(text)
    await page.keyboard.press("Enter")


@pytest.mark.timeout(300)
def test_invitation_chat_and_room_in_german(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (_, app), browser() as b:
            a, a_errors = await open_de(b, app.url)
            await verbunden(a)
            await set_name(a, "Anna")
            # keyboard only: Tab to "Neue Einladung" and press Enter
            for _ in range(12):
                if await a.evaluate("document.activeElement?.id") == "new-invitation":
                    break
                await a.keyboard.press("Tab")
            focused = a.get_by_role("button", name="Neue Einladung")
            await expect(focused).to_be_focused()
            await a.keyboard.press("Enter")
            box = a.get_by_role("textbox", name="Einladungslink")
            await expect(box).to_have_value(re.compile("^" + app.url + r"invitation#/\?v="))
            await expect(a.get_by_role("img", name="QR-Code des Einladungslinks")).to_be_visible()
            await expect(entry(a, "")).to_contain_text(
                "wartet darauf, dass die Einladung geöffnet wird"
            )
            link = await box.input_value()

            bp, b_errors = await open_de(b, app.url)
            await verbunden(bp)
            await set_name(bp, "Bert")
            # a pasted text that is no link: a German message
            await bp.get_by_label("Link einfügen").fill("kein Link")
            await bp.keyboard.press("Enter")
            failed = entry(bp, "Neuer Kontakt")
            await expect(failed).to_contain_text("fehlgeschlagen: Dies ist kein SimpleX-Link")
            await bp.get_by_role("button", name="Löschen").click()
            await expect(failed).to_have_count(0)
            await bp.goto(link)
            await verbunden(bp)
            await expect(entry(a, "Bert")).to_contain_text("verbunden")
            await expect(entry(bp, "Anna")).to_contain_text("verbunden")

            # B's chat is open with the focus in "Nachricht": type and press Enter
            await expect(bp.get_by_label("Nachricht", exact=True)).to_be_focused()
            await bp.keyboard.type("Hallo von Bert")
            await bp.keyboard.press("Enter")
            await entry(a, "Bert").get_by_role("button").click()
            a_log = a.get_by_role("log", name="Nachrichten")
            b_log = bp.get_by_role("log", name="Nachrichten")
            await expect(a_log).to_contain_text("Hallo von Bert")
            await expect(b_log.get_by_label("zugestellt")).to_have_count(1)
            await say(a, "Hallo von Anna")
            await expect(b_log).to_contain_text("Hallo von Anna")
            await expect(a_log.get_by_label("zugestellt")).to_have_count(1)

            # the security codes, in German, match
            await a.get_by_role("button", name="Überprüfen").click()
            await bp.get_by_role("button", name="Überprüfen").click()
            for page in (a, bp):
                await expect(page.locator("#security-code")).to_contain_text("Sicherheitscode")
            code_a = await a.locator("#security-code").inner_text()
            assert code_a == await bp.locator("#security-code").inner_text()
            assert re.fullmatch(r"Sicherheitscode: (\d{5} )+\d{1,5}\. Vergleichen .*", code_a)

            # a room: A creates it, B pastes its link
            await a.get_by_label("Name des Raums").fill("Runde")
            await a.get_by_role("button", name="Neuer Raum").click()
            room_box = a.get_by_role("textbox", name="Raumlink")
            await expect(room_box).to_have_value(re.compile("^" + app.url + r"contact#/\?v="))
            await expect(a.get_by_role("img", name="QR-Code des Raumlinks")).to_be_visible()
            await expect(a.get_by_role("button", name="Verlauf löschen")).to_be_visible()
            await bp.get_by_label("Link einfügen").fill(await room_box.input_value())
            await bp.get_by_role("button", name="Verbinden", exact=True).click()
            await expect(entry(bp, "Runde")).to_contain_text("verbunden")
            await expect(bp.locator("#chat-title")).to_have_text("Runde")
            await expect(bp.get_by_role("button", name="Raum verlassen")).to_be_visible()
            members = a.get_by_role("list", name="Mitglieder").get_by_role("listitem")
            await expect(members).to_have_text(["Anna (Gastgeber)", "Bert"])
            members = bp.get_by_role("list", name="Mitglieder").get_by_role("listitem")
            await expect(members).to_have_text(["Anna (Gastgeber)"])
            await say(bp, "Bert im Raum")
            r_log = a.get_by_role("log", name="Nachrichten")
            await expect(r_log.locator("li.in")).to_have_text(["Bert: Bert im Raum"])
            await say(a, "Willkommen")
            await expect(b_log.locator("li.in")).to_have_text(["Anna: Willkommen"])

            await clean(a, a_errors)
            await clean(bp, b_errors)

            # an English browser asks for German with ?lang=de; the choice is remembered
            c, c_errors = await open_de(b, app.url + "?lang=de", locale="en-US")
            await verbunden(c)
            await expect(c.get_by_role("button", name="Neue Einladung")).to_be_visible()
            await c.goto(app.url)
            await verbunden(c)
            # the "Sprache" select switches back to English
            await c.get_by_label("Sprache").select_option("en")
            await expect(c.get_by_role("status")).to_contain_text("Online")
            await expect(c.get_by_role("button", name="New invitation")).to_be_visible()
            assert await c.evaluate("document.documentElement.lang") == "en"
            await clean(c, c_errors)

    asyncio.run(asyncio.wait_for(main(), 240))
