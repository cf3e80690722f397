"""Command dispatch: each SMP command as logic over the queue store, no sockets.

Mirrors simplexmq ``Simplex.Messaging.Server`` ``processCommand`` (and ``subscribeQueue``,
``deliverMessage``, ``acknowledgeMsg``) over the :class:`~hushwire.server.store.QueueStore`
contract; see docs/protocol/smp.md. :class:`Dispatcher` takes one decoded request from a
:class:`Client` (a relay session, or any object with the same few members, as the tests use)
and returns the transmissions to send back; pushes to other connections (``MSG``, ``END``,
``DELD``, ``NMSG``) go through their ``push``.

Theory of operation
-------------------
A queue has at most one subscriber client (:attr:`Dispatcher.subscribers`). A subscribed
client holds a :class:`Sub` per queue with the id of the message it was given and has not yet
acknowledged; at most one message per queue is in flight. Whenever a queue may have become
deliverable (a SEND committed, a SUB, an ACK), :meth:`Dispatcher.try_deliver` pushes the head
message to an idle subscriber, so a message that commits while its recipient is between
commands is never stranded (the reference relies on "the queue was empty" being decided
atomically; here decisions and commits are separated by the group commit, so delivery is
re-checked after every commit instead).

Replies wait for durability: ``OK`` to SEND is returned only after the message is committed;
ACK's reply (the next message, or ``OK``) only after the deletion is committed. With
``ack_next_as_push``, and always for a client at v9 or lower (simplex-js, which takes only
``OK``; :data:`ACK_OK_THEN_PUSH_BELOW`), ACK gets ``OK`` and the next message follows at once
as a push. A message given to a client that goes away stays in the
store and is delivered again on the next SUB.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Final, Protocol

from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey
from hushwire.crypto.nacl import NONCE_SIZE, cb_encrypt, dh_box_key
from hushwire.encoding.binary import int64, short_string
from hushwire.encoding.strings import b64url_encode
from hushwire.limits import ENCRYPTED_MSG_BODY_PAD, MSG_ID_SIZE, QUEUE_ID_SIZE
from hushwire.server import auth
from hushwire.server.config import RelayConfig
from hushwire.server.metrics import Metrics
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
    PING,
    PONG,
    QUE,
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
    BLOCKED,
    CMD,
    BlockingInfo,
    BlockingReason,
    CommandError,
    ErrorType,
)
from hushwire.smp.ids import NO_CORR_ID, NO_ENTITY, CorrId, EntityId, MsgId
from hushwire.smp.msgbody import RcvMsgBody, RcvMsgQuota
from hushwire.smp.queue_info import MsgInfo, MsgType, QSub, QSubThread, QueueInfo
from hushwire.smp.transmission import ClientRequest
from hushwire.smp.version import DELETED_EVENT_VERSION, max_message_length

__all__ = ["Client", "Dispatcher", "Reply", "Sub"]

log = logging.getLogger("hushwire.relay")

NMSG_META_PAD: Final = 128
"""NMSG metadata (message id, time) is padded to this before encryption (Server.hs
``mkMessageNotification``, a literal there)."""

_ID_ATTEMPTS: Final = 3
"""Random ids tried before NEW / NKEY answer ``INTERNAL`` (Server.hs ``addQueueRetry``)."""

ACK_OK_THEN_PUSH_BELOW: Final = DELETED_EVENT_VERSION
"""Clients that negotiate a version below this get ``OK`` for ACK and the next message as a
push, as with ``ack_next_as_push``. simplex-js 1.0.0 speaks 6..9 and takes only ``OK`` as
ACK's reply; native clients accept both forms (simplexmq ``Client.hs`` ``ackSMPMessage``),
and every current one negotiates 10 or later, so it keeps the reference's form."""

Reply = tuple[CorrId, EntityId, BrokerMsg]
"""One transmission back: correlation id, entity id, response."""


@dataclass(slots=True)
class Sub:
    """A client's subscription to one queue (Server.hs ``Sub``); mutable delivery state."""

    prohibit: bool = False
    """Made by GET: this client may GET and ACK but not SUB."""
    delivered: bytes | None = None
    """Id of the message given and not yet acknowledged."""
    delivered_ts: int = 0


