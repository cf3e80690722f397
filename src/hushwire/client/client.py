"""An asyncio SMP client: handshake, typed commands, events, keepalive, batched sending.

Mirrors simplexmq ``Client.hs`` (``getProtocolClient``, ``sendProtocolCommand``,
``processMsg``, the ``send``/``receive``/``monitor`` threads) on top of the sans-I/O codec in
:mod:`hushwire.smp`; docs/protocol/smp.md.

Theory of operation. :meth:`SMPClient.connect` dials the server (native TLS with ALPN
``smp/1``, a ``ws://``/``wss://`` URL, or a ``grp://``/``grps://`` GRP/1 address: the same
block interface, docs/grp.md), runs the handshake (:mod:`.handshake`) and starts
three tasks:

- the *writer* waits for queued transmissions, takes everything queued so far, packs it into
  as few blocks as the block budget allows (``batch_transmissions``) and writes the blocks;
  what callers queue while a block is being written goes into the next round, so concurrent
  commands share blocks;
- the *reader* decodes every block into transmissions: one with a corrId completes the
  command waiting for it (a map corrId -> future; the entity must match the command's, as
  in ``processMsg``); one without (``MSG``, ``END``, ``DELD``, ``NMSG``) becomes an event on
  the bounded :attr:`SMPClient.events` queue. The reader never waits for the consumer (that
  would hold up the answers to commands too): when the queue is full, events wait in a
  backlog that a pump task moves on as room appears. The backlog stays small by protocol
  (the server has at most one unacknowledged message per subscribed queue in flight); if it
  still passes ``max_event_backlog`` the connection is closed, which loses nothing, as the
  server keeps every unacknowledged message for the next subscription;
- the *keepalive* sends ``PING`` every ``ping_interval`` seconds, keeps the round trip in
  :attr:`SMPClient.lag` and closes the connection after ``ping_count`` pings in a row get no
  ``PONG`` in time.

Any failure of a task, the peer closing, or :meth:`SMPClient.close` ends the session: every
waiting command fails with :class:`ConnectionLost` and :meth:`SMPClient.wait_closed` returns.
Nothing is retried here; :class:`~hushwire.client.reconnect.ReconnectingClient` reconnects
and subscribes again.

Each command gets 24 random corrId bytes. Ed25519/Ed448 queue keys sign the authorized bytes
(``shortString(sessionId) ‖ shortString(corrId) ‖ shortString(entityId) ‖ command``); X25519
queue keys make a CbAuthenticator with the server's session key and ``cbNonce(corrId)``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final, TypedDict, TypeVar

import nacl.bindings

from hushwire.client import proxy
from hushwire.client.errors import (
    ConnectFailed,
    ConnectionLost,
    HandshakeFailed,
    ResponseTimeout,
    SMPClientError,
    SMPCommandError,
    UnexpectedResponse,
    expected,
)
from hushwire.client.events import (
    ClientEvent,
    MessageEvent,
    NotificationEvent,
    QueueDeleted,
    ServerErrorEvent,
    SubscriptionEnded,
)
from hushwire.client.handshake import CLIENT_VERSION_RANGE, Session, client_handshake
from hushwire.crypto.keys import KeyAlg, KeyPair, PublicKey
from hushwire.crypto.nacl import cb_authenticate, cb_decrypt, cb_nonce, dh_box_key
from hushwire.errors import DecodeError
from hushwire.grp.address import GrpAddress, is_grp_url
from hushwire.limits import CORR_ID_SIZE
from hushwire.smp.address import SMPServer
from hushwire.smp.block import Batch, batch_transmissions, pad_block, unpad_block
from hushwire.smp.commands import (
    ACK,
    DEL,
    DELD,
    END,
    ERR,
    GET,
    IDS,
    INFO,
    KEY,
    MSG,
    NEW,
    NMSG,
    OFF,
    OK,
    PING,
    PONG,
    QUE,
    SEND,
    SKEY,
    SOK,
    SUB,
    BrokerMsg,
    Command,
    MsgFlags,
    QRContact,
    QRMessaging,
    QueueReqData,
    SubscriptionMode,
)
from hushwire.smp.errors import ErrorType
from hushwire.smp.hello import CertChainPubKey
from hushwire.smp.ids import NO_ENTITY, CorrId, EntityId, MsgId, RecipientId, SenderId
from hushwire.smp.msgbody import RcvMsgBody, RcvMsgQuota, unpad_rcv_msg_body
from hushwire.smp.queue_info import QueueInfo
from hushwire.smp.transmission import (
    ServerTransmission,
    authorized_bytes,
    decode_server_batch,
    encode_client_transmission,
)
from hushwire.smp.version import VersionRange, max_message_length
from hushwire.transport.blocks import BlockConn, TransportFailure
from hushwire.transport.connect import connect_tls, connect_ws
from hushwire.transport.grp import CoverSettings, connect_grp

log = logging.getLogger("hushwire.client")

DEFAULT_MAX_EVENTS: Final = 1024
DEFAULT_MAX_EVENT_BACKLOG: Final = 16384

T = TypeVar("T", bound=BrokerMsg)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Settings of one SMP client connection.

    ``ping_interval`` None turns keepalive off; ``ping_timeout`` None means the interval.
    ``wall_clock`` dates the certificate check; ``clock`` (monotonic) measures round trips.
    """

    version_range: VersionRange = CLIENT_VERSION_RANGE
    connect_timeout: float = 15.0
    """Seconds for TCP, TLS, WebSocket and the SMP handshake together."""
    command_timeout: float = 30.0
    ping_interval: float | None = 30.0
    ping_timeout: float | None = None
    ping_count: int = 3
    max_events: int = DEFAULT_MAX_EVENTS
    """Size of the ``events`` queue."""
    max_event_backlog: int = DEFAULT_MAX_EVENT_BACKLOG
    """Events waiting for room in a full ``events`` queue before the connection is closed."""
    wall_clock: Callable[[], datetime] = field(default=_utc_now, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    proxy_server: bool = False
    """Set by a relay connecting to a destination for private routing: the hello flag,
    and TLS 1.2 with ChaCha20 (see :func:`~hushwire.transport.connect.connect_tls`)."""
    grp_cover: CoverSettings | None = field(default=None, repr=False)
    """Cover traffic of ``grp://`` connections (docs/grp.md); None: the protocol's rate."""

    def __post_init__(self) -> None:
        if self.ping_count < 1:
            raise ValueError("ping_count must be at least 1")
        if self.max_events < 1:
            raise ValueError("max_events must be at least 1")


def queue_dh_key(rcv_dh: KeyPair, srv_dh_key: PublicKey) -> bytes:
    """The per-queue box key: ``crypto_box_beforenm(srv_dh_key, rcv_dh.private)``.

    ``srv_dh_key`` is the server's key from ``IDS``. Compute once per queue and pass it to
    :func:`decrypt_message_with_key` to save the DH on every message.
    """
    return dh_box_key(srv_dh_key, rcv_dh.private)


def decrypt_message_with_key(key: bytes, msg: MSG) -> RcvMsgBody | RcvMsgQuota:
    """Open a ``MSG`` body with a key from :func:`queue_dh_key` (nonce = ``cbNonce(msgId)``).

    The plaintext is padded to 16106 bytes; the result is the unpadded body. Raises the
    opaque ``CryptoError`` if it does not open, ``DecodeError`` if it does not parse.
    """
    opened = cb_decrypt(key, cb_nonce(msg.msg_id), msg.body, unpadded=True)
    return unpad_rcv_msg_body(opened)


def decrypt_message(msg: MSG, rcv_dh: KeyPair, srv_dh_key: PublicKey) -> RcvMsgBody | RcvMsgQuota:
    """Decrypt a ``MSG`` for the queue made with ``rcv_dh`` whose ``IDS`` had ``srv_dh_key``."""
    return decrypt_message_with_key(queue_dh_key(rcv_dh, srv_dh_key), msg)


class NewQueueOptions(TypedDict, total=False):
    """The keyword options of :meth:`SMPClient.create_queue` (``NEW``), for the clients that
    pass them on to it."""

    subscribe: bool
    messaging: bool
    basic_auth: str | None


@dataclass(slots=True)
class _Request:
    entity_id: EntityId
    future: asyncio.Future[BrokerMsg]


def _effective_config(
    config: ClientConfig | None, version_range: VersionRange | None, timeout: float | None
) -> ClientConfig:
    """``config`` (or the defaults) with the per-call version range and timeout applied."""
    cfg = config or ClientConfig()
    if version_range is not None:
        cfg = replace(cfg, version_range=version_range)
    if timeout is not None:
        cfg = replace(cfg, connect_timeout=timeout)
    return cfg


class SMPClient:
    """One SMP connection. Make it with :meth:`connect`; close it with :meth:`close`.

    Also an async context manager. ``events`` carries server-pushed :mod:`events`;
    ``subscriptions`` maps every recipient id this connection is subscribed to onto the key
    that subscribed it (what a reconnect subscribes again).
    """

    def __init__(
        self,
        conn: BlockConn,
        server: SMPServer,
        session: Session,
        config: ClientConfig,
        events: asyncio.Queue[ClientEvent] | None = None,
    ) -> None:
        self._conn = conn
        self.server = server
        self._session = session
        self.config = config
        self.events: asyncio.Queue[ClientEvent] = (
            events if events is not None else asyncio.Queue(config.max_events)
        )
        self.subscriptions: dict[RecipientId, KeyPair] = {}
        self.lag: float | None = None
        """Round trip of the last answered keepalive PING, in seconds."""
        self.blocks_sent = 0
        self.transmissions_sent = 0
        self.blocks_received = 0
        self.close_reason: SMPClientError | None = None
        self._pending: dict[CorrId, _Request] = {}
        self._send_queue: list[tuple[CorrId, bytes]] = []
        self._send_ready = asyncio.Event()
        self._closed = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []
        self._backlog: deque[ClientEvent] = deque()
        self._backlog_ready = asyncio.Event()

    # ------------------------------------------------------------------ connect / close

    @classmethod
    async def connect(
        cls,
        server: SMPServer,
        *,
        ws_url: str | None = None,
        version_range: VersionRange | None = None,
        timeout: float | None = None,
        config: ClientConfig | None = None,
        events: asyncio.Queue[ClientEvent] | None = None,
    ) -> SMPClient:
        """Connect and run the handshake.

        Native TLS to the address's hosts (tried in order) and port, or the WebSocket
        ``ws_url``. ``version_range`` and ``timeout`` override those of ``config``;
        ``events`` is a queue to put events on instead of a new one. Raises
        :class:`ConnectFailed`, :class:`HandshakeFailed` (or a subclass) or
        :class:`ConnectionLost`.
        """
        cfg = _effective_config(config, version_range, timeout)
        return await cls._open(
            server, cfg, events, _dial(server, ws_url, cfg.connect_timeout, cfg.proxy_server, cfg)
        )

    @classmethod
    async def connect_over(
        cls,
        conn: BlockConn,
        server: SMPServer,
        *,
        version_range: VersionRange | None = None,
        timeout: float | None = None,
        config: ClientConfig | None = None,
        events: asyncio.Queue[ClientEvent] | None = None,
    ) -> SMPClient:
        """:meth:`connect` over a connection that is already open (an in-memory pair, a
        socket the caller dialled): the same handshake, timeout and errors; ``conn`` is
        closed when the handshake fails."""
        cfg = _effective_config(config, version_range, timeout)

        async def ready() -> BlockConn:
            return conn

        return await cls._open(server, cfg, events, ready())

    @classmethod
    async def _open(
        cls,
        server: SMPServer,
        cfg: ClientConfig,
        events: asyncio.Queue[ClientEvent] | None,
        dialled: Awaitable[BlockConn],
    ) -> SMPClient:
        """Await the connection, run the handshake within ``cfg.connect_timeout`` and start."""
        try:
            async with asyncio.timeout(cfg.connect_timeout):
                conn = await dialled
                try:
                    session = await client_handshake(
                        conn,
                        server.key_hash,
                        cfg.version_range,
                        now=cfg.wall_clock,
                        proxy_server=cfg.proxy_server,
                    )
                except BaseException:
                    await conn.close()
                    raise
        except TimeoutError:
            raise HandshakeFailed(f"no SMP handshake with {server} in time") from None
        client = cls(conn, server, session, cfg, events)
        client._start()
        log.debug(
            "%s: connected to %s, SMP v%d, block encryption %s",
            conn.conn_id,
            server,
            session.version,
            "on" if session.block_encryption else "off",
        )
        return client

    def _start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._guard(self._writer), name="smp-writer"),
            asyncio.create_task(self._guard(self._reader), name="smp-reader"),
            asyncio.create_task(self._guard(self._event_pump), name="smp-events"),
        ]
        if self.config.ping_interval:
            self._tasks.append(
                asyncio.create_task(self._guard(self._keepalive), name="smp-keepalive")
            )

    async def __aenter__(self) -> SMPClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def version(self) -> int:
        return self._session.version

    @property
    def session_id(self) -> bytes:
        return self._session.session_id

    @property
    def server_session_key(self) -> PublicKey:
        return self._session.server_key

    @property
    def block_encryption(self) -> bool:
        return self._session.block_encryption

    @property
    def version_range(self) -> VersionRange:
        """The version range the handshake agreed (``thServerVRange``)."""
        return self._session.version_range

    @property
    def server_cert_key(self) -> CertChainPubKey | None:
        """The server's certificate chain and signed session key from its hello."""
        return self._session.cert_key

    @property
    def session_box_key(self) -> bytes | None:
        """The handshake secret as a box key (what a proxy seals ``RFWD`` with)."""
        return self._session.box_key

    @property
    def transport_kind(self) -> str:
        return self._conn.kind

    @property
    def closed(self) -> bool:
        return self._closing

    async def wait_closed(self) -> SMPClientError:
        """Wait until the connection is closed; return why."""
        await self._closed.wait()
        assert self.close_reason is not None
        return self.close_reason

    async def close(self) -> None:
        """Close the connection (idempotent); waiting commands fail with ConnectionLost."""
        await self._shutdown(ConnectionLost("closed by the client"))
        current = asyncio.current_task()
        others = [t for t in self._tasks if t is not current]
        await asyncio.gather(*others, return_exceptions=True)

    async def _shutdown(self, reason: SMPClientError) -> None:
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self.close_reason = reason
        for req in self._pending.values():
            if not req.future.done():
                req.future.set_exception(reason)
        self._pending.clear()
        self._send_queue.clear()
        current = asyncio.current_task()
        for t in self._tasks:
            if t is not current:
                t.cancel()
        try:
            await self._conn.close()
        finally:
            self._closed.set()
            log.debug("%s: closed: %s", self._conn.conn_id, reason)

    async def _guard(self, body: Callable[[], Coroutine[object, object, None]]) -> None:
        try:
            await body()
        except asyncio.CancelledError:
            raise
        except SMPClientError as e:
            await self._shutdown(e)
        except TransportFailure as e:
            await self._shutdown(ConnectionLost(f"connection lost: {e}"))
        except Exception as e:  # a bug: end this session rather than hang the callers
            log.exception("%s: client task failed", self._conn.conn_id)
            await self._shutdown(ConnectionLost(f"client failure: {e!r}"))

    # ------------------------------------------------------------------ tasks

    async def _writer(self) -> None:
        while True:
            await self._send_ready.wait()
            # Let the tasks that are ready queue their commands too, so they share the block.
            await asyncio.sleep(0)
            self._send_ready.clear()
            queued, self._send_queue = self._send_queue, []
            # Skip commands whose caller gave up (timed out or cancelled) before sending.
            items = [(c, t) for c, t in queued if not c or c in self._pending]
            if not items:
                continue
            for part in batch_transmissions([t for _, t in items]):
                if isinstance(part, Batch):
                    await self._conn.send_block(self._encode_block(part.payload))
                    self.blocks_sent += 1
                    self.transmissions_sent += part.count
                else:  # pragma: no cover - SEND bodies are checked before they are queued
                    req = self._pending.pop(items[part.index][0], None)
                    if req is not None and not req.future.done():
                        req.future.set_exception(SMPCommandError(ErrorType.LARGE_MSG))

    def _encode_block(self, payload: bytes) -> bytes:
        chain = self._session.send_chain
        return pad_block(payload) if chain is None else chain.encrypt(payload)

    async def _reader(self) -> None:
        session = self._session
        while True:
            block = await self._conn.recv_block()
            self.blocks_received += 1
            try:
                chain = session.recv_chain
                payload = unpad_block(block) if chain is None else chain.decrypt(block)
            except DecodeError:
                log.warning("%s: a block from the server does not decode", self._conn.conn_id)
                self._emit(ServerErrorEvent(NO_ENTITY, ErrorType.BLOCK))
                continue
            for t in decode_server_batch(payload, session.version, session.session_id):
                self._dispatch(t)

    def _emit(self, ev: ClientEvent) -> None:
        if not self._backlog:
            try:
                self.events.put_nowait(ev)
                return
            except asyncio.QueueFull:
                pass
        if len(self._backlog) >= self.config.max_event_backlog:
            raise ConnectionLost("events are not being consumed")
        self._backlog.append(ev)
        self._backlog_ready.set()

    async def _event_pump(self) -> None:
        while True:
            await self._backlog_ready.wait()
            self._backlog_ready.clear()
            while self._backlog:
                await self.events.put(self._backlog[0])
                self._backlog.popleft()

    def _dispatch(self, t: ServerTransmission) -> None:
        result = t.result
        if t.corr_id:
            req = self._pending.pop(t.corr_id, None)
            if req is not None:
                if req.future.done():  # pragma: no cover - popped on timeout and cancel
                    return
                if isinstance(result, ErrorType):
                    req.future.set_exception(
                        UnexpectedResponse("the server's answer does not decode", result)
                    )
                elif req.entity_id != t.entity_id:
                    req.future.set_exception(
                        UnexpectedResponse("the server answered for another entity", result)
                    )
                else:
                    req.future.set_result(result)
                return
            # The answer to a command that timed out: keep a message, drop the rest.
            if isinstance(result, MSG):
                self._emit(MessageEvent(RecipientId(t.entity_id), result))
            else:
                log.debug("%s: late answer dropped", self._conn.conn_id)
            return
        rid = RecipientId(t.entity_id)
        if isinstance(result, MSG):
            self._emit(MessageEvent(rid, result))
        elif isinstance(result, END):
            self.subscriptions.pop(rid, None)
            self._emit(SubscriptionEnded(rid))
        elif isinstance(result, DELD):
            self.subscriptions.pop(rid, None)
            self._emit(QueueDeleted(rid))
        elif isinstance(result, NMSG):
            self._emit(NotificationEvent(t.entity_id, result))
        elif isinstance(result, ERR):
            self._emit(ServerErrorEvent(t.entity_id, result.error))
        elif isinstance(result, ErrorType):
            self._emit(ServerErrorEvent(t.entity_id, result))
        else:
            log.warning("%s: unexpected %s event", self._conn.conn_id, result.tag.decode())

    async def _keepalive(self) -> None:
        interval = self.config.ping_interval
        assert interval is not None
        timeout = self.config.ping_timeout or interval
        missed = 0
        while True:
            await asyncio.sleep(interval)
            try:
                self.lag = await self.ping(timeout=timeout)
                missed = 0
            except ResponseTimeout:
                missed += 1
                log.debug("%s: PING %d unanswered", self._conn.conn_id, missed)
                if missed >= self.config.ping_count:
                    raise ConnectionLost(f"the server did not answer {missed} PINGs") from None

    # ------------------------------------------------------------------ requests

    def _authorize(self, key: KeyPair, corr_id: bytes, entity_id: bytes, cmd: bytes) -> bytes:
        data = authorized_bytes(self._session.session_id, corr_id, entity_id, cmd)
        alg = key.private.alg
        if alg is KeyAlg.ED25519:
            # libsodium signs about three times as fast as building an OpenSSL key object for
            # every command; Ed25519 signatures are deterministic, so the bytes are the same.
            return nacl.bindings.crypto_sign(data, key.private.raw + key.public.raw)[:64]
        if alg.is_signature:
            return key.private.sign(data)
        if alg is KeyAlg.X25519:
            return cb_authenticate(self._session.server_key, key.private, cb_nonce(corr_id), data)
        raise ValueError(f"{alg.value} keys cannot authorize SMP commands")

    async def request(
        self,
        entity_id: bytes,
        command: Command,
        key: KeyPair | None = None,
        *,
        timeout: float | None = None,
        corr_id: bytes | None = None,
    ) -> BrokerMsg:
        """Send ``command`` for ``entity_id``, authorized with ``key``; return the answer.

        ``ERR`` raises :class:`SMPCommandError`; no answer within ``timeout`` (default the
        configured command timeout) raises :class:`ResponseTimeout`. ``corr_id`` (default
        24 random bytes) is given by private routing, where it is also a nonce.
        """
        if self._closing:
            assert self.close_reason is not None
            raise ConnectionLost(str(self.close_reason))
        cid = CorrId(os.urandom(CORR_ID_SIZE) if corr_id is None else corr_id)
        cmd = command.encode(self._session.version)
        auth = b"" if key is None else self._authorize(key, cid, entity_id, cmd)
        t = encode_client_transmission(
            self._session.version, self._session.session_id, cid, entity_id, cmd, auth
        )
        fut: asyncio.Future[BrokerMsg] = asyncio.get_running_loop().create_future()
        self._pending[cid] = _Request(EntityId(entity_id), fut)
        self._send_queue.append((cid, t))
        self._send_ready.set()
        try:
            async with asyncio.timeout(timeout or self.config.command_timeout):
                result = await fut
        except TimeoutError:
            raise ResponseTimeout(
                f"no answer to {command.tag.decode()} from {self.server}"
            ) from None
        finally:
            self._pending.pop(cid, None)
        if isinstance(result, ERR):
            raise SMPCommandError(result.error)
        return result

    async def _expect(
        self, cls: type[T], entity_id: bytes, command: Command, key: KeyPair | None
    ) -> T:
        return expected(cls, command, await self.request(entity_id, command, key))

    async def _ok(self, entity_id: bytes, command: Command, key: KeyPair | None) -> None:
        await self._expect(OK, entity_id, command, key)

    # ------------------------------------------------------------------ commands

    async def create_queue(
        self,
        rcv_auth: KeyPair,
        rcv_dh: KeyPair,
        *,
        subscribe: bool = True,
        messaging: bool = True,
        basic_auth: str | None = None,
    ) -> IDS:
        """``NEW``: create a queue; with ``subscribe`` this connection receives its messages.

        ``rcv_auth`` (Ed25519, Ed448 or X25519) authorizes recipient commands; ``rcv_dh``
        (X25519) with the ``IDS`` server key decrypts messages. ``messaging`` False makes a
        contact queue (v9+). ``basic_auth`` defaults to the address's password.
        """
        if rcv_dh.public.alg is not KeyAlg.X25519:
            raise ValueError("rcv_dh must be an X25519 key pair")
        password = basic_auth if basic_auth is not None else self.server.basic_auth
        qrd = QRMessaging() if messaging else QRContact()
        cmd = new_queue_command(rcv_auth, rcv_dh, password, subscribe=subscribe, queue_req_data=qrd)
        ids = await self._expect(IDS, NO_ENTITY, cmd, rcv_auth)
        if subscribe:
            self.subscriptions[RecipientId(ids.rcv_id)] = rcv_auth
        return ids

    async def subscribe(self, rid: bytes, key: KeyPair) -> None:
        """``SUB``: receive the queue's messages on this connection (as ``MessageEvent``)."""
        result = await self.request(rid, SUB(), key)
        if not isinstance(result, OK | SOK):
            raise UnexpectedResponse(f"SUB answered with {result.tag.decode()}", result)
        self.subscriptions[RecipientId(rid)] = key

    async def secure(self, rid: bytes, key: KeyPair, sender_key: PublicKey) -> None:
        """``KEY``: the recipient secures the queue with the sender's public key."""
        await self._ok(rid, KEY(sender_key), key)

    async def secure_sender(self, sid: bytes, sender_key: KeyPair) -> None:
        """``SKEY`` (v9+): the sender secures a messaging queue with its own key."""
        await self._ok(sid, SKEY(sender_key.public), sender_key)

    async def send(
        self,
        sid: bytes,
        body: bytes,
        *,
        key: KeyPair | None = None,
        notification: bool = False,
    ) -> None:
        """``SEND``: put ``body`` in the queue ``sid``; ``key`` None for an unsecured queue."""
        limit = max_message_length(self._session.version)
        if len(body) > limit:
            raise ValueError(f"message body of {len(body)} bytes; at most {limit} at this version")
        await self._ok(SenderId(sid), SEND(MsgFlags(notification), body), key)

    async def ack(self, rid: bytes, key: KeyPair, msg_id: bytes) -> MSG | None:
        """``ACK``: delete the delivered message; return the next one if the server sent it."""
        result = await self.request(rid, ACK(MsgId(msg_id)), key)
        if isinstance(result, OK):
            return None
        if isinstance(result, MSG):
            return result
        raise UnexpectedResponse(f"ACK answered with {result.tag.decode()}", result)

    async def get(self, rid: bytes, key: KeyPair) -> MSG | None:
        """``GET``: the head message without subscribing, or None if the queue is empty."""
        result = await self.request(rid, GET(), key)
        if isinstance(result, OK):
            return None
        if isinstance(result, MSG):
            return result
        raise UnexpectedResponse(f"GET answered with {result.tag.decode()}", result)

    async def suspend(self, rid: bytes, key: KeyPair) -> None:
        """``OFF``: senders can no longer write; the recipient can still read."""
        await self._ok(rid, OFF(), key)

    async def delete(self, rid: bytes, key: KeyPair) -> None:
        """``DEL``: delete the queue and its messages."""
        await self._ok(rid, DEL(), key)
        self.subscriptions.pop(RecipientId(rid), None)

    async def queue_info(self, rid: bytes, key: KeyPair) -> QueueInfo:
        """``QUE``: the server's debugging view of the queue."""
        return (await self._expect(INFO, rid, QUE(), key)).info

    # ------------------------------------------------------------------ private routing

    # ``PRXY`` and ``SEND`` through this relay (see :mod:`.proxy`), as methods of the client.
    proxy_session = proxy.proxy_session
    send_via_proxy = proxy.send_via_proxy

    async def ping(self, *, timeout: float | None = None) -> float:
        """``PING``: return the round trip to ``PONG`` in seconds."""
        clock = self.config.clock
        start = clock()
        cmd = PING()
        expected(PONG, cmd, await self.request(NO_ENTITY, cmd, None, timeout=timeout))
        return max(0.0, clock() - start)


