"""Random and mutated bytes into every crypto decoder: only DecodeError / CryptoError escape.

Decoders of structure (keys, padding, DER, certificates) may raise only ``DecodeError``;
decryption and verification may raise only the opaque ``CryptoError`` (or return False).
Certificate chain validation may raise either (docs/architecture.md, "Errors").
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import VECTORS
from hushwire.crypto import _der, aead, kdf, nacl, x509
from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey
from hushwire.crypto.padding import unpad
from hushwire.errors import CryptoError, DecodeError

NOW = datetime(2026, 6, 1, tzinfo=UTC)
_F = VECTORS / "fixtures"
SRV = x509.load_cert_pem((_F / "server.crt").read_bytes())
CA = x509.load_cert_pem((_F / "ca.crt").read_bytes())
KH = x509.key_hash(CA)
_CA_DER, _CA_KEY = x509.generate_ca(
    KeyAlg.ED25519, now=NOW, key=PrivateKey(KeyAlg.ED25519, b"\x01" * 32), serial=1
)
_ON_DER, _ON_KEY = x509.generate_online_cert(
    _CA_DER,
    _CA_KEY,
    KeyAlg.ED25519,
    "h",
    now=NOW,
    key=PrivateKey(KeyAlg.ED25519, b"\x02" * 32),
    serial=2,
)
SESSION = PrivateKey(KeyAlg.X25519, b"\x03" * 32)
SIGNED = x509.sign_key(_ON_KEY, SESSION.public())
SEEDS = [
    SRV,
    CA,
    SIGNED,
    SESSION.public().to_der(),
    SESSION.to_der(),
    PrivateKey(KeyAlg.ED448, b"\x04" * 57).to_der(),
    PublicKey(KeyAlg.X448, b"\x05" * 56).to_der(),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed with a few bytes flipped, cut, or inserted; or plain random bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=600))
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 2))
        i = draw(st.integers(0, len(data)))
        if op == 0 and i < len(data):
            data[i] ^= draw(st.integers(1, 255))
        elif op == 1:
            del data[i : i + draw(st.integers(1, 8))]
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@settings(max_examples=200, deadline=None)
@given(mutated())
def test_key_decoders(data: bytes) -> None:
    for dec in (PublicKey.from_der, PrivateKey.from_der, unpad, _der.read_sequence_items):
        try:
            dec(data)
        except DecodeError:
            pass


@settings(max_examples=200, deadline=None)
@given(mutated())
def test_certificate_decoders(data: bytes) -> None:
    for dec in (x509.cert_public_key, x509.cert_to_pem, x509.load_cert_pem, x509.load_key_pem):
        try:
            dec(data)
        except DecodeError:
            pass


@settings(max_examples=200, deadline=None)
@given(mutated())
def test_verify_signed_key(data: bytes) -> None:
    for leaf, signed in ((_ON_DER, data), (data, SIGNED), (SRV, data)):
        try:
            key = x509.verify_signed_key(leaf, signed)
        except (DecodeError, CryptoError):
            continue
        assert key.alg is KeyAlg.X25519


@settings(max_examples=150, deadline=None)
@given(mutated(), st.integers(0, 3))
def test_validate_chain(data: bytes, where: int) -> None:
    chains = [[data, CA], [SRV, data], [data], [SRV, CA, data], [_ON_DER, _CA_DER, data, data]]
    chain = chains[where]
    key_hash = x509.key_hash(chain[1]) if len(chain) > 1 else KH
    try:
        leaf = x509.validate_chain(chain, key_hash, now=NOW)
    except (DecodeError, CryptoError):
        return
    assert leaf.alg.is_signature


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_cb_decrypt(data: bytes, unpadded: bool) -> None:
    try:
        nacl.cb_decrypt(b"\x07" * 32, b"\x08" * 24, data, unpadded=unpadded)
    except CryptoError:
        pass
    peer = PublicKey(KeyAlg.X25519, data[:32].ljust(32, b"\x00"))
    assert nacl.cb_verify(peer, SESSION, b"\x00" * 24, b"m", data) in (True, False)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=120), st.binary(max_size=20))
def test_aead_and_block_decrypt(data: bytes, tag: bytes) -> None:
    for fn in (aead.aes_gcm_decrypt, aead.decrypt_aead):
        try:
            fn(b"\x01" * 32, b"\x02" * 16, b"", data, tag)
        except CryptoError:
            pass
    try:
        kdf.BlockCipherChain(b"\x09" * 32).decrypt_block(data)
    except CryptoError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([KeyAlg.ED25519, KeyAlg.ED448]), st.binary(max_size=120), st.data())
def test_verify_never_raises(alg: KeyAlg, sig: bytes, data: st.DataObject) -> None:
    raw = data.draw(st.binary(min_size=alg.raw_size, max_size=alg.raw_size))
    assert PublicKey(alg, raw).verify(sig, b"msg") in (True, False)
