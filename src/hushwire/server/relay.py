"""The relay: SMP sessions, command dispatch, subscriptions and delivery.

Mirrors simplexmq ``Server.hs`` (``runClient``, ``receive``, ``verifyTransmission``,
``processCommand``, ``send``) over ``hushwire.transport`` and the durable store of
``hushwire.server.store``; smp-relay.md sections 3-6.

Theory of operation
-------------------
Each connection is a :class:`Session`: the server hello (with the certificate chain and a
per-connection X25519 key signed by the online certificate), the client hello, then one
reader loop and one writer task. The reader decrypts (v11+) and decodes each block's batch,
runs its commands **in order** and queues the response transmissions; the writer packs
everything queued into as few blocks as possible. Commands of one connection therefore keep
their order; commands of different connections interleave only at store awaits.

A queue has at most one subscriber session (``Relay.subscribers``). A subscribed session
holds a :class:`Sub` per queue with the id of the message it was given and has not yet
acknowledged; at most one message per queue is in flight. Whenever a queue may have
become deliverable (a SEND committed, a SUB, an ACK), :meth:`Relay.try_deliver` pushes the
head message to an idle subscriber, so a message that commits while its recipient is between
commands is never stranded (the reference relies on "the queue was empty" being decided
atomically; here decisions and commits are separated by the group commit, so delivery is
re-checked after every commit instead).

Replies wait for durability: ``OK`` to SEND is sent only after the message is committed;
ACK's reply (the next message, or ``OK``) only after the deletion is committed. With
``ack_next_as_push`` (for simplex-js, which takes only ``OK``) ACK gets ``OK`` and the next
message follows at once as a push.

A session whose outgoing buffer grows past its cap (a reader that does not read) is closed,
so it can never delay another client's data; the messages it was given stay in the store
and are delivered again on the next SUB.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.crypto.nacl import cb_encrypt, cb_nonce, cb_verify, dh_box_key
from hushwire.errors import CryptoError, DecodeError
from hushwire.server.config import RelayConfig
from hushwire.server.forward import process_rfwd
from hushwire.server.identity import ServerIdentity
from hushwire.server.metrics import Metrics
from hushwire.server.proxy import ProxyPool
from hushwire.server.store import (
    NotifierRecord,
    QueueNotFoundError,
    QueueRecord,
    QueueStatus,
    QueueStore,
    StoredMessage,
    StoreError,
    WriteResult,
)
from hushwire.smp.block import (
    Batch,
    BlockChain,
    batch_transmissions,
    pad_block,
    pad_handshake,
    unpad_block,
    unpad_handshake,
)
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
    LDEL,
    LGET,
    LKEY,
    LNK,
    LSET,
    MSG,
    NDEL,
    NEW,
    NID,
    NKEY,
    NMSG,
    NSUB,
    OFF,
    OK,
    PFWD,
    PING,
    PONG,
    PRXY,
    QUE,
    RFWD,
    RKEY,
    SEND,
    SKEY,
    SOK,
    SUB,
    BrokerMsg,
    MsgFlags,
    Party,
    QRContact,
    QRMessaging,
    QueueLinkData,
    QueueMode,
    ServerNtfCreds,
    queue_party,
)
from hushwire.smp.errors import (
    CMD,
    HANDSHAKE,
    BlockingInfo,
    CommandError,
    ErrorType,
    HandshakeError,
)
from hushwire.smp.hello import (
    CertChainPubKey,
    ClientHello,
    Negotiated,
    ServerHello,
    ServiceRejected,
    negotiate_server,
)
from hushwire.smp.ids import NO_CORR_ID, NO_ENTITY, CorrId, EntityId, MsgId
from hushwire.smp.msgbody import RcvMsgBody, RcvMsgQuota
from hushwire.smp.queue_info import MsgInfo, MsgType, QSub, QSubThread, QueueInfo
from hushwire.smp.transmission import (
    AuthKind,
    ClientRequest,
    RequestError,
    decode_client_batch,
    encode_server_transmission,
)
from hushwire.smp.version import (
    VersionRange,
    max_message_length,
)
from hushwire.transport import BlockConn, ConnectionClosedError, TransportError

log = logging.getLogger("hushwire.relay")

SERVER_VERSIONS: Final = VersionRange(6, 18)
"""Versions offered: every command and encoding of 6..18 that a client without a service
certificate uses. Service certificates (v16) are refused in the handshake as the reference
refuses them without a TLS client certificate. Private routing: PRXY/PFWD in
server/proxy.py, RFWD in server/forward.py."""

ID_SIZE: Final = 24
PIPELINED_BLOCKS: Final = 8
"""Blocks of one connection whose commands may be in progress at once."""
ENCRYPTED_BODY_PAD: Final = 16106

# Dummy keys for constant-time verification of unknown queues (Server.hs dummyKey*).
_DUMMY_ED25519 = KeyPair.generate(KeyAlg.ED25519).public
_DUMMY_ED448 = KeyPair.generate(KeyAlg.ED448).public
_DUMMY_X25519 = KeyPair.generate(KeyAlg.X25519).public


@dataclass(slots=True)
class Sub:
    """A session's subscription to one queue (Server.hs ``Sub``)."""

    prohibit: bool = False
    """Made by GET: this session may GET and ACK but not SUB."""
    delivered: bytes | None = None
    """Id of the message given and not yet acknowledged."""
    delivered_ts: int = 0


