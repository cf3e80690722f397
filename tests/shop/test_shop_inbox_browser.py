"""The inbox's Orders view in Chromium (Debian's package, driven by Playwright) with a Python
customer: orders arrive live, the hostile name is shown as text, the owner confirms and
ships with a tracking number through the named controls, the customer hears each step, and
one order is exported as JSON and CSV."""

from __future__ import annotations

import json
import os
from importlib.util import find_spec
from pathlib import Path

import pytest
from shop_helpers import HOSTILE, bread_order, customer, relay_and_shop, run

from hushwire.shop.wire import Customer, OrderStatus

CHROMIUM = Path("/usr/bin/chromium")
# On CI (`make test`) both are installed, so a missing one fails instead of skipping.
if not os.environ.get("CI") and not (CHROMIUM.exists() and find_spec("playwright")):
    pytest.skip("needs Playwright and Debian's chromium (make chromium)", allow_module_level=True)


def test_owner_handles_orders_in_chromium(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async def main() -> None:
        async with (
            relay_and_shop(tmp_path) as (r, inbox),
            customer(r, tmp_path, inbox) as ada,
            async_playwright() as p,
        ):
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            try:
                page = await browser.new_page(
                    accept_downloads=True, viewport={"width": 1100, "height": 700}
                )
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
                await page.goto(inbox.login_link)
                await expect(page.get_by_role("status")).to_have_text("Live")
                await page.get_by_role("link", name="Orders").click()
                orders = page.get_by_role("list", name="Orders")
                await expect(page.get_by_text("No orders yet.")).to_be_visible()

                # An order arrives while the owner looks: it appears live, as text.
                who = Customer(HOSTILE, "<b>1 Crumb St</b>", "10115", "Berlin", "Germany")
                order = bread_order(("sourdough", None, 2, 450), who=who)
                got = await ada.place(order)
                assert isinstance(got, OrderStatus)
                item = orders.get_by_role("link")
                await expect(item).to_have_count(1)
                await expect(item).to_contain_text(got.order)
                await expect(item).to_contain_text(HOSTILE)
                await expect(item).to_contain_text("EUR 9.00")
                await expect(item).to_contain_text("new")
                await expect(item).to_contain_text("0 min")
                await expect(page.get_by_role("link", name="Orders (1 new)")).to_be_visible()
                await item.click()
                await expect(page.get_by_role("heading", name=f"Order {got.order}")).to_be_visible()
                await expect(page.locator(".order-address")).to_contain_text("<b>1 Crumb St</b>")
                assert await page.locator("img").count() == 1  # the settings QR code only
                assert await page.title() != "pwned"

                await page.get_by_role("button", name="Confirm order").click()
                confirmed = await ada.answer(order.ref)
                assert isinstance(confirmed, OrderStatus) and confirmed.status == "confirmed"
                await expect(page.locator(".order-state")).to_have_text("Status: confirmed")
                await page.get_by_label("Tracking number").fill("LA123456789DE")
                await page.get_by_role("button", name="Mark as shipped").click()
                shipped = await ada.answer(order.ref)
                assert isinstance(shipped, OrderStatus)
                assert (shipped.status, shipped.tracking) == ("shipped", "LA123456789DE")
                await expect(item).to_contain_text("shipped")
                await expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)

                async with page.expect_download() as info:
                    await page.get_by_role("button", name="Export JSON").click()
                path = await (await info.value).path()
                exported = json.loads(Path(path).read_text())
                assert exported["number"] == got.order and exported["total"] == 900
                assert exported["tracking"] == "LA123456789DE"
                async with page.expect_download() as info:
                    await page.get_by_role("button", name="Export CSV").click()
                csv_text = Path(await (await info.value).path()).read_text()
                assert csv_text.splitlines()[-1].endswith("total,,,,,9.00,EUR")
                # Opened directly (a bookmark, a reload): the Orders view alone.
                await page.reload()
                await expect(page.get_by_role("status")).to_have_text("Live")
                await expect(item).to_contain_text("shipped")
                await expect(page.locator("#view-empty")).to_be_hidden()
                await expect(page.get_by_role("heading", name=f"Order {got.order}")).to_be_visible()
                assert errors == []
            finally:
                await browser.close()

    run(main)
