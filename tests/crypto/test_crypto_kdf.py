"""hushwire.crypto.kdf: hashes, HKDF-SHA512 with the ratchet vectors, the v11 block chain."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.crypto import kdf
from hushwire.crypto.keys import KeyAlg, PrivateKey
from hushwire.crypto.nacl import cb_encrypt, sb_key
from hushwire.errors import CryptoError
from hushwire.limits import SMP_BLOCK_SIZE

V = load_vectors("crypto_kdf.json")


def h(s: str) -> bytes:
    return bytes.fromhex(s)


@pytest.mark.parametrize("v", V["sha256"])
def test_sha256(v: dict[str, Any]) -> None:
    assert kdf.sha256(h(v["in_hex"])) == h(v["out_hex"]) == hashlib.sha256(h(v["in_hex"])).digest()


def test_sha256_fips_abc() -> None:
    assert kdf.sha256(b"abc").hex().startswith("ba7816bf8f01cfea414140de5dae2223")
    assert kdf.sha512(b"abc").hex().startswith("ddaf35a193617abacc417349ae204131")
    assert kdf.sha512(b"abc") == h(V["sha512"][0]["out_hex"])


@pytest.mark.parametrize("v", V["hkdf_sha512"], ids=lambda v: v["info"])
def test_hkdf_vectors(v: dict[str, Any]) -> None:
    out = kdf.hkdf_sha512(h(v["salt_hex"]), h(v["ikm_hex"]), v["info"].encode(), v["length"])
    assert out == h(v["out_hex"])


def test_ratchet_values_cross_checked_with_simplex_js() -> None:
    """Spot-check the JSON: X3DH, rootKdf and chainKdf values cross-checked with simplex-js."""
    x3, root, chain = (h(v["out_hex"]) for v in V["hkdf_sha512"])
    assert x3[64:].hex() == "f20cb97b24dde534ee73dd29ad5480a87637b7a7c79f524bfa99811dec8c13c8"
    assert root[32:64].hex() == "badffd3e0d368f9be64314507496b4900ec466971a747dd1f2ed288af20956fa"
    assert chain[80:].hex() == "5fb4590ca257a8a382df60ab616ff265"
    labels = V["x448_labels"]
    a1 = PrivateKey(KeyAlg.X448, kdf.sha512(b"a1")[:56])
    assert a1.public().raw == h(labels["a1_pub_hex"])


def test_hkdf_empty_salt_equals_default_salt() -> None:
    """crypton's extract with salt "" = RFC 5869's default of HashLen zero bytes."""
    ikm = b"\x0b" * 22
    ours = kdf.hkdf_sha512(b"", ikm, b"info", 100)
    assert ours == kdf.hkdf_sha512(bytes(64), ikm, b"info", 100)
    assert ours == HKDF(hashes.SHA512(), 100, None, b"info").derive(ikm)


def test_hkdf_lengths() -> None:
    assert kdf.hkdf_sha512(b"s", b"k", b"i", 0) == b""
    assert len(kdf.hkdf_sha512(b"s", b"k", b"i", 255 * 64)) == 255 * 64
    with pytest.raises(ValueError):
        kdf.hkdf_sha512(b"s", b"k", b"i", 255 * 64 + 1)
    with pytest.raises(ValueError):
        kdf.hkdf_sha512(b"s", b"k", b"i", -1)


@settings(max_examples=100)
@given(st.binary(max_size=80), st.binary(max_size=80), st.binary(max_size=40), st.integers(1, 300))
def test_hkdf_matches_cryptography(salt: bytes, ikm: bytes, info: bytes, length: int) -> None:
    expected = HKDF(hashes.SHA512(), length, salt, info).derive(ikm)
    assert kdf.hkdf_sha512(salt, ikm, info, length) == expected


def test_sb_chain_vectors() -> None:
    v = V["sb_chain"]
    ck1, ck2 = kdf.sb_chain_init(h(v["session_id_hex"]), h(v["dh_secret_hex"]))
    # inputs of simplexmq smp-web tests/SMPWebTests.hs; values computed with Python HKDF
    assert ck1.hex() == "6c72a7bfe8a423e8fc949c7c22e7105abedf1b277e0d86f85cc76739f9521bf4"
    assert ck2.hex() == "ff3d65c93f4426285a02d2bc07c37cc0be10ff23d5d11752962c1b301c155a0f"
    assert (ck1, ck2) == (h(v["ck1_hex"]), h(v["ck2_hex"]))
    nxt, key, nonce = kdf.sb_chain_step(ck1)
    s = v["step1"]
    assert (nxt, key, nonce) == (h(s["next_hex"]), h(s["key_hex"]), h(s["nonce_hex"]))
    assert nxt.hex() == "d576798e5af3dbd708623c1d07dafcd73713e1a3caba9a6e75300dca6bb50f84"
    assert key.hex() == "e42e0f555fed07ff7c8ebd8d257105da1fe3db301b419610032495c42069b7ef"
    assert nonce.hex() == "1d10d473670b46812c98d6b82a385056952919c5d44c7bbf"


def test_encrypted_block_vector_both_ways() -> None:
    v = V["encrypted_block"]
    block = h(v["block_hex"])
    assert len(block) == v["block_size"] == SMP_BLOCK_SIZE
    assert block[:16] == h(v["block_prefix_hex"])
    assert block[:16].hex() == "295f982750b6e0f26b1ab9c8bef37570"  # regression value
    assert kdf.sha256(block).hex() == v["block_sha256_hex"]
    snd, _ = kdf.BlockCipherChain.pair(h(v["session_id_hex"]), h(v["dh_secret_hex"]), server=True)
    assert snd.encrypt_block(h(v["msg_hex"]), v["block_size"]) == block
    _, rcv = kdf.BlockCipherChain.pair(h(v["session_id_hex"]), h(v["dh_secret_hex"]), server=False)
    assert rcv.decrypt_block(block) == h(v["msg_hex"])


def test_block_key_goes_through_hsalsa20() -> None:
    """sbEncrypt -> cryptoBox: the chain's key is used as HSalsa20(key, 0^16)."""
    v = V["encrypted_block"]
    ck1, _ = kdf.sb_chain_init(h(v["session_id_hex"]), h(v["dh_secret_hex"]))
    _, key, nonce = kdf.sb_chain_step(ck1)
    block = cb_encrypt(sb_key(key), nonce, h(v["msg_hex"]), pad_to=v["block_size"] - 16)
    assert block == h(v["block_hex"])


