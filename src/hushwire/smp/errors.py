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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final, Self, TypeVar

from hushwire.encoding.binary import INT64_MAX, INT64_MIN, short_string
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

_T = TypeVar("_T")
_SP: Final = b" "


def _parse_word_sum(
    r: SmpReader,
    nullary: Mapping[bytes, _T],
    variants: Mapping[bytes, Callable[[SmpReader], _T]],
    what: str,
) -> _T:
    """A sum type sent as a word (``takeTill (== ' ')``): a nullary variant by its word, else
    the variant whose word it is parses what follows (its space and payload)."""
    w = r.take_till_space()
    simple = nullary.get(w)
    if simple is not None:
        return simple
    variant = variants.get(w)
    if variant is None:
        raise DecodeError(f"bad {what}")
    return variant(r)


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


def _register(base: type[_T], cls: Callable[[str], _T], names: Iterable[str]) -> dict[bytes, _T]:
    """Make the singletons of ``names`` and set each as ``base.<name>``."""
    table: dict[bytes, _T] = {}
    for name in names:
        table[name.encode()] = inst = cls(name)
        setattr(base, name, inst)
    return table


@dataclass(frozen=True, slots=True)
class _TextVariant:
    """A variant whose payload is a shortString (``CONNECT``, ``RESPONSE`` ...)."""

    WORD: ClassVar[bytes]
    text: bytes

    def encode(self) -> bytes:
        return self.WORD + _SP + short_string(self.text)

    @classmethod
    def parse_payload(cls, r: SmpReader) -> Self:
        r.sp()
        return cls(r.short_string())


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
        return _parse_word_sum(r, _TRANSPORT_SIMPLE, _TRANSPORT_VARIANTS, "TransportError")

    @staticmethod
    def decode(data: bytes) -> TransportError:
        return parse_all(data, TransportError.parse)


class SimpleTransportError(_Nullary, TransportError):
    __slots__ = ()
    _family = "TransportError"


@dataclass(frozen=True, slots=True)
class HANDSHAKE(TransportError):
    WORD: ClassVar[bytes] = b"HANDSHAKE"
    error: HandshakeError

    def encode(self) -> bytes:
        return self.WORD + _SP + self.error.value.encode()

    @classmethod
    def parse_payload(cls, r: SmpReader) -> HANDSHAKE:
        r.sp()
        word = r.take_word()
        try:
            return cls(HandshakeError(word.decode("ascii")))
        except (UnicodeDecodeError, ValueError):
            raise DecodeError("bad HandshakeError") from None


_TRANSPORT_SIMPLE: Final[dict[bytes, TransportError]] = _register(
    TransportError, SimpleTransportError, ("BLOCK", "VERSION", "LARGE_MSG", "SESSION", "NO_AUTH")
)
_TRANSPORT_VARIANTS: Final[dict[bytes, Callable[[SmpReader], TransportError]]] = {
    HANDSHAKE.WORD: HANDSHAKE.parse_payload,
}


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
        return _parse_word_sum(r, _NETWORK_SIMPLE, _NETWORK_VARIANTS, "NetworkError")


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


_NETWORK_SIMPLE: Final[dict[bytes, NetworkError]] = _register(
    NetworkError, SimpleNetworkError, ("UNKNOWNCA", "FAILED", "TIMEOUT")
)
_NETWORK_VARIANTS: Final[dict[bytes, Callable[[SmpReader], NetworkError]]] = {
    CONNECT.WORD: CONNECT.parse_payload,
    TLS.WORD: TLS.parse_payload,
    SUBSCRIBE.WORD: SUBSCRIBE.parse_payload,
}


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
        return _parse_word_sum(r, _BROKER_SIMPLE, _BROKER_VARIANTS, "BrokerErrorType")


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
class NETWORK(BrokerErrorType):
    """Always encoded as bare ``NETWORK`` (the detail is dropped, as the reference does)."""

    WORD: ClassVar[bytes] = b"NETWORK"
    error: NetworkError = NetworkError.FAILED

    def encode(self) -> bytes:
        return self.WORD

    @classmethod
    def parse_payload(cls, r: SmpReader) -> NETWORK:
        # `_smpP <|> pure NEFailedError`: the detail is optional on the wire.
        detail = r.optional(_space_network_error)
        return cls(NetworkError.FAILED if detail is None else detail)


@dataclass(frozen=True, slots=True)
class TRANSPORT(BrokerErrorType):
    WORD: ClassVar[bytes] = b"TRANSPORT"
    error: TransportError

    def encode(self) -> bytes:
        return self.WORD + _SP + self.error.encode()

    @classmethod
    def parse_payload(cls, r: SmpReader) -> TRANSPORT:
        r.sp()
        return cls(TransportError.parse(r))


