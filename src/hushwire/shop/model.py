"""The owner's catalog as typed records, its JSON form (what customers receive, see
docs/protocol/shop.md) and the owner's pricing of an order. Pure: no files, no clock.

:func:`price_order` is where "trust nothing from the customer's side" happens: every line
is looked up in the owner's own :class:`Catalog`, unit prices and the total are recomputed,
stock is checked, and anything that does not match is an
:class:`~hushwire.shop.wire.OrderRefusal` with a message the customer understands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from hushwire.shop.wire import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_TEXT,
    Order,
    OrderRefusal,
    ShopError,
    ShopLine,
    ShopShipping,
    catalog_version,
    format_money,
)

__all__ = [
    "Catalog",
    "Priced",
    "Product",
    "Shipping",
    "ShopInfo",
    "Variant",
    "catalog_from_json",
    "price_order",
]

_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_PRODUCTS: Final = 5000
MAX_VARIANTS: Final = 50
MAX_TAGS: Final = 20
MAX_IMAGES: Final = 8
MAX_SHIPPING: Final = 20


def check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise ShopError(f"{what}: an id is 1 to 64 letters, digits, '.', '_' or '-' ({value!r})")
    return value


def check_text(value: object, what: str, most: int, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ShopError(f"{what} must be text")
    if len(value) > most:
        raise ShopError(f"{what} is longer than {most} characters")
    return value


@dataclass(frozen=True, slots=True)
class Variant:
    id: str
    name: str
    price: int | None = None
    """None: the product's price."""
    stock: int | None = None
    """None: not counted."""


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    description: str
    price: int
    stock: int | None = None
    tags: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    """sha256 hex of each image's bytes."""
    variants: tuple[Variant, ...] = ()

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)


@dataclass(frozen=True, slots=True)
class Shipping:
    id: str
    name: str
    price: int


@dataclass(frozen=True, slots=True)
class ShopInfo:
    name: str
    currency: str
    payment: str = ""
    terms: str = ""


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the owner sells. ``images`` maps an image id to (mime, bytes)."""

    shop: ShopInfo
    products: tuple[Product, ...]
    shipping: tuple[Shipping, ...]
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict, compare=False)
    _by_id: dict[str, Product] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {p.id: p for p in self.products})
        if not self.products:
            raise ShopError("the catalog has no products")
        if len(self.products) > MAX_PRODUCTS:
            raise ShopError(f"the catalog has more than {MAX_PRODUCTS} products")
        if not self.shipping:
            raise ShopError("the catalog has no shipping option (add one, e.g. Pickup)")
        for what, ids in (
            ("product", [p.id for p in self.products]),
            ("shipping option", [s.id for s in self.shipping]),
            *((f"variant of {p.id}", [v.id for v in p.variants]) for p in self.products),
        ):
            if len(set(ids)) != len(ids):
                raise ShopError(f"two {what}s have the same id")

    def product(self, product_id: str) -> Product | None:
        return self._by_id.get(product_id)

    def shipping_option(self, shipping_id: str) -> Shipping | None:
        return next((s for s in self.shipping if s.id == shipping_id), None)

    def with_stock(self, available: Callable[[str, str | None], int | None]) -> Catalog:
        """This catalog with each counted stock replaced by ``available(product, variant)``."""
        products = tuple(
            replace(
                p,
                stock=None if p.stock is None else available(p.id, None),
                variants=tuple(
                    replace(v, stock=None if v.stock is None else available(p.id, v.id))
                    for v in p.variants
                ),
            )
            for p in self.products
        )
        return replace(self, products=products)

    def to_json(self) -> dict[str, Any]:
        """The catalog JSON customers receive, ``version`` included."""
        body: dict[str, Any] = {
            "shop": {
                "name": self.shop.name,
                "currency": self.shop.currency,
                "payment": self.shop.payment,
                "terms": self.shop.terms,
            },
            "products": [
                {
                    "id": p.id,
                    "name": p.name,
                    "description": p.description,
                    "price": p.price,
                    "stock": p.stock,
                    "tags": list(p.tags),
                    "images": list(p.images),
                    "variants": [
                        {"id": v.id, "name": v.name, "price": v.price, "stock": v.stock}
                        for v in p.variants
                    ],
                }
                for p in self.products
            ],
            "shipping": [{"id": s.id, "name": s.name, "price": s.price} for s in self.shipping],
        }
        return {**body, "version": catalog_version(body)}


def catalog_from_json(obj: dict[str, Any]) -> Catalog:
    """A :class:`Catalog` (without image bytes) from its JSON form (:meth:`Catalog.to_json`);
    fields are checked as a catalog file's are. Raises :class:`ShopError`."""
    try:
        shop = obj["shop"]
        info = check_shop(ShopInfo(shop["name"], shop["currency"], shop["payment"], shop["terms"]))
        products = tuple(
            check_product(
                Product(
                    p["id"],
                    p["name"],
                    p["description"],
                    p["price"],
                    p["stock"],
                    tuple(p["tags"]),
                    tuple(p["images"]),
                    tuple(
                        Variant(v["id"], v["name"], v["price"], v["stock"]) for v in p["variants"]
                    ),
                )
            )
            for p in obj["products"]
        )
        shipping = tuple(Shipping(s["id"], s["name"], s["price"]) for s in obj["shipping"])
    except (KeyError, TypeError) as e:
        raise ShopError(f"not a catalog: {e!r}") from None
    return Catalog(info, products, shipping)


