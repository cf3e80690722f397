"""SMP binary primitives (``binary``) and the string encodings of links (``strings``)."""

from __future__ import annotations

from hushwire.encoding.binary import Reader, parse_all
from hushwire.encoding.strings import b64url_decode, b64url_encode

__all__ = ["Reader", "b64url_decode", "b64url_encode", "parse_all"]
