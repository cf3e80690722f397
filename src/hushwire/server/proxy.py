"""The relay as a proxy of private message routing: ``PRXY``/``PKEY`` and ``PFWD``/``PRES``.

Mirrors simplexmq ``Simplex.Messaging.Server`` (the ``PRXY``/``PFWD`` branch of
``processProxiedCmd``), ``Simplex.Messaging.Client.Agent`` (the pool of relay clients,
``getSMPServerClient'``, ``lookupSMPServerClient``, ``persistErrorInterval``) and
``Simplex.Messaging.Client`` (``forwardSMPTransmission``); the wire-level decisions are the
pure functions of :mod:`hushwire.smp.proxy`. The protocol is described in
docs/protocol/smp.md.

Theory of operation
-------------------
A sender connected to this relay asks for a session with a destination relay (``PRXY``).
The relay keeps **one** SMP client connection per destination address (every host, the
port and the key hash), shared by all its clients, so the destination sees one proxy
session and cannot tell the senders apart. A pool entry is in one of three states:

- *connecting*: a task dials the destination (native TLS), checks its identity against
  the key hash (the SMP handshake) and says in its hello that it is a proxy (so the
  destination uses no v11 block encryption on this link). Every ``PRXY`` for that
  destination waits on the same task;
- *connected*: ``PRXY`` is answered at once with ``PKEY`` (the session id, the version range
  capped to 8..17 and the destination's certificate chain and signed session key), and the
  session id maps to the client so that ``PFWD`` can find it;
- *failed*: the error is answered to every ``PRXY`` for 30 seconds, then the next one tries
  again.

When the destination connection closes, both maps forget it; later ``PFWD`` for its session
id are answered ``PROXY NO_SESSION`` and the sender asks again with ``PRXY``.

``PFWD`` carries a command sealed for the destination; this relay wraps it in ``RFWD``
under the handshake secret of its destination session with a fresh random nonce (the
RFWD corrId), waits for ``RRES`` and passes the sealed response back as ``PRES``. It never
sees the queue, the command or its result.

A ``PRXY`` that has to wait and every ``PFWD`` are answered by a task, out of order
(matched by corrId), so a slow destination never holds up the client's other commands;
one client connection may have 32 of them in flight, then its next one waits.

What this relay sees: the sender's address and that it uses some destination relay, the
destination's address, sizes and times. Logs never name the destination.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hushwire.client.client import ClientConfig, SMPClient
from hushwire.client.errors import (
    ConnectFailed,
    ConnectionLost,
    HandshakeFailed,
    IdentityMismatch,
    ResponseTimeout,
    SMPCommandError,
    UnexpectedResponse,
    VersionMismatch,
)
from hushwire.errors import HushwireError
from hushwire.grp.address import GrpAddress
from hushwire.grp.cover import LINK_RATE
from hushwire.limits import RELAY_PROXY_CLIENT_CONCURRENCY, RELAY_PROXY_ERROR_SECONDS
from hushwire.server.config import RelayConfig
from hushwire.server.metrics import Metrics
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import ERR, PFWD, PRES, PRXY, BrokerMsg
from hushwire.smp.errors import (
    BROKER,
    HANDSHAKE,
    NETWORK,
    PROTOCOL,
    PROXY,
    TRANSPORT,
    BrokerErrorType,
    ErrorType,
    HandshakeError,
    NetworkError,
    TransportError,
)
from hushwire.smp.ids import NO_ENTITY
from hushwire.smp.proxy import (
    ERR_BASIC_AUTH,
    ERR_NO_SESSION,
    ERR_TRANSPORT_NO_AUTH,
    ERR_TRANSPORT_VERSION,
    destination_key,
    pfwd_check,
    pkey_answer,
    proxy_reply,
    prxy_allowed,
    wrap_rfwd,
)
from hushwire.smp.transmission import ClientRequest
from hushwire.transport.grp import CoverSettings

if TYPE_CHECKING:
    from hushwire.server.dispatch import Reply
    from hushwire.server.session import Session

log = logging.getLogger("hushwire.relay.proxy")

ERR_TIMEOUT = PROXY(BROKER(BrokerErrorType.TIMEOUT))
ERR_NETWORK = PROXY(BROKER(NETWORK(NetworkError.FAILED)))
ERR_HOST = PROXY(BROKER(BrokerErrorType.HOST))

DestKey = tuple[tuple[str, ...], int | None, bytes]
_PRUNE_AT = 1024
"""Pool entries at which expired failures are swept out."""


@dataclass(slots=True)
class _Destination:
    """One pool entry: connecting (``task``), connected (``client``) or failed (``error``
    until ``retry_at``)."""

    task: asyncio.Task[SMPClient | ErrorType] | None = None
    client: SMPClient | None = None
    error: ErrorType | None = None
    retry_at: float = 0.0


def connect_error(e: BaseException) -> ErrorType:
    """The ``PROXY BROKER`` error for a failed connection to a destination."""
    if isinstance(e, TimeoutError):
        return ERR_TIMEOUT
    if isinstance(e, IdentityMismatch):
        return PROXY(BROKER(TRANSPORT(HANDSHAKE(HandshakeError.IDENTITY))))
    if isinstance(e, VersionMismatch):
        return PROXY(BROKER(TRANSPORT(TransportError.VERSION)))
    if isinstance(e, HandshakeFailed):
        return PROXY(BROKER(TRANSPORT(HANDSHAKE(HandshakeError.BAD_AUTH))))
    if isinstance(e, ConnectFailed | ConnectionLost | OSError):
        return ERR_NETWORK
    return ErrorType.INTERNAL


def _result_kind(command: str, e: ErrorType) -> str:
    """The metrics bucket of a proxy command answered with ``e`` (simplexmq ``ProxyStats``
    as Server.hs counts them): a session that is gone counts as a connection error; for
    PFWD the destination's own error (``PROXY PROTOCOL``) is a success, any other failure
    "other"; for PRXY a network failure or timeout is a connection error, a destination
    that cannot do private routing a compatibility error."""
    if e == ERR_NO_SESSION or (command == "PRXY" and e in (ERR_TIMEOUT, ERR_NETWORK)):
        return "error_connect"
    if command == "PFWD" and isinstance(e, PROXY) and isinstance(e.error, PROTOCOL):
        return "success"
    if e in (ERR_TRANSPORT_VERSION, ERR_TRANSPORT_NO_AUTH):
        return "error_compat"
    return "error_other"


class ProxyPool:
    """The relay's proxy role: the pool of destination connections and the two commands."""

    def __init__(
        self,
        config: RelayConfig,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.clock = clock
        self._dests: dict[DestKey, _Destination] = {}
        self._sessions: dict[bytes, SMPClient] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: weakref.WeakKeyDictionary[Session, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        lim = config.limits
        # The handshake timeout is enforced here (as TIMEOUT); the client's own is longer.
        self._client_config = ClientConfig(
            connect_timeout=lim.proxy_connect_timeout + 5,
            command_timeout=lim.proxy_forward_timeout,
            proxy_server=True,
            grp_cover=CoverSettings(rate=max(LINK_RATE, config.grp_cover_rate)),
        )
        self._grp_peers = {GrpAddress.parse(a).key_hash: a for a in config.grp_peers}
        """Destinations reached over GRP/1 (docs/grp.md), by key hash."""

    # ------------------------------------------------------------------ commands

    async def handle(self, session: Session, req: ClientRequest) -> list[Reply]:
        """Answer ``PRXY`` or ``PFWD``; an empty list means the answer follows later."""
        cmd = req.command
        if isinstance(cmd, PRXY):
            return await self._prxy(session, req, cmd)
        assert isinstance(cmd, PFWD)
        return await self._pfwd(session, req, cmd)

    async def _prxy(self, session: Session, req: ClientRequest, cmd: PRXY) -> list[Reply]:
        cfg = self.config
        password = cfg.proxy_password if cfg.proxy_password is not None else cfg.create_password
        if not prxy_allowed(cfg.allow_proxy, password, cmd.server.basic_auth):
            self.metrics.errors["PROXY"] += 1  # refused: not counted as a proxy request
            return [(req.corr_id, req.entity_id, ERR(ERR_BASIC_AUTH))]
        self._count("PRXY", "request")
        found = self._lookup(cmd.server)
        if not isinstance(found, asyncio.Task):
            return [self._pkey("PRXY", req, found)]
        await self._spawn(session, self._prxy_later(session, req, found))
        return []

    async def _prxy_later(
        self, session: Session, req: ClientRequest, task: asyncio.Task[SMPClient | ErrorType]
    ) -> None:
        try:
            async with asyncio.timeout(self.config.limits.proxy_connect_timeout):
                found = await asyncio.shield(task)
        except TimeoutError:
            found = ERR_TIMEOUT
        corr, ent, msg = self._pkey("PRXY", req, found)
        session.push(corr, ent, msg)

    def _pkey(self, kind: str, req: ClientRequest, found: SMPClient | ErrorType) -> Reply:
        if isinstance(found, ErrorType):
            return self._fail(kind, req, found)
        answer = pkey_answer(
            found.session_id, found.version, found.version_range, found.server_cert_key
        )
        if isinstance(answer, ErrorType):
            return self._fail(kind, req, answer)
        self._count(kind, "success")
        return (req.corr_id, NO_ENTITY, answer)

    async def _pfwd(self, session: Session, req: ClientRequest, cmd: PFWD) -> list[Reply]:
        self._count("PFWD", "request")
        client = self._sessions.get(bytes(req.entity_id))
        bad = pfwd_check(
            None if client is None else client.version,
            client is not None and client.session_box_key is not None,
        )
        if bad is not None or client is None:
            return [self._fail("PFWD", req, bad or ErrorType.INTERNAL)]
        await self._spawn(session, self._forward(session, req, cmd, client))
        return []

    async def _forward(
        self, session: Session, req: ClientRequest, cmd: PFWD, client: SMPClient
    ) -> None:
        box = client.session_box_key
        assert box is not None
        nonce = os.urandom(24)
        reply: BrokerMsg
        try:
            rfwd = wrap_rfwd(box, nonce, req.corr_id, cmd)
            result: BrokerMsg | ErrorType
            try:
                result = await client.request(NO_ENTITY, rfwd, None, corr_id=nonce)
            except SMPCommandError as e:
                result = ERR(e.error)
            except UnexpectedResponse as e:
                result = e.response if e.response is not None else ErrorType.INTERNAL
            reply = proxy_reply(box, nonce, result)
        except ResponseTimeout:
            reply = ERR(ERR_TIMEOUT)
        except (ConnectionLost, ConnectFailed):
            reply = ERR(ERR_NETWORK)
        except Exception:
            log.exception("%s: forwarding failed", session.cid)
            reply = ERR(ErrorType.INTERNAL)
        if isinstance(reply, PRES):
            self._count("PFWD", "success")
        elif isinstance(reply, ERR):
            self._count("PFWD", _result_kind("PFWD", reply.error))
        session.push(req.corr_id, req.entity_id, reply)

    def _fail(self, kind: str, req: ClientRequest, e: ErrorType) -> Reply:
        self._count(kind, _result_kind(kind, e))
        key = "PROXY" if isinstance(e, PROXY) else e.encode().split(b" ")[0].decode()
        self.metrics.errors[key] += 1
        return (req.corr_id, req.entity_id, ERR(e))

    def _count(self, command: str, result: str) -> None:
        self.metrics.proxy_commands[(command, result)] += 1

    async def _spawn(self, session: Session, work: Coroutine[object, object, None]) -> None:
        """Run ``work`` as a task within the session's cap of commands in flight."""
        slots = self._slots.get(session)
        if slots is None:
            slots = self._slots[session] = asyncio.Semaphore(RELAY_PROXY_CLIENT_CONCURRENCY)
        await slots.acquire()

        async def guarded() -> None:
            try:
                await work
            finally:
                slots.release()

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ pool

    def _lookup(
        self, server: SMPServer
    ) -> SMPClient | ErrorType | asyncio.Task[SMPClient | ErrorType]:
        key = destination_key(server)
        d = self._dests.get(key)
        if d is not None:
            if d.client is not None and not d.client.closed:
                return d.client
            if d.task is not None and not d.task.done():
                return d.task
            if d.error is not None and self.clock() < d.retry_at:
                return d.error
        if len(self._dests) >= _PRUNE_AT:
            self._prune()
        d = _Destination()
        self._dests[key] = d
        d.task = asyncio.create_task(self._connect(key, d, server))
        return d.task

    async def _connect(
        self, key: DestKey, d: _Destination, server: SMPServer
    ) -> SMPClient | ErrorType:
        hosts = tuple(h for h in server.hosts if not h.endswith(".onion"))
        try:
            if not hosts:  # onion-only destination: no SOCKS proxy here (host mode public)
                raise _HostError
            async with asyncio.timeout(self.config.limits.proxy_connect_timeout):
                client = await SMPClient.connect(
                    replace(server, hosts=hosts, basic_auth=None),
                    ws_url=self._grp_peers.get(server.key_hash),
                    config=self._client_config,
                )
        except _HostError:
            return self._failed(d, ERR_HOST)
        except Exception as e:
            log.debug("proxy: a destination did not connect: %s", type(e).__name__)
            return self._failed(d, connect_error(e))
        d.client = client
        self._sessions[bytes(client.session_id)] = client
        watch = asyncio.create_task(self._forget_when_closed(key, d, client))
        self._tasks.add(watch)
        watch.add_done_callback(self._tasks.discard)
        return client

    def _prune(self) -> None:
        """Forget failures whose 30 seconds are over (the pool stays bounded by the rate
        at which clients can make the relay try new destinations)."""
        now = self.clock()
        for k, d in list(self._dests.items()):
            idle = d.client is None and (d.task is None or d.task.done())
            if idle and now >= d.retry_at:
                del self._dests[k]

    def _failed(self, d: _Destination, e: ErrorType) -> ErrorType:
        d.error = e
        d.retry_at = self.clock() + RELAY_PROXY_ERROR_SECONDS
        return e

    async def _forget_when_closed(self, key: DestKey, d: _Destination, client: SMPClient) -> None:
        await client.wait_closed()
        if self._sessions.get(bytes(client.session_id)) is client:
            del self._sessions[bytes(client.session_id)]
        if self._dests.get(key) is d:
            del self._dests[key]

    def destination_sessions(self) -> int:
        """Destination connections open now (a gauge)."""
        return len(self._sessions)

    async def close(self) -> None:
        """Close every destination connection and stop every pending answer."""
        clients = [d.client for d in self._dests.values() if d.client is not None]
        for d in self._dests.values():
            if d.task is not None:
                d.task.cancel()
        for t in list(self._tasks):
            t.cancel()
        for c in clients:
            with contextlib.suppress(Exception):
                await c.close()
        self._dests.clear()
        self._sessions.clear()


class _HostError(HushwireError):
    """No host of the destination can be reached from here (``PROXY BROKER HOST``); internal,
    always caught in the same function."""
