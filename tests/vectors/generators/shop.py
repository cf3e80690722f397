"""Build tests/vectors/shop.json: the shop's wire format (docs/protocol/shop.md).

Run: .venv/bin/python tests/vectors/generators/shop.py

Regression values written by :mod:`hushwire.shop.wire` from fixed inputs; the widget's
TypeScript must read (and, for ``messages``, write) exactly the same. Sections:

- ``money``: minor units and currency -> the text summaries use.
- ``messages``: one chat message per payload type: ``json`` is the exact compact UTF-8 text
  of the ``x.msg.new`` envelope (key order as written), ``payload`` its ``hw.shop`` object,
  ``summary`` its content text.
- ``catalog``: catalogs packed for the wire: ``json`` is the canonical JSON that is gzipped
  (sorted keys, compact), ``version`` the first 16 hex digits of sha256 of the canonical JSON
  without ``version``, ``packed`` base64url (no padding) of gzip (level 9, mtime 0) of it,
  ``parts`` the exact messages that carry it. A reader checks it can join and unzip the
  parts to ``json``; a writer's gzip may differ, so ``packed`` is not for byte comparison.
- ``image``: a small PNG, its sha256 id and the messages that carry it.
- ``refusals``: ``hw.shop`` objects a reader refuses: ``"decode"`` (ignored, unreadable) or
  the order refusal code the owner answers with.
- ``pricing``: orders against ``catalog[0]`` the owner prices (``total``) or refuses
  (``reason``), with the exact ``order.status`` / ``order.refused`` payload it answers.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from hushwire.encoding.strings import b64url_encode
from hushwire.shop import wire
from hushwire.shop.images import make_png
from hushwire.shop.model import Catalog, catalog_from_json, price_order
from hushwire.shop.wire import (
    CatalogGet,
    CatalogSame,
    Customer,
    ImagePart,
    ImagesGet,
    Order,
    OrderItem,
    OrderRefusal,
    OrderRefused,
    OrderStatus,
    ShopDecodeError,
    ShopLine,
    ShopShipping,
)

NAME = "shop.json"
VECTORS = Path(__file__).resolve().parents[1]
MSG_ID = bytes.fromhex("73686f702d766563746f7231")  # b"shop-vector1"

PNG = make_png(2, 2, [(230, 126, 34), (255, 255, 255), (255, 255, 255), (230, 126, 34)])
"""A 2x2 PNG (orange, white / white, orange)."""
PNG_ID = hashlib.sha256(PNG).hexdigest()

REF = "0123456789abcdef0123456789abcdef"
CUSTOMER = Customer(
    "Ada <b>Lovelace</b>", "1 Crumb Street", "75001", "Paris", "France", "ada@example.org"
)


def small_catalog() -> dict[str, Any]:
    """The bakery catalog the pricing vectors use."""
    catalog: dict[str, Any] = {
        "shop": {
            "name": "Crumb & Co",
            "currency": "EUR",
            "payment": "Bank transfer to FR76 0000 0000 0000, reference: your order number.",
            "terms": "Fresh bread, baked to order. No returns on food.",
        },
        "products": [
            {
                "id": "sourdough",
                "name": "Sourdough loaf",
                "description": "Naturally leavened, 800 g.",
                "price": 450,
                "stock": 12,
                "tags": ["bread"],
                "images": [PNG_ID],
                "variants": [],
            },
            {
                "id": "baguette",
                "name": "Baguette",
                "description": "Crisp crust, <i>tradition</i>.",
                "price": 120,
                "stock": None,
                "tags": ["bread", "classic"],
                "images": [],
                "variants": [
                    {"id": "plain", "name": "Plain", "price": None, "stock": None},
                    {"id": "seeded", "name": "Seeded", "price": 150, "stock": 2},
                ],
            },
            {
                "id": "croissant",
                "name": "Croissant",
                "description": "Butter, 24 layers.",
                "price": 110,
                "stock": 0,
                "tags": ["pastry"],
                "images": [],
                "variants": [],
            },
        ],
        "shipping": [
            {"id": "pickup", "name": "Pickup", "price": 0},
            {"id": "courier", "name": "Courier (Paris)", "price": 590},
        ],
    }
    return {**catalog, "version": wire.catalog_version(catalog)}


def large_catalog() -> dict[str, Any]:
    """A catalog whose packed form needs several parts (descriptions that do not compress)."""
    products = []
    for n in range(24):
        noise = "".join(hashlib.sha256(f"{n}/{k}".encode()).hexdigest() for k in range(24))
        products.append(
            {
                "id": f"p{n:03d}",
                "name": f"Product {n} é",
                "description": noise[:1500],
                "price": 100 + n,
                "stock": None,
                "tags": [],
                "images": [],
                "variants": [],
            }
        )
    catalog: dict[str, Any] = {
        "shop": {"name": "Big", "currency": "EUR", "payment": "", "terms": ""},
        "products": products,
        "shipping": [{"id": "pickup", "name": "Pickup", "price": 0}],
    }
    return {**catalog, "version": wire.catalog_version(catalog)}


def _text(msg: wire.Payload, summary: str | None = None) -> str:
    return wire.shop_message(msg, MSG_ID, summary).encode().decode("utf-8")


def _message(name: str, payload: wire.Payload, summary: str | None = None) -> dict[str, Any]:
    text = _text(payload, summary)
    return {
        "name": name,
        "json": text,
        "payload": payload.to_json(),
        "summary": json.loads(text)["params"]["content"]["text"],
    }


ORDER = Order(
    REF,
    "EUR",
    (OrderItem("sourdough", None, 2, 450), OrderItem("baguette", "seeded", 1, 150)),
    "courier",
    1640,
    CUSTOMER,
)
LINES = (
    ShopLine("sourdough", None, "Sourdough loaf", 2, 450),
    ShopLine("baguette", "seeded", "Baguette (Seeded)", 1, 150),
)
COURIER = ShopShipping("courier", "Courier (Paris)", 590)


def _order_names(product: str, variant: str | None) -> str:
    return {("sourdough", None): "Sourdough loaf", ("baguette", "seeded"): "Baguette (Seeded)"}[
        (product, variant)
    ]


def messages() -> list[dict[str, Any]]:
    received = OrderStatus(
        REF,
        "7KQ2-M4XD",
        "received",
        LINES,
        COURIER,
        1640,
        "EUR",
        None,
        "Bank transfer to FR76 0000 0000 0000, reference: your order number.",
        None,
    )
    shipped = OrderStatus(
        REF,
        "7KQ2-M4XD",
        "shipped",
        LINES,
        COURIER,
        1640,
        "EUR",
        "LA123456789FR",
        None,
        "Left at the door.",
    )
    order_summary = wire.summary(
        ORDER, names=_order_names, shipping_name="Courier (Paris)", shipping_price=590
    )
    return [
        _message("catalog.get first visit", CatalogGet(None)),
        _message("catalog.get repeat visit", CatalogGet("3f2a9c0d1e4b5a69")),
        _message("images.get", ImagesGet((PNG_ID,))),
        _message("order", ORDER, order_summary),
        _message("catalog.same", CatalogSame("3f2a9c0d1e4b5a69")),
        _message("order.status received", received),
        _message("order.status shipped", shipped),
        _message(
            "order.refused",
            OrderRefused(REF, "price_changed", "The price of Sourdough loaf is now EUR 4.80."),
        ),
    ]


def catalog_section(catalog: dict[str, Any]) -> dict[str, Any]:
    parts = wire.pack_catalog(catalog)
    return {
        "json": wire.canonical_json(catalog).decode("utf-8"),
        "version": catalog["version"],
        "packed": "".join(p.data for p in parts),
        "parts": [_text(p) for p in parts],
    }


def image_section() -> dict[str, Any]:
    data = b64url_encode(PNG, padded=False)
    pieces = wire.chunk(data)
    parts = [ImagePart(PNG_ID, "image/png", i, len(pieces), c) for i, c in enumerate(pieces)]
    return {
        "bytes_b64url": data,
        "id": PNG_ID,
        "mime": "image/png",
        "parts": [_text(p) for p in parts],
    }


def _order_obj(**change: Any) -> dict[str, Any]:
    obj = ORDER.to_json()
    obj.update(change)
    return obj


def _customer(**change: Any) -> dict[str, Any]:
    c = CUSTOMER.to_json()
    c.update(change)
    return c


def _item(**change: Any) -> list[dict[str, Any]]:
    first = ORDER.items[0].to_json()
    first.update(change)
    return [first]


def _status() -> dict[str, Any]:
    return OrderStatus(REF, "7KQ2-M4XD", "received", LINES, COURIER, 1640, "EUR").to_json()


def _line(**change: Any) -> dict[str, Any]:
    line = LINES[0].to_json()
    line.update(change)
    return line


REFUSALS: list[tuple[str, Any]] = [
    ("not an object", ["catalog.get"]),
    ("unknown type", {"t": "catalog.put"}),
    ("have not a string", {"t": "catalog.get", "have": 7}),
    ("images.get no ids", {"t": "images.get", "ids": []}),
    ("images.get 65 ids", {"t": "images.get", "ids": [PNG_ID] * 65}),
    ("images.get upper-case id", {"t": "images.get", "ids": [PNG_ID.upper()]}),
    ("order ref not 32 hex", _order_obj(ref="0123")),
    ("order no items", _order_obj(items=[])),
    ("order 101 items", _order_obj(items=_item() * 101)),
    ("order qty 0", _order_obj(items=_item(qty=0))),
    ("order qty -1", _order_obj(items=_item(qty=-1))),
    ("order qty 1000", _order_obj(items=_item(qty=1000))),
    ("order qty 2.5", _order_obj(items=_item(qty=2.5))),
    ("order qty true", _order_obj(items=_item(qty=True))),
    ("order qty string", _order_obj(items=_item(qty="2"))),
    ("order product id with space", _order_obj(items=_item(product="sour dough"))),
    ("order product id 65 chars", _order_obj(items=_item(product="p" * 65))),
    ("order variant not a string", _order_obj(items=_item(variant=3))),
    ("order price negative", _order_obj(items=_item(price=-450))),
    ("order shipping missing", _order_obj(shipping=None)),
    ("order currency lower-case", _order_obj(currency="eur")),
    ("order total negative", _order_obj(total=-1)),
    ("order name missing", _order_obj(customer=_customer(name=""))),
    ("order name 201 chars", _order_obj(customer=_customer(name="x" * 201))),
    ("order address 201 chars", _order_obj(customer=_customer(address="x" * 201))),
    ("order email 255 chars", _order_obj(customer=_customer(email="a@" + "x" * 253))),
    ("order email without @", _order_obj(customer=_customer(email="ada"))),
    ("order city with a newline", _order_obj(customer=_customer(city="Paris\nFrance"))),
    ("order customer missing", _order_obj(customer=None)),
    (
        "catalog part beyond parts",
        {"t": "catalog", "version": "v", "part": 2, "parts": 2, "data": "AAAA"},
    ),
    (
        "catalog data not base64url",
        {"t": "catalog", "version": "v", "part": 0, "parts": 1, "data": "AA+A"},
    ),
    (
        "image unknown mime",
        {"t": "image", "id": PNG_ID, "mime": "image/gif", "part": 0, "parts": 1, "data": "AAAA"},
    ),
    ("order.status unknown status", {"t": "order.status", "status": "lost"}),
    ("order.status no items", {**_status(), "items": []}),
    ("order.status line not an object", {**_status(), "items": ["x"]}),
    ("order.status line variant with a space", {**_status(), "items": [_line(variant="a b")]}),
    ("order.status line qty 0", {**_status(), "items": [_line(qty=0)]}),
    ("order.status shipping not an object", {**_status(), "shipping": "pickup"}),
    ("order.status tracking not a string", {**_status(), "tracking": 5}),
    ("order.status order number with a look-alike", {**_status(), "order": "7KQ2-M40D"}),
    ("catalog.same without version", {"t": "catalog.same"}),
    ("order item not an object", _order_obj(items=["sourdough"])),
    ("order name not a string", _order_obj(customer=_customer(name=5))),
    (
        "order.refused unknown reason",
        {"t": "order.refused", "ref": REF, "reason": "nope", "message": "x"},
    ),
]


def refusals() -> list[dict[str, Any]]:
    out = []
    for name, obj in REFUSALS:
        try:
            wire.decode_payload(obj)
        except OrderRefusal as e:
            out.append({"name": name, "payload": obj, "error": e.code, "message": e.message})
        except ShopDecodeError:
            out.append({"name": name, "payload": obj, "error": "decode"})
        else:
            raise AssertionError(f"{name}: accepted")
    return out


def money() -> list[dict[str, Any]]:
    cases = [(900, "EUR"), (5, "EUR"), (123456, "USD"), (900, "JPY"), (1234, "KWD"), (0, "GBP")]
    return [{"amount": a, "currency": c, "text": wire.format_money(a, c)} for a, c in cases]


PRICING: list[tuple[str, list[tuple[str, str | None, int, int]], dict[str, Any]]] = [
    ("accepted", [("sourdough", None, 2, 450), ("baguette", "seeded", 1, 150)],
     {"shipping": "courier", "total": 1640}),
    ("plain variant at the product's price", [("baguette", "plain", 3, 120)], {"total": 360}),
    ("price changed", [("sourdough", None, 1, 400)], {"total": 400}),
    ("unknown product", [("pretzel", None, 1, 100)], {"total": 100}),
    ("variant missing", [("baguette", None, 1, 120)], {"total": 120}),
    ("unknown variant", [("baguette", "spelt", 1, 120)], {"total": 120}),
    ("variant on a product without variants", [("sourdough", "big", 1, 450)], {"total": 450}),
    ("sold out", [("croissant", None, 1, 110)], {"total": 110}),
    ("more than the stock, over two lines",
     [("baguette", "seeded", 2, 150), ("baguette", "seeded", 1, 150)], {"total": 450}),
    ("unknown shipping", [("sourdough", None, 1, 450)], {"shipping": "drone", "total": 450}),
    ("currency mismatch", [("sourdough", None, 1, 450)], {"currency": "USD", "total": 450}),
    ("total mismatch", [("sourdough", None, 1, 450)], {"total": 1}),
]  # fmt: skip


def pricing() -> list[dict[str, Any]]:
    """Orders against ``catalog[0]`` (stock as in the catalog) and the owner's answer; an
    accepted order's ``order.status`` is given without its (random) order number."""
    catalog = catalog_from_json(small_catalog())
    assert catalog.to_json() == small_catalog()
    out = []
    for name, items, change in PRICING:
        order = Order(
            REF,
            change.get("currency", "EUR"),
            tuple(OrderItem(*i) for i in items),
            change.get("shipping", "pickup"),
            change["total"],
            CUSTOMER,
        )
        case: dict[str, Any] = {"name": name, "order": order.to_json()}
        try:
            priced = price_order(order, catalog, lambda p, v: _base_stock(catalog, p, v))
        except OrderRefusal as r:
            case["answer"] = OrderRefused(r.ref, r.code, r.message).to_json()
        else:
            case["answer"] = {
                "t": "order.status",
                "ref": REF,
                "status": "received",
                "items": [line.to_json() for line in priced.lines],
                "shipping": priced.shipping.to_json(),
                "total": priced.total,
                "currency": priced.currency,
            }
        out.append(case)
    return out


