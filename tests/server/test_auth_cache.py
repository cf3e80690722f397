"""Command authorization with the relay's caches: same answers with and without them."""

from __future__ import annotations

import os

from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey
from hushwire.crypto.nacl import (
    cb_authenticate,
    cb_nonce,
    cb_verify,
    cb_verify_with_key,
    dh_box_key,
)
from hushwire.server import auth
from hushwire.server.store import QueueRecord
from hushwire.smp import commands as c
from hushwire.smp import transmission as t

V = 18
SESS = os.urandom(32)


def _sub(
    session: PrivateKey, queue: PrivateKey, rid: bytes, *, good: bool = True
) -> t.ClientRequest:
    corr = os.urandom(24)
    cmd = c.SUB().encode(V)
    authorized = t.authorized_bytes(SESS, corr, rid, cmd)
    data = authorized if good else authorized + b"x"
    authenticator = cb_authenticate(session.public(), queue, cb_nonce(corr), data)
    req = t.decode_client_transmission(
        t.encode_client_transmission(V, SESS, corr, rid, cmd, authenticator), V, SESS
    )
    assert isinstance(req, t.ClientRequest)
    return req


def test_x25519_authenticators_with_the_box_key_cache() -> None:
    session = KeyPair.generate(KeyAlg.X25519).private
    queue = KeyPair.generate(KeyAlg.X25519)
    rid = os.urandom(24)
    q = QueueRecord(rid, os.urandom(24), (queue.public.to_der(),), os.urandom(32))
    cache: auth.BoxKeys = {}
    for _ in range(2):  # the second check uses the cached box key
        assert auth.authorized(session, _sub(session, queue.private, rid), q, cache)
        assert auth.authorized(session, _sub(session, queue.private, rid), q, None)
        assert list(cache) == [queue.public.to_der()]
        assert not auth.authorized(session, _sub(session, queue.private, rid, good=False), q, cache)
    other = KeyPair.generate(KeyAlg.X25519).private
    assert not auth.authorized(session, _sub(session, other, rid), q, cache)
    # Another connection's session key: its own cache, and the old box key does not apply.
    session2 = KeyPair.generate(KeyAlg.X25519).private
    assert not auth.authorized(session2, _sub(session, queue.private, rid), q, {})
    # An unknown queue is checked against the dummy key (cached the same way), then refused.
    unknown: auth.BoxKeys = {}
    assert not auth.authorized(session, _sub(session, queue.private, rid), None, unknown)
    assert len(unknown) == 1
    assert not auth.authorized(session, _sub(session, queue.private, rid), None, unknown)
    assert len(unknown) == 1


def test_box_key_cache_is_bounded() -> None:
    session = KeyPair.generate(KeyAlg.X25519).private
    cache: auth.BoxKeys = {os.urandom(44): bytes(32) for _ in range(auth.BOX_KEY_CACHE)}
    queue = KeyPair.generate(KeyAlg.X25519)
    rid = os.urandom(24)
    q = QueueRecord(rid, os.urandom(24), (queue.public.to_der(),), os.urandom(32))
    assert auth.authorized(session, _sub(session, queue.private, rid), q, cache)
    assert list(cache) == [queue.public.to_der()]


def test_cb_verify_with_key_matches_cb_verify() -> None:
    server = KeyPair.generate(KeyAlg.X25519)
    client = KeyPair.generate(KeyAlg.X25519)
    nonce, msg = os.urandom(24), os.urandom(100)
    good = cb_authenticate(server.public, client.private, nonce, msg)
    box = dh_box_key(client.public, server.private)
    for a in (good, good[:-1] + bytes([good[-1] ^ 1]), good[:79], b""):
        expected = cb_verify(client.public, server.private, nonce, msg, a)
        assert cb_verify_with_key(box, nonce, msg, a) is expected
    assert cb_verify_with_key(box, nonce, msg, good)
