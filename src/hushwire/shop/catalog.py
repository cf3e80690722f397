"""The owner's catalog file: ``catalog.toml`` (or a products CSV) read into a
:class:`~hushwire.shop.model.Catalog`, with its images, and reloaded when the file changes.

``catalog.toml``::

    [shop]
    name = "Crumb & Co"
    currency = "EUR"
    payment = "Bank transfer to ..."
    terms = "..."

    [[products]]
    id = "sourdough"
    name = "Sourdough loaf"
    description = "..."
    price = "4.50"            # decimal string in major units
    stock = 12                # optional: not counted when absent
    tags = ["bread"]          # optional
    images = ["sourdough.png"]  # optional, paths relative to the toml file

    [[products.variants]]     # optional
    id = "large"
    name = "Large"
    price = "6.00"            # optional: the product's price
    stock = 3                 # optional

    [[shipping]]
    id = "pickup"
    name = "Pickup"
    price = "0.00"

A CSV has the header ``id,name,description,price,stock,tags,image`` (tags separated by
``;``, an empty stock is not counted); the shop is then named by the inbox, sells in
:data:`CSV_CURRENCY` and offers free pickup only.

Every problem is a :class:`~hushwire.shop.wire.ShopError` that names the file, the product
and the field, for the owner to fix.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import tomllib
from pathlib import Path
from typing import Any, Final

from hushwire.shop.images import sniff_mime
from hushwire.shop.model import (
    Catalog,
    Product,
    Shipping,
    ShopInfo,
    Variant,
    check_id,
    check_product,
    check_shop,
    check_text,
)
from hushwire.shop.wire import CHUNK_CHARS, MAX_IMAGE_PARTS, MAX_NAME, ShopError, parse_money

__all__ = ["CSV_CURRENCY", "CatalogFile", "load_catalog"]

log = logging.getLogger("hushwire.shop")

CSV_CURRENCY: Final = "EUR"
MAX_IMAGE_BYTES: Final = MAX_IMAGE_PARTS * CHUNK_CHARS * 3 // 4
"""Largest image (bytes) that fits the wire's image parts."""
CSV_HEADER: Final = ("id", "name", "description", "price", "stock", "tags", "image")