_BROKER_SIMPLE: Final[dict[bytes, BrokerErrorType]] = _register(
    BrokerErrorType, SimpleBrokerError, ("TIMEOUT", "HOST", "NO_SERVICE")
)
_BROKER_VARIANTS: Final[dict[bytes, Callable[[SmpReader], BrokerErrorType]]] = {
    RESPONSE.WORD: RESPONSE.parse_payload,
    UNEXPECTED.WORD: UNEXPECTED.parse_payload,
    TRANSPORT.WORD: TRANSPORT.parse_payload,
    NETWORK.WORD: NETWORK.parse_payload,
}


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
        return _parse_word_sum(r, _PROXY_SIMPLE, _PROXY_VARIANTS, "ProxyError")


class SimpleProxyError(_Nullary, ProxyError):
    __slots__ = ()
    _family = "ProxyError"


@dataclass(frozen=True, slots=True)
class PROTOCOL(ProxyError):
    WORD: ClassVar[bytes] = b"PROTOCOL"
    error: ErrorType

    def encode(self) -> bytes:
        return self.WORD + _SP + self.error.encode()

    @classmethod
    def parse_payload(cls, r: SmpReader) -> PROTOCOL:
        r.sp()
        return cls(ErrorType.parse(r))


@dataclass(frozen=True, slots=True)
class BROKER(ProxyError):
    WORD: ClassVar[bytes] = b"BROKER"
    error: BrokerErrorType

    def encode(self) -> bytes:
        return self.WORD + _SP + self.error.encode()

    @classmethod
    def parse_payload(cls, r: SmpReader) -> BROKER:
        r.sp()
        return cls(BrokerErrorType.parse(r))


_PROXY_SIMPLE: Final[dict[bytes, ProxyError]] = _register(
    ProxyError, SimpleProxyError, ("BASIC_AUTH", "NO_SESSION")
)
_PROXY_VARIANTS: Final[dict[bytes, Callable[[SmpReader], ProxyError]]] = {
    PROTOCOL.WORD: PROTOCOL.parse_payload,
    BROKER.WORD: BROKER.parse_payload,
}


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
        return _parse_word_sum(r, _ERROR_SIMPLE, _ERROR_VARIANTS, "ErrorType")

    @staticmethod
    def decode(data: bytes) -> ErrorType:
        return parse_all(data, ErrorType.parse)


class SimpleError(_Nullary, ErrorType):
    __slots__ = ()
    _family = "ErrorType"


@dataclass(frozen=True, slots=True)
class CMD(ErrorType):
    WORD: ClassVar[bytes] = b"CMD"
    error: CommandError

    def encode(self) -> bytes:
        return self.WORD + _SP + self.error.encode()

    @classmethod
    def parse_payload(cls, r: SmpReader) -> CMD:
        r.sp()
        return cls(CommandError.parse(r))


@dataclass(frozen=True, slots=True)
class PROXY(ErrorType):
    WORD: ClassVar[bytes] = b"PROXY"
    error: ProxyError

    def encode(self) -> bytes:
        return self.WORD + _SP + self.error.encode()

    @classmethod
    def parse_payload(cls, r: SmpReader) -> PROXY:
        r.sp()
        return cls(ProxyError.parse(r))


@dataclass(frozen=True, slots=True)
class BLOCKED(ErrorType):
    WORD: ClassVar[bytes] = b"BLOCKED"
    info: BlockingInfo

    def encode(self) -> bytes:
        return self.WORD + _SP + self.info.encode()

    @classmethod
    def parse_payload(cls, r: SmpReader) -> BLOCKED:
        r.sp()
        return cls(BlockingInfo.parse(r))

    def for_version(self, v: int) -> ErrorType:
        if v < BLOCKED_ENTITY_VERSION:
            return ErrorType.AUTH
        if v < CLIENT_NOTICES_VERSION and self.info.notice is not None:
            return BLOCKED(BlockingInfo(self.info.reason, None))
        return self


@dataclass(frozen=True, slots=True)
class STORE(ErrorType):
    WORD: ClassVar[bytes] = b"STORE"
    text: str

    def encode(self) -> bytes:
        return self.WORD + _SP + self.text.encode("utf-8")

    @classmethod
    def parse_payload(cls, r: SmpReader) -> STORE:
        r.sp()
        return cls(safe_decode_utf8(r.tail()))


_ERROR_SIMPLE: Final[dict[bytes, ErrorType]] = _register(
    ErrorType,
    SimpleError,
    "BLOCK SESSION AUTH SERVICE CRYPTO QUOTA NO_MSG LARGE_MSG EXPIRED INTERNAL DUPLICATE_".split(),
)
_ERROR_VARIANTS: Final[dict[bytes, Callable[[SmpReader], ErrorType]]] = {
    CMD.WORD: CMD.parse_payload,
    PROXY.WORD: PROXY.parse_payload,
    BLOCKED.WORD: BLOCKED.parse_payload,
    STORE.WORD: STORE.parse_payload,
}
