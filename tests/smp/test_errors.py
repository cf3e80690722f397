"""hushwire.smp.errors: error texts both ways, per-version sending, round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from smp_strategies import error_types

from conftest import load_vectors
from hushwire.errors import DecodeError
from hushwire.smp import errors as e

V = load_vectors("smp_errors.json")


@pytest.mark.parametrize("text", V["canonical_hex"])
def test_canonical(text: str) -> None:
    data = bytes.fromhex(text)
    err = e.ErrorType.decode(data)
    assert err.encode() == data


@pytest.mark.parametrize(("text", "canon"), V["noncanonical_hex"])
def test_noncanonical(text: str, canon: str) -> None:
    assert e.ErrorType.decode(bytes.fromhex(text)).encode().hex() == canon


@pytest.mark.parametrize("text", V["invalid_hex"])
def test_invalid(text: str) -> None:
    with pytest.raises(DecodeError):
        e.ErrorType.decode(bytes.fromhex(text))


@pytest.mark.parametrize("text", V["transport_errors_hex"])
def test_transport_errors(text: str) -> None:
    data = bytes.fromhex(text)
    assert e.TransportError.decode(data).encode() == data


def test_values() -> None:
    d = e.ErrorType.decode
    assert d(b"AUTH") is e.ErrorType.AUTH
    assert d(b"CMD SYNTAX") == e.CMD(e.CommandError.SYNTAX)
    assert d(b"BLOCKED reason=spam") == e.BLOCKED(e.BlockingInfo(e.BlockingReason.SPAM))
    assert d(b'BLOCKED reason=content,notice={"ttl":5}') == e.BLOCKED(
        e.BlockingInfo(e.BlockingReason.CONTENT, e.ClientNotice(5))
    )
    assert d(b"STORE a b") == e.STORE("a b")
    assert d(b"PROXY BROKER NETWORK TLS \x02ab") == e.PROXY(e.BROKER(e.NETWORK(e.TLS(b"ab"))))
    assert d(b"PROXY BROKER NETWORK SUBSCRIBE \x00") == e.PROXY(
        e.BROKER(e.NETWORK(e.SUBSCRIBE(b"")))
    )
    assert d(b"PROXY BROKER NETWORK UNKNOWNCA") == e.PROXY(
        e.BROKER(e.NETWORK(e.NetworkError.UNKNOWNCA))
    )
    assert d(b"PROXY BROKER NETWORK") == e.PROXY(e.BROKER(e.NETWORK(e.NetworkError.FAILED)))
    assert repr(e.ErrorType.AUTH) == "ErrorType.AUTH"
    assert repr(e.TransportError.BLOCK) == "TransportError.BLOCK"
    assert repr(e.ProxyError.NO_SESSION) == "ProxyError.NO_SESSION"
    assert repr(e.BrokerErrorType.HOST) == "BrokerErrorType.HOST"
    assert repr(e.NetworkError.FAILED) == "NetworkError.FAILED"


def test_nested_encodings() -> None:
    # detail-carrying network errors encode as themselves when used on their own
    assert e.CONNECT(b"x").encode() == b"CONNECT \x01x"
    assert e.TLS(b"").encode() == b"TLS \x00"
    assert e.SUBSCRIBE(b"s").encode() == b"SUBSCRIBE \x01s"
    assert e.NetworkError.TIMEOUT.encode() == b"TIMEOUT"
    assert e.ClientNotice().to_json() == b"{}"
    with pytest.raises(ValueError, match="Int64"):
        e.ClientNotice(1 << 63)
    for bad in (b"[", b"\xff", b'{"ttl":NaN}', b"[1]", b"{" * 100000):
        with pytest.raises(DecodeError):
            e.ClientNotice.from_json(bad)


def test_for_version() -> None:
    b = e.BLOCKED(e.BlockingInfo(e.BlockingReason.SPAM, e.ClientNotice(None)))
    assert b.for_version(11) is e.ErrorType.AUTH
    assert b.for_version(12) == e.BLOCKED(e.BlockingInfo(e.BlockingReason.SPAM))
    assert b.for_version(17) == e.BLOCKED(e.BlockingInfo(e.BlockingReason.SPAM))
    assert b.for_version(18) is b
    plain = e.BLOCKED(e.BlockingInfo(e.BlockingReason.SPAM))
    assert plain.for_version(12) is plain
    assert e.ErrorType.QUOTA.for_version(6) is e.ErrorType.QUOTA


def test_safe_decode_utf8() -> None:
    assert e.safe_decode_utf8(b"ok \xe2\x82\xac") == "ok \u20ac"
    assert e.safe_decode_utf8(b"a\xffb") == "a?b"


def test_abstract_bases() -> None:
    for cls in (e.ErrorType, e.TransportError, e.ProxyError, e.BrokerErrorType, e.NetworkError):
        with pytest.raises(NotImplementedError):
            cls().encode()


@given(error_types())
@settings(max_examples=200)
def test_roundtrip(err: e.ErrorType) -> None:
    data = err.encode()
    assert e.ErrorType.decode(data) == err


def test_handshake_word_ends_at_newline() -> None:
    """``parseRead1`` reads up to a space or a newline (Parsers.hs wordEnd)."""
    from hushwire.smp._reader import SmpReader

    r = SmpReader(b"HANDSHAKE IDENTITY\nrest")
    assert e.TransportError.parse(r) == e.HANDSHAKE(e.HandshakeError.IDENTITY)
    assert r.remaining == 5
    assert e.TransportError.decode(b"HANDSHAKE PARSE") == e.HANDSHAKE(e.HandshakeError.PARSE)
