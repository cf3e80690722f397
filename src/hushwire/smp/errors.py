"""SMP error types and their text encodings.

Mirrors simplexmq ``Protocol.hs`` (``ErrorType``, ``CommandError``, ``ProxyError``,
``BrokerErrorType``, ``NetworkError``, ``BlockingInfo`` and their ``Encoding`` instances) and
``Transport.hs`` (``TransportError``, ``HandshakeError``); see docs/protocol/smp.md (errors).

Each sum type is a small class hierarchy: nullary variants are singletons reachable from the
base class (``ErrorType.AUTH``, ``TransportError.BLOCK``), variants with a payload are frozen
dataclasses named as on the wire (``CMD(CommandError.SYNTAX)``, ``BLOCKED(BlockingInfo(...))``).
Every type has ``encode() -> bytes`` and ``decode(bytes)`` (strict) / ``parse(reader)``.

Version-dependent sending (``BLOCKED`` is sent as ``AUTH`` below v12 and without its notice
below v18) is :meth:`ErrorType.for_version`, applied by the ``ERR`` response encoder.
"""

from __future__ import annotations

import codecs
import enum
import json
from dataclasses import dataclass
from typing import ClassVar, Final

from hushwire.encoding.binary import short_string
from hushwire.errors import DecodeError
from hushwire.smp._reader import SmpReader, parse_all, try_literal
from hushwire.smp.version import BLOCKED_ENTITY_VERSION, CLIENT_NOTICES_VERSION

_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1


def _qmark(e: UnicodeError) -> tuple[str, int]:
    assert isinstance(e, UnicodeDecodeError)
    return "?", e.end


codecs.register_error("hushwire-smp-qmark", _qmark)


def safe_decode_utf8(b: bytes) -> str:
    """UTF-8 decode replacing invalid bytes with ``?`` (simplexmq ``safeDecodeUtf8``)."""
    return b.decode("utf-8", "hushwire-smp-qmark")


