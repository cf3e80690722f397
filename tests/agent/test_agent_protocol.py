"""hushwire.agent.protocol: the byte diagrams of docs/protocol/agent.md both ways, per-queue
boxes, zstd bodies, Hypothesis round trips and fuzz (random and mutated bytes: only DecodeError)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.agent import protocol as p
from hushwire.agent.protocol import (
    A_MSG,
    A_RCVD,
    AGENT_VERSIONS,
    E2E_CONFIRMATION_PAD,
    E2E_MESSAGE_PAD,
    EREADY,
    HELLO,
    SMP_CLIENT_VERSIONS,
    AgentConfirmation,
    AgentConnInfo,
    AgentConnInfoReply,
    AgentInvitation,
    AgentMessage,
    AgentMsgEnvelope,
    AgentRatchetInfo,
    AgentRatchetKey,
    AMessageReceipt,
    APrivHeader,
    ClientMessage,
    ClientMsgEnvelope,
    Compressed,
    Passthrough,
    PHConfirmation,
    PHEmpty,
    QueueMessage,
    SMPQueueInfo,
    agent_message_hash,
    compress1,
    compress_compressed_list,
    decompress1,
    decompress_compressed_list,
    decrypt_client_message,
    encode_smp_server,
    encrypt_client_message,
    parse_agent_envelope,
    parse_agent_message,
    parse_smp_server,
)
from hushwire.agent.ratchet import E2ERatchetParams
from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey
from hushwire.crypto.nacl import dh_box_key
from hushwire.encoding.binary import Reader, parse_all
from hushwire.errors import CryptoError, DecodeError
from hushwire.limits import MAX_DECOMPRESSED_SIZE
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import QueueMode

V: Any = load_vectors("agent_protocol.json")
H = bytes.fromhex
COMMON = V["common"]
DH_KEY = PublicKey.from_der(H(COMMON["dh_key_der"]))
KEY_HASH = H(COMMON["key_hash"])
SERVER = SMPServer(tuple(COMMON["hosts"]), KEY_HASH, COMMON["port"])
K1 = PublicKey.from_der(H(V["e2e_keys"]["k1_der"]))
K2 = PublicKey.from_der(H(V["e2e_keys"]["k2_der"]))
ENC_RM = H(V["enc_ratchet_message"])
MODES = {"M": QueueMode.MESSAGING, "C": QueueMode.CONTACT, None: None}


def x25519(seed: bytes) -> PrivateKey:
    return PrivateKey.from_der(
        bytes.fromhex("302e020100300506032b656e04220420") + hashlib.sha256(seed).digest()
    )


# --------------------------------------------------------------------------- constants


def test_versions_and_sizes() -> None:
    assert (AGENT_VERSIONS.min, AGENT_VERSIONS.max) == (2, 7)
    assert (SMP_CLIENT_VERSIONS.min, SMP_CLIENT_VERSIONS.max) == (1, 4)
    assert (E2E_CONFIRMATION_PAD, E2E_MESSAGE_PAD) == (15904, 16000)
    assert MAX_DECOMPRESSED_SIZE == 65536
    assert p.e2e_enc_conn_info_length(7, False) == 14832
    assert p.e2e_enc_conn_info_length(7, True) == 11106
    assert p.e2e_enc_conn_info_length(4, True) == 14832
    assert p.e2e_enc_agent_msg_length(5, True) == 13618
    assert p.e2e_enc_agent_msg_length(5, False) == 15840
    assert p.e2e_enc_agent_msg_length(4, True) == 15840


# --------------------------------------------------------------------------- SMPQueueInfo


@pytest.mark.parametrize("case", V["smp_queue_info"], ids=lambda c: c["name"])
def test_smp_queue_info_vectors(case: dict[str, Any]) -> None:
    hosts = tuple(COMMON["hosts"][: case["hosts"]])
    server = SMPServer(hosts, KEY_HASH, case["port"])
    q = SMPQueueInfo(case["version"], server, H(COMMON["sender_id"]), DH_KEY, MODES[case["mode"]])
    assert q.encode().hex() == case["hex"]
    assert SMPQueueInfo.decode(H(case["hex"])) == q


@pytest.mark.parametrize("case", V["smp_queue_info_parse_only"], ids=lambda c: c["name"])
def test_smp_queue_info_parse_only(case: dict[str, Any]) -> None:
    q = SMPQueueInfo.decode(H(case["hex"]))
    assert q.server.hosts == tuple(case["hosts"])
    assert q.queue_mode is MODES[case["mode"]]


def test_smp_queue_info_mode_dropped_by_version() -> None:
    # v3 writes only 'T' (sender can secure); v2 writes no byte: the mode does not survive.
    for v, mode in ((3, QueueMode.CONTACT), (2, QueueMode.MESSAGING), (1, QueueMode.MESSAGING)):
        q = SMPQueueInfo(v, SERVER, b"sid", DH_KEY, mode)
        assert SMPQueueInfo.decode(q.encode()).queue_mode is None


def test_smp_queue_info_v1_writes_first_host_only() -> None:
    q = SMPQueueInfo(1, SERVER, b"sid", DH_KEY, None)
    back = SMPQueueInfo.decode(q.encode())
    assert back.server.hosts == (SERVER.hosts[0],)


def test_smp_queue_info_swallows_a_mode_like_byte() -> None:
    # queueModeP is greedy: after a v2 queue a connInfo starting with 'M' loses that byte,
    # exactly as in the reference (emit v4 with a mode byte).
    q = SMPQueueInfo(2, SERVER, b"sid", DH_KEY, None)
    msg = parse_agent_message(b"D\x01" + q.encode() + b"Mhello")
    assert isinstance(msg, AgentConnInfoReply)
    assert msg.conn_info == b"hello"
    assert msg.queues[0].queue_mode is QueueMode.MESSAGING


def test_smp_queue_info_rejects_non_x25519_key() -> None:
    ed = PrivateKey.generate(KeyAlg.ED25519).public()
    with pytest.raises(ValueError):
        SMPQueueInfo(4, SERVER, b"sid", ed, None)
    bad = H(V["smp_queue_info"][0]["hex"]).replace(DH_KEY.to_der(), ed.to_der())
    with pytest.raises(DecodeError):
        SMPQueueInfo.decode(bad)


def test_smp_server_forms() -> None:
    no_port = SMPServer(("a.example",), KEY_HASH)
    enc = encode_smp_server(no_port, 4)
    assert enc == b"\x01\x09a.example\x00\x20" + KEY_HASH
    assert parse_all(enc, lambda r: parse_smp_server(r, 4)) == no_port
    legacy = encode_smp_server(SERVER, 1)
    assert legacy == b"\x0esmp.simplex.im\x045223\x20" + KEY_HASH
    # basic auth is not part of the binary form
    auth = SMPServer(("a.example",), KEY_HASH, None, "secret")
    assert encode_smp_server(auth, 4) == enc


def _server_bytes(host: bytes, port: bytes = b"", key_hash: bytes = KEY_HASH) -> bytes:
    head = b"\x01" + bytes([len(host)]) + host + bytes([len(port)]) + port
    return head + bytes([len(key_hash)]) + key_hash


@pytest.mark.parametrize(
    "host",
    [
        b"1.2.3.4",
        b"255.255.255.255",
        b"300.1.1.1",  # not an IPv4 address: a domain name in the reference parser
        b"1.2.3",
        b"1.2.3.x",
        b"::1",
        b"fe80::1:2",
        b"abc.onion",
        b".onion",
        b"smp.example.com",
        b"cafe",
        b"[abc]",
    ],
)
def test_host_accepted(host: bytes) -> None:
    server = parse_all(_server_bytes(host), lambda r: parse_smp_server(r, 2))
    assert server.hosts == (host.decode(),)


def test_bracketed_ipv6_loses_brackets() -> None:
    server = parse_all(_server_bytes(b"[::1]"), lambda r: parse_smp_server(r, 2))
    assert server.hosts == ("::1",)
    assert encode_smp_server(server, 2) == _server_bytes(b"::1")


@pytest.mark.parametrize(
    "host",
    [
        b"",
        b"1.2.3.4x",
        b"1.2.3.256",
        b"a:b",
        b"::1x",
        b"fe80::1%eth0",
        b"ABC.onion",
        b"a.b.onion",
        b"abc.onionx",
        b"a/b",
        b"a b",
        b"caf\xc3\xa9",
        b"a,b",
    ],
)
def test_host_rejected(host: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_all(_server_bytes(host), lambda r: parse_smp_server(r, 2))


@pytest.mark.parametrize("port", [b"0", b"05223", b"65536", b"99999", b"x", b"-1", b"123456"])
def test_port_rejected(port: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_all(_server_bytes(b"a.example", port), lambda r: parse_smp_server(r, 2))


def test_key_hash_must_be_32_bytes() -> None:
    with pytest.raises(DecodeError):
        parse_all(_server_bytes(b"a.example", b"", KEY_HASH[:4]), lambda r: parse_smp_server(r, 2))


def test_empty_host_list_rejected() -> None:
    with pytest.raises(DecodeError):
        parse_all(b"\x00\x00\x20" + KEY_HASH, lambda r: parse_smp_server(r, 2))


# --------------------------------------------------------------------------- agent messages


def test_agent_conn_info_reply_diagram() -> None:
    c = V["agent_conn_info_reply"]
    q = SMPQueueInfo(
        4,
        SMPServer((c["host"],), KEY_HASH, c["port"]),
        H(c["sender_id"]),
        PublicKey.from_der(H(c["dh_key_der"])),
        QueueMode.MESSAGING,
    )
    msg = AgentConnInfoReply((q,), c["conn_info"].encode())
    assert msg.encode().hex() == c["hex"]
    assert parse_agent_message(H(c["hex"])) == msg
    assert agent_message_hash(msg.encode()).hex() == c["sha256"]
    with pytest.raises(ValueError):
        AgentConnInfoReply((), b"")


def test_agent_conn_info_and_ratchet_info() -> None:
    c = V["agent_conn_info"]
    msg = AgentConnInfo(c["conn_info"].encode())
    assert msg.encode().hex() == c["hex"]
    assert parse_agent_message(H(c["hex"])) == msg
    r = V["agent_ratchet_info"]
    assert AgentRatchetInfo(b"").encode().hex() == r["hex"]
    assert parse_agent_message(H(r["hex"])) == AgentRatchetInfo(b"")


def _amessage(case: dict[str, Any]) -> Any:
    kind = case["kind"]
    if kind == "A_MSG":
        return A_MSG(case["body"].encode())
    if kind == "HELLO":
        return HELLO()
    if kind == "EREADY":
        return EREADY(case["last_decrypted_msg_id"])
    return A_RCVD(tuple(AMessageReceipt(i, H(h), H(info)) for i, h, info in case["receipts"]))


@pytest.mark.parametrize("case", V["agent_messages"], ids=lambda c: c["name"])
def test_agent_message_vectors(case: dict[str, Any]) -> None:
    header = APrivHeader(case["snd_msg_id"], H(case["prev_msg_hash"]))
    msg = AgentMessage(header, _amessage(case))
    encoded = msg.encode()
    assert encoded.hex() == case["hex"]
    assert parse_agent_message(encoded) == msg
    assert agent_message_hash(encoded).hex() == case["sha256"]


def test_receipt_hash_is_hash_of_whole_agent_message() -> None:
    a_msg, _, _, rcvd = V["agent_messages"][:4]
    parsed = parse_agent_message(H(rcvd["hex"]))
    assert isinstance(parsed, AgentMessage) and isinstance(parsed.message, A_RCVD)
    assert parsed.message.receipts[0].msg_hash == agent_message_hash(H(a_msg["hex"]))
    assert parsed.header.prev_msg_hash.hex() == a_msg["sha256"]


def test_a_rcvd_needs_a_receipt() -> None:
    with pytest.raises(ValueError):
        A_RCVD(())
    with pytest.raises(DecodeError):
        parse_agent_message(b"M" + bytes(8) + b"\x00V\x00")


@pytest.mark.parametrize("case", V["queue_messages"], ids=lambda c: c["name"])
def test_queue_messages_parse_as_unsupported(case: dict[str, Any]) -> None:
    data = b"M" + bytes(8) + b"\x00" + case["tag"].encode() + H(case["raw"])
    msg = parse_agent_message(data)
    assert isinstance(msg, AgentMessage)
    assert msg.message == QueueMessage(case["tag"].encode(), H(case["raw"]))
    assert msg.encode() == data


@pytest.mark.parametrize("case", V["queue_messages_invalid"], ids=lambda c: c["name"])
def test_queue_messages_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        parse_agent_message(H(case["hex"]))


def test_unsupported_tag_checked() -> None:
    with pytest.raises(ValueError):
        QueueMessage(b"QZ", b"")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"X",
        b"Ihello"[:0] + b"Z",
        b"M" + bytes(8),  # no prevMsgHash
        b"M" + bytes(8) + b"\x00",  # no AMessage
        b"M" + bytes(8) + b"\x00Z",
        b"M" + bytes(8) + b"\x00Q",
        b"M" + bytes(8) + b"\x00Hx",  # HELLO with trailing bytes
        b"M" + bytes(8) + b"\x00E" + bytes(7),
        b"M" + bytes(8) + b"\x00E" + bytes(9),
        b"M" + bytes(8) + b"\x20" + bytes(31) + b"H",
        b"D\x00",
        b"D\x01\x00\x04",
    ],
)
def test_agent_message_invalid(data: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_agent_message(data)


# --------------------------------------------------------------------------- envelopes


def _e2e(version: int | None) -> E2ERatchetParams | None:
    return None if version is None else E2ERatchetParams(version, K1, K2)


@pytest.mark.parametrize("case", V["envelopes"], ids=lambda c: c["name"])
def test_envelope_vectors(case: dict[str, Any]) -> None:
    v = case["agent_version"]
    env: Any
    if case["kind"] == "C":
        env = AgentConfirmation(v, _e2e(case["e2e_version"]), ENC_RM)
    elif case["kind"] == "M":
        env = AgentMsgEnvelope(v, ENC_RM)
    else:
        e2e = _e2e(case["e2e_version"])
        assert e2e is not None
        env = AgentRatchetKey(v, e2e, case["info"].encode())
    assert env.encode().hex() == case["hex"]
    assert parse_agent_envelope(H(case["hex"])) == env


@pytest.mark.parametrize("case", V["envelopes_parse_only"], ids=lambda c: c["name"])
def test_envelope_with_kem_parses(case: dict[str, Any]) -> None:
    env = parse_agent_envelope(H(case["hex"]))
    assert isinstance(env, AgentConfirmation)
    assert env.agent_version == case["agent_version"]
    assert env.e2e is not None and env.e2e.peer_offered_kem
    assert (env.e2e.k1, env.e2e.k2) == (K1, K2)
    assert env.enc_conn_info == ENC_RM


def test_invitation_envelope_diagram() -> None:
    c = V["invitation_envelope"]
    inv = AgentInvitation(7, c["conn_req"].encode(), c["conn_info"].encode())
    assert inv.encode().hex() == c["agent_envelope_hex"]
    assert parse_agent_envelope(H(c["agent_envelope_hex"])) == inv
    cm = ClientMessage(PHEmpty(), inv.encode())
    assert cm.encode().hex() == c["client_message_hex"]
    # sender: agentCbEncryptOnce with a fresh X25519 key and pad 15904
    eph = x25519(b"invitation-ephemeral")
    rcv = x25519(b"contact-queue-e2e")
    assert eph.raw.hex() == c["sender_priv"] and rcv.raw.hex() == c["recipient_priv"]
    nonce = H(c["nonce"])
    box = encrypt_client_message(
        dh_box_key(rcv.public(), eph), nonce, cm.encode(), E2E_CONFIRMATION_PAD
    )
    env = ClientMsgEnvelope(4, eph.public(), nonce, box).encode()
    assert len(env) == c["length"] == 15992
    assert env.hex().startswith(c["prefix_hex"])
    assert hashlib.sha256(env).hexdigest() == c["sha256"]
    # recipient: per-queue key from the PubHeader key and its queue e2e key
    got = ClientMsgEnvelope.decode(env)
    assert got.ph_version == 4 and got.e2e_key == eph.public()
    assert got.e2e_key is not None
    plain = decrypt_client_message(dh_box_key(got.e2e_key, rcv), got.nonce, got.enc_body)
    parsed = ClientMessage.decode(plain)
    assert parsed.priv_header == PHEmpty()
    assert parse_agent_envelope(parsed.body) == inv


@pytest.mark.parametrize("case", V["queue_envelopes"]["cases"], ids=lambda c: c["name"])
def test_queue_envelope_vectors(case: dict[str, Any]) -> None:
    q = V["queue_envelopes"]
    snd = x25519(b"joiner-queue-sender")
    rcv = x25519(b"initiator-queue-e2e")
    assert snd.raw.hex() == q["sender_priv"] and rcv.raw.hex() == q["recipient_priv"]
    auth = PublicKey.from_der(H(q["auth_key_der"]))
    first = "message" not in case["name"]
    if first:
        header: PHConfirmation | PHEmpty = (
            PHConfirmation(auth) if "slow" in case["name"] else PHEmpty()
        )
        body = AgentConfirmation(7, E2ERatchetParams(3, K1, K2), ENC_RM).encode()
    else:
        header = PHEmpty()
        body = AgentMsgEnvelope(7, ENC_RM).encode()
    cm = ClientMessage(header, body)
    assert cm.encode().hex() == case["client_message_hex"]
    assert ClientMessage.decode(cm.encode()) == cm
    pad = E2E_CONFIRMATION_PAD if first else E2E_MESSAGE_PAD
    nonce = H(case["nonce"])
    box = encrypt_client_message(dh_box_key(rcv.public(), snd), nonce, cm.encode(), pad)
    env = ClientMsgEnvelope(4, snd.public() if first else None, nonce, box).encode()
    assert len(env) == case["length"]
    assert env.hex().startswith(case["prefix_hex"])
    assert hashlib.sha256(env).hexdigest() == case["sha256"]
    got = ClientMsgEnvelope.decode(env)
    plain = decrypt_client_message(dh_box_key(snd.public(), rcv), got.nonce, got.enc_body)
    assert ClientMessage.decode(plain) == cm


def test_decrypt_client_message_failures_are_crypto_errors() -> None:
    key = dh_box_key(x25519(b"a").public(), x25519(b"b"))
    nonce = bytes(24)
    box = encrypt_client_message(key, nonce, b"_hello", 100)
    assert decrypt_client_message(key, nonce, box) == b"_hello"
    for bad in (box[:-1] + bytes([box[-1] ^ 1]), box[:10], b""):
        with pytest.raises(CryptoError):
            decrypt_client_message(key, nonce, bad)
    with pytest.raises(CryptoError):
        decrypt_client_message(key, bytes([1]) + bytes(23), box)


def test_client_msg_envelope_checks() -> None:
    with pytest.raises(ValueError):
        ClientMsgEnvelope(4, None, bytes(23), b"")
    with pytest.raises(ValueError):
        ClientMsgEnvelope(4, K1, bytes(24), b"")
    x448_header = b"\x00\x041" + bytes([len(K1.to_der())]) + K1.to_der() + bytes(24)
    with pytest.raises(DecodeError):
        ClientMsgEnvelope.decode(x448_header)
    with pytest.raises(DecodeError):
        ClientMsgEnvelope.decode(b"\x00\x040" + bytes(23))
    with pytest.raises(DecodeError):
        ClientMsgEnvelope.decode(b"\x00\x042" + bytes(24))
    assert ClientMsgEnvelope.decode(b"\x00\x040" + bytes(24)).enc_body == b""


def test_priv_header_keys() -> None:
    for alg in (KeyAlg.ED25519, KeyAlg.ED448, KeyAlg.X25519):
        k = PrivateKey.generate(alg).public()
        cm = ClientMessage(PHConfirmation(k), b"body")
        assert cm.encode()[:2] == b"K" + bytes([len(k.to_der())])
        assert ClientMessage.decode(cm.encode()) == cm
    with pytest.raises(ValueError):
        PHConfirmation(K1)
    with pytest.raises(DecodeError):
        ClientMessage.decode(b"K" + bytes([len(K1.to_der())]) + K1.to_der())
    for bad in (b"", b"x", b"K", b"K\x05abc"):
        with pytest.raises(DecodeError):
            ClientMessage.decode(bad)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\x00\x07",
        b"\x00\x07X",
        b"\x00\x07C",
        b"\x00\x07C2",
        b"\x00\x07C1\x00\x03",
        b"\x00\x07I\x00\x05abc",
        b"\x00\x07R",
        b"\x00\x07R\x00\x03",
    ],
)
def test_agent_envelope_invalid(data: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_agent_envelope(data)


def test_agent_envelope_tails() -> None:
    assert parse_agent_envelope(b"\x00\x01M") == AgentMsgEnvelope(1, b"")
    assert parse_agent_envelope(b"\x00\x07C0") == AgentConfirmation(7, None, b"")
    inv = parse_agent_envelope(b"\x00\x07I\x00\x00")
    assert inv == AgentInvitation(7, b"", b"")


# --------------------------------------------------------------------------- compression


def test_compressed_vector() -> None:
    c = V["compressed"]
    bodies = tuple(b.encode() for b in c["bodies"])
    data = H(c["list_hex"])
    assert decompress_compressed_list(data) == bodies
    items = parse_all(data, lambda r: r.non_empty(p.parse_compressed))
    assert items == [Passthrough(bodies[0]), Compressed(H(c["frame_hex"]))]
    assert b"".join(i.encode() for i in items) == data[1:]
    # our own compression: same structure (frames may differ between zstd builds)
    ours = compress_compressed_list(bodies)
    assert ours[:2] == b"\x020" and decompress_compressed_list(ours) == bodies
    assert len(decompress_compressed_list(H(c["at_cap_list_hex"]))[0]) == MAX_DECOMPRESSED_SIZE


@pytest.mark.parametrize("case", V["compressed_invalid"], ids=lambda c: c["name"])
def test_compressed_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        decompress_compressed_list(H(case["hex"]))


def test_compress1_threshold() -> None:
    assert compress1(b"a" * 180) == Passthrough(b"a" * 180)
    big = compress1(b"a" * 181)
    assert isinstance(big, Compressed)
    assert zstandard.frame_content_size(big.frame) == 181
    assert decompress1(big) == b"a" * 181
    assert decompress1(Passthrough(b"x")) == b"x"


def test_decompress_limit_and_garbage() -> None:
    frame = zstandard.ZstdCompressor(level=3).compress(b"a" * 1000)
    with pytest.raises(DecodeError):
        decompress1(Compressed(frame), limit=999)
    assert decompress1(Compressed(frame), limit=1000) == b"a" * 1000
    for bad in (b"", b"garbage", frame[:4] + b"\xff" * 20, frame + b"x"):
        with pytest.raises(DecodeError):
            decompress1(Compressed(bad))
    empty = zstandard.ZstdCompressor(level=3).compress(b"")
    assert decompress1(Compressed(empty)) == b""


def test_decompression_bomb() -> None:
    # a 64 MiB frame that declares its size is refused before any decompression
    cctx = zstandard.ZstdCompressor(level=19)
    bomb = cctx.compress(bytes(64 * 1024 * 1024))
    assert len(bomb) < 65535
    with pytest.raises(DecodeError):
        decompress_compressed_list(b"\x011" + len(bomb).to_bytes(2, "big") + bomb)
    # the same without a declared size (streamed) is refused as well
    stream = cctx.compressobj(size=-1)
    unsized = stream.compress(bytes(1024 * 1024)) + stream.flush()
    assert zstandard.frame_content_size(unsized) == -1
    with pytest.raises(DecodeError):
        decompress1(Compressed(unsized))


def test_frame_lying_about_its_size() -> None:
    frame = bytearray(zstandard.ZstdCompressor(level=3).compress(b"abc" * 400))
    # frame header: magic(4) | descriptor | [window] | content size; patch the size smaller
    size = zstandard.frame_content_size(bytes(frame))
    assert size == 1200
    idx = bytes(frame).find((1200 - 256).to_bytes(2, "little"))
    assert idx > 0
    frame[idx : idx + 2] = (356 - 256).to_bytes(2, "little")  # now declares 356 bytes
    assert zstandard.frame_content_size(bytes(frame)) == 356
    with pytest.raises(DecodeError):
        decompress1(Compressed(bytes(frame)))


# --------------------------------------------------------------------------- Hypothesis

_label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
_domains = st.lists(_label, min_size=1, max_size=3).map(lambda xs: ".".join(xs) + ".example")
_onions = st.from_regex(r"[a-z2-7]{16}\.onion", fullmatch=True)
_ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
_ipv6 = st.sampled_from(["::1", "fe80::1", "2001:db8::8a2e:370:7334"])
hosts = st.one_of(_domains, _onions, _ipv4, _ipv6)
servers = st.builds(
    SMPServer,
    st.lists(hosts, min_size=1, max_size=4).map(tuple),
    st.binary(min_size=32, max_size=32),
    st.none() | st.integers(1, 65535),
)
x25519_keys = st.binary(min_size=32, max_size=32).map(lambda b: PublicKey(KeyAlg.X25519, b))
auth_keys = st.one_of(
    x25519_keys,
    st.binary(min_size=32, max_size=32).map(lambda b: PublicKey(KeyAlg.ED25519, b)),
    st.binary(min_size=57, max_size=57).map(lambda b: PublicKey(KeyAlg.ED448, b)),
)
x448_keys = st.binary(min_size=56, max_size=56).map(lambda b: PublicKey(KeyAlg.X448, b))
modes = st.sampled_from([QueueMode.MESSAGING, QueueMode.CONTACT, None])
queue_infos = st.builds(
    SMPQueueInfo, st.just(4), servers, st.binary(max_size=32), x25519_keys, modes
)
int64s = st.integers(-(1 << 63), (1 << 63) - 1)
receipts = st.builds(AMessageReceipt, int64s, st.binary(max_size=40), st.binary(max_size=300))
amessages = st.one_of(
    st.just(HELLO()),
    st.builds(A_MSG, st.binary(max_size=200)),
    st.builds(A_RCVD, st.lists(receipts, min_size=1, max_size=4).map(tuple)),
    st.builds(EREADY, int64s),
)
agent_messages = st.one_of(
    st.builds(AgentConnInfo, st.binary(max_size=200)),
    st.builds(
        AgentConnInfoReply,
        st.lists(queue_infos, min_size=1, max_size=3).map(tuple),
        st.binary(max_size=100).filter(lambda b: b[:1] not in (b"M", b"C", b"T", b"F")),
    ),
    st.builds(AgentRatchetInfo, st.binary(max_size=100)),
    st.builds(AgentMessage, st.builds(APrivHeader, int64s, st.binary(max_size=32)), amessages),
)
e2e_params = st.builds(E2ERatchetParams, st.sampled_from([2, 3]), x448_keys, x448_keys)
versions = st.integers(0, 0xFFFF)
envelopes = st.one_of(
    st.builds(AgentConfirmation, versions, st.none() | e2e_params, st.binary(max_size=200)),
    st.builds(AgentMsgEnvelope, versions, st.binary(max_size=200)),
    st.builds(AgentInvitation, versions, st.binary(max_size=300), st.binary(max_size=200)),
    st.builds(AgentRatchetKey, versions, e2e_params, st.binary(max_size=100)),
)


@given(servers, st.integers(2, 4))
def test_smp_server_round_trip(server: SMPServer, v: int) -> None:
    assert parse_all(encode_smp_server(server, v), lambda r: parse_smp_server(r, v)) == server


@given(queue_infos)
def test_smp_queue_info_round_trip(q: SMPQueueInfo) -> None:
    assert SMPQueueInfo.decode(q.encode()) == q


@given(queue_infos, st.integers(0, 3))
def test_smp_queue_info_old_versions_stable(q: SMPQueueInfo, v: int) -> None:
    old = SMPQueueInfo(v, q.server, q.sender_id, q.dh_public_key, q.queue_mode)
    enc = old.encode()
    assert SMPQueueInfo.decode(enc).encode() == enc


@given(agent_messages)
def test_agent_message_round_trip(m: Any) -> None:
    assert parse_agent_message(m.encode()) == m


@given(envelopes)
def test_agent_envelope_round_trip(e: Any) -> None:
    assert parse_agent_envelope(e.encode()) == e


@given(st.integers(0, 0xFFFF), st.none() | x25519_keys, st.binary(min_size=24, max_size=24))
def test_client_msg_envelope_round_trip(v: int, key: PublicKey | None, nonce: bytes) -> None:
    env = ClientMsgEnvelope(v, key, nonce, b"body")
    assert ClientMsgEnvelope.decode(env.encode()) == env


@given(st.one_of(st.just(PHEmpty()), st.builds(PHConfirmation, auth_keys)), st.binary())
def test_client_message_round_trip(h: Any, body: bytes) -> None:
    cm = ClientMessage(h, body)
    assert ClientMessage.decode(cm.encode()) == cm


@settings(max_examples=30)
@given(st.lists(st.binary(max_size=2000), min_size=1, max_size=5))
def test_compressed_list_round_trip(bodies: list[bytes]) -> None:
    assert decompress_compressed_list(compress_compressed_list(bodies)) == tuple(bodies)


# --------------------------------------------------------------------------- fuzz

PARSERS: dict[str, Callable[[bytes], object]] = {
    "queue_info": SMPQueueInfo.decode,
    "server_v1": lambda d: parse_all(d, lambda r: parse_smp_server(r, 1)),
    "server_v2": lambda d: parse_all(d, lambda r: parse_smp_server(r, 2)),
    "client_msg_envelope": ClientMsgEnvelope.decode,
    "client_message": ClientMessage.decode,
    "agent_envelope": parse_agent_envelope,
    "agent_message": parse_agent_message,
    "amessage": lambda d: parse_all(d, p.parse_amessage),
    "compressed_list": decompress_compressed_list,
    "receipt": lambda d: parse_all(d, AMessageReceipt.parse),
    "priv_header": lambda d: parse_all(d, APrivHeader.parse),
}


def _seeds() -> list[bytes]:
    out: set[bytes] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str) and len(x) % 2 == 0 and len(x) < 40000:
            try:
                out.add(bytes.fromhex(x))
            except ValueError:
                pass

    walk(V)
    return sorted(out)


SEEDS = _seeds()


def _only_decode_error(data: bytes) -> None:
    for parse in PARSERS.values():
        try:
            parse(data)
        except DecodeError:
            pass


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    seed = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 3))
        i = draw(st.integers(0, len(seed)))
        if op == 0 and i < len(seed):
            seed[i] = draw(st.integers(0, 255))
        elif op == 1:
            seed.insert(i, draw(st.integers(0, 255)))
        elif op == 2 and i < len(seed):
            del seed[i]
        else:
            del seed[i:]
    prefix = draw(st.sampled_from([b"", b"M" + bytes(8) + b"\x00", b"D\x01", b"\x00\x07C1"]))
    return prefix + bytes(seed)


def test_seeds_present() -> None:
    assert len(SEEDS) > 30


@settings(max_examples=400)
@given(st.binary(max_size=400))
def test_fuzz_random(data: bytes) -> None:
    _only_decode_error(data)


@settings(max_examples=1000)
@given(mutated())
def test_fuzz_mutated(data: bytes) -> None:
    _only_decode_error(data)


def test_reader_api_used() -> None:
    # every type also parses from a Reader positioned mid-stream
    q = SMPQueueInfo(4, SERVER, b"sid", DH_KEY, QueueMode.CONTACT)
    r = Reader(b"xx" + q.encode() + b"rest")
    r.take(2)
    assert SMPQueueInfo.parse(r) == q
    assert r.tail() == b"rest"
