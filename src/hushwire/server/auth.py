"""Command authorization: which key a command must be signed with, and the check itself.

Mirrors simplexmq ``Simplex.Messaging.Server`` ``verifyTransmission`` /
``verifyQueueTransmission``, ``dummyVerifyCmd`` and its dummy keys; see docs/protocol/smp.md.

The work done never depends on whether the queue exists or which key it holds: an unknown
entity, a key of another algorithm or a refused key is checked against a fixed dummy key of
the presented authorization type, then refused, so timing tells a prober nothing.

Two caches keep the per-command cost at the signature check itself: parsed queue keys (public
data, shared, bounded LRU), and, per connection, the box key of each X25519 queue key with the
connection's session key (``box_keys``: the X25519 step of a ``CbAuthenticator`` check is done
once per queue key and connection). The dummy key's box key is cached the same way, so an
unknown queue costs what a known one does.
"""

from __future__ import annotations

import functools
import hmac
from typing import Final

from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.crypto.nacl import cb_nonce, cb_verify_with_key, dh_box_key
from hushwire.errors import CryptoError, DecodeError
from hushwire.server.store import QueueRecord, QueueStore
from hushwire.smp.commands import LGET, LKEY, NEW, NSUB, SEND, SKEY, Party
from hushwire.smp.transmission import AuthKind, ClientRequest

__all__ = ["BoxKeys", "authorized", "dummy_verify", "lookup", "verify"]

# Dummy keys for constant-time verification of unknown queues (Server.hs dummyKey*).
_DUMMY_ED25519: Final = KeyPair.generate(KeyAlg.ED25519).public
_DUMMY_ED448: Final = KeyPair.generate(KeyAlg.ED448).public
_DUMMY_X25519: Final = KeyPair.generate(KeyAlg.X25519).public
_DUMMY_X25519_DER: Final = _DUMMY_X25519.to_der()

PARSED_KEY_CACHE: Final = 65536
"""Parsed queue keys kept (least recently used dropped first); public data only."""
BOX_KEY_CACHE: Final = 1024
"""Box keys one connection keeps; past this its cache starts over."""

BoxKeys = dict[bytes, bytes]
"""One connection's cache: X25519 queue key DER -> ``dh_box_key(queue key, session key)``."""


@functools.lru_cache(maxsize=PARSED_KEY_CACHE)
def _parse_key(key_der: bytes) -> PublicKey:
    """``PublicKey.from_der``, cached (a stored key is checked on every command)."""
    return PublicKey.from_der(key_der)


def _cb_verify(
    session_key: PrivateKey,
    key: PublicKey,
    key_der: bytes,
    req: ClientRequest,
    data: bytes,
    box_keys: BoxKeys | None,
) -> bool:
    """``cb_verify(key, session_key, ...)`` with the connection's box key cache."""
    box = box_keys.get(key_der) if box_keys is not None else None
    if box is None:
        try:
            box = dh_box_key(key, session_key)
        except CryptoError:  # a low-order key: refused, as cb_verify refuses it
            return False
        if box_keys is not None:
            if len(box_keys) >= BOX_KEY_CACHE:
                box_keys.clear()
            box_keys[key_der] = box
    return cb_verify_with_key(box, cb_nonce(req.corr_id), req.authorized, data)


def verify(
    session_key: PrivateKey, key_der: bytes, req: ClientRequest, box_keys: BoxKeys | None = None
) -> bool:
    """Check ``req``'s auth with ``key_der``; the work done depends only on the auth.

    ``session_key`` is the relay's per-connection X25519 key (for ``CbAuthenticator``);
    ``box_keys`` is that connection's cache (None: no caching).
    """
    auth = req.auth
    if auth is None:
        return False
    try:
        key = _parse_key(key_der)
    except DecodeError:  # pragma: no cover - stored keys were validated on the way in
        return dummy_verify(session_key, req, box_keys)
    if auth.kind is AuthKind.AUTHENTICATOR:
        if key.alg is not KeyAlg.X25519:
            return dummy_verify(session_key, req, box_keys)
        return _cb_verify(session_key, key, key_der, req, auth.data, box_keys)
    if key.alg is not auth.kind.key_alg:
        return dummy_verify(session_key, req, box_keys)
    return key.verify(auth.data, req.authorized)


def dummy_verify(
    session_key: PrivateKey, req: ClientRequest, box_keys: BoxKeys | None = None
) -> bool:
    """Verify against a fixed key of the presented type, then fail (Server.hs dummyVerify)."""
    auth = req.auth
    if auth is not None:
        if auth.kind is AuthKind.AUTHENTICATOR:
            _cb_verify(session_key, _DUMMY_X25519, _DUMMY_X25519_DER, req, auth.data, box_keys)
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


def authorized(
    session_key: PrivateKey,
    req: ClientRequest,
    q: QueueRecord | None,
    box_keys: BoxKeys | None = None,
) -> bool:
    """Server.hs ``verifyQueueTransmission`` for the commands this relay serves.

    ``box_keys``: the connection's cache of X25519 box keys (see the module docstring).
    """
    cmd = req.command
    if isinstance(cmd, NEW):
        return verify(session_key, cmd.rcv_auth_key.to_der(), req, box_keys)
    if q is None:
        return dummy_verify(session_key, req, box_keys)
    if isinstance(cmd, SEND):
        if q.sender_key is None:
            return req.auth is None
        return verify(session_key, q.sender_key, req, box_keys)
    if isinstance(cmd, SKEY | LKEY):
        allowed = q.queue_mode == "M" and (
            q.sender_key is None or hmac.compare_digest(q.sender_key, cmd.sender_key.to_der())
        )
        if not allowed:
            return dummy_verify(session_key, req, box_keys)
        return verify(session_key, cmd.sender_key.to_der(), req, box_keys)
    if isinstance(cmd, LGET):
        return True
    if isinstance(cmd, NSUB):
        if q.notifier is None:
            return dummy_verify(session_key, req, box_keys)
        return verify(session_key, q.notifier.ntf_key, req, box_keys)
    # Recipient commands: any of the recipient keys.
    ok = False
    for k in q.recipient_keys:
        ok = verify(session_key, k, req, box_keys) or ok
    return ok
