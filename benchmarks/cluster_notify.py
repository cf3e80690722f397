"""Cross-process delivery for the cluster: PostgreSQL LISTEN/NOTIFY against Redis pub/sub.

The cluster store (``hushwire.server.store.cluster``) announces every change on a stream that
all nodes read; the issue asks for the engine that measures better. Both run here, in one
run, on 127.0.0.1, with the payload the store sends (``a NODE TOKEN 1 RID_HEX SEQ``, ~75
bytes), one publishing connection and one subscribed connection in this process:

- **latency**: publish one, wait until it arrives, repeat (``--rounds``); p50 / p99 in µs;
- **throughput**: publish ``--burst`` from several concurrent publishers, time until the last
  one arrives; notifications per second.

For PostgreSQL both as a bare ``SELECT pg_notify(...)`` and as the cluster store publishes
for real: inside the transaction that writes the message (``hw_write``: row lock, insert,
notify, commit with ``synchronous_commit = on``), which is the SEND->MSG path's cost.
PostgreSQL is the throwaway server of ``tests/server/pg_helpers.py`` (fsync on); Redis is
Debian's ``redis-server`` started in a temporary directory (no persistence), spoken to with
a minimal RESP client written here (no driver package needed). If ``redis-server`` is
missing the Redis rows say so (``apt-get install redis-server``; Debian 12 has no valkey).

Prints the baseline (bare NOTIFY) first and ends with ``RESULT {json}``.

    .venv/bin/python benchmarks/cluster_notify.py [--rounds N] [--burst N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "server"))
from pg_helpers import pg_server

from hushwire.server.store.cluster import CHANNEL, ClusterStore
from hushwire.server.store.contract import QueueRecord, StoredMessage

PAYLOAD = "a 0123456789ab 17 1 " + "ab" * 24 + " 123456"
PUBLISHERS = 8

Publish = Callable[[str], Awaitable[Any]]


def _quantiles(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {
        "p50_us": round(xs[len(xs) // 2] * 1e6, 1),
        "p99_us": round(xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1e6, 1),
        "mean_us": round(statistics.fmean(xs) * 1e6, 1),
    }


async def _measure(
    publish: Publish, arrived: asyncio.Queue[str], rounds: int, burst: int
) -> dict[str, Any]:
    lat = []
    for i in range(rounds):
        t = time.perf_counter()
        await publish(f"{PAYLOAD} {i}")
        await arrived.get()
        lat.append(time.perf_counter() - t)
    t = time.perf_counter()

    async def publisher(k: int) -> None:
        for i in range(k, burst, PUBLISHERS):
            await publish(f"{PAYLOAD} b{i}")

    await asyncio.gather(*(publisher(k) for k in range(PUBLISHERS)))
    for _ in range(burst):
        await arrived.get()
    elapsed = time.perf_counter() - t
    return {**_quantiles(lat), "per_second": round(burst / elapsed)}


# --------------------------------------------------------------------------- PostgreSQL


async def postgres_bare(dsn: str, rounds: int, burst: int) -> dict[str, Any]:
    arrived: asyncio.Queue[str] = asyncio.Queue()
    listen = await asyncpg.connect(dsn)
    await listen.add_listener(CHANNEL, lambda *a: arrived.put_nowait(a[3]))
    pool = await asyncpg.create_pool(dsn, min_size=PUBLISHERS, max_size=PUBLISHERS)

    async def publish(p: str) -> None:
        await pool.execute("SELECT pg_notify($1, $2)", CHANNEL, p)

    try:
        return await _measure(publish, arrived, rounds, burst)
    finally:
        await pool.close()
        await listen.close()


async def postgres_store(dsn: str, rounds: int, burst: int) -> dict[str, Any]:
    """SEND as the cluster store does it: hw_write in a transaction, seen by another node."""
    writer, reader = ClusterStore(dsn, node="w"), ClusterStore(dsn, node="r")
    await writer.open()
    await reader.open()
    arrived: asyncio.Queue[str] = asyncio.Queue()

    seen: dict[bytes, int] = {}

    class Seen:
        def appended(self, rid: bytes) -> None:  # once per queue per batch: count entries
            size = reader.queue_size(rid)
            for _ in range(size - seen.get(rid, 0)):
                arrived.put_nowait("")
            seen[rid] = size

        def notification(self, rid: bytes, msg: StoredMessage) -> None: ...

        def deleted(self, rid: bytes) -> None: ...

        def taken(self, rid: bytes) -> None: ...

        def resynced(self) -> None: ...

    reader.events = Seen()
    rids = []
    for _ in range(PUBLISHERS):
        rid = os.urandom(24)
        rec = QueueRecord(rid, os.urandom(24), (b"k",), b"s", queue_mode="M", sender_key=b"x")
        await writer.create_queue(rec)
        rids.append(rid)
    await reader.catch_up()
    turn = iter(range(10**9))

    async def publish(p: str) -> None:
        rid = rids[next(turn) % PUBLISHERS]
        await writer.write_message(rid, StoredMessage(os.urandom(24), 1, False, b"x" * 200), 10**6)

    try:
        result = await _measure(publish, arrived, rounds, burst)
        return result
    finally:
        await writer.close()
        await reader.close()


# --------------------------------------------------------------------------- Redis


def _resp(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


async def _read_reply(r: asyncio.StreamReader) -> Any:
    line = (await r.readline())[:-2]
    kind, rest = line[:1], line[1:]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else (await r.readexactly(n + 2))[:-2].decode()
    if kind == b"*":
        return [await _read_reply(r) for _ in range(int(rest))]
    raise RuntimeError(f"unexpected RESP reply {line!r}")


class _RedisConn:
    def __init__(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.r, self.w = r, w
        self.lock = asyncio.Lock()

    async def call(self, *args: str) -> Any:
        async with self.lock:
            self.w.write(_resp(*args))
            return await _read_reply(self.r)


async def redis(port: int, rounds: int, burst: int) -> dict[str, Any]:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(_resp("SUBSCRIBE", CHANNEL))
    await _read_reply(r)
    arrived: asyncio.Queue[str] = asyncio.Queue()

    async def pump() -> None:
        while True:
            msg = await _read_reply(r)
            arrived.put_nowait(msg[2])

    task = asyncio.create_task(pump())
    pubs = [_RedisConn(*(await asyncio.open_connection("127.0.0.1", port))) for _ in range(8)]
    turn = iter(range(10**9))

    async def publish(p: str) -> None:
        await pubs[next(turn) % len(pubs)].call("PUBLISH", CHANNEL, p)

    try:
        return await _measure(publish, arrived, rounds, burst)
    finally:
        task.cancel()
        w.close()
        for c in pubs:
            c.w.close()


def start_redis(root: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    exe = shutil.which("redis-server") or shutil.which("valkey-server")
    if exe is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--burst", type=int, default=20000)
    ap.add_argument("--quick", action="store_true", help="300 rounds, 3000 in the burst")
    args = ap.parse_args()
    rounds, burst = (300, 3000) if args.quick else (args.rounds, args.burst)
    results: dict[str, Any] = {"rounds": rounds, "burst": burst, "payload_bytes": len(PAYLOAD)}
    pg = pg_server()
    results["postgres_notify"] = asyncio.run(postgres_bare(pg.new_database(), rounds, burst))
    print(f"PostgreSQL NOTIFY (baseline): {results['postgres_notify']}", flush=True)
    store_burst = max(burst // 10, 500)
    results["postgres_store_send"] = asyncio.run(
        postgres_store(pg.new_database(), max(rounds // 4, 100), store_burst)
    )
    print(f"PostgreSQL hw_write+NOTIFY: {results['postgres_store_send']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="hw-redis-") as tmp:
        started = start_redis(Path(tmp))
        if started is None:
            results["redis_publish"] = "redis-server not installed (apt-get install redis-server)"
        else:
            proc, port = started
            try:
                results["redis_publish"] = asyncio.run(redis(port, rounds, burst))
                out = subprocess.run(
                    [proc.args[0], "--version"],
                    capture_output=True,
                    text=True,  # type: ignore[index]
                ).stdout.split()
                results["redis_version"] = next((x for x in out if x.startswith("v=")), "?")
            finally:
                proc.terminate()
                proc.wait(10)
        print(f"Redis PUBLISH: {results['redis_publish']}", flush=True)
    print("RESULT " + json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
