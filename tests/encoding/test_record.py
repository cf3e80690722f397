"""hushwire.encoding.record: a record's fields written in order after its tag, and read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from hushwire.encoding.binary import Reader, parse_all, parser_for_tag
from hushwire.encoding.record import (
    INT64,
    LARGE,
    SHORT_STRING,
    TAIL,
    Field,
    Fields,
    TaggedRecord,
    non_empty_field,
    tag_parsers,
)
from hushwire.errors import DecodeError


@dataclass(frozen=True, slots=True)
class _Pair(TaggedRecord):
    FIELDS: ClassVar[Fields] = (INT64, SHORT_STRING)
    n: int
    s: bytes


@dataclass(frozen=True, slots=True)
class _Tagged(TaggedRecord):
    TAG: ClassVar[bytes] = b"X"
    FIELDS: ClassVar[Fields] = (
        non_empty_field(Field(_Pair.encode, _Pair.parse)),
        LARGE,
        TAIL,
    )
    pairs: tuple[_Pair, ...]
    big: bytes
    rest: bytes


@dataclass(frozen=True, slots=True)
class _Empty(TaggedRecord):
    TAG: ClassVar[bytes] = b"E"


def test_fields_in_order_after_the_tag() -> None:
    rec = _Tagged((_Pair(1, b"a"), _Pair(-2, b"")), b"bc", b"tail")
    wire = (
        b"X\x02"
        + b"\x00\x00\x00\x00\x00\x00\x00\x01\x01a"
        + b"\xff\xff\xff\xff\xff\xff\xff\xfe\x00"
        + b"\x00\x02bc"
        + b"tail"
    )
    assert rec.encode() == wire
    table = tag_parsers((_Tagged, _Empty))
    assert parse_all(wire, lambda r: parser_for_tag(r, table, "test")(r)) == rec
    assert _Empty().encode() == b"E"
    assert parse_all(b"E", lambda r: parser_for_tag(r, table, "test")(r)) == _Empty()


def test_untagged_record_and_errors() -> None:
    assert _Pair(0, b"z").encode() == bytes(8) + b"\x01z"
    assert _Pair.parse(Reader(bytes(8) + b"\x01z")) == _Pair(0, b"z")
    with pytest.raises(DecodeError):
        parse_all(b"\x00", _Tagged.parse)  # NonEmpty with no item
    with pytest.raises(ValueError, match="used twice"):
        tag_parsers((_Empty, _Empty))
