"""GRP/1 over a WebSocket: the handshake, the tick loop, and :class:`GrpConn`.

The I/O half of ``hushwire.grp`` (docs/grp.md). :class:`GrpConn` is a
:class:`~hushwire.transport.blocks.BlockConn` like the TLS and WebSocket ones, so the SMP
client and the relay's sessions run over it unchanged: ``send_blocks`` queues DATA frames,
``recv_block`` returns the body of the next DATA frame (COVER and REKEY frames are consumed
on the way), and ``tls_unique`` holds the channel binding, here the Noise handshake hash,
which the relay uses as the SMP session id and the client checks in the server hello.

Frames go out only at the ticks of a Poisson process (``hushwire.grp.cover``): one task per
connection sleeps the exponential gaps and sends whatever the schedule says (queued block,
REKEY, CLOSE or COVER). Incoming frames are checked by a :class:`RateGuard`; a peer past it,
a frame that does not decrypt, a frame of another size or an unknown type closes the
connection at once. The sleep function, clock and random source are parameters, so tests
can run the schedule fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from hushwire.grp.address import GrpAddress
from hushwire.grp.cover import CLIENT_MAX_AGE, CLIENT_RATE, CoverScheduler, RateGuard
from hushwire.grp.frames import (
    WIRE_FRAME_SIZE,
    CloseReason,
    FrameReceiver,
    FrameSender,
    FrameType,
    GrpFrameError,
)
from hushwire.grp.handshake import (
    MSG2_MAX,
    GrpHandshakeError,
    GrpKeys,
    Initiator,
    Responder,
    verify_static_proof,
)
from hushwire.transport.blocks import (
    BadBlockError,
    BlockConn,
    ConnectionClosedError,
    TransportFailure,
    WsBlockConn,
)
from hushwire.transport.connect import connect_ws

log = logging.getLogger("hushwire.grp")

HANDSHAKE_TIMEOUT = 30.0
"""msg 1 must arrive this soon after the WebSocket upgrade (and msg 2 after msg 1)."""


@dataclass(frozen=True, slots=True)
class CoverSettings:
    """The cover process of one side: its rate, and (tests) its clock, sleep and randomness."""

    rate: float = CLIENT_RATE
    peer_rate: float | None = None
    """The rate the peer is held to (default: the same as ``rate``)."""
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    uniform: Callable[[], float] | None = None
    queue_limit: int = 256
    max_age: float | None = None
    """Seconds after which this side sends CLOSE (after what is queued) and closes, so the
    reconnect runs a fresh handshake; None: never (the relay), ``connect_grp`` defaults
    to ``CLIENT_MAX_AGE`` (6 h)."""
    burst: int | None = None
    """Frames the peer may send in a burst above its rate (None: ``RateGuard``'s default)."""
    counters: dict[str, int] = field(default_factory=dict)
    """Frames by kind and direction (``sent_DATA``, ``recv_COVER``...), shared by every
    connection made with these settings (metrics, benchmarks)."""


class GrpConn(BlockConn):
    """SMP blocks over GRP/1 frames on a WebSocket carrier (see the module docstring)."""

    def __init__(self, carrier: WsBlockConn, keys: GrpKeys, cover: CoverSettings) -> None:
        super().__init__(carrier._writer, "grp")
        self.tls_unique = keys.handshake_hash
        """Not TLS: the Noise handshake hash, the channel binding the SMP session id uses."""
        self.alpn = None
        self.peer_static = keys.peer_static
        self._carrier = carrier
        self._cover = cover
        now = cover.clock()
        self._born = now
        kwargs = {"uniform": cover.uniform} if cover.uniform is not None else {}
        self._schedule = CoverScheduler(
            FrameSender(keys.send), cover.rate, now=now, limit=cover.queue_limit, **kwargs
        )
        self._receiver = FrameReceiver(keys.recv)
        self._guard = RateGuard(
            cover.peer_rate if cover.peer_rate is not None else cover.rate,
            now=now,
            burst=cover.burst,
        )
        self._room = asyncio.Event()
        self._room.set()
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())

    def _count(self, key: str) -> None:
        self._cover.counters[key] = self._cover.counters.get(key, 0) + 1

    def buffered_output(self) -> int:
        return self._carrier.buffered_output() + self._schedule.queued * WIRE_FRAME_SIZE

    async def recv_block(self) -> bytes:
        while True:
            if self._closed:
                raise ConnectionClosedError("closed")
            try:
                wire = await self._carrier.recv_block()
            except TransportFailure:
                self._fail()
                raise
            if not self._guard.admit(self._cover.clock()):
                self._fail()
                raise ConnectionClosedError("the peer sent frames faster than its cover rate")
            try:
                frame = self._receiver.open(wire)
            except GrpFrameError as e:
                self._fail()
                raise BadBlockError(str(e)) from None
            self._count("recv_" + frame.type.name)
            if frame.type is FrameType.DATA:
                return frame.body
            if frame.type is FrameType.CLOSE:
                self._fail()
                raise ConnectionClosedError(f"the peer closed (reason {frame.reason})")

    async def _write(self, blocks: list[bytes]) -> None:
        for block in blocks:
            while not self._schedule.has_room():
                self._room.clear()
                await self._room.wait()
                if self._closed:
                    raise ConnectionClosedError("closed")
            self._schedule.enqueue(block)

    async def _tick_loop(self) -> None:
        cover = self._cover
        try:
            while not self._closed:
                await cover.sleep(self._schedule.next_gap())
                if self._closed:
                    return
                now = cover.clock()
                if cover.max_age is not None and now - self._born >= cover.max_age:
                    self._schedule.close(CloseReason.NORMAL)
                kind, wire = self._schedule.tick(now)
                self._count("sent_" + kind.name)
                self._room.set()
                await self._carrier.send_messages([wire])
                if self._schedule.closed:
                    self._fail()
                    return
        except (TransportFailure, OSError):
            self._fail()

    def _fail(self) -> None:
        """Stop at once: the tick loop ends, the carrier is dropped."""
        self._closed = True
        self._room.set()
        self._ticker.cancel()
        self._carrier.abort()

    async def _release(self) -> None:
        """Close: a CLOSE frame at once (what is queued is dropped), then the WebSocket."""
        self._room.set()
        self._ticker.cancel()
        await asyncio.wait([self._ticker])  # the caller's own cancellation still propagates
        if not self._carrier.closed and not self._schedule.closed:
            with contextlib.suppress(TransportFailure, OSError):
                # CLOSE goes at once, not at a tick after the queued data: closing is seen
                # on the wire anyway (the WebSocket ends).
                wire = self._schedule.seal_close(CloseReason.NORMAL)
                await self._carrier.send_messages([wire])
        await self._carrier.close()

    def abort(self) -> None:
        self._closed = True
        self._released = True
        self._room.set()
        self._ticker.cancel()
        self._carrier.abort()


