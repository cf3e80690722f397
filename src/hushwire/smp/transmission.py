"""SMP transmissions: layout, authorized bytes and the decode pipelines of both ends.

Mirrors simplexmq ``Protocol.hs`` (``transmissionP``, ``tEncodeAuth``, ``decodeTAuthBytes``,
``encodeTransmission``, ``encodeTransmissionForAuth``, ``tDecodeServer``, ``tDecodeClient``);
see docs/protocol/smp.md (transmissions).

Client to server::

    shortString auth     -- empty | 64 (Ed25519) | 114 (Ed448) | 80 (CbAuthenticator)
    [v16+, auth non-empty: Maybe shortString(64-byte Ed25519 service signature)]
    [v6 only: shortString sessionId]
    shortString corrId | shortString entityId | command

Server to client: the same with an empty auth (one 0x00 byte, at every version).

The bytes a client signs are ``shortString(sessionId) ‖ shortString(corrId) ‖
shortString(entityId) ‖ command`` at every version (:func:`authorized_bytes`); from v7 the
session id is implied rather than sent.

Server decode precedence (:func:`decode_client_transmission`): unparsable transmission ->
``BLOCK`` (empty corrId and entity); v6 session mismatch -> ``SESSION``; bad auth length ->
``BLOCK`` (these two keep the corrId, entity empty); unknown tag -> ``CMD UNKNOWN``; bad
parameters -> ``CMD SYNTAX``; credential shape -> ``CMD NO_AUTH|HAS_AUTH|NO_ENTITY`` (these
echo corrId and entity). Queue lookup and authorization are the server's job.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from typing import Final

from hushwire.crypto.keys import KeyAlg
from hushwire.crypto.nacl import CB_AUTHENTICATOR_SIZE
from hushwire.encoding.binary import short_string
from hushwire.errors import DecodeError
from hushwire.smp._reader import SmpReader, parse_all
from hushwire.smp.block import decode_batch
from hushwire.smp.commands import (
    ACK,
    ERR,
    PING,
    SEND,
    SUB,
    BrokerMsg,
    Command,
    CommandDecodeError,
    MsgFlags,
    check_credentials,
    check_response_credentials,
    decode_command,
    decode_response,
)
from hushwire.smp.errors import CMD, ErrorType
from hushwire.smp.ids import NO_CORR_ID, NO_ENTITY, CorrId, EntityId, MsgId
from hushwire.smp.version import AUTH_CMDS_VERSION, SERVICE_CERTS_VERSION

ED25519_SIGNATURE_SIZE: Final = KeyAlg.ED25519.signature_size
ED448_SIGNATURE_SIZE: Final = KeyAlg.ED448.signature_size


class AuthKind(enum.Enum):
    """What the non-empty auth field of a transmission is, by its length."""

    ED25519 = "Ed25519 signature"
    ED448 = "Ed448 signature"
    AUTHENTICATOR = "CbAuthenticator"

    @property
    def key_alg(self) -> KeyAlg:
        """Algorithm of the queue key that can verify this auth."""
        return _KEY_ALG[self]


_KEY_ALG: Final = {
    AuthKind.ED25519: KeyAlg.ED25519,
    AuthKind.ED448: KeyAlg.ED448,
    AuthKind.AUTHENTICATOR: KeyAlg.X25519,
}
_AUTH_BY_SIZE: Final = {
    ED25519_SIGNATURE_SIZE: AuthKind.ED25519,
    ED448_SIGNATURE_SIZE: AuthKind.ED448,
    CB_AUTHENTICATOR_SIZE: AuthKind.AUTHENTICATOR,
}


@dataclass(frozen=True, slots=True)
class TransmissionAuth:
    """A signature or CbAuthenticator over the authorized bytes."""

    kind: AuthKind
    data: bytes = b""

    def __repr__(self) -> str:
        return f"TransmissionAuth({self.kind.name}, {len(self.data)} bytes)"


def decode_auth(auth: bytes) -> TransmissionAuth | None:
    """None for an empty auth; DecodeError for a length that is none of 64, 114, 80."""
    if not auth:
        return None
    kind = _AUTH_BY_SIZE.get(len(auth))
    if kind is None:
        raise DecodeError("bad authorization length")
    return TransmissionAuth(kind, auth)


@dataclass(frozen=True, slots=True)
class RawTransmission:
    """A transmission split into its fields, command still undecoded (``RawTransmission``)."""

    auth: bytes
    service_sig: bytes | None
    authorized: bytes
    """What the auth covers: always starts with ``shortString(sessionId)``."""
    session_id: bytes
    """As sent (v6 only); empty from v7."""
    corr_id: CorrId
    entity_id: EntityId
    command: bytes


def _service_sig(r: SmpReader) -> bytes:
    sig = r.short_string()
    if len(sig) != ED25519_SIGNATURE_SIZE:
        raise DecodeError("service signature must be Ed25519")
    return sig


def parse_transmission(data: bytes, version: int, session_id: bytes) -> RawTransmission:
    """Split one transmission received at ``version`` (``transmissionP``); strict."""
    r = SmpReader(data)
    auth = r.short_string()
    service_sig = r.maybe(_service_sig) if version >= SERVICE_CERTS_VERSION and auth else None
    authorized = r.tail()
    imply = version >= AUTH_CMDS_VERSION

    def inner(t: SmpReader) -> tuple[bytes, bytes, bytes, bytes]:
        sess = b"" if imply else t.short_string()
        return sess, t.short_string(), t.short_string(), t.tail()

    sess, corr_id, entity_id, command = parse_all(authorized, inner)
    if imply:
        authorized = short_string(session_id) + authorized
    return RawTransmission(
        auth, service_sig, authorized, sess, CorrId(corr_id), EntityId(entity_id), command
    )


def authorized_bytes(
    session_id: bytes, corr_id: bytes, entity_id: bytes, command_bytes: bytes
) -> bytes:
    """The bytes a client signs or authenticates, at every version."""
    return (
        short_string(session_id) + short_string(corr_id) + short_string(entity_id) + (command_bytes)
    )


def encode_client_transmission(
    version: int,
    session_id: bytes,
    corr_id: bytes,
    entity_id: bytes,
    command_bytes: bytes,
    auth: bytes = b"",
    service_sig: bytes | None = None,
) -> bytes:
    """One client transmission (without the batch's Large prefix).

    ``command_bytes`` is ``Command.encode(version)``; ``auth`` is made over
    :func:`authorized_bytes`. A ``service_sig`` needs a non-empty ``auth`` and v16+.
    """
    if auth and len(auth) not in _AUTH_BY_SIZE:
        raise ValueError("auth must be empty, 64, 114 or 80 bytes")
    out = short_string(auth)
    if service_sig is not None:
        if not auth or version < SERVICE_CERTS_VERSION:
            raise ValueError("a service signature needs v16+ and a non-empty auth")
        if len(service_sig) != ED25519_SIGNATURE_SIZE:
            raise ValueError("service signature must be 64 bytes (Ed25519)")
        out += b"1" + short_string(service_sig)
    elif auth and version >= SERVICE_CERTS_VERSION:
        out += b"0"
    if version < AUTH_CMDS_VERSION:
        out += short_string(session_id)
    return out + short_string(corr_id) + short_string(entity_id) + command_bytes


def encode_server_transmission(
    version: int, session_id: bytes, corr_id: bytes, entity_id: bytes, response: BrokerMsg
) -> bytes:
    """One server transmission: empty auth, [v6 session id], corrId, entityId, response."""
    if version >= AUTH_CMDS_VERSION and len(corr_id) <= 255 and len(entity_id) <= 255:
        head = bytes((0, len(corr_id))) + corr_id + bytes((len(entity_id),)) + entity_id
        return head + response.encode(version)
    out = b"\x00"
    if version < AUTH_CMDS_VERSION:
        out += short_string(session_id)
    return out + short_string(corr_id) + short_string(entity_id) + response.encode(version)


# --------------------------------------------------------------------------- server side


def _parse_in_session(
    data: bytes, version: int, session_id: bytes
) -> RawTransmission | tuple[CorrId, ErrorType]:
    """:func:`parse_transmission` and, below v7, the session id check (constant time); on
    failure the corrId to answer with and the error (``BLOCK`` or ``SESSION``)."""
    try:
        raw = parse_transmission(data, version, session_id)
    except DecodeError:
        return NO_CORR_ID, ErrorType.BLOCK
    if version < AUTH_CMDS_VERSION and not hmac.compare_digest(raw.session_id, session_id):
        return raw.corr_id, ErrorType.SESSION
    return raw


@dataclass(frozen=True, slots=True)
class ClientRequest:
    """A client transmission that passed parsing and the credential-shape check."""

    corr_id: CorrId
    entity_id: EntityId
    command: Command
    auth: TransmissionAuth | None
    service_sig: bytes | None
    authorized: bytes


@dataclass(frozen=True, slots=True)
class RequestError:
    """A client transmission the server answers with ``ERR error`` (corrId/entity as given)."""

    corr_id: CorrId
    entity_id: EntityId
    error: ErrorType

    def encode(self, version: int, session_id: bytes) -> bytes:
        """The ``ERR`` transmission to send back."""
        return encode_server_transmission(
            version, session_id, self.corr_id, self.entity_id, ERR(self.error)
        )


def decode_client_transmission(
    data: bytes, version: int, session_id: bytes
) -> ClientRequest | RequestError:
    """Server side: decode one client transmission (``tDecodeServer``); never raises.

    A well-formed SEND, ACK, SUB or PING at v7+ takes :func:`decode_hot_request`; anything
    else, and every error, the general path, so the answers to bad input are the same.
    """
    return _decode_client(data, version, session_id, short_string(session_id))


def _decode_client(
    data: bytes, version: int, session_id: bytes, session_prefix: bytes
) -> ClientRequest | RequestError:
    if version >= AUTH_CMDS_VERSION:
        hot = decode_hot_request(data, version, session_prefix)
        if hot is not None:
            return hot
    raw = _parse_in_session(data, version, session_id)
    if isinstance(raw, tuple):
        return RequestError(raw[0], NO_ENTITY, raw[1])
    return decode_request(raw, version)


_FLAGS: Final = {b"T": MsgFlags(True), b"F": MsgFlags(False)}
_SUB: Final = SUB()
_PING: Final = PING()


def decode_hot_request(data: bytes, version: int, session_prefix: bytes) -> ClientRequest | None:
    """The relay's hot commands (SEND, ACK, SUB, PING) in one pass over a v7+ transmission,
    lengths checked once; None for anything else or anything wrong (the caller then takes
    the general path, which gives the same request or the protocol's error).

    ``session_prefix`` is ``shortString(sessionId)``, the implied start of the authorized
    bytes. On success the result equals what :func:`parse_transmission`,
    :func:`decode_request` give.
    """
    try:
        start = data[0] + 1
        auth = data[1:start]
        if auth and version >= SERVICE_CERTS_VERSION:
            if data[start] != 0x30:  # Maybe tag '0': no service signature
                return None
            start += 1
        corr_end = start + 1 + data[start]
        ent_end = corr_end + 1 + data[corr_end]
    except IndexError:
        return None
    if ent_end > len(data):
        return None
    kind = None
    if auth:
        kind = _AUTH_BY_SIZE.get(len(auth))
        if kind is None:
            return None
    entity = data[corr_end + 1 : ent_end]
    command = data[ent_end:]
    cmd: Command
    if command[:5] == b"SEND ":
        flags = _FLAGS.get(command[5:6])
        body_at = command.find(b" ", 6) + 1
        if flags is None or not body_at or not entity:
            return None
        cmd = SEND(flags, command[body_at:])
    elif command[:4] == b"ACK ":
        if len(command) < 5 or len(command) != 5 + command[4] or not (auth and entity):
            return None
        cmd = ACK(MsgId(command[5:]))
    elif command == b"SUB":
        if not (auth and entity):
            return None
        cmd = _SUB
    elif command == b"PING":
        if auth or entity:
            return None
        cmd = _PING
    else:
        return None
    return ClientRequest(
        CorrId(data[start + 1 : corr_end]),
        EntityId(entity),
        cmd,
        TransmissionAuth(kind, auth) if kind is not None else None,
        None,
        session_prefix + data[start:],
    )


def decode_request(raw: RawTransmission, version: int) -> ClientRequest | RequestError:
    """The command of a parsed client transmission, after its auth and credential shape.

    Precedence: bad auth length -> ``BLOCK`` (corrId kept); unknown or malformed command ->
    ``CMD UNKNOWN|SYNTAX``; credential shape -> ``CMD NO_AUTH|HAS_AUTH|NO_ENTITY``. Never
    raises.
    """
    try:
        auth = decode_auth(raw.auth)
    except DecodeError:
        return RequestError(raw.corr_id, NO_ENTITY, ErrorType.BLOCK)
    try:
        cmd = decode_command(version, raw.command)
    except CommandDecodeError as e:
        return RequestError(raw.corr_id, raw.entity_id, CMD(e.error))
    bad = check_credentials(cmd, auth is not None, raw.entity_id)
    if bad is not None:
        return RequestError(raw.corr_id, raw.entity_id, CMD(bad))
    return ClientRequest(raw.corr_id, raw.entity_id, cmd, auth, raw.service_sig, raw.authorized)


def decode_client_batch(
    batch: bytes, version: int, session_id: bytes
) -> list[ClientRequest | RequestError]:
    """Server side: decode an unpadded batch; a malformed batch is one ``BLOCK`` error."""
    try:
        items = decode_batch(batch)
    except DecodeError:
        return [RequestError(NO_CORR_ID, NO_ENTITY, ErrorType.BLOCK)]
    prefix = short_string(session_id)
    return [_decode_client(t, version, session_id, prefix) for t in items]


# --------------------------------------------------------------------------- client side


@dataclass(frozen=True, slots=True)
class ServerTransmission:
    """A server transmission as a client sees it (``tDecodeClient``).

    ``result`` is the decoded response (which may itself be ``ERR``), or the ``ErrorType``
    the transmission failed to decode with (``BLOCK``, ``SESSION``, ``CMD ...``).
    """

    corr_id: CorrId
    entity_id: EntityId
    result: BrokerMsg | ErrorType


def decode_server_transmission(data: bytes, version: int, session_id: bytes) -> ServerTransmission:
    """Client side: decode one server transmission; never raises."""
    raw = _parse_in_session(data, version, session_id)
    if isinstance(raw, tuple):
        return ServerTransmission(raw[0], NO_ENTITY, raw[1])
    try:
        msg = decode_response(version, raw.command)
    except CommandDecodeError as e:
        return ServerTransmission(raw.corr_id, raw.entity_id, CMD(e.error))
    bad = check_response_credentials(msg, raw.entity_id)
    if bad is not None:
        return ServerTransmission(raw.corr_id, raw.entity_id, CMD(bad))
    return ServerTransmission(raw.corr_id, raw.entity_id, msg)


def decode_server_batch(batch: bytes, version: int, session_id: bytes) -> list[ServerTransmission]:
    """Client side: decode an unpadded batch; a malformed batch is one ``BLOCK`` error."""
    try:
        items = decode_batch(batch)
    except DecodeError:
        return [ServerTransmission(NO_CORR_ID, NO_ENTITY, ErrorType.BLOCK)]
    return [decode_server_transmission(t, version, session_id) for t in items]
