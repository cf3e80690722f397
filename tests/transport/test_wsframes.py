"""hushwire.transport.wsframes: RFC 6455 frames both ways, limits, and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hushwire.transport.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    FrameError,
    FrameReader,
    WsFrame,
    close_payload,
    encode_frame,
)


def test_exact_bytes_unmasked() -> None:
    # RFC 6455 section 5.7: a single-frame unmasked text message "Hello".
    assert encode_frame(OP_TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")
    # 16-bit and 64-bit lengths.
    assert encode_frame(OP_BINARY, b"x" * 256)[:4] == bytes.fromhex("827e0100")
    assert encode_frame(OP_BINARY, b"x" * 65536)[:10] == bytes.fromhex("827f0000000000010000")
    assert encode_frame(OP_CONT, b"", fin=False) == bytes.fromhex("0000")


def test_rfc_masked_example_decodes() -> None:
    # RFC 6455 section 5.7: a single-frame masked text message "Hello".
    r = FrameReader(masked=True, max_payload=100)
    assert list(r.feed(bytes.fromhex("818537fa213d7f9f4d5158"))) == [
        WsFrame(OP_TEXT, True, b"Hello")
    ]


@settings(max_examples=100)
@given(st.binary(max_size=70000), st.booleans(), st.integers(1, 50))
def test_round_trip_in_pieces(payload: bytes, mask: bool, pieces: int) -> None:
    data = encode_frame(OP_BINARY, payload, mask=mask) + encode_frame(OP_PING, b"p", mask=mask)
    r = FrameReader(masked=mask, max_payload=70000)
    got: list[WsFrame] = []
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        got += list(r.feed(data[i : i + step]))
    assert got == [WsFrame(OP_BINARY, True, payload), WsFrame(OP_PING, True, b"p")]


@pytest.mark.parametrize(
    ("data", "masked", "message"),
    [
        (bytes.fromhex("c100"), False, "reserved bits"),
        (bytes.fromhex("8300"), False, "unknown opcode"),
        (bytes.fromhex("8100"), True, "masking"),
        (bytes.fromhex("8180") + bytes(4), False, "masking"),
        (bytes.fromhex("097e0080") + bytes(128), False, "control frame"),
        (bytes.fromhex("0900"), False, "control frame"),
        (bytes.fromhex("827e0065") + bytes(101), False, "over the limit"),
    ],
)
def test_bad_frames(data: bytes, masked: bool, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        list(FrameReader(masked=masked, max_payload=100).feed(data))


def test_oversize_is_refused_from_the_header_alone() -> None:
    r = FrameReader(masked=False, max_payload=100)
    with pytest.raises(FrameError) as e:
        list(r.feed(bytes.fromhex("827f7fffffffffffffff")))
    assert e.value.code == 1009


def test_close_payload_and_leftover() -> None:
    assert close_payload(1000) == b"\x03\xe8"
    r = FrameReader(masked=False, max_payload=10)
    r.take_over(encode_frame(OP_CLOSE, close_payload(1002, "bye"))[:3])
    assert list(r.feed(b"")) == []
    rest = encode_frame(OP_CLOSE, close_payload(1002, "bye"))[3:]
    assert list(r.feed(rest)) == [WsFrame(OP_CLOSE, True, b"\x03\xeabye")]


@settings(max_examples=200)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_only_frame_errors(data: bytes, masked: bool) -> None:
    try:
        list(FrameReader(masked=masked, max_payload=200).feed(data))
    except FrameError:
        pass
