"""``hushwire chat LINK``: a terminal chat that joins a contact address or invitation.

Lines typed are sent; messages from the other side are printed as they arrive, as plain
text. ``/quit`` leaves (the conversation is kept in ``--data``); ``/end`` ends it: the
other side is told (``x.direct.del``) and the queues are deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from pathlib import Path
from typing import TextIO

from hushwire.agent.agent import (
    Agent,
    AgentProblem,
    ConnectionEstablished,
    MessageReceived,
    ReceiptReceived,
)
from hushwire.agent.links import parse_link
from hushwire.bot.common import chat_events, profile_info, text_message
from hushwire.chat.messages import XDirectDel, XMsgNew, x_direct_del
from hushwire.datadir import lock_data_dir
from hushwire.smp.address import SMPServer

log = logging.getLogger("hushwire.chat")


def _printable(text: str) -> str:
    """Message text is shown as text: control characters are made visible, never obeyed."""
    return "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text)


async def run_chat(
    link: str,
    data: Path,
    *,
    relay: SMPServer | None = None,
    ws_url: str | None = None,
    name: str = "Visitor",
    lines: asyncio.Queue[str | None],
    out: TextIO = sys.stdout,
    passphrase: str | None = None,
) -> None:
    req = parse_link(link)
    server = relay or req.queues[0].server
    with lock_data_dir(data):  # one process per data directory
        await _chat(link, data, server, ws_url, name, lines, out, passphrase)


async def _chat(
    link: str,
    data: Path,
    server: SMPServer,
    ws_url: str | None,
    name: str,
    lines: asyncio.Queue[str | None],
    out: TextIO,
    passphrase: str | None,
) -> None:
    agent = Agent(data, server, ws_url=ws_url, passphrase=passphrase)
    await agent.start()
    try:
        state_file = data / "chat-connection"
        if state_file.exists():
            conn_id = state_file.read_text().strip()
        else:
            conn_id = await agent.join(link, profile_info(name))
            state_file.write_text(conn_id)
            print("Joining... (waiting for the other side to accept)", file=out, flush=True)
        connected = asyncio.Event()
        st = agent.connection(conn_id)
        if st is not None and st.status == "connected":
            connected.set()
            print(
                "Connected. Type a message and press Enter; /quit to leave, /end to end.",
                file=out,
                flush=True,
            )

        async def receive() -> None:
            while True:
                ev = await agent.events.get()
                if isinstance(ev, ConnectionEstablished) and ev.conn_id == conn_id:
                    connected.set()
                    print(
                        "Connected. Type a message and press Enter; /quit to leave, /end to end.",
                        file=out,
                        flush=True,
                    )
                elif isinstance(ev, MessageReceived):
                    for chat in chat_events(ev):
                        if isinstance(chat, XMsgNew) and chat.text is not None:
                            print(f"< {_printable(chat.text)}", file=out, flush=True)
                        elif isinstance(chat, XDirectDel):
                            print("The other side ended the conversation.", file=out, flush=True)
                    await agent.ack_message(ev.msg_id, receipt=True)
                elif isinstance(ev, ReceiptReceived):
                    log.debug("delivered: %d", ev.snd_id)
                elif isinstance(ev, AgentProblem):
                    print(f"! {ev.message}", file=out, flush=True)

        receiver = asyncio.create_task(receive())
        try:
            while True:
                line = await lines.get()
                if line is None or line.strip() == "/quit":
                    break
                if line.strip() == "/end":
                    with contextlib.suppress(Exception):
                        await agent.send(conn_id, x_direct_del().encode())
                        await asyncio.sleep(0.5)
                    await agent.delete(conn_id)
                    state_file.unlink(missing_ok=True)
                    print("Conversation ended.", file=out, flush=True)
                    break
                if not line.strip():
                    continue
                if not connected.is_set():
                    print(
                        "Not connected yet; the message will be sent once the other side accepts.",
                        file=out,
                        flush=True,
                    )
                    await connected.wait()
                await agent.send(conn_id, text_message(line.rstrip("\n")))
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
    finally:
        await agent.stop()


def main(
    link: str,
    data: Path,
    relay: str | None,
    ws_url: str | None,
    name: str,
    passphrase: str | None = None,
) -> None:
    async def go() -> None:
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def read_stdin() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read_stdin, daemon=True).start()
        await run_chat(
            link,
            data,
            relay=SMPServer.parse(relay) if relay else None,
            ws_url=ws_url,
            name=name,
            lines=lines,
            passphrase=passphrase,
        )

    asyncio.run(go())
