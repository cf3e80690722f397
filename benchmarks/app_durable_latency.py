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

import asyncio
import statistics
import tempfile
from pathlib import Path
from typing import Any

from app_budget import app_in_chromium
from widget_budget import FIGURES, summary
from widget_resume_latency import cli, costs, owner_loop, send_and_burst

from hushwire.agent.agent import Agent
from hushwire.bot.common import profile_info

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
        await send_and_burst(
            page, agent, conn[-1], n, tag, SEND_TO_SENT, [None, "#messages", "li.in"]
        )
        commits = [float(x) for x in await page.evaluate("window.__commits")]
        print(summary(f"{tag}: IndexedDB commit of the sealed profile", commits))
        FIGURES[f"{tag}_commit_median_ms"] = statistics.median(commits) if commits else None
    finally:
        loop.cancel()
        await ctx.close()


async def run(messages: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        async with app_in_chromium(tmp) as (server, ws_url, app_url, browser):
            for tag in ("warm-up", "baseline", "write-ahead"):  # the first warms Chromium up
                agent = Agent(tmp / f"agent-{tag}", server, ws_url=ws_url)
                await agent.start()
                try:
                    await measure(browser, app_url, agent, messages, tag)
                finally:
                    await agent.stop()
    for key in [k for k in FIGURES if k.startswith("warm-up")]:
        del FIGURES[key]
    costs("write-ahead")


def main() -> None:
    cli(run, __doc__ or "")


if __name__ == "__main__":
    main()
