"""Ratchet re-synchronisation: the pure parts (no I/O, randomness as argument).

Mirrors simplexmq ``Simplex.Messaging.Agent`` (``synchronizeRatchet'``, ``newRatchetKey``,
``enqueueRatchetKey``, ``ereadyMsg``) and ``Simplex.Messaging.Crypto.Ratchet``
(``generateRcvE2EParams``, ``pqX3dhSnd``/``pqX3dhRcv``, ``initSndRatchet``/``initRcvRatchet``);
docs/protocol/agent.md ("Ratchet re-synchronisation") describes the exchange. The decisions
(when to send keys, when to agree, what the application is told) are rows of
:data:`hushwire.agent.machine.SYNC_TABLE`; this module builds the messages and the new ratchet.

* :func:`ratchet_key_message` is the ``ClientMessage`` around an ``AgentRatchetKey``: not
  ratchet-encrypted, only the per-queue box protects it. It takes one message id of the
  sender's hash chain, and the chain goes on from ``SHA-256("R")`` (:data:`RATCHET_INFO_HASH`).
* :func:`agree` makes the new ratchet: the side whose keys hash lower takes the initiator's
  part of X3DH (receiving ratchet), the other the joiner's (sending ratchet, and it sends
  ``EREADY`` at once).
* :func:`crypto_failure` names a decryption failure as simplexmq ``AgentCryptoError`` does.
"""

from __future__ import annotations

from hushwire.agent.machine import CryptoFailure
from hushwire.agent.protocol import (
    AGENT_VERSIONS,
    AgentRatchetInfo,
    AgentRatchetKey,
    ClientMessage,
    PHEmpty,
)
from hushwire.agent.ratchet import (
    E2E_VERSIONS,
    E2ERatchetParams,
    Ratchet,
    RatchetEarlier,
    RatchetHeaderError,
    RatchetTooManySkipped,
    x3dh_initiator,
    x3dh_joiner,
)
from hushwire.crypto.kdf import sha256
from hushwire.crypto.keys import KeyPair, PrivateKey, PublicKey
from hushwire.errors import CryptoError

__all__ = [
    "RATCHET_INFO",
    "RATCHET_INFO_HASH",
    "agree",
    "crypto_failure",
    "key_hash",
    "ratchet_key_message",
]

RATCHET_INFO: bytes = AgentRatchetInfo(b"").encode()
"""``smpEncode (AgentRatchetInfo "")``: the ``info`` of every AgentRatchetKey (``R``)."""
RATCHET_INFO_HASH: bytes = sha256(RATCHET_INFO)
"""The sender's hash chain after an AgentRatchetKey (``internalHash`` of that message)."""


def key_hash(k1: PublicKey, k2: PublicKey) -> bytes:
    """SHA-256 of the two raw X448 public keys (``rkHash``): orders the two sides and names
    a processed AgentRatchetKey."""
    return sha256(k1.raw + k2.raw)


def ratchet_key_message(
    keys: tuple[PrivateKey, PrivateKey], e2e_version: int, agent_version: int = AGENT_VERSIONS.max
) -> bytes:
    """The ``ClientMessage`` ('_' header) carrying our AgentRatchetKey: ``e2e_version`` and
    the public halves of ``keys``, no KEM (we do not propose post-quantum keys)."""
    k1, k2 = keys
    params = E2ERatchetParams(e2e_version, k1.public(), k2.public())
    env = AgentRatchetKey(agent_version, params, RATCHET_INFO).encode()
    return ClientMessage(PHEmpty(), env).encode()


def agree(
    own: tuple[PrivateKey, PrivateKey],
    peer: E2ERatchetParams,
    *,
    new_dh: KeyPair | None = None,
) -> tuple[Ratchet, bool]:
    """The re-synchronised ratchet from our two keys and the peer's AgentRatchetKey, and
    whether we must send ``EREADY`` now (we took the joiner's part: a sending ratchet).

    The versions are the peer's e2e version and our maximum (``RatchetVersions``);
    ``new_dh`` is the first ratchet key of the joiner's part (fresh when not given)."""
    k1, k2 = own
    if key_hash(k1.public(), k2.public()) <= key_hash(peer.k1, peer.k2):
        keys = x3dh_initiator(k1, k2, peer)
        pair = KeyPair(k2.public(), k2)
        return Ratchet.init_initiator(keys, pair, peer.version, max_version=E2E_VERSIONS.max), False
    keys = x3dh_joiner(k1, k2, peer)
    ratchet = Ratchet.init_joiner(
        keys, peer.k2, peer.version, dh_pair=new_dh, max_version=E2E_VERSIONS.max
    )
    return ratchet, True


def crypto_failure(e: Exception) -> CryptoFailure | None:
    """The ``AgentCryptoError`` a ratchet decryption failure is (Agent/Client.hs
    ``cryptoError``), or None if it does not count for re-synchronisation (a duplicate, a
    KEM state error, a malformed message)."""
    if isinstance(e, RatchetHeaderError):
        return CryptoFailure.RATCHET_HEADER
    if isinstance(e, RatchetEarlier):
        return CryptoFailure.RATCHET_EARLIER
    if isinstance(e, RatchetTooManySkipped):
        return CryptoFailure.RATCHET_SKIPPED
    if type(e) is CryptoError:
        return CryptoFailure.DECRYPT_AES
    return None
