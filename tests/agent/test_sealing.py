"""hushwire.agent.sealing: the per-queue e2e layer and the ratchet layer, sealed and opened
without a relay (both ends in one process, randomness given)."""

from __future__ import annotations

from collections.abc import Callable

from hushwire.agent import sealing
from hushwire.agent.protocol import (
    CONN_INFO_PAD,
    E2E_CONFIRMATION_PAD,
    E2E_MESSAGE_PAD,
    SMP_CLIENT_VERSIONS,
    AgentConfirmation,
    AgentMsgEnvelope,
    ClientMessage,
    ClientMsgEnvelope,
    PHConfirmation,
    PHEmpty,
    encrypt_client_message,
    parse_agent_envelope,
)
from hushwire.agent.ratchet import E2E_VERSIONS, E2ERatchetParamsUri, Ratchet
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey


def _pair() -> tuple[bytes, bytes]:
    """(public SPKI DER, private PKCS#8 DER) of a fresh X25519 key."""
    k = PrivateKey.generate(KeyAlg.X25519)
    return k.public().to_der(), k.to_der()


def _counter() -> Callable[[int], bytes]:
    n = 0

    def rand(size: int) -> bytes:
        nonlocal n
        n += 1
        return n.to_bytes(size, "big")

    return rand


def test_client_message_round_trip_first_and_later() -> None:
    queue_pub, queue_priv = _pair()
    own_pub, own_priv = _pair()
    cm = ClientMessage(PHEmpty(), b"agent envelope").encode()
    for first in (True, False):
        env_bytes = sealing.seal_client_message(
            queue_pub, own_priv, cm, first=first, random_bytes=_counter()
        )
        env = ClientMsgEnvelope.decode(env_bytes)
        assert env.ph_version == SMP_CLIENT_VERSIONS.max
        assert (env.e2e_key is not None) is first
        pad = E2E_CONFIRMATION_PAD if first else E2E_MESSAGE_PAD
        assert len(env.enc_body) == pad + 16  # crypto_box tag
        # the recipient opens it with its queue key and our public key
        shared = sealing.queue_key(own_pub, queue_priv)
        assert sealing.open_client_message(shared, env).encode() == cm
        assert not env_bytes.endswith(b"#")


def test_an_envelope_ending_in_hash_is_sealed_again() -> None:
    """simplex-js strips trailing '#': a result ending in one is sealed again (next nonce)."""
    queue_pub, _ = _pair()
    _, own_priv = _pair()
    cm = ClientMessage(PHEmpty(), b"x").encode()
    shared = sealing.queue_key(queue_pub, own_priv)

    def envelope(nonce: bytes) -> bytes:
        enc = encrypt_client_message(shared, nonce, cm, E2E_MESSAGE_PAD)
        return ClientMsgEnvelope(SMP_CLIENT_VERSIONS.max, None, nonce, enc).encode()

    nonces = [i.to_bytes(24, "big") for i in range(100000)]
    bad = next(n for n in nonces if envelope(n).endswith(b"#"))
    # the keys are random: any nonce may end in '#', so the good one is looked for too
    good = next(n for n in nonces if not envelope(n).endswith(b"#"))
    given = [bad, good]
    out = sealing.seal_client_message(
        queue_pub, own_priv, cm, first=False, random_bytes=lambda size: given.pop(0)
    )
    assert out == envelope(good) and given == []


def test_confirmations_and_messages_through_the_ratchet() -> None:
    """The joiner's confirmation opens on the initiator's side; then messages both ways."""
    i1, i2 = PrivateKey.generate(KeyAlg.X448), PrivateKey.generate(KeyAlg.X448)
    uri = E2ERatchetParamsUri(E2E_VERSIONS, i1.public(), i2.public())
    keys = KeyPair.generate(KeyAlg.X448), KeyPair.generate(KeyAlg.X448)
    sender = KeyPair.generate(KeyAlg.ED25519).public
    cm, joiner = sealing.joiner_confirmation(
        uri, E2E_VERSIONS.max, 7, b"reply queues", keys, PHConfirmation(sender)
    )
    msg = ClientMessage.decode(cm)
    assert msg.priv_header == PHConfirmation(sender)
    conf = parse_agent_envelope(msg.body)
    assert isinstance(conf, AgentConfirmation) and conf.e2e is not None
    data, initiator = sealing.open_initiator_confirmation(conf, (i1, i2))
    assert data == b"reply queues"
    cm2, initiator = sealing.initiator_confirmation(initiator, b"profile", 7, PHEmpty())
    conf2 = parse_agent_envelope(ClientMessage.decode(cm2).body)
    assert isinstance(conf2, AgentConfirmation) and conf2.e2e is None
    assert len(conf2.enc_conn_info) > CONN_INFO_PAD
    info, joiner = sealing.open_agent_message(joiner, conf2.enc_conn_info)
    assert info == b"profile"
    cm3, joiner = sealing.seal_agent_message(joiner, b"agent message", 7)
    env = parse_agent_envelope(ClientMessage.decode(cm3).body)
    assert isinstance(env, AgentMsgEnvelope) and env.agent_version == 7
    got, initiator = sealing.open_agent_message(initiator, env.enc_agent_message)
    assert got == b"agent message"
    assert isinstance(initiator, Ratchet)