class CommandError(enum.Enum):
    """``ERR CMD <e>``: the command is unknown, malformed or has the wrong credentials."""

    UNKNOWN = "UNKNOWN"
    SYNTAX = "SYNTAX"
    PROHIBITED = "PROHIBITED"
    NO_AUTH = "NO_AUTH"
    HAS_AUTH = "HAS_AUTH"
    NO_ENTITY = "NO_ENTITY"

    def encode(self) -> bytes:
        return self.value.encode()

    @classmethod
    def parse(cls, r: SmpReader) -> CommandError:
        w = r.take_till_space()
        if w == b"NO_QUEUE":  # accepted for backward compatibility (Protocol.hs)
            return cls.NO_ENTITY
        try:
            return cls(w.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise DecodeError("bad CommandError") from None


class HandshakeError(enum.Enum):
    """``TransportError.HANDSHAKE`` detail (Transport.hs ``HandshakeError``)."""

    PARSE = "PARSE"
    IDENTITY = "IDENTITY"
    BAD_AUTH = "BAD_AUTH"
    BAD_SERVICE = "BAD_SERVICE"


class BlockingReason(enum.Enum):
    SPAM = "spam"
    CONTENT = "content"


# --------------------------------------------------------------------------- TransportError


class TransportError:
    """Transport-level error (Transport.hs ``TransportError``); also sent in service handshakes."""

    __slots__ = ()

    BLOCK: ClassVar[TransportError]
    VERSION: ClassVar[TransportError]
    LARGE_MSG: ClassVar[TransportError]
    SESSION: ClassVar[TransportError]
    NO_AUTH: ClassVar[TransportError]

    def encode(self) -> bytes:
        raise NotImplementedError

    @staticmethod
    def parse(r: SmpReader) -> TransportError:
        w = r.take_till_space()
        simple = _TRANSPORT_SIMPLE.get(w)
        if simple is not None:
            return simple
        if w == b"HANDSHAKE":
            r.sp()
            word = r.take_word()
            try:
                return HANDSHAKE(HandshakeError(word.decode("ascii")))
            except (UnicodeDecodeError, ValueError):
                raise DecodeError("bad HandshakeError") from None
        raise DecodeError("bad TransportError")

    @staticmethod
    def decode(data: bytes) -> TransportError:
        return parse_all(data, TransportError.parse)


@dataclass(frozen=True, slots=True, repr=False)
class SimpleTransportError(TransportError):
    tag: str

    def __repr__(self) -> str:
        return f"TransportError.{self.tag}"

    def encode(self) -> bytes:
        return self.tag.encode()


@dataclass(frozen=True, slots=True)
class HANDSHAKE(TransportError):
    error: HandshakeError

    def encode(self) -> bytes:
        return b"HANDSHAKE " + self.error.value.encode()


_TRANSPORT_SIMPLE: dict[bytes, TransportError] = {}
for _t in ("BLOCK", "VERSION", "LARGE_MSG", "SESSION", "NO_AUTH"):
    _TRANSPORT_SIMPLE[_t.encode()] = SimpleTransportError(_t)
    setattr(TransportError, _t, _TRANSPORT_SIMPLE[_t.encode()])


# --------------------------------------------------------------------------- NetworkError


class NetworkError:
    """Client-side network failure detail carried in ``BROKER NETWORK`` (Protocol.hs)."""

    __slots__ = ()

    UNKNOWNCA: ClassVar[NetworkError]
    FAILED: ClassVar[NetworkError]
    TIMEOUT: ClassVar[NetworkError]

    def encode(self) -> bytes:
        raise NotImplementedError

    @staticmethod
    def parse(r: SmpReader) -> NetworkError:
        w = r.take_till_space()
        simple = _NETWORK_SIMPLE.get(w)
        if simple is not None:
            return simple
        cls = _NETWORK_TEXT.get(w)
        if cls is None:
            raise DecodeError("bad NetworkError")
        r.sp()
        return cls(r.short_string())


@dataclass(frozen=True, slots=True, repr=False)
class SimpleNetworkError(NetworkError):
    tag: str

    def __repr__(self) -> str:
        return f"NetworkError.{self.tag}"

    def encode(self) -> bytes:
        return self.tag.encode()


@dataclass(frozen=True, slots=True)
class CONNECT(NetworkError):
    text: bytes

    def encode(self) -> bytes:
        return b"CONNECT " + short_string(self.text)


@dataclass(frozen=True, slots=True)
class TLS(NetworkError):
    text: bytes

    def encode(self) -> bytes:
        return b"TLS " + short_string(self.text)


@dataclass(frozen=True, slots=True)
class SUBSCRIBE(NetworkError):
    text: bytes

    def encode(self) -> bytes:
        return b"SUBSCRIBE " + short_string(self.text)


_NETWORK_TEXT: dict[bytes, type[CONNECT] | type[TLS] | type[SUBSCRIBE]] = {
    b"CONNECT": CONNECT,
    b"TLS": TLS,
    b"SUBSCRIBE": SUBSCRIBE,
}
_NETWORK_SIMPLE: dict[bytes, NetworkError] = {}
for _t in ("UNKNOWNCA", "FAILED", "TIMEOUT"):
    _NETWORK_SIMPLE[_t.encode()] = SimpleNetworkError(_t)
    setattr(NetworkError, _t, _NETWORK_SIMPLE[_t.encode()])


# --------------------------------------------------------------------------- BrokerErrorType


class BrokerErrorType:
    """Error talking to a (destination) server, carried in ``PROXY BROKER`` (Protocol.hs)."""

    __slots__ = ()

    TIMEOUT: ClassVar[BrokerErrorType]
    HOST: ClassVar[BrokerErrorType]
    NO_SERVICE: ClassVar[BrokerErrorType]

    def encode(self) -> bytes:
        raise NotImplementedError

    @staticmethod
    def parse(r: SmpReader) -> BrokerErrorType:
        w = r.take_till_space()
        simple = _BROKER_SIMPLE.get(w)
        if simple is not None:
            return simple
        if w == b"RESPONSE":
            r.sp()
            return RESPONSE(r.short_string())
        if w == b"UNEXPECTED":
            r.sp()
            return UNEXPECTED(r.short_string())
        if w == b"TRANSPORT":
            r.sp()
            return TRANSPORT(TransportError.parse(r))
        if w == b"NETWORK":
            # `_smpP <|> pure NEFailedError`: the detail is optional on the wire.
            detail = r.optional(_space_network_error)
            return NETWORK(NetworkError.FAILED if detail is None else detail)
        raise DecodeError("bad BrokerErrorType")


def _space_network_error(r: SmpReader) -> NetworkError:
    r.sp()
    return NetworkError.parse(r)


@dataclass(frozen=True, slots=True, repr=False)
class SimpleBrokerError(BrokerErrorType):
    tag: str

    def __repr__(self) -> str:
        return f"BrokerErrorType.{self.tag}"

    def encode(self) -> bytes:
        return self.tag.encode()


@dataclass(frozen=True, slots=True)
class RESPONSE(BrokerErrorType):
    text: bytes

    def encode(self) -> bytes:
        return b"RESPONSE " + short_string(self.text)


@dataclass(frozen=True, slots=True)
class UNEXPECTED(BrokerErrorType):
    text: bytes

    def encode(self) -> bytes:
        return b"UNEXPECTED " + short_string(self.text)


@dataclass(frozen=True, slots=True)
class NETWORK(BrokerErrorType):
    """Always encoded as bare ``NETWORK`` (the detail is dropped, as the reference does)."""

    error: NetworkError = NetworkError.FAILED

    def encode(self) -> bytes:
        return b"NETWORK"


@dataclass(frozen=True, slots=True)
class TRANSPORT(BrokerErrorType):
    error: TransportError

    def encode(self) -> bytes:
        return b"TRANSPORT " + self.error.encode()


_BROKER_SIMPLE: dict[bytes, BrokerErrorType] = {}
for _t in ("TIMEOUT", "HOST", "NO_SERVICE"):
    _BROKER_SIMPLE[_t.encode()] = SimpleBrokerError(_t)
    setattr(BrokerErrorType, _t, _BROKER_SIMPLE[_t.encode()])


# --------------------------------------------------------------------------- ProxyError


class ProxyError:
    """Error of private routing, carried in ``ERR PROXY`` (Protocol.hs ``ProxyError``)."""

    __slots__ = ()

    BASIC_AUTH: ClassVar[ProxyError]
    NO_SESSION: ClassVar[ProxyError]

    def encode(self) -> bytes:
        raise NotImplementedError

    @staticmethod
    def parse(r: SmpReader) -> ProxyError:
        w = r.take_till_space()
        simple = _PROXY_SIMPLE.get(w)
        if simple is not None:
            return simple
        if w == b"PROTOCOL":
            r.sp()
            return PROTOCOL(ErrorType.parse(r))
        if w == b"BROKER":
            r.sp()
            return BROKER(BrokerErrorType.parse(r))
        raise DecodeError("bad ProxyError")


@dataclass(frozen=True, slots=True, repr=False)
class SimpleProxyError(ProxyError):
    tag: str

    def __repr__(self) -> str:
        return f"ProxyError.{self.tag}"

    def encode(self) -> bytes:
        return self.tag.encode()


@dataclass(frozen=True, slots=True)
class PROTOCOL(ProxyError):
    error: ErrorType

    def encode(self) -> bytes:
        return b"PROTOCOL " + self.error.encode()


@dataclass(frozen=True, slots=True)
class BROKER(ProxyError):
    error: BrokerErrorType

    def encode(self) -> bytes:
        return b"BROKER " + self.error.encode()


_PROXY_SIMPLE: dict[bytes, ProxyError] = {}
for _t in ("BASIC_AUTH", "NO_SESSION"):
    _PROXY_SIMPLE[_t.encode()] = SimpleProxyError(_t)
    setattr(ProxyError, _t, _PROXY_SIMPLE[_t.encode()])


# --------------------------------------------------------------------------- BlockingInfo


@dataclass(frozen=True, slots=True)
class ClientNotice:
    """Notice shown to the client of a blocked entity (Protocol/Types.hs); JSON ``{"ttl":n}``."""

    ttl: int | None = None

    def __post_init__(self) -> None:
        if self.ttl is not None and not _INT64_MIN <= self.ttl <= _INT64_MAX:
            raise ValueError("ttl out of Int64 range")

    def to_json(self) -> bytes:
        return b"{}" if self.ttl is None else b'{"ttl":%d}' % self.ttl

    @classmethod
    def from_json(cls, data: bytes) -> ClientNotice:
        obj = _json_object(data)
        ttl = obj.get("ttl")
        if ttl is None:
            return cls(None)
        if type(ttl) is not int or not _INT64_MIN <= ttl <= _INT64_MAX:
            raise DecodeError("bad ClientNotice ttl")
        return cls(ttl)


def _reject_constant(_: str) -> object:
    raise DecodeError("invalid JSON constant")


def _json_object(data: bytes) -> dict[str, object]:
    try:
        v = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DecodeError("invalid JSON") from None
    if not isinstance(v, dict):
        raise DecodeError("JSON object expected")
    return v


@dataclass(frozen=True, slots=True)
class BlockingInfo:
    """``reason=spam|content[,notice=<json>]`` (Protocol.hs ``BlockingInfo``)."""

    reason: BlockingReason
    notice: ClientNotice | None = None

    def encode(self) -> bytes:
        s = b"reason=" + self.reason.value.encode()
        if self.notice is not None:
            s += b",notice=" + self.notice.to_json()
        return s

    @classmethod
    def parse(cls, r: SmpReader) -> BlockingInfo:
        r.expect(b"reason=")
        if try_literal(r, b"spam"):
            reason = BlockingReason.SPAM
        else:
            r.expect(b"content")
            reason = BlockingReason.CONTENT
        return cls(reason, r.optional(_notice))


def _notice(r: SmpReader) -> ClientNotice:
    r.expect(b",notice=")
    return ClientNotice.from_json(r.tail())


# --------------------------------------------------------------------------- ErrorType


class ErrorType:
    """The error of ``ERR`` (Protocol.hs ``ErrorType``)."""

    __slots__ = ()

    BLOCK: ClassVar[ErrorType]
    SESSION: ClassVar[ErrorType]
    AUTH: ClassVar[ErrorType]
    SERVICE: ClassVar[ErrorType]
    CRYPTO: ClassVar[ErrorType]
    QUOTA: ClassVar[ErrorType]
    NO_MSG: ClassVar[ErrorType]
    LARGE_MSG: ClassVar[ErrorType]
    EXPIRED: ClassVar[ErrorType]
    INTERNAL: ClassVar[ErrorType]
    DUPLICATE_: ClassVar[ErrorType]

    def encode(self) -> bytes:
        raise NotImplementedError

    def for_version(self, v: int) -> ErrorType:
        """The error as a peer of version ``v`` is sent it (only ``BLOCKED`` changes)."""
        return self

    @staticmethod
    def parse(r: SmpReader) -> ErrorType:
        w = r.take_till_space()
        simple = _ERROR_SIMPLE.get(w)
        if simple is not None:
            return simple
        if w == b"CMD":
            r.sp()
            return CMD(CommandError.parse(r))
        if w == b"PROXY":
            r.sp()
            return PROXY(ProxyError.parse(r))
        if w == b"BLOCKED":
            r.sp()
            return BLOCKED(BlockingInfo.parse(r))
        if w == b"STORE":
            r.sp()
            return STORE(safe_decode_utf8(r.tail()))
        raise DecodeError("bad ErrorType")

    @staticmethod
    def decode(data: bytes) -> ErrorType:
        return parse_all(data, ErrorType.parse)


@dataclass(frozen=True, slots=True, repr=False)
class SimpleError(ErrorType):
    tag: str

    def __repr__(self) -> str:
        return f"ErrorType.{self.tag}"

    def encode(self) -> bytes:
        return self.tag.encode()


@dataclass(frozen=True, slots=True)
class CMD(ErrorType):
    error: CommandError

    def encode(self) -> bytes:
        return b"CMD " + self.error.encode()


@dataclass(frozen=True, slots=True)
class PROXY(ErrorType):
    error: ProxyError

    def encode(self) -> bytes:
        return b"PROXY " + self.error.encode()


@dataclass(frozen=True, slots=True)
class BLOCKED(ErrorType):
    info: BlockingInfo

    def encode(self) -> bytes:
        return b"BLOCKED " + self.info.encode()

    def for_version(self, v: int) -> ErrorType:
        if v < BLOCKED_ENTITY_VERSION:
            return ErrorType.AUTH
        if v < CLIENT_NOTICES_VERSION and self.info.notice is not None:
            return BLOCKED(BlockingInfo(self.info.reason, None))
        return self


@dataclass(frozen=True, slots=True)
class STORE(ErrorType):
    text: str

    def encode(self) -> bytes:
        return b"STORE " + self.text.encode("utf-8")


_ERROR_SIMPLE: dict[bytes, ErrorType] = {}
for _t in (
    "BLOCK",
    "SESSION",
    "AUTH",
    "SERVICE",
    "CRYPTO",
    "QUOTA",
    "NO_MSG",
    "LARGE_MSG",
    "EXPIRED",
    "INTERNAL",
    "DUPLICATE_",
):
    _ERROR_SIMPLE[_t.encode()] = SimpleError(_t)
    setattr(ErrorType, _t, _ERROR_SIMPLE[_t.encode()])

del _t
