"""Sealing and opening the agent's encryption layers (pure functions, randomness as argument).

A message between two agents travels in three layers (docs/protocol/agent.md):

1. the server-to-recipient layer, added by the relay and opened by the SMP client
   (``hushwire.client.decrypt_message_with_key``, simplexmq ``Simplex.Messaging.Client``);
2. the per-queue e2e layer: a NaCl crypto_box between our key and the queue's ``dh=`` key,
   ``ClientMsgEnvelope`` / ``ClientMessage`` (simplexmq ``Simplex.Messaging.Agent.Client``
   ``agentCbEncrypt``/``agentCbDecrypt``);
3. the double ratchet around the ``AgentMessage`` (simplexmq ``Simplex.Messaging.Crypto.Ratchet``),
   inside an ``AgentMsgEnvelope`` or, for the first message of each side, an
   ``AgentConfirmation`` (simplexmq ``Simplex.Messaging.Agent.Protocol``).

This module does layers 2 and 3; the agent (``hushwire.agent.agent``) stores what they
produce. Nothing here touches the network, the store or the clock.
"""

from __future__ import annotations

from collections.abc import Callable

from hushwire.agent.protocol import (
    AGENT_MSG_PAD,
    CONN_INFO_PAD,
    E2E_CONFIRMATION_PAD,
    E2E_MESSAGE_PAD,
    SMP_CLIENT_VERSIONS,
    AgentConfirmation,
    AgentMsgEnvelope,
    ClientMessage,
    ClientMsgEnvelope,
    PHEmpty,
    PrivHeader,
    decrypt_client_message,
    encrypt_client_message,
)
from hushwire.agent.ratchet import (
    E2E_VERSIONS,
    E2ERatchetParams,
    E2ERatchetParamsUri,
    Ratchet,
    x3dh_initiator,
    x3dh_joiner,
)
from hushwire.crypto.keys import KeyPair, PrivateKey, PublicKey
from hushwire.crypto.nacl import NONCE_SIZE, dh_box_key

__all__ = [
    "initiator_confirmation",
    "joiner_confirmation",
    "key_pair",
    "open_agent_message",
    "open_client_message",
    "open_initiator_confirmation",
    "queue_key",
    "seal_agent_message",
    "seal_client_message",
    "seal_client_message_with_key",
]


def key_pair(private_der: bytes) -> KeyPair:
    """The key pair of a stored private key (PKCS#8 DER)."""
    priv = PrivateKey.from_der(private_der)
    return KeyPair(priv.public(), priv)


def queue_key(peer_public: bytes, own_private: bytes) -> bytes:
    """A NaCl box key from DER keys (SPKI, PKCS#8): the server layer's key of one of our
    queues (the relay's key from IDS, our private key)."""
    return dh_box_key(PublicKey.from_der(peer_public), PrivateKey.from_der(own_private))


def seal_client_message(
    peer_e2e_key: bytes,
    own_e2e_key: bytes,
    client_message: bytes,
    *,
    first: bool,
    random_bytes: Callable[[int], bytes],
) -> bytes:
    """Layer 2 around an encoded ``ClientMessage``: the ``ClientMsgEnvelope`` to SEND.

    The first message on a queue carries our public key and is padded to the confirmation
    size. Encrypted again with a new nonce while the result ends in '#': simplex-js strips
    trailing '#' bytes instead of honouring the pad length.
    """
    own = PrivateKey.from_der(own_e2e_key)
    shared = dh_box_key(PublicKey.from_der(peer_e2e_key), own)
    return seal_client_message_with_key(
        shared, own.public() if first else None, client_message, random_bytes=random_bytes
    )


def seal_client_message_with_key(
    shared: bytes,
    own_public: PublicKey | None,
    client_message: bytes,
    *,
    random_bytes: Callable[[int], bytes],
) -> bytes:
    """:func:`seal_client_message` with the queue's box key computed once (``queue_key``
    of the peer's ``dh=`` key and ours); ``own_public`` is given for the first message only."""
    pad = E2E_CONFIRMATION_PAD if own_public is not None else E2E_MESSAGE_PAD
    while True:
        nonce = random_bytes(NONCE_SIZE)
        enc = encrypt_client_message(shared, nonce, client_message, pad)
        env = ClientMsgEnvelope(SMP_CLIENT_VERSIONS.max, own_public, nonce, enc).encode()
        if not env.endswith(b"#"):
            return env


