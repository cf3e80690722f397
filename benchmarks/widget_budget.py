"""Widget budgets: bundle size, and time from clicking "Open chat" to a deliverable message.

1. Bundle: the shipped core ``hushwire/static/hushwire-widget.js``, raw and gzipped (level 9;
   Node's zlib in ``widget/scripts/size.mjs`` may differ by a few hundred bytes), against
   the 55 KB gzipped budget, and each module ``hushwire-widget-<name>.js``
   (loaded on demand, not counted).
2. Connect time in Chromium (Debian's package, driven by Playwright) on 127.0.0.1, with the
   owner online (a Python owner ``Agent`` in this process, a relay as its own process): from
   the click on "Open chat" to the widget's chat phase (the worker's ``connected`` event:
   from then on a message sent is deliverable), measured inside the page with
   ``performance.now()``; each round is a new page and a new visitor. Three times: "cold",
   the click with nothing before it; "with intent", the pointer entering the button
   250 ms before the click as a mouse user's does (the widget starts its worker then); and
   "preload", an embed with ``data-preload`` (the worker starts once the page is idle)
   clicked half a second after its worker appeared.
   For "cold" and "preload" it prints where the time goes: each step of the worker's join as
   the page sees it (the worker made, ``ready``, the relay session up, the invitation taken,
   the chat), logged by a script that runs in each page before the widget's (:data:`STEPS`);
   RESULT has the cold ones as ``widget_cold_{ready,relay,invited}_ms``.
   Beside it, in the same run:
   - floor: a bare WebSocket from the same page to the same relay, from ``new WebSocket``
     to the relay's first frame (its SMP hello): one connection set-up, no crypto;
   - the crypto worker's start alone (``Hushwire.create()`` to its ``ready`` event);
   - the same join done by a Python visitor ``Agent`` in this process (join() to
     ConnectionEstablished), i.e. the protocol's round trips without the browser.

Prints figures only; nothing is asserted (tests never assert on time).

    .venv/bin/python benchmarks/widget_budget.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.server
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hushwire.agent.agent import Agent, ConnectionEstablished
from hushwire.bot.common import profile_info
from hushwire.smp.address import SMPServer
from hushwire.testing import start_relay_process
from hushwire.testing.browser import CHROMIUM, CHROMIUM_ARGS
from hushwire.widget import SnippetOptions, bundle_bytes, module_files, snippet, widget_file

BUDGET_GZIP = 55 * 1024
BUDGET_CONNECT_MS = 300
INTENT_MS = 250
ARGS = list(CHROMIUM_ARGS)

OPEN_TO_CHAT = """(intentMs) => new Promise((resolve) => {
  const root = document.querySelector("[data-hushwire]").shadowRoot;
  const panel = root.querySelector(".panel");
  const launcher = root.querySelector(".launcher");
  const done = () => {
    const s = panel.dataset.state;
    if (s === "chat") { mo.disconnect(); resolve(performance.now() - t0); }
    else if (s === "failed") {
      mo.disconnect(); resolve("failed: " + root.querySelector("[role=status]").textContent);
    }
  };
  const mo = new MutationObserver(done);
  let t0 = 0;
  const click = () => {
    mo.observe(panel, { attributes: true, attributeFilter: ["data-state"] });
    t0 = performance.now();
    window.hwClick = t0;
    launcher.click();
  };
  if (intentMs > 0) {
    launcher.dispatchEvent(new PointerEvent("pointerenter"));
    setTimeout(click, intentMs);
  } else click();
  setTimeout(() => resolve("timeout"), 20000);
})"""

WS_FLOOR = """(url) => new Promise((resolve) => {
  const t0 = performance.now();
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onmessage = () => { resolve(performance.now() - t0); ws.close(); };
  ws.onerror = () => resolve(-1);
})"""

WORKER_START = """() => new Promise((resolve) => {
  const t0 = performance.now();
  const w = window.Hushwire.create();
  w.on((e) => { if (e.event === "status" && e.status === "ready") {
    resolve(performance.now() - t0); w.dispose(); } });
})"""


STEPS = """(() => {
  const W = window.Worker;
  const log = (what) => window.hwSteps.push([what, performance.now()]);
  let join = -1;
  window.hwSteps = [];
  window.Worker = class extends W {
    constructor(...args) {
      super(...args);
      log("worker");
      this.addEventListener("message", ({ data: d }) => {
        if (d?.event === "status") log(d.status === "connected" ? "relay" : d.status);
        else if (d?.event === "connected") log("chat");
        else if (d?.id === join) log("invited");
      });
    }
    postMessage(m, ...rest) {
      if (m?.op === "join") { join = m.id; log("join"); }
      return super.postMessage(m, ...rest);
    }
  };
})()"""
"""Run in each page before its scripts: logs (page time) each step of the crypto worker's join
as the page sees it: the worker made, its ``ready``, the ``join`` posted, ``relay`` (the relay
session is up), ``invited`` (the relay took the invitation), ``chat`` (the owner accepted and
our confirmation is sent)."""

STEP_NAMES = ("worker", "ready", "join", "relay", "invited", "chat")


async def steps(page: Any) -> dict[str, float]:
    """Each step's first time after the last click, in ms after it."""
    click: float = await page.evaluate("window.hwClick")
    out: dict[str, float] = {}
    for name, at in await page.evaluate("window.hwSteps"):
        if at >= click and name in STEP_NAMES and name not in out:
            out[name] = at - click
    return out


