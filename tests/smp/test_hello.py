"""hushwire.smp.hello: server/client hellos for v6..18, service response, negotiation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from smp_strategies import cert_keys, client_hellos, server_hellos

from conftest import load_vectors
from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.encoding.strings import b64url_decode
from hushwire.errors import DecodeError
from hushwire.smp import hello as h
from hushwire.smp._reader import SmpReader
from hushwire.smp.block import pad_handshake, unpad_handshake
from hushwire.smp.errors import HANDSHAKE, HandshakeError, TransportError
from hushwire.smp.version import LEGACY_SERVER_RANGE, SUPPORTED_SMP_RANGE, VersionRange

V = load_vectors("smp_hello.json")
C = load_vectors("smp_commands.json")
X = PublicKey.from_der(bytes.fromhex(C["keys"]["x25519_spki_hex"]))
SID = bytes.fromhex(V["session_id_hex"])
LEAF, CA = bytes.fromhex(V["leaf_cert_hex"]), bytes.fromhex(V["ca_cert_hex"])
SIGNED = bytes.fromhex(V["signed_key_hex"])
CK = h.CertChainPubKey((LEAF, CA), SIGNED)
KH = bytes.fromhex(V["key_hash_hex"])


def test_real_v6_hello() -> None:
    """The hello a reference server sends without ALPN, as seen through nginx (GoChat)."""
    data = bytes.fromhex(V["real_v6_hello_hex"])
    hello = h.ServerHello.decode(data)
    assert hello == h.ServerHello(VersionRange(6, 6), SID, None)
    assert hello.encode() == data
    assert h.ServerHello.decode(unpad_handshake(pad_handshake(data))) == hello


@pytest.mark.parametrize("row", V["server_hellos"], ids=lambda r: f"{r['min']}-{r['max']}")
def test_server_hellos(row: dict[str, Any]) -> None:
    data = bytes.fromhex(row["hex"])
    vr = VersionRange(row["min"], row["max"])
    assert h.ServerHello(vr, SID, CK).encode() == data
    expect = h.ServerHello(vr, SID, CK if row["with_cert_key"] else None)
    assert h.ServerHello.decode(data) == expect
    assert h.ServerHello.decode(data + b"future extension") == expect
    if row["with_cert_key"]:
        assert len(data) == 1105  # hello content with the SMQ fixtures
        assert CK.chain_length_ok()
        # a broken chain is treated as absent (attoparsec `optional`), not as an error
        assert h.ServerHello.decode(data[:-1]) == h.ServerHello(vr, SID, None)


@pytest.mark.parametrize("row", V["client_hellos"], ids=lambda r: f"v{r['version']}")
def test_client_hellos(row: dict[str, Any]) -> None:
    data = bytes.fromhex(row["hex"])
    v = row["version"]
    service = None
    if "service" in row:
        service = h.ClientService(h.ServiceRole(row["service"]), h.CertChainPubKey((LEAF,), SIGNED))
    hello = h.ClientHello(
        v, KH, X if row["session_key"] else None, row.get("proxy_server", False), service
    )
    assert hello.encode() == data
    assert h.ClientHello.decode(data) == hello
    assert h.ClientHello.decode(data + b"\x00tail") == hello
    if "service" in row:
        assert not hello.client_service.cert_key.chain_length_ok()  # type: ignore[union-attr]


def test_client_hello_drops_fields_below_their_version() -> None:
    full = h.ClientHello(6, KH, X, True, h.ClientService(h.ServiceRole.PROXY, CK))
    assert full.encode() == b"\x00\x06\x20" + KH
    assert h.ClientHello.decode(full.encode()) == h.ClientHello(6, KH)
    v13 = h.ClientHello(13, KH, X, True).encode()
    assert h.ClientHello.decode(v13) == h.ClientHello(13, KH, X)


def test_client_hello_errors() -> None:
    for bad in [b"", b"\x00", b"\x00\x07\x05ab", b"\x00\x0e\x00X", b"\x00\x10\x00F2"]:
        with pytest.raises(DecodeError):
            h.ClientHello.decode(bad)
    # v7+ key is `optional`: an unparsable key is skipped, not an error
    assert h.ClientHello.decode(b"\x00\x07\x00\x05junk") == h.ClientHello(7, b"")
    ed = PublicKey(KeyAlg.ED25519, bytes(32))
    assert h.ClientHello.decode(b"\x00\x07\x00\x2c" + ed.to_der()) == h.ClientHello(7, b"")
    with pytest.raises(ValueError, match="X25519"):
        h.ClientHello(7, KH, ed)
    with pytest.raises(DecodeError):
        h.ClientHello.decode(b"\x00\x10\x00F1X" + CK.encode())


def test_server_hello_errors() -> None:
    for bad in [b"", b"\x00\x07\x00\x06\x00", b"\x00\x06\x00\x07\x05ab"]:
        with pytest.raises(DecodeError):
            h.ServerHello.decode(bad)


def test_cert_chain_framing() -> None:
    assert h.der_framing_ok(b"\x30\x00")
    assert h.der_framing_ok(b"\x30\x81\x01\x00")
    assert h.der_framing_ok(b"\x30\x82\x00\x01\x00")
    for bad in [b"", b"\x30", b"\x31\x00", b"\x30\x01", b"\x30\x00\x00", b"\x30\x80", b"\x30\x85"
                + bytes(5), b"\x30\x82\x00", b"\x30\x81\x02\x00"]:  # fmt: skip
        assert not h.der_framing_ok(bad)
    for bad_chain in [b"\x00", b"\x01\x00\x02\x31\x00\x00\x02\x30\x00", b"\x01\x00\x02\x30\x00"]:
        with pytest.raises(DecodeError):
            h.CertChainPubKey.parse(SmpReader(bad_chain))
    with pytest.raises(ValueError, match=r"1\.\.255"):
        h.CertChainPubKey((), SIGNED)
    assert not h.CertChainPubKey((LEAF,) * 5, SIGNED).chain_length_ok()


@pytest.mark.parametrize("row", V["service_responses"])
def test_service_responses(row: dict[str, Any]) -> None:
    data = bytes.fromhex(row["hex"])
    got = h.decode_service_response(data)
    if "accepted" in row:
        assert got == h.ServiceAccepted(bytes.fromhex(row["accepted"]))
    else:
        assert got == h.ServiceRejected(TransportError.decode(row["rejected"].encode()))
    assert got.encode() == data
    assert h.decode_service_response(data + b" more") == got


def test_service_response_errors() -> None:
    for bad in [b"", b"X", b"R", b"R\x05ab", b"EFOO", b"EHANDSHAKE", b"EHANDSHAKE NOPE"]:
        with pytest.raises(DecodeError):
            h.decode_service_response(bad)
    with pytest.raises(DecodeError):
        h.ServiceRole.parse(SmpReader(b"Q"))


def test_negotiate_server() -> None:
    offered = SUPPORTED_SMP_RANGE
    ok = h.negotiate_server(offered, KH, h.ClientHello(18, KH, X))
    assert ok == h.Negotiated(18, VersionRange(6, 18), True)
    assert h.negotiate_server(offered, KH, h.ClientHello(9, KH, X)) == h.Negotiated(
        9, VersionRange(6, 9), False
    )
    no_key = h.negotiate_server(offered, KH, h.ClientHello(11, KH, None))
    assert isinstance(no_key, h.Negotiated) and no_key.block_encryption is False
    proxy = h.negotiate_server(offered, KH, h.ClientHello(14, KH, X, proxy_server=True))
    assert isinstance(proxy, h.Negotiated) and not proxy.block_encryption
    v11 = h.negotiate_server(offered, KH, h.ClientHello(11, KH, X))
    assert isinstance(v11, h.Negotiated) and v11.block_encryption
    # identity is checked before the version (Transport.hs smpServerHandshake)
    assert h.negotiate_server(offered, bytes(32), h.ClientHello(99, KH)) == HANDSHAKE(
        HandshakeError.IDENTITY
    )
    assert h.negotiate_server(offered, KH, h.ClientHello(19, KH)) == TransportError.VERSION
    assert h.negotiate_server(offered, KH, h.ClientHello(5, KH)) == TransportError.VERSION
    assert h.negotiate_server(LEGACY_SERVER_RANGE, KH, h.ClientHello(7, KH)) == (
        TransportError.VERSION
    )


def test_server_version_range() -> None:
    assert h.server_version_range(None, SUPPORTED_SMP_RANGE) == LEGACY_SERVER_RANGE
    assert h.server_version_range("smp/1", SUPPORTED_SMP_RANGE) == SUPPORTED_SMP_RANGE


def test_negotiate_client() -> None:
    n = h.negotiate_client(
        VersionRange(6, 18), VersionRange(6, 9), server_has_key=True, client_has_key=True
    )
    assert n == h.Negotiated(9, VersionRange(6, 9), False)
    n = h.negotiate_client(
        VersionRange(6, 18), VersionRange(6, 18), server_has_key=True, client_has_key=True
    )
    assert n == h.Negotiated(18, VersionRange(6, 18), True)
    n = h.negotiate_client(
        VersionRange(6, 18), VersionRange(6, 18), server_has_key=False, client_has_key=True
    )
    assert isinstance(n, h.Negotiated) and not n.block_encryption
    # an SMP proxy facing a destination older than v14 caps itself at v10
    n = h.negotiate_client(
        VersionRange(6, 12),
        VersionRange(6, 18),
        server_has_key=True,
        client_has_key=True,
        proxy_server=True,
    )
    assert n == h.Negotiated(10, VersionRange(6, 10), False)
    n = h.negotiate_client(
        VersionRange(6, 9), VersionRange(10, 18), server_has_key=True, client_has_key=True
    )
    assert n == TransportError.VERSION


@given(client_hellos())
@settings(max_examples=200)
def test_client_hello_roundtrip(hello: h.ClientHello) -> None:
    data = hello.encode()
    got = h.ClientHello.decode(data)
    assert got.encode() == data
    if hello.version >= 16:
        assert got == hello


@given(server_hellos())
@settings(max_examples=200)
def test_server_hello_roundtrip(hello: h.ServerHello) -> None:
    got = h.ServerHello.decode(hello.encode())
    assert got.encode() == hello.encode()
    if hello.version_range.max >= 7:
        assert got == hello


@given(cert_keys)
@settings(max_examples=100)
def test_cert_key_roundtrip(ck: h.CertChainPubKey) -> None:
    r = SmpReader(ck.encode())
    assert h.CertChainPubKey.parse(r) == ck and r.at_end()


def test_fixture_key_hash() -> None:
    """simplexmq tests/SMPClient.hs testKeyHash = SHA-256 of ca.crt."""
    assert KH == b64url_decode("LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=")
