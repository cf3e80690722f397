"""An operator's inbox (``hushwire inbox --join-team LINK``): a member of every business chat
of its team inbox.

Mirrors simplex-chat ``Library/Subscriber.hs`` (``processGroupInvitation``: an ``x.grp.inv``
on a contact connection; joining it with ``x.grp.acpt``) and ``Library/Commands.hs``
(``APIJoinGroup``); docs/protocol/chat.md.

The operator's inbox joins the team's one-time link with its profile (``x.info``): that
1:1 connection is its *team*. Every ``x.grp.inv`` arriving on it is accepted at once
(invitations on any other connection are not the team's and are ignored): the inbox joins
the invitation's ``connRequest`` with ``x.grp.acpt`` (its member id) and becomes a member
(:class:`~hushwire.chat.group_member.GroupMember`) of that conversation, whose id is its
group connection. The team inbox forwards every message of the conversation to it; what it
writes goes to the team inbox, which forwards it to the visitor and the other operators.
``x.grp.mem.del`` of itself (removed by the team) ends every such conversation; an
``x.direct.del`` on the team connection ends the membership in the team.
"""

from __future__ import annotations

from typing import Any

from hushwire.agent.agent import (
    AgentEvent,
    ConnectionEstablished,
    MessageReceived,
    MessageSent,
)
from hushwire.chat.group_member import GroupMember
from hushwire.chat.group_state import (
    GroupDeleted,
    MemberJoined,
    MemberLeft,
    MemberRecord,
    Output,
    Send,
)
from hushwire.chat.groups import XGrpAcpt, XGrpInv, interpret_group
from hushwire.chat.messages import (
    CHAT_VERSIONS,
    ChatMessage,
    Profile,
    XDirectDel,
    x_info,
)
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError
from hushwire.inbox.team_common import (
    ASSIGN_EVENT,
    TeamPart,
    assign_message,
    log,
    now_ts,
    profile_name_in,
    read_assign,
    read_body,
)

__all__ = ["TeamOperator"]


