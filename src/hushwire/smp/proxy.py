"""SMP private message routing (v8+), sans I/O: the forwarded layers of all three roles.

Mirrors simplexmq ``Simplex.Messaging.Protocol`` (``FwdTransmission``, ``FwdResponse``,
``paddedProxiedTLength``), ``Simplex.Messaging.Client`` (``connectSMPProxiedRelay``,
``proxySMPCommand``, ``forwardSMPTransmission``, ``smpProxyError``),
``Simplex.Messaging.Server`` (the ``PRXY``/``PFWD`` branch of ``processProxiedCmd`` and
``processForwardedCommand``) and ``Simplex.Messaging.Crypto`` (``cbEncrypt``,
``cbEncryptNoPad``, ``cbDecrypt``, ``cbDecryptNoPad``, ``cbNonce``, ``reverseNonce``).
The protocol is described in docs/protocol/smp.md. Everything here is a pure function of
its arguments: keys, nonces and the clock are passed in, nothing touches a socket.

Theory of operation
-------------------
Three ordinary SMP sessions: sender C to proxy P, P to destination D (one session per D,
shared by all of P's clients, with session id ``sessId``), and the recipient's own session
to D. A sender command travels C -> P -> D as two nested NaCl boxes, and its single
response travels back inside the same two layers::

    C --PFWD(v, cmdKey, EncTransmission)--> P --RFWD(box_pd(N', FwdTransmission))--> D
    C <--PRES(EncResponse)----------------- P <--RRES(box_pd(rev N', FwdResponse))-- D

1. C sends ``PRXY server [password]``; P answers ``PKEY sessId vr certKey`` with the P-D
   session id, the version range capped to 8..17 and D's certificate chain plus the
   session key D signed in its server hello. :func:`accept_pkey` (client) checks the chain
   against the destination's key hash and picks the version ``v``; :func:`prxy_allowed`
   and :func:`pkey_answer` are P's two decisions.
2. :func:`seal_forwarded` (client, ``proxySMPCommand``): a fresh X25519 ``cmdKey`` and a
   random 24-byte nonce N, which is at once the PFWD corrId, the inner transmission's
   corrId and the box nonce. The inner transmission is encoded at ``v`` for the P-D
   session (its session id is implied and authorized, a CbAuthenticator uses D's session
   key from PKEY with nonce N), batched (``count=1 ‖ Large``), padded to 16226 bytes and
   boxed under ``X25519(D's session key, cmdKey)``: the 16242-byte ``EncTransmission``.
3. :func:`wrap_rfwd` (proxy, ``forwardSMPTransmission``): a fresh random nonce N' is the
   RFWD corrId; ``FwdTransmission = ss(N) ‖ Word16 v ‖ ss(cmdKey) ‖ Tail(enc)`` is boxed,
   unpadded, under the P-D handshake secret ``X25519(D's hello key, P's hello key)``.
4. :func:`open_rfwd` (destination, ``processForwardedCommand``) opens both layers, parses
   exactly one transmission at ``v`` with the P-D session id and admits only SEND, SKEY,
   LKEY and LGET. The relay then verifies and runs the command as if sent directly at
   version ``v`` and gives the single response to :func:`seal_rres`, which boxes it back
   with the byte-reversed nonces of both layers (the inner layer padded to 16226 again).
5. :func:`unwrap_rres` / :func:`proxy_reply` (proxy): open the outer layer with reversed
   N' and pass the inner ``EncResponse`` on unchanged as ``PRES`` (corrId N, entity
   sessId). P never sees the queue id, the command or its result.
6. :func:`open_forwarded_response` (client): open with reversed N and decode the single
   transmission; an ``ERR`` inside is the destination's answer (AUTH, QUOTA...), while an
   ``ERR`` answered to PFWD itself is the proxy's.

Failures: decoders raise only :class:`~hushwire.errors.DecodeError`, every failed box is
one opaque :class:`~hushwire.errors.CryptoError`; a role's answer to bad input is returned
as the :class:`~hushwire.smp.errors.ErrorType` the reference answers (see
:data:`FORWARDED_COMMANDS` and the ``ERR_*`` constants). Encoders raise ``ValueError`` for
input a caller should never produce (wrong key type, nonce size, oversized transmission).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey
from hushwire.crypto.nacl import (
    cb_authenticate,
    cb_decrypt,
    cb_encrypt,
    cb_nonce,
    dh_box_key,
    reverse_nonce,
)
from hushwire.encoding.binary import short_string, word16
from hushwire.errors import CryptoError, DecodeError
from hushwire.limits import MAX_SHORT_STRING
from hushwire.smp._reader import SmpReader, parse_all
from hushwire.smp.address import SMPServer
from hushwire.smp.block import decode_batch, encode_batch
from hushwire.smp.commands import (
    ERR,
    LGET,
    LKEY,
    PFWD,
    PKEY,
    PRES,
    RFWD,
    RRES,
    SEND,
    SKEY,
    BrokerMsg,
    Command,
    parse_dh_key,
)
from hushwire.smp.errors import (
    BROKER,
    CMD,
    HANDSHAKE,
    PROTOCOL,
    PROXY,
    RESPONSE,
    TRANSPORT,
    UNEXPECTED,
    CommandError,
    ErrorType,
    HandshakeError,
    ProxyError,
    TransportError,
)
from hushwire.smp.hello import CertChainPubKey
from hushwire.smp.ids import NO_CORR_ID, NO_ENTITY, CorrId, EntityId
from hushwire.smp.transmission import (
    ClientRequest,
    RequestError,
    ServerTransmission,
    decode_request,
    decode_server_batch,
    parse_transmission,
)
from hushwire.smp.version import (
    AUTH_CMDS_VERSION,
    PROXIED_SMP_RANGE,
    SENDING_PROXY_VERSION,
    SERVICE_CERTS_VERSION,
    SUPPORTED_SMP_RANGE,
    VersionRange,
    compatible,
)

PADDED_PROXIED_LENGTH: Final = 16226
"""Padded size of the inner batch both ways (Protocol.hs ``paddedProxiedTLength``)."""
ENC_TRANSMISSION_SIZE: Final = PADDED_PROXIED_LENGTH + 16
"""``EncTransmission`` / ``EncResponse``: Poly1305 tag ‖ padded batch, 16242 bytes."""
FWD_NONCE_SIZE: Final = 24
"""Size of the nonces N and N' (``randomCbNonce``); both are sent as the corrIds."""
_MAX_INNER_BATCH: Final = PADDED_PROXIED_LENGTH - 2

