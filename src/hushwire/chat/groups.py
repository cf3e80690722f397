"""Group chat events: the ``x.grp.*`` events of classic SimpleX groups and the group
forms of ``x.msg.new/update/del/react``.

Sans-I/O. Mirrors simplex-chat ``Protocol.hs`` (the group constructors of ``ChatMsgEvent``,
``appJsonToCM``, ``chatToAppMessage``, ``isForwardedGroupMsg``); docs/protocol/chat.md. The
records they carry (member ids, roles, profiles, invitations) are in
:mod:`hushwire.chat.group_types`.

Every event has a typed record with ``to_message()`` (the :class:`ChatMessage` envelope it is
sent in) and :func:`interpret_group` reads an envelope back into the record; both follow the
record's table of params (:class:`~hushwire.chat.group_types.JsonField`). Events not typed
here fall through to :func:`hushwire.chat.messages.interpret`. Decoding raises only
:class:`~hushwire.errors.DecodeError`; unknown JSON fields are ignored, as the app's
``FromJSON`` instances ignore them. A group message has no sender field: the sender is
whoever owns the connection it came on, except in ``x.grp.msg.forward``, which names the
author.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, ClassVar, Final, cast

from hushwire.chat.group_types import (
    GroupInvitation,
    GroupLinkInvitation,
    GroupProfile,
    IntroInvitation,
    JsonField,
    JsonRecord,
    MemberInfo,
    _b64,
    _obj,
    _opt_bool,
    _opt_int,
    _opt_obj,
    _opt_str,
    _read_role,
    _str,
    member_id_field,
    nested_field,
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


class _Event(JsonRecord):
    """Base of a group event sent as ``EVENT`` with its ``FIELDS`` as the params."""

    __slots__ = ()

    EVENT: ClassVar[str]

    def to_message(self, msg_id: bytes | None = None) -> ChatMessage:
        return ChatMessage(self.EVENT, self.to_json(), msg_id)


_MEMBER_ID: Final = member_id_field("memberId", "member_id")
_MSG_ID: Final = JsonField("msgId", "msg_id", lambda p, k: _b64(p.get(k), k), b64url_encode)
_CONTENT: Final = JsonField("content", "content", lambda p, k: _content(p.get(k)))
_MEMBER_INFO: Final = nested_field("memberInfo", "info", MemberInfo.from_json)
_MEMBER_INTRO: Final = nested_field("memberIntro", "intro", IntroInvitation.from_json)
_PROFILE: Final = nested_field("profile", "profile", Profile.from_json)


@dataclass(frozen=True, slots=True)
class XGrpInv(_Event):
    """``x.grp.inv``: invitation of a contact by an admin."""

    invitation: GroupInvitation

    EVENT: ClassVar = "x.grp.inv"
    FIELDS: ClassVar = (nested_field("groupInvitation", "invitation", GroupInvitation.from_json),)


@dataclass(frozen=True, slots=True)
class XGrpAcpt(_Event):
    """``x.grp.acpt``: the invitee's own member id, connInfo of its confirmation."""

    member_id: bytes

    EVENT: ClassVar = "x.grp.acpt"
    FIELDS: ClassVar = (_MEMBER_ID,)


@dataclass(frozen=True, slots=True)
class XGrpLinkInv(_Event):
    """``x.grp.link.inv``: connInfo of the host's confirmation to a group-link joiner."""

    invitation: GroupLinkInvitation

    EVENT: ClassVar = "x.grp.link.inv"
    FIELDS: ClassVar = (
        nested_field("groupLinkInvitation", "invitation", GroupLinkInvitation.from_json),
    )


@dataclass(frozen=True, slots=True)
class XGrpLinkMem(_Event):
    """``x.grp.link.mem``: the host's own (group-redacted) profile, first message after
    the connection is up."""

    profile: Profile

    EVENT: ClassVar = "x.grp.link.mem"
    FIELDS: ClassVar = (_PROFILE,)


@dataclass(frozen=True, slots=True)
class XGrpMemNew(_Event):
    """``x.grp.mem.new``: the host announces a new member to everybody."""

    info: MemberInfo
    scope: dict[str, Any] | None = None

    EVENT: ClassVar = "x.grp.mem.new"
    FIELDS: ClassVar = (_MEMBER_INFO, JsonField("scope", "scope", _opt_obj))


@dataclass(frozen=True, slots=True)
class XGrpMemIntro(_Event):
    """``x.grp.mem.intro``: the host introduces an existing member to the joiner."""

    info: MemberInfo
    restrictions: dict[str, Any] | None = None

    EVENT: ClassVar = "x.grp.mem.intro"
    FIELDS: ClassVar = (_MEMBER_INFO, JsonField("memberRestrictions", "restrictions", _opt_obj))


