"""SMP transport handshake: server hello, client hello, service response, version negotiation.

Mirrors simplexmq ``Transport.hs`` (``SMPServerHandshake``, ``SMPClientHandshake``,
``SMPServerHandshakeResponse``, ``CertChainPubKey``, ``smpServerHandshake``,
``smpClientHandshake``, ``blockEncryption``); see docs/protocol/smp.md (handshake).

Handshake messages are parsed leniently: trailing bytes are ignored to allow extensions
(``getHandshake``). The certificate chain and the signed session key are kept as opaque DER
(only their outer DER framing is checked here); ``hushwire.crypto.x509`` verifies them.

Server-side theory of operation: send :class:`ServerHello` for the offered range, read a
:class:`ClientHello`, then :func:`negotiate_server` returns the agreed version and whether
v11+ block encryption is on, or the :class:`~hushwire.smp.errors.TransportError` to close with
(``HANDSHAKE IDENTITY`` before ``VERSION``, as the reference checks them).
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final

from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.encoding.binary import bool_, large, maybe, parser_for_tag, short_string, word16
from hushwire.errors import DecodeError
from hushwire.limits import MAX_CERT_CHAIN, MIN_CERT_CHAIN
from hushwire.smp._reader import SmpReader, parse_lenient
from hushwire.smp.errors import HANDSHAKE, HandshakeError, TransportError
from hushwire.smp.version import (
    AUTH_CMDS_VERSION,
    DELETED_EVENT_VERSION,
    ENCRYPTED_BLOCK_VERSION,
    LEGACY_SERVER_RANGE,
    PROXY_SERVER_HANDSHAKE_VERSION,
    SERVICE_CERTS_VERSION,
    VersionRange,
)


def der_framing_ok(der: bytes) -> bool:
    """True iff ``der`` is exactly one DER SEQUENCE (tag, definite length, contents)."""
    if len(der) < 2 or der[0] != 0x30:
        return False
    n = der[1]
    if n < 0x80:
        return len(der) == 2 + n
    k = n - 0x80
    if not 1 <= k <= 4 or len(der) < 2 + k:
        return False
    length = int.from_bytes(der[2 : 2 + k], "big")
    return len(der) == 2 + k + length


def _der(r: SmpReader) -> bytes:
    der = r.large()
    if not der_framing_ok(der):
        raise DecodeError("malformed DER object")
    return der


@dataclass(frozen=True, slots=True)
class CertChainPubKey:
    """Certificate chain (leaf first) and a session key signed by the leaf (Transport.hs).

    Wire: count byte + ``Large`` DER per certificate, then ``Large`` DER of the X.509
    ``SignedExact`` over the key's SPKI. The parser accepts any non-empty chain as the
    reference parser does; :meth:`chain_length_ok` is the 2..4 rule the client applies.
    """

    cert_chain: tuple[bytes, ...]
    signed_key: bytes

    def __post_init__(self) -> None:
        if not 1 <= len(self.cert_chain) <= 255:
            raise ValueError("certificate chain must have 1..255 certificates")

    def encode(self) -> bytes:
        return (
            bytes((len(self.cert_chain),))
            + b"".join(large(c) for c in self.cert_chain)
            + large(self.signed_key)
        )

    @classmethod
    def parse(cls, r: SmpReader) -> CertChainPubKey:
        chain = r.non_empty(_der)
        return cls(tuple(chain), _der(r))

    def chain_length_ok(self) -> bool:
        return MIN_CERT_CHAIN <= len(self.cert_chain) <= MAX_CERT_CHAIN


# --------------------------------------------------------------------------- server hello


@dataclass(frozen=True, slots=True)
class ServerHello:
    """First handshake block, server to client (``SMPServerHandshake``).

    ``cert_key`` is only on the wire when ``version_range.max >= 7``; below that it is dropped
    when encoding and never parsed.
    """

    version_range: VersionRange
    session_id: bytes
    cert_key: CertChainPubKey | None = None

    def encode(self) -> bytes:
        out = self.version_range.encode() + short_string(self.session_id)
        if self.version_range.max >= AUTH_CMDS_VERSION and self.cert_key is not None:
            out += self.cert_key.encode()
        return out

    @classmethod
    def parse(cls, r: SmpReader) -> ServerHello:
        vr = VersionRange.parse(r)
        session_id = r.short_string()
        cert_key = r.optional(CertChainPubKey.parse) if vr.max >= AUTH_CMDS_VERSION else None
        return cls(vr, session_id, cert_key)

    @classmethod
    def decode(cls, data: bytes) -> ServerHello:
        """Parse an unpadded hello; trailing bytes are ignored."""
        return parse_lenient(data, cls.parse)


# --------------------------------------------------------------------------- client hello


class ServiceRole(enum.Enum):
    """``SMPServiceRole``: the role of a service client certificate."""

    MESSAGING = "M"
    NOTIFIER = "N"
    PROXY = "P"

    @classmethod
    def parse(cls, r: SmpReader) -> ServiceRole:
        try:
            return cls(r.char().decode("latin-1"))
        except ValueError:
            raise DecodeError("bad SMPServiceRole") from None


@dataclass(frozen=True, slots=True)
class ClientService:
    """``SMPClientHandshakeService``: role and service certificate with a signed key."""

    role: ServiceRole
    cert_key: CertChainPubKey

    def encode(self) -> bytes:
        return self.role.value.encode() + self.cert_key.encode()

    @classmethod
    def parse(cls, r: SmpReader) -> ClientService:
        return cls(ServiceRole.parse(r), CertChainPubKey.parse(r))


def _x25519_key(r: SmpReader) -> PublicKey:
    key = PublicKey.from_der(r.short_string())
    if key.alg is not KeyAlg.X25519:
        raise DecodeError("X25519 key expected")
    return key


@dataclass(frozen=True, slots=True)
class ClientHello:
    """Second handshake block, client to server (``SMPClientHandshake``).

    Fields beyond what ``version`` carries are dropped when encoding and default when
    decoding: the session key from v7, ``proxy_server`` from v14, ``client_service`` from v16.
    """

    version: int
    key_hash: bytes
    session_key: PublicKey | None = None
    proxy_server: bool = False
    client_service: ClientService | None = None

    def __post_init__(self) -> None:
        if self.session_key is not None and self.session_key.alg is not KeyAlg.X25519:
            raise ValueError("the client session key must be X25519")

    def encode(self) -> bytes:
        v = self.version
        out = word16(v) + short_string(self.key_hash)
        if v >= AUTH_CMDS_VERSION and self.session_key is not None:
            out += short_string(self.session_key.to_der())
        if v >= PROXY_SERVER_HANDSHAKE_VERSION:
            out += bool_(self.proxy_server)
        if v >= SERVICE_CERTS_VERSION:
            out += maybe(self.client_service, ClientService.encode)
        return out

    @classmethod
    def parse(cls, r: SmpReader) -> ClientHello:
        v = r.word16()
        key_hash = r.short_string()
        session_key = r.optional(_x25519_key) if v >= AUTH_CMDS_VERSION else None
        proxy_server = r.bool_() if v >= PROXY_SERVER_HANDSHAKE_VERSION else False
        service = r.maybe(ClientService.parse) if v >= SERVICE_CERTS_VERSION else None
        return cls(v, key_hash, session_key, proxy_server, service)

    @classmethod
    def decode(cls, data: bytes) -> ClientHello:
        """Parse an unpadded hello; trailing bytes are ignored."""
        return parse_lenient(data, cls.parse)


# --------------------------------------------------------------------------- service response


@dataclass(frozen=True, slots=True)
class ServiceAccepted:
    """``'R' serviceId``: third handshake block when the client sent a service certificate."""

    TAG: ClassVar[bytes] = b"R"
    service_id: bytes

    def encode(self) -> bytes:
        return self.TAG + short_string(self.service_id)

    @classmethod
    def parse(cls, r: SmpReader) -> ServiceAccepted:
        return cls(r.short_string())


@dataclass(frozen=True, slots=True)
class ServiceRejected:
    """``'E' transportError``: the service certificate was refused."""

    TAG: ClassVar[bytes] = b"E"
    error: TransportError

    def encode(self) -> bytes:
        return self.TAG + self.error.encode()

    @classmethod
    def parse(cls, r: SmpReader) -> ServiceRejected:
        return cls(TransportError.parse(r))


ServiceResponse = ServiceAccepted | ServiceRejected
_SERVICE_RESPONSES: Final[dict[bytes, Callable[[SmpReader], ServiceResponse]]] = {
    ServiceAccepted.TAG: ServiceAccepted.parse,
    ServiceRejected.TAG: ServiceRejected.parse,
}


def _service_response(r: SmpReader) -> ServiceResponse:
    return parser_for_tag(r, _SERVICE_RESPONSES, "SMPServerHandshakeResponse")(r)


def decode_service_response(data: bytes) -> ServiceResponse:
    """Parse an unpadded service response; trailing bytes are ignored."""
    return parse_lenient(data, _service_response)


# --------------------------------------------------------------------------- negotiation


@dataclass(frozen=True, slots=True)
class Negotiated:
    """Outcome of a successful handshake."""

    version: int
    version_range: VersionRange
    block_encryption: bool


def server_version_range(alpn: str | None, configured: VersionRange) -> VersionRange:
    """The range a server offers: legacy 6..6 when TLS negotiated no ALPN (Transport.hs).

    Over WebSocket the transport passes its own non-None marker to offer the full range.
    """
    return configured if alpn is not None else LEGACY_SERVER_RANGE


def negotiate_server(
    offered: VersionRange, key_hash: bytes, hello: ClientHello
) -> Negotiated | TransportError:
    """Server side: check the client's hello against what the server offered.

    Returns the agreed version (the client's choice), the capped range ``offered.min..v``
    and whether v11+ block encryption is on (client sent a session key, is not an SMP proxy);
    or ``HANDSHAKE IDENTITY`` if the key hash differs (constant-time compare), else ``VERSION``
    if the version is outside the offered range.
    """
    if not hmac.compare_digest(hello.key_hash, key_hash):
        return HANDSHAKE(HandshakeError.IDENTITY)
    vr = offered.capped(hello.version)
    if vr is None:
        return TransportError.VERSION
    encrypt = (
        hello.version >= ENCRYPTED_BLOCK_VERSION
        and hello.session_key is not None
        and not hello.proxy_server
    )
    return Negotiated(hello.version, vr, encrypt)


def negotiate_client(
    server: VersionRange,
    client: VersionRange,
    *,
    server_has_key: bool,
    client_has_key: bool,
    proxy_server: bool = False,
) -> Negotiated | TransportError:
    """Client side: pick the highest common version (``smpClientHandshake``).

    An SMP proxy talking to a destination older than v14 caps its range at v10 so that
    transport encryption stays off between them (Transport.hs).
    """
    rng = client
    if proxy_server and server.max < PROXY_SERVER_HANDSHAKE_VERSION:
        rng = VersionRange(client.min, max(client.min, DELETED_EVENT_VERSION))
    common = server.intersect(rng)
    if common is None:
        return TransportError.VERSION
    v = common.max
    encrypt = (
        v >= ENCRYPTED_BLOCK_VERSION and server_has_key and client_has_key and not proxy_server
    )
    return Negotiated(v, common, encrypt)
