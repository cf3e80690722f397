"""A small shop owner for the widget's shop-mode tests: a Python owner ``Agent`` that
answers the customer's shop payloads (hushwire.shop.wire) from a catalog in memory: the
catalog (or catalog.same), images in parts, orders priced from its own catalog, one order per
(connection, ref), then the statuses the test sets.

The inbox's owner side (``hushwire inbox --shop``, hushwire.shop.service) is the real one; the
demo-shop test and benchmarks/shop_browser.py use it. This one lets a test do what a real
owner would not on cue: change a price between catalog and order, or take an order and not
answer it (as if the answer was lost with the tab).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from hushwire.agent.agent import Agent, ConnectionEstablished, MessageReceived
from hushwire.bot.common import profile_info, text_message
from hushwire.chat.messages import parse_chat_body
from hushwire.encoding.strings import b64url_encode
from hushwire.errors import DecodeError
from hushwire.shop import wire


def png(width: int, height: int, rgb: tuple[int, int, int], pad: int = 0) -> bytes:
    """A valid solid-colour PNG; ``pad`` bytes of noise in a private chunk make it larger
    (a thumbnail of about the size a real one has)."""

    def part(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    body = part(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if pad:
        body += part(b"hwPd", os.urandom(pad))
    body += part(b"IDAT", zlib.compress(row * height)) + part(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def make_catalog(
    products: list[dict[str, Any]], images: dict[str, bytes], name: str = "Tiny Bakery"
) -> dict[str, Any]:
    """A catalog JSON object (version set) of ``products``; ``images`` maps each product id
    to its image bytes (the product's ``images`` gets its sha256)."""
    out = []
    for p in products:
        q = {"description": "", "stock": None, "tags": [], "variants": [], **p}
        img = images.get(p["id"])
        q["images"] = [] if img is None else [hashlib.sha256(img).hexdigest()]
        out.append(q)
    catalog: dict[str, Any] = {
        "shop": {
            "name": name,
            "currency": "EUR",
            "payment": "Bank transfer to DE00 1234, reference: your order number.",
            "terms": "Fresh goods: no returns.",
        },
        "products": out,
        "shipping": [
            {"id": "pickup", "name": "Pickup", "price": 0},
            {"id": "post", "name": "Post", "price": 490},
        ],
    }
    catalog["version"] = wire.catalog_version(catalog)
    return catalog


@dataclass
class PlacedOrder:
    conn: str
    status: wire.OrderStatus


@dataclass
class ShopOwner:
    agent: Agent
    catalog: dict[str, Any]
    images: dict[str, bytes]
    """Image bytes by sha256 hex."""
    orders: dict[tuple[str, str], PlacedOrder] = field(default_factory=dict)
    new_orders: asyncio.Queue[PlacedOrder] = field(default_factory=asyncio.Queue)
    requests: list[str] = field(default_factory=list)
    """The type of every payload the customers sent, in order."""
    chat_texts: list[str] = field(default_factory=list)
    conns: list[str] = field(default_factory=list)
    silent: bool = False
    """Take new orders without answering them (as if the answer was lost with the tab)."""

    @asynccontextmanager
    async def online(self) -> AsyncIterator[str]:
        """The owner at work: its agent started, its contact address made (yielded), every
        customer answered until the block ends; then the agent stops."""
        await self.agent.start()
        task: asyncio.Task[None] | None = None
        try:
            _, link = await self.agent.create_address(profile_info(self.catalog["shop"]["name"]))
            task = asyncio.create_task(self._run())
            yield link
        finally:
            if task is not None:
                task.cancel()
            await self.agent.stop()

    async def _send(self, conn: str, payload: wire.Payload) -> None:
        await self.agent.send(conn, wire.shop_message(payload, os.urandom(12)).encode())

    async def _run(self) -> None:
        while True:
            ev = await self.agent.events.get()
            if isinstance(ev, ConnectionEstablished):
                self.conns.append(ev.conn_id)
            elif isinstance(ev, MessageReceived):
                try:
                    messages = parse_chat_body(ev.body)
                except DecodeError:
                    messages = []
                for m in messages:
                    raw = wire.shop_payload(m)
                    if raw is None:
                        text = m.params.get("content", {}).get("text")
                        if isinstance(text, str):
                            self.chat_texts.append(text)
                        continue
                    await self._answer(ev.conn_id, raw)
                await self.agent.ack_message(ev.msg_id, receipt=True)

    async def _answer(self, conn: str, raw: object) -> None:
        try:
            p = wire.decode_payload(raw)
        except wire.OrderRefusal as r:
            self.requests.append("order")
            await self._send(conn, wire.OrderRefused(r.ref, r.code, r.message))
            return
        except DecodeError:
            return
        self.requests.append(type(p).__name__)
        if isinstance(p, wire.CatalogGet):
            if p.have == self.catalog["version"]:
                await self._send(conn, wire.CatalogSame(self.catalog["version"]))
            else:
                for part in wire.pack_catalog(self.catalog):
                    await self._send(conn, part)
        elif isinstance(p, wire.ImagesGet):
            for image_id in p.ids:
                data = self.images.get(image_id)
                if data is None:
                    continue
                pieces = wire.chunk(b64url_encode(data, padded=False))
                for i, piece in enumerate(pieces):
                    await self._send(
                        conn, wire.ImagePart(image_id, "image/png", i, len(pieces), piece)
                    )
        elif isinstance(p, wire.Order):
            await self._order(conn, p)

    async def _order(self, conn: str, o: wire.Order) -> None:
        known = self.orders.get((conn, o.ref))
        if known is not None:  # the same ref again: the same answer, never a second order
            await self._send(conn, known.status)
            return
        products = {p["id"]: p for p in self.catalog["products"]}
        ship = {s["id"]: s for s in self.catalog["shipping"]}.get(o.shipping)
        lines = []
        for item in o.items:
            p = products.get(item.product)
            if p is None:
                await self._send(conn, wire.OrderRefused(o.ref, "unknown_product", "Not ours."))
                return
            if item.price != p["price"]:
                msg = f"The price of {p['name']} has changed."
                await self._send(conn, wire.OrderRefused(o.ref, "price_changed", msg))
                return
            lines.append(wire.ShopLine(p["id"], None, p["name"], item.qty, p["price"]))
        if ship is None:
            await self._send(
                conn, wire.OrderRefused(o.ref, "unknown_shipping", "No such shipping.")
            )
            return
        total = sum(line.qty * line.price for line in lines) + ship["price"]
        number = "".join(wire.ORDER_ALPHABET[b % 32] for b in os.urandom(8))
        status = wire.OrderStatus(
            o.ref,
            f"{number[:4]}-{number[4:]}",
            "received",
            tuple(lines),
            wire.ShopShipping(ship["id"], ship["name"], ship["price"]),
            total,
            "EUR",
            payment=self.catalog["shop"]["payment"],
        )
        placed = PlacedOrder(conn, status)
        self.orders[(conn, o.ref)] = placed
        if not self.silent:
            await self._send(conn, status)
        await self.new_orders.put(placed)

    async def say(self, conn: str, text: str) -> None:
        """A plain chat message to one customer."""
        await self.agent.send(conn, text_message(text))

    async def set_status(
        self, placed: PlacedOrder, status: str, tracking: str | None = None
    ) -> None:
        """The owner moves an order on (confirmed, shipped...): the customer is told."""
        placed.status = replace(placed.status, status=status, tracking=tracking)
        await self._send(placed.conn, placed.status)