@dataclass(frozen=True, slots=True)
class XGrpMemInv(_Event):
    """``x.grp.mem.inv``: the joiner's invitation link for pre-member ``member_id``."""

    member_id: bytes
    intro: IntroInvitation

    EVENT: ClassVar = "x.grp.mem.inv"
    FIELDS: ClassVar = (_MEMBER_ID, _MEMBER_INTRO)


@dataclass(frozen=True, slots=True)
class XGrpMemFwd(_Event):
    """``x.grp.mem.fwd``: the host hands the joiner's invitation to a pre-member."""

    info: MemberInfo
    intro: IntroInvitation

    EVENT: ClassVar = "x.grp.mem.fwd"
    FIELDS: ClassVar = (_MEMBER_INFO, _MEMBER_INTRO)


@dataclass(frozen=True, slots=True)
class XGrpMemInfo(_Event):
    """``x.grp.mem.info``: connInfo of both confirmations on a member-to-member
    connection."""

    member_id: bytes
    profile: Profile

    EVENT: ClassVar = "x.grp.mem.info"
    FIELDS: ClassVar = (_MEMBER_ID, _PROFILE)


@dataclass(frozen=True, slots=True)
class XGrpMemCon(_Event):
    """``x.grp.mem.con``: the sender is now directly connected to ``member_id``."""

    member_id: bytes

    EVENT: ClassVar = "x.grp.mem.con"
    FIELDS: ClassVar = (_MEMBER_ID,)


@dataclass(frozen=True, slots=True)
class XGrpMemRole(_Event):
    """``x.grp.mem.role``: ``member_id`` now has ``role``."""

    member_id: bytes
    role: str

    EVENT: ClassVar = "x.grp.mem.role"
    FIELDS: ClassVar = (_MEMBER_ID, JsonField("role", "role", _read_role))


@dataclass(frozen=True, slots=True)
class XGrpMemDel(_Event):
    """``x.grp.mem.del``: ``member_id`` is removed; ``messages`` also deletes all of its
    messages (written only when true)."""

    member_id: bytes
    messages: bool = False

    EVENT: ClassVar = "x.grp.mem.del"
    FIELDS: ClassVar = (
        _MEMBER_ID,
        JsonField("messages", "messages", lambda p, k: p.get(k) is True, omit=operator.not_),
    )


@dataclass(frozen=True, slots=True)
class XGrpLeave(_Event):
    """``x.grp.leave``: the sender leaves."""

    EVENT: ClassVar = "x.grp.leave"


@dataclass(frozen=True, slots=True)
class XGrpDel(_Event):
    """``x.grp.del``: the owner deleted the group."""

    EVENT: ClassVar = "x.grp.del"


@dataclass(frozen=True, slots=True)
class XGrpInfo(_Event):
    """``x.grp.info``: the owner changed the group profile."""

    profile: GroupProfile

    EVENT: ClassVar = "x.grp.info"
    FIELDS: ClassVar = (nested_field("groupProfile", "profile", GroupProfile.from_json),)


@dataclass(frozen=True, slots=True)
class XGrpMsgNew(JsonRecord):
    """``x.msg.new`` in a group: ``msg_id`` is the shared message id (the envelope's
    ``msgId``) that forwards, edits, deletions and reactions refer to; ``live`` marks a
    message still being typed (followed by ``x.msg.update`` with ``live``)."""

    content: dict[str, Any]
    msg_id: bytes | None = None
    live: bool | None = None
    ttl: int | None = None
    quote: dict[str, Any] | None = None
    mentions: dict[str, Any] | None = None

    FIELDS: ClassVar = (
        _CONTENT,
        JsonField("quote", "quote", _opt_obj),
        JsonField("ttl", "ttl", _opt_int),
        JsonField("live", "live", _opt_bool),
        JsonField("mentions", "mentions", _opt_obj),
    )

    @property
    def text(self) -> str | None:
        text = self.content.get("text")
        return text if isinstance(text, str) else None

    def to_message(self) -> ChatMessage:
        return ChatMessage("x.msg.new", self.to_json(), self.msg_id)


@dataclass(frozen=True, slots=True)
class XMsgUpdate(_Event):
    """``x.msg.update``: new content for message ``msg_id``; ``live`` while typing."""

    msg_id: bytes
    content: dict[str, Any]
    live: bool | None = None
    ttl: int | None = None

    EVENT: ClassVar = "x.msg.update"
    FIELDS: ClassVar = (
        _MSG_ID,
        _CONTENT,
        JsonField("ttl", "ttl", _opt_int),
        JsonField("live", "live", _opt_bool),
    )


