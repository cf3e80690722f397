"""The logic of a group as pure state machines: the host's side and a member's side.

Sans-I/O. Mirrors the group handling of simplex-chat ``Library/Subscriber.hs``
(``xGrpMemNew``, ``xGrpMemDel``, ``xGrpLeave``, ``xGrpMsgForward``, ``groupMessageDelete``,
``forwardMsgs``, the CON handler) and ``Library/Internal.hs`` (``introduceToGroup``,
``sendHistory``); docs/protocol/chat.md. The wire forms are in :mod:`hushwire.chat.groups`.

Theory of operation
-------------------
Each member of a classic SimpleX group holds one agent connection per other member it is
connected to; nothing names the group on the wire. This module never touches a connection:
its inputs are "member X's connection delivered these chat messages at time T" and the
user's commands, its outputs are :class:`Send` (messages to put on the connection to one
member, as one JSON batch), :class:`Disconnect` (delete that member's connection), what to
show (:class:`Posted`, :class:`Edited`, :class:`Deleted`, :class:`Reacted`,
:class:`MemberJoined`, :class:`MemberLeft`, :class:`GroupDeleted`, :class:`HistoryCleared`)
and :class:`Refused` (an event the sender had no role for, to be logged without content).

* ``GroupHost`` (:mod:`hushwire.chat.group_host`) owns the group (role ``owner``) and
  admits members through its group link: ``GroupHost.admit`` gives the ``x.grp.link.inv``
  connInfo of the acceptance; at ``GroupHost.connected`` the joiner gets
  ``x.grp.link.mem``, everyone else ``x.grp.mem.new``, and the joiner the last N messages
  as ``x.grp.msg.forward`` (N default 10, at most 100). Every forwardable event a member
  sends is applied, then forwarded to every other member not known to be directly
  connected to its author (a star, which is how the host serves members it does not
  introduce; pairs reported with ``x.grp.mem.con`` stop being forwarded). With
  ``introduce=True`` the joiner also gets ``x.grp.mem.intro`` for each member and the host
  relays ``x.grp.mem.inv`` as ``x.grp.mem.fwd`` (the host half of introductions).
* ``GroupMember`` (:mod:`hushwire.chat.group_member`) is the joiner's side, created from
  the host's ``x.grp.link.inv``. Forwarded messages are accepted only from an admin host;
  their authors become members (named by the forward) when unknown. A message seen twice
  (directly and forwarded, or redelivered) is dropped by (author, shared message id).
  With ``take_intros`` it takes up introductions: :class:`CreateInvitation` for each
  introduced member (its link goes to the host in ``x.grp.mem.inv``), :class:`JoinMember`
  for each invitation the host forwards, and ``x.grp.mem.con`` to the host once connected;
  it then sends to its directly connected members as well as to the host.
* Both sides apply content and admin events with the app's role checks: sending needs
  ``author`` or above (observers only read); deleting someone else's message needs
  ``moderator`` and not below the author; announcing, removing and changing roles need
  ``admin`` and not below the target; changing or deleting the group needs ``owner``.
* "Clear history" is the host deleting, as owner, every kept message for everybody with
  ``x.msg.del`` carrying the author's member id (moderation), the compatible way to empty
  every member's log: classic groups have no dedicated event.

The state is plain data: ``GroupHost.to_json``/``GroupMember.to_json`` give a JSON
object to store after every step (before the agent message is acknowledged) and
``from_json`` restores it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

from hushwire.chat.group_types import (
    GroupProfile,
    JsonRecord,
    MemberInfo,
    Role,
    name_from_member_id,
    redacted_profile,
    role_rank,
    stored_field,
)
from hushwire.chat.groups import (
    GroupEvent,
    XGrpDel,
    XGrpInfo,
    XGrpLeave,
    XGrpMemDel,
    XGrpMemNew,
    XGrpMemRole,
    XGrpMsgNew,
    XMsgDel,
    XMsgReact,
    XMsgUpdate,
    interpret_group,
)
from hushwire.chat.messages import ChatEvent, ChatMessage, Profile, XInfo, _envelope
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError, HushwireError
from hushwire.limits import (
    GROUP_HISTORY_MAX,
    GROUP_MAX_HISTORY_BYTES,
    GROUP_MAX_SEEN_MSG_IDS,
)
from hushwire.smp.version import VersionRange

__all__ = [
    "CreateInvitation",
    "Deleted",
    "Disconnect",
    "Edited",
    "GroupDeleted",
    "GroupFull",
    "HistoryCleared",
    "JoinMember",
    "LogItem",
    "MemberJoined",
    "MemberLeft",
    "MemberRecord",
    "Output",
    "Posted",
    "Reacted",
    "Refused",
    "Send",
]

# ----------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``messages`` (one JSON batch when several) on the connection to member ``to``."""

    to: bytes
    messages: tuple[ChatMessage, ...]


