"""What write-ahead costs the web app per message: the app in Chromium talking to a Python agent,
against the same app whose worker is told `stored` as soon as the page receives a sealed
profile, before IndexedDB committed it (the baseline, same run, same relay, same agent: what
the app did before write-ahead).

With write-ahead the app's crypto worker sends (SEND) and acknowledges (ACK) only after the
page confirmed that IndexedDB committed the sealed profile covering it (docs/app.md), so each
message waits for one IndexedDB commit. Measured inside the page with ``performance.now()``,
on 127.0.0.1, Debian's chromium driven by Playwright:

- send: from Enter in the message box to the message's "sent" tick (the relay took it), one
  message after the other;
- burst in: from the agent sending a burst of messages to the last one shown (each was
  processed, sealed, stored and acknowledged before the relay delivered the next one);
- commit: IndexedDB's own time per write of the sealed profile (``put`` to ``oncomplete``).

Prints figures only, the last line ``RESULT {json}``; nothing is asserted (tests never assert
on time).

    .venv/bin/python benchmarks/app_durable_latency.py [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from widget_budget import ARGS, CHROMIUM, FIGURES, print_result, relay, summary
from widget_resume_latency import owner_loop

from hushwire.agent.agent import Agent
from hushwire.app.server import start_app
from hushwire.bot.common import profile_info, text_message

COMMITS = """window.__commits = [];
(() => {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    const t0 = performance.now();
    const done = () => window.__commits.push(performance.now() - t0);
    this.transaction.addEventListener("complete", done);
    return put.apply(this, args);
  };
})();"""
"""Every IndexedDB write's time from ``put`` to its transaction's ``complete``."""

NO_WAIT = """(() => {
  const Base = Worker;
  window.Worker = class extends Base {
    constructor(url, options) {
      super(url, options);
      this.addEventListener("message", (ev) => {
        const d = ev.data;
        if (d && d.event === "sealed") this.postMessage({ id: 0, op: "stored", seq: d.seq });
      });
    }
  };
})();"""
"""The baseline: the worker hears `stored` as soon as a sealed profile reaches the page."""

SEND_TO_SENT = """(text) => new Promise((resolve) => {
  const field = document.getElementById("message");
  const log = document.getElementById("messages");
  const t0 = performance.now();
  field.value = text;
  field.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
  const done = () => {
    const mine = (x) => x.querySelector(".text")?.textContent === text;
    const li = [...log.querySelectorAll("li.out")].find(mine);
    const tick = li?.querySelector(".tick")?.dataset.tick;
    if (tick !== "sent" && tick !== "delivered") return;
    mo.disconnect();
    resolve(performance.now() - t0);
  };
  const mo = new MutationObserver(done);
  mo.observe(log, { childList: true, subtree: true, attributes: true });
  done();
})"""

COUNT_IN = """(n) => new Promise((resolve) => {
  const log = document.getElementById("messages");
  const done = () => {
    if (log.querySelectorAll("li.in").length < n) return;
    mo.disconnect();
    resolve(performance.now());
  };
  const mo = new MutationObserver(done);
  mo.observe(log, { childList: true });
  done();
})"""


async def measure(browser: Any, url: str, agent: Agent, n: int, tag: str) -> None:
    from playwright.async_api import expect

    conn: list[str] = []
    up = asyncio.Event()
    loop = asyncio.create_task(owner_loop(agent, conn, up))
    ctx = await browser.new_context()
    try:
        await ctx.add_init_script(COMMITS + ("\n" + NO_WAIT if tag == "baseline" else ""))
        page = await ctx.new_page()
        await page.goto(url)
        await expect(page.get_by_role("status")).to_contain_text("Online")
        await page.get_by_role("button", name="New invitation").click()
        box = page.get_by_role("textbox", name="Invitation link")
        await expect(box).not_to_have_value("")
        link = (await box.input_value()).replace("http://", "https://")
        await agent.join(link, profile_info("Bench agent"))
        await asyncio.wait_for(up.wait(), 30)
        contact = page.get_by_role("list", name="Contacts").get_by_role("button")
        await expect(contact).to_contain_text("connected")
        await contact.click()
        await page.evaluate("window.__commits = []")
        sends = [float(await page.evaluate(SEND_TO_SENT, f"message {i}")) for i in range(n)]
        print(summary(f"{tag}: send to sent tick", sends))
        FIGURES[f"{tag}_send_median_ms"] = statistics.median(sends)
        await page.wait_for_timeout(1000)  # the receipts are in
        waiting = page.evaluate(COUNT_IN, n)
        t0 = float(await page.evaluate("performance.now()"))
        for i in range(n):
            await agent.send(conn[-1], text_message(f"agent {i}"))
        t1 = float(await waiting)
        per = (t1 - t0) / n
        print(f"{tag}: burst of {n} in: {t1 - t0:.0f} ms, {per:.1f} ms a message")
        FIGURES[f"{tag}_burst_in_ms_per_message"] = per
        commits = [float(x) for x in await page.evaluate("window.__commits")]
        print(summary(f"{tag}: IndexedDB commit of the sealed profile", commits))
        FIGURES[f"{tag}_commit_median_ms"] = statistics.median(commits) if commits else None
    finally:
        loop.cancel()
        await ctx.close()


async def run(messages: int) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        with relay(tmp) as (server, ws_port):
            ws_url = f"ws://127.0.0.1:{ws_port}/"
            app = await start_app(server.encode(), ws_url)
            try:
                async with async_playwright() as p:
                    browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                    try:
                        for tag in ("baseline", "write-ahead"):
                            agent = Agent(tmp / f"agent-{tag}", server, ws_url=ws_url)
                            await agent.start()
                            try:
                                await measure(browser, app.url, agent, messages, tag)
                            finally:
                                await agent.stop()
                    finally:
                        await browser.close()
            finally:
                await app.stop()
    for what, key in (("sent", "send_median_ms"), ("received", "burst_in_ms_per_message")):
        base, wal = FIGURES.get(f"baseline_{key}"), FIGURES.get(f"write-ahead_{key}")
        if base is not None and wal is not None:
            FIGURES[f"{what}_cost_ms"] = wal - base
            print(f"write-ahead cost per message {what}: {wal - base:+.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=30)
    args = ap.parse_args()
    t = time.perf_counter()
    asyncio.run(run(args.messages))
    print(f"(ran {time.perf_counter() - t:.0f} s)")
    print_result()


if __name__ == "__main__":
    main()
