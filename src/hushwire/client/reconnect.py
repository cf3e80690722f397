"""A client that survives connection loss: reconnect with backoff, subscribe again.

Plays the part of simplexmq's agent around ``Client.hs`` (``reconnectServer``,
``resubscribeSMPQueues``): the SMP client itself never retries.

Theory of operation: :meth:`ReconnectingClient.start` connects once (and raises if that
fails, so a wrong address is reported at once). A supervisor task then waits for the
connection to close. Unless :meth:`~ReconnectingClient.close` was called it puts
:class:`Disconnected` on ``events``, sleeps ``backoff.delay(attempt)`` (exponential with
jitter; ``sleep`` and ``rng`` are injectable for tests) and connects again, until it
succeeds or ``max_attempts`` is used up. Once connected it subscribes every queue the lost
connection had subscribed (all SUBs at once, so they share blocks), drops those the server
refuses, keeps those that failed for lack of a connection for the next round, and puts
:class:`Reconnected` on ``events``. All connections share one ``events`` queue.

Commands wait up to the command timeout for a connection, then run on the current one. A
command that fails because the connection dropped is not repeated (``SEND`` is not
idempotent); the caller decides.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Unpack

from hushwire.client.client import ClientConfig, NewQueueOptions, SMPClient
from hushwire.client.errors import ConnectionLost, SMPClientError, SMPCommandError
from hushwire.client.events import ClientEvent, Disconnected, Reconnected
from hushwire.crypto.keys import KeyPair, PublicKey
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import IDS, MSG
from hushwire.smp.errors import ErrorType
from hushwire.smp.ids import RecipientId
from hushwire.smp.queue_info import QueueInfo

log = logging.getLogger("hushwire.client")

Connector = Callable[[], Awaitable[SMPClient]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits ``min(maximum, initial * factor**n)``
    reduced by up to ``jitter`` of itself (a random fraction)."""

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < self.initial or self.factor < 1:
            raise ValueError("backoff needs 0 <= initial <= maximum and factor >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction from 0 to 1")

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds to wait before attempt ``attempt`` (0-based), ``rand`` in [0, 1)."""
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * rand)


class ReconnectingClient:
    """An :class:`SMPClient` that reconnects and subscribes again; see the module docstring."""

    def __init__(
        self,
        server: SMPServer,
        *,
        ws_url: str | None = None,
        config: ClientConfig | None = None,
        backoff: Backoff | None = None,
        max_attempts: int | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        connector: Connector | None = None,
    ) -> None:
        self.server = server
        self.config = config or ClientConfig()
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self.events: asyncio.Queue[ClientEvent] = asyncio.Queue(self.config.max_events)
        self._ws_url = ws_url
        self._sleep = sleep
        self._rng = rng
        self._connector = connector or self._connect
        self._client: SMPClient | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.reconnects = 0
        self.failure: SMPClientError | None = None
        """Why the client gave up (``max_attempts`` used up), else None."""

    async def _connect(self) -> SMPClient:
        return await SMPClient.connect(
            self.server, ws_url=self._ws_url, config=self.config, events=self.events
        )

    async def start(self) -> None:
        """Connect for the first time (raises on failure) and start supervising."""
        if self._supervisor is not None:
            raise RuntimeError("already started")
        self._client = await self._connector()
        self._connected.set()
        self._supervisor = asyncio.create_task(self._supervise(), name="smp-reconnect")

    async def __aenter__(self) -> ReconnectingClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop reconnecting and close the connection (idempotent)."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        self._connected.clear()
        self._stopped.set()

    async def wait_stopped(self) -> None:
        """Wait until :meth:`close` was called or reconnecting gave up."""
        await self._stopped.wait()

    @property
    def connected(self) -> bool:
        return self._client is not None and self._connected.is_set() and not self._client.closed

    @property
    def client(self) -> SMPClient:
        """The current connection; ConnectionLost while there is none."""
        if self._client is None or not self._connected.is_set():
            raise ConnectionLost("not connected")
        return self._client

    async def wait_connected(self, timeout: float | None = None) -> SMPClient:
        """The current connection, waiting up to ``timeout`` (default: command timeout)."""
        if self._closing or self.failure is not None:
            raise ConnectionLost("the reconnecting client is closed")
        try:
            async with asyncio.timeout(timeout or self.config.command_timeout):
                await self._connected.wait()
        except TimeoutError:
            raise ConnectionLost(f"not connected to {self.server}") from None
        assert self._client is not None
        return self._client

    # ------------------------------------------------------------------ supervision

    async def _supervise(self) -> None:
        leftover: dict[RecipientId, KeyPair] = {}
        while True:
            client = self._client
            assert client is not None
            reason = await client.wait_closed()
            self._connected.clear()
            if self._closing:  # pragma: no cover - close() cancels this task first
                return
            log.info("connection to %s lost: %s", self.server, reason)
            subs = {**leftover, **client.subscriptions}
            await self.events.put(Disconnected(str(reason)))
            new, attempts = await self._reconnect()
            if new is None:
                self._stopped.set()
                return
            self._client = new
            self._connected.set()
            self.reconnects += 1
            done, failed, leftover = await self._resubscribe(new, subs)
            await self.events.put(Reconnected(attempts, done, failed))

    async def _reconnect(self) -> tuple[SMPClient | None, int]:
        attempt = 0
        while True:
            await self._sleep(self.backoff.delay(attempt, self._rng()))
            attempt += 1
            try:
                return await self._connector(), attempt
            except SMPClientError as e:
                log.info("reconnect %d to %s failed: %s", attempt, self.server, e)
                if self.max_attempts is not None and attempt >= self.max_attempts:
                    self.failure = e
                    return None, attempt

    async def _resubscribe(
        self, client: SMPClient, subs: dict[RecipientId, KeyPair]
    ) -> tuple[
        tuple[RecipientId, ...],
        tuple[tuple[RecipientId, ErrorType], ...],
        dict[RecipientId, KeyPair],
    ]:
        rids = list(subs)
        results = await asyncio.gather(
            *(client.subscribe(rid, subs[rid]) for rid in rids), return_exceptions=True
        )
        done: list[RecipientId] = []
        failed: list[tuple[RecipientId, ErrorType]] = []
        retry: dict[RecipientId, KeyPair] = {}
        for rid, r in zip(rids, results, strict=True):
            if r is None:
                done.append(rid)
            elif isinstance(r, SMPCommandError):
                failed.append((rid, r.error))
            elif isinstance(r, SMPClientError):
                retry[rid] = subs[rid]
            else:  # pragma: no cover - a bug in subscribe
                raise r
        return tuple(done), tuple(failed), retry

    # ------------------------------------------------------------------ commands

    async def create_queue(
        self, rcv_auth: KeyPair, rcv_dh: KeyPair, **options: Unpack[NewQueueOptions]
    ) -> IDS:
        """:meth:`SMPClient.create_queue` on the current connection."""
        return await (await self.wait_connected()).create_queue(rcv_auth, rcv_dh, **options)

    async def subscribe(self, rid: bytes, key: KeyPair) -> None:
        await (await self.wait_connected()).subscribe(rid, key)

    async def secure(self, rid: bytes, key: KeyPair, sender_key: PublicKey) -> None:
        await (await self.wait_connected()).secure(rid, key, sender_key)

    async def secure_sender(self, sid: bytes, sender_key: KeyPair) -> None:
        await (await self.wait_connected()).secure_sender(sid, sender_key)

    async def send(
        self, sid: bytes, body: bytes, *, key: KeyPair | None = None, notification: bool = False
    ) -> None:
        c = await self.wait_connected()
        await c.send(sid, body, key=key, notification=notification)

    async def ack(self, rid: bytes, key: KeyPair, msg_id: bytes) -> MSG | None:
        return await (await self.wait_connected()).ack(rid, key, msg_id)

    async def get(self, rid: bytes, key: KeyPair) -> MSG | None:
        return await (await self.wait_connected()).get(rid, key)

    async def suspend(self, rid: bytes, key: KeyPair) -> None:
        await (await self.wait_connected()).suspend(rid, key)

    async def delete(self, rid: bytes, key: KeyPair) -> None:
        await (await self.wait_connected()).delete(rid, key)

    async def queue_info(self, rid: bytes, key: KeyPair) -> QueueInfo:
        return await (await self.wait_connected()).queue_info(rid, key)

    async def ping(self) -> float:
        return await (await self.wait_connected()).ping()
