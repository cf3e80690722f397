"""String encodings used in SimpleX links and addresses.

- base64url: simplexmq writes it with ``=`` padding and accepts it without
  (``Encoding/String.hs`` ``base64urlP``).
- percent-encoding: as http-types ``urlEncode``/``renderSimpleQuery``: only
  ``A-Z a-z 0-9 - _ . ~`` stay literal (docs/protocol/agent.md, ``Agent/QueryString.hs``).
- query strings: ``name=value`` pairs joined by ``&``; the parser splits on ``&`` and
  ``;`` and decodes ``+`` as a space, as http-types ``parseSimpleQuery`` does.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse

from hushwire.errors import DecodeError

_B64URL = re.compile(rb"[A-Za-z0-9_-]*={0,2}")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_HEX = b"0123456789ABCDEF"


def b64url_encode(data: bytes, *, padded: bool = True) -> str:
    out = base64.urlsafe_b64encode(data).decode("ascii")
    return out if padded else out.rstrip("=")


def b64url_decode(text: str | bytes) -> bytes:
    """Decode base64url with or without padding; anything else raises ``DecodeError``."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    if not raw or _B64URL.fullmatch(raw) is None:
        raise DecodeError("invalid base64url")
    body = raw.rstrip(b"=")
    if len(body) % 4 == 1:
        raise DecodeError("invalid base64url length")
    padding = b"=" * (-len(body) % 4)
    if raw != body and raw != body + padding:
        raise DecodeError("invalid base64url padding")
    try:
        decoded = base64.urlsafe_b64decode(body + padding)
    except (binascii.Error, ValueError) as e:  # pragma: no cover - regex excludes these
        raise DecodeError("invalid base64url") from e
    # Reject non-canonical trailing bits so that decode(encode(x)) is a bijection.
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != body:
        raise DecodeError("non-canonical base64url")
    return decoded


def percent_encode(data: str | bytes) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    out = bytearray()
    for b in raw:
        if b in _UNRESERVED:
            out.append(b)
        else:
            out += b"%" + bytes((_HEX[b >> 4], _HEX[b & 15]))
    return out.decode("ascii")


def percent_decode(text: str, *, plus_is_space: bool = False) -> str:
    """Decode ``%XX`` escapes (and ``+`` in query values). Bad escapes pass through
    literally, as http-types ``urlDecode`` does; the result must be UTF-8."""
    raw = text.encode("utf-8")
    if plus_is_space:
        raw = raw.replace(b"+", b" ")
    if b"%" not in raw:  # nothing to unescape (most parts of a link)
        return raw.decode("utf-8")
    # urllib decodes %XX with any hex case and leaves other '%' as they are, as urlDecode.
    try:
        return urllib.parse.unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError("percent-decoded text is not UTF-8") from e


def render_query(pairs: list[tuple[str, str]], *, escape: bool = True) -> str:
    """``name=value&...``; with ``escape`` the values (and names) are percent-encoded."""
    if escape:
        return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in pairs)


def parse_query(text: str) -> list[tuple[str, str]]:
    """Parse a query string as http-types ``parseSimpleQuery`` does."""
    if text.startswith("?"):
        text = text[1:]
    pairs: list[tuple[str, str]] = []
    for part in re.split(r"[&;]", text):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append(
            (percent_decode(name, plus_is_space=True), percent_decode(value, plus_is_space=True))
        )
    return pairs


def query_param(pairs: list[tuple[str, str]], name: str) -> str | None:
    """The first value of ``name``, as simplexmq ``queryParamStr`` returns it."""
    for k, v in pairs:
        if k == name:
            return v
    return None