FORWARDED_COMMANDS: Final = (SEND, SKEY, LKEY, LGET)
"""The only commands a destination runs when forwarded; any other decoded command is
answered ``ERR CMD PROHIBITED`` inside the response (Server.hs ``rejectOrVerify``)."""

# The reference's answers, by situation (Server.hs processProxiedCmd /
# processForwardedCommand, Client.hs connectSMPProxiedRelay / smpProxyError).
ERR_BASIC_AUTH: Final[ErrorType] = PROXY(ProxyError.BASIC_AUTH)
"""PRXY when proxying is off or the password differs from the relay's queue password."""
ERR_NO_SESSION: Final[ErrorType] = PROXY(ProxyError.NO_SESSION)
"""PFWD whose entity is no live P-D session id."""
ERR_TRANSPORT_VERSION: Final[ErrorType] = PROXY(BROKER(TRANSPORT(TransportError.VERSION)))
"""P-D session below v8, no overlap with 8..17, or (client) no overlap with PKEY's range."""
ERR_TRANSPORT_NO_AUTH: Final[ErrorType] = PROXY(BROKER(TRANSPORT(TransportError.NO_AUTH)))
"""No session key/secret on the P-D session (RFWD at D, PRXY/PFWD at P)."""
ERR_HANDSHAKE_IDENTITY: Final[ErrorType] = PROXY(
    BROKER(TRANSPORT(HANDSHAKE(HandshakeError.IDENTITY)))
)
"""Client: the PKEY chain or signed key does not check out against the address."""
ERR_RESPONSE_BLOCK: Final[ErrorType] = PROXY(BROKER(RESPONSE(b"BLOCK")))
"""Proxy: RRES opened but did not parse as ``FwdResponse``."""


# --------------------------------------------------------------------------- wire records