@dataclass(frozen=True, slots=True)
class XMsgDel(_Event):
    """``x.msg.del``: delete message ``msg_id``; with another member's ``member_id`` it is
    moderation (moderator or above, not below the author)."""

    msg_id: bytes
    member_id: bytes | None = None

    EVENT: ClassVar = "x.msg.del"
    FIELDS: ClassVar = (_MSG_ID, member_id_field("memberId", "member_id", optional=True))


_EMOJI: Final = frozenset(
    "\U0001f44d\U0001f44e\U0001f600\U0001f602\U0001f622\u2764\U0001f680\u2705"
)


def _read_reaction(p: dict[str, Any], key: str) -> dict[str, Any]:
    reaction = _obj(p.get(key), key)
    if not isinstance(reaction.get("type"), str):
        raise DecodeError("a reaction needs a type")
    if reaction["type"] == "emoji" and reaction.get("emoji") not in _EMOJI:
        raise DecodeError("unknown reaction emoji")
    return reaction


def _read_add(p: dict[str, Any], key: str) -> bool:
    add = p.get(key)
    if not isinstance(add, bool):
        raise DecodeError("x.msg.react needs add as a boolean")
    return add


@dataclass(frozen=True, slots=True)
class XMsgReact(_Event):
    """``x.msg.react``: add or remove a reaction to message ``msg_id`` of author
    ``member_id`` (required in groups). ``reaction`` is ``{"type":"emoji","emoji":…}``;
    other types are carried as they are."""

    msg_id: bytes
    member_id: bytes | None
    reaction: dict[str, Any]
    add: bool

    EVENT: ClassVar = "x.msg.react"
    FIELDS: ClassVar = (
        _MSG_ID,
        member_id_field("memberId", "member_id", optional=True),
        JsonField("reaction", "reaction", _read_reaction),
        JsonField("add", "add", _read_add),
    )

    @classmethod
    def emoji(cls, msg_id: bytes, member_id: bytes, emoji: str, add: bool = True) -> XMsgReact:
        if emoji not in _EMOJI:
            raise ValueError("not one of the reaction emoji the app accepts")
        return cls(msg_id, member_id, {"type": "emoji", "emoji": emoji}, add)


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


def _read_forwarded(p: dict[str, Any], key: str) -> ChatMessage:
    inner = _envelope(p.get(key))
    if inner.event == "x.grp.msg.forward":
        raise DecodeError("a forwarded message must not be a forward")
    return inner


def _read_member_name(p: dict[str, Any], key: str) -> str | None:
    name = _opt_str(p, key)
    if name is not None and len(name) > GROUP_MAX_MEMBER_NAME_LENGTH:
        raise DecodeError("memberName is too long")
    return name


def _read_msg_ts(p: dict[str, Any], key: str) -> str:
    ts = _str(p, key)
    parse_msg_ts(ts)
    return ts


@dataclass(frozen=True, slots=True)
class XGrpMsgForward(_Event):
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

    EVENT: ClassVar = "x.grp.msg.forward"
    FIELDS: ClassVar = (
        member_id_field("memberId", "member_id", optional=True),
        JsonField("memberName", "member_name", _read_member_name),
        JsonField("msg", "msg", _read_forwarded, ChatMessage.to_json),
        JsonField("msgTs", "msg_ts", _read_msg_ts),
    )

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


_TYPED_EVENTS: Final[dict[str, type[_Event]]] = {
    cls.EVENT: cls
    for cls in (
        XGrpInv,
        XGrpAcpt,
        XGrpLinkInv,
        XGrpLinkMem,
        XGrpMemNew,
        XGrpMemIntro,
        XGrpMemInv,
        XGrpMemFwd,
        XGrpMemInfo,
        XGrpMemCon,
        XGrpMemRole,
        XGrpMemDel,
        XGrpLeave,
        XGrpDel,
        XGrpInfo,
        XGrpMsgForward,
        XMsgUpdate,
        XMsgDel,
        XMsgReact,
    )
}
"""The group events read from their params alone (``x.msg.new`` also takes the envelope's
``msgId``)."""


def interpret_group(msg: ChatMessage) -> GroupEvent | ChatEvent:
    """The typed view of a group message; events not typed here go to
    :func:`hushwire.chat.messages.interpret`. Malformed params raise ``DecodeError``."""
    if msg.event == "x.msg.new":
        return XGrpMsgNew.from_fields(msg.params, msg_id=msg.msg_id)
    event = _TYPED_EVENTS.get(msg.event)
    if event is None:
        return interpret(msg)
    return cast(GroupEvent, event.from_fields(msg.params))
