"""Block connections: exactly-16384-byte blocks over raw TLS or WebSocket.

A :class:`BlockConn` yields whole blocks or raises. A WebSocket message of any size other
than one block, a text message, or a fragmented message longer than a block closes the
connection (simplexmq ``Transport/WebSockets.hs``: ``TEBadBlock``); a fragmentation
violation (RFC 6455 5.4: a continuation with no message started, a new data frame inside a
fragmented message) closes it with 1002. Buffers are bounded by the block size; nothing
here grows with what a peer sends: a PONG is written only while fewer than
``WS_MAX_PENDING_CONTROL`` control frames wait in the output buffer, and a peer that pings
past that without reading is disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from collections import deque

from hushwire.errors import HushwireError
from hushwire.limits import SMP_BLOCK_SIZE, WS_MAX_PENDING_CONTROL
from hushwire.transport.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameReader,
    close_payload,
    encode_frame,
)

_ids = itertools.count(1)

READ_CHUNK = 65536


class TransportFailure(HushwireError):
    """The connection failed or the peer broke the framing.

    Not to be confused with the SMP wire value ``hushwire.smp.errors.TransportError``
    (simplexmq ``Transport.hs`` ``TransportError``), which a peer sends as data.
    """


class ConnectionClosedError(TransportFailure):
    """The peer or this side closed the connection."""


class ControlFloodError(ConnectionClosedError):
    """The peer sent control frames (PINGs) faster than it read the answers; dropped."""


class BadBlockError(TransportFailure):
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

    def buffered_output(self) -> int:
        """Bytes written to this connection that the peer has not taken yet (this process's
        share; the kernel's socket buffer is not counted)."""
        transport = self._writer.transport
        return 0 if transport.is_closing() else transport.get_write_buffer_size()

    async def recv_block(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    async def send_block(self, block: bytes) -> None:
        await self.send_blocks([block])

    async def send_blocks(self, blocks: list[bytes]) -> None:
        """Write every block (each exactly one block long), then wait for the peer's side
        once; a failure closes the connection (:class:`ConnectionClosedError`)."""
        if any(len(b) != SMP_BLOCK_SIZE for b in blocks):
            raise ValueError("a block is exactly 16384 bytes")
        if self._send_closed():
            raise ConnectionClosedError("closed")
        try:
            await self._write(blocks)
        except ConnectionClosedError:
            self._closed = True
            raise
        except (ConnectionError, OSError, ssl.SSLError) as e:
            self._closed = True
            raise ConnectionClosedError(str(e)) from e

    can_write_now = False
    """True when :meth:`write_now` is available (a stream of this process's own)."""

    def write_now(self, blocks: list[bytes]) -> bool:
        """Write every block without waiting (only where :attr:`can_write_now`).

        True when the output buffer is then past its high-water mark: the caller must wait
        for the peer's side (``await send_blocks([])``) before it writes more. A failure
        closes the connection (:class:`ConnectionClosedError`), as in :meth:`send_blocks`.
        """
        if any(len(b) != SMP_BLOCK_SIZE for b in blocks):
            raise ValueError("a block is exactly 16384 bytes")
        if self._send_closed():
            raise ConnectionClosedError("closed")
        try:
            self._put(blocks)
        except (ConnectionError, OSError, ssl.SSLError) as e:
            self._closed = True
            raise ConnectionClosedError(str(e)) from e
        transport = self._writer.transport
        return transport.get_write_buffer_size() > transport.get_write_buffer_limits()[1]

    def _send_closed(self) -> bool:
        """True when nothing may be sent any more."""
        return self._closed

    def _put(self, blocks: list[bytes]) -> None:  # pragma: no cover - abstract
        """Put checked blocks on the wire without waiting (where :attr:`can_write_now`)."""
        raise NotImplementedError

    async def _write(self, blocks: list[bytes]) -> None:  # pragma: no cover - abstract
        """Put checked blocks on the wire and wait until it takes them."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close the connection and release what it holds (idempotent)."""
        self._closed = True
        if self._released:
            return
        self._released = True
        await self._release()

    async def _release(self) -> None:
        """Close the socket (once, from :meth:`close`)."""
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

    can_write_now = True

    def _put(self, blocks: list[bytes]) -> None:
        for block in blocks:
            self._writer.write(block)

    async def _write(self, blocks: list[bytes]) -> None:
        self._put(blocks)
        await self._writer.drain()


class WsBlockConn(BlockConn):
    """One binary WebSocket message per block (RFC 6455 framing via :mod:`wsframes`)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        client: bool,
        kind: str = "ws",
        leftover: bytes = b"",
    ) -> None:
        super().__init__(writer, kind)
        self._reader = reader
        self._client = client
        self._max_message = SMP_BLOCK_SIZE
        self._exact: int | None = SMP_BLOCK_SIZE
        self._frames = FrameReader(masked=not client, max_payload=SMP_BLOCK_SIZE)
        self._ready: deque[bytes] = deque()
        self._partial: bytearray | None = None
        self._send_lock = asyncio.Lock()
        self._close_sent = False
        self._leftover = leftover
        self._control_pending = 0
        self.pong_high_water = 0
        """The most bytes this process held for the peer right after writing a PONG."""

    def send_raw_frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        """Write one frame as it is (tests use it to send malformed traffic)."""
        self._writer.write(encode_frame(opcode, payload, fin=fin, mask=self._client))

    def limit_messages(self, max_size: int, exact: int | None) -> None:
        """Carry messages of up to ``max_size`` bytes, all of ``exact`` bytes unless None
        (GRP/1 runs its handshake and frames over this; ``hushwire.transport.grp``). Call it
        before the first read if ``max_size`` changes (a partly read frame would be lost);
        changing ``exact`` alone is safe at any time."""
        if max_size != self._max_message:
            self._frames = FrameReader(masked=not self._client, max_payload=max_size)
        self._max_message = max_size
        self._exact = exact

    async def send_messages(self, messages: list[bytes]) -> None:
        """Write binary messages of any size (the carrier side of GRP/1)."""
        if self._send_closed():
            raise ConnectionClosedError("closed")
        try:
            await self._write(messages)
        except (ConnectionError, OSError, ssl.SSLError) as e:
            self._closed = True
            raise ConnectionClosedError(str(e)) from e

    def _send_close(self, code: int) -> None:
        if not self._close_sent:
            self._close_sent = True
            with contextlib.suppress(Exception):
                self.send_raw_frame(OP_CLOSE, close_payload(code))

    def _pong(self, payload: bytes) -> None:
        """Answer a PING unless control frames pile up unread: then the peer is dropped."""
        if self.buffered_output() == 0:
            self._control_pending = 0
        elif self._control_pending >= WS_MAX_PENDING_CONTROL:
            self.abort()
            raise ControlFloodError("PING flood: the peer does not read its PONGs")
        self._control_pending += 1
        self.send_raw_frame(OP_PONG, payload)
        self.pong_high_water = max(self.pong_high_water, self.buffered_output())

    def _take(self, data: bytes) -> None:
        for f in self._frames.feed(data):
            if f.opcode in (OP_BINARY, OP_TEXT) and self._partial is not None:
                raise FrameError("a new data frame inside a fragmented message")
            if f.opcode == OP_CONT and self._partial is None:
                raise FrameError("a continuation frame with no message started")
            if f.opcode == OP_BINARY and f.fin:
                # A whole message in one frame (the usual case): no reassembly copy.
                if len(f.payload) > self._max_message:
                    raise BadBlockError("WebSocket message larger than a block")
                self._partial = None
                if self._exact is not None and len(f.payload) != self._exact:
                    raise BadBlockError(f"WebSocket message of {len(f.payload)} bytes")
                self._ready.append(f.payload)
            elif f.opcode == OP_BINARY or (f.opcode == OP_CONT and self._partial is not None):
                buf = self._partial if f.opcode == OP_CONT else bytearray()
                assert buf is not None
                if len(buf) + len(f.payload) > self._max_message:
                    raise BadBlockError("WebSocket message larger than a block")
                buf += f.payload
                if f.fin:
                    self._partial = None
                    if self._exact is not None and len(buf) != self._exact:
                        raise BadBlockError(f"WebSocket message of {len(buf)} bytes")
                    self._ready.append(bytes(buf))
                else:
                    self._partial = buf
            elif f.opcode == OP_TEXT:
                raise BadBlockError("text WebSocket message")
            elif f.opcode == OP_PING:
                self._pong(f.payload)
            elif f.opcode == OP_CLOSE:
                self._send_close(1000)
                raise ConnectionClosedError("peer closed the WebSocket")
            # PONG needs nothing.

    async def recv_block(self) -> bytes:
        while not self._ready:
            if self._closed:
                raise ConnectionClosedError("closed")
            if self._leftover:
                data, self._leftover = self._leftover, b""
            else:
                try:
                    data = await self._reader.read(READ_CHUNK)
                except (ConnectionError, OSError, ssl.SSLError) as e:
                    self._closed = True
                    raise ConnectionClosedError(str(e)) from e
                if not data:
                    self._closed = True
                    raise ConnectionClosedError("peer closed")
            try:
                self._take(data)
            except BadBlockError:
                self._send_close(1003)
                self._closed = True
                raise
            except FrameError as e:
                self._send_close(e.code)
                self._closed = True
                raise ConnectionClosedError(f"WebSocket framing error: {e}") from None
            except ConnectionClosedError:
                self._closed = True
                if not self._ready:
                    raise
                # Blocks that came in the same read as the peer's close are still its data:
                # they are returned first, the next call after them raises.
        return self._ready.popleft()

    def _send_closed(self) -> bool:
        return self._closed or self._close_sent

    can_write_now = True

    def _put(self, blocks: list[bytes]) -> None:
        for block in blocks:
            self.send_raw_frame(OP_BINARY, block)

    async def _write(self, blocks: list[bytes]) -> None:
        self._put(blocks)
        async with self._send_lock:
            await self._writer.drain()

    async def _release(self) -> None:
        self._send_close(1000)
        await super()._release()
