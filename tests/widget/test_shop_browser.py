"""The widget's shop mode in Chromium (Debian's package, driven by Playwright), on a host page
with a strict Content-Security-Policy (plus ``img-src blob:`` for the product images),
through a real relay process to a Python shop owner (shop_owner.py): browse and filter, add
two products, reload (the cart stays), check out (pressing "Place order" twice makes one
order), the owner sees the order with the total it computed, confirms, ships with a tracking
number; the customer sees each status, and a second visit shows the order history with only a
version check for the catalog and no image request. Hostile product names render inert. The
web host's log shows the page and the widget's files only: no product, cart or order request.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from shop_owner import ShopOwner, make_catalog, png
from test_widget_browser import (
    OWNER_CFG,
    SHOTS,
    PageServer,
    Relay,
    chromium,
    csp_clean,
    open_page,
    page_server,
    run,
    strict_csp,
)

from hushwire.agent.agent import Agent
from hushwire.testing import start_relay_process
from hushwire.widget import SnippetOptions, snippet

HOSTILE = "<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>"
PRODUCTS = [
    {"id": "sourdough", "name": "Sourdough loaf", "price": 450, "tags": ["bread"]},
    {"id": "rye", "name": "Rye bread", "price": 380, "tags": ["bread"], "description": "Dark."},
    {"id": "croissant", "name": "Croissant", "price": 190, "tags": ["pastry"]},
    {"id": "evil", "name": HOSTILE, "price": 100, "tags": ["pastry"], "description": HOSTILE},
]
IMAGES = {
    "sourdough": png(8, 6, (180, 120, 60)),
    "rye": png(8, 6, (90, 60, 30)),
    "croissant": png(8, 6, (230, 180, 80)),
}
BLOB = re.compile("^blob:")
WIDGET_FILES = {"/", "/probe.js", "/hushwire-widget.js"}


def shop_csp(relay_ws: str) -> str:
    """docs/widget.md's policy with the one addition shop mode needs: images from blob: URLs."""
    return strict_csp(relay_ws).replace("img-src 'none'", "img-src blob:")


@asynccontextmanager
async def relay_and_shop(tmp: Path) -> AsyncIterator[tuple[Relay, ShopOwner, str]]:
    relay = Relay(
        await asyncio.to_thread(start_relay_process, tmp / "relay", tls=False), tmp / "relay"
    )
    r = relay.proc
    images = {hashlib.sha256(b).hexdigest(): b for b in IMAGES.values()}
    owner = ShopOwner(
        Agent(tmp / "owner", r.address, ws_url=r.ws_url, client_config=OWNER_CFG),
        make_catalog(PRODUCTS, IMAGES),
        images,
    )
    try:
        async with owner.online() as link:
            yield relay, owner, link
    finally:
        await relay.stop()


@asynccontextmanager
async def shop_site(tmp: Path) -> AsyncIterator[tuple[ShopOwner, Any, PageServer, Relay]]:
    """The relay, the owner, the host page (shop-mode snippet, strict CSP) and Chromium."""
    async with relay_and_shop(tmp) as (relay, owner, link):
        with page_server() as site:
            site.csp = shop_csp(f"ws://127.0.0.1:{relay.proc.ws_port}")
            site.host_page(snippet(SnippetOptions(link, relay.proc.ws_url, shop=True)))
            async with chromium(tmp) as ctx:
                yield owner, ctx, site, relay


def host_files(paths: list[str]) -> set[str]:
    """What the browser asked the web host for, the widget's module files named as such."""
    return {p if not p.startswith("/hushwire-widget-") else "/hushwire-widget-*.js" for p in paths}


