"""``hushwire app serve``: the web app's static files, served with strict headers.

The app is one HTML page, one script (``static/app/hushwire-app.js``, built from
``widget/src/app/``; its crypto worker is embedded and started from a ``blob:``) pinned by its
Subresource Integrity hash, and one stylesheet. The page is also served at ``/invitation`` and
``/contact``, and at ``/a``, ``/i`` and ``/g`` for short links (a contact address, a one-time
invitation, a room), so a SimpleX link on the app's origin (``https://APP_HOST/invitation#/?...``)
opens the app, which joins it; the link's secrets are in the fragment, which browsers never
send, so they reach neither this server nor its request log (:attr:`AppServer.requests`).

Every response carries :func:`security_headers`: a Content-Security-Policy without
``unsafe-inline``/``unsafe-eval`` that requires Trusted Types, allows scripts from this origin,
the worker from ``blob:`` and connections to the relay's WebSocket only, and reports violations
to ``/csp-report`` (kept in :attr:`AppServer.reports`, bounded); COOP and CORP ``same-origin``,
no referrer, ``nosniff``, no camera, microphone or geolocation; the HTML is ``no-store``.
"""

from __future__ import annotations

import html
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import urlsplit

from aiohttp import web

from hushwire.errors import ConfigError
from hushwire.smp.address import SMPServer
from hushwire.widget import sri_hash

log = logging.getLogger("hushwire.app")

SCRIPT = "hushwire-app.js"
STYLES = "app.css"
PAGE_PATHS = ("/", "/invitation", "/contact", "/a", "/i", "/g")
REPORT_PATH = "/csp-report"
MAX_REPORT = 64 * 1024
MAX_REPORTS = 100
MAX_LOGGED = 1000
TRUSTED_TYPES_POLICY = "hushwire-app"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _asset(name: str) -> bytes:
    try:
        return resources.files("hushwire.static").joinpath("app").joinpath(name).read_bytes()
    except FileNotFoundError as e:  # pragma: no cover - the wheel always ships it
        raise ConfigError(f"the web app's {name} is missing: build it with `make app`") from e


def app_csp(ws_url: str) -> str:
    """The page's policy: nothing inline, Trusted Types enforced, the relay's WebSocket only."""
    return (
        "default-src 'none'; script-src 'self'; worker-src blob:; "
        f"connect-src {ws_url}; style-src 'self'; img-src 'none'; font-src 'none'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
        f"require-trusted-types-for 'script'; trusted-types {TRUSTED_TYPES_POLICY}; "
        f"report-uri {REPORT_PATH}; report-to csp"
    )


def security_headers(ws_url: str, *, page: bool) -> dict[str, str]:
    """The headers of every response (``page``: the HTML, which is never stored)."""
    return {
        "Content-Security-Policy": app_csp(ws_url),
        "Reporting-Endpoints": f'csp="{REPORT_PATH}"',
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Cache-Control": "no-store" if page else "no-cache",
    }


def _check(relay: str, ws_url: str) -> None:
    SMPServer.parse(relay)  # DecodeError with the reason
    ws = urlsplit(ws_url)
    if ws.scheme not in ("ws", "wss") or not ws.netloc or any(c in ws_url for c in " ;,'\""):
        raise ConfigError("--ws must be the relay's WebSocket URL, e.g. wss://relay.example.com/")


def page_html(relay: str, ws_url: str, script: bytes, styles: bytes) -> str:
    """The app's one page; every value is HTML-escaped."""
    esc = html.escape
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hushwire</title>
<meta name="hushwire-relay" content="{esc(relay)}">
<meta name="hushwire-ws" content="{esc(ws_url)}">
<link rel="stylesheet" href="/app/{STYLES}" integrity="{sri_hash(styles)}" crossorigin="anonymous">
<script src="/app/{SCRIPT}" integrity="{sri_hash(script)}" crossorigin="anonymous" defer></script>
</head>
<body>
<main id="app"></main>
<noscript>The Hushwire web app needs JavaScript: all encryption happens in your browser.</noscript>
</body>
</html>
"""


@dataclass
class AppServer:
    """The app's aiohttp application and what it recorded (request lines, CSP reports)."""

    relay: str
    ws_url: str
    requests: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_LOGGED))
    reports: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check(self.relay, self.ws_url)

    def app(self) -> web.Application:
        script, styles = _asset(SCRIPT), _asset(STYLES)
        page = page_html(self.relay, self.ws_url, script, styles).encode()

        @web.middleware
        async def harden(request: web.Request, handler: Handler) -> web.StreamResponse:
            # The request line as the server sees it: path and query, never a fragment.
            line = f"{request.method} {request.path_qs}"
            self.requests.append(line)
            log.info("%s", line)
            is_page = request.path in PAGE_PATHS
            try:
                resp = await handler(request)
            except web.HTTPException as e:
                e.headers.update(security_headers(self.ws_url, page=is_page))
                raise
            resp.headers.update(security_headers(self.ws_url, page=is_page))
            return resp

        async def index(_: web.Request) -> web.Response:
            return web.Response(body=page, content_type="text/html", charset="utf-8")

        async def js(_: web.Request) -> web.Response:
            return web.Response(body=script, content_type="text/javascript", charset="utf-8")

        async def css(_: web.Request) -> web.Response:
            return web.Response(body=styles, content_type="text/css", charset="utf-8")

        async def report(request: web.Request) -> web.Response:
            body = await request.content.read(MAX_REPORT + 1)
            if len(body) > MAX_REPORT:
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_REPORT, actual_size=len(body))
            if len(self.reports) < MAX_REPORTS:
                self.reports.append(body)
            log.warning("CSP report received (%d bytes)", len(body))
            return web.Response(status=204)

        app = web.Application(middlewares=[harden], client_max_size=MAX_REPORT)
        for path in PAGE_PATHS:
            app.router.add_get(path, index)
        app.router.add_get(f"/app/{SCRIPT}", js)
        app.router.add_get(f"/app/{STYLES}", css)
        app.router.add_post(REPORT_PATH, report)
        return app


@dataclass
class RunningApp:
    server: AppServer
    runner: web.AppRunner
    url: str

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_app(
    relay: str, ws_url: str, *, host: str = "127.0.0.1", port: int = 0
) -> RunningApp:
    """Serve the app on ``host:port`` (0: a free port); its URL is in the result."""
    server = AppServer(relay, ws_url)
    runner = web.AppRunner(server.app(), access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    return RunningApp(server, runner, f"http://{shown}:{bound}/")
