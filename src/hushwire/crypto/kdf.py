"""Hashes, HKDF-SHA512 and the SMP v11 block-encryption chain.

Mirrors simplexmq ``Crypto.hs`` ``sha256Hash``/``sha512Hash`` (C.hs:1011-1018), ``hkdf``
(C.hs:1466-1470), ``sbcInit``/``sbcHkdf`` (C.hs:1452-1464) and the block encryption of
``Transport.hs`` ``tPutBlock``/``tGetBlock``/``blockEncryption`` (T.hs:722-745, :865-873);
docs/protocol/smp.md, "Block encryption".

Theory of operation of :class:`BlockCipherChain`: after a v11+ handshake both ends derive
``(ck1, ck2) = HKDF-SHA512(salt = sessionId, ikm = X25519 secret, "SimpleXSbChainInit", 64)``.
The server sends with ``ck1`` and receives with ``ck2``; the client the other way round.
Every block, in each direction, advances that direction's chain once:
``HKDF-SHA512(salt = "", ikm = ck, "SimpleXSbChain", 88)`` gives the next chain key, a
32-byte secret-box key and a 24-byte nonce. The block is ``sbEncrypt`` of the batch padded
to ``block size - 16``: XSalsa20-Poly1305 under ``HSalsa20(key, 0^16)`` (``sbEncrypt`` goes
through ``cryptoBox``, so the HSalsa20 step applies), giving exactly ``block size`` bytes.
The receiving chain advances even when a block fails to open, as in the reference.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final, Self

from hushwire.crypto.nacl import AUTH_TAG_SIZE, cb_decrypt, cb_encrypt, sb_key
from hushwire.crypto.padding import pad

SB_CHAIN_INIT_INFO = b"SimpleXSbChainInit"
SB_CHAIN_INFO = b"SimpleXSbChain"
CHAIN_KEY_SIZE = 32
_SB_CHAIN_T1 = SB_CHAIN_INFO + b"\x01"
_SB_CHAIN_T2 = SB_CHAIN_INFO + b"\x02"

_HASH_LEN = 64
_HMAC_BLOCK = 128
_EMPTY_KEY_INNER: Final = hashlib.sha512(b"\x36" * _HMAC_BLOCK)
"""SHA-512 state after HMAC's inner pad of the empty key (RFC 2104: key zero-padded, xor
0x36); copied, never updated in place."""
_EMPTY_KEY_OUTER: Final = hashlib.sha512(b"\x5c" * _HMAC_BLOCK)
"""The same for the outer pad (xor 0x5c)."""


def sha256(b: bytes) -> bytes:
    """SHA-256 digest (C.hs ``sha256Hash``)."""
    return hashlib.sha256(b).digest()


def sha512(b: bytes) -> bytes:
    """SHA-512 digest (C.hs ``sha512Hash``)."""
    return hashlib.sha512(b).digest()


def hkdf_sha512(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF with SHA-512, as simplexmq ``hkdf`` (crypton ``HKDF.extract``/``expand``).

    The salt is used as given, including the empty salt of ``sbcHkdf`` and the ratchet's
    ``chainKdf``. An empty salt keys HMAC with no bytes, which HMAC pads to the same block as
    RFC 5869's default of 64 zero bytes, so both readings give the same output.
    ``ValueError`` unless ``0 <= length <= 255 * 64``.
    """
    if not 0 <= length <= 255 * _HASH_LEN:
        raise ValueError("HKDF-SHA512 output length must be 0..16320")
    prk = hmac.digest(salt, ikm, "sha512")
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), "sha512")
        out += block
        counter += 1
    return out[:length]


def sb_chain_init(session_id: bytes, dh_secret: bytes) -> tuple[bytes, bytes]:
    """``(ck1, ck2)`` from the session id and the raw X25519 output (C.hs ``sbcInit``).

    The server sends with ``ck1`` and receives with ``ck2``; the client swaps them
    (T.hs ``smpTHandleServer``/``smpTHandleClient``).
    """
    out = hkdf_sha512(session_id, dh_secret, SB_CHAIN_INIT_INFO, 2 * CHAIN_KEY_SIZE)
    return out[:CHAIN_KEY_SIZE], out[CHAIN_KEY_SIZE:]


def sb_chain_step(ck: bytes) -> tuple[bytes, bytes, bytes]:
    """One chain step (C.hs ``sbcHkdf``): ``(next chain key, 32-byte SbKey, 24-byte nonce)``.

    The SbKey is raw: box with :func:`~hushwire.crypto.nacl.sb_key` of it.
    """
    # hkdf_sha512(b"", ck, SB_CHAIN_INFO, 88) written out: one extract, two expand blocks
    # (every block of every v11+ connection takes one step, so the loop and copies count).
    # The extract is HMAC under the empty salt, whose padded-key states are constant: start
    # from copies of them instead of keying HMAC again for every block.
    inner = _EMPTY_KEY_INNER.copy()
    inner.update(ck)
    outer = _EMPTY_KEY_OUTER.copy()
    outer.update(inner.digest())
    prk = outer.digest()
    t1 = hmac.digest(prk, _SB_CHAIN_T1, "sha512")
    t2 = hmac.digest(prk, t1 + _SB_CHAIN_T2, "sha512")
    return t1[:32], t1[32:], t2[:24]


class BlockCipherChain:
    """One direction of SMP v11+ block encryption; mutable, one instance per direction."""

    __slots__ = ("_ck",)

    def __init__(self, chain_key: bytes) -> None:
        if len(chain_key) != CHAIN_KEY_SIZE:
            raise ValueError("chain key must be 32 bytes")
        self._ck = chain_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    @classmethod
    def pair(cls, session_id: bytes, dh_secret: bytes, *, server: bool) -> tuple[Self, Self]:
        """``(send, receive)`` chains for one end of a connection: the server sends with
        ``ck1``, the client with ``ck2`` (T.hs ``blockEncryption``)."""
        ck1, ck2 = sb_chain_init(session_id, dh_secret)
        if not server:
            ck1, ck2 = ck2, ck1
        return cls(ck1), cls(ck2)

    def _step(self) -> tuple[bytes, bytes]:
        self._ck, key, nonce = sb_chain_step(self._ck)
        return sb_key(key), nonce

    def encrypt_block(self, payload: bytes, block_size: int) -> bytes:
        """``block_size`` bytes: tag ‖ boxed ``pad(payload, block_size - 16)`` (T.hs ``tPutBlock``).

        ``ValueError`` if the payload does not fit; the chain is not advanced then.
        """
        padded = pad(payload, block_size - AUTH_TAG_SIZE)  # fails before the chain advances
        key, nonce = self._step()
        return cb_encrypt(key, nonce, padded)

    def decrypt_block(self, block: bytes) -> bytes:
        """The unpadded payload of ``block`` (T.hs ``tGetBlock``); ``CryptoError`` on failure."""
        key, nonce = self._step()
        return cb_decrypt(key, nonce, block)