Reply = tuple[CorrId, EntityId, BrokerMsg]


class Session:
    """One client connection after the handshake."""

    def __init__(
        self,
        relay: Relay,
        conn: BlockConn,
        version: int,
        session_id: bytes,
        session_key: PrivateKey,
        chains: tuple[BlockChain, BlockChain] | None,
    ) -> None:
        self.relay = relay
        self.conn = conn
        self.cid = conn.conn_id
        self.version = version
        self.session_id = session_id
        self.session_key = session_key
        self.session_box_key: bytes | None = None  # private routing: see server/forward.py
        self.send_chain: BlockChain | None = chains[0] if chains else None
        self.recv_chain: BlockChain | None = chains[1] if chains else None
        self.subs: dict[bytes, Sub] = {}
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._closing = False
        self._tokens = float(relay.config.limits.commands_per_second)
        self._tokens_at = time.monotonic()
        self._new_tokens = float(relay.config.limits.new_queues_per_minute)
        self._new_at = time.monotonic()
        self._pipeline = asyncio.Semaphore(PIPELINED_BLOCKS)
        self._tail: asyncio.Task[None] | None = None
        self._chains: dict[
            bytes, tuple[asyncio.Future[list[Reply]] | None, list[asyncio.Future[list[Reply]]]]
        ] = {}

    # ------------------------------------------------------------------ output

    @property
    def _soft_cap(self) -> int:
        return self.relay.config.limits.send_queue_blocks * 16384 // 2

    @property
    def _hard_cap(self) -> int:
        return self.relay.config.limits.send_queue_blocks * 16384

    def push(self, corr_id: bytes, entity_id: bytes, msg: BrokerMsg) -> None:
        """Queue one transmission; a session that lets too much pile up is closed."""
        if self._closing:
            return
        t = encode_server_transmission(self.version, self.session_id, corr_id, entity_id, msg)
        self._out.append(t)
        self._out_bytes += len(t)
        self._wake.set()
        if self._out_bytes >= self._soft_cap:
            self._drained.clear()
        if self._out_bytes > self._hard_cap:
            self.relay.metrics.disconnects["slow_reader"] += 1
            log.info("%s: closed: client does not read its messages", self.cid)
            self.close_now()

    def close_now(self) -> None:
        self._closing = True
        self._wake.set()
        self._drained.set()
        self.conn.abort()

    async def writer(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if self._closing:
                    return
                items, self._out = self._out, []
                self._out_bytes = 0
                self._drained.set()
                for part in batch_transmissions(items):
                    if not isinstance(part, Batch):  # pragma: no cover - responses always fit
                        log.error("%s: a response did not fit in a block", self.cid)
                        continue
                    if self.send_chain is not None:
                        block = self.send_chain.encrypt(part.payload)
                    else:
                        block = pad_block(part.payload)
                    async with asyncio.timeout(self.relay.config.limits.send_timeout):
                        await self.conn.send_block(block)
        except TimeoutError:
            self.relay.metrics.disconnects["slow_reader"] += 1
            log.info("%s: closed: client does not read its messages", self.cid)
            self.close_now()
        except (ConnectionClosedError, TransportError, OSError):
            self.close_now()

    # ------------------------------------------------------------------ input

    async def _throttle(self, n: int) -> None:
        """Token bucket: a flooding client is slowed down, never anyone else."""
        rate = self.relay.config.limits.commands_per_second
        now = time.monotonic()
        self._tokens = min(float(rate), self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        self._tokens -= n
        if self._tokens < 0:
            await asyncio.sleep(-self._tokens / rate)

    async def _throttle_new(self) -> None:
        per_min = self.relay.config.limits.new_queues_per_minute
        now = time.monotonic()
        refill = (now - self._new_at) * per_min / 60
        self._new_tokens = min(float(per_min), self._new_tokens + refill)
        self._new_at = now
        self._new_tokens -= 1
        if self._new_tokens < 0:
            await asyncio.sleep(-self._new_tokens * 60 / per_min)

    async def reader(self) -> None:
        while not self._closing:
            block = await self.conn.recv_block()
            try:
                if self.recv_chain is not None:
                    payload = self.recv_chain.decrypt(block)
                else:
                    payload = unpad_block(block)
            except DecodeError:
                reqs: list[ClientRequest | RequestError] = [
                    RequestError(NO_CORR_ID, NO_ENTITY, ErrorType.BLOCK)
                ]
            else:
                reqs = decode_client_batch(payload, self.version, self.session_id)
            await self._throttle(len(reqs))
            await self._pipeline.acquire()
            tasks = [self._start(req) for req in reqs]
            self._tail = asyncio.create_task(self._respond(self._tail, tasks))
            if not self._drained.is_set():
                await self._drained.wait()

    # Pipelining: the commands of a block start at once, in order, so that their store
    # writes share group commits instead of waiting for one commit each. Responses still
    # go out in request order (each block's responder waits for the previous one), and
    # commands on one entity id keep their order: a command waits for the previous command
    # on that id, except that consecutive SENDs run together (the store keeps their order).

    def _start(self, req: ClientRequest | RequestError) -> asyncio.Future[list[Reply]]:
        if isinstance(req, RequestError):
            self.relay.count_error(req.error)
            done: asyncio.Future[list[Reply]] = asyncio.get_running_loop().create_future()
            done.set_result([(req.corr_id, req.entity_id, ERR(req.error))])
            return done
        key = bytes(req.entity_id)
        barrier, sends = self._chains.get(key, (None, []))
        is_send = isinstance(req.command, SEND)
        waits = [barrier] if is_send else [barrier, *sends]
        task = asyncio.create_task(self._run(req, [w for w in waits if w is not None]))
        if is_send:
            self._chains[key] = (barrier, [*sends, task])
        else:
            self._chains[key] = (task, [])
        task.add_done_callback(functools.partial(self._forget, key))
        return task

    def _forget(self, key: bytes, task: asyncio.Future[list[Reply]]) -> None:
        chain = self._chains.get(key)
        if chain is not None and chain[0] in (None, task) and all(t.done() for t in chain[1]):
            if chain[0] is None or chain[0].done():
                del self._chains[key]

    async def _run(
        self, req: ClientRequest, waits: list[asyncio.Future[list[Reply]]]
    ) -> list[Reply]:
        for w in waits:
            with contextlib.suppress(BaseException):
                await w
        try:
            return await self.relay.process(self, req)
        except Exception:  # pragma: no cover - a bug must not take the session down
            log.exception("%s: command failed", self.cid)
            return [(req.corr_id, req.entity_id, ERR(ErrorType.INTERNAL))]

    async def _respond(
        self, previous: asyncio.Task[None] | None, tasks: list[asyncio.Future[list[Reply]]]
    ) -> None:
        try:
            if previous is not None:
                with contextlib.suppress(BaseException):
                    await previous
            for t in tasks:
                try:
                    replies = await t
                except Exception:  # pragma: no cover - _run answers INTERNAL instead
                    log.exception("%s: a command failed", self.cid)
                    continue
                for corr, ent, msg in replies:
                    self.push(corr, ent, msg)
        finally:
            self._pipeline.release()

    async def settle(self) -> None:
        """Let commands already started finish (their writes are committed either way)."""
        if self._tail is not None:
            await asyncio.wait([self._tail], timeout=10)

    def end_subscription(self, rid: bytes, deleted: bool) -> None:
        """Another session took the queue (END) or deleted it (DELD)."""
        if self.subs.pop(rid, None) is not None:
            self.push(NO_CORR_ID, rid, DELD() if deleted else END())


class Relay:
    """The SMP relay: store, identity, sessions and subscriptions."""

    def __init__(
        self,
        config: RelayConfig,
        identity: ServerIdentity,
        store: QueueStore,
        *,
        clock: Callable[[], float] = time.time,
        versions: VersionRange = SERVER_VERSIONS,
    ) -> None:
        self.config = config
        self.identity = identity
        self.store = store
        self.clock = clock
        self.versions = versions
        self.metrics = Metrics()
        self.subscribers: dict[bytes, Session] = {}
        self.ntf_subscribers: dict[bytes, Session] = {}
        self.sessions: set[Session] = set()
        self._conn_tasks: set[asyncio.Task[None]] = set()
        self.proxy = ProxyPool(config, self.metrics)  # private routing: server/proxy.py

    # ------------------------------------------------------------------ connections

    def count_error(self, e: ErrorType) -> None:
        self.metrics.errors[e.encode().split(b" ")[0].decode()] += 1

    async def handle(self, conn: BlockConn) -> None:
        """Serve one connection until it closes; never raises."""
        task = asyncio.current_task()
        assert task is not None
        self._conn_tasks.add(task)
        self.metrics.connections_total += 1
        self.metrics.connections_open += 1
        session: Session | None = None
        try:
            if self.metrics.connections_open > self.config.limits.max_connections:
                self.metrics.disconnects["too_many_connections"] += 1
                return
            session = await self._handshake(conn)
            if session is None:
                return
            self.sessions.add(session)
            log.debug("%s: session v%d", conn.conn_id, session.version)
            writer = asyncio.create_task(session.writer())
            try:
                await session.reader()
            finally:
                await session.settle()
                session.close_now()
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer
        except (ConnectionClosedError, TransportError, OSError):
            pass
        except Exception:  # pragma: no cover - a bug must not take the relay down
            log.exception("%s: session failed", conn.conn_id)
        finally:
            self.metrics.connections_open -= 1
            if session is not None:
                self._drop_session(session)
            await conn.close()
            self._conn_tasks.discard(task)

    def _drop_session(self, session: Session) -> None:
        self.sessions.discard(session)
        for rid in session.subs:
            if self.subscribers.get(rid) is session:
                del self.subscribers[rid]
        for nid, s in list(self.ntf_subscribers.items()):
            if s is session:
                del self.ntf_subscribers[nid]
        session.subs.clear()

    async def _handshake(self, conn: BlockConn) -> Session | None:
        session_key = KeyPair.generate(KeyAlg.X25519)
        session_id = conn.tls_unique if conn.tls_unique else os.urandom(32)
        if conn.kind == "tls" and conn.alpn is None:
            offered = VersionRange(6, 6)
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
            with contextlib.suppress(TransportError, OSError):
                await conn.send_block(pad_handshake(refusal.encode()))
            self.metrics.handshakes_failed += 1
            self.metrics.disconnects["service_refused"] += 1
            return None
        chains = None
        if result.block_encryption:
            assert client.session_key is not None
            dh = session_key.private.dh(client.session_key)
            chains = BlockChain.pair(session_id, dh, server=True)
        session = Session(self, conn, result.version, session_id, session_key.private, chains)
        if client.session_key is not None:  # private routing: the RFWD box key
            with contextlib.suppress(CryptoError):  # a low-order key: no RFWD on this session
                session.session_box_key = dh_box_key(client.session_key, session_key.private)
        return session

    # ------------------------------------------------------------------ authorization

    def _verify(self, session: Session, key_der: bytes, req: ClientRequest) -> bool:
        """Check ``req``'s auth with ``key_der``; the work done depends only on the auth."""
        auth = req.auth
        if auth is None:
            return False
        try:
            key = PublicKey.from_der(key_der)
        except DecodeError:  # pragma: no cover - stored keys were validated on the way in
            return self._dummy_verify(session, req)
        if auth.kind is AuthKind.AUTHENTICATOR:
            if key.alg is not KeyAlg.X25519:
                return self._dummy_verify(session, req)
            return cb_verify(
                key, session.session_key, cb_nonce(req.corr_id), req.authorized, auth.data
            )
        if key.alg is not auth.kind.key_alg:
            return self._dummy_verify(session, req)
        return key.verify(auth.data, req.authorized)

    def _dummy_verify(self, session: Session, req: ClientRequest) -> bool:
        """Verify against a fixed key of the presented type, then fail (Server.hs dummyVerify)."""
        auth = req.auth
        if auth is not None:
            if auth.kind is AuthKind.AUTHENTICATOR:
                cb_verify(
                    _DUMMY_X25519,
                    session.session_key,
                    cb_nonce(req.corr_id),
                    req.authorized,
                    auth.data,
                )
            elif auth.kind is AuthKind.ED25519:
                _DUMMY_ED25519.verify(auth.data, req.authorized)
            else:
                _DUMMY_ED448.verify(auth.data, req.authorized)
        return False

    def _lookup(self, party: Party, entity: bytes) -> QueueRecord | None:
        if party is Party.RECIPIENT:
            return self.store.get_by_recipient(entity)
        if party is Party.SENDER:
            return self.store.get_by_sender(entity)
        if party is Party.LINK_CLIENT:
            return self.store.get_by_link(entity)
        return self.store.get_by_notifier(entity)

    def _authorized(self, session: Session, req: ClientRequest, q: QueueRecord | None) -> bool:
        """Server.hs ``verifyQueueTransmission`` for the commands this relay serves."""
        cmd = req.command
        if isinstance(cmd, NEW):
            return self._verify(session, cmd.rcv_auth_key.to_der(), req)
        if q is None:
            return self._dummy_verify(session, req)
        if isinstance(cmd, SEND):
            if q.sender_key is None:
                return req.auth is None
            return self._verify(session, q.sender_key, req)
        if isinstance(cmd, SKEY | LKEY):
            allowed = q.queue_mode == "M" and (
                q.sender_key is None or hmac.compare_digest(q.sender_key, cmd.sender_key.to_der())
            )
            if not allowed:
                return self._dummy_verify(session, req)
            return self._verify(session, cmd.sender_key.to_der(), req)
        if isinstance(cmd, LGET):
            return True
        if isinstance(cmd, NSUB):
            if q.notifier is None:
                return self._dummy_verify(session, req)
            return self._verify(session, q.notifier.ntf_key, req)
        # Recipient commands: any of the recipient keys.
        ok = False
        for k in q.recipient_keys:
            ok = self._verify(session, k, req) or ok
        return ok

    # ------------------------------------------------------------------ dispatch

    async def process(self, session: Session, req: ClientRequest) -> list[Reply]:
        """Run one verified-shape command; returns the transmissions to send back."""
        cmd = req.command
        corr, ent = req.corr_id, req.entity_id
        self.metrics.commands[cmd.tag.decode()] += 1

        def err(e: ErrorType) -> list[Reply]:
            self.count_error(e)
            return [(corr, ent, ERR(e))]

        if req.service_sig is not None:
            return err(ErrorType.SERVICE)
        if isinstance(cmd, PING):
            return [(corr, NO_ENTITY, PONG())]
        if isinstance(cmd, RFWD):  # private routing, as the destination
            return await process_rfwd(self, session, req, cmd)
        if isinstance(cmd, PRXY | PFWD):  # private routing, as the proxy
            return await self.proxy.handle(session, req)
        party = queue_party(cmd)
        if party is None and not isinstance(cmd, NEW):
            # Service subscriptions: not served here.
            return err(CMD(CommandError.PROHIBITED))
        q = self._lookup(party, ent) if party is not None else None
        if not self._authorized(session, req, q):
            return err(ErrorType.AUTH)
        try:
            if isinstance(cmd, NEW):
                return await self._new(session, req, cmd)
            assert q is not None
            if q.status is QueueStatus.BLOCKED and not isinstance(cmd, DEL | OFF | QUE):
                return err(_blocked())
            return await self._queue_command(session, req, q)
        except QueueNotFoundError:
            # Deleted by another connection while this command waited: as if unknown.
            return err(ErrorType.AUTH)
        except StoreError:
            log.exception("%s: store failed", session.cid)
            return err(ErrorType.INTERNAL)

    async def _queue_command(
        self, session: Session, req: ClientRequest, q: QueueRecord
    ) -> list[Reply]:
        cmd = req.command
        corr, ent = req.corr_id, req.entity_id
        rid = q.recipient_id
        ok: list[Reply] = [(corr, ent, OK())]

        def err(e: ErrorType) -> list[Reply]:
            self.count_error(e)
            return [(corr, ent, ERR(e))]

        if isinstance(cmd, SEND):
            return await self._send(session, req, cmd, q)
        if isinstance(cmd, ACK):
            return await self._ack(session, req, cmd, q)
        if isinstance(cmd, SUB):
            return self._subscribe(session, req, q)
        if isinstance(cmd, GET):
            return self._get(session, req, q)
        if isinstance(cmd, KEY | SKEY):
            if isinstance(cmd, SKEY) and q.queue_mode != "M":
                return err(ErrorType.AUTH)
            key = cmd.sender_key.to_der()
            after = await self.store.secure(rid, key)
            secured = after.sender_key is not None and hmac.compare_digest(after.sender_key, key)
            return ok if secured else err(ErrorType.AUTH)
        if isinstance(cmd, OFF):
            await self.store.set_status(rid, QueueStatus.OFF)
            return ok
        if isinstance(cmd, DEL):
            await self.store.delete_queue(rid)
            self.metrics.queues_deleted += 1
            session.subs.pop(rid, None)
            other = self.subscribers.pop(rid, None)
            if other is not None and other is not session:
                other.end_subscription(rid, deleted=True)
            if q.notifier is not None:
                self.ntf_subscribers.pop(q.notifier.notifier_id, None)
            return ok
        if isinstance(cmd, QUE):
            return [(corr, ent, INFO(self._queue_info(session, q)))]
        if isinstance(cmd, RKEY):
            if q.queue_mode != "C":
                return err(ErrorType.AUTH)
            await self.store.update_recipient_keys(rid, tuple(k.to_der() for k in cmd.keys))
            return ok
        if isinstance(cmd, LSET):
            if _secured_messaging(q) or (q.link_id is not None and q.link_id != cmd.link_id):
                return err(ErrorType.AUTH)
            data = (cmd.data.fixed, cmd.data.user)
            return ok if await self.store.set_link(rid, cmd.link_id, data) else err(ErrorType.AUTH)
        if isinstance(cmd, LDEL):
            if q.link_id is not None:
                await self.store.delete_link_data(rid)
            return ok
        if isinstance(cmd, LKEY):
            if q.queue_mode != "M":
                return err(ErrorType.AUTH)
            key = cmd.sender_key.to_der()
            after = await self.store.secure(rid, key)
            if after.sender_key is None or not hmac.compare_digest(after.sender_key, key):
                return err(ErrorType.AUTH)
            return self._link_reply(req, after)
        if isinstance(cmd, LGET):
            if not _contact_queue(q):
                return err(ErrorType.AUTH)
            return self._link_reply(req, q)
        if isinstance(cmd, NKEY):
            return await self._nkey(req, cmd, q)
        if isinstance(cmd, NDEL):
            removed = await self.store.delete_notifier(rid)
            if removed is not None:
                self.ntf_subscribers.pop(removed.notifier_id, None)
            return ok
        if isinstance(cmd, NSUB):
            assert q.notifier is not None
            self.ntf_subscribers[q.notifier.notifier_id] = session
            return [(corr, ent, SOK(None))]
        return err(CMD(CommandError.PROHIBITED))  # pragma: no cover - parties cover the rest

    def _link_reply(self, req: ClientRequest, q: QueueRecord) -> list[Reply]:
        if q.link_id is None or q.link_data is None or q.link_id != req.entity_id:
            self.count_error(ErrorType.AUTH)
            return [(req.corr_id, req.entity_id, ERR(ErrorType.AUTH))]
        data = QueueLinkData(q.link_data[0], q.link_data[1])
        return [(req.corr_id, req.entity_id, LNK(EntityId(q.sender_id), data))]

    # ------------------------------------------------------------------ NEW

    async def _new(self, session: Session, req: ClientRequest, cmd: NEW) -> list[Reply]:
        corr, ent = req.corr_id, req.entity_id
        password = self.config.create_password
        allowed = self.config.new_queues and (
            password is None
            or (
                cmd.basic_auth is not None
                and hmac.compare_digest(cmd.basic_auth, password.encode())
            )
        )
        if not allowed:
            self.count_error(ErrorType.AUTH)
            return [(corr, ent, ERR(ErrorType.AUTH))]
        await session._throttle_new()
        qrd = cmd.queue_req_data
        mode = None if qrd is None else ("M" if isinstance(qrd, QRMessaging) else "C")
        client_sid: bytes | None = None
        link: tuple[bytes | None, tuple[bytes, bytes]] | None = None
        if isinstance(qrd, QRMessaging) and qrd.link is not None:
            client_sid = qrd.link.sender_id
            link = (None, (qrd.link.data.fixed, qrd.link.data.user))
        elif isinstance(qrd, QRContact) and qrd.link is not None:
            client_sid = qrd.link.sender_id
            link = (qrd.link.link_id, (qrd.link.data.fixed, qrd.link.data.user))
        if client_sid is not None and not hmac.compare_digest(
            client_sid, hashlib.sha3_384(corr).digest()[:24]
        ):
            self.count_error(CMD(CommandError.PROHIBITED))
            return [(corr, ent, ERR(CMD(CommandError.PROHIBITED)))]
        srv_dh = KeyPair.generate(KeyAlg.X25519)
        ntf: tuple[NotifierRecord, ServerNtfCreds] | None = None
        now = int(self.clock())
        for _ in range(3):
            rid = os.urandom(ID_SIZE)
            sid = client_sid if client_sid is not None else os.urandom(ID_SIZE)
            link_id: bytes | None = None
            link_data = None
            if link is not None:
                link_id = link[0] if link[0] is not None else os.urandom(ID_SIZE)
                link_data = link[1]
            if cmd.ntf_creds is not None:
                ntf_dh = KeyPair.generate(KeyAlg.X25519)
                nid = os.urandom(ID_SIZE)
                ntf = (
                    NotifierRecord(
                        nid,
                        cmd.ntf_creds.auth_key.to_der(),
                        dh_box_key(cmd.ntf_creds.dh_key, ntf_dh.private),
                    ),
                    ServerNtfCreds(EntityId(nid), ntf_dh.public),
                )
            rec = QueueRecord(
                recipient_id=rid,
                sender_id=sid,
                recipient_keys=(cmd.rcv_auth_key.to_der(),),
                rcv_dh_secret=dh_box_key(cmd.rcv_dh_key, srv_dh.private),
                queue_mode=mode,
                notifier=ntf[0] if ntf else None,
                link_id=link_id,
                link_data=link_data,
                created_at=now,
                updated_at=now,
            )
            if await self.store.create_queue(rec):
                break
            if client_sid is not None:
                self.count_error(ErrorType.AUTH)
                return [(corr, ent, ERR(ErrorType.AUTH))]
        else:
            self.count_error(ErrorType.INTERNAL)
            return [(corr, ent, ERR(ErrorType.INTERNAL))]
        self.metrics.queues_created += 1
        if cmd.sub_mode.value == "S":
            session.subs[rid] = Sub()
            self.subscribers[rid] = session
        ids = IDS(
            EntityId(rid),
            EntityId(sid),
            srv_dh.public,
            None if mode is None else (QueueMode.MESSAGING if mode == "M" else QueueMode.CONTACT),
            EntityId(link_id) if link_id is not None else None,
            None,
            ntf[1] if ntf else None,
        )
        return [(corr, ent, ids)]

    # ------------------------------------------------------------------ SEND

    async def _send(
        self, session: Session, req: ClientRequest, cmd: SEND, q: QueueRecord
    ) -> list[Reply]:
        corr, ent = req.corr_id, req.entity_id

        def err(e: ErrorType) -> list[Reply]:
            self.count_error(e)
            return [(corr, ent, ERR(e))]

        if len(cmd.body) > max_message_length(session.version):
            return err(ErrorType.LARGE_MSG)
        if q.status is QueueStatus.OFF:
            return err(ErrorType.AUTH)
        if q.link_id is not None and _secured_messaging(q):
            await self.store.delete_link_data(q.recipient_id)
        msg = StoredMessage(
            os.urandom(ID_SIZE), int(self.clock()), cmd.flags.notification, cmd.body
        )
        result = await self.store.write_message(q.recipient_id, msg, self.config.limits.queue_quota)
        if result is WriteResult.QUOTA_BLOCKED:
            return err(ErrorType.QUOTA)
        self.try_deliver(q.recipient_id)
        if result is WriteResult.QUOTA_EXCEEDED:
            return err(ErrorType.QUOTA)
        self.metrics.messages_in += 1
        if cmd.flags.notification and q.notifier is not None:
            self._notify(q, msg)
        return [(corr, ent, OK())]

    def _notify(self, q: QueueRecord, msg: StoredMessage) -> None:
        assert q.notifier is not None
        target = self.ntf_subscribers.get(q.notifier.notifier_id)
        if target is None:
            return
        from hushwire.encoding.binary import int64, short_string

        nonce = os.urandom(24)
        meta = cb_encrypt(
            q.notifier.rcv_ntf_dh_secret, nonce, short_string(msg.msg_id) + int64(msg.ts), 128
        )
        target.push(NO_CORR_ID, q.notifier.notifier_id, NMSG(nonce, meta))

    # ------------------------------------------------------------------ delivery

    def _encrypt_msg(self, q: QueueRecord, m: StoredMessage) -> MSG:
        plain = (
            RcvMsgQuota(m.ts).encode()
            if m.is_quota
            else RcvMsgBody(m.ts, MsgFlags(m.flags_notification), m.body).encode()
        )
        body = cb_encrypt(q.rcv_dh_secret, m.msg_id, plain, ENCRYPTED_BODY_PAD)
        self.metrics.messages_out += 1
        return MSG(MsgId(m.msg_id), body)

    def try_deliver(self, rid: bytes) -> None:
        """Push the head message to the queue's subscriber if it has nothing in flight."""
        session = self.subscribers.get(rid)
        if session is None:
            return
        sub = session.subs.get(rid)
        if sub is None or sub.prohibit or sub.delivered is not None:
            return
        q = self.store.get_by_recipient(rid)
        head = self.store.peek(rid)
        if q is None or head is None:
            return
        sub.delivered = head.msg_id
        sub.delivered_ts = int(self.clock())
        session.push(NO_CORR_ID, rid, self._encrypt_msg(q, head))

    def _subscribe(self, session: Session, req: ClientRequest, q: QueueRecord) -> list[Reply]:
        rid = q.recipient_id
        sub = session.subs.get(rid)
        if sub is not None and sub.prohibit:
            self.count_error(CMD(CommandError.PROHIBITED))
            return [(req.corr_id, req.entity_id, ERR(CMD(CommandError.PROHIBITED)))]
        if sub is None:
            sub = session.subs[rid] = Sub()
            previous = self.subscribers.get(rid)
            if previous is not None and previous is not session:
                previous.end_subscription(rid, deleted=False)
            self.subscribers[rid] = session
        sub.delivered = None
        replies: list[Reply] = [(req.corr_id, req.entity_id, SOK(None))]
        head = self.store.peek(rid)
        if head is not None:
            sub.delivered = head.msg_id
            sub.delivered_ts = int(self.clock())
            replies.append((NO_CORR_ID, req.entity_id, self._encrypt_msg(q, head)))
        return replies

    def _get(self, session: Session, req: ClientRequest, q: QueueRecord) -> list[Reply]:
        rid = q.recipient_id
        sub = session.subs.get(rid)
        if sub is None:
            sub = session.subs[rid] = Sub(prohibit=True)
        elif not sub.prohibit:
            self.count_error(CMD(CommandError.PROHIBITED))
            return [(req.corr_id, req.entity_id, ERR(CMD(CommandError.PROHIBITED)))]
        head = self.store.peek(rid)
        if head is None:
            sub.delivered = None
            return [(req.corr_id, req.entity_id, OK())]
        sub.delivered = head.msg_id
        sub.delivered_ts = int(self.clock())
        return [(req.corr_id, req.entity_id, self._encrypt_msg(q, head))]

    async def _ack(
        self, session: Session, req: ClientRequest, cmd: ACK, q: QueueRecord
    ) -> list[Reply]:
        rid = q.recipient_id
        sub = session.subs.get(rid)
        delivered = sub.delivered if sub is not None else None
        if (
            sub is None
            or delivered is None
            or not (not cmd.msg_id or hmac.compare_digest(cmd.msg_id, delivered))
        ):
            self.count_error(ErrorType.NO_MSG)
            return [(req.corr_id, req.entity_id, ERR(ErrorType.NO_MSG))]
        # ``delivered`` stays set until the deletion has committed: until then the store
        # still shows the message as the head, and a SEND committing meanwhile must not
        # push it again (try_deliver skips a subscription with a message in flight).
        if await self.store.delete_head(rid, delivered):
            self.metrics.messages_acked += 1
        if sub.delivered == delivered:
            sub.delivered = None
        if sub.prohibit:
            return [(req.corr_id, req.entity_id, OK())]
        head = self.store.peek(rid)
        current = self.store.get_by_recipient(rid)
        if head is None or current is None or session.subs.get(rid) is not sub:
            return [(req.corr_id, req.entity_id, OK())]
        if sub.delivered is not None:  # pragma: no cover - commands of a queue are serialised
            return [(req.corr_id, req.entity_id, OK())]
        sub.delivered = head.msg_id
        sub.delivered_ts = int(self.clock())
        msg = self._encrypt_msg(current, head)
        if self.config.ack_next_as_push:
            # Same delivery, two transmissions: OK for the ACK, then the message as a push.
            return [(req.corr_id, req.entity_id, OK()), (NO_CORR_ID, req.entity_id, msg)]
        return [(req.corr_id, req.entity_id, msg)]

    # ------------------------------------------------------------------ QUE, NKEY

    def _queue_info(self, session: Session, q: QueueRecord) -> QueueInfo:
        from hushwire.encoding.strings import b64url_encode

        sub = session.subs.get(q.recipient_id)
        qsub = None
        if sub is not None:
            thread = QSubThread.PROHIBIT_SUB if sub.prohibit else QSubThread.NO_SUB
            delivered = b64url_encode(sub.delivered) if sub.delivered else None
            qsub = QSub(thread, delivered)
        head = self.store.peek(q.recipient_id)
        msg = None
        if head is not None:
            kind = MsgType.QUOTA if head.is_quota else MsgType.MESSAGE
            msg = MsgInfo(b64url_encode(head.msg_id), head.ts, kind)
        return QueueInfo(
            q.sender_key is not None,
            q.notifier is not None,
            qsub,
            self.store.queue_size(q.recipient_id),
            msg,
        )

    async def _nkey(self, req: ClientRequest, cmd: NKEY, q: QueueRecord) -> list[Reply]:
        for _ in range(3):
            ntf_dh = KeyPair.generate(KeyAlg.X25519)
            nid = os.urandom(ID_SIZE)
            rec = NotifierRecord(
                nid, cmd.ntf_auth_key.to_der(), dh_box_key(cmd.ntf_dh_key, ntf_dh.private)
            )
            if await self.store.set_notifier(q.recipient_id, rec):
                if q.notifier is not None:
                    self.ntf_subscribers.pop(q.notifier.notifier_id, None)
                return [(req.corr_id, req.entity_id, NID(EntityId(nid), ntf_dh.public))]
        return [(req.corr_id, req.entity_id, ERR(ErrorType.INTERNAL))]

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


def _blocked() -> ErrorType:
    from hushwire.smp.errors import BLOCKED, BlockingReason

    return BLOCKED(BlockingInfo(BlockingReason.SPAM))


def _secured_messaging(q: QueueRecord) -> bool:
    """Server.hs ``isSecuredMsgQueue``."""
    return q.queue_mode != "C" and q.sender_key is not None


def _contact_queue(q: QueueRecord) -> bool:
    """Server.hs ``isContactQueue``."""
    if q.queue_mode == "M":
        return False
    if q.queue_mode == "C":
        return True
    return q.sender_key is None