@dataclass(frozen=True, slots=True)
class FwdTransmission:
    """What P boxes into RFWD: ``ss(corrId) ‖ Word16 version ‖ ss(key) ‖ Tail(enc)``."""

    corr_id: bytes
    """The PFWD corrId (N), echoed back in :class:`FwdResponse`."""
    version: int
    """The version C encoded the inner transmission at (PFWD's ``v``)."""
    key: PublicKey
    """C's per-command X25519 key."""
    enc_transmission: bytes

    def __post_init__(self) -> None:
        if len(self.corr_id) > MAX_SHORT_STRING:
            raise ValueError("corrId longer than 255 bytes")
        if not 0 <= self.version <= 0xFFFF:
            raise ValueError("version out of Word16 range")
        if self.key.alg is not KeyAlg.X25519:
            raise ValueError("X25519 key expected")

    def encode(self) -> bytes:
        return (
            short_string(self.corr_id)
            + word16(self.version)
            + short_string(self.key.to_der())
            + self.enc_transmission
        )

    @classmethod
    def decode(cls, data: bytes) -> FwdTransmission:
        """Strict parse; ``DecodeError`` on any malformed field."""

        def p(r: SmpReader) -> FwdTransmission:
            corr_id = r.short_string()
            version = r.word16()
            key = parse_dh_key(r)
            return cls(corr_id, version, key, r.tail())

        return parse_all(data, p)


@dataclass(frozen=True, slots=True)
class FwdResponse:
    """What D boxes into RRES: ``ss(corrId) ‖ Tail(EncResponse)``."""

    corr_id: bytes
    enc_response: bytes

    def __post_init__(self) -> None:
        if len(self.corr_id) > MAX_SHORT_STRING:
            raise ValueError("corrId longer than 255 bytes")

    def encode(self) -> bytes:
        return short_string(self.corr_id) + self.enc_response

    @classmethod
    def decode(cls, data: bytes) -> FwdResponse:
        def p(r: SmpReader) -> FwdResponse:
            return cls(r.short_string(), r.tail())

        return parse_all(data, p)


def _box_nonce(nonce: bytes) -> bytes:
    if len(nonce) != FWD_NONCE_SIZE:
        raise ValueError("forwarding nonces are 24 bytes")
    return nonce


def _batch_size(t: bytes) -> int:
    """Size of ``count=1 ‖ Large(t)``. The padded batch (16224 bytes of content) is the
    binding limit: it is below the block's batch budget (``batchTransmissions``)."""
    return 1 + 2 + len(t)


def _check_box_key(key: bytes) -> None:
    if len(key) != 32:
        raise ValueError("box key must be 32 bytes")


# --------------------------------------------------------------------------- client (C)


@dataclass(frozen=True, slots=True)
class ProxiedRelay:
    """A destination reached through a proxy, as the client knows it after PKEY
    (Client.hs ``ProxiedRelay``)."""

    session_id: bytes
    """The P-D session id: the entity of every PFWD and the session the inner
    transmission is authorized for."""
    version: int
    """Version of the inner transmissions (max common of 6..18 and PKEY's range)."""
    server_key: PublicKey
    """D's X25519 session key, verified under D's certificate chain."""
    basic_auth: str | None = None
    """The proxy password, kept to re-send PRXY through the same proxy after NO_SESSION."""

    def __post_init__(self) -> None:
        if self.server_key.alg is not KeyAlg.X25519:
            raise ValueError("X25519 key expected")
        if self.version < SENDING_PROXY_VERSION:
            raise ValueError("proxied transmissions need v8+")
        if len(self.session_id) > MAX_SHORT_STRING:
            raise ValueError("session id longer than 255 bytes")


def accept_pkey(
    pkey: PKEY, key_hash: bytes, *, now: datetime, basic_auth: str | None = None
) -> ProxiedRelay | ErrorType:
    """Client, on PKEY: the relay to send through, or the error the reference reports.

    Version first (``compatibleVersion supportedClientSMPRelayVRange vr``; none ->
    :data:`ERR_TRANSPORT_VERSION`), then D's identity: a 2..4 certificate chain whose
    identity certificate hashes to ``key_hash``, valid at ``now``, and a session key signed
    by the leaf; any failure is :data:`ERR_HANDSHAKE_IDENTITY` (Client.hs
    ``connectSMPProxiedRelay``/``validateRelay``). A common version below 8 (only a broken
    proxy can cause it) is also :data:`ERR_TRANSPORT_VERSION`.
    """
    v = compatible(SUPPORTED_SMP_RANGE, pkey.version_range)
    if v is None or v < SENDING_PROXY_VERSION:
        return ERR_TRANSPORT_VERSION
    chain = list(pkey.cert_key.cert_chain)
    try:
        x509.validate_chain(chain, key_hash, now=now)
        key = x509.verify_signed_key(chain[0], pkey.cert_key.signed_key)
    except (CryptoError, DecodeError):
        return ERR_HANDSHAKE_IDENTITY
    return ProxiedRelay(pkey.session_id, v, key, basic_auth)


