"""The shop's wire format (docs/protocol/shop.md): pure codecs, bounds and plain-text
summaries, no I/O. Vectors: tests/vectors/shop.json (shared with the widget's TypeScript).

Every shop message is an ordinary chat ``x.msg.new`` (:mod:`hushwire.chat.messages`) whose
params carry, next to a text ``content`` (a plain-text summary that a SimpleX app shows),
our own key ``"hw.shop"`` with one payload object; ``"t"`` names its type::

    {"v":"1-16","msgId":"…","event":"x.msg.new","params":{
       "content":{"type":"text","text":"Catalog request"},
       "hw.shop":{"t":"catalog.get","have":null}}}

Customer to owner: :class:`CatalogGet`, :class:`ImagesGet`, :class:`Order`. Owner to
customer: :class:`CatalogSame`, :class:`CatalogPart`, :class:`ImagePart`,
:class:`OrderStatus`, :class:`OrderRefused`. Money is integer minor units of the catalog's
ISO 4217 currency. The catalog travels as ``base64url(gzip(catalog JSON))`` (no padding)
cut into chunks of at most :data:`CHUNK_CHARS` characters, one per message; images the same
without gzip.

Decoding is strict: a value of the wrong type or out of its bound is refused. For an
:class:`Order` whose ``ref`` is readable, a refusal is an :class:`OrderRefusal` with the code
and a message for the customer (the owner answers it as ``order.refused``); anything else
unreadable is a :class:`ShopDecodeError` (the owner ignores the message).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Final, TypeGuard, cast

from hushwire.chat.messages import ChatMessage
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError, HushwireError

__all__ = [
    "CHUNK_CHARS",
    "CUSTOMER_FIELDS",
    "REFUSAL_CODES",
    "SHOP_KEY",
    "STATUSES",
    "CatalogGet",
    "CatalogPart",
    "CatalogSame",
    "Customer",
    "ImagePart",
    "ImagesGet",
    "Order",
    "OrderItem",
    "OrderRefusal",
    "OrderRefused",
    "OrderStatus",
    "Payload",
    "ShopDecodeError",
    "ShopError",
    "ShopLine",
    "ShopShipping",
    "canonical_json",
    "catalog_version",
    "chunk",
    "decode_payload",
    "format_money",
    "join_parts",
    "pack_catalog",
    "parse_money",
    "shop_message",
    "shop_payload",
    "summary",
    "unpack_catalog",
]

SHOP_KEY: Final = "hw.shop"
"""The key in ``x.msg.new`` params that carries the payload."""
CHUNK_CHARS: Final = 12000
"""Most base64url characters of data in one catalog or image part (multiple of 4)."""
MAX_CATALOG_PARTS: Final = 256
MAX_IMAGE_PARTS: Final = 64
MAX_CATALOG_JSON: Final = 4 * 1024 * 1024
"""Most bytes a catalog JSON may unzip to (a bound against gzip bombs)."""
MAX_IMAGE_IDS: Final = 64
"""Image ids in one ``images.get``."""
MAX_ITEMS: Final = 100
MAX_QTY: Final = 999
MAX_PRICE: Final = 100_000_000
"""Largest price of one unit, in minor units."""
MAX_ID: Final = 64
MAX_NAME: Final = 200
MAX_DESCRIPTION: Final = 2000
MAX_LINE: Final = 200
"""Address lines: name, address, postcode, city, country; also tracking numbers."""
MAX_EMAIL: Final = 254
MAX_NOTE: Final = 1000
MAX_TEXT: Final = 4000
"""Payment instructions and terms."""
MAX_SUMMARY: Final = 2000
"""A summary longer than this (code points) is cut to MAX_SUMMARY - 1 and ends with '…'."""
MAX_VERSION: Final = 64

STATUSES: Final = ("received", "confirmed", "paid", "shipped", "delivered", "cancelled")
REFUSAL_CODES: Final = (
    "unknown_product",
    "unknown_variant",
    "bad_quantity",
    "price_changed",
    "out_of_stock",
    "unknown_shipping",
    "bad_field",
    "too_many_items",
    "currency_mismatch",
    "total_mismatch",
)
MIMES: Final = ("image/webp", "image/jpeg", "image/png")
CUSTOMER_FIELDS: Final = (
    ("name", "Full name", True, MAX_LINE),
    ("address", "Address", True, MAX_LINE),
    ("postcode", "Postcode", True, MAX_LINE),
    ("city", "City", True, MAX_LINE),
    ("country", "Country", True, MAX_LINE),
    ("email", "Email", False, MAX_EMAIL),
)
"""(key, label the customer sees, required, most characters)."""

_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_REF = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_B64URL_DATA = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_EXPONENTS: Final = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
"""ISO 4217 minor-unit exponents other than 2."""


class ShopError(HushwireError):
    """A shop value that cannot be used; the message says why."""


class ShopDecodeError(ShopError, DecodeError):
    """A shop payload that cannot be read (wrong type, bad syntax, out of bounds)."""


class OrderRefusal(ShopError):
    """An order that is refused: ``code`` (one of :data:`REFUSAL_CODES`) and a message
    for the customer; ``ref`` is the order's reference."""

    def __init__(self, ref: str, code: str, message: str) -> None:
        super().__init__(message)
        self.ref = ref
        self.code = code
        self.message = message


