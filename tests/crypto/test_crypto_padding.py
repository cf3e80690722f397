"""hushwire.crypto.padding: CryptoTests.hs cases both ways, limits, round-trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.crypto.padding import pad, unpad
from hushwire.errors import DecodeError
from hushwire.limits import MAX_PAD_MESSAGE

V = load_vectors("crypto_padding.json")


@pytest.mark.parametrize("v", V["pad"])
def test_pad_vectors(v: dict[str, Any]) -> None:
    msg = bytes.fromhex(v["msg_hex"])
    padded = pad(msg, v["size"])
    assert padded == bytes.fromhex(v["hex"])
    assert unpad(padded) == msg


@pytest.mark.parametrize("v", V["pad_fails"])
def test_pad_refuses(v: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        pad(b"a" * v["msg_len"], v["size"])


@pytest.mark.parametrize("v", V["pad_ok_large"])
def test_pad_largest_message(v: dict[str, Any]) -> None:
    msg = b"a" * v["msg_len"]
    assert v["msg_len"] == MAX_PAD_MESSAGE
    assert unpad(pad(msg, v["size"])) == msg


@pytest.mark.parametrize("v", V["unpad"])
def test_unpad_vectors(v: dict[str, Any]) -> None:
    assert unpad(bytes.fromhex(v["hex"])) == bytes.fromhex(v["msg_hex"])


@pytest.mark.parametrize("v", V["unpad_fails"])
def test_unpad_rejects(v: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        unpad(bytes.fromhex(v["hex"]))


def test_pad_fill_is_hash_sign() -> None:
    assert pad(b"x", 16)[3:] == b"#" * 13


@settings(max_examples=200)
@given(st.binary(max_size=600), st.integers(0, 700))
def test_pad_round_trip(msg: bytes, size: int) -> None:
    if len(msg) + 2 <= size:
        padded = pad(msg, size)
        assert len(padded) == size
        assert unpad(padded) == msg
    else:
        with pytest.raises(ValueError):
            pad(msg, size)
