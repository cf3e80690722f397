"""``hushwire bot echo``: an always-on owner that answers every text with the same text.

It creates (or reuses) its contact address and prints it: the short link on the first line
(when the relay speaks SMP v15 or later), the full link on the next (older clients, simplex-js
among them, read only full links). It accepts every visitor, and echoes each ``x.msg.new``
text. A visitor that ends the conversation (``x.direct.del``) is deleted. When another process
takes over (or deletes) one of its queues (the relay's ``END`` / ``DELD``), it prints one line
saying so.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TextIO

from hushwire.agent.agent import (
    Agent,
    AgentError,
    AgentProblem,
    ConnectionDeleted,
    ConnectionEstablished,
    ConnectionRequested,
    MessageReceived,
    QueueDeleted,
    ReceiptReceived,
    SubscriptionEnded,
)
from hushwire.agent.qr import qr_terminal
from hushwire.agent.routing import RoutingSettings
from hushwire.bot.common import chat_events, profile_info, text_message
from hushwire.chat.messages import Profile, XDirectDel, XMsgNew, contact_link_data
from hushwire.datadir import lock_data_dir, stop_on_signals
from hushwire.smp.address import SMPServer

log = logging.getLogger("hushwire.bot")


async def run_echo_bot(
    data: Path,
    relay: SMPServer,
    *,
    ws_url: str | None = None,
    name: str = "Echo bot",
    passphrase: str | None = None,
    out: TextIO = sys.stdout,
    stop: asyncio.Event | None = None,
    qr: bool = False,
    routing: RoutingSettings | None = None,
) -> None:
    with lock_data_dir(data):  # one process per data directory
        await _serve(data, relay, ws_url, name, passphrase, out, stop, qr, routing)


async def _serve(
    data: Path,
    relay: SMPServer,
    ws_url: str | None,
    name: str,
    passphrase: str | None,
    out: TextIO,
    stop: asyncio.Event | None,
    qr: bool,
    routing: RoutingSettings | None = None,
) -> None:
    agent = Agent(data, relay, ws_url=ws_url, passphrase=passphrase, routing=routing)
    await agent.start()
    try:
        user_data = contact_link_data(Profile(display_name=name))
        _, link = await agent.create_address(profile_info(name), link_data=user_data)
        short = agent.short_address()
        if short is not None:  # the short link first, the full one below for older clients
            print(short, file=out, flush=True)
        print(link, file=out, flush=True)
        if qr:
            print(qr_terminal(short or link), file=sys.stderr, flush=True)
        stop = stop or asyncio.Event()
        waiter = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            getter = asyncio.ensure_future(agent.events.get())
            done, _ = await asyncio.wait({getter, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            try:
                await _handle(agent, getter.result(), out)
            except AgentError as e:  # one conversation's trouble must not stop the bot
                log.warning("%s", e)
        waiter.cancel()
    finally:
        await agent.stop()


async def _handle(agent: Agent, ev: object, out: TextIO) -> None:
    if isinstance(ev, ConnectionRequested):
        log.info("%s: a visitor asks to connect", ev.conn_id[:8])
    elif isinstance(ev, ConnectionEstablished):
        log.info("%s: connected", ev.conn_id[:8])
    elif isinstance(ev, MessageReceived):
        if ev.integrity != "ok":
            log.warning("%s: message %d: %s", ev.conn_id[:8], ev.msg_id, ev.integrity)
        delete = False
        for chat in chat_events(ev):
            if isinstance(chat, XMsgNew) and chat.text:
                await agent.send(ev.conn_id, text_message(chat.text))
            elif isinstance(chat, XDirectDel):
                delete = True
        await agent.ack_message(ev.msg_id, receipt=True)
        if delete:
            await agent.delete(ev.conn_id)
    elif isinstance(ev, ReceiptReceived):
        verdict = "" if ev.ok else " (hash mismatch)"
        log.info("%s: receipt for message %d%s", ev.conn_id[:8], ev.snd_id, verdict)
    elif isinstance(ev, ConnectionDeleted):
        log.info("%s: deleted", ev.conn_id[:8])
    elif isinstance(ev, AgentProblem):
        log.warning("%s: %s", (ev.conn_id or "-")[:8], ev.message)
    elif isinstance(ev, SubscriptionEnded | QueueDeleted):
        line = queue_lost_line(agent, ev, "This bot")
        log.warning("%s: %s", ev.conn_id[:8], line)
        print(line, file=out, flush=True)


def queue_lost_line(agent: Agent, ev: SubscriptionEnded | QueueDeleted, who: str) -> str:
    """One clear line for ``END`` / ``DELD``: what stopped and what to do."""
    st = agent.connection(ev.conn_id)
    what = "its address" if st is not None and st.kind == "contact" else "a conversation"
    if isinstance(ev, SubscriptionEnded):
        return (
            f"! {who} stopped receiving: another process took over {what} on {ev.server} "
            "(the same data running elsewhere?); stop it and restart to take it back."
        )
    return f"! {who} stopped receiving: another process deleted {what} on {ev.server}."


def main(
    data: Path,
    relay: str,
    ws_url: str | None,
    name: str,
    passphrase: str | None,
    qr: bool = False,
    routing: RoutingSettings | None = None,
) -> None:
    server = SMPServer.parse(relay)

    async def go() -> None:
        stop = stop_on_signals()
        await run_echo_bot(
            data,
            server,
            ws_url=ws_url,
            name=name,
            passphrase=passphrase,
            stop=stop,
            qr=qr,
            routing=routing,
        )

    asyncio.run(go())
