"""SMP binary primitives: encoders and a bounded reader.

Mirrors simplexmq ``Simplex.Messaging.Encoding`` (docs/protocol/smp.md, docs/protocol/agent.md):
Word16/Word32/Word64 big-endian, Int64 two's complement big-endian, SystemTime as Int64
seconds, shortString (1 length byte), Large (Word16 length), Tail (rest of input),
Bool as ASCII ``T``/``F``, Maybe as ASCII ``0``/``1``, lists and NonEmpty with a count byte.

Every decoder raises only :class:`~hushwire.errors.DecodeError`, and every length is
checked against what remains before anything is read.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, TypeVar

from hushwire.errors import DecodeError

T = TypeVar("T")

_W16 = struct.Struct(">H")
_W32 = struct.Struct(">I")
_W64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")

SPACE = b" "
WORD16_MAX: Final = 0xFFFF
INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1


# --------------------------------------------------------------------------- encoders


def word16(n: int) -> bytes:
    if not 0 <= n <= WORD16_MAX:
        raise ValueError(f"Word16 out of range: {n}")
    return _W16.pack(n)


def word32(n: int) -> bytes:
    if not 0 <= n <= 0xFFFFFFFF:
        raise ValueError(f"Word32 out of range: {n}")
    return _W32.pack(n)


def word64(n: int) -> bytes:
    if not 0 <= n <= 0xFFFFFFFFFFFFFFFF:
        raise ValueError(f"Word64 out of range: {n}")
    return _W64.pack(n)


def int64(n: int) -> bytes:
    if not INT64_MIN <= n <= INT64_MAX:
        raise ValueError(f"Int64 out of range: {n}")
    return _I64.pack(n)


def system_time(seconds: int) -> bytes:
    """SystemTime is encoded as Int64 seconds; nanoseconds are dropped."""
    return int64(seconds)


def short_string(b: bytes) -> bytes:
    if len(b) > 255:
        raise ValueError(f"shortString longer than 255 bytes: {len(b)}")
    return bytes((len(b),)) + b


def large(b: bytes) -> bytes:
    if len(b) > WORD16_MAX:
        raise ValueError(f"Large longer than 65535 bytes: {len(b)}")
    return _W16.pack(len(b)) + b


def bool_(v: bool) -> bytes:
    return b"T" if v else b"F"


def maybe(v: T | None, enc: Callable[[T], bytes]) -> bytes:
    return b"0" if v is None else b"1" + enc(v)


def list_(items: Sequence[T], enc: Callable[[T], bytes]) -> bytes:
    if len(items) > 255:
        raise ValueError(f"list longer than 255 items: {len(items)}")
    return bytes((len(items),)) + b"".join(enc(i) for i in items)


def non_empty(items: Sequence[T], enc: Callable[[T], bytes]) -> bytes:
    if not items:
        raise ValueError("NonEmpty list is empty")
    return list_(items, enc)


def concat(parts: Iterable[bytes]) -> bytes:
    return b"".join(parts)


# --------------------------------------------------------------------------- reader


class Reader:
    """A bounded cursor over bytes. Any short or malformed read raises ``DecodeError``."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        self._data = bytes(data)
        self._pos = pos

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def end(self) -> None:
        """Fail unless the whole input was consumed (strict parsing)."""
        if self._pos != len(self._data):
            raise DecodeError(f"{len(self._data) - self._pos} trailing bytes")

    def take(self, n: int) -> bytes:
        if n < 0 or n > len(self._data) - self._pos:
            raise DecodeError(f"need {n} bytes, {len(self._data) - self._pos} remain")
        start = self._pos
        self._pos += n
        return self._data[start : self._pos]

    def peek(self) -> int | None:
        """The next byte without consuming it, or None at the end."""
        return self._data[self._pos] if self._pos < len(self._data) else None

    def byte(self) -> int:
        if self._pos >= len(self._data):
            raise DecodeError("need 1 byte, 0 remain")
        b = self._data[self._pos]
        self._pos += 1
        return b

    def char(self) -> bytes:
        return self.take(1)

    def expect(self, literal: bytes) -> None:
        if self.take(len(literal)) != literal:
            raise DecodeError(f"expected {literal!r}")

    def space(self) -> None:
        self.expect(SPACE)

    def word16(self) -> int:
        return int(_W16.unpack(self.take(2))[0])

    def word32(self) -> int:
        return int(_W32.unpack(self.take(4))[0])

    def word64(self) -> int:
        return int(_W64.unpack(self.take(8))[0])

    def int64(self) -> int:
        return int(_I64.unpack(self.take(8))[0])

    def system_time(self) -> int:
        return self.int64()

    def short_string(self) -> bytes:
        return self.take(self.byte())

    def large(self) -> bytes:
        return self.take(self.word16())

    def tail(self) -> bytes:
        start = self._pos
        self._pos = len(self._data)
        return self._data[start:]

    def bool_(self) -> bool:
        b = self.byte()
        if b == 0x54:  # 'T'
            return True
        if b == 0x46:  # 'F'
            return False
        raise DecodeError("invalid Bool")

    def maybe(self, dec: Callable[[Reader], T]) -> T | None:
        b = self.byte()
        if b == 0x30:  # '0'
            return None
        if b == 0x31:  # '1'
            return dec(self)
        raise DecodeError("invalid Maybe tag")

    def list_(self, dec: Callable[[Reader], T]) -> list[T]:
        n = self.byte()
        return [dec(self) for _ in range(n)]

    def non_empty(self, dec: Callable[[Reader], T]) -> list[T]:
        n = self.byte()
        if n == 0:
            raise DecodeError("empty list")
        return [dec(self) for _ in range(n)]

    def optional(self, dec: Callable[[Reader], T]) -> T | None:
        """Attoparsec ``optional``: try ``dec``; on failure rewind and return None."""
        saved = self._pos
        try:
            return dec(self)
        except DecodeError:
            self._pos = saved
            return None


def parser_for_tag(r: Reader, parsers: Mapping[bytes, T], what: str) -> T:
    """A sum type whose constructors start with a one-character tag: read the tag and return
    what ``parsers`` holds for it (the decoder of the rest); an unknown tag is ``bad <what>``."""
    parser = parsers.get(r.char())
    if parser is None:
        raise DecodeError(f"bad {what}")
    return parser


def parse_all(data: bytes, dec: Callable[[Reader], T]) -> T:
    """Decode ``data`` with ``dec`` and require that every byte was consumed."""
    r = Reader(data)
    v = dec(r)
    r.end()
    return v
