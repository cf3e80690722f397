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
import dataclasses
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Self, cast

from hushwire.encoding.binary import INT64_MAX, INT64_MIN
from hushwire.encoding.record import SHORT_STRING, Field
from hushwire.encoding.strict_json import loads_object
from hushwire.errors import DecodeError
from hushwire.smp._reader import SmpReader, parse_all, try_literal
from hushwire.smp.version import BLOCKED_ENTITY_VERSION, CLIENT_NOTICES_VERSION


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


# --------------------------------------------------------------------------- shared shapes

_SP: Final = b" "


class _WordSum:
    """A sum type sent as a word (``takeTill (== ' ')``): a nullary variant by its word, else
    the variant whose word it is parses what follows (its space and payload). Each sum type
    fills its two tables with :func:`_declare` once its variants exist."""

    __slots__ = ()

    _NULLARY: ClassVar[Mapping[bytes, _WordSum]]
    _VARIANTS: ClassVar[Mapping[bytes, Callable[[SmpReader], object]]]

    def encode(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def parse(cls, r: SmpReader) -> Self:
        w = r.take_till_space()
        found: object = cls._NULLARY.get(w)
        if found is None:
            variant = cls._VARIANTS.get(w)
            if variant is None:
                raise DecodeError(f"bad {cls.__name__}")
            found = variant(r)
        assert isinstance(found, cls)
        return found

    @classmethod
    def decode(cls, data: bytes) -> Self:
        return parse_all(data, cls.parse)


@dataclass(frozen=True, slots=True, repr=False)
class _Nullary:
    """A variant without payload, sent as its word; one singleton per word, reachable as an
    attribute of its sum type (``ErrorType.AUTH``)."""

    tag: str
    _family: ClassVar[str]

    def __repr__(self) -> str:
        return f"{self._family}.{self.tag}"

    def encode(self) -> bytes:
        return self.tag.encode()


class _Variant:
    """A variant with one payload field, sent as ``WORD <payload>``; its encoder and decoder
    both follow the class's ``PAYLOAD`` codec."""

    __slots__ = ()

    WORD: ClassVar[bytes]
    PAYLOAD: ClassVar[Field[Any, SmpReader]]

    def encode(self) -> bytes:
        (field,) = dataclasses.fields(cast(Any, self))
        return self.WORD + _SP + self.PAYLOAD.encode(getattr(self, field.name))

    @classmethod
    def parse_payload(cls, r: SmpReader) -> Self:
        r.sp()
        return cast(Self, cast(Any, cls)(cls.PAYLOAD.parse(r)))


def _declare(
    base: type[_WordSum], nullary: type[_Nullary], words: str, variants: Iterable[type[_Variant]]
) -> None:
    """Fill the tables of the sum type ``base``: a ``nullary`` singleton per word of ``words``
    (also set as ``base.<word>``) and the ``variants`` by their word."""
    table: dict[bytes, _WordSum] = {}
    for name in words.split():
        inst = nullary(name)
        assert isinstance(inst, base)
        table[name.encode()] = inst
        setattr(base, name, inst)
    base._NULLARY = table
    base._VARIANTS = {v.WORD: v.parse_payload for v in variants}


def _wrapped(
    kind: type[_WordSum] | type[CommandError] | type[BlockingInfo],
) -> Field[Any, SmpReader]:
    """A payload that is one value of ``kind``, written with its ``encode`` and read with its
    ``parse``."""
    return Field(lambda v: v.encode(), kind.parse)


@dataclass(frozen=True, slots=True)
class _TextVariant(_Variant):
    """A variant whose payload is a shortString (``CONNECT``, ``RESPONSE`` ...)."""

    PAYLOAD = SHORT_STRING
    text: bytes


# --------------------------------------------------------------------------- TransportError


class TransportError(_WordSum):
    """Transport-level error (Transport.hs ``TransportError``); also sent in service handshakes."""

    __slots__ = ()

    BLOCK: ClassVar[TransportError]
    VERSION: ClassVar[TransportError]
    LARGE_MSG: ClassVar[TransportError]
    SESSION: ClassVar[TransportError]
    NO_AUTH: ClassVar[TransportError]


class SimpleTransportError(_Nullary, TransportError):
    __slots__ = ()
    _family = "TransportError"


def _handshake_error(r: SmpReader) -> HandshakeError:
    word = r.take_word()
    try:
        return HandshakeError(word.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise DecodeError("bad HandshakeError") from None


@dataclass(frozen=True, slots=True)
class HANDSHAKE(_Variant, TransportError):
    WORD = b"HANDSHAKE"
    PAYLOAD = Field(lambda e: e.value.encode(), _handshake_error)
    error: HandshakeError


_declare(
    TransportError, SimpleTransportError, "BLOCK VERSION LARGE_MSG SESSION NO_AUTH", [HANDSHAKE]
)


# --------------------------------------------------------------------------- NetworkError


class NetworkError(_WordSum):
    """Client-side network failure detail carried in ``BROKER NETWORK`` (Protocol.hs)."""

    __slots__ = ()

    UNKNOWNCA: ClassVar[NetworkError]
    FAILED: ClassVar[NetworkError]
    TIMEOUT: ClassVar[NetworkError]


class SimpleNetworkError(_Nullary, NetworkError):
    __slots__ = ()
    _family = "NetworkError"


class CONNECT(_TextVariant, NetworkError):
    __slots__ = ()
    WORD = b"CONNECT"


class TLS(_TextVariant, NetworkError):
    __slots__ = ()
    WORD = b"TLS"


class SUBSCRIBE(_TextVariant, NetworkError):
    __slots__ = ()
    WORD = b"SUBSCRIBE"


_declare(NetworkError, SimpleNetworkError, "UNKNOWNCA FAILED TIMEOUT", [CONNECT, TLS, SUBSCRIBE])


# --------------------------------------------------------------------------- BrokerErrorType


class BrokerErrorType(_WordSum):
    """Error talking to a (destination) server, carried in ``PROXY BROKER`` (Protocol.hs)."""

    __slots__ = ()

    TIMEOUT: ClassVar[BrokerErrorType]
    HOST: ClassVar[BrokerErrorType]
    NO_SERVICE: ClassVar[BrokerErrorType]


class SimpleBrokerError(_Nullary, BrokerErrorType):
    __slots__ = ()
    _family = "BrokerErrorType"


class RESPONSE(_TextVariant, BrokerErrorType):
    __slots__ = ()
    WORD = b"RESPONSE"


class UNEXPECTED(_TextVariant, BrokerErrorType):
    __slots__ = ()
    WORD = b"UNEXPECTED"


def _space_network_error(r: SmpReader) -> NetworkError:
    r.sp()
    return NetworkError.parse(r)


@dataclass(frozen=True, slots=True)
class NETWORK(_Variant, BrokerErrorType):
    """Always encoded as bare ``NETWORK`` (the detail is dropped, as the reference does)."""

    WORD = b"NETWORK"
    error: NetworkError = NetworkError.FAILED

    def encode(self) -> bytes:
        return self.WORD

    @classmethod
    def parse_payload(cls, r: SmpReader) -> NETWORK:
        # `_smpP <|> pure NEFailedError`: the detail is optional on the wire.
        detail = r.optional(_space_network_error)
        return cls(NetworkError.FAILED if detail is None else detail)


@dataclass(frozen=True, slots=True)
class TRANSPORT(_Variant, BrokerErrorType):
    WORD = b"TRANSPORT"
    PAYLOAD = _wrapped(TransportError)
    error: TransportError


_declare(
    BrokerErrorType,
    SimpleBrokerError,
    "TIMEOUT HOST NO_SERVICE",
    [RESPONSE, UNEXPECTED, TRANSPORT, NETWORK],
)


# --------------------------------------------------------------------------- ProxyError


class ProxyError(_WordSum):
    """Error of private routing, carried in ``ERR PROXY`` (Protocol.hs ``ProxyError``)."""

    __slots__ = ()

    BASIC_AUTH: ClassVar[ProxyError]
    NO_SESSION: ClassVar[ProxyError]


class SimpleProxyError(_Nullary, ProxyError):
    __slots__ = ()
    _family = "ProxyError"


# --------------------------------------------------------------------------- BlockingInfo


@dataclass(frozen=True, slots=True)
class ClientNotice:
    """Notice shown to the client of a blocked entity (Protocol/Types.hs); JSON ``{"ttl":n}``."""

    ttl: int | None = None

    def __post_init__(self) -> None:
        if self.ttl is not None and not INT64_MIN <= self.ttl <= INT64_MAX:
            raise ValueError("ttl out of Int64 range")

    def to_json(self) -> bytes:
        return b"{}" if self.ttl is None else b'{"ttl":%d}' % self.ttl

    @classmethod
    def from_json(cls, data: bytes) -> ClientNotice:
        obj = loads_object(data)
        ttl = obj.get("ttl")
        if ttl is None:
            return cls(None)
        if type(ttl) is not int or not INT64_MIN <= ttl <= INT64_MAX:
            raise DecodeError("bad ClientNotice ttl")
        return cls(ttl)


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


class ErrorType(_WordSum):
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

    def for_version(self, v: int) -> ErrorType:
        """The error as a peer of version ``v`` is sent it (only ``BLOCKED`` changes)."""
        return self


class SimpleError(_Nullary, ErrorType):
    __slots__ = ()
    _family = "ErrorType"


@dataclass(frozen=True, slots=True)
class PROTOCOL(_Variant, ProxyError):
    WORD = b"PROTOCOL"
    PAYLOAD = _wrapped(ErrorType)
    error: ErrorType


@dataclass(frozen=True, slots=True)
class BROKER(_Variant, ProxyError):
    WORD = b"BROKER"
    PAYLOAD = _wrapped(BrokerErrorType)
    error: BrokerErrorType


_declare(ProxyError, SimpleProxyError, "BASIC_AUTH NO_SESSION", [PROTOCOL, BROKER])


@dataclass(frozen=True, slots=True)
class CMD(_Variant, ErrorType):
    WORD = b"CMD"
    PAYLOAD = _wrapped(CommandError)
    error: CommandError


@dataclass(frozen=True, slots=True)
class PROXY(_Variant, ErrorType):
    WORD = b"PROXY"
    PAYLOAD = _wrapped(ProxyError)
    error: ProxyError


@dataclass(frozen=True, slots=True)
class BLOCKED(_Variant, ErrorType):
    WORD = b"BLOCKED"
    PAYLOAD = _wrapped(BlockingInfo)
    info: BlockingInfo

    def for_version(self, v: int) -> ErrorType:
        if v < BLOCKED_ENTITY_VERSION:
            return ErrorType.AUTH
        if v < CLIENT_NOTICES_VERSION and self.info.notice is not None:
            return BLOCKED(BlockingInfo(self.info.reason, None))
        return self


@dataclass(frozen=True, slots=True)
class STORE(_Variant, ErrorType):
    WORD = b"STORE"
    PAYLOAD = Field(str.encode, lambda r: safe_decode_utf8(r.tail()))
    text: str


_declare(
    ErrorType,
    SimpleError,
    "BLOCK SESSION AUTH SERVICE CRYPTO QUOTA NO_MSG LARGE_MSG EXPIRED INTERNAL DUPLICATE_",
    [CMD, PROXY, BLOCKED, STORE],
)
