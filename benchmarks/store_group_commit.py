"""Relay store: durable writes per second with group commit vs one commit per write.

Both runs use the same SQLiteStore code on a fresh file (WAL, synchronous=FULL), the same
number of concurrent senders and the same messages; the baseline caps the store at one
pending mutation, which makes every write its own transaction and fsync. Every write has
committed when its awaitable returns in both. Prints figures only; nothing is asserted.

    .venv/bin/python benchmarks/store_group_commit.py [--senders N] [--writes N] [--body N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from hushwire.limits import STORE_MAX_PENDING_WRITES
from hushwire.server.store import QueueRecord, SQLiteStore, StoredMessage, WriteResult

FIGURES: dict[str, float | None] = {}
"""This run's figures by name, printed last as one ``RESULT`` line (see :func:`print_result`)."""


def print_result() -> None:
    """The machine-readable last line: ``RESULT`` and a JSON object of :data:`FIGURES`."""
    import json
    import math

    clean = {k: v if v is None or math.isfinite(v) else None for k, v in FIGURES.items()}
    print("RESULT " + json.dumps(clean, sort_keys=True), flush=True)


async def run(path: Path, max_pending: int, senders: int, writes: int, body: int) -> None:
    store = SQLiteStore(path, max_pending=max_pending)
    await store.open()
    try:
        rids = [os.urandom(24) for _ in range(senders)]
        for rid in rids:
            rec = QueueRecord(rid, os.urandom(24), (b"k" * 44,), b"s" * 32, queue_mode="M")
            assert await store.create_queue(rec)
        payload = os.urandom(body)
        base = store.stats()

        async def sender(rid: bytes) -> None:
            for i in range(writes):
                msg = StoredMessage(os.urandom(24), i, False, payload)
                assert await store.write_message(rid, msg, writes + 1) is WriteResult.STORED

        start = time.perf_counter()
        await asyncio.gather(*(sender(rid) for rid in rids))
        elapsed = time.perf_counter() - start
        st = store.stats()
        total = senders * writes
        commits = st.commits - base.commits
        mean_ms = 1000 * (st.commit_seconds_total - base.commit_seconds_total) / max(commits, 1)
        label = "group commit" if max_pending > 1 else "one commit per write (baseline)"
        kind = "group" if max_pending > 1 else "baseline"
        FIGURES[f"{kind}_writes_per_s"] = total / elapsed
        FIGURES[f"{kind}_writes_per_commit"] = total / max(commits, 1)
        FIGURES[f"{kind}_commit_ms"] = mean_ms
        print(
            f"{label:32s} {total / elapsed:10.0f} writes/s  {total} writes in {elapsed:6.2f} s  "
            f"{commits:6d} commits  {total / max(commits, 1):6.1f} writes/commit  "
            f"{mean_ms:6.2f} ms/commit"
        )
    finally:
        await store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--senders", type=int, default=64, help="concurrent senders (one queue each)")
    ap.add_argument("--writes", type=int, default=40, help="writes per sender")
    ap.add_argument("--body", type=int, default=1000, help="message body bytes")
    args = ap.parse_args()
    print(
        f"{args.senders} concurrent senders x {args.writes} writes, {args.body}-byte bodies, "
        "SQLite WAL + synchronous=FULL"
    )
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        for name, max_pending in (("baseline", 1), ("group", STORE_MAX_PENDING_WRITES)):
            asyncio.run(
                run(Path(tmp) / f"{name}.db", max_pending, args.senders, args.writes, args.body)
            )
    group, baseline = FIGURES.get("group_writes_per_s"), FIGURES.get("baseline_writes_per_s")
    if group and baseline:
        FIGURES["group_vs_baseline"] = group / baseline
    print_result()


if __name__ == "__main__":
    main()
