"""Command authorization: which key a command must be signed with, and the check itself.

Mirrors simplexmq ``Simplex.Messaging.Server`` ``verifyTransmission`` /
``verifyQueueTransmission``, ``dummyVerifyCmd`` and its dummy keys; see docs/protocol/smp.md.

The work done never depends on whether the queue exists or which key it holds: an unknown
entity, a key of another algorithm or a refused key is checked against a fixed dummy key of
the presented authorization type, then refused, so timing tells a prober nothing.
"""

from __future__ import annotations

import hmac
from typing import Final

from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.crypto.nacl import cb_nonce, cb_verify
from hushwire.errors import DecodeError
from hushwire.server.store import QueueRecord, QueueStore
from hushwire.smp.commands import LGET, LKEY, NEW, NSUB, SEND, SKEY, Party
from hushwire.smp.transmission import AuthKind, ClientRequest

__all__ = ["authorized", "dummy_verify", "lookup", "verify"]

# Dummy keys for constant-time verification of unknown queues (Server.hs dummyKey*).
_DUMMY_ED25519: Final = KeyPair.generate(KeyAlg.ED25519).public
_DUMMY_ED448: Final = KeyPair.generate(KeyAlg.ED448).public
_DUMMY_X25519: Final = KeyPair.generate(KeyAlg.X25519).public


def verify(session_key: PrivateKey, key_der: bytes, req: ClientRequest) -> bool:
    """Check ``req``'s auth with ``key_der``; the work done depends only on the auth.

    ``session_key`` is the relay's per-connection X25519 key (for ``CbAuthenticator``).
    """
    auth = req.auth
    if auth is None:
        return False
    try:
        key = PublicKey.from_der(key_der)
    except DecodeError:  # pragma: no cover - stored keys were validated on the way in
        return dummy_verify(session_key, req)
    if auth.kind is AuthKind.AUTHENTICATOR:
        if key.alg is not KeyAlg.X25519:
            return dummy_verify(session_key, req)
        return cb_verify(key, session_key, cb_nonce(req.corr_id), req.authorized, auth.data)
    if key.alg is not auth.kind.key_alg:
        return dummy_verify(session_key, req)
    return key.verify(auth.data, req.authorized)


def dummy_verify(session_key: PrivateKey, req: ClientRequest) -> bool:
    """Verify against a fixed key of the presented type, then fail (Server.hs dummyVerify)."""
    auth = req.auth
    if auth is not None:
        if auth.kind is AuthKind.AUTHENTICATOR:
            cb_verify(_DUMMY_X25519, session_key, cb_nonce(req.corr_id), req.authorized, auth.data)
        elif auth.kind is AuthKind.ED25519:
            _DUMMY_ED25519.verify(auth.data, req.authorized)
        else:
            _DUMMY_ED448.verify(auth.data, req.authorized)
    return False


def lookup(store: QueueStore, party: Party, entity: bytes) -> QueueRecord | None:
    """The queue a command addresses, by the id its party uses."""
    if party is Party.RECIPIENT:
        return store.get_by_recipient(entity)
    if party is Party.SENDER:
        return store.get_by_sender(entity)
    if party is Party.LINK_CLIENT:
        return store.get_by_link(entity)
    return store.get_by_notifier(entity)


def authorized(session_key: PrivateKey, req: ClientRequest, q: QueueRecord | None) -> bool:
    """Server.hs ``verifyQueueTransmission`` for the commands this relay serves."""
    cmd = req.command
    if isinstance(cmd, NEW):
        return verify(session_key, cmd.rcv_auth_key.to_der(), req)
    if q is None:
        return dummy_verify(session_key, req)
    if isinstance(cmd, SEND):
        if q.sender_key is None:
            return req.auth is None
        return verify(session_key, q.sender_key, req)
    if isinstance(cmd, SKEY | LKEY):
        allowed = q.queue_mode == "M" and (
            q.sender_key is None or hmac.compare_digest(q.sender_key, cmd.sender_key.to_der())
        )
        if not allowed:
            return dummy_verify(session_key, req)
        return verify(session_key, cmd.sender_key.to_der(), req)
    if isinstance(cmd, LGET):
        return True
    if isinstance(cmd, NSUB):
        if q.notifier is None:
            return dummy_verify(session_key, req)
        return verify(session_key, q.notifier.ntf_key, req)
    # Recipient commands: any of the recipient keys.
    ok = False
    for k in q.recipient_keys:
        ok = verify(session_key, k, req) or ok
    return ok
