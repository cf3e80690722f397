"""An in-memory relay: the real ``hushwire.server.relay.Relay`` over in-memory connections.

:class:`MemoryRelay` builds a :class:`~hushwire.server.relay.Relay` with an identity made in
memory (:class:`FakeIdentity`) and any :class:`~hushwire.server.store.QueueStore`, and serves
each :func:`~hushwire.testing.transport.memory_pipe` it dials with ``Relay.handle(conn)``,
so clients talk to the relay's own session, authorization and dispatch code (simplexmq
``Simplex.Messaging.Server``) with no sockets. :func:`connect_client` runs the client
handshake over such a connection and returns a working
:class:`~hushwire.client.SMPClient`.

What a real relay never does is produced on the wire instead, by the transport's hooks:
block filters (rewrite the server hello: :func:`rewrite_server_hello`; drop or replace
blocks), holding the relay's responses (:meth:`MemoryRelay.hold_responses`), injecting a raw
block, and dropping every connection at once (:meth:`MemoryRelay.drop_all`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hushwire.client import (
    Backoff,
    ClientConfig,
    ClientEvent,
    ReconnectingClient,
    SMPClient,
)
from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, PrivateKey
from hushwire.errors import DecodeError
from hushwire.server import store as stores
from hushwire.server.config import RelayConfig
from hushwire.server.identity import IdentityCerts, ServerIdentity
from hushwire.server.relay import Relay
from hushwire.server.store import QueueStore
from hushwire.smp.address import SMPServer
from hushwire.smp.block import pad_handshake, unpad_handshake
from hushwire.smp.hello import ClientHello, ServerHello
from hushwire.smp.version import VersionRange
from hushwire.testing.transport import BlockFilter, Kind, MemoryConn, MemoryLink, memory_pipe

CERT_BACKDATE = timedelta(hours=1)
"""Certificates made here start this long before "now", so clock skew cannot void them."""


def _cert_start(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC) - CERT_BACKDATE


@dataclass(frozen=True, slots=True)
class FakeIdentity(IdentityCerts):
    """A relay identity made in memory: the CA and online certificates and both keys."""

    ca_cert: bytes
    ca_key: PrivateKey = field(repr=False)
    online_cert: bytes
    online_key: PrivateKey = field(repr=False)

    @classmethod
    def make(
        cls, alg: KeyAlg = KeyAlg.ED25519, *, host: str = "127.0.0.1", now: datetime | None = None
    ) -> FakeIdentity:
        """A new CA and an online certificate for ``host`` signed by it, valid from ``now``
        (default: an hour ago)."""
        start = _cert_start(now)
        ca, ca_key = x509.generate_ca(alg, now=start)
        online, online_key = x509.generate_online_cert(ca, ca_key, alg, host, now=start)
        return cls(ca, ca_key, online, online_key)

    def another_online(
        self, *, host: str = "127.0.0.1", now: datetime | None = None
    ) -> tuple[bytes, PrivateKey]:
        """Another online certificate signed by the same CA, and its key."""
        alg = self.online_key.alg
        return x509.generate_online_cert(self.ca_cert, self.ca_key, alg, host, now=_cert_start(now))

    def server_identity(self, directory: Path) -> ServerIdentity:
        """The relay's view of this identity; its TLS PEM files are written to ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        chain = directory / "chain.pem"
        key = directory / "server.key"
        chain.write_bytes(self.chain_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(x509.key_to_pem(self.online_key))
        return ServerIdentity(self.ca_cert, self.online_cert, self.online_key, chain, key)


def new_store(scratch: Path) -> QueueStore:
    """The store an in-memory relay keeps its queues in when it is given none: the memory
    backend (``scratch``, a directory of its own removed when the relay closes, holds only
    the relay's identity files)."""
    del scratch
    return stores.MemoryStore()


def rewrite_server_hello(rewrite: Callable[[ServerHello], ServerHello]) -> BlockFilter:
    """A filter for the relay-to-client direction that passes the server hello (block 0)
    through ``rewrite`` and every later block unchanged."""

    def apply(index: int, block: bytes) -> bytes:
        if index != 0:
            return block
        return pad_handshake(rewrite(ServerHello.decode(unpad_handshake(block))).encode())

    return apply


def replace_block(index: int, replacement: bytes) -> BlockFilter:
    """A filter that sends ``replacement`` (16384 bytes) instead of block ``index``."""

    def apply(i: int, block: bytes) -> bytes:
        return replacement if i == index else block

    return apply


def drop_all_blocks(index: int, block: bytes) -> None:
    """A filter that loses every block (a peer that never speaks)."""
    return None


async def connect_client(
    conn: MemoryConn,
    server: SMPServer,
    *,
    config: ClientConfig | None = None,
    version_range: VersionRange | None = None,
    timeout: float | None = None,
    events: asyncio.Queue[ClientEvent] | None = None,
) -> SMPClient:
    """``SMPClient.connect`` over a connection that is already open.

    The same handshake, timeout and errors as :meth:`SMPClient.connect` after its dial:
    :class:`~hushwire.client.HandshakeFailed` (or a subclass) or
    :class:`~hushwire.client.ConnectionLost`; ``conn`` is closed when it fails.
    """
    return await SMPClient.connect_over(
        conn,
        server,
        config=config,
        version_range=version_range,
        timeout=timeout,
        events=events,
    )


class MemoryRelay:
    """A real relay served over in-memory connections; ``async with`` starts and stops it.

    The relay owns ``store`` (default: :func:`new_store`): it is opened by :meth:`start` and
    closed by :meth:`close`. ``versions`` replaces the SMP versions the relay offers.
    ``to_client`` / ``to_server`` are block filters for every connection dialled later;
    :meth:`dial` and :meth:`connect` take their own.
    """

    def __init__(
        self,
        *,
        store: QueueStore | None = None,
        identity: FakeIdentity | None = None,
        config: RelayConfig | None = None,
        versions: VersionRange | None = None,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        to_client: BlockFilter | None = None,
        to_server: BlockFilter | None = None,
    ) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="hushwire-memory-relay-"))
        self.identity = identity or FakeIdentity.make(host=host)
        self.store = store if store is not None else new_store(self._scratch)
        cfg = config or RelayConfig(data=self._scratch, host=host)
        server_identity = self.identity.server_identity(self._scratch / "identity")
        if versions is None:  # the relay's own range
            self.relay = Relay(cfg, server_identity, self.store, clock=clock)
        else:
            self.relay = Relay(cfg, server_identity, self.store, clock=clock, versions=versions)
        self.address = SMPServer((host,), self.identity.key_hash)
        self.to_client = to_client
        self.to_server = to_server
        self.links: list[MemoryLink] = []
        """Every connection dialled, in order."""
        self.client_hellos: list[ClientHello] = []
        """The client hellos the relay received, in order (those that decode)."""
        self._held = False
        self._handlers: set[asyncio.Task[None]] = set()
        self._started = False
        self._closed = False

    async def start(self) -> MemoryRelay:
        if not self._started:
            await self.store.open()
            self._started = True
        return self

    async def close(self) -> None:
        """Drop every connection, let the relay finish its sessions, close the store."""
        if self._closed:
            return
        self._closed = True
        self.drop_all()
        await self.relay.close_sessions()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._started:
            await self.store.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    async def __aenter__(self) -> MemoryRelay:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ connections

    def _tap(self, inner: BlockFilter | None) -> BlockFilter:
        def tap(index: int, block: bytes) -> bytes | None:
            out = inner(index, block) if inner is not None else block
            if index == 0 and out is not None:
                with contextlib.suppress(DecodeError):
                    self.client_hellos.append(ClientHello.decode(unpad_handshake(out)))
            return out

        return tap

    def dial(
        self,
        kind: Kind = "ws",
        *,
        to_client: BlockFilter | None = None,
        to_server: BlockFilter | None = None,
        tls_cert: bytes | None = None,
    ) -> MemoryLink:
        """A new connection to the relay; the relay starts serving ``link.server`` at once.

        ``kind="tls"`` imitates native TLS; the relay presents ``tls_cert`` (default: its
        online certificate) as its TLS certificate.
        """
        if not self._started or self._closed:
            raise RuntimeError("the memory relay is not running")
        peer_cert = (tls_cert or self.identity.online_cert) if kind == "tls" else None
        link = memory_pipe(
            kind=kind,
            to_client=to_client or self.to_client,
            to_server=self._tap(to_server or self.to_server),
            peer_cert=peer_cert,
        )
        if self._held:
            link.hold("to_client", after=1)
        self.links.append(link)
        task = asyncio.get_running_loop().create_task(self.relay.handle(link.server))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        return link

    async def connect(
        self,
        kind: Kind = "ws",
        *,
        server: SMPServer | None = None,
        config: ClientConfig | None = None,
        version_range: VersionRange | None = None,
        timeout: float | None = None,
        events: asyncio.Queue[ClientEvent] | None = None,
        to_client: BlockFilter | None = None,
        to_server: BlockFilter | None = None,
        tls_cert: bytes | None = None,
    ) -> SMPClient:
        """Dial and run the client handshake, as ``SMPClient.connect`` does over a socket;
        ``server`` replaces the relay's address (a wrong key hash, say)."""
        link = self.dial(kind, to_client=to_client, to_server=to_server, tls_cert=tls_cert)
        return await connect_client(
            link.client,
            server or self.address,
            config=config,
            version_range=version_range,
            timeout=timeout,
            events=events,
        )

    def reconnecting_client(
        self,
        kind: Kind = "ws",
        *,
        config: ClientConfig | None = None,
        backoff: Backoff | None = None,
        max_attempts: int | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> ReconnectingClient:
        """A :class:`~hushwire.client.ReconnectingClient` whose every connection is a new
        in-memory one to this relay, with its events on the client's one queue."""
        rc: ReconnectingClient

        async def connector() -> SMPClient:
            return await self.connect(kind, config=rc.config, events=rc.events)

        rc = ReconnectingClient(
            self.address,
            config=config,
            backoff=backoff,
            max_attempts=max_attempts,
            sleep=sleep,
            rng=rng,
            connector=connector,
        )
        return rc

    # ------------------------------------------------------------------ misbehaviour

    @property
    def blocks_received(self) -> int:
        """Blocks the relay has read, over every connection, hellos included."""
        return sum(link.to_server.taken for link in self.links)

    def hold_responses(self) -> None:
        """From now on nothing the relay sends after its hello reaches a client (on every
        connection, open or later) until :meth:`release_responses`."""
        self._held = True
        for link in self.links:
            link.hold("to_client", after=max(1, link.to_client.queued))

    def release_responses(self) -> None:
        self._held = False
        for link in self.links:
            link.release("to_client")

    def drop_all(self) -> None:
        """Reset every open connection, as a network failure does."""
        for link in self.links:
            if not link.closed:
                link.abort()
