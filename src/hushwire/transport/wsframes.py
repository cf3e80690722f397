"""WebSocket framing (RFC 6455 section 5) for blocks, after the HTTP upgrade.

The upgrade itself is done by the websockets sans-I/O core; after it, this small codec
carries the frames. It keeps nothing between frames but unparsed bytes (the generic core
keeps the last frame's payload alive in its parser, about 16 KB per idle connection),
accepts only what an SMP block connection needs (no extensions, payloads up to one block,
control frames up to 125 bytes) and raises :class:`FrameError` on anything else, as
simplexmq ``Simplex.Messaging.Transport.WebSockets`` configures its WebSocket library (no
compression, one block per binary message; docs/protocol/smp.md, "Blocks and batches").
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from hushwire.errors import DecodeError


def _apply_mask_py(data: bytes | memoryview, mask: bytes) -> bytes:
    n = len(data)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")


_apply_mask: Callable[[bytes | memoryview, bytes], bytes]
try:
    from websockets.speedups import apply_mask as _apply_mask
except ImportError:  # pragma: no cover - the C speed-up ships with websockets wheels
    _apply_mask = _apply_mask_py


OP_CONT: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA
_KNOWN = frozenset((OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG))
MAX_CONTROL: Final = 125

_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")


class FrameError(DecodeError):
    """The peer broke the framing; ``code`` is the close code to send (RFC 6455 7.4.1)."""

    def __init__(self, message: str, code: int = 1002) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class WsFrame:
    opcode: int
    fin: bool
    payload: bytes


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = False) -> bytes:
    """One frame; clients mask (``mask=True``), servers do not."""
    n = len(payload)
    head = bytes(((0x80 if fin else 0) | opcode,))
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes((mbit | n,))
    elif n < 65536:
        head += bytes((mbit | 126,)) + _U16.pack(n)
    else:
        head += bytes((mbit | 127,)) + _U64.pack(n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _apply_mask(payload, key)


def close_payload(code: int, reason: str = "") -> bytes:
    return _U16.pack(code) + reason.encode("utf-8")[:123]


class FrameReader:
    """Incremental parser for the frames one side receives.

    ``masked``: frames must be masked (a server reading a client) or must not be (a client
    reading a server). ``max_payload`` caps data frames; control frames are capped at 125.
    """

    __slots__ = ("_buf", "_masked", "_max")

    def __init__(self, *, masked: bool, max_payload: int) -> None:
        self._buf = bytearray()
        self._masked = masked
        self._max = max_payload

    def feed(self, data: bytes) -> Iterator[WsFrame]:
        """Add bytes; yield every complete frame. Raises :class:`FrameError`."""
        self._buf += data
        while True:
            frame = self._next()
            if frame is None:
                return
            yield frame

    def _next(self) -> WsFrame | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        if b0 & 0x70:
            raise FrameError("reserved bits set (no extension was negotiated)")
        opcode = b0 & 0x0F
        if opcode not in _KNOWN:
            raise FrameError(f"unknown opcode {opcode}")
        fin = bool(b0 & 0x80)
        masked = bool(b1 & 0x80)
        if masked != self._masked:
            raise FrameError("frame masking is wrong for this direction")
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            if len(buf) < 4:
                return None
            n = _U16.unpack_from(buf, 2)[0]
            pos = 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n = _U64.unpack_from(buf, 2)[0]
            pos = 10
        control = opcode >= OP_CLOSE
        if control and (n > MAX_CONTROL or not fin):
            raise FrameError("control frame too long or fragmented")
        if not control and n > self._max:
            raise FrameError(f"frame of {n} bytes is over the limit", 1009)
        key = b""
        if masked:
            if len(buf) < pos + 4:
                return None
            key = bytes(buf[pos : pos + 4])
            pos += 4
        if len(buf) < pos + n:
            return None
        # One copy out of the buffer (unmasking copies anyway); the view is released before
        # the buffer is resized.
        with memoryview(buf) as view, view[pos : pos + n] as part:
            payload = _apply_mask(part, key) if masked else bytes(part)
        del buf[: pos + n]
        return WsFrame(opcode, fin, payload)

    def take_over(self, leftover: bytes) -> None:
        """Bytes that arrived after the HTTP upgrade, before this reader existed."""
        self._buf += leftover
