"""The plaintext a server encrypts for the recipient inside ``MSG``.

Mirrors simplexmq ``Protocol.hs`` ``encodeRcvMsgBody`` / ``RcvMsgBody`` (server side) and
``clientRcvMsgBodyP`` / ``ClientRcvMsgBody`` (client side), with ``Crypto.hs``
``padMaxLenBS``; see docs/protocol/smp.md (message bodies). Unpadded forms::

    message: Int64 timestamp ‖ flags ('T'/'F') ‖ ' ' ‖ SEND body verbatim     (10 + |body|)
    quota:   "QUOTA" ‖ ' ' ‖ Int64 timestamp                                   (14 bytes)

Before encryption the server pads them to 16106 bytes (``Word16 len ‖ ... ‖ '#'...``); the
encrypted body is then 16 + 16106 = 16122 bytes. Timestamps are whole seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hushwire.crypto.padding import pad, unpad
from hushwire.encoding.binary import int64
from hushwire.limits import ENCRYPTED_MSG_BODY_PAD, MAX_MESSAGE_LENGTH_V6
from hushwire.smp._reader import SmpReader, parse_all
from hushwire.smp.fields import MsgFlags

QUOTA_TAG: Final = b"QUOTA"
MAX_RCV_BODY: Final = MAX_MESSAGE_LENGTH_V6
"""``MaxMessageLen`` = 16088: the largest body the recipient form carries."""


@dataclass(frozen=True, slots=True)
class RcvMsgBody:
    """A stored message as the recipient gets it: server time, sender's flags, body."""

    ts: int
    flags: MsgFlags
    body: bytes

    def encode(self) -> bytes:
        if len(self.body) > MAX_RCV_BODY:
            raise ValueError(f"message body longer than {MAX_RCV_BODY} bytes")
        return int64(self.ts) + self.flags.encode() + b" " + self.body


@dataclass(frozen=True, slots=True)
class RcvMsgQuota:
    """The quota marker delivered in place of a message the queue had no room for."""

    ts: int

    def encode(self) -> bytes:
        return QUOTA_TAG + b" " + int64(self.ts)


RcvMessage = RcvMsgBody | RcvMsgQuota


def _quota(r: SmpReader) -> RcvMsgQuota:
    r.expect(QUOTA_TAG)
    r.sp()
    return RcvMsgQuota(r.int64())


def _message(r: SmpReader) -> RcvMsgBody:
    ts = r.int64()
    flags = MsgFlags.parse(r)
    r.sp()
    return RcvMsgBody(ts, flags, r.tail())


def _rcv(r: SmpReader) -> RcvMessage:
    # `msgQuotaP <|> msgBodyP`: once the quota form parsed, the whole input must end there.
    quota = r.optional(_quota)
    return _message(r) if quota is None else quota


def decode_rcv_msg_body(data: bytes) -> RcvMessage:
    """Decode the unpadded plaintext (``clientRcvMsgBodyP``, strict)."""
    return parse_all(data, _rcv)


def pad_rcv_msg_body(msg: RcvMessage) -> bytes:
    """The 16106-byte padded plaintext the server encrypts."""
    return pad(msg.encode(), ENCRYPTED_MSG_BODY_PAD)


def unpad_rcv_msg_body(padded: bytes) -> RcvMessage:
    """Decode the padded plaintext (as opened, before ``unpad``; the size is not checked)."""
    return decode_rcv_msg_body(unpad(padded))