def new_queue_command(
    rcv_auth: KeyPair,
    rcv_dh: KeyPair,
    password: str | None,
    *,
    subscribe: bool,
    queue_req_data: QueueReqData,
) -> NEW:
    """``NEW`` of a queue with the recipient keys ``rcv_auth`` / ``rcv_dh``: ``password`` is
    the relay's (None or empty: none); with ``subscribe`` the connection that creates the
    queue receives its messages."""
    return NEW(
        rcv_auth.public,
        rcv_dh.public,
        basic_auth=password.encode("latin-1") if password else None,
        sub_mode=SubscriptionMode.SUBSCRIBE if subscribe else SubscriptionMode.ONLY_CREATE,
        queue_req_data=queue_req_data,
    )


async def _dial(
    server: SMPServer,
    ws_url: str | None,
    timeout: float,
    proxy_server: bool = False,
    cfg: ClientConfig | None = None,
) -> BlockConn:
    if ws_url is not None and is_grp_url(ws_url):
        return await _dial_grp(server, ws_url, timeout, cfg.grp_cover if cfg else None)
    if ws_url is not None:
        try:
            return await connect_ws(ws_url, timeout=timeout)
        except TransportFailure as e:
            raise ConnectFailed(str(e)) from e
    errors: list[str] = []
    for host in server.hosts:
        try:
            return await connect_tls(
                host, server.effective_port, timeout=timeout, tls12_chacha=proxy_server
            )
        except TransportFailure as e:
            errors.append(str(e))
    raise ConnectFailed("; ".join(errors))


async def _dial_grp(
    server: SMPServer, address: str, timeout: float, cover: CoverSettings | None
) -> BlockConn:
    """GRP/1 to the relay (docs/grp.md): the address must name the same SMP identity."""
    try:
        grp = GrpAddress.parse(address)
    except DecodeError as e:
        raise ConnectFailed(f"bad GRP address: {e}") from e
    if grp.key_hash != server.key_hash:
        raise ConnectFailed("the GRP address is for another relay identity")
    try:
        return await connect_grp(grp, timeout=timeout, cover=cover)
    except TransportFailure as e:
        raise ConnectFailed(str(e)) from e
