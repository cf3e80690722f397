"""SQLiteStore specifics: the file, its schema and lock, kill -9, and the writer thread.

Everything every backend must do is in ``test_store_contract.py``; here is what only a
durable file backend with a commit thread has. Real SQLite files in tmp_path; failures are
injected through the ``before_commit`` seam. Also the memory backend's own lock.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from store_helpers import (
    NOW,
    contents,
    make_msg,
    make_rec,
    new_id,
    sqlite_backend,
    with_store,
)

from hushwire.server.store import (
    SCHEMA_VERSION,
    AppendMessage,
    Change,
    MemoryBacking,
    MemoryStore,
    MirroredStore,
    SQLiteStore,
    StoredMessage,
    StoreError,
)

SRC = Path(__file__).resolve().parents[2] / "src"


def _assert_queue_count(n: int) -> Callable[[MirroredStore], Awaitable[None]]:
    async def check(s: MirroredStore) -> None:
        assert s.stats().queues == n

    return check


def test_unusable_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(StoreError):
        asyncio.run(SQLiteStore(bad).open())


def test_failure_also_fails_what_was_queued_behind(tmp_path: Path) -> None:
    """Operations queued behind a failed batch decided on its effects, so they fail too;
    a close() requested meanwhile still happens."""
    backend = sqlite_backend(tmp_path)
    rec = make_rec()
    rid = rec.recipient_id
    first = make_msg(0)
    entered, release = threading.Event(), threading.Event()

    def blocking_commit(changes: Sequence[Change]) -> None:
        if any(isinstance(c, AppendMessage) and c.msg.body == b"poison" for c in changes):
            entered.set()
            release.wait(10)
            raise sqlite3.OperationalError("disk I/O error (simulated)")

    async def main() -> None:
        s = backend.make(before_commit=blocking_commit)
        await s.open()
        await s.create_queue(rec)
        await s.write_message(rid, first, 100)
        poison = asyncio.ensure_future(
            s.write_message(rid, StoredMessage(new_id(), NOW, False, b"poison"), 100)
        )
        assert await asyncio.to_thread(entered.wait, 10)
        behind = [
            asyncio.ensure_future(s.write_message(rid, make_msg(1), 100)),
            asyncio.ensure_future(s.delete_head(rid, first.msg_id)),
            asyncio.ensure_future(s.secure(rid, b"key")),
            asyncio.ensure_future(s.create_queue(make_rec())),
        ]
        await asyncio.sleep(0)
        assert s.stats().pending_writes == 5
        closing = asyncio.ensure_future(s.close())
        await asyncio.sleep(0)
        release.set()
        await closing
        for t in [poison, *behind]:
            with pytest.raises(StoreError, match="commit failed"):
                t.result()
        assert s.stats().failed_commits == 1 and s.stats().pending_writes == 0
        assert contents(s, rid) == [first]
        got = s.get_by_recipient(rid)
        assert got is not None and got.sender_key is None
        assert s.stats().queues == 1

    asyncio.run(main())
    assert backend.durable() == {rid: [first.msg_id]}

    async def reopened(s: MirroredStore) -> None:
        assert s.stats().queues == 1
        assert contents(s, rid) == [first]

    with_store(backend, reopened)


CRASH_CHILD = r"""
import asyncio, sys
from pathlib import Path
from hushwire.server.store import QueueRecord, SQLiteStore, StoredMessage

async def main(path):
    s = SQLiteStore(Path(path))
    await s.open()

    async def worker(k):
        rid = bytes([k]) * 24
        sid = bytes([k + 100]) * 24
        await s.create_queue(QueueRecord(rid, sid, (b"key",), b"dh", queue_mode="M"))
        print("Q", rid.hex(), flush=True)
        written = []
        n = 0
        while True:
            mid = k.to_bytes(4, "big") + n.to_bytes(20, "big")
            await s.write_message(rid, StoredMessage(mid, n, False, b"x" * 300), 10**9)
            print("W", rid.hex(), mid.hex(), flush=True)
            written.append(mid)
            if n % 3 == 2:
                head = written.pop(0)
                assert await s.delete_head(rid, head)
                print("D", rid.hex(), head.hex(), flush=True)
            n += 1

    await asyncio.gather(*(worker(k) for k in range(8)))

