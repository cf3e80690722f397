"""The owner's orders: ``shop.sqlite3`` in the inbox's data directory, order numbers, the
status rules and the stock counts.

Exactly once: an order is keyed by (connection, ``ref``) (``UNIQUE``), and it is written
(with the stock it takes) in one transaction committed with ``synchronous=FULL`` *before*
the inbox acknowledges the message that carried it. A crash before the acknowledgement hands
the message over again, and :meth:`OrderStore.add` finds the stored order instead of making
a second one.

Order numbers are 8 symbols from :data:`~hushwire.shop.wire.ORDER_ALPHABET` drawn with
``secrets`` (40 bits), written ``XXXX-XXXX``.

Stock: the catalog file says how many of an item there are; this store counts how many
were sold since that figure was last changed (``base``). When the owner edits the file's
figure, the count starts again from the new one. A cancelled order gives its items back.

At rest, everything a customer wrote (name, address, email) and the order lines are one
blob sealed with the agent store's :class:`~hushwire.agent.store.Sealer` (plain without a
passphrase).
"""

from __future__ import annotations

import json
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from hushwire.agent.store import Sealer
from hushwire.datadir import db_transaction, open_private_db
from hushwire.shop.wire import (
    ORDER_ALPHABET,
    Customer,
    OrderStatus,
    ShopError,
    ShopLine,
    ShopShipping,
)

__all__ = ["NEXT", "OrderStore", "StoredOrder", "new_order_number"]

SCHEMA_VERSION: Final = 1
NEXT: Final = {
    "confirmed": ("received",),
    "paid": ("received", "confirmed"),
    "shipped": ("received", "confirmed", "paid"),
    "delivered": ("shipped",),
    "cancelled": ("received", "confirmed", "paid"),
}
"""A status -> the statuses an order may have before it."""

_SCHEMA = (
    "CREATE TABLE orders (number TEXT PRIMARY KEY, conn_id TEXT NOT NULL, ref TEXT NOT NULL, "
    "status TEXT NOT NULL, total INTEGER NOT NULL, currency TEXT NOT NULL, "
    "created_at REAL NOT NULL, updated_at REAL NOT NULL, body BLOB NOT NULL, "
    "UNIQUE (conn_id, ref))",
    "CREATE INDEX orders_created ON orders (created_at)",
    "CREATE TABLE stock (product TEXT NOT NULL, variant TEXT NOT NULL, base INTEGER NOT NULL, "
    "sold INTEGER NOT NULL, PRIMARY KEY (product, variant))",
)


def new_order_number() -> str:
    s = "".join(secrets.choice(ORDER_ALPHABET) for _ in range(8))
    return f"{s[:4]}-{s[4:]}"


StockKey = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class StoredOrder:
    number: str
    conn_id: str
    ref: str
    status: str
    total: int
    currency: str
    created_at: float
    updated_at: float
    lines: tuple[ShopLine, ...]
    shipping: ShopShipping
    customer: Customer
    customer_name: str
    """The name of the connection's profile (what the inbox shows)."""
    tracking: str | None
    payment: str | None
    note: str | None
    needs: tuple[tuple[str, str | None, int], ...]

    def to_status(self) -> OrderStatus:
        """The ``order.status`` payload for the order as it is now."""
        return OrderStatus(
            self.ref,
            self.number,
            self.status,
            self.lines,
            self.shipping,
            self.total,
            self.currency,
            self.tracking,
            self.payment,
            self.note,
        )

    def to_json(self) -> dict[str, Any]:
        """The order for the owner's UI, the terminal and the JSON export."""
        return {
            "number": self.number,
            "conversation": self.conn_id,
            "ref": self.ref,
            "status": self.status,
            "total": self.total,
            "currency": self.currency,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "items": [line.to_json() for line in self.lines],
            "shipping": self.shipping.to_json(),
            "customer": self.customer.to_json(),
            "customer_name": self.customer_name,
            "tracking": self.tracking,
            "payment": self.payment,
            "note": self.note,
        }


