"""Passphrase resume (``data-resume="passphrase"``) in Chromium under the strict CSP, with a
real relay and owner: the visitor chooses a passphrase, chats, reloads; a wrong passphrase
opens nothing and says so, the right one restores the conversation and it goes on both ways.
IndexedDB holds no key and no plaintext: only the salt, the work factor, a check value and the
sealed state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_widget_browser import (
    chat_established,
    chromium,
    csp_clean,
    exchange,
    open_page,
    page_server,
    relay_and_owner,
    run,
    stored_sessions,
    strict_csp,
)

from hushwire.widget import SnippetOptions, snippet

PASSPHRASE = "rye at dawn, 7 loaves"

STORED_RECORDS = """() => new Promise((resolve, reject) => {
  const r = indexedDB.open("hushwire");
  r.onsuccess = () => {
    const g = r.result.transaction("sessions").objectStore("sessions").getAll();
    g.onsuccess = () => resolve(g.result.map((s) => ({
      fields: Object.keys(s).sort(),
      keys: Object.values(s).filter((v) => v instanceof CryptoKey).length,
      mode: s.mode, iterations: s.iterations,
      salt: s.salt instanceof ArrayBuffer ? s.salt.byteLength : -1,
      sealed: s.sealed instanceof ArrayBuffer ? Array.from(new Uint8Array(s.sealed)) : null })));
    g.onerror = () => reject(g.error);
  };
})"""


async def stored(page: Any) -> list[dict[str, Any]]:
    """The records once the worker's sealed state has reached IndexedDB."""
    records: list[dict[str, Any]] = await stored_sessions(page, STORED_RECORDS)
    return records


async def answer(page: Any, field: Any, text: str, button: str, alert: str | None = None) -> None:
    """Type ``text`` into a passphrase field and press ``button``; with ``alert``, the form
    must say that (and stay)."""
    from playwright.async_api import expect

    await field.fill(text)
    await page.get_by_role("button", name=button).click()
    if alert is not None:
        await expect(page.get_by_role("alert")).to_have_text(alert)
        await expect(field).to_be_focused()


def test_passphrase_resume(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_owner(tmp_path) as (relay, owner, link, _):
            with page_server() as site:
                site.csp = strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
                opts = SnippetOptions(link, relay.ws_url, lang="en", resume_passphrase=True)
                site.host_page(snippet(opts))
                async with chromium(tmp_path) as ctx:
                    page, errors = await open_page(ctx, site)
                    await page.get_by_role("button", name="Open chat").click()
                    choose = page.get_by_label("Passphrase to keep this conversation")
                    await expect(choose).to_be_focused()
                    keep = "Keep with passphrase"
                    await answer(page, choose, "short", keep, "Use at least 8 characters.")
                    await answer(page, choose, PASSPHRASE, keep)
                    await chat_established(page, owner)
                    await exchange(page, owner, "Before the reload", "Got it")
                    log = page.get_by_role("log", name="Messages")

                    # No key and no plaintext at rest: salt, work factor, check, sealed state.
                    records = await stored(page)
                    assert len(records) == 1
                    rec = records[0]
                    assert rec["fields"] == ["check", "iterations", "mode", "salt", "sealed"]
                    assert rec["keys"] == 0 and rec["mode"] == "passphrase"
                    assert rec["iterations"] == 600_000 and rec["salt"] == 16
                    sealed = bytes(rec["sealed"])
                    for plain in ("Before the reload", "Got it", "Tiny Bakery", "contact#", "smp"):
                        assert plain.encode() not in sealed, plain

                    # A wrong passphrase opens nothing and says so; the visitor tries again.
                    await page.reload()
                    await page.get_by_role("button", name="Open chat").click()
                    unlock = page.get_by_label("Passphrase to continue your conversation")
                    await expect(unlock).to_be_focused()
                    wrong = (
                        "Wrong passphrase: the conversation did not open. "
                        "Try again, or start a new chat."
                    )
                    await answer(page, unlock, "not the passphrase", "Continue", wrong)
                    await expect(log.locator(".msg")).to_have_count(0)
                    await expect(page.locator(".panel")).to_have_attribute(
                        "data-state", "restoring"
                    )

                    # The right one restores the conversation, which goes on both ways.
                    await answer(page, unlock, PASSPHRASE, "Continue")
                    await expect(log.locator(".msg .text")).to_have_text(
                        ["Before the reload", "Got it"]
                    )
                    await expect(unlock).to_have_count(0)
                    await expect(page.get_by_role("status")).to_contain_text("Connected")
                    await exchange(page, owner, "After the reload", "Still here")
                    await expect(log.locator(".msg.in .text")).to_have_text(
                        ["Got it", "Still here"]
                    )
                    await csp_clean(page, site)
                    assert errors == []

                    # Start a new chat instead: the old record goes, a new passphrase is asked.
                    await page.reload()
                    await page.get_by_role("button", name="Open chat").click()
                    await page.get_by_role("button", name="Start a new chat").click()
                    await expect(choose).to_be_visible()
                    await page.get_by_role("button", name="Don't keep").click()
                    await expect(page.locator(".panel")).to_have_attribute(
                        "data-state", "chat", timeout=20_000
                    )
                    assert await page.evaluate(STORED_RECORDS) == []

    run(main)
