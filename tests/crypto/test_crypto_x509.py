"""hushwire.crypto.x509: simplexmq fixtures, generated identities, the signed session key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import VECTORS, load_vectors
from hushwire.crypto import _der
from hushwire.crypto import x509 as x
from hushwire.crypto.kdf import sha256
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.errors import CryptoError, DecodeError

V = load_vectors("crypto_x509.json")
FIXTURES = VECTORS / "fixtures"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
X = KeyAlg.X25519


def h(s: str) -> bytes:
    return bytes.fromhex(s)


def fixture(name: str) -> bytes:
    return x.load_cert_pem((FIXTURES / name).read_bytes())


def when(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.mark.parametrize("v", V["fingerprints"], ids=lambda v: v["file"])
def test_fixture_fingerprints(v: dict[str, Any]) -> None:
    der = fixture(v["file"])
    assert len(der) == v["der_len"]
    kh = x.key_hash(der)
    assert base64.urlsafe_b64encode(kh).decode() == v["key_hash_b64url"]


@pytest.mark.parametrize("v", V["chains"], ids=lambda v: v["files"][0])
def test_fixture_chains_validate(v: dict[str, Any]) -> None:
    chain = [fixture(f) for f in v["files"]]
    leaf = x.validate_chain(chain, x.key_hash(chain[1]), now=when(v["valid_at"]))
    assert leaf.alg is KeyAlg(v["leaf_alg"])
    assert leaf == x.cert_public_key(chain[0])
    if "not_valid_before" in v:
        before = when(v["not_valid_before"]) - timedelta(seconds=1)
        with pytest.raises(CryptoError):
            x.validate_chain(chain, x.key_hash(chain[1]), now=before)


def test_fixture_chain_rejections() -> None:
    srv, ca = fixture("server.crt"), fixture("ca.crt")
    ed_srv, ed_ca = fixture("ed25519/server.crt"), fixture("ed25519/ca.crt")
    kh = x.key_hash(ca)
    cases: list[tuple[list[bytes], bytes]] = [
        ([srv], kh),  # too short
        ([srv, ca, ca, ca, ca], kh),  # too long
        ([srv, ca], x.key_hash(ed_ca)),  # wrong fingerprint
        ([srv, ed_ca], x.key_hash(ed_ca)),  # leaf not signed by this CA
        ([ca, srv], x.key_hash(srv)),  # issuer is not a CA
        ([ed_srv, ca], kh),  # wrong issuer
    ]
    for chain, key in cases:
        with pytest.raises(CryptoError):
            x.validate_chain(chain, key, now=NOW)
    with pytest.raises(CryptoError):
        x.validate_chain([srv, ca], kh, now=datetime(4760, 1, 1, tzinfo=UTC))
    with pytest.raises(DecodeError):
        x.validate_chain([srv, b"\x30\x00"], kh, now=NOW)


def test_naive_now_is_utc() -> None:
    srv, ca = fixture("server.crt"), fixture("ca.crt")
    leaf = x.validate_chain([srv, ca], x.key_hash(ca), now=datetime(2026, 6, 1))
    assert leaf.alg is KeyAlg.ED448


@pytest.mark.parametrize("v", V["generated"], ids=lambda v: v["alg"])
def test_generated_identity_vectors(v: dict[str, Any]) -> None:
    alg = KeyAlg(v["alg"])
    now = when(v["now"])
    ca_key = PrivateKey(alg, h(v["ca_key_hex"]))
    on_key = PrivateKey(alg, h(v["online_key_hex"]))
    ca_der, k1 = x.generate_ca(alg, now=now, key=ca_key, serial=v["ca_serial"])
    assert (ca_der, k1) == (h(v["ca_der_hex"]), ca_key)
    on_der, k2 = x.generate_online_cert(
        ca_der, ca_key, alg, v["common_name"], now=now, key=on_key, serial=v["online_serial"]
    )
    assert (on_der, k2) == (h(v["online_der_hex"]), on_key)
    sess = PublicKey(X, h(v["session_pub_hex"]))
    signed = x.sign_key(on_key, sess)
    assert signed == h(v["signed_key_hex"])
    assert len(signed) == {KeyAlg.ED25519: 120, KeyAlg.ED448: 171}[alg]
    assert x.verify_signed_key(on_der, signed) == sess
    assert x.validate_chain([on_der, ca_der], x.key_hash(ca_der), now=NOW) == on_key.public()


def test_signed_key_layout() -> None:
    key = PrivateKey(KeyAlg.ED25519, b"\x07" * 32)
    pub = PublicKey(X, b"\x09" * 32)
    signed = x.sign_key(key, pub)
    assert signed[:2] == b"\x30\x76"
    assert signed[2:46] == pub.to_der()
    assert signed[46:53] == bytes.fromhex("300506032b6570")
    assert signed[53:56] == b"\x03\x41\x00"
    assert signed[56:] == key.sign(pub.to_der())
    ed448 = x.sign_key(PrivateKey(KeyAlg.ED448, b"\x07" * 57), pub)
    assert ed448[:3] == bytes.fromhex("3081a8") and len(ed448) == 171
    assert ed448[47:54] == bytes.fromhex("300506032b6571")
    with pytest.raises(ValueError):
        x.sign_key(PrivateKey(X, b"\x07" * 32), pub)


def test_generated_extensions_match_smp_server_init() -> None:
    now = datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    ca_der, ca_key = x.generate_ca(now=now)
    assert ca_key.alg is KeyAlg.ED448
    ca = cx509.load_der_x509_certificate(ca_der)
    assert ca.subject.rfc4514_string() == "O=SimpleX,CN=SMP server CA"
    assert ca.issuer == ca.subject
    assert ca.not_valid_before_utc == now.replace(microsecond=0)
    assert ca.not_valid_after_utc - ca.not_valid_before_utc == timedelta(days=999999)
    bc = ca.extensions.get_extension_for_class(cx509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ski = ca.extensions.get_extension_for_class(cx509.SubjectKeyIdentifier).value
    aki = ca.extensions.get_extension_for_class(cx509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    on_der, on_key = x.generate_online_cert(ca_der, ca_key, KeyAlg.ED448, "smp.example", now=now)
    on = cx509.load_der_x509_certificate(on_der)
    assert on.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "smp.example"
    assert on.issuer == ca.subject
    assert not on.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca
    ku = on.extensions.get_extension_for_class(cx509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and ku.key_agreement
    assert not ku.key_cert_sign
    eku = on.extensions.get_extension_for_class(cx509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    on_aki = on.extensions.get_extension_for_class(cx509.AuthorityKeyIdentifier).value
    assert on_aki.key_identifier == ski.digest
    assert x.cert_public_key(on_der) == on_key.public()
    # fixtures have the same shape: same extension OIDs in the same order
    for ours, theirs in ((ca_der, "ca.crt"), (on_der, "server.crt")):
        a = cx509.load_der_x509_certificate(ours).extensions
        b = cx509.load_der_x509_certificate(fixture(theirs)).extensions
        assert [(e.oid, e.critical) for e in a] == [(e.oid, e.critical) for e in b]


def test_online_cert_aki_without_ca_ski() -> None:
    """A CA without subjectKeyIdentifier (not made by us) still gets an AKI from its key."""
    ca_key = PrivateKey.generate(KeyAlg.ED25519)
    ca_obj = x._signing_key(ca_key)
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "bare CA")])
    ca_der = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ca_obj.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_obj, None)
        .public_bytes(x._DER)
    )
    on_der, _ = x.generate_online_cert(ca_der, ca_key, KeyAlg.ED25519, "h", now=NOW)
    assert x.validate_chain([on_der, ca_der], x.key_hash(ca_der), now=NOW)


def test_generation_misuse() -> None:
    ca_der, ca_key = x.generate_ca(KeyAlg.ED25519, now=NOW)
    other = PrivateKey.generate(KeyAlg.ED25519)
    with pytest.raises(ValueError):
        x.generate_online_cert(ca_der, other, KeyAlg.ED25519, "h", now=NOW)
    with pytest.raises(ValueError):
        x.generate_online_cert(ca_der, ca_key, KeyAlg.X25519, "h", now=NOW)
    with pytest.raises(ValueError):
        x.generate_ca(KeyAlg.ED448, now=NOW, key=other)
    with pytest.raises(ValueError):
        x.generate_ca(KeyAlg.X448, now=NOW)


def _identity(alg: KeyAlg) -> tuple[bytes, PrivateKey, bytes, PrivateKey]:
    ca_der, ca_key = x.generate_ca(alg, now=NOW)
    on_der, on_key = x.generate_online_cert(ca_der, ca_key, alg, "localhost", now=NOW)
    return ca_der, ca_key, on_der, on_key


def test_longer_chains() -> None:
    """[leaf, id, ca] and [leaf, id, network, ca] (Transport/Shared.hs chainIdCaCerts)."""
    root_der, root_key = x.generate_ca(KeyAlg.ED25519, now=NOW)
    net_der, net_key = _intermediate(root_der, root_key, "network")
    id_der, id_key = _intermediate(net_der, net_key, "identity")
    leaf_der, leaf_key = x.generate_online_cert(id_der, id_key, KeyAlg.ED448, "h", now=NOW)
    chain4 = [leaf_der, id_der, net_der, root_der]
    assert x.validate_chain(chain4, x.key_hash(id_der), now=NOW) == leaf_key.public()
    with pytest.raises(CryptoError):  # the fingerprint is the 2nd certificate's, not the root's
        x.validate_chain(chain4, x.key_hash(root_der), now=NOW)
    id2_der, id2_key = _intermediate(root_der, root_key, "identity2")
    leaf2_der, _ = x.generate_online_cert(id2_der, id2_key, KeyAlg.ED25519, "h", now=NOW)
    assert x.validate_chain([leaf2_der, id2_der, root_der], x.key_hash(id2_der), now=NOW)


def _intermediate(
    issuer_der: bytes, issuer_key: PrivateKey, cn: str, *, ku: cx509.KeyUsage | None = None
) -> tuple[bytes, PrivateKey]:
    key = PrivateKey.generate(KeyAlg.ED25519)
    issuer = cx509.load_der_x509_certificate(issuer_der)
    b = (
        cx509.CertificateBuilder()
        .subject_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(issuer.subject)
        .public_key(x._signing_key(key).public_key())
        .serial_number(7)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if ku is not None:
        b = b.add_extension(ku, critical=True)
    return b.sign(x._signing_key(issuer_key), None).public_bytes(x._DER), key


def _ku(cert_sign: bool) -> cx509.KeyUsage:
    return cx509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def test_issuer_key_usage() -> None:
    root_der, root_key = x.generate_ca(KeyAlg.ED25519, now=NOW)
    for sign, ok in ((True, True), (False, False)):
        id_der, id_key = _intermediate(root_der, root_key, "id", ku=_ku(sign))
        leaf, _ = x.generate_online_cert(id_der, id_key, KeyAlg.ED25519, "h", now=NOW)
        chain = [leaf, id_der, root_der]
        if ok:
            x.validate_chain(chain, x.key_hash(id_der), now=NOW)
        else:
            with pytest.raises(CryptoError):
                x.validate_chain(chain, x.key_hash(id_der), now=NOW)


def test_issuer_without_basic_constraints_and_non_eddsa_leaf() -> None:
    web_pem, _ = x.generate_web_cert(["localhost"], now=NOW)
    web = x.load_cert_pem(web_pem)
    ca_der, ca_key, on_der, _ = _identity(KeyAlg.ED25519)
    with pytest.raises(CryptoError):  # self-signed web cert has CA:FALSE; no BC at all below
        x.validate_chain([web, web], x.key_hash(web), now=NOW)
    # a leaf with an ECDSA key signed by our CA is rejected: the leaf must be EdDSA
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ca = cx509.load_der_x509_certificate(ca_der)
    leaf = (
        cx509.CertificateBuilder()
        .subject_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "ec")]))
        .issuer_name(ca.subject)
        .public_key(ec_key.public_key())
        .serial_number(9)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(x._signing_key(ca_key), None)
        .public_bytes(x._DER)
    )
    with pytest.raises(CryptoError):
        x.validate_chain([leaf, ca_der], x.key_hash(ca_der), now=NOW)
    with pytest.raises(DecodeError):
        x.cert_public_key(leaf)
    # an issuer without basicConstraints
    bare = (
        cx509.CertificateBuilder()
        .subject_name(ca.subject)
        .issuer_name(ca.subject)
        .public_key(x._signing_key(ca_key).public_key())
        .serial_number(3)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(x._signing_key(ca_key), None)
        .public_bytes(x._DER)
    )
    with pytest.raises(CryptoError):
        x.validate_chain([on_der, bare], x.key_hash(bare), now=NOW)


def test_verify_signed_key_rejections() -> None:
    _, ca_key, on_der, on_key = _identity(KeyAlg.ED25519)
    sess = KeyPair.generate(X).public
    good = x.sign_key(on_key, sess)
    assert x.verify_signed_key(on_der, good) == sess
    # signed by another key, or by the CA key instead of the online key
    with pytest.raises(CryptoError):
        x.verify_signed_key(on_der, x.sign_key(PrivateKey.generate(KeyAlg.ED25519), sess))
    with pytest.raises(CryptoError):
        x.verify_signed_key(on_der, x.sign_key(ca_key, sess))
    # an Ed448 signature against an Ed25519 leaf
    with pytest.raises(CryptoError):
        x.verify_signed_key(on_der, x.sign_key(PrivateKey.generate(KeyAlg.ED448), sess))
    # a signed Ed25519 key instead of X25519
    with pytest.raises(DecodeError):
        x.verify_signed_key(on_der, x.sign_key(on_key, on_key.public()))
    # tampered bytes
    tampered = good[:20] + bytes([good[20] ^ 1]) + good[21:]
    with pytest.raises(CryptoError):
        x.verify_signed_key(on_der, tampered)
    malformed = [
        b"",
        good[:-1],
        good + b"\x00",
        b"\x31" + good[1:],
        good[:53] + b"\x03\x41\x01" + good[56:],  # unused bits != 0
        good[:46] + bytes.fromhex("300506032b6571") + good[53:],  # Ed448 id, 64-byte sig
        good[:46] + bytes.fromhex("300506032b6572") + good[53:],  # unknown OID
        _der.tlv(0x30, good[2:46] + good[46:53]),  # two elements
        _der.tlv(0x30, good[2:46] + good[46:53] + _der.tlv(0x04, good[55:])),  # OCTET STRING
    ]
    for bad in malformed:
        with pytest.raises(DecodeError):
            x.verify_signed_key(on_der, bad)
    with pytest.raises(DecodeError):
        x.verify_signed_key(b"not a cert", good)
    with pytest.raises(DecodeError):  # the leaf must hold a signature key
        web_pem, _ = x.generate_web_cert([], now=NOW)
        x.verify_signed_key(x.load_cert_pem(web_pem), good)


def test_pem_helpers() -> None:
    ca_der, _, on_der, on_key = _identity(KeyAlg.ED448)
    pem = x.cert_to_pem(ca_der)
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert x.load_cert_pem(pem) == ca_der
    assert x.load_certs_pem(x.cert_to_pem(on_der) + pem) == [on_der, ca_der]
    kpem = x.key_to_pem(on_key)
    assert kpem.startswith(b"-----BEGIN " + b"PRIVATE KEY-----")  # marker split: no key here
    assert x.load_key_pem(kpem) == on_key
    for alg in KeyAlg:
        k = PrivateKey.generate(alg)
        assert x.load_key_pem(x.key_to_pem(k)) == k
    with pytest.raises(DecodeError):
        x.load_cert_pem(b"garbage")
    with pytest.raises(DecodeError):
        x.load_key_pem(b"garbage")
    with pytest.raises(DecodeError):
        x.cert_to_pem(b"\x30\x03\x02\x01\x00")
    _, ec_pem = x.generate_web_cert(["a"], now=NOW)
    with pytest.raises(DecodeError):  # ECDSA is not one of the four SimpleX key types
        x.load_key_pem(ec_pem)


def test_fixture_pem_round_trip() -> None:
    text = (FIXTURES / "ca.crt").read_bytes()
    der = x.load_cert_pem(text)
    assert x.load_cert_pem(x.cert_to_pem(der)) == der


def test_web_cert() -> None:
    cert_pem, key_pem = x.generate_web_cert(["localhost", "example.test", "::1"], now=NOW)
    cert = cx509.load_pem_x509_certificate(cert_pem)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    san = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    assert san.get_values_for_type(cx509.DNSName) == ["localhost", "example.test"]
    ips = [str(i) for i in san.get_values_for_type(cx509.IPAddress)]
    assert ips == ["::1", "127.0.0.1"]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "localhost"
    assert cert.not_valid_before_utc < NOW < cert.not_valid_after_utc
    assert b"PRIVATE KEY" in key_pem
    cert2_pem, _ = x.generate_web_cert(["127.0.0.1"], now=NOW)
    san2 = cx509.load_pem_x509_certificate(cert2_pem).extensions.get_extension_for_class(
        cx509.SubjectAlternativeName
    )
    assert [str(i) for i in san2.value.get_values_for_type(cx509.IPAddress)] == ["127.0.0.1"]


def test_key_hash_is_sha256() -> None:
    der = fixture("ca.crt")
    assert x.key_hash(der) == sha256(der)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([KeyAlg.ED25519, KeyAlg.ED448]), st.binary(min_size=32, max_size=32))
def test_signed_key_round_trip(alg: KeyAlg, raw: bytes) -> None:
    online = PrivateKey.generate(alg)
    pub = PublicKey(X, raw)
    signed = x.sign_key(online, pub)
    items = _der.read_sequence_items(signed)
    assert [t for t, _, _ in items] == [0x30, 0x30, 0x03]
    assert items[0][2] == pub.to_der()
    assert online.public().verify(items[2][1][1:], pub.to_der())


def test_der_lengths() -> None:
    d = _der
    assert d.encode_length(0x7F) == b"\x7f"
    assert d.encode_length(0x80) == b"\x81\x80"
    assert d.encode_length(0x1234) == b"\x82\x12\x34"
    for bad in (
        b"\x30",
        b"\x30\x80",  # indefinite length
        b"\x30\x81\x05abcde",  # non-minimal long form
        b"\x30\x82\x00\x90" + b"a" * 0x90,  # non-minimal two-byte form
        b"\x30\x83\x00\x00\x01a",  # too many length bytes
        b"\x30\x82\x01",  # length bytes truncated
        b"\x30\x05abc",  # content truncated
        b"\x04\x00",  # not a SEQUENCE
        b"\x30\x00\x00",  # trailing bytes
    ):
        with pytest.raises(DecodeError):
            d.read_sequence_items(bad)
    assert d.read_sequence_items(b"\x30\x00") == []
    long = d.tlv(0x30, d.tlv(0x04, b"z" * 200))
    assert d.read_sequence_items(long)[0][1] == b"z" * 200
    assert Path(FIXTURES).is_dir()


def _resign_without_version(cert_der: bytes, issuer_key: PrivateKey) -> bytes:
    """The same certificate as X.509 v1: drop the [0] version field and sign again."""
    cert = cx509.load_der_x509_certificate(cert_der)
    items = _der.read_sequence_items(cert.tbs_certificate_bytes)
    assert items[0][2] == bytes.fromhex("a003020102")
    tbs = _der.tlv(0x30, b"".join(whole for _, _, whole in items[1:]))
    sig = issuer_key.sign(tbs)
    alg_id = x.SIGNATURE_ALGORITHM_ID[issuer_key.alg]
    return _der.tlv(0x30, tbs + alg_id + _der.tlv(0x03, b"\x00" + sig))


def test_v1_leaf_is_rejected() -> None:
    ca_der, ca_key = x.generate_ca(KeyAlg.ED25519, now=NOW)
    ca = cx509.load_der_x509_certificate(ca_der)
    leaf_key = PrivateKey.generate(KeyAlg.ED25519)
    plain = (
        cx509.CertificateBuilder()
        .subject_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "v1")]))
        .issuer_name(ca.subject)
        .public_key(x._signing_key(leaf_key).public_key())
        .serial_number(5)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(x._signing_key(ca_key), None)
        .public_bytes(x._DER)
    )
    assert x.validate_chain([plain, ca_der], x.key_hash(ca_der), now=NOW) == leaf_key.public()
    v1 = _resign_without_version(plain, ca_key)
    assert cx509.load_der_x509_certificate(v1).version is cx509.Version.v1
    with pytest.raises(CryptoError):
        x.validate_chain([v1, ca_der], x.key_hash(ca_der), now=NOW)


def test_dh_key_leaf_is_rejected() -> None:
    ca_der, ca_key = x.generate_ca(KeyAlg.ED25519, now=NOW)
    ca = cx509.load_der_x509_certificate(ca_der)
    dh = PrivateKey.generate(KeyAlg.X25519)
    dh_obj = x25519.X25519PublicKey.from_public_bytes(dh.public().raw)
    leaf = (
        cx509.CertificateBuilder()
        .subject_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "x25519")]))
        .issuer_name(ca.subject)
        .public_key(dh_obj)
        .serial_number(6)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(x._signing_key(ca_key), None)
        .public_bytes(x._DER)
    )
    assert x.cert_public_key(leaf) == dh.public()
    with pytest.raises(CryptoError):
        x.validate_chain([leaf, ca_der], x.key_hash(ca_der), now=NOW)
    with pytest.raises(DecodeError):  # a DH key cannot check the signed session key
        x.verify_signed_key(leaf, x.sign_key(PrivateKey.generate(KeyAlg.ED25519), dh.public()))


def test_unknown_key_algorithm_in_certificate() -> None:
    srv = fixture("server.crt")
    spki_oid = bytes.fromhex("3043300506032b6571033a00")
    assert srv.count(spki_oid) == 1
    odd = srv.replace(spki_oid, bytes.fromhex("3043300506032b6572033a00"))
    with pytest.raises(DecodeError):
        x.cert_public_key(odd)


def test_negative_serial_is_read_without_a_warning() -> None:
    """cryptography warns on a serial that is not positive; a peer's bytes must not make the
    decoder warn (warnings are errors here), only return a key or raise DecodeError."""
    der = bytearray(fixture("server.crt"))
    at = der.index(b"\xa0\x03\x02\x01\x02\x02") + 6  # version, then the serial's length
    der[at + 1] |= 0x80  # the sign bit of the serial's first content byte
    key = x.cert_public_key(bytes(der))
    assert key == x.cert_public_key(fixture("server.crt"))
