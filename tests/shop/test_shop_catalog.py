"""The owner's catalog file: TOML and CSV loading, the checks that name what to fix, the
reload when the file changes, and the catalog JSON customers receive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hushwire.shop.catalog import CatalogFile, load_catalog
from hushwire.shop.example import BAKERY_TOML, write_bakery
from hushwire.shop.images import make_png
from hushwire.shop.model import catalog_from_json
from hushwire.shop.wire import ShopError, catalog_version, pack_catalog, unpack_catalog


def test_the_example_bakery_loads_and_round_trips_through_the_wire(tmp_path: Path) -> None:
    catalog = load_catalog(write_bakery(tmp_path))
    assert [p.id for p in catalog.products] == ["sourdough", "baguette", "rye", "bun"]
    baguette = catalog.product("baguette")
    assert baguette is not None and [(v.id, v.price, v.stock) for v in baguette.variants] == [
        ("plain", None, None),
        ("seeded", 150, 2),
    ]
    assert len(catalog.images) == 4
    body = catalog.to_json()
    assert body["version"] == catalog_version(body)
    assert unpack_catalog(pack_catalog(body)) == body
    assert catalog_from_json(body).to_json() == body


def test_a_products_csv_is_a_catalog_with_pickup(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(make_png(1, 1, [(1, 2, 3)]))
    csv = tmp_path / "products.csv"
    csv.write_text(
        "id,name,description,price,stock,tags,image\n"
        'loaf,Loaf,"Big, round",3.20,5,bread;daily,a.png\n'
        "bun,Bun,,0.90,,,\n",
        encoding="utf-8",
    )
    catalog = load_catalog(csv, shop_name="Corner shop")
    assert catalog.shop.name == "Corner shop" and catalog.shop.currency == "EUR"
    loaf, bun = catalog.products
    assert (loaf.price, loaf.stock, loaf.tags, loaf.description) == (
        320,
        5,
        ("bread", "daily"),
        "Big, round",
    )
    assert len(loaf.images) == 1 and (bun.price, bun.stock, bun.images) == (90, None, ())
    assert [(s.id, s.price) for s in catalog.shipping] == [("pickup", 0)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('price = "4.50"', "price = 4.5"), 'write the price as a string, e.g. price = "4.50"'),
        (('price = "4.50"', 'price = "4.505"'), "has more than 2 decimals for EUR"),
        (('currency = "EUR"', 'currency = "euro"'), "currency must be an ISO 4217 code"),
        (('id = "rye"', 'id = "dark rye"'), "an id is 1 to 64 letters"),
        (('id = "rye"', 'id = "sourdough"'), "two products have the same id"),
        (("stock = 6", "stock = -1"), "stock must be a whole number, 0 or more"),
        (('images = ["rye.png"]', 'images = ["missing.png"]'), "cannot read image"),
        (("[[shipping]]", "[[nothing]]"), "no shipping option"),
        (('name = "Dark rye"', 'name = "' + "x" * 201 + '"'), "longer than 200 characters"),
        (("[shop]", "[shop"), "is not valid TOML"),
    ],
)
def test_catalog_mistakes_are_named(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    toml = write_bakery(tmp_path)
    toml.write_text(BAKERY_TOML.replace(*change), encoding="utf-8")
    with pytest.raises(ShopError) as info:
        load_catalog(toml)
    assert message in str(info.value) and str(toml) in str(info.value)


def test_an_image_that_is_no_image_is_refused(tmp_path: Path) -> None:
    toml = write_bakery(tmp_path)
    (tmp_path / "rye.png").write_bytes(b"<svg onload=alert(1)>")
    with pytest.raises(ShopError, match="is not a PNG, JPEG or WebP image"):
        load_catalog(toml)


def test_the_catalog_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    toml = write_bakery(tmp_path)
    source = CatalogFile(toml)
    first = source.current()
    toml.write_text(BAKERY_TOML.replace('price = "4.50"', 'price = "4.80"'), encoding="utf-8")
    os.utime(toml, ns=(1, 1))  # a different stamp even within one clock tick
    second = source.current()
    sourdough = second.product("sourdough")
    assert sourdough is not None and sourdough.price == 480
    assert second.to_json()["version"] != first.to_json()["version"]
    # A broken edit keeps the last good catalog.
    toml.write_text("[shop", encoding="utf-8")
    os.utime(toml, ns=(2, 2))
    assert source.current() is second
