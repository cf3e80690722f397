"""The widget's shop mode in Chromium: a catalog of 1,000 products with a thumbnail each
(about 8 KB), every byte through the relay, on 127.0.0.1.

The owner is the real one: an inbox with ``--shop`` (started in this process, as ``hushwire
demo`` starts it) on the catalog ``benchmarks/shop_catalog.py`` writes; the relay runs as its
own process. Per round, a fresh browser profile (nothing cached):

- fresh visit: navigation start -> all products listed (the catalog joined the owner's
  contact address, was asked for, arrived in parts, was gunzipped, checked and shown), then
  -> the first screen's thumbnails shown (asked for with images.get, checked by sha256);
  with where the time goes (the shop's performance marks: module started, join sent, owner
  accepted, each catalog part, catalog shown);
- repeat visit (reload, same profile): navigation start -> all products listed (from the
  sealed cache; the owner is only asked for a version check), and -> the first screen's
  thumbnails (from the sealed cache);
- an order: click on "Place order" -> the order is in the inbox's shop store (p50).

Baseline from the same run: a Python customer ``Agent`` in this process (no browser,
:class:`hushwire.shop.customer.ShopCustomer`) joins the same address and loads the catalog
(join -> catalog read): the protocol's round trips and the owner's work without the browser.
Beside it: the bytes of one catalog load over the relay (the catalog messages' JSON and the
16 KB SMP blocks they take). Prints figures only, nothing is asserted.

    .venv/bin/python benchmarks/shop_browser.py [--rounds 5] [--products 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

from shop_catalog import write_catalog
from widget_budget import ARGS, CHROMIUM, chromium_version, page_server, relay

from hushwire.agent.agent import Agent, ConnectionEstablished
from hushwire.chat.messages import Profile, x_info
from hushwire.inbox.run import start_inbox
from hushwire.shop.customer import ShopCustomer
from hushwire.shop.wire import shop_message
from hushwire.smp.address import SMPServer
from hushwire.widget import SnippetOptions, snippet

SMP_BLOCK = 16384

LISTED = """(n) => new Promise((resolve) => {
  const check = () => {
    const root = document.querySelector("[data-hushwire-shop]")?.shadowRoot;
    if (root && root.querySelectorAll(".product").length >= n) resolve(performance.now());
    else setTimeout(check, 5);
  };
  check();
})"""

FIRST_SCREEN = """() => new Promise((resolve) => {
  const check = () => {
    const root = document.querySelector("[data-hushwire-shop]").shadowRoot;
    const pics = [...root.querySelectorAll("img.pic")].filter((p) => {
      const r = p.getBoundingClientRect();
      return r.top < innerHeight && r.bottom > 0;
    });
    if (pics.length > 0 && pics.every((p) => p.complete && p.naturalWidth > 0))
      resolve(performance.now());
    else setTimeout(check, 5);
  };
  check();
})"""

MARKS = """() => Object.fromEntries(performance.getEntriesByType("mark")
  .filter((m) => m.name.startsWith("hushwire-shop: "))
  .map((m) => [m.name.slice(15), m.startTime]))"""

SAID = """() => [...document.querySelector("[data-hushwire-shop]").shadowRoot
  .querySelectorAll("[role=status], [role=alert], .order .st")].map((e) => e.textContent)"""

FIGURES: dict[str, float | None] = {}


def print_result() -> None:
    clean = {k: v if v is None or math.isfinite(v) else None for k, v in FIGURES.items()}
    print("RESULT " + json.dumps(clean, sort_keys=True), flush=True)


def line(name: str, xs: list[float]) -> str:
    if not xs:
        return f"{name}: no measurement"
    return (
        f"{name}: median {statistics.median(xs):.0f} ms "
        f"(min {min(xs):.0f}, max {max(xs):.0f}, n={len(xs)})"
    )


async def run(tmp: Path, rounds: int, n: int) -> None:
    from playwright.async_api import async_playwright

    toml = write_catalog(tmp / "catalog", n)
    fresh: list[float] = []
    fresh_img: list[float] = []
    repeat: list[float] = []
    repeat_img: list[float] = []
    order_ms: list[float] = []
    marks: dict[str, list[float]] = {}
    with relay(tmp) as (server, ws_port):
        ws_url = f"ws://127.0.0.1:{ws_port}/"
        inbox = await start_inbox(tmp / "inbox", server, ws_url=ws_url, name="Bench", shop=toml)
        shop = inbox.service.shop
        assert shop is not None
        parts = shop.catalog_parts()
        sizes = [len(shop_message(p, os.urandom(12)).encode()) for p in parts]
        FIGURES.update(
            shop_products=n,
            catalog_messages=len(parts),
            catalog_message_bytes=sum(sizes),
            catalog_relay_bytes=len(parts) * SMP_BLOCK,
        )
        print(
            f"catalog of {n} products: {len(parts)} messages, {sum(sizes)} bytes of chat JSON, "
            f"{len(parts) * SMP_BLOCK} bytes in SMP blocks over the relay; "
            f"a thumbnail is 1 message, {SMP_BLOCK} bytes in a block"
        )
        link = inbox.service.address
        tag = snippet(SnippetOptions(link, ws_url, shop=True))
        page_html = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title>'
            f"</head><body>{tag}</body></html>"
        ).encode()
        csp = (
            "default-src 'none'; script-src 'self'; worker-src blob:; img-src blob:; "
            f"connect-src ws://127.0.0.1:{ws_port}; style-src 'none'; "
            "require-trusted-types-for 'script'; trusted-types hushwire"
        )
        with page_server(page_html, csp) as url:
            async with async_playwright() as p:
                for i in range(rounds + 1):  # round 0 warms up Chromium and the relay
                    ctx = await p.chromium.launch_persistent_context(
                        str(tmp / f"profile-{i}"),
                        executable_path=CHROMIUM,
                        args=ARGS,
                        headless=True,
                        viewport={"width": 1100, "height": 800},
                    )
                    try:
                        page = await ctx.new_page()
                        await page.goto(url)
                        listed = await page.evaluate(LISTED, n)
                        shown = await page.evaluate(FIRST_SCREEN)
                        steps: dict[str, float] = await page.evaluate(MARKS)
                        # the sealed cache and the session are written (IndexedDB is async;
                        # a reload before the last sealed state is stored can lose the next
                        # message, docs/widget.md section 4; the shop sends orders again)
                        await page.wait_for_timeout(1000)
                        await page.reload()
                        listed2 = await page.evaluate(LISTED, n)
                        shown2 = await page.evaluate(FIRST_SCREEN)
                        # one order: add a product, fill the form, place it
                        await page.get_by_role("button", name="Add Product 1 to cart").click()
                        await page.get_by_role("button", name="Cart", exact=True).click()
                        for label, value in (
                            ("Full name", "Ada"),
                            ("Address", "1 Road"),
                            ("Postcode", "12345"),
                            ("City", "Town"),
                            ("Country", "Land"),
                        ):
                            await page.get_by_label(label).fill(value)
                        before = len(shop.orders())
                        t0 = time.perf_counter()
                        await page.get_by_role("button", name="Place order").click()
                        while len(shop.orders()) == before:
                            if time.perf_counter() - t0 > 60:
                                said = await page.evaluate(SAID)
                                raise RuntimeError(f"no order came; the shop says {said}")
                            await asyncio.sleep(0.001)
                        took = (time.perf_counter() - t0) * 1000
                    finally:
                        await ctx.close()
                    if i == 0:
                        continue
                    fresh.append(listed)
                    for name, at in steps.items():
                        marks.setdefault(name, []).append(at)
                    fresh_img.append(shown)
                    repeat.append(listed2)
                    repeat_img.append(shown2)
                    order_ms.append(took)
        python_ms = [
            await python_catalog(tmp / f"py-{i}", server, ws_url, link) for i in range(rounds)
        ]
        await inbox.stop()
    print("  " + line("baseline: Python customer Agent, join -> catalog read", python_ms))
    FIGURES["python_join_catalog_ms"] = statistics.median(python_ms) if python_ms else None
    print(f"Chromium {await chromium_version()}, loopback, fresh profile per round:")
    print("  " + line(f"fresh visit: navigation -> all {n} products listed", fresh))
    print("  " + line("fresh visit: navigation -> first screen's thumbnails shown", fresh_img))
    print("    where the fresh visit's time goes (median ms after navigation start):")
    for name, xs in marks.items():
        print(f"      {name}: {statistics.median(xs):.0f}")
    print("  " + line(f"repeat visit: navigation -> all {n} products listed", repeat))
    print("  " + line("repeat visit: navigation -> first screen's thumbnails shown", repeat_img))
    print("  " + line("order: click 'Place order' -> in the inbox", order_ms))
    for key, xs in (
        ("shop_fresh_listed_ms", fresh),
        ("shop_fresh_first_screen_ms", fresh_img),
        ("shop_repeat_listed_ms", repeat),
        ("shop_repeat_first_screen_ms", repeat_img),
        ("shop_order_to_inbox_ms", order_ms),
    ):
        FIGURES[key] = statistics.median(xs) if xs else None


async def python_catalog(tmp: Path, server: SMPServer, ws_url: str, link: str) -> float:
    """A Python customer: join, then the catalog read through ShopCustomer; milliseconds."""
    agent = Agent(tmp, server, ws_url=ws_url)
    await agent.start()
    try:
        t0 = time.perf_counter()
        conn = await agent.join(link, x_info(Profile(display_name="Python")).encode_conn_info())
        while not isinstance(await agent.events.get(), ConnectionEstablished):
            pass
        async with ShopCustomer(agent, conn) as customer:
            await customer.get_catalog()
        return (time.perf_counter() - t0) * 1000
    finally:
        await agent.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--products", type=int, default=1000)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print("skipped: no Chromium at /usr/bin/chromium (make chromium)")
    else:
        with tempfile.TemporaryDirectory(prefix="hushwire-shop-bench-") as tmp:
            asyncio.run(run(Path(tmp), args.rounds, args.products))
    print_result()


if __name__ == "__main__":
    main()
