"""The inbox service against a real relay (in-process) and a Python visitor agent: history,
unread counts, replies, receipts as ticks, ending, search, the login rules of the web UI and
the terminal commands against the running service."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import aiohttp

from hushwire.agent.agent import (
    Agent,
    AgentEvent,
    ConnectionEstablished,
    MessageReceived,
    ReceiptReceived,
)
from hushwire.agent.qr import qr_svg
from hushwire.chat.messages import (
    Profile,
    XDirectDel,
    XInfo,
    XMsgNew,
    interpret,
    parse_chat_body,
    x_direct_del,
    x_info,
    x_msg_new_text,
)
from hushwire.client import ClientConfig
from hushwire.inbox.auth import KEY_HEADER, WS_PROTOCOL, cookie_name, service_port
from hushwire.inbox.run import RunningInbox, print_banner, start_inbox
from hushwire.inbox.service import WIDGET_NOTE
from hushwire.server.config import RelayConfig
from hushwire.server.run import RunningRelay, start_relay

E = TypeVar("E")
CFG = ClientConfig(ping_interval=None, command_timeout=10)
XSS = "<img src=x onerror=alert(1)>"


def run(coro: Callable[[], Awaitable[None]], timeout: float = 120) -> None:
    asyncio.run(asyncio.wait_for(coro(), timeout))


@asynccontextmanager
async def relay_and_inbox(
    tmp: Path, name: str = "Acme support"
) -> AsyncIterator[tuple[RunningRelay, RunningInbox]]:
    r = await start_relay(RelayConfig(data=tmp / "relay", ws=("127.0.0.1", 0), host="127.0.0.1"))
    try:
        inbox = await start_inbox(
            tmp / "inbox", r.address, ws_url=ws_url(r), name=name, client_config=CFG
        )
        try:
            yield r, inbox
        finally:
            await inbox.stop()
    finally:
        await r.stop()


def ws_url(r: RunningRelay) -> str:
    return f"ws://127.0.0.1:{r.ws_port}/"


async def visitor_joins(
    r: RunningRelay, tmp: Path, inbox: RunningInbox, name: str = "Ada"
) -> tuple[Agent, str]:
    visitor = Agent(tmp / f"visitor-{name}", r.address, ws_url=ws_url(r), client_config=CFG)
    await visitor.start()
    conn = await visitor.join(
        inbox.service.address, x_info(Profile(display_name=name)).encode_conn_info()
    )
    est = await wait_for(visitor, ConnectionEstablished)
    owner = interpret(parse_chat_body(est.info)[0])
    assert isinstance(owner, XInfo) and owner.profile.display_name == inbox.service.name
    await poll(lambda: any(c.status == "online" for c in inbox.service.conversations()))
    return visitor, conn


async def wait_for(agent: Agent, kind: type[E], pred: Callable[[E], bool] = lambda e: True) -> E:
    while True:
        ev: AgentEvent = await asyncio.wait_for(agent.events.get(), 20)
        if isinstance(ev, kind) and pred(ev):
            return ev


async def poll(cond: Callable[[], bool], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.05)


def say(text: str) -> bytes:
    return x_msg_new_text(text, os.urandom(12)).encode()


def chat_text(ev: MessageReceived) -> str | None:
    chat = interpret(parse_chat_body(ev.body)[0])
    return chat.text if isinstance(chat, XMsgNew) else None


async def logged_in(inbox: RunningInbox) -> aiohttp.ClientSession:
    """A browser after login: the session cookie, and the key the page claims (sent on
    every request, as the page does)."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(inbox.login_link, allow_redirects=False) as resp:
        assert resp.status == 303
    async with session.post(
        f"{base(inbox)}/api/session", json={}, headers={"Origin": base(inbox)}
    ) as resp:
        assert resp.status == 200
        session.headers[KEY_HEADER] = (await resp.json())["key"]
    return session


def ws_protocols(session: aiohttp.ClientSession) -> tuple[str, str]:
    """The page's WebSocket sub-protocols: ours, and the session key."""
    return (WS_PROTOCOL, f"k.{session.headers[KEY_HEADER]}")


def base(inbox: RunningInbox) -> str:
    return f"http://127.0.0.1:{inbox.web.port}"


