"""Strict JSON reading for the few JSON fields of the wire (``INFO``, a blocked entity's notice).

Mirrors what aeson's ``eitherDecodeStrict`` accepts for simplexmq's ``QueueInfo`` and
``ClientNotice``: UTF-8 JSON, no ``NaN``/``Infinity``; any failure (bad UTF-8, bad JSON, too
deep nesting, not an object) is :class:`~hushwire.errors.DecodeError`.
"""

from __future__ import annotations

import json

from hushwire.errors import DecodeError


def _reject_constant(_: str) -> object:
    raise DecodeError("invalid JSON constant")


def loads(data: bytes) -> object:
    """Parse UTF-8 JSON text."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DecodeError("invalid JSON") from None


def as_object(v: object) -> dict[str, object]:
    """``v`` if it is a JSON object."""
    if not isinstance(v, dict):
        raise DecodeError("JSON object expected")
    return v


def loads_object(data: bytes) -> dict[str, object]:
    """Parse UTF-8 JSON text that must be an object."""
    return as_object(loads(data))
