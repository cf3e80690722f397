"""Chat messages: the JSON envelope, profiles, and the events a 1:1 chat needs.

Mirrors simplex-chat ``Protocol.hs`` (``AppMessageJson``, ``parseChatMessages``,
``appJsonToCM``, ``chatToAppMessage``, ``maxEncodedMsgLength``/``maxEncodedInfoLength``),
``Types.hs`` (``Profile``); docs/protocol/chat.md. Compressed batches are decoded by
:func:`hushwire.agent.protocol.decompress_compressed_list` (simplexmq ``Compression.hs``).

A chat body is one of::

    {...}                 one JSON message
    [{...},{...}]         a JSON batch (apps send it from chat version 9)
    'X' count (('0' shortString) | ('1' Large zstd frame))+
                          a compressed batch; each element decompresses to '{' or '['

A message is ``{"v":"1-16","msgId":"<base64url>","event":"x.…","params":{…}}`` written as
compact UTF-8 JSON. ``v`` absent means version 1. The text of a message is data: it is
carried exactly as given and never interpreted as markup.

:class:`ChatMessage` is the generic envelope (any event round-trips byte for byte);
:func:`interpret` gives typed views of the events a minimal chat handles, every other event
becomes :class:`XUnknown` (to be ignored, as the app ignores events it does not know).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from hushwire.agent.protocol import decompress_compressed_list
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError, HushwireError
from hushwire.limits import (
    CHAT_MAX_BODY_LENGTH,
    CHAT_MAX_DECOMPRESSED_LENGTH,
    CHAT_MAX_ENCODED_INFO_LENGTH,
    CHAT_MAX_ENCODED_MSG_LENGTH,
)
from hushwire.smp.version import VersionRange

__all__ = [
    "CHAT_INITIAL_VERSIONS",
    "CHAT_VERSIONS",
    "DEFAULT_PREFERENCES",
    "ChatEvent",
    "ChatMessage",
    "ChatMessageTooLarge",
    "Profile",
    "XContact",
    "XDirectDel",
    "XInfo",
    "XMsgNew",
    "XOk",
    "XUnknown",
    "contact_link_data",
    "encode_batch",
    "hushwire_profile",
    "interpret",
    "parse_chat_body",
    "parse_chat_elements",
    "x_contact",
    "x_direct_del",
    "x_info",
    "x_msg_new_text",
]

CHAT_VERSIONS: Final = VersionRange(1, 16)
"""Chat versions Hushwire offers (docs/protocol/chat.md; 16 = short-link data)."""
CHAT_INITIAL_VERSIONS: Final = VersionRange(1, 1)
"""What a message without ``v`` means (``chatInitialVRange``)."""

DEFAULT_PREFERENCES: Final[dict[str, Any]] = {
    "voice": {"allow": "no"},
    "calls": {"allow": "no"},
}
"""Contact preferences Hushwire advertises: no voice messages and no calls, which it cannot
handle; the app's defaults hold for the rest (Types/Preferences.hs)."""


class ChatMessageTooLarge(HushwireError):
    """An encoded chat message is over its size cap (the app's ``ECMLarge``)."""


# ----------------------------------------------------------------------------- versions


def _format_range(vr: VersionRange) -> str:
    return str(vr.min) if vr.min == vr.max else f"{vr.min}-{vr.max}"


def _parse_range(text: str) -> VersionRange:
    lo_text, dash, hi_text = text.partition("-")
    if not _is_version(lo_text) or (dash and not _is_version(hi_text)):
        raise DecodeError("bad chat version range")
    lo = int(lo_text)
    hi = int(hi_text) if dash else lo
    if lo > hi:
        raise DecodeError("bad chat version range")
    return VersionRange(lo, hi)


def _is_version(text: str) -> bool:
    return 0 < len(text) <= 5 and text.isascii() and text.isdigit() and int(text) <= 0xFFFF


# ----------------------------------------------------------------------------- profile


_V = TypeVar("_V")


def _optional(obj: dict[str, Any], key: str, kind: type[_V], error: str) -> _V | None:
    """``obj[key]`` if it is a ``kind``, None if absent or null; else ``DecodeError(error)``."""
    value = obj.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise DecodeError(error)


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    return _optional(obj, key, str, f"profile field {key} must be a string")


