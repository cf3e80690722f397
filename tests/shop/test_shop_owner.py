"""The owner's shop in the inbox over a real relay on loopback, with Python customers (an
agent and the chat layer): catalog and images through the channel, orders priced by the
owner, exactly once, every refusal, each customer only hearing about its own orders, the
web API and the terminal commands."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from pathlib import Path

import aiohttp
import pytest
from shop_helpers import (
    ADA,
    HOSTILE,
    bread_order,
    customer,
    relay_and_shop,
    run,
)

from hushwire.shop.wire import (
    Customer,
    ImagePart,
    ImagesGet,
    OrderRefused,
    OrderStatus,
    catalog_version,
)


def _product(catalog: dict[str, object], pid: str) -> dict[str, object]:
    products = catalog["products"]
    assert isinstance(products, list)
    return next(p for p in products if p["id"] == pid)


def test_catalog_images_order_and_status_updates(tmp_path: Path) -> None:
    async def go() -> None:
        async with relay_and_shop(tmp_path) as (r, inbox), customer(r, tmp_path, inbox) as ada:
            shop = inbox.service.shop
            assert shop is not None
            # The whole catalog, reassembled from its parts, is the owner's with its version.
            catalog, parts = await ada.get_catalog()
            assert parts >= 1
            assert catalog == shop.catalog().to_json()
            assert catalog["version"] == catalog_version(catalog)
            assert _product(catalog, "sourdough")["stock"] == 12
            # A repeat visit: the version check only.
            again, parts = await ada.get_catalog()
            assert parts == 0 and again is catalog
            # Images come through the channel, each matching its sha256 id.
            ids = [i for p in catalog["products"] for i in p["images"]]
            images = await ada.get_images(ids)
            assert len(images) == 4
            for image_id, (mime, data) in images.items():
                assert hashlib.sha256(data).hexdigest() == image_id and mime == "image/png"

            # An order, priced by the owner from its own catalog.
            order = bread_order(
                ("sourdough", None, 2, 450), ("baguette", "seeded", 1, 150), shipping="courier"
            )
            got = await ada.place(order)
            assert isinstance(got, OrderStatus), got
            assert got.status == "received" and got.total == 2 * 450 + 150 + 490 == order.total
            assert [(i.name, i.qty, i.price) for i in got.items] == [
                ("Sourdough loaf", 2, 450),
                ("Baguette (Seeded)", 1, 150),
            ]
            assert got.shipping.name == "Bike courier (city)"
            assert got.payment and "bank transfer" in got.payment
            assert len(got.order) == 9 and got.order[4] == "-"
            # The same ref again: the same order, not a second one.
            again_status = await ada.place(order)
            assert isinstance(again_status, OrderStatus) and again_status.order == got.order
            assert [o.number for o in shop.orders()] == [got.order]
            # Stock went down: the catalog (new version) says so.
            catalog2, parts = await ada.get_catalog()
            assert parts >= 1 and catalog2["version"] != catalog["version"]
            assert _product(catalog2, "sourdough")["stock"] == 10

            # The owner moves it on; the customer hears each step.
            await shop.set_status(got.order, "confirmed")
            assert (await ada.answer(order.ref)).status == "confirmed"  # type: ignore[union-attr]
            await shop.set_status(got.order, "paid")
            assert (await ada.answer(order.ref)).status == "paid"  # type: ignore[union-attr]
            await shop.set_status(got.order, "shipped", tracking="LA123456789DE")
            shipped = await ada.answer(order.ref)
            assert isinstance(shipped, OrderStatus)
            assert shipped.status == "shipped" and shipped.tracking == "LA123456789DE"
            # Shop traffic is not shown as chat lines in the inbox.
            (conv,) = inbox.service.conversations()
            assert inbox.service.conversation(conv.id)[1] == []

    run(go)


CASES = [
    ("price_changed", dict(items=[("sourdough", None, 1, 400)])),
    ("unknown_product", dict(items=[("pretzel", None, 1, 100)])),
    ("unknown_variant", dict(items=[("baguette", "spelt", 1, 120)])),
    ("unknown_variant", dict(items=[("baguette", None, 1, 120)])),
    ("unknown_variant", dict(items=[("sourdough", "large", 1, 450)])),
    ("bad_quantity", dict(items=[("sourdough", None, 0, 450)])),
    ("bad_quantity", dict(items=[("sourdough", None, -1, 450)])),
    ("bad_quantity", dict(items=[("sourdough", None, 1000, 450)])),
    ("bad_field", dict(who=Customer("x" * 201, "a", "1", "c", "d"))),
    ("bad_field", dict(who=Customer("Ada", "a" * 201, "1", "c", "d"))),
    ("bad_field", dict(who=Customer("Ada", "a", "1", "c", "d", "not-an-email"))),
    ("unknown_shipping", dict(shipping="drone")),
    ("out_of_stock", dict(items=[("bun", None, 1, 280)])),
    ("out_of_stock", dict(items=[("sourdough", None, 13, 450)])),
    ("out_of_stock", dict(items=[("baguette", "seeded", 2, 150), ("baguette", "seeded", 1, 150)])),
    ("currency_mismatch", dict(currency="USD")),
    ("total_mismatch", dict(total=1)),
    ("too_many_items", dict(items=[("rye", None, 1, 520)] * 101)),
]


def test_every_refusal_reaches_the_customer_and_stores_nothing(tmp_path: Path) -> None:
    async def go() -> None:
        async with relay_and_shop(tmp_path) as (r, inbox), customer(r, tmp_path, inbox) as ada:
            shop = inbox.service.shop
            assert shop is not None
            for code, change in CASES:
                kw = dict(change)
                items = kw.pop("items", [("sourdough", None, 1, 450)])
                order = bread_order(*items, **kw)  # type: ignore[arg-type]
                got = await ada.place(order)
                assert isinstance(got, OrderRefused), (code, got)
                assert got.reason == code, (code, got.message)
                assert got.message and got.message[0].isupper()
            assert shop.orders() == []
            # A changed price names the new one, so the customer understands.
            got = await ada.place(bread_order(("sourdough", None, 1, 400)))
            assert isinstance(got, OrderRefused)
            assert got.message == (
                "The price of Sourdough loaf is now EUR 4.50: check your cart and order again."
            )

    run(go)


def test_a_customer_hears_only_about_its_own_orders(tmp_path: Path) -> None:
    async def go() -> None:
        async with (
            relay_and_shop(tmp_path) as (r, inbox),
            customer(r, tmp_path, inbox, "Ada") as ada,
            customer(r, tmp_path, inbox, "Bob") as bob,
        ):
            shop = inbox.service.shop
            assert shop is not None
            order = bread_order(("rye", None, 1, 520))
            a = await ada.place(order)
            # Bob replays Ada's order with her ref: it is a new order of Bob's, not hers.
            b = await bob.place(order)
            assert isinstance(a, OrderStatus) and isinstance(b, OrderStatus)
            assert a.order != b.order
            await shop.set_status(a.order, "confirmed")
            assert (await ada.answer(order.ref)).status == "confirmed"  # type: ignore[union-attr]
            await shop.set_status(b.order, "cancelled")
            assert (await bob.answer(order.ref)).status == "cancelled"  # type: ignore[union-attr]
            await asyncio.sleep(0.5)
            assert ada.payloads.empty() and bob.payloads.empty()
            # Cancelling gave Bob's loaf back: 6 - 2 + 1.
            catalog, _ = await bob.get_catalog()
            assert _product(catalog, "rye")["stock"] == 5

    run(go)


def test_orders_through_the_web_api_and_the_terminal(tmp_path: Path) -> None:
    async def go() -> None:
        async with relay_and_shop(tmp_path) as (r, inbox), customer(r, tmp_path, inbox) as ada:
            hostile = Customer(HOSTILE, '=HYPERLINK("x")', "1", "Paris", "France", None)
            order = bread_order(("sourdough", None, 1, 450), who=hostile)
            got = await ada.place(order)
            assert isinstance(got, OrderStatus)
            data = str(tmp_path / "inbox")

            async def cli(*args: str) -> tuple[int, str, str]:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "hushwire", "inbox", *args, "--data", data,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                out, err = await proc.communicate()
                return proc.returncode or 0, out.decode(), err.decode()

            code, out, _ = await cli("orders")
            assert code == 0
            (line,) = out.splitlines()
            assert line.startswith(f"{got.order}  received") and "EUR 4.50" in line
            assert HOSTILE in line  # printed as text
            code, out, err = await cli("orders", "delivered", got.order)
            assert code == 2 and f"order {got.order} is received: it cannot become delivered" in err
            code, out, _ = await cli("orders", "confirm", got.order)
            assert (
                code == 0 and out == f"Order {got.order} is now confirmed; the customer was told.\n"
            )
            assert (await ada.answer(order.ref)).status == "confirmed"  # type: ignore[union-attr]
            code, out, _ = await cli("orders", "ship", got.order, "--tracking", "T-1")
            assert code == 0
            shipped = await ada.answer(order.ref)
            assert isinstance(shipped, OrderStatus) and shipped.tracking == "T-1"
            code, out, err = await cli("orders", "cancel", got.order)
            assert code == 2 and f"order {got.order} is shipped: it cannot become cancelled" in err
            code, out, _ = await cli("orders", "export", got.order)
            exported = json.loads(out)
            assert exported["number"] == got.order and exported["total"] == 450
            assert exported["customer"]["name"] == HOSTILE
            code, out, _ = await cli("orders", "export", got.order, "--csv")
            rows = out.splitlines()
            assert rows[0].startswith("order,status,customer,address")
            assert "'=HYPERLINK" in rows[1]  # inert in a spreadsheet
            assert rows[-1].endswith("total,,,,,4.50,EUR")
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{inbox.web.url}static/orders.js") as resp:
                    assert resp.content_type == "text/javascript"
                    script = await resp.text()
                    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
            code, out, err = await cli("orders", "confirm", "ZZZZ-ZZZZ")
            assert code == 2 and "no order 'ZZZZ-ZZZZ'" in err

    run(go)


@pytest.mark.parametrize("bad", ["price = 4.5", 'currency = "euro"', "[[products]]\nid = 'x y'"])
def test_a_bad_catalog_stops_the_start_with_a_clear_message(tmp_path: Path, bad: str) -> None:
    from hushwire.shop.catalog import load_catalog
    from hushwire.shop.example import BAKERY_TOML
    from hushwire.shop.wire import ShopError

    path = tmp_path / "catalog.toml"
    text = BAKERY_TOML.replace('price = "4.50"', bad) if "price" in bad else BAKERY_TOML
    if "currency" in bad:
        text = text.replace('currency = "EUR"', bad)
    if "x y" in bad:
        text += "\n" + bad + "\nname = 'X'\nprice = '1.00'\n"
    path.write_text(text)
    with pytest.raises(ShopError) as info:
        load_catalog(path)
    assert str(path) in str(info.value)
    assert ADA.name == "Ada Lovelace"


def test_with_a_passphrase_orders_hold_no_customer_text_in_the_clear(tmp_path: Path) -> None:
    secret = Customer(
        "Zebulon Quartzfeather", "7 Plum Lane", "99999", "Oakham", "Norway", "z@q.example"
    )
    data = tmp_path / "inbox"

    async def go() -> None:
        async with relay_and_shop(tmp_path, passphrase="pw") as (r, inbox):
            async with customer(r, tmp_path, inbox) as ada:
                got = await ada.place(bread_order(("rye", None, 1, 520), who=secret))
                assert isinstance(got, OrderStatus)
            # The API needs a login: no key, no orders.
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{inbox.web.url}api/orders") as resp:
                    assert resp.status == 401
        raw = b"".join(p.read_bytes() for p in data.glob("shop.sqlite3*") if p.is_file())
        assert raw
        for text in ("Zebulon", "Plum Lane", "Oakham", "z@q.example", "Dark rye"):
            assert text.encode() not in raw, text
        # Read back with the passphrase after a restart.
        async with relay_and_shop(tmp_path, passphrase="pw") as (_, inbox):
            assert inbox.service.shop is not None
            (order,) = inbox.service.shop.orders()
            assert order.number == got.order and order.customer == secret

    run(go)


def test_catalog_and_image_requests_are_answered_within_a_budget(tmp_path: Path) -> None:
    async def go() -> None:
        async with relay_and_shop(tmp_path) as (r, inbox), customer(r, tmp_path, inbox) as ada:
            shop = inbox.service.shop
            assert shop is not None
            shop.burst, shop.per_second = 3, 0.0
            ids = [i for p in shop.catalog().to_json()["products"] for i in p["images"]]
            assert len(ids) == 4
            await ada.send(ImagesGet(tuple(ids)))
            # An order is not budgeted, and its answer comes after any picture sent before.
            order = bread_order(("rye", None, 1, 520))
            await ada.send(order)
            got = []
            while not isinstance(p := await ada.next(object), OrderStatus):
                got.append(p)
            assert [type(p) for p in got] == [ImagePart] * 3
            assert p.ref == order.ref

    run(go)
