"""hushwire.smp.commands: every command and response at every version boundary, both ways."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smp_cases import COMMANDS, RESPONSES, VERSIONS, decoded_command, decoded_response
from smp_strategies import commands, responses

from conftest import load_vectors
from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.errors import DecodeError
from hushwire.smp import commands as c
from hushwire.smp.address import SMPServer
from hushwire.smp.errors import CommandError, ErrorType
from hushwire.smp.ids import EntityId, MsgId
from hushwire.smp.queue_info import QueueInfo
from hushwire.smp.tagged import tag_table

V = load_vectors("smp_commands.json")
X = PublicKey.from_der(bytes.fromhex(V["keys"]["x25519_spki_hex"]))
ED = PublicKey.from_der(bytes.fromhex(V["keys"]["ed25519_spki_hex"]))
X448 = PublicKey(KeyAlg.X448, bytes(56))


def _id(row: dict[str, Any]) -> str:
    return f"{row['name']}@v{row['version']}"


def test_vectors_cover_every_command_and_version() -> None:
    assert {r["name"] for r in V["commands"]} == set(COMMANDS)
    assert {r["name"] for r in V["responses"]} == set(RESPONSES)
    assert {type(cmd).tag for cmd in COMMANDS.values()} == set(c.COMMAND_TAGS)
    assert {type(m).tag for m in RESPONSES.values()} == set(c.RESPONSE_TAGS)
    for rows in (V["commands"], V["responses"]):
        assert {r["version"] for r in rows} == set(VERSIONS)


@pytest.mark.parametrize("row", V["commands"], ids=_id)
def test_command_vectors(row: dict[str, Any]) -> None:
    v, data = row["version"], bytes.fromhex(row["hex"])
    cmd = COMMANDS[row["name"]]
    assert cmd.encode(v) == data
    got = c.decode_command(v, data)
    assert got == decoded_command(row["name"], v)
    assert c.decode_command(v, data, party=cmd.party) == got
    assert got.encode(v) == data or isinstance(cmd, c.NEW)


@pytest.mark.parametrize("row", V["responses"], ids=_id)
def test_response_vectors(row: dict[str, Any]) -> None:
    v, data = row["version"], bytes.fromhex(row["hex"])
    assert RESPONSES[row["name"]].encode(v) == data
    got = c.decode_response(v, data)
    assert got == decoded_response(row["name"], v)
    assert got.encode(v) == data


def test_new_v9_is_97_bytes() -> None:
    """simplex-js NEW in v9 form is 97 bytes and ends in '0ST'."""
    data = c.NEW(X, X, None, c.SubscriptionMode.SUBSCRIBE, c.QRMessaging()).encode(9)
    assert len(data) == 97
    assert data.startswith(b"NEW \x2c") and data.endswith(b"0ST")


@pytest.mark.parametrize("row", V["invalid_commands"], ids=lambda r: r["note"])
@pytest.mark.parametrize("v", [6, 9, 15, 17, 18])
def test_invalid_commands(row: dict[str, Any], v: int) -> None:
    with pytest.raises(c.CommandDecodeError) as e:
        c.decode_command(v, bytes.fromhex(row["hex"]))
    assert e.value.error is CommandError[row["error"]]
    assert isinstance(e.value, DecodeError)


def test_party_typed_decoding() -> None:
    send = c.SEND(c.MsgFlags(), b"x").encode(9)
    assert c.decode_command(9, send, party=c.Party.SENDER) == c.SEND(c.MsgFlags(), b"x")
    for party in c.Party:
        if party is not c.Party.SENDER:
            with pytest.raises(c.CommandDecodeError) as e:
                c.decode_command(9, send, party=party)
            assert e.value.error is CommandError.UNKNOWN
    assert c.decode_command(9, b"SUB", party=c.Party.RECIPIENT) == c.SUB()
    with pytest.raises(c.CommandDecodeError):
        c.decode_command(9, b"SUB", party=c.Party.NOTIFIER)


def test_parties() -> None:
    expect = {
        c.Party.CREATOR: {"NEW"},
        c.Party.RECIPIENT: {
            "SUB", "KEY", "RKEY", "LSET", "LDEL", "NKEY", "NDEL", "GET", "ACK", "OFF", "DEL", "QUE"
        },
        c.Party.RECIPIENT_SERVICE: {"SUBS"},
        c.Party.SENDER: {"SKEY", "SEND"},
        c.Party.IDLE_CLIENT: {"PING"},
        c.Party.NOTIFIER: {"NSUB"},
        c.Party.NOTIFIER_SERVICE: {"NSUBS"},
        c.Party.LINK_CLIENT: {"LKEY", "LGET"},
        c.Party.PROXIED_CLIENT: {"PRXY", "PFWD"},
        c.Party.PROXY_SERVICE: {"RFWD"},
    }  # fmt: skip
    got: dict[c.Party, set[str]] = {}
    for cmd in COMMANDS.values():
        got.setdefault(cmd.party, set()).add(type(cmd).tag.decode())
    assert got == expect
    queue = {c.Party.RECIPIENT, c.Party.SENDER, c.Party.NOTIFIER, c.Party.LINK_CLIENT}
    for cmd in COMMANDS.values():
        assert c.queue_party(cmd) == (cmd.party if cmd.party in queue else None)


CRED = [
    # command, has_auth, entity -> error (Protocol.hs checkCredentials)
    ("NEW basic", True, b"", None),
    ("NEW basic", False, b"", "NO_AUTH"),
    ("NEW basic", True, b"q", "HAS_AUTH"),
    ("NEW basic", False, b"q", "NO_AUTH"),
    ("SEND notify", True, b"q", None),
    ("SEND notify", False, b"q", None),
    ("SEND notify", True, b"", "NO_ENTITY"),
    ("SEND notify", False, b"", "NO_ENTITY"),
    ("PING", False, b"", None),
    ("PING", True, b"", "HAS_AUTH"),
    ("PING", False, b"q", "HAS_AUTH"),
    ("PRXY", False, b"", None),
    ("PRXY", True, b"", "HAS_AUTH"),
    ("RFWD", False, b"", None),
    ("RFWD", False, b"q", "HAS_AUTH"),
    ("LGET", False, b"q", None),
    ("LGET", True, b"q", "HAS_AUTH"),
    ("LGET", False, b"", "NO_ENTITY"),
    ("LGET", True, b"", "NO_ENTITY"),
    ("PFWD", False, b"q", None),
    ("PFWD", True, b"q", "HAS_AUTH"),
    ("PFWD", False, b"", "NO_ENTITY"),
]
for _name in (
    "SUB", "SUBS", "NSUB", "NSUBS", "KEY", "SKEY", "ACK", "GET", "OFF", "DEL", "QUE", "NKEY",
    "NDEL", "LSET", "LDEL", "LKEY", "RKEY",
):  # fmt: skip
    CRED += [
        (_name, True, b"q", None),
        (_name, False, b"q", "NO_AUTH"),
        (_name, True, b"", "NO_AUTH"),
        (_name, False, b"", "NO_AUTH"),
    ]


@pytest.mark.parametrize(("name", "auth", "entity", "err"), CRED)
def test_check_credentials(name: str, auth: bool, entity: bytes, err: str | None) -> None:
    got = c.check_credentials(COMMANDS[name], auth, entity)
    assert got is (None if err is None else CommandError[err])


@pytest.mark.parametrize(
    ("name", "entity", "err"),
    [
        ("IDS messaging", b"", None),
        ("IDS messaging", b"q", None),
        ("ERR AUTH", b"", None),
        ("PONG", b"", None),
        ("PONG", b"q", "HAS_AUTH"),
        ("PKEY", b"q", "HAS_AUTH"),
        ("RRES", b"", None),
        ("OK", b"q", None),
        ("OK", b"", "NO_ENTITY"),
        ("MSG", b"", "NO_ENTITY"),
        ("END", b"q", None),
    ],
)
def test_check_response_credentials(name: str, entity: bytes, err: str | None) -> None:
    got = c.check_response_credentials(RESPONSES[name], entity)
    assert got is (None if err is None else CommandError[err])


def test_uses_service_auth() -> None:
    for name, cmd in COMMANDS.items():
        assert c.uses_service_auth(cmd) == (name.startswith("NEW") or name in ("SUB", "NSUB"))


@pytest.mark.parametrize(
    "data",
    [b"HELLO", b"ok", b"IDS", b"OK ", b"PONG x", b"MSG", b"MSG \x05ab", b"NMSG " + bytes(23),
     b"ERR", b"ERR NOPE", b"ERR AUTH ", b"SOK", b"SOK 2", b"SOKS \x00", b"INFO {", b"INFO []",
     b"PKEY \x00\x00\x07\x00\x06", b"IDS \x00\x00\x00", b"LNK \x00\x00\x01", b"NID \x00"],
)  # fmt: skip
@pytest.mark.parametrize("v", [6, 9, 15, 16, 17, 18])
def test_invalid_responses(data: bytes, v: int) -> None:
    with pytest.raises(c.CommandDecodeError) as e:
        c.decode_response(v, data)
    tag = data.split(b" ")[0]
    assert e.value.error is (
        CommandError.SYNTAX if tag in c.RESPONSE_TAGS else CommandError.UNKNOWN
    )


def test_ids_queue_mode_bool() -> None:
    base = b"IDS " + bytes([24]) + bytes(24) + bytes([24]) + bytes(24) + bytes([44]) + X.to_der()
    assert c.decode_response(9, base + b"T") == c.IDS(
        EntityId(bytes(24)), EntityId(bytes(24)), X, c.QueueMode.MESSAGING
    )
    with pytest.raises(c.CommandDecodeError):
        c.decode_response(9, base + b"M")
    with pytest.raises(c.CommandDecodeError):
        c.decode_response(15, base + b"1X0")


def test_new_bad_fields() -> None:
    base = b"NEW " + bytes([44]) + ED.to_der() + bytes([44]) + X.to_der()
    for v, tail in [
        (9, b"0XT"),  # bad subscription mode
        (9, b"0ST" + b"x"),
        (15, b"0S1X0"),  # bad QueueReqData tag
        (15, b"0S2"),
        (6, b"A" + bytes([1]) + b" " + b"S"),  # space is not allowed in basic auth
        (6, b"Ax"),
        (17, b"0S1M0" + b"1" + bytes([44]) + ED.to_der() + bytes([44]) + ED.to_der()),
    ]:
        with pytest.raises(c.CommandDecodeError) as e:
            c.decode_command(v, base + tail)
        assert e.value.error is CommandError.SYNTAX
    # the DH key of NEW must be X25519
    with pytest.raises(c.CommandDecodeError):
        c.decode_command(
            9, b"NEW " + bytes([44]) + ED.to_der() + bytes([44]) + ED.to_der() + b"0ST"
        )


def test_send_flags_skip_to_space() -> None:
    """MsgFlags parser skips anything up to the space (Protocol.hs:888-892)."""
    got = c.decode_command(9, b"SEND Fxyz1234567 body with spaces")
    assert got == c.SEND(c.MsgFlags(False), b"body with spaces")


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="authorization"):
        c.KEY(X448)
    with pytest.raises(ValueError, match="X25519"):
        c.NEW(ED, ED)
    with pytest.raises(ValueError, match="BasicAuth"):
        c.NEW(ED, X, b"a b")
    with pytest.raises(ValueError, match="RKEY"):
        c.RKEY(())
    with pytest.raises(ValueError, match="24 bytes"):
        c.NMSG(b"short", b"")
    with pytest.raises(ValueError, match="invalid host"):
        c.PRXY(SMPServer(("a b",), bytes(32)))
    with pytest.raises(ValueError, match="BasicAuth"):
        c.PRXY(SMPServer(("h",), bytes(32), None, "a@b"))
    with pytest.raises(ValueError, match="X25519"):
        c.IDS(EntityId(b""), EntityId(b""), ED)


def test_basic_auth_characters() -> None:
    assert c.basic_auth_ok(b"abcXYZ019!~")
    assert c.basic_auth_ok(bytes([0xA1, 0xFF]))
    for bad in (b" ", b"@", b":", b"/", b"\x7f", bytes([0xAD]), bytes([0xA0]), b"\x00"):
        assert not c.basic_auth_ok(bad)


def test_prxy_ipv6_brackets_and_port() -> None:
    kh = bytes(32)
    data = b"PRXY \x01" + bytes([5]) + b"[::1]" + bytes([0]) + bytes([32]) + kh + b"0"
    assert c.decode_command(8, data) == c.PRXY(SMPServer(("::1",), kh))
    for port in (b"0", b"65536", b"123456"):
        bad = b"PRXY \x01\x01h" + bytes([len(port)]) + port + bytes([32]) + kh + b"0"
        with pytest.raises(c.CommandDecodeError):
            c.decode_command(8, bad)
    with pytest.raises(c.CommandDecodeError):
        c.decode_command(8, b"PRXY \x01\x01h\x00\x03abc0")


def test_sok_below_v16_is_ok() -> None:
    assert c.SOK(EntityId(b"svc")).encode(15) == b"OK"
    assert c.decode_response(15, b"SOK 0") == c.SOK(None)  # SOK parses at any version


def test_queue_info_json() -> None:
    info = RESPONSES["INFO"]
    assert isinstance(info, c.INFO)
    assert QueueInfo.from_json(info.info.to_json()) == info.info
    minimal = QueueInfo(False, True, None, 0)
    assert minimal.to_json() == b'{"qiSnd":false,"qiNtf":true,"qiSize":0}'
    assert QueueInfo.from_json(minimal.to_json()) == minimal


@given(commands(), st.sampled_from(VERSIONS))
@settings(max_examples=200)
def test_command_roundtrip(cmd: c.Command, v: int) -> None:
    data = cmd.encode(v)
    got = c.decode_command(v, data, party=cmd.party)
    assert got.encode(v) == data
    if not isinstance(cmd, c.NEW):
        assert got == cmd


@given(responses(), st.sampled_from(VERSIONS))
@settings(max_examples=200)
def test_response_roundtrip(msg: c.BrokerMsg, v: int) -> None:
    data = msg.encode(v)
    got = c.decode_response(v, data)
    assert got.encode(v) == data
    if not isinstance(msg, c.IDS | c.SOK | c.DELD | c.ERR):
        assert got == msg


@given(commands())
@settings(max_examples=100)
def test_command_roundtrip_exact_at_v17(cmd: c.Command) -> None:
    assert c.decode_command(17, cmd.encode(17)) == cmd


@given(responses())
@settings(max_examples=100)
def test_response_roundtrip_exact_at_v18(msg: c.BrokerMsg) -> None:
    got = c.decode_response(18, msg.encode(18))
    if isinstance(msg, c.ERR):
        assert got == c.ERR(msg.error.for_version(18))
    else:
        assert got == msg


def test_msg_id_type() -> None:
    ack = c.decode_command(6, b"ACK \x01z")
    assert ack == c.ACK(MsgId(b"z"))


def test_err_for_version() -> None:
    assert c.ERR(ErrorType.QUOTA).encode(6) == b"ERR QUOTA"


def test_tables_are_built_from_the_classes() -> None:
    assert all(c.COMMANDS[cls.tag] is cls for cls in c.COMMANDS.values())
    assert c.COMMAND_TAGS == frozenset(c.COMMANDS)
    with pytest.raises(ValueError, match="used twice"):
        tag_table([c.SUB, c.SUB])
