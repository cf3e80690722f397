"""``hushwire demo`` has a shop: the bakery's catalog in the inbox, a shop page on the demo
site with the widget in shop mode, and its URL on a line with ``Shop:``."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from shop_helpers import join

from hushwire.demo.run import RunningDemo, run_demo
from hushwire.shop.customer import ShopCustomer


async def _get(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    text = (await reader.read()).decode()
    writer.close()
    await writer.wait_closed()
    return text


def test_the_demo_bakery_has_a_shop(tmp_path: Path) -> None:
    seen: dict[str, object] = {}
    stop = asyncio.Event()
    out = io.StringIO()

    async def check(demo: RunningDemo) -> None:
        try:
            port = demo.site_runner.addresses[0][1]
            seen["page"] = await _get(port, "/shop")
            seen["home"] = await _get(port, "/")
            agent, conn = await join(
                demo.relay.address,
                demo.relay_ws + "/",
                tmp_path,
                demo.inbox.service.address,
                "Ada",
            )
            try:
                async with ShopCustomer(agent, conn) as ada:
                    catalog, _ = await ada.get_catalog()
                    ids = [i for p in catalog["products"] for i in p["images"]]
                    seen["names"] = [p["name"] for p in catalog["products"]]
                    seen["images"] = len(await ada.get_images(ids))
            finally:
                await agent.stop()
        finally:
            stop.set()

    async def main() -> None:
        await run_demo(
            tmp_path / "demo",
            out=out,
            ports=dict.fromkeys(("relay", "site", "inbox"), 0),  # any free ports
            stop=stop,
            opener=lambda _: None,
            started=check,
        )

    asyncio.run(asyncio.wait_for(main(), 90))
    (line,) = [x for x in out.getvalue().splitlines() if "Shop:" in x]
    (url,) = re.findall(r"http://127\.0\.0\.1:\d+/shop", line)
    page = str(seen["page"])
    assert page.startswith("HTTP/1.1 200")
    assert "img-src blob:;" in page and "connect-src ws://127.0.0.1:" in page
    assert 'data-mode="shop"' in page and "<div data-hushwire-shop></div>" in page
    assert 'href="/shop"' in str(seen["home"]) and "img-src 'none'" in str(seen["home"])
    assert seen["names"] == ["Sourdough loaf", "Baguette", "Dark rye", "Cinnamon bun"]
    assert seen["images"] == 4
    assert url.endswith("/shop")
