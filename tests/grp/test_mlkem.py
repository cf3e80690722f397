"""ML-KEM-768 against NIST's FIPS 203 ACVP known-answer tests.

``cryptography`` (what the relay and client run) is checked on key generation from the
seed and on decapsulation, including implicit rejection of modified ciphertexts; kyber-py
(the tests' deterministic encapsulation) on encapsulation and decapsulation."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from kyber_py.ml_kem import ML_KEM_768
from tests.conftest import load_vectors

from hushwire.grp import kem
from hushwire.grp.noise import NoiseError

V: Any = load_vectors("grp_mlkem.json")
X: Any = load_vectors("grp_handshake.json")["mlkem_cross_check"]
h = bytes.fromhex


@pytest.mark.parametrize("case", V["keyGen"], ids=lambda c: f"tc{c['tcId']}")
def test_cryptography_keygen_matches_acvp(case: dict[str, Any]) -> None:
    seed = h(case["d"]) + h(case["z"])
    assert kem.public_from_seed(seed) == h(case["ek"])
    ek, dk = ML_KEM_768.key_derive(seed)
    assert (ek, dk) == (h(case["ek"]), h(case["dk"]))


@pytest.mark.parametrize("case", V["encapsulation"], ids=lambda c: f"tc{c['tcId']}")
def test_kyber_py_encapsulation_matches_acvp(case: dict[str, Any]) -> None:
    ss, ct = ML_KEM_768._encaps_internal(h(case["ek"]), h(case["m"]))
    assert (ct, ss) == (h(case["c"]), h(case["k"]))


@pytest.mark.parametrize("case", V["decapsulation"]["tests"], ids=lambda c: f"tc{c['tcId']}")
def test_kyber_py_decapsulation_matches_acvp(case: dict[str, Any]) -> None:
    dk = h(V["decapsulation"]["dk"])
    assert ML_KEM_768.decaps(dk, h(case["c"])) == h(case["k"])


@pytest.mark.parametrize("case", V["keyGen"], ids=lambda c: f"tc{c['tcId']}")
def test_cryptography_decapsulates_what_the_kat_checked_encapsulation_made(
    case: dict[str, Any],
) -> None:
    seed = h(case["d"]) + h(case["z"])
    ek, decapsulate = kem.keypair(seed)
    ss, ct = ML_KEM_768._encaps_internal(ek, bytes(range(32)))
    assert decapsulate(ct) == ss
    bad = bytes([ct[0] ^ 1]) + ct[1:]
    # Implicit rejection: a modified ciphertext gives FIPS 203's J(z ‖ c), not an error.
    assert decapsulate(bad) == ML_KEM_768.decaps(h(case["dk"]), bad) != ss


def test_the_cross_check_values() -> None:
    seed, m = h(X["seed_hex"]), h(X["m_hex"])
    ek, decapsulate = kem.keypair(seed)
    assert hashlib.sha256(ek).hexdigest() == X["ek_sha256_hex"]
    ss, ct = ML_KEM_768._encaps_internal(ek, m)
    assert hashlib.sha256(ct).hexdigest() == X["ct_sha256_hex"]
    assert decapsulate(ct).hex() == ss.hex() == X["ss_hex"]


def test_random_round_trip_and_bad_inputs() -> None:
    ek, decapsulate = kem.keypair()
    ct, ss = kem.encapsulate(ek)
    assert len(ct) == kem.CT_SIZE and decapsulate(ct) == ss
    with pytest.raises(NoiseError):
        kem.encapsulate(ek[:-1])
    with pytest.raises(NoiseError):
        kem.encapsulate(b"\xff" * kem.EK_SIZE)  # coefficients past q: FIPS 203 modulus check
    with pytest.raises(NoiseError):
        decapsulate(ct[:-1])
