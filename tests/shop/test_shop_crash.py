"""Kill -9 of the inbox while orders arrive: after a restart every order exists exactly once
and every answer about one ref names the same order number."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

from shop_helpers import bread_order, join, run

from hushwire.shop.customer import ShopCustomer
from hushwire.shop.example import write_bakery
from hushwire.shop.wire import OrderStatus
from hushwire.testing import start_relay_process

N = 40


async def _start_inbox(
    data: Path, relay: str, ws: str, catalog: Path
) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hushwire", "inbox", "--data", str(data), "--relay", relay,
        "--ws", ws, "--no-qr", "--shop", str(catalog), "--name", "Tiny Bakery",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(60):
        while not (lines and lines[-1].startswith("Log in:")):
            line = (await proc.stdout.readline()).decode()
            assert line, f"the inbox stopped: {lines}"
            lines.append(line.rstrip("\n"))
    assert f"Shop: 4 products from {catalog}; orders under Orders" in lines
    start = next(i for i, x in enumerate(lines) if x.startswith("Contact address"))
    return proc, lines[start + 1]


def _count(data: Path) -> int:
    db = sqlite3.connect(data / "shop.sqlite3")
    try:
        return int(db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
    finally:
        db.close()


def test_kill_9_while_orders_arrive_keeps_each_order_exactly_once(tmp_path: Path) -> None:
    relay = start_relay_process(tmp_path / "relay", tls=False)
    catalog = write_bakery(tmp_path / "shop")
    data = tmp_path / "inbox"

    async def go() -> None:
        relay_addr = relay.address.encode()
        proc, address = await _start_inbox(data, relay_addr, relay.ws_url, catalog)
        agent, conn = await join(relay.address, relay.ws_url, tmp_path, address, "Ada")
        try:
            async with ShopCustomer(agent, conn, timeout=90) as ada:
                orders = [bread_order(("baguette", "plain", n + 1, 120)) for n in range(N)]
                for order in orders:
                    await ada.send(order)
                first = await ada.next(OrderStatus)  # the inbox is taking orders: kill it
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                # Killed mid-way: some orders stored, the others still on the relay.
                assert 1 <= _count(data) < N
                answers: dict[str, set[str]] = {first.ref: {first.order}}
                proc, _ = await _start_inbox(data, relay_addr, relay.ws_url, catalog)
                while len(answers) < N:
                    got = await ada.next(OrderStatus)
                    answers.setdefault(got.ref, set()).add(got.order)
                # Each ref is one order: however often it was answered, one number.
                assert sorted(answers) == sorted(o.ref for o in orders)
                assert all(len(numbers) == 1 for numbers in answers.values()), answers
                proc.send_signal(signal.SIGTERM)
                assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await agent.stop()
        db = sqlite3.connect(data / "shop.sqlite3")
        rows = db.execute("SELECT ref, number, total FROM orders").fetchall()
        db.close()
        assert len(rows) == N
        assert {ref: {number} for ref, number, _ in rows} == answers
        assert sorted(total for _, _, total in rows) == [120 * (n + 1) for n in range(N)]

    try:
        run(go, timeout=300)
    finally:
        relay.stop()