@dataclass(frozen=True, slots=True)
class Profile:
    """A chat profile (``Profile`` in Types.hs). ``image`` is a ``data:image/…;base64,…``
    URI, ``contact_link`` a full or short SimpleX link; both are carried, not checked."""

    display_name: str
    full_name: str = ""
    short_descr: str | None = None
    image: str | None = None
    contact_link: str | None = None
    preferences: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON object with absent fields omitted."""
        out: dict[str, Any] = {"displayName": self.display_name, "fullName": self.full_name}
        for key, value in (
            ("shortDescr", self.short_descr),
            ("image", self.image),
            ("contactLink", self.contact_link),
            ("preferences", self.preferences),
        ):
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, obj: object) -> Profile:
        """Read a profile object; unknown fields are ignored, wrong types are a
        ``DecodeError``."""
        if not isinstance(obj, dict):
            raise DecodeError("a profile must be a JSON object")
        display_name = obj.get("displayName")
        full_name = obj.get("fullName")
        if not isinstance(display_name, str):
            raise DecodeError("a profile needs a displayName string")
        if not isinstance(full_name, str):
            raise DecodeError("a profile needs a fullName string")
        preferences = _optional(
            obj, "preferences", dict, "profile preferences must be a JSON object"
        )
        return cls(
            display_name,
            full_name,
            _opt_str(obj, "shortDescr"),
            _opt_str(obj, "image"),
            _opt_str(obj, "contactLink"),
            preferences,
        )


def hushwire_profile(
    display_name: str,
    *,
    full_name: str = "",
    short_descr: str | None = None,
    image: str | None = None,
) -> Profile:
    """A profile advertising :data:`DEFAULT_PREFERENCES` (no voice, no calls)."""
    prefs = {k: dict(v) for k, v in DEFAULT_PREFERENCES.items()}
    return Profile(display_name, full_name, short_descr, image, None, prefs)


def contact_link_data(profile: Profile, *, business: bool = False) -> bytes:
    """The user data of a contact address's short link: the profile apps show before joining,
    and whether it is a business address (simplex-chat ``ContactShortLinkData``)."""
    obj = {"profile": profile.to_json(), "business": business}
    return json.dumps(obj, separators=(",", ":")).encode()


# ----------------------------------------------------------------------------- envelope


def _check_event(event: str) -> bool:
    """``ACMEventTag`` strP for JSON messages: starts with ``x``, no space."""
    return event.startswith("x") and " " not in event


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message envelope (``AppMessageJson``). ``versions`` None omits ``v``."""

    event: str
    params: dict[str, Any]
    msg_id: bytes | None = None
    versions: VersionRange | None = CHAT_VERSIONS

    def __post_init__(self) -> None:
        if not _check_event(self.event):
            raise ValueError(f"not a chat event name: {self.event!r}")
        if self.msg_id is not None and not self.msg_id:
            raise ValueError("msg_id must not be empty")

    @property
    def chat_versions(self) -> VersionRange:
        """The sender's chat version range (1 when the message has no ``v``)."""
        return CHAT_INITIAL_VERSIONS if self.versions is None else self.versions

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.versions is not None:
            out["v"] = _format_range(self.versions)
        if self.msg_id is not None:
            out["msgId"] = b64url_encode(self.msg_id)
        out["event"] = self.event
        out["params"] = self.params
        return out

    def encode(self, *, max_size: int = CHAT_MAX_ENCODED_MSG_LENGTH) -> bytes:
        """Compact UTF-8 JSON; :class:`ChatMessageTooLarge` over ``max_size`` bytes
        (``CHAT_MAX_ENCODED_INFO_LENGTH`` for connInfo, see :meth:`encode_conn_info`)."""
        body = _dumps(self.to_json())
        if len(body) > max_size:
            raise ChatMessageTooLarge(
                f"chat message is {len(body)} bytes, more than {max_size}: shorten it"
            )
        return body

    def encode_conn_info(self) -> bytes:
        """Encode as connInfo (AgentInvitation / AgentConfirmation), capped at 14694 B."""
        return self.encode(max_size=CHAT_MAX_ENCODED_INFO_LENGTH)