class TeamOperator(TeamPart):
    """The operator's side: its team connection and its memberships."""

    def team_conn(self) -> str | None:
        ops = [o for o in self.store.operators() if o.status != "removed"]
        return ops[0].conn_id if ops else None

    def team_json(self) -> dict[str, str] | None:
        """The team this inbox is an operator of: its name and our state in it (``joining``,
        ``active``, ``removed``)."""
        ops = self.store.operators()
        return None if not ops else {"name": ops[-1].name, "status": ops[-1].status}

    async def join_team(self, link: str) -> None:
        """Join the team inbox's operator link (once: later runs keep the connection)."""
        if self.team_conn() is not None:
            return
        info = x_info(Profile(self.service.name)).encode_conn_info()
        conn_id = await self.service.agent.join(link, info)
        self.store.add_operator(conn_id, "team", "joining", self.service.clock())
        log.info("%s: joining the team", conn_id[:8])

    def group(self, conv_id: str) -> GroupMember | None:
        found: GroupMember | None = super().group(conv_id)
        return found

    def load_group(self, state: dict[str, Any]) -> GroupMember:
        return GroupMember.from_json(state)

    def customer(self, conv_id: str) -> bytes | None:
        biz = self.store.get(f"biz:{conv_id}")
        return None if not isinstance(biz, str) else b64url_decode(biz)

    def my_member_b64(self, conv_id: str) -> str | None:
        g = self.group(conv_id)
        return None if g is None else b64url_encode(g.me.member_id)

    def owns(self, conn_id: str) -> bool:
        return self.store.operator(conn_id) is not None

    def conn_for(self, conv_id: str, member_id: bytes) -> str | None:
        g = self.group(conv_id)
        return conv_id if g is not None and member_id == g.host_id else None

    def to_team(self, conv_id: str, group: Any, msg: ChatMessage) -> list[Output]:
        return [Send(group.host_id, (msg,))]

    def _commit(self, conv_id: str, group: Any, outputs: list[Output]) -> list[str]:
        sends, drop = self.sends(conv_id, outputs)
        self.store.commit(conv_id, group.to_json(), sends)
        return drop

    # --- events

    async def handle(self, ev: AgentEvent) -> bool:
        if isinstance(ev, ConnectionEstablished):
            op = self.store.operator(ev.conn_id)
            if op is not None:
                name = profile_name_in(ev.info, op.name)
                self.store.add_operator(op.conn_id, name, "active", op.created_at)
                log.info("%s: joined the team %s", op.conn_id[:8], name)
                return True
            if self.group(ev.conn_id) is not None:
                now = self.service.clock()
                self.service.store.upsert_conversation(ev.conn_id, None, "online", now)
                self.service.publish_conversation(ev.conn_id)
                return True
            return False
        if isinstance(ev, MessageReceived):
            if self.store.operator(ev.conn_id) is not None:
                await self._from_team(ev)
                return True
            if self.group(ev.conn_id) is not None:
                await self._in_group(ev)
                return True
            return False
        if isinstance(ev, MessageSent):
            await self.sent(ev.conn_id, ev.snd_id)
            return self.owns(ev.conn_id)
        return False

    async def _from_team(self, ev: MessageReceived) -> None:
        for m in read_body(ev.conn_id, ev.body):
            try:
                event = interpret_group(m)
            except DecodeError as e:
                log.warning("%s: %s from the team: %s", ev.conn_id[:8], m.event, e)
                continue
            if isinstance(event, XGrpInv):
                await self._accept(ev.conn_id, event)
            elif isinstance(event, XDirectDel):
                op = self.store.operator(ev.conn_id)
                if op is not None:
                    self.store.add_operator(op.conn_id, op.name, "removed", op.created_at)
                log.info("%s: the team removed this operator", ev.conn_id[:8])
        await self.service.agent.ack_message(ev.msg_id, receipt=False)

    async def _accept(self, team_conn: str, event: XGrpInv) -> None:
        """Join a business chat the team invites us to (with ``x.grp.acpt``)."""
        inv = event.invitation
        key = f"inv:{b64url_encode(inv.invited_member.member_id)}"
        if self.store.get(key) is not None:  # a redelivered invitation
            return
        op = self.store.operator(team_conn)
        host = MemberRecord(
            inv.from_member.member_id,
            inv.from_member.role,
            Profile(op.name if op is not None else inv.group_profile.display_name),
            "connected",
        )
        me = MemberRecord(
            inv.invited_member.member_id,
            inv.invited_member.role,
            Profile(self.service.name),
            "connected",
            CHAT_VERSIONS,
        )
        group = GroupMember(inv.group_profile, me, host)
        acpt = XGrpAcpt(me.member_id).to_message().encode_conn_info()
        conn_id = await self.service.agent.join(inv.conn_request, acpt)
        self.store.put(key, conn_id)
        customer = (inv.business or {}).get("customerId")
        if isinstance(customer, str):
            self.store.put(f"biz:{conn_id}", customer)
        self._groups[conn_id] = group
        self.store.commit(conn_id, group.to_json(), [])
        self.service.store.upsert_conversation(conn_id, None, "connecting", self.service.clock())
        self.service.publish_conversation(conn_id)
        log.info("%s: invited into a conversation by the team", conn_id[:8])

    async def _in_group(self, ev: MessageReceived) -> None:
        conv_id = ev.conn_id
        group = self.group(conv_id)
        assert group is not None
        rest: list[ChatMessage] = []
        for m in read_body(conv_id, ev.body):
            if m.event == ASSIGN_EVENT:
                self._assigned(conv_id, m)
            else:
                rest.append(m)
        outputs = group.receive(group.host_id, rest, now_ts())
        customer = self.customer(conv_id)
        self.record(conv_id, group, outputs, customer, ev.msg_id)
        ended = False
        for o in outputs:
            if isinstance(o, MemberJoined | MemberLeft) and o.member_id == customer:
                self.service.store.upsert_conversation(conv_id, o.name, "online", 0)
            if isinstance(o, MemberLeft) and o.member_id in (customer, group.me.member_id):
                ended = True
            if isinstance(o, GroupDeleted):
                ended = True
        drop = self._commit(conv_id, group, outputs)
        await self.flush()
        await self.service.agent.ack_message(ev.msg_id, receipt=False)
        await self.disconnect([d for d in drop if d != conv_id] if not ended else drop)
        if ended:
            self.service.store.set_status(conv_id, "ended", self.service.clock())
        self.service.publish_conversation(conv_id)

    def _assigned(self, conv_id: str, msg: ChatMessage) -> None:
        try:
            who, name = read_assign(msg)
        except DecodeError as e:
            log.warning("%s: malformed assignment: %s", conv_id[:8], e)
            return
        self.store.set_assignment(conv_id, who, name)

    # --- the operator's actions

    async def assign(self, conv_id: str, mine: bool) -> None:
        """Ask the team inbox to assign the conversation to me (or to nobody)."""
        group = self.group(conv_id)
        if group is None:
            return
        msg = assign_message(group.me.member_id if mine else None, group.me.name)
        self.store.commit(conv_id, group.to_json(), [(conv_id, msg.encode())])
        await self.flush()

    def _farewell(self, conv_id: str, group: GroupMember) -> list[str]:
        """Ending it on an operator's inbox leaves the conversation (``x.grp.leave``)."""
        return self._commit(conv_id, group, group.leave())

    async def recover(self) -> None:
        await self.flush()
