"""hushwire.smp.address: SMP server addresses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hushwire.errors import DecodeError
from hushwire.smp.address import DEFAULT_SMP_PORT, SMPServer

KH = bytes.fromhex("2dc25431f561c03f32c6302249a0f3cc6177fa42c6e14874165fd9223ad1c232")
KH_B64 = "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI="


@pytest.mark.parametrize(
    ("text", "server"),
    [
        (f"smp://{KH_B64}@localhost", SMPServer(("localhost",), KH)),
        (f"smp://{KH_B64}@127.0.0.1:5001", SMPServer(("127.0.0.1",), KH, 5001)),
        (
            f"smp://{KH_B64}:s3cret@smp.example.com,abc234.onion:443",
            SMPServer(("smp.example.com", "abc234.onion"), KH, 443, "s3cret"),
        ),
        (f"smp://{KH_B64}@[::1]:5223", SMPServer(("::1",), KH, 5223)),
    ],
)
def test_parse_and_encode(text: str, server: SMPServer) -> None:
    assert SMPServer.parse(text) == server
    assert server.encode() == text
    assert str(server) == text


def test_unpadded_key_hash_accepted() -> None:
    assert SMPServer.parse(f"smp://{KH_B64.rstrip('=')}@h").key_hash == KH


def test_default_port() -> None:
    assert SMPServer.parse(f"smp://{KH_B64}@h").effective_port == DEFAULT_SMP_PORT
    assert SMPServer.parse(f"smp://{KH_B64}@h:7").effective_port == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://x@y", "starts with smp://"),
        (f"smp://{KH_B64}", "needs '@'"),
        ("smp://!!@h", "not base64url"),
        ("smp://AAAA@h", "32 bytes"),
        (f"smp://{KH_B64}:a b@h", "invalid character"),
        (f"smp://{KH_B64}@", "needs a host"),
        (f"smp://{KH_B64}@h:x", "port must be"),
        (f"smp://{KH_B64}@h:0", "port must be"),
        (f"smp://{KH_B64}@h/", "port must be"),
    ],
)
def test_bad_addresses_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        SMPServer.parse(text)


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        SMPServer((), KH)
    with pytest.raises(ValueError):
        SMPServer(("h",), b"short")
    with pytest.raises(ValueError):
        SMPServer(("h",), KH, 70000)


@given(
    st.lists(st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True), min_size=1, max_size=3),
    st.binary(min_size=32, max_size=32),
    st.none() | st.integers(1, 65535),
)
def test_round_trip(hosts: list[str], kh: bytes, port: int | None) -> None:
    s = SMPServer(tuple(hosts), kh, port)
    assert SMPServer.parse(s.encode()) == s


@given(st.text(max_size=80))
def test_fuzz_only_decode_error(text: str) -> None:
    try:
        SMPServer.parse("smp://" + text)
    except DecodeError:
        pass
