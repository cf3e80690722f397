"""The few DER pieces the signed session key needs (X.690), written and read by hand.

Only definite lengths in minimal form are accepted; every length is checked against what
remains. Readers raise only :class:`~hushwire.errors.DecodeError`.
"""

from __future__ import annotations

from hushwire.errors import DecodeError

SEQUENCE = 0x30
BIT_STRING = 0x03
OID = 0x06

_MAX_LEN_BYTES = 2  # nothing here is 64 KiB or longer


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(content)) + content


def read_tlv(data: bytes, pos: int) -> tuple[int, bytes, int, int]:
    """``(tag, content, start, end)`` of the element at ``pos``; ``end`` is the next position."""
    if pos + 2 > len(data):
        raise DecodeError("DER element truncated")
    tag = data[pos]
    first = data[pos + 1]
    i = pos + 2
    if first < 0x80:
        n = first
    else:
        count = first & 0x7F
        if count == 0 or count > _MAX_LEN_BYTES or i + count > len(data):
            raise DecodeError("unsupported DER length")
        n = int.from_bytes(data[i : i + count], "big")
        if n < 0x80 or n.bit_length() <= 8 * (count - 1):
            raise DecodeError("non-minimal DER length")
        i += count
    if n > len(data) - i:
        raise DecodeError("DER length exceeds the data")
    return tag, data[i : i + n], pos, i + n


def read_sequence_items(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """The items of one SEQUENCE spanning all of ``data``: ``(tag, content, whole TLV)``."""
    tag, content, _, end = read_tlv(data, 0)
    if tag != SEQUENCE or end != len(data):
        raise DecodeError("expected one DER SEQUENCE")
    items: list[tuple[int, bytes, bytes]] = []
    pos = 0
    while pos < len(content):
        t, c, start, pos = read_tlv(content, pos)
        items.append((t, c, content[start:pos]))
    return items
