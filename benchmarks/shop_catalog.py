"""The shop, owner side: a catalog of 1,000 products with 1,000 thumbnails of ~8 KB each,
served by the inbox (``hushwire inbox --shop``, its own process) to a Python customer (an
agent and the chat layer, :class:`hushwire.shop.customer.ShopCustomer`) through a relay
(``hushwire relay``, its own process, default limits) on 127.0.0.1.

Figures, each round with a fresh customer (a new agent, nothing cached):

1. ``fresh_ms``: ``catalog.get`` to the whole catalog joined, unzipped and checked, then every
   image asked for (64 ids a message) and checked by SHA-256 (median of ``--rounds``).
2. ``repeat_ms``: a repeat visit: ``catalog.get`` with the cached version to ``catalog.same``
   (median of ``--rounds``).
3. ``order_stored_p50_ms`` / ``order_answered_p50_ms``: an order sent to the moment its row is
   in the inbox's ``shop.sqlite3`` (polled every millisecond) / to the owner's ``received``
   answer at the customer, ``--orders`` orders one after the other.
4. Bytes per catalog load: chat bytes received by the customer (catalog alone and with every
   image) and messages; on the wire every message is one padded SMP block of 16,384 bytes
   from the inbox to the relay and one from the relay to the customer
   (``relay_block_bytes`` = messages x 16,384, each way).

Baseline, measured in the same run: two plain agents in this process, the same number of
messages with the same body sizes as one fresh load, sent as ordinary chat text from one to
the other (received and acknowledged): the transport's cost of those bytes without the shop.

Prints figures only; the last line is ``RESULT`` and a JSON object of them.

    .venv/bin/python benchmarks/shop_catalog.py [--products N] [--rounds R] [--orders K]
        [--quick] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _procs import Children, die_with_parent
from _procs import start_relay as _start_relay

from hushwire.agent.agent import Agent, ConnectionEstablished, MessageReceived
from hushwire.chat.messages import Profile, x_info, x_msg_new_text
from hushwire.client import ClientConfig
from hushwire.shop.customer import ShopCustomer
from hushwire.shop.images import make_png
from hushwire.shop.wire import Customer, Order, OrderItem, OrderStatus
from hushwire.smp.address import SMPServer

CFG = ClientConfig(ping_interval=None, command_timeout=60)
THUMB = (48, 56)
"""Thumbnail size in pixels: random RGB of this size is a PNG of about 8 KB."""


def write_catalog(folder: Path, products: int) -> Path:
    """A catalog.toml of ``products`` products, each with its own random thumbnail."""
    folder.mkdir(parents=True)
    rng = random.Random(1)
    w, h = THUMB
    out = ['[shop]\nname = "Bench"\ncurrency = "EUR"\npayment = "Bank transfer."\n']
    for n in range(products):
        pixels = [
            (rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(w * h)
        ]
        (folder / f"p{n}.png").write_bytes(make_png(w, h, pixels))
        out.append(
            f'[[products]]\nid = "p{n}"\nname = "Product {n}"\n'
            f'description = "A fine product number {n}, made with care."\n'
            f'price = "{1 + n % 50}.{n % 100:02d}"\ntags = ["t{n % 7}"]\nimages = ["p{n}.png"]\n'
        )
    out.append('[[shipping]]\nid = "pickup"\nname = "Pickup"\nprice = "0.00"\n')
    path = folder / "catalog.toml"
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def start_inbox(
    children: Children, data: Path, relay: Any, catalog: Path
) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hushwire", "inbox", "--data", str(data), "--relay",
         relay.address.encode(), "--ws", relay.ws_url, "--no-qr", "--shop", str(catalog)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=die_with_parent,
    )  # fmt: skip
    children.popens.append(proc)
    assert proc.stdout is not None
    lines: list[str] = []
    while not (lines and lines[-1].startswith("Log in:")):
        line = proc.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"the inbox stopped: {lines}")
        lines.append(line.rstrip("\n"))
    start = next(i for i, x in enumerate(lines) if x.startswith("Contact address"))
    return proc, lines[start + 1]


BLOCK = 16384
"""An SMP block: every message crosses the relay in one block each way."""


async def join(tmp: Path, name: str, relay: SMPServer, ws: str, address: str) -> tuple[Agent, str]:
    agent = Agent(tmp / name, relay, ws_url=ws, client_config=CFG)
    await agent.start()
    conn = await agent.join(address, x_info(Profile(display_name=name)).encode_conn_info())
    while not isinstance(await agent.events.get(), ConnectionEstablished):
        pass
    return agent, conn


def ms(seconds: float) -> float:
    return round(1000 * seconds, 1)


async def fresh_round(
    tmp: Path, n: int, relay: Any, address: str
) -> tuple[dict[str, Any], Agent, ShopCustomer]:
    agent, conn = await join(tmp, f"customer{n}", relay.address, relay.ws_url, address)
    customer = ShopCustomer(agent, conn, timeout=600)
    await customer.__aenter__()
    t0 = time.perf_counter()
    catalog, parts = await customer.get_catalog()
    t1 = time.perf_counter()
    catalog_bytes, catalog_messages = customer.received_bytes, customer.received_messages
    ids = [i for p in catalog["products"] for i in p["images"]]
    images = await customer.get_images(ids)
    t2 = time.perf_counter()
    assert len(images) == len(ids)
    figures = {
        "catalog_ms": ms(t1 - t0),
        "fresh_ms": ms(t2 - t0),
        "parts": parts,
        "catalog_bytes": catalog_bytes,
        "catalog_messages": catalog_messages,
        "bytes": customer.received_bytes,
        "messages": customer.received_messages,
    }
    return figures, agent, customer


async def orders(customer: ShopCustomer, db_path: Path, count: int) -> tuple[float, float]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    stored: list[float] = []
    answered: list[float] = []
    who = Customer("Ada Lovelace", "1 Crumb Street", "10115", "Berlin", "Germany")
    try:
        for n in range(count):
            ref = os.urandom(16).hex()
            order = Order(ref, "EUR", (OrderItem("p1", None, 1 + n % 5, 201),), "pickup", 0, who)
            order = Order(ref, "EUR", order.items, "pickup", 201 * (1 + n % 5), who)
            t0 = time.perf_counter()
            await customer.send(order)
            while db.execute("SELECT 1 FROM orders WHERE ref = ?", (ref,)).fetchone() is None:
                await asyncio.sleep(0.001)
            t1 = time.perf_counter()
            got = await customer.answer(ref)
            t2 = time.perf_counter()
            assert isinstance(got, OrderStatus), got
            stored.append(t1 - t0)
            answered.append(t2 - t0)
    finally:
        db.close()
    return statistics.median(stored), statistics.median(answered)


async def baseline(tmp: Path, relay: Any, sizes: list[int]) -> float:
    """The same message sizes as plain chat text between two agents in this process."""
    a = Agent(tmp / "base-a", relay.address, ws_url=relay.ws_url, client_config=CFG)
    b = Agent(tmp / "base-b", relay.address, ws_url=relay.ws_url, client_config=CFG)
    await a.start()
    await b.start()
    try:
        a_conn, link = await a.create_invitation(x_info(Profile("A")).encode_conn_info())
        b_conn = await b.join(link, x_info(Profile("B")).encode_conn_info())
        for agent in (a, b):
            while not isinstance(await agent.events.get(), ConnectionEstablished):
                pass
        bodies = []
        for size in sizes:
            empty = len(x_msg_new_text("x", b"0" * 12).encode()) - 1
            bodies.append(x_msg_new_text("x" * max(1, size - empty), os.urandom(12)).encode())

        async def receive() -> None:
            got = 0
            while got < len(bodies):
                ev = await b.events.get()
                if isinstance(ev, MessageReceived) and ev.conn_id == b_conn:
                    got += 1
                    await b.ack_message(ev.msg_id)

        t0 = time.perf_counter()
        task = asyncio.create_task(receive())
        for body in bodies:
            await a.send(a_conn, body)
        await asyncio.wait_for(task, 600)
        return time.perf_counter() - t0
    finally:
        await a.stop()
        await b.stop()


async def measure(args: argparse.Namespace, tmp: Path, relay: Any, address: str) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    customer: ShopCustomer | None = None
    agents: list[Agent] = []
    customers: list[ShopCustomer] = []
    try:
        for n in range(args.rounds):
            figures, agent, customer = await fresh_round(tmp, n, relay, address)
            agents.append(agent)
            customers.append(customer)
            rounds.append(figures)
            print(f"  fresh visit {n + 1}: {json.dumps(figures)}", flush=True)
        assert customer is not None
        repeat = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            _, parts = await customer.get_catalog()
            repeat.append(time.perf_counter() - t0)
            assert parts == 0
        stored, answered = await orders(customer, tmp / "inbox" / "shop.sqlite3", args.orders)
        last = rounds[-1]
        sizes = [last["bytes"] // last["messages"]] * last["messages"]
        base = await baseline(tmp, relay, sizes)
    finally:
        for c in customers:
            await c.__aexit__()
        for agent in agents:
            await agent.stop()
    first = rounds[0]
    return {
        "products": args.products,
        "rounds": args.rounds,
        "fresh_ms": statistics.median(r["fresh_ms"] for r in rounds),
        "catalog_only_ms": statistics.median(r["catalog_ms"] for r in rounds),
        "repeat_ms": ms(statistics.median(repeat)),
        "order_stored_p50_ms": ms(stored),
        "order_answered_p50_ms": ms(answered),
        "catalog_parts": first["parts"],
        "catalog_bytes": first["catalog_bytes"],
        "load_messages": first["messages"],
        "load_bytes": first["bytes"],
        "relay_block_bytes": first["messages"] * BLOCK,
        "catalog_block_bytes": first["catalog_messages"] * BLOCK,
        "baseline_plain_ms": ms(base),
        "fresh_vs_baseline": round(statistics.median(r["fresh_ms"] for r in rounds) / ms(base), 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="40 products, 2 rounds, 5 orders")
    parser.add_argument("--tmp", type=Path, help="work directory (default: a new temporary one)")
    args = parser.parse_args(argv)
    if args.quick:
        args.products, args.rounds, args.orders = 40, 2, 5
    tmp = args.tmp or Path(tempfile.mkdtemp(prefix="hushwire-shop-bench-"))
    children = Children()
    try:
        t0 = time.perf_counter()
        catalog = write_catalog(tmp / "shop", args.products)
        print(f"catalog of {args.products} products written in {ms(time.perf_counter() - t0)} ms")
        relay = _start_relay(children, tmp / "relay", {})
        _, address = start_inbox(children, tmp / "inbox", relay, catalog)
        result = asyncio.run(measure(args, tmp, relay, address))
    finally:
        children.stop_all()
    print(
        f"fresh visit (catalog + {args.products} images): {result['fresh_ms']} ms "
        f"(catalog alone {result['catalog_only_ms']} ms, {result['catalog_parts']} parts); "
        f"baseline, the same {result['load_messages']} messages as plain chat: "
        f"{result['baseline_plain_ms']} ms"
    )
    print(f"repeat visit (version check): {result['repeat_ms']} ms")
    print(
        f"order sent -> stored p50 {result['order_stored_p50_ms']} ms, "
        f"-> answered p50 {result['order_answered_p50_ms']} ms"
    )
    print(
        f"bytes per load: catalog {result['catalog_bytes']}, with images {result['load_bytes']} "
        f"in {result['load_messages']} messages; SMP blocks each way: catalog "
        f"{result['catalog_block_bytes']}, with images {result['relay_block_bytes']}"
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
