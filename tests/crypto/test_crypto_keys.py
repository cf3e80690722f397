"""hushwire.crypto.keys: SPKI/PKCS#8 forms of simplexmq's sample keys, RFC vectors, round-trips."""

from __future__ import annotations

import base64
import copy
import dataclasses
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.crypto.keys import PKCS8_PREFIX, SPKI_PREFIX, KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.errors import CryptoError, DecodeError

V = load_vectors("crypto_keys.json")
ALGS = list(KeyAlg)


@pytest.mark.parametrize("v", V["spki"], ids=lambda v: v["b64"][:16])
def test_spki_samples(v: dict[str, Any]) -> None:
    der = base64.b64decode(v["b64"])
    key = PublicKey.from_der(der)
    assert key.alg is KeyAlg(v["alg"])
    assert key.to_der() == der
    assert len(der) == len(SPKI_PREFIX[key.alg]) + key.alg.raw_size


@pytest.mark.parametrize("v", V["private"], ids=lambda v: v["alg"])
def test_private_vectors(v: dict[str, Any]) -> None:
    alg = KeyAlg(v["alg"])
    key = PrivateKey(alg, bytes.fromhex(v["raw_hex"]))
    assert key.public() == PublicKey(alg, bytes.fromhex(v["public_hex"]))
    der = bytes.fromhex(v["pkcs8_hex"])
    assert key.to_der() == der
    assert PrivateKey.from_der(der) == key


@pytest.mark.parametrize("v", V["signatures"])
def test_signature_vectors(v: dict[str, Any]) -> None:
    key = PrivateKey(KeyAlg(v["alg"]), bytes.fromhex(v["raw_hex"]))
    msg, sig = bytes.fromhex(v["msg_hex"]), bytes.fromhex(v["sig_hex"])
    assert key.sign(msg) == sig
    assert key.public().verify(sig, msg)
    assert not key.public().verify(sig, msg + b"x")
    assert not key.public().verify(sig[:-1], msg)


@pytest.mark.parametrize("v", V["dh"])
def test_dh_vectors(v: dict[str, Any]) -> None:
    key = PrivateKey(KeyAlg(v["alg"]), bytes.fromhex(v["a_hex"]))
    peer = PublicKey(KeyAlg(v["alg"]), bytes.fromhex(v["b_pub_hex"]))
    assert key.dh(peer) == bytes.fromhex(v["shared_hex"])


def test_alg_properties() -> None:
    assert [a for a in ALGS if a.is_signature] == [KeyAlg.ED25519, KeyAlg.ED448]
    assert [a for a in ALGS if a.is_dh] == [KeyAlg.X25519, KeyAlg.X448]
    assert KeyAlg.ED25519.signature_size == 64
    assert KeyAlg.ED448.signature_size == 114
    with pytest.raises(ValueError):
        _ = KeyAlg.X25519.signature_size


@pytest.mark.parametrize("alg", ALGS)
def test_generate_and_der_round_trip(alg: KeyAlg) -> None:
    pair = KeyPair.generate(alg)
    assert pair.private.public() == pair.public
    assert PublicKey.from_der(pair.public.to_der()) == pair.public
    assert PrivateKey.from_der(pair.private.to_der()) == pair.private
    assert pair.private.to_der().startswith(PKCS8_PREFIX[alg])
    assert pair.public.to_der().startswith(SPKI_PREFIX[alg])
    assert hash(pair.public) == hash(PublicKey(alg, pair.public.raw))


def test_private_key_redacted() -> None:
    key = PrivateKey(KeyAlg.X25519, b"\x42" * 32)
    assert "42" not in repr(key) and "redacted" in repr(key)
    pair = KeyPair(key.public(), key)
    assert "\\x42" not in repr(pair) and "B" * 3 not in repr(pair)


def test_wrong_sizes() -> None:
    with pytest.raises(ValueError):
        PublicKey(KeyAlg.ED25519, b"\x00" * 31)
    with pytest.raises(ValueError):
        PrivateKey(KeyAlg.X448, b"\x00" * 57)


def test_public_key_equality() -> None:
    k = PublicKey(KeyAlg.X25519, b"\x01" * 32)
    assert k == PublicKey(KeyAlg.X25519, b"\x01" * 32)
    assert k != PublicKey(KeyAlg.ED25519, b"\x01" * 32)
    assert k != PublicKey(KeyAlg.X25519, b"\x02" * 32)
    assert k != "key"


def test_misuse() -> None:
    x = PrivateKey.generate(KeyAlg.X25519)
    e = PrivateKey.generate(KeyAlg.ED25519)
    with pytest.raises(ValueError):
        x.sign(b"m")
    with pytest.raises(ValueError):
        e.dh(x.public())
    with pytest.raises(ValueError):
        x.dh(PrivateKey.generate(KeyAlg.X448).public())
    assert not x.public().verify(b"\x00" * 64, b"m")


@pytest.mark.parametrize("alg", [KeyAlg.X25519, KeyAlg.X448])
def test_low_order_peer_is_crypto_error(alg: KeyAlg) -> None:
    own = PrivateKey.generate(alg)
    with pytest.raises(CryptoError):
        own.dh(PublicKey(alg, bytes(alg.raw_size)))


def test_from_der_rejects() -> None:
    good = PublicKey(KeyAlg.X25519, b"\x01" * 32).to_der()
    for bad in (b"", good[:-1], good + b"\x00", b"\x31" + good[1:]):
        with pytest.raises(DecodeError):
            PublicKey.from_der(bad)
    priv = PrivateKey(KeyAlg.X25519, b"\x01" * 32).to_der()
    for bad in (b"", priv[:-1], priv + b"\x00", good):
        with pytest.raises(DecodeError):
            PrivateKey.from_der(bad)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from([KeyAlg.ED25519, KeyAlg.ED448]), st.binary(max_size=200))
