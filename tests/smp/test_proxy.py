"""SMP private routing core (hushwire.smp.proxy): vectors, round trips, tampering, rules."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey
from hushwire.crypto.nacl import cb_encrypt, cb_verify, dh_box_key
from hushwire.encoding.binary import large, short_string
from hushwire.errors import CryptoError, DecodeError
from hushwire.smp import proxy as px
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import (
    ACK,
    ERR,
    LGET,
    LKEY,
    LNK,
    NEW,
    OK,
    PFWD,
    PING,
    PKEY,
    PRES,
    PRXY,
    RFWD,
    RRES,
    SEND,
    SKEY,
    MsgFlags,
    QueueLinkData,
    decode_command,
    decode_response,
)
from hushwire.smp.errors import (
    BLOCKED,
    BROKER,
    CMD,
    NETWORK,
    PROTOCOL,
    PROXY,
    RESPONSE,
    UNEXPECTED,
    BlockingInfo,
    BlockingReason,
    BrokerErrorType,
    CommandError,
    ErrorType,
)
from hushwire.smp.hello import CertChainPubKey
from hushwire.smp.ids import EntityId, MsgId
from hushwire.smp.transmission import ClientRequest, RequestError, ServerTransmission
from hushwire.smp.version import VersionRange

V = load_vectors("smp_proxy.json")
K = V["keys"]


def _x(hex_: str) -> PrivateKey:
    return PrivateKey(KeyAlg.X25519, bytes.fromhex(hex_))


D_PRIV = _x(K["d_priv_hex"])
P_PRIV = _x(K["p_priv_hex"])
CMD_PRIV = _x(K["cmd_priv_hex"])
SND_ED = PrivateKey(KeyAlg.ED25519, bytes.fromhex(K["sender_ed25519_seed_hex"]))
SND_X = _x(K["sender_x25519_priv_hex"])
SESSION_ID = bytes.fromhex(K["session_id_hex"])
N = bytes.fromhex(K["n_hex"])
N2 = bytes.fromhex(K["n2_hex"])
P_SESSION_KEY = dh_box_key(D_PRIV.public(), P_PRIV)  # the proxy's side of the P-D secret
D_SESSION_KEY = dh_box_key(P_PRIV.public(), D_PRIV)  # the destination's side
SND_ID = EntityId(bytes(range(0x10, 0x28)))
AUTH_KEYS = {"ed25519": SND_ED, "x25519": SND_X, "none": None}
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def relay(version: int = 17) -> px.ProxiedRelay:
    return px.ProxiedRelay(SESSION_ID, version, D_PRIV.public())


def blob_eq(actual: bytes, expected: Any) -> bool:
    if isinstance(expected, str):
        return actual.hex() == expected
    return (
        len(actual) == expected["len"]
        and hashlib.sha256(actual).hexdigest() == expected["sha256"]
        and actual[:48].hex() == expected["head_hex"]
    )


def open_at_d(rfwd: RFWD, corr_id: bytes = N2) -> px.ForwardedRequest:
    fwd = px.open_rfwd(
        rfwd, corr_id, server_key=D_PRIV, session_key=D_SESSION_KEY, session_id=SESSION_ID
    )
    assert isinstance(fwd, px.ForwardedRequest), fwd
    return fwd


# --------------------------------------------------------------------------- vectors


@pytest.mark.parametrize("c", V["cases"], ids=lambda c: c["name"])
def test_vector_all_layers(c: dict[str, Any]) -> None:
    v = c["version"]
    entity = bytes.fromhex(c["entity_hex"])
    cmd = decode_command(v, bytes.fromhex(c["command_hex"]))
    auth_key = AUTH_KEYS[c["auth"]]
    r = relay(v)
    inner = px.encode_forwarded_transmission(r, N, entity, cmd, auth_key)
    assert inner.hex() == c["inner_transmission_hex"]

    # client: PFWD
    sealed = px.seal_forwarded(r, entity, cmd, cmd_key=CMD_PRIV, nonce=N, auth_key=auth_key)
    assert sealed.corr_id == N and sealed.entity_id == SESSION_ID and sealed.version == v
    assert len(sealed.pfwd.enc_transmission) == px.ENC_TRANSMISSION_SIZE
    assert blob_eq(sealed.pfwd.enc_transmission, c["enc_transmission"])
    assert blob_eq(sealed.pfwd.encode(18), c["pfwd_command"])
    assert decode_command(18, sealed.pfwd.encode(18)) == sealed.pfwd

    # proxy: RFWD
    rfwd = px.wrap_rfwd(P_SESSION_KEY, N2, N, sealed.pfwd)
    assert blob_eq(rfwd.encode(17), c["rfwd_command"])
    fwd_t = px.FwdTransmission(N, v, CMD_PRIV.public(), sealed.pfwd.enc_transmission)
    assert blob_eq(fwd_t.encode(), c["fwd_transmission"])
    assert px.FwdTransmission.decode(fwd_t.encode()) == fwd_t

    # destination: open, verify the authorization as a direct command would, reply
    fwd = open_at_d(rfwd)
    assert fwd.version == v and fwd.fwd_corr_id == N and fwd.proxy_nonce == N2
    assert fwd.transmission.hex() == c["inner_transmission_hex"]
    req = fwd.request
    assert isinstance(req, ClientRequest)
    assert req.corr_id == N and req.entity_id == entity and req.command == cmd
    command_bytes = bytes.fromhex(c["command_hex"])
    assert req.authorized == b"".join(short_string(x) for x in (SESSION_ID, N, entity)) + (
        command_bytes
    )
    if c["auth"] == "ed25519":
        assert req.auth is not None and SND_ED.public().verify(req.auth.data, req.authorized)
    elif c["auth"] == "x25519":
        assert req.auth is not None
        assert cb_verify(SND_X.public(), D_PRIV, N, req.authorized, req.auth.data)
    else:
        assert req.auth is None
    response = decode_response(v, bytes.fromhex(c["response_hex"]))
    rres = px.seal_rres(fwd, req.corr_id, req.entity_id, response)
    assert isinstance(rres, RRES)
    assert blob_eq(rres.encode(17), c["rres_response"])

    # proxy: PRES; client: open
    pres = px.proxy_reply(P_SESSION_KEY, N2, rres)
    assert isinstance(pres, PRES)
    assert pres == px.unwrap_rres(P_SESSION_KEY, N2, rres)
    assert blob_eq(pres.encode(18), c["pres_response"])
    assert blob_eq(pres.enc_response, c["enc_response"])
    got = px.open_forwarded_response(sealed, pres, SESSION_ID)
    assert got == ServerTransmission(N, EntityId(entity), response)
    assert (
        px.encode_forwarded_response(v, N, entity, response).hex() == c["response_transmission_hex"]
    )


def test_vector_fwd_response_layout() -> None:
    c = V["cases"][0]
    enc = px.FwdResponse(N, b"\x01\x02").encode()
    assert enc == b"\x18" + N + b"\x01\x02"
    assert px.FwdResponse.decode(enc) == px.FwdResponse(N, b"\x01\x02")
    assert c["fwd_response"]["len"] == 1 + 24 + px.ENC_TRANSMISSION_SIZE


@pytest.mark.parametrize("p", V["prxy"], ids=lambda p: p["hosts"][0])
def test_vector_prxy(p: dict[str, Any]) -> None:
    srv = SMPServer(tuple(p["hosts"]), bytes.fromhex(p["key_hash_hex"]), p["port"], p["basic_auth"])
    cmd = PRXY(srv)
    assert cmd.encode(17).hex() == p["command_hex"]
    assert decode_command(17, bytes.fromhex(p["command_hex"])) == cmd


def test_vector_pkey() -> None:
    """The proxy's PKEY encodes as the vector (the widget's codec reads the same bytes), and
    its unsigned session key is refused as a destination identity."""
    p = V["pkey"]
    cert_key = CertChainPubKey(
        tuple(bytes.fromhex(c) for c in p["cert_chain_hex"]), bytes.fromhex(p["signed_key_hex"])
    )
    pkey = PKEY(bytes.fromhex(p["session_id_hex"]), VersionRange(p["min"], p["max"]), cert_key)
    assert pkey.encode(17).hex() == p["response_hex"]
    assert decode_response(17, bytes.fromhex(p["response_hex"])) == pkey
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert px.accept_pkey(pkey, bytes.fromhex(p["key_hash_hex"]), now=now) == (
        px.ERR_HANDSHAKE_IDENTITY
    )


def test_sizes_match_the_reference_budget() -> None:
    """16242-byte EncTransmission; PFWD/RFWD transmissions fit the 16365-byte batch item."""
    sealed = px.seal_forwarded(relay(), SND_ID, SEND(MsgFlags(), b"x"), cmd_key=CMD_PRIV, nonce=N)
    pfwd_t = b"\x00" + short_string(N) + short_string(SESSION_ID) + sealed.pfwd.encode(17)
    assert len(pfwd_t) == 16353
    rfwd = px.wrap_rfwd(P_SESSION_KEY, N2, N, sealed.pfwd)
    rfwd_t = b"\x00" + short_string(N2) + short_string(b"") + rfwd.encode(17)
    assert len(large(rfwd_t)) == 16364
    rres = px.seal_rres(open_at_d(rfwd), N, SND_ID, OK())
    assert isinstance(rres, RRES)
    assert len(b"\x00" + short_string(N2) + b"\x00" + rres.encode(17)) == 16315


# --------------------------------------------------------------------------- round trips

_versions = st.integers(min_value=8, max_value=18)
_nonces = st.binary(min_size=24, max_size=24)
_entities = st.binary(min_size=0, max_size=32)


@settings(max_examples=40, deadline=None)
@given(
    st.binary(max_size=255),
    st.integers(0, 0xFFFF),
    st.binary(max_size=300),
)
def test_fwd_transmission_round_trip(corr: bytes, v: int, enc: bytes) -> None:
    t = px.FwdTransmission(corr, v, CMD_PRIV.public(), enc)
    assert px.FwdTransmission.decode(t.encode()) == t


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=255), st.binary(max_size=300))
def test_fwd_response_round_trip(corr: bytes, enc: bytes) -> None:
    r = px.FwdResponse(corr, enc)
    assert px.FwdResponse.decode(r.encode()) == r


@settings(max_examples=25, deadline=None)
@given(
    _versions,
    _nonces,
    _nonces,
    st.binary(min_size=1, max_size=24),
    st.binary(max_size=2000),
    st.sampled_from(["ed25519", "x25519", "ed448", "none"]),
    st.booleans(),
)
def test_end_to_end(
    v: int, n: bytes, n2: bytes, sid: bytes, body: bytes, auth: str, quota: bool
) -> None:
    """Client seals, proxy wraps, destination opens and replies, proxy unwraps, client opens."""
    auth_key = PrivateKey.generate(KeyAlg.ED448) if auth == "ed448" else AUTH_KEYS[auth]
    cmd = SEND(MsgFlags(True), body)
    r = relay(v)
    sealed = px.seal_forwarded(r, sid, cmd, cmd_key=CMD_PRIV, nonce=n, auth_key=auth_key)
    rfwd = px.wrap_rfwd(P_SESSION_KEY, n2, n, sealed.pfwd)
    fwd = open_at_d(rfwd, n2)
    assert fwd.transmission == px.encode_forwarded_transmission(r, n, sid, cmd, auth_key)
    req = fwd.request
    assert isinstance(req, ClientRequest)
    assert (req.corr_id, req.entity_id, req.command) == (n, sid, cmd)
    assert (req.auth is None) == (auth_key is None)
    reply = ERR(ErrorType.QUOTA) if quota else OK()
    rres = px.seal_rres(fwd, req.corr_id, req.entity_id, reply)
    assert isinstance(rres, RRES)
    pres = px.proxy_reply(P_SESSION_KEY, n2, rres)
    assert isinstance(pres, PRES)
    assert px.open_forwarded_response(sealed, pres, SESSION_ID) == ServerTransmission(
        n, EntityId(sid), reply
    )


def test_end_to_end_max_size_ed448_send() -> None:
    """The largest v17 SEND with an Ed448 signature fills the padded batch exactly."""
    key = PrivateKey.generate(KeyAlg.ED448)
    cmd = SEND(MsgFlags(), b"m" * 16048)
    t = px.encode_forwarded_transmission(relay(17), N, SND_ID, cmd, key)
    assert 1 + len(large(t)) == px.PADDED_PROXIED_LENGTH - 2
    sealed = px.seal_forwarded(relay(17), SND_ID, cmd, cmd_key=CMD_PRIV, nonce=N, auth_key=key)
    fwd = open_at_d(px.wrap_rfwd(P_SESSION_KEY, N2, N, sealed.pfwd))
    assert isinstance(fwd.request, ClientRequest) and fwd.request.command == cmd


def test_other_forwarded_commands_round_trip() -> None:
    ed = SND_ED.public()
    for entity, cmd, auth in (
        (SND_ID, SKEY(ed), SND_ED),
        (SND_ID, LKEY(ed), SND_ED),
        (SND_ID, LGET(), None),
    ):
        sealed = px.seal_forwarded(relay(), entity, cmd, cmd_key=CMD_PRIV, nonce=N, auth_key=auth)
        fwd = open_at_d(px.wrap_rfwd(P_SESSION_KEY, N2, N, sealed.pfwd))
        assert isinstance(fwd.request, ClientRequest) and fwd.request.command == cmd


# --------------------------------------------------------------------------- tampering


def _sealed() -> px.SealedForward:
    return px.seal_forwarded(
        relay(), SND_ID, SEND(MsgFlags(), b"hi"), cmd_key=CMD_PRIV, nonce=N, auth_key=SND_ED
    )


def _flip(b: bytes, i: int) -> bytes:
    return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]


@pytest.mark.parametrize("i", [0, 15, 16, 100, px.ENC_TRANSMISSION_SIZE - 1])
def test_tampered_inner_layer_is_crypto(i: int) -> None:
    s = _sealed()
    bad = PFWD(s.pfwd.version, s.pfwd.key, _flip(s.pfwd.enc_transmission, i))
    rfwd = px.wrap_rfwd(P_SESSION_KEY, N2, N, bad)
    assert (
        px.open_rfwd(rfwd, N2, server_key=D_PRIV, session_key=D_SESSION_KEY, session_id=SESSION_ID)
        == ErrorType.CRYPTO
    )


@pytest.mark.parametrize("i", [0, 16, 30, 1000])
def test_tampered_outer_layer_is_crypto(i: int) -> None:
    rfwd = px.wrap_rfwd(P_SESSION_KEY, N2, N, _sealed().pfwd)
    bad = RFWD(_flip(rfwd.enc_fwd_transmission, i))
    res = px.open_rfwd(bad, N2, server_key=D_PRIV, session_key=D_SESSION_KEY, session_id=SESSION_ID)
    assert res == ErrorType.CRYPTO


def test_wrong_keys_and_nonces_are_crypto() -> None:
    rfwd = px.wrap_rfwd(P_SESSION_KEY, N2, N, _sealed().pfwd)
    other = dh_box_key(KeyPair.generate(KeyAlg.X25519).public, D_PRIV)
    kw: dict[str, Any] = {"server_key": D_PRIV, "session_id": SESSION_ID}
    assert px.open_rfwd(rfwd, N2, session_key=other, **kw) == ErrorType.CRYPTO
    assert px.open_rfwd(rfwd, N, session_key=D_SESSION_KEY, **kw) == ErrorType.CRYPTO
    wrong_d = PrivateKey.generate(KeyAlg.X25519)
    assert (
        px.open_rfwd(rfwd, N2, server_key=wrong_d, session_key=D_SESSION_KEY, session_id=SESSION_ID)
        == ErrorType.CRYPTO
    )
    assert px.open_rfwd(RFWD(b"short"), N2, session_key=D_SESSION_KEY, **kw) == ErrorType.CRYPTO


def test_tampered_response_layers() -> None:
    s = _sealed()
    fwd = open_at_d(px.wrap_rfwd(P_SESSION_KEY, N2, N, s.pfwd))
    rres = px.seal_rres(fwd, N, SND_ID, OK())
    assert isinstance(rres, RRES)
    bad_rres = RRES(_flip(rres.enc_fwd_response, 40))
    with pytest.raises(CryptoError):
        px.unwrap_rres(P_SESSION_KEY, N2, bad_rres)
    assert px.proxy_reply(P_SESSION_KEY, N2, bad_rres) == ERR(ErrorType.CRYPTO)
    with pytest.raises(CryptoError):
        px.unwrap_rres(P_SESSION_KEY, N, rres)  # not the reversed nonce of this RFWD
    pres = px.unwrap_rres(P_SESSION_KEY, N2, rres)
    for i in (0, 16, 500):
        with pytest.raises(CryptoError):
            px.open_forwarded_response(s, PRES(_flip(pres.enc_response, i)), SESSION_ID)
    with pytest.raises(CryptoError):
        px.open_forwarded_response(s, PRES(pres.enc_response[:15]), SESSION_ID)


# --------------------------------------------------------------------------- truncation


def test_truncated_fwd_records_are_decode_errors() -> None:
    t = px.FwdTransmission(N, 17, CMD_PRIV.public(), b"enc").encode()
    for k in (0, 1, 24, 25, 26, 27, 40, 26 + 45 - 1):
        with pytest.raises(DecodeError):
            px.FwdTransmission.decode(t[:k])
    with pytest.raises(DecodeError):
        px.FwdResponse.decode(b"")
    with pytest.raises(DecodeError):
        px.FwdResponse.decode(b"\x18" + N[:10])
    ed_key = short_string(SND_ED.public().to_der())
    with pytest.raises(DecodeError):  # an Ed25519 key where X25519 is required
        px.FwdTransmission.decode(short_string(N) + b"\x00\x11" + ed_key)


def test_outer_box_with_bad_fwd_transmission_is_cmd_syntax() -> None:
    for plain in (b"", b"\x18" + N, short_string(N) + b"\x00\x11" + b"\x05abc"):
        rfwd = RFWD(cb_encrypt(P_SESSION_KEY, N2, plain))
        assert open_at_d_err(rfwd) == CMD(CommandError.SYNTAX)


def open_at_d_err(rfwd: RFWD) -> object:
    return px.open_rfwd(
        rfwd, N2, server_key=D_PRIV, session_key=D_SESSION_KEY, session_id=SESSION_ID
    )


def test_rres_with_bad_fwd_response_is_response_block() -> None:
    bad = RRES(cb_encrypt(P_SESSION_KEY, N2[::-1], b"\x30short"))
    with pytest.raises(DecodeError):
        px.unwrap_rres(P_SESSION_KEY, N2, bad)
    assert px.proxy_reply(P_SESSION_KEY, N2, bad) == ERR(px.ERR_RESPONSE_BLOCK)
    assert px.ERR_RESPONSE_BLOCK.encode() == b"PROXY BROKER RESPONSE \x05BLOCK"


# --------------------------------------------------------------------------- destination rules


def _rfwd_with_batch(batch: bytes, v: int = 17, corr: bytes = N) -> RFWD:
    """An RFWD whose inner layer holds ``batch`` as the client would box it."""
    client = dh_box_key(D_PRIV.public(), CMD_PRIV)
    enc = cb_encrypt(client, corr, batch, pad_to=px.PADDED_PROXIED_LENGTH)
    return px.wrap_rfwd(P_SESSION_KEY, N2, corr, PFWD(v, CMD_PRIV.public(), enc))


def _one(t: bytes) -> bytes:
    return b"\x01" + large(t)


def _t(entity: bytes, cmd: bytes, auth: bytes = b"", v: int = 17) -> bytes:
    head = short_string(auth) + (b"0" if auth and v >= 16 else b"")
    return head + short_string(N) + short_string(entity) + cmd


SIG = bytes(64)
NEW_CMD = NEW(SND_ED.public(), D_PRIV.public()).encode(17)


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (_t(SND_ID, b"PING"), RequestError(N, SND_ID, CMD(CommandError.HAS_AUTH))),
        (_t(b"", b"PING"), RequestError(N, EntityId(b""), CMD(CommandError.PROHIBITED))),
        (_t(b"", NEW_CMD, SIG), RequestError(N, EntityId(b""), CMD(CommandError.PROHIBITED))),
        (_t(SND_ID, b"ACK \x01a", SIG), RequestError(N, SND_ID, CMD(CommandError.PROHIBITED))),
        (_t(SND_ID, b"SUB", SIG), RequestError(N, SND_ID, CMD(CommandError.PROHIBITED))),
        (_t(b"", b"RFWD abc"), RequestError(N, EntityId(b""), CMD(CommandError.PROHIBITED))),
        (_t(SND_ID, b"NSUB", SIG), RequestError(N, SND_ID, CMD(CommandError.PROHIBITED))),
        (_t(SND_ID, b"FOO"), RequestError(N, SND_ID, CMD(CommandError.UNKNOWN))),
        (_t(SND_ID, b"SEND x"), RequestError(N, SND_ID, CMD(CommandError.SYNTAX))),
        (_t(b"", b"SEND T hi"), RequestError(N, EntityId(b""), CMD(CommandError.NO_ENTITY))),
        (_t(SND_ID, b"LGET", SIG), RequestError(N, SND_ID, CMD(CommandError.HAS_AUTH))),
        (_t(SND_ID, b"SEND T hi", b"abc"), RequestError(N, EntityId(b""), ErrorType.BLOCK)),
        (b"\x05ab", RequestError(EntityId(b""), EntityId(b""), ErrorType.BLOCK)),
    ],
)
def test_destination_inner_errors(t: bytes, expected: RequestError) -> None:
    fwd = open_at_d(_rfwd_with_batch(_one(t)))
    assert fwd.request == expected
    assert fwd.transmission == t
    # The error travels inside RRES/PRES with the inner corrId and entity.
    rres = px.seal_request_error(fwd)
    assert isinstance(rres, RRES)
    pres = px.unwrap_rres(P_SESSION_KEY, N2, rres)
    sealed = px.SealedForward(
        PFWD(17, CMD_PRIV.public(), b""),
        N,
        EntityId(SESSION_ID),
        17,
        dh_box_key(D_PRIV.public(), CMD_PRIV),
    )
    got = px.open_forwarded_response(sealed, pres, SESSION_ID)
    assert got == ServerTransmission(expected.corr_id, expected.entity_id, ERR(expected.error))


def test_allowed_table() -> None:
    ed = SND_ED.public()
    assert px.FORWARDED_COMMANDS == (SEND, SKEY, LKEY, LGET)
    for cmd in (SEND(MsgFlags(), b""), SKEY(ed), LKEY(ed), LGET()):
        assert px.forwarded_command_allowed(cmd)
    for other in (PING(), ACK(MsgId(b"m")), NEW(ed, D_PRIV.public()), RFWD(b"x")):
        assert not px.forwarded_command_allowed(other)


def test_inner_service_signature_is_decoded_for_the_relay_to_refuse() -> None:
    t = short_string(SIG) + b"1" + short_string(SIG) + short_string(N) + short_string(SND_ID)
    fwd = open_at_d(_rfwd_with_batch(_one(t + b"SEND T x")))
    assert isinstance(fwd.request, ClientRequest)
    assert fwd.request.service_sig == SIG  # the relay answers SERVICE (no service via proxy)


def test_batch_rules() -> None:
    t = _t(SND_ID, b"SEND T hi")
    two = b"\x02" + large(t) + large(t)
    assert open_at_d_err(_rfwd_with_batch(two)) == ErrorType.BLOCK
    for bad in (b"", b"\x00", b"\x01\x00\x09abc", _one(t) + b"x"):
        fwd = open_at_d(_rfwd_with_batch(bad))
        assert fwd.request == RequestError(EntityId(b""), EntityId(b""), ErrorType.BLOCK)
        assert fwd.transmission == b""


def test_no_session_secret_is_no_auth() -> None:
    rfwd = px.wrap_rfwd(P_SESSION_KEY, N2, N, _sealed().pfwd)
    res = px.open_rfwd(rfwd, N2, server_key=D_PRIV, session_key=None, session_id=SESSION_ID)
    assert res == px.ERR_TRANSPORT_NO_AUTH
    assert res.encode() == b"PROXY BROKER TRANSPORT NO_AUTH"


def test_short_and_long_corr_ids_use_cb_nonce() -> None:
    """D derives both nonces with cbNonce (pad with zeros / truncate to 24 bytes)."""
    short = b"abc"
    batch = _one(_t(SND_ID, b"SEND T hi"))
    client = dh_box_key(D_PRIV.public(), CMD_PRIV)
    enc = cb_encrypt(client, short.ljust(24, b"\x00"), batch, pad_to=px.PADDED_PROXIED_LENGTH)
    fwd_t = px.FwdTransmission(short, 17, CMD_PRIV.public(), enc).encode()
    long_corr = N2 + b"extra"
    rfwd = RFWD(cb_encrypt(P_SESSION_KEY, N2, fwd_t))
    fwd = px.open_rfwd(
        rfwd, long_corr, server_key=D_PRIV, session_key=D_SESSION_KEY, session_id=SESSION_ID
    )
    assert isinstance(fwd, px.ForwardedRequest)
    assert fwd.fwd_corr_id == short and fwd.proxy_nonce == N2


def test_low_fwd_version_still_implies_the_session_id() -> None:
    """The reference keeps implySessId of the P-D session when it switches to fwdVersion."""
    t = _t(SND_ID, b"SEND T hi", v=6)
    fwd = open_at_d(_rfwd_with_batch(_one(t), v=6))
    assert isinstance(fwd.request, ClientRequest) and fwd.version == 6
    rres = px.seal_rres(fwd, N, SND_ID, OK())
    assert isinstance(rres, RRES)


def test_response_encoded_at_forwarded_version() -> None:
    blocked = ERR(BLOCKED(BlockingInfo(BlockingReason.SPAM)))
    fwd11 = open_at_d(_rfwd_with_batch(_one(_t(SND_ID, b"SEND T hi")), v=11))
    assert px.encode_forwarded_response(11, N, SND_ID, blocked).endswith(b"ERR AUTH")
    assert px.encode_forwarded_response(17, N, SND_ID, blocked).endswith(b"reason=spam")
    assert fwd11.version == 11


def test_oversized_response_is_block() -> None:
    fwd = open_at_d(_rfwd_with_batch(_one(_t(b"L", b"LGET"))))
    big = LNK(SND_ID, QueueLinkData(b"f" * 8000, b"u" * 8200))
    assert px.seal_rres(fwd, N, b"L", big) == ErrorType.BLOCK
    fits = LNK(SND_ID, QueueLinkData(b"f" * 100, b"u" * 100))
    assert isinstance(px.seal_rres(fwd, N, b"L", fits), RRES)


def test_seal_request_error_needs_an_error() -> None:
    fwd = open_at_d(px.wrap_rfwd(P_SESSION_KEY, N2, N, _sealed().pfwd))
    with pytest.raises(ValueError, match="not an error"):
        px.seal_request_error(fwd)


def test_forwarded_request_repr_hides_keys() -> None:
    fwd = open_at_d(px.wrap_rfwd(P_SESSION_KEY, N2, N, _sealed().pfwd))
    assert D_SESSION_KEY.hex() not in repr(fwd) and "client_key" not in repr(fwd)
    assert "box_key" not in repr(_sealed())


# --------------------------------------------------------------------------- proxy rules


@pytest.mark.parametrize(
    ("allow", "password", "given", "ok"),
    [
        (False, None, None, False),
        (False, "pw", "pw", False),
        (True, None, None, True),
        (True, None, "anything", True),
        (True, "pw", None, False),
        (True, "pw", "pw", True),
        (True, "pw", "pW", False),
    ],
)
def test_prxy_allowed(allow: bool, password: str | None, given: str | None, ok: bool) -> None:
    assert px.prxy_allowed(allow, password, given) is ok


def test_pkey_answer() -> None:
    ck = CertChainPubKey((b"\x30\x00", b"\x30\x00"), b"\x30\x00")
    ok = px.pkey_answer(SESSION_ID, 18, VersionRange(6, 18), ck)
    assert ok == PKEY(SESSION_ID, VersionRange(8, 17), ck)
    assert px.pkey_answer(SESSION_ID, 9, VersionRange(6, 9), ck) == PKEY(
        SESSION_ID, VersionRange(8, 9), ck
    )
    assert px.pkey_answer(SESSION_ID, 7, VersionRange(6, 7), ck) == px.ERR_TRANSPORT_VERSION
    assert px.pkey_answer(SESSION_ID, 7, VersionRange(6, 18), ck) == px.ERR_TRANSPORT_VERSION
    assert px.pkey_answer(SESSION_ID, 18, VersionRange(6, 18), None) == px.ERR_TRANSPORT_NO_AUTH
    assert px.ERR_TRANSPORT_VERSION.encode() == b"PROXY BROKER TRANSPORT VERSION"


def test_pkey_answer_with_a_proxy_capped_session() -> None:
    """D offers 6..12: P (a proxy) caps its own range at 10, so the session range is 6..10."""
    from hushwire.smp.hello import Negotiated, negotiate_client

    ck = CertChainPubKey((b"\x30\x00", b"\x30\x00"), b"\x30\x00")
    n = negotiate_client(
        VersionRange(6, 12),
        VersionRange(6, 18),
        server_has_key=True,
        client_has_key=True,
        proxy_server=True,
    )
    assert isinstance(n, Negotiated) and n.version == 10
    got = px.pkey_answer(SESSION_ID, n.version, n.version_range, ck)
    assert got == PKEY(SESSION_ID, VersionRange(8, 10), ck)


def test_destination_key_ignores_the_password() -> None:
    a = SMPServer(("a.onion", "a.example"), bytes(32), None, "pw")
    b = SMPServer(("a.onion", "a.example"), bytes(32), None, None)
    c = SMPServer(("a.onion", "a.example"), bytes(32), 5223, None)
    assert px.destination_key(a) == px.destination_key(b) != px.destination_key(c)


def test_pfwd_check() -> None:
    assert px.pfwd_check(None, True) == px.ERR_NO_SESSION
    assert px.pfwd_check(7, True) == px.ERR_TRANSPORT_VERSION
    assert px.pfwd_check(8, False) == px.ERR_TRANSPORT_NO_AUTH
    assert px.pfwd_check(17, True) is None
    assert px.ERR_NO_SESSION.encode() == b"PROXY NO_SESSION"
    assert px.ERR_BASIC_AUTH.encode() == b"PROXY BASIC_AUTH"


def test_proxy_reply_mapping() -> None:
    assert px.proxy_reply(P_SESSION_KEY, N2, ERR(CMD(CommandError.UNKNOWN))) == ERR(
        PROXY(PROTOCOL(CMD(CommandError.UNKNOWN)))
    )
    assert px.proxy_reply(P_SESSION_KEY, N2, ErrorType.BLOCK) == ERR(
        PROXY(BROKER(RESPONSE(b"BLOCK")))
    )
    assert px.proxy_reply(P_SESSION_KEY, N2, CMD(CommandError.HAS_AUTH)) == ERR(
        PROXY(BROKER(RESPONSE(b"CMD HAS_AUTH")))
    )
    assert px.proxy_reply(P_SESSION_KEY, N2, OK()) == ERR(PROXY(BROKER(UNEXPECTED(b"OK"))))
    enc = ERR(PROXY(PROTOCOL(CMD(CommandError.UNKNOWN)))).encode(17)
    assert enc == b"ERR PROXY PROTOCOL CMD UNKNOWN"
    assert ERR(PROXY(BROKER(NETWORK()))).encode(17) == b"ERR PROXY BROKER NETWORK"
    assert ERR(PROXY(BROKER(BrokerErrorType.TIMEOUT))).encode(17) == b"ERR PROXY BROKER TIMEOUT"


# --------------------------------------------------------------------------- client PKEY


def _chain(now: datetime = NOW) -> tuple[tuple[bytes, ...], PrivateKey, bytes]:
    ca_der, ca_key = x509.generate_ca(KeyAlg.ED25519, now=now)
    leaf_der, leaf_key = x509.generate_online_cert(
        ca_der, ca_key, KeyAlg.ED25519, "smp.example", now=now
    )
    return (leaf_der, ca_der), leaf_key, x509.key_hash(ca_der)


def test_accept_pkey() -> None:
    chain, leaf_key, kh = _chain()
    d_pub = D_PRIV.public()
    ck = CertChainPubKey(chain, x509.sign_key(leaf_key, d_pub))
    pkey = PKEY(SESSION_ID, VersionRange(8, 17), ck)
    got = px.accept_pkey(pkey, kh, now=NOW, basic_auth="pw")
    assert got == px.ProxiedRelay(SESSION_ID, 17, d_pub, "pw")
    assert px.accept_pkey(pkey, bytes(32), now=NOW) == px.ERR_HANDSHAKE_IDENTITY
    expired = datetime(2000, 1, 1, tzinfo=UTC)  # before the certificates are valid
    assert px.accept_pkey(pkey, kh, now=expired) == px.ERR_HANDSHAKE_IDENTITY
    other = x509.sign_key(PrivateKey.generate(KeyAlg.ED25519), d_pub)
    bad_sig = PKEY(SESSION_ID, VersionRange(8, 17), CertChainPubKey(chain, other))
    assert px.accept_pkey(bad_sig, kh, now=NOW) == px.ERR_HANDSHAKE_IDENTITY
    not_der = PKEY(SESSION_ID, VersionRange(8, 17), CertChainPubKey(chain, b"\x30\x00"))
    assert px.accept_pkey(not_der, kh, now=NOW) == px.ERR_HANDSHAKE_IDENTITY
    for vr in (VersionRange(19, 20), VersionRange(6, 7)):
        assert px.accept_pkey(PKEY(SESSION_ID, vr, ck), kh, now=NOW) == px.ERR_TRANSPORT_VERSION
    assert px.ERR_HANDSHAKE_IDENTITY.encode() == b"PROXY BROKER TRANSPORT HANDSHAKE IDENTITY"


def test_open_forwarded_response_needs_one_transmission() -> None:
    s = _sealed()
    resp = b"\x00" + short_string(N) + short_string(SND_ID) + b"OK"
    two = b"\x02" + large(resp) + large(resp)
    pres = PRES(cb_encrypt(s.box_key, N[::-1], two, pad_to=px.PADDED_PROXIED_LENGTH))
    with pytest.raises(DecodeError):
        px.open_forwarded_response(s, pres, SESSION_ID)
    garbage = PRES(cb_encrypt(s.box_key, N[::-1], b"\x07", pad_to=px.PADDED_PROXIED_LENGTH))
    got = px.open_forwarded_response(s, garbage, SESSION_ID)
    assert got == ServerTransmission(EntityId(b""), EntityId(b""), ErrorType.BLOCK)


# --------------------------------------------------------------------------- bad arguments


def test_programming_errors_are_value_errors() -> None:
    r = relay()
    send = SEND(MsgFlags(), b"x")
    ed = SND_ED
    with pytest.raises(ValueError, match="X25519"):
        px.seal_forwarded(r, SND_ID, send, cmd_key=ed, nonce=N)
    with pytest.raises(ValueError, match="24 bytes"):
        px.seal_forwarded(r, SND_ID, send, cmd_key=CMD_PRIV, nonce=N[:23])
    with pytest.raises(ValueError, match="too large"):
        px.seal_forwarded(r, SND_ID, SEND(MsgFlags(), b"m" * 16200), cmd_key=CMD_PRIV, nonce=N)
    x448 = PrivateKey.generate(KeyAlg.X448)
    with pytest.raises(ValueError, match="cannot authorize"):
        px.encode_forwarded_transmission(r, N, SND_ID, send, x448)
    with pytest.raises(ValueError, match="v8"):
        px.ProxiedRelay(SESSION_ID, 7, D_PRIV.public())
    with pytest.raises(ValueError, match="X25519"):
        px.ProxiedRelay(SESSION_ID, 17, ed.public())
    with pytest.raises(ValueError, match="255"):
        px.ProxiedRelay(bytes(256), 17, D_PRIV.public())
    with pytest.raises(ValueError, match="255"):
        px.FwdTransmission(bytes(256), 17, CMD_PRIV.public(), b"")
    with pytest.raises(ValueError, match="Word16"):
        px.FwdTransmission(N, 0x10000, CMD_PRIV.public(), b"")
    with pytest.raises(ValueError, match="X25519"):
        px.FwdTransmission(N, 17, ed.public(), b"")
    with pytest.raises(ValueError, match="255"):
        px.FwdResponse(bytes(256), b"")
    pfwd = _sealed().pfwd
    with pytest.raises(ValueError, match="32 bytes"):
        px.wrap_rfwd(b"short", N2, N, pfwd)
    with pytest.raises(ValueError, match="24 bytes"):
        px.wrap_rfwd(P_SESSION_KEY, N2[:5], N, pfwd)
    with pytest.raises(ValueError, match="32 bytes"):
        px.unwrap_rres(b"short", N2, RRES(b""))
    with pytest.raises(ValueError, match="32 bytes"):
        px.open_rfwd(RFWD(b""), N2, server_key=D_PRIV, session_key=b"k", session_id=SESSION_ID)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_decoders_raise_only_decode_error(data: bytes) -> None:
    for dec in (px.FwdTransmission.decode, px.FwdResponse.decode):
        try:
            dec(data)
        except DecodeError:
            pass


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=30))
def test_garbage_never_raises_at_the_destination_or_proxy(data: bytes, corr: bytes) -> None:
    res = px.open_rfwd(
        RFWD(data), corr, server_key=D_PRIV, session_key=D_SESSION_KEY, session_id=SESSION_ID
    )
    assert res == ErrorType.CRYPTO
    assert px.proxy_reply(P_SESSION_KEY, N2, RRES(data)) == ERR(ErrorType.CRYPTO)
    with pytest.raises(CryptoError):
        px.open_forwarded_response(_sealed(), PRES(data), SESSION_ID)
