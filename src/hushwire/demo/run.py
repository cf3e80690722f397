"""``hushwire demo``: a relay, an inbox and a demo website on 127.0.0.1, ready to talk.

All state lives in ``--data`` (default ``./.hushwire-demo``), so a second run keeps the
address, the conversations and the inbox login. Ports are fixed by default so the URLs stay
the same; a port in use falls back to a free one. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from aiohttp import web

from hushwire.app.server import RunningApp, start_app
from hushwire.demo.site import DemoSite
from hushwire.inbox.run import RunningInbox, start_inbox
from hushwire.server.config import RelayConfig
from hushwire.server.run import RunningRelay, start_relay
from hushwire.shop.example import write_bakery

log = logging.getLogger("hushwire.demo")

DEFAULT_PORTS = {"relay": 5224, "site": 8080, "inbox": 8081, "app": 8082}


def _free(port: int) -> int:
    """``port`` if it can be bound on 127.0.0.1, else 0 (any free port)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return 0
            raise
    return port


@dataclass
class RunningDemo:
    relay: RunningRelay
    inbox: RunningInbox
    site_runner: web.AppRunner
    site_url: str
    app: RunningApp

    @property
    def relay_ws(self) -> str:
        return f"ws://127.0.0.1:{self.relay.ws_port}"

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.app.stop()
        with contextlib.suppress(Exception):
            await self.site_runner.cleanup()
        with contextlib.suppress(Exception):
            await self.inbox.stop()
        await self.relay.stop()


async def start_demo(data: Path, *, ports: dict[str, int] | None = None) -> RunningDemo:
    ports = {**DEFAULT_PORTS, **(ports or {})}
    data.mkdir(parents=True, exist_ok=True)
    relay = await start_relay(
        RelayConfig(
            data=data / "relay",
            ws=("127.0.0.1", _free(ports["relay"]) if ports["relay"] else 0),
            host="127.0.0.1",
        )
    )
    try:
        relay_ws = f"ws://127.0.0.1:{relay.ws_port}"
        inbox = await start_inbox(
            data / "inbox",
            relay.address,
            ws_url=relay_ws + "/",
            name="Tiny Bakery",
            ui_port=_free(ports["inbox"]) if ports["inbox"] else 0,
            shop=write_bakery(data / "shop"),
        )
    except BaseException:
        await relay.stop()
        raise
    try:
        site = DemoSite(inbox.service.address, relay_ws)
        runner = web.AppRunner(site.app(), access_log=None)
        await runner.setup()
        tcp = web.TCPSite(runner, "127.0.0.1", _free(ports["site"]) if ports["site"] else 0)
        await tcp.start()
        port = runner.addresses[0][1]
        app = await start_app(
            relay.address.encode(), relay_ws + "/", port=_free(ports["app"]) if ports["app"] else 0
        )
    except BaseException:
        await runner.cleanup()
        await inbox.stop()
        await relay.stop()
        raise
    return RunningDemo(relay, inbox, runner, f"http://127.0.0.1:{port}/", app)


def print_urls(demo: RunningDemo, out: TextIO) -> None:
    print("Hushwire demo is running (Ctrl-C stops it).", file=out)
    print(f"  Website (visitor):  {demo.site_url}", file=out)
    print(f"  Inbox (owner):      {demo.inbox.login_link}", file=out)
    print(f"  Shop:               {demo.site_url}shop", file=out)
    print(f"  Web app:            {demo.app.url}", file=out)
    print(f"  Relay:              {demo.relay.address.encode()}  ({demo.relay_ws})", file=out)
    print("Open the website, press 'Open chat' and write; answer in the inbox.", file=out)
    shop_file = demo.inbox.service.shop_file
    if shop_file is not None:
        print(f"The shop's catalog (edits are read again): {shop_file.path}", file=out)
    out.flush()


async def run_demo(
    data: Path,
    *,
    open_browser: bool = True,
    out: TextIO = sys.stdout,
    ports: dict[str, int] | None = None,
    stop: asyncio.Event | None = None,
    opener: Callable[[str], object] = webbrowser.open,
    started: Callable[[RunningDemo], Awaitable[None]] | None = None,
) -> None:
    demo = await start_demo(data, ports=ports)
    try:
        print_urls(demo, out)
        if open_browser:
            opener(demo.inbox.login_link)
            opener(demo.site_url)
        if started is not None:
            await started(demo)
        await (stop or asyncio.Event()).wait()
    finally:
        print("Stopping...", file=out, flush=True)
        await demo.stop()


def main(data: Path, open_browser: bool) -> None:
    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_demo(data, open_browser=open_browser, stop=stop)

    asyncio.run(go())