@dataclass(frozen=True, slots=True)
class SealedForward:
    """A command sealed for the destination, and what opens its response.

    Send ``pfwd`` to the proxy with corrId :attr:`corr_id` (= N), entity
    :attr:`entity_id` (= the P-D session id) and no authorization, then give the ``PRES``
    that answers it to :func:`open_forwarded_response`.
    """

    pfwd: PFWD
    corr_id: CorrId
    entity_id: EntityId
    version: int
    box_key: bytes = field(repr=False)
    """``HSalsa20(X25519(D's session key, cmdKey))``: opens the response."""


def encode_forwarded_transmission(
    relay: ProxiedRelay,
    nonce: bytes,
    entity_id: bytes,
    command: Command,
    auth_key: PrivateKey | None = None,
) -> bytes:
    """The inner transmission C seals (``encodeTransmissionForAuth`` + ``authTransmission``).

    Encoded at ``relay.version`` with the P-D session id implied: ``ss(auth)
    [v16+ and auth: '0'] ‖ ss(nonce) ‖ ss(entity) ‖ command``. The authorization covers
    ``ss(sessId) ‖ ss(nonce) ‖ ss(entity) ‖ command``: an Ed25519/Ed448 signature, or with
    an X25519 ``auth_key`` a CbAuthenticator with D's session key and ``nonce``.
    """
    v = relay.version
    to_send = short_string(nonce) + short_string(entity_id) + command.encode(v)
    if auth_key is None:
        return b"\x00" + to_send
    authorized = short_string(relay.session_id) + to_send
    if auth_key.alg is KeyAlg.X25519:
        auth = cb_authenticate(relay.server_key, auth_key, _box_nonce(nonce), authorized)
    elif auth_key.alg.is_signature:
        auth = auth_key.sign(authorized)
    else:
        raise ValueError(f"{auth_key.alg.value} keys cannot authorize commands")
    service = b"0" if v >= SERVICE_CERTS_VERSION else b""
    return short_string(auth) + service + to_send


def seal_forwarded(
    relay: ProxiedRelay,
    entity_id: bytes,
    command: Command,
    *,
    cmd_key: PrivateKey,
    nonce: bytes,
    auth_key: PrivateKey | None = None,
) -> SealedForward:
    """Client: seal ``command`` on queue/link ``entity_id`` for the destination (PFWD).

    ``cmd_key`` is a fresh X25519 key and ``nonce`` 24 fresh random bytes, both used for
    this one command (Client.hs ``proxySMPCommand``). ``ValueError`` if the transmission
    does not fit the 16226-byte padded batch (the reference's ``TELargeMsg`` or
    ``CryptoLargeMsgError``; keep SEND bodies within ``max_message_length``).
    """
    if cmd_key.alg is not KeyAlg.X25519:
        raise ValueError("the command key must be X25519")
    t = encode_forwarded_transmission(relay, _box_nonce(nonce), entity_id, command, auth_key)
    if _batch_size(t) > _MAX_INNER_BATCH:
        raise ValueError("forwarded transmission too large")
    box_key = dh_box_key(relay.server_key, cmd_key)
    enc = cb_encrypt(box_key, nonce, encode_batch([t]), pad_to=PADDED_PROXIED_LENGTH)
    pfwd = PFWD(relay.version, cmd_key.public(), enc)
    return SealedForward(pfwd, CorrId(nonce), EntityId(relay.session_id), relay.version, box_key)


def open_forwarded_response(
    sealed: SealedForward, pres: PRES, session_id: bytes
) -> ServerTransmission:
    """Client, on PRES: the destination's single response transmission.

    ``session_id`` is the P-D session id (``sealed.entity_id``). ``CryptoError`` if the box
    does not open under the reversed nonce; ``DecodeError`` if it holds more than one
    transmission (the reference's ``TEBadBlock``). An unparsable batch or transmission
    comes back as a :class:`ServerTransmission` whose ``result`` is the ``ErrorType``
    (``PCEResponseError``); a ``result`` of ``ERR e`` is the destination's error ``e``.
    The inner corrId and entity are not checked, as in the reference.
    """
    plain = cb_decrypt(sealed.box_key, reverse_nonce(sealed.corr_id), pres.enc_response)
    items = decode_server_batch(plain, sealed.version, session_id)
    if len(items) != 1:
        raise DecodeError("a proxied response holds exactly one transmission")
    return items[0]


