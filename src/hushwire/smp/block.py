"""SMP transport blocks: batches, padding, the batcher and v11+ block encryption.

Mirrors simplexmq ``Transport.hs`` (``tPutBlock``, ``tGetBlock``, ``sendHandshake``,
``getHandshake``) and ``Protocol.hs`` (``batchTransmissions_``, ``tEncodeForBatch``,
``tParse``); see docs/protocol/smp.md (transport blocks).

Every block is exactly 16384 bytes. After the handshake a block carries a *batch*::

    count (1 byte, 1..255) ‖ Large(t1) ‖ ... ‖ Large(tn)

padded with ``pad`` to 16384 bytes, or from v11 (when negotiated) boxed under the next key of a
per-direction chain: ``tag(16) ‖ secretbox(pad(batch, 16368))``. The receiver must parse the
batch exactly; anything else is ``ERR BLOCK``. Handshake blocks are padded, never batched or
encrypted.

The batcher packs like the reference: it fills blocks from the *end* of the list (a right
fold), so the first block is the partly filled one, and a transmission too large for a block
on its own is reported in its place (``TELargeMsg``) between the blocks around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hushwire.crypto.kdf import BlockCipherChain
from hushwire.crypto.padding import pad, unpad
from hushwire.encoding.binary import large
from hushwire.errors import CryptoError, DecodeError
from hushwire.limits import (
    BLOCK_AUTH_TAG_SIZE,
    MAX_BATCH_COUNT,
    MAX_BATCH_PAYLOAD,
    SMP_BLOCK_SIZE,
)
from hushwire.smp._reader import SmpReader, parse_all

ENCRYPTED_BLOCK_PAYLOAD: Final = SMP_BLOCK_SIZE - BLOCK_AUTH_TAG_SIZE
"""Padded batch size inside an encrypted block: 16368."""


# --------------------------------------------------------------------------- batches


def encode_batch(items: Sequence[bytes]) -> bytes:
    """``count ‖ Large(item)...`` for 1..255 transmissions (not padded)."""
    if not 1 <= len(items) <= MAX_BATCH_COUNT:
        raise ValueError(f"a batch holds 1..{MAX_BATCH_COUNT} transmissions, got {len(items)}")
    return bytes((len(items),)) + b"".join(large(t) for t in items)


def _batch(r: SmpReader) -> list[bytes]:
    return r.non_empty(lambda x: x.large())


def decode_batch(data: bytes) -> list[bytes]:
    """The transmissions of an unpadded batch; DecodeError unless it parses exactly.

    One pass with the lengths checked once at the end; a batch that does not parse exactly
    is read again by the general reader, which raises its error.
    """
    try:
        items = []
        pos = 1
        for _ in range(data[0]):
            end = pos + 2 + ((data[pos] << 8) | data[pos + 1])
            items.append(data[pos + 2 : end])
            pos = end
    except IndexError:
        pos = -1
    if pos != len(data) or not items:
        return parse_all(data, _batch)
    return items


def pad_block(payload: bytes) -> bytes:
    """``pad(payload, 16384)``; ValueError if it does not fit."""
    return pad(payload, SMP_BLOCK_SIZE)


def unpad_block(block: bytes) -> bytes:
    """The payload of an unencrypted block; DecodeError if not 16384 bytes or bad padding."""
    if len(block) != SMP_BLOCK_SIZE:
        raise DecodeError(f"block must be {SMP_BLOCK_SIZE} bytes, got {len(block)}")
    return unpad(block)


pad_handshake = pad_block
"""Handshake blocks are ``pad(hello, 16384)``, never batched or encrypted."""
unpad_handshake = unpad_block


def encode_block(items: Sequence[bytes]) -> bytes:
    """An unencrypted block holding ``items``; ValueError if they do not fit."""
    return pad_block(encode_batch(items))


def decode_block(block: bytes) -> list[bytes]:
    """The transmissions of an unencrypted block; DecodeError (answer ``ERR BLOCK``)."""
    return decode_batch(unpad_block(block))


# --------------------------------------------------------------------------- batcher


@dataclass(frozen=True, slots=True)
class Batch:
    """An unpadded batch and the input positions of the transmissions in it."""

    payload: bytes
    indices: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.indices)


@dataclass(frozen=True, slots=True)
class TooLarge:
    """The transmission at ``index`` cannot fit in a block even alone (``LARGE_MSG``)."""

    index: int


def batch_transmissions(
    transmissions: Sequence[bytes], max_payload: int = MAX_BATCH_PAYLOAD
) -> list[Batch | TooLarge]:
    """Pack encoded transmissions into as few batches as the reference does.

    Each batch's ``Large``-prefixed items total at most ``max_payload`` (16384 - 19: pad
    length, count byte and the block-encryption tag, so any batch fits either block form)
    and at most 255 items. Packing runs from the last transmission backwards, as
    ``batchTransmissions_`` (a ``foldr``) does; the output is in input order.
    """
    count = len(transmissions)
    if 0 < count <= MAX_BATCH_COUNT and sum(map(len, transmissions)) + 2 * count <= max_payload:
        # Everything fits in one batch (the usual case): the fold below would give just this.
        parts = [b for t in transmissions for b in (len(t).to_bytes(2, "big"), t)]
        return [Batch(bytes((count,)) + b"".join(parts), tuple(range(count)))]
    out_rev: list[Batch | TooLarge] = []
    cur: list[tuple[int, bytes]] = []  # reversed
    cur_len = 0

    def flush() -> None:
        if cur:
            items = cur[::-1]
            payload = bytes((len(items),)) + b"".join(s for _, s in items)
            out_rev.append(Batch(payload, tuple(i for i, _ in items)))
            cur.clear()

    for idx in range(len(transmissions) - 1, -1, -1):
        t = transmissions[idx]
        size = len(t) + 2
        if size > max_payload:
            flush()
            cur_len = 0
            out_rev.append(TooLarge(idx))
            continue
        if cur_len + size <= max_payload and len(cur) < MAX_BATCH_COUNT:
            cur.append((idx, large(t)))
            cur_len += size
        else:
            flush()
            cur.append((idx, large(t)))
            cur_len = size
    flush()
    return out_rev[::-1]


# --------------------------------------------------------------------------- v11+ encryption


class BlockChain(BlockCipherChain):
    """One direction of v11+ block encryption of SMP blocks (chain state; mutable; repr
    redacted): :class:`~hushwire.crypto.kdf.BlockCipherChain` at the block size, with its
    failures as ``DecodeError``. Made from a 32-byte chain key, or in pairs by :meth:`pair`
    from the raw X25519 output of the client's hello key and the server's per-connection key
    (Transport.hs ``blockEncryption``, Crypto.hs ``sbcInit``).

    Each call advances the chain by one ``sbcHkdf`` step, also when decryption fails, as the
    reference does (the failed block is answered with ``ERR BLOCK``, the session goes on).
    """

    __slots__ = ()

    def encrypt(self, payload: bytes) -> bytes:
        """A 16384-byte block: ``tag ‖ secretbox(pad(payload, 16368))``.

        ValueError (chain not advanced) if the payload does not fit.
        """
        return self.encrypt_block(payload, SMP_BLOCK_SIZE)

    def decrypt(self, block: bytes) -> bytes:
        """The unpadded payload of an encrypted block; DecodeError if it does not open."""
        if len(block) != SMP_BLOCK_SIZE:
            raise DecodeError(f"block must be {SMP_BLOCK_SIZE} bytes, got {len(block)}")
        try:
            return self.decrypt_block(block)
        except CryptoError:
            raise DecodeError("block does not decrypt") from None
