"""``hushwire demo`` serves the web app too, for the demo's relay, and prints its URL on a line
containing ``Web app:``."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import aiohttp

from hushwire.demo.run import RunningDemo, run_demo


def test_demo_serves_the_web_app_for_its_relay(tmp_path: Path) -> None:
    seen: dict[str, str] = {}
    stop = asyncio.Event()
    out = io.StringIO()

    async def check(demo: RunningDemo) -> None:
        async with aiohttp.ClientSession() as http, http.get(demo.app.url) as r:
            seen["page"] = await r.text()
            seen["csp"] = r.headers["Content-Security-Policy"]
        seen["relay"] = demo.relay.address.encode()
        seen["ws"] = demo.relay_ws
        seen["url"] = demo.app.url
        stop.set()

    async def main() -> None:
        await run_demo(
            tmp_path / "demo",
            out=out,
            ports={"relay": 0, "site": 0, "inbox": 0, "app": 0},
            stop=stop,
            opener=lambda _: None,
            started=check,
        )

    asyncio.run(asyncio.wait_for(main(), 60))
    lines = [line for line in out.getvalue().splitlines() if "Web app:" in line]
    assert lines == [f"  Web app:            {seen['url']}"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", seen["url"])
    assert f'<meta name="hushwire-relay" content="{seen["relay"]}">' in seen["page"]
    assert f"connect-src {seen['ws']}/;" in seen["csp"]
