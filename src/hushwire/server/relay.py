"""The relay: connections, handshake and session lifetimes around dispatch and the store.

Mirrors simplexmq ``Simplex.Messaging.Server`` (``runServer``, ``runClientTransport``, the
server side of the handshake in ``Simplex.Messaging.Transport``); see docs/protocol/smp.md and
docs/architecture.md. The parts live in their own modules: session I/O and throttling in
``hushwire.server.session``, authorization in ``hushwire.server.auth``, the command logic over
the store in ``hushwire.server.dispatch``, the durable store in ``hushwire.server.store``.

:meth:`Relay.handle` serves one connection: the server hello (with the certificate chain and
a per-connection X25519 key signed by the online certificate), the client hello, then a
:class:`~hushwire.server.session.Session` whose commands run in the relay's
:class:`~hushwire.server.dispatch.Dispatcher`. When the connection ends its subscriptions are
dropped; the messages it was given stay in the store and are delivered again on the next SUB.

Versions offered: every command and encoding of 6..18 that a client without a service
certificate uses (``SUPPORTED_SMP_RANGE``). Service certificates (v16) are refused in the
handshake as the reference refuses them without a TLS client certificate; private routing
(PRXY/PFWD/RFWD) is answered ``ERR CMD PROHIBITED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable

from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.crypto.nacl import dh_box_key
from hushwire.errors import CryptoError, DecodeError
from hushwire.limits import SESSION_ID_SIZE
from hushwire.server.config import RelayConfig
from hushwire.server.dispatch import Client, Dispatcher, Reply
from hushwire.server.forward import process_rfwd
from hushwire.server.identity import ServerIdentity
from hushwire.server.metrics import Metrics
from hushwire.server.proxy import ProxyPool
from hushwire.server.session import Session, TokenBucket
from hushwire.server.store import QueueStore
from hushwire.smp.block import BlockChain, pad_handshake, unpad_handshake
from hushwire.smp.commands import PFWD, PRXY, RFWD
from hushwire.smp.errors import HANDSHAKE, ErrorType, HandshakeError
from hushwire.smp.hello import (
    CertChainPubKey,
    ClientHello,
    Negotiated,
    ServerHello,
    ServiceRejected,
    negotiate_server,
)
from hushwire.smp.transmission import ClientRequest
from hushwire.smp.version import LEGACY_SERVER_RANGE, SUPPORTED_SMP_RANGE, VersionRange
from hushwire.transport import BlockConn, ConnectionClosedError, TransportFailure
from hushwire.transport.blocks import ControlFloodError

__all__ = ["Relay"]

log = logging.getLogger("hushwire.relay")


def peer_address(conn: BlockConn) -> str:
    """The peer's IP address without the port (``conn.peer`` is ``host:port``)."""
    host, sep, _ = conn.peer.rpartition(":")
    return host if sep else conn.peer


