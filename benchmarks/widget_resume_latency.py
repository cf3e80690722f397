"""What write-ahead resume costs per message: the widget in Chromium with ``data-resume`` against
the same widget without it (the baseline, same run, same relay, same owner).

With ``data-resume`` the crypto worker sends (SEND) and acknowledges (ACK) only after the page
confirmed that IndexedDB committed a sealed state covering it (docs/widget.md section 4), so
each message waits for one IndexedDB commit. Measured inside the page with
``performance.now()``, on 127.0.0.1, with Debian's chromium driven by Playwright:

- send: from the visitor's Enter to the message's "sent" tick (the relay took it), one
  message after the other;
- burst in: from the owner's agent sending a burst of messages to the last one shown (each
  shown message was processed, sealed, stored and acknowledged before the relay delivered the
  next one).

Prints figures only, the last line ``RESULT {json}``; nothing is asserted (tests never assert
on time).

    .venv/bin/python benchmarks/widget_resume_latency.py [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from widget_budget import FIGURES, page_server, print_result

from hushwire.agent.agent import Agent, ConnectionEstablished, MessageReceived
from hushwire.bot.common import profile_info, text_message
from hushwire.testing import start_relay_process
from hushwire.testing.browser import CHROMIUM, CHROMIUM_ARGS
from hushwire.widget import SnippetOptions, snippet

SEND_TO_SENT = """(text) => new Promise((resolve) => {
  const root = document.querySelector("[data-hushwire]").shadowRoot;
  const field = root.querySelector("textarea");
  const log = root.querySelector("ol");
  const t0 = performance.now();
  field.value = text;
  field.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
  const li = log.lastElementChild;
  const tick = li.querySelector(".tick");
  const done = () => {
    if (tick.dataset.state !== "queued") { mo.disconnect(); resolve(performance.now() - t0); }
  };
  const mo = new MutationObserver(done);
  mo.observe(tick, { attributes: true });
  done();
})"""

COUNT_IN = """([n, host, list, item]) => new Promise((resolve) => {
  const root = host === null ? document : document.querySelector(host).shadowRoot;
  const log = root.querySelector(list);
  const done = () => {
    if (log.querySelectorAll(item).length < n) return;
    mo.disconnect();
    resolve(performance.now());
  };
  const mo = new MutationObserver(done);
  mo.observe(log, { childList: true });
  done();
})"""
"""Resolves at the time the ``n``-th incoming message (``item``) is in the page's ``list`` (in
the shadow root of ``host`` unless it is null)."""


def summary(name: str, xs: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(xs):.1f} ms "
        f"(min {min(xs):.1f}, max {max(xs):.1f}, n={len(xs)})"
    )


async def owner_loop(agent: Agent, conn: list[str], up: asyncio.Event) -> None:
    while True:
        ev = await agent.events.get()
        if isinstance(ev, ConnectionEstablished):
            conn.append(ev.conn_id)
            up.set()
        elif isinstance(ev, MessageReceived):
            await agent.ack_message(ev.msg_id, receipt=True)


async def send_and_burst(
    page: Any, agent: Agent, conn: str, n: int, tag: str, send: str, log: list[str | None]
) -> None:
    """A page's two figures, as ``tag``: ``n`` messages sent one after the other (``send``:
    a text to the time to its "sent" tick), then a burst of ``n`` from ``agent`` on ``conn``
    until the last is shown (``log``: :data:`COUNT_IN`'s host, list and item)."""
    sends = [float(await page.evaluate(send, f"message {i}")) for i in range(n)]
    print(summary(f"{tag}: send to sent tick", sends))
    FIGURES[f"{tag}_send_median_ms"] = statistics.median(sends)
    await page.wait_for_timeout(1000)  # the receipts are in
    waiting = page.evaluate(COUNT_IN, [n, *log])
    t0 = float(await page.evaluate("performance.now()"))
    for i in range(n):
        await agent.send(conn, text_message(f"agent {i}"))
    t1 = float(await waiting)
    per = (t1 - t0) / n
    print(f"{tag}: burst of {n} in: {t1 - t0:.0f} ms, {per:.1f} ms a message")
    FIGURES[f"{tag}_burst_in_ms_per_message"] = per


async def measure(ctx: Any, url: str, agent: Agent, n: int, tag: str) -> None:
    from playwright.async_api import expect

    conn: list[str] = []
    up = asyncio.Event()
    loop = asyncio.create_task(owner_loop(agent, conn, up))
    try:
        page = await ctx.new_page()
        await page.goto(url)
        await page.get_by_role("button", name="Open chat").click()
        await asyncio.wait_for(up.wait(), 30)
        await expect(page.locator(".panel")).to_have_attribute("data-state", "chat")
        await send_and_burst(
            page, agent, conn[-1], n, tag, SEND_TO_SENT, ["[data-hushwire]", "ol", ".msg.in"]
        )
        await page.close()
    finally:
        loop.cancel()


async def run(messages: int) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        extra = ["--log-level", "warning"]
        with start_relay_process(tmp / "relay", tls=False, extra=extra) as relay:
            agent = Agent(tmp / "owner", relay.address, ws_url=relay.ws_url)
            await agent.start()
            _, link = await agent.create_address(profile_info("Bench owner"))
            try:
                async with async_playwright() as p:
                    browser = await p.chromium.launch(
                        executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
                    )
                    for resume in (False, True):
                        tag = "resume" if resume else "baseline"
                        body = (
                            "<!doctype html><html><body>"
                            + snippet(SnippetOptions(link, relay.ws_url, resume=resume))
                            + "</body></html>"
                        ).encode()
                        ctx = await browser.new_context()
                        with page_server(body, "") as url:
                            await measure(ctx, url, agent, messages, tag)
                        await ctx.close()
                    await browser.close()
            finally:
                await agent.stop()
    costs("resume")


def costs(tag: str) -> None:
    """What write-ahead costs per message sent and received: the figures of ``tag`` (send
    median, burst in per message) less the baseline's."""
    for what, key in (("send", "send_median_ms"), ("receive", "burst_in_ms_per_message")):
        base, res = FIGURES.get(f"baseline_{key}"), FIGURES.get(f"{tag}_{key}")
        if base is not None and res is not None:
            FIGURES[f"{what}_cost_ms"] = res - base
            print(f"write-ahead cost per message {what}: {res - base:+.1f} ms")


def cli(run: Callable[[int], Coroutine[Any, Any, None]], doc: str) -> None:
    """A latency benchmark's command line: ``--messages N`` (``doc``'s first line describes
    it), then ``run(N)``, the time it took and the ``RESULT`` line."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--messages", type=int, default=30)
    args = ap.parse_args()
    t = time.perf_counter()
    asyncio.run(run(args.messages))
    print(f"(ran {time.perf_counter() - t:.0f} s)")
    print_result()


def main() -> None:
    cli(run, __doc__ or "")


if __name__ == "__main__":
    main()
