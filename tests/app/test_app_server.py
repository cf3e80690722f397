"""``hushwire app serve``: every route answers with exactly the headers the app promises, the
page pins its script and stylesheet by SRI, CSP reports are kept (bounded), and the request log
holds paths and queries only."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hushwire.app.server import (
    MAX_REPORT,
    PAGE_PATHS,
    RunningApp,
    page_html,
    security_headers,
    start_app,
)
from hushwire.errors import ConfigError, DecodeError

KEY_HASH = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
RELAY = f"smp://{KEY_HASH}@127.0.0.1:5224"
WS = "ws://127.0.0.1:5225/"
CSP = (
    "default-src 'none'; script-src 'self'; worker-src blob:; connect-src ws://127.0.0.1:5225/; "
    "style-src 'self'; img-src 'none'; font-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; "
    "trusted-types hushwire-app; report-uri /csp-report; report-to csp"
)
COMMON = {
    "Content-Security-Policy": CSP,
    "Reporting-Endpoints": 'csp="/csp-report"',
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def serve(test: Callable[[RunningApp, aiohttp.ClientSession], Awaitable[None]]) -> None:
    async def main() -> None:
        app = await start_app(RELAY, WS)
        try:
            async with aiohttp.ClientSession() as http:
                await test(app, http)
        finally:
            await app.stop()

    asyncio.run(asyncio.wait_for(main(), 30))


def check_headers(headers: Any, *, page: bool) -> None:
    every = headers.getall if hasattr(headers, "getall") else headers.get_all
    for name, value in COMMON.items():
        assert every(name) == [value], name
    assert every("Cache-Control") == ["no-store" if page else "no-cache"]


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_policy_is_the_documented_one() -> None:
    assert security_headers(WS, page=True) == {**COMMON, "Cache-Control": "no-store"}
    for bad in ("'unsafe-inline'", "'unsafe-eval'", "data:", "*"):
        assert bad not in CSP


def test_every_route_has_every_header_and_the_page_pins_its_files() -> None:
    async def test(app: RunningApp, http: aiohttp.ClientSession) -> None:
        pages = []
        for path in PAGE_PATHS:
            async with http.get(app.url.rstrip("/") + path) as r:
                assert r.status == 200
                assert r.headers["Content-Type"] == "text/html; charset=utf-8"
                check_headers(r.headers, page=True)
                pages.append(await r.text())
        assert pages[0] == pages[1] == pages[2]
        page = pages[0]
        assert '<meta name="hushwire-relay" content="' + RELAY + '">' in page
        assert '<meta name="hushwire-ws" content="' + WS + '">' in page
        assert "<script>" not in page and "style=" not in page
        for path, ctype in (
            ("/app/hushwire-app.js", "text/javascript"),
            ("/app/app.css", "text/css"),
        ):
            async with http.get(app.url.rstrip("/") + path) as r:
                assert r.status == 200
                assert r.headers["Content-Type"] == f"{ctype}; charset=utf-8"
                check_headers(r.headers, page=False)
                body = await r.read()
            assert f'"{path}" integrity="{sri(body)}" crossorigin="anonymous"' in page
        # a path that is not the app's, a method it does not take: refused, same headers
        for method, path, status in (
            ("GET", "/nope", 404),
            ("GET", "/app/other.js", 404),
            ("POST", "/", 405),
            ("GET", "/csp-report", 405),
        ):
            async with http.request(method, app.url.rstrip("/") + path) as r:
                assert r.status == status
                check_headers(r.headers, page=path in PAGE_PATHS)
        assert app.server.reports == []

    serve(test)


def test_csp_reports_are_kept_and_bounded() -> None:
    async def test(app: RunningApp, http: aiohttp.ClientSession) -> None:
        report = b'{"csp-report":{"violated-directive":"script-src"}}'
        async with http.post(
            app.url + "csp-report", data=report, headers={"Content-Type": "application/csp-report"}
        ) as r:
            assert r.status == 204
            check_headers(r.headers, page=False)
        async with http.post(app.url + "csp-report", data=b"x" * (MAX_REPORT + 1)) as r:
            assert r.status == 413
            check_headers(r.headers, page=False)
        assert app.server.reports == [report]

    serve(test)


def test_the_request_log_has_paths_and_queries_only() -> None:
    async def test(app: RunningApp, http: aiohttp.ClientSession) -> None:
        # a client that sends a fragment anyway (browsers never do): it is not a path
        async with http.get(app.url + "invitation?x=1#/?v=2-7&smp=secret") as r:
            assert r.status == 200
        assert list(app.server.requests) == ["GET /invitation?x=1"]

    serve(test)


def test_page_escapes_its_values() -> None:
    page = page_html('smp://a@"><script>', "ws://h/<x>", b"s", b"c")
    assert "<script>" not in page.split("<head>")[1].split('<script src="/app/')[0]
    assert "&quot;&gt;&lt;script&gt;" in page
    assert re.search(r'content="ws://h/&lt;x&gt;"', page)


@pytest.mark.parametrize(
    ("relay", "ws", "error"),
    [
        ("smp://nope", WS, DecodeError),
        (RELAY, "http://127.0.0.1:1/", ConfigError),
        (RELAY, "ws://127.0.0.1:1/; script-src *", ConfigError),
    ],
)
def test_bad_configuration_is_refused(relay: str, ws: str, error: type[Exception]) -> None:
    async def main() -> None:
        with pytest.raises(error):
            await start_app(relay, ws)

    asyncio.run(main())


def test_the_command_serves_the_app_and_prints_its_url(tmp_path: Path) -> None:
    hushwire = Path(sys.executable).with_name("hushwire")
    args = ["app", "serve", "--port", "0", "--relay", RELAY, "--ws", WS]
    proc = subprocess.Popen(
        [str(hushwire), *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        m = re.fullmatch(r"Web app: (http://127\.0\.0\.1:\d+/)", line)
        assert m, line
        with urllib.request.urlopen(m.group(1) + "invitation", timeout=10) as r:
            assert r.status == 200
            check_headers(r.headers, page=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
        assert proc.stdout is not None
        proc.stdout.close()
    assert code == 0
