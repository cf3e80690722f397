"""NaCl boxes the way SimpleX uses them: XSalsa20-Poly1305 behind an HSalsa20 key step.

Mirrors simplexmq ``Crypto.hs`` ``cryptoBox``/``xSalsa20`` (C.hs:1318-1322, :1472-1480),
``cbEncrypt``/``sbEncrypt``/``cbDecrypt``/``sbDecrypt`` (C.hs:1291-1360), ``cbAuthenticate``
/``cbVerify`` (C.hs:1362-1371) and ``cbNonce`` (C.hs:1395-1401); docs/protocol/smp.md (block
encryption, authorization, message delivery) and docs/protocol/agent.md (envelopes).

SimpleX's ``xSalsa20 secret nonce`` runs XSalsa20 under ``HSalsa20(secret, 0^16)``, never
under ``secret`` itself. So with a raw X25519 output it equals libsodium ``crypto_box``
(``crypto_box_beforenm`` is exactly that HSalsa20 step), and with a symmetric 32-byte key K
it equals ``crypto_secretbox`` under ``HSalsa20(K, 0^16)``. This module splits the two
steps: :func:`dh_box_key` and :func:`sb_key` prepare the 32-byte box key once, and
:func:`cb_encrypt`/:func:`cb_decrypt` are plain ``crypto_secretbox_easy`` under it (output:
16-byte Poly1305 tag ‖ ciphertext).

libsodium (through PyNaCl) does the XSalsa20-Poly1305 part; HSalsa20 is written out here
because PyNaCl does not expose ``crypto_core_hsalsa20``.
"""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import struct
from collections.abc import Callable

import nacl._sodium
import nacl.bindings
import nacl.exceptions

from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey
from hushwire.crypto.padding import pad, unpad
from hushwire.errors import CryptoError, DecodeError

KEY_SIZE = 32
"""Box key and HSalsa20 key size."""
NONCE_SIZE = 24
"""XSalsa20 nonce size (C.hs ``CbNonce``)."""
AUTH_TAG_SIZE = 16
"""Poly1305 tag size (C.hs ``authTagSize``)."""
CB_AUTHENTICATOR_SIZE = 64 + AUTH_TAG_SIZE
"""SHA-512 digest in a box: 80 bytes (C.hs ``cbAuthenticatorSize``)."""

_SIGMA = struct.unpack("<4I", b"expand 32-byte k")
_WORDS8 = struct.Struct("<8I")
_WORDS4 = struct.Struct("<4I")
_OUT = struct.Struct("<8I")
_M32 = 0xFFFFFFFF


def _hsalsa20_py(key: bytes, inp: bytes = bytes(16)) -> bytes:
    """HSalsa20 in pure Python (sizes checked by :func:`hsalsa20`): the fallback."""
    k0, k1, k2, k3, k4, k5, k6, k7 = _WORDS8.unpack(key)
    n0, n1, n2, n3 = _WORDS4.unpack(inp)
    x0, x1, x2, x3 = _SIGMA[0], k0, k1, k2
    x4, x5, x6, x7 = k3, _SIGMA[1], n0, n1
    x8, x9, x10, x11 = n2, n3, _SIGMA[2], k4
    x12, x13, x14, x15 = k5, k6, k7, _SIGMA[3]
    m = _M32
    # Unrolled double rounds (columns, then rows); each step is x ^= rotl(sum, r).
    for _ in range(10):
        t = (x0 + x12) & m
        x4 ^= ((t << 7) & m) | (t >> 25)
        t = (x4 + x0) & m
        x8 ^= ((t << 9) & m) | (t >> 23)
        t = (x8 + x4) & m
        x12 ^= ((t << 13) & m) | (t >> 19)
        t = (x12 + x8) & m
        x0 ^= ((t << 18) & m) | (t >> 14)
        t = (x5 + x1) & m
        x9 ^= ((t << 7) & m) | (t >> 25)
        t = (x9 + x5) & m
        x13 ^= ((t << 9) & m) | (t >> 23)
        t = (x13 + x9) & m
        x1 ^= ((t << 13) & m) | (t >> 19)
        t = (x1 + x13) & m
        x5 ^= ((t << 18) & m) | (t >> 14)
        t = (x10 + x6) & m
        x14 ^= ((t << 7) & m) | (t >> 25)
        t = (x14 + x10) & m
        x2 ^= ((t << 9) & m) | (t >> 23)
        t = (x2 + x14) & m
        x6 ^= ((t << 13) & m) | (t >> 19)
        t = (x6 + x2) & m
        x10 ^= ((t << 18) & m) | (t >> 14)
        t = (x15 + x11) & m
        x3 ^= ((t << 7) & m) | (t >> 25)
        t = (x3 + x15) & m
        x7 ^= ((t << 9) & m) | (t >> 23)
        t = (x7 + x3) & m
        x11 ^= ((t << 13) & m) | (t >> 19)
        t = (x11 + x7) & m
        x15 ^= ((t << 18) & m) | (t >> 14)
        t = (x0 + x3) & m
        x1 ^= ((t << 7) & m) | (t >> 25)
        t = (x1 + x0) & m
        x2 ^= ((t << 9) & m) | (t >> 23)
        t = (x2 + x1) & m
        x3 ^= ((t << 13) & m) | (t >> 19)
        t = (x3 + x2) & m
        x0 ^= ((t << 18) & m) | (t >> 14)
        t = (x5 + x4) & m
        x6 ^= ((t << 7) & m) | (t >> 25)
        t = (x6 + x5) & m
        x7 ^= ((t << 9) & m) | (t >> 23)
        t = (x7 + x6) & m
        x4 ^= ((t << 13) & m) | (t >> 19)
        t = (x4 + x7) & m
        x5 ^= ((t << 18) & m) | (t >> 14)
        t = (x10 + x9) & m
        x11 ^= ((t << 7) & m) | (t >> 25)
        t = (x11 + x10) & m
        x8 ^= ((t << 9) & m) | (t >> 23)
        t = (x8 + x11) & m
        x9 ^= ((t << 13) & m) | (t >> 19)
        t = (x9 + x8) & m
        x10 ^= ((t << 18) & m) | (t >> 14)
        t = (x15 + x14) & m
        x12 ^= ((t << 7) & m) | (t >> 25)
        t = (x12 + x15) & m
        x13 ^= ((t << 9) & m) | (t >> 23)
        t = (x13 + x12) & m
        x14 ^= ((t << 13) & m) | (t >> 19)
        t = (x14 + x13) & m
        x15 ^= ((t << 18) & m) | (t >> 14)
    return _OUT.pack(x0, x5, x10, x15, x6, x7, x8, x9)


