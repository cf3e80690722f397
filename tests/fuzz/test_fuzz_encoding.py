"""Random and mutated bytes into every encoding decoder: only DecodeError may come out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hushwire.encoding import binary as b
from hushwire.encoding import strings as s
from hushwire.errors import DecodeError

READERS: list[Callable[[b.Reader], Any]] = [
    b.Reader.word16,
    b.Reader.word32,
    b.Reader.word64,
    b.Reader.int64,
    b.Reader.short_string,
    b.Reader.large,
    b.Reader.bool_,
    lambda r: r.maybe(b.Reader.large),
    lambda r: r.list_(b.Reader.short_string),
    lambda r: r.non_empty(lambda r2: r2.maybe(b.Reader.bool_)),
]


@settings(max_examples=200)
@given(st.binary(max_size=300), st.integers(0, len(READERS) - 1))
def test_binary_decoders_only_raise_decode_error(data: bytes, i: int) -> None:
    try:
        b.parse_all(data, READERS[i])
    except DecodeError:
        pass


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_string_decoders_only_raise_decode_error(text: str) -> None:
    for fn in (s.b64url_decode, s.percent_decode, s.parse_query):
        try:
            fn(text)  # type: ignore[operator]
        except DecodeError:
            pass
