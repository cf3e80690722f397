"""What every SMP command and response shares: a class-level tag, the encoder of the tag and
parameters, the decoder of the parameters, and the table and dispatcher built from the classes.

Mirrors simplexmq ``Simplex.Messaging.Protocol`` (``ProtocolEncoding``: ``encodeProtocol``,
``protocolP``, ``parseProtocol``; ``CommandTag`` / ``BrokerMsgTag``); see docs/protocol/smp.md.
:mod:`hushwire.smp.commands` and :mod:`hushwire.smp.responses` build their tables with
:func:`tag_table` from their classes and decode with :func:`decode_tagged`, so a tag, its
class, its encoder and its decoder are written in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final, Self, TypeAlias, TypeVar, cast

from hushwire.encoding.record import Field
from hushwire.errors import DecodeError
from hushwire.smp._reader import SmpReader, parse_all
from hushwire.smp.errors import CommandError

SP: Final = b" "

_V = TypeVar("_V")


class CommandDecodeError(DecodeError):
    """A command or response that does not decode; ``error`` is what to answer (``ERR CMD``)."""

    def __init__(self, error: CommandError) -> None:
        super().__init__(f"CMD {error.value}")
        self.error = error


Param: TypeAlias = Field[_V, SmpReader]
"""The codec of one parameter (:class:`~hushwire.encoding.record.Field`): its encoder and
its decoder, which may use the SMP reader's helpers."""


_FIELD_NAMES: Final[dict[type, tuple[str, ...]]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """The dataclass field names of a command or response class, in order (looked up once
    per class: every response the relay sends is encoded with them)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cast(Any, cls)))
    return names


class Tagged:
    """Base of commands and responses: a class-level wire ``tag`` and ``params``, one
    :class:`Param` per dataclass field in field order. The default encoder writes the tag,
    then (when there are parameters) a space and each parameter; the default decoder reads
    them back in the same order. Classes whose encoding depends on the version override
    :meth:`_params` and :meth:`parse`."""

    __slots__ = ()

    tag: ClassVar[bytes]
    params: ClassVar[tuple[Param[Any], ...]] = ()

    def encode(self, version: int) -> bytes:
        """Tag and parameters as sent at the negotiated ``version``."""
        return self.tag + self._params(version)

    def _params(self, version: int) -> bytes:
        if not self.params:
            return b""
        values = (getattr(self, name) for name in _field_names(type(self)))
        return SP + b"".join(p.encode(v) for p, v in zip(self.params, values, strict=True))

    @classmethod
    def parse(cls, version: int, r: SmpReader) -> Self:
        """The parameters after the tag, as sent at ``version``."""
        if not cls.params:
            return cls()
        r.sp()
        return cast(Self, cast(Any, cls)(*(p.parse(r) for p in cls.params)))


_T = TypeVar("_T", bound=Tagged)


def tag_table(classes: Iterable[type[_T]]) -> dict[bytes, type[_T]]:
    """``tag -> class`` built from the classes; a repeated tag is a programming error."""
    table: dict[bytes, type[_T]] = {}
    for cls in classes:
        if cls.tag in table:
            raise ValueError(f"tag {cls.tag!r} used twice")
        table[cls.tag] = cls
    return table


def decode_tagged(
    table: Mapping[bytes, type[_T]],
    version: int,
    data: bytes,
    accept: Callable[[type[_T]], bool] = lambda _cls: True,
) -> _T:
    """``parseProtocol``: the tag picks the class (``CMD UNKNOWN`` if none, or if ``accept``
    refuses it), whose decoder must consume the rest exactly (else ``CMD SYNTAX``)."""
    i = data.find(b" ")
    tag = data if i < 0 else data[:i]
    cls = table.get(tag)
    if cls is None or not accept(cls):
        raise CommandDecodeError(CommandError.UNKNOWN)
    try:
        return parse_all(data[len(tag) :], lambda r: cls.parse(version, r))
    except DecodeError:
        raise CommandDecodeError(CommandError.SYNTAX) from None
