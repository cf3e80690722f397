"""Ratchet re-synchronisation and queue rotation without a relay.

The sync and switch tables' transcripts (tests/vectors/agent_transcripts.json), the exact
bytes of AgentRatchetKey, QADD, QKEY, QUSE, QTEST and A_QCONT against
tests/vectors/agent_protocol.json (``ratchet_key_message``, ``queue_rotation`` from the
generator, the hand-transcribed ``queue_messages``), and two ratchets agreed from each
other's keys (both orderings of the key hashes) that talk at once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import check_transcript

from hushwire.agent import machine as m
from hushwire.agent import resync, rotation
from hushwire.agent.links import SMPQueueUri
from hushwire.agent.protocol import (
    AgentMessage,
    AgentRatchetKey,
    APrivHeader,
    ClientMessage,
    PHEmpty,
    QueueMessage,
    parse_agent_envelope,
    parse_agent_message,
)
from hushwire.agent.ratchet import (
    E2ERatchetParams,
    RatchetDuplicate,
    RatchetEarlier,
    RatchetHeaderError,
    RatchetKEMError,
    RatchetTooManySkipped,
)
from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey
from hushwire.encoding.binary import parse_all
from hushwire.errors import CryptoError, DecodeError
from hushwire.smp.address import SMPServer
from hushwire.smp.fields import QueueMode
from hushwire.smp.version import VersionRange

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
TRANSCRIPTS: dict[str, Any] = json.loads((VECTORS / "agent_transcripts.json").read_text())
PROTOCOL: dict[str, Any] = json.loads((VECTORS / "agent_protocol.json").read_text())
ROT: dict[str, Any] = PROTOCOL["queue_rotation"]
H = bytes.fromhex


def _x448(label: bytes) -> PrivateKey:
    """The vectors' X448 keys: SHA-512(label)[:56]."""
    return PrivateKey(KeyAlg.X448, hashlib.sha512(label).digest()[:56])


@pytest.mark.parametrize("t", TRANSCRIPTS["ratchet_sync"], ids=lambda t: t["name"])
def test_sync_transcript(t: dict[str, Any]) -> None:
    check_transcript(m.sync_step, t)


def test_sync_table_refuses_what_it_does_not_know() -> None:
    assert m.sync_step("broken", m.Decrypted()).effects == (m.Refuse("illegal"),)
    assert [m.sync_send_prohibited(s) for s in m.SyncState] == [False, False, True, True, True]


def test_ratchet_key_message_bytes() -> None:
    v = PROTOCOL["ratchet_key_message"]
    keys = _x448(b"b1"), _x448(b"b2")
    assert keys[0].public().to_der().hex() == PROTOCOL["e2e_keys"]["k1_der"]
    cm = resync.ratchet_key_message(keys, v["e2e_version"], v["agent_version"])
    assert cm.hex() == v["client_message_hex"]
    assert resync.RATCHET_INFO_HASH.hex() == v["next_prev_msg_hash"]
    env = parse_agent_envelope(ClientMessage.decode(cm).body)
    assert isinstance(env, AgentRatchetKey) and env.info == b"R"
    assert env.e2e == E2ERatchetParams(3, keys[0].public(), keys[1].public())


def test_a_ratchet_key_cannot_carry_a_kem_acceptance() -> None:
    v = PROTOCOL["ratchet_key_message"]
    cm = bytes.fromhex(v["client_message_hex"])
    body = ClientMessage.decode(cm).body
    # Replace the Maybe KEM '0' (just before the info 'R') by '1' 'A' and a ciphertext.
    accepted = body[:-2] + b"1A" + b"\x00\x04abcd" + b"\x00\x04efgh" + b"R"
    with pytest.raises(DecodeError):
        parse_agent_envelope(accepted)
    assert ClientMessage(PHEmpty(), body).encode() == cm


@pytest.mark.parametrize("swap", [False, True])
def test_both_sides_agree_and_talk(swap: bool) -> None:
    a = _x448(b"b1"), _x448(b"b2")
    b = _x448(b"c1"), _x448(b"c2")
    if swap:
        a, b = b, a
    pa = E2ERatchetParams(3, a[0].public(), a[1].public())
    pb = E2ERatchetParams(3, b[0].public(), b[1].public())
    ra, a_sends = resync.agree(a, pb)
    rb, b_sends = resync.agree(b, pa)
    # Exactly one side takes the joiner's part: the one whose keys hash higher.
    assert a_sends != b_sends
    assert a_sends == (resync.key_hash(*(k.public() for k in a)) > resync.key_hash(pb.k1, pb.k2))
    sender, receiver = (ra, rb) if a_sends else (rb, ra)
    assert sender.can_send and not receiver.can_send
    enc, sender = sender.encrypt(b"EREADY", 200)
    plain, receiver = receiver.decrypt(enc)
    assert plain == b"EREADY" and receiver.can_send
    enc, receiver = receiver.encrypt(b"and back", 200)
    plain, sender = sender.decrypt(enc)
    assert plain == b"and back"


