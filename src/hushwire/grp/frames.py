"""GRP/1 transport frames: fixed-size Noise transport messages carrying SMP blocks, sans-I/O.

docs/grp.md, "Framing". After the handshake every WebSocket message is one Noise transport
message of exactly :data:`WIRE_FRAME_SIZE` (16,401) bytes: ChaCha20-Poly1305 over
``type(1) ‖ body(16,384)`` with empty associated data. The type is inside the AEAD, so the
four kinds cannot be told apart on the wire:

======  =====  ==============================================================
type    name   body
======  =====  ==============================================================
0x01    DATA   one SMP block, byte for byte what would go over TLS
0x02    COVER  zeros (not checked): dropped after the AEAD check
0x03    REKEY  zeros: the receiver rekeys its receiving key after reading it
0x04    CLOSE  ``Word16 reason`` then zeros: the sender is closing
======  =====  ==============================================================

Every frame is decrypted, COVER included, so both nonce counters stay in step. Any other
size, a failed AEAD check or an unknown type is fatal (:class:`GrpFrameError`), and the
connection is closed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from hushwire.errors import CryptoError
from hushwire.grp.noise import TAGLEN, CipherState, NoiseError
from hushwire.limits import SMP_BLOCK_SIZE

BODY_SIZE: Final = SMP_BLOCK_SIZE
PLAIN_FRAME_SIZE: Final = 1 + BODY_SIZE
WIRE_FRAME_SIZE: Final = PLAIN_FRAME_SIZE + TAGLEN
"""16,401: the size of every WebSocket message after the handshake."""
_ZEROS: Final = bytes(BODY_SIZE)


class GrpFrameError(CryptoError):
    """A frame that is not one: wrong size, AEAD failure, unknown type (fatal)."""


class FrameType(enum.IntEnum):
    DATA = 1
    COVER = 2
    REKEY = 3
    CLOSE = 4


class CloseReason(enum.IntEnum):
    """The reason a CLOSE frame carries."""

    NORMAL = 0
    RATE = 1
    """The peer sent frames faster than the cover rate allows."""
    SHUTDOWN = 2


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame as read: its type and body (a block for DATA, the reason for CLOSE)."""

    type: FrameType
    body: bytes = b""

    @property
    def reason(self) -> int:
        return int.from_bytes(self.body[:2], "big") if self.type is FrameType.CLOSE else 0


def plain_frame(kind: FrameType, body: bytes = b"") -> bytes:
    """``type ‖ body`` padded with zeros to :data:`PLAIN_FRAME_SIZE` (DATA: a whole block)."""
    if kind is FrameType.DATA and len(body) != BODY_SIZE:
        raise ValueError("a DATA frame carries exactly one block")
    if len(body) > BODY_SIZE:
        raise ValueError("frame body too long")
    return bytes((kind,)) + body + _ZEROS[: BODY_SIZE - len(body)]


def close_body(reason: CloseReason) -> bytes:
    return int(reason).to_bytes(2, "big")


class FrameSender:
    """Encrypts frames for one direction; REKEY switches the key after it is sent."""

    __slots__ = ("_cs", "frames")

    def __init__(self, cs: CipherState) -> None:
        self._cs = cs
        self.frames = 0

    def seal(self, kind: FrameType, body: bytes = b"") -> bytes:
        """The wire bytes of one frame. Every kind takes the same path: pad, encrypt."""
        wire = self._cs.encrypt_with_ad(b"", plain_frame(kind, body))
        self.frames += 1
        if kind is FrameType.REKEY:
            self._cs.rekey()
        return wire


class FrameReceiver:
    """Decrypts frames of the other direction and applies REKEY."""

    __slots__ = ("_cs", "frames")

    def __init__(self, cs: CipherState) -> None:
        self._cs = cs
        self.frames = 0

    def open(self, wire: bytes) -> Frame:
        if len(wire) != WIRE_FRAME_SIZE:
            raise GrpFrameError(f"a frame of {len(wire)} bytes")
        try:
            plain = self._cs.decrypt_with_ad(b"", wire)
        except NoiseError:
            raise GrpFrameError("a frame does not decrypt") from None
        self.frames += 1
        try:
            kind = FrameType(plain[0])
        except ValueError:
            raise GrpFrameError(f"unknown frame type {plain[0]}") from None
        if kind is FrameType.REKEY:
            self._cs.rekey()
            return Frame(kind)
        if kind is FrameType.COVER:
            return Frame(kind)
        if kind is FrameType.CLOSE:
            return Frame(kind, plain[1:3])
        return Frame(kind, plain[1:])
