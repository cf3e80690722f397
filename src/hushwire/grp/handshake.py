"""The GRP/1 handshake: ``Noise_IKhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s``, sans-I/O.

docs/grp.md, "Handshake". Two messages, one WebSocket message each:

- msg 1, client to relay: ``e, es, e1, s, ss`` and the one-byte payload P1 (the role:
  ``C`` an end-user client, ``R`` a relay peer); 1297 bytes;
- msg 2, relay to client: ``e, ee, ekem1, se`` and the payload P2: the relay's SMP
  certificate chain with its GRP static key signed by the online (leaf) key, the very
  structure of the SMP server hello's ``CertChainPubKey`` (simplexmq ``Transport.hs``).

The prologue ``"GRP/1" ‖ 0x00 ‖ keyHash`` binds the handshake to the SMP identity the client
expects: a client with another key hash fails at msg 1. The client checks P2 (2..4
certificates, SHA-256 of the second one = keyHash, a valid chain, the signed key = the static
key it encrypted to), so the ``smp://KEYHASH@`` address pins the relay's Noise key. The
handshake hash ``h`` becomes the SMP session id (channel binding). Clients use a fresh static
key per connection; relays a persistent one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hushwire.crypto import x509
from hushwire.crypto.ct import equal
from hushwire.crypto.kdf import sha256
from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey
from hushwire.errors import CryptoError, DecodeError
from hushwire.grp.kem import mlkem768_suite
from hushwire.grp.noise import (
    IKHFS,
    CipherState,
    DHKey,
    HandshakeState,
    KemSuite,
    NoiseError,
)
from hushwire.smp._reader import parse_all
from hushwire.smp.hello import CertChainPubKey

PROTOCOL_NAME: Final = b"Noise_IKhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s"
ROLE_CLIENT: Final = b"C"
ROLE_RELAY: Final = b"R"
MSG1_SIZE: Final = 1297
MSG2_MIN: Final = 1152
"""msg 2 without its payload; the payload (P2) adds its length plus nothing (16-byte tag
included in 1152)."""
MSG2_MAX: Final = 8192
"""Bound on msg 2: a P2 of four certificates fits many times over."""


class GrpHandshakeError(CryptoError):
    """The GRP handshake failed (bad size, AEAD failure, wrong role, bad certificate proof)."""


def prologue(key_hash: bytes) -> bytes:
    if len(key_hash) != 32:
        raise ValueError("a key hash is 32 bytes")
    return b"GRP/1\x00" + key_hash


def x25519_public(raw: bytes) -> PublicKey:
    return PublicKey(KeyAlg.X25519, raw)


def static_proof(chain: tuple[bytes, ...], online_key: PrivateKey, static_public: bytes) -> bytes:
    """P2: ``CertChainPubKey(chain, the static key's SPKI signed by the online key)``."""
    return CertChainPubKey(chain, x509.sign_key(online_key, x25519_public(static_public))).encode()


def verify_static_proof(p2: bytes, key_hash: bytes, rs: bytes, *, now: datetime) -> None:
    """Check P2 against the address's key hash and the static key used; raise
    :class:`GrpHandshakeError` if it does not prove that identity owns ``rs``."""
    try:
        proof = parse_all(p2, CertChainPubKey.parse)
    except DecodeError:
        raise GrpHandshakeError("the relay's key proof does not parse") from None
    chain = list(proof.cert_chain)
    if not proof.chain_length_ok() or not equal(sha256(chain[1]), key_hash):
        raise GrpHandshakeError("the relay's key proof is for another identity")
    try:
        x509.validate_chain(chain, key_hash, now=now)
        signed = x509.verify_signed_key(chain[0], proof.signed_key)
    except (CryptoError, DecodeError):
        raise GrpHandshakeError("the relay's key proof is not valid") from None
    if not equal(signed.raw, rs):
        raise GrpHandshakeError("the relay's key proof is for another static key")


def _state(
    key_hash: bytes,
    initiator: bool,
    static: DHKey,
    rs: bytes | None,
    ephemeral: DHKey | None,
    kem: KemSuite | None,
) -> HandshakeState:
    return HandshakeState(
        PROTOCOL_NAME,
        IKHFS,
        initiator=initiator,
        prologue=prologue(key_hash),
        s=static,
        rs=rs,
        ephemeral=ephemeral,
        kem=kem if kem is not None else mlkem768_suite(),
    )


@dataclass(frozen=True, slots=True)
class GrpKeys:
    """The result of a handshake for one side."""

    handshake_hash: bytes
    send: CipherState
    recv: CipherState
    peer_static: bytes
    """The peer's static key (the relay's ``rs`` for a client; the client's throw-away or a
    peer relay's persistent key for the relay)."""
    payload: bytes
    """The peer's handshake payload (P2 for the client, the role byte for the relay)."""


class Initiator:
    """The client side: :meth:`first_message`, then :meth:`finish` with msg 2."""

    def __init__(
        self,
        key_hash: bytes,
        rs: bytes,
        *,
        role: bytes = ROLE_CLIENT,
        static: DHKey | None = None,
        ephemeral: DHKey | None = None,
        kem: KemSuite | None = None,
    ) -> None:
        if role not in (ROLE_CLIENT, ROLE_RELAY):
            raise ValueError("role is C or R")
        self._rs = rs
        self._role = role
        own = static if static is not None else DHKey.generate()
        self._hs = _state(key_hash, True, own, rs, ephemeral, kem)

    def first_message(self) -> bytes:
        return self._hs.write_message(self._role)

    def finish(self, msg2: bytes) -> GrpKeys:
        """Read msg 2; the caller still checks the payload with :func:`verify_static_proof`."""
        if not MSG2_MIN <= len(msg2) <= MSG2_MAX:
            raise GrpHandshakeError(f"msg 2 of {len(msg2)} bytes")
        try:
            payload = self._hs.read_message(msg2)
        except NoiseError:
            raise GrpHandshakeError("msg 2 does not decrypt") from None
        assert self._hs.result is not None
        h, send, recv = self._hs.result
        return GrpKeys(h, send, recv, self._rs, payload)


class Responder:
    """The relay side: :meth:`read_first` with msg 1, then :meth:`reply`."""

    def __init__(
        self,
        key_hash: bytes,
        static: DHKey,
        proof: bytes,
        *,
        ephemeral: DHKey | None = None,
        kem: KemSuite | None = None,
        roles: tuple[bytes, ...] = (ROLE_CLIENT, ROLE_RELAY),
        accept_peer: Callable[[bytes], bool] | None = None,
    ) -> None:
        self._proof = proof
        self._roles = roles
        self._accept_peer = accept_peer
        self._hs = _state(key_hash, False, static, None, ephemeral, kem)
        self.role: bytes | None = None

    def read_first(self, msg1: bytes) -> bytes:
        """Read msg 1 and return the role; any failure is :class:`GrpHandshakeError`."""
        if len(msg1) != MSG1_SIZE:
            raise GrpHandshakeError(f"msg 1 of {len(msg1)} bytes")
        try:
            role = self._hs.read_message(msg1)
        except NoiseError:
            raise GrpHandshakeError("msg 1 does not decrypt") from None
        if role not in self._roles:
            raise GrpHandshakeError("unknown role")
        if role == ROLE_RELAY and self._accept_peer is not None:
            assert self._hs.rs is not None
            if not self._accept_peer(self._hs.rs):
                raise GrpHandshakeError("unknown relay peer")
        self.role = role
        return role

    def reply(self) -> tuple[bytes, GrpKeys]:
        """msg 2 and this side's keys."""
        if self.role is None:
            raise ValueError("read msg 1 first")
        try:
            msg2 = self._hs.write_message(self._proof)
        except NoiseError:
            raise GrpHandshakeError("the client's ML-KEM key is not valid") from None
        assert self._hs.result is not None and self._hs.rs is not None
        h, send, recv = self._hs.result
        return msg2, GrpKeys(h, send, recv, self._hs.rs, self.role)