def test_crypto_failures_as_the_reference_names_them() -> None:
    assert resync.crypto_failure(RatchetHeaderError()) is m.CryptoFailure.RATCHET_HEADER
    assert resync.crypto_failure(RatchetEarlier(2)) is m.CryptoFailure.RATCHET_EARLIER
    assert resync.crypto_failure(RatchetTooManySkipped(600)) is m.CryptoFailure.RATCHET_SKIPPED
    assert resync.crypto_failure(CryptoError()) is m.CryptoFailure.DECRYPT_AES
    # Not a reason to re-synchronise: a duplicate, a KEM state error, a parse error.
    assert resync.crypto_failure(RatchetDuplicate()) is None
    assert resync.crypto_failure(RatchetKEMError()) is None
    assert resync.crypto_failure(DecodeError("x")) is None


# --------------------------------------------------------------------------- rotation


@pytest.mark.parametrize("t", TRANSCRIPTS["queue_switch"], ids=lambda t: t["name"])
def test_switch_transcript(t: dict[str, Any]) -> None:
    check_transcript(m.switch_step, t)


@pytest.mark.parametrize("case", PROTOCOL["queue_messages"], ids=lambda c: c["name"])
def test_committed_queue_messages_as_records(case: dict[str, Any]) -> None:
    msg = QueueMessage(case["tag"].encode(), H(case["raw"]))
    record = rotation.decode_queue_message(msg)
    assert record.TAG == msg.tag and record.body() == msg.raw
    assert record.to_message() == msg


def _record(hex_: str) -> rotation.QueueRecord:
    data = H(hex_)
    return rotation.decode_queue_message(QueueMessage(data[:2], data[2:]))


def test_our_answers_to_a_rotation_byte_for_byte() -> None:
    qadd = _record(ROT["qadd_hex"])
    assert isinstance(qadd, rotation.QADD) and qadd.body() == H(ROT["qadd_hex"])[2:]
    uri, replaced = qadd.queues[0]
    assert uri.versions == VersionRange(1, 4) and uri.queue_mode is QueueMode.MESSAGING
    assert replaced is not None and replaced[1] == H(ROT["old_sender_id"])
    e2e = PrivateKey(KeyAlg.X25519, H(ROT["e2e_priv"])).public()
    auth = PublicKey.from_der(H(ROT["auth_pub_der"]))
    entry = rotation.qkey_for(uri, e2e, auth)
    assert entry is not None
    assert rotation.QKEY((entry,)).to_message().encode() == H(ROT["qkey_hex"])
    new: rotation.SndQAddr = (uri.server, uri.sender_id)
    assert rotation.QUSE(((new, True),)).to_message().encode() == H(ROT["quse_hex"])
    assert rotation.QTEST((new,)).to_message().encode() == H(ROT["qtest_hex"])
    # As an AgentMessage in the hash chain.
    am = AgentMessage(APrivHeader(5, b"\x01" * 32), rotation.QTEST((new,)).to_message())
    assert parse_agent_message(am.encode()) == am


def test_no_qkey_without_a_common_client_version() -> None:
    qadd = _record(ROT["qadd_hex"])
    assert isinstance(qadd, rotation.QADD)
    uri = qadd.queues[0][0]
    future = SMPQueueUri(VersionRange(9, 10), uri.server, uri.sender_id, uri.dh_public_key)
    key = PrivateKey.generate(KeyAlg.X25519).public()
    assert rotation.qkey_for(future, key, key) is None


@pytest.mark.parametrize(
    ("versions", "mode", "tail"),
    [
        (VersionRange(4, 4), QueueMode.MESSAGING, b"M"),
        (VersionRange(4, 4), None, b""),
        (VersionRange(3, 4), QueueMode.CONTACT, b"F"),
        (VersionRange(1, 4), QueueMode.MESSAGING, b"T"),
        (VersionRange(1, 4), QueueMode.CONTACT, b""),
        (VersionRange(1, 2), QueueMode.MESSAGING, b""),
    ],
)
def test_queue_uri_mode_by_version_range(
    versions: VersionRange, mode: QueueMode | None, tail: bytes
) -> None:
    """SMPQueueUri Encoding: the mode byte only from min v4, the sndSecure flag from min v3 or
    when the range reaches v3 and the sender may secure."""
    server = SMPServer(("relay.example",), hashlib.sha256(b"k").digest(), 5223)
    dh = PrivateKey.generate(KeyAlg.X25519).public()
    uri = SMPQueueUri(versions, server, b"\x07" * 24, dh, mode)
    data = rotation.encode_queue_uri(uri)
    base = rotation.encode_queue_uri(SMPQueueUri(VersionRange(1, 2), server, b"\x07" * 24, dh))
    assert data == base[:0] + versions.encode() + base[4:] + tail
    back = parse_all(data, rotation.parse_queue_uri)
    assert back.versions == versions and back.sender_id == uri.sender_id


def test_malformed_queue_messages_are_decode_errors() -> None:
    qtest = H(ROT["qtest_hex"])
    for bad in (qtest + b"x", qtest[:-1], b"QT\x00"):
        with pytest.raises(DecodeError):
            parse_agent_message(b"M" + APrivHeader(1, b"").encode() + bad)
