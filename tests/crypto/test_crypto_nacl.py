"""hushwire.crypto.nacl: NaCl/libsodium vectors, SimpleX forms, the CbAuthenticator vector."""

from __future__ import annotations

import hashlib
from typing import Any

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.crypto import nacl as n
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.crypto.padding import pad
from hushwire.errors import CryptoError

V = load_vectors("crypto_nacl.json")
X = KeyAlg.X25519


def h(s: str) -> bytes:
    return bytes.fromhex(s)


@pytest.mark.parametrize("v", V["hsalsa20"], ids=["core1", "core2"])
def test_hsalsa20_vectors(v: dict[str, Any]) -> None:
    assert n.hsalsa20(h(v["key_hex"]), h(v["in_hex"])) == h(v["out_hex"])
    # The pure-Python core (the fallback) gives the same bytes as libsodium.
    assert n._hsalsa20_py(h(v["key_hex"]), h(v["in_hex"])) == h(v["out_hex"])


def test_hsalsa20_default_input_and_sizes() -> None:
    v = V["hsalsa20"][0]
    assert n.hsalsa20(h(v["key_hex"])) == h(v["out_hex"])
    assert n.sb_key(h(v["key_hex"])) == h(v["out_hex"])
    with pytest.raises(ValueError):
        n.hsalsa20(b"\x00" * 31)
    with pytest.raises(ValueError):
        n.hsalsa20(b"\x00" * 32, b"\x00" * 15)


def test_box_vector() -> None:
    v = V["box"]
    alice = PrivateKey(X, h(v["alice_sk_hex"]))
    bob = PrivateKey(X, h(v["bob_sk_hex"]))
    assert alice.public().raw == h(v["alice_pk_hex"])
    assert bob.public().raw == h(v["bob_pk_hex"])
    key = n.dh_box_key(bob.public(), alice)
    assert key == h(v["box_key_hex"]) == n.dh_box_key(alice.public(), bob)
    assert n.hsalsa20(alice.dh(bob.public())) == key
    box = h(v["box_hex"])
    assert n.cb_encrypt(key, h(v["nonce_hex"]), h(v["msg_hex"])) == box
    assert n.cb_decrypt(key, h(v["nonce_hex"]), box, unpadded=True) == h(v["msg_hex"])


def test_sb_vector() -> None:
    v = V["sb"]
    key = n.sb_key(h(v["sb_key_hex"]))
    assert key == h(v["box_key_hex"])
    nonce, msg = h(v["nonce_hex"]), h(v["msg_hex"])
    box = n.cb_encrypt(key, nonce, msg, pad_to=v["pad_to"])
    assert box == h(v["box_hex"])
    assert len(box) == v["pad_to"] + n.AUTH_TAG_SIZE
    assert n.cb_decrypt(key, nonce, box) == msg
    assert n.cb_decrypt(key, nonce, box, unpadded=True) == pad(msg, v["pad_to"])
    nopad = n.cb_encrypt(key, nonce, msg)
    assert nopad == h(v["box_nopad_hex"])
    assert n.cb_decrypt(key, nonce, nopad, unpadded=True) == msg


def test_symmetric_box_is_not_plain_secretbox() -> None:
    """SimpleX's sbEncrypt keys XSalsa20 with HSalsa20(K), never with K (docs/protocol/smp.md)."""
    v = V["sb"]
    raw_key, nonce, msg = h(v["sb_key_hex"]), h(v["nonce_hex"]), h(v["msg_hex"])
    plain = bytes(nacl.bindings.crypto_secretbox_easy(msg, nonce, raw_key))
    assert plain != h(v["box_nopad_hex"])


