"""``hushwire chat LINK``: a terminal chat that joins a contact address or invitation.

Lines typed are sent; messages from the other side are printed as they arrive, as plain
text. ``/quit`` leaves (the conversation is kept in ``--data``); ``/end`` ends it: the
other side is told (``x.direct.del``) and the queues are deleted. If another process takes
over (or deletes) the conversation's queue (the relay's ``END`` / ``DELD``), one line says so.

A room's group link is joined the same way: when the host's acceptance carries
``x.grp.link.inv`` the chat becomes a member of that group (:mod:`hushwire.chat.group_member`,
kept in ``room-member.json`` in ``--data``, written before each message is acknowledged) and
prints each message as ``< AUTHOR: text``; ``/end`` leaves the room (``x.grp.leave``).
When the host introduces members, the chat takes the introductions up and opens a
connection per member (each recorded in ``room-member.json``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from hushwire.agent.agent import (
    Agent,
    AgentProblem,
    ConnectionEstablished,
    MessageReceived,
    QueueDeleted,
    ReceiptReceived,
    SubscriptionEnded,
)
from hushwire.agent.routing import RoutingSettings
from hushwire.agent.shortlinks import ShortLink, parse_any_link, restore_short_link
from hushwire.bot.common import chat_events, profile_info, text_message
from hushwire.bot.echo import queue_lost_line
from hushwire.chat.group_member import GroupMember
from hushwire.chat.group_state import (
    CreateInvitation,
    Deleted,
    Edited,
    GroupDeleted,
    JoinMember,
    MemberJoined,
    MemberLeft,
    Output,
    Posted,
    Reacted,
    Refused,
    Send,
)
from hushwire.chat.group_types import format_msg_ts
from hushwire.chat.groups import XGrpLinkInv, interpret_group
from hushwire.chat.messages import (
    Profile,
    XDirectDel,
    XMsgNew,
    encode_batch,
    parse_chat_body,
    x_direct_del,
)
from hushwire.datadir import lock_data_dir, stdin_lines
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError
from hushwire.smp.address import SMPServer

log = logging.getLogger("hushwire.chat")


def _printable(text: str) -> str:
    """Message text is shown as text: control characters are made visible, never obeyed."""
    return "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text)


class _Room:
    """The member's side of a room this chat joined, saved in ``room-member.json`` with
    which agent connection leads to which member (the host's is the chat's own)."""

    def __init__(
        self, path: Path, group: GroupMember, out: TextIO, conns: dict[str, bytes]
    ) -> None:
        self.path = path
        self.group = group
        self.out = out
        self.conns = conns
        """Connections to members other than the host (made by introductions)."""

    @classmethod
    def load(cls, path: Path, out: TextIO) -> _Room | None:
        if not path.exists():
            return None
        saved = json.loads(path.read_text())
        conns = {c: b64url_decode(m) for c, m in saved.get("conns", {}).items()}
        return cls(path, GroupMember.from_json(saved["group"]), out, conns)

    @classmethod
    def from_acceptance(cls, path: Path, info: bytes, name: str, out: TextIO) -> _Room | None:
        """The room, if the host's acceptance (``info``) is a group link invitation."""
        try:
            (msg,) = parse_chat_body(info)
            inv = interpret_group(msg)
        except (DecodeError, ValueError):
            return None
        if not isinstance(inv, XGrpLinkInv):
            return None
        group = GroupMember.from_invitation(inv.invitation, Profile(name), take_intros=True)
        room = cls(path, group, out, {})
        room.save()
        return room

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        saved = {
            "group": self.group.to_json(),
            "conns": {c: b64url_encode(m) for c, m in self.conns.items()},
        }
        with tmp.open("w") as f:
            json.dump(saved, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def sender_of(self, conn_id: str, host_conn: str) -> bytes | None:
        return self.group.host_id if conn_id == host_conn else self.conns.get(conn_id)

    async def carry(self, agent: Agent, host_conn: str, outputs: list[Output]) -> None:
        """Print what the outputs show and carry out their effects on the agent (the
        state is saved first)."""
        self.save()
        conn_of = {m: c for c, m in self.conns.items()}
        conn_of[self.group.host_id] = host_conn
        deleted = 0
        for o in outputs:
            line = None
            if isinstance(o, Send):
                body = (
                    o.messages[0].encode()
                    if len(o.messages) == 1
                    else encode_batch(list(o.messages))
                )
                if o.to in conn_of:
                    await agent.send(conn_of[o.to], body)
            elif isinstance(o, CreateInvitation):
                conn_id, link = await agent.create_invitation(o.conn_info.encode_conn_info())
                self.conns[conn_id] = o.member_id
                await self.carry(agent, host_conn, self.group.invitation_created(o.member_id, link))
            elif isinstance(o, JoinMember):
                conn_id = await agent.join(o.conn_req, o.conn_info.encode_conn_info())
                self.conns[conn_id] = o.member_id
                self.save()
            elif isinstance(o, Posted) and o.author != self.group.me.member_id:
                who = o.author_name
                line = f"* {who} is typing..." if o.live else f"< {who}: {o.text}"
            elif isinstance(o, Edited) and not o.live:
                m = self.group.member(o.author)
                line = f"< {m.name if m else '?'}: {o.text}"
            elif isinstance(o, Deleted):
                deleted += 1
            elif isinstance(o, Reacted) and o.add:
                m = self.group.member(o.by)
                line = f"* {m.name if m else '?'} reacted {o.reaction}"
            elif isinstance(o, MemberJoined):
                line = f"* {o.name} joined"
            elif isinstance(o, MemberLeft):
                line = f"* {o.name} left" if o.by is None else f"* {o.name} was removed"
            elif isinstance(o, GroupDeleted):
                line = "* the room was deleted"
            elif isinstance(o, Refused):
                log.warning("refused %s: %s", o.event, o.reason)
            if line is not None:
                print(_printable(line), file=self.out, flush=True)
        if deleted:
            what = "a message was" if deleted == 1 else f"{deleted} messages were"
            print(f"* {what} deleted", file=self.out, flush=True)


def _now() -> str:
    return format_msg_ts(datetime.now(UTC))


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
    routing: RoutingSettings | None = None,
) -> None:
    parsed = parse_any_link(link)
    if isinstance(parsed, ShortLink):  # the agent resolves it (LGET) on its server
        server = relay or restore_short_link(parsed).server.to_smp_server()
    else:
        server = relay or parsed.queues[0].server
    with lock_data_dir(data):  # one process per data directory
        await _chat(link, data, server, ws_url, name, lines, out, passphrase, routing)


