"""hushwire.smp.transmission: layouts, authorized bytes, decode pipelines and precedence."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smp_cases import VERSIONS
from smp_strategies import commands, responses, short

from conftest import load_vectors
from hushwire.crypto.keys import KeyAlg, PrivateKey
from hushwire.crypto.nacl import cb_authenticate, cb_nonce
from hushwire.errors import DecodeError
from hushwire.smp import commands as c
from hushwire.smp import transmission as t
from hushwire.smp.block import encode_batch
from hushwire.smp.errors import CMD, CommandError, ErrorType
from hushwire.smp.ids import CorrId, EntityId

V = load_vectors("smp_transmissions.json")
S = load_vectors("smp_syntax.json")
SESS = bytes.fromhex(V["session_id_hex"])


def _h(x: str | None) -> bytes | None:
    return None if x is None else bytes.fromhex(x)


@pytest.mark.parametrize("row", V["client"], ids=lambda r: r["name"])
def test_client_vectors(row: dict[str, Any]) -> None:
    v = row["version"]
    auth, corr, ent = (bytes.fromhex(row[k]) for k in ("auth_hex", "corr_id_hex", "entity_id_hex"))
    cmd, data = bytes.fromhex(row["command_hex"]), bytes.fromhex(row["hex"])
    svc = _h(row["service_sig_hex"])
    assert t.encode_client_transmission(v, SESS, corr, ent, cmd, auth, svc) == data
    assert t.authorized_bytes(SESS, corr, ent, cmd).hex() == row["authorized_hex"]
    raw = t.parse_transmission(data, v, SESS)
    assert (raw.auth, raw.service_sig, raw.corr_id, raw.entity_id, raw.command) == (
        auth,
        svc,
        corr,
        ent,
        cmd,
    )
    assert raw.authorized.hex() == row["authorized_hex"]
    assert raw.session_id == (SESS if v < 7 else b"")
    req = t.decode_client_transmission(data, v, SESS)
    if not auth:
        assert req == t.RequestError(CorrId(corr), EntityId(ent), CMD(CommandError.NO_AUTH))
        return
    assert isinstance(req, t.ClientRequest)
    assert req.command == c.SUB()
    assert req.auth == t.decode_auth(auth)
    assert req.service_sig == svc


def test_auth_kinds() -> None:
    assert t.decode_auth(b"") is None
    for n, kind, alg in [
        (64, t.AuthKind.ED25519, KeyAlg.ED25519),
        (114, t.AuthKind.ED448, KeyAlg.ED448),
        (80, t.AuthKind.AUTHENTICATOR, KeyAlg.X25519),
    ]:
        a = t.decode_auth(bytes(n))
        assert a is not None and a.kind is kind and kind.key_alg is alg
        assert "bytes" in repr(a)
    for n in (1, 32, 63, 65, 79, 81, 113, 115, 255):
        with pytest.raises(DecodeError):
            t.decode_auth(bytes(n))


@pytest.mark.parametrize("row", V["server"], ids=lambda r: r["name"])
def test_server_vectors(row: dict[str, Any]) -> None:
    v, data = row["version"], bytes.fromhex(row["hex"])
    corr, ent = bytes.fromhex(row["corr_id_hex"]), bytes.fromhex(row["entity_id_hex"])
    msg = {"OK": c.OK(), "ERR CMD SYNTAX": c.ERR(CMD(CommandError.SYNTAX)), "PONG": c.PONG()}[
        row["response"]
    ]
    assert t.encode_server_transmission(v, SESS, corr, ent, msg) == data
    got = t.decode_server_transmission(data, v, SESS)
    assert got == t.ServerTransmission(CorrId(corr), EntityId(ent), msg)


@pytest.mark.parametrize("row", V["invalid_client"], ids=lambda r: r["note"])
def test_invalid_client_transmissions(row: dict[str, Any]) -> None:
    got = t.decode_client_transmission(bytes.fromhex(row["hex"]), row["version"], SESS)
    err = {"BLOCK": ErrorType.BLOCK, "SESSION": ErrorType.SESSION}[row["error"]]
    assert got == t.RequestError(CorrId(bytes.fromhex(row["corr_id_hex"])), EntityId(b""), err)


@pytest.mark.parametrize("row", S["rows"], ids=lambda r: r["name"])
def test_server_syntax_table(row: dict[str, Any]) -> None:
    """tests/ServerTests.hs serverSyntaxTests: errors echo the corrId and the entityId."""
    v, data = row["version"], bytes.fromhex(row["hex"])
    corr, ent = bytes.fromhex(row["corr_id_hex"]), bytes.fromhex(row["entity_id_hex"])
    got = t.decode_client_transmission(data, v, SESS)
    if row["expect"] in ("AUTH", "PONG"):
        assert isinstance(got, t.ClientRequest)
        assert (got.corr_id, got.entity_id) == (corr, ent)
        assert isinstance(got.command, c.PING) == (row["expect"] == "PONG")
    else:
        err = CommandError[row["expect"].removeprefix("CMD ")]
        assert got == t.RequestError(CorrId(corr), EntityId(ent), CMD(err))
        reply = got.encode(v, SESS)
        assert reply == b"\x00" + bytes([len(corr)]) + corr + bytes([len(ent)]) + ent + (
            b"ERR " + row["expect"].encode()
        )


def test_cb_authenticator_over_authorized_bytes() -> None:
    """Known values: authorized bytes and the libsodium authenticator of PING."""
    cb = V["cb_authenticator"]
    sess, corr = bytes.fromhex(cb["session_id_hex"]), bytes.fromhex(cb["corr_id_hex"])
    cmd = bytes.fromhex(cb["command_hex"])
    authorized = t.authorized_bytes(sess, corr, b"", cmd)
    assert authorized.hex() == cb["authorized_hex"]
    server = PrivateKey(KeyAlg.X25519, bytes.fromhex(cb["server_session_priv_hex"]))
    queue = PrivateKey(KeyAlg.X25519, bytes.fromhex(cb["queue_priv_hex"]))
    auth = cb_authenticate(server.public(), queue, cb_nonce(corr), authorized)
    assert auth.hex() == cb["authenticator_hex"]
    data = t.encode_client_transmission(7, sess, corr, b"", cmd, auth)
    req = t.decode_client_transmission(data, 7, sess)
    # PING must not carry auth: the shape check answers CMD HAS_AUTH, after parsing it fine.
    assert req == t.RequestError(CorrId(corr), EntityId(b""), CMD(CommandError.HAS_AUTH))
    assert t.parse_transmission(data, 7, sess).authorized == authorized


def test_encode_client_transmission_rejects_bad_auth() -> None:
    with pytest.raises(ValueError, match="auth"):
        t.encode_client_transmission(7, SESS, b"c", b"", b"PING", bytes(10))
    with pytest.raises(ValueError, match="v16"):
        t.encode_client_transmission(15, SESS, b"c", b"", b"PING", bytes(64), bytes(64))
    with pytest.raises(ValueError, match="v16"):
        t.encode_client_transmission(16, SESS, b"c", b"", b"PING", b"", bytes(64))
    with pytest.raises(ValueError, match="64"):
        t.encode_client_transmission(16, SESS, b"c", b"", b"PING", bytes(64), bytes(63))


def test_server_side_client_decode_errors() -> None:
    # server sends a response tag a client does not know
    data = t.encode_server_transmission(7, SESS, b"c", b"e", c.OK())[:-2] + b"NOPE"
    got = t.decode_server_transmission(data, 7, SESS)
    assert got.result == CMD(CommandError.UNKNOWN)
    assert (got.corr_id, got.entity_id) == (b"c", b"e")
    # OK without entity
    data = t.encode_server_transmission(7, SESS, b"c", b"", c.OK())
    assert t.decode_server_transmission(data, 7, SESS).result == CMD(CommandError.NO_ENTITY)
    # v6 session mismatch
    data = t.encode_server_transmission(6, b"other", b"c", b"e", c.OK())
    got = t.decode_server_transmission(data, 6, SESS)
    assert got == t.ServerTransmission(CorrId(b"c"), EntityId(b""), ErrorType.SESSION)
    assert t.decode_server_transmission(b"", 7, SESS).result == ErrorType.BLOCK


def test_batches() -> None:
    ping = t.encode_client_transmission(7, SESS, b"1", b"", b"PING")
    sub = t.encode_client_transmission(7, SESS, b"2", b"q", b"SUB")
    got = t.decode_client_batch(encode_batch([ping, sub]), 7, SESS)
    assert isinstance(got[0], t.ClientRequest) and got[0].command == c.PING()
    assert got[1] == t.RequestError(CorrId(b"2"), EntityId(b"q"), CMD(CommandError.NO_AUTH))
    assert t.decode_client_batch(b"\x00", 7, SESS) == [
        t.RequestError(CorrId(b""), EntityId(b""), ErrorType.BLOCK)
    ]
    pong = t.encode_server_transmission(7, SESS, b"1", b"", c.PONG())
    assert t.decode_server_batch(encode_batch([pong]), 7, SESS)[0].result == c.PONG()
    assert t.decode_server_batch(b"\x01\x00", 7, SESS)[0].result == ErrorType.BLOCK


@given(commands(), st.sampled_from(VERSIONS), short, short, st.sampled_from([0, 64, 80, 114]))
@settings(max_examples=200)
def test_client_roundtrip(cmd: c.Command, v: int, corr: bytes, ent: bytes, n: int) -> None:
    cb = cmd.encode(v)
    data = t.encode_client_transmission(v, SESS, corr, ent, cb, bytes(n))
    raw = t.parse_transmission(data, v, SESS)
    assert (raw.corr_id, raw.entity_id, raw.command) == (corr, ent, cb)
    assert raw.authorized == t.authorized_bytes(SESS, corr, ent, cb)
    got = t.decode_client_transmission(data, v, SESS)
    bad = c.check_credentials(cmd, n > 0, ent)
    if bad is None:
        assert isinstance(got, t.ClientRequest)
        assert got.command.encode(v) == cb
    else:
        assert got == t.RequestError(CorrId(corr), EntityId(ent), CMD(bad))


@given(responses(), st.sampled_from(VERSIONS), short, short)
@settings(max_examples=200)
def test_server_roundtrip(msg: c.BrokerMsg, v: int, corr: bytes, ent: bytes) -> None:
    data = t.encode_server_transmission(v, SESS, corr, ent, msg)
    got = t.decode_server_transmission(data, v, SESS)
    assert (got.corr_id, got.entity_id) == (corr, ent)
    bad = c.check_response_credentials(msg, ent)
    if bad is None:
        assert isinstance(got.result, c.BrokerMsg)
        assert got.result.encode(v) == msg.encode(v)
    else:
        assert got.result == CMD(bad)