# ----------------------------------------------------------------------------- money


def exponent(currency: str) -> int:
    """Digits after the decimal point of ``currency`` (ISO 4217; 2 for most)."""
    return _EXPONENTS.get(currency, 2)


def format_money(amount: int, currency: str) -> str:
    """``EUR 9.00`` from 900 minor units; ``JPY 900`` for a zero-decimal currency."""
    exp = exponent(currency)
    if exp == 0:
        return f"{currency} {amount}"
    major, minor = divmod(amount, 10**exp)
    return f"{currency} {major}.{minor:0{exp}d}"


_MONEY = re.compile(r"(0|[1-9][0-9]{0,8})(?:\.([0-9]+))?")


def parse_money(text: str, currency: str) -> int:
    """Minor units from a decimal string in major units (``"4.50"`` -> 450); more decimals
    than the currency has, a sign or anything else raises :class:`ShopError`."""
    m = _MONEY.fullmatch(text.strip())
    if m is None:
        raise ShopError(f"{text!r} is not a price: write it like 4.50")
    exp = exponent(currency)
    decimals = m.group(2) or ""
    if len(decimals) > exp:
        raise ShopError(f"{text!r} has more than {exp} decimals for {currency}")
    scale: int = 10**exp
    amount = int(m.group(1)) * scale + int(decimals.ljust(exp, "0") or "0")
    if amount > MAX_PRICE:
        raise ShopError(f"{text!r} is more than {format_money(MAX_PRICE, currency)}")
    return amount


# ----------------------------------------------------------------------------- payloads


def _json_value(value: object) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, _Record):
        return value.to_json()
    return value


class _Record:
    """A payload or part of one: :meth:`to_json` writes ``"t"`` (when the class has a
    ``T``) and then every field in declaration order, which is the order on the wire."""

    __slots__ = ()
    T: ClassVar[str | None] = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.T is None else {"t": self.T}
        for f in fields(cast(Any, self)):
            out[f.name] = _json_value(getattr(self, f.name))
        return out


@dataclass(frozen=True, slots=True)
class CatalogGet(_Record):
    """Customer: send me the catalog, unless mine (``have``) is current."""

    T: ClassVar[str | None] = "catalog.get"
    have: str | None = None


@dataclass(frozen=True, slots=True)
class ImagesGet(_Record):
    """Customer: send me these images (sha256 hex of their bytes)."""

    T: ClassVar[str | None] = "images.get"
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrderItem(_Record):
    product: str
    variant: str | None
    qty: int
    price: int
    """The unit price the customer saw, minor units."""


@dataclass(frozen=True, slots=True)
class Customer(_Record):
    name: str
    address: str
    postcode: str
    city: str
    country: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Order(_Record):
    """Customer: place this order. ``ref`` (32 hex, made by the customer before the first
    send) makes it idempotent; prices and total are what the customer saw."""

    T: ClassVar[str | None] = "order"
    ref: str
    currency: str
    items: tuple[OrderItem, ...]
    shipping: str
    total: int
    customer: Customer


@dataclass(frozen=True, slots=True)
class CatalogSame(_Record):
    """Owner: your catalog is current."""

    T: ClassVar[str | None] = "catalog.same"
    version: str


