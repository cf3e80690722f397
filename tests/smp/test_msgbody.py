"""hushwire.smp.msgbody: the server-to-recipient plaintext and the quota entry."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.errors import DecodeError
from hushwire.smp import msgbody as m
from hushwire.smp.commands import MsgFlags

V = load_vectors("smp_msgbody.json")


def _value(row: dict[str, Any]) -> m.RcvMessage:
    if row["kind"] == "quota":
        return m.RcvMsgQuota(row["ts"])
    return m.RcvMsgBody(row["ts"], MsgFlags(row["notification"]), bytes.fromhex(row["body_hex"]))


@pytest.mark.parametrize("row", V["messages"])
def test_messages(row: dict[str, Any]) -> None:
    data = bytes.fromhex(row["hex"])
    assert _value(row).encode() == data
    assert m.decode_rcv_msg_body(data) == _value(row)
    assert m.unpad_rcv_msg_body(m.pad_rcv_msg_body(_value(row))) == _value(row)


@pytest.mark.parametrize("row", V["noncanonical"])
def test_noncanonical(row: dict[str, Any]) -> None:
    assert m.decode_rcv_msg_body(bytes.fromhex(row["hex"])) == _value(row)


@pytest.mark.parametrize("data", V["invalid_hex"])
def test_invalid(data: str) -> None:
    with pytest.raises(DecodeError):
        m.decode_rcv_msg_body(bytes.fromhex(data))


def test_padded() -> None:
    p = V["padded"]
    padded = m.pad_rcv_msg_body(_value(V["messages"][0]))
    assert len(padded) == p["length"] == 16106
    assert padded[:24].hex() == p["hex_prefix"]
    assert hashlib.sha256(padded).hexdigest() == p["sha256"]


def test_limits() -> None:
    big = m.RcvMsgBody(0, MsgFlags(), bytes(m.MAX_RCV_BODY))
    assert len(m.pad_rcv_msg_body(big)) == 16106
    with pytest.raises(ValueError, match="longer"):
        m.RcvMsgBody(0, MsgFlags(), bytes(m.MAX_RCV_BODY + 1)).encode()


@given(
    st.integers(-(1 << 63), (1 << 63) - 1),
    st.booleans(),
    st.binary(max_size=2000),
)
@settings(max_examples=200)
def test_roundtrip(ts: int, notify: bool, body: bytes) -> None:
    msg = m.RcvMsgBody(ts, MsgFlags(notify), body)
    assert m.decode_rcv_msg_body(msg.encode()) == msg
    q = m.RcvMsgQuota(ts)
    assert m.decode_rcv_msg_body(q.encode()) == q
