"""The widget in Chromium (Debian's package, driven by Playwright) on a host page with a strict
Content-Security-Policy: a visitor chats through a real relay process with a Python owner
agent, sees sent and delivered ticks, keeps chatting across a relay restart (what they type
offline goes out when it is back), and the owner's hostile HTML, script and CSS arrive as
inert text. The CSP reports nothing.

The page is served by a tiny HTTP server on 127.0.0.1 and reaches the relay's plain ws://
port (browsers allow ws:// to loopback from an http page).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hushwire.agent.agent import (
    Agent,
    ConnectionEstablished,
    ConnectionRequested,
    MessageReceived,
    ReceiptReceived,
)
from hushwire.agent.protocol import compress_compressed_list
from hushwire.bot.common import chat_events, profile_info, text_message
from hushwire.chat.messages import XDirectDel, XMsgNew, x_direct_del
from hushwire.client import ClientConfig
from hushwire.inbox.service import profile_name
from hushwire.testing import RelayProcess
from hushwire.testing import start_relay_process as start_relay
from hushwire.testing.browser import CHROMIUM, CHROMIUM_ARGS
from hushwire.widget import SnippetOptions, snippet, widget_file

ARGS = list(CHROMIUM_ARGS)
SHOTS = Path("/tmp")
OWNER_CFG = ClientConfig(command_timeout=10)
HOSTILE = [
    "<img src=x onerror=window.__pwned=1>",
    "<script>window.__pwned=2</script>",
    "<style>:host,*{display:none!important}</style>",
    '<a href="javascript:window.__pwned=3">x</a> & &amp; <b>bold?</b>',
]

if not os.environ.get("CI"):
    pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("needs Debian's chromium: run `make chromium`", allow_module_level=True)


STORED_SESSIONS = """() => new Promise((resolve, reject) => {
  const r = indexedDB.open("hushwire");
  r.onsuccess = () => {
    const g = r.result.transaction("sessions").objectStore("sessions")
      .getAll();
    g.onsuccess = () => resolve(g.result.map((s) => ({
      extractable: s.key.extractable, alg: s.key.algorithm.name,
      sealed: s.sealed instanceof ArrayBuffer })));
    g.onerror = () => reject(g.error);
  };
})"""


def strict_csp(relay_ws: str, *, worker_blob: bool = True, tt_policy: str = "hushwire") -> str:
    """The policy docs/widget.md gives a host page, as strict as it gets: no inline script or
    style at all (style-src 'none'), Trusted Types enforced, violations reported."""
    worker = "worker-src blob:; " if worker_blob else ""
    return (
        "default-src 'none'; script-src 'self'; "
        f"{worker}connect-src {relay_ws}; style-src 'none'; img-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
        f"require-trusted-types-for 'script'; trusted-types {tt_policy}; report-uri /csp-report"
    )


PROBE = b"""window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.effectiveDirective + " " + e.blockedURI);
});
"""


@dataclass
class PageServer:
    """Serves the host page (with its CSP header), the probe and the widget bundle."""

    csp: str = ""
    body: bytes = b""
    reports: list[Any] = field(default_factory=list)
    port: int = 0
    paths: list[str] = field(default_factory=list)
    """Every path the browser asked the web host for, in order (its access log)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def host_page(self, tag: str) -> None:
        self.body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>Tiny Bakery</title><script src="/probe.js"></script></head>'
            "<body><main><h1>Tiny Bakery</h1><p>Sourdough and rye, baked at dawn.</p></main>"
            f"{tag}</body></html>"
        ).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    site: PageServer

    def _send(self, body: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", self.site.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.site.paths.append(self.path)
        path = self.path.split("?")[0]
        if path == "/":
            self._send(self.site.body, "text/html; charset=utf-8")
        elif path == "/probe.js":
            self._send(PROBE, "text/javascript")
        elif (file := widget_file(path.removeprefix("/"))) is not None:
            self._send(file, "text/javascript")  # the bundle and its modules
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        if self.path == "/csp-report":
            self.site.reports.append(json.loads(data or b"null"))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def page_server() -> Iterator[PageServer]:
    site = PageServer()
    handler = type("Handler", (_Handler,), {"site": site})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    site.port = srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield site
    finally:
        srv.shutdown()
        srv.server_close()


class Owner:
    """A Python owner agent: accepts visitors, collects their texts, acknowledges each with a
    receipt, and says what the test tells it to."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.texts: asyncio.Queue[str] = asyncio.Queue()
        self.receipts: asyncio.Queue[int] = asyncio.Queue()
        self.names: list[str | None] = []
        self.conn: str | None = None
        self.established = asyncio.Event()
        self.ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> str:
        await self.agent.start()
        _, link = await self.agent.create_address(profile_info("Tiny Bakery"))
        self._task = asyncio.create_task(self._run())
        return link

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.agent.stop()

    async def _run(self) -> None:
        while True:
            ev = await self.agent.events.get()
            if isinstance(ev, ConnectionRequested):
                self.names.append(profile_name(ev.info))
            elif isinstance(ev, ConnectionEstablished):
                self.conn = ev.conn_id
                self.established.set()
            elif isinstance(ev, MessageReceived):
                delete = False
                for chat in chat_events(ev):
                    if isinstance(chat, XMsgNew) and chat.text is not None:
                        await self.texts.put(chat.text)
                    elif isinstance(chat, XDirectDel):
                        delete = True
                await self.agent.ack_message(ev.msg_id, receipt=True)
                if delete:
                    self.ended.set()
                    await self.agent.delete(ev.conn_id)
            elif isinstance(ev, ReceiptReceived):
                await self.receipts.put(ev.snd_id)

    async def say(self, text: str) -> int:
        assert self.conn is not None, "no visitor yet"
        return await self.agent.send(self.conn, text_message(text))

    async def end(self) -> None:
        """End the conversation from the owner's side, as the inbox does."""
        assert self.conn is not None, "no visitor yet"
        await self.agent.send(self.conn, x_direct_del().encode())

    async def next_text(self, timeout: float = 20) -> str:
        return await asyncio.wait_for(self.texts.get(), timeout)

    async def receipt_for(self, snd_id: int, timeout: float = 20) -> None:
        while await asyncio.wait_for(self.receipts.get(), timeout) != snd_id:
            pass


@dataclass
class Relay:
    """The relay process, stopped and started again on the same port by a test."""

    proc: RelayProcess
    data: Path

    async def stop(self) -> None:
        await asyncio.to_thread(self.proc.stop)

    async def start_again(self) -> None:
        port = self.proc.ws_port or 0
        self.proc = await asyncio.to_thread(start_relay, self.data, tls=False, ws_port=port)


@asynccontextmanager
async def relay_and_owner(tmp: Path) -> AsyncIterator[tuple[RelayProcess, Owner, str, Relay]]:
    relay = Relay(await asyncio.to_thread(start_relay, tmp / "relay", tls=False), tmp / "relay")
    r = relay.proc
    owner = Owner(Agent(tmp / "owner", r.address, ws_url=r.ws_url, client_config=OWNER_CFG))
    try:
        link = await owner.start()
        yield r, owner, link, relay
    finally:
        await owner.stop()
        await relay.stop()


@asynccontextmanager
async def chromium(tmp: Path, width: int = 1100, height: int = 760) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=20_000)
    async with async_playwright() as p:
        ctx = await p.chromium.launch_persistent_context(
            str(tmp / "chromium-profile"),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
        try:
            yield ctx
        finally:
            await ctx.close()


def run(coro: Callable[[], Awaitable[None]], timeout: float = 150) -> None:
    asyncio.run(asyncio.wait_for(coro(), timeout))


async def open_page(ctx: Any, site: PageServer) -> tuple[Any, list[str]]:
    page = ctx.pages[0] if ctx.pages else await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
    page.on(
        "console",
        lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
    )
    await page.goto(site.url)
    return page, errors


async def chat_established(page: Any, owner: Owner, timeout: float = 20) -> None:
    """Both ends see the chat; a widget that failed to start says why in the assertion."""
    panel = page.locator(".panel")
    state = None
    for _ in range(int(timeout * 10)):
        state = await panel.get_attribute("data-state")
        if state == "failed":
            why = await page.get_by_role("status").inner_text()
            raise AssertionError(f"the widget could not start the chat: {why}")
        if state == "chat" and owner.established.is_set():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no chat after {timeout} s (widget: {state}, owner: {owner.conn})")


async def exchange(page: Any, owner: Owner, text: str, reply: str) -> None:
    """The visitor sends ``text``, the owner gets it and answers ``reply``, which the visitor
    sees as the last message in."""
    from playwright.async_api import expect

    field = page.get_by_role("textbox", name="Message")
    await field.fill(text)
    await field.press("Enter")
    assert await owner.next_text() == text
    await owner.say(reply)
    log = page.get_by_role("log", name="Messages")
    await expect(log.locator(".msg.in .text").last).to_have_text(reply)


async def stored_sessions(page: Any, script: str = STORED_SESSIONS) -> Any:
    """The page's session records as ``script`` reads them, once every one holds a sealed
    state or after 5 s: the worker seals after a change, and IndexedDB is asynchronous."""
    stored = None
    for _ in range(50):
        stored = await page.evaluate(script)
        if stored and all(x["sealed"] for x in stored):
            break
        await asyncio.sleep(0.1)
    return stored


async def reload_and_resume(
    page: Any, owner: Owner, transcript: list[str], text: str, reply: str
) -> None:
    """data-resume: once the sealed state is in IndexedDB, reload the page, open the chat
    again, see ``transcript`` come back and go on with one exchange."""
    from playwright.async_api import expect

    assert await stored_sessions(page) == [{"extractable": False, "alg": "AES-GCM", "sealed": True}]
    await page.reload()
    await page.get_by_role("button", name="Open chat").click()
    log = page.get_by_role("log", name="Messages")
    await expect(log.locator(".msg .text")).to_have_text(transcript)
    await exchange(page, owner, text, reply)


async def csp_clean(page: Any, site: PageServer) -> None:
    """Neither the page's violation events nor the CSP reports saw anything."""
    await page.wait_for_timeout(300)  # reports are sent asynchronously
    assert await page.evaluate("window.__csp") == []
    assert site.reports == []


def test_visitor_chats_through_the_relay_across_a_restart(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_owner(tmp_path) as (relay, owner, link, restartable):
            with page_server() as site:
                site.csp = strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
                opts = SnippetOptions(link, relay.ws_url, ask_name=True, lang="en")
                site.host_page(snippet(opts))
                async with chromium(tmp_path) as ctx:
                    page, errors = await open_page(ctx, site)
                    launcher = page.get_by_role("button", name="Open chat")
                    await launcher.click()
                    await expect(page.get_by_role("dialog", name="Chat")).to_be_visible()
                    name = page.get_by_role("textbox", name="Your name (optional)")
                    await expect(name).to_be_focused()
                    await name.fill("Ada")
                    await page.get_by_role("button", name="Start chat").click()

                    # The owner accepts; the visitor writes and sees both ticks.
                    await chat_established(page, owner)
                    assert owner.names == ["Ada"]
                    status = page.get_by_role("status")
                    await expect(status).to_contain_text("Connected")
                    field = page.get_by_role("textbox", name="Message")
                    await expect(field).to_be_focused()
                    await field.fill("Hello! Do you have rye bread today?")
                    await page.get_by_role("button", name="Send").click()
                    await expect(field).to_have_value("")
                    assert await owner.next_text() == "Hello! Do you have rye bread today?"
                    log = page.get_by_role("log", name="Messages")
                    out = log.locator(".msg.out")
                    await expect(out.locator(".text")).to_have_text(
                        ["Hello! Do you have rye bread today?"]
                    )
                    await expect(out.locator(".tick")).to_have_attribute("data-state", "delivered")
                    await expect(out.locator(".tick")).to_have_text("✓✓")

                    # The owner answers; the widget sends a receipt for it.
                    sid = await owner.say("Yes, two loaves left.")
                    await expect(log.locator(".msg.in .text")).to_have_text(
                        ["Yes, two loaves left."]
                    )
                    await owner.receipt_for(sid)
                    # Quality from the keepalive lag, outside the live region.
                    await expect(page.locator(".qt")).to_have_text(
                        re.compile(r" · good \(\d+ ms\)")
                    )

                    await page.screenshot(path=str(SHOTS / "hushwire-widget.png"))
                    await page.set_viewport_size({"width": 320, "height": 640})
                    # below 360 px the figure is hidden: the quality stays on the state's line
                    await expect(page.locator(".qt .ms")).to_be_hidden()
                    state_box = await page.locator(".bar .state").bounding_box()
                    assert state_box is not None and state_box["height"] < 24
                    await page.screenshot(path=str(SHOTS / "hushwire-widget-320.png"))
                    box = await page.locator(".panel").bounding_box()
                    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
                    await page.set_viewport_size({"width": 1100, "height": 760})

                    # The relay goes away: the widget says so and queues what is typed.
                    await restartable.stop()
                    await expect(status).to_contain_text("Offline")
                    await field.fill("Typed while offline")
                    await field.press("Enter")
                    queued = out.nth(1).locator(".tick")
                    await expect(queued).to_have_attribute("data-state", "queued")
                    await page.wait_for_timeout(500)
                    await expect(queued).to_have_attribute("data-state", "queued")

                    # Back on the same port: reconnect, resubscribe, the queue goes out.
                    await restartable.start_again()
                    assert owner.texts.empty()
                    assert await owner.next_text(40) == "Typed while offline"
                    await expect(queued).to_have_attribute("data-state", "delivered")
                    await expect(status).to_contain_text("Connected")
                    await owner.say("Welcome back.")
                    await expect(log.locator(".msg.in .text")).to_have_text(
                        ["Yes, two loaves left.", "Welcome back."]
                    )
                    # Closed panel: a new message shows as an unread count on the button.
                    await field.press("Escape")
                    await expect(launcher).to_be_focused()
                    await owner.say("Are you still there?")
                    badge = launcher.locator(".badge")
                    await expect(badge).to_have_text("1")
                    await expect(launcher).to_have_attribute("title", "1 unread")
                    await launcher.click()
                    await expect(badge).to_be_hidden()
                    await expect(field).to_be_focused()
                    await field.fill("Thanks, I'll come by at 5.")
                    await page.get_by_role("button", name="Send").click()
                    assert await owner.next_text() == "Thanks, I'll come by at 5."

                    # End: x.direct.del reaches the owner; the widget offers a new chat.
                    await page.get_by_role("button", name="End conversation").click()
                    await asyncio.wait_for(owner.ended.wait(), 20)
                    await expect(log.locator(".note")).to_contain_text(["ended"])
                    await expect(
                        page.get_by_role("button", name="Start a new chat")
                    ).to_be_focused()
                    await expect(field).to_be_hidden()
                    # no data-resume: the worker never fetched the module that reads a state back
                    assert "/hushwire-widget-restore.js" not in site.paths
                    assert "/hushwire-widget-zstd.js" in site.paths

                    await csp_clean(page, site)
                    assert errors == []

    run(main)


def test_preload_starts_the_worker_when_the_page_is_idle(tmp_path: Path) -> None:
    """data-preload: the crypto worker (and the module it loads) starts with nothing touched;
    without it, nothing starts until the visitor's intent. The chat then runs on that worker."""

    async def workers_after_idle(page: Any) -> int:
        await page.evaluate("new Promise((r) => requestIdleCallback(() => setTimeout(r, 300)))")
        return len(page.workers)

    async def main() -> None:
        async with relay_and_owner(tmp_path) as (relay, owner, link, _):
            with page_server() as site:
                site.csp = strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
                async with chromium(tmp_path) as ctx:
                    site.host_page(snippet(SnippetOptions(link, relay.ws_url, lang="en")))
                    page, errors = await open_page(ctx, site)
                    assert await workers_after_idle(page) == 0
                    assert "/hushwire-widget-zstd.js" not in site.paths
                    opts = SnippetOptions(link, relay.ws_url, lang="en", preload=True)
                    site.host_page(snippet(opts))
                    await page.reload()
                    for _ in range(50):
                        if await workers_after_idle(page) == 1:
                            break
                    assert len(page.workers) == 1
                    assert "/hushwire-widget-zstd.js" in site.paths
                    await page.get_by_role("button", name="Open chat").click()
                    await chat_established(page, owner)
                    assert len(page.workers) == 1  # the preloaded one
                    await owner.say("Hello from the owner")
                    log = page.get_by_role("log", name="Messages")
                    from playwright.async_api import expect

                    await expect(log.locator(".msg.in .text")).to_have_text(
                        ["Hello from the owner"]
                    )
                    await csp_clean(page, site)
                    assert errors == []

    run(main)


def test_hostile_content_from_the_owner_renders_inert(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_owner(tmp_path) as (relay, owner, link, _):
            with page_server() as site:
                site.csp = strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
                site.host_page(snippet(SnippetOptions(link, relay.ws_url)))
                async with chromium(tmp_path) as ctx:
                    page, errors = await open_page(ctx, site)
                    await page.get_by_role("button", name="Open chat").click()
                    await chat_established(page, owner)
                    for text in HOSTILE:
                        await owner.say(text)
                    log = page.get_by_role("log", name="Messages")
                    await expect(log.locator(".msg.in .text")).to_have_text(HOSTILE)
                    await expect(log).to_be_visible()  # the <style> payload hid nothing
                    shadow_elements = await page.evaluate(
                        """() => {
                          const root = document.querySelector("[data-hushwire]").shadowRoot;
                          const tags = [...root.querySelectorAll("li.msg.in *")]
                            .map((e) => e.tagName);
                          return { tags, styles: root.querySelectorAll("style").length,
                                   pageImgs: document.images.length,
                                   pwned: window.__pwned === undefined ? null : window.__pwned };
                        }"""
                    )
                    assert shadow_elements == {
                        "tags": ["SPAN", "SPAN"] * len(HOSTILE),
                        "styles": 0,
                        "pageImgs": 0,
                        "pwned": None,
                    }
                    # The host page outside the widget's element is untouched.
                    body = await page.evaluate(
                        "[...document.body.children].map((e) => e.tagName + "
                        "(e.hasAttribute('data-hushwire') ? '*' : ''))"
                    )
                    assert body == ["MAIN", "SCRIPT", "DIV*"]
                    await page.screenshot(path=str(SHOTS / "hushwire-widget-hostile.png"))

                    # A long message in a zstd-compressed batch ('X'): the crypto worker
                    # decompresses it with its zstd module (hushwire-widget-zstd.js).
                    long = "compressed-" * 40 + "end"
                    assert owner.conn is not None
                    await owner.agent.send(
                        owner.conn, b"X" + compress_compressed_list([text_message(long)])
                    )
                    await expect(log.locator(".msg.in .text").last).to_have_text(long)

                    # The owner ends the conversation: the widget says so and offers a new one.
                    await owner.end()
                    await expect(log.locator(".note")).to_have_text(["The conversation was ended."])
                    await expect(page.get_by_role("textbox", name="Message")).to_be_hidden()
                    await expect(
                        page.get_by_role("button", name="Start a new chat")
                    ).to_be_visible()
                    await csp_clean(page, site)
                    assert errors == []

    run(main)


@asynccontextmanager
async def resume_chat(
    tmp: Path, relay: RelayProcess, owner: Owner, link: str
) -> AsyncIterator[tuple[Any, list[str], PageServer]]:
    """A host page embedding the widget with data-resume (strict CSP) in Chromium, its chat
    opened and established with ``owner``: the page, its errors and its server."""
    with page_server() as site:
        site.csp = strict_csp(f"ws://127.0.0.1:{relay.ws_port}")
        site.host_page(snippet(SnippetOptions(link, relay.ws_url, resume=True)))
        async with chromium(tmp) as ctx:
            page, errors = await open_page(ctx, site)
            await page.get_by_role("button", name="Open chat").click()
            await chat_established(page, owner)
            yield page, errors, site


def test_resume_after_reload(tmp_path: Path) -> None:
    """data-resume: the session, sealed under a non-extractable key in IndexedDB, survives a
    reload; the transcript comes back and the chat goes on."""
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_owner(tmp_path) as (relay, owner, link, _):
            async with resume_chat(tmp_path, relay, owner, link) as (page, errors, site):
                field = page.get_by_role("textbox", name="Message")
                await field.fill("Before the reload")
                await field.press("Enter")
                assert await owner.next_text() == "Before the reload"
                await owner.say("Got it")
                log = page.get_by_role("log", name="Messages")
                await expect(log.locator(".msg.in .text")).to_have_text(["Got it"])
                stored = await stored_sessions(page)
                assert stored, "no session record in IndexedDB (page side of data-resume)"
                assert stored[0]["sealed"], (
                    "the worker never posted its sealed state (rpc.ts event `sealed`)"
                )
                assert stored == [{"extractable": False, "alg": "AES-GCM", "sealed": True}]

                await page.reload()
                await page.get_by_role("button", name="Open chat").click()
                await expect(log.locator(".msg .text")).to_have_text(
                    ["Before the reload", "Got it"]
                )
                await expect(page.get_by_role("status")).to_contain_text("Connected")
                await field.fill("After the reload")
                await field.press("Enter")
                assert await owner.next_text() == "After the reload"
                await owner.say("Still here")
                await expect(log.locator(".msg.in .text")).to_have_text(["Got it", "Still here"])
                # the worker read the state back with its "restore" module
                assert "/hushwire-widget-restore.js" in site.paths
                assert errors == []

    run(main)


def test_keyboard_focus_language_and_narrow_screen(tmp_path: Path) -> None:
    """German by data-lang, operable by keyboard alone, focus moved in and back, 320 px."""
    from playwright.async_api import expect

    async def main() -> None:
        with page_server() as site:
            site.csp = strict_csp("ws://127.0.0.1:9")
            opts = SnippetOptions(
                "simplex:/contact#/?v=2-7", "ws://127.0.0.1:9/", lang="de", ask_name=True
            )
            site.host_page(snippet(opts))
            async with chromium(tmp_path, width=320, height=600) as ctx:
                page, errors = await open_page(ctx, site)
                await page.emulate_media(reduced_motion="reduce")
                launcher = page.get_by_role("button", name="Chat öffnen")
                await expect(launcher).to_have_attribute("aria-expanded", "false")
                await page.keyboard.press("Tab")
                await expect(launcher).to_be_focused()
                await page.keyboard.press("Enter")
                name = page.get_by_role("textbox", name="Ihr Name (optional)")
                await expect(name).to_be_focused()
                close = page.get_by_role("button", name="Chat schließen")
                await expect(close).to_have_attribute("aria-expanded", "true")
                for sel in (".panel", ".launcher"):
                    box = await page.locator(sel).bounding_box()
                    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
                await page.screenshot(path=str(SHOTS / "hushwire-widget-de-320.png"))
                await page.keyboard.press("Escape")
                await expect(page.locator(".panel")).to_be_hidden()
                await expect(launcher).to_be_focused()
                # Reduced motion: the panel appears without its rise animation.
                anim = await page.locator(".panel").evaluate(
                    "e => getComputedStyle(e).animationName"
                )
                assert anim == "none"
                await csp_clean(page, site)
                assert errors == []

    run(main, 60)


@pytest.mark.parametrize(
    ("csp", "reason", "directive"),
    [
        ({"worker_blob": False}, "worker-src blob:", "worker-src"),
        ({"tt_policy": "other"}, "trusted-types hushwire", "trusted-types"),
    ],
    ids=["no-blob-worker", "no-trusted-types-policy"],
)
def test_fails_closed_when_the_csp_refuses_the_worker(
    tmp_path: Path, csp: dict[str, Any], reason: str, directive: str
) -> None:
    """A CSP that refuses the blob: worker (or its Trusted Types policy) stops the widget with
    a message that says what the page must allow; the crypto never runs on the page instead."""
    from playwright.async_api import expect

    async def main() -> None:
        with page_server() as site:
            site.csp = strict_csp("ws://127.0.0.1:9", **csp)
            site.host_page(snippet(SnippetOptions("simplex:/contact#/?v=2-7", "ws://127.0.0.1:9/")))
            async with chromium(tmp_path) as ctx:
                page, _ = await open_page(ctx, site)
                await page.get_by_role("button", name="Open chat").click()
                await expect(page.get_by_role("status")).to_contain_text(reason)
                await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
                await page.wait_for_timeout(300)
                violations = await page.evaluate("window.__csp")
                assert any(v.startswith(directive) for v in violations), violations

    run(main, 60)