class OrderStore:
    """SQLite store of orders and sold counts; used from one thread (the event loop)."""

    def __init__(self, path: Path, sealer: Sealer | None = None) -> None:
        self.path = path
        self._db = open_private_db(path, _SCHEMA, SCHEMA_VERSION)  # owner-only, WAL, FULL
        self._sealer = sealer or Sealer(None)

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> AbstractContextManager[None]:
        return db_transaction(self._db)

    # -------------------------------------------------------------- stock

    def available(self, key: StockKey, base: int) -> int:
        """How many of ``key`` are left when the catalog says ``base``."""
        row = self._db.execute(
            "SELECT base, sold FROM stock WHERE product = ? AND variant = ?",
            (key[0], key[1] or ""),
        ).fetchone()
        if row is None or row[0] != base:
            return base
        return max(0, base - int(row[1]))

    def _take(self, key: StockKey, base: int, qty: int) -> None:
        left = self.available(key, base)
        self._db.execute(
            "INSERT INTO stock (product, variant, base, sold) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (product, variant) DO UPDATE SET base = excluded.base, "
            "sold = excluded.sold",
            (key[0], key[1] or "", base, base - left + qty),
        )

    def _give_back(self, key: StockKey, qty: int) -> None:
        self._db.execute(
            "UPDATE stock SET sold = MAX(0, sold - ?) WHERE product = ? AND variant = ?",
            (qty, key[0], key[1] or ""),
        )

    # -------------------------------------------------------------- orders

    def _row(self, row: Any) -> StoredOrder:
        body = json.loads(self._sealer.open(bytes(row[8])).decode("utf-8"))
        return StoredOrder(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            tuple(ShopLine(**line) for line in body["lines"]),
            ShopShipping(**body["shipping"]),
            Customer(**body["customer"]),
            body["customer_name"],
            body.get("tracking"),
            body.get("payment"),
            body.get("note"),
            tuple((p, v, q) for p, v, q in body.get("needs", [])),
        )

    def _body(self, o: StoredOrder) -> bytes:
        body = {
            "lines": [line.to_json() for line in o.lines],
            "shipping": o.shipping.to_json(),
            "customer": o.customer.to_json(),
            "customer_name": o.customer_name,
            "tracking": o.tracking,
            "payment": o.payment,
            "note": o.note,
            "needs": [list(n) for n in o.needs],
        }
        return self._sealer.seal(json.dumps(body, ensure_ascii=False).encode("utf-8"))

    _SELECT = (
        "SELECT number, conn_id, ref, status, total, currency, created_at, updated_at, body "
        "FROM orders"
    )

    def find(self, conn_id: str, ref: str) -> StoredOrder | None:
        row = self._db.execute(
            f"{self._SELECT} WHERE conn_id = ? AND ref = ?", (conn_id, ref)
        ).fetchone()
        return None if row is None else self._row(row)

    def get(self, number: str) -> StoredOrder | None:
        row = self._db.execute(f"{self._SELECT} WHERE number = ?", (number,)).fetchone()
        return None if row is None else self._row(row)

    def all(self) -> list[StoredOrder]:
        rows = self._db.execute(f"{self._SELECT} ORDER BY created_at DESC, number").fetchall()
        return [self._row(r) for r in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])

    def add(self, order: StoredOrder, bases: dict[StockKey, int]) -> tuple[StoredOrder, bool]:
        """Store ``order`` (its number is replaced if taken) and take its stock, in one
        committed transaction; or return the order already stored for its (connection,
        ref). The flag says whether it is new."""
        with self.transaction():
            old = self.find(order.conn_id, order.ref)
            if old is not None:
                return old, False
            for _ in range(20):
                if self.get(order.number) is None:
                    break
                order = _renumber(order)
            else:  # pragma: no cover - 20 collisions in a 2**40 space
                raise ShopError("no free order number")
            for product, variant, qty in order.needs:
                self._take((product, variant), bases[(product, variant)], qty)
            self._db.execute(
                "INSERT INTO orders (number, conn_id, ref, status, total, currency, created_at, "
                "updated_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    order.number,
                    order.conn_id,
                    order.ref,
                    order.status,
                    order.total,
                    order.currency,
                    order.created_at,
                    order.updated_at,
                    self._body(order),
                ),
            )
        return order, True

    def update(self, order: StoredOrder, *, give_back: bool = False) -> None:
        """Write ``order``'s status and owner fields; ``give_back`` returns its stock."""
        with self.transaction():
            self._db.execute(
                "UPDATE orders SET status = ?, updated_at = ?, body = ? WHERE number = ?",
                (order.status, order.updated_at, self._body(order), order.number),
            )
            if give_back:
                for product, variant, qty in order.needs:
                    self._give_back((product, variant), qty)


def _renumber(order: StoredOrder) -> StoredOrder:
    return replace(order, number=new_order_number())
