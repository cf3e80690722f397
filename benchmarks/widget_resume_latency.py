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

Prints figures only; nothing is asserted (tests never assert on time).

    .venv/bin/python benchmarks/widget_resume_latency.py [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from widget_budget import page_server

from hushwire.agent.agent import Agent, ConnectionEstablished, MessageReceived
from hushwire.bot.common import profile_info, text_message
from hushwire.testing import start_relay_process
from hushwire.testing.browser import CHROMIUM, CHROMIUM_ARGS
from hushwire.widget import SnippetOptions, snippet

FIGURES: dict[str, float | None] = {}

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

COUNT_IN = """(n) => new Promise((resolve) => {
  const log = document.querySelector("[data-hushwire]").shadowRoot.querySelector("ol");
  const done = () => {
    if (log.querySelectorAll(".msg.in").length < n) return;
    mo.disconnect();
    resolve(performance.now());
  };
  const mo = new MutationObserver(done);
  mo.observe(log, { childList: true });
  done();
})"""


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
        sends = [float(await page.evaluate(SEND_TO_SENT, f"message {i}")) for i in range(n)]
        print(summary(f"{tag}: send to sent tick", sends))
        FIGURES[f"{tag}_send_median_ms"] = statistics.median(sends)
        waiting = page.evaluate(COUNT_IN, n)
        t0 = float(await page.evaluate("performance.now()"))
        for i in range(n):
            await agent.send(conn[-1], text_message(f"owner {i}"))
        t1 = float(await waiting)
        per = (t1 - t0) / n
        print(f"{tag}: burst of {n} in: {t1 - t0:.0f} ms, {per:.1f} ms a message")
        FIGURES[f"{tag}_burst_in_ms_per_message"] = per
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
    base, res = FIGURES.get("baseline_send_median_ms"), FIGURES.get("resume_send_median_ms")
    if base is not None and res is not None:
        FIGURES["send_cost_ms"] = res - base
        print(f"write-ahead cost per message sent: {res - base:+.1f} ms (median)")
    b_in = FIGURES.get("baseline_burst_in_ms_per_message")
    r_in = FIGURES.get("resume_burst_in_ms_per_message")
    if b_in is not None and r_in is not None:
        FIGURES["receive_cost_ms"] = r_in - b_in
        print(f"write-ahead cost per message received: {r_in - b_in:+.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=30)
    args = ap.parse_args()
    t = time.perf_counter()
    asyncio.run(run(args.messages))
    print(f"(ran {time.perf_counter() - t:.0f} s)")
    print("RESULT " + json.dumps(FIGURES, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
