"""``hushwire chat`` with a passphrase (issue 16, B5): its agent store, the only thing it
keeps on disk, is sealed: no message text in the clear, and no opening it without the
passphrase."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from hushwire.agent.store import AgentStore, StoreLockedError
from hushwire.bot.echo import run_echo_bot
from hushwire.bot.terminal import run_chat
from hushwire.server.config import RelayConfig
from hushwire.server.run import start_relay

TEXT = "meet at the PERIWINKLE-5150 gate"


def test_chat_with_a_passphrase_keeps_no_plaintext(tmp_path: Path) -> None:
    async def main() -> None:
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        ws = f"ws://127.0.0.1:{r.ws_port}/"
        stop = asyncio.Event()
        bot_out = io.StringIO()
        bot = asyncio.create_task(
            run_echo_bot(tmp_path / "bot", r.address, ws_url=ws, out=bot_out, stop=stop)
        )
        try:
            async with asyncio.timeout(60):
                while bot_out.getvalue().count("\n") < 2:  # the short link, then the full
                    await asyncio.sleep(0.05)
                link = bot_out.getvalue().splitlines()[1]
                lines: asyncio.Queue[str | None] = asyncio.Queue()
                out = io.StringIO()
                chat = asyncio.create_task(
                    run_chat(
                        link,
                        tmp_path / "chat",
                        ws_url=ws,
                        lines=lines,
                        out=out,
                        passphrase="chat passphrase",
                    )
                )
                lines.put_nowait(TEXT)
                while f"< {TEXT}" not in out.getvalue():
                    await asyncio.sleep(0.05)
                lines.put_nowait(None)
                await chat
        finally:
            stop.set()
            await bot
            await r.stop()

    asyncio.run(main())
    data = tmp_path / "chat"
    raw = b"".join(p.read_bytes() for p in data.glob("agent.sqlite3*"))
    assert raw and b"PERIWINKLE" not in raw
    with pytest.raises(StoreLockedError):
        AgentStore(data / "agent.sqlite3")
    AgentStore(data / "agent.sqlite3", "chat passphrase").close()
