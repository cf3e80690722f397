"""The inbox's local web server (aiohttp): the page, a JSON API and a WebSocket of updates.

Bound to 127.0.0.1 only. Every API call and the WebSocket need either the session cookie
(set by ``/login?token=SECRET``) or, for the terminal commands, ``Authorization: Bearer
SECRET``; both are compared in constant time. Further rules:

* the ``Host`` header must name the loopback address and our port (no DNS rebinding);
* requests that change something, and the WebSocket, must come from our own origin when
  they carry the cookie (no cross-site requests);
* every response has a strict Content-Security-Policy (scripts, styles and connections from
  this origin only, nothing inline), ``X-Frame-Options: DENY``, ``nosniff`` and
  ``Referrer-Policy: no-referrer``; the API is never cached.

Message text travels as JSON strings and the page writes it with ``textContent``: it is
never HTML.

The session cookie is half a session (see :mod:`hushwire.inbox.auth`): alone it opens the
page shell and the QR code only, because browsers also send it to other servers on
127.0.0.1; API calls need the page's key as well (``X-Hushwire-Key``; the WebSocket offers
it as a sub-protocol), and ``/logout`` revokes the session on the server. Failed logins
are rate-limited per client address, a request head must arrive within
:data:`HEADER_TIMEOUT` seconds, and malformed credentials or over-nested JSON get 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from hushwire.agent.qr import qr_svg
from hushwire.errors import HushwireError
from hushwire.inbox.auth import (
    KEY_HEADER,
    SESSION_DAYS,
    WS_PROTOCOL,
    LoginLimiter,
    SessionTable,
    cookie_name,
    same_secret,
    service_proof,
)
from hushwire.inbox.service import InboxError, InboxService

log = logging.getLogger("hushwire.inbox.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATIC = {
    "inbox.js": "text/javascript",
    "inbox.css": "text/css",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MAX_BODY = 64 * 1024
HEADER_TIMEOUT = 15.0
"""Seconds a connection may take to send a whole request head (and to idle between
requests): slow-header clients (slowloris) are cut off."""

SERVICE_KEY: web.AppKey[InboxService] = web.AppKey("service", InboxService)
PORT_KEY: web.AppKey[list[int]] = web.AppKey("port", list)
SESSIONS_KEY: web.AppKey[SessionTable] = web.AppKey("sessions", SessionTable)
LIMITER_KEY: web.AppKey[LoginLimiter] = web.AppKey("limiter", LoginLimiter)


class _Refused(HushwireError):
    """A request refused before its handler runs; the middleware answers ``response``."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _asset(name: str) -> bytes:
    return resources.files("hushwire").joinpath("static", "inbox", name).read_bytes()


def _csp(host: str) -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' ws://{host}; font-src 'none'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _port(request: web.Request) -> int:
    return request.app[PORT_KEY][0]


def _host_ok(request: web.Request) -> bool:
    port = _port(request)
    return request.host in {f"{h}:{port}" for h in LOOPBACK_HOSTS}


