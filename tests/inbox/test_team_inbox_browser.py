"""The team inbox's web UI in Chromium (Debian's package, driven by Playwright), over a real
relay process: a visitor typing shows as "typing…", *Assign to me* and the Mine/Unassigned
filters, a saved reply picked with ``/`` and sent, and an operator removed with its button."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_inbox_browser import CHROMIUM, open_chromium
from test_team_inbox import poll, run, team_lab, texts

from hushwire.chat.group_state import Send
from hushwire.chat.groups import XGrpMsgNew, XMsgUpdate
from hushwire.testing import start_relay_process

if not os.environ.get("CI"):
    pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("needs Debian's chromium: run `make chromium`", allow_module_level=True)


def test_team_ui_typing_assignment_saved_reply_and_removal(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    relay = start_relay_process(tmp_path / "relay")

    async def main() -> None:
        async with team_lab(tmp_path, relay) as lab:
            team, (bob,), visitor = lab.team, lab.ops, lab.visitor
            group = visitor.group
            assert group is not None
            async with async_playwright() as p:
                ctx, page, errors = await open_chromium(p, tmp_path, accept_dialogs=True)
                try:
                    await page.goto(team.login_link)
                    await expect(page.get_by_role("status")).to_have_text("Live")
                    convs = page.get_by_role("list", name="Conversations")
                    item = convs.get_by_role("link", name="Ada")
                    await item.click()
                    # the visitor types: shown as typing, nothing stored until it is sent
                    live_id = os.urandom(12)
                    live = XGrpMsgNew({"type": "text", "text": ""}, live_id, live=True)
                    await visitor.send([Send(group.host_id, (live.to_message(),))])
                    typing = page.locator("#typing")
                    await expect(typing).to_have_text("Ada is typing…")
                    final = XMsgUpdate(live_id, {"type": "text", "text": "Do you ship?"})
                    await visitor.send([Send(group.host_id, (final.to_message(),))])
                    log = page.get_by_role("log", name="Messages")
                    await expect(log.locator(".msg.in .msg-text")).to_have_text(["Do you ship?"])
                    await expect(typing).to_have_text("")
                    # assignment and the filters
                    show = page.get_by_role("group", name="Show conversations")
                    await show.get_by_role("button", name="Unassigned").click()
                    await expect(item).to_be_visible()
                    await page.get_by_role("button", name="Assign to me").click()
                    await expect(page.locator("#conv-assigned")).to_have_text("Assigned to you")
                    await expect(item).to_have_count(0)  # no longer unassigned
                    await show.get_by_role("button", name="Mine").click()
                    await expect(item).to_be_visible()
                    await poll(
                        lambda: (
                            bob.service.conversation_json(bob.service.conversations()[0])[
                                "assigned"
                            ]
                            == "Acme"
                        )
                    )
                    # a saved reply, inserted with "/" and sent with Enter
                    await page.get_by_role("link", name="Settings").click()
                    await page.get_by_label("Name").fill("ship")
                    await page.get_by_label("Text").fill("Yes, worldwide in 3 days.")
                    await page.get_by_role("button", name="Save reply").click()
                    await expect(page.locator("#saved-list")).to_contain_text("/ship")
                    await expect(page.locator("#operators")).to_contain_text("Bob")
                    await page.go_back()
                    box = page.get_by_role("textbox", name="Reply")
                    await box.press_sequentially("/sh")
                    menu = page.get_by_role("listbox", name="Saved replies")
                    await expect(menu.get_by_role("option")).to_have_text(
                        ["/ship — Yes, worldwide in 3 days."]
                    )
                    await box.press("Enter")
                    await expect(box).to_have_value("Yes, worldwide in 3 days.")
                    await box.press("Enter")
                    await poll(lambda: ("Acme", "Yes, worldwide in 3 days.") in visitor.shown)
                    await poll(lambda: "Yes, worldwide in 3 days." in texts(bob, "out"))
                    # removing Bob with its button
                    await page.get_by_role("link", name="Settings").click()
                    await page.locator("#operators").get_by_role("button", name="Remove").click()
                    await poll(lambda: [c.status for c in bob.service.conversations()] == ["ended"])
                    await expect(page.locator("#operators")).to_have_text("No operators yet.")
                    assert errors == []
                finally:
                    await ctx.close()

    try:
        run(main)
    finally:
        relay.stop()
