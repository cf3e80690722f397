"""Group records: member ids, roles, group and member profiles, invitations.

Sans-I/O. Mirrors simplex-chat ``Types.hs`` (``MemberId``, ``MemberInfo``, ``MemberIdRole``,
``GroupInvitation``, ``GroupLinkInvitation``, ``IntroInvitation``, ``GroupProfile``,
``nameFromMemberId``, ``redactedMemberProfile``) and ``Types/Shared.hs``
(``GroupMemberRole``); docs/protocol/chat.md. The events that carry these records are in
:mod:`hushwire.chat.groups`.

Member ids are opaque bytes, base64url on the wire (the app's are the base64 *text* of 12
random bytes, so usually 16 bytes): never normalised, compared byte for byte. Decoding raises
only :class:`~hushwire.errors.DecodeError`; unknown JSON fields are ignored.

Each record, and each group event, is a :class:`JsonRecord`: a table of :class:`JsonField`
(JSON key, attribute, reader, writer) in the app's ``ToJSON`` key order, from which one
encoder and one decoder serve every type (as the app derives its JSON instances).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, ClassVar, Final, Self, cast

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
    "JsonField",
    "JsonRecord",
    "MemberIdRole",
    "MemberInfo",
    "Role",
    "format_msg_ts",
    "member_id_field",
    "name_from_member_id",
    "nested_field",
    "parse_msg_ts",
    "redacted_profile",
    "role_rank",
    "stored_field",
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


def _same(value: Any) -> Any:
    return value


def _is_none(value: object) -> bool:
    return value is None


def _never(value: object) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class JsonField:
    """One key of a record written as a JSON object: the dataclass attribute that holds it,
    ``read(obj, key)`` that takes it out of a received object (raising ``DecodeError``),
    ``write`` that makes its JSON value, and ``omit``, true for a value left out (None,
    unless said otherwise)."""

    key: str
    attr: str
    read: Callable[[dict[str, Any], str], Any]
    write: Callable[[Any], Any] = _same
    omit: Callable[[Any], bool] = _is_none


class JsonRecord:
    """Base of a record written as one JSON object: its :class:`JsonField` table ``FIELDS``
    lists the keys in the order they are written (the app's ``ToJSON`` order); any
    attribute not in the table is given to :meth:`from_fields` by the caller. ``JSON_NAME``
    is what errors call the object."""

    __slots__ = ()

    FIELDS: ClassVar[tuple[JsonField, ...]] = ()
    JSON_NAME: ClassVar[str] = "object"

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object, keys in table order."""
        out: dict[str, Any] = {}
        for f in self.FIELDS:
            value = getattr(self, f.attr)
            if not f.omit(value):
                out[f.key] = f.write(value)
        return out

    @classmethod
    def from_fields(cls, obj: dict[str, Any], **extra: Any) -> Self:
        """The record read from a JSON object (``extra``: the attributes not in the table)."""
        values = {f.attr: f.read(obj, f.key) for f in cls.FIELDS}
        return cast(Self, cast(Any, cls)(**values, **extra))

    @classmethod
    def from_json(cls, value: object, what: str | None = None) -> Self:
        """The record read from a JSON value, which must be an object (``what``: its name in
        errors, default ``JSON_NAME``)."""
        return cls.from_fields(_obj(value, what or cls.JSON_NAME))


def _read_member_id(obj: dict[str, Any], key: str) -> bytes:
    return _member_id(obj.get(key), key)


def _read_role(obj: dict[str, Any], key: str) -> str:
    return _role(obj.get(key), key)


def _read_opt_b64(obj: dict[str, Any], key: str) -> bytes | None:
    value = obj.get(key)
    return None if value is None else _b64(value, key)


def member_id_field(key: str, attr: str, *, optional: bool = False) -> JsonField:
    """A member id (at most ``GROUP_MAX_MEMBER_ID_LENGTH`` bytes), written as base64url."""
    return JsonField(key, attr, _opt_member_id if optional else _read_member_id, b64url_encode)


def nested_field(key: str, attr: str, read: Callable[[object], Any]) -> JsonField:
    """A record written with its own ``to_json``, read by ``read`` (its ``from_json``)."""
    return JsonField(key, attr, lambda obj, k: read(obj.get(k)), lambda value: value.to_json())


def stored_field(
    key: str,
    attr: str,
    read: Callable[[Any], Any] = _same,
    write: Callable[[Any], Any] = _same,
) -> JsonField:
    """A field of a state file this process wrote: always written (null included), and
    ``read`` from the stored value, which must be there."""
    return JsonField(key, attr, lambda obj, k: read(obj[k]), write, _never)


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
class GroupProfile(JsonRecord):
    """``GroupProfile``. ``description`` is the group's welcome message;
    ``preferences`` the ``groupPreferences`` object as sent (unknown keys kept)."""

    display_name: str
    full_name: str = ""
    short_descr: str | None = None
    description: str | None = None
    image: str | None = None
    preferences: dict[str, Any] | None = None
    member_admission: dict[str, Any] | None = None

    JSON_NAME: ClassVar = "groupProfile"
    FIELDS: ClassVar = (
        JsonField("displayName", "display_name", _str),
        JsonField("fullName", "full_name", _str),
        JsonField("shortDescr", "short_descr", _opt_str),
        JsonField("description", "description", _opt_str),
        JsonField("image", "image", _opt_str),
        JsonField("groupPreferences", "preferences", _opt_obj),
        JsonField("memberAdmission", "member_admission", _opt_obj),
    )

    def preference_on(self, key: str, *, default: bool) -> bool:
        """Whether group preference ``key`` is ``{"enable":"on"}``; ``default`` when absent
        (``defaultGroupPrefs``: history off, reactions on, direct messages off)."""
        pref = (self.preferences or {}).get(key)
        if not isinstance(pref, dict) or pref.get("enable") not in ("on", "off"):
            return default
        return bool(pref["enable"] == "on")


@dataclass(frozen=True, slots=True)
class MemberIdRole(JsonRecord):
    """``MemberIdRole``: a member id with the role it has."""

    member_id: bytes
    role: str

    FIELDS: ClassVar = (
        member_id_field("memberId", "member_id"),
        JsonField("memberRole", "role", _read_role),
    )

    def __post_init__(self) -> None:
        _check_member_id(self.member_id)


def _member_id_role_field(key: str, attr: str) -> JsonField:
    return nested_field(key, attr, lambda value: MemberIdRole.from_json(value, key))


def _read_versions(obj: dict[str, Any], key: str) -> VersionRange | None:
    v = obj.get(key)
    if v is not None and not isinstance(v, str):
        raise DecodeError("memberInfo v must be a string")
    return None if v is None else _parse_range(v)


@dataclass(frozen=True, slots=True)
class MemberInfo(JsonRecord):
    """``MemberInfo``: who a member is, for announcements and introductions. ``versions`` is
    the member's chat version range as its announcer sees it; the app refuses an
    introduction without it."""

    member_id: bytes
    role: str
    profile: Profile
    versions: VersionRange | None = None

    JSON_NAME: ClassVar = "memberInfo"
    FIELDS: ClassVar = (
        *MemberIdRole.FIELDS,
        JsonField("v", "versions", _read_versions, _format_range),
        nested_field("profile", "profile", Profile.from_json),
    )

    def __post_init__(self) -> None:
        _check_member_id(self.member_id)


@dataclass(frozen=True, slots=True)
class IntroInvitation(JsonRecord):
    """``IntroInvitation``: the invitation link a joiner made for one pre-member
    (``directConnReq`` only for peers older than chat version 2)."""

    group_conn_req: str
    direct_conn_req: str | None = None

    JSON_NAME: ClassVar = "memberIntro"
    FIELDS: ClassVar = (
        JsonField("directConnReq", "direct_conn_req", _opt_str),
        JsonField("groupConnReq", "group_conn_req", _str),
    )


@dataclass(frozen=True, slots=True)
class GroupInvitation(JsonRecord):
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

    JSON_NAME: ClassVar = "groupInvitation"
    FIELDS: ClassVar = (
        _member_id_role_field("fromMember", "from_member"),
        _member_id_role_field("invitedMember", "invited_member"),
        JsonField("connRequest", "conn_request", _str),
        nested_field("groupProfile", "group_profile", GroupProfile.from_json),
        JsonField("groupLinkId", "group_link_id", _read_opt_b64, b64url_encode),
        JsonField("business", "business", _opt_obj),
        JsonField("groupSize", "group_size", _opt_int),
    )


_ACCEPTANCES: Final = frozenset({"accepted", "pending", "pending_review"})


def _read_acceptance(obj: dict[str, Any], key: str) -> str | None:
    accepted = _opt_str(obj, key)
    if accepted is not None and accepted not in _ACCEPTANCES:
        raise DecodeError("groupLinkInvitation accepted has an unknown value")
    return accepted


@dataclass(frozen=True, slots=True)
class GroupLinkInvitation(JsonRecord):
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

    JSON_NAME: ClassVar = "groupLinkInvitation"
    FIELDS: ClassVar = (
        _member_id_role_field("fromMember", "from_member"),
        JsonField("fromMemberName", "from_member_name", _str),
        _member_id_role_field("invitedMember", "invited_member"),
        nested_field("groupProfile", "group_profile", GroupProfile.from_json),
        JsonField("accepted", "accepted", _read_acceptance),
        JsonField("business", "business", _opt_obj),
        JsonField("groupSize", "group_size", _opt_int),
    )
