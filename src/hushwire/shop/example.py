"""The example shop: the demo bakery's ``catalog.toml`` with small pictures drawn in code.

``hushwire demo`` runs it; the tests use it because it has a bit of everything: a counted
product, one sold out, one with variants (one of them counted on its own), one uncounted,
two shipping options and payment instructions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from hushwire.shop.images import make_png

__all__ = ["BAKERY_TOML", "write_bakery"]

BAKERY_TOML: Final = """\
[shop]
name = "Tiny Bakery"
currency = "EUR"
payment = "Pay on pickup, or by bank transfer to DE00 1234 5678 9000 with your order number."
terms = "Baked to order. Pickup Saturday 8-12. No returns on food."

[[products]]
id = "sourdough"
name = "Sourdough loaf"
description = "Naturally leavened, 800 g, three days of patience."
price = "4.50"
stock = 12
tags = ["bread"]
images = ["sourdough.png"]

[[products]]
id = "baguette"
name = "Baguette"
description = "Crisp crust, open crumb."
price = "1.20"
tags = ["bread", "classic"]
images = ["baguette.png"]

[[products.variants]]
id = "plain"
name = "Plain"

[[products.variants]]
id = "seeded"
name = "Seeded"
price = "1.50"
stock = 2

[[products]]
id = "rye"
name = "Dark rye"
description = "100 % rye with sunflower seeds."
price = "5.20"
stock = 6
tags = ["bread"]
images = ["rye.png"]

[[products]]
id = "bun"
name = "Cinnamon bun"
description = "Cardamom dough, cinnamon butter."
price = "2.80"
stock = 0
tags = ["pastry"]
images = ["bun.png"]

[[shipping]]
id = "pickup"
name = "Pickup at the bakery"
price = "0.00"

[[shipping]]
id = "courier"
name = "Bike courier (city)"
price = "4.90"
"""

COLOURS: Final = {
    "sourdough": ((196, 140, 80), (120, 72, 30)),
    "baguette": ((230, 180, 100), (170, 110, 40)),
    "rye": ((110, 70, 45), (60, 35, 20)),
    "bun": ((220, 160, 110), (140, 80, 40)),
}
SIZE: Final = 48


def picture(inner: tuple[int, int, int], outer: tuple[int, int, int], size: int = SIZE) -> bytes:
    """A round loaf: ``inner`` colour in the middle fading to ``outer``, on cream."""
    pixels = []
    c = (size - 1) / 2
    for y in range(size):
        for x in range(size):
            d = ((x - c) ** 2 + ((y - c) * 1.3) ** 2) ** 0.5 / c
            if d > 1:
                pixels.append((250, 244, 232))
            else:
                pixels.append(
                    (
                        int(inner[0] + (outer[0] - inner[0]) * d),
                        int(inner[1] + (outer[1] - inner[1]) * d),
                        int(inner[2] + (outer[2] - inner[2]) * d),
                    )
                )
    return make_png(size, size, pixels)


def write_bakery(folder: Path) -> Path:
    """Write ``catalog.toml`` and its pictures into ``folder``; returns the toml's path.
    Existing files are kept (the owner may have edited them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (inner, outer) in COLOURS.items():
        path = folder / f"{name}.png"
        if not path.exists():
            path.write_bytes(picture(inner, outer))
    toml = folder / "catalog.toml"
    if not toml.exists():
        toml.write_text(BAKERY_TOML, encoding="utf-8")
    return toml