def test_chains_in_both_directions_and_advancing() -> None:
    sid, secret = b"\x05" * 32, b"\x06" * 32
    s_snd, s_rcv = kdf.BlockCipherChain.pair(sid, secret, server=True)
    c_snd, c_rcv = kdf.BlockCipherChain.pair(sid, secret, server=False)
    b1 = s_snd.encrypt_block(b"one", 256)
    b2 = s_snd.encrypt_block(b"one", 256)
    assert len(b1) == len(b2) == 256 and b1 != b2
    assert c_rcv.decrypt_block(b1) == b"one"
    assert c_rcv.decrypt_block(b2) == b"one"
    assert s_rcv.decrypt_block(c_snd.encrypt_block(b"up", 256)) == b"up"
    # a replayed block fails: the receive chain has moved on
    with pytest.raises(CryptoError):
        c_rcv.decrypt_block(b1)
    assert "redacted" in repr(s_snd)


def test_oversized_payload_does_not_advance_chain() -> None:
    snd, _ = kdf.BlockCipherChain.pair(b"\x01" * 32, b"\x02" * 32, server=True)
    _, rcv = kdf.BlockCipherChain.pair(b"\x01" * 32, b"\x02" * 32, server=False)
    with pytest.raises(ValueError):
        snd.encrypt_block(b"x" * 239, 256)
    assert rcv.decrypt_block(snd.encrypt_block(b"x" * 238, 256)) == b"x" * 238


def test_failed_block_still_advances_receive_chain() -> None:
    """As the reference (T.hs tGetBlock steps the chain before opening the block)."""
    snd, _ = kdf.BlockCipherChain.pair(b"\x01" * 32, b"\x02" * 32, server=True)
    _, rcv = kdf.BlockCipherChain.pair(b"\x01" * 32, b"\x02" * 32, server=False)
    b1, b2 = snd.encrypt_block(b"a", 64), snd.encrypt_block(b"b", 64)
    with pytest.raises(CryptoError):
        rcv.decrypt_block(b1[:-1] + bytes([b1[-1] ^ 1]))
    assert rcv.decrypt_block(b2) == b"b"


def test_chain_key_size() -> None:
    with pytest.raises(ValueError):
        kdf.BlockCipherChain(b"\x00" * 31)
