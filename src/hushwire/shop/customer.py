"""A customer of a shop in Python: an :class:`~hushwire.agent.agent.Agent` already connected
to the owner, speaking the shop's wire format (what the widget's shop mode does in the
browser). Used by the tests and benchmarks; also a starting point for a bot that orders.

:class:`ShopCustomer` owns the agent's event queue while it runs: every message on its
connection is acknowledged, shop payloads are queued for :meth:`ShopCustomer.next`, chat
text is kept in :attr:`ShopCustomer.texts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from typing import Any, TypeVar

from hushwire.agent.agent import Agent, MessageReceived
from hushwire.chat.messages import XMsgNew, interpret, parse_chat_elements
from hushwire.errors import DecodeError
from hushwire.shop import wire

__all__ = ["ShopCustomer"]

P = TypeVar("P")
TIMEOUT = 30.0


class ShopCustomer:
    """The customer's side of one connection to a shop."""

    def __init__(self, agent: Agent, conn_id: str, *, timeout: float = TIMEOUT) -> None:
        self.agent = agent
        self.conn_id = conn_id
        self.timeout = timeout
        self.payloads: asyncio.Queue[wire.Payload] = asyncio.Queue()
        self.texts: list[str] = []
        self.catalog_json: dict[str, Any] | None = None
        self.images: dict[str, tuple[str, bytes]] = {}
        self.received_messages = 0
        self.received_bytes = 0
        """Messages and chat-body bytes received on the connection so far."""
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ShopCustomer:
        self._task = asyncio.create_task(self._consume())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _consume(self) -> None:
        while True:
            ev = await self.agent.events.get()
            if not isinstance(ev, MessageReceived) or ev.conn_id != self.conn_id:
                continue
            self.received_messages += 1
            self.received_bytes += len(ev.body)
            for item in parse_chat_elements(ev.body):
                if isinstance(item, DecodeError):
                    continue
                raw = wire.shop_payload(item)
                if raw is not None:
                    try:
                        self.payloads.put_nowait(wire.decode_payload(raw))
                    except wire.ShopDecodeError:
                        pass
                    continue
                with contextlib.suppress(DecodeError):
                    chat = interpret(item)
                    if isinstance(chat, XMsgNew) and chat.text:
                        self.texts.append(chat.text)
            await self.agent.ack_message(ev.msg_id)

    async def send(self, payload: wire.Payload, text: str | None = None) -> None:
        await self.agent.send(
            self.conn_id, wire.shop_message(payload, os.urandom(12), text).encode()
        )

    async def next(self, kind: type[P]) -> P:
        """The next payload of type ``kind`` (others before it are dropped)."""
        async with asyncio.timeout(self.timeout):
            while True:
                p = await self.payloads.get()
                if isinstance(p, kind):
                    return p

    async def get_catalog(self) -> tuple[dict[str, Any], int]:
        """Fetch the catalog (a version check if one is cached); returns it and the number
        of parts that came (0: the cached one is current)."""
        have = None if self.catalog_json is None else str(self.catalog_json["version"])
        await self.send(wire.CatalogGet(have))
        first = await self.next(wire.CatalogPart | wire.CatalogSame)  # type: ignore[arg-type]
        if isinstance(first, wire.CatalogSame):
            assert self.catalog_json is not None and first.version == have
            return self.catalog_json, 0
        assert isinstance(first, wire.CatalogPart)
        parts = [first]
        while len(parts) < first.parts:
            parts.append(await self.next(wire.CatalogPart))
        self.catalog_json = wire.unpack_catalog(parts)
        return self.catalog_json, len(parts)

    async def get_images(self, ids: list[str]) -> dict[str, tuple[str, bytes]]:
        """Fetch images (64 ids per request), each checked against its sha256 id."""
        wanted = [i for i in dict.fromkeys(ids) if i not in self.images]
        for start in range(0, len(wanted), 64):
            await self.send(wire.ImagesGet(tuple(wanted[start : start + 64])))
        parts: dict[str, list[wire.ImagePart]] = {}
        while any(i not in self.images for i in wanted):
            p = await self.next(wire.ImagePart)
            got = parts.setdefault(p.id, [])
            got.append(p)
            if len(got) == p.parts:
                data = wire.join_parts(got)
                if hashlib.sha256(data).hexdigest() != p.id:
                    raise wire.ShopDecodeError(f"image {p.id} does not match its hash")
                self.images[p.id] = (p.mime, data)
        return {i: self.images[i] for i in ids if i in self.images}

    async def place(
        self, order: wire.Order, text: str | None = None
    ) -> wire.OrderStatus | wire.OrderRefused:
        """Send ``order`` and wait for the owner's answer about its ``ref``."""
        await self.send(order, text)
        return await self.answer(order.ref)

    async def answer(self, ref: str) -> wire.OrderStatus | wire.OrderRefused:
        while True:
            p = await self.next(wire.OrderStatus | wire.OrderRefused)  # type: ignore[arg-type]
            if isinstance(p, wire.OrderStatus | wire.OrderRefused) and p.ref == ref:
                return p
