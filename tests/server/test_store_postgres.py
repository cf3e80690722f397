"""What only the PostgreSQL store has: connecting, the owner lock, migrations, reconnecting.

The contract itself runs on PostgreSQL in ``test_store_contract.py`` (``store_helpers``);
these tests use the same throwaway server (``pg_helpers``).
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from pg_helpers import pg_server, sql
from store_helpers import make_msg, make_rec

from hushwire.server.store import StoreError, WriteResult, postgres
from hushwire.server.store.postgres import PG_SCHEMA_VERSION, PostgresStore, redact_dsn


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_unreachable_store_is_a_clear_error() -> None:
    dsn = f"postgresql://relay:s3cret@127.0.0.1:{_closed_port()}/hushwire"

    async def main() -> None:
        s = PostgresStore(dsn)
        with pytest.raises(StoreError, match="cannot reach the PostgreSQL store") as e:
            await s.open()
        assert "s3cret" not in str(e.value)
        assert "relay:***@127.0.0.1" in str(e.value)

    asyncio.run(main())


def test_missing_database_is_a_clear_error() -> None:
    dsn = pg_server().dsn("no_such_database")

    async def main() -> None:
        with pytest.raises(StoreError, match="no_such_database"):
            await PostgresStore(dsn).open()

    asyncio.run(main())


def test_one_process_owns_a_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "OWNER_LOCK_WAIT", 0.2)
    dsn = pg_server().new_database()

    async def main() -> None:
        first = PostgresStore(dsn)
        await first.open()
        try:
            with pytest.raises(StoreError, match="in use by another relay process"):
                await PostgresStore(dsn).open()
        finally:
            await first.close()
        second = PostgresStore(dsn)  # the lock went with the first one's connection
        await second.open()
        await second.close()

    asyncio.run(main())


def test_a_new_owner_waits_for_the_old_one_to_go() -> None:
    """A relay restarted while the server still holds its predecessor's session (as right
    after a crash) gets the store once that session ends, within ``OWNER_LOCK_WAIT``."""
    dsn = pg_server().new_database()

    async def main() -> None:
        first = PostgresStore(dsn)
        await first.open()
        second = PostgresStore(dsn)
        opening = asyncio.ensure_future(second.open())
        await asyncio.sleep(0.3)
        assert not opening.done()
        await first.close()
        await asyncio.wait_for(opening, postgres.OWNER_LOCK_WAIT)
        await second.close()

    asyncio.run(main())


def test_schema_is_versioned_and_a_newer_one_refused() -> None:
    dsn = pg_server().new_database()

    async def open_close() -> None:
        s = PostgresStore(dsn)
        await s.open()
        await s.close()

    asyncio.run(open_close())
    asyncio.run(open_close())  # reopening migrates nothing
    rows = sql(dsn, "SELECT version FROM schema_version ORDER BY version")
    assert [r["version"] for r in rows] == list(range(1, PG_SCHEMA_VERSION + 1))
    sql(dsn, "INSERT INTO schema_version (version) VALUES ($1)", PG_SCHEMA_VERSION + 1)

    async def newer() -> None:
        with pytest.raises(StoreError, match=f"schema version {PG_SCHEMA_VERSION + 1}"):
            await PostgresStore(dsn).open()

    asyncio.run(newer())


def test_lost_connection_is_survived_by_reconnecting() -> None:
    """The server drops the store's connection (as a PostgreSQL restart does). The next write
    either fails (if it went out on the dead connection) or succeeds on a new one (if the loss
    was noticed first); the store reconnects by itself, and memory equals the database."""
    dsn = pg_server().new_database()
    rec = make_rec()
    rid = rec.recipient_id
    first, maybe, after = make_msg(0), make_msg(1), make_msg(2)

    async def main() -> list[bytes]:
        s = PostgresStore(dsn)
        await s.open()
        try:
            await s.create_queue(rec)
            assert await s.write_message(rid, first, 10) is WriteResult.STORED
            killed = await asyncio.to_thread(
                sql,
                pg_server().dsn(),
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                "WHERE application_name = 'hushwire-relay' AND datname = $1",
                dsn.rsplit("/", 1)[1],
            )
            assert [r[0] for r in killed] == [True]
            outcome = await asyncio.gather(s.write_message(rid, maybe, 10), return_exceptions=True)
            assert outcome[0] is WriteResult.STORED or isinstance(outcome[0], StoreError)
            assert s.stats().failed_commits == (0 if outcome[0] is WriteResult.STORED else 1)
            assert await s.write_message(rid, after, 10) is WriteResult.STORED
            stored = [first] + ([maybe] if outcome[0] is WriteResult.STORED else []) + [after]
            assert list(s.messages(rid)) == stored
            return [m.msg_id for m in stored]
        finally:
            await s.close()

    expected = asyncio.run(main())
    rows = sql(dsn, "SELECT msg_id FROM messages ORDER BY seq")
    assert [r["msg_id"] for r in rows] == expected


def test_redact_dsn() -> None:
    assert redact_dsn("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_dsn("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_dsn("postgresql:///db?host=/run/postgresql") == (
        "postgresql:///db?host=/run/postgresql"
    )
