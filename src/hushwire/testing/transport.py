"""An in-memory block connection pair: a client and a relay talk with no sockets.

:func:`memory_pipe` returns the two ends of one :class:`MemoryLink`; each end is a
:class:`MemoryConn`, a :class:`hushwire.transport.BlockConn` that the relay's
``Relay.handle(conn)`` and the client's handshake take as they take a WebSocket or a TLS
connection. It mirrors nothing in simplexmq beyond the block stream of
``Simplex.Messaging.Transport`` (whole 16384-byte blocks, in order, both ways).

Theory of operation
-------------------
Each direction is a bounded channel of blocks (``capacity`` blocks; a sender waits for
room, as it waits for a socket buffer to drain). A block passes the direction's
:data:`BlockFilter` on its way in, so a test can rewrite or drop the n-th block (block 0 is
the handshake hello) to produce misbehaviour a real peer never sends. :meth:`MemoryLink.hold`
stops blocks sent after the call from reaching the reader until :meth:`MemoryLink.release`
(a stalled network), :meth:`MemoryLink.inject` puts a raw block in front of one end, and
:meth:`MemoryLink.abort` drops the connection for both ends at once.

``close()`` is graceful: the peer still reads the blocks already sent, then sees the
connection closed. ``abort()`` is a reset: both ends see it closed at once and blocks in
flight are lost. Reading or writing a closed end raises
:class:`~hushwire.transport.ConnectionClosedError`.

``kind="tls"`` imitates a native TLS connection (ALPN ``smp/1``): both ends share one
random ``tls_unique`` channel binding and the client end presents ``peer_cert`` as the
server's TLS certificate, so the client's TLS-only handshake checks run too.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, cast

from hushwire.limits import SMP_BLOCK_SIZE
from hushwire.transport.blocks import BlockConn, ConnectionClosedError, next_conn_id

BlockFilter = Callable[[int, bytes], bytes | None]
"""``(index, block) -> block``: what the n-th block sent one way becomes (0-based; block 0
is the handshake hello). Return the block unchanged, another 16384-byte block, or None to
drop it."""

Kind = Literal["ws", "tls"]
Direction = Literal["to_client", "to_server"]

DEFAULT_CAPACITY: Final = 64
"""Blocks buffered per direction before a sender waits (1 MiB, a socket buffer's order)."""

TLS_ALPN: Final = "smp/1"


class Channel:
    """Blocks going one way: bounded, in order, with a hold point and two ways to end.

    ``sent``, ``queued`` and ``taken`` count blocks offered by the writer, passed by the
    filter and read by the reader."""

    def __init__(self, capacity: int, block_filter: BlockFilter | None) -> None:
        if capacity < 1:
            raise ValueError("capacity is at least one block")
        self._blocks: deque[bytes] = deque()
        self._capacity = capacity
        self._filter = block_filter
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self.sent = 0
        self.queued = 0
        self.taken = 0
        self._limit: int | None = None
        self.eof = False
        """The writer closed: the reader drains what is queued, then sees the end."""
        self.broken = False
        """Reset: the reader sees the end at once; queued blocks are lost."""

    def _wake(self) -> None:
        self._readable.set()
        self._writable.set()

    def _can_take(self) -> bool:
        return bool(self._blocks) and (self._limit is None or self.taken < self._limit)

    async def put(self, block: bytes) -> None:
        if len(block) != SMP_BLOCK_SIZE:
            raise ValueError("a block is exactly 16384 bytes")
        while len(self._blocks) >= self._capacity and not (self.eof or self.broken):
            self._writable.clear()
            await self._writable.wait()
        if self.eof or self.broken:
            raise ConnectionClosedError("closed")
        index = self.sent
        self.sent += 1
        out = self._filter(index, block) if self._filter is not None else block
        if out is None:
            return
        if len(out) != SMP_BLOCK_SIZE:
            raise ValueError("a block filter must return exactly 16384 bytes or None")
        self.inject(out)

    def inject(self, block: bytes) -> None:
        """Queue ``block`` as it is, past the filter and the capacity."""
        if self.eof or self.broken:
            raise ConnectionClosedError("closed")
        self._blocks.append(block)
        self.queued += 1
        self._readable.set()

    async def get(self) -> bytes:
        while not self._can_take():
            if self.broken or (self.eof and not self._blocks):
                raise ConnectionClosedError("peer closed")
            self._readable.clear()
            await self._readable.wait()
        self.taken += 1
        self._writable.set()
        return self._blocks.popleft()

    def hold(self, *, after: int | None = None) -> None:
        """The reader gets no block past the first ``after`` (default: those queued now)."""
        self._limit = self.queued if after is None else after

    def release(self) -> None:
        self._limit = None
        self._readable.set()

    def end(self) -> None:
        self.eof = True
        self._wake()

    def reset(self) -> None:
        self.broken = True
        self._blocks.clear()
        self._wake()


class _TlsInfo:
    """What ``hushwire.transport.connect.peer_certificate`` asks of a TLS stream writer."""

    def __init__(self, peer_cert: bytes | None) -> None:
        self._peer_cert = peer_cert

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self if name == "ssl_object" and self._peer_cert is not None else default

    def getpeercert(self, binary_form: bool = False) -> bytes | None:
        return self._peer_cert


class MemoryConn(BlockConn):
    """One end of a :class:`MemoryLink` (make them with :func:`memory_pipe`)."""

    def __init__(
        self,
        incoming: Channel,
        outgoing: Channel,
        *,
        kind: Kind,
        side: str,
        tls_unique: bytes | None,
        peer_cert: bytes | None,
    ) -> None:
        # BlockConn.__init__ wants an asyncio stream writer; an in-memory end has none.
        self.kind = kind
        self.conn_id = next_conn_id(f"mem-{kind}-{side}-")
        self.peer = f"memory:{side}"
        self.tls_unique = tls_unique
        self.alpn = TLS_ALPN if kind == "tls" else None
        self._in = incoming
        self._out = outgoing
        self._closed = False
        self._released = False
        # hushwire.transport.connect.peer_certificate reads the TLS peer certificate from
        # the stream writer's ssl_object; this stands in for it.
        self._writer = cast(asyncio.StreamWriter, _TlsInfo(peer_cert))

    async def recv_block(self) -> bytes:
        if self._closed:
            raise ConnectionClosedError("closed")
        try:
            return await self._in.get()
        except ConnectionClosedError:
            self._closed = True
            raise

    async def _write(self, blocks: list[bytes]) -> None:
        for block in blocks:
            await self._out.put(block)

    async def _release(self) -> None:
        """Close this end: the peer reads what was sent, then the end."""
        self._out.end()
        self._in.reset()

    def abort(self) -> None:
        """A reset: this end is closed at once; the peer sees it on its next read or write."""
        self._closed = True
        self._released = True
        self._in.reset()
        self._out.reset()


@dataclass(frozen=True, slots=True, eq=False)
class MemoryLink:
    """One in-memory connection: its two ends and the two directions between them."""

    client: MemoryConn
    server: MemoryConn
    to_server: Channel
    to_client: Channel

    def abort(self) -> None:
        """A reset: both ends see the connection closed; blocks in flight are lost."""
        for end in (self.client, self.server):
            end._closed = True
            end._released = True
        self.to_server.reset()
        self.to_client.reset()

    @property
    def closed(self) -> bool:
        return self.client.closed and self.server.closed

    def hold(self, direction: Direction, *, after: int | None = None) -> None:
        """Blocks sent one way from now on (or past the first ``after``) wait until
        :meth:`release`; the sender goes on until the channel is full."""
        self._channel(direction).hold(after=after)

    def release(self, direction: Direction) -> None:
        self._channel(direction).release()

    def inject(self, direction: Direction, block: bytes) -> None:
        """Deliver ``block`` (16384 bytes) to the reader of ``direction`` as it is."""
        if len(block) != SMP_BLOCK_SIZE:
            raise ValueError("a block is exactly 16384 bytes")
        self._channel(direction).inject(block)

    def _channel(self, direction: Direction) -> Channel:
        return self.to_client if direction == "to_client" else self.to_server


def memory_pipe(
    *,
    kind: Kind = "ws",
    to_client: BlockFilter | None = None,
    to_server: BlockFilter | None = None,
    peer_cert: bytes | None = None,
    capacity: int = DEFAULT_CAPACITY,
) -> MemoryLink:
    """A new in-memory connection; hand ``link.server`` to the relay, ``link.client`` to
    the client.

    ``kind="tls"`` needs ``peer_cert`` (DER of the certificate the server presents in TLS).
    Filters see every block sent that way (see :data:`BlockFilter`).
    """
    if kind not in ("ws", "tls"):
        raise ValueError(f"kind is 'ws' or 'tls', not {kind!r}")
    if (kind == "tls") != (peer_cert is not None):
        raise ValueError("a 'tls' link needs the server's TLS certificate, a 'ws' link none")
    tls_unique = os.urandom(12) if kind == "tls" else None
    up = Channel(capacity, to_server)
    down = Channel(capacity, to_client)
    client = MemoryConn(
        down, up, kind=kind, side="client", tls_unique=tls_unique, peer_cert=peer_cert
    )
    server = MemoryConn(up, down, kind=kind, side="server", tls_unique=tls_unique, peer_cert=None)
    return MemoryLink(client, server, up, down)
