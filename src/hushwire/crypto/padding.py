"""SimpleX padding: ``Word16 length ‖ message ‖ '#' fill``.

Mirrors simplexmq ``Crypto.hs`` ``pad``/``unPad`` (C.hs:1082-1096; docs/protocol/smp.md,
"Encoding primitives"). ``unpad`` reads the length and ignores whatever follows, so the reader
never needs to know the padded size.
"""

from __future__ import annotations

from hushwire.errors import DecodeError
from hushwire.limits import MAX_PAD_MESSAGE

PAD_BYTE = b"#"
"""Fill byte (0x23), not 0x00 (docs/protocol/smp.md, "Encoding primitives")."""


def pad(msg: bytes, size: int) -> bytes:
    """Pad ``msg`` to exactly ``size`` bytes.

    ``ValueError`` if ``msg`` is longer than 65533 bytes (C.hs ``maxMsgLen``) or does not fit
    with its 2-byte length into ``size`` (C.hs ``CryptoLargeMsgError``).
    """
    n = len(msg)
    fill = size - n - 2
    if n > MAX_PAD_MESSAGE or fill < 0:
        raise ValueError(f"message of {n} bytes cannot be padded to {size} bytes")
    return n.to_bytes(2, "big") + msg + PAD_BYTE * fill


def unpad(data: bytes) -> bytes:
    """The message inside padded ``data``; the fill is not checked.

    ``DecodeError`` if ``data`` is shorter than 2 bytes or its length prefix exceeds the
    bytes that follow (C.hs ``CryptoInvalidMsgError``).
    """
    if len(data) < 2:
        raise DecodeError("padded data shorter than its length prefix")
    n = int.from_bytes(data[:2], "big")
    if n > len(data) - 2:
        raise DecodeError("padded length exceeds the data")
    return bytes(data[2 : 2 + n])