def _base_stock(catalog: Catalog, product: str, variant: str | None) -> int | None:
    p = catalog.product(product)
    assert p is not None
    if variant is None:
        return p.stock
    v = p.variant(variant)
    return None if v is None else v.stock


def build() -> dict[str, Any]:
    return {
        "source": "regression values written by hushwire.shop.wire "
        "(tests/vectors/generators/shop.py); docs/protocol/shop.md describes the format",
        "limits": {
            "chunk_chars": wire.CHUNK_CHARS,
            "max_items": wire.MAX_ITEMS,
            "max_qty": wire.MAX_QTY,
            "max_price": wire.MAX_PRICE,
            "max_image_ids": wire.MAX_IMAGE_IDS,
            "max_summary": wire.MAX_SUMMARY,
            "order_alphabet": wire.ORDER_ALPHABET,
        },
        "money": money(),
        "messages": messages(),
        "catalog": [catalog_section(small_catalog()), catalog_section(large_catalog())],
        "image": image_section(),
        "refusals": refusals(),
        "pricing": pricing(),
    }


def render() -> dict[str, str]:
    """{file name: its exact text}, as the regeneration test compares it."""
    return {NAME: json.dumps(build(), indent=1, ensure_ascii=False) + "\n"}


if __name__ == "__main__":
    (VECTORS / NAME).write_text(render()[NAME])
    print(f"wrote {VECTORS / NAME}", file=sys.stderr)