# --------------------------------------------------------------------------- proxy (P)


def prxy_allowed(allow_proxy: bool, queue_password: str | None, given: str | None) -> bool:
    """Proxy, on PRXY: may this client use the proxy? Else answer :data:`ERR_BASIC_AUTH`.

    As Server.hs: proxying must be enabled and, when the relay has a queue-creation
    password, the PRXY password must equal it (compared in constant time).
    """
    if not allow_proxy:
        return False
    if queue_password is None:
        return True
    if given is None:
        return False
    return hmac.compare_digest(queue_password.encode("latin-1"), given.encode("latin-1"))


def pkey_answer(
    session_id: bytes,
    session_version: int,
    session_range: VersionRange,
    cert_key: CertChainPubKey | None,
) -> PKEY | ErrorType:
    """Proxy: the PKEY for a connected P-D session, or the error (Server.hs ``proxyResp``).

    ``session_version`` and ``session_range`` are the P-D session's agreed version and
    range as P's handshake computed them (``thServerVRange``:
    :attr:`~hushwire.smp.hello.Negotiated.version_range` of ``negotiate_client(...,
    proxy_server=True)``, i.e. D's offered range within P's, which P caps at v10 when D's
    max is below v14), not D's offered range. ``cert_key`` is D's chain and signed session
    key from its hello (None if D sent none). The range sent is capped to 8..17 so that D
    cannot tell client versions apart (``proxiedSMPRelayVRange``).
    """
    vr = session_range.intersect(PROXIED_SMP_RANGE)
    if vr is None or session_version < SENDING_PROXY_VERSION:
        return ERR_TRANSPORT_VERSION
    if cert_key is None:
        return ERR_TRANSPORT_NO_AUTH
    return PKEY(session_id, vr, cert_key)


def destination_key(server: SMPServer) -> tuple[tuple[str, ...], int | None, bytes]:
    """Proxy: the key of its one-session-per-destination pool: all hosts, port, key hash.

    The reference keys ``smpClients`` by the whole ``ProtocolServer`` (every host, the port
    as given, the key hash); the PRXY password is not part of it.
    """
    return server.hosts, server.port, server.key_hash


def pfwd_check(dest_version: int | None, has_session_secret: bool) -> ErrorType | None:
    """Proxy, on PFWD, before forwarding: None to go ahead, else the error to answer.

    ``dest_version`` is the version of the P-D session the PFWD entity names, None if
    there is none (:data:`ERR_NO_SESSION`); below v8 :data:`ERR_TRANSPORT_VERSION`; a
    session without a handshake secret :data:`ERR_TRANSPORT_NO_AUTH`.
    """
    if dest_version is None:
        return ERR_NO_SESSION
    if dest_version < SENDING_PROXY_VERSION:
        return ERR_TRANSPORT_VERSION
    return None if has_session_secret else ERR_TRANSPORT_NO_AUTH


def wrap_rfwd(session_key: bytes, nonce: bytes, pfwd_corr_id: bytes, pfwd: PFWD) -> RFWD:
    """Proxy: the RFWD for a client's PFWD (Client.hs ``forwardSMPTransmission``).

    ``session_key`` is the P-D box key ``HSalsa20(X25519(D's hello key, P's hello key))``
    (:func:`~hushwire.crypto.nacl.dh_box_key`), ``nonce`` 24 fresh random bytes: send the
    RFWD with corrId ``nonce``, empty entity, no authorization, and keep ``nonce`` to open
    the RRES. No padding on this layer.
    """
    _check_box_key(session_key)
    fwd = FwdTransmission(pfwd_corr_id, pfwd.version, pfwd.key, pfwd.enc_transmission)
    return RFWD(cb_encrypt(session_key, _box_nonce(nonce), fwd.encode()))


def unwrap_rres(session_key: bytes, nonce: bytes, rres: RRES) -> PRES:
    """Proxy: the PRES to send back for an RRES answering the RFWD sent with ``nonce``.

    ``CryptoError`` if the box does not open under the reversed nonce, ``DecodeError`` if
    the content is not a ``FwdResponse`` (its echoed corrId is not checked, as in the
    reference). The ``EncResponse`` is passed on unchanged.
    """
    _check_box_key(session_key)
    plain = cb_decrypt(
        session_key, reverse_nonce(_box_nonce(nonce)), rres.enc_fwd_response, unpadded=True
    )
    return PRES(FwdResponse.decode(plain).enc_response)


