"""GRP/1 frames: one size for every kind, the type hidden in the AEAD, and fatal errors."""

from __future__ import annotations

import os

import pytest

from hushwire.grp.frames import (
    BODY_SIZE,
    WIRE_FRAME_SIZE,
    CloseReason,
    FrameReceiver,
    FrameSender,
    FrameType,
    GrpFrameError,
    close_body,
    plain_frame,
)
from hushwire.grp.noise import CipherState


def _pair() -> tuple[FrameSender, FrameReceiver]:
    key = os.urandom(32)
    return FrameSender(CipherState(key)), FrameReceiver(CipherState(key))


def test_every_kind_has_the_same_wire_size_and_round_trips() -> None:
    tx, rx = _pair()
    block = os.urandom(BODY_SIZE)
    wires = [
        tx.seal(FrameType.DATA, block),
        tx.seal(FrameType.COVER),
        tx.seal(FrameType.REKEY),
        tx.seal(FrameType.CLOSE, close_body(CloseReason.SHUTDOWN)),
    ]
    assert {len(w) for w in wires} == {WIRE_FRAME_SIZE} == {16401}
    frames = [rx.open(w) for w in wires]
    assert frames[0].type is FrameType.DATA and frames[0].body == block
    assert frames[1].type is FrameType.COVER and frames[1].body == b""
    assert frames[2].type is FrameType.REKEY
    assert frames[3].type is FrameType.CLOSE and frames[3].reason == CloseReason.SHUTDOWN
    assert tx.frames == rx.frames == 4


def test_a_data_frame_carries_exactly_one_block() -> None:
    with pytest.raises(ValueError):
        plain_frame(FrameType.DATA, b"short")
    assert len(plain_frame(FrameType.COVER)) == BODY_SIZE + 1


def test_after_rekey_the_old_key_no_longer_opens_frames() -> None:
    key = os.urandom(32)
    tx, rx = FrameSender(CipherState(key)), FrameReceiver(CipherState(key))
    rx.open(tx.seal(FrameType.REKEY))
    wire = tx.seal(FrameType.COVER)
    stale = CipherState(key)
    stale.n = 1
    with pytest.raises(Exception):  # noqa: B017 - any AEAD failure
        stale.decrypt_with_ad(b"", wire)
    assert rx.open(wire).type is FrameType.COVER


def test_a_receiver_that_missed_a_rekey_fails() -> None:
    key = os.urandom(32)
    tx, rx = FrameSender(CipherState(key)), FrameReceiver(CipherState(key))
    tx.seal(FrameType.REKEY)  # lost
    with pytest.raises(GrpFrameError):
        rx.open(tx.seal(FrameType.COVER))


@pytest.mark.parametrize("where", [0, 1, 8000, WIRE_FRAME_SIZE - 17, WIRE_FRAME_SIZE - 1])
def test_a_tampered_frame_is_fatal(where: int) -> None:
    tx, rx = _pair()
    wire = bytearray(tx.seal(FrameType.COVER))
    wire[where] ^= 0x40
    with pytest.raises(GrpFrameError, match="does not decrypt"):
        rx.open(bytes(wire))


@pytest.mark.parametrize("size", [WIRE_FRAME_SIZE - 1, WIRE_FRAME_SIZE + 1, 16384, 0])
def test_a_frame_of_another_size_is_fatal(size: int) -> None:
    _, rx = _pair()
    with pytest.raises(GrpFrameError, match=f"a frame of {size} bytes"):
        rx.open(bytes(size))


def test_replayed_or_reordered_frames_are_fatal() -> None:
    tx, rx = _pair()
    a, b = tx.seal(FrameType.COVER), tx.seal(FrameType.COVER)
    with pytest.raises(GrpFrameError):
        rx.open(b)
    tx2, rx2 = _pair()
    w = tx2.seal(FrameType.COVER)
    rx2.open(w)
    with pytest.raises(GrpFrameError):
        rx2.open(w)
    assert a != b


@pytest.mark.parametrize("kind", [0, 5, 0xFF])
def test_an_unknown_frame_type_is_fatal(kind: int) -> None:
    key = os.urandom(32)
    wire = CipherState(key).encrypt_with_ad(b"", bytes((kind,)) + bytes(BODY_SIZE))
    with pytest.raises(GrpFrameError, match=f"unknown frame type {kind}"):
        FrameReceiver(CipherState(key)).open(wire)