def check_product(p: Product) -> Product:
    """``p`` if its fields are within the wire's bounds; :class:`ShopError` otherwise."""
    where = f"product {p.id}"
    check_id(p.id, "product")
    check_text(p.name, f"{where}: name", MAX_NAME)
    check_text(p.description, f"{where}: description", MAX_DESCRIPTION, required=False)
    if len(p.tags) > MAX_TAGS or any(not t or len(t) > 40 for t in p.tags):
        raise ShopError(f"{where}: at most {MAX_TAGS} tags of 1 to 40 characters")
    if len(p.images) > MAX_IMAGES:
        raise ShopError(f"{where}: at most {MAX_IMAGES} images")
    if len(p.variants) > MAX_VARIANTS:
        raise ShopError(f"{where}: at most {MAX_VARIANTS} variants")
    for count in (p.stock, *(v.stock for v in p.variants)):
        if count is not None and count < 0:
            raise ShopError(f"{where}: stock cannot be negative")
    for v in p.variants:
        check_id(v.id, f"{where}: variant")
        check_text(v.name, f"{where}: variant {v.id}: name", MAX_NAME)
    return p


def check_shop(info: ShopInfo) -> ShopInfo:
    check_text(info.name, "shop name", MAX_NAME)
    if re.fullmatch(r"[A-Z]{3}", info.currency) is None:
        raise ShopError(f"currency must be an ISO 4217 code such as EUR ({info.currency!r})")
    check_text(info.payment, "payment instructions", MAX_TEXT, required=False)
    check_text(info.terms, "terms", MAX_TEXT, required=False)
    return info


# ----------------------------------------------------------------------------- pricing


@dataclass(frozen=True, slots=True)
class Priced:
    """An order as the owner priced it. ``needs`` is the stock it takes per stock key."""

    lines: tuple[ShopLine, ...]
    shipping: ShopShipping
    total: int
    currency: str
    needs: dict[tuple[str, str | None], int]


def line_name(product: Product, variant: Variant | None) -> str:
    return product.name if variant is None else f"{product.name} ({variant.name})"


def stock_key(product: Product, variant: Variant | None) -> tuple[str, str | None] | None:
    """Where an item's stock is counted: the variant's own, else the product's; None if
    neither is counted."""
    if variant is not None and variant.stock is not None:
        return (product.id, variant.id)
    if product.stock is not None:
        return (product.id, None)
    return None


def price_order(
    order: Order, catalog: Catalog, available: Callable[[str, str | None], int | None]
) -> Priced:
    """Price ``order`` from ``catalog``; ``available(product, variant)`` is the stock left
    for a stock key. Raises :class:`OrderRefusal` (the first problem found)."""
    ref = order.ref
    cur = catalog.shop.currency
    if order.currency != cur:
        raise OrderRefusal(
            ref, "currency_mismatch", f"This shop sells in {cur}: refresh the shop and try again."
        )
    lines: list[ShopLine] = []
    needs: dict[tuple[str, str | None], int] = {}
    names: dict[tuple[str, str | None], str] = {}
    for n, item in enumerate(order.items, 1):
        product = catalog.product(item.product)
        if product is None:
            raise OrderRefusal(
                ref,
                "unknown_product",
                f"Item {n} of your cart is no longer sold here: refresh the shop and try again.",
            )
        variant = None if item.variant is None else product.variant(item.variant)
        if product.variants and variant is None:
            raise OrderRefusal(
                ref, "unknown_variant", f"Choose one of the variants of {product.name}."
            )
        if not product.variants and item.variant is not None:
            raise OrderRefusal(ref, "unknown_variant", f"{product.name} has no variants.")
        unit = product.price if variant is None or variant.price is None else variant.price
        name = line_name(product, variant)
        if item.price != unit:
            raise OrderRefusal(
                ref,
                "price_changed",
                f"The price of {name} is now {format_money(unit, cur)}: "
                "check your cart and order again.",
            )
        key = stock_key(product, variant)
        if key is not None:
            needs[key] = needs.get(key, 0) + item.qty
            names[key] = product.name if key[1] is None else name
        lines.append(
            ShopLine(product.id, None if variant is None else variant.id, name, item.qty, unit)
        )
    for key, qty in needs.items():
        left = available(*key) or 0
        if qty > left:
            text = (
                f"{names[key]} is sold out."
                if left <= 0
                else f"Only {left} of {names[key]} left: lower the quantity and order again."
            )
            raise OrderRefusal(ref, "out_of_stock", text)
    ship = catalog.shipping_option(order.shipping)
    if ship is None:
        raise OrderRefusal(
            ref, "unknown_shipping", "That shipping option is no longer offered: choose another."
        )
    total = sum(line.qty * line.price for line in lines) + ship.price
    if order.total != total:
        raise OrderRefusal(
            ref,
            "total_mismatch",
            f"The total is {format_money(total, cur)}, not {format_money(order.total, cur)}: "
            "refresh the shop and check your cart.",
        )
    return Priced(tuple(lines), ShopShipping(ship.id, ship.name, ship.price), total, cur, needs)