def test_shop_browse_cart_checkout_statuses_and_history(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with shop_site(tmp_path) as (owner, ctx, site, _):
            page, errors = await open_page(ctx, site)
            products = page.get_by_role("region", name="Products")
            names = products.locator(".product .name")
            await expect(names).to_have_text([p["name"] for p in PRODUCTS])
            await expect(page.get_by_role("heading", name="Tiny Bakery", level=2)).to_be_visible()
            # Each image came over the channel, was checked and shows from a blob: URL.
            pics = products.locator("img.pic")
            await expect(pics).to_have_count(3)
            for i in range(3):
                await expect(pics.nth(i)).to_have_attribute("src", BLOB)
            assert await pics.evaluate_all("ps => ps.every((p) => p.naturalWidth === 8)")

            # Local search and filters.
            await page.get_by_label("Search").fill("rye")
            await expect(names.locator("visible=true")).to_have_text(["Rye bread"])
            await page.get_by_label("Search").fill("")
            await page.get_by_label("Tag").select_option("pastry")
            await expect(names.locator("visible=true")).to_have_text(["Croissant", HOSTILE])
            await page.get_by_label("Tag").select_option("")
            await page.get_by_label("Max price").fill("4")
            await expect(names.locator("visible=true")).to_have_text(
                ["Rye bread", "Croissant", HOSTILE]
            )
            await page.get_by_label("Max price").fill("")

            # Hostile names are text: nothing ran, no element came from them.
            tags = (
                await products.locator(".product")
                .nth(3)
                .evaluate("li => [...li.querySelectorAll('*')].map((e) => e.tagName)")
            )
            assert tags == ["H3", "P", "P", "BUTTON"]
            assert await page.evaluate("window.__pwned === undefined")

            # Two products into the cart, one of them twice; a reload keeps the cart.
            cart = await cart_and_reload(page, "Sourdough loaf", "Rye bread")
            await expect(names).to_have_count(len(PRODUCTS))
            await expect(
                page.get_by_role("spinbutton", name="Quantity of Rye bread")
            ).to_have_value("2")
            await expect(page.locator(".sum .total")).to_have_text("EUR 12.10")

            # Checkout: a missing field is a clear message, nothing is sent.
            await page.get_by_role("button", name="Place order").click()
            await expect(page.get_by_role("alert")).to_have_text("Full name is missing.")
            await fill_delivery(
                page, "Ada Lovelace", "12 Baker Street <b>", "NW1 6XE", "London", "United Kingdom"
            )
            await page.get_by_label("Shipping").select_option("post")
            await expect(page.locator(".sum .total")).to_have_text("EUR 17.00")
            await page.get_by_role("button", name="Place order").dblclick()

            placed = await asyncio.wait_for(owner.new_orders.get(), 20)
            assert placed.status.total == 2 * 380 + 450 + 490  # the owner's own sum
            assert [(x.product, x.qty) for x in placed.status.items] == [
                ("sourdough", 1),
                ("rye", 2),
            ]
            orders = page.get_by_role("region", name="Your orders")
            order = orders.locator(".order")
            await expect(order).to_have_count(1)
            await expect(order.locator("h4")).to_have_text(f"Order {placed.status.order}")
            await expect(order.locator(".st")).to_have_text("Received")
            await expect(order.locator(".total")).to_have_text("EUR 17.00")
            await expect(cart.locator(".count")).to_have_text("0")

            await owner.set_status(placed, "confirmed")
            await expect(order.locator(".st")).to_have_text("Confirmed")
            await owner.set_status(placed, "shipped", "TRACK-123")
            await expect(order.locator(".st")).to_have_text("Shipped")
            await expect(order.locator(".tracking")).to_have_text("TRACK-123")
            await page.screenshot(path=str(SHOTS / "hushwire-shop.png"), full_page=True)
            # 320 px wide: everything fits, nothing scrolls sideways.
            await page.set_viewport_size({"width": 320, "height": 640})
            assert await page.evaluate("document.documentElement.scrollWidth") <= 320
            await page.screenshot(path=str(SHOTS / "hushwire-shop-320.png"), full_page=True)
            await page.set_viewport_size({"width": 1100, "height": 760})
            await csp_clean(page, site)

            # A second visit: the history is there, the catalog only version-checked.
            before = list(owner.requests)
            await page.reload()
            await expect(order.locator(".st")).to_have_text("Shipped")
            await expect(order.locator(".tracking")).to_have_text("TRACK-123")
            await expect(names).to_have_count(len(PRODUCTS))
            await expect(pics.first).to_have_attribute("src", BLOB)
            for _ in range(50):
                if len(owner.requests) > len(before):
                    break
                await asyncio.sleep(0.1)
            await page.wait_for_timeout(500)
            assert owner.requests[len(before) :] == ["CatalogGet"]
            # Exactly one order, though "Place order" was pressed twice and the page
            # reloaded twice since; one connection throughout (it resumed).
            assert len(owner.orders) == 1 and owner.new_orders.empty()
            assert len(owner.conns) == 1
            assert owner.chat_texts == []

            # The web host saw the page and the widget's files, nothing else.
            assert host_files(site.paths) <= WIDGET_FILES | {"/hushwire-widget-*.js"}
            assert errors == []

    run(main, 180)


async def fill_delivery(page: Any, *values: str) -> None:
    """The checkout form's Full name, Address, Postcode, City and Country."""
    labels = ("Full name", "Address", "Postcode", "City", "Country")
    for label, value in zip(labels, values, strict=True):
        await page.get_by_label(label).fill(value)


async def cart_and_reload(page: Any, first: str, second: str) -> Any:
    """`first` once and `second` twice into the cart, then a reload: the cart is still there
    (sealed in IndexedDB). Returns the "Cart" button, opened."""
    from playwright.async_api import expect

    for name in (first, second, second):
        await page.get_by_role("button", name=f"Add {name} to cart").click()
    cart = page.get_by_role("button", name="Cart", exact=True)
    await expect(cart.locator(".count")).to_have_text("3")
    await page.wait_for_timeout(300)
    await page.reload()
    await expect(cart.locator(".count")).to_have_text("3")
    await cart.click()
    await expect(cart).to_have_attribute("aria-expanded", "true")
    return cart


async def checkout(page: Any) -> None:
    """Sourdough into the cart, the delivery form filled, "Place order" pressed."""
    await page.get_by_role("button", name="Add Sourdough loaf to cart").click()
    await page.get_by_role("button", name="Cart", exact=True).click()
    await fill_delivery(page, "Grace Hopper", "1 Harbor Way", "10001", "New York", "USA")
    await page.get_by_role("button", name="Place order").click()


def test_an_unanswered_order_is_sent_again_with_its_ref_and_placed_once(tmp_path: Path) -> None:
    """The tab closes after the order went out and before the shop's answer came: the next
    visit sends it again with the same ref; the owner answers it once, as the same order."""
    from playwright.async_api import expect

    async def main() -> None:
        async with shop_site(tmp_path) as (owner, ctx, site, _):
            page, errors = await open_page(ctx, site)
            owner.silent = True
            await checkout(page)
            placed = await asyncio.wait_for(owner.new_orders.get(), 20)
            order = page.get_by_role("region", name="Your orders").locator(".order")
            await expect(order.locator(".st")).to_have_text("Sending…")
            await page.close()  # the tab dies with its order unanswered

            owner.silent = False
            page, errors = await open_page(ctx, site)
            order = page.get_by_role("region", name="Your orders").locator(".order")
            await expect(order.locator("h4")).to_have_text(f"Order {placed.status.order}")
            await expect(order.locator(".st")).to_have_text("Received")
            assert owner.requests.count("Order") >= 2  # sent again, same ref
            assert len(owner.orders) == 1 and owner.new_orders.empty()
            assert errors == []

    run(main, 120)


def test_the_demo_shop_in_chromium_with_the_inbox(tmp_path: Path) -> None:
    """`hushwire demo`'s shop page (its `Shop:` URL) and the inbox's Orders view in two tabs:
    the customer browses, fills the cart, reloads, orders; the owner sees the order with the
    total the inbox computed, confirms it and ships it with a tracking number; the customer
    sees each status, and again on a later visit. Every request the browser made to the web
    host was for the page or the widget's files."""
    from playwright.async_api import expect

    from hushwire.demo.run import print_urls, start_demo

    async def main() -> None:
        demo = await start_demo(tmp_path / "demo", ports={"relay": 0, "site": 0, "inbox": 0})
        try:
            out = io.StringIO()
            print_urls(demo, out)
            (line,) = [x for x in out.getvalue().splitlines() if "Shop:" in x]
            shop_url = line.split("Shop:", 1)[1].strip()
            site_origin = demo.site_url.rstrip("/")
            async with chromium(tmp_path, height=900) as ctx:
                asked: list[str] = []
                ctx.on("request", lambda r: asked.append(r.url))
                # the demo's `Shop:` URL, opened as open_page opens a page server's
                shop, errors = await open_page(ctx, cast(PageServer, SimpleNamespace(url=shop_url)))
                assert shop_url == site_origin + "/shop"
                names = shop.get_by_role("region", name="Products").locator(".name")
                await expect(names).to_have_text(
                    ["Sourdough loaf", "Baguette", "Dark rye", "Cinnamon bun"]
                )
                await expect(shop.locator("img.pic[src^='blob:']")).to_have_count(4)
                sold_out = shop.get_by_role("button", name="Add Cinnamon bun to cart")
                await expect(sold_out).to_be_disabled()

                await cart_and_reload(shop, "Sourdough loaf", "Dark rye")
                await fill_delivery(shop, "Ada Lovelace", "12 Crumb St", "10115", "Berlin", "DE")
                await shop.get_by_label("Shipping").select_option("courier")
                await expect(shop.locator(".sum .total")).to_have_text("EUR 19.80")
                await shop.get_by_role("button", name="Place order").dblclick()
                order = shop.get_by_role("region", name="Your orders").locator(".order")
                await expect(order.locator(".st")).to_have_text("Received")
                number = (await order.locator("h4").inner_text()).removeprefix("Order ")

                # The owner's inbox: the order, with the total the inbox computed.
                inbox = await ctx.new_page()
                inbox.on("pageerror", lambda e: errors.append(str(e)))
                await inbox.goto(demo.inbox.login_link)
                await inbox.get_by_role("link", name=re.compile("^Orders")).click()
                item = inbox.get_by_role("list", name="Orders").get_by_role("link")
                await expect(item).to_have_count(1)  # one order for the double press
                await expect(item).to_contain_text(number)
                await expect(item).to_contain_text("EUR 19.80")
                assert demo.inbox.service.shop is not None
                stored = demo.inbox.service.shop.order(number)
                assert stored.total == 450 + 2 * 520 + 490
                await item.click()
                await inbox.get_by_role("button", name="Confirm order").click()
                await expect(order.locator(".st")).to_have_text("Confirmed")
                await inbox.get_by_label("Tracking number").fill("LA123456789DE")
                await inbox.get_by_role("button", name="Mark as shipped").click()
                await expect(order.locator(".st")).to_have_text("Shipped")
                await expect(order.locator(".tracking")).to_have_text("LA123456789DE")
                await shop.screenshot(path=str(SHOTS / "hushwire-demo-shop.png"))

                # A later visit: the history is there.
                await shop.reload()
                await expect(order.locator("h4")).to_have_text(f"Order {number}")
                await expect(order.locator(".st")).to_have_text("Shipped")
                await expect(order.locator(".tracking")).to_have_text("LA123456789DE")
                await expect(names).to_have_count(4)
                host = {u.removeprefix(site_origin) for u in asked if u.startswith(site_origin)}
                # the page, its stylesheet and the widget's files; nothing of the shop
                page_files = {"/shop", "/site.css", "/hushwire-widget.js"}
                assert host_files(sorted(host)) <= page_files | {"/hushwire-widget-*.js"}
                assert "/hushwire-widget-shop.js" in host
                assert errors == []
        finally:
            await demo.stop()

    run(main, 180)


def test_a_refused_order_says_why_and_the_new_price_shows(tmp_path: Path) -> None:
    """The owner changed a price after the customer loaded the catalog: the order is refused
    with the owner's message, its items go back into the cart, the catalog is asked for again
    and shows the new price; ordered again, it goes through at that price."""
    from playwright.async_api import expect

    async def main() -> None:
        async with shop_site(tmp_path) as (owner, ctx, site, _):
            page, errors = await open_page(ctx, site)
            names = page.get_by_role("region", name="Products").locator(".name")
            await expect(names).to_have_count(len(PRODUCTS))
            raised = [dict(p, price=520) if p["id"] == "sourdough" else p for p in PRODUCTS]
            owner.catalog = make_catalog(raised, IMAGES)
            await checkout(page)
            await expect(page.get_by_role("alert")).to_have_text(
                "The shop refused your order: The price of Sourdough loaf has changed."
            )
            order = page.get_by_role("region", name="Your orders").locator(".order")
            await expect(order.locator(".st")).to_have_text("Refused")
            card = page.locator(".product[data-id=sourdough] .price")
            await expect(card).to_have_text("EUR 5.20")
            await expect(page.locator(".sum .total")).to_have_text("EUR 5.20")
            assert owner.orders == {}
            await page.get_by_role("button", name="Place order").click()
            placed = await asyncio.wait_for(owner.new_orders.get(), 20)
            assert placed.status.total == 520
            await expect(order.first.locator(".st")).to_have_text("Received")
            assert errors == []

    run(main, 120)


def test_the_chat_beside_the_shop_shares_its_connection(tmp_path: Path) -> None:
    """The chat's launcher is on the shop page too, on the same connection: the customer
    asks, the owner answers, shop traffic never shows as chat lines, and after a reload the
    conversation is still there."""
    from playwright.async_api import expect

    async def main() -> None:
        async with shop_site(tmp_path) as (owner, ctx, site, _):
            page, errors = await open_page(ctx, site)
            names = page.get_by_role("region", name="Products").locator(".name")
            await expect(names).to_have_count(len(PRODUCTS))
            await page.get_by_role("button", name="Open chat").click()
            await expect(page.get_by_role("status").last).to_contain_text("Connected")
            field = page.get_by_role("textbox", name="Message")
            await field.fill("Is the rye bread vegan?")
            await field.press("Enter")
            for _ in range(100):
                if owner.chat_texts:
                    break
                await asyncio.sleep(0.1)
            assert owner.chat_texts == ["Is the rye bread vegan?"]
            assert len(owner.conns) == 1  # the shop's own connection
            await owner.say(owner.conns[0], "Yes, it is.")
            log = page.get_by_role("log", name="Messages")
            await expect(log.locator(".msg .text")).to_have_text(
                ["Is the rye bread vegan?", "Yes, it is."]
            )
            await field.press("Escape")  # the panel closes: the shop is all in view again
            await checkout(page)
            await asyncio.wait_for(owner.new_orders.get(), 20)
            order = page.get_by_role("region", name="Your orders").locator(".order")
            await expect(order.locator(".st")).to_have_text("Received")
            await page.wait_for_timeout(300)
            await page.reload()
            await page.get_by_role("button", name="Open chat").click()
            await expect(log.locator(".msg .text")).to_have_text(
                ["Is the rye bread vegan?", "Yes, it is."]
            )
            await owner.say(owner.conns[0], "See you on Saturday.")
            await expect(log.locator(".msg.in .text")).to_have_text(
                ["Yes, it is.", "See you on Saturday."]
            )
            assert len(owner.conns) == 1
            await csp_clean(page, site)
            assert errors == []

    run(main, 120)


def test_an_order_placed_offline_goes_out_when_the_relay_is_back(tmp_path: Path) -> None:
    """The relay is gone when "Place order" is pressed: the shop says it is offline and keeps
    the order (sealed); when the relay is back, the order goes out once."""
    from playwright.async_api import expect

    async def main() -> None:
        async with shop_site(tmp_path) as (owner, ctx, site, relay):
            page, errors = await open_page(ctx, site)
            names = page.get_by_role("region", name="Products").locator(".name")
            await expect(names).to_have_count(len(PRODUCTS))
            await expect(page.locator("p.state")).to_have_text("Catalog is up to date")
            await relay.stop()
            await expect(page.locator("p.state")).to_contain_text("Offline")
            await checkout(page)
            order = page.get_by_role("region", name="Your orders").locator(".order")
            await expect(order.locator(".st")).to_have_text("Sending…")
            await page.wait_for_timeout(500)
            assert owner.new_orders.empty()
            await relay.start_again()
            placed = await asyncio.wait_for(owner.new_orders.get(), 40)
            await expect(order.locator("h4")).to_have_text(f"Order {placed.status.order}")
            await expect(order.locator(".st")).to_have_text("Received")
            assert len(owner.orders) == 1
            assert errors == []

    run(main, 150)
