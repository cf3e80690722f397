"""The team inbox (``hushwire inbox --team``): a SimpleX business address whose every visitor
conversation is a business chat (a group) of the visitor and the team.

Mirrors simplex-chat ``Library/Internal.hs`` (``acceptBusinessJoinRequestAsync``,
``businessGroupProfile``), ``Library/Subscriber.hs`` (the CON handler for a business
chat's customer, the CONF handler of an invitee: ``x.grp.acpt`` answered with ``x.ok``) and
``Library/Commands.hs`` (``APIAddMember``/``sendGrpInvitation``: ``x.grp.inv`` carrying the
group's ``business`` info); docs/protocol/chat.md.

Theory of operation
-------------------
* The contact address is marked as a business address in its short link data
  (``{"profile":…,"business":true}``). Each visitor's request (``x.contact``/``x.info``)
  becomes a new group: the inbox is its owner (a fresh member id per conversation), the
  visitor its ``member`` with a fresh member id (the *customer*). The request is accepted
  with ``x.grp.link.inv`` whose ``groupProfile`` is the business profile and whose
  ``business`` is ``{"chatType":"business","businessId":OWNER,"customerId":CUSTOMER}``
  (the customer's client shows the business). The conversation's id is the visitor's
  connection id, as for a 1:1 conversation.
* Operators: :meth:`TeamHost.invite_operator` makes a one-time invitation; an operator's
  inbox (``--join-team LINK``) or a SimpleX app connects to it. For every conversation the
  team inbox then adds every active operator: it records a member (role ``member``), makes
  a one-time invitation for that member's group connection (answered with ``x.ok``) and
  sends ``x.grp.inv`` over the operator's 1:1 connection, its ``business`` being the
  group's as the business side holds it (``chatType: customer``: the invitee joins the
  business side). The operator joins with ``x.grp.acpt`` (its member id); once connected
  it gets the group's history and an ``x.grp.mem.new`` for the customer, and the customer
  an ``x.grp.mem.new`` for the operator (unless operator names are hidden).
* Messages: the group is served as a star (:class:`~hushwire.chat.group_host.GroupHost`):
  every member's message goes to the inbox, which checks the role, stores it and forwards
  it to every other member (``x.grp.msg.forward``). With ``show_operator_names`` off, what
  the visitor gets names the business, not the operator: forwards carry the business name
  and operators are not announced to it.
* Removing an operator: ``x.grp.mem.del`` in every conversation (to everybody, the removed
  operator included), its group connections deleted once that has left, then its 1:1
  connection (``x.direct.del``) deleted too.
* Assignment (:data:`~hushwire.inbox.team_common.ASSIGN_EVENT`) from an operator is
  recorded and sent to every operator; from the customer it is refused.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hushwire.agent.agent import (
    AgentError,
    AgentEvent,
    ConnectionEstablished,
    ConnectionRequested,
    MessageReceived,
    MessageSent,
)
from hushwire.agent.machine import ConnStatus
from hushwire.chat.group_host import GroupHost, read_join_request
from hushwire.chat.group_state import GroupFull, Output, Posted, Refused, Send
from hushwire.chat.group_types import GroupInvitation, MemberIdRole
from hushwire.chat.groups import (
    XGrpAcpt,
    XGrpInv,
    XGrpLeave,
    XGrpLinkInv,
    XGrpMemNew,
    XGrpMsgForward,
    interpret_group,
)
from hushwire.chat.messages import (
    ChatMessage,
    Profile,
    parse_chat_body,
    x_direct_del,
    x_info,
)
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError, HushwireError
from hushwire.inbox.team_common import (
    ASSIGN_EVENT,
    TeamPart,
    TeamSettings,
    assign_message,
    log,
    now_ts,
    profile_name_in,
    read_assign,
    read_body,
)
from hushwire.inbox.team_store import Operator, TeamStore

if TYPE_CHECKING:
    from hushwire.inbox.service import InboxService

__all__ = ["TeamHost", "business_info"]

_LINK_MEM = "x.grp.link.mem"
_X_OK = ChatMessage("x.ok", {})


def business_info(chat_type: str, business_id: bytes, customer_id: bytes) -> dict[str, Any]:
    """``BusinessChatInfo`` as simplex-chat sends it: ``chatType`` is ``business`` on the
    customer's side and ``customer`` on the business side."""
    return {
        "chatType": chat_type,
        "businessId": b64url_encode(business_id),
        "customerId": b64url_encode(customer_id),
    }


