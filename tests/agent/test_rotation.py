"""Queue rotation without a relay: the switch table's transcripts, and the exact bytes of
QADD, QKEY, QUSE, QTEST and A_QCONT against tests/vectors/agent_protocol.json (the
hand-transcribed ``queue_messages`` and the generator's ``queue_rotation``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from hushwire.agent import machine as m
from hushwire.agent import rotation
from hushwire.agent.links import SMPQueueUri
from hushwire.agent.protocol import (
    AgentMessage,
    APrivHeader,
    QueueMessage,
    parse_agent_message,
)
from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey
from hushwire.encoding.binary import parse_all
from hushwire.errors import DecodeError
from hushwire.smp.address import SMPServer
from hushwire.smp.fields import QueueMode
from hushwire.smp.version import VersionRange

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
TRANSCRIPTS: dict[str, Any] = json.loads((VECTORS / "agent_transcripts.json").read_text())
PROTOCOL: dict[str, Any] = json.loads((VECTORS / "agent_protocol.json").read_text())
ROT: dict[str, Any] = PROTOCOL["queue_rotation"]
H = bytes.fromhex


@pytest.mark.parametrize("t", TRANSCRIPTS["queue_switch"], ids=lambda t: t["name"])
def test_switch_transcript(t: dict[str, Any]) -> None:
    state = t["state"]
    for i, s in enumerate(t["steps"]):
        tr = m.switch_step(state, m.input_from_json(s["input"]))  # type: ignore[arg-type]
        got = [m.effect_to_json(e) for e in tr.effects]
        assert (tr.status, got) == (s["state"], s["effects"]), f"step {i}: {s['input']}"
        assert [m.effect_from_json(e) for e in s["effects"]] == list(tr.effects)
        state = tr.status


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