asyncio.run(main(sys.argv[1]))
"""


def test_sigkill_loses_no_acknowledged_write(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_CHILD, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    writes = 0
    while writes < 600:
        line = proc.stdout.readline().decode()
        if not line:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"child exited early: {err}")
        lines.append(line)
        writes += line.startswith("W ")
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    # complete lines already in the pipe were also printed after their write returned
    lines.extend(x + "\n" for x in rest.decode().split("\n")[:-1])

    queues: set[bytes] = set()
    written: dict[bytes, list[bytes]] = {}
    deleted: set[bytes] = set()
    last: dict[bytes, tuple[str, bytes]] = {}
    for line in lines:
        kind, *args = line.split()
        if kind == "Q":
            queues.add(bytes.fromhex(args[0]))
            continue
        rid, mid = bytes.fromhex(args[0]), bytes.fromhex(args[1])
        last[rid] = (kind, mid)
        if kind == "W":
            written.setdefault(rid, []).append(mid)
        else:
            deleted.add(mid)
    assert len(queues) == 8

    async def check(s: MirroredStore) -> None:
        for rid in queues:
            assert s.get_by_recipient(rid) is not None
        for rid, mids in written.items():
            present = [m.msg_id for m in contents(s, rid)]
            assert present == sorted(present)  # FIFO order kept
            kept = [m for m in mids if m not in deleted]
            assert not deleted.intersection(present)
            # Each worker runs one operation at a time, so at most one more than was printed
            # may have committed: a write at the tail, or (after every third write) the
            # deletion of the first kept message.
            kind, mid = last[rid]
            delete_in_flight = kind == "W" and int.from_bytes(mid[4:], "big") % 3 == 2
            if delete_in_flight and kept and kept[0] not in present:
                kept = kept[1:]
            assert present[: len(kept)] == kept, "an acknowledged write was lost"
            assert len(present) <= len(kept) + 1

    with_store(sqlite_backend(tmp_path, "crash.db"), check)


def test_schema_version_is_recorded_and_checked(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with_store(sqlite_backend(tmp_path), _assert_queue_count(0))
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert row == (str(SCHEMA_VERSION),)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        with_store(sqlite_backend(tmp_path), _assert_queue_count(0))


def test_second_store_on_same_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    async def body(s: MirroredStore) -> None:
        await s.create_queue(make_rec())
        other = SQLiteStore(db)
        with pytest.raises(StoreError, match="another relay"):
            await other.open()

    with_store(sqlite_backend(tmp_path), body)


def test_second_memory_store_on_same_backing_is_refused() -> None:
    backing = MemoryBacking()

    async def main() -> None:
        s = MemoryStore(backing)
        await s.open()
        with pytest.raises(StoreError, match="another relay"):
            await MemoryStore(backing).open()
        await s.close()
        again = MemoryStore(backing)
        await again.open()  # free once closed
        await again.close()

    asyncio.run(main())


def test_one_batch_of_mixed_changes_lands_as_in_order(tmp_path: Path) -> None:
    """A batch's message writes and deletions go to SQLite grouped, with the end state of
    running them one by one: around a queue deletion, and with a message both written and
    deleted inside the batch (which never reaches the file)."""
    backend = sqlite_backend(tmp_path)
    a, b = make_rec(), make_rec()
    ra, rb = a.recipient_id, b.recipient_id
    m0, m1, m2, m3, m4 = (make_msg(i) for i in range(5))
    entered, release = threading.Event(), threading.Event()
    batches: list[list[Change]] = []

    def hold_first_write(changes: Sequence[Change]) -> None:
        batches.append(list(changes))
        if any(isinstance(c, AppendMessage) and c.msg == m0 for c in changes):
            entered.set()
            release.wait(10)

    async def main() -> None:
        s = backend.make(before_commit=hold_first_write)
        await s.open()
        await s.create_queue(a)
        await s.create_queue(b)
        first = asyncio.ensure_future(s.write_message(ra, m0, 100))
        assert await asyncio.to_thread(entered.wait, 10)
        ops = [
            s.write_message(ra, m1, 100),
            s.write_message(ra, m2, 100),
            s.delete_head(ra, m0.msg_id),
            s.delete_head(ra, m1.msg_id),
            s.write_message(rb, m3, 100),
            s.delete_queue(rb),
            s.write_message(ra, m4, 100),
        ]
        tasks = [asyncio.ensure_future(op) for op in ops]
        await asyncio.sleep(0)
        release.set()
        await first
        results = await asyncio.gather(*tasks)
        assert results[2:4] == [True, True] and results[5] is True
        await s.close()
        assert contents(s, ra) == [m2, m4]
        assert s.get_by_recipient(rb) is None

    asyncio.run(main())
    grouped = batches[-1]
    assert len(grouped) == 7  # the seven operations, committed as one batch
    assert backend.durable() == {ra: [m2.msg_id, m4.msg_id]}

    async def reopened(s: MirroredStore) -> None:
        assert contents(s, ra) == [m2, m4]
        assert s.get_by_recipient(rb) is None and s.stats().queues == 1

    with_store(backend, reopened)