def _origin_ok(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is not None and origin == f"http://{request.host}"


def _own_origin(request: web.Request) -> str:
    return f"http://{request.host}"


def _cookie(request: web.Request) -> str | None:
    return request.cookies.get(cookie_name(_port(request)))


def _check_limit(request: web.Request) -> None:
    wait = request.app[LIMITER_KEY].retry_after(request.remote or "")
    if wait:
        resp = _error(429, "too many failed logins from this address: try again later")
        resp.headers["Retry-After"] = str(wait)
        raise _Refused(resp)


def _failed(request: web.Request) -> None:
    request.app[LIMITER_KEY].failed(request.remote or "")


def _authorised(request: web.Request, key: str | None = None) -> str | None:
    """``session`` (the cookie and the page's key), ``bearer`` (the install secret, for the
    terminal commands) or None. Raises :class:`_Refused` for a malformed header (400) and
    for an address out of login tries (429)."""
    auth = request.headers.get("Authorization")
    key = request.headers.get(KEY_HEADER) if key is None else key
    for value in (auth, key):
        if value is not None and not value.isascii():
            raise _Refused(_error(400, "credentials must be ASCII"))
    if auth is not None:
        _check_limit(request)
        if auth.startswith("Bearer ") and same_secret(
            auth[7:].strip(), request.app[SERVICE_KEY].secret
        ):
            return "bearer"
        _failed(request)
        return None
    if key:
        _check_limit(request)
        if request.app[SESSIONS_KEY].valid(_cookie(request), key, _own_origin(request)):
            return "session"
        _failed(request)
    return None


def _page_ok(request: web.Request) -> bool:
    """The session cookie alone: enough for the page shell and the QR code only."""
    return request.app[SESSIONS_KEY].page_ok(_cookie(request), _own_origin(request))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _harden(request: web.Request, headers: Any) -> None:
    headers["Content-Security-Policy"] = _csp(request.host)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.path.startswith("/api/") or request.path in ("/login", "/logout", "/qr.svg"):
        headers["Cache-Control"] = "no-store"


@web.middleware
async def _security(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _host_ok(request):
        resp: web.StreamResponse = web.Response(
            status=421, text="Open the inbox at http://127.0.0.1:PORT/ (the address it printed)."
        )
    else:
        try:
            resp = await handler(request)
        except _Refused as e:
            resp = e.response
        except web.HTTPException as e:
            _harden(request, e.headers)
            raise
    if not resp.prepared:
        _harden(request, resp.headers)
    return resp


def _api(handler: Handler) -> Handler:
    """Authentication, same-origin and error mapping for an API handler."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        how = _authorised(request)
        if how is None:
            return _error(401, "not logged in: open the login link the inbox printed")
        if how == "session" and request.method != "GET" and not _origin_ok(request):
            return _error(403, "cross-origin request refused")
        try:
            return await handler(request)
        except InboxError as e:
            return _error(e.status, str(e))

    return wrapped


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise InboxError("send JSON (Content-Type: application/json)", 415)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise InboxError("request too large", 413)
    try:
        body = json.loads(await request.text())
    except (ValueError, RecursionError) as e:  # RecursionError: nested too deeply
        raise InboxError("the request body is not JSON (or is nested too deeply)") from e
    if not isinstance(body, dict):
        raise InboxError("the request body must be a JSON object")
    return body


def _service(request: web.Request) -> InboxService:
    return request.app[SERVICE_KEY]


# ---------------------------------------------------------------------- pages


async def index(request: web.Request) -> web.StreamResponse:
    if not _page_ok(request):
        return web.Response(
            status=401,
            content_type="text/html",
            charset="utf-8",
            text=(
                "<!doctype html><html lang=en><meta charset=utf-8><title>Hushwire inbox</title>"
                "<h1>Hushwire inbox</h1><p>Open the login link the inbox printed in its "
                "terminal, or run <code>hushwire inbox link --data DIR</code> to see it.</p>"
            ),
        )
    return web.Response(body=_asset("index.html"), content_type="text/html", charset="utf-8")


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    return web.Response(body=_asset(name), content_type=STATIC[name], charset="utf-8")


async def login(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    _check_limit(request)
    token = request.query.get("token", "")
    if not token or not same_secret(token, service.secret):
        _failed(request)
        return web.Response(
            status=403,
            text="This login link is not valid: use the link the inbox printed.",
        )
    resp = web.Response(status=303, headers={"Location": "/"})
    resp.set_cookie(
        cookie_name(_port(request)),
        request.app[SESSIONS_KEY].create(_own_origin(request)),
        max_age=SESSION_DAYS * 86400,
        path="/",
        httponly=True,
        samesite="Strict",
    )
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    if not _origin_ok(request):
        return _error(403, "cross-origin request refused")
    request.app[SESSIONS_KEY].revoke(_cookie(request))
    resp = web.Response(status=303, headers={"Location": "/"})
    resp.del_cookie(cookie_name(_port(request)), path="/")
    return resp


async def api_session(request: web.Request) -> web.StreamResponse:
    """The page claims its session key, once, right after login (see auth)."""
    if not _origin_ok(request):
        return _error(403, "cross-origin request refused")
    key = request.app[SESSIONS_KEY].claim(_cookie(request), _own_origin(request))
    if key is None:
        return _error(403, "no session key to hand out: open the login link again")
    return web.json_response({"key": key})


# ---------------------------------------------------------------------- API


async def api_proof(request: web.Request) -> web.StreamResponse:
    """Unauthenticated: proves to a terminal command that this is the inbox (see auth)."""
    nonce = request.query.get("nonce", "")
    if not 16 <= len(nonce) <= 128:
        return _error(400, "give a nonce of 16 to 128 characters")
    return web.json_response({"proof": service_proof(_service(request).secret, nonce)})


@_api
async def api_conversations(request: web.Request) -> web.StreamResponse:
    convs = _service(request).conversations()
    return web.json_response({"conversations": [c.to_json() for c in convs]})


@_api
async def api_conversation(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    conv, messages = service.conversation(service.resolve(request.match_info["id"]))
    return web.json_response(
        {"conversation": conv.to_json(), "messages": [m.to_json() for m in messages]}
    )


@_api
async def api_read(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    service.mark_read(service.resolve(request.match_info["id"]))
    return web.json_response({"ok": True})


@_api
async def api_reply(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    body = await _json_body(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise InboxError('give the reply as {"text": "..."}')
    msg = await service.reply(service.resolve(request.match_info["id"]), text)
    return web.json_response({"message": msg.to_json()})


@_api
async def api_end(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    await service.end(service.resolve(request.match_info["id"]))
    return web.json_response({"ok": True})


@_api
async def api_change_relay(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    await service.change_relay(service.resolve(request.match_info["id"]))
    return web.json_response({"ok": True})


@_api
async def api_search(request: web.Request) -> web.StreamResponse:
    return web.json_response({"results": _service(request).search(request.query.get("q", ""))})


@_api
async def api_settings(request: web.Request) -> web.StreamResponse:
    return web.json_response(_service(request).settings())


async def qr(request: web.Request) -> web.StreamResponse:
    # The contact address is public (it goes on the website): the cookie alone suffices,
    # as for an <img> the page cannot add its key. The code encodes the short link when
    # the relay gave one (SMP v15+), the full link otherwise.
    if not _page_ok(request) and _authorised(request) is None:
        return _error(401, "not logged in: open the login link the inbox printed")
    service = _service(request)
    svg = qr_svg(service.short_address or service.address, scale=6)
    return web.Response(text=svg, content_type="image/svg+xml", charset="utf-8")


async def websocket(request: web.Request) -> web.StreamResponse:
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    key = next((p[2:] for p in offered if p.startswith("k.")), "")
    if not key or _authorised(request, key) != "session" or not _origin_ok(request):
        return _error(401, "not logged in")
    service = _service(request)
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096, protocols=(WS_PROTOCOL,))
    await ws.prepare(request)
    sub = service.subscribe()

    async def pump() -> None:
        while True:
            update = await sub.queue.get()
            await ws.send_json(update)

    sender = asyncio.create_task(pump())
    try:
        async for msg in ws:  # the page sends nothing but pings; anything else is ignored
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
        service.unsubscribe(sub)
    return ws


def make_app(service: InboxService) -> web.Application:
    app = web.Application(middlewares=[_security], client_max_size=MAX_BODY)
    app[SERVICE_KEY] = service
    app[PORT_KEY] = [0]
    app[SESSIONS_KEY] = SessionTable()
    app[LIMITER_KEY] = LoginLimiter()
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/qr.svg", qr)
    app.router.add_get("/ws", websocket)
    app.router.add_get("/api/proof", api_proof)
    app.router.add_post("/api/session", api_session)
    app.router.add_get("/api/conversations", api_conversations)
    app.router.add_get("/api/conversations/{id}", api_conversation)
    app.router.add_post("/api/conversations/{id}/read", api_read)
    app.router.add_post("/api/conversations/{id}/messages", api_reply)
    app.router.add_post("/api/conversations/{id}/end", api_end)
    app.router.add_post("/api/conversations/{id}/change-relay", api_change_relay)
    app.router.add_get("/api/search", api_search)
    app.router.add_get("/api/settings", api_settings)
    return app


@dataclass
class WebServer:
    runner: web.AppRunner
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_web(
    service: InboxService, port: int = 0, *, header_timeout: float = HEADER_TIMEOUT
) -> WebServer:
    """Serve the UI on 127.0.0.1:``port`` (0: a free port); the port is in the result.

    ``header_timeout`` is aiohttp's keep-alive timer, which also runs from the moment a
    connection opens until its request head is complete: a client that trickles its
    headers is closed after that many seconds."""
    app = make_app(service)
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=2, keepalive_timeout=header_timeout
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    app[PORT_KEY][0] = bound
    return WebServer(runner, bound)