@pytest.mark.parametrize("v", V["cb_nonce"], ids=lambda v: str(len(v["in_hex"]) // 2))
def test_cb_nonce(v: dict[str, Any]) -> None:
    assert n.cb_nonce(h(v["in_hex"])) == h(v["out_hex"])


def test_reverse_nonce() -> None:
    assert n.reverse_nonce(bytes(range(24))) == bytes(range(23, -1, -1))


def test_cb_authenticator_vector() -> None:
    v = V["cb_authenticator"]
    server = PrivateKey(X, h(v["server_session_sk_hex"]))
    queue = PrivateKey(X, h(v["queue_sk_hex"]))
    assert server.public().raw == h(v["server_session_pk_hex"])
    assert queue.public().raw == h(v["queue_pk_hex"])
    nonce = n.cb_nonce(h(v["corr_id_hex"]))
    authorized = h(v["authorized_hex"])
    expected = h(v["authenticator_hex"])
    auth = n.cb_authenticate(server.public(), queue, nonce, authorized)
    assert auth == expected
    assert len(auth) == n.CB_AUTHENTICATOR_SIZE == 80
    # the server checks from its side
    assert n.cb_verify(queue.public(), server, nonce, authorized, expected)
    assert not n.cb_verify(queue.public(), server, nonce, authorized + b"x", expected)
    assert not n.cb_verify(queue.public(), server, nonce, authorized, expected[:-1])
    flipped = expected[:20] + bytes([expected[20] ^ 1]) + expected[21:]
    assert not n.cb_verify(queue.public(), server, nonce, authorized, flipped)
    other = PrivateKey(X, b"\x33" * 32)
    assert not n.cb_verify(other.public(), server, nonce, authorized, expected)


def test_cb_authenticate_is_crypto_box_of_sha512() -> None:
    a, b = KeyPair.generate(X), KeyPair.generate(X)
    nonce = bytes(range(24))
    box = nacl.bindings.crypto_box(
        hashlib.sha512(b"m").digest(), nonce, b.public.raw, a.private.raw
    )
    assert n.cb_authenticate(b.public, a.private, nonce, b"m") == bytes(box)


def test_cb_verify_low_order_peer_is_false() -> None:
    own = PrivateKey.generate(X)
    assert not n.cb_verify(PublicKey(X, bytes(32)), own, bytes(24), b"m", bytes(80))
    with pytest.raises(CryptoError):
        n.dh_box_key(PublicKey(X, bytes(32)), own)


def test_dh_box_key_needs_x25519() -> None:
    with pytest.raises(ValueError):
        n.dh_box_key(KeyPair.generate(KeyAlg.X448).public, PrivateKey.generate(X))
    with pytest.raises(ValueError):
        n.dh_box_key(KeyPair.generate(X).public, PrivateKey.generate(KeyAlg.ED25519))


def test_decrypt_failures_are_opaque() -> None:
    key, nonce = b"\x01" * 32, b"\x02" * 24
    box = n.cb_encrypt(key, nonce, b"hello", pad_to=20)
    for bad in (b"", box[:15], box[:16], box[:-1], box[:5] + b"\x00" + box[6:]):
        with pytest.raises(CryptoError) as e:
            n.cb_decrypt(key, nonce, bad)
        assert str(e.value) == "cryptographic operation failed"
    with pytest.raises(CryptoError):
        n.cb_decrypt(b"\x03" * 32, nonce, box)
    # a valid box whose content is not padded correctly is a CryptoError too
    bad_pad = n.cb_encrypt(key, nonce, b"\x00\x09abc")
    with pytest.raises(CryptoError):
        n.cb_decrypt(key, nonce, bad_pad)
    assert n.cb_decrypt(key, nonce, bad_pad, unpadded=True) == b"\x00\x09abc"
    # an empty message boxes to just the tag
    assert n.cb_decrypt(key, nonce, n.cb_encrypt(key, nonce, b""), unpadded=True) == b""


def test_programming_errors() -> None:
    with pytest.raises(ValueError):
        n.cb_encrypt(b"\x01" * 31, b"\x02" * 24, b"m")
    with pytest.raises(ValueError):
        n.cb_encrypt(b"\x01" * 32, b"\x02" * 23, b"m")
    with pytest.raises(ValueError):
        n.cb_decrypt(b"\x01" * 32, b"\x02" * 25, b"\x00" * 32)
    with pytest.raises(ValueError):
        n.cb_encrypt(b"\x01" * 32, b"\x02" * 24, b"toolong", pad_to=8)


@settings(max_examples=200)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=24, max_size=24))
def test_hsalsa20_matches_libsodium_beforenm(sk: bytes, nonce: bytes) -> None:
    own = PrivateKey(X, sk)
    peer = PrivateKey(X, nonce + sk[:8]).public()
    assert n.dh_box_key(peer, own) == bytes(nacl.bindings.crypto_box_beforenm(peer.raw, own.raw))


@settings(max_examples=200)
@given(
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=24, max_size=24),
    st.binary(max_size=300),
    st.booleans(),
)
def test_cb_round_trip(key: bytes, nonce: bytes, msg: bytes, padded: bool) -> None:
    if padded:
        box = n.cb_encrypt(key, nonce, msg, pad_to=len(msg) + 10)
        assert len(box) == len(msg) + 26
        assert n.cb_decrypt(key, nonce, box) == msg
    else:
        box = n.cb_encrypt(key, nonce, msg)
        assert len(box) == len(msg) + 16
        assert n.cb_decrypt(key, nonce, box, unpadded=True) == msg


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=16, max_size=16))
def test_hsalsa20_python_core_equals_libsodium(key: bytes, inp: bytes) -> None:
    assert n._hsalsa20_py(key, inp) == n.hsalsa20(key, inp)
