"""hushwire.crypto.aead: AES-256-GCM with a 16-byte IV, the ratchet header vector."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.crypto import aead
from hushwire.crypto.padding import pad
from hushwire.errors import CryptoError

V = load_vectors("crypto_aead.json")


def h(s: str) -> bytes:
    return bytes.fromhex(s)


@pytest.mark.parametrize("v", V["vectors"])
def test_header_vector_both_ways(v: dict[str, Any]) -> None:
    key, iv, ad = h(v["key_hex"]), h(v["iv_hex"]), h(v["ad_hex"])
    ct, tag = h(v["ciphertext_hex"]), h(v["tag_hex"])
    assert pad(h(v["msg_hex"]), v["padded_len"]) == h(v["padded_hex"])
    assert aead.encrypt_aead(key, iv, v["padded_len"], ad, h(v["msg_hex"])) == (ct, tag)
    assert aead.aes_gcm_encrypt(key, iv, ad, h(v["padded_hex"])) == (ct, tag)
    assert aead.aes_gcm_decrypt(key, iv, ad, ct, tag) == h(v["padded_hex"])
    assert aead.decrypt_aead(key, iv, ad, ct, tag) == h(v["msg_hex"])
    em = h(v["em_header_hex"])
    assert em == b"\x00\x03" + iv + tag + len(ct).to_bytes(2, "big") + ct


def test_sixteen_byte_iv_is_standard_gcm() -> None:
    key, iv = b"\x01" * 32, bytes(range(16))
    enc = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    enc.authenticate_additional_data(b"ad")
    ct = enc.update(b"plain") + enc.finalize()
    assert aead.aes_gcm_encrypt(key, iv, b"ad", b"plain") == (ct, enc.tag)


def test_failures_are_opaque() -> None:
    key, iv = b"\x01" * 32, b"\x02" * 16
    ct, tag = aead.aes_gcm_encrypt(key, iv, b"ad", b"secret")
    bad_tag = bytes([tag[0] ^ 1]) + tag[1:]
    for args in (
        (key, iv, b"ad", ct, bad_tag),
        (key, iv, b"AD", ct, tag),
        (key, iv, b"ad", ct + b"x", tag),
        (b"\x03" * 32, iv, b"ad", ct, tag),
        (key, iv, b"ad", ct, tag[:12]),
    ):
        with pytest.raises(CryptoError) as e:
            aead.aes_gcm_decrypt(*args)
        assert str(e.value) == "cryptographic operation failed"
    # authentic but not padded: decrypt_aead fails opaquely
    ct2, tag2 = aead.aes_gcm_encrypt(key, iv, b"", b"\x00\x09ab")
    with pytest.raises(CryptoError):
        aead.decrypt_aead(key, iv, b"", ct2, tag2)


def test_sizes() -> None:
    with pytest.raises(ValueError):
        aead.aes_gcm_encrypt(b"\x01" * 16, b"\x02" * 16, b"", b"m")
    with pytest.raises(ValueError):
        aead.aes_gcm_encrypt(b"\x01" * 32, b"\x02" * 12, b"", b"m")
    with pytest.raises(ValueError):
        aead.encrypt_aead(b"\x01" * 32, b"\x02" * 16, 3, b"", b"mm")


@settings(max_examples=100)
@given(
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=16, max_size=16),
    st.binary(max_size=64),
    st.binary(max_size=300),
)
def test_round_trip(key: bytes, iv: bytes, ad: bytes, msg: bytes) -> None:
    ct, tag = aead.aes_gcm_encrypt(key, iv, ad, msg)
    assert len(ct) == len(msg) and len(tag) == 16
    assert aead.aes_gcm_decrypt(key, iv, ad, ct, tag) == msg
    ct2, tag2 = aead.encrypt_aead(key, iv, len(msg) + 2, ad, msg)
    assert aead.decrypt_aead(key, iv, ad, ct2, tag2) == msg