def proxy_reply(session_key: bytes, nonce: bytes, result: BrokerMsg | ErrorType) -> BrokerMsg:
    """Proxy: what to answer the client's PFWD, given D's decoded reply to the RFWD.

    ``result`` is :attr:`ServerTransmission.result` of D's reply: ``RRES`` -> ``PRES``
    (or ``ERR CRYPTO`` if it does not open, :data:`ERR_RESPONSE_BLOCK` if it does not
    parse); ``ERR e`` -> ``ERR PROXY PROTOCOL e``; a reply that failed to decode with
    ``e`` -> ``ERR PROXY BROKER RESPONSE e``; any other response ->
    ``ERR PROXY BROKER UNEXPECTED <tag>`` (Client.hs ``smpProxyError``; the reference puts
    the first 32 characters of Haskell's ``show`` there, equal to the tag for responses
    without fields). Timeouts and connection failures are the caller's:
    ``PROXY(BROKER(BrokerErrorType.TIMEOUT))``, ``PROXY(BROKER(NETWORK()))``...
    """
    if isinstance(result, ErrorType):
        return ERR(PROXY(BROKER(RESPONSE(result.encode()[:MAX_SHORT_STRING]))))
    if isinstance(result, ERR):
        return ERR(PROXY(PROTOCOL(result.error)))
    if isinstance(result, RRES):
        try:
            return unwrap_rres(session_key, nonce, result)
        except CryptoError:
            return ERR(ErrorType.CRYPTO)
        except DecodeError:
            return ERR(ERR_RESPONSE_BLOCK)
    return ERR(PROXY(BROKER(UNEXPECTED(result.tag[:32]))))


# --------------------------------------------------------------------------- destination (D)


@dataclass(frozen=True, slots=True)
class ForwardedRequest:
    """A forwarded transmission D opened (Server.hs ``processForwardedCommand``).

    ``request`` is either a decoded :class:`ClientRequest` with one of
    :data:`FORWARDED_COMMANDS`, to be verified and run like a direct command at
    :attr:`version`, or the :class:`RequestError` to answer. Either way the single
    response goes to :func:`seal_rres` with this record.
    """

    request: ClientRequest | RequestError
    version: int
    """``fwdVersion``: parse, run and answer the inner command at this version."""
    transmission: bytes
    """The inner transmission as received (empty if the inner batch did not parse)."""
    proxy_nonce: bytes
    """``cbNonce`` of the RFWD corrId (N')."""
    fwd_corr_id: bytes
    """N, echoed in the ``FwdResponse``."""
    client_key: bytes = field(repr=False)
    """``HSalsa20(X25519(cmdKey, D's session key))``."""
    session_key: bytes = field(repr=False)
    """The P-D box key."""


def forwarded_command_allowed(cmd: Command) -> bool:
    """True iff a destination runs ``cmd`` when forwarded (SEND, SKEY, LKEY, LGET)."""
    return isinstance(cmd, FORWARDED_COMMANDS)


def decode_forwarded_transmission(
    data: bytes, version: int, session_id: bytes
) -> ClientRequest | RequestError:
    """Destination: decode the inner transmission (``tDecodeServer``, then the allowed list).

    The session id is always implied (the P-D session is v7+; the reference keeps
    ``implySessId`` when it switches to ``fwdVersion``). Precedence as for a direct
    transmission: unparsable -> ``BLOCK``; bad auth length -> ``BLOCK`` (corrId kept);
    unknown or malformed command -> ``CMD UNKNOWN|SYNTAX``; credential shape ->
    ``CMD NO_AUTH|HAS_AUTH|NO_ENTITY``; then a command outside
    :data:`FORWARDED_COMMANDS` -> ``CMD PROHIBITED``. Never raises.
    """
    try:
        raw = parse_transmission(data, max(version, AUTH_CMDS_VERSION), session_id)
    except DecodeError:
        return RequestError(NO_CORR_ID, NO_ENTITY, ErrorType.BLOCK)
    req = decode_request(raw, version)
    if isinstance(req, ClientRequest) and not forwarded_command_allowed(req.command):
        return RequestError(req.corr_id, req.entity_id, CMD(CommandError.PROHIBITED))
    return req


