"""ML-KEM-768 (FIPS 203) as the GRP handshake's KEM, over ``cryptography``.

Key generation from a 64-byte seed ``d ‖ z`` (FIPS 203 ``ML-KEM.KeyGen_internal``),
encapsulation to a 1184-byte encapsulation key, decapsulation with implicit rejection.
``cryptography`` draws the encapsulation randomness itself; tests that need fixed bytes
pass their own ``encapsulate`` to :func:`mlkem768_suite`. Known-answer tests:
tests/grp/test_mlkem.py against NIST's ACVP vectors (tests/vectors/grp_mlkem.json).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from cryptography.hazmat.primitives.asymmetric.mlkem import (
    MLKEM768PrivateKey,
    MLKEM768PublicKey,
)

from hushwire.grp.noise import KemSuite, NoiseError

EK_SIZE: Final = 1184
CT_SIZE: Final = 1088
SS_SIZE: Final = 32
SEED_SIZE: Final = 64


def public_from_seed(seed: bytes) -> bytes:
    """The encapsulation key of the key pair made from ``seed`` (``d ‖ z``)."""
    if len(seed) != SEED_SIZE:
        raise ValueError("an ML-KEM seed is 64 bytes")
    return MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()


def keypair(seed: bytes | None = None) -> tuple[bytes, Callable[[bytes], bytes]]:
    """A fresh key pair: ``(encapsulation key, decapsulate)``; ``seed`` fixes it (tests)."""
    if seed is not None and len(seed) != SEED_SIZE:
        raise ValueError("an ML-KEM seed is 64 bytes")
    key = MLKEM768PrivateKey.from_seed_bytes(seed if seed is not None else os.urandom(SEED_SIZE))

    def decapsulate(ct: bytes) -> bytes:
        if len(ct) != CT_SIZE:
            raise NoiseError("bad ML-KEM ciphertext length")
        return key.decapsulate(ct)

    return key.public_key().public_bytes_raw(), decapsulate


def encapsulate(ek: bytes) -> tuple[bytes, bytes]:
    """``(ciphertext, shared secret)`` for ``ek``; a malformed key is a :class:`NoiseError`
    (FIPS 203 input checks: length and the modulus check)."""
    if len(ek) != EK_SIZE:
        raise NoiseError("bad ML-KEM encapsulation key length")
    try:
        public = MLKEM768PublicKey.from_public_bytes(ek)
    except ValueError:
        raise NoiseError("bad ML-KEM encapsulation key") from None
    ss, ct = public.encapsulate()
    return ct, ss


def mlkem768_suite(
    *,
    generate: Callable[[], tuple[bytes, Callable[[bytes], bytes]]] = keypair,
    encaps: Callable[[bytes], tuple[bytes, bytes]] = encapsulate,
) -> KemSuite:
    """ML-KEM-768 for the HFS tokens; the defaults are random (production)."""
    return KemSuite(EK_SIZE, CT_SIZE, generate, encaps)
