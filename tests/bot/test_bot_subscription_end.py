"""``hushwire bot echo`` and ``hushwire chat`` say so in one line when another process
takes over their queues (issue 16, B2: the relay's ``END``). The other process is an agent
on a copy of their data directory, as the same data restored elsewhere would be."""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

from hushwire.agent.agent import Agent
from hushwire.bot.echo import run_echo_bot
from hushwire.bot.terminal import run_chat
from hushwire.client import ClientConfig
from hushwire.server.config import RelayConfig
from hushwire.server.run import start_relay

CFG = ClientConfig(ping_interval=None, command_timeout=10)


async def _until(out: io.StringIO, text: str) -> None:
    while text not in out.getvalue():
        await asyncio.sleep(0.05)


def test_bot_and_chat_print_one_line_when_another_process_takes_over(tmp_path: Path) -> None:
    async def main() -> None:
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        ws = f"ws://127.0.0.1:{r.ws_port}/"

        async def bot(out: io.StringIO, stop: asyncio.Event) -> asyncio.Task[None]:
            task = asyncio.create_task(
                run_echo_bot(tmp_path / "bot", r.address, ws_url=ws, out=out, stop=stop)
            )
            while "contact#" not in out.getvalue():  # the full link, printed after the short one
                await asyncio.sleep(0.05)
            return task

        def chat(
            link: str, out: io.StringIO, lines: asyncio.Queue[str | None]
        ) -> asyncio.Task[None]:
            return asyncio.create_task(
                run_chat(link, tmp_path / "chat", ws_url=ws, lines=lines, out=out)
            )

        try:
            async with asyncio.timeout(90):
                stop = asyncio.Event()
                bot_out = io.StringIO()
                bot_task = await bot(bot_out, stop)
                # the short link first, then the full link on the next line
                link = bot_out.getvalue().split()[-1]
                # A chat talks to the bot, then quits (keeping its conversation).
                lines: asyncio.Queue[str | None] = asyncio.Queue()
                out = io.StringIO()
                task = chat(link, out, lines)
                lines.put_nowait("hello")
                await _until(out, "< hello")
                lines.put_nowait(None)
                await task
                shutil.copytree(tmp_path / "chat", tmp_path / "chat-copy")
                # The chat comes back; a copy of its data starts elsewhere.
                lines = asyncio.Queue()
                out = io.StringIO()
                task = chat(link, out, lines)
                await _until(out, "Connected.")
                other = Agent(tmp_path / "chat-copy", r.address, ws_url=ws, client_config=CFG)
                await other.start()
                await _until(out, "This chat stopped receiving")
                [line] = [x for x in out.getvalue().splitlines() if "stopped receiving" in x]
                assert line.startswith(
                    "! This chat stopped receiving: another process took over a conversation "
                    f"on {r.address.encode()}"
                )
                await other.stop()
                lines.put_nowait(None)
                await task

                # The bot: stopped, copied, started again; the copy takes its address.
                stop.set()
                await bot_task
                shutil.copytree(tmp_path / "bot", tmp_path / "bot-copy")
                stop = asyncio.Event()
                bot_out = io.StringIO()
                bot_task = await bot(bot_out, stop)
                other = Agent(tmp_path / "bot-copy", r.address, ws_url=ws, client_config=CFG)
                await other.start()
                await _until(bot_out, "This bot stopped receiving")
                [line] = [x for x in bot_out.getvalue().splitlines() if "stopped" in x]
                assert line.startswith(
                    "! This bot stopped receiving: another process took over its address "
                    f"on {r.address.encode()}"
                )
                await other.stop()
                stop.set()
                await bot_task
        finally:
            await r.stop()

    asyncio.run(main())