class Client(Protocol):
    """What dispatch needs of a connection: a relay session, or a test double."""

    cid: str
    """Connection id, for logs."""
    version: int
    """Negotiated SMP version."""
    session_key: PrivateKey
    """The relay's per-connection X25519 key (``CbAuthenticator`` checks)."""
    subs: dict[bytes, Sub]
    """This client's subscriptions by recipient id."""
    deferred: set[bytes]
    """Queues whose delivery waits for the client to read what is queued for it; the
    client tries them again with :meth:`Dispatcher.try_deliver` once it has caught up."""

    @property
    def backlogged(self) -> bool:
        """Too much is queued for this client: a delivery now would wait in ``deferred``."""

    # Optional: a ``box_keys`` attribute (``auth.BoxKeys``) caches this client's X25519
    # authenticator box keys; a client without one is checked without the cache.
    # Optional: a ``new_queue_quota`` attribute (a ``TokenBucket`` with ``try_take``) shared
    # by the connections of one address; NEW past it is answered ERR QUOTA.

    def push(self, corr_id: bytes, entity_id: bytes, msg: BrokerMsg) -> None:
        """Queue one transmission to this client (a push, or a late reply)."""

    async def throttle_new(self) -> None:
        """Wait as long as this client's NEW rate limit says."""