def _sodium_hsalsa20() -> Callable[..., int] | None:
    """libsodium's ``crypto_core_hsalsa20`` from the library PyNaCl ships, if it exports it.

    PyNaCl's bindings do not wrap it, but its bundled libsodium exports the symbol; calling
    it is about 50 times faster than the pure-Python core, which stays as the fallback and
    as an independent check (the tests compare both with libsodium's own vectors).
    """
    try:
        lib = ctypes.CDLL(nacl._sodium.__file__)
        fn = lib.crypto_core_hsalsa20
    except (OSError, AttributeError):  # pragma: no cover - depends on the PyNaCl build
        return None
    fn.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)
    fn.restype = ctypes.c_int
    return fn


_SODIUM_HSALSA20 = _sodium_hsalsa20()
_HSALSA20_OUT = ctypes.c_char * 32
"""The output buffer's type (made directly: ``create_string_buffer`` costs more than the
HSalsa20 call itself)."""


def hsalsa20(key: bytes, inp: bytes = bytes(16)) -> bytes:
    """The HSalsa20 core: 32-byte ``key`` and 16-byte ``inp`` to a 32-byte subkey.

    Twenty Salsa20 rounds without the final addition; the output is words 0, 5, 10, 15
    and 6..9 (the XSalsa20 paper, section 2; libsodium ``crypto_core_hsalsa20``).
    """
    if len(key) != KEY_SIZE or len(inp) != 16:
        raise ValueError("HSalsa20 takes a 32-byte key and a 16-byte input")
    if _SODIUM_HSALSA20 is None:  # pragma: no cover - depends on the PyNaCl build
        return _hsalsa20_py(key, inp)
    out = _HSALSA20_OUT()
    _SODIUM_HSALSA20(out, inp, key, None)
    return out.raw


def dh_box_key(peer: PublicKey, own: PrivateKey) -> bytes:
    """``HSalsa20(X25519(peer, own), 0^16)``: libsodium ``crypto_box_beforenm(peer, own)``.

    The key SimpleX's ``cbEncrypt``/``cbDecrypt``/``cbAuthenticate`` box with. A low-order
    ``peer`` key (all-zero DH output) is a :class:`CryptoError`; ``ValueError`` if either
    key is not X25519.
    """
    if peer.alg is not KeyAlg.X25519 or own.alg is not KeyAlg.X25519:
        raise ValueError("crypto_box needs X25519 keys")
    # libsodium does X25519 and HSalsa20 in one call (and refuses low-order keys), several
    # times faster than the pure-Python HSalsa20 below; the vectors pin both to each other.
    try:
        return bytes(nacl.bindings.crypto_box_beforenm(peer.raw, own.raw))
    except nacl.exceptions.CryptoError:
        raise CryptoError() from None


