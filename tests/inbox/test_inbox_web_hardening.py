"""The inbox web server under attack (issue 16, B3), over real HTTP against the running
server: a session cookie that leaks to another server on 127.0.0.1 opens nothing, logout
revokes the session on the server, bad headers and bodies get 400, slow headers are cut
off, failed logins are rate-limited."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from test_inbox_service import base, relay_and_inbox, run

from hushwire.inbox.auth import (
    CLAIM_SECONDS,
    KEY_HEADER,
    SESSION_DAYS,
    WS_PROTOCOL,
    LoginLimiter,
    SessionTable,
    cookie_name,
)
from hushwire.inbox.run import RunningInbox
from hushwire.inbox.web import start_web


async def _login(inbox: RunningInbox) -> tuple[aiohttp.ClientSession, str, str]:
    """A browser's login: the cookie from the link, then the page's one-time key."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    url = base(inbox)
    async with session.get(inbox.login_link, allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/"
        cookie = resp.cookies[cookie_name(inbox.web.port)].value
    async with session.post(f"{url}/api/session", json={}, headers={"Origin": url}) as resp:
        assert resp.status == 200
        key = (await resp.json())["key"]
    return session, cookie, key


def test_a_leaked_session_cookie_alone_opens_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (_, inbox):
            url = base(inbox)
            session, cookie, key = await _login(inbox)
            async with session:
                # The cookie is named for this UI's port: another inbox's does not clash.
                assert [c.key for c in session.cookie_jar] == [cookie_name(inbox.web.port)]
                async with session.get(f"{url}/api/conversations") as resp:
                    assert resp.status == 401  # the page's key is missing
                async with session.get(
                    f"{url}/api/conversations", headers={KEY_HEADER: key}
                ) as resp:
                    assert resp.status == 200
                # The key is handed out once, to the page that just logged in.
                async with session.post(
                    f"{url}/api/session", json={}, headers={"Origin": url}
                ) as resp:
                    assert resp.status == 403
                    assert "key" not in await resp.json()
            # Another server on 127.0.0.1 saw the cookie (cookies ignore ports) and
            # replays it: without the page's key it opens nothing.
            async with aiohttp.ClientSession() as thief:
                headers = {"Cookie": f"{cookie_name(inbox.web.port)}={cookie}", "Origin": url}
                for path in ("/api/conversations", "/api/settings", "/api/search?q=a"):
                    async with thief.get(url + path, headers=headers) as resp:
                        assert resp.status == 401, path
                async with thief.post(f"{url}/api/session", json={}, headers=headers) as resp:
                    assert resp.status == 403
                async with thief.get(f"{url}/ws", headers=headers) as resp:
                    assert resp.status == 401
                # Cookie and key together, but at another host name for this port: the
                # session is bound to the origin it was made for.
                bound = {**headers, KEY_HEADER: key}
                async with thief.get(f"{url}/api/conversations", headers=bound) as resp:
                    assert resp.status == 200
                moved = {**bound, "Host": f"localhost:{inbox.web.port}"}
                async with thief.get(f"{url}/api/conversations", headers=moved) as resp:
                    assert resp.status == 401
                # The live socket takes the key as a sub-protocol (browsers cannot set
                # headers on a WebSocket).
                async with thief.ws_connect(
                    f"{url}/ws", headers=headers, protocols=(WS_PROTOCOL, f"k.{key}")
                ) as ws:
                    assert ws.protocol == WS_PROTOCOL

    run(main)


def test_logout_revokes_the_session_on_the_server(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (_, inbox):
            url = base(inbox)
            session, cookie, key = await _login(inbox)
            headers = {"Cookie": f"{cookie_name(inbox.web.port)}={cookie}", KEY_HEADER: key}
            async with session:
                async with session.post(
                    f"{url}/logout", headers={"Origin": url}, allow_redirects=False
                ) as resp:
                    assert resp.status == 303
            # A copy of the cookie and key kept from before the logout is dead.
            async with aiohttp.ClientSession() as replay:
                async with replay.get(f"{url}/api/conversations", headers=headers) as resp:
                    assert resp.status == 401
                async with replay.get(f"{url}/", headers=headers) as resp:
                    assert resp.status == 401

    run(main)


def test_bad_headers_and_bodies_get_400_without_a_traceback(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (_, inbox):
            port = inbox.web.port
            # A non-ASCII bearer token (raw bytes: no client library would send them).
            reply = await _raw(
                port,
                b"GET /api/conversations HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                b"Authorization: Bearer \xff\xfe\xc3\xa9\r\nConnection: close\r\n\r\n" % port,
            )
            assert reply.startswith(b"HTTP/1.1 400 "), reply[:200]
            assert b"Traceback" not in reply
            # Deeply nested JSON (the parser would run out of stack).
            secret = inbox.service.secret
            deep = '{"text": ' + "[" * 30000 + "]" * 30000 + "}"
            async with aiohttp.ClientSession() as c:
                async with c.post(
                    f"{base(inbox)}/api/conversations/x/messages",
                    data=deep,
                    headers={
                        "Authorization": f"Bearer {secret}",
                        "Content-Type": "application/json",
                    },
                ) as resp:
                    assert resp.status == 400
                    assert "JSON" in (await resp.json())["error"]

    run(main)


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 20)
    finally:
        writer.close()


def test_slow_headers_are_cut_off(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (_, inbox):
            web = await start_web(inbox.service, 0, header_timeout=1.0)
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
                writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % web.port)

                async def drip() -> None:  # a header line every 0.2 s, never the end
                    for i in range(1000):
                        writer.write(b"X-Slow-%d: x\r\n" % i)
                        await writer.drain()
                        await asyncio.sleep(0.2)

                dripping = asyncio.create_task(drip())
                try:
                    # The server hangs up on its own (long before the drip would end).
                    assert await asyncio.wait_for(reader.read(), 60) == b""
                finally:
                    dripping.cancel()
                    await asyncio.gather(dripping, return_exceptions=True)
                    writer.close()
            finally:
                await web.stop()

    run(main)


def test_failed_logins_are_rate_limited_per_address(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (_, inbox):
            url = base(inbox)
            secret = inbox.service.secret
            async with aiohttp.ClientSession() as c:
                for _ in range(LoginLimiter.BURST):
                    async with c.get(f"{url}/login?token=wrong", allow_redirects=False) as r:
                        assert r.status == 403
                # Out of tries: even the right secret waits (else guessing would go on).
                async with c.get(f"{url}/login?token={secret}", allow_redirects=False) as r:
                    assert r.status == 429 and int(r.headers["Retry-After"]) > 0
                    assert "Set-Cookie" not in r.headers
                bearer = {"Authorization": f"Bearer {secret}"}
                async with c.get(f"{url}/api/conversations", headers=bearer) as r:
                    assert r.status == 429

    run(main)


def test_the_login_limiter_forgets_and_stays_bounded() -> None:
    now = [1000.0]
    limiter = LoginLimiter(clock=lambda: now[0], max_addresses=8)
    for _ in range(LoginLimiter.BURST):
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
    assert limiter.retry_after("a") > 0
    assert limiter.retry_after("b") == 0  # per address
    now[0] += LoginLimiter.REFILL_SECONDS
    assert limiter.retry_after("a") == 0  # one try back after a while
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) <= 8


def test_the_session_table_hands_the_key_out_once_binds_origins_and_stays_bounded() -> None:
    now = [1000.0]
    table = SessionTable(clock=lambda: now[0], max_sessions=3)
    origin = "http://127.0.0.1:8765"
    cookie = table.create(origin)
    assert table.page_ok(cookie, origin) and not table.page_ok(cookie, "http://localhost:8765")
    assert table.claim(cookie, "http://localhost:8765") is None  # another origin
    key = table.claim(cookie, origin)
    assert key is not None and table.claim(cookie, origin) is None  # once
    assert table.valid(cookie, key, origin)
    assert not table.valid(cookie, key + "x", origin) and not table.valid(cookie, "é", origin)
    assert not table.valid(cookie + "x", key, origin) and not table.valid(None, key, origin)
    # A key not claimed soon after login is never handed out.
    late = table.create(origin)
    now[0] += CLAIM_SECONDS + 1
    assert table.claim(late, origin) is None
    # Revoked, expired, or pushed out by newer logins: gone.
    assert table.revoke(cookie) and not table.valid(cookie, key, origin)
    old = table.create(origin)
    now[0] += SESSION_DAYS * 86400 + 1
    assert not table.page_ok(old, origin)
    for _ in range(10):
        table.create(origin)
    assert len(table) == 3
