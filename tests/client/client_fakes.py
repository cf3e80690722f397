"""A minimal in-test SMP server for the client tests, on the real transport and codec.

It does the server handshake (with hooks to break it), verifies command authorization
(signatures and CbAuthenticators) and keeps queues in memory with the reference's delivery
rules for NEW, SUB, KEY, SKEY, SEND, ACK, GET, OFF, DEL and PING. Tests can silence
commands, push events and drop every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.crypto.nacl import cb_encrypt, cb_nonce, cb_verify, dh_box_key
from hushwire.errors import DecodeError
from hushwire.smp.address import SMPServer
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
    KEY,
    MSG,
    NEW,
    OFF,
    OK,
    PING,
    PONG,
    SEND,
    SKEY,
    SOK,
    SUB,
    BrokerMsg,
    QueueMode,
    SubscriptionMode,
)
from hushwire.smp.errors import ErrorType
from hushwire.smp.hello import (
    CertChainPubKey,
    ClientHello,
    Negotiated,
    ServerHello,
    negotiate_server,
)
from hushwire.smp.ids import EntityId, MsgId
from hushwire.smp.msgbody import RcvMsgBody, pad_rcv_msg_body
from hushwire.smp.transmission import (
    ClientRequest,
    RequestError,
    decode_client_batch,
    encode_server_transmission,
)
from hushwire.smp.version import VersionRange
from hushwire.transport.blocks import BlockConn, TransportError
from hushwire.transport.listen import serve_tls, serve_ws, smp_tls_context

NOW = datetime.now(UTC) - timedelta(hours=1)
ALL_VERSIONS = VersionRange(6, 18)


@dataclass
class Identity:
    ca: bytes
    ca_key: PrivateKey
    online: bytes
    online_key: PrivateKey

    @property
    def key_hash(self) -> bytes:
        return x509.key_hash(self.ca)

    @classmethod
    def make(cls, alg: KeyAlg = KeyAlg.ED25519) -> Identity:
        ca, ca_key = x509.generate_ca(alg, now=NOW)
        online, online_key = x509.generate_online_cert(ca, ca_key, alg, "127.0.0.1", now=NOW)
        return cls(ca, ca_key, online, online_key)

    def another_online(self) -> tuple[bytes, PrivateKey]:
        """Another online certificate signed by the same CA."""
        alg = self.online_key.alg
        return x509.generate_online_cert(self.ca, self.ca_key, alg, "127.0.0.1", now=NOW)


@dataclass
class Queue:
    rid: bytes
    sid: bytes
    rcv_keys: list[PublicKey]
    dh_key: bytes
    mode: QueueMode | None
    sender_key: PublicKey | None = None
    off: bool = False
    msgs: list[tuple[MsgId, RcvMsgBody]] = field(default_factory=list)
    subscriber: FakeSession | None = None
    delivered: bytes | None = None


class FakeSession:
    def __init__(
        self, server: FakeServer, conn: BlockConn, version: int, session_id: bytes, key: PrivateKey
    ) -> None:
        self.server = server
        self.conn = conn
        self.version = version
        self.session_id = session_id
        self.key = key
        self.send_chain: BlockChain | None = None
        self.recv_chain: BlockChain | None = None
        self.lock = asyncio.Lock()

    async def send(self, items: list[tuple[bytes, bytes, BrokerMsg]]) -> None:
        ts = [
            encode_server_transmission(self.version, self.session_id, c, e, m) for c, e, m in items
        ]
        async with self.lock:
            for part in batch_transmissions(ts):
                assert isinstance(part, Batch)
                chain = self.send_chain
                block = pad_block(part.payload) if chain is None else chain.encrypt(part.payload)
                with contextlib.suppress(TransportError):
                    await self.conn.send_block(block)
            self.server.blocks_sent += 1


class FakeServer:
    """Start with :meth:`start_ws` or :meth:`start_tls`; stop with :meth:`stop`."""

    def __init__(
        self,
        identity: Identity | None = None,
        *,
        versions: VersionRange = ALL_VERSIONS,
        hello_hook: Callable[[ServerHello], ServerHello] | None = None,
    ) -> None:
        self.identity = identity or Identity.make()
        self.versions = versions
        self.hello_hook = hello_hook
        self.chain: tuple[bytes, ...] = (self.identity.online, self.identity.ca)
        self.silent: set[bytes] = set()
        """Command tags the server does not answer."""
        self.queues: dict[bytes, Queue] = {}
        self.senders: dict[bytes, Queue] = {}
        self.sessions: list[FakeSession] = []
        self.received: list[tuple[bytes, bytes]] = []
        self.blocks_received = 0
        self.blocks_sent = 0
        self.handshakes = 0
        self.client_hellos: list[ClientHello] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0
        self.url = ""

    @property
    def address(self) -> SMPServer:
        return SMPServer(("127.0.0.1",), self.identity.key_hash, self.port)

    async def start_ws(self) -> FakeServer:
        self._server = await serve_ws("127.0.0.1", 0, self.handle)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.url = f"ws://127.0.0.1:{self.port}"
        return self

    async def start_tls(
        self, tmp: Path, tls_cert: tuple[bytes, PrivateKey] | None = None
    ) -> FakeServer:
        leaf, key = tls_cert or (self.identity.online, self.identity.online_key)
        chain_pem = tmp / "chain.pem"
        key_pem = tmp / "key.pem"
        chain_pem.write_bytes(x509.cert_to_pem(leaf) + x509.cert_to_pem(self.identity.ca))
        key_pem.write_bytes(x509.key_to_pem(key))
        ctx = smp_tls_context(str(chain_pem), str(key_pem))
        self._server = await serve_tls("127.0.0.1", 0, ctx, self.handle)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def kill_all(self) -> None:
        for s in list(self.sessions):
            s.conn.abort()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for s in list(self.sessions):
            s.conn.abort()
        for t in list(self._handlers):
            t.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> FakeServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ connection

    async def handle(self, conn: BlockConn) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            session = await self._handshake(conn)
            if session is None:
                return
            self.sessions.append(session)
            try:
                await self._serve(session)
            finally:
                self.sessions.remove(session)
                for q in self.queues.values():
                    if q.subscriber is session:
                        q.subscriber = None
                        q.delivered = None
        except (TransportError, asyncio.CancelledError):
            pass
        finally:
            self._handlers.discard(task)
            await conn.close()

    async def _handshake(self, conn: BlockConn) -> FakeSession | None:
        key = KeyPair.generate(KeyAlg.X25519)
        session_id = conn.tls_unique or os.urandom(32)
        signed = x509.sign_key(self.identity.online_key, key.public)
        hello = ServerHello(self.versions, session_id, CertChainPubKey(self.chain, signed))
        if self.hello_hook is not None:
            hello = self.hello_hook(hello)
        await conn.send_block(pad_handshake(hello.encode()))
        try:
            client = ClientHello.decode(unpad_handshake(await conn.recv_block()))
        except DecodeError:
            return None
        self.client_hellos.append(client)
        result = negotiate_server(self.versions, self.identity.key_hash, client)
        if not isinstance(result, Negotiated):
            return None
        self.handshakes += 1
        session = FakeSession(self, conn, result.version, hello.session_id, key.private)
        if result.block_encryption:
            assert client.session_key is not None
            secret = key.private.dh(client.session_key)
            session.send_chain, session.recv_chain = BlockChain.pair(
                hello.session_id, secret, server=True
            )
        return session

    async def _serve(self, s: FakeSession) -> None:
        while True:
            block = await s.conn.recv_block()
            self.blocks_received += 1
            chain = s.recv_chain
            payload = unpad_block(block) if chain is None else chain.decrypt(block)
            replies: list[tuple[bytes, bytes, BrokerMsg]] = []
            for req in decode_client_batch(payload, s.version, s.session_id):
                if isinstance(req, RequestError):
                    replies.append((req.corr_id, req.entity_id, ERR(req.error)))
                    continue
                self.received.append((req.command.tag, req.entity_id))
                if req.command.tag in self.silent:
                    continue
                replies.extend(self._process(s, req))
            if replies:
                await s.send(replies)
            await asyncio.sleep(0)

    # ------------------------------------------------------------------ commands

    def _verify(self, s: FakeSession, key: PublicKey, req: ClientRequest) -> bool:
        if req.auth is None:
            return False
        if key.alg.is_signature:
            return key.verify(req.auth.data, req.authorized)
        return cb_verify(key, s.key, cb_nonce(req.corr_id), req.authorized, req.auth.data)

    def _msg(self, q: Queue, msg_id: MsgId, body: RcvMsgBody) -> MSG:
        enc = cb_encrypt(q.dh_key, cb_nonce(msg_id), pad_rcv_msg_body(body))
        return MSG(msg_id, enc)

    def _push(self, q: Queue) -> None:
        s = q.subscriber
        if s is None or q.delivered is not None or not q.msgs:
            return
        msg_id, body = q.msgs[0]
        q.delivered = msg_id
        asyncio.get_running_loop().create_task(s.send([(b"", q.rid, self._msg(q, msg_id, body))]))

    def push_event(self, rid: bytes, msg: BrokerMsg) -> None:
        q = self.queues[rid]
        assert q.subscriber is not None
        asyncio.get_running_loop().create_task(q.subscriber.send([(b"", rid, msg)]))

    def _process(self, s: FakeSession, req: ClientRequest) -> list[tuple[bytes, bytes, BrokerMsg]]:
        c, e, cmd = req.corr_id, req.entity_id, req.command

        def reply(m: BrokerMsg) -> list[tuple[bytes, bytes, BrokerMsg]]:
            return [(c, e, m)]

        auth_err = reply(ERR(ErrorType.AUTH))
        if isinstance(cmd, PING):
            return reply(PONG())
        if isinstance(cmd, NEW):
            if not self._verify(s, cmd.rcv_auth_key, req):
                return auth_err
            rid, sid = EntityId(os.urandom(24)), EntityId(os.urandom(24))
            srv = KeyPair.generate(KeyAlg.X25519)
            mode = cmd.queue_req_data.mode if cmd.queue_req_data is not None else None
            q = Queue(rid, sid, [cmd.rcv_auth_key], dh_box_key(cmd.rcv_dh_key, srv.private), mode)
            self.queues[rid] = q
            self.senders[sid] = q
            if cmd.sub_mode is SubscriptionMode.SUBSCRIBE:
                q.subscriber = s
            return reply(IDS(rid, sid, srv.public, mode))
        if isinstance(cmd, SEND | SKEY):
            q_ = self.senders.get(e)
            if q_ is None:
                return auth_err
            if isinstance(cmd, SKEY):
                ok = (q_.sender_key in (None, cmd.sender_key)) and self._verify(
                    s, cmd.sender_key, req
                )
                if not ok or q_.mode is not QueueMode.MESSAGING:
                    return auth_err
                q_.sender_key = cmd.sender_key
                return reply(OK())
            if q_.sender_key is None:
                if req.auth is not None:
                    return auth_err
            elif not self._verify(s, q_.sender_key, req):
                return auth_err
            if q_.off:
                return auth_err
            msg_id = MsgId(os.urandom(24))
            q_.msgs.append((msg_id, RcvMsgBody(1700000000, cmd.flags, cmd.body)))
            self._push(q_)
            return reply(OK())
        found = self.queues.get(e)
        if found is None or not any(self._verify(s, k, req) for k in found.rcv_keys):
            return auth_err
        q = found
        if isinstance(cmd, SUB):
            old = q.subscriber
            if old is not None and old is not s:
                asyncio.get_running_loop().create_task(old.send([(b"", q.rid, END())]))
            q.subscriber = s
            q.delivered = None
            out = reply(SOK(None) if s.version >= 16 else OK())
            if q.msgs:
                msg_id, body = q.msgs[0]
                q.delivered = msg_id
                out.append((b"", q.rid, self._msg(q, msg_id, body)))
            return out
        if isinstance(cmd, KEY):
            if q.sender_key is not None and q.sender_key != cmd.sender_key:
                return auth_err
            q.sender_key = cmd.sender_key
            return reply(OK())
        if isinstance(cmd, ACK):
            if not q.msgs or q.msgs[0][0] != cmd.msg_id:
                return reply(ERR(ErrorType.NO_MSG))
            q.msgs.pop(0)
            q.delivered = None
            if q.msgs and q.subscriber is s:
                msg_id, body = q.msgs[0]
                q.delivered = msg_id
                return reply(self._msg(q, msg_id, body))
            return reply(OK())
        if isinstance(cmd, GET):
            if not q.msgs:
                return reply(OK())
            msg_id, body = q.msgs[0]
            return reply(self._msg(q, msg_id, body))
        if isinstance(cmd, OFF):
            q.off = True
            return reply(OK())
        if isinstance(cmd, DEL):
            del self.queues[q.rid]
            del self.senders[q.sid]
            if q.subscriber is not None and q.subscriber is not s:
                sub = q.subscriber
                asyncio.get_running_loop().create_task(sub.send([(b"", q.rid, DELD())]))
            return reply(OK())
        return reply(ERR(ErrorType.INTERNAL))