def sb_key(secret: bytes) -> bytes:
    """``HSalsa20(secret, 0^16)``: the box key for a symmetric 32-byte ``SbKey`` or chain key."""
    return hsalsa20(secret)


def cb_nonce(corr_id: bytes) -> bytes:
    """A 24-byte nonce: ``corr_id`` truncated or right-padded with 0x00 (C.hs ``cbNonce``)."""
    return corr_id[:NONCE_SIZE].ljust(NONCE_SIZE, b"\x00")


def reverse_nonce(nonce: bytes) -> bytes:
    """The byte-reversed nonce (C.hs ``reverseNonce``; proxy replies, docs/protocol/smp.md)."""
    return nonce[::-1]


def _check(key: bytes, nonce: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError("box key must be 32 bytes")
    if len(nonce) != NONCE_SIZE:
        raise ValueError("box nonce must be 24 bytes")


def cb_encrypt(key: bytes, nonce: bytes, msg: bytes, pad_to: int | None = None) -> bytes:
    """Box ``msg`` under a prepared ``key``: 16-byte tag ‖ XSalsa20 ciphertext.

    ``key`` comes from :func:`dh_box_key` or :func:`sb_key`. With ``pad_to`` the message is
    first padded to that many bytes (C.hs ``sbEncrypt_``), so the output is ``pad_to + 16``
    bytes; ``ValueError`` if it does not fit, or if the key or nonce has the wrong size.
    """
    _check(key, nonce)
    if pad_to is not None:
        msg = pad(msg, pad_to)
    return bytes(nacl.bindings.crypto_secretbox_easy(msg, nonce, key))


def cb_decrypt(key: bytes, nonce: bytes, data: bytes, *, unpadded: bool = False) -> bytes:
    """Open a box made by :func:`cb_encrypt`; by default also :func:`unpad` the result.

    Any failure (input shorter than the tag, wrong tag, bad padding) is one opaque
    :class:`CryptoError` (C.hs ``sbDecryptNoPad_``, ``sbDecrypt_``). ``unpadded=True``
    returns the opened bytes as they are (C.hs ``cbDecryptNoPad``). ``ValueError`` if the
    key or nonce has the wrong size (a programming error, not bad input).
    """
    _check(key, nonce)
    if len(data) < AUTH_TAG_SIZE:
        raise CryptoError()
    try:
        opened = bytes(nacl.bindings.crypto_secretbox_open_easy(data, nonce, key))
    except nacl.exceptions.CryptoError:
        raise CryptoError() from None
    if unpadded:
        return opened
    try:
        return unpad(opened)
    except DecodeError:
        raise CryptoError() from None


def cb_authenticate(peer: PublicKey, own: PrivateKey, nonce: bytes, msg: bytes) -> bytes:
    """The 80-byte ``CbAuthenticator`` of ``msg``: ``crypto_box(sha512(msg), nonce, peer, own)``.

    SMP v7+ command authorization with an X25519 queue key (C.hs:1366 ``cbAuthenticate``;
    docs/protocol/smp.md, "Authorization"): the client boxes with its queue key and the
    server's session key, and the server checks with :func:`cb_verify` from the other side.
    """
    return cb_encrypt(dh_box_key(peer, own), nonce, hashlib.sha512(msg).digest())


def cb_verify(
    peer: PublicKey, own: PrivateKey, nonce: bytes, msg: bytes, authenticator: bytes
) -> bool:
    """True iff ``authenticator`` is :func:`cb_authenticate` of ``msg`` between these keys.

    Never raises for a bad authenticator or a low-order peer key; the digest comparison is
    constant-time (C.hs:1371 ``cbVerify``).
    """
    if len(authenticator) != CB_AUTHENTICATOR_SIZE:
        return False
    try:
        opened = cb_decrypt(dh_box_key(peer, own), nonce, authenticator, unpadded=True)
    except CryptoError:
        return False
    return hmac.compare_digest(opened, hashlib.sha512(msg).digest())


def cb_verify_with_key(box_key: bytes, nonce: bytes, msg: bytes, authenticator: bytes) -> bool:
    """:func:`cb_verify` with the box key already prepared (``dh_box_key(peer, own)``).

    Same answer as ``cb_verify(peer, own, ...)`` for the same keys; lets a caller that checks
    many authenticators between the same two keys (the relay: one queue key, one session key)
    do the X25519 step once. Never raises for a bad authenticator.
    """
    if len(authenticator) != CB_AUTHENTICATOR_SIZE:
        return False
    try:
        opened = cb_decrypt(box_key, nonce, authenticator, unpadded=True)
    except CryptoError:
        return False
    return hmac.compare_digest(opened, hashlib.sha512(msg).digest())