@dataclass(frozen=True, slots=True)
class CreateInvitation:
    """Make a one-time invitation for the introduced member ``member_id`` with connInfo
    ``conn_info``; report its link with ``GroupMember.invitation_created``."""

    member_id: bytes
    conn_info: ChatMessage


@dataclass(frozen=True, slots=True)
class JoinMember:
    """Join member ``member_id``'s invitation ``conn_req`` with connInfo ``conn_info``;
    report the connection with ``GroupMember.member_connected``."""

    member_id: bytes
    conn_req: str
    conn_info: ChatMessage


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Delete the connection to member ``member_id``."""

    member_id: bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """An event refused for its sender's role or form; log it, never its content."""

    sender: bytes
    event: str
    reason: str


@dataclass(frozen=True, slots=True)
class Posted:
    """A message to show: ``author`` wrote ``text`` (``live`` while still being typed)."""

    author: bytes
    author_name: str
    text: str
    msg_id: bytes | None
    ts: str
    live: bool = False


@dataclass(frozen=True, slots=True)
class Edited:
    author: bytes
    msg_id: bytes
    text: str
    live: bool


@dataclass(frozen=True, slots=True)
class Deleted:
    """Message ``msg_id`` of ``author`` was deleted; ``by`` is the moderator if not the
    author."""

    author: bytes
    msg_id: bytes
    by: bytes | None


@dataclass(frozen=True, slots=True)
class Reacted:
    by: bytes
    msg_id: bytes
    reaction: str
    add: bool


@dataclass(frozen=True, slots=True)
class MemberJoined:
    member_id: bytes
    name: str


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """``member_id`` left (``by`` None) or was removed by ``by``."""

    member_id: bytes
    name: str
    by: bytes | None = None


@dataclass(frozen=True, slots=True)
class GroupDeleted:
    by: bytes


@dataclass(frozen=True, slots=True)
class HistoryCleared:
    """Every message was deleted for everybody."""


Output = (
    Send
    | CreateInvitation
    | JoinMember
    | Disconnect
    | Refused
    | Posted
    | Edited
    | Deleted
    | Reacted
    | MemberJoined
    | MemberLeft
    | GroupDeleted
    | HistoryCleared
)


class GroupFull(HushwireError):
    """The group has as many members as it admits."""


# ----------------------------------------------------------------------------- records


def _versions_to_json(versions: VersionRange | None) -> list[int] | None:
    return None if versions is None else [versions.min, versions.max]


def _versions_from_json(v: list[int] | None) -> VersionRange | None:
    return None if v is None else VersionRange(v[0], v[1])


@dataclass(frozen=True, slots=True)
class MemberRecord(JsonRecord):
    """What one side knows of a member. ``status``: ``accepted`` (admitted, not yet
    connected), ``announced`` (known from the host), ``connected``, ``unknown`` (seen only
    as the author of a forward), ``left``, ``removed``."""

    member_id: bytes
    role: str
    profile: Profile
    status: str
    versions: VersionRange | None = None

    FIELDS: ClassVar = (
        stored_field("id", "member_id", b64url_decode, b64url_encode),
        stored_field("role", "role"),
        stored_field("profile", "profile", Profile.from_json, Profile.to_json),
        stored_field("status", "status"),
        stored_field("v", "versions", _versions_from_json, _versions_to_json),
    )

    @property
    def name(self) -> str:
        return self.profile.display_name or name_from_member_id(self.member_id)

    @property
    def current(self) -> bool:
        return self.status not in ("left", "removed")

    def info(self) -> MemberInfo:
        return MemberInfo(self.member_id, self.role, self.profile, self.versions)


@dataclass(frozen=True, slots=True)
class LogItem(JsonRecord):
    """A message kept for display and for history: ``message`` is its ``x.msg.new``."""

    author: bytes
    author_name: str
    message: ChatMessage
    ts: str

    FIELDS: ClassVar = (
        stored_field("author", "author", b64url_decode, b64url_encode),
        stored_field("name", "author_name"),
        stored_field("msg", "message", _envelope, ChatMessage.to_json),
        stored_field("ts", "ts"),
    )

    @property
    def text(self) -> str:
        text = self.message.params["content"].get("text")
        return text if isinstance(text, str) else ""


# ----------------------------------------------------------------------------- shared core

_E = TypeVar("_E", bound="GroupEvent | ChatEvent")


