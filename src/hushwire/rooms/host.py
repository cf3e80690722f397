"""``hushwire room host``: a room (a SimpleX group) hosted behind one group link.

The host is the group's owner. Its group link is an ordinary contact address whose link
carries ``data={"type":"group","groupLinkId":…}`` (so SimpleX apps know it is a group) and
whose acceptances carry ``x.grp.link.inv`` (so any joiner, Hushwire's ``hushwire chat`` or a
SimpleX app, becomes a member). On a relay speaking SMP v15 or later the link also has a short
link (printed first, the full link on the next line), whose data commits to that same request.
The group logic is :mod:`hushwire.chat.group_host`; this
module carries it out on the agent (the pattern of simplex-chat ``Library/Subscriber.hs``
for a group link's host; docs/architecture.md):

* ``ConnectionRequested`` (the joiner's ``x.contact``/``x.info``) -> admit the member,
  commit, accept with ``x.grp.link.inv``. Joiners older than chat version 3 are refused.
* ``ConnectionEstablished`` -> greet, announce, send history (the last N messages).
* ``MessageReceived`` -> apply and forward to the other members, commit, send, then ACK.

Lines typed on the host's standard input are posted to the room as the host; ``/clear``
deletes every message for everybody, ``/remove NAME`` removes a member, ``/members`` lists
them, ``/quit`` stops hosting.

Members are served as a star by default: the host forwards every member's messages to
every other member (``x.grp.msg.forward``) and sends no introductions, so members hold one
connection each. With ``--introduce`` the host also introduces each joiner to the members
(``x.grp.mem.intro``/``inv``/``fwd``); pairs that connect directly talk without the host,
which stops forwarding between them once they report it (``x.grp.mem.con``).
While the host is offline its joiners' requests wait on the relay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from hushwire.agent.agent import (
    Agent,
    AgentError,
    AgentEvent,
    AgentProblem,
    ConnectionDeleted,
    ConnectionEstablished,
    ConnectionRequested,
    MessageReceived,
    MessageSent,
)
from hushwire.agent.links import parse_link
from hushwire.agent.machine import ConnStatus
from hushwire.agent.qr import qr_terminal
from hushwire.chat.group_host import JOIN_REJECT_VERSION, GroupHost, read_join_request
from hushwire.chat.group_state import Disconnect, GroupFull, Output, Refused, Send
from hushwire.chat.group_types import format_msg_ts
from hushwire.chat.groups import XGrpMsgNew
from hushwire.chat.messages import (
    ChatMessage,
    Profile,
    contact_link_data,
    encode_batch,
    parse_chat_body,
    x_info,
)
from hushwire.datadir import lock_data_dir, stdin_lines, stop_on_signals
from hushwire.encoding.strings import b64url_encode
from hushwire.errors import DecodeError, HushwireError
from hushwire.limits import (
    GROUP_HISTORY_DEFAULT,
    GROUP_MAX_FORWARD_LENGTH,
    GROUP_MAX_MEMBERS_DEFAULT,
    GROUP_MAX_PENDING_REJECTIONS,
)
from hushwire.rooms.store import RoomStore
from hushwire.smp.address import SMPServer

__all__ = ["RoomHost", "Source", "bodies", "main", "pump", "run_room_host"]

log = logging.getLogger("hushwire.rooms")


def now_ts() -> str:
    return format_msg_ts(datetime.now(UTC))


def bodies(messages: tuple[ChatMessage, ...]) -> list[bytes]:
    """The chat bodies for ``messages``: JSON batches packed up to the forward size cap, a
    message alone when it does not fit with others."""
    out: list[bytes] = []
    batch: list[ChatMessage] = []
    for msg in messages:
        if batch and len(encode_batch([*batch, msg], max_size=1 << 30)) > GROUP_MAX_FORWARD_LENGTH:
            out.append(_body(batch))
            batch = []
        batch.append(msg)
    if batch:
        out.append(_body(batch))
    return out


def _body(batch: list[ChatMessage]) -> bytes:
    if len(batch) == 1:
        return batch[0].encode(max_size=GROUP_MAX_FORWARD_LENGTH)
    return encode_batch(batch, max_size=GROUP_MAX_FORWARD_LENGTH)


class RoomHost:
    """A running room: the agent, the room store and the group state."""

    def __init__(self, agent: Agent, store: RoomStore, group: GroupHost) -> None:
        self.agent = agent
        self.store = store
        self.group = group
        self._last_sent: dict[str, int] = {}
        """The last message id handed to the agent per connection."""
        self._delete_after: dict[str, int] = {}
        """Connections to delete once this message of theirs is sent (the member's
        removal or the group's deletion must reach them first)."""

    @classmethod
    def open(
        cls,
        agent: Agent,
        data: Path,
        name: str,
        history: int = GROUP_HISTORY_DEFAULT,
        introduce: bool = False,
        max_members: int = GROUP_MAX_MEMBERS_DEFAULT,
    ) -> RoomHost:
        """The room in ``data``, created on first run (``name`` then; every run sets the
        history size and whether members are introduced to each other)."""
        store = RoomStore(data / "room.sqlite3")
        state = store.load("group")
        if state is None:
            group = GroupHost.create(name, Profile(name), os.urandom(12), history=history)
        else:
            group = GroupHost.from_json(state)
            group.history = history
        group.introduce = introduce
        group.max_members = max_members
        store.commit(group.to_json(), [])
        return cls(agent, store, group)

    async def link(self) -> str:
        """The group link (created on first run): the contact address with group data.

        A new address's request carries the group data itself, so its short link
        (:meth:`short_link`) resolves to this same link."""
        link_id = self.store.load("group_link_id")
        if link_id is None:
            link_id = b64url_encode(os.urandom(16))
            self.store.save_value("group_link_id", link_id)
        data = json.dumps({"type": "group", "groupLinkId": link_id}, separators=(",", ":"))
        profile = self.group.me.profile
        _, address = await self.agent.create_address(
            x_info(profile).encode(), link_data=contact_link_data(profile), client_data=data
        )
        req = parse_link(address)
        return replace(req, client_data=data).to_uri()

    def short_link(self) -> str | None:
        """The group link's short link (None for a room made before short links)."""
        return self.agent.short_address()

    async def recover(self) -> None:
        """Redo the steps a crash may have cut between the agent's commit and ours: join
        requests the agent stored but we never accepted, and connections the agent
        completed but we never greeted (the agent replays unacknowledged messages itself)."""
        for st in self.agent.store.all_connections():
            try:
                if st.status == ConnStatus.REQUESTED and st.peer_info:
                    await self.on_request(ConnectionRequested(st.conn_id, st.peer_info))
                elif st.status == ConnStatus.CONNECTED:
                    member_id = self.store.member_of(st.conn_id)
                    member = None if member_id is None else self.group.members.get(member_id)
                    rejected = member_id is None and st.conn_id in self._rejected()
                    if rejected or (member is not None and member.status == "accepted"):
                        await self.on_connected(ConnectionEstablished(st.conn_id, b""))
            except HushwireError as e:  # e.g. the agent went on with it meanwhile
                log.info("%s: recovery: %s", st.conn_id[:8], e)

    # ------------------------------------------------------------------ steps

    async def flush(self) -> None:
        """Hand every committed body to the agent (after a crash too): each connection's
        in order, the connections at the same time (so the agent commits their sends
        together), then forget the handed-over bodies in one transaction. A crash before that
        repeats some sends, which members drop as duplicates."""
        by_conn: dict[str, list[tuple[int, bytes]]] = {}
        for outbox_id, conn_id, body in self.store.outbox():
            by_conn.setdefault(conn_id, []).append((outbox_id, body))
        done: list[int] = []

        async def send_all(conn_id: str, items: list[tuple[int, bytes]]) -> None:
            for outbox_id, body in items:
                try:
                    self._last_sent[conn_id] = await self.agent.send(conn_id, body)
                except AgentError as e:  # a member whose connection is gone
                    log.info("%s: not sent: %s", conn_id[:8], e)
                done.append(outbox_id)

        results = await asyncio.gather(
            *(send_all(c, items) for c, items in by_conn.items()), return_exceptions=True
        )
        self.store.sent(*done)
        for r in results:
            if isinstance(r, BaseException):
                raise r

    def _commit(
        self,
        outputs: list[Output],
        *,
        link: tuple[str, bytes] | None = None,
        unlink: str | None = None,
    ) -> list[str]:
        sends: list[tuple[str, bytes]] = []
        drop: list[str] = []
        for o in outputs:
            if isinstance(o, Send):
                conn = self.store.conn_of(o.to)
                if conn is not None:
                    sends.extend((conn, b) for b in bodies(o.messages))
            elif isinstance(o, Disconnect):
                conn = self.store.conn_of(o.member_id)
                if conn is not None:
                    drop.append(conn)
            elif isinstance(o, Refused):
                log.warning(
                    "refused %s from member %s: %s", o.event, b64url_encode(o.sender), o.reason
                )
        self.store.commit(self.group.to_json(), sends, link=link, unlink=unlink)
        return drop

    async def _disconnect(self, conns: list[str]) -> None:
        """Delete these connections, each once what was last sent on it has left."""
        await self.flush()
        for conn in conns:
            last = self._last_sent.get(conn)
            if last is None:
                await self.agent.delete(conn)
            else:
                self._delete_after[conn] = last

    async def on_request(self, ev: ConnectionRequested) -> None:
        try:
            profile, versions = read_join_request(ev.info)
        except DecodeError as e:
            log.warning("%s: %s, ignored", ev.conn_id[:8], e)
            return
        member_id = self.store.member_of(ev.conn_id) or os.urandom(12)
        try:
            conn_info = self.group.admit(member_id, profile, versions)
        except GroupFull as e:
            await self._reject(ev.conn_id, versions.max, str(e))
            return
        self._commit([], link=(ev.conn_id, member_id))
        if self._accepted(ev.conn_id):
            return  # the request seen again (recovery, then its event)
        await self.agent.accept(ev.conn_id, conn_info.encode_conn_info())

    def _accepted(self, conn_id: str) -> bool:
        st = self.agent.connection(conn_id)
        return st is not None and st.status != ConnStatus.REQUESTED

    def _rejected(self) -> list[str]:
        found = self.store.load("rejected")
        return [str(c) for c in found] if isinstance(found, list) else []

    async def _reject(self, conn_id: str, version: int, why: str) -> None:
        """Refuse a join request: joiners from chat version 14 are told with
        ``x.grp.link.reject`` (the connection is deleted once they have taken it), older
        ones get no answer. Logged without the joiner's profile."""
        if version < JOIN_REJECT_VERSION:
            log.warning("%s: a joiner refused (%s); too old to be told", conn_id[:8], why)
            return
        log.warning("%s: a joiner refused: %s", conn_id[:8], why)
        rejected = self._rejected()
        if conn_id not in rejected:
            self.store.save_value(
                "rejected", [*rejected[1 - GROUP_MAX_PENDING_REJECTIONS :], conn_id]
            )
        if not self._accepted(conn_id):
            await self.agent.accept(conn_id, self.group.reject(os.urandom(12)).encode_conn_info())

    async def on_connected(self, ev: ConnectionEstablished) -> None:
        member_id = self.store.member_of(ev.conn_id)
        if member_id is None:
            rejected = self._rejected()
            if ev.conn_id in rejected:  # the joiner has taken its rejection
                await self.agent.delete(ev.conn_id)
                self.store.save_value("rejected", [c for c in rejected if c != ev.conn_id])
            return
        drop = self._commit(self.group.connected(member_id))
        await self.flush()
        await self._disconnect(drop)

    async def on_message(self, ev: MessageReceived) -> None:
        member_id = self.store.member_of(ev.conn_id)
        outputs: list[Output] = []
        if member_id is not None:
            try:
                messages = parse_chat_body(ev.body)
            except DecodeError as e:
                log.warning("%s: undecodable message: %s", ev.conn_id[:8], e)
                messages = []
            outputs = self.group.receive(member_id, messages, now_ts())
        drop = self._commit(outputs)
        await self.flush()
        await self.agent.ack_message(ev.msg_id, receipt=False)
        await self._disconnect(drop)

    async def post(self, text: str) -> None:
        """The host writes to the room."""
        msg_id = os.urandom(12)
        XGrpMsgNew({"type": "text", "text": text}, msg_id).to_message().encode()  # size check
        self._commit(self.group.post(text, msg_id, now_ts()))
        await self.flush()

    async def command(self, line: str, out: TextIO) -> None:
        """A line typed on the host: ``/clear`` deletes every message for everybody,
        ``/remove NAME`` removes a member, ``/members`` lists them; anything else is posted."""
        words = line.split(maxsplit=1)
        if words and words[0] == "/clear":
            drop = self._commit(self.group.clear_history())
            await self.flush()
            await self._disconnect(drop)
            print("* history cleared for everybody", file=out, flush=True)
        elif words and words[0] == "/remove" and len(words) == 2:
            found = [m for m in self.group.current_members() if m.name == words[1].strip()]
            if not found:
                print(f"* no member {words[1].strip()!r}", file=out, flush=True)
            for m in found:
                drop = self._commit(self.group.remove(m.member_id))
                await self.flush()
                await self._disconnect(drop)
                print(f"* {m.name} removed", file=out, flush=True)
        elif words and words[0] == "/members":
            for m in self.group.current_members():
                print(f"* {m.name} ({m.role}, {m.status})", file=out, flush=True)
        else:
            await self.post(line)

    async def handle(self, ev: object) -> None:
        if isinstance(ev, ConnectionRequested):
            await self.on_request(ev)
        elif isinstance(ev, ConnectionEstablished):
            await self.on_connected(ev)
        elif isinstance(ev, MessageReceived):
            await self.on_message(ev)
        elif isinstance(ev, MessageSent):
            if self._delete_after.get(ev.conn_id, ev.snd_id + 1) <= ev.snd_id:
                del self._delete_after[ev.conn_id]
                await self.agent.delete(ev.conn_id)
        elif isinstance(ev, ConnectionDeleted):
            log.info("%s: deleted", ev.conn_id[:8])
        elif isinstance(ev, AgentProblem):
            log.warning("%s: %s", (ev.conn_id or "-")[:8], ev.message)


Source = tuple["asyncio.Queue[Any]", Callable[[Any], Awaitable[None]]]
"""A queue and the handler of its items (``None`` ends the source: it is not read again)."""


async def pump(stop: asyncio.Event, sources: list[Source]) -> None:
    """Hand every item of every source's queue to its handler, one item at a time, until
    ``stop`` is set.

    Each queue has one read pending at a time, kept across rounds and replaced only once its
    item has been handled. A read is never cancelled after it has taken an item: while one
    item's handler runs (a line typed on the host, posting to the room), another queue's
    pending read may complete (an agent event arriving meanwhile), and that item must still
    be handled, not dropped with a cancelled read. Reads that completed together are all
    handled, in the order of ``sources``, even when a handler sets ``stop``.
    """
    waiter = asyncio.ensure_future(stop.wait())
    reads: dict[asyncio.Future[Any], Source] = {
        asyncio.ensure_future(queue.get()): (queue, handler) for queue, handler in sources
    }
    try:
        while reads and not stop.is_set():
            await asyncio.wait({*reads, waiter}, return_when=asyncio.FIRST_COMPLETED)
            for read in [r for r in reads if r.done()]:
                queue, handler = reads.pop(read)
                item = read.result()
                await handler(item)
                if item is not None and not stop.is_set():
                    reads[asyncio.ensure_future(queue.get())] = (queue, handler)
    finally:
        waiter.cancel()
        for read in reads:  # none of these has taken an item
            read.cancel()


async def run_room_host(
    data: Path,
    relay: SMPServer,
    *,
    name: str,
    ws_url: str | None = None,
    history: int = GROUP_HISTORY_DEFAULT,
    out: TextIO = sys.stdout,
    stop: asyncio.Event | None = None,
    qr: bool = False,
    lines: asyncio.Queue[str | None] | None = None,
    introduce: bool = False,
    max_members: int = GROUP_MAX_MEMBERS_DEFAULT,
) -> None:
    """Host the room in ``data`` until ``stop`` is set; lines from ``lines`` are posted to
    the room as the host."""
    data.mkdir(parents=True, exist_ok=True)
    agent = Agent(data, relay, ws_url=ws_url, auto_accept=False)
    await agent.start()
    room = RoomHost.open(agent, data, name, history, introduce, max_members)
    try:
        link = await room.link()
        short = room.short_link()
        if short is not None:  # the short link first, the full one below for older clients
            print(short, file=out, flush=True)
        print(link, file=out, flush=True)
        if qr:
            print(qr_terminal(short or link), file=sys.stderr, flush=True)
        await room.flush()
        await room.recover()
        stop = stop or asyncio.Event()

        async def on_event(ev: AgentEvent | None) -> None:
            try:
                await room.handle(ev)
            except HushwireError as e:  # one member's trouble must not stop the room
                log.warning("%s", e)

        async def on_line(line: str | None) -> None:
            if line is not None and line.strip() == "/quit":
                stop.set()
            elif line is not None and line.strip():
                await room.command(line.rstrip("\n"), out)

        sources: list[Source] = [(agent.events, on_event)]
        if lines is not None:
            sources.append((lines, on_line))
        await pump(stop, sources)
    finally:
        await agent.stop()
        room.store.close()


def main(
    data: Path,
    relay: str,
    ws_url: str | None,
    name: str,
    history: int,
    qr: bool,
    introduce: bool = False,
    max_members: int = GROUP_MAX_MEMBERS_DEFAULT,
) -> None:
    server = SMPServer.parse(relay)

    async def go() -> None:
        stop = stop_on_signals()
        lines = stdin_lines()
        with lock_data_dir(data):  # one process per data directory
            await run_room_host(
                data,
                server,
                name=name,
                ws_url=ws_url,
                history=history,
                stop=stop,
                qr=qr,
                lines=lines,
                introduce=introduce,
                max_members=max_members,
            )

    asyncio.run(go())
