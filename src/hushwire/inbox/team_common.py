"""What both ends of a team inbox share: the step (commit, send, acknowledge), the record of
group outputs in the inbox history, live typing, and the team's own assignment event.

A team inbox (``hushwire inbox --team``) hosts one SimpleX business chat per visitor
(:mod:`hushwire.inbox.team`); an operator's inbox is a member of each of them
(:mod:`hushwire.inbox.team_operator`). Both keep the group state in
:class:`~hushwire.inbox.team_store.TeamStore` and write what people read into the inbox's
own history (:class:`~hushwire.inbox.store.InboxStore`): the visitor's messages as ``in``,
the team's (every operator's and the owner's) as ``out``, with the author's name kept in
the team store.

Assignment is an event of Hushwire's own namespace, ``x.hushwire.assign`` with params
``{"memberId": ID}`` (absent: unassigned) and ``"name"``. It travels only between the team
inbox and its operators, never to the visitor; a SimpleX app operator ignores it (unknown
events are dropped by the app).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from hushwire.agent.agent import AgentError
from hushwire.chat.group_state import (
    Deleted,
    Disconnect,
    Edited,
    Output,
    Posted,
    Refused,
    Send,
    _Group,
)
from hushwire.chat.group_types import format_msg_ts
from hushwire.chat.groups import XGrpMsgNew, XMsgDel, XMsgUpdate
from hushwire.chat.messages import ChatMessage, XContact, XInfo, interpret, parse_chat_body
from hushwire.encoding.strings import b64url_encode
from hushwire.errors import DecodeError
from hushwire.inbox.hours import OpeningHours
from hushwire.inbox.team_store import TeamStore
from hushwire.limits import TEAM_MAX_LIVE_MESSAGES

if TYPE_CHECKING:
    from hushwire.inbox.service import InboxService
    from hushwire.inbox.store import Message

log = logging.getLogger("hushwire.inbox.team")

_D = TypeVar("_D", str, None)

ASSIGN_EVENT = "x.hushwire.assign"
"""The team's assignment event (Hushwire's namespace; never sent to the visitor)."""


@dataclass(frozen=True, slots=True)
class TeamSettings:
    """How a team inbox behaves: whether visitors see operators' names, and the away
    message sent outside opening hours (once per conversation per closed period)."""

    show_operator_names: bool = False
    hours: OpeningHours | None = None
    away_message: str | None = None


def read_body(conn_id: str, body: bytes) -> list[ChatMessage]:
    """The chat messages of a received body; none (logged, without content) when it
    cannot be read."""
    try:
        return parse_chat_body(body)
    except DecodeError as e:
        log.warning("%s: undecodable message: %s", conn_id[:8], e)
        return []


def profile_name_in(body: bytes, default: _D) -> str | _D:
    """The display name of the last profile (``x.info`` or ``x.contact``) in a body or
    connInfo (at most 100 characters), else ``default``."""
    name = default
    try:
        messages = parse_chat_body(body)
    except DecodeError:
        return default
    for m in messages:
        try:
            event = interpret(m)
        except DecodeError:
            continue
        if isinstance(event, XInfo | XContact):
            name = event.profile.display_name[:100] or name
    return name


def now_ts() -> str:
    return format_msg_ts(datetime.now(UTC))


def assign_message(member_id: bytes | None, name: str) -> ChatMessage:
    params: dict[str, Any] = {"name": name}
    if member_id is not None:
        params["memberId"] = b64url_encode(member_id)
    return ChatMessage(ASSIGN_EVENT, params, os.urandom(12))


def read_assign(msg: ChatMessage) -> tuple[str | None, str]:
    """``(member id as base64url or None, name)`` of an assignment event."""
    member = msg.params.get("memberId")
    name = msg.params.get("name")
    if member is not None and (not isinstance(member, str) or len(member) > 100):
        raise DecodeError("memberId must be a short string")
    if not isinstance(name, str) or len(name) > 100:
        raise DecodeError("name must be a short string")
    return member, name


class TeamPart:
    """The machinery both ends share; subclasses say which connection is whose."""

    def __init__(self, service: InboxService, store: TeamStore) -> None:
        self.service = service
        self.store = store
        self._last_sent: dict[str, int] = {}
        self._delete_after: dict[str, int] = {}
        self._groups: dict[str, Any] = {}
        self._my_live: dict[str, bytes] = {}
        """Our own live message per conversation (typing, not yet sent)."""
        self._live: dict[tuple[str, bytes, bytes], str] = {}
        """Live messages being typed: (conversation, author, msg id) -> author name."""

    # --- sending

    async def flush(self) -> None:
        """Hand every committed body to the agent (after a crash too)."""
        for outbox_id, conn_id, body in self.store.outbox():
            try:
                self._last_sent[conn_id] = await self.service.agent.send(conn_id, body)
            except AgentError as e:  # a member whose connection is gone
                log.info("%s: not sent: %s", conn_id[:8], e)
            self.store.sent(outbox_id)

    def sends(
        self, conv_id: str, outputs: list[Output]
    ) -> tuple[list[tuple[str, bytes]], list[str]]:
        """The bodies to send (one per message) and the connections to drop."""
        sends: list[tuple[str, bytes]] = []
        drop: list[str] = []
        for o in outputs:
            if isinstance(o, Send):
                conn = self.conn_for(conv_id, o.to)
                if conn is not None:
                    sends.extend((conn, m.encode()) for m in o.messages)
            elif isinstance(o, Disconnect):
                conn = self.conn_for(conv_id, o.member_id)
                if conn is not None:
                    drop.append(conn)
            elif isinstance(o, Refused):
                log.warning(
                    "%s: refused %s from member %s: %s",
                    conv_id[:8],
                    o.event,
                    b64url_encode(o.sender),
                    o.reason,
                )
        return sends, drop

    def conn_for(self, conv_id: str, member_id: bytes) -> str | None:
        return self.store.conn_of(conv_id, member_id)

    async def disconnect(self, conns: list[str]) -> None:
        """Delete these connections, each once what was last sent on it has left."""
        await self.flush()
        for conn in conns:
            last = self._last_sent.get(conn)
            if last is None:
                await self.service.agent.delete(conn)
            else:
                self._delete_after[conn] = last

    async def sent(self, conn_id: str, snd_id: int) -> None:
        if self._delete_after.get(conn_id, snd_id + 1) <= snd_id:
            del self._delete_after[conn_id]
            await self.service.agent.delete(conn_id)

    # --- showing

    def record(
        self,
        conv_id: str,
        group: _Group,
        outputs: list[Output],
        customer: bytes | None,
        agent_msg_id: int,
    ) -> None:
        """Store what ``outputs`` show in the inbox history, before the group state is
        committed (a redelivery then stores nothing twice: ``(agent_msg_id, part)`` is
        unique). Live messages show as typing until their final text."""
        now = self.service.clock()
        for part, o in enumerate(outputs):
            text: str | None = None
            author: bytes | None = None
            name = ""
            if isinstance(o, Posted) and o.author != group.me.member_id:
                if o.live and o.msg_id is not None:
                    if len(self._live) >= TEAM_MAX_LIVE_MESSAGES:  # bounded: the oldest goes
                        del self._live[next(iter(self._live))]
                    self._live[(conv_id, o.author, o.msg_id)] = o.author_name
                    self.typing(conv_id, o.author_name)
                    continue
                text, author, name = o.text, o.author, o.author_name
            elif isinstance(o, Edited) and not o.live:
                name_live = self._live.pop((conv_id, o.author, o.msg_id), None)
                if name_live is None:
                    continue
                text, author, name = o.text, o.author, name_live
            elif isinstance(o, Edited) and o.live:
                who = self._live.get((conv_id, o.author, o.msg_id))
                if who is not None:
                    self.typing(conv_id, who)
                continue
            elif isinstance(o, Deleted):
                who = self._live.pop((conv_id, o.author, o.msg_id), None)
                if who is not None:
                    self.typing(conv_id, who, False)
                continue
            if text is None or author is None:
                continue
            self.typing(conv_id, name, False)
            self.store_message(conv_id, agent_msg_id, part, text, name, author == customer, now)

    def store_message(
        self,
        conv_id: str,
        agent_msg_id: int,
        part: int,
        text: str,
        name: str,
        from_customer: bool,
        now: float,
    ) -> None:
        direction = "in" if from_customer else "out"
        msg = self.service.store.add_incoming(
            conv_id, agent_msg_id, part, text or "[message]", now, direction=direction
        )
        if msg is None:
            return
        if not from_customer:
            self.store.set_author(msg.id, name)
        self.service.publish_message(msg)

    def typing(self, conv_id: str, name: str, typing: bool = True) -> None:
        self.service.publish({"type": "typing", "id": conv_id, "name": name, "typing": typing})

    # --- what subclasses provide

    def group(self, conv_id: str) -> Any:
        """The group of conversation ``conv_id`` (None if it is not a team one), loaded
        once from the store."""
        g = self._groups.get(conv_id)
        if g is None:
            state = self.store.group(conv_id)
            if state is None:
                return None
            g = self._groups[conv_id] = self.load_group(state)
        return g

    def load_group(self, state: dict[str, Any]) -> Any:
        raise NotImplementedError

    def to_team(self, conv_id: str, group: Any, msg: ChatMessage) -> list[Output]:
        """Sending one of our own messages to the group."""
        raise NotImplementedError

    def _commit(self, conv_id: str, group: Any, outputs: list[Output]) -> list[str]:
        raise NotImplementedError

    def _farewell(self, conv_id: str, group: Any) -> list[str]:
        """Commit the end of our part in the conversation; the connections to drop."""
        raise NotImplementedError

    async def end(self, conv_id: str) -> bool:
        """End our part in a team conversation, its connections deleted once the farewell
        has left; False if it is not a team conversation."""
        group = self.group(conv_id)
        if group is None:
            return False
        await self.disconnect(self._farewell(conv_id, group))
        return True

    # --- our own messages

    def _own(self, conv_id: str, group: Any, msg: ChatMessage) -> list[Output]:
        return [*self.to_team(conv_id, group, msg), *group.apply(group.me.member_id, msg, now_ts())]

    async def reply(self, conv_id: str, text: str) -> Message | None:
        """Write ``text`` to a team conversation (the final text of the live message being
        typed, if any); None if it is not a team conversation."""
        group = self.group(conv_id)
        if group is None:
            return None
        live = self._my_live.pop(conv_id, None)
        content = {"type": "text", "text": text}
        if live is None:
            msg = XGrpMsgNew(content, os.urandom(12)).to_message()
        else:
            msg = XMsgUpdate(live, content).to_message()
        self._last_sent.pop(conv_id, None)
        self._commit(conv_id, group, self._own(conv_id, group, msg))
        await self.flush()
        return self._store_own(conv_id, group, text)

    def _store_own(self, conv_id: str, group: Any, text: str) -> Message:
        """Our own message, just handed to the agent, into the history (its ticks follow
        the copy sent on the conversation's own connection)."""
        snd_id = self._last_sent.get(conv_id, 0)
        stored = self.service.store.add_outgoing(conv_id, snd_id, text, self.service.clock())
        self.store.set_author(stored.id, group.me.name)
        return stored

    async def set_typing(self, conv_id: str, typing: bool) -> bool:
        """Show the others that we are typing (a live message, empty until sent: drafts
        are not shown) or that we stopped (the live message is deleted). False if it is not
        a team conversation."""
        group = self.group(conv_id)
        if group is None:
            return False
        live = self._my_live.get(conv_id)
        if typing and live is None:
            live = self._my_live[conv_id] = os.urandom(12)
            msg = XGrpMsgNew({"type": "text", "text": ""}, live, live=True).to_message()
        elif not typing and live is not None:
            del self._my_live[conv_id]
            msg = XMsgDel(live).to_message()
        else:
            return True
        self._commit(conv_id, group, self._own(conv_id, group, msg))
        await self.flush()
        return True

    def extras(self, conv_id: str) -> dict[str, Any]:
        """Team fields of a conversation for the UI: who it is assigned to, whether that
        is me."""
        assigned = self.store.assignment(conv_id)
        mine = assigned is not None and assigned[0] == self.my_member_b64(conv_id)
        return {
            "team": True,
            "assigned": None if assigned is None else assigned[1],
            "mine": mine,
        }

    def my_member_b64(self, conv_id: str) -> str | None:
        raise NotImplementedError

    def authors(self, msg_rows: list[int]) -> dict[int, str]:
        return self.store.authors(msg_rows)
