"""Client side of the SMP transport handshake (simplexmq ``Transport.hs`` ``smpClientHandshake``).

Theory of operation (docs/protocol/smp.md, "Hellos"): the server speaks first. The client

1. reads the server hello (padded, never batched or encrypted);
2. on native TLS, requires the hello's session id to equal the TLS channel binding
   (``tls-unique``) of this connection (``TEBadSession``); over GRP/1, the Noise handshake
   hash (docs/grp.md). Over WebSocket the session id is
   taken as given: TLS, if any, belongs to the web certificate or to a proxy;
3. picks the highest version both sides support (``TEVersion`` otherwise);
4. requires the certificate chain and signed session key (v7+; below v7 the server cannot
   be authenticated over WebSocket, so this client does not go below v7): 2..4
   certificates, the second one's SHA-256 equal to the key hash of the address, the chain
   valid (signatures, CA flags, dates); on native TLS the TLS peer's leaf certificate must
   be the chain's leaf; the session key must be signed by the leaf (``TEHandshake BAD_AUTH``);
5. sends its hello with the chosen version and a fresh X25519 session key, so from v11 the
   blocks are encrypted (``blockEncryption``) with a chain keyed by
   ``X25519(client key, server session key)`` and the session id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from hushwire.client.errors import (
    ConnectionLost,
    HandshakeFailed,
    IdentityMismatch,
    VersionMismatch,
)
from hushwire.crypto import x509
from hushwire.crypto.ct import equal
from hushwire.crypto.kdf import sha256
from hushwire.crypto.keys import KeyAlg, KeyPair, PublicKey
from hushwire.crypto.nacl import dh_box_key
from hushwire.errors import CryptoError, DecodeError
from hushwire.smp.block import BlockChain, pad_handshake, unpad_handshake
from hushwire.smp.hello import (
    CertChainPubKey,
    ClientHello,
    Negotiated,
    ServerHello,
    negotiate_client,
)
from hushwire.smp.ids import SessionId
from hushwire.smp.version import (
    AUTH_CMDS_VERSION,
    CURRENT_SMP_VERSION,
    VersionRange,
)
from hushwire.transport.blocks import BlockConn, TransportFailure
from hushwire.transport.connect import peer_certificate

CLIENT_VERSION_RANGE: Final = VersionRange(AUTH_CMDS_VERSION, CURRENT_SMP_VERSION)
"""Versions this client speaks: 7 (server key in the hello) to 18."""


@dataclass(slots=True)
class Session:
    """What the handshake agreed: version, session id, server key and block chains."""

    version: int
    version_range: VersionRange
    session_id: SessionId
    server_key: PublicKey
    """The server's per-connection X25519 key (CbAuthenticator peer key)."""
    send_chain: BlockChain | None = field(default=None, repr=False)
    recv_chain: BlockChain | None = field(default=None, repr=False)
    cert_key: CertChainPubKey | None = field(default=None, repr=False)
    """The server's certificate chain and signed session key, as its hello sent them."""
    box_key: bytes | None = field(default=None, repr=False)
    """``HSalsa20(X25519(server key, client key))``: the handshake secret a proxy boxes
    ``RFWD`` with (simplexmq ``thAuth`` ``sessSecret``)."""

    @property
    def block_encryption(self) -> bool:
        return self.send_chain is not None


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def client_handshake(
    conn: BlockConn,
    key_hash: bytes,
    version_range: VersionRange = CLIENT_VERSION_RANGE,
    *,
    now: Callable[[], datetime] = _utc_now,
    proxy_server: bool = False,
) -> Session:
    """Run the handshake on a fresh connection; raise :class:`HandshakeFailed` on any failure.

    ``proxy_server`` is set by a relay connecting to a destination for private routing
    (v14+ hello flag; no block encryption, and at most v10 with a destination older than
    v14). The caller closes ``conn`` when this raises.
    """
    if version_range.min < AUTH_CMDS_VERSION:
        raise ValueError("this client needs SMP v7 or later (server key in the hello)")
    try:
        block = await conn.recv_block()
    except TransportFailure as e:
        raise ConnectionLost(f"connection closed before the server hello: {e}") from e
    try:
        hello = ServerHello.decode(unpad_handshake(block))
    except DecodeError as e:
        raise HandshakeFailed("the server hello does not parse") from e

    if conn.kind in ("tls", "grp"):  # GRP/1: the binding is the Noise handshake hash
        if conn.tls_unique is None or not equal(hello.session_id, conn.tls_unique):
            raise HandshakeFailed("the session id is not this connection's channel binding")

    negotiated = negotiate_client(
        hello.version_range,
        version_range,
        server_has_key=hello.cert_key is not None,
        client_has_key=True,
        proxy_server=proxy_server,
    )
    if not isinstance(negotiated, Negotiated):
        raise VersionMismatch(
            f"no common SMP version: server offers {hello.version_range.min}.."
            f"{hello.version_range.max}, client {version_range.min}..{version_range.max}"
        )
    version = negotiated.version

    ck = hello.cert_key
    if ck is None:
        raise HandshakeFailed("the server sent no certificate chain")
    chain = list(ck.cert_chain)
    if not ck.chain_length_ok():
        raise HandshakeFailed(f"the server's certificate chain has {len(chain)} certificates")
    if not equal(sha256(chain[1]), key_hash):
        raise IdentityMismatch("server identity does not match the address")
    try:
        x509.validate_chain(chain, key_hash, now=now())
    except (CryptoError, DecodeError) as e:
        raise HandshakeFailed("the server's certificate chain is not valid") from e
    if conn.kind == "tls":
        leaf = peer_certificate(conn)
        if leaf is None or not equal(leaf, chain[0]):
            raise HandshakeFailed("the TLS certificate is not the leaf of the server's chain")
    try:
        server_key = x509.verify_signed_key(chain[0], ck.signed_key)
    except (CryptoError, DecodeError) as e:
        raise HandshakeFailed("the server's session key is not signed by its certificate") from e

    own = KeyPair.generate(KeyAlg.X25519)
    reply = ClientHello(version, key_hash, session_key=own.public, proxy_server=proxy_server)
    try:
        await conn.send_block(pad_handshake(reply.encode()))
    except TransportFailure as e:
        raise ConnectionLost(f"connection closed during the handshake: {e}") from e

    session = Session(
        version,
        negotiated.version_range,
        SessionId(hello.session_id),
        server_key,
        cert_key=ck,
    )
    try:
        session.box_key = dh_box_key(server_key, own.private)
    except CryptoError as e:
        raise HandshakeFailed("the server's session key is not usable") from e
    if negotiated.block_encryption:
        try:
            secret = own.private.dh(server_key)
        except CryptoError as e:
            raise HandshakeFailed("the server's session key is not usable") from e
        session.send_chain, session.recv_chain = BlockChain.pair(
            hello.session_id, secret, server=False
        )
    return session
