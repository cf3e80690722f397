"""Group records: member ids, roles, group and member profiles, invitations.

Sans-I/O. Mirrors simplex-chat ``Types.hs`` (``MemberId``, ``MemberInfo``, ``MemberIdRole``,
``GroupInvitation``, ``GroupLinkInvitation``, ``IntroInvitation``, ``GroupProfile``,
``nameFromMemberId``, ``redactedMemberProfile``) and ``Types/Shared.hs``
(``GroupMemberRole``); docs/protocol/chat.md. The events that carry these records are in
:mod:`hushwire.chat.groups`.

Member ids are opaque bytes, base64url on the wire (the app's are the base64 *text* of 12
random bytes, so usually 16 bytes): never normalised, compared byte for byte. Decoding raises
only :class:`~hushwire.errors.DecodeError`; unknown JSON fields are ignored.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Final

from hushwire.chat.messages import Profile, _format_range, _parse_range
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError
from hushwire.limits import GROUP_MAX_MEMBER_ID_LENGTH
from hushwire.smp.version import VersionRange

__all__ = [
    "GroupInvitation",
    "GroupLinkInvitation",
    "GroupProfile",
    "IntroInvitation",
    "MemberIdRole",
    "MemberInfo",
    "Role",
    "format_msg_ts",
    "name_from_member_id",
    "parse_msg_ts",
    "redacted_profile",
    "role_rank",
]


# ----------------------------------------------------------------------------- roles


class Role(IntEnum):
    """Member roles in their order of power (``GroupMemberRole``). The wire form is the
    lower-case name. A role string the app may send that is not listed here is kept as
    text and ranks below every known role, so it grants nothing."""

    RELAY = 0
    OBSERVER = 1
    COMMENTER = 2
    AUTHOR = 3
    MEMBER = 4
    MODERATOR = 5
    ADMIN = 6
    OWNER = 7

    @property
    def wire(self) -> str:
        return self.name.lower()


_ROLE_BY_NAME: Final = {r.wire: r for r in Role}


def role_rank(role: str) -> int:
    """The rank of a role string; -1 for a role this version does not know."""
    known = _ROLE_BY_NAME.get(role)
    return -1 if known is None else int(known)


def _role(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 32:
        raise DecodeError(f"{what} must be a role name")
    return value


# ----------------------------------------------------------------------------- helpers


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeError(f"{what} must be a JSON object")
    return value


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise DecodeError(f"{key} must be a string")
    return value


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise DecodeError(f"{key} must be a string")


def _opt_obj(obj: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = obj.get(key)
    return None if value is None else _obj(value, key)


def _opt_bool(obj: dict[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise DecodeError(f"{key} must be a boolean")


def _opt_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise DecodeError(f"{key} must be a non-negative integer")
    return value


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise DecodeError(f"{what} must be a base64url string")
    return b64url_decode(value)


def _member_id(value: object, what: str = "memberId") -> bytes:
    raw = _b64(value, what)
    if len(raw) > GROUP_MAX_MEMBER_ID_LENGTH:
        raise DecodeError(f"{what} is longer than {GROUP_MAX_MEMBER_ID_LENGTH} bytes")
    return raw


def _opt_member_id(obj: dict[str, Any], key: str) -> bytes | None:
    value = obj.get(key)
    return None if value is None else _member_id(value, key)


def _check_member_id(member_id: bytes) -> None:
    if not member_id or len(member_id) > GROUP_MAX_MEMBER_ID_LENGTH:
        raise ValueError("a member id is 1 to 64 bytes")


def _put(out: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        out[key] = value


def _put_b64(out: dict[str, Any], key: str, value: bytes | None) -> None:
    """:func:`_put` for bytes, written as base64url."""
    if value is not None:
        out[key] = b64url_encode(value)


def name_from_member_id(member_id: bytes) -> str:
    """The fallback display name of an unknown member (``nameFromMemberId``): the first
    seven characters of the standard base64 of its id."""
    return base64.b64encode(member_id).decode("ascii")[:7]


def redacted_profile(profile: Profile) -> Profile:
    """A member profile as sent to a group: no contact link, no contact preferences
    (``redactedMemberProfile``)."""
    return Profile(profile.display_name, profile.full_name, profile.short_descr, profile.image)


_MSG_TS: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,12})?Z")


def parse_msg_ts(text: str) -> datetime:
    """A UTC timestamp as aeson writes ``UTCTime`` (``2024-01-01T10:00:00.123456Z``);
    digits beyond microseconds are dropped."""
    if _MSG_TS.fullmatch(text) is None:
        raise DecodeError("msgTs must be an ISO-8601 UTC timestamp")
    head, _, frac = text[:-1].partition(".")
    try:
        when = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError as e:
        raise DecodeError("msgTs is not a valid date") from e
    return when.replace(microsecond=int((frac + "000000")[:6]))


def format_msg_ts(when: datetime) -> str:
    """The aeson form of a UTC time: seconds, then a fraction only when there is one."""
    when = when.astimezone(UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += "." + f"{when.microsecond:06d}".rstrip("0")
    return text + "Z"


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class GroupProfile:
    """``GroupProfile``. ``description`` is the group's welcome message;
    ``preferences`` the ``groupPreferences`` object as sent (unknown keys kept)."""

    display_name: str
    full_name: str = ""
    short_descr: str | None = None
    description: str | None = None
    image: str | None = None
    preferences: dict[str, Any] | None = None
    member_admission: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"displayName": self.display_name, "fullName": self.full_name}
        _put(out, "shortDescr", self.short_descr)
        _put(out, "description", self.description)
        _put(out, "image", self.image)
        _put(out, "groupPreferences", self.preferences)
        _put(out, "memberAdmission", self.member_admission)
        return out

    @classmethod
    def from_json(cls, value: object) -> GroupProfile:
        obj = _obj(value, "groupProfile")
        return cls(
            _str(obj, "displayName"),
            _str(obj, "fullName"),
            _opt_str(obj, "shortDescr"),
            _opt_str(obj, "description"),
            _opt_str(obj, "image"),
            _opt_obj(obj, "groupPreferences"),
            _opt_obj(obj, "memberAdmission"),
        )

    def preference_on(self, key: str, *, default: bool) -> bool:
        """Whether group preference ``key`` is ``{"enable":"on"}``; ``default`` when absent
        (``defaultGroupPrefs``: history off, reactions on, direct messages off)."""
        pref = (self.preferences or {}).get(key)
        if not isinstance(pref, dict) or pref.get("enable") not in ("on", "off"):
            return default
        return bool(pref["enable"] == "on")


@dataclass(frozen=True, slots=True)
class MemberIdRole:
    """``MemberIdRole``: a member id with the role it has."""

    member_id: bytes
    role: str

    def __post_init__(self) -> None:
        _check_member_id(self.member_id)

    def to_json(self) -> dict[str, Any]:
        return {"memberId": b64url_encode(self.member_id), "memberRole": self.role}

    @classmethod
    def from_json(cls, value: object, what: str) -> MemberIdRole:
        obj = _obj(value, what)
        return cls(_member_id(obj.get("memberId")), _role(obj.get("memberRole"), "memberRole"))


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """``MemberInfo``: who a member is, for announcements and introductions. ``versions`` is
    the member's chat version range as its announcer sees it; the app refuses an
    introduction without it."""

    member_id: bytes
    role: str
    profile: Profile
    versions: VersionRange | None = None

    def __post_init__(self) -> None:
        _check_member_id(self.member_id)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"memberId": b64url_encode(self.member_id), "memberRole": self.role}
        if self.versions is not None:
            out["v"] = _format_range(self.versions)
        out["profile"] = self.profile.to_json()
        return out

    @classmethod
    def from_json(cls, value: object) -> MemberInfo:
        obj = _obj(value, "memberInfo")
        v = obj.get("v")
        if v is not None and not isinstance(v, str):
            raise DecodeError("memberInfo v must be a string")
        return cls(
            _member_id(obj.get("memberId")),
            _role(obj.get("memberRole"), "memberRole"),
            Profile.from_json(obj.get("profile")),
            None if v is None else _parse_range(v),
        )


@dataclass(frozen=True, slots=True)
class IntroInvitation:
    """``IntroInvitation``: the invitation link a joiner made for one pre-member
    (``directConnReq`` only for peers older than chat version 2)."""

    group_conn_req: str
    direct_conn_req: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "directConnReq", self.direct_conn_req)
        out["groupConnReq"] = self.group_conn_req
        return out

    @classmethod
    def from_json(cls, value: object) -> IntroInvitation:
        obj = _obj(value, "memberIntro")
        return cls(_str(obj, "groupConnReq"), _opt_str(obj, "directConnReq"))


@dataclass(frozen=True, slots=True)
class GroupInvitation:
    """``GroupInvitation`` (``x.grp.inv``): an admin invites a contact into a group over
    their 1:1 connection; ``conn_request`` is the invitation link for the member
    connection."""

    from_member: MemberIdRole
    invited_member: MemberIdRole
    conn_request: str
    group_profile: GroupProfile
    group_link_id: bytes | None = None
    business: dict[str, Any] | None = None
    group_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fromMember": self.from_member.to_json(),
            "invitedMember": self.invited_member.to_json(),
            "connRequest": self.conn_request,
            "groupProfile": self.group_profile.to_json(),
        }
        _put_b64(out, "groupLinkId", self.group_link_id)
        _put(out, "business", self.business)
        _put(out, "groupSize", self.group_size)
        return out

    @classmethod
    def from_json(cls, value: object) -> GroupInvitation:
        obj = _obj(value, "groupInvitation")
        link_id = obj.get("groupLinkId")
        if link_id is not None and not isinstance(link_id, str):
            raise DecodeError("groupLinkId must be a base64url string")
        return cls(
            MemberIdRole.from_json(obj.get("fromMember"), "fromMember"),
            MemberIdRole.from_json(obj.get("invitedMember"), "invitedMember"),
            _str(obj, "connRequest"),
            GroupProfile.from_json(obj.get("groupProfile")),
            None if link_id is None else b64url_decode(link_id),
            _opt_obj(obj, "business"),
            _opt_int(obj, "groupSize"),
        )


_ACCEPTANCES: Final = frozenset({"accepted", "pending", "pending_review"})


@dataclass(frozen=True, slots=True)
class GroupLinkInvitation:
    """``GroupLinkInvitation`` (``x.grp.link.inv``): the host's answer to a group-link
    request, carried as the connInfo of its confirmation. ``accepted`` is one of
    ``accepted``, ``pending``, ``pending_review`` (absent means accepted)."""

    from_member: MemberIdRole
    from_member_name: str
    invited_member: MemberIdRole
    group_profile: GroupProfile
    accepted: str | None = None
    business: dict[str, Any] | None = None
    group_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fromMember": self.from_member.to_json(),
            "fromMemberName": self.from_member_name,
            "invitedMember": self.invited_member.to_json(),
            "groupProfile": self.group_profile.to_json(),
        }
        _put(out, "accepted", self.accepted)
        _put(out, "business", self.business)
        _put(out, "groupSize", self.group_size)
        return out

    @classmethod
    def from_json(cls, value: object) -> GroupLinkInvitation:
        obj = _obj(value, "groupLinkInvitation")
        accepted = _opt_str(obj, "accepted")
        if accepted is not None and accepted not in _ACCEPTANCES:
            raise DecodeError("groupLinkInvitation accepted has an unknown value")
        return cls(
            MemberIdRole.from_json(obj.get("fromMember"), "fromMember"),
            _str(obj, "fromMemberName"),
            MemberIdRole.from_json(obj.get("invitedMember"), "invitedMember"),
            GroupProfile.from_json(obj.get("groupProfile")),
            accepted,
            _opt_obj(obj, "business"),
            _opt_int(obj, "groupSize"),
        )