@dataclass(frozen=True, slots=True)
class CatalogPart(_Record):
    """Owner: part ``part`` (0-based) of ``parts`` of the packed catalog ``version``."""

    T: ClassVar[str | None] = "catalog"
    version: str
    part: int
    parts: int
    data: str


@dataclass(frozen=True, slots=True)
class ImagePart(_Record):
    """Owner: part ``part`` of ``parts`` of the image whose bytes hash to ``id``."""

    T: ClassVar[str | None] = "image"
    id: str
    mime: str
    part: int
    parts: int
    data: str


@dataclass(frozen=True, slots=True)
class ShopLine(_Record):
    """One line of an order as the owner priced it."""

    product: str
    variant: str | None
    name: str
    qty: int
    price: int


@dataclass(frozen=True, slots=True)
class ShopShipping(_Record):
    id: str
    name: str
    price: int


@dataclass(frozen=True, slots=True)
class OrderStatus(_Record):
    """Owner: the order ``ref`` is order number ``order`` and now has ``status``; lines,
    shipping and total as the owner computed them."""

    T: ClassVar[str | None] = "order.status"
    ref: str
    order: str
    status: str
    items: tuple[ShopLine, ...]
    shipping: ShopShipping
    total: int
    currency: str
    tracking: str | None = None
    payment: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRefused(_Record):
    """Owner: the order ``ref`` is refused (``reason`` in :data:`REFUSAL_CODES`)."""

    T: ClassVar[str | None] = "order.refused"
    ref: str
    reason: str
    message: str


Payload = (
    CatalogGet
    | ImagesGet
    | Order
    | CatalogSame
    | CatalogPart
    | ImagePart
    | OrderStatus
    | OrderRefused
)


# ----------------------------------------------------------------------------- decoding


def _bad(what: str) -> ShopDecodeError:
    return ShopDecodeError(f"shop payload: {what}")


def _str(
    obj: Mapping[str, Any], key: str, most: int, *, pattern: re.Pattern[str] | None = None
) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= most:
        raise _bad(f"{key} must be a string of 1 to {most} characters")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise _bad(f"{key} has a bad form")
    return value


