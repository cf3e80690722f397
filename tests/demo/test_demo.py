"""``hushwire demo``: relay, inbox and website start on 127.0.0.1 and stop cleanly."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from hushwire.demo.run import RunningDemo, run_demo
from hushwire.widget import bundle_bytes, sri_hash


def test_demo_serves_a_site_that_embeds_the_widget_for_the_inbox(tmp_path: Path) -> None:
    opened: list[str] = []
    seen: dict[str, object] = {}

    async def check(demo: RunningDemo) -> None:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", demo.site_runner.addresses[0][1]
        )
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        page = (await reader.read()).decode()
        writer.close()
        await writer.wait_closed()
        seen["page"] = page
        seen["address"] = demo.inbox.service.address
        seen["relay_ws"] = demo.relay_ws
        stop.set()

    stop = asyncio.Event()
    out = io.StringIO()

    async def main() -> None:
        await run_demo(
            tmp_path / "demo",
            out=out,
            ports={"relay": 0, "site": 0, "inbox": 0},
            stop=stop,
            opener=opened.append,
            started=check,
        )

    asyncio.run(asyncio.wait_for(main(), 60))
    text = out.getvalue()
    site, inbox = re.findall(r"http://127\.0\.0\.1:\d+/\S*", text)[:2]
    assert opened == [inbox, site] and "/login?token=" in inbox
    page = str(seen["page"])
    assert (
        "Content-Security-Policy: default-src 'none'; script-src 'self'; worker-src blob:;" in page
    )
    assert f'integrity="{sri_hash(bundle_bytes())}"' in page
    assert f'data-relay="{seen["relay_ws"]}"' in page
    assert 'data-address="simplex:/contact#/?v=2-7&amp;smp=' in page
    assert str(seen["address"]).startswith("simplex:/contact#/?v=2-7&smp=")
    assert text.rstrip().endswith("Stopping...")