class Relay:
    """The SMP relay: store, identity, sessions and subscriptions."""

    def __init__(
        self,
        config: RelayConfig,
        identity: ServerIdentity,
        store: QueueStore,
        *,
        clock: Callable[[], float] = time.time,
        versions: VersionRange = SUPPORTED_SMP_RANGE,
    ) -> None:
        self.config = config
        self.identity = identity
        self.store = store
        self.clock = clock
        self.versions = versions
        self.metrics = Metrics()
        self.dispatcher = Dispatcher(config, store, self.metrics, clock=clock)
        self.sessions: set[Session] = set()
        self._handshaking: dict[str, int] = {}
        """Connections still in the handshake, by peer address."""
        self._handshaking_total = 0
        lim = config.limits
        self._sig_global = TokenBucket(lim.sig_checks_per_second, 1.0)
        self._sig_by_address: dict[str, tuple[TokenBucket, TokenBucket, int]] = {}
        """Signature-check budget and queue-creation quota per peer address, with its number
        of sessions."""
        self._conn_tasks: set[asyncio.Task[None]] = set()
        self.proxy = ProxyPool(config, self.metrics)
        """Private routing as the proxy (PRXY, PFWD): hushwire.server.proxy."""

    @property
    def subscribers(self) -> dict[bytes, Client]:
        """Recipient id -> the session subscribed to the queue."""
        return self.dispatcher.subscribers

    @property
    def ntf_subscribers(self) -> dict[bytes, Client]:
        """Notifier id -> the session subscribed to its notifications."""
        return self.dispatcher.ntf_subscribers

    def count_error(self, e: ErrorType) -> None:
        self.dispatcher.count_error(e)

    async def process(self, session: Session, req: ClientRequest) -> list[Reply]:
        """Run one command of ``session`` (the session's :class:`CommandRunner` side).

        Private routing is wired here, around the store logic of dispatch: ``RFWD`` as the
        destination (:mod:`hushwire.server.forward`, whose inner command comes back through
        this method), ``PRXY``/``PFWD`` as the proxy (:mod:`hushwire.server.proxy`)."""
        cmd = req.command
        if isinstance(cmd, RFWD | PRXY | PFWD) and req.service_sig is None:
            self.metrics.commands[cmd.tag.decode()] += 1
            if isinstance(cmd, RFWD):
                return await process_rfwd(self, session, req, cmd)
            return await self.proxy.handle(session, req)
        return await self.dispatcher.process(session, req)

    @property
    def stages_sender_keys(self) -> bool:
        return self.store.stages_sender_keys

    def try_deliver(self, rid: bytes) -> None:
        """Push the head message of ``rid`` to its subscriber if it has nothing in flight."""
        self.dispatcher.try_deliver(rid)

    # ------------------------------------------------------------------ connections

    async def handle(self, conn: BlockConn) -> None:
        """Serve one connection until it closes; never raises."""
        task = asyncio.current_task()
        assert task is not None
        self._conn_tasks.add(task)
        self.metrics.connections_total += 1
        self.metrics.connections_open += 1
        session: Session | None = None
        lim = self.config.limits
        try:
            # Only handshaken connections take one of the max_connections slots; those still
            # in the handshake are capped per address (and in all by max_connections too),
            # so silent sockets cannot lock everyone out.
            if len(self.sessions) >= lim.max_connections:
                self.metrics.disconnects["too_many_connections"] += 1
                return
            addr = peer_address(conn)
            if (
                self._handshaking.get(addr, 0) >= lim.max_handshakes_per_address
                or self._handshaking_total >= lim.max_connections
            ):
                self.metrics.disconnects["too_many_handshakes"] += 1
                return
            self._handshaking[addr] = self._handshaking.get(addr, 0) + 1
            self._handshaking_total += 1
            try:
                session = await self._handshake(conn)
            finally:
                self._handshaking_total -= 1
                left = self._handshaking[addr] - 1
                if left:
                    self._handshaking[addr] = left
                else:
                    del self._handshaking[addr]
            if session is None:
                return
            if len(self.sessions) >= lim.max_connections:
                self.metrics.disconnects["too_many_connections"] += 1
                session = None
                return
            self._attach_budgets(session, addr)
            self.sessions.add(session)
            log.debug("%s: session v%d", conn.conn_id, session.version)
            try:
                await session.reader()
            finally:
                await session.settle()
                session.close_now()
                await session.stop_writer()
        except ControlFloodError:
            self.metrics.disconnects["ping_flood"] += 1
            log.info("%s: closed: PING flood", conn.conn_id)
        except (ConnectionClosedError, TransportFailure, OSError):
            pass
        except Exception:  # pragma: no cover - a bug must not take the relay down
            log.exception("%s: session failed", conn.conn_id)
        finally:
            self.metrics.connections_open -= 1
            if session is not None:
                self._drop_session(session)
            await conn.close()
            self._conn_tasks.discard(task)

    def _attach_budgets(self, session: Session, addr: str) -> None:
        lim = self.config.limits
        entry = self._sig_by_address.get(addr)
        if entry is None:
            entry = (
                TokenBucket(lim.sig_checks_per_second_per_address, 1.0),
                TokenBucket(lim.new_queues_per_minute_per_address, 60.0),
                0,
            )
        bucket, new_quota, users = entry
        self._sig_by_address[addr] = (bucket, new_quota, users + 1)
        session.sig_budgets = (("address", bucket), ("global", self._sig_global))
        session.new_queue_quota = new_quota
        session.peer_address = addr

    def _drop_session(self, session: Session) -> None:
        addr = session.peer_address
        if addr is not None and addr in self._sig_by_address and session in self.sessions:
            bucket, new_quota, users = self._sig_by_address[addr]
            if users > 1:
                self._sig_by_address[addr] = (bucket, new_quota, users - 1)
            else:
                del self._sig_by_address[addr]
        self.sessions.discard(session)
        self.dispatcher.drop_client(session)

    async def _handshake(self, conn: BlockConn) -> Session | None:
        session_key = KeyPair.generate(KeyAlg.X25519)
        session_id = conn.tls_unique if conn.tls_unique else os.urandom(SESSION_ID_SIZE)
        if conn.kind == "tls" and conn.alpn is None:
            offered = LEGACY_SERVER_RANGE
        else:
            offered = self.versions
        signed = x509.sign_key(self.identity.online_key, session_key.public)
        hello = ServerHello(offered, session_id, CertChainPubKey(self.identity.cert_chain, signed))
        await conn.send_block(pad_handshake(hello.encode()))
        try:
            block = await asyncio.wait_for(conn.recv_block(), self.config.limits.handshake_timeout)
            client = ClientHello.decode(unpad_handshake(block))
        except TimeoutError:
            self.metrics.handshakes_failed += 1
            self.metrics.disconnects["handshake_timeout"] += 1
            return None
        except DecodeError:
            self.metrics.handshakes_failed += 1
            self.metrics.disconnects["bad_hello"] += 1
            return None
        result = negotiate_server(offered, self.identity.key_hash, client)
        if not isinstance(result, Negotiated):
            self.metrics.handshakes_failed += 1
            self.metrics.disconnects["handshake_" + result.encode().decode().lower()] += 1
            log.info("%s: handshake refused: %s", conn.conn_id, result.encode().decode())
            return None
        if client.client_service is not None:
            # A service certificate must match the TLS client certificate chain
            # (Transport.hs getClientService); this relay requests none, so the
            # reference answer applies: 'E' HANDSHAKE BAD_AUTH, then close.
            refusal = ServiceRejected(HANDSHAKE(HandshakeError.BAD_AUTH))
            with contextlib.suppress(TransportFailure, OSError):
                await conn.send_block(pad_handshake(refusal.encode()))
            self.metrics.handshakes_failed += 1
            self.metrics.disconnects["service_refused"] += 1
            return None
        chains = None
        if result.block_encryption:
            assert client.session_key is not None
            dh = session_key.private.dh(client.session_key)
            chains = BlockChain.pair(session_id, dh, server=True)
        session = Session(
            self,
            self.config.limits,
            self.metrics,
            conn,
            result.version,
            session_id,
            session_key.private,
            chains,
        )
        if client.session_key is not None:  # private routing: the RFWD box key
            with contextlib.suppress(CryptoError):  # a low-order key: no RFWD on this session
                session.session_box_key = dh_box_key(client.session_key, session_key.private)
        return session

    # ------------------------------------------------------------------ housekeeping

    async def expire(self) -> tuple[int, int]:
        """One expiry sweep: old messages, and messaging queues never secured."""
        now = self.clock()
        lim = self.config.limits
        msgs = await self.store.expire_messages(int(now - lim.message_expiry_days * 86400))
        queues = await self.store.expire_unsecured_queues(
            int(now - lim.unsecured_queue_expiry_days * 86400)
        )
        self.metrics.messages_expired += msgs
        return msgs, queues

    async def close_sessions(self) -> None:
        await self.proxy.close()
        for s in list(self.sessions):
            s.close_now()
        tasks = list(self._conn_tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=5)