def steps_line(name: str, runs: list[dict[str, float]]) -> str:
    """The median of each step over `runs`, in ms after the click."""
    parts = [
        f"{k} {statistics.median(xs):.0f}"
        for k in STEP_NAMES
        if (xs := [r[k] for r in runs if k in r])
    ]
    return f"{name} (ms after the click, median): " + ", ".join(parts)


FIGURES: dict[str, float | None] = {}
"""This run's figures by name, printed last as one ``RESULT`` line (see :func:`print_result`)."""


def print_result() -> None:
    """The machine-readable last line: ``RESULT`` and a JSON object of :data:`FIGURES`."""
    import json
    import math

    clean = {k: v if v is None or math.isfinite(v) else None for k, v in FIGURES.items()}
    print("RESULT " + json.dumps(clean, sort_keys=True), flush=True)


def bundle_report() -> None:
    data = bundle_bytes()
    gz = len(gzip.compress(data, 9))
    FIGURES.update(widget_bundle_gzip_bytes=gz, widget_bundle_raw_bytes=len(data))
    verdict = "within" if gz <= BUDGET_GZIP else "OVER"
    print(
        f"core bundle: {len(data)} bytes raw, {gz} bytes gzipped = {gz / 1024:.1f} KB; "
        f"budget {BUDGET_GZIP / 1024:.0f} KB gzipped: {verdict} "
        f"({(BUDGET_GZIP - gz) / 1024:+.1f} KB left)"
    )
    for name, body in module_files().items():
        mgz = len(gzip.compress(body, 9))
        print(f"  module {name}: {len(body)} bytes raw, {mgz} bytes gzipped (on demand)")


@contextmanager
def relay(tmp: Path) -> Iterator[tuple[SMPServer, int]]:
    extra = ["--log-level", "warning"]
    with start_relay_process(tmp / "relay", tls=False, extra=extra) as proc:
        assert proc.ws_port is not None
        yield proc.address, proc.ws_port


@contextmanager
def page_server(page: bytes, csp: str) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            file = widget_file(self.path.removeprefix("/"))  # the bundle and its modules
            body, ctype = (
                (file, "text/javascript")
                if file is not None
                else (page, "text/html; charset=utf-8")
            )
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", csp)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/"
    finally:
        srv.shutdown()
        srv.server_close()


def summary(name: str, xs: list[float]) -> str:
    if not xs:
        return f"{name}: no measurement"
    return (
        f"{name}: median {statistics.median(xs):.1f} ms "
        f"(min {min(xs):.1f}, max {max(xs):.1f}, n={len(xs)})"
    )


async def drain(agent: Agent) -> None:
    while True:
        await agent.events.get()


