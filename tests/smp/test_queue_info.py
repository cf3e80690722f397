"""hushwire.smp.queue_info: the INFO JSON as aeson writes and reads it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from smp_strategies import qinfo

from hushwire.errors import DecodeError
from hushwire.smp import commands as c
from hushwire.smp.queue_info import QueueInfo, format_utc, parse_utc


def test_times() -> None:
    assert format_utc(1641032645) == "2022-01-01T10:24:05Z"
    assert format_utc(0) == "1970-01-01T00:00:00Z"
    assert parse_utc("2022-01-01T10:24:05Z") == 1641032645
    assert parse_utc("2022-01-01T10:24:05") == 1641032645
    assert parse_utc("2022-01-01T10:24:05.999Z") == 1641032645
    assert parse_utc("2022-01-01T12:24:05+02:00") == 1641032645
    with pytest.raises(DecodeError):
        parse_utc("yesterday")
    with pytest.raises(ValueError, match="out of range"):
        format_utc(1 << 62)


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"[]",
        b"\xff",
        b"{}",
        b'{"qiSnd":1,"qiNtf":false,"qiSize":0}',
        b'{"qiSnd":true,"qiNtf":false,"qiSize":"0"}',
        b'{"qiSnd":true,"qiNtf":false,"qiSize":1e400}',
        b'{"qiSnd":true,"qiNtf":false,"qiSize":NaN}',
        b'{"qiSnd":true,"qiNtf":false,"qiSize":0,"qiSub":[]}',
        b'{"qiSnd":true,"qiNtf":false,"qiSize":0,"qiSub":{"qSubThread":"other"}}',
        b'{"qiSnd":true,"qiNtf":false,"qiSize":0,"qiSub":{"qSubThread":1}}',
        b'{"qiSnd":true,"qiNtf":false,"qiSize":0,"qiSub":{"qSubThread":"noSub","qDelivered":1}}',
        b'{"qiSnd":true,"qiNtf":false,"qiSize":0,"qiMsg":{"msgId":"a","msgTs":"x",'
        b'"msgType":"message"}}',
        b'{"qiSnd":true,"qiNtf":false,"qiSize":99999999999999999999}',
    ],
)
def test_invalid(text: bytes) -> None:
    with pytest.raises(DecodeError):
        QueueInfo.from_json(text)


def test_info_response_json_error_is_syntax() -> None:
    with pytest.raises(c.CommandDecodeError):
        c.decode_response(18, b"INFO {}")


def test_queue_modes() -> None:
    assert c.QRMessaging().mode is c.QueueMode.MESSAGING
    assert c.QRContact().mode is c.QueueMode.CONTACT


@given(qinfo())
@settings(max_examples=200)
def test_roundtrip(info: QueueInfo) -> None:
    assert QueueInfo.from_json(info.to_json()) == info
