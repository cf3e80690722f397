"""Named caps and sizes. Every length the code checks is compared with one of these.

Sources: simplexmq ``Transport.hs`` (block size), ``Protocol.hs`` (message sizes),
``Crypto.hs`` (padding), ``Server/Env/STM.hs`` (defaults).
"""

from __future__ import annotations

from typing import Final

SMP_BLOCK_SIZE: Final = 16384
"""Every SMP transport block is exactly this many bytes (Transport.hs smpBlockSize)."""

BLOCK_AUTH_TAG_SIZE: Final = 16
"""Poly1305 tag that v11+ block encryption adds (Crypto.hs authTagSize)."""

BATCH_OVERHEAD: Final = 2 + 1 + BLOCK_AUTH_TAG_SIZE
"""Pad length (2) + transmission count (1) + reserved block-encryption tag (16)."""

MAX_BATCH_PAYLOAD: Final = SMP_BLOCK_SIZE - BATCH_OVERHEAD
"""What the Large-prefixed transmissions of one block may total
(Protocol.hs batchTransmissions_)."""

MAX_BATCH_COUNT: Final = 255
"""Transmissions in one block at most (the count is one byte)."""

MAX_SHORT_STRING: Final = 255
MAX_LARGE: Final = 65535
MAX_PAD_MESSAGE: Final = 65533
"""pad() refuses messages longer than this (Crypto.hs pad)."""

MAX_MESSAGE_LENGTH_V6: Final = 16088
MAX_MESSAGE_LENGTH_V8: Final = 16064
MAX_MESSAGE_LENGTH_V11: Final = 16048
"""SEND body caps by the sender's negotiated version (Protocol.hs maxMessageLength)."""

ENCRYPTED_MSG_BODY_PAD: Final = 16104 + 2
"""Server-to-recipient plaintext is padded to this (Protocol.hs encodeRcvMsgBody / padMaxLenBS)."""

QUEUE_ID_SIZE: Final = 24
MSG_ID_SIZE: Final = 24
CORR_ID_SIZE: Final = 24
SESSION_ID_SIZE: Final = 32

MIN_CERT_CHAIN: Final = 2
MAX_CERT_CHAIN: Final = 4
