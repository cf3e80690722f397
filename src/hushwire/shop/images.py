"""Small images made in code (the demo bakery's product pictures, test vectors) and the
image checks the owner's catalog loader runs: PNG written with zlib, no imaging library."""

from __future__ import annotations

import struct
import zlib
from typing import Final

__all__ = ["MIME_BY_MAGIC", "make_png", "sniff_mime"]

MIME_BY_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def make_png(width: int, height: int, pixels: list[tuple[int, int, int]]) -> bytes:
    """An RGB PNG of ``width`` x ``height`` from row-major ``pixels`` (deterministic)."""
    if len(pixels) != width * height or width <= 0 or height <= 0:
        raise ValueError("make_png needs width * height pixels")
    rows = b"".join(
        b"\x00" + b"".join(bytes(px) for px in pixels[y * width : (y + 1) * width])
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def sniff_mime(data: bytes) -> str | None:
    """``image/png``, ``image/jpeg`` or ``image/webp`` from the first bytes; None otherwise."""
    for magic, mime in MIME_BY_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
