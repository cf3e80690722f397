"""GRP/1 in Chromium: the widget's handshake time, and its cover traffic's inter-frame times,
with a baseline from the same run.

One relay E runs in this process on 127.0.0.1 with ``--grp`` (cover rate 1 frame/s, the
protocol's) and a plain WebSocket. The widget's own TypeScript (``widget/src/grp``, the SMP
client) is bundled by esbuild into a dedicated worker, where the widget runs it, in Debian's
Chromium; Playwright's flags that switch off background throttling are removed, so timers
behave as in a browser people use.

- handshake, median of ``--samples``: WebSocket + Noise IKhfs (X25519 + ML-KEM-768) + the
  relay's key proof (``grp_open``), and then the SMP handshake inside GRP, whose two blocks
  wait for cover ticks (``grp_smp``); baseline: WebSocket + SMP handshake, the widget's
  ordinary connection (``ws_smp``);
- cover: one GRP connection, with the SMP client on top (its keepalive pings included) as in
  the widget, held open ``--seconds``; the time of every frame the worker hands to its
  WebSocket, and how late the worker's timer woke for each tick. At λ = 1/s the gaps should
  be exponential with mean 1 s (coefficient of variation 1); printed with the
  Kolmogorov-Smirnov distance to that law and its 5 % critical value, the shortest gap, and
  the share of gaps within 20 ms of a whole second (what timers clamped to one wake-up a
  second would produce).
- hidden tab (``--hidden-seconds``, needs a display, e.g. ``Xvfb :97`` and ``DISPLAY=:97``):
  the same cover run in a tab that a second tab of its window hides, with a 200 ms timer on
  the hidden page itself as a control (Chromium throttles a hidden page's timers, harder after
  5 minutes). Headless Chromium keeps every page visible (a background tab, a minimized
  window and the lifecycle state ``frozen`` all leave it ``visible``), and so does a headful
  one driven by Playwright, so this part drives Chromium over the DevTools protocol itself.

Prints figures only; nothing is asserted. The last line is ``RESULT`` and a JSON object.

    .venv/bin/python benchmarks/grp_browser.py [--samples 5] [--seconds 60] [--hidden-seconds 420]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import re
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from widget_budget import chromium_version, page_server

from hushwire.encoding.strings import b64url_encode
from hushwire.testing.browser import CHROMIUM, CHROMIUM_ARGS
from hushwire.testing.grp import grp_relay

WIDGET = Path(__file__).resolve().parents[1] / "widget"
THROTTLING_OFF = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
"""Playwright's default flags that a real browser does not have."""

WORKER = """
import { GrpSocket } from "./src/grp/transport.ts";
import { SMPClient } from "./src/smp/client.ts";
import { base64urlDecode } from "./src/encoding.ts";

const cfg = { config: { pingInterval: null } };
const opened = (s) => new Promise((resolve, reject) => {
  s.addEventListener("open", resolve);
  s.addEventListener("close", () => reject(new Error("closed")));
});

self.onmessage = async (ev) => {
  const { op, grpUrl, wsUrl, keyHash, nk, n, seconds } = ev.data;
  const kh = base64urlDecode(keyHash), rs = base64urlDecode(nk);
  if (op === "handshake") {
    const grpOpen = [], grpSmp = [], wsSmp = [];
    for (let i = 0; i < n; i++) {
      let t0 = performance.now();
      const s = new GrpSocket(new WebSocket(grpUrl), kh, rs);
      await opened(s);
      grpOpen.push(performance.now() - t0);
      const c = await SMPClient.connect(s, kh, cfg);
      grpSmp.push(performance.now() - t0);
      c.close();
      t0 = performance.now();
      const p = await SMPClient.connect(new WebSocket(wsUrl), kh, cfg);
      wsSmp.push(performance.now() - t0);
      p.close();
    }
    postMessage({ grpOpen, grpSmp, wsSmp });
  } else {
    const ws = new WebSocket(grpUrl);
    const times = [];
    const send = ws.send.bind(ws);
    ws.send = (d) => { times.push(performance.now()); send(d); };
    // the widget's timer, recording how late each wake-up is
    const late = [];
    const sleep = (ms) => new Promise((r) => {
      const t = performance.now();
      setTimeout(() => { late.push(performance.now() - t - ms); r(); }, ms);
    });
    const s = new GrpSocket(ws, kh, rs, { sleep });
    await opened(s);
    const from = times.length; // after message 1 of the handshake
    // the SMP client on top, with its keepalive pings, as in the widget
    const c = await SMPClient.connect(s, kh);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const open = s.readyState === 1;
    c.close();
    postMessage({ times: times.slice(from, -1), open, late }); // without the CLOSE sent at once
  }
};
"""

