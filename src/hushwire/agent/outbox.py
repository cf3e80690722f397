"""The agent's outbox: per-connection, ordered delivery of stored messages, with retries.

Mirrors the delivery worker of simplexmq ``Simplex.Messaging.Agent`` (``runSmpQueueMsgDelivery``):
every outgoing message is encrypted once and stored (``snd_messages``, status ``pending``)
before anything is sent; one task per connection then SENDs the pending messages in order,
oldest first (docs/protocol/agent.md).

Theory of operation: :meth:`Outbox.kick` starts the connection's task unless it runs. The
task takes the oldest pending message, SENDs it to the connection's current send queue
(signed unless :func:`hushwire.agent.machine.signed` says otherwise) and on success marks it
``sent`` and calls ``after_sent`` (where the agent advances the connection's state). A lost
connection or a missing answer retries the same bytes after a growing delay, as does
``QUOTA`` (the peer has not read its queue yet); any other refusal marks the message
``failed``, is reported, and delivery goes on with the next one. After a restart the agent
kicks every connection: whatever is still ``pending`` goes out, and a repeated SEND carries
the same ratchet message, which the peer recognises as a duplicate.

Nothing goes out before it is committed: the task awaits ``AgentStore.durable`` before each
SEND (with group commit a message may be written but not yet committed; sending it then and
losing it in a crash would let the ratchet encrypt another message with the same keys).

Private routing (simplexmq ``Agent.Client`` ``sendOrProxySMPCommand``): SEND and the SKEY
of a peer's queue (:meth:`Outbox.secure`) go through a proxy relay when
:func:`hushwire.agent.routing.route` says so; the proxy is the agent's own relay. One proxy
session (``PRXY``) per (proxy, destination) is kept while the connection to the proxy
lasts. ``PROXY NO_SESSION`` re-creates the session once; a host error falls back to a
direct send if the settings allow; a temporary proxy error is retried like a lost
connection; any other proxy error refuses the command. The destination's own answer
(``AUTH``, ``QUOTA``...) is handled exactly as after a direct command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Final

from hushwire.agent.machine import SndKind, signed
from hushwire.agent.routing import ProxyOutcome, RoutingSettings, after_proxy_error, route
from hushwire.agent.sealing import key_pair
from hushwire.agent.store import AgentStore, SndMessage
from hushwire.client import (
    ConnectionLost,
    ResponseTimeout,
    SMPClientError,
    SMPCommandError,
    VersionMismatch,
)
from hushwire.client.errors import expected
from hushwire.client.proxy import proxied_request, proxy_session, send_via_proxy
from hushwire.client.reconnect import ReconnectingClient
from hushwire.crypto.keys import KeyPair
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import OK, SKEY
from hushwire.smp.errors import (
    BROKER,
    PROXY,
    TRANSPORT,
    BrokerErrorType,
    ErrorType,
    ProxyError,
    TransportError,
)
from hushwire.smp.proxy import ProxiedRelay

if TYPE_CHECKING:
    from hushwire.client.client import SMPClient

__all__ = ["Outbox", "ProxyUnavailable"]

log = logging.getLogger("hushwire.agent")

RETRY_FIRST: Final = 0.5
"""Seconds before the first retry of a SEND; the delay doubles on every further failure."""
RETRY_MAX_NETWORK: Final = 30.0
RETRY_MAX_QUOTA: Final = 60.0


class ProxyUnavailable(ConnectionLost):
    """The proxy could not forward the command now; it is retried like a lost connection."""

    def __init__(self, message: str, error: ErrorType | BrokerErrorType) -> None:
        super().__init__(message)
        self.error = error


Proxied = Callable[["SMPClient", ProxiedRelay], Awaitable[None]]
Direct = Callable[[ReconnectingClient], Awaitable[None]]


class Outbox:
    """Delivery tasks of one agent, one per connection with pending messages."""

    def __init__(
        self,
        store: AgentStore,
        client: Callable[[SMPServer], Awaitable[ReconnectingClient]],
        after_sent: Callable[[str, SndMessage], Awaitable[None]],
        report: Callable[[str, str], Awaitable[None]],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        *,
        key_pair: Callable[[bytes], KeyPair] = key_pair,
        routing: RoutingSettings | None = None,
        own: SMPServer | None = None,
        known: Callable[[], Collection[SMPServer]] = tuple,
    ) -> None:
        """``routing``: the private routing settings; ``own``: the agent's relay (the proxy;
        None: never proxy); ``known``: the agent's other relays (for mode ``unknown``)."""
        self._routing = routing or RoutingSettings()
        self._own = own
        self._known = known
        self._sessions: dict[tuple[str, str], tuple[SMPClient, ProxiedRelay]] = {}
        self._session_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._store = store
        self._key_pair = key_pair
        self._sleep = sleep
        self._client = client
        self._after_sent = after_sent
        self._report = report
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._securing: dict[str, tuple[bytes, asyncio.Task[None]]] = {}
        """SKEYs sent ahead of the confirmation that needs them: conn_id -> (the sender id
        of the queue, the command)."""
        self.closing = False

    def kick(self, conn_id: str) -> None:
        """Make sure the connection's pending messages are being delivered."""
        if self.closing:
            return
        task = self._tasks.get(conn_id)
        if task is None or task.done():
            self._tasks[conn_id] = asyncio.create_task(self._deliver(conn_id))

    def kick_pending(self) -> None:
        """Kick every connection with a pending message (after a reconnect)."""
        for conn_id in {m.conn_id for m in self._store.pending_snd_messages()}:
            self.kick(conn_id)

    def cancel(self, conn_id: str) -> None:
        task = self._tasks.pop(conn_id, None)
        if task is not None:
            task.cancel()
        ahead = self._securing.pop(conn_id, None)
        if ahead is not None:
            ahead[1].cancel()

    def tasks(self) -> list[asyncio.Task[None]]:
        return [*self._tasks.values(), *(task for _, task in self._securing.values())]

    def secure_ahead(self, conn_id: str, server: SMPServer, sid: bytes, key: KeyPair) -> None:
        """Start ``SKEY`` of the peer's queue ``sid`` now, without waiting for its answer:
        the confirmation it is for follows as soon as it is stored (:meth:`_send_secured`).
        Only on a direct route (through a proxy the two could overtake each other)."""
        if self.closing or not self._direct(server):
            return
        ahead = self._securing.get(conn_id)
        if ahead is None or ahead[0] != sid or (ahead[1].done() and not _succeeded(ahead[1])):
            self._securing[conn_id] = (sid, asyncio.create_task(self.secure(server, sid, key)))

    async def _deliver(self, conn_id: str) -> None:
        delay = RETRY_FIRST
        while not self.closing:
            m = self._store.next_snd_message(conn_id)
            if m is None:
                return
            st = self._store.peek(conn_id)
            q = None if st is None else st.queue_for(m.snd_id)
            if q is None:
                return
            key = self._key_pair(q.snd_auth_key) if signed(m.kind) else None
            try:
                await self._store.durable()
                server = SMPServer.parse(q.server)
                if m.kind == SndKind.CONF and not q.secured and key is not None:
                    await self._send_secured(conn_id, server, q.snd_id, m.body, key)
                else:
                    await self.send(server, q.snd_id, m.body, key)
            except SMPCommandError as e:
                if e.error == ErrorType.QUOTA:
                    await self._sleep(delay)
                    delay = min(delay * 2, RETRY_MAX_QUOTA)
                    continue
                log.warning("%s: message %d refused: %s", conn_id, m.snd_id, e.error)
                self._store.set_snd_status(conn_id, m.snd_id, "failed")
                await self._report(conn_id, f"the relay refused a message: {e.error.encode()!r}")
                continue
            except (ConnectionLost, SMPClientError):
                await self._sleep(delay)
                delay = min(delay * 2, RETRY_MAX_NETWORK)
                continue
            delay = RETRY_FIRST
            self._store.set_snd_status(conn_id, m.snd_id, "sent")
            await self._after_sent(conn_id, m)

    async def _send_secured(
        self, conn_id: str, server: SMPServer, sid: bytes, body: bytes, key: KeyPair
    ) -> None:
        """Our fast confirmation: ``SKEY`` of the peer's queue, then the signed ``SEND``.

        On a direct route the SEND does not wait for SKEY's answer: it follows the SKEY sent
        ahead (:meth:`secure_ahead`), or goes in the same block as a new one. Hushwire's relay
        runs a command for a queue only after the ones before it for that queue, so the SEND
        finds the queue secured. simplexmq's server checks the signatures of a block's
        commands when it reads the block, before it runs any (and runs a block's commands
        last first): there the SEND is refused with ``AUTH`` while the SKEY succeeds, and the
        SEND goes again, now to the secured queue (one round trip more, as if sent in turn).
        A SEND that succeeded proves the queue is secured with our key, whatever the SKEY's
        answer was. SKEY again with the same key is accepted by both relays, so a retry
        after a lost connection or a restart sends both again.
        """
        ahead = self._securing.pop(conn_id, None)
        skey = None if ahead is None or ahead[0] != sid else ahead[1]
        if skey is not None and skey.done() and not _succeeded(skey):
            skey = None
        if not self._direct(server):
            await (skey if skey is not None else self.secure(server, sid, key))
            await self.send(server, sid, body, key)
            return
        if skey is None:
            skey = asyncio.create_task(self.secure(server, sid, key))
        send = asyncio.create_task(self.send(server, sid, body, key))
        secured, sent = await asyncio.gather(skey, send, return_exceptions=True)
        if sent is None:
            return
        if isinstance(secured, BaseException):
            raise secured
        if isinstance(sent, SMPCommandError) and sent.error == ErrorType.AUTH:
            await self.send(server, sid, body, key)
            return
        raise sent

    # ------------------------------------------------------------------ routing

    async def send(self, server: SMPServer, sid: bytes, body: bytes, key: KeyPair | None) -> None:
        """``SEND`` to the queue ``sid`` on ``server``, directly or through the proxy."""

        async def proxied(c: SMPClient, relay: ProxiedRelay) -> None:
            await send_via_proxy(c, relay, sid, body, key=key)

        async def direct(rc: ReconnectingClient) -> None:
            await rc.send(sid, body, key=key)

        await self._command(server, proxied, direct)

    async def secure(self, server: SMPServer, sid: bytes, key: KeyPair) -> None:
        """``SKEY``: secure the peer's queue ``sid`` on ``server`` with our sender key."""

        async def proxied(c: SMPClient, relay: ProxiedRelay) -> None:
            cmd = SKEY(key.public)
            expected(OK, cmd, await proxied_request(c, relay, sid, cmd, key))

        async def direct(rc: ReconnectingClient) -> None:
            await rc.secure_sender(sid, key)

        await self._command(server, proxied, direct)

    def _proxy(self, server: SMPServer) -> SMPServer | None:
        """The proxy a command for ``server`` goes through (None: directly)."""
        if self._own is None:
            return None
        return route(self._routing, server, self._own, self._known())

    def _direct(self, server: SMPServer) -> bool:
        """A command for ``server`` goes directly (not through a proxy, nor refused)."""
        return self._proxy(server) is None and not self._routing.two_hop

    async def _command(self, server: SMPServer, proxied: Proxied, direct: Direct) -> None:
        proxy = self._proxy(server)
        if proxy is None and self._routing.two_hop:
            # GRP/1: no direct sends, and no "proxying" through the destination itself.
            log.warning("GRP needs a distinct entry relay: %s is the agent's own", server)
            raise SMPCommandError(PROXY(BROKER(BrokerErrorType.HOST)))
        if proxy is None:
            await direct(await self._client(server))
            return
        try:
            await self._via_proxy(proxy, server, proxied)
        except ProxyUnavailable as e:
            outcome = after_proxy_error(self._routing, server, e.error)
            if outcome is ProxyOutcome.DIRECT:
                log.info("proxy cannot reach %s (%s); sending directly", server.hosts[0], e)
                await direct(await self._client(server))
            elif outcome is ProxyOutcome.RETRY:
                raise
            else:
                err = e.error if isinstance(e.error, ErrorType) else PROXY(BROKER(e.error))
                raise SMPCommandError(err) from e

    async def _via_proxy(self, proxy: SMPServer, destination: SMPServer, proxied: Proxied) -> None:
        """Run ``proxied`` on the session with ``destination``; re-create it once after
        ``PROXY NO_SESSION``. Failures of the proxy raise :class:`ProxyUnavailable`."""
        try:
            c = await (await self._client(proxy)).wait_connected()
        except VersionMismatch as e:
            raise ProxyUnavailable(str(e), TRANSPORT(TransportError.VERSION)) from e
        for attempt in range(2):
            relay = await self._session(c, proxy, destination)
            try:
                await proxied(c, relay)
                return
            except SMPCommandError as e:
                if not isinstance(e.error, PROXY):
                    raise  # the destination's own answer
                self._drop_session(proxy, destination, relay)
                if e.error.error == ProxyError.NO_SESSION and attempt == 0:
                    continue
                raise ProxyUnavailable(str(e), e.error) from e
            except ResponseTimeout as e:
                raise ProxyUnavailable(str(e), BrokerErrorType.TIMEOUT) from e

    async def _session(
        self, c: SMPClient, proxy: SMPServer, destination: SMPServer
    ) -> ProxiedRelay:
        """The proxy session with ``destination`` on the connection ``c`` (``PRXY`` once)."""
        k = (proxy.encode(), destination.encode())
        lock = self._session_locks.setdefault(k, asyncio.Lock())
        async with lock:
            held = self._sessions.get(k)
            if held is not None and held[0] is c:
                return held[1]
            try:
                relay = await proxy_session(c, destination, password=proxy.basic_auth)
            except SMPCommandError as e:
                raise ProxyUnavailable(str(e), e.error) from e
            except ResponseTimeout as e:
                raise ProxyUnavailable(str(e), BrokerErrorType.TIMEOUT) from e
            self._sessions[k] = (c, relay)
            return relay

    def _drop_session(self, proxy: SMPServer, destination: SMPServer, relay: ProxiedRelay) -> None:
        k = (proxy.encode(), destination.encode())
        held = self._sessions.get(k)
        if held is not None and held[1] is relay:
            del self._sessions[k]


def _succeeded(task: asyncio.Task[None]) -> bool:
    """A finished task ended without an error (its error, if any, counts as retrieved)."""
    return not task.cancelled() and task.exception() is None