def _opt_text(obj: Mapping[str, Any], key: str, most: int) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > most:
        raise _bad(f"{key} must be null or a string of at most {most} characters")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    """A JSON integer (``true`` and ``2.0`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _int(obj: Mapping[str, Any], key: str, lo: int, hi: int) -> int:
    value = obj.get(key)
    if not _is_int(value) or not lo <= value <= hi:
        raise _bad(f"{key} must be an integer from {lo} to {hi}")
    return int(value)


def _parts(obj: Mapping[str, Any], most: int) -> tuple[int, int, str]:
    parts = _int(obj, "parts", 1, most)
    part = _int(obj, "part", 0, parts - 1)
    data = _str(obj, "data", CHUNK_CHARS, pattern=_B64URL_DATA)
    return part, parts, data


def _refuse(ref: str, code: str, message: str) -> OrderRefusal:
    return OrderRefusal(ref, code, message)


def _order_item(ref: str, n: int, raw: object) -> OrderItem:
    if not isinstance(raw, dict):
        raise _refuse(ref, "bad_field", f"Item {n} of the order cannot be read.")
    product = raw.get("product")
    if not isinstance(product, str) or _ID.fullmatch(product) is None:
        raise _refuse(ref, "unknown_product", f"Item {n} is not a product of this shop.")
    variant = raw.get("variant")
    if variant is not None and (not isinstance(variant, str) or _ID.fullmatch(variant) is None):
        raise _refuse(ref, "unknown_variant", f"Item {n} names a variant this shop does not have.")
    qty = raw.get("qty")
    if not _is_int(qty) or not 1 <= qty <= MAX_QTY:
        raise _refuse(ref, "bad_quantity", f"The quantity of item {n} must be 1 to {MAX_QTY}.")
    price = raw.get("price")
    if not _is_int(price) or not 0 <= price <= MAX_PRICE:
        raise _refuse(ref, "bad_field", f"The price of item {n} cannot be read.")
    return OrderItem(product, variant, qty, price)


def _customer(ref: str, raw: object) -> Customer:
    if not isinstance(raw, dict):
        raise _refuse(ref, "bad_field", "The delivery details are missing.")
    values: dict[str, str | None] = {}
    for key, label, required, most in CUSTOMER_FIELDS:
        value = raw.get(key)
        if value is None or value == "":
            if required:
                raise _refuse(ref, "bad_field", f"{label} is missing.")
            values[key] = None
            continue
        if not isinstance(value, str):
            raise _refuse(ref, "bad_field", f"{label} cannot be read.")
        if len(value) > most:
            raise _refuse(ref, "bad_field", f"{label} is too long: at most {most} characters.")
        if _CONTROL.search(value) is not None:
            raise _refuse(ref, "bad_field", f"{label} contains characters that are not allowed.")
        if key == "email" and "@" not in value:
            raise _refuse(ref, "bad_field", "Email is not an email address.")
        values[key] = value
    return Customer(
        str(values["name"]),
        str(values["address"]),
        str(values["postcode"]),
        str(values["city"]),
        str(values["country"]),
        values["email"],
    )


def _order(obj: Mapping[str, Any]) -> Order:
    ref = _str(obj, "ref", 32, pattern=_REF)
    currency = obj.get("currency")
    if not isinstance(currency, str) or _CURRENCY.fullmatch(currency) is None:
        raise _refuse(ref, "currency_mismatch", "The order's currency cannot be read.")
    raw_items = obj.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise _refuse(ref, "bad_quantity", "The cart is empty.")
    if len(raw_items) > MAX_ITEMS:
        raise _refuse(ref, "too_many_items", f"An order can have at most {MAX_ITEMS} items.")
    items = tuple(_order_item(ref, n, raw) for n, raw in enumerate(raw_items, 1))
    shipping = obj.get("shipping")
    if not isinstance(shipping, str) or _ID.fullmatch(shipping) is None:
        raise _refuse(ref, "unknown_shipping", "Choose one of the shop's shipping options.")
    total = obj.get("total")
    if not _is_int(total) or total < 0:
        raise _refuse(ref, "bad_field", "The order's total cannot be read.")
    return Order(ref, currency, items, shipping, total, _customer(ref, obj.get("customer")))


def _line(raw: object) -> ShopLine:
    if not isinstance(raw, dict):
        raise _bad("an order line must be an object")
    variant = raw.get("variant")
    if variant is not None and (not isinstance(variant, str) or _ID.fullmatch(variant) is None):
        raise _bad("variant has a bad form")
    return ShopLine(
        _str(raw, "product", MAX_ID, pattern=_ID),
        variant,
        _str(raw, "name", MAX_NAME),
        _int(raw, "qty", 1, MAX_QTY),
        _int(raw, "price", 0, MAX_PRICE),
    )


def _order_status(obj: Mapping[str, Any]) -> OrderStatus:
    status = obj.get("status")
    if status not in STATUSES:
        raise _bad("unknown order status")
    raw_items = obj.get("items")
    if not isinstance(raw_items, list) or not 0 < len(raw_items) <= MAX_ITEMS:
        raise _bad(f"items must be a list of 1 to {MAX_ITEMS} lines")
    ship = obj.get("shipping")
    if not isinstance(ship, dict):
        raise _bad("shipping must be an object")
    currency = _str(obj, "currency", 3, pattern=_CURRENCY)
    return OrderStatus(
        _str(obj, "ref", 32, pattern=_REF),
        _str(obj, "order", 9, pattern=_ORDER_NUMBER),
        str(status),
        tuple(_line(raw) for raw in raw_items),
        ShopShipping(
            _str(ship, "id", MAX_ID, pattern=_ID),
            _str(ship, "name", MAX_NAME),
            _int(ship, "price", 0, MAX_PRICE),
        ),
        _int(obj, "total", 0, MAX_PRICE * MAX_QTY * (MAX_ITEMS + 1)),
        currency,
        _opt_text(obj, "tracking", MAX_LINE),
        _opt_text(obj, "payment", MAX_TEXT),
        _opt_text(obj, "note", MAX_NOTE),
    )


ORDER_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""32 symbols without look-alikes (no I, O, 0, 1) for order numbers."""
_ORDER_NUMBER = re.compile(f"[{ORDER_ALPHABET}]{{4}}-[{ORDER_ALPHABET}]{{4}}")