def open_rfwd(
    rfwd: RFWD,
    corr_id: bytes,
    *,
    server_key: PrivateKey,
    session_key: bytes | None,
    session_id: bytes,
) -> ForwardedRequest | ErrorType:
    """Destination, on RFWD: open both layers, or the error to answer RFWD with.

    ``corr_id`` is the RFWD's corrId, ``server_key`` D's X25519 session private key of this
    (P-D) connection, ``session_key`` the box key of the handshake secret with P's hello
    key (None if P sent none), ``session_id`` the P-D session id. Errors (answered as
    ``ERR e`` with the RFWD's corrId and an empty entity): no ``session_key`` ->
    :data:`ERR_TRANSPORT_NO_AUTH`; outer box -> ``CRYPTO``; ``FwdTransmission`` ->
    ``CMD SYNTAX``; inner box or padding -> ``CRYPTO``; more than one inner transmission
    -> ``BLOCK``. A batch that does not parse becomes an inner ``BLOCK`` error, answered
    through :func:`seal_rres` like every other inner error.
    """
    if session_key is None:
        return ERR_TRANSPORT_NO_AUTH
    _check_box_key(session_key)
    proxy_nonce = cb_nonce(corr_id)
    try:
        plain = cb_decrypt(session_key, proxy_nonce, rfwd.enc_fwd_transmission, unpadded=True)
    except CryptoError:
        return ErrorType.CRYPTO
    try:
        fwd = FwdTransmission.decode(plain)
    except DecodeError:
        return CMD(CommandError.SYNTAX)
    try:
        client_key = dh_box_key(fwd.key, server_key)
        batch = cb_decrypt(client_key, cb_nonce(fwd.corr_id), fwd.enc_transmission)
    except CryptoError:
        return ErrorType.CRYPTO
    try:
        items = decode_batch(batch)
    except DecodeError:
        items = []
    if len(items) > 1:
        return ErrorType.BLOCK
    if items:
        t = items[0]
        request = decode_forwarded_transmission(t, fwd.version, session_id)
    else:
        t = b""
        request = RequestError(NO_CORR_ID, NO_ENTITY, ErrorType.BLOCK)
    return ForwardedRequest(
        request, fwd.version, t, proxy_nonce, fwd.corr_id, client_key, session_key
    )


def encode_forwarded_response(
    version: int, corr_id: bytes, entity_id: bytes, response: BrokerMsg
) -> bytes:
    """The inner response transmission at ``version``, session id implied:
    ``0x00 ‖ ss(corrId) ‖ ss(entity) ‖ response``."""
    return b"\x00" + short_string(corr_id) + short_string(entity_id) + response.encode(version)


def seal_rres(
    fwd: ForwardedRequest, corr_id: bytes, entity_id: bytes, response: BrokerMsg
) -> RRES | ErrorType:
    """Destination: box the single response for the forwarded request (RRES), or the error.

    ``corr_id``/``entity_id``/``response`` are what a direct command would have been
    answered with (for a :class:`RequestError`: its corrId, entity and ``ERR error``).
    Inner layer: ``count=1 ‖ Large(t)`` padded to 16226 under the client key with the
    reversed N; outer: ``FwdResponse`` unpadded under the P-D key with the reversed N'.
    A response too large for the padded batch is ``BLOCK`` (answered to the RFWD).
    """
    t = encode_forwarded_response(fwd.version, corr_id, entity_id, response)
    if _batch_size(t) > _MAX_INNER_BATCH:
        return ErrorType.BLOCK
    enc = cb_encrypt(
        fwd.client_key,
        reverse_nonce(cb_nonce(fwd.fwd_corr_id)),
        encode_batch([t]),
        pad_to=PADDED_PROXIED_LENGTH,
    )
    fr = FwdResponse(fwd.fwd_corr_id, enc).encode()
    return RRES(cb_encrypt(fwd.session_key, reverse_nonce(fwd.proxy_nonce), fr))


def seal_request_error(fwd: ForwardedRequest) -> RRES | ErrorType:
    """Destination: :func:`seal_rres` for a request that is a :class:`RequestError`."""
    req = fwd.request
    if not isinstance(req, RequestError):
        raise ValueError("the forwarded request is not an error")
    return seal_rres(fwd, req.corr_id, req.entity_id, ERR(req.error))
