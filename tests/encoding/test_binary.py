"""hushwire.encoding.binary: fixed bytes both ways, round-trips, and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.encoding import binary as b
from hushwire.errors import DecodeError

V = load_vectors("encoding_primitives.json")


def _enc(kind: str, v: dict[str, Any]) -> bytes:
    if kind in ("int64", "system_time", "word16", "word32", "word64"):
        fn: Callable[[int], bytes] = getattr(b, kind)
        return fn(v["value"])
    if kind == "bool":
        return b.bool_(v["value"])
    if kind == "short_string":
        return b.short_string(bytes.fromhex(v["value_hex"]))
    if kind == "large":
        return b.large(bytes.fromhex(v["value_hex"]))
    if kind == "maybe_short_string":
        x = v["value_hex"]
        return b.maybe(None if x is None else bytes.fromhex(x), b.short_string)
    items = [bytes.fromhex(x) for x in v["value_hex"]]
    if kind == "list_short_string":
        return b.list_(items, b.short_string)
    assert kind == "non_empty_short_string"
    return b.non_empty(items, b.short_string)


def _dec(kind: str, data: bytes) -> Any:
    def one(r: b.Reader) -> Any:
        if kind == "bool":
            return r.bool_()
        if kind == "maybe_short_string":
            x = r.maybe(b.Reader.short_string)
            return None if x is None else x.hex()
        if kind == "list_short_string":
            return [x.hex() for x in r.list_(b.Reader.short_string)]
        if kind == "non_empty_short_string":
            return [x.hex() for x in r.non_empty(b.Reader.short_string)]
        if kind in ("short_string", "large"):
            return getattr(r, kind)().hex()
        return getattr(r, kind)()

    return b.parse_all(data, one)


@pytest.mark.parametrize("v", V["vectors"], ids=lambda v: f"{v['type']}:{v['hex']}")
def test_vector_both_ways(v: dict[str, Any]) -> None:
    kind = v["type"]
    assert _enc(kind, v).hex() == v["hex"]
    expected = v.get("value", v.get("value_hex"))
    assert _dec(kind, bytes.fromhex(v["hex"])) == expected


@pytest.mark.parametrize("v", V["invalid"], ids=lambda v: f"{v['type']}:{v['why']}")
def test_invalid_vectors_raise_decode_error(v: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        _dec(v["type"], bytes.fromhex(v["hex"].replace(" ", "")))


@given(st.integers(-(1 << 63), (1 << 63) - 1))
def test_int64_round_trip(n: int) -> None:
    assert b.parse_all(b.int64(n), b.Reader.int64) == n


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, (1 << 64) - 1))
def test_words_round_trip(w16: int, w32: int, w64: int) -> None:
    data = b.word16(w16) + b.word32(w32) + b.word64(w64)
    r = b.Reader(data)
    assert (r.word16(), r.word32(), r.word64()) == (w16, w32, w64)
    r.end()


@given(st.binary(max_size=255), st.binary(max_size=2000), st.binary(max_size=50))
def test_strings_round_trip(s: bytes, big: bytes, rest: bytes) -> None:
    r = b.Reader(b.short_string(s) + b.large(big) + rest)
    assert r.short_string() == s
    assert r.large() == big
    assert r.tail() == rest
    assert r.at_end()


@given(st.lists(st.one_of(st.none(), st.binary(max_size=20)), max_size=255))
def test_list_of_maybe_round_trip(items: list[bytes | None]) -> None:
    data = b.list_(items, lambda x: b.maybe(x, b.short_string))
    got = b.parse_all(data, lambda r: r.list_(lambda r2: r2.maybe(b.Reader.short_string)))
    assert got == items


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (b.word16, -1),
        (b.word16, 1 << 16),
        (b.word32, 1 << 32),
        (b.word64, 1 << 64),
        (b.int64, 1 << 63),
        (b.short_string, b"x" * 256),
        (b.large, b"x" * 65536),
    ],
)
def test_encoders_refuse_out_of_range(fn: Callable[[Any], bytes], arg: Any) -> None:
    with pytest.raises(ValueError):
        fn(arg)


def test_list_caps() -> None:
    with pytest.raises(ValueError):
        b.list_([b""] * 256, b.short_string)
    with pytest.raises(ValueError):
        b.non_empty([], b.short_string)


def test_reader_helpers() -> None:
    r = b.Reader(b"NEW xyz")
    assert r.peek() == ord("N")
    r.expect(b"NEW")
    r.space()
    assert r.pos == 4
    assert r.remaining == 3
    assert r.char() == b"x"
    assert r.byte() == ord("y")
    with pytest.raises(DecodeError):
        r.expect(b"q")
    assert b.Reader(b"").peek() is None
    with pytest.raises(DecodeError):
        b.Reader(b"").byte()
    with pytest.raises(DecodeError):
        b.Reader(b"ab").take(-1)
    assert b.concat([b"a", b"b"]) == b"ab"


def test_optional_rewinds() -> None:
    r = b.Reader(b"\x05ab")
    assert r.optional(b.Reader.short_string) is None
    assert r.pos == 0
    assert r.optional(b.Reader.byte) == 5


def test_parser_for_tag() -> None:
    parsers = {b"A": "after A", b"B": "after B"}
    r = b.Reader(b"Bx")
    assert b.parser_for_tag(r, parsers, "Thing") == "after B"
    assert r.pos == 1
    with pytest.raises(DecodeError, match="bad Thing"):
        b.parser_for_tag(b.Reader(b"C"), parsers, "Thing")
    with pytest.raises(DecodeError):
        b.parser_for_tag(b.Reader(b""), parsers, "Thing")
