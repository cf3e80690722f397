"""``hushwire inbox orders``: the shop's orders from the terminal, through the running
inbox's local API (as the other inbox commands, :mod:`hushwire.inbox.remote`)::

    hushwire inbox orders --data DIR                       list
    hushwire inbox orders show ORDER --data DIR            one order
    hushwire inbox orders confirm|paid|delivered|cancel ORDER --data DIR
    hushwire inbox orders ship ORDER --tracking N --data DIR
    hushwire inbox orders export ORDER [--csv] --data DIR  JSON (or CSV) on stdout

Customers' text is printed with control characters made visible.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path
from typing import Any, TextIO

from hushwire.errors import ConfigError
from hushwire.inbox.remote import _call, _printable
from hushwire.shop.service import order_csv
from hushwire.shop.wire import format_money

VERBS = {
    "confirm": "confirmed",
    "paid": "paid",
    "ship": "shipped",
    "delivered": "delivered",
    "cancel": "cancelled",
}
USAGE = (
    "usage: hushwire inbox orders [show|export|confirm|paid|ship|delivered|cancel ORDER] "
    "[--tracking N] [--csv] --data DIR"
)


def age(seconds: float) -> str:
    """``5 min``, ``3 h``, ``2 d``: how long ago an order came."""
    s = max(0, int(seconds))
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def _line(o: dict[str, Any], now: float) -> str:
    total = format_money(o["total"], o["currency"])
    who = _printable(o["customer"]["name"])
    return f"{o['number']}  {o['status']:<9}  {total:>14}  {age(now - o['created_at']):>6}  {who}"


def _show(o: dict[str, Any], out: TextIO) -> None:
    cur = o["currency"]
    c = o["customer"]
    print(f"Order {o['number']} [{o['status']}]  {format_money(o['total'], cur)}", file=out)
    for i in o["items"]:
        amount = format_money(i["qty"] * i["price"], cur)
        print(f"  {i['qty']} x {_printable(i['name'])}  {amount}", file=out)
    s = o["shipping"]
    print(f"  shipping {_printable(s['name'])}  {format_money(s['price'], cur)}", file=out)
    print(f"Ship to: {_printable(c['name'])}", file=out)
    for key in ("address", "postcode", "city", "country", "email"):
        if c.get(key):
            print(f"  {_printable(c[key])}", file=out)
    if o.get("tracking"):
        print(f"Tracking: {_printable(o['tracking'])}", file=out)


def run_orders(
    data: Path, args: list[str], out: TextIO, *, tracking: str | None = None, csv: bool = False
) -> int:
    if not args:
        got = _call(data, "GET", "/api/orders")
        if not got["shop"]:
            raise ConfigError("this inbox has no shop: start it with --shop catalog.toml")
        if not got["orders"]:
            print("No orders yet.", file=out)
        now = time.time()
        for o in got["orders"]:
            print(_line(o, now), file=out)
        return 0
    if len(args) != 2:
        raise ConfigError(USAGE)
    verb, number = args[0], urllib.parse.quote(args[1], safe="")
    if verb == "show":
        _show(_call(data, "GET", f"/api/orders/{number}")["order"], out)
        return 0
    if verb == "export":
        order = _call(data, "GET", f"/api/orders/{number}")["order"]
        if csv:
            out.write(order_csv(order))
        else:
            print(json.dumps(order, ensure_ascii=False, indent=1), file=out)
        return 0
    if verb not in VERBS:
        raise ConfigError(USAGE)
    if tracking is not None and verb != "ship":
        raise ConfigError("--tracking goes with `orders ship`")
    body = {"status": VERBS[verb], "tracking": tracking}
    order = _call(data, "POST", f"/api/orders/{number}/status", body)["order"]
    print(f"Order {order['number']} is now {order['status']}; the customer was told.", file=out)
    return 0
