"""Relay store backends side by side: the cost of one message through the store API.

One message is ``write_message`` then ``delete_head`` (what SEND and ACK cost the store), on
N queues at once (one task per queue, one message in flight per queue, as under load), through
:class:`~hushwire.server.store.contract.QueueStore` on the memory, SQLite and PostgreSQL
backends in this same run. Both durable backends group-commit (the memory mirror of
``hushwire.server.store.mirror``) and every write has committed when its awaitable returns.

Figures per message: wall time (``1 / throughput``), CPU of this process (all threads: the
event loop, and SQLite's writer thread) and, for PostgreSQL, the CPU of the server processes
too (the backend that runs the transactions, the WAL writer). PostgreSQL is a throwaway server
(``tests/server/pg_helpers.py``: initdb in a temporary directory, 127.0.0.1, ``fsync`` on)
unless ``--dsn`` names a database to use. The fsync latency of the temporary directory is
printed as the floor every commit pays. Prints figures only; nothing is asserted; the last
line is ``RESULT {json}``.

    .venv/bin/python benchmarks/store_backends.py [--queues N] [--messages M] [--body B]
        [--quick] [--dsn postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _procs import cpu_seconds, fsync_ms

from hushwire.server.store import (
    MemoryStore,
    MirroredStore,
    QueueRecord,
    SQLiteStore,
    StoredMessage,
    WriteResult,
)
from hushwire.server.store.postgres import PostgresStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "server"))
from pg_helpers import PgServer, pg_server


def _server_cpu(server: PgServer | None) -> dict[int, float]:
    """CPU seconds of the postmaster and each of its children, by pid."""
    if server is None:
        return {}
    root = server.proc.pid
    out = {root: cpu_seconds(root)}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == root:
                out[int(entry)] = cpu_seconds(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return out


async def run(
    make: Callable[[], MirroredStore],
    server: PgServer | None,
    queues: int,
    messages: int,
    body: int,
) -> dict[str, float]:
    store = make()
    await store.open()
    try:
        rids = [os.urandom(24) for _ in range(queues)]
        for rid in rids:
            rec = QueueRecord(rid, os.urandom(24), (b"k" * 44,), b"s" * 32, queue_mode="M")
            assert await store.create_queue(rec)
        payload = os.urandom(body)
        base = store.stats()

        async def one_queue(rid: bytes) -> None:
            for i in range(messages):
                msg = StoredMessage(os.urandom(24), i, False, payload)
                assert await store.write_message(rid, msg, messages + 1) is WriteResult.STORED
                assert await store.delete_head(rid, msg.msg_id)

        srv0 = _server_cpu(server)
        cpu0 = cpu_seconds(os.getpid())
        start = time.perf_counter()
        await asyncio.gather(*(one_queue(rid) for rid in rids))
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds(os.getpid()) - cpu0
        srv1 = _server_cpu(server)
        srv = sum(t - srv0.get(pid, 0.0) for pid, t in srv1.items())
        st = store.stats()
    finally:
        await store.close()
    total = queues * messages
    commits = st.commits - base.commits
    ops = st.committed_ops - base.committed_ops
    return {
        "messages_per_s": total / elapsed,
        "wall_us_per_msg": 1e6 * elapsed / total,
        "cpu_us_per_msg": 1e6 * cpu / total,
        "server_cpu_us_per_msg": 1e6 * srv / total,
        "total_cpu_us_per_msg": 1e6 * (cpu + srv) / total,
        "commits": commits,
        "ops_per_commit": ops / max(commits, 1),
        "ms_per_commit": 1000
        * (st.commit_seconds_total - base.commit_seconds_total)
        / max(commits, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queues", type=int, default=64, help="queues written concurrently")
    ap.add_argument("--messages", type=int, default=100, help="messages per queue")
    ap.add_argument("--body", type=int, default=1000, help="message body bytes")
    ap.add_argument("--quick", action="store_true", help="a short run (16 messages per queue)")
    ap.add_argument("--dsn", help="an empty PostgreSQL database (default: a throwaway server)")
    args = ap.parse_args()
    messages = 16 if args.quick else args.messages
    server: PgServer | None = None
    if args.dsn:
        dsn = args.dsn
    else:
        server = pg_server()
        dsn = server.new_database()
    print(
        f"{args.queues} queues x {messages} messages (write_message + delete_head), "
        f"{args.body}-byte bodies; SQLite WAL + synchronous=FULL; PostgreSQL fsync=on, "
        "synchronous_commit=on"
    )
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        floor = fsync_ms(Path(tmp))
        print(f"fsync floor here: {floor:.2f} ms per 4 KB append + fsync")
        backends: list[tuple[str, Callable[[], MirroredStore], PgServer | None]] = [
            ("memory", MemoryStore, None),
            ("sqlite", lambda: SQLiteStore(Path(tmp) / "bench.db"), None),
            ("postgres", lambda: PostgresStore(dsn), server),
        ]
        for name, make, srv in backends:
            results[name] = asyncio.run(run(make, srv, args.queues, messages, args.body))
    cols = [
        ("messages_per_s", "msg/s", "{:10.0f}"),
        ("wall_us_per_msg", "wall us/msg", "{:12.1f}"),
        ("cpu_us_per_msg", "relay CPU us/msg", "{:17.1f}"),
        ("server_cpu_us_per_msg", "db server CPU us/msg", "{:21.1f}"),
        ("total_cpu_us_per_msg", "total CPU us/msg", "{:17.1f}"),
        ("ops_per_commit", "ops/commit", "{:11.1f}"),
        ("ms_per_commit", "ms/commit", "{:10.2f}"),
    ]
    print(f"{'':10s}" + "".join(f"{label:>{len(fmt.format(0))}s}" for _, label, fmt in cols))
    for name, r in results.items():
        print(f"{name:10s}" + "".join(fmt.format(r[key]) for key, _, fmt in cols))
    summary = {
        "queues": args.queues,
        "messages_per_queue": messages,
        "body": args.body,
        "fsync_floor_ms": round(floor, 3),
        **{name: {k: round(v, 2) for k, v in r.items()} for name, r in results.items()},
    }
    print("RESULT " + json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
