"""A :class:`~hushwire.encoding.binary.Reader` with the attoparsec helpers SMP text fields need.

``takeTill (== ' ')`` (tag words, error words, message flags) and ``_smpP`` (a space, then a
value) appear all over ``Protocol.hs``; they live here so every decoder shares one version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hushwire.encoding.binary import Reader
from hushwire.errors import DecodeError

T = TypeVar("T")

SP = 0x20


class SmpReader(Reader):
    __slots__ = ()

    def take_till_space(self) -> bytes:
        """Attoparsec ``takeTill (== ' ')``: bytes up to (not including) the next space or end."""
        data = self._data
        i = data.find(b" ", self._pos)
        end = len(data) if i < 0 else i
        return self.take(end - self._pos)

    def take_word(self) -> bytes:
        """``takeTill wordEnd``: bytes up to the next space or newline (``Parsers.parseRead1``)."""
        data = self._data
        ends = [i for i in (data.find(b" ", self._pos), data.find(b"\n", self._pos)) if i >= 0]
        end = min(ends) if ends else len(data)
        return self.take(end - self._pos)

    # The combinators below only narrow the callback type to SmpReader.
    def optional(self, dec: Callable[[SmpReader], T]) -> T | None:
        return super().optional(dec)  # type: ignore[arg-type]

    def maybe(self, dec: Callable[[SmpReader], T]) -> T | None:
        return super().maybe(dec)  # type: ignore[arg-type]

    def non_empty(self, dec: Callable[[SmpReader], T]) -> list[T]:
        return super().non_empty(dec)  # type: ignore[arg-type]

    def sp(self) -> None:
        if self.byte() != SP:
            raise DecodeError("expected space")


def parse_all(data: bytes, dec: Callable[[SmpReader], T]) -> T:
    """Strict parse: ``dec`` must consume every byte (``Parsers.parseAll``)."""
    r = SmpReader(data)
    v = dec(r)
    r.end()
    return v


def parse_lenient(data: bytes, dec: Callable[[SmpReader], T]) -> T:
    """Lenient parse: trailing bytes are ignored (``A.parseOnly``, used for handshakes)."""
    return dec(SmpReader(data))


def try_literal(r: SmpReader, literal: bytes) -> bool:
    """Consume ``literal`` if the input continues with it; otherwise consume nothing."""

    def lit(x: SmpReader) -> bool:
        x.expect(literal)
        return True

    return r.optional(lit) is True
