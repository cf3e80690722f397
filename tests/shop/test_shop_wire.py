"""The shop's wire codec (hushwire.shop.wire) against tests/vectors/shop.json, the file the
widget's TypeScript reads too."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from typing import Any

import pytest

from conftest import load_vectors
from hushwire.chat.messages import XMsgNew, interpret, parse_chat_body
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.shop import wire
from hushwire.shop.images import make_png, sniff_mime
from hushwire.shop.wire import (
    CatalogPart,
    ImagePart,
    OrderRefusal,
    ShopDecodeError,
    ShopError,
)

V = load_vectors("shop.json")


def _payload_of(text: str) -> tuple[dict[str, Any], str]:
    (msg,) = parse_chat_body(text.encode("utf-8"))
    ev = interpret(msg)
    assert isinstance(ev, XMsgNew)
    raw = wire.shop_payload(msg)
    assert isinstance(raw, dict)
    return raw, str(ev.text)


@pytest.mark.parametrize("case", V["messages"], ids=lambda c: c["name"])
def test_message_decodes_and_encodes_back_byte_for_byte(case: dict[str, Any]) -> None:
    raw, text = _payload_of(case["json"])
    assert raw == case["payload"]
    assert text == case["summary"]
    payload = wire.decode_payload(raw)
    assert payload.to_json() == case["payload"]
    msg = wire.shop_message(payload, b"shop-vector1", case["summary"])
    assert msg.encode() == case["json"].encode("utf-8")
    if case["name"] != "order":  # an order's summary names products from the catalog
        assert wire.summary(payload) == case["summary"]


@pytest.mark.parametrize("n", [0, 1])
def test_catalog_parts_join_to_the_canonical_json(n: int) -> None:
    case = V["catalog"][n]
    parts = []
    for text in case["parts"]:
        raw, summary = _payload_of(text)
        part = wire.decode_payload(raw)
        assert isinstance(part, CatalogPart)
        assert summary == f"Catalog (part {part.part + 1} of {part.parts})"
        assert len(part.data) <= wire.CHUNK_CHARS
        parts.append(part)
    assert len(parts) == (1 if n == 0 else 3)
    catalog = wire.unpack_catalog(list(reversed(parts)))
    assert wire.canonical_json(catalog).decode("utf-8") == case["json"]
    assert catalog["version"] == case["version"] == wire.catalog_version(catalog)
    assert gzip.decompress(b64url_decode(case["packed"])) == case["json"].encode("utf-8")
    assert [p.data for p in wire.pack_catalog(catalog)] == [p.data for p in parts]


def test_catalog_parts_that_do_not_make_a_whole_are_refused() -> None:
    case = V["catalog"][1]
    parts = [wire.decode_payload(_payload_of(t)[0]) for t in case["parts"]]
    assert all(isinstance(p, CatalogPart) for p in parts)
    three: list[CatalogPart] = [p for p in parts if isinstance(p, CatalogPart)]
    with pytest.raises(ShopDecodeError, match="missing"):
        wire.unpack_catalog(three[:2])
    with pytest.raises(ShopDecodeError, match="repeated"):
        wire.unpack_catalog([three[0], three[0], three[2]])
    other = CatalogPart("another", 1, 3, three[1].data)
    with pytest.raises(ShopDecodeError, match="different sets"):
        wire.unpack_catalog([three[0], other, three[2]])
    tampered = json.loads(case["json"])
    tampered["products"][0]["price"] = 1
    with pytest.raises(ShopDecodeError, match="not the hash"):
        wire.unpack_catalog(wire.pack_catalog(tampered))


def test_a_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b" " * (wire.MAX_CATALOG_JSON + 10), 9, mtime=0)
    data = b64url_encode(bomb, padded=False)
    pieces = wire.chunk(data)
    parts = [CatalogPart("v", i, len(pieces), p) for i, p in enumerate(pieces)]
    with pytest.raises(ShopDecodeError, match="too large"):
        wire.unpack_catalog(parts)


def test_image_parts_hash_to_the_id() -> None:
    case = V["image"]
    parts = []
    for text in case["parts"]:
        part = wire.decode_payload(_payload_of(text)[0])
        assert isinstance(part, ImagePart)
        parts.append(part)
    data = wire.join_parts(parts)
    assert hashlib.sha256(data).hexdigest() == case["id"]
    assert b64url_encode(data, padded=False) == case["bytes_b64url"]
    assert sniff_mime(data) == case["mime"] == "image/png"


@pytest.mark.parametrize("case", V["refusals"], ids=lambda c: c["name"])
def test_refusal(case: dict[str, Any]) -> None:
    if case["error"] == "decode":
        with pytest.raises(ShopDecodeError):
            wire.decode_payload(case["payload"])
        return
    with pytest.raises(OrderRefusal) as info:
        wire.decode_payload(case["payload"])
    assert info.value.code == case["error"]
    assert info.value.message == case["message"]
    assert info.value.ref == case["payload"]["ref"]


def test_every_refusal_code_a_decoder_gives_is_a_known_code() -> None:
    codes = {c["error"] for c in V["refusals"]} - {"decode"}
    assert codes <= set(wire.REFUSAL_CODES)


@pytest.mark.parametrize("case", V["money"], ids=lambda c: c["text"])
def test_money(case: dict[str, Any]) -> None:
    assert wire.format_money(case["amount"], case["currency"]) == case["text"]


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        ("4.50", "EUR", 450),
        ("4.5", "EUR", 450),
        ("4", "EUR", 400),
        ("0", "EUR", 0),
        ("900", "JPY", 900),
        ("1.234", "KWD", 1234),
        (" 12.00 ", "USD", 1200),
    ],
)
def test_parse_money(text: str, currency: str, amount: int) -> None:
    assert wire.parse_money(text, currency) == amount


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("4.505", "EUR"),
        ("-1", "EUR"),
        ("1e3", "EUR"),
        ("4.5", "JPY"),
        ("", "EUR"),
        ("01", "EUR"),
        ("1000001", "EUR"),
    ],
)
def test_parse_money_refuses(text: str, currency: str) -> None:
    with pytest.raises(ShopError):
        wire.parse_money(text, currency)


def test_a_long_summary_is_cut() -> None:
    msg = wire.OrderRefused("0" * 32, "bad_field", "x" * 5000)
    text = wire.summary(msg)
    assert len(text) == wire.MAX_SUMMARY and text.endswith("…")


def test_only_x_msg_new_carries_a_payload() -> None:
    msg = wire.shop_message(wire.CatalogGet(None), None)
    assert wire.shop_payload(msg) == {"t": "catalog.get", "have": None}
    other = type(msg)("x.msg.update", dict(msg.params))
    assert wire.shop_payload(other) is None


def test_make_png_is_a_png_of_its_size() -> None:
    png = make_png(3, 1, [(1, 2, 3)] * 3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == bytes.fromhex("0000000300000001")
    with pytest.raises(ValueError):
        make_png(2, 2, [(0, 0, 0)])
    assert sniff_mime(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff_mime(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_mime(b"GIF89a") is None


@pytest.mark.parametrize("case", V["pricing"], ids=lambda c: c["name"])
def test_pricing(case: dict[str, Any]) -> None:
    from hushwire.shop.model import catalog_from_json, price_order

    catalog = catalog_from_json(json.loads(V["catalog"][0]["json"]))
    order = wire.decode_payload(case["order"])
    assert isinstance(order, wire.Order)

    def stock(p: str, v: str | None) -> int | None:
        product = catalog.product(p)
        assert product is not None
        variant = None if v is None else product.variant(v)
        return product.stock if variant is None else variant.stock

    answer = case["answer"]
    if answer["t"] == "order.refused":
        with pytest.raises(OrderRefusal) as info:
            price_order(order, catalog, stock)
        got = wire.OrderRefused(info.value.ref, info.value.code, info.value.message)
        assert got.to_json() == answer
    else:
        priced = price_order(order, catalog, stock)
        assert [line.to_json() for line in priced.lines] == answer["items"]
        assert priced.shipping.to_json() == answer["shipping"]
        assert priced.total == answer["total"]


def test_summaries_of_parts_and_of_an_order_without_names() -> None:
    part = CatalogPart("v", 1, 3, "AAAA")
    assert wire.summary(part) == "Catalog (part 2 of 3)"
    assert wire.summary(ImagePart("0" * 64, "image/png", 0, 1, "AAAA")) == "Image (part 1 of 1)"
    order = wire.Order(
        "0" * 32,
        "EUR",
        (wire.OrderItem("loaf", None, 1, 100), wire.OrderItem("bun", "big", 2, 50)),
        "pickup",
        200,
        wire.Customer("A", "B", "C", "D", "E"),
    )
    assert wire.summary(order) == (
        "Order: 1 x loaf (EUR 1.00), 2 x bun (big) (EUR 1.00), shipping pickup (EUR 0.00), "
        "total EUR 2.00. Ship to: A, B, C D, E"
    )
    lines = (wire.ShopLine("loaf", None, "Loaf", 1, 100),)
    status = wire.OrderStatus(
        "0" * 32, "AAAA-BBBB", "received", lines, wire.ShopShipping("p", "P", 0), 100, "EUR"
    )
    assert wire.summary(status) == (
        "Order AAAA-BBBB received: 1 x Loaf (EUR 1.00), shipping P (EUR 0.00), total EUR 1.00."
    )


def test_catalogs_that_cannot_be_read() -> None:
    def parts(data: bytes) -> list[CatalogPart]:
        return [CatalogPart("v", 0, 1, b64url_encode(data, padded=False))]

    with pytest.raises(ShopDecodeError, match="not gzip"):
        wire.unpack_catalog(parts(b"not gzip at all"))
    with pytest.raises(ShopDecodeError, match="not JSON"):
        wire.unpack_catalog(parts(gzip.compress(b"{nope")))
    with pytest.raises(ShopDecodeError, match="does not match its parts"):
        wire.unpack_catalog(parts(gzip.compress(b'{"version":"w"}')))
    with pytest.raises(ShopDecodeError, match="no parts"):
        wire.join_parts([])
    with pytest.raises(ShopError, match="more than"):
        wire.pack_catalog({"version": "v", "x": "y" * wire.MAX_CATALOG_JSON})
    huge = {"version": "v", "x": b64url_encode(os.urandom(wire.MAX_CATALOG_JSON * 7 // 10))}
    with pytest.raises(ShopError, match="too large to send"):
        wire.pack_catalog(huge)


def test_an_order_without_email_reads_as_none() -> None:
    raw = json.loads(V["messages"][3]["json"])["params"]["hw.shop"]
    raw["customer"]["email"] = None
    order = wire.decode_payload(raw)
    assert isinstance(order, wire.Order) and order.customer.email is None