def _read_event(sender: bytes, msg: ChatMessage) -> GroupEvent | ChatEvent | Refused:
    """``msg`` of ``sender`` as its typed event, or the refusal of a malformed one."""
    try:
        return interpret_group(msg)
    except DecodeError as e:
        return Refused(sender, msg.event, f"malformed: {e}")


def _read_event_as(sender: bytes, msg: ChatMessage, kind: type[_E]) -> _E | Refused:
    """:func:`_read_event` for a caller that dispatched on ``msg.event`` to ``kind``."""
    event = _read_event(sender, msg)
    if isinstance(event, Refused):
        return event
    assert isinstance(event, kind)
    return event


class _Group:
    """What host and member share: members, the message log, duplicate detection, and the
    application of content and admin events with their role checks."""

    def __init__(self, profile: GroupProfile, me: MemberRecord) -> None:
        self.profile = profile
        self.me = me
        self.members: dict[bytes, MemberRecord] = {}
        self.log: list[LogItem] = []
        self.log_limit = GROUP_HISTORY_MAX
        self.deleted = False
        self._seen: deque[tuple[bytes, bytes]] = deque(maxlen=GROUP_MAX_SEEN_MSG_IDS)
        self._seen_set: set[tuple[bytes, bytes]] = set()

    # --- lookups

    def member(self, member_id: bytes) -> MemberRecord | None:
        if member_id == self.me.member_id:
            return self.me
        return self.members.get(member_id)

    def _name(self, member_id: bytes) -> str:
        m = self.member(member_id)
        return m.name if m is not None else name_from_member_id(member_id)

    def _rank(self, member_id: bytes) -> int:
        m = self.member(member_id)
        return -1 if m is None or not m.current else role_rank(m.role)

    def _set(self, record: MemberRecord) -> None:
        if record.member_id == self.me.member_id:
            self.me = record
        else:
            self.members[record.member_id] = record

    def current_members(self) -> list[MemberRecord]:
        return [m for m in self.members.values() if m.current]

    # --- receiving

    def receive(self, sender: bytes, messages: list[ChatMessage], ts: str) -> list[Output]:
        """Messages that arrived on the connection to member ``sender`` at ``ts``."""
        out: list[Output] = []
        for msg in messages:
            out.extend(self._receive_one(sender, msg, ts))
        return out

    def _receive_one(self, sender: bytes, msg: ChatMessage, ts: str) -> list[Output]:
        """One message of ``sender``: the host's and the member's own rules."""
        raise NotImplementedError

    # --- duplicates

    def _first_time(self, author: bytes, msg_id: bytes | None) -> bool:
        """False if (author, msg_id) was seen; records it otherwise."""
        if msg_id is None:
            return True
        key = (author, msg_id)
        if key in self._seen_set:
            return False
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(key)
        self._seen_set.add(key)
        return True

    # --- applying events

    def _find(self, author: bytes, msg_id: bytes) -> int | None:
        for i in range(len(self.log) - 1, -1, -1):
            item = self.log[i]
            if item.author == author and item.message.msg_id == msg_id:
                return i
        return None

    def _keep(self, item: LogItem) -> None:
        """Keep a message: at most ``log_limit`` of them and ``GROUP_MAX_HISTORY_BYTES`` of
        encoded messages, the oldest going first."""
        self.log.append(item)
        del self.log[: max(0, len(self.log) - self.log_limit)]
        sizes = [len(x.message.encode(max_size=GROUP_MAX_HISTORY_BYTES)) for x in self.log]
        total = sum(sizes)
        drop = 0
        while total > GROUP_MAX_HISTORY_BYTES and drop < len(sizes) - 1:
            total -= sizes[drop]
            drop += 1
        del self.log[:drop]

    def apply(self, author: bytes, msg: ChatMessage, ts: str) -> list[Output]:
        """Apply one event of ``author`` (already authenticated as the sender, directly or
        by an admin's forward). Returns what to show or the refusal."""
        event = _read_event(author, msg)
        if isinstance(event, Refused):
            return [event]
        rank = self._rank(author)
        if isinstance(event, XGrpMsgNew):
            if rank < Role.AUTHOR:
                return [Refused(author, msg.event, "observers cannot send")]
            if not self._first_time(author, msg.msg_id):
                return []
            text = event.text or ""
            if msg.msg_id is not None:
                self._keep(LogItem(author, self._name(author), msg, ts))
            return [Posted(author, self._name(author), text, msg.msg_id, ts, bool(event.live))]
        if isinstance(event, XMsgUpdate):
            i = self._find(author, event.msg_id)
            if i is None:
                return [Refused(author, msg.event, "no such message of the sender")]
            new = replace(self.log[i].message, params={**self.log[i].message.params})
            new.params["content"] = event.content
            if event.live:
                new.params["live"] = True
            else:
                new.params.pop("live", None)
            self.log[i] = replace(self.log[i], message=new)
            edited = event.content.get("text")
            return [
                Edited(
                    author,
                    event.msg_id,
                    edited if isinstance(edited, str) else "",
                    bool(event.live),
                )
            ]
        if isinstance(event, XMsgDel):
            target = event.member_id if event.member_id is not None else author
            if target != author:
                if rank < Role.MODERATOR or rank < self._rank(target):
                    return [Refused(author, msg.event, "no role to delete others' messages")]
            i = self._find(target, event.msg_id)
            if i is None:
                return []
            del self.log[i]
            return [Deleted(target, event.msg_id, None if target == author else author)]
        if isinstance(event, XMsgReact):
            if event.member_id is None:
                return [Refused(author, msg.event, "a group reaction names the author")]
            emoji = event.reaction.get("emoji")
            return [Reacted(author, event.msg_id, str(emoji or event.reaction["type"]), event.add)]
        if isinstance(event, XInfo):
            m = self.member(author)
            if m is not None:
                self._set(replace(m, profile=redacted_profile(event.profile)))
            return []
        if isinstance(event, XGrpLeave):
            m = self.member(author)
            if m is None or not m.current:
                return []
            self._set(replace(m, status="left"))
            return [MemberLeft(author, m.name), Disconnect(author)]
        if isinstance(event, XGrpMemNew):
            info = event.info
            if rank < Role.ADMIN or rank < role_rank(info.role):
                return [Refused(author, msg.event, "no role to announce members")]
            if self.member(info.member_id) is not None and info.member_id != self.me.member_id:
                old = self.members[info.member_id]
                if old.status == "unknown":
                    self._set(
                        replace(old, profile=info.profile, role=info.role, status="announced")
                    )
                return []
            if info.member_id == self.me.member_id:
                return []
            self._set(
                MemberRecord(info.member_id, info.role, info.profile, "announced", info.versions)
            )
            return [MemberJoined(info.member_id, info.profile.display_name)]
        if isinstance(event, XGrpMemRole):
            tm = self.member(event.member_id)
            if tm is None:
                return [Refused(author, msg.event, "unknown member")]
            if rank < Role.ADMIN or rank < role_rank(tm.role) or rank < role_rank(event.role):
                return [Refused(author, msg.event, "no role to change this role")]
            self._set(replace(tm, role=event.role))
            return []
        if isinstance(event, XGrpMemDel):
            tm = self.member(event.member_id)
            if tm is None:
                return []
            if rank < Role.ADMIN or rank < role_rank(tm.role):
                return [Refused(author, msg.event, "no role to remove this member")]
            out: list[Output] = []
            if event.messages:
                for item in [x for x in self.log if x.author == event.member_id]:
                    self.log.remove(item)
                    if item.message.msg_id is not None:
                        out.append(Deleted(item.author, item.message.msg_id, author))
            self._set(replace(tm, status="removed"))
            out.append(MemberLeft(event.member_id, tm.name, author))
            if event.member_id == self.me.member_id:
                self.deleted = True
                out.extend(Disconnect(m.member_id) for m in self.current_members())
            else:
                out.append(Disconnect(event.member_id))
            return out
        if isinstance(event, XGrpDel):
            if rank < Role.OWNER:
                return [Refused(author, msg.event, "only an owner deletes the group")]
            self.deleted = True
            return [
                GroupDeleted(author),
                *(Disconnect(m.member_id) for m in self.current_members()),
            ]
        if isinstance(event, XGrpInfo):
            if rank < Role.OWNER:
                return [Refused(author, msg.event, "only an owner changes the group")]
            self.profile = event.profile
            return []
        return [Refused(author, msg.event, "not handled in a group")]

    # --- persistence

    def _core_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile.to_json(),
            "me": self.me.to_json(),
            "members": [m.to_json() for m in self.members.values()],
            "log": [x.to_json() for x in self.log],
            "log_limit": self.log_limit,
            "deleted": self.deleted,
            "seen": [[b64url_encode(a), b64url_encode(b)] for a, b in self._seen],
        }

    def _load_core(self, obj: dict[str, Any]) -> None:
        for m in obj["members"]:
            r = MemberRecord.from_json(m)
            self.members[r.member_id] = r
        self.log = [LogItem.from_json(x) for x in obj["log"]]
        self.log_limit = obj["log_limit"]
        self.deleted = obj["deleted"]
        for a, b in obj["seen"]:
            self._first_time(b64url_decode(a), b64url_decode(b))
