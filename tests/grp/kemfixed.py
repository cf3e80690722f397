"""A deterministic ML-KEM-768 suite for GRP tests: keys from a fixed seed (``cryptography``),
encapsulation with a fixed ``m`` (kyber-py's FIPS 203 ``Encaps_internal``)."""

from __future__ import annotations

from kyber_py.ml_kem import ML_KEM_768

from hushwire.grp import kem
from hushwire.grp.noise import KemSuite


def encaps_with(m: bytes):  # type: ignore[no-untyped-def]
    def encaps(ek: bytes) -> tuple[bytes, bytes]:
        ss, ct = ML_KEM_768._encaps_internal(ek, m)
        return ct, ss

    return encaps


def fixed_suite(seed: bytes, m: bytes) -> KemSuite:
    return kem.mlkem768_suite(generate=lambda: kem.keypair(seed), encaps=encaps_with(m))