def test_sign_verify_round_trip(alg: KeyAlg, msg: bytes) -> None:
    key = PrivateKey.generate(alg)
    sig = key.sign(msg)
    assert len(sig) == alg.signature_size
    assert key.public().verify(sig, msg)
    assert not key.public().verify(sig, msg + b"!")
    bad = bytes([sig[0] ^ 1]) + sig[1:]
    assert not key.public().verify(bad, msg)


@settings(max_examples=100)
@given(st.sampled_from(ALGS), st.data())
def test_der_round_trip(alg: KeyAlg, data: st.DataObject) -> None:
    raw = data.draw(st.binary(min_size=alg.raw_size, max_size=alg.raw_size))
    pub = PublicKey(alg, raw)
    assert PublicKey.from_der(pub.to_der()) == pub
    priv = PrivateKey(alg, raw)
    assert PrivateKey.from_der(priv.to_der()) == priv


def test_private_key_equality() -> None:
    k = PrivateKey(KeyAlg.X25519, b"\x01" * 32)
    assert k == PrivateKey(KeyAlg.X25519, b"\x01" * 32)
    assert hash(k) == hash(PrivateKey(KeyAlg.X25519, b"\x01" * 32))
    assert k != PrivateKey(KeyAlg.ED25519, b"\x01" * 32)
    assert k != PrivateKey(KeyAlg.X25519, b"\x02" * 32)
    assert k != "key"


@pytest.mark.parametrize("v", V["dh"])
def test_dh_vectors_repeated_reuse_the_parsed_keys(v: dict[str, Any]) -> None:
    # The parsed key objects are cached in the keys: a second DH (and a second public())
    # gives the same bytes, from keys that compare, hash and show as before.
    alg = KeyAlg(v["alg"])
    key = PrivateKey(alg, bytes.fromhex(v["a_hex"]))
    peer = PublicKey(alg, bytes.fromhex(v["b_pub_hex"]))
    shared = bytes.fromhex(v["shared_hex"])
    assert key.dh(peer) == shared
    assert key.dh(peer) == shared
    assert key.public() is key.public()
    assert key == PrivateKey(alg, key.raw) and hash(key) == hash(PrivateKey(alg, key.raw))
    assert peer == PublicKey(alg, peer.raw) and hash(peer) == hash(PublicKey(alg, peer.raw))
    assert repr(key) == f"PrivateKey({alg.value}, <redacted>)"
    assert repr(peer) == repr(PublicKey(alg, peer.raw))
    assert "_key" not in repr(peer) and "_pub" not in repr(key)


@pytest.mark.parametrize("v", V["signatures"])
def test_signature_vectors_repeated(v: dict[str, Any]) -> None:
    key = PrivateKey(KeyAlg(v["alg"]), bytes.fromhex(v["raw_hex"]))
    msg, sig = bytes.fromhex(v["msg_hex"]), bytes.fromhex(v["sig_hex"])
    pub = key.public()
    for _ in range(2):
        assert key.sign(msg) == sig
        assert pub.verify(sig, msg)
        assert not pub.verify(sig, msg + b"x")


@pytest.mark.parametrize("alg", ALGS)
def test_generated_key_public_matches_a_reparsed_key(alg: KeyAlg) -> None:
    pair = KeyPair.generate(alg)
    again = PrivateKey.from_der(pair.private.to_der())
    assert again.public() == pair.public
    if alg.is_dh:
        peer = KeyPair.generate(alg).public
        assert pair.private.dh(peer) == again.dh(peer)
    else:
        assert pair.private.sign(b"m") == again.sign(b"m")


@pytest.mark.parametrize("alg", ALGS)
def test_keys_pickle_and_copy_by_value(alg: KeyAlg) -> None:
    pair = KeyPair.generate(alg)
    pair.public.verify(b"\x00" * 114, b"")  # may fill the public key's cache
    for k in (pair.private, pair.public):
        back = pickle.loads(pickle.dumps(k))
        assert back == k and hash(back) == hash(k) and type(back) is type(k)
        assert copy.deepcopy(k) == k and copy.copy(k) == k
    back_priv = pickle.loads(pickle.dumps(pair.private))
    assert back_priv.public() == pair.public
    assert pickle.loads(pickle.dumps(pair)) == pair


def test_low_order_peer_after_a_good_dh_is_still_crypto_error() -> None:
    key = PrivateKey.generate(KeyAlg.X25519)
    key.dh(KeyPair.generate(KeyAlg.X25519).public)
    with pytest.raises(CryptoError):
        key.dh(PublicKey(KeyAlg.X25519, bytes(32)))


@pytest.mark.parametrize("alg", ALGS)
def test_the_caches_are_not_fields(alg: KeyAlg) -> None:
    pair = KeyPair.generate(alg)
    pair.private.public()
    for k in (pair.private, pair.public):
        assert [f.name for f in dataclasses.fields(k)] == ["alg", "raw"]
        assert dataclasses.asdict(k) == {"alg": alg, "raw": k.raw}
        assert dataclasses.replace(k) == k
        assert not hasattr(k, "__dict__")
        # Frozen: the cache slot is set only through object.__setattr__ inside the class
        # (Python 3.11's frozen slotted __setattr__ refuses a non-field name with TypeError).
        with pytest.raises((dataclasses.FrozenInstanceError, TypeError)):
            k._key = None  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            k.raw = b""  # type: ignore[misc]