async def _chat(
    link: str,
    data: Path,
    server: SMPServer,
    ws_url: str | None,
    name: str,
    lines: asyncio.Queue[str | None],
    out: TextIO,
    passphrase: str | None,
    routing: RoutingSettings | None = None,
) -> None:
    agent = Agent(data, server, ws_url=ws_url, passphrase=passphrase, routing=routing)
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
        room_file = data / "room-member.json"
        room = _Room.load(room_file, out)
        st = agent.connection(conn_id)
        if st is not None and st.status == "connected":
            connected.set()
            print(
                "Connected. Type a message and press Enter; /quit to leave, /end to end.",
                file=out,
                flush=True,
            )

        async def receive() -> None:
            nonlocal room
            while True:
                ev = await agent.events.get()
                if isinstance(ev, ConnectionEstablished) and ev.conn_id == conn_id:
                    room = _Room.from_acceptance(room_file, ev.info, name, out)
                    connected.set()
                    if room is not None:
                        print(
                            f"Joined the room {_printable(room.group.profile.display_name)}. "
                            "Type a message and press Enter; /quit to leave, /end to leave "
                            "the room.",
                            file=out,
                            flush=True,
                        )
                        continue
                    print(
                        "Connected. Type a message and press Enter; /quit to leave, /end to end.",
                        file=out,
                        flush=True,
                    )
                elif isinstance(ev, ConnectionEstablished) and room is not None:
                    member_id = room.conns.get(ev.conn_id)
                    if member_id is not None:
                        await room.carry(agent, conn_id, room.group.member_connected(member_id))
                elif isinstance(ev, MessageReceived) and room is not None:
                    sender = room.sender_of(ev.conn_id, conn_id)
                    try:
                        msgs = parse_chat_body(ev.body)
                    except DecodeError as e:
                        log.warning("undecodable message: %s", e)
                        msgs = []
                    if sender is not None:
                        await room.carry(agent, conn_id, room.group.receive(sender, msgs, _now()))
                    await agent.ack_message(ev.msg_id, receipt=False)
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
                elif isinstance(ev, SubscriptionEnded | QueueDeleted):
                    print(queue_lost_line(agent, ev, "This chat"), file=out, flush=True)

        receiver = asyncio.create_task(receive())
        try:
            while True:
                line = await lines.get()
                if line is None or line.strip() == "/quit":
                    break
                if line.strip() == "/end":
                    with contextlib.suppress(Exception):
                        if room is not None:
                            await room.carry(agent, conn_id, room.group.leave())
                            room_file.unlink(missing_ok=True)
                        else:
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
                if room is not None:
                    text = line.rstrip("\n")
                    await room.carry(agent, conn_id, room.group.post(text, os.urandom(12), _now()))
                    continue
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
    routing: RoutingSettings | None = None,
) -> None:
    async def go() -> None:
        lines = stdin_lines()
        await run_chat(
            link,
            data,
            relay=SMPServer.parse(relay) if relay else None,
            ws_url=ws_url,
            name=name,
            lines=lines,
            passphrase=passphrase,
            routing=routing,
        )

    asyncio.run(go())
