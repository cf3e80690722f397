"""AES-256-GCM with SimpleX's 16-byte IV and 16-byte tag.

Mirrors simplexmq ``Crypto.hs`` ``encryptAEAD``/``decryptAEAD`` (C.hs:1030-1060), used by
the double ratchet (docs/protocol/agent.md, "Double ratchet"). A 16-byte IV is standard GCM: the
initial counter block is GHASH-derived (NIST SP 800-38D), which ``cryptography``'s
``AESGCM`` does for any nonce of 8..128 bytes; noble's ``gcm`` in the widget agrees.

:func:`aes_gcm_encrypt`/:func:`aes_gcm_decrypt` are the raw cipher; :func:`encrypt_aead`/
:func:`decrypt_aead` add simplexmq's padding exactly as ``encryptAEAD``/``decryptAEAD`` do.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hushwire.crypto.padding import pad, unpad
from hushwire.errors import CryptoError, DecodeError

AES_KEY_SIZE = 32
GCM_IV_SIZE = 16
GCM_TAG_SIZE = 16


def _check(key: bytes, iv: bytes) -> None:
    if len(key) != AES_KEY_SIZE:
        raise ValueError("AES-256 key must be 32 bytes")
    if len(iv) != GCM_IV_SIZE:
        raise ValueError("SimpleX GCM IV must be 16 bytes")


def aes_gcm_encrypt(key: bytes, iv16: bytes, ad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    """``(ciphertext, tag16)``; the ciphertext is as long as ``plaintext``."""
    _check(key, iv16)
    out = AESGCM(key).encrypt(iv16, plaintext, ad)
    return out[:-GCM_TAG_SIZE], out[-GCM_TAG_SIZE:]


def aes_gcm_decrypt(key: bytes, iv16: bytes, ad: bytes, ciphertext: bytes, tag: bytes) -> bytes:
    """The plaintext; an opaque :class:`CryptoError` if the tag does not verify."""
    _check(key, iv16)
    if len(tag) != GCM_TAG_SIZE:
        raise CryptoError()
    try:
        return AESGCM(key).decrypt(iv16, ciphertext + tag, ad)
    except InvalidTag:
        raise CryptoError() from None


def encrypt_aead(
    key: bytes, iv16: bytes, padded_len: int, ad: bytes, msg: bytes
) -> tuple[bytes, bytes]:
    """C.hs ``encryptAEAD``: ``aes_gcm_encrypt`` of ``pad(msg, padded_len)`` -> ``(ct, tag)``."""
    return aes_gcm_encrypt(key, iv16, ad, pad(msg, padded_len))


def decrypt_aead(key: bytes, iv16: bytes, ad: bytes, ciphertext: bytes, tag: bytes) -> bytes:
    """C.hs ``decryptAEAD``: decrypt, then unpad; any failure is an opaque ``CryptoError``."""
    try:
        return unpad(aes_gcm_decrypt(key, iv16, ad, ciphertext, tag))
    except DecodeError:
        raise CryptoError() from None