async def connect_times(tmp: Path, rounds: int) -> None:
    from playwright.async_api import async_playwright

    with relay(tmp) as (server, ws_port):
        ws_url = f"ws://127.0.0.1:{ws_port}/"
        owner = Agent(tmp / "owner", server, ws_url=ws_url)
        await owner.start()
        drainer = asyncio.create_task(drain(owner))
        _, link = await owner.create_address(profile_info("Benchmark owner"))

        def page_with(tag: str) -> bytes:
            return (
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title>'
                f"</head><body><h1>bench</h1>{tag}</body></html>"
            ).encode()

        page_html = page_with(snippet(SnippetOptions(link, ws_url)))
        preload_html = page_with(snippet(SnippetOptions(link, ws_url, preload=True)))
        csp = (
            "default-src 'none'; script-src 'self'; worker-src blob:; "
            f"connect-src ws://127.0.0.1:{ws_port}; style-src 'none'; "
            "require-trusted-types-for 'script'; trusted-types hushwire"
        )
        widget_ms: list[float] = []
        intent_ms: list[float] = []
        preload_ms: list[float] = []
        floor_ms: list[float] = []
        worker_ms: list[float] = []
        python_ms: list[float] = []
        cold_steps: list[dict[str, float]] = []
        preload_steps: list[dict[str, float]] = []
        failure = ""
        with page_server(page_html, csp) as url, page_server(preload_html, csp) as url_pre:
            async with async_playwright() as p:
                ctx = await p.chromium.launch_persistent_context(
                    str(tmp / "profile"), executable_path=CHROMIUM, args=ARGS, headless=True
                )
                await ctx.add_init_script(script=STEPS)
                try:
                    for i in range(rounds + 1):  # round 0 warms up Chromium and the relay
                        page = await ctx.new_page()
                        await page.goto(url)
                        await page.wait_for_function("window.Hushwire && window.Hushwire.widget")
                        floor: Any = await page.evaluate(WS_FLOOR, ws_url)
                        worker: Any = await page.evaluate(WORKER_START)
                        t: Any = await page.evaluate(OPEN_TO_CHAT, 0)
                        cold = await steps(page)
                        await page.close()
                        page = await ctx.new_page()
                        await page.goto(url)
                        await page.wait_for_function("window.Hushwire && window.Hushwire.widget")
                        t_intent: Any = await page.evaluate(OPEN_TO_CHAT, INTENT_MS)
                        await page.close()
                        # data-preload: the worker starts once the page is idle; the visitor
                        # clicks a while later (here: half a second after the worker appeared)
                        page = await ctx.new_page()
                        await page.goto(url_pre)
                        await page.wait_for_function("window.Hushwire && window.Hushwire.widget")
                        for _ in range(250):
                            if page.workers:
                                break
                            await asyncio.sleep(0.02)
                        await asyncio.sleep(0.5)
                        t_pre: Any = await page.evaluate(OPEN_TO_CHAT, 0)
                        preload = await steps(page)
                        await page.close()
                        if i == 0:
                            continue
                        cold_steps.append(cold)
                        preload_steps.append(preload)
                        floor_ms.append(floor)
                        worker_ms.append(worker)
                        for x, xs in ((t, widget_ms), (t_intent, intent_ms), (t_pre, preload_ms)):
                            if isinstance(x, str):
                                failure = x
                            else:
                                xs.append(x)
                finally:
                    await ctx.close()
        for i in range(rounds):
            visitor = Agent(tmp / f"py-visitor-{i}", server, ws_url=ws_url)
            await visitor.start()
            t0 = time.perf_counter()
            await visitor.join(link, profile_info("Python visitor"))
            while not isinstance(await visitor.events.get(), ConnectionEstablished):
                pass
            python_ms.append((time.perf_counter() - t0) * 1000)
            await visitor.stop()
        drainer.cancel()
        await owner.stop()

    print(f"connect, Chromium {await chromium_version()}, loopback, owner online:")
    if widget_ms or intent_ms:
        for name, xs in (
            ("cold", widget_ms),
            (f"with intent {INTENT_MS} ms ahead", intent_ms),
            ("data-preload, the page idle first", preload_ms),
        ):
            line = summary(f"widget, {name}: click 'Open chat' -> message deliverable", xs)
            verdict = "within" if xs and statistics.median(xs) <= BUDGET_CONNECT_MS else "OVER"
            print(f"  {line}; budget {BUDGET_CONNECT_MS} ms: {verdict}")
    else:
        print(f"  widget: not measurable: {failure or 'no round finished'}")
    for name, runs in (("cold", cold_steps), ("data-preload", preload_steps)):
        if runs:
            print("  " + steps_line(f"where the time goes, {name}", runs))
    print("  " + summary("floor: bare WebSocket to the relay, open -> first frame", floor_ms))
    print("  " + summary("crypto worker start (create -> ready)", worker_ms))
    print("  " + summary("Python visitor Agent join -> ConnectionEstablished", python_ms))
    for key, xs in (
        ("widget_connect_cold_ms", widget_ms),
        ("widget_connect_intent_ms", intent_ms),
        ("widget_connect_preload_ms", preload_ms),
        ("ws_open_floor_ms", floor_ms),
        ("worker_start_ms", worker_ms),
        ("python_join_ms", python_ms),
    ):
        FIGURES[key] = statistics.median(xs) if xs else None
    for step in ("ready", "relay", "invited"):
        xs = [r[step] for r in cold_steps if step in r]
        FIGURES[f"widget_cold_{step}_ms"] = statistics.median(xs) if xs else None


async def chromium_version() -> str:
    out = await asyncio.to_thread(
        subprocess.run, [CHROMIUM, "--version"], capture_output=True, text=True
    )
    return out.stdout.strip().removeprefix("Chromium ").split(" ")[0] or "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    bundle_report()
    if not Path(CHROMIUM).exists():
        print("connect: skipped, no Chromium at /usr/bin/chromium (make chromium)")
    else:
        with tempfile.TemporaryDirectory(prefix="hushwire-widget-bench-") as tmp:
            asyncio.run(connect_times(Path(tmp), args.rounds))
    print_result()


if __name__ == "__main__":
    main()