def _image(base: Path, rel: object, where: str, images: dict[str, tuple[str, bytes]]) -> str:
    if not isinstance(rel, str) or not rel:
        raise ShopError(f"{where}: an image is a file name")
    path = base / rel
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ShopError(f"{where}: cannot read image {path}: {e.strerror}") from None
    mime = sniff_mime(data)
    if mime is None:
        raise ShopError(f"{where}: {path} is not a PNG, JPEG or WebP image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ShopError(f"{where}: {path} is larger than {MAX_IMAGE_BYTES} bytes: shrink it")
    image_id = hashlib.sha256(data).hexdigest()
    images[image_id] = (mime, data)
    return image_id


def _stock(value: object, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        stock = int(str(value)) if isinstance(value, str | int) else -1
    except ValueError:
        stock = -1
    if isinstance(value, bool) or stock < 0:
        raise ShopError(f"{where}: stock must be a whole number, 0 or more")
    return stock


def _money(value: object, currency: str, where: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ShopError(f'{where}: write the price as a string, e.g. price = "4.50"')
    if not isinstance(value, str):
        raise ShopError(f'{where}: a price is needed, e.g. price = "4.50"')
    try:
        return parse_money(value, currency)
    except ShopError as e:
        raise ShopError(f"{where}: {e}") from None


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShopError(f"{where} must be a table")
    return value


def _product(
    raw: dict[str, Any], n: int, cur: str, base: Path, images: dict[str, tuple[str, bytes]]
) -> Product:
    where = f"product {n} ({raw.get('id', '?')})"
    variants = []
    for k, rv in enumerate(raw.get("variants") or [], 1):
        rv = _table(rv, f"{where}: variant {k}")
        vwhere = f"{where}: variant {k}"
        variants.append(
            Variant(
                check_id(rv.get("id"), vwhere),
                check_text(rv.get("name"), f"{vwhere}: name", MAX_NAME),
                None if rv.get("price") is None else _money(rv.get("price"), cur, vwhere),
                _stock(rv.get("stock"), vwhere),
            )
        )
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ShopError(f"{where}: tags must be a list of strings")
    pics = raw.get("images") or []
    if not isinstance(pics, list):
        raise ShopError(f"{where}: images must be a list of file names")
    description = raw.get("description", "")
    return check_product(
        Product(
            check_id(raw.get("id"), where),
            check_text(raw.get("name"), f"{where}: name", MAX_NAME),
            description if isinstance(description, str) else "",
            _money(raw.get("price"), cur, where),
            _stock(raw.get("stock"), where),
            tuple(tags),
            tuple(_image(base, p, where, images) for p in pics),
            tuple(variants),
        )
    )


def _from_toml(path: Path) -> Catalog:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ShopError(f"{path} is not valid TOML: {e}") from None
    shop = _table(raw.get("shop"), "[shop]")
    info = check_shop(
        ShopInfo(
            str(shop.get("name", "")),
            str(shop.get("currency", "")),
            str(shop.get("payment", "")),
            str(shop.get("terms", "")),
        )
    )
    images: dict[str, tuple[str, bytes]] = {}
    products = tuple(
        _product(_table(p, f"product {n}"), n, info.currency, path.parent, images)
        for n, p in enumerate(raw.get("products") or [], 1)
    )
    shipping = tuple(
        Shipping(
            check_id(s.get("id"), f"shipping {n}"),
            check_text(s.get("name"), f"shipping {n}: name", MAX_NAME),
            _money(s.get("price"), info.currency, f"shipping {n}"),
        )
        for n, s in (
            (n, _table(s, f"shipping {n}")) for n, s in enumerate(raw.get("shipping") or [], 1)
        )
    )
    return Catalog(info, products, shipping, images)


def _from_csv(path: Path, shop_name: str) -> Catalog:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ShopError(f"{path} has no products (header: {','.join(CSV_HEADER)})")
    missing = [c for c in ("id", "name", "price") if c not in rows[0]]
    if missing:
        raise ShopError(f"{path}: the header lacks {', '.join(missing)}")
    images: dict[str, tuple[str, bytes]] = {}
    products = tuple(
        _product(
            {
                "id": r.get("id"),
                "name": r.get("name"),
                "description": r.get("description") or "",
                "price": r.get("price"),
                "stock": r.get("stock"),
                "tags": [t.strip() for t in (r.get("tags") or "").split(";") if t.strip()],
                "images": [r["image"]] if r.get("image") else [],
            },
            n,
            CSV_CURRENCY,
            path.parent,
            images,
        )
        for n, r in enumerate(rows, 1)
    )
    info = check_shop(ShopInfo(shop_name, CSV_CURRENCY))
    return Catalog(info, products, (Shipping("pickup", "Pickup", 0),), images)


def load_catalog(path: Path, *, shop_name: str = "Shop") -> Catalog:
    """Read ``path`` (``.csv``: a products CSV, anything else: TOML)."""
    try:
        if path.suffix.lower() == ".csv":
            return _from_csv(path, shop_name)
        return _from_toml(path)
    except ShopError as e:
        raise ShopError(f"{path}: {e}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ShopError(f"cannot read the catalog {path}: {e}") from None


class CatalogFile:
    """The catalog file of a running shop: read at start (an error stops the start), then
    read again whenever its modification time or size changes (checked on each request);
    a changed file that does not load is logged and the last good catalog stays."""

    def __init__(self, path: Path, *, shop_name: str = "Shop") -> None:
        self.path = path
        self.shop_name = shop_name
        self._stamp = self._stat()
        self.catalog = load_catalog(path, shop_name=shop_name)

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def current(self) -> Catalog:
        stamp = self._stat()
        if stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            try:
                self.catalog = load_catalog(self.path, shop_name=self.shop_name)
                log.info("shop: catalog %s reloaded", self.path)
            except ShopError as e:
                log.warning("shop: keeping the previous catalog: %s", e)
        return self.catalog
