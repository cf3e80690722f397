"""``hushwire app serve``: the command that serves the web app (hushwire.app.server)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from hushwire.app.server import start_app
from hushwire.cliargs import add_command_group


def add_app_parser(sub: Any) -> None:
    cmds = add_command_group(sub, "app", "serve the web app (chat from any browser)", "APP_COMMAND")
    serve = cmds.add_parser(
        "serve",
        help="serve the single-page web app with strict headers",
        description=(
            "Serve the Hushwire web app: one page, its script (SRI-pinned) and stylesheet, "
            "under a strict Content-Security-Policy. Its invitation links are "
            "https://THIS_HOST/invitation#/?... (the secrets stay in the fragment). "
            "docs/app.md says how to host it."
        ),
    )
    serve.add_argument("--port", type=int, default=8082, help="default: 8082")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument(
        "--relay", required=True, metavar="SMP_ADDRESS", help="the relay (smp://KEYHASH@HOST)"
    )
    serve.add_argument(
        "--ws", required=True, metavar="URL", help="the relay's WebSocket URL (wss://...)"
    )


def run_app_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def go() -> None:
        running = await start_app(args.relay, args.ws, host=args.host, port=args.port)
        print(f"Web app: {running.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await running.stop()

    asyncio.run(go())
    return 0


__all__ = ["add_app_parser", "run_app_command"]
