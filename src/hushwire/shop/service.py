"""The owner's shop inside the inbox: answers customers' shop messages on the owner agent
(catalog, images, orders) and carries out the owner's order actions.

The inbox hands every ``x.msg.new`` that carries ``hw.shop`` to :meth:`ShopOwner.on_message`
*before* it acknowledges the message; an order is stored (and its stock taken) in a
committed transaction inside that call, so a crash before the acknowledgement gets the same
message again and the stored order is found, never made twice. Replies go out on the same
connection only: a customer hears only about orders of its own connection.

Catalog and image requests are answered within a budget per connection (a token bucket,
:data:`~hushwire.limits.SHOP_SEND_BURST`), so a customer cannot make the owner send without
end; past it they go unanswered (the widget asks again later). They are answered from the
catalog file (:class:`~hushwire.shop.catalog.CatalogFile`, read again when it changes) with
the stock left; the packed parts are made again only when the file or the stock changed.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from hushwire.agent.agent import Agent, AgentError
from hushwire.agent.store import Sealer
from hushwire.chat.messages import ChatMessageTooLarge
from hushwire.encoding.strings import b64url_encode
from hushwire.limits import SHOP_SEND_BURST, SHOP_SEND_PER_SECOND
from hushwire.shop.catalog import CatalogFile
from hushwire.shop.model import Catalog, Priced, price_order
from hushwire.shop.orders import NEXT, OrderStore, StoredOrder, new_order_number
from hushwire.shop.wire import (
    MAX_LINE,
    MAX_NOTE,
    CatalogGet,
    CatalogPart,
    CatalogSame,
    ImagePart,
    ImagesGet,
    Order,
    OrderRefusal,
    OrderRefused,
    Payload,
    ShopDecodeError,
    ShopError,
    chunk,
    decode_payload,
    format_money,
    pack_catalog,
    shop_message,
)

__all__ = ["ShopOwner", "order_csv"]

log = logging.getLogger("hushwire.shop")

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class ShopOwner:
    """The owner's side of the shop for one inbox. ``publish`` receives live updates
    (``{"type": "order", "order": {...}}``) for the web UI; ``name_of`` gives the display
    name of a connection."""

    def __init__(
        self,
        path: Path,
        source: CatalogFile,
        agent: Agent,
        *,
        sealer: Sealer | None = None,
        publish: Callable[[dict[str, Any]], None] = lambda _: None,
        name_of: Callable[[str], str] = lambda _: "Customer",
        clock: Callable[[], float],
    ) -> None:
        self.source = source
        self.agent = agent
        self.store = OrderStore(path, sealer)
        self.publish = publish
        self.name_of = name_of
        self.clock = clock
        self._packed: tuple[Catalog, int, list[CatalogPart]] | None = None
        """The parts last packed: for which file catalog, at which :attr:`_stock_changes`."""
        self._stock_changes = 0
        """Counts the changes of the stock left (orders taken, orders cancelled)."""
        self.burst = SHOP_SEND_BURST
        self.per_second = SHOP_SEND_PER_SECOND
        self._budgets: dict[str, tuple[float, float]] = {}
        """Connection -> (catalog and image messages it may still get, when counted)."""

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ catalog

    def _base(self, catalog: Catalog) -> Callable[[str, str | None], int | None]:
        def base(product_id: str, variant_id: str | None) -> int | None:
            p = catalog.product(product_id)
            if p is None:
                return None
            if variant_id is None:
                return p.stock
            v = p.variant(variant_id)
            return None if v is None else v.stock

        return base

    def _available(self, catalog: Catalog) -> Callable[[str, str | None], int | None]:
        base = self._base(catalog)

        def available(product_id: str, variant_id: str | None) -> int | None:
            b = base(product_id, variant_id)
            return None if b is None else self.store.available((product_id, variant_id), b)

        return available

    def catalog(self) -> Catalog:
        """The catalog as customers see it now: the file's, with the stock left."""
        base = self.source.current()
        return base.with_stock(self._available(base))

    def catalog_parts(self) -> list[CatalogPart]:
        """The packed catalog, made again only when the file or the stock changed."""
        base = self.source.current()
        packed = self._packed
        if packed is None or packed[0] is not base or packed[1] != self._stock_changes:
            catalog = base.with_stock(self._available(base)).to_json()
            packed = self._packed = (base, self._stock_changes, pack_catalog(catalog))
        return packed[2]

    def image_parts(self, image_id: str) -> list[ImagePart]:
        found = self.source.current().images.get(image_id)
        if found is None:
            return []
        mime, data = found
        pieces = chunk(b64url_encode(data, padded=False))
        return [ImagePart(image_id, mime, i, len(pieces), p) for i, p in enumerate(pieces)]

    # ------------------------------------------------------------------ messages

    def _spend(self, conn_id: str, messages: int) -> bool:
        """Whether ``conn_id`` may be sent ``messages`` more catalog or image messages now
        (then they are counted); a token bucket of :attr:`burst`, :attr:`per_second`."""
        now = self.clock()
        left, at = self._budgets.get(conn_id, (float(self.burst), now))
        left = min(float(self.burst), left + (now - at) * self.per_second)
        ok = messages <= left
        self._budgets[conn_id] = (left - messages if ok else left, now)
        if not ok:
            log.info("%s: shop requests over the budget: not answered", conn_id[:8])
        return ok

    async def _send(self, conn_id: str, payload: Payload) -> None:
        await self.agent.send(conn_id, shop_message(payload, os.urandom(12)).encode())

    async def on_message(self, conn_id: str, raw: object) -> None:
        """Answer one ``hw.shop`` object from the customer on ``conn_id``. An order is
        stored before this returns; a reply that cannot be sent is logged (the customer's
        retry with the same ref gets the stored answer)."""
        try:
            await self._answer(conn_id, raw)
        except AgentError as e:
            log.warning("%s: cannot answer a shop message: %s", conn_id[:8], e)

    async def _answer(self, conn_id: str, raw: object) -> None:
        try:
            payload = decode_payload(raw)
        except OrderRefusal as r:
            log.info("%s: order refused: %s", conn_id[:8], r.code)
            await self._send(conn_id, OrderRefused(r.ref, r.code, r.message))
            return
        except ShopDecodeError as e:
            log.info("%s: a shop message could not be read: %s", conn_id[:8], e)
            return
        if isinstance(payload, CatalogGet):
            parts = self.catalog_parts()
            if payload.have == parts[0].version:
                if self._spend(conn_id, 1):
                    await self._send(conn_id, CatalogSame(parts[0].version))
            elif self._spend(conn_id, len(parts)):
                for part in parts:
                    await self._send(conn_id, part)
        elif isinstance(payload, ImagesGet):
            for image_id in dict.fromkeys(payload.ids):
                image = self.image_parts(image_id)
                if image and self._spend(conn_id, len(image)):
                    for image_part in image:
                        await self._send(conn_id, image_part)
        elif isinstance(payload, Order):
            await self._order(conn_id, payload)
        else:
            log.info("%s: ignored a shop message meant for customers", conn_id[:8])

    async def _order(self, conn_id: str, order: Order) -> None:
        known = self.store.find(conn_id, order.ref)
        if known is not None:  # the same order again (a retry, or redelivery after a crash)
            await self._send(conn_id, known.to_status())
            return
        base = self.source.current()
        try:
            priced = price_order(order, base, self._available(base))
            stored = self._new_order(conn_id, order, priced, base)
            try:
                shop_message(stored.to_status(), os.urandom(12)).encode()
            except ChatMessageTooLarge:
                raise OrderRefusal(
                    order.ref,
                    "too_many_items",
                    "This order is too large to confirm in one message: split it in two.",
                ) from None
        except OrderRefusal as r:
            log.info("%s: order refused: %s", conn_id[:8], r.code)
            await self._send(conn_id, OrderRefused(r.ref, r.code, r.message))
            return
        bases = {(p, v): self._base(base)(p, v) or 0 for p, v, _ in stored.needs}
        stored, new = self.store.add(stored, bases)
        self._stock_changes += new
        if new:
            log.info("%s: order %s received", conn_id[:8], stored.number)
        await self._send(conn_id, stored.to_status())
        self.publish({"type": "order", "order": stored.to_json(), "new": new})

    def _new_order(self, conn_id: str, order: Order, priced: Priced, base: Catalog) -> StoredOrder:
        now = self.clock()
        payment = base.shop.payment or None
        needs = tuple((k[0], k[1], q) for k, q in priced.needs.items())
        return StoredOrder(
            new_order_number(),
            conn_id,
            order.ref,
            "received",
            priced.total,
            priced.currency,
            now,
            now,
            priced.lines,
            priced.shipping,
            order.customer,
            self.name_of(conn_id),
            None,
            payment,
            None,
            needs,
        )

    # ------------------------------------------------------------------ owner actions

    def orders(self) -> list[StoredOrder]:
        return self.store.all()

    def order(self, number: str) -> StoredOrder:
        number = number.strip().upper()
        if len(number) == 8 and "-" not in number:
            number = f"{number[:4]}-{number[4:]}"
        found = self.store.get(number)
        if found is None:
            raise ShopError(f"no order {number!r}: see the list of orders")
        return found

    async def set_status(
        self, number: str, status: str, *, tracking: str | None = None, note: str | None = None
    ) -> StoredOrder:
        """Move an order to ``status`` and tell the customer. :class:`ShopError` if the
        order cannot take that status now (the message says why)."""
        order = self.order(number)
        if status not in NEXT:
            raise ShopError(f"unknown status {status!r}")
        if order.status not in NEXT[status]:
            raise ShopError(f"order {order.number} is {order.status}: it cannot become {status}")
        for what, value, most in (
            ("tracking number", tracking, MAX_LINE),
            ("note", note, MAX_NOTE),
        ):
            if value is not None and (len(value) > most or _CONTROL.search(value)):
                raise ShopError(f"the {what} must be one line of at most {most} characters")
        changed = replace(
            order,
            status=status,
            updated_at=self.clock(),
            tracking=(tracking or None) if status == "shipped" else order.tracking,
            note=note or None,
        )
        self.store.update(changed, give_back=status == "cancelled")
        self._stock_changes += status == "cancelled"
        self.publish({"type": "order", "order": changed.to_json(), "new": False})
        try:
            await self._send(changed.conn_id, changed.to_status())
        except AgentError as e:
            raise ShopError(
                f"order {changed.number} is now {status}, but the customer cannot be told: {e}"
            ) from e
        return changed


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: one starting with = + - @ gets a '."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def order_csv(order: dict[str, Any]) -> str:
    """One order (its :meth:`StoredOrder.to_json` form) as CSV for an invoice: a header row,
    one row per line, then shipping and total rows; amounts in major units. Customers' text
    is made inert for spreadsheets."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    c = order["customer"]
    cur = order["currency"]
    w.writerow(
        ["order", "status", "customer", "address", "postcode", "city", "country", "email",
         "item", "variant", "name", "qty", "unit price", "amount", "currency"]
    )  # fmt: skip
    head = [order["number"], order["status"], c["name"], c["address"], c["postcode"],
            c["city"], c["country"], c["email"] or ""]  # fmt: skip

    def amount(v: int) -> str:
        return format_money(v, cur).split(" ", 1)[1]

    s = order["shipping"]
    rows = [
        [
            i["product"],
            i["variant"] or "",
            i["name"],
            i["qty"],
            amount(i["price"]),
            amount(i["qty"] * i["price"]),
        ]
        for i in order["items"]
    ]
    rows.append(["shipping", s["id"], s["name"], 1, amount(s["price"]), amount(s["price"])])
    rows.append(["total", "", "", "", "", amount(order["total"])])
    for row in rows:
        w.writerow([_cell(v) for v in (*head, *row, cur)])
    return out.getvalue()
