"""The GRP/1 handshake: the fixed regression transcript, the relay's key proof, and every
way a handshake must fail."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.conftest import load_vectors
from tests.grp.kemfixed import fixed_suite

from hushwire.crypto.keys import KeyAlg
from hushwire.encoding.strings import b64url_decode
from hushwire.grp.frames import FrameReceiver, FrameSender, FrameType
from hushwire.grp.handshake import (
    MSG1_SIZE,
    PROTOCOL_NAME,
    ROLE_CLIENT,
    ROLE_RELAY,
    GrpHandshakeError,
    Initiator,
    Responder,
    static_proof,
    verify_static_proof,
)
from hushwire.grp.noise import DHKey, blake2s
from hushwire.testing.relay import FakeIdentity

V: Any = load_vectors("grp_handshake.json")
h = bytes.fromhex
KEY_HASH = b64url_decode(V["key_hash_b64url"])
PING_BLOCK = h("0022" + "01001f0018") + bytes(range(24)) + h("0050494e47") + b"#" * 16348


def _fixed() -> tuple[Initiator, Responder, DHKey]:
    suite = fixed_suite(h(V["kem_seed_hex"]), h(V["kem_m_hex"]))
    rs = DHKey.from_private(h(V["responder_static_hex"]))
    init = Initiator(
        KEY_HASH,
        rs.public,
        static=DHKey.from_private(h(V["initiator_static_hex"])),
        ephemeral=DHKey.from_private(h(V["initiator_ephemeral_hex"])),
        kem=suite,
    )
    resp = Responder(
        KEY_HASH,
        rs,
        h(V["p2_hex"]),
        ephemeral=DHKey.from_private(h(V["responder_ephemeral_hex"])),
        kem=suite,
    )
    return init, resp, rs


def test_the_regression_transcript() -> None:
    init, resp, rs = _fixed()
    assert blake2s(PROTOCOL_NAME).hex() == V["h0_hex"]
    assert rs.public.hex() == V["rs_hex"]
    m1 = init.first_message()
    assert len(m1) == V["msg1_len"] == MSG1_SIZE
    assert m1[:32].hex() == V["msg1_prefix_hex"]
    assert hashlib.sha256(m1).hexdigest() == V["msg1_sha256_hex"]
    assert resp.read_first(m1) == h(V["p1_hex"]) == ROLE_CLIENT
    m2, rkeys = resp.reply()
    assert len(m2) == V["msg2_len"]
    assert hashlib.sha256(m2).hexdigest() == V["msg2_sha256_hex"]
    ikeys = init.finish(m2)
    assert ikeys.handshake_hash.hex() == rkeys.handshake_hash.hex() == V["handshake_hash_hex"]
    assert ikeys.send.k is not None and ikeys.send.k.hex() == V["k_c2r_hex"]
    assert ikeys.recv.k is not None and ikeys.recv.k.hex() == V["k_r2c_hex"]
    assert rkeys.peer_static == DHKey.from_private(h(V["initiator_static_hex"])).public

    sender, receiver = FrameSender(ikeys.send), FrameReceiver(rkeys.recv)
    frames = V["frames_c2r"]
    f0 = sender.seal(FrameType.DATA, PING_BLOCK)
    assert len(f0) == frames[0]["len"]
    assert hashlib.sha256(f0).hexdigest() == frames[0]["sha256_hex"]
    f1 = sender.seal(FrameType.COVER)
    assert hashlib.sha256(f1).hexdigest() == frames[1]["sha256_hex"]
    f2 = sender.seal(FrameType.REKEY)
    assert ikeys.send.k.hex() == frames[2]["new_k_hex"]
    f3 = sender.seal(FrameType.COVER)
    assert f3[:16].hex() == frames[3]["prefix_hex"]
    got = [receiver.open(f) for f in (f0, f1, f2, f3)]
    assert [f.type for f in got] == [
        FrameType.DATA,
        FrameType.COVER,
        FrameType.REKEY,
        FrameType.COVER,
    ]
    assert got[0].body == PING_BLOCK


def test_a_wrong_key_hash_fails_at_message_1() -> None:
    init, _, rs = _fixed()
    other = Responder(bytes(32), rs, b"")
    with pytest.raises(GrpHandshakeError, match="does not decrypt"):
        other.read_first(init.first_message())


def test_a_wrong_static_key_fails_at_message_1() -> None:
    init, _, _ = _fixed()
    with pytest.raises(GrpHandshakeError):
        Responder(KEY_HASH, DHKey.generate(), b"").read_first(init.first_message())


@pytest.mark.parametrize("where", [0, 31, 32, 600, 1231, 1280, MSG1_SIZE - 1])
def test_any_tampered_byte_of_message_1_fails(where: int) -> None:
    init, resp, _ = _fixed()
    m1 = bytearray(init.first_message())
    m1[where] ^= 0x80
    with pytest.raises(GrpHandshakeError):
        resp.read_first(bytes(m1))


@pytest.mark.parametrize("where", [0, 33, 1100, 1151])
def test_any_tampered_byte_of_message_2_fails(where: int) -> None:
    init, resp, _ = _fixed()
    resp.read_first(init.first_message())
    m2 = bytearray(resp.reply()[0])
    m2[where] ^= 0x01
    with pytest.raises(GrpHandshakeError):
        init.finish(bytes(m2))


@pytest.mark.parametrize("size", [MSG1_SIZE - 1, MSG1_SIZE + 1, 0])
def test_message_1_of_another_size_fails(size: int) -> None:
    _, resp, _ = _fixed()
    with pytest.raises(GrpHandshakeError, match="msg 1 of"):
        resp.read_first(bytes(size))


def test_unknown_role_and_unknown_relay_peer_are_refused() -> None:
    rs = DHKey.generate()
    init = Initiator(KEY_HASH, rs.public, role=ROLE_RELAY)
    resp = Responder(KEY_HASH, rs, b"", roles=(ROLE_CLIENT,))
    with pytest.raises(GrpHandshakeError, match="unknown role"):
        resp.read_first(init.first_message())
    peer = DHKey.generate()
    init = Initiator(KEY_HASH, rs.public, role=ROLE_RELAY, static=peer)
    resp = Responder(KEY_HASH, rs, b"", accept_peer=lambda k: k == b"someone else")
    with pytest.raises(GrpHandshakeError, match="unknown relay peer"):
        resp.read_first(init.first_message())
    init = Initiator(KEY_HASH, rs.public, role=ROLE_RELAY, static=peer)
    resp = Responder(KEY_HASH, rs, b"", accept_peer=lambda k: k == peer.public)
    assert resp.read_first(init.first_message()) == ROLE_RELAY


def test_a_random_handshake_agrees() -> None:
    rs = DHKey.generate()
    init = Initiator(KEY_HASH, rs.public)
    resp = Responder(KEY_HASH, rs, b"proof")
    resp.read_first(init.first_message())
    m2, rkeys = resp.reply()
    ikeys = init.finish(m2)
    assert ikeys.payload == b"proof"
    assert ikeys.handshake_hash == rkeys.handshake_hash
    assert ikeys.send.k == rkeys.recv.k and ikeys.recv.k == rkeys.send.k


@pytest.mark.parametrize("alg", [KeyAlg.ED25519, KeyAlg.ED448])
def test_the_key_proof_pins_the_static_key_to_the_smp_identity(alg: KeyAlg) -> None:
    ident = FakeIdentity.make(alg)
    static = DHKey.generate()
    proof = static_proof(ident.cert_chain, ident.online_key, static.public)
    now = datetime.now(UTC)
    verify_static_proof(proof, ident.key_hash, static.public, now=now)
    with pytest.raises(GrpHandshakeError, match="another identity"):
        verify_static_proof(proof, FakeIdentity.make(alg).key_hash, static.public, now=now)
    with pytest.raises(GrpHandshakeError, match="another static key"):
        verify_static_proof(proof, ident.key_hash, DHKey.generate().public, now=now)
    with pytest.raises(GrpHandshakeError, match="does not parse"):
        verify_static_proof(proof + b"\x00", ident.key_hash, static.public, now=now)
    # A proof signed by another identity's online key over this chain.
    stranger = FakeIdentity.make(alg)
    forged = static_proof(ident.cert_chain, stranger.online_key, static.public)
    with pytest.raises(GrpHandshakeError, match="not valid"):
        verify_static_proof(forged, ident.key_hash, static.public, now=now)
