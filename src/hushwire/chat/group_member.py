"""A member's side of a group joined through a group link.

Sans-I/O. Mirrors simplex-chat ``Library/Subscriber.hs`` (the CONF handler for a group-link
host, ``xGrpLinkMem``, ``xGrpMsgForward``, ``createUnknownMember``); docs/protocol/chat.md.
The theory of operation is in :mod:`hushwire.chat.group_state`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hushwire.chat.group_state import (
    CreateInvitation,
    Disconnect,
    JoinMember,
    MemberJoined,
    MemberRecord,
    Output,
    Refused,
    Send,
    _Group,
    _read_event,
    _read_event_as,
)
from hushwire.chat.group_types import (
    GroupLinkInvitation,
    GroupProfile,
    IntroInvitation,
    Role,
    name_from_member_id,
    redacted_profile,
    role_rank,
)
from hushwire.chat.groups import (
    FORWARDABLE_EVENTS,
    XGrpLeave,
    XGrpLinkMem,
    XGrpMemCon,
    XGrpMemFwd,
    XGrpMemInfo,
    XGrpMemIntro,
    XGrpMemInv,
    XGrpMsgForward,
    XGrpMsgNew,
)
from hushwire.chat.messages import CHAT_VERSIONS, ChatMessage, Profile, parse_chat_body
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError

__all__ = ["GroupMember", "rejection_reason"]

_MAX_REASON = 200
"""A rejection reason longer than this is cut (it is shown to the person)."""


def rejection_reason(conn_info: bytes) -> str | None:
    """The reason of a group-link host's ``x.grp.link.reject`` (the connInfo of its
    confirmation, instead of ``x.grp.link.inv``), or None if ``conn_info`` is not one."""
    try:
        msgs = parse_chat_body(conn_info)
    except DecodeError:
        return None
    if len(msgs) != 1 or msgs[0].event != "x.grp.link.reject":
        return None
    rejection = msgs[0].params.get("groupLinkRejection")
    reason = rejection.get("rejectionReason") if isinstance(rejection, dict) else None
    return reason[:_MAX_REASON] if isinstance(reason, str) else "no reason given"


# ----------------------------------------------------------------------------- member


class GroupMember(_Group):
    """A member's side of a group joined through a group link: created from the host's
    ``x.grp.link.inv``. With ``take_intros`` it also takes up introductions (the joiner
    makes an invitation per introduced member, a pre-member joins the invitations the host
    forwards, both report the new connection to the host, and messages then go to directly
    connected members as well as to the host); without, it ignores them and everything
    reaches it through the host's forwards."""

    def __init__(
        self,
        profile: GroupProfile,
        me: MemberRecord,
        host: MemberRecord,
        *,
        take_intros: bool = False,
    ) -> None:
        super().__init__(profile, me)
        self.host_id = host.member_id
        self.members[host.member_id] = host
        self.take_intros = take_intros

    @classmethod
    def from_invitation(
        cls, inv: GroupLinkInvitation, my_profile: Profile, *, take_intros: bool = False
    ) -> GroupMember:
        """The group as the ``x.grp.link.inv`` of the host's confirmation describes it."""
        host = MemberRecord(
            inv.from_member.member_id,
            inv.from_member.role,
            Profile(inv.from_member_name),
            "connected",
        )
        me = MemberRecord(
            inv.invited_member.member_id,
            inv.invited_member.role,
            redacted_profile(my_profile),
            "connected",
            CHAT_VERSIONS,
        )
        return cls(inv.group_profile, me, host, take_intros=take_intros)

    def _receive_one(self, sender: bytes, msg: ChatMessage, ts: str) -> list[Output]:
        if self.deleted:
            return []
        if msg.event == "x.grp.link.mem":
            if sender != self.host_id:
                return [Refused(sender, msg.event, "only the host sends its profile")]
            event = _read_event_as(sender, msg, XGrpLinkMem)
            if isinstance(event, Refused):
                return [event]
            host = self.members[self.host_id]
            self.members[self.host_id] = replace(host, profile=redacted_profile(event.profile))
            return []
        if msg.event == "x.grp.msg.forward":
            return self._forwarded(sender, msg)
        if msg.event in ("x.grp.mem.intro", "x.grp.mem.fwd"):
            return self._introduction(sender, msg) if self.take_intros else []
        if msg.event not in FORWARDABLE_EVENTS:
            return [Refused(sender, msg.event, "not a group event")]
        if sender != self.host_id:
            m = self.members.get(sender)
            if m is None or m.status != "connected":
                return [Refused(sender, msg.event, "not a connected member")]
        return self.apply(sender, msg, ts)

    # --- introductions

    def _my_info(self) -> ChatMessage:
        return XGrpMemInfo(self.me.member_id, self.me.profile).to_message()

    def _introduction(self, sender: bytes, msg: ChatMessage) -> list[Output]:
        if sender != self.host_id or self._rank(sender) < Role.ADMIN:
            return [Refused(sender, msg.event, "only the admin host introduces")]
        event = _read_event(sender, msg)
        if isinstance(event, Refused):
            return [event]
        if isinstance(event, XGrpMemIntro):
            info = event.info
            if info.versions is None or info.versions.max < 2:
                return [Refused(sender, msg.event, "an introduction needs a version range")]
            known = self.member(info.member_id)
            if known is not None and known.status != "unknown":
                return []
            self.members[info.member_id] = MemberRecord(
                info.member_id, info.role, info.profile, "introduced", info.versions
            )
            return [
                CreateInvitation(info.member_id, self._my_info()),
                MemberJoined(info.member_id, info.profile.display_name),
            ]
        assert isinstance(event, XGrpMemFwd)
        info = event.info
        if self._rank(sender) < role_rank(info.role):
            return [Refused(sender, msg.event, "no role to introduce this member")]
        known = self.member(info.member_id)
        if known is not None and known.status in ("connected", "left", "removed"):
            return []
        record = MemberRecord(info.member_id, info.role, info.profile, "intro-inv", info.versions)
        self.members[info.member_id] = record
        return [JoinMember(info.member_id, event.intro.group_conn_req, self._my_info())]

    def invitation_created(self, member_id: bytes, conn_req: str) -> list[Output]:
        """The invitation for introduced member ``member_id`` exists: send it to the host."""
        m = self.members.get(member_id)
        if m is None or m.status != "introduced":
            return []
        self.members[member_id] = replace(m, status="intro-inv")
        inv = XGrpMemInv(member_id, IntroInvitation(conn_req)).to_message()
        return [Send(self.host_id, (inv,))]

    def member_connected(self, member_id: bytes) -> list[Output]:
        """The direct connection to ``member_id`` is up: tell the host, which stops
        forwarding between the two of us."""
        m = self.members.get(member_id)
        if m is None or m.status != "intro-inv":
            return []
        self.members[member_id] = replace(m, status="connected")
        return [Send(self.host_id, (XGrpMemCon(member_id).to_message(),))]

    def direct_members(self) -> list[bytes]:
        """Members other than the host this member is directly connected to."""
        return [
            m.member_id
            for m in self.members.values()
            if m.status == "connected" and m.member_id != self.host_id
        ]

    def _forwarded(self, sender: bytes, msg: ChatMessage) -> list[Output]:
        if self._rank(sender) < Role.ADMIN:
            return [Refused(sender, msg.event, "only an admin forwards")]
        event = _read_event_as(sender, msg, XGrpMsgForward)
        if isinstance(event, Refused):
            return [event]
        author = event.member_id
        if author is None or event.msg.event not in FORWARDABLE_EVENTS:
            return [Refused(sender, msg.event, "not a forwardable member event")]
        if author == self.me.member_id:
            return []
        if self.member(author) is None:
            name = event.member_name or name_from_member_id(author)
            self.members[author] = MemberRecord(author, Role.MEMBER.wire, Profile(name), "unknown")
        return self.apply(author, event.msg, event.msg_ts)

    def post(self, text: str, msg_id: bytes, ts: str) -> list[Output]:
        """Write ``text`` to the group (``msg_id``: 12 random bytes from the caller)."""
        msg = XGrpMsgNew({"type": "text", "text": text}, msg_id).to_message()
        if self.deleted:
            return []
        sends = [Send(to, (msg,)) for to in [self.host_id, *self.direct_members()]]
        return [*sends, *self.apply(self.me.member_id, msg, ts)]

    def leave(self) -> list[Output]:
        self.deleted = True
        leave = XGrpLeave().to_message()
        everyone = [self.host_id, *self.direct_members()]
        return [*(Send(to, (leave,)) for to in everyone), *(Disconnect(to) for to in everyone)]

    def to_json(self) -> dict[str, Any]:
        out = self._core_json()
        out["host"] = b64url_encode(self.host_id)
        out["take_intros"] = self.take_intros
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> GroupMember:
        host_id = b64url_decode(obj["host"])
        members = [MemberRecord.from_json(m) for m in obj["members"]]
        host = next(m for m in members if m.member_id == host_id)
        member = cls(
            GroupProfile.from_json(obj["profile"]),
            MemberRecord.from_json(obj["me"]),
            host,
            take_intros=obj.get("take_intros", False),
        )
        member._load_core(obj)
        return member