async def accept_grp(
    carrier: WsBlockConn, responder: Responder, cover: CoverSettings
) -> GrpConn | None:
    """The relay side: read msg 1, answer msg 2. None (after closing silently) on failure."""
    carrier.limit_messages(WIRE_FRAME_SIZE, None)
    try:
        msg1 = await asyncio.wait_for(carrier.recv_block(), HANDSHAKE_TIMEOUT)
        responder.read_first(msg1)
        msg2, keys = responder.reply()
        await carrier.send_messages([msg2])
    except (TimeoutError, TransportFailure, GrpHandshakeError, OSError) as e:
        log.debug("%s: GRP handshake failed: %s", carrier.conn_id, e)
        carrier.abort()
        return None
    carrier.limit_messages(WIRE_FRAME_SIZE, WIRE_FRAME_SIZE)
    return GrpConn(carrier, keys, cover)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def connect_grp(
    address: GrpAddress,
    *,
    url: str | None = None,
    timeout: float = 10.0,
    cover: CoverSettings | None = None,
    initiator: Initiator | None = None,
    now: Callable[[], datetime] = _utc_now,
) -> GrpConn:
    """Dial a relay's GRP endpoint (``url``, default the address's), run the handshake and
    check the relay's key proof against the address's key hash. Raises
    :class:`TransportFailure` (a :class:`GrpHandshakeError` is its ``__cause__``)."""
    carrier = await connect_ws(url or address.ws_url, timeout=timeout)
    assert isinstance(carrier, WsBlockConn)
    carrier.limit_messages(WIRE_FRAME_SIZE, None)
    init = initiator if initiator is not None else Initiator(address.key_hash, address.static_key)
    try:
        await carrier.send_messages([init.first_message()])
        msg2 = await asyncio.wait_for(carrier.recv_block(), timeout)
        if len(msg2) > MSG2_MAX:
            raise GrpHandshakeError(f"msg 2 of {len(msg2)} bytes")
        keys = init.finish(msg2)
        verify_static_proof(keys.payload, address.key_hash, address.static_key, now=now())
    except (TimeoutError, TransportFailure, GrpHandshakeError, OSError) as e:
        carrier.abort()
        raise TransportFailure(f"GRP handshake with {address.ws_url} failed: {e}") from e
    carrier.limit_messages(WIRE_FRAME_SIZE, WIRE_FRAME_SIZE)
    settings = cover if cover is not None else CoverSettings()
    if settings.max_age is None:
        settings = replace(settings, max_age=CLIENT_MAX_AGE)
    return GrpConn(carrier, keys, settings)