PAGE = """async ([source, msg]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const w = new Worker(url);
  const seen = new Set([document.visibilityState]);
  const look = setInterval(() => seen.add(document.visibilityState), 250);
  const out = await new Promise((resolve, reject) => {
    w.onmessage = (e) => resolve(e.data);
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage(msg);
  });
  clearInterval(look);
  w.terminate();
  return { ...out, visibility: [...seen] };
}"""


def bundle() -> str:
    """The worker's source: the widget's GRP and SMP code, bundled and minified as build.mjs
    does for the worker."""
    script = (
        "import * as esbuild from 'esbuild';"
        "const r = await esbuild.build({stdin: {contents: process.env.SRC, resolveDir: '.',"
        " loader: 'ts'}, bundle: true, minify: true, format: 'iife', platform: 'browser',"
        " target: 'es2022', write: false, logLevel: 'error'});"
        "process.stdout.write(r.outputFiles[0].text);"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=WIDGET,
        env={"SRC": WORKER, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


HIDDEN_START = """async ([source, msg]) => {
  window.__seen = [document.visibilityState];
  // control: a 200 ms timer on the page itself (hidden pages' timers are throttled)
  window.__page = [];
  let last = performance.now();
  setInterval(() => { const n = performance.now(); window.__page.push(n - last); last = n; }, 200);
  document.addEventListener("visibilitychange", () => window.__seen.push(document.visibilityState));
  const w = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  window.__out = new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); });
  w.postMessage(msg);
}"""


async def hidden_cover(source: str, msg: dict[str, Any], url: str) -> dict[str, Any]:
    """The cover op in a tab that another tab of its window hides, in a Chromium with a
    display (``DISPLAY``, e.g. Xvfb), driven over the DevTools protocol directly: under
    Playwright the page stays ``visible`` even there."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [
                CHROMIUM,
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            devtools = next(
                m.group(1)
                for line in proc.stderr
                if (m := re.search(r"DevTools listening on (ws://\S+)", line))
            )
            ids = itertools.count(1)
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(devtools, max_msg_size=0) as ws,
            ):

                async def call(
                    method: str, params: dict[str, Any], session: str | None = None
                ) -> dict[str, Any]:
                    i = next(ids)
                    m: dict[str, Any] = {"id": i, "method": method, "params": params}
                    if session is not None:
                        m["sessionId"] = session
                    await ws.send_str(json.dumps(m))
                    while True:
                        r = json.loads((await ws.receive()).data)
                        if r.get("id") == i:
                            if "error" in r:
                                raise RuntimeError(f"{method}: {r['error']}")
                            return dict(r["result"])

                tab = (await call("Target.createTarget", {"url": url}))["targetId"]
                sid = (await call("Target.attachToTarget", {"targetId": tab, "flatten": True}))[
                    "sessionId"
                ]
                await asyncio.sleep(1)
                start = f"({HIDDEN_START})({json.dumps([source, msg])})"
                await call("Runtime.evaluate", {"expression": start, "awaitPromise": True}, sid)
                # another tab in the same window: the first one is hidden from now on
                await call("Target.createTarget", {"url": "about:blank", "newWindow": False})
                expr = (
                    "window.__out.then((o) => "
                    "({ ...o, visibility: window.__seen, page: window.__page }))"
                )
                r = await call(
                    "Runtime.evaluate",
                    {"expression": expr, "awaitPromise": True, "returnByValue": True},
                    sid,
                )
                return dict(r["result"]["value"])
        finally:
            proc.terminate()
            proc.wait()


def hidden_figures(hid: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The hidden tab's figures, for the whole run and for its first and last 5 minutes
    (Chromium throttles a page's own timers harder after 5 minutes hidden)."""
    times: list[float] = hid["times"]
    t0 = times[0]
    early = [t for t in times if t - t0 < 300_000]
    late = [t for t in times if t - t0 >= 300_000]
    elapsed = list(itertools.accumulate(hid["page"]))
    after = [g for g, e in zip(hid["page"], elapsed, strict=True) if e > 300_000]
    return {
        "seconds": seconds,
        "visibility": hid["visibility"],
        "open_to_the_end": hid["open"],
        "all": gap_figures(times, 1.0),
        "first_5_min": gap_figures(early, 1.0) if len(early) > 2 else None,
        "after_5_min": gap_figures(late, 1.0) if len(late) > 2 else None,
        "timer_late_ms": late_figures(hid["late"]),
        "page_timer_200ms": {
            "median_ms": statistics.median(hid["page"]),
            "max_ms": max(hid["page"]),
            "median_after_5_min_ms": statistics.median(after) if after else None,
        },
    }


def gap_figures(times: list[float], rate: float) -> dict[str, float]:
    gaps = sorted((b - a) / 1e3 for a, b in itertools.pairwise(times))
    n = len(gaps)
    mean = statistics.fmean(gaps)
    ks = max(
        max(abs((i + 1) / n - (1 - math.exp(-rate * g))), abs(i / n - (1 - math.exp(-rate * g))))
        for i, g in enumerate(gaps)
    )
    near_second = sum(1 for g in gaps if g >= 0.5 and abs(g - round(g)) <= 0.02) / n
    return {
        "frames": n + 1,
        "mean_s": mean,
        "median_s": statistics.median(gaps),
        "cv": statistics.stdev(gaps) / mean,
        "min_ms": gaps[0] * 1e3,
        "ks": ks,
        "ks_crit_5pct": 1.36 / math.sqrt(n),
        "near_whole_second": near_second,
    }


def late_figures(late: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(late),
        "p99": sorted(late)[int(0.99 * (len(late) - 1))],
        "max": max(late),
    }


async def run(samples: int, seconds: float, hidden: float = 0) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    source = bundle()
    with tempfile.TemporaryDirectory() as tmp:
        async with grp_relay(Path(tmp) / "e", 1.0, ws=True) as e:
            assert e.grp_address is not None
            msg = {
                "grpUrl": e.grp_address.ws_url,
                "wsUrl": f"ws://127.0.0.1:{e.ws_port}",
                "keyHash": b64url_encode(e.address.key_hash),
                "nk": b64url_encode(e.grp_address.static_key),
                "n": samples,
                "seconds": seconds,
            }
            # an http page (a secure context, as the widget's pages are: the workers of an
            # about:blank page have an opaque origin, where the handshake does not run)
            with page_server(
                b"<!doctype html><title>GRP benchmark</title>", "worker-src blob:"
            ) as url:
                async with async_playwright() as p:
                    browser = await p.chromium.launch(
                        executable_path=CHROMIUM,
                        args=list(CHROMIUM_ARGS),
                        headless=True,
                        ignore_default_args=THROTTLING_OFF,
                    )
                    try:
                        page = await browser.new_page()
                        await page.goto(url)
                        hs = await page.evaluate(PAGE, [source, {**msg, "op": "handshake"}])
                        cover = await page.evaluate(PAGE, [source, {**msg, "op": "cover"}])
                    finally:
                        await browser.close()
                hid = None
                if hidden > 0 and os.environ.get("DISPLAY"):
                    hid = await hidden_cover(source, {**msg, "op": "cover", "seconds": hidden}, url)
    return {
        "chromium": await chromium_version(),
        "samples": samples,
        "grp_open_ms": statistics.median(hs["grpOpen"]),
        "grp_smp_ms": statistics.median(hs["grpSmp"]),
        "ws_smp_ms": statistics.median(hs["wsSmp"]),
        "cover_seconds": seconds,
        "cover": gap_figures(cover["times"], 1.0),
        "cover_open_to_the_end": cover["open"],
        "timer_late_ms": late_figures(cover["late"]),
        "hidden": None if hid is None else hidden_figures(hid, hidden),
        "visibility": sorted(set(hs["visibility"]) | set(cover["visibility"])),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=5, help="handshakes of each kind")
    ap.add_argument("--seconds", type=float, default=60, help="how long the cover runs")
    ap.add_argument(
        "--hidden-seconds",
        type=float,
        default=0,
        help="also run the cover this long in a hidden tab (needs a display: DISPLAY, e.g. "
        "Xvfb; more than 300 to see Chromium's harder throttling after 5 minutes)",
    )
    args = ap.parse_args()
    if args.seconds < 10 or 0 < args.hidden_seconds < 10:
        ap.error("run the cover at least 10 s (a few frames at 1/s)")
    r = asyncio.run(run(args.samples, args.seconds, args.hidden_seconds))
    c = r["cover"]
    print(f"Chromium {r['chromium']}, median of {r['samples']} (ms):")
    print(f"  GRP: WebSocket + Noise IKhfs + key proof      {r['grp_open_ms']:8.1f}")
    print(f"  GRP: ... + SMP handshake at cover ticks (λ=1)  {r['grp_smp_ms']:8.1f}")
    print(f"  baseline: WebSocket + SMP handshake            {r['ws_smp_ms']:8.1f}")
    print(f"cover in the worker, {c['frames']} frames in {r['cover_seconds']:g} s (λ = 1/s):")
    print(
        f"  gaps mean {c['mean_s']:.3f} s, median {c['median_s']:.3f} s, CV {c['cv']:.2f}, "
        f"shortest {c['min_ms']:.1f} ms"
    )
    print(
        f"  KS distance to Exp(1) {c['ks']:.3f} (5 % critical {c['ks_crit_5pct']:.3f}); "
        f"{c['near_whole_second']:.0%} of gaps within 20 ms of a whole second"
    )
    late = r["timer_late_ms"]
    print(
        f"  the worker's timer woke {late['median']:.1f} ms late (median), "
        f"{late['p99']:.1f} ms (p99), {late['max']:.1f} ms (most)"
    )
    print(f"  still open at the end: {r['cover_open_to_the_end']}")
    print(f"  page visibility during the run: {', '.join(r['visibility'])}")
    h = r["hidden"]
    if h is None:
        print("hidden tab: not measured (give --hidden-seconds and a DISPLAY)")
    else:
        print(f"hidden tab, {h['seconds']:g} s (visibility {' -> '.join(h['visibility'])}):")
        for part in ("all", "first_5_min", "after_5_min"):
            g = h[part]
            if g is not None:
                print(
                    f"  {part}: {g['frames']} frames, gaps mean {g['mean_s']:.3f} s, "
                    f"CV {g['cv']:.2f}, KS {g['ks']:.3f} (crit {g['ks_crit_5pct']:.3f}), "
                    f"{g['near_whole_second']:.0%} within 20 ms of a whole second"
                )
        hl = h["timer_late_ms"]
        print(
            f"  the worker's timer woke {hl['median']:.1f} ms late (median), "
            f"{hl['p99']:.1f} ms (p99), {hl['max']:.1f} ms (most); "
            f"still open at the end: {h['open_to_the_end']}"
        )
        pt = h["page_timer_200ms"]
        print(
            f"  control, a 200 ms timer on the hidden page: median {pt['median_ms']:.0f} ms, "
            f"longest {pt['max_ms']:.0f} ms"
            + (
                ""
                if pt["median_after_5_min_ms"] is None
                else f", median after 5 minutes {pt['median_after_5_min_ms']:.0f} ms"
            )
        )
    print("RESULT " + json.dumps(r))


if __name__ == "__main__":
    main()
