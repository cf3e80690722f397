"""The owner's catalog records (hushwire.shop.model): bounds, the stock a customer sees, and
the JSON form read back."""

from __future__ import annotations

import pytest

from hushwire.shop.model import (
    MAX_PRODUCTS,
    Catalog,
    Product,
    Shipping,
    ShopInfo,
    Variant,
    catalog_from_json,
    check_product,
    check_text,
)
from hushwire.shop.wire import ShopError

INFO = ShopInfo("Shop", "EUR")
PICKUP = (Shipping("pickup", "Pickup", 0),)
LOAF = Product("loaf", "Loaf", "", 100, 5, (), (), (Variant("big", "Big", 150, 2),))


def test_the_customer_sees_the_stock_left() -> None:
    catalog = Catalog(INFO, (LOAF, Product("bun", "Bun", "", 50)), PICKUP)
    left = {("loaf", None): 3, ("loaf", "big"): 0}
    seen = catalog.with_stock(lambda p, v: left[(p, v)])
    loaf, bun = seen.products
    assert (loaf.stock, loaf.variants[0].stock, bun.stock) == (3, 0, None)
    assert catalog_from_json(seen.to_json()).to_json() == seen.to_json()
    assert seen.to_json()["version"] != catalog.to_json()["version"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Catalog(INFO, (), PICKUP), "has no products"),
        (lambda: Catalog(INFO, (LOAF,) * (MAX_PRODUCTS + 1), PICKUP), "more than 5000 products"),
        (lambda: Catalog(INFO, (LOAF,), PICKUP * 2), "two shipping options have the same id"),
        (lambda: check_product(Product("a", "A", "", 1, tags=("",))), "at most 20 tags"),
        (lambda: check_product(Product("a", "A", "", 1, images=("x",) * 9)), "at most 8 images"),
        (
            lambda: check_product(Product("a", "A", "", 1, variants=(Variant("v", "V"),) * 51)),
            "at most 50 variants",
        ),
        (lambda: check_product(Product("a", "A", "", 1, stock=-1)), "cannot be negative"),
        (lambda: check_product(Product("a", "A", "", 1, variants=(Variant("v v", "V"),))), "an id"),
        (lambda: check_text("  ", "name", 10), "name must be text"),
        (lambda: check_text(5, "name", 10), "name must be text"),
        (lambda: catalog_from_json({"shop": {}}), "not a catalog"),
    ],
)
def test_bounds(make: object, message: str) -> None:
    with pytest.raises(ShopError, match=message):
        make()  # type: ignore[operator]


def test_optional_text_may_be_absent() -> None:
    assert check_text(None, "terms", 10, required=False) == ""
