"""Block connections: exactly-16384-byte blocks over raw TLS or WebSocket.

A :class:`BlockConn` yields whole blocks or raises. A WebSocket message of any size other
than one block, a text message, or a fragmented message longer than a block closes the
connection (simplexmq ``Transport/WebSockets.hs``: ``TEBadBlock``). Buffers are bounded by
the block size; nothing here grows with what a peer sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from collections import deque

from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, State

from hushwire.errors import HushwireError
from hushwire.limits import SMP_BLOCK_SIZE

_ids = itertools.count(1)

READ_CHUNK = 65536


class TransportError(HushwireError):
    """The connection failed or the peer broke the framing."""


class ConnectionClosedError(TransportError):
    """The peer or this side closed the connection."""


class BadBlockError(TransportError):
    """The peer sent something that is not exactly one block."""


def next_conn_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


class BlockConn:
    """A connection carrying whole SMP blocks.

    ``tls_unique`` is the TLS channel binding (the client's Finished message) when this
    process terminated TLS itself, else None. ``alpn`` is the negotiated ALPN protocol.
    """

    conn_id: str
    peer: str
    kind: str
    tls_unique: bytes | None
    alpn: str | None

    def __init__(self, writer: asyncio.StreamWriter, kind: str) -> None:
        self._writer = writer
        self.kind = kind
        self.conn_id = next_conn_id(kind + "-")
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        sslobj = writer.get_extra_info("ssl_object")
        self.tls_unique = None
        self.alpn = None
        if isinstance(sslobj, ssl.SSLObject):
            self.tls_unique = sslobj.get_channel_binding("tls-unique")
            self.alpn = sslobj.selected_alpn_protocol()
        self._closed = False
        self._released = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def recv_block(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    async def send_block(self, block: bytes) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def send_blocks(self, blocks: list[bytes]) -> None:
        for b in blocks:
            await self.send_block(b)

    async def close(self) -> None:
        """Close the connection and release its socket (idempotent)."""
        self._closed = True
        if self._released:
            return
        self._released = True
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    def abort(self) -> None:
        """Drop the connection at once (no close handshake)."""
        self._closed = True
        self._released = True
        self._writer.transport.abort()


class RawBlockConn(BlockConn):
    """Native SMP: blocks back to back on a (TLS) byte stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(writer, "tls")
        self._reader = reader

    async def recv_block(self) -> bytes:
        if self._closed:
            raise ConnectionClosedError("closed")
        try:
            return await self._reader.readexactly(SMP_BLOCK_SIZE)
        except asyncio.IncompleteReadError as e:
            self._closed = True
            raise ConnectionClosedError("peer closed") from e
        except (ConnectionError, OSError, ssl.SSLError) as e:
            self._closed = True
            raise ConnectionClosedError(str(e)) from e

    async def send_block(self, block: bytes) -> None:
        if len(block) != SMP_BLOCK_SIZE:
            raise ValueError("a block is exactly 16384 bytes")
        if self._closed:
            raise ConnectionClosedError("closed")
        try:
            self._writer.write(block)
            await self._writer.drain()
        except (ConnectionError, OSError, ssl.SSLError) as e:
            self._closed = True
            raise ConnectionClosedError(str(e)) from e


class WsBlockConn(BlockConn):
    """One binary WebSocket message per block, on the websockets sans-I/O protocol core."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        protocol: Protocol,
        kind: str = "ws",
        pending: list[object] | None = None,
    ) -> None:
        super().__init__(writer, kind)
        self._reader = reader
        self._proto = protocol
        self._ready: deque[bytes] = deque()
        self._partial: bytearray | None = None
        self._send_lock = asyncio.Lock()
        self._bad: BadBlockError | None = None
        if pending:
            # Frames that arrived in the same read as the HTTP handshake.
            try:
                self._take_frames(pending)
            except BadBlockError as e:
                self._bad = e

    def _flush(self) -> None:
        for chunk in self._proto.data_to_send():
            if chunk:
                self._writer.write(chunk)
            else:
                with contextlib.suppress(OSError, RuntimeError):
                    self._writer.write_eof()

    def _take_frames(self, events: list[object] | None = None) -> None:
        for ev in self._proto.events_received() if events is None else events:
            if not isinstance(ev, Frame):  # pragma: no cover - only frames after the handshake
                continue
            if ev.opcode is Opcode.BINARY or (
                ev.opcode is Opcode.CONT and self._partial is not None
            ):
                buf = self._partial if ev.opcode is Opcode.CONT else bytearray()
                assert buf is not None
                if len(buf) + len(ev.data) > SMP_BLOCK_SIZE:
                    raise BadBlockError("WebSocket message larger than a block")
                buf += ev.data
                if ev.fin:
                    self._partial = None
                    if len(buf) != SMP_BLOCK_SIZE:
                        raise BadBlockError(f"WebSocket message of {len(buf)} bytes")
                    self._ready.append(bytes(buf))
                else:
                    self._partial = buf
            elif ev.opcode in (Opcode.TEXT, Opcode.CONT):
                raise BadBlockError("text WebSocket message")
            # PING is answered by the protocol core; PONG and CLOSE need nothing here.

    async def recv_block(self) -> bytes:
        if self._bad is not None and not self._ready:
            raise self._bad
        while not self._ready:
            if self._closed or self._proto.state is State.CLOSED:
                self._closed = True
                raise ConnectionClosedError("closed")
            try:
                data = await self._reader.read(READ_CHUNK)
            except (ConnectionError, OSError, ssl.SSLError) as e:
                self._closed = True
                raise ConnectionClosedError(str(e)) from e
            if not data:
                self._proto.receive_eof()
                self._closed = True
                raise ConnectionClosedError("peer closed")
            self._proto.receive_data(data)
            try:
                self._take_frames()
            finally:
                self._flush()
            if self._proto.state in (State.CLOSING, State.CLOSED) and not self._ready:
                self._closed = True
                raise ConnectionClosedError("peer closed the WebSocket")
        return self._ready.popleft()

    async def send_block(self, block: bytes) -> None:
        if len(block) != SMP_BLOCK_SIZE:
            raise ValueError("a block is exactly 16384 bytes")
        if self._closed or self._proto.state is not State.OPEN:
            raise ConnectionClosedError("closed")
        try:
            self._proto.send_binary(block)
            self._flush()
            async with self._send_lock:
                await self._writer.drain()
        except (ConnectionError, OSError, ssl.SSLError) as e:
            self._closed = True
            raise ConnectionClosedError(str(e)) from e

    async def close(self) -> None:
        if not self._closed and self._proto.state is State.OPEN:
            with contextlib.suppress(Exception):
                self._proto.send_close()
                self._flush()
        await super().close()
