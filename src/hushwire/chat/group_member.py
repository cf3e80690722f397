"""A member's side of a group joined through a group link.

Sans-I/O. Mirrors simplex-chat ``Library/Subscriber.hs`` (the CONF handler for a group-link
host, ``xGrpLinkMem``, ``xGrpMsgForward``, ``createUnknownMember``); docs/protocol/chat.md.
The theory of operation is in :mod:`hushwire.chat.group_state`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hushwire.chat.group_state import (
    Disconnect,
    MemberRecord,
    Output,
    Refused,
    Send,
    _Group,
)
from hushwire.chat.group_types import (
    GroupLinkInvitation,
    GroupProfile,
    Role,
    name_from_member_id,
    redacted_profile,
)
from hushwire.chat.groups import (
    FORWARDABLE_EVENTS,
    XGrpLeave,
    XGrpLinkMem,
    XGrpMsgForward,
    XGrpMsgNew,
    interpret_group,
)
from hushwire.chat.messages import CHAT_VERSIONS, ChatMessage, Profile
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError

__all__ = ["GroupMember"]


# ----------------------------------------------------------------------------- member


class GroupMember(_Group):
    """A member's side of a group joined through a group link: created from the host's
    ``x.grp.link.inv``; connected to the host only (introductions to other members are
    not taken up: every message reaches it through the host's forwards)."""

    def __init__(self, profile: GroupProfile, me: MemberRecord, host: MemberRecord) -> None:
        super().__init__(profile, me)
        self.host_id = host.member_id
        self.members[host.member_id] = host

    @classmethod
    def from_invitation(cls, inv: GroupLinkInvitation, my_profile: Profile) -> GroupMember:
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
        return cls(inv.group_profile, me, host)

    def receive(self, sender: bytes, messages: list[ChatMessage], ts: str) -> list[Output]:
        """Messages that arrived on the connection to member ``sender`` at ``ts``."""
        out: list[Output] = []
        for msg in messages:
            out.extend(self._receive_one(sender, msg, ts))
        return out

    def _receive_one(self, sender: bytes, msg: ChatMessage, ts: str) -> list[Output]:
        if self.deleted:
            return []
        if msg.event == "x.grp.link.mem":
            if sender != self.host_id:
                return [Refused(sender, msg.event, "only the host sends its profile")]
            try:
                event = interpret_group(msg)
            except DecodeError as e:
                return [Refused(sender, msg.event, f"malformed: {e}")]
            assert isinstance(event, XGrpLinkMem)
            host = self.members[self.host_id]
            self.members[self.host_id] = replace(host, profile=redacted_profile(event.profile))
            return []
        if msg.event == "x.grp.msg.forward":
            return self._forwarded(sender, msg)
        if msg.event in ("x.grp.mem.intro", "x.grp.mem.fwd", "x.grp.link.inv"):
            return []  # introductions are not taken up (see the class docstring)
        if msg.event not in FORWARDABLE_EVENTS:
            return [Refused(sender, msg.event, "not a group event")]
        return self.apply(sender, msg, ts)

    def _forwarded(self, sender: bytes, msg: ChatMessage) -> list[Output]:
        if self._rank(sender) < Role.ADMIN:
            return [Refused(sender, msg.event, "only an admin forwards")]
        try:
            event = interpret_group(msg)
        except DecodeError as e:
            return [Refused(sender, msg.event, f"malformed: {e}")]
        assert isinstance(event, XGrpMsgForward)
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
        return [Send(self.host_id, (msg,)), *self.apply(self.me.member_id, msg, ts)]

    def leave(self) -> list[Output]:
        self.deleted = True
        return [Send(self.host_id, (XGrpLeave().to_message(),)), Disconnect(self.host_id)]

    def to_json(self) -> dict[str, Any]:
        out = self._core_json()
        out["host"] = b64url_encode(self.host_id)
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> GroupMember:
        host_id = b64url_decode(obj["host"])
        members = [MemberRecord.from_json(m) for m in obj["members"]]
        host = next(m for m in members if m.member_id == host_id)
        member = cls(
            GroupProfile.from_json(obj["profile"]), MemberRecord.from_json(obj["me"]), host
        )
        member._load_core(obj)
        return member
