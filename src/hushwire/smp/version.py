"""SMP protocol versions and version ranges.

Mirrors simplexmq ``Simplex.Messaging.Version`` (``VersionRange``, ``compatibleVersion``,
``compatibleVRange``, ``compatibleVRange'``, the binary and the text encodings of
``VersionRange``) and the version constants of ``Simplex.Messaging.Transport`` (its "SMP
protocol version history"); see docs/protocol/smp.md.

A version is a plain ``int`` (Word16 on the wire); a :class:`VersionRange` is a validated
``min <= max`` pair encoded as two Word16 in binary, and as ``"a-b"`` (or ``"a"`` when both
ends are equal) in links (``v=2-7``). Every version range in the package is read and written
by this class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from hushwire.encoding.binary import WORD16_MAX, Reader, word16
from hushwire.errors import DecodeError
from hushwire.limits import MAX_MESSAGE_LENGTH_V6, MAX_MESSAGE_LENGTH_V8, MAX_MESSAGE_LENGTH_V11

_VRANGE_TEXT: Final = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?")

# Feature versions (Transport.hs, "SMP protocol version history").
SUB_MODE_VERSION: Final = 6
"""v6: create queues without subscribing (NEW subMode)."""
AUTH_CMDS_VERSION: Final = 7
"""v7: CbAuthenticator, session id implied (not sent), server key in the hello."""
SENDING_PROXY_VERSION: Final = 8
"""v8: SMP proxy (PRXY/PFWD/RFWD)."""
SND_AUTH_KEY_VERSION: Final = 9
"""v9: SKEY and sndSecure in NEW/IDS."""
DELETED_EVENT_VERSION: Final = 10
"""v10: DELD event."""
ENCRYPTED_BLOCK_VERSION: Final = 11
"""v11: transport block encryption."""
BLOCKED_ENTITY_VERSION: Final = 12
"""v12: BLOCKED error (sent as AUTH below)."""
PROXY_SERVER_HANDSHAKE_VERSION: Final = 14
"""v14: ``proxyServer`` flag in the client hello."""
SHORT_LINKS_VERSION: Final = 15
"""v15: short links (NEW with QueueReqData, LSET/LDEL/LGET/LKEY)."""
SERVICE_CERTS_VERSION: Final = 16
"""v16: service certificates (service signature field, SOK)."""
NEW_NTF_CREDS_VERSION: Final = 17
"""v17: notifier credentials in NEW/IDS."""
CLIENT_NOTICES_VERSION: Final = 18
"""v18: client notices (in BLOCKED)."""

MIN_SMP_VERSION: Final = 6
CURRENT_SMP_VERSION: Final = 18
PROXIED_SMP_VERSION: Final = 17
"""Max version an SMP proxy uses towards a destination (Transport.hs proxiedSMPRelayVersion)."""


@dataclass(frozen=True, slots=True)
class VersionRange:
    """An inclusive range of protocol versions; ``min <= max`` always holds."""

    min: int
    max: int

    def __post_init__(self) -> None:
        if not (0 <= self.min <= WORD16_MAX and 0 <= self.max <= WORD16_MAX):
            raise ValueError(f"version out of Word16 range: {self.min}..{self.max}")
        if self.min > self.max:
            raise ValueError(f"invalid version range {self.min}..{self.max}")

    def encode(self) -> bytes:
        return word16(self.min) + word16(self.max)

    @classmethod
    def parse(cls, r: Reader) -> VersionRange:
        lo = r.word16()
        hi = r.word16()
        if lo > hi:
            raise DecodeError("invalid version range")
        return cls(lo, hi)

    def to_str(self) -> str:
        """Text form (Version.hs ``VersionRange`` StrEncoding): ``"a-b"``, or ``"a"``."""
        return str(self.min) if self.min == self.max else f"{self.min}-{self.max}"

    @classmethod
    def parse_str(cls, text: str) -> VersionRange:
        """Inverse of :meth:`to_str`; anything else raises :class:`DecodeError`."""
        m = _VRANGE_TEXT.fullmatch(text)
        if m is None:
            raise DecodeError(f"bad version range {text[:20]!r}: expected a number or a-b")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi > WORD16_MAX or lo > hi:
            raise DecodeError(f"bad version range {text[:20]!r}")
        return cls(lo, hi)

    def __contains__(self, v: object) -> bool:
        return isinstance(v, int) and self.min <= v <= self.max

    def intersect(self, other: VersionRange) -> VersionRange | None:
        """The common sub-range (``compatibleVRange``), or None."""
        lo = max(self.min, other.min)
        hi = min(self.max, other.max)
        return VersionRange(lo, hi) if lo <= hi else None

    def capped(self, v: int) -> VersionRange | None:
        """``compatibleVRange'``: ``min..v`` if ``v`` is in this range, else None."""
        return VersionRange(self.min, v) if v in self else None


def compatible(a: VersionRange, b: VersionRange) -> int | None:
    """Highest version in both ranges (``compatibleVersion``), or None."""
    common = a.intersect(b)
    return None if common is None else common.max


SUPPORTED_SMP_RANGE: Final = VersionRange(MIN_SMP_VERSION, CURRENT_SMP_VERSION)
LEGACY_SERVER_RANGE: Final = VersionRange(MIN_SMP_VERSION, MIN_SMP_VERSION)
"""What the reference server offers when TLS negotiated no ALPN (Transport.hs:758-760)."""
PROXIED_SMP_RANGE: Final = VersionRange(SENDING_PROXY_VERSION, PROXIED_SMP_VERSION)


def max_message_length(v: int) -> int:
    """Largest SEND body for the sender's version (Protocol.hs ``maxMessageLength``)."""
    if v >= ENCRYPTED_BLOCK_VERSION:
        return MAX_MESSAGE_LENGTH_V11
    if v >= SENDING_PROXY_VERSION:
        return MAX_MESSAGE_LENGTH_V8
    return MAX_MESSAGE_LENGTH_V6
