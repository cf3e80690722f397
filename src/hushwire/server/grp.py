"""The relay's GRP/1 listener: its static key, its key proof, and the WebSocket endpoint.

``hushwire relay --grp HOST:PORT`` (docs/grp.md). The relay keeps one GRP static X25519 key
in ``grp.key`` in its data directory (made on the first start, never regenerated silently:
it is part of the relay's GRP address), signs it with the online key of its SMP identity
once at start (P2 of the handshake), and serves ``/grp/1`` on a plain WebSocket port (put a
TLS proxy in front for ``grps://``). Each connection runs the Noise handshake
(``hushwire.transport.grp``) and is then served by :meth:`Relay.handle` like any other: the
SMP handshake, session and commands are the same code as over TLS or WebSocket.

Each msg 1 costs the relay two X25519 operations and an ML-KEM encapsulation, so one IP
address may have at most ``max_handshakes_per_address`` Noise handshakes in progress and may
start ``GRP_HANDSHAKE_BURST`` at once, then ``GRP_HANDSHAKES_PER_SECOND``; past either, its
new connections are dropped unanswered.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

from hushwire.errors import ConfigError
from hushwire.grp.address import GrpAddress
from hushwire.grp.handshake import ROLE_CLIENT, Responder, static_proof
from hushwire.grp.noise import DHKey
from hushwire.limits import (
    GRP_HANDSHAKE_ADDRESSES,
    GRP_HANDSHAKE_BURST,
    GRP_HANDSHAKES_PER_SECOND,
)
from hushwire.server.relay import Relay, peer_address
from hushwire.server.session import TokenBucket
from hushwire.smp.address import SMPServer
from hushwire.transport.blocks import BlockConn, WsBlockConn
from hushwire.transport.grp import CoverSettings, accept_grp
from hushwire.transport.listen import HttpHandler, serve_ws

GRP_KEY = "grp.key"


def load_or_create_grp_key(data: Path) -> tuple[DHKey, bool]:
    """The relay's GRP static key from ``data/grp.key`` (32 raw bytes, mode 0600), made on
    the first start. Returns the key and whether it was created."""
    path = data / GRP_KEY
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        data.mkdir(parents=True, exist_ok=True)
        key = DHKey.generate()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.private_bytes())
        return key, True
    if len(raw) != 32:
        raise ConfigError(
            f"{path} is not a GRP key (32 bytes); restore it from a backup, or remove it to "
            "make a new one (the relay's GRP address changes)"
        )
    return DHKey.from_private(raw), False


class GrpListener:
    """Accepts GRP connections for ``relay`` and hands them to :meth:`Relay.handle`."""

    def __init__(self, relay: Relay, static: DHKey, cover: CoverSettings) -> None:
        self.relay = relay
        self.static = static
        self.cover = cover
        ident = relay.identity
        self.proof = static_proof(ident.cert_chain, ident.online_key, static.public)
        self._handshaking: Counter[str] = Counter()
        self._budgets: dict[str, TokenBucket] = {}

    def address(self, host: str, port: int) -> GrpAddress:
        server = SMPServer((host,), self.relay.identity.key_hash, port)
        return GrpAddress(server, self.static.public)

    async def handle(self, conn: BlockConn) -> None:
        assert isinstance(conn, WsBlockConn)
        metrics = self.relay.metrics
        addr = peer_address(conn)
        if self._handshaking[addr] >= self.relay.config.limits.max_handshakes_per_address:
            metrics.disconnects["grp_too_many_handshakes"] += 1
            metrics.grp_handshakes["refused"] += 1
            conn.abort()
            return
        if not self._budget(addr).try_take():
            metrics.disconnects["grp_handshake_rate"] += 1
            metrics.grp_handshakes["refused"] += 1
            conn.abort()
            return
        self._handshaking[addr] += 1
        try:
            responder = Responder(
                self.relay.identity.key_hash, self.static, self.proof, roles=(ROLE_CLIENT,)
            )
            grp = await accept_grp(conn, responder, self.cover)
        finally:
            self._handshaking[addr] -= 1
            if not self._handshaking[addr]:
                del self._handshaking[addr]
        if grp is None:
            metrics.disconnects["grp_handshake"] += 1
            metrics.grp_handshakes["failed"] += 1
            return
        metrics.grp_handshakes["ok"] += 1
        await self.relay.handle(grp)

    def _budget(self, addr: str) -> TokenBucket:
        bucket = self._budgets.get(addr)
        if bucket is None:
            if len(self._budgets) >= GRP_HANDSHAKE_ADDRESSES:
                self._budgets.clear()
            bucket = self._budgets[addr] = TokenBucket(
                GRP_HANDSHAKE_BURST, GRP_HANDSHAKE_BURST / GRP_HANDSHAKES_PER_SECOND
            )
        return bucket

    async def serve(self, host: str, port: int, http: HttpHandler | None) -> asyncio.Server:
        return await serve_ws(host, port, self.handle, http)