class TeamHost(TeamPart):
    """The team inbox's side: the business chats it hosts and its operators."""

    def __init__(
        self, service: InboxService, store: TeamStore, settings: TeamSettings | None = None
    ) -> None:
        super().__init__(service, store)
        self.settings = settings or TeamSettings()
        self.show_operator_names = self.settings.show_operator_names

    # --- state

    def group(self, conv_id: str) -> GroupHost | None:
        found: GroupHost | None = super().group(conv_id)
        return found

    def load_group(self, state: dict[str, Any]) -> GroupHost:
        return GroupHost.from_json(state)

    def _member_conn(self, conn_id: str) -> tuple[str, bytes, GroupHost | None] | None:
        """The conversation, member and group a member connection leads to."""
        found = self.store.member_of(conn_id)
        return None if found is None else (*found, self.group(found[0]))

    def customer(self, conv_id: str) -> bytes | None:
        found = self.store.member_of(conv_id)
        return None if found is None else found[1]

    def my_member_b64(self, conv_id: str) -> str | None:
        g = self.group(conv_id)
        return None if g is None else b64url_encode(g.me.member_id)

    def owns(self, conn_id: str) -> bool:
        """Connections of the team that are not conversations (operators' 1:1 connections
        and their group connections)."""
        if self.store.operator(conn_id) is not None:
            return True
        found = self.store.member_of(conn_id)
        return found is not None and found[0] != conn_id

    def _commit(
        self,
        conv_id: str,
        group: GroupHost | None,
        outputs: list[Output],
        *,
        link: tuple[str, bytes] | None = None,
        extra: list[tuple[str, bytes]] | None = None,
    ) -> list[str]:
        sends, drop = self.sends(conv_id, self._for_customer(conv_id, outputs))
        state = None if group is None else group.to_json()
        self.store.commit(conv_id, state, sends + (extra or []), link=link)
        if group is None:
            self._groups.pop(conv_id, None)
        return drop

    def to_team(self, conv_id: str, group: Any, msg: ChatMessage) -> list[Output]:
        return [
            Send(m.member_id, (msg,)) for m in group.current_members() if m.status == "connected"
        ]

    def _for_customer(self, conv_id: str, outputs: list[Output]) -> list[Output]:
        """What the customer is sent: without operator names unless they are shown (the
        business name instead, no announcements of operators)."""
        customer = self.customer(conv_id)
        group = self.group(conv_id)
        if self.show_operator_names or customer is None or group is None:
            return outputs
        out: list[Output] = []
        for o in outputs:
            if not isinstance(o, Send) or o.to != customer:
                out.append(o)
                continue
            kept: list[ChatMessage] = []
            for m in o.messages:
                if m.event in ("x.grp.mem.new", "x.grp.mem.del"):
                    continue
                if m.event == "x.grp.msg.forward":
                    try:
                        fwd = interpret_group(m)
                    except DecodeError:
                        continue
                    assert isinstance(fwd, XGrpMsgForward)
                    m = replace(fwd, member_name=group.profile.display_name).to_message()
                kept.append(m)
            if kept:
                out.append(Send(o.to, tuple(kept)))
        return out

    # --- events

    async def handle(self, ev: AgentEvent) -> bool:
        """Take the events that are the team's; False for the others."""
        if isinstance(ev, ConnectionRequested):
            await self._on_request(ev)
            return True
        if isinstance(ev, ConnectionEstablished):
            return await self._on_established(ev)
        if isinstance(ev, MessageReceived):
            return await self._on_message(ev)
        if isinstance(ev, MessageSent):
            await self.sent(ev.conn_id, ev.snd_id)
            return self.owns(ev.conn_id)
        return False

    async def _on_request(self, ev: ConnectionRequested) -> None:
        conv_id, name = ev.conn_id, self.service.name
        customer = self.customer(conv_id) or os.urandom(12)
        group = self.group(conv_id) or GroupHost.create(name, Profile(name), os.urandom(12))
        try:
            profile, versions = read_join_request(ev.info)
            info = group.admit(customer, profile, versions)
        except (DecodeError, GroupFull) as e:  # a fresh group has room: not a visitor
            log.warning("%s: %s, ignored", conv_id[:8], e)
            return
        self._groups[conv_id] = group
        inv = interpret_group(info)
        assert isinstance(inv, XGrpLinkInv)
        biz = business_info("business", group.me.member_id, customer)
        conn_info = XGrpLinkInv(replace(inv.invitation, business=biz, group_size=1)).to_message()
        self._commit(conv_id, group, [], link=(conv_id, customer))
        now = self.service.clock()
        self.service.store.upsert_conversation(conv_id, profile.display_name, "connecting", now)
        self.service.publish_conversation(conv_id)
        log.info("%s: a visitor asks to connect (business chat)", conv_id[:8])
        await self.service.agent.accept(conv_id, conn_info.encode_conn_info())

    async def _on_established(self, ev: ConnectionEstablished) -> bool:
        op = self.store.operator(ev.conn_id)
        if op is not None:
            await self._operator_connected(op, ev.info)
            return True
        found = self._member_conn(ev.conn_id)
        if found is None:
            return False
        conv_id, member_id, group = found
        if group is None:
            return True
        if conv_id == ev.conn_id:  # the customer
            drop = self._commit(conv_id, group, group.connected(member_id))
            await self.flush()
            await self.disconnect(drop)
            self.service.store.upsert_conversation(conv_id, None, "online", self.service.clock())
            self.service.publish_conversation(conv_id)
            for operator in self.store.operators():
                if operator.status == "active":
                    await self._invite(conv_id, operator)
            return True
        # an operator's group connection: it must answer with its own member id
        try:
            (msg,) = parse_chat_body(ev.info)
            acpt = interpret_group(msg)
        except (DecodeError, ValueError):
            acpt = None
        if not isinstance(acpt, XGrpAcpt) or acpt.member_id != member_id:
            log.warning("%s: a member connection without its x.grp.acpt, deleted", conv_id[:8])
            await self.service.agent.delete(ev.conn_id)
            return True
        outputs = [
            o
            for o in group.connected(member_id)
            if not (isinstance(o, Send) and o.messages[0].event == _LINK_MEM)
        ]
        customer = self.customer(conv_id)
        known = None if customer is None else group.members.get(customer)
        if known is not None and known.current:
            outputs.append(Send(member_id, (XGrpMemNew(known.info()).to_message(),)))
        assigned = self.store.assignment(conv_id)
        if assigned is not None:
            who = b64url_decode(assigned[0])
            outputs.append(Send(member_id, (assign_message(who, assigned[1]),)))
        drop = self._commit(conv_id, group, outputs)
        await self.flush()
        await self.disconnect(drop)
        return True

    async def _operator_connected(self, op: Operator, info: bytes) -> None:
        name = profile_name_in(info, op.name)
        self.store.add_operator(op.conn_id, name, "active", op.created_at)
        self.service.publish({"type": "operators", "operators": self.operators_json()})
        log.info("%s: operator %s connected", op.conn_id[:8], name)
        for conv_id in self.store.group_ids():
            await self._invite(conv_id, self.store.operator(op.conn_id) or op)

    async def _invite(self, conv_id: str, op: Operator) -> None:
        """Add operator ``op`` to conversation ``conv_id`` (once)."""
        key = f"opm:{conv_id}:{op.conn_id}"
        group = self.group(conv_id)
        customer = self.customer(conv_id)
        if self.store.get(key) is not None or group is None or group.deleted or customer is None:
            return
        conv = self.service.store.conversation(conv_id)
        if conv is None or conv.status == "ended":
            return
        member_id = os.urandom(12)
        try:
            group.admit(member_id, Profile(op.name), None)
        except GroupFull as e:
            log.warning("%s: %s", conv_id[:8], e)
            return
        conn_id, link = await self.service.agent.create_invitation(_X_OK.encode_conn_info())
        inv = GroupInvitation(
            MemberIdRole(group.me.member_id, group.me.role),
            MemberIdRole(member_id, "member"),
            link,
            group.profile,
            None,
            business_info("customer", group.me.member_id, customer),
            len(group.current_members()) + 1,
        )
        body = XGrpInv(inv).to_message().encode()
        self.store.put(key, b64url_encode(member_id))
        self._commit(conv_id, group, [], link=(conn_id, member_id), extra=[(op.conn_id, body)])
        await self.flush()

    async def _on_message(self, ev: MessageReceived) -> bool:
        op = self.store.operator(ev.conn_id)
        if op is not None:  # the 1:1 connection of an operator: a profile update at most
            if op.status == "active":
                name = profile_name_in(ev.body, op.name)
                self.store.add_operator(op.conn_id, name, op.status, op.created_at)
            await self.service.agent.ack_message(ev.msg_id, receipt=False)
            return True
        found = self._member_conn(ev.conn_id)
        if found is None:
            return False
        conv_id, sender, group = found
        outputs: list[Output] = []
        away: list[Output] = []
        customer = self.customer(conv_id)
        if group is not None:
            messages = read_body(ev.conn_id, ev.body)
            rest: list[ChatMessage] = []
            for m in messages:
                if m.event == ASSIGN_EVENT:
                    outputs.extend(self._assigned_by(conv_id, group, sender, customer, m))
                elif m.event == "x.direct.del" and sender == customer:
                    rest.append(XGrpLeave().to_message())  # a 1:1 "end" from the visitor
                else:
                    rest.append(m)
            outputs.extend(group.receive(sender, rest, now_ts()))
            self.record(conv_id, group, outputs, customer, ev.msg_id)
            away = self._away(conv_id, group, sender, customer, outputs)
            drop = self._commit(conv_id, group, outputs + away)
        else:
            drop = []
        await self.flush()
        if group is not None and away:
            self._store_own(conv_id, group, self.settings.away_message or "")
        # stored: a receipt for a new message, so its author sees it reached the team
        posted = any(isinstance(o, Posted) for o in outputs)
        await self.service.agent.ack_message(ev.msg_id, receipt=posted)
        await self.disconnect(drop)
        if group is not None and customer is not None:
            c = group.members.get(customer)
            if c is not None and not c.current:
                self.service.store.set_status(conv_id, "ended", self.service.clock())
                self.service.publish_conversation(conv_id)
        return True

    def _away(
        self,
        conv_id: str,
        group: GroupHost,
        sender: bytes,
        customer: bytes | None,
        outputs: list[Output],
    ) -> list[Output]:
        """The away message, when the visitor writes while the team is closed and was not
        told so yet in this closed period."""
        hours, text = self.settings.hours, self.settings.away_message
        if hours is None or not text or sender != customer:
            return []
        if not any(isinstance(o, Posted) and o.author == customer for o in outputs):
            return []
        period = hours.closed_period(datetime.fromtimestamp(self.service.clock()))
        key = f"away:{conv_id}"
        if period is None or self.store.get(key) == period:
            return []
        self.store.put(key, period)
        self._last_sent.pop(conv_id, None)
        return group.post(text, os.urandom(12), now_ts())

    def _assigned_by(
        self,
        conv_id: str,
        group: GroupHost,
        sender: bytes,
        customer: bytes | None,
        msg: ChatMessage,
    ) -> list[Output]:
        if sender == customer:
            return [Refused(sender, msg.event, "the customer has no role to assign")]
        try:
            who, _ = read_assign(msg)
        except DecodeError as e:
            return [Refused(sender, msg.event, f"malformed: {e}")]
        member = None if who is None else group.member(b64url_decode(who))
        if who is not None and (
            member is None or not member.current or member.member_id == customer
        ):
            return [Refused(sender, msg.event, "no such team member")]
        return self._assign(conv_id, group, None if member is None else member.member_id)

    def _assign(self, conv_id: str, group: GroupHost, who: bytes | None) -> list[Output]:
        """Record the assignment and tell every operator (never the customer)."""
        member = None if who is None else group.member(who)
        name = "" if member is None else member.name
        self.store.set_assignment(conv_id, None if who is None else b64url_encode(who), name)
        msg = assign_message(who, name)
        customer = self.customer(conv_id)
        out: list[Output] = [
            Send(m.member_id, (msg,))
            for m in group.current_members()
            if m.member_id != customer and m.status == "connected"
        ]
        self.service.publish_conversation(conv_id)
        return out

    # --- the owner's actions

    async def assign(self, conv_id: str, mine: bool) -> None:
        """ "Assign to me" (``mine``) or unassign, from the owner's UI."""
        group = self.group(conv_id)
        if group is None:
            return
        outputs = self._assign(conv_id, group, group.me.member_id if mine else None)
        self._commit(conv_id, group, outputs)
        await self.flush()

    def _farewell(self, conv_id: str, group: GroupHost) -> list[str]:
        """Ending a team conversation deletes the group for everybody (``x.grp.del``)."""
        return self._commit(conv_id, None, group.delete_group())

    async def invite_operator(self) -> str:
        """A one-time link for a new operator (its inbox or a SimpleX app joins it)."""
        return (await self.invite_operator_links())[0]

    async def invite_operator_links(self) -> tuple[str, str | None]:
        """A one-time operator invitation: its full link, and its short link when the relay
        speaks SMP v15 or later (apps show the team's profile from its link data)."""
        profile = Profile(self.service.name)
        info = x_info(profile).encode_conn_info()
        short: str | None = None
        try:
            data = json.dumps({"profile": profile.to_json()}, separators=(",", ":")).encode()
            conn_id, link, short = await self.service.agent.create_short_invitation(
                info, link_data=data
            )
        except AgentError:  # an older relay: the full link only
            conn_id, link = await self.service.agent.create_invitation(info)
        self.store.add_operator(conn_id, "(invited)", "invited", self.service.clock())
        self.service.publish({"type": "operators", "operators": self.operators_json()})
        return link, short

    async def remove_operator(self, ref: str) -> str:
        """Remove an operator (by name or connection id) from every conversation and the
        team; returns its name."""
        ops = [
            o
            for o in self.store.operators()
            if o.status != "removed" and (o.name == ref or o.conn_id.startswith(ref))
        ]
        if len(ops) != 1:
            from hushwire.inbox.service import InboxError

            raise InboxError(f"no single operator {ref!r}: see the operators list", 404)
        op = ops[0]
        drops: list[str] = []
        for conv_id in self.store.group_ids():
            member = self.store.get(f"opm:{conv_id}:{op.conn_id}")
            group = self.group(conv_id)
            if member is None or group is None:
                continue
            drops += self._commit(conv_id, group, group.remove(b64url_decode(member)))
            self.store.put(f"opm:{conv_id}:{op.conn_id}", "removed")
        self.store.enqueue([(op.conn_id, x_direct_del().encode())])
        self.store.add_operator(op.conn_id, op.name, "removed", op.created_at)
        await self.disconnect([*drops, op.conn_id])
        self.service.publish({"type": "operators", "operators": self.operators_json()})
        log.info("%s: operator %s removed", op.conn_id[:8], op.name)
        return op.name

    def operators_json(self) -> list[dict[str, Any]]:
        return [o.to_json() for o in self.store.operators() if o.status != "removed"]

    async def recover(self) -> None:
        """After a restart: send what was committed but not handed to the agent, then redo
        the steps a crash may have cut between the agent's commit and ours (requests never
        accepted, connections never greeted)."""
        await self.flush()
        for st in self.service.agent.store.all_connections():
            try:
                if st.status == ConnStatus.REQUESTED and st.peer_info:
                    await self._on_request(ConnectionRequested(st.conn_id, st.peer_info))
                elif st.status == ConnStatus.CONNECTED and st.peer_info is not None:
                    op = self.store.operator(st.conn_id)
                    if op is not None and op.status == "invited":
                        await self._operator_connected(op, st.peer_info)
                    found = self._member_conn(st.conn_id)
                    member = (
                        None
                        if found is None or found[2] is None
                        else found[2].members.get(found[1])
                    )
                    if member is not None and member.status == "accepted":
                        await self._on_established(ConnectionEstablished(st.conn_id, st.peer_info))
            except HushwireError as e:  # the agent went on with it meanwhile
                log.info("%s: recovery: %s", st.conn_id[:8], e)
