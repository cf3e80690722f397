"""Records sent as an optional one-character tag, then their fields in order, with nothing
between them: one encoder and one decoder for every such type.

Mirrors the ``Encoding`` instances simplexmq derives field by field (``smpEncode (a, b, c)``
and ``smpP`` of a tuple, after the constructor's tag) in ``Simplex.Messaging.Encoding``; the
agent protocol's messages and headers (:mod:`hushwire.agent.protocol`) are written this way.
A record class lists one :class:`Field` codec per dataclass field, in field order; types
whose encoding is not field by field keep their own ``encode`` / ``parse``. The tables a
decoder dispatches on are built from the classes with :func:`tag_parsers`. The parameters of
SMP commands and responses (``hushwire.smp.tagged.Param``) are :class:`Field` codecs too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Generic, Self, TypeAlias, TypeVar, cast

from hushwire.encoding.binary import Reader, int64, large, non_empty, short_string, word16

__all__ = [
    "INT64",
    "LARGE",
    "SHORT_STRING",
    "TAIL",
    "WORD16",
    "Field",
    "Fields",
    "TaggedRecord",
    "non_empty_field",
    "tag_parsers",
]

_V = TypeVar("_V")
_Rd = TypeVar("_Rd", bound=Reader, contravariant=True)


@dataclass(frozen=True, slots=True)
class Field(Generic[_V, _Rd]):
    """The codec of one field: its encoder and its decoder, side by side. ``_Rd`` is the
    reader its decoder needs (SMP commands' decoders take an ``SmpReader``); a field that
    reads from any :class:`~hushwire.encoding.binary.Reader` serves every reader."""

    encode: Callable[[_V], bytes]
    parse: Callable[[_Rd], _V]


Fields: TypeAlias = tuple[Field[Any, Reader], ...]
"""A record's field codecs, in field order."""

INT64: Final[Field[int, Reader]] = Field(int64, Reader.int64)
SHORT_STRING: Final[Field[bytes, Reader]] = Field(short_string, Reader.short_string)
LARGE: Final[Field[bytes, Reader]] = Field(large, Reader.large)
WORD16: Final[Field[int, Reader]] = Field(word16, Reader.word16)
TAIL: Final[Field[bytes, Reader]] = Field(bytes, Reader.tail)
"""The rest of the input, written as it is (``Tail``): only ever the last field."""


def non_empty_field(item: Field[_V, Reader]) -> Field[tuple[_V, ...], Reader]:
    """``NonEmpty`` of ``item``: a count byte (1 or more), then the items."""
    return Field(
        lambda items: non_empty(items, item.encode), lambda r: tuple(r.non_empty(item.parse))
    )


class TaggedRecord:
    """Base of a record sent as ``TAG`` (empty: none) then its ``FIELDS`` in order."""

    __slots__ = ()

    TAG: ClassVar[bytes] = b""
    FIELDS: ClassVar[Fields] = ()

    def encode(self) -> bytes:
        values = (getattr(self, f.name) for f in dataclasses.fields(cast(Any, self)))
        return self.TAG + b"".join(c.encode(v) for c, v in zip(self.FIELDS, values, strict=True))

    @classmethod
    def parse(cls, r: Reader) -> Self:
        """The fields after the tag (the caller has read the tag)."""
        return cast(Self, cast(Any, cls)(*(c.parse(r) for c in cls.FIELDS)))


_R = TypeVar("_R", bound=TaggedRecord)


def tag_parsers(classes: Iterable[type[_R]]) -> dict[bytes, Callable[[Reader], _R]]:
    """``tag -> decoder`` built from the classes, for
    :func:`~hushwire.encoding.binary.parser_for_tag`; a repeated tag is a programming error."""
    table: dict[bytes, Callable[[Reader], _R]] = {}
    for cls in classes:
        if cls.TAG in table:
            raise ValueError(f"tag {cls.TAG!r} used twice")
        table[cls.TAG] = cls.parse
    return table