def open_client_message(shared: bytes, env: ClientMsgEnvelope) -> ClientMessage:
    """Open layer 2 with the queue's box key."""
    return ClientMessage.decode(decrypt_client_message(shared, env.nonce, env.enc_body))


def seal_agent_message(
    ratchet: Ratchet, agent_message: bytes, agent_version: int
) -> tuple[bytes, Ratchet]:
    """Layer 3 around an encoded ``AgentMessage``: the ``ClientMessage`` ('_' header) with
    its ``AgentMsgEnvelope``, and the ratchet after the step."""
    enc, ratchet = ratchet.encrypt(agent_message, AGENT_MSG_PAD)
    env = AgentMsgEnvelope(agent_version, enc).encode()
    return ClientMessage(PHEmpty(), env).encode(), ratchet


def open_agent_message(
    ratchet: Ratchet, enc_agent_message: bytes, new_dh: KeyPair | None = None
) -> tuple[bytes, Ratchet]:
    """Open layer 3: the ``AgentMessage`` bytes and the ratchet after the step (``new_dh``:
    our next ratchet key if it makes a DH ratchet step, made ahead of time)."""
    return ratchet.decrypt(enc_agent_message, new_dh=new_dh)


def joiner_ratchet(
    peer: E2ERatchetParamsUri,
    e2e_version: int,
    keys: tuple[KeyPair, KeyPair],
    dh_pair: KeyPair | None = None,
) -> Ratchet:
    """The joiner's new ratchet: X3DH of our ``keys`` with the invitation's, and our first
    ratchet key ``dh_pair`` (fresh if not given)."""
    k1, k2 = keys
    x3dh = x3dh_joiner(k1.private, k2.private, peer)
    return Ratchet.init_joiner(x3dh, peer.k2, e2e_version, dh_pair=dh_pair)


def joiner_confirmation(
    peer: E2ERatchetParamsUri,
    e2e_version: int,
    agent_version: int,
    conn_info_reply: bytes,
    keys: tuple[KeyPair, KeyPair],
    header: PrivHeader,
    *,
    ratchet: Ratchet | None = None,
) -> tuple[bytes, Ratchet]:
    """The joiner's confirmation (``ClientMessage`` with ``header``): X3DH with the
    invitation's keys, the new ratchet's first message (``AgentConnInfoReply``).
    ``ratchet``: :func:`joiner_ratchet` of the same arguments, if made already."""
    k1, k2 = keys
    if ratchet is None:
        ratchet = joiner_ratchet(peer, e2e_version, keys)
    enc, ratchet = ratchet.encrypt(conn_info_reply, CONN_INFO_PAD)
    conf = AgentConfirmation(
        agent_version, E2ERatchetParams(e2e_version, k1.public, k2.public), enc
    ).encode()
    return ClientMessage(header, conf).encode(), ratchet


def open_initiator_confirmation(
    conf: AgentConfirmation,
    x3dh_keys: tuple[PrivateKey, PrivateKey],
    new_dh: KeyPair | None = None,
) -> tuple[bytes, Ratchet]:
    """The initiator opens the joiner's confirmation: X3DH with our two private keys, the
    ratchet, its first message (the ``AgentConnInfoReply`` bytes). ``new_dh``: our next
    ratchet key (the first message makes a DH ratchet step), fresh if not given."""
    assert conf.e2e is not None
    k1, k2 = x3dh_keys
    keys = x3dh_initiator(k1, k2, conf.e2e)
    ratchet = Ratchet.init_initiator(
        keys, KeyPair(k2.public(), k2), min(conf.e2e.version, E2E_VERSIONS.max)
    )
    return ratchet.decrypt(conf.enc_conn_info, new_dh=new_dh)


def initiator_confirmation(
    ratchet: Ratchet, conn_info: bytes, agent_version: int, header: PrivHeader
) -> tuple[bytes, Ratchet]:
    """The initiator's confirmation (``ClientMessage`` with ``header``): its
    ``AgentConnInfo`` as the ratchet's next message, no ratchet keys."""
    enc, ratchet = ratchet.encrypt(conn_info, CONN_INFO_PAD)
    conf = AgentConfirmation(agent_version, None, enc).encode()
    return ClientMessage(header, conf).encode(), ratchet