def decode_payload(obj: object) -> Payload:
    """The typed payload of an ``hw.shop`` object. :class:`ShopDecodeError` for anything
    unreadable; :class:`OrderRefusal` for an order with a readable ``ref`` but a field the
    shop refuses. Unknown keys are ignored."""
    if not isinstance(obj, dict):
        raise _bad("must be an object")
    t = obj.get("t")
    if t == "catalog.get":
        have = obj.get("have")
        if have is not None and (not isinstance(have, str) or not 0 < len(have) <= MAX_VERSION):
            raise _bad("have must be null or a version string")
        return CatalogGet(have)
    if t == "images.get":
        ids = obj.get("ids")
        if not isinstance(ids, list) or not 0 < len(ids) <= MAX_IMAGE_IDS:
            raise _bad(f"ids must be a list of 1 to {MAX_IMAGE_IDS} image ids")
        if not all(isinstance(i, str) and _SHA256.fullmatch(i) for i in ids):
            raise _bad("an image id must be 64 lowercase hex digits")
        return ImagesGet(tuple(ids))
    if t == "order":
        return _order(obj)
    if t == "catalog.same":
        return CatalogSame(_str(obj, "version", MAX_VERSION))
    if t == "catalog":
        version = _str(obj, "version", MAX_VERSION)
        return CatalogPart(version, *_parts(obj, MAX_CATALOG_PARTS))
    if t == "image":
        image_id = _str(obj, "id", 64, pattern=_SHA256)
        mime = obj.get("mime")
        if mime not in MIMES:
            raise _bad("mime must be image/webp, image/jpeg or image/png")
        return ImagePart(image_id, str(mime), *_parts(obj, MAX_IMAGE_PARTS))
    if t == "order.status":
        return _order_status(obj)
    if t == "order.refused":
        reason = obj.get("reason")
        if reason not in REFUSAL_CODES:
            raise _bad("unknown refusal reason")
        return OrderRefused(
            _str(obj, "ref", 32, pattern=_REF), str(reason), _str(obj, "message", MAX_NOTE)
        )
    raise _bad("unknown type")


def shop_payload(msg: ChatMessage) -> object | None:
    """The raw ``hw.shop`` object of an ``x.msg.new``, None if it carries none."""
    if msg.event != "x.msg.new":
        return None
    return msg.params.get(SHOP_KEY)


# ----------------------------------------------------------------------------- summaries


Names = Callable[[str, str | None], str]
"""(product id, variant id) -> the name shown in an order's summary."""


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def _lines_text(
    lines: list[tuple[int, str, int]], ship: str, ship_price: int, total: int, cur: str
) -> str:
    parts = [f"{qty} x {name} ({format_money(qty * price, cur)})" for qty, name, price in lines]
    return (
        ", ".join(parts)
        + f", shipping {ship} ({format_money(ship_price, cur)}), total {format_money(total, cur)}."
    )


def _default_name(product: str, variant: str | None) -> str:
    return product if variant is None else f"{product} ({variant})"


def summary(
    payload: Payload,
    *,
    names: Names = _default_name,
    shipping_name: str | None = None,
    shipping_price: int = 0,
) -> str:
    """The plain text a SimpleX app shows for ``payload``. An order's summary names its
    items with ``names`` and its shipping option with ``shipping_name`` (its id if None)."""
    if isinstance(payload, CatalogGet):
        return "Catalog request"
    if isinstance(payload, ImagesGet):
        return "Image request"
    if isinstance(payload, CatalogSame):
        return "Catalog is up to date"
    if isinstance(payload, CatalogPart):
        return f"Catalog (part {payload.part + 1} of {payload.parts})"
    if isinstance(payload, ImagePart):
        return f"Image (part {payload.part + 1} of {payload.parts})"
    if isinstance(payload, Order):
        c = payload.customer
        lines = [(i.qty, names(i.product, i.variant), i.price) for i in payload.items]
        text = "Order: " + _lines_text(
            lines,
            shipping_name or payload.shipping,
            shipping_price,
            payload.total,
            payload.currency,
        )
        text += f" Ship to: {c.name}, {c.address}, {c.postcode} {c.city}, {c.country}"
        if c.email:
            text += f". Email: {c.email}"
        return _cut(text)
    if isinstance(payload, OrderStatus):
        if payload.status == "received":
            lines = [(i.qty, i.name, i.price) for i in payload.items]
            text = f"Order {payload.order} received: " + _lines_text(
                lines,
                payload.shipping.name,
                payload.shipping.price,
                payload.total,
                payload.currency,
            )
            if payload.payment:
                text += f" Payment: {payload.payment}"
        else:
            text = f"Order {payload.order} is now {payload.status}"
            if payload.tracking:
                text += f" (tracking {payload.tracking})"
        if payload.note:
            text += f". Note: {payload.note}"
        return _cut(text)
    return _cut(payload.message)


