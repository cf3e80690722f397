"""Ratchet re-synchronisation without a relay: the sync table's transcripts, the
AgentRatchetKey bytes against tests/vectors/agent_protocol.json, and two ratchets agreed
from each other's keys (both orderings of the key hashes) that talk at once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from hushwire.agent import machine as m
from hushwire.agent import resync
from hushwire.agent.protocol import AgentRatchetKey, ClientMessage, PHEmpty, parse_agent_envelope
from hushwire.agent.ratchet import (
    E2ERatchetParams,
    RatchetDuplicate,
    RatchetEarlier,
    RatchetHeaderError,
    RatchetKEMError,
    RatchetTooManySkipped,
)
from hushwire.crypto.keys import KeyAlg, PrivateKey
from hushwire.errors import CryptoError, DecodeError

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
TRANSCRIPTS: dict[str, Any] = json.loads((VECTORS / "agent_transcripts.json").read_text())
PROTOCOL: dict[str, Any] = json.loads((VECTORS / "agent_protocol.json").read_text())


def _x448(label: bytes) -> PrivateKey:
    """The vectors' X448 keys: SHA-512(label)[:56]."""
    return PrivateKey(KeyAlg.X448, hashlib.sha512(label).digest()[:56])


@pytest.mark.parametrize("t", TRANSCRIPTS["ratchet_sync"], ids=lambda t: t["name"])
def test_sync_transcript(t: dict[str, Any]) -> None:
    state = t["state"]
    for i, s in enumerate(t["steps"]):
        tr = m.sync_step(state, m.input_from_json(s["input"]))  # type: ignore[arg-type]
        got = [m.effect_to_json(e) for e in tr.effects]
        assert (tr.status, got) == (s["state"], s["effects"]), f"step {i}: {s['input']}"
        assert [m.effect_from_json(e) for e in s["effects"]] == list(tr.effects)
        state = tr.status


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
