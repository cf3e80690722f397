"""Group chat events: the ``x.grp.*`` events of classic SimpleX groups and the group
forms of ``x.msg.new/update/del/react``.

Sans-I/O. Mirrors simplex-chat ``Protocol.hs`` (the group constructors of ``ChatMsgEvent``,
``appJsonToCM``, ``chatToAppMessage``, ``isForwardedGroupMsg``); docs/protocol/chat.md. The
records they carry (member ids, roles, profiles, invitations) are in
:mod:`hushwire.chat.group_types`.

Every event has a typed record with ``to_message()`` (the :class:`ChatMessage` envelope it is
sent in) and :func:`interpret_group` reads an envelope back into the record. Events not typed
here fall through to :func:`hushwire.chat.messages.interpret`. Decoding raises only
:class:`~hushwire.errors.DecodeError`; unknown JSON fields are ignored, as the app's
``FromJSON`` instances ignore them. A group message has no sender field: the sender is
whoever owns the connection it came on, except in ``x.grp.msg.forward``, which names the
author.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from hushwire.chat.group_types import (
    GroupInvitation,
    GroupLinkInvitation,
    GroupProfile,
    IntroInvitation,
    MemberInfo,
    _b64,
    _member_id,
    _obj,
    _opt_bool,
    _opt_int,
    _opt_member_id,
    _opt_obj,
    _opt_str,
    _put,
    _put_b64,
    _role,
    _str,
    parse_msg_ts,
)
from hushwire.chat.messages import (
    ChatEvent,
    ChatMessage,
    Profile,
    _content,
    _envelope,
    interpret,
)
from hushwire.encoding.strings import b64url_encode
from hushwire.errors import DecodeError
from hushwire.limits import (
    CHAT_MAX_ENCODED_MSG_LENGTH,
    GROUP_MAX_FORWARD_LENGTH,
    GROUP_MAX_MEMBER_NAME_LENGTH,
)

__all__ = [
    "FORWARDABLE_EVENTS",
    "GroupEvent",
    "XGrpAcpt",
    "XGrpDel",
    "XGrpInfo",
    "XGrpInv",
    "XGrpLeave",
    "XGrpLinkInv",
    "XGrpLinkMem",
    "XGrpMemCon",
    "XGrpMemDel",
    "XGrpMemFwd",
    "XGrpMemInfo",
    "XGrpMemIntro",
    "XGrpMemInv",
    "XGrpMemNew",
    "XGrpMemRole",
    "XGrpMsgForward",
    "XGrpMsgNew",
    "XMsgDel",
    "XMsgReact",
    "XMsgUpdate",
    "interpret_group",
]


# ----------------------------------------------------------------------------- events


def _mid(member_id: bytes) -> str:
    return b64url_encode(member_id)


@dataclass(frozen=True, slots=True)
class XGrpInv:
    """``x.grp.inv``: invitation of a contact by an admin."""

    invitation: GroupInvitation

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        return ChatMessage("x.grp.inv", {"groupInvitation": self.invitation.to_json()}, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpAcpt:
    """``x.grp.acpt``: the invitee's own member id, connInfo of its confirmation."""

    member_id: bytes

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        return ChatMessage("x.grp.acpt", {"memberId": _mid(self.member_id)}, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpLinkInv:
    """``x.grp.link.inv``: connInfo of the host's confirmation to a group-link joiner."""

    invitation: GroupLinkInvitation

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params = {"groupLinkInvitation": self.invitation.to_json()}
        return ChatMessage("x.grp.link.inv", params, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpLinkMem:
    """``x.grp.link.mem``: the host's own (group-redacted) profile, first message after
    the connection is up."""

    profile: Profile

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        return ChatMessage("x.grp.link.mem", {"profile": self.profile.to_json()}, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpMemNew:
    """``x.grp.mem.new``: the host announces a new member to everybody."""

    info: MemberInfo
    scope: dict[str, Any] | None = None

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params: dict[str, Any] = {"memberInfo": self.info.to_json()}
        _put(params, "scope", self.scope)
        return ChatMessage("x.grp.mem.new", params, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpMemIntro:
    """``x.grp.mem.intro``: the host introduces an existing member to the joiner."""

    info: MemberInfo
    restrictions: dict[str, Any] | None = None

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params: dict[str, Any] = {"memberInfo": self.info.to_json()}
        _put(params, "memberRestrictions", self.restrictions)
        return ChatMessage("x.grp.mem.intro", params, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpMemInv:
    """``x.grp.mem.inv``: the joiner's invitation link for pre-member ``member_id``."""

    member_id: bytes
    intro: IntroInvitation

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params = {"memberId": _mid(self.member_id), "memberIntro": self.intro.to_json()}
        return ChatMessage("x.grp.mem.inv", params, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpMemFwd:
    """``x.grp.mem.fwd``: the host hands the joiner's invitation to a pre-member."""

    info: MemberInfo
    intro: IntroInvitation

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params = {"memberInfo": self.info.to_json(), "memberIntro": self.intro.to_json()}
        return ChatMessage("x.grp.mem.fwd", params, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpMemInfo:
    """``x.grp.mem.info``: connInfo of both confirmations on a member-to-member
    connection."""

    member_id: bytes
    profile: Profile

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params = {"memberId": _mid(self.member_id), "profile": self.profile.to_json()}
        return ChatMessage("x.grp.mem.info", params, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpMemCon:
    """``x.grp.mem.con``: the sender is now directly connected to ``member_id``."""

    member_id: bytes

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        return ChatMessage("x.grp.mem.con", {"memberId": _mid(self.member_id)}, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpMemRole:
    """``x.grp.mem.role``: ``member_id`` now has ``role``."""

    member_id: bytes
    role: str

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params = {"memberId": _mid(self.member_id), "role": self.role}
        return ChatMessage("x.grp.mem.role", params, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpMemDel:
    """``x.grp.mem.del``: ``member_id`` is removed; ``messages`` also deletes all of its
    messages (written only when true)."""

    member_id: bytes
    messages: bool = False

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params: dict[str, Any] = {"memberId": _mid(self.member_id)}
        if self.messages:
            params["messages"] = True
        return ChatMessage("x.grp.mem.del", params, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpLeave:
    """``x.grp.leave``: the sender leaves."""

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        return ChatMessage("x.grp.leave", {}, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpDel:
    """``x.grp.del``: the owner deleted the group."""

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        return ChatMessage("x.grp.del", {}, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpInfo:
    """``x.grp.info``: the owner changed the group profile."""

    profile: GroupProfile

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        return ChatMessage("x.grp.info", {"groupProfile": self.profile.to_json()}, msg_id)


@dataclass(frozen=True, slots=True)
class XGrpMsgNew:
    """``x.msg.new`` in a group: ``msg_id`` is the shared message id (the envelope's
    ``msgId``) that forwards, edits, deletions and reactions refer to; ``live`` marks a
    message still being typed (followed by ``x.msg.update`` with ``live``)."""

    content: dict[str, Any]
    msg_id: bytes | None = None
    live: bool | None = None
    ttl: int | None = None
    quote: dict[str, Any] | None = None
    mentions: dict[str, Any] | None = None

    @property
    def text(self) -> str | None:
        text = self.content.get("text")
        return text if isinstance(text, str) else None

    def to_message(self) -> ChatMessage:
        params: dict[str, Any] = {"content": self.content}
        _put(params, "quote", self.quote)
        _put(params, "ttl", self.ttl)
        _put(params, "live", self.live)
        _put(params, "mentions", self.mentions)
        return ChatMessage("x.msg.new", params, self.msg_id)


@dataclass(frozen=True, slots=True)
class XMsgUpdate:
    """``x.msg.update``: new content for message ``msg_id``; ``live`` while typing."""

    msg_id: bytes
    content: dict[str, Any]
    live: bool | None = None
    ttl: int | None = None

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params: dict[str, Any] = {"msgId": _mid(self.msg_id), "content": self.content}
        _put(params, "ttl", self.ttl)
        _put(params, "live", self.live)
        return ChatMessage("x.msg.update", params, msg_id)


@dataclass(frozen=True, slots=True)
class XMsgDel:
    """``x.msg.del``: delete message ``msg_id``; with another member's ``member_id`` it is
    moderation (moderator or above, not below the author)."""

    msg_id: bytes
    member_id: bytes | None = None

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params: dict[str, Any] = {"msgId": _mid(self.msg_id)}
        _put_b64(params, "memberId", self.member_id)
        return ChatMessage("x.msg.del", params, msg_id)


_EMOJI: Final = frozenset(
    "\U0001f44d\U0001f44e\U0001f600\U0001f602\U0001f622\u2764\U0001f680\u2705"
)


@dataclass(frozen=True, slots=True)
class XMsgReact:
    """``x.msg.react``: add or remove a reaction to message ``msg_id`` of author
    ``member_id`` (required in groups). ``reaction`` is ``{"type":"emoji","emoji":…}``;
    other types are carried as they are."""

    msg_id: bytes
    member_id: bytes | None
    reaction: dict[str, Any]
    add: bool

    @classmethod
    def emoji(cls, msg_id: bytes, member_id: bytes, emoji: str, add: bool = True) -> XMsgReact:
        if emoji not in _EMOJI:
            raise ValueError("not one of the reaction emoji the app accepts")
        return cls(msg_id, member_id, {"type": "emoji", "emoji": emoji}, add)

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params: dict[str, Any] = {"msgId": _mid(self.msg_id)}
        _put_b64(params, "memberId", self.member_id)
        params["reaction"] = self.reaction
        params["add"] = self.add
        return ChatMessage("x.msg.react", params, msg_id)


FORWARDABLE_EVENTS: Final = frozenset(
    {
        "x.msg.new",
        "x.msg.file.descr",
        "x.msg.update",
        "x.msg.del",
        "x.msg.react",
        "x.file.cancel",
        "x.info",
        "x.grp.mem.new",
        "x.grp.mem.role",
        "x.grp.mem.restrict",
        "x.grp.mem.del",
        "x.grp.leave",
        "x.grp.del",
        "x.grp.info",
        "x.grp.prefs",
    }
)
"""Events a host forwards for their author (``isForwardedGroupMsg``)."""


@dataclass(frozen=True, slots=True)
class XGrpMsgForward:
    """``x.grp.msg.forward``: an admin relays ``msg`` of author ``member_id`` (display name
    ``member_name``) received at ``msg_ts`` (aeson UTC text, see :func:`parse_msg_ts`).
    ``msg`` is a nested message object; forwards are never nested."""

    member_id: bytes | None
    member_name: str | None
    msg: ChatMessage
    msg_ts: str

    def __post_init__(self) -> None:
        if self.msg.event == "x.grp.msg.forward":
            raise ValueError("forwards are not nested")
        parse_msg_ts(self.msg_ts)

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        params: dict[str, Any] = {}
        _put_b64(params, "memberId", self.member_id)
        _put(params, "memberName", self.member_name)
        params["msg"] = self.msg.to_json()
        params["msgTs"] = self.msg_ts
        return ChatMessage("x.grp.msg.forward", params, msg_id)

    def encode(self, msg_id: bytes | None = None) -> bytes:
        """The forward, which may exceed a plain message's cap by the wrapper's size."""
        self.msg.encode(max_size=CHAT_MAX_ENCODED_MSG_LENGTH)  # the inner one must fit alone
        return self.to_message(msg_id).encode(max_size=GROUP_MAX_FORWARD_LENGTH)


GroupEvent = (
    XGrpInv
    | XGrpAcpt
    | XGrpLinkInv
    | XGrpLinkMem
    | XGrpMemNew
    | XGrpMemIntro
    | XGrpMemInv
    | XGrpMemFwd
    | XGrpMemInfo
    | XGrpMemCon
    | XGrpMemRole
    | XGrpMemDel
    | XGrpLeave
    | XGrpDel
    | XGrpInfo
    | XGrpMsgNew
    | XMsgUpdate
    | XMsgDel
    | XMsgReact
    | XGrpMsgForward
)


def _forward(p: dict[str, Any]) -> XGrpMsgForward:
    inner = _envelope(p.get("msg"))
    if inner.event == "x.grp.msg.forward":
        raise DecodeError("a forwarded message must not be a forward")
    name = _opt_str(p, "memberName")
    if name is not None and len(name) > GROUP_MAX_MEMBER_NAME_LENGTH:
        raise DecodeError("memberName is too long")
    ts = _str(p, "msgTs")
    parse_msg_ts(ts)
    return XGrpMsgForward(_opt_member_id(p, "memberId"), name, inner, ts)


def _msg_id(p: dict[str, Any]) -> bytes:
    return _b64(p.get("msgId"), "msgId")


def interpret_group(msg: ChatMessage) -> GroupEvent | ChatEvent:
    """The typed view of a group message; events not typed here go to
    :func:`hushwire.chat.messages.interpret`. Malformed params raise ``DecodeError``."""
    p = msg.params
    e = msg.event
    if e == "x.grp.inv":
        return XGrpInv(GroupInvitation.from_json(p.get("groupInvitation")))
    if e == "x.grp.acpt":
        return XGrpAcpt(_member_id(p.get("memberId")))
    if e == "x.grp.link.inv":
        return XGrpLinkInv(GroupLinkInvitation.from_json(p.get("groupLinkInvitation")))
    if e == "x.grp.link.mem":
        return XGrpLinkMem(Profile.from_json(p.get("profile")))
    if e == "x.grp.mem.new":
        return XGrpMemNew(MemberInfo.from_json(p.get("memberInfo")), _opt_obj(p, "scope"))
    if e == "x.grp.mem.intro":
        info = MemberInfo.from_json(p.get("memberInfo"))
        return XGrpMemIntro(info, _opt_obj(p, "memberRestrictions"))
    if e == "x.grp.mem.inv":
        return XGrpMemInv(
            _member_id(p.get("memberId")), IntroInvitation.from_json(p.get("memberIntro"))
        )
    if e == "x.grp.mem.fwd":
        info = MemberInfo.from_json(p.get("memberInfo"))
        return XGrpMemFwd(info, IntroInvitation.from_json(p.get("memberIntro")))
    if e == "x.grp.mem.info":
        return XGrpMemInfo(_member_id(p.get("memberId")), Profile.from_json(p.get("profile")))
    if e == "x.grp.mem.con":
        return XGrpMemCon(_member_id(p.get("memberId")))
    if e == "x.grp.mem.role":
        return XGrpMemRole(_member_id(p.get("memberId")), _role(p.get("role"), "role"))
    if e == "x.grp.mem.del":
        return XGrpMemDel(_member_id(p.get("memberId")), p.get("messages") is True)
    if e == "x.grp.leave":
        return XGrpLeave()
    if e == "x.grp.del":
        return XGrpDel()
    if e == "x.grp.info":
        return XGrpInfo(GroupProfile.from_json(p.get("groupProfile")))
    if e == "x.grp.msg.forward":
        return _forward(p)
    if e == "x.msg.new":
        return XGrpMsgNew(
            _content(p.get("content")),
            msg.msg_id,
            _opt_bool(p, "live"),
            _opt_int(p, "ttl"),
            _opt_obj(p, "quote"),
            _opt_obj(p, "mentions"),
        )
    if e == "x.msg.update":
        return XMsgUpdate(
            _msg_id(p), _content(p.get("content")), _opt_bool(p, "live"), _opt_int(p, "ttl")
        )
    if e == "x.msg.del":
        return XMsgDel(_msg_id(p), _opt_member_id(p, "memberId"))
    if e == "x.msg.react":
        add = p.get("add")
        if not isinstance(add, bool):
            raise DecodeError("x.msg.react needs add as a boolean")
        reaction = _obj(p.get("reaction"), "reaction")
        if not isinstance(reaction.get("type"), str):
            raise DecodeError("a reaction needs a type")
        if reaction["type"] == "emoji" and reaction.get("emoji") not in _EMOJI:
            raise DecodeError("unknown reaction emoji")
        return XMsgReact(_msg_id(p), _opt_member_id(p, "memberId"), reaction, add)
    return interpret(msg)
