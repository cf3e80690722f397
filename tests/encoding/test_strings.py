"""hushwire.encoding.strings: base64url, percent-encoding and query strings."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.encoding import strings as s
from hushwire.errors import DecodeError

V = load_vectors("encoding_strings.json")


@pytest.mark.parametrize("v", V["base64url"], ids=lambda v: v["padded"])
def test_base64url_vectors(v: dict[str, str]) -> None:
    raw = bytes.fromhex(v["hex"])
    assert s.b64url_encode(raw) == v["padded"]
    assert s.b64url_encode(raw, padded=False) == v["unpadded"]
    assert s.b64url_decode(v["padded"]) == raw
    assert s.b64url_decode(v["unpadded"]) == raw
    assert s.b64url_decode(v["padded"].encode()) == raw


@pytest.mark.parametrize("text", V["base64url_invalid"])
def test_base64url_invalid(text: str) -> None:
    with pytest.raises(DecodeError):
        s.b64url_decode(text)


def test_base64url_non_ascii_is_decode_error() -> None:
    with pytest.raises(DecodeError):
        s.b64url_decode("é")


@given(st.binary(min_size=1, max_size=100), st.booleans())
def test_base64url_round_trip(raw: bytes, padded: bool) -> None:
    assert s.b64url_decode(s.b64url_encode(raw, padded=padded)) == raw


@pytest.mark.parametrize("v", V["percent"], ids=lambda v: v["encoded"][:30])
def test_percent_vectors(v: dict[str, str]) -> None:
    assert s.percent_encode(v["decoded"]) == v["encoded"]
    assert s.percent_decode(v["encoded"]) == v["decoded"]


def test_percent_decode_passes_bad_escapes_through() -> None:
    assert s.percent_decode("%4") == "%4"
    assert s.percent_decode("a%zz%") == "a%zz%"
    assert s.percent_decode("a+b") == "a+b"
    assert s.percent_decode("a+b", plus_is_space=True) == "a b"
    assert s.percent_decode("a%2Bb+c", plus_is_space=True) == "a+b c"
    assert s.percent_decode("%c3%A9%") == "\u00e9%"
    with pytest.raises(DecodeError):
        s.percent_decode("%FF")


@given(st.text(max_size=60))
def test_percent_round_trip(text: str) -> None:
    enc = s.percent_encode(text)
    assert set(enc) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%")
    assert s.percent_decode(enc) == text


@pytest.mark.parametrize("v", V["query"], ids=lambda v: v["text"])
def test_parse_query(v: dict[str, Any]) -> None:
    assert s.parse_query(v["text"]) == [tuple(p) for p in v["pairs"]]


def test_render_query() -> None:
    pairs = [("v", "1-4"), ("dh", "MCo=")]
    assert s.render_query(pairs) == "v=1-4&dh=MCo%3D"
    assert s.render_query(pairs, escape=False) == "v=1-4&dh=MCo="
    assert s.query_param(pairs, "dh") == "MCo="
    assert s.query_param(pairs, "q") is None


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=20)), max_size=6))
def test_query_round_trip(pairs: list[tuple[str, str]]) -> None:
    assert s.parse_query(s.render_query(pairs)) == pairs
