"""The Noise core: the classical IK pattern against the cacophony vectors, and the states'
rules (nonces, rekey, tampering)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import load_vectors

from hushwire.grp.noise import (
    IK,
    CipherState,
    DHKey,
    HandshakeState,
    NoiseError,
    SymmetricState,
    blake2s,
    protocol_name,
)

V: Any = load_vectors("grp_noise.json")
h = bytes.fromhex


def _pair() -> tuple[HandshakeState, HandshakeState]:
    name = V["protocol_name"].encode()
    assert name == protocol_name(IK, "25519", "ChaChaPoly", "BLAKE2s")
    resp = DHKey.from_private(h(V["resp_static_hex"]))
    init = HandshakeState(
        name,
        IK,
        initiator=True,
        prologue=h(V["prologue_hex"]),
        s=DHKey.from_private(h(V["init_static_hex"])),
        rs=resp.public,
        ephemeral=DHKey.from_private(h(V["init_ephemeral_hex"])),
    )
    respond = HandshakeState(
        name,
        IK,
        initiator=False,
        prologue=h(V["prologue_hex"]),
        s=resp,
        ephemeral=DHKey.from_private(h(V["resp_ephemeral_hex"])),
    )
    return init, respond


def test_ik_reproduces_the_cacophony_transcript() -> None:
    init, resp = _pair()
    msgs = V["messages"]
    m1 = init.write_message(h(msgs[0]["payload_hex"]))
    assert m1.hex() == msgs[0]["ciphertext_hex"]
    assert resp.read_message(m1) == h(msgs[0]["payload_hex"])
    m2 = resp.write_message(h(msgs[1]["payload_hex"]))
    assert m2.hex() == msgs[1]["ciphertext_hex"]
    assert init.read_message(m2) == h(msgs[1]["payload_hex"])
    assert init.handshake_hash.hex() == V["handshake_hash_hex"]
    assert resp.handshake_hash == init.handshake_hash
    assert init.result is not None and resp.result is not None
    _, i_send, i_recv = init.result
    _, r_send, r_recv = resp.result
    for n, msg in enumerate(msgs[2:]):
        send, recv = (i_send, r_recv) if n % 2 == 0 else (r_send, i_recv)
        ct = send.encrypt_with_ad(b"", h(msg["payload_hex"]))
        assert ct.hex() == msg["ciphertext_hex"]
        assert recv.decrypt_with_ad(b"", ct) == h(msg["payload_hex"])


def test_the_responder_learns_the_initiator_static_key() -> None:
    init, resp = _pair()
    resp.read_message(init.write_message(b""))
    assert resp.rs == DHKey.from_private(h(V["init_static_hex"])).public


@pytest.mark.parametrize("flip", [0, 40, 90])
def test_a_flipped_bit_in_message_1_fails(flip: int) -> None:
    init, resp = _pair()
    m1 = bytearray(init.write_message(b"Ludwig von Mises"))
    m1[flip] ^= 1
    with pytest.raises(NoiseError):
        resp.read_message(bytes(m1))


def test_a_different_prologue_fails() -> None:
    init, _ = _pair()
    resp = HandshakeState(
        V["protocol_name"].encode(),
        IK,
        initiator=False,
        prologue=b"John Galt!",
        s=DHKey.from_private(h(V["resp_static_hex"])),
    )
    with pytest.raises(NoiseError):
        resp.read_message(init.write_message(b""))


def test_short_message_is_refused() -> None:
    _, resp = _pair()
    with pytest.raises(NoiseError, match="too short"):
        resp.read_message(bytes(range(9, 49)))


def test_turns_are_enforced() -> None:
    init, resp = _pair()
    with pytest.raises(ValueError):
        resp.write_message(b"")
    with pytest.raises(ValueError):
        init.read_message(b"")


def test_long_names_are_hashed_short_ones_padded() -> None:
    assert SymmetricState(b"Noise_NN").h == b"Noise_NN" + bytes(24)
    name = b"Noise_IKhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s"
    assert SymmetricState(name).h == blake2s(name)


def test_cipher_state_counts_and_rejects_replays() -> None:
    a, b = CipherState(bytes(32)), CipherState(bytes(32))
    c0 = a.encrypt_with_ad(b"", b"x")
    c1 = a.encrypt_with_ad(b"", b"x")
    assert c0 != c1
    assert b.decrypt_with_ad(b"", c0) == b"x"
    with pytest.raises(NoiseError):
        b.decrypt_with_ad(b"", c0)  # nonce 1 now: the replay fails


def test_rekey_changes_the_key_and_keeps_the_counter() -> None:
    a, b = CipherState(bytes(32)), CipherState(bytes(32))
    b.decrypt_with_ad(b"", a.encrypt_with_ad(b"", b"one"))
    a.rekey()
    ct = a.encrypt_with_ad(b"", b"two")
    with pytest.raises(NoiseError):
        CipherState(bytes(32)).decrypt_with_ad(b"", ct)
    b.rekey()
    assert b.n == 1 and b.decrypt_with_ad(b"", ct) == b"two"
