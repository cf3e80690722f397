"""The host's side of a group: admitting joiners through the group link, announcing,
introducing, forwarding, history, and the owner's actions.

Sans-I/O. Mirrors simplex-chat ``Library/Subscriber.hs`` (the group-link branch of
``profileContactRequest``, the CON handler for an invitee, ``xGrpMemInv``, ``xGrpMemCon``,
``forwardMsgs``) and ``Library/Internal.hs`` (``introduceToGroup``, ``sendHistory``);
docs/protocol/chat.md. The theory of operation is in :mod:`hushwire.chat.group_state`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hushwire.chat.group_state import (
    Disconnect,
    GroupFull,
    HistoryCleared,
    LogItem,
    MemberJoined,
    MemberRecord,
    Output,
    Posted,
    Refused,
    Send,
    _Group,
    _read_event_as,
)
from hushwire.chat.group_types import (
    GroupLinkInvitation,
    GroupProfile,
    IntroInvitation,
    MemberIdRole,
    Role,
    redacted_profile,
)
from hushwire.chat.groups import (
    FORWARDABLE_EVENTS,
    XGrpDel,
    XGrpInfo,
    XGrpLinkInv,
    XGrpLinkMem,
    XGrpMemCon,
    XGrpMemDel,
    XGrpMemFwd,
    XGrpMemIntro,
    XGrpMemInv,
    XGrpMemNew,
    XGrpMemRole,
    XGrpMsgForward,
    XGrpMsgNew,
    XMsgDel,
)
from hushwire.chat.messages import (
    CHAT_VERSIONS,
    ChatMessage,
    Profile,
    XContact,
    XInfo,
    interpret,
    parse_chat_body,
)
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError
from hushwire.limits import (
    GROUP_HISTORY_DEFAULT,
    GROUP_HISTORY_MAX,
    GROUP_MAX_MEMBERS_DEFAULT,
    GROUP_MAX_PENDING_INTRODUCTIONS,
)
from hushwire.smp.version import VersionRange

__all__ = ["FAST_LINK_JOIN_VERSION", "GroupHost", "read_join_request"]

FAST_LINK_JOIN_VERSION = 3
"""Joiners below this chat version use the legacy contact path (``groupFastLinkJoinVersion``)."""


def read_join_request(info: bytes) -> tuple[Profile, VersionRange]:
    """The joiner's profile and chat versions from a join request's connInfo (``x.contact``
    or ``x.info``). ``DecodeError`` says why it is not one Hushwire takes: no profile,
    another event, or a joiner older than :data:`FAST_LINK_JOIN_VERSION` (the legacy path)."""
    try:
        (msg,) = parse_chat_body(info)
        hello = interpret(msg)
    except (DecodeError, ValueError):
        raise DecodeError("a join request without a profile") from None
    if not isinstance(hello, XContact | XInfo):
        raise DecodeError(f"a join request with {msg.event}")
    if msg.chat_versions.max < FAST_LINK_JOIN_VERSION:
        raise DecodeError(f"a joiner with chat version {msg.versions}, too old")
    return hello.profile, msg.chat_versions


# ----------------------------------------------------------------------------- host


def _forward_of(item: LogItem) -> ChatMessage:
    return XGrpMsgForward(item.author, item.author_name, item.message, item.ts).to_message()


class GroupHost(_Group):
    """The owner's side of a group it hosts through its group link (see the module
    docstring). ``history`` is the number of messages a new member gets (0 to 100)."""

    def __init__(
        self,
        profile: GroupProfile,
        me: MemberRecord,
        *,
        history: int = GROUP_HISTORY_DEFAULT,
        max_members: int = GROUP_MAX_MEMBERS_DEFAULT,
        introduce: bool = False,
    ) -> None:
        if not 0 <= history <= GROUP_HISTORY_MAX:
            raise ValueError(f"history is 0 to {GROUP_HISTORY_MAX} messages")
        super().__init__(profile, me)
        self.history = history
        self.max_members = max_members
        self.introduce = introduce
        self.connected_pairs: set[frozenset[bytes]] = set()
        """Member pairs that reported a direct connection: not forwarded to each other."""
        self.pending_intros: set[frozenset[bytes]] = set()

    @classmethod
    def create(cls, name: str, host_profile: Profile, member_id: bytes, **kw: Any) -> GroupHost:
        """A new group: ``member_id`` (random, from the caller) is the host's, as owner.
        The history preference is on, direct messages off, as the room needs."""
        prefs = {"history": {"enable": "on"}, "directMessages": {"enable": "off"}}
        profile = GroupProfile(name, "", preferences=prefs)
        me = MemberRecord(
            member_id, Role.OWNER.wire, redacted_profile(host_profile), "connected", CHAT_VERSIONS
        )
        return cls(profile, me, **kw)

    # --- joining

    def admit(
        self, member_id: bytes, profile: Profile, versions: VersionRange | None
    ) -> ChatMessage:
        """A join request through the group link: record the joiner (``member_id`` random,
        from the caller) and return the ``x.grp.link.inv`` connInfo to accept it with.
        Raises :class:`GroupFull`. A request admitted before (a join request seen again after
        a restart) keeps its member as it is: re-admitting a connected member would hide it
        from forwarding."""
        known = self.members.get(member_id)
        if known is not None:
            role = known.role
        else:
            if len([m for m in self.current_members()]) >= self.max_members:
                raise GroupFull(f"the group has {self.max_members} members")
            role = Role.MEMBER.wire
            self.members[member_id] = MemberRecord(
                member_id, role, redacted_profile(profile), "accepted", versions
            )
        inv = GroupLinkInvitation(
            MemberIdRole(self.me.member_id, self.me.role),
            self.me.profile.display_name,
            MemberIdRole(member_id, role),
            self.profile,
            "accepted",
            None,
            len(self.current_members()) + 1,
        )
        return XGrpLinkInv(inv).to_message()

    def connected(self, member_id: bytes) -> list[Output]:
        """The connection to an admitted member is up: greet, announce, introduce, send
        history."""
        m = self.members.get(member_id)
        if m is None or m.status != "accepted":
            return []
        m = replace(m, status="connected")
        self.members[member_id] = m
        out: list[Output] = [Send(member_id, (XGrpLinkMem(self.me.profile).to_message(),))]
        announce = XGrpMemNew(m.info()).to_message()
        others = [x for x in self.current_members() if x.member_id != member_id]
        out.extend(Send(x.member_id, (announce,)) for x in others if x.status == "connected")
        if self.introduce:
            intros = []
            for x in others:
                if (
                    x.status != "connected"
                    or len(self.pending_intros) >= GROUP_MAX_PENDING_INTRODUCTIONS
                ):
                    continue
                self.pending_intros.add(frozenset((member_id, x.member_id)))
                info = replace(x.info(), versions=x.versions or CHAT_VERSIONS)
                intros.append(XGrpMemIntro(info).to_message())
            if intros:
                out.append(Send(member_id, tuple(intros)))
        # history goes to members that take batches (chat version 5, ``batchSendVersion``)
        takes_history = self.history and (m.versions is None or m.versions.max >= 5)
        history = [_forward_of(x) for x in self.log[-self.history :]] if takes_history else []
        if history:
            out.append(Send(member_id, tuple(history)))
        out.append(MemberJoined(member_id, m.name))
        return out

    # --- receiving

    def _receive_one(self, sender: bytes, msg: ChatMessage, ts: str) -> list[Output]:
        m = self.members.get(sender)
        if m is None or m.status != "connected":
            return [Refused(sender, msg.event, "not a connected member")]
        if msg.event == "x.grp.mem.inv":
            return self._mem_inv(sender, msg)
        if msg.event == "x.grp.mem.con":
            return self._mem_con(sender, msg)
        if msg.event not in FORWARDABLE_EVENTS:
            return [Refused(sender, msg.event, "not an event a member sends to the group")]
        if msg.event == "x.msg.new" and msg.params.get("file") is not None:
            return [Refused(sender, msg.event, "files are not supported")]
        shown = self.apply(sender, msg, ts)
        if any(isinstance(x, Refused) for x in shown) or (
            msg.event == "x.msg.new" and not any(isinstance(x, Posted) for x in shown)
        ):
            return shown  # refused or a duplicate: not forwarded
        fwd = XGrpMsgForward(sender, m.name, msg, ts).to_message()
        targets = [
            x.member_id
            for x in self.current_members()
            if x.member_id != sender
            and x.status == "connected"
            and frozenset((sender, x.member_id)) not in self.connected_pairs
        ]
        if msg.event == "x.grp.leave":
            targets = [t for t in targets if t != sender]
        return [*(Send(t, (fwd,)) for t in targets), *shown]

    def _mem_inv(self, sender: bytes, msg: ChatMessage) -> list[Output]:
        event = _read_event_as(sender, msg, XGrpMemInv)
        if isinstance(event, Refused):
            return [event]
        pair = frozenset((sender, event.member_id))
        pre = self.members.get(event.member_id)
        if pair not in self.pending_intros or pre is None or not pre.current:
            return [Refused(sender, msg.event, "no such introduction")]
        joiner = self.members[sender]
        info = replace(joiner.info(), versions=joiner.versions or CHAT_VERSIONS)
        intro = IntroInvitation(event.intro.group_conn_req)
        return [Send(event.member_id, (XGrpMemFwd(info, intro).to_message(),))]

    def _mem_con(self, sender: bytes, msg: ChatMessage) -> list[Output]:
        event = _read_event_as(sender, msg, XGrpMemCon)
        if isinstance(event, Refused):
            return [event]
        pair = frozenset((sender, event.member_id))
        if pair not in self.pending_intros and pair not in self.connected_pairs:
            return [Refused(sender, msg.event, "no such introduction")]
        self.pending_intros.discard(pair)
        self.connected_pairs.add(pair)
        return []

    # --- the host's own actions

    def _to_all(self, msg: ChatMessage) -> list[Output]:
        return [
            Send(m.member_id, (msg,)) for m in self.current_members() if m.status == "connected"
        ]

    def post(self, text: str, msg_id: bytes, ts: str) -> list[Output]:
        """The host writes ``text`` (``msg_id``: 12 random bytes from the caller)."""
        msg = XGrpMsgNew({"type": "text", "text": text}, msg_id).to_message()
        return [*self._to_all(msg), *self.apply(self.me.member_id, msg, ts)]

    def remove(self, member_id: bytes, *, messages: bool = False) -> list[Output]:
        m = self.members.get(member_id)
        if m is None or not m.current:
            return []
        msg = XGrpMemDel(member_id, messages).to_message()
        sends = self._to_all(msg)
        return [*sends, *self.apply(self.me.member_id, msg, "")]

    def set_role(self, member_id: bytes, role: Role) -> list[Output]:
        msg = XGrpMemRole(member_id, role.wire).to_message()
        shown = self.apply(self.me.member_id, msg, "")
        return shown if shown else self._to_all(msg)

    def update_profile(self, profile: GroupProfile) -> list[Output]:
        self.profile = profile
        return self._to_all(XGrpInfo(profile).to_message())

    def delete_group(self) -> list[Output]:
        sends = self._to_all(XGrpDel().to_message())
        self.deleted = True
        return [*sends, *(Disconnect(m.member_id) for m in self.current_members())]

    def clear_history(self) -> list[Output]:
        """Delete every kept message for everybody (moderation deletes as owner)."""
        dels = tuple(
            XMsgDel(x.message.msg_id, x.author).to_message()
            for x in self.log
            if x.message.msg_id is not None
        )
        self.log.clear()
        out: list[Output] = []
        if dels:
            out.extend(Send(s.to, dels) for s in self._to_all(dels[0]) if isinstance(s, Send))
        out.append(HistoryCleared())
        return out

    # --- persistence

    def to_json(self) -> dict[str, Any]:
        out = self._core_json()
        out["history"] = self.history
        out["max_members"] = self.max_members
        out["introduce"] = self.introduce
        out["pairs"] = [sorted(b64url_encode(x) for x in p) for p in self.connected_pairs]
        out["pending"] = [sorted(b64url_encode(x) for x in p) for p in self.pending_intros]
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> GroupHost:
        host = cls(
            GroupProfile.from_json(obj["profile"]),
            MemberRecord.from_json(obj["me"]),
            history=obj["history"],
            max_members=obj["max_members"],
            introduce=obj["introduce"],
        )
        host._load_core(obj)
        host.connected_pairs = {frozenset(b64url_decode(x) for x in p) for p in obj["pairs"]}
        host.pending_intros = {frozenset(b64url_decode(x) for x in p) for p in obj["pending"]}
        return host