def _dumps(obj: Any) -> bytes:
    try:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError) as e:  # UnicodeEncodeError is a ValueError
        raise ValueError(f"chat message is not valid JSON text: {e}") from e


def encode_batch(
    messages: list[ChatMessage], *, max_size: int = CHAT_MAX_ENCODED_MSG_LENGTH
) -> bytes:
    """A ``[...]`` JSON batch (for peers with chat version 9 or later)."""
    body = _dumps([m.to_json() for m in messages])
    if len(body) > max_size:
        raise ChatMessageTooLarge(f"chat batch is {len(body)} bytes, more than {max_size}")
    return body


# ----------------------------------------------------------------------------- parsing


_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str) -> Any:
    raise DecodeError(f"{name} is not JSON")


def _fix_surrogates(value: Any) -> Any:
    """Replace lone UTF-16 surrogates (from ``\\ud800`` escapes) with U+FFFD, so every
    parsed string is valid Unicode and encodes back to UTF-8."""

    def fix(s: str) -> str:
        return _SURROGATE.sub("\ufffd", s)

    root: list[Any] = [value]
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = fix(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
        else:
            items = list(node.items())
            node.clear()
            for k, item in items:
                if isinstance(item, str):
                    item = fix(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
                node[fix(k)] = item
    return root[0]


def _loads(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError("chat message is not UTF-8") from e
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as e:
        raise DecodeError("chat message JSON is nested too deeply") from e
    except json.JSONDecodeError as e:
        raise DecodeError(f"chat message is not JSON: {e.msg}") from e
    if "\\u" in text or "\\U" in text:
        value = _fix_surrogates(value)
    return value


def _envelope(value: object) -> ChatMessage:
    """``AppMessageJson`` from a parsed JSON value."""
    if not isinstance(value, dict):
        raise DecodeError("a chat message must be a JSON object")
    event = value.get("event")
    params = value.get("params")
    if not isinstance(event, str) or not _check_event(event):
        raise DecodeError("a chat message needs an event name starting with x")
    if not isinstance(params, dict):
        raise DecodeError("a chat message needs a params object")
    v = _optional(value, "v", str, "chat message v must be a string")
    msg_id_text = _optional(value, "msgId", str, "chat message msgId must be a string")
    msg_id = None if msg_id_text is None else b64url_decode(msg_id_text)
    return ChatMessage(event, params, msg_id, None if v is None else _parse_range(v))


def _parse_uncompressed(data: bytes) -> list[ChatMessage | DecodeError]:
    if not data:
        return [DecodeError("empty chat message")]
    first = data[0]
    if first not in b"{[":
        if first == ord("="):
            return [DecodeError("binary chat batches are used in groups only")]
        return [DecodeError(f"unknown chat message form starting with byte {first:#04x}")]
    try:
        value = _loads(data)
    except DecodeError as e:
        return [e]
    items = value if first == ord("[") else [value]
    if not isinstance(items, list):  # '[' that is not an array cannot parse as JSON
        return [DecodeError("chat batch must be a JSON array")]  # pragma: no cover
    out: list[ChatMessage | DecodeError] = []
    for item in items:
        try:
            out.append(_envelope(item))
        except DecodeError as e:
            out.append(e)
    return out


def parse_chat_elements(data: bytes) -> list[ChatMessage | DecodeError]:
    """Every element of a chat body, each a message or the error that element had
    (``parseChatMessages``): one bad element does not lose the others."""
    if len(data) > CHAT_MAX_BODY_LENGTH:
        return [DecodeError(f"chat body is {len(data)} bytes, more than the limit")]
    if data[:1] != b"X":
        return _parse_uncompressed(data)
    try:
        parts = decompress_compressed_list(data[1:], CHAT_MAX_DECOMPRESSED_LENGTH)
    except DecodeError as e:
        return [e]
    out: list[ChatMessage | DecodeError] = []
    for part in parts:
        out.extend(_parse_uncompressed(part))
    return out


def parse_chat_body(data: bytes) -> list[ChatMessage]:
    """All messages of a chat body; any malformed element raises ``DecodeError``."""
    out: list[ChatMessage] = []
    for item in parse_chat_elements(data):
        if isinstance(item, DecodeError):
            raise item
        out.append(item)
    return out


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class XInfo:
    """``x.info``: the sender's profile (connInfo of confirmations)."""

    profile: Profile


@dataclass(frozen=True, slots=True)
class XContact:
    """``x.contact``: a contact request's profile (connInfo of an AgentInvitation)."""

    profile: Profile
    contact_req_id: bytes | None = None
    welcome_msg_id: bytes | None = None
    request_msg_id: bytes | None = None
    request_content: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class XMsgNew:
    """``x.msg.new``: new content. ``text`` is the content's text (a caption for media),
    ``msg_id`` the envelope's id that later edits, deletions and quotes refer to."""

    text: str | None
    content: dict[str, Any]
    msg_id: bytes | None = None

    @property
    def content_type(self) -> str:
        return str(self.content["type"])


@dataclass(frozen=True, slots=True)
class XDirectDel:
    """``x.direct.del``: the peer deleted the contact."""


@dataclass(frozen=True, slots=True)
class XOk:
    """``x.ok``: legacy handshake info, accepted and ignored."""


@dataclass(frozen=True, slots=True)
class XUnknown:
    """Any other event (including ones the app knows but Hushwire does not handle)."""

    event: str
    params: dict[str, Any]


ChatEvent = XInfo | XContact | XMsgNew | XDirectDel | XOk | XUnknown


def _opt_id(params: dict[str, Any], key: str) -> bytes | None:
    text = _optional(params, key, str, f"{key} must be a base64url string")
    return None if text is None else b64url_decode(text)


def _content(value: object) -> dict[str, Any]:
    """``MsgContent`` FromJSON: an object with a string ``type``; text needs ``text``."""
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise DecodeError("message content must be an object with a type")
    text = _optional(value, "text", str, "message content text must be a string")
    if value["type"] == "text" and text is None:
        raise DecodeError("text content needs text")
    return value


def interpret(msg: ChatMessage) -> ChatEvent:
    """The typed view of a message (``appJsonToCM`` for the events Hushwire handles);
    malformed params of these events raise ``DecodeError``."""
    p = msg.params
    if msg.event == "x.info":
        return XInfo(Profile.from_json(p.get("profile")))
    if msg.event == "x.contact":
        req_id = _opt_id(p, "msgId")
        req_content = p.get("content")
        has_request = req_id is not None and req_content is not None
        return XContact(
            Profile.from_json(p.get("profile")),
            _opt_id(p, "contactReqId"),
            _opt_id(p, "welcomeMsgId"),
            req_id if has_request else None,
            _content(req_content) if has_request else None,
        )
    if msg.event == "x.msg.new":
        content = _content(p.get("content"))
        return XMsgNew(content.get("text"), content, msg.msg_id)
    if msg.event == "x.direct.del":
        return XDirectDel()
    if msg.event == "x.ok":
        return XOk()
    return XUnknown(msg.event, p)


# ----------------------------------------------------------------------------- constructors


def x_info(profile: Profile, *, msg_id: bytes | None = None) -> ChatMessage:
    return ChatMessage("x.info", {"profile": profile.to_json()}, msg_id)


def x_contact(
    profile: Profile, *, contact_req_id: bytes | None = None, msg_id: bytes | None = None
) -> ChatMessage:
    """``x.contact`` for a contact request; ``contact_req_id`` (16 random bytes) lets the
    owner recognise a repeated request."""
    params: dict[str, Any] = {}
    if contact_req_id is not None:
        params["contactReqId"] = b64url_encode(contact_req_id)
    params["profile"] = profile.to_json()
    return ChatMessage("x.contact", params, msg_id)


def x_msg_new_text(text: str, msg_id: bytes | None) -> ChatMessage:
    """``x.msg.new`` with text content; ``msg_id`` (12 random bytes) names the message."""
    if not text:
        raise ValueError("text content must not be empty")
    return ChatMessage("x.msg.new", {"content": {"text": text, "type": "text"}}, msg_id)


def x_direct_del() -> ChatMessage:
    return ChatMessage("x.direct.del", {})
