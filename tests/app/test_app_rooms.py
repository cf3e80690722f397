"""Rooms in the web app, in Chromium, each time with a real relay process on loopback and the
Python room code as the other side: an app member in a ``hushwire room host`` room (with a
``hushwire chat`` member as witness), and an app-hosted room joined by ``hushwire chat``.
Messages go both ways; names on both sides are the profiles' names."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from test_app_browser import (
    HOSTILE_NAME,
    HOSTILE_TEXTS,
    browser,
    clean,
    no_link_reached_the_server,
    online,
    open_app,
    relay_and_app,
)

from hushwire.agent.links import parse_link
from hushwire.testing import RelayProcess
from hushwire.testing import start_relay_process as start_relay

# (test_app_browser skips this module too without Playwright or Chromium)

TIMEOUT = 60
ROOM = '<b>Lobby</b> <img src=x onerror="window.__pwned=4">'


class Cli:
    """A ``python -m hushwire ...`` process: lines typed on its stdin, its stdout read."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[str] = []

    async def expect(self, ok: Callable[[str], bool], what: str) -> str:
        assert self.proc.stdout is not None

        async def find() -> str:
            while True:
                raw = await self.proc.stdout.readline()  # type: ignore[union-attr]
                if not raw:
                    raise AssertionError(f"no {what}: the process ended; saw {self.seen}")
                line = raw.decode().rstrip("\n")
                self.seen.append(line)
                if ok(line):
                    return line

        try:
            return await asyncio.wait_for(find(), TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"no {what}; saw {self.seen}") from None

    async def say(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()


@asynccontextmanager
async def cli(tmp: Path, *args: str) -> AsyncIterator[Cli]:
    with (tmp / f"{args[0]}-{len(list(tmp.iterdir()))}.log").open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hushwire",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
        try:
            yield Cli(proc)
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()


def room_host(
    tmp: Path, relay: RelayProcess, name: str = "Lobby"
) -> AbstractAsyncContextManager[Cli]:
    """``hushwire room host`` on ``relay`` (its data in tmp/host)."""
    args = ["room", "host", "--data", str(tmp / "host"), "--relay", relay.address.encode()]
    return cli(tmp, *args, "--ws", relay.ws_url, "--name", name)


def chat_args(relay: RelayProcess, link: str, data: Path, name: str) -> list[str]:
    return ["chat", link, "--data", str(data), "--ws", relay.ws_url, "--name", name]


async def set_name(page: Any, name: str) -> None:
    from playwright.async_api import expect

    await page.get_by_label("Your name").fill(name)
    await page.get_by_role("button", name="Save name").click()
    await expect(page.locator("#name-saved")).to_have_text("Name saved.")


async def new_room(page: Any, name: str) -> str:
    """Create a room named ``name``; return the link the page shows (textbox "Room link")."""
    from playwright.async_api import expect

    await page.get_by_label("Room name").fill(name)
    await page.get_by_role("button", name="New room").click()
    box = page.get_by_role("textbox", name="Room link")
    await expect(box).not_to_have_value("")
    return str(await box.input_value())


async def open_room(page: Any, name: str) -> None:
    """Select the room ``name`` once it is connected."""
    from playwright.async_api import expect

    item = page.get_by_role("list", name="Contacts").get_by_role("listitem").filter(has_text=name)
    await expect(item).to_contain_text("connected")
    await item.get_by_role("button").click()
    await expect(page.locator("#chat-title")).to_have_text(name)


async def host_room(b: Any, url: str) -> tuple[Any, list[str], str]:
    """A browser named Ann hosting a room named Lobby: its page, its errors, the room link."""
    page, errors = await open_app(b, url)
    await online(page)
    await set_name(page, "Ann")
    return page, errors, await new_room(page, "Lobby")


def members_of(page: Any) -> Any:
    return page.get_by_role("list", name="Members").get_by_role("listitem")


async def say(page: Any, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.keyboard.press("Enter")


@pytest.mark.timeout(300)
def test_an_app_member_talks_in_a_python_hosted_room(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (relay, app), browser() as b:
            async with room_host(tmp_path, relay) as host:
                link = await host.expect(lambda x: x.startswith("simplex:/contact#"), "link")
                async with cli(tmp_path, *chat_args(relay, link, tmp_path / "py", "ada")) as ada:
                    await ada.expect(lambda x: x.startswith("Joined the room Lobby"), "joined")
                    page, errors = await open_app(b, app.url)
                    await online(page)
                    await set_name(page, "Ann")
                    # the room's link opened on the app's origin: the app joins as a member
                    await page.goto(app.url + link.removeprefix("simplex:/"))
                    await open_room(page, "Lobby")
                    await ada.expect(lambda x: x == "* Ann joined", "ada sees the app join")
                    # the Python host announces only later arrivals: ada shows once heard from
                    await expect(members_of(page)).to_have_text(["Lobby (host)"])
                    log = page.get_by_role("log", name="Messages")

                    await say(page, "hello from the browser")
                    await ada.expect(
                        lambda x: x == "< Ann: hello from the browser", "the app's message"
                    )
                    await ada.say("hello from python")
                    await expect(log.locator("li.in")).to_have_text(["ada: hello from python"])
                    await expect(members_of(page)).to_have_text(["Lobby (host)", "ada"])
                    await host.say("the host speaks")
                    await expect(log.locator("li.in")).to_have_text(
                        ["ada: hello from python", "Lobby: the host speaks"]
                    )
                    await ada.expect(lambda x: x == "< Lobby: the host speaks", "the host")
                    # the host clears the history: the app's log is empty
                    await host.say("/clear")
                    await expect(log.locator("li")).to_have_count(0)
                    assert errors == []
                    assert app.server.reports == []

    asyncio.run(asyncio.wait_for(main(), 240))


@pytest.mark.timeout(300)
def test_hushwire_chat_talks_in_an_app_hosted_room(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (relay, app), browser() as b:
            page, errors, shown = await host_room(b, app.url)
            assert re.match(re.escape(app.url) + r"contact#/\?v=\d-\d&smp=smp%3A%2F%2F", shown)
            # as a deployed app shows it: https on the app's host, group data in the link
            https = re.sub(r"^http://", "https://", shown)
            req = parse_link(https)
            assert req.mode == "contact"
            assert req.client_data is not None and '"type":"group"' in req.client_data
            await expect(members_of(page)).to_have_text(["Ann (host)"])
            log = page.get_by_role("log", name="Messages")
            await say(page, "before anyone came")

            async with cli(tmp_path, *chat_args(relay, https, tmp_path / "py", "ada")) as ada:
                await ada.expect(lambda x: x.startswith("Joined the room Lobby"), "joined")
                # the history: the host's message before the join
                await ada.expect(lambda x: x == "< Ann: before anyone came", "history")
                await expect(members_of(page)).to_have_text(["Ann (host)", "ada"])
                await ada.say("hello from python")
                await expect(log.locator("li.in")).to_have_text(["ada: hello from python"])
                await say(page, "hello from the browser")
                await ada.expect(lambda x: x == "< Ann: hello from the browser", "the app's")
                await page.get_by_role("button", name="Clear history").click()
                await expect(log.locator("li")).to_have_count(0)
                await ada.say("/end")
                await expect(members_of(page)).to_have_text(["Ann (host)"])
            assert errors == []
            assert app.server.reports == []

    asyncio.run(asyncio.wait_for(main(), 240))


@pytest.mark.timeout(400)
def test_four_browsers_in_a_room_history_clear_and_reload(tmp_path: Path) -> None:
    """A hosts; B (a hostile name) and C open the link; after 12 messages (hostile texts among
    them) D opens it and sees exactly the last 10; A clears the history and every log is
    empty; B reloads and is back in the room; D leaves, and opens the link again while A's
    browser is closed: it waits, told why, and is admitted when A is back; A deletes the
    room."""
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (_, app), browser() as b:
            pages: dict[str, tuple[Any, list[str]]] = {}
            for who, name in (("A", "Ann"), ("B", HOSTILE_NAME), ("C", "Cy"), ("D", "Dee")):
                page, errors = await open_app(b, app.url)
                await online(page)
                await set_name(page, name)
                pages[who] = (page, errors)
            a, b_, c, d = (pages[k][0] for k in "ABCD")
            # keyboard only: the room's name, then Enter; a hostile room name is shown as text
            await a.get_by_label("Room name").fill(ROOM)
            await a.keyboard.press("Enter")
            box = a.get_by_role("textbox", name="Room link")
            await expect(box).to_be_focused()
            link = str(await box.input_value())
            assert link.startswith(app.url + "contact#/?")
            await expect(a.get_by_role("img", name="QR code of the room link")).to_be_visible()
            for page in (b_, c):
                await page.goto(link)
                await open_room(page, ROOM)
            await expect(members_of(a)).to_have_text(["Ann (host)", HOSTILE_NAME, "Cy"])
            await expect(members_of(c)).to_have_text(["Ann (host)", HOSTILE_NAME])
            await expect(members_of(b_)).to_have_text(["Ann (host)", "Cy"])

            speakers = [(a, "Ann"), (b_, HOSTILE_NAME), (c, "Cy")]
            texts = [f"message {i}" for i in range(12)]
            texts[4], texts[8] = HOSTILE_TEXTS
            for i, text in enumerate(texts):
                who, _name = speakers[i % 3]
                await say(who, text)
                for page, _ in speakers:  # everyone has it before the next is written
                    await expect(
                        page.get_by_role("log", name="Messages").locator("li")
                    ).to_have_count(i + 1)
            shown = [f"{speakers[i % 3][1]}: {t}" for i, t in enumerate(texts)]
            await expect(c.get_by_role("log", name="Messages").locator("li.in")).to_have_text(
                [s for i, s in enumerate(shown) if i % 3 != 2]
            )

            await d.goto(link)
            await open_room(d, ROOM)
            d_log = d.get_by_role("log", name="Messages").locator("li")
            await expect(d_log).to_have_text(shown[2:])
            await expect(members_of(d)).to_have_text(["Ann (host)", HOSTILE_NAME, "Cy"])
            await d.wait_for_timeout(500)
            await expect(d_log).to_have_count(10)  # exactly the last 10, nothing twice

            # A clears the history: every log is empty
            await a.get_by_role("button", name="Clear history").click()
            for page in (a, b_, c, d):
                await expect(page.get_by_role("log", name="Messages").locator("li")).to_have_count(
                    0
                )
            # only the owner has the button
            await expect(b_.get_by_role("button", name="Clear history")).to_be_hidden()

            # B reloads: back in the room, and it goes on
            await b_.reload()
            await online(b_)
            await open_room(b_, ROOM)
            await say(b_, "B is back")
            for page in (a, c, d):
                await expect(page.get_by_role("log", name="Messages")).to_have_text(
                    f"{HOSTILE_NAME}: B is back"
                )
            # D leaves: the others' member lists no longer name it
            await d.get_by_role("button", name="Leave room").click()
            await expect(members_of(a)).to_have_text(["Ann (host)", HOSTILE_NAME, "Cy"])
            await expect(members_of(c)).not_to_contain_text(["Dee"])

            # A's browser is closed: D opens the link again, waits and is told so; A comes back
            # (its room restored from the sealed profile) and admits D, who gets the history
            ctx = a.context
            await a.close()
            await d.goto(link)
            waiting = d.get_by_role("list", name="Contacts").get_by_role("listitem")
            await expect(waiting).to_contain_text("waiting for the room's host to admit you")
            a = await ctx.new_page()
            a_errors = pages["A"][1]
            a.on("pageerror", lambda e: a_errors.append(f"pageerror: {e}"))
            pages["A"] = (a, a_errors)
            await a.goto(app.url)
            await online(a)
            await open_room(a, ROOM)
            await open_room(d, ROOM)
            await expect(d.get_by_role("log", name="Messages")).to_have_text(
                f"{HOSTILE_NAME}: B is back"
            )
            await expect(members_of(a)).to_have_text(["Ann (host)", HOSTILE_NAME, "Cy", "Dee"])
            await say(a, "welcome back")
            for page in (b_, c, d):
                await expect(page.get_by_role("log", name="Messages").locator("li")).to_have_count(
                    2
                )
            # the owner's "Leave room" deletes the room for everybody
            await a.get_by_role("button", name="Leave room").click()
            for page in (b_, c, d):
                await expect(page.locator("#chat-status")).to_have_text(
                    "ended: the host deleted the room"
                )
            for page, errors in pages.values():
                for log in await page.get_by_role("log", name="Messages").all():
                    assert await log.locator("script, a, b, img").count() == 0
                assert await page.locator("#contacts img, #contacts b, #chat-title *").count() == 0
                await clean(page, errors)
            no_link_reached_the_server(app, "/contact", "group")

    asyncio.run(asyncio.wait_for(main(), 360))


@pytest.mark.timeout(300)
def test_a_room_goes_on_across_a_relay_restart(tmp_path: Path) -> None:
    """The relay restarts mid-conversation: a text typed while it is down goes out when it is
    back, the host forwards it, and the room's link still admits (its queue subscribed again)."""
    from playwright.async_api import expect

    async def main() -> None:
        async with relay_and_app(tmp_path) as (relay, app), browser() as b:
            a, a_errors, link = await host_room(b, app.url)
            bp, b_errors = await open_app(b, app.url)
            await online(bp)
            await set_name(bp, "Bo")
            await bp.goto(link)
            await open_room(bp, "Lobby")
            await expect(members_of(a)).to_have_text(["Ann (host)", "Bo"])

            port = relay.ws_port
            await asyncio.to_thread(relay.stop)
            await expect(bp.get_by_role("status")).to_contain_text("Offline")
            await say(bp, "typed offline")
            again = await asyncio.to_thread(
                start_relay, tmp_path / "relay", tls=False, ws_port=port
            )
            try:
                a_log = a.get_by_role("log", name="Messages")
                await expect(a_log).to_have_text("Bo: typed offline", timeout=60_000)
                cp, c_errors = await open_app(b, app.url)
                await online(cp)
                # C pastes the link's simplex: form (as a SimpleX app shares it)
                await cp.get_by_label("Paste a link").fill("simplex:/" + link.removeprefix(app.url))
                await cp.get_by_role("button", name="Connect").click()
                await open_room(cp, "Lobby")
                # the history: what was said before C came
                await expect(cp.get_by_role("log", name="Messages")).to_have_text(
                    "Bo: typed offline"
                )
                await say(a, "welcome")
                for page in (bp, cp):
                    await expect(
                        page.get_by_role("log", name="Messages").locator("li.in")
                    ).to_contain_text(["Ann: welcome"])
            finally:
                await asyncio.to_thread(again.stop)
            assert a_errors == [] and b_errors == [] and c_errors == []
            assert app.server.reports == []

    asyncio.run(asyncio.wait_for(main(), 240))