class Dispatcher:
    """The relay's command logic over one store; holds the subscription maps."""

    def __init__(
        self,
        config: RelayConfig,
        store: QueueStore,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.subscribers: dict[bytes, Client] = {}
        """Recipient id -> the one client subscribed to the queue."""
        self.ntf_subscribers: dict[bytes, Client] = {}
        """Notifier id -> the client subscribed to its notifications."""
        self._acting: dict[bytes, Client] = {}
        """Recipient or notifier id -> the client whose DEL, NDEL or NKEY of it is in flight:
        a shared store reports the deletion back before the command returns, and that
        client's own subscription then ends without a DELD (as Server.hs)."""

    @contextlib.contextmanager
    def _deleting(self, client: Client, *ids: bytes) -> Iterator[None]:
        for i in ids:
            self._acting[i] = client
        try:
            yield
        finally:
            for i in ids:
                if self._acting.get(i) is client:
                    del self._acting[i]

    def end_subscription(self, rid: bytes, deleted: bool) -> None:
        """A client of another relay process took the queue (``END``) or deleted it
        (``DELD``): end this process's subscription to it, if any."""
        client = self.subscribers.pop(rid, None)
        if client is not None and client is self._acting.get(rid):
            client.subs.pop(rid, None)
        elif client is not None:
            _end_subscription(client, rid, deleted)

    def end_ntf_subscription(
        self, notifier_id: bytes, *, deleted: bool = False, by: Client | None = None
    ) -> None:
        """End this process's subscription to these notifications, if any: another client
        subscribed to them (``END``), or the notifier was deleted or replaced (``DELD``,
        ``END`` before v10). ``by``: the client whose command did it, told nothing (Server.hs
        ``checkAnotherClient``)."""
        client = self.ntf_subscribers.pop(notifier_id, None)
        if by is None:
            by = self._acting.get(notifier_id)
        if client is not None and client is not by:
            client.push(NO_CORR_ID, notifier_id, DELD() if deleted else END())

    def count_error(self, e: ErrorType) -> None:
        self.metrics.errors[e.encode().split(b" ")[0].decode()] += 1

    def drop_client(self, client: Client) -> None:
        """Forget a client that went away (its messages stay in the store)."""
        for rid in client.subs:
            if self.subscribers.get(rid) is client:
                del self.subscribers[rid]
        for nid, s in list(self.ntf_subscribers.items()):
            if s is client:
                del self.ntf_subscribers[nid]
        client.subs.clear()

    # ------------------------------------------------------------------ dispatch

    async def process(self, client: Client, req: ClientRequest) -> list[Reply]:
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
        party = queue_party(cmd)
        if party is None and not isinstance(cmd, NEW):
            # Service subscriptions: not served here (private routing is wired in relay.py).
            return err(CMD(CommandError.PROHIBITED))
        if not self.store.healthy:
            return err(ErrorType.INTERNAL)  # a cluster node cut off from its store
        q = auth.lookup(self.store, party, ent) if party is not None else None
        box_keys = getattr(client, "box_keys", None)
        staged = None
        if isinstance(cmd, SEND) and q is not None and q.sender_key is None:
            # An SKEY of this queue decided before this SEND and not yet committed (the
            # session runs the first SEND behind an SKEY without waiting for its commit):
            # the SEND is decided against it, and its write commits with the SKEY or later.
            staged = self.store.staged_sender_key(q.recipient_id)
            if staged is not None:
                q = replace(q, sender_key=staged)
        ok = auth.authorized(client.session_key, req, q, box_keys)
        if not ok and self.store.shared and party is not None and ent:
            # Another relay process may have made or secured the queue a moment ago.
            q = await self._lookup_shared(party, ent)
            ok = auth.authorized(client.session_key, req, q, box_keys)
        if not ok:
            return err(ErrorType.AUTH)
        try:
            if isinstance(cmd, NEW):
                return await self._new(client, req, cmd)
            assert q is not None
            if q.status is QueueStatus.BLOCKED and not isinstance(cmd, DEL | OFF | QUE):
                return err(BLOCKED(BlockingInfo(BlockingReason.SPAM)))
            return await self._queue_command(client, req, q)
        except QueueNotFoundError:
            # Deleted by another connection while this command waited: as if unknown.
            return err(ErrorType.AUTH)
        except StoreError:
            log.exception("%s: store failed", client.cid)
            return err(ErrorType.INTERNAL)

    async def _lookup_shared(self, party: Party, ent: bytes) -> QueueRecord | None:
        """A queue another process of a shared store made or changed may not be visible
        here yet: wait until it is, then look again."""
        try:
            await self.store.catch_up()
        except StoreError:
            return None
        return auth.lookup(self.store, party, ent)

    async def _queue_command(
        self, client: Client, req: ClientRequest, q: QueueRecord
    ) -> list[Reply]:
        cmd = req.command
        corr, ent = req.corr_id, req.entity_id
        rid = q.recipient_id
        ok: list[Reply] = [(corr, ent, OK())]

        def err(e: ErrorType) -> list[Reply]:
            self.count_error(e)
            return [(corr, ent, ERR(e))]

        if isinstance(cmd, SEND):
            return await self._send(client, req, cmd, q)
        if isinstance(cmd, ACK):
            return await self._ack(client, req, cmd, q)
        if isinstance(cmd, SUB):
            return self._subscribe(client, req, q)
        if isinstance(cmd, GET):
            return self._get(client, req, q)
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
            with self._deleting(client, rid, *_notifier_id(q)):
                await self.store.delete_queue(rid)
            self.metrics.queues_deleted += 1
            client.subs.pop(rid, None)
            other = self.subscribers.pop(rid, None)
            if other is not None and other is not client:
                _end_subscription(other, rid, deleted=True)
            if q.notifier is not None:
                self.end_ntf_subscription(q.notifier.notifier_id, deleted=True, by=client)
            return ok
        if isinstance(cmd, QUE):
            return [(corr, ent, INFO(self._queue_info(client, q)))]
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
            return await self._nkey(client, req, cmd, q)
        if isinstance(cmd, NDEL):
            with self._deleting(client, *_notifier_id(q)):
                removed = await self.store.delete_notifier(rid)
            if removed is not None:
                self.end_ntf_subscription(removed.notifier_id, deleted=True, by=client)
            return ok
        if isinstance(cmd, NSUB):
            assert q.notifier is not None
            nid = q.notifier.notifier_id
            previous = self.ntf_subscribers.get(nid)
            if previous is not client:  # one notifier subscriber: the older one gets END
                if previous is not None:
                    previous.push(NO_CORR_ID, nid, END())
                self.ntf_subscribers[nid] = client
                self.store.announce_subscription(nid, notifier=True)
            return [(corr, ent, SOK(None))]
        return err(CMD(CommandError.PROHIBITED))  # pragma: no cover - parties cover the rest

    def _link_reply(self, req: ClientRequest, q: QueueRecord) -> list[Reply]:
        if q.link_id is None or q.link_data is None or q.link_id != req.entity_id:
            self.count_error(ErrorType.AUTH)
            return [(req.corr_id, req.entity_id, ERR(ErrorType.AUTH))]
        data = QueueLinkData(q.link_data[0], q.link_data[1])
        return [(req.corr_id, req.entity_id, LNK(EntityId(q.sender_id), data))]

    # ------------------------------------------------------------------ NEW

    async def _new(self, client: Client, req: ClientRequest, cmd: NEW) -> list[Reply]:
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
        quota = getattr(client, "new_queue_quota", None)
        if quota is not None and not quota.try_take():
            self.count_error(ErrorType.QUOTA)
            return [(corr, ent, ERR(ErrorType.QUOTA))]
        await client.throttle_new()
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
            client_sid, hashlib.sha3_384(corr).digest()[:QUEUE_ID_SIZE]
        ):
            self.count_error(CMD(CommandError.PROHIBITED))
            return [(corr, ent, ERR(CMD(CommandError.PROHIBITED)))]
        srv_dh = KeyPair.generate(KeyAlg.X25519)
        ntf: tuple[NotifierRecord, ServerNtfCreds] | None = None
        now = int(self.clock())
        for _ in range(_ID_ATTEMPTS):
            rid = os.urandom(QUEUE_ID_SIZE)
            sid = client_sid if client_sid is not None else os.urandom(QUEUE_ID_SIZE)
            link_id: bytes | None = None
            link_data = None
            if link is not None:
                link_id = link[0] if link[0] is not None else os.urandom(QUEUE_ID_SIZE)
                link_data = link[1]
            if cmd.ntf_creds is not None:
                ntf_dh = KeyPair.generate(KeyAlg.X25519)
                nid = os.urandom(QUEUE_ID_SIZE)
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
            client.subs[rid] = Sub()
            self.subscribers[rid] = client
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
        self, client: Client, req: ClientRequest, cmd: SEND, q: QueueRecord
    ) -> list[Reply]:
        corr, ent = req.corr_id, req.entity_id

        def err(e: ErrorType) -> list[Reply]:
            self.count_error(e)
            return [(corr, ent, ERR(e))]

        if len(cmd.body) > max_message_length(client.version):
            return err(ErrorType.LARGE_MSG)
        if q.status is QueueStatus.OFF:
            return err(ErrorType.AUTH)
        if q.link_id is not None and _secured_messaging(q):
            await self.store.delete_link_data(q.recipient_id)
        if self.store.stored_bytes() + len(cmd.body) > self.config.limits.max_stored_bytes:
            return err(ErrorType.QUOTA)  # the relay's storage quota, not the queue's
        msg = StoredMessage(
            os.urandom(MSG_ID_SIZE), int(self.clock()), cmd.flags.notification, cmd.body
        )
        result = await self.store.write_message(q.recipient_id, msg, self.config.limits.queue_quota)
        if result is WriteResult.QUOTA_BLOCKED:
            return err(ErrorType.QUOTA)
        self.try_deliver(q.recipient_id)
        if result is WriteResult.QUOTA_EXCEEDED:
            return err(ErrorType.QUOTA)
        self.metrics.messages_in += 1
        if cmd.flags.notification and q.notifier is not None:
            self.notify(q, msg)
        return [(corr, ent, OK())]

    def notify(self, q: QueueRecord, msg: StoredMessage) -> None:
        """NMSG to the notifier subscriber of ``q`` on this relay process, if any."""
        assert q.notifier is not None
        target = self.ntf_subscribers.get(q.notifier.notifier_id)
        if target is None:
            return
        nonce = os.urandom(NONCE_SIZE)
        meta = cb_encrypt(
            q.notifier.rcv_ntf_dh_secret,
            nonce,
            short_string(msg.msg_id) + int64(msg.ts),
            NMSG_META_PAD,
        )
        target.push(NO_CORR_ID, q.notifier.notifier_id, NMSG(nonce, meta))

    # ------------------------------------------------------------------ delivery

    def _encrypt_msg(self, q: QueueRecord, m: StoredMessage) -> MSG:
        plain = (
            RcvMsgQuota(m.ts).encode()
            if m.is_quota
            else RcvMsgBody(m.ts, MsgFlags(m.flags_notification), m.body).encode()
        )
        body = cb_encrypt(q.rcv_dh_secret, m.msg_id, plain, ENCRYPTED_MSG_BODY_PAD)
        self.metrics.messages_out += 1
        return MSG(MsgId(m.msg_id), body)

    def try_deliver(self, rid: bytes) -> None:
        """Push the head message to the queue's subscriber if it has nothing in flight."""
        client = self.subscribers.get(rid)
        if client is None:
            return
        sub = client.subs.get(rid)
        if sub is None or sub.prohibit or sub.delivered is not None:
            return
        if client.backlogged:
            # Not pushed past what the client has yet to read: it stays in the store and is
            # tried again when the client's send queue has gone out (a slow but reading
            # client, such as an owner whose many visitors all write at once, is not closed).
            client.deferred.add(rid)
            return
        q = self.store.get_by_recipient(rid)
        head = self.store.peek(rid)
        if q is None or head is None:
            return
        sub.delivered = head.msg_id
        sub.delivered_ts = int(self.clock())
        client.push(NO_CORR_ID, rid, self._encrypt_msg(q, head))

    def _subscribe(self, client: Client, req: ClientRequest, q: QueueRecord) -> list[Reply]:
        rid = q.recipient_id
        sub = client.subs.get(rid)
        if sub is not None and sub.prohibit:
            self.count_error(CMD(CommandError.PROHIBITED))
            return [(req.corr_id, req.entity_id, ERR(CMD(CommandError.PROHIBITED)))]
        if sub is None:
            sub = client.subs[rid] = Sub()
            previous = self.subscribers.get(rid)
            if previous is not None and previous is not client:
                _end_subscription(previous, rid, deleted=False)
            self.subscribers[rid] = client
            self.store.announce_subscription(rid)
        sub.delivered = None
        replies: list[Reply] = [(req.corr_id, req.entity_id, SOK(None))]
        head = self.store.peek(rid)
        if head is not None:
            sub.delivered = head.msg_id
            sub.delivered_ts = int(self.clock())
            replies.append((NO_CORR_ID, req.entity_id, self._encrypt_msg(q, head)))
        return replies

    def _get(self, client: Client, req: ClientRequest, q: QueueRecord) -> list[Reply]:
        rid = q.recipient_id
        sub = client.subs.get(rid)
        if sub is None:
            sub = client.subs[rid] = Sub(prohibit=True)
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
        self, client: Client, req: ClientRequest, cmd: ACK, q: QueueRecord
    ) -> list[Reply]:
        rid = q.recipient_id
        sub = client.subs.get(rid)
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
        if head is None or current is None or client.subs.get(rid) is not sub:
            return [(req.corr_id, req.entity_id, OK())]
        if sub.delivered is not None:  # pragma: no cover - commands of a queue are serialised
            return [(req.corr_id, req.entity_id, OK())]
        sub.delivered = head.msg_id
        sub.delivered_ts = int(self.clock())
        msg = self._encrypt_msg(current, head)
        if self.config.ack_next_as_push or client.version < ACK_OK_THEN_PUSH_BELOW:
            # Same delivery, two transmissions: OK for the ACK, then the message as a push.
            return [(req.corr_id, req.entity_id, OK()), (NO_CORR_ID, req.entity_id, msg)]
        return [(req.corr_id, req.entity_id, msg)]

    # ------------------------------------------------------------------ QUE, NKEY

    def _queue_info(self, client: Client, q: QueueRecord) -> QueueInfo:
        sub = client.subs.get(q.recipient_id)
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

    async def _nkey(
        self, client: Client, req: ClientRequest, cmd: NKEY, q: QueueRecord
    ) -> list[Reply]:
        for _ in range(_ID_ATTEMPTS):
            ntf_dh = KeyPair.generate(KeyAlg.X25519)
            nid = os.urandom(QUEUE_ID_SIZE)
            rec = NotifierRecord(
                nid, cmd.ntf_auth_key.to_der(), dh_box_key(cmd.ntf_dh_key, ntf_dh.private)
            )
            with self._deleting(client, *_notifier_id(q)):
                done = await self.store.set_notifier(q.recipient_id, rec)
            if done:
                if q.notifier is not None:
                    self.end_ntf_subscription(q.notifier.notifier_id, deleted=True, by=client)
                return [(req.corr_id, req.entity_id, NID(EntityId(nid), ntf_dh.public))]
        return [(req.corr_id, req.entity_id, ERR(ErrorType.INTERNAL))]


def _notifier_id(q: QueueRecord) -> tuple[bytes, ...]:
    return () if q.notifier is None else (q.notifier.notifier_id,)


def _end_subscription(client: Client, rid: bytes, deleted: bool) -> None:
    """Another client took the queue (END) or deleted it (DELD)."""
    if client.subs.pop(rid, None) is not None:
        client.push(NO_CORR_ID, rid, DELD() if deleted else END())


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
