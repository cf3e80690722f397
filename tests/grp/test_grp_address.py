"""GRP/1 addresses: the text form, its errors, and the relay's start-up line."""

from __future__ import annotations

import pytest

from hushwire.encoding.strings import b64url_encode
from hushwire.errors import DecodeError
from hushwire.grp.address import DEFAULT_GRP_PORT, GrpAddress, is_grp_url
from hushwire.smp.address import SMPServer
from hushwire.testing.relayproc import parse_relay_startup

KH = bytes(range(32))
NK = bytes(range(32, 64))
TEXT = f"grp://{b64url_encode(KH)}@relay.example:7444?nk={b64url_encode(NK, padded=False)}"


def test_round_trip_and_urls() -> None:
    a = GrpAddress.parse(TEXT)
    assert a.key_hash == KH and a.static_key == NK and a.port == 7444 and not a.secure
    assert a.encode() == TEXT
    assert a.ws_url == "ws://relay.example:7444/grp/1"
    tls = GrpAddress.parse(TEXT.replace("grp://", "grps://").replace(":7444", ""))
    assert tls.secure and tls.port == DEFAULT_GRP_PORT
    assert tls.ws_url == f"wss://relay.example:{DEFAULT_GRP_PORT}/grp/1"
    v6 = GrpAddress(SMPServer(("::1",), KH, 1), NK)
    assert v6.ws_url == "ws://[::1]:1/grp/1" and GrpAddress.parse(v6.encode()) == v6
    assert a.smp_server(5223) == SMPServer(("relay.example",), KH, 5223)
    assert is_grp_url(TEXT) and not is_grp_url("ws://x")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("smp://x@y", "starts with grp://"),
        (TEXT.split("?")[0], "ends with \\?nk="),
        (TEXT + "&x=1", "ends with \\?nk="),
        (TEXT.split("?")[0] + "?nk=!!", "not base64url"),
        (TEXT.split("?")[0] + "?nk=AAAA", "32 bytes"),
        (TEXT.replace("@", ":pw@"), "no password"),
        (TEXT.replace(b64url_encode(KH), "AAAA"), "key hash"),
    ],
)
def test_malformed_addresses(text: str, error: str) -> None:
    with pytest.raises(DecodeError, match=error):
        GrpAddress.parse(text)


def test_the_relay_start_up_line_is_parsed() -> None:
    addr = f"smp://{b64url_encode(KH)}@127.0.0.1:5223"
    lines = [addr, "GRP: " + TEXT, f"key hash: {b64url_encode(KH)}"]
    assert parse_relay_startup(lines).grp_address == TEXT