async def cli(data: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hushwire", "inbox", *args, "--data", str(data),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def test_a_visitor_conversation_from_hello_to_end(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (r, inbox):
            service = inbox.service
            visitor, v_conn = await visitor_joins(r, tmp_path, inbox, name="Ada <b>Lovelace</b>")
            (conv,) = service.conversations()
            assert conv.name == "Ada <b>Lovelace</b>" and conv.status == "online"
            assert conv.unread == 0

            # The visitor writes; each message is stored, then acknowledged with a receipt.
            await visitor.send(v_conn, say("hello, is anyone there?"))
            await visitor.send(v_conn, say(XSS))
            for _ in range(2):
                assert (await wait_for(visitor, ReceiptReceived)).ok
            conv = service.store.conversation(conv.id)  # type: ignore[assignment]
            assert conv is not None and conv.unread == 2 and conv.last_text == XSS
            texts = [(m.direction, m.text, m.state) for m in service.store.messages(conv.id)]
            assert texts == [
                ("in", "hello, is anyone there?", "received"),
                ("in", XSS, "received"),
            ]

            session = await logged_in(inbox)
            async with session:
                async with session.get(f"{base(inbox)}/api/conversations") as resp:
                    assert resp.status == 200
                    assert resp.content_type == "application/json"
                    listed = (await resp.json())["conversations"]
                assert [(c["name"], c["unread"], c["status"]) for c in listed] == [
                    ("Ada <b>Lovelace</b>", 2, "online")
                ]
                # HTML in a message is stored and served as JSON text, never as markup.
                async with session.get(f"{base(inbox)}/api/conversations/{conv.id[:8]}") as resp:
                    raw = await resp.text()
                    got = json.loads(raw)
                assert [m["text"] for m in got["messages"]][-1] == XSS
                assert resp.content_type == "application/json"

                # Live updates: the WebSocket pushes the next message.
                origin = {"Origin": base(inbox)}
                async with session.ws_connect(
                    f"{base(inbox)}/ws", headers=origin, protocols=ws_protocols(session)
                ) as ws:
                    await visitor.send(v_conn, say("third"))
                    while True:
                        update = await asyncio.wait_for(ws.receive_json(), 20)
                        if update["type"] == "message":
                            break
                    assert update["message"]["text"] == "third"
                    assert update["message"]["direction"] == "in"

                    # The owner replies; the visitor gets it; its receipt makes a tick.
                    async with session.post(
                        f"{base(inbox)}/api/conversations/{conv.id}/messages",
                        json={"text": "Hi Ada, how can we help?"},
                        headers=origin,
                    ) as resp:
                        assert resp.status == 200, await resp.text()
                        sent = (await resp.json())["message"]
                    assert sent["state"] == "pending" and sent["direction"] == "out"
                    reply = await wait_for(visitor, MessageReceived)
                    assert chat_text(reply) == "Hi Ada, how can we help?"
                    await visitor.ack_message(reply.msg_id, receipt=True)
                    states = set()
                    while "delivered" not in states:
                        update = await asyncio.wait_for(ws.receive_json(), 20)
                        if update["type"] == "message" and update["message"]["id"] == sent["id"]:
                            states.add(update["message"]["state"])
                    assert service.store.message(sent["id"]).state == "delivered"  # type: ignore[union-attr]

                # Reading the conversation clears its unread count.
                async with session.post(
                    f"{base(inbox)}/api/conversations/{conv.id}/read", json={}, headers=origin
                ) as resp:
                    assert resp.status == 200
                assert service.store.conversation(conv.id).unread == 0  # type: ignore[union-attr]

                # Search over local history; LIKE wildcards are taken literally.
                async with session.get(f"{base(inbox)}/api/search", params={"q": "ONERROR"}) as s:
                    results = (await s.json())["results"]
                assert [x["text"] for x in results] == [XSS]
                assert results[0]["name"] == "Ada <b>Lovelace</b>"
                async with session.get(f"{base(inbox)}/api/search", params={"q": "%"}) as s:
                    assert (await s.json())["results"] == []

                # Settings: the address, its QR code as an SVG image, the widget snippet.
                async with session.get(f"{base(inbox)}/api/settings") as resp:
                    settings = await resp.json()
                assert settings["address"] == service.address
                assert settings["short_address"] == service.short_address
                assert (service.short_address or "").startswith("https://127.0.0.1/a#")
                assert settings["name"] == "Acme support"
                # The widget is built, so the settings carry its embed snippet.
                assert settings["snippet_note"] is None
                assert settings["snippet"].startswith('<script src="/hushwire-widget.js"')
                assert 'integrity="sha384-' in settings["snippet"]
                # ...which names the short link (the widget resolves it with its short module).
                short_attr = (service.short_address or "").replace("&", "&amp;")
                assert f'data-address="{short_attr}"' in settings["snippet"]
                async with session.get(f"{base(inbox)}/qr.svg") as resp:
                    assert resp.content_type == "image/svg+xml"
                    svg = await resp.text()
                    assert svg.lstrip().startswith("<svg")
                # The QR code encodes the short link, not the full one...
                short = settings["short_address"]
                assert svg == qr_svg(short, scale=6)
                assert svg != qr_svg(service.address, scale=6)
                # ... and the full link when the address has no short link.
                service.short_address = None
                try:
                    async with session.get(f"{base(inbox)}/api/settings") as resp:
                        assert (await resp.json())["short_address"] is None
                    async with session.get(f"{base(inbox)}/qr.svg") as resp:
                        assert await resp.text() == qr_svg(service.address, scale=6)
                finally:
                    service.short_address = short

            # The terminal commands talk to the running service.
            data = tmp_path / "inbox"
            code, out, _ = await cli(data, "list")
            assert code == 0 and conv.id[:8] in out and "Ada <b>Lovelace</b>" in out
            code, out, _ = await cli(data, "read", conv.id[:8])
            assert code == 0
            assert "hello, is anyone there?" in out and XSS in out
            assert "you: Hi Ada, how can we help? ✓✓" in out
            code, out, _ = await cli(data, "reply", conv.id[:6], "From", "the terminal")
            assert (code, out.strip()) == (0, "Sent.")
            reply = await wait_for(visitor, MessageReceived)
            assert chat_text(reply) == "From the terminal"
            code, _, err = await cli(data, "read", "zzzz")
            assert code == 2 and "no conversation 'zzzz'" in err
            code, out, _ = await cli(data, "link")
            assert code == 0 and out.strip() == inbox.login_link

            # Ending: the visitor is told (x.direct.del), the connection and history go.
            code, out, err = await cli(data, "end", conv.id[:8])
            assert code == 0, err
            bye = await wait_for(visitor, MessageReceived)
            assert isinstance(interpret(parse_chat_body(bye.body)[0]), XDirectDel)
            assert service.conversations() == []
            assert service.store.messages(conv.id) == []
            assert service.agent.connection(conv.id) is None
            await visitor.stop()

    run(main)


def test_the_visitor_ends_and_the_history_stays_until_deleted(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (r, inbox):
            service = inbox.service
            visitor, v_conn = await visitor_joins(r, tmp_path, inbox, name="Bo")
            await visitor.send(v_conn, say("thanks, bye"))
            await visitor.send(v_conn, x_direct_del().encode())
            await poll(lambda: service.conversations()[0].status == "ended")
            (conv,) = service.conversations()
            assert conv.name == "Bo" and conv.last_text == "thanks, bye"
            await poll(lambda: service.agent.connection(conv.id) is None)
            session = await logged_in(inbox)
            async with session:
                origin = {"Origin": base(inbox)}
                url = f"{base(inbox)}/api/conversations/{conv.id}"
                async with session.post(f"{url}/messages", json={"text": "x"}, headers=origin) as p:
                    assert p.status == 409
                    assert "ended" in (await p.json())["error"]
                async with session.post(f"{url}/end", json={}, headers=origin) as p:
                    assert p.status == 200
            assert service.conversations() == []
            await visitor.stop()

    run(main)


def test_login_secret_and_cookie_rules(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (_, inbox):
            data = tmp_path / "inbox"
            secret_file = data / "secret"
            assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
            assert stat.S_IMODE((data / "inbox.sqlite3").stat().st_mode) == 0o600
            assert stat.S_IMODE(data.stat().st_mode) == 0o700
            secret = inbox.service.secret
            assert secret_file.read_text().strip() == secret and len(secret) >= 40
            assert service_port(data) == inbox.web.port
            url = base(inbox)
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as anon:
                # Without the cookie: the page asks for the login link, the API says 401.
                async with anon.get(f"{url}/") as resp:
                    assert resp.status == 401
                    assert "login link" in await resp.text()
                    csp = resp.headers["Content-Security-Policy"]
                    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
                    assert resp.headers["X-Frame-Options"] == "DENY"
                for path in ("/api/conversations", "/api/search?q=a", "/api/settings", "/qr.svg"):
                    async with anon.get(url + path) as resp:
                        assert resp.status == 401, path
                async with anon.post(f"{url}/api/conversations/x/end", json={}) as resp:
                    assert resp.status == 401
                async with anon.get(f"{url}/ws") as resp:
                    assert resp.status == 401
                # A wrong token gets no cookie.
                async with anon.get(
                    f"{url}/login?token={secret[:-1]}x", allow_redirects=False
                ) as r:
                    assert r.status == 403 and "Set-Cookie" not in r.headers
                async with anon.get(f"{url}/login", allow_redirects=False) as resp:
                    assert resp.status == 403 and "Set-Cookie" not in resp.headers
                assert len(jar) == 0
                # A made-up session cookie is refused.
                anon.cookie_jar.update_cookies({cookie_name(inbox.web.port): "1.abc.def"})
                async with anon.get(f"{url}/api/conversations") as resp:
                    assert resp.status == 401
                # The right token: an HttpOnly, SameSite=Strict session that is not the secret.
                async with anon.get(f"{url}/login?token={secret}", allow_redirects=False) as r:
                    assert r.status == 303 and r.headers["Location"] == "/"
                    set_cookie = r.headers["Set-Cookie"]
                assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
                session_value = r.cookies[cookie_name(inbox.web.port)].value
                assert secret not in session_value
                # The page claims the key that goes with the cookie (see auth).
                async with anon.post(
                    f"{url}/api/session", json={}, headers={"Origin": url}
                ) as resp:
                    anon.headers[KEY_HEADER] = (await resp.json())["key"]
                async with anon.get(f"{url}/api/conversations") as resp:
                    assert resp.status == 200
                    assert resp.headers["Cache-Control"] == "no-store"
                async with anon.get(f"{url}/") as resp:
                    assert resp.status == 200
                    page = await resp.text()
                    assert "<script" not in page.replace('<script src="/static/inbox.js"', "")
                    assert 'aria-label="Conversations"' in page
                async with anon.get(f"{url}/static/inbox.js") as resp:
                    assert resp.content_type == "text/javascript"
                    assert ".innerHTML" not in await resp.text()
                # Changes need our own origin with the cookie (no cross-site requests).
                async with anon.post(
                    f"{url}/api/conversations/x/end",
                    json={},
                    headers={"Origin": "http://evil.example"},
                ) as resp:
                    assert resp.status == 403
                async with anon.post(f"{url}/api/conversations/x/end", json={}) as resp:
                    assert resp.status == 403
                # A foreign Host name (DNS rebinding) is refused.
                async with anon.get(
                    f"{url}/api/conversations", headers={"Host": "evil.example"}
                ) as resp:
                    assert resp.status == 421
            # The terminal commands' bearer token is the install secret itself.
            async with aiohttp.ClientSession() as bearer:
                headers = {"Authorization": f"Bearer {secret}"}
                async with bearer.get(f"{url}/api/conversations", headers=headers) as resp:
                    assert resp.status == 200
                headers = {"Authorization": f"Bearer {secret}x"}
                async with bearer.get(f"{url}/api/conversations", headers=headers) as resp:
                    assert resp.status == 401

    run(main)


def test_banner_names_the_address_and_the_missing_widget(tmp_path: Path) -> None:
    import io

    async def main() -> None:
        async with relay_and_inbox(tmp_path, name="Shop") as (_, inbox):
            out = io.StringIO()
            print_banner(inbox, out, qr=True, show_login=False)
            text = out.getvalue()
            assert inbox.service.address in text and WIDGET_NOTE not in text
            assert inbox.service.snippet is not None and inbox.service.snippet in text
            assert inbox.service.secret not in text
            assert "hushwire inbox link --data" in text
            out = io.StringIO()
            print_banner(inbox, out, qr=False, show_login=True)
            assert inbox.login_link in out.getvalue()

    run(main)


def test_restart_keeps_address_history_and_secret(tmp_path: Path) -> None:
    async def main() -> None:
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        data = tmp_path / "inbox"
        inbox = await start_inbox(data, r.address, ws_url=ws_url(r), name="Acme", client_config=CFG)
        visitor, v_conn = await visitor_joins(r, tmp_path, inbox)
        await visitor.send(v_conn, say("before restart"))
        await wait_for(visitor, ReceiptReceived)
        address, secret = inbox.service.address, inbox.service.secret
        await inbox.stop()
        assert service_port(data) is None
        again = await start_inbox(data, r.address, ws_url=ws_url(r), client_config=CFG)
        try:
            assert again.service.address == address and again.service.secret == secret
            assert again.service.name == "Acme"  # kept from the first run
            (conv,) = again.service.conversations()
            assert conv.last_text == "before restart" and conv.status == "online"
            await visitor.send(v_conn, say("after restart"))
            await poll(lambda: again.service.conversations()[0].last_text == "after restart")
        finally:
            await again.stop()
            await visitor.stop()
            await r.stop()

    run(main)


def test_terminal_commands_say_when_the_service_is_not_running(tmp_path: Path) -> None:
    for args in (["list"], ["read", "abc"], ["reply", "abc", "hi"], ["end", "abc"], ["link"]):
        proc = subprocess.run(
            [sys.executable, "-m", "hushwire", "inbox", *args, "--data", str(tmp_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 2
        assert "the inbox service is not running: start it with `hushwire inbox --data" in (
            proc.stderr
        )


def test_the_secret_is_not_sent_to_another_program_on_a_stale_port(tmp_path: Path) -> None:
    import http.server
    import threading

    seen: list[str] = []

    class Impostor(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.path} {self.headers}")
            body = json.dumps({"proof": "0" * 64, "conversations": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Impostor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (tmp_path / "secret").write_text("s3cret-s3cret-s3cret-s3cret\n")
        port = server.server_address[1]
        (tmp_path / "service.json").write_text(json.dumps({"port": port, "pid": 1}))
        proc = subprocess.run(
            [sys.executable, "-m", "hushwire", "inbox", "list", "--data", str(tmp_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert proc.returncode == 2 and "not running" in proc.stderr
    assert seen and all("s3cret" not in s for s in seen)


def test_the_service_as_a_process_and_the_terminal_commands_in_process(tmp_path: Path) -> None:
    import io
    import signal

    from hushwire.errors import ConfigError
    from hushwire.inbox.remote import run_remote

    async def main() -> None:
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        data = tmp_path / "inbox"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hushwire", "inbox", "--data", str(data),
            "--relay", r.address.encode(), "--ws", ws_url(r), "--name", "Desk",
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            lines: list[str] = []
            while not lines or not lines[-1].startswith("Log in:"):
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                assert line, lines
                lines.append(line.decode().rstrip("\n"))
            assert lines[0] == "Contact address (Desk):"
            assert lines[1].startswith("https://127.0.0.1/a#")  # the short link first
            assert lines[2].startswith("simplex:/contact#/?v=2-7&smp=")
            assert WIDGET_NOTE not in lines
            assert any(x.startswith('<script src="/hushwire-widget.js"') for x in lines)
            # Not a terminal: the secret is not printed, the way to get the link is.
            assert (
                lines[-1] == f"Log in: run `hushwire inbox link --data {data}` for the login link"
            )

            async def remote(*args: str) -> str:
                out = io.StringIO()
                code = await asyncio.to_thread(run_remote, data, args[0], list(args[1:]), out)
                assert code == 0
                return out.getvalue()

            assert await remote("list") == "No conversations yet.\n"
            link = await remote("link")
            assert link.startswith("http://127.0.0.1:") and "/login?token=" in link
            for bad in (("read",), ("reply", "x"), ("end", "a", "b")):
                try:
                    await remote(*bad)
                except ConfigError as e:
                    assert "usage: hushwire inbox" in str(e)
                else:
                    raise AssertionError(bad)
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
            assert not (data / "service.json").exists()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await r.stop()

    run(main)
