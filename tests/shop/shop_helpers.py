"""Shared pieces of the shop tests: a relay and an inbox with the example bakery shop, and
Python customers connected to it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from hushwire.agent.agent import Agent, ConnectionEstablished
from hushwire.chat.messages import Profile, x_info
from hushwire.client import ClientConfig
from hushwire.inbox.run import RunningInbox, start_inbox
from hushwire.server.config import RelayConfig
from hushwire.server.run import RunningRelay, start_relay
from hushwire.shop.customer import ShopCustomer
from hushwire.shop.example import write_bakery
from hushwire.shop.wire import Customer, Order, OrderItem
from hushwire.smp.address import SMPServer

CFG = ClientConfig(ping_interval=None, command_timeout=10)
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
ADA = Customer("Ada Lovelace", "1 Crumb Street", "10115", "Berlin", "Germany", "ada@example.org")


def run(coro: Callable[[], Awaitable[None]], timeout: float = 180) -> None:
    asyncio.run(asyncio.wait_for(coro(), timeout))


def ws_url(r: RunningRelay) -> str:
    return f"ws://127.0.0.1:{r.ws_port}/"


@asynccontextmanager
async def relay_and_shop(
    tmp: Path, passphrase: str | None = None
) -> AsyncIterator[tuple[RunningRelay, RunningInbox]]:
    """A relay and an inbox running the example bakery shop (stopped on the way out)."""
    catalog = write_bakery(tmp / "shop")
    async with AsyncExitStack() as stack:
        r = await start_relay(
            RelayConfig(data=tmp / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        stack.push_async_callback(r.stop)
        inbox = await start_inbox(
            tmp / "inbox",
            r.address,
            ws_url=ws_url(r),
            name="Tiny Bakery",
            client_config=CFG,
            shop=catalog,
            passphrase=passphrase,
        )
        stack.push_async_callback(inbox.stop)
        yield r, inbox


async def join(
    relay: SMPServer, relay_ws: str, tmp: Path, address: str, name: str
) -> tuple[Agent, str]:
    """A customer agent named ``name`` joined to ``address`` and connected."""
    agent = Agent(tmp / f"customer-{name}", relay, ws_url=relay_ws, client_config=CFG)
    await agent.start()
    conn = await agent.join(address, x_info(Profile(display_name=name)).encode_conn_info())
    async with asyncio.timeout(30):
        while True:
            ev = await agent.events.get()
            if isinstance(ev, ConnectionEstablished):
                return agent, conn


@asynccontextmanager
async def customer(
    r: RunningRelay, tmp: Path, inbox: RunningInbox, name: str = "Ada"
) -> AsyncIterator[ShopCustomer]:
    agent, conn = await join(r.address, ws_url(r), tmp, inbox.service.address, name)
    try:
        async with ShopCustomer(agent, conn) as c:
            yield c
    finally:
        await agent.stop()


def new_ref() -> str:
    return secrets.token_hex(16)


def bread_order(
    *items: tuple[str, str | None, int, int],
    shipping: str = "pickup",
    total: int | None = None,
    who: Customer = ADA,
    currency: str = "EUR",
    ref: str | None = None,
) -> Order:
    lines = tuple(OrderItem(p, v, q, price) for p, v, q, price in items)
    ship = {"pickup": 0, "courier": 490}.get(shipping, 0)
    if total is None:
        total = sum(i.qty * i.price for i in lines) + ship
    return Order(ref or new_ref(), currency, lines, shipping, total, who)