def shop_message(payload: Payload, msg_id: bytes | None, text: str | None = None) -> ChatMessage:
    """The ``x.msg.new`` carrying ``payload`` with ``text`` (default: :func:`summary`)."""
    content = {"type": "text", "text": summary(payload) if text is None else _cut(text)}
    return ChatMessage("x.msg.new", {"content": content, SHOP_KEY: payload.to_json()}, msg_id)


# ----------------------------------------------------------------------------- catalog


def canonical_json(value: Any) -> bytes:
    """Sorted keys, compact separators, UTF-8 (non-ASCII unescaped): what JSON.stringify
    writes after sorting keys."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def catalog_version(catalog: Mapping[str, Any]) -> str:
    """First 16 hex digits of sha256 of the canonical JSON of everything but ``version``."""
    rest = {k: v for k, v in catalog.items() if k != "version"}
    return hashlib.sha256(canonical_json(rest)).hexdigest()[:16]


def chunk(data: str) -> list[str]:
    """``data`` cut into pieces of at most :data:`CHUNK_CHARS` characters (at least one)."""
    return [data[i : i + CHUNK_CHARS] for i in range(0, max(len(data), 1), CHUNK_CHARS)]


def pack_catalog(catalog: Mapping[str, Any]) -> list[CatalogPart]:
    """The parts of a catalog (its ``version`` set): canonical JSON, gzip (level 9,
    mtime 0), base64url without padding, cut into chunks."""
    data = canonical_json(catalog)
    if len(data) > MAX_CATALOG_JSON:
        raise ShopError(f"the catalog is {len(data)} bytes of JSON, more than {MAX_CATALOG_JSON}")
    packed = b64url_encode(gzip.compress(data, 9, mtime=0), padded=False)
    pieces = chunk(packed)
    if len(pieces) > MAX_CATALOG_PARTS:
        raise ShopError("the catalog is too large to send: use fewer or shorter products")
    version = str(catalog["version"])
    return [CatalogPart(version, i, len(pieces), p) for i, p in enumerate(pieces)]


def join_parts(parts: list[CatalogPart] | list[ImagePart]) -> bytes:
    """The bytes of a complete set of parts (any order); :class:`ShopDecodeError` if one
    is missing, repeated or from another set."""
    if not parts:
        raise _bad("no parts")
    first = parts[0]
    key = first.version if isinstance(first, CatalogPart) else first.id
    by_index: dict[int, str] = {}
    for p in parts:
        if (p.version if isinstance(p, CatalogPart) else p.id) != key or p.parts != first.parts:
            raise _bad("parts of different sets")
        if p.part in by_index:
            raise _bad("a part is repeated")
        by_index[p.part] = p.data
    if len(by_index) != first.parts:
        raise _bad("a part is missing")
    return b64url_decode("".join(by_index[i] for i in range(first.parts)))


def unpack_catalog(parts: list[CatalogPart]) -> dict[str, Any]:
    """The catalog JSON object from its parts; checks the size bound and the version."""
    packed = join_parts(parts)
    d = zlib.decompressobj(wbits=31)
    try:
        data = d.decompress(packed, MAX_CATALOG_JSON + 1)
    except zlib.error as e:
        raise _bad("the catalog is not gzip") from e
    if len(data) > MAX_CATALOG_JSON or not d.eof:
        raise _bad("the catalog is too large or cut short")
    try:
        catalog = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _bad("the catalog is not JSON") from e
    if not isinstance(catalog, dict) or catalog.get("version") != parts[0].version:
        raise _bad("the catalog's version does not match its parts")
    if catalog_version(catalog) != catalog["version"]:
        raise _bad("the catalog's version is not the hash of its content")
    return catalog
