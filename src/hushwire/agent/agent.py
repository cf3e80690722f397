"""The agent: end-to-end encrypted duplex connections over SMP queues (the async shell).

Mirrors simplexmq ``Simplex.Messaging.Agent`` for what a website chat needs
(docs/protocol/agent.md): the owner role (a long-lived contact address; every visitor's
``AgentInvitation`` becomes a connection with its own queue pair) and the visitor role (join
a contact address or a one-time invitation), the fast (SKEY) and slow (KEY + HELLO)
handshakes, A_MSG, delivery receipts.

The logic of a connection's handshake is data: :mod:`hushwire.agent.machine` decides, for
each input, the new status and the effects; this module carries them out (relay clients,
per-connection locks, background tasks, the durable store). The encryption layers are
sealed and opened by :mod:`hushwire.agent.sealing`; :mod:`hushwire.agent.outbox` delivers
what is stored for sending.

Theory of operation
-------------------
Every step is *receive -> network preconditions -> commit -> events -> ACK*:

* A message arrives on a queue (``MessageEvent`` of the SMP client) and gets its own task:
  messages of different connections are processed at the same time, those of one connection
  one after the other (its lock, taken in arrival order). The agent decrypts the server
  layer, the per-queue e2e layer and, for a connection, the double ratchet (kept live in
  memory; its JSON is written with every step). Network preconditions of the step (KEY of
  our own queue, SKEY of the peer's, NEW of a reply queue; SKEY and NEW together) run before
  the commit and are idempotent or recorded as they complete, so a step interrupted by a
  crash is simply repeated when the relay delivers the message again.
* The new connection state (ratchet included), the received message and anything to send
  are written in one transaction, and the task waits for the store's next group commit
  (:meth:`AgentStore.durable`, shared by every connection's steps). Only then are the events
  handed to the application and the message acknowledged to the relay; a message delivered
  again after a lost ACK is recognised by its hash and only acknowledged.
* Outgoing messages are encrypted once, stored, and sent in order by a per-connection
  delivery task that retries on network errors and after restarts, and never sends what is
  not committed yet; a repeated send carries the same ratchet message, which the peer's
  ratchet recognises as a duplicate.
* A relay's ``END`` (another client subscribed one of our queues) or ``DELD`` (deleted it)
  becomes :class:`SubscriptionEnded` / :class:`QueueDeleted`; the subscription is dropped and
  not renewed by the agent itself, so two holders of the same keys never fight over a queue
  (simplexmq ``processSMPTransmission``). :meth:`Agent.start` or :meth:`Agent.resubscribe`
  take it back when the application decides to.

Message numbering and the hash chain follow simplexmq ``Simplex.Messaging.Agent.Protocol``:
each side's confirmation is message 1, later messages carry ``sndMsgId`` and the SHA-256 of
the previous AgentMessage. The states of a connection are listed in
:mod:`hushwire.agent.machine`.

This module is over 800 lines because it is one thing: the single async shell that carries out
every effect of the table, for both roles, against the relay clients and the store; each
method is one step of the handshake or of the message flow, and none holds a decision of its
own that the table does not make.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hushwire.agent import machine, resync, rotation, sealing
from hushwire.agent.keypool import KeyPool, settle
from hushwire.agent.links import ConnectionRequest, SMPQueueUri, parse_link
from hushwire.agent.machine import Action, ConnStatus, SndKind, step
from hushwire.agent.outbox import Outbox
from hushwire.agent.protocol import (
    A_MSG,
    A_RCVD,
    AGENT_VERSIONS,
    DELIVERY_RCPTS_SMPA_VERSION,
    DUPLEX_HANDSHAKE_SMPA_VERSION,
    EREADY,
    HELLO,
    SMP_CLIENT_VERSIONS,
    AgentConfirmation,
    AgentConnInfo,
    AgentConnInfoReply,
    AgentInvitation,
    AgentMessage,
    AgentMsgEnvelope,
    AgentRatchetKey,
    AMessageReceipt,
    APrivHeader,
    ClientMessage,
    ClientMsgEnvelope,
    PHConfirmation,
    PHEmpty,
    PrivHeader,
    QueueMessage,
    SMPQueueInfo,
    agent_message_hash,
    parse_agent_envelope,
    parse_agent_message,
)
from hushwire.agent.ratchet import (
    E2E_VERSIONS,
    E2ERatchetParams,
    E2ERatchetParamsUri,
    Ratchet,
    RatchetDuplicate,
    RatchetError,
)
from hushwire.agent.routing import RoutingSettings
from hushwire.agent.sealing import key_pair
from hushwire.agent.shortlink_client import (
    CreatedLink,
    create_queue_with_link,
    resolve_link_text,
    update_user_data,
)
from hushwire.agent.shortlinks import (
    ContactLinkData,
    InvitationLinkData,
    ShortLink,
    contact_link_kdf,
    parse_any_link,
)
from hushwire.agent.store import (
    AgentStore,
    ConnState,
    RcvQueueState,
    SndMessage,
    SndQueueState,
)
from hushwire.client import (
    ClientConfig,
    MessageEvent,
    Reconnected,
    SMPClientError,
    SMPCommandError,
    decrypt_message_with_key,
)
from hushwire.client.client import SMPClient
from hushwire.client.events import QueueLost as ClientQueueLost
from hushwire.client.events import SubscriptionEnded as ClientSubscriptionEnded
from hushwire.client.reconnect import ReconnectingClient
from hushwire.crypto.kdf import sha256
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.crypto.nacl import dh_box_key
from hushwire.encoding.strings import b64url_encode
from hushwire.errors import CryptoError, DecodeError, HushwireError
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import MSG, QueueMode
from hushwire.smp.errors import ErrorType
from hushwire.smp.msgbody import RcvMsgQuota
from hushwire.smp.version import SHORT_LINKS_VERSION, VersionRange, compatible

log = logging.getLogger("hushwire.agent")

SEEN_HASHES = 64
"""Recent received message hashes kept per connection to recognise redeliveries."""
PARSED_LINKS = 64
"""Invitation links kept parsed between a visitor's request and our confirmation."""
RATCHET_KEY_HASHES = 16
"""Hashes of the peer's processed AgentRatchetKey keys kept per connection."""


class AgentError(HushwireError):
    """A request to the agent that cannot be done; the message says why."""


class _OldQueueFirst(HushwireError):
    """A message on a rotation's new queue follows a gap while the old queue may still hold
    the missing ones: it is not processed now (and not acknowledged), so the relay delivers
    it again after the old queue's messages."""


OLD_QUEUE_WAITS = 5
"""How many times a message on a new queue waits for the old queue's messages before it is
taken with its gap (after a re-sync a gap of one id is normal)."""


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """An event about one connection of the agent."""

    conn_id: str


@dataclass(frozen=True, slots=True)
class PeerInfoEvent(ConnectionEvent):
    """An event that hands over the peer's connInfo (its profile)."""

    info: bytes


@dataclass(frozen=True, slots=True)
class ConnectionRequested(PeerInfoEvent):
    """A visitor asked to connect through our contact address (``info`` is their connInfo)."""


@dataclass(frozen=True, slots=True)
class ConnectionEstablished(PeerInfoEvent):
    """Both sides can now send; ``info`` is the peer's connInfo (its profile)."""


@dataclass(frozen=True, slots=True)
class MessageReceived(ConnectionEvent):
    """A message from the peer. Call :meth:`Agent.ack_message` once it is safe elsewhere."""

    msg_id: int
    body: bytes
    integrity: str
    """``ok``, or what was wrong with the hash chain (``skipped N``, ``bad hash``...)."""


@dataclass(frozen=True, slots=True)
class MessageSent(ConnectionEvent):
    """The relay took our message ``snd_id``."""

    snd_id: int


@dataclass(frozen=True, slots=True)
class ReceiptReceived(ConnectionEvent):
    """The peer's agent got our message ``snd_id``; ``ok`` if its hash matched."""

    snd_id: int
    ok: bool


@dataclass(frozen=True, slots=True)
class ConnectionDeleted(ConnectionEvent):
    """The connection and everything stored for it are gone."""


@dataclass(frozen=True, slots=True)
class AgentProblem:
    """Something went wrong that the application may want to show or log."""

    conn_id: str | None
    message: str


@dataclass(frozen=True, slots=True)
class QueueLost(ConnectionEvent):
    """The relay at ``server`` (its address) no longer delivers one of the connection's
    queues to this agent: the subscription is dropped and not renewed by the agent."""

    server: str


@dataclass(frozen=True, slots=True)
class SubscriptionEnded(QueueLost):
    """The relay sent ``END``: another client subscribed to one of this connection's
    queues (the same keys in another process or on another machine), so this agent gets no
    more of its messages.

    The rule, as simplexmq ``Simplex.Messaging.Agent`` (``processSMPTransmission``) has it:
    the subscription is dropped and the application is told; the agent does *not* subscribe
    again by itself, neither now nor when its relay connection is re-established, so two
    agents never steal the queue back and forth. An ``END`` that arrives on a relay
    connection which is no longer the current one (the queue is subscribed on the new one)
    is ignored. The queue is subscribed again only when the application decides it: at the
    next :meth:`Agent.start` (a restart takes the queue back, and the other subscriber gets
    the ``END``) or with :meth:`Agent.resubscribe`. ``server`` is the relay's address.
    """


@dataclass(frozen=True, slots=True)
class QueueDeleted(QueueLost):
    """The relay sent ``DELD``: one of this connection's queues was deleted by another
    client holding its keys. Like ``END`` the subscription is dropped and not renewed
    (simplexmq notifies ``DELD`` the same way); the connection cannot receive any more."""


@dataclass(frozen=True, slots=True)
class RatchetSyncChanged(ConnectionEvent):
    """The connection's ratchet synchronisation state changed (simplexmq ``RSYNC``).

    ``state`` is ``allowed`` or ``required`` after a message could not be decrypted
    (``error`` names why, as simplexmq ``AgentCryptoError`` does: ``RATCHET_HEADER``...; that
    message is lost, and the next message's integrity says how many were skipped); then
    :meth:`Agent.synchronize_ratchet` may start a re-sync (``started``); ``agreed`` when both
    sides have a new ratchet, and ``ok`` at the first message it decrypts. While ``required``,
    ``started`` or ``agreed`` the connection refuses to send."""

    state: str
    error: str | None


@dataclass(frozen=True, slots=True)
class QueueSwitchChanged(ConnectionEvent):
    """A queue rotation went one step further (simplexmq ``SWITCH``).

    ``direction`` ``snd``: the peer moves the queue we send to (its QADD, ``started``; our
    QKEY sent, ``confirmed``; its QUSE, ``secured``; our QTEST sent and every later message
    on the new queue, ``completed``). ``rcv``: we move our receive queue
    (:meth:`Agent.switch_connection`; ``started``, ``confirmed`` and ``secured`` at the
    peer's QKEY, ``completed`` at its first message on the new queue, when the old one is
    deleted)."""

    direction: str
    phase: str


AgentEvent = (
    ConnectionRequested
    | ConnectionEstablished
    | MessageReceived
    | MessageSent
    | ReceiptReceived
    | ConnectionDeleted
    | AgentProblem
    | SubscriptionEnded
    | QueueDeleted
    | RatchetSyncChanged
    | QueueSwitchChanged
)


_REFUSALS = {
    "no_keys": "the first confirmation carries the ratchet keys",
    "e2e_version": "e2e encryption version {version} is not supported",
    "early_confirmation": "a confirmation before we confirmed",
    "not_established": "the connection is not established yet",
    "not_requested": "this connection is not waiting to be accepted",
    "illegal": "not possible in status {status}",
    "sync_not_allowed": "the ratchet is not out of step (state {status}); use force",
    "ratchet_sync": "a second ratchet key after the agreement: re-synchronise again",
    "ratchet_not_synced": "the connection's encryption is out of step: re-synchronise first",
    "switching": "the connection is already changing its receiving relay",
    "queue_version": "queue rotation: no common version with the new queue's address",
    "queue_in_use": "queue rotation: the new queue is already used by the connection",
    "queue_not_found": "queue rotation: the queue is not in the connection",
    "switch_state": "queue rotation: not expected in rotation status {status}",
}


def _refused(t: machine.Transition, exc: type[HushwireError], **facts: Any) -> None:
    """Raise ``exc`` if the transition refuses its input."""
    for e in t.effects:
        if isinstance(e, machine.Refuse):
            raise exc(_REFUSALS[e.reason].format(status=t.status, **facts))


def _fast(st: ConnState) -> bool:
    """Our send queue is in messaging mode (we secure it with SKEY: the fast handshake)."""
    return st.snd is not None and st.snd.mode == "M"


class Agent:
    """One agent: its store, its relay connections and its connections."""

    def __init__(
        self,
        data_dir: Path,
        server: SMPServer,
        *,
        ws_url: str | None = None,
        passphrase: str | None = None,
        client_config: ClientConfig | None = None,
        auto_accept: bool = True,
        clock: Callable[[], float] = time.time,
        routing: RoutingSettings | None = None,
    ) -> None:
        """``routing``: private message routing (docs/agent.md); by default nothing is
        proxied."""
        self.data_dir = data_dir
        self.server = server
        self.ws_url = ws_url
        self.config = client_config or ClientConfig()
        self.auto_accept = auto_accept
        self.clock = clock
        self.store = AgentStore(data_dir / "agent.sqlite3", passphrase)
        self.events: asyncio.Queue[AgentEvent] = asyncio.Queue()
        self._clients: dict[str, ReconnectingClient] = {}
        self._consumers: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._outbox = Outbox(
            self.store,
            self._client,
            lambda conn_id, m: self._after_sent(conn_id, m),
            self._report,
            key_pair=self._key_pair,
            routing=routing,
            own=server,
        )
        self._locks: dict[str, asyncio.Lock] = {}
        self._queue_keys: dict[bytes, bytes] = {}
        self._ratchets: dict[str, tuple[bytes, Ratchet]] = {}
        """conn_id -> (stored ratchet JSON, the Ratchet it holds): the live ratchet stays in
        memory; the JSON is its write-ahead copy (valid while it equals the stored one)."""
        self._keys: dict[bytes, KeyPair] = {}
        """Stored private key (DER) -> key pair, so signing does not re-derive the public key
        and a key made here is not parsed again (:meth:`_new_key`)."""
        self._pool = KeyPool()
        """Key pairs made while the agent waits for a relay (:mod:`hushwire.agent.keypool`)."""
        self._links: dict[str, ConnectionRequest] = {}
        """Invitation link -> the parsed link, until our confirmation (:meth:`_invitation`)."""
        self._boxes: dict[tuple[bytes, bytes], tuple[bytes, PublicKey]] = {}
        """(peer dh= key, our e2e key) -> (the per-queue box key, our public key)."""
        self._old_queue_waits: dict[bytes, int] = {}
        """Rotation: how often a message on a new queue waited for the old one's."""
        self._started = False
        self._closing = False
        self._reply_mode = "M"
        """Mode of the reply queues we make: ``M`` lets the peer secure them (SKEY, the
        fast handshake); ``C`` makes peers take the slow KEY + HELLO path (tests use it)."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect to the relay, subscribe every queue, resume unfinished work."""
        self._started = True
        self.store.defer_commits()
        states = self.store.all_connections()
        # Messages stored but not yet taken by the application are handed over first,
        # before subscribing lets new ones in (so none is handed over twice).
        for msg in self.store.unacked_rcv_messages():
            await self.events.put(MessageReceived(msg.conn_id, msg.id, msg.body, msg.integrity))
        await self._client(self.server)
        by_server: dict[str, list[RcvQueueState]] = {}
        for st in states:
            for q in st.rcv:
                by_server.setdefault(q.server, []).append(q)
        for srv, queues in by_server.items():
            rc = await self._client(SMPServer.parse(srv))
            results = await asyncio.gather(
                *(rc.subscribe(q.rcv_id, self._key_pair(q.rcv_auth_key)) for q in queues),
                return_exceptions=True,
            )
            for r in results:
                if isinstance(r, SMPCommandError):
                    log.warning("a queue is gone from the relay: %s", r.error)
                elif isinstance(r, BaseException):
                    raise r
        for st in states:
            self._continue(st.conn_id, st.status)
            self._kick(st.conn_id)

    async def stop(self) -> None:
        self._closing = True
        self._outbox.closing = True
        tasks = [*self._outbox.tasks(), *self._consumers, *self._tasks]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for rc in self._clients.values():
            await rc.close()
        self._clients.clear()
        self.store.close()

    async def __aenter__(self) -> Agent:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _now(self) -> int:
        return int(self.clock())

    def _lock(self, conn_id: str) -> asyncio.Lock:
        lock = self._locks.get(conn_id)
        if lock is None:
            lock = self._locks[conn_id] = asyncio.Lock()
        return lock

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        task.add_done_callback(self._task_done)
        self._tasks.add(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("agent: a background step failed", exc_info=task.exception())
            self.events.put_nowait(AgentProblem(None, f"internal error: {task.exception()}"))

    def _continue(self, conn_id: str, status: str) -> None:
        """Go on with the handshake step of a connection in ``status``, in the background."""
        if machine.continuation(status) is not None:
            self._spawn(self._handshake_step(conn_id))

    def _kick(self, conn_id: str) -> None:
        self._outbox.kick(conn_id)

    async def _report(self, conn_id: str, message: str) -> None:
        await self.events.put(AgentProblem(conn_id, message))

    # ------------------------------------------------------------------ relays

    def _linked_queue(self, created: CreatedLink, mode: str) -> RcvQueueState:
        """The receive queue a queue created with link data becomes (its keys as DER)."""
        return RcvQueueState(
            self._server_key(self.server),
            created.rcv_id,
            created.sender_id,
            created.rcv_auth.private.to_der(),
            created.rcv_dh.private.to_der(),
            created.srv_dh_key.to_der(),
            created.e2e_dh.private.to_der(),
            mode,
        )

    def _server_key(self, server: SMPServer) -> str:
        """Servers are identified by key hash: a link naming our relay's identity on
        another host or port (simplex-js writes 5223 regardless) uses our transport."""
        if server.key_hash == self.server.key_hash:
            return self.server.encode()
        return server.encode()

    async def _client(self, server: SMPServer) -> ReconnectingClient:
        key = self._server_key(server)
        rc = self._clients.get(key)
        if rc is not None:
            return rc
        own = key == self.server.encode()
        rc = ReconnectingClient(
            self.server if own else server,
            ws_url=self.ws_url if own else None,
            config=self.config,
        )
        self._clients[key] = rc
        delay = 0.5
        while True:
            try:
                await rc.start()
                break
            except SMPClientError as e:
                if self._closing:
                    raise
                log.warning("cannot reach %s (%s); retrying", server.hosts[0], e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self._consumers.append(asyncio.create_task(self._consume(key, rc)))
        return rc

    async def _consume(self, server: str, rc: ReconnectingClient) -> None:
        """Hand every message to its own task: different connections' messages are
        processed concurrently (their commits share group commits), one connection's in
        order (its lock is taken in arrival order; the relay sends a queue's next message
        only after the ACK of the one before)."""
        while True:
            ev = await rc.events.get()
            try:
                if isinstance(ev, MessageEvent):
                    task = asyncio.create_task(
                        self._handle(server, rc, bytes(ev.recipient_id), ev.msg)
                    )
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                elif isinstance(ev, Reconnected):
                    self._outbox.kick_pending()
                elif isinstance(ev, ClientQueueLost):
                    await self._subscription_lost(server, rc, ev)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # keep consuming; one bad message must not stop the agent
                log.exception("agent: failed to process an event")
                await self.events.put(AgentProblem(None, f"internal error: {e}"))

    async def _subscription_lost(
        self,
        server: str,
        rc: ReconnectingClient,
        ev: ClientQueueLost,
    ) -> None:
        """``END`` / ``DELD``: the SMP client already dropped the subscription (so a
        reconnect does not renew it); tell the application. See :class:`SubscriptionEnded`
        for the rule."""
        rid = bytes(ev.recipient_id)
        conn_id = self.store.conn_for_queue(server, rid)
        if conn_id is None:
            log.info("END/DELD for an unknown queue on %s", server)
            return
        ended = isinstance(ev, ClientSubscriptionEnded)
        if ended and rc.connected and ev.recipient_id in rc.client.subscriptions:
            # From a relay connection that is gone: the current one holds the subscription.
            log.info("%s: END from a previous connection to %s ignored", conn_id[:8], server)
            return
        if ended:
            log.warning(
                "%s: the relay %s ended this queue's subscription: another client subscribed "
                "to it (the same keys elsewhere); not subscribing again",
                conn_id[:8],
                server,
            )
            await self.events.put(SubscriptionEnded(conn_id, server))
        else:
            log.warning("%s: a queue of this connection was deleted on %s", conn_id[:8], server)
            await self.events.put(QueueDeleted(conn_id, server))

    async def resubscribe(self, conn_id: str) -> None:
        """Subscribe the connection's queues again (after :class:`SubscriptionEnded`, when
        the application decides to take them back; the other subscriber then gets ``END``).
        Raises :class:`SMPCommandError` if the relay refuses (the queue is gone)."""
        st = self._load(conn_id)
        for q in st.rcv:
            rc = await self._client(SMPServer.parse(q.server))
            await rc.subscribe(q.rcv_id, self._key_pair(q.rcv_auth_key))

    async def _handle(self, server: str, rc: ReconnectingClient, rid: bytes, msg: MSG) -> None:
        try:
            await self._on_message(server, rc, rid, msg)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # one bad message must not stop the agent
            log.exception("agent: failed to process an event")
            await self.events.put(AgentProblem(None, f"internal error: {e}"))

    # ------------------------------------------------------------------ public API

    def address(self) -> str | None:
        """The contact address link, if one was made."""
        for st in self.store.all_connections():
            if st.kind == "contact":
                return st.link
        return None

    def short_address(self) -> str | None:
        """The contact address's short link (``https://<relay>/a#<key>...``), if it has one:
        None before :meth:`create_address`, and for an address made before short links or on
        a relay older than SMP v15 (its full link still works)."""
        for st in self.store.all_connections():
            if st.kind == "contact":
                return st.short_link or None
        return None

    async def create_address(
        self, conn_info: bytes, *, link_data: bytes = b"", client_data: str | None = None
    ) -> tuple[str, str]:
        """Make (or return the existing) long-lived contact address: ``(conn_id, link)``.

        ``conn_info`` (the owner's profile as a chat message) is sent to every visitor.
        On a relay speaking SMP v15 or later the address also gets a short link
        (:meth:`short_address`) whose user data is ``link_data`` (simplex-chat's
        ``ContactShortLinkData``: the profile JSON apps show before joining); a changed
        ``link_data`` is published again (``LSET``). ``client_data`` goes into a new
        address's full request (``data=``, e.g. a group link's), which the short link commits
        to. ``link`` is always the full link.
        """
        for st in self.store.all_connections():
            if st.kind == "contact":
                changed = st.own_info != conn_info
                st.own_info = conn_info
                if st.short_link and st.link_data != link_data:
                    try:
                        await self._update_link_data(st, link_data)
                        changed = True
                    except SMPClientError as e:  # the address works; retried next time
                        log.warning("could not update the short link's profile: %s", e)
                if changed:
                    self.store.save(st, self._now())
                    await self.store.durable()
                return st.conn_id, st.link
        conn_id = str(uuid.uuid4())
        st = ConnState(
            conn_id,
            "contact",
            "joiner",
            ConnStatus.ACTIVE,
            own_info=conn_info,
            created_at=self._now(),
        )
        rc = await self._client(self.server)
        client = await rc.wait_connected()
        if client.version >= SHORT_LINKS_VERSION:
            created = await create_queue_with_link(
                client,
                lambda queue: self._contact_request(queue, client_data),
                ContactLinkData(AGENT_VERSIONS, link_data),
                e2e_dh=self._key_pair(self._new_key(KeyAlg.X25519)),
            )
            q = self._linked_queue(created, "C")
            _keep_link(st, created)
            st.link_data = link_data
            st.rcv.append(q)
            st.link = created.conn_request.to_uri()
        else:
            q = await self._new_queue(self.server, mode="C")
            st.rcv.append(q)
            st.link = self._contact_request(self._queue_uri(q), client_data).to_uri()
        self.store.save(st, self._now())
        await self.store.durable()
        return conn_id, st.link

    @staticmethod
    def _contact_request(queue: SMPQueueUri, client_data: str | None) -> ConnectionRequest:
        """The contact address's full request (the same with or without a short link)."""
        return ConnectionRequest(
            "contact",
            VersionRange(DUPLEX_HANDSHAKE_SMPA_VERSION, AGENT_VERSIONS.max),
            (queue,),
            None,
            client_data,
        )

    def _created_link(self, st: ConnState) -> CreatedLink:
        """What :mod:`hushwire.agent.shortlink_client` needs to update the address's link
        data, rebuilt from the store."""
        q = st.rcv[0]
        link = ShortLink.parse(st.short_link)
        _, box_key = contact_link_kdf(link.link_key)
        return CreatedLink(
            link,
            parse_link(st.link),
            q.rcv_id,
            q.snd_id,
            st.link_id,
            PublicKey.from_der(q.srv_dh_key),
            self._key_pair(q.rcv_auth_key),
            self._key_pair(q.rcv_dh_key),
            self._key_pair(q.e2e_key),
            PrivateKey.from_der(st.link_root_key),
            box_key,
            st.link_enc_fixed,
        )

    async def _update_link_data(self, st: ConnState, link_data: bytes) -> None:
        """``LSET`` the address's new user data (the short link itself does not change)."""
        rc = await self._client(SMPServer.parse(st.rcv[0].server))
        client = await rc.wait_connected()
        user = ContactLinkData(AGENT_VERSIONS, link_data)
        await update_user_data(client, self._created_link(st), user)
        st.link_data = link_data

    async def _link_sender_key(self, link: ShortLink) -> bytes:
        """The sender key for ``LKEY`` of an invitation short link: made and committed before
        ``LKEY`` secures the queue with it, so a retry (after a lost answer or a crash) sends
        the same key, which the relay accepts again."""
        assert link.link_id is not None
        name = "link_sender_key:" + b64url_encode(link.link_id)
        der = self.store.get_setting(name)
        if der is None:
            der = self._new_key(KeyAlg.ED25519)
            self.store.set_setting(name, der)
            await self.store.durable()
        return der

    async def _resolve_short(self, text: str, sender_key: bytes | None) -> ConnectionRequest:
        """The full request behind a short link, verified: ``LGET`` for a contact link,
        ``LKEY sender_key`` (which secures the queue) for a one-time invitation."""

        async def client_for(server: SMPServer) -> SMPClient:
            rc = await self._client(server)
            return await rc.wait_connected()

        key = None if sender_key is None else self._key_pair(sender_key)
        try:
            resolved = await resolve_link_text(client_for, text, sender_key=key)
        except SMPCommandError as e:
            if e.error == ErrorType.AUTH:
                raise AgentError("this short link is unknown to its relay (deleted?)") from None
            raise
        return resolved.conn_request

    async def join(self, link: str, conn_info: bytes) -> str:
        """machine.Join a contact address or a one-time invitation as its visitor; returns conn_id.

        :class:`ConnectionEstablished` follows once the owner has accepted.
        """
        parsed = parse_any_link(link)
        sender_key: bytes | None = None
        if isinstance(parsed, ShortLink):
            if parsed.is_invitation:
                sender_key = await self._link_sender_key(parsed)
            req = await self._resolve_short(link, sender_key)
        else:
            req = parsed
        if req.mode == "invitation":
            if sender_key is not None:
                return await self._join_invitation(req, conn_info, sender_key=sender_key)
            return await self._join_invitation(req, conn_info)
        target = req.queues[0]
        agent_v = compatible(AGENT_VERSIONS, req.agent_versions)
        if agent_v is None:
            raise AgentError("this address needs a newer version of the SimpleX agent")
        conn_id = str(uuid.uuid4())
        own_server = target.server if target.server.key_hash == self.server.key_hash else None
        st = ConnState(
            conn_id,
            "duplex",
            "initiator",
            ConnStatus.JOINING,
            agent_version=agent_v,
            own_info=conn_info,
            created_at=self._now(),
        )

        def prepare() -> None:
            """What does not need our new queue, made while NEW is under way."""
            x448 = self._new_key(KeyAlg.X448, now=True), self._new_key(KeyAlg.X448, now=True)
            st.x3dh_keys = x448
            st.snd = self._snd_queue(target, mode="C")
            self._queue_box(st.snd)

        try:
            new = self._new_queue(own_server or self.server, mode="M")
            q = await self._pool.fill_while(new, prepare)
        except BaseException:
            self._forget_secrets(st)
            raise
        assert st.x3dh_keys is not None
        k1, k2 = st.x3dh_keys
        st.rcv.append(q)
        t = step(st.role, st.status, machine.Join())
        _refused(t, AgentError)
        body = b""
        for e in t.effects:
            if e is Action.SEND_INVITATION:
                e2e = E2ERatchetParamsUri(E2E_VERSIONS, self._public(k1), self._public(k2))
                invitation = ConnectionRequest(
                    "invitation", AGENT_VERSIONS, (self._queue_uri(q),), e2e, None
                ).to_uri()
                inv = AgentInvitation(agent_v, invitation.encode(), conn_info).encode()
                body = self._seal_for_queue(
                    st.snd, ClientMessage(PHEmpty(), inv).encode(), first=True
                )
        with self.store.transaction():
            st.status = t.status
            self.store.save(st, self._now())
            self.store.add_snd_message(
                SndMessage(conn_id, 0, SndKind.INVITATION, b"", body, "pending", None),
                self._now(),
            )
        self._kick(conn_id)
        await self.store.durable()
        return conn_id

    async def create_short_invitation(
        self, conn_info: bytes, *, link_data: bytes = b""
    ) -> tuple[str, str, str]:
        """A one-time invitation with a short link (SMP v15+ relays): ``(conn_id, link,
        short_link)``. The joiner's ``LKEY`` secures the queue; ``link_data`` is the user
        data apps show before joining. :class:`AgentError` on an older relay."""
        rc = await self._client(self.server)
        client = await rc.wait_connected()
        if client.version < SHORT_LINKS_VERSION:
            raise AgentError("the relay is too old for short links (SMP v15 or later)")
        conn_id = str(uuid.uuid4())
        k1, k2 = self._new_key(KeyAlg.X448), self._new_key(KeyAlg.X448)
        e2e = E2ERatchetParamsUri(E2E_VERSIONS, self._public(k1), self._public(k2))
        created = await create_queue_with_link(
            client,
            lambda queue: ConnectionRequest("invitation", AGENT_VERSIONS, (queue,), e2e, None),
            InvitationLinkData(AGENT_VERSIONS, link_data),
        )
        st = ConnState(
            conn_id,
            "duplex",
            "initiator",
            ConnStatus.INVITED,
            agent_version=AGENT_VERSIONS.max,
            x3dh_keys=(k1, k2),
            own_info=conn_info,
            created_at=self._now(),
            link=created.conn_request.to_uri(),
            link_data=link_data,
        )
        _keep_link(st, created)
        st.rcv.append(self._linked_queue(created, "M"))
        self.store.save(st, self._now())
        await self.store.durable()
        return conn_id, st.link, st.short_link

    async def create_invitation(self, conn_info: bytes) -> tuple[str, str]:
        """A one-time invitation link (Flow B): ``(conn_id, link)``."""
        conn_id = str(uuid.uuid4())
        q = await self._new_queue(self.server, mode="M")
        k1, k2 = self._new_key(KeyAlg.X448), self._new_key(KeyAlg.X448)
        st = ConnState(
            conn_id,
            "duplex",
            "initiator",
            ConnStatus.INVITED,
            agent_version=AGENT_VERSIONS.max,
            x3dh_keys=(k1, k2),
            own_info=conn_info,
            created_at=self._now(),
        )
        st.rcv.append(q)
        e2e = E2ERatchetParamsUri(E2E_VERSIONS, self._public(k1), self._public(k2))
        st.link = ConnectionRequest(
            "invitation", AGENT_VERSIONS, (self._queue_uri(q),), e2e, None
        ).to_uri()
        self.store.save(st, self._now())
        await self.store.durable()
        return conn_id, st.link

    async def accept(self, conn_id: str, conn_info: bytes | None = None) -> None:
        """machine.Accept a visitor's request (automatic unless ``auto_accept=False``)."""
        async with self._lock(conn_id):
            st = self._load(conn_id)
            t = step(st.role, st.status, machine.Accept())
            _refused(t, AgentError)
            if conn_info is not None:
                st.own_info = conn_info
            st.status = t.status
            self.store.save(st, self._now())
        await self.store.durable()
        if Action.CONTINUE in t.effects:
            await self._handshake_step(conn_id)

    async def send(self, conn_id: str, body: bytes) -> int:
        """Send an application message (A_MSG); returns its id for receipts."""
        async with self._lock(conn_id):
            st = self._load(conn_id)
            t = step(st.role, st.status, machine.UserSend(_fast(st), st.last_snd_id))
            _refused(t, AgentError)
            if machine.sync_send_prohibited(st.ratchet_sync):
                raise AgentError(
                    f"the connection's encryption is out of step ({st.ratchet_sync}): "
                    "it must be re-synchronised first"
                )
            snd_id = self._enqueue(st, A_MSG(body), SndKind.MSG)
        self._kick(conn_id)
        await self.store.durable()
        return snd_id

    async def ack_message(self, msg_id: int, *, receipt: bool = True) -> None:
        """The application has stored message ``msg_id``; optionally send a receipt.

        Returns once the ack is committed (a killed process does not hand the message over
        again), without waiting for the log sync: only a power loss in the next few
        milliseconds hands it over again, as a crash between storing it and this call does.
        The receipt itself is sent only once it is on disk (the outbox waits for that)."""
        msg = self.store.rcv_message(msg_id)
        if msg is None:
            return
        async with self._lock(msg.conn_id):
            st = self.store.load(msg.conn_id)
            with self.store.transaction():
                self.store.ack_rcv_message(msg_id)
                if (
                    receipt
                    and st is not None
                    and st.agent_version >= DELIVERY_RCPTS_SMPA_VERSION
                    and not machine.sync_send_prohibited(st.ratchet_sync)
                ):
                    self._enqueue(
                        st,
                        A_RCVD((AMessageReceipt(msg.peer_snd_id, msg.msg_hash, b""),)),
                        SndKind.RECEIPT,
                    )
        self._kick(msg.conn_id)
        await self.store.committed()

    async def delete(self, conn_id: str) -> None:
        """Delete the connection: its queues on the relay and everything stored about it."""
        async with self._lock(conn_id):
            st = self.store.load(conn_id)
            if st is None:
                return
            self._outbox.cancel(conn_id)
            for q in st.rcv:
                with contextlib.suppress(SMPClientError):
                    rc = await self._client(SMPServer.parse(q.server))
                    await rc.delete(q.rcv_id, self._key_pair(q.rcv_auth_key))
            self.store.delete_connection(conn_id)
            self._forget_secrets(st)
        await self.store.durable()
        await self.events.put(ConnectionDeleted(conn_id))

    def connection(self, conn_id: str) -> ConnState | None:
        return self.store.load(conn_id)

    def _load(self, conn_id: str) -> ConnState:
        st = self.store.load(conn_id)
        if st is None:
            raise AgentError(f"no connection {conn_id}")
        return st

    # ------------------------------------------------------------------ queues

    async def _new_queue(self, server: SMPServer, *, mode: str) -> RcvQueueState:
        rc = await self._client(server)
        auth, dh = self._new_key(KeyAlg.ED25519), self._new_key(KeyAlg.X25519)
        e2e = self._new_key(KeyAlg.X25519)
        try:
            ids = await rc.create_queue(
                self._key_pair(auth), self._key_pair(dh), subscribe=True, messaging=mode == "M"
            )
        except BaseException:
            for der in (auth, dh, e2e):
                self._keys.pop(der, None)
            raise
        return RcvQueueState(
            self._server_key(server),
            bytes(ids.rcv_id),
            bytes(ids.snd_id),
            auth,
            dh,
            ids.srv_dh_key.to_der(),
            e2e,
            mode,
        )

    def _snd_queue(
        self, target: SMPQueueUri | SMPQueueInfo, mode: str | None = None
    ) -> SndQueueState:
        """The peer's queue we will send to, with fresh sender and per-queue keys."""
        if mode is None:
            mode = "M" if target.queue_mode is QueueMode.MESSAGING else "C"
        return SndQueueState(
            self._server_key(target.server),
            target.sender_id,
            target.dh_public_key.to_der(),
            mode,
            self._new_key(KeyAlg.ED25519),
            self._new_key(KeyAlg.X25519),
        )

    def _queue_uri(self, q: RcvQueueState) -> SMPQueueUri:
        server = SMPServer.parse(q.server)
        return SMPQueueUri(
            SMP_CLIENT_VERSIONS,
            replace(server, basic_auth=None),
            q.snd_id,
            self._public(q.e2e_key),
            QueueMode.MESSAGING if q.mode == "M" else QueueMode.CONTACT,
        )

    def _queue_info(self, q: RcvQueueState) -> SMPQueueInfo:
        server = SMPServer.parse(q.server)
        return SMPQueueInfo(
            SMP_CLIENT_VERSIONS.max,
            replace(server, basic_auth=None),
            q.snd_id,
            self._public(q.e2e_key),
            QueueMode.MESSAGING if q.mode == "M" else QueueMode.CONTACT,
        )

    def _queue_box_key(self, q: RcvQueueState) -> bytes:
        key = self._queue_keys.get(q.rcv_id)
        if key is None:
            key = dh_box_key(PublicKey.from_der(q.srv_dh_key), self._take_private(q.rcv_dh_key))
            self._queue_keys[q.rcv_id] = key
        return key

    # ------------------------------------------------------------------ sealing

    def _seal_for_queue(
        self, snd: SndQueueState | None, client_message: bytes, *, first: bool
    ) -> bytes:
        """The per-queue e2e layer for ``snd`` (the first message carries our key)."""
        assert snd is not None
        box = self._queue_box(snd)
        return sealing.seal_client_message_with_key(
            box[0], box[1] if first else None, client_message, random_bytes=os.urandom
        )

    def _queue_box(self, snd: SndQueueState) -> tuple[bytes, PublicKey]:
        """The per-queue box key for ``snd`` and our public key (computed once)."""
        box = self._boxes.get((snd.peer_e2e_key, snd.own_e2e_key))
        if box is None:
            own = self._take_private(snd.own_e2e_key)
            shared = dh_box_key(PublicKey.from_der(snd.peer_e2e_key), own)
            box = self._boxes[(snd.peer_e2e_key, snd.own_e2e_key)] = (shared, own.public())
        return box

    def _forget_secrets(self, st: ConnState) -> None:
        """Drop what memory holds of a deleted connection's keys and ratchet."""
        self._ratchets.pop(st.conn_id, None)
        for q in st.rcv:
            for der in (q.rcv_auth_key, q.rcv_dh_key, q.e2e_key):
                self._keys.pop(der, None)
            self._queue_keys.pop(q.rcv_id, None)
        for snd in (st.snd, st.snd_next):
            if snd is not None:
                for der in (snd.snd_auth_key, snd.own_e2e_key):
                    self._keys.pop(der, None)
                self._boxes.pop((snd.peer_e2e_key, snd.own_e2e_key), None)
        for der in st.x3dh_keys or ():
            self._keys.pop(der, None)

    def _key_pair(self, private_der: bytes) -> KeyPair:
        pair = self._keys.get(private_der)
        if pair is None:
            pair = self._keys[private_der] = key_pair(private_der)
        return pair

    def _new_key(self, alg: KeyAlg, *, now: bool = False) -> bytes:
        """A fresh private key as the store keeps it (PKCS#8 DER), from the pool or, with
        ``now`` (work done while a round trip is under way anyway), made now. Its parsed form
        stays in memory (:meth:`_key_pair`): parsing an X448 key again costs a scalar
        multiplication. Keys used once are dropped with :meth:`_take_private`, the rest with
        the connection (:meth:`_forget_secrets`)."""
        pair = KeyPair.generate(alg) if now else self._pool.take(alg)
        der = pair.private.to_der()
        self._keys[der] = pair
        return der

    def _public(self, private_der: bytes) -> PublicKey:
        """The public half of a stored private key (parsed only if not in memory)."""
        pair = self._keys.get(private_der)
        return pair.public if pair is not None else PrivateKey.from_der(private_der).public()

    def _take_private(self, private_der: bytes) -> PrivateKey:
        """A private key for its last use here: from memory if it is there (and no longer
        kept), else parsed."""
        pair = self._keys.pop(private_der, None)
        return pair.private if pair is not None else PrivateKey.from_der(private_der)

    def _ratchet(self, st: ConnState) -> Ratchet:
        """The connection's ratchet: the live one in memory unless the stored state differs
        (then, and after a restart, it is read from the stored JSON)."""
        assert st.ratchet is not None
        cached = self._ratchets.get(st.conn_id)
        if cached is not None and (cached[0] is st.ratchet or cached[0] == st.ratchet):
            return cached[1]
        ratchet = Ratchet.from_json(st.ratchet)
        self._ratchets[st.conn_id] = (st.ratchet, ratchet)
        return ratchet

    def _set_ratchet(self, st: ConnState, ratchet: Ratchet) -> None:
        """The ratchet after a step: its JSON goes into ``st`` (written with the step)."""
        st.ratchet = ratchet.to_json()
        self._ratchets[st.conn_id] = (st.ratchet, ratchet)

    def _enqueue(self, st: ConnState, message: object, kind: str) -> int:
        """Encrypt an AgentMessage with the ratchet and store it for delivery (one commit)."""
        assert st.snd is not None and st.ratchet is not None
        snd_id = st.last_snd_id + 1
        am = AgentMessage(APrivHeader(snd_id, st.last_snd_hash), message).encode()  # type: ignore[arg-type]
        cm, ratchet = sealing.seal_agent_message(self._ratchet(st), am, st.agent_version)
        body = self._seal_for_queue(st.queue_for(snd_id), cm, first=False)
        self._set_ratchet(st, ratchet)
        self._store_sealed(st, snd_id, kind, agent_message_hash(am), body)
        return snd_id

    def _store_sealed(
        self, st: ConnState, snd_id: int, kind: str, msg_hash: bytes, body: bytes
    ) -> None:
        """Store a sealed message ``snd_id`` for delivery with the connection's new state
        (the hash chain goes on from ``msg_hash``), in one commit."""
        st.last_snd_id = snd_id
        st.last_snd_hash = msg_hash
        with self.store.transaction():
            self.store.save(st, self._now())
            self.store.add_snd_message(
                SndMessage(st.conn_id, snd_id, kind, msg_hash, body, "pending", None),
                self._now(),
            )

    def _enqueue_ratchet_key(self, st: ConnState, e2e_version: int) -> None:
        """Fresh re-sync keys, kept in ``st``, and our AgentRatchetKey queued: it takes one
        message id, and the hash chain goes on from ``SHA-256("R")`` (simplexmq
        ``enqueueRatchetKey``)."""
        assert st.snd is not None
        keys = PrivateKey.generate(KeyAlg.X448), PrivateKey.generate(KeyAlg.X448)
        st.sync_keys = (keys[0].to_der(), keys[1].to_der())
        cm = resync.ratchet_key_message(keys, e2e_version)
        body = self._seal_for_queue(st.queue_for(st.last_snd_id + 1), cm, first=False)
        self._store_sealed(
            st, st.last_snd_id + 1, SndKind.RATCHET_KEY, resync.RATCHET_INFO_HASH, body
        )

    def _confirmation_header(self, st: ConnState, kind: str) -> PrivHeader:
        """The fast confirmation ('_') is signed after SKEY; the slow one ('K') carries our
        sender key for the peer's KEY."""
        assert st.snd is not None
        if kind == SndKind.CONF:
            return PHEmpty()
        return PHConfirmation(self._key_pair(st.snd.snd_auth_key).public)

    def _store_confirmation(
        self,
        st: ConnState,
        ratchet: Ratchet,
        client_message: bytes,
        agent_message: bytes,
        kind: str,
    ) -> None:
        """Seal our confirmation for the peer's queue and store it with the new ratchet
        state, as message 1 of the hash chain, in one commit."""
        assert st.snd is not None
        body = self._seal_for_queue(st.snd, client_message, first=True)
        self._set_ratchet(st, ratchet)
        self._store_sealed(st, 1, kind, agent_message_hash(agent_message), body)

    # ------------------------------------------------------------------ delivery

    async def _after_sent(self, conn_id: str, m: SndMessage) -> None:
        events: list[AgentEvent] = []
        async with self._lock(conn_id):
            cur = self.store.peek(conn_id)
            if cur is None:
                return
            t = step(cur.role, cur.status, machine.Sent(m.kind))
            switch = None
            if m.kind in (SndKind.QKEY, SndKind.QTEST):
                switch = machine.switch_step(cur.snd_switch, machine.SwitchSent(m.kind))
            st = cur if not t.effects and t.status == cur.status and not switch else cur.copy()
            changed = switch is not None or t.status != st.status
            if switch is not None:
                events += self._apply_switch(st, switch, "snd", None)
            st.status = t.status
            for e in t.effects:
                if e is Action.MARK_CONFIRMED and st.snd is not None:
                    changed = changed or not st.snd.confirmed
                    st.snd.confirmed = True
                    # A signed SEND was taken: the queue is secured with our key.
                    st.snd.secured = st.snd.secured or m.kind == SndKind.CONF
                elif isinstance(e, machine.Emit) and e.event == "established":
                    events.append(ConnectionEstablished(conn_id, st.peer_info))
                elif isinstance(e, machine.Emit) and e.event == "sent":
                    events.append(MessageSent(conn_id, m.snd_id))
            if changed:
                self.store.save(st, self._now())
        if events:
            await self.store.durable()  # what the events tell is committed first
        for ev in events:
            await self.events.put(ev)
        # A handshake step that found this message still pending (the peer's answer came
        # in before the relay's OK was processed) goes on now.
        self._continue(conn_id, st.status)

    # ------------------------------------------------------------------ receiving

    async def _on_message(
        self, server: str, rc: ReconnectingClient, rid: bytes, msg: MSG | None
    ) -> None:
        while msg is not None:
            conn_id = self.store.conn_for_queue(server, rid)
            if conn_id is None:
                log.info("message for an unknown queue")
                return
            events: list[AgentEvent] = []
            continues: list[str] = []
            async with self._lock(conn_id):
                st = self.store.load(conn_id)
                if st is None:
                    return
                q = next(x for x in st.rcv if x.rcv_id == rid)
                try:
                    events = await self._process(st, q, msg, continues)
                except (SMPClientError, _OldQueueFirst) as e:
                    # A network step of this message failed (or it must wait for the old
                    # queue of a rotation): nothing was committed and the message is not
                    # acknowledged. Subscribe again later to get it again.
                    log.info("%s: step postponed: %s", conn_id, e)
                    self._spawn(self._resubscribe_later(rc, q))
                    return
                except (DecodeError, CryptoError, RatchetError) as e:
                    if not isinstance(e, RatchetDuplicate):
                        log.info("%s: bad message: %s", conn_id, type(e).__name__)
                        events = [AgentProblem(conn_id, f"a message could not be read: {e}")]
                # The step is committed (with other connections' steps: group commit)
                # before anything leaves: its events, the next handshake step, the ACK.
                await self.store.durable()
                for ev in events:
                    self.events.put_nowait(ev)
                    if isinstance(ev, ConnectionRequested) and ev.conn_id in continues:
                        self._spawn(self._handshake_step(ev.conn_id))
            self._kick(conn_id)
            self._continue(conn_id, st.status)
            # Outside the lock: the application may ack the message while this ACK travels.
            try:
                msg = await rc.ack(rid, self._key_pair(q.rcv_auth_key), msg.msg_id)
            except SMPCommandError as e:
                if e.error != ErrorType.NO_MSG:
                    raise
                msg = None

    async def _resubscribe_later(self, rc: ReconnectingClient, q: RcvQueueState) -> None:
        await asyncio.sleep(2.0)
        with contextlib.suppress(SMPClientError):
            await rc.subscribe(q.rcv_id, self._key_pair(q.rcv_auth_key))

    async def _process(
        self, st: ConnState, q: RcvQueueState, msg: MSG, continues: list[str]
    ) -> list[AgentEvent]:
        plain = decrypt_message_with_key(self._queue_box_key(q), msg)
        if isinstance(plain, RcvMsgQuota):
            return []
        env = ClientMsgEnvelope.decode(plain.body)
        if st.kind == "contact":
            return self._on_invitation(st, q, env, continues)
        if env.e2e_key is not None:
            return await self._on_confirmation(st, q, env, env.e2e_key)
        if q.e2e_shared is None:
            raise DecodeError("a message before the confirmation")
        envelope = parse_agent_envelope(sealing.open_client_message(q.e2e_shared, env).body)
        if isinstance(envelope, AgentRatchetKey) and st.ratchet is not None:
            return self._on_ratchet_key(st, envelope)
        if not isinstance(envelope, AgentMsgEnvelope) or st.ratchet is None:
            raise DecodeError("expected an agent message")
        seen = sha256(envelope.enc_agent_message)
        if seen in st.seen:
            return []  # delivered again after a lost ACK: already processed
        before = self._ratchet(st)
        try:
            data, ratchet = sealing.open_agent_message(before, envelope.enc_agent_message)
        except (CryptoError, RatchetError) as e:
            failure = resync.crypto_failure(e)
            if failure is None:
                raise
            return self._on_decrypt_failure(st, failure, e)
        am = parse_agent_message(data)
        if not isinstance(am, AgentMessage):
            raise DecodeError("expected an agent message")
        self._wait_for_old_queue(st, q, am.header.snd_msg_id)
        self._set_ratchet(st, ratchet)
        st.seen = [*st.seen[-(SEEN_HASHES - 1) :], seen]
        events = self._sync(st, machine.Decrypted())
        if q.replaces is not None:
            events += await self._first_on_new_queue(st, q)
        return events + await self._on_agent_message(st, q, am, data, could_send=before.can_send)

    # ------------------------------------------------------------------ ratchet sync

    def _sync(
        self,
        st: ConnState,
        inp: machine.SyncInput,
        peer: E2ERatchetParams | None = None,
        *,
        last_rcv_id: int | None = None,
    ) -> list[AgentEvent]:
        """One step of the sync table for ``st``, its effects carried out (written with the
        caller's commit). ``peer``: the keys of the peer's AgentRatchetKey, to agree with;
        ``last_rcv_id``: what our EREADY says (by default the last message id received)."""
        t = machine.sync_step(st.ratchet_sync, inp)
        events: list[AgentEvent] = []
        eready = EREADY(st.last_rcv_id if last_rcv_id is None else last_rcv_id)
        for e in t.effects:
            if e is Action.SEND_RATCHET_KEY:
                self._enqueue_ratchet_key(st, E2E_VERSIONS.max if peer is None else peer.version)
            elif e is Action.AGREE_RATCHET:
                assert peer is not None
                if st.sync_keys is None:
                    events.append(AgentProblem(st.conn_id, "no ratchet keys to agree with"))
                    continue
                own = PrivateKey.from_der(st.sync_keys[0]), PrivateKey.from_der(st.sync_keys[1])
                ratchet, sends = resync.agree(own, peer)
                self._set_ratchet(st, ratchet)
                st.sync_keys = None
                if sends:
                    self._enqueue(st, eready, SndKind.EREADY)
            elif e is Action.SEND_EREADY:
                self._enqueue(st, eready, SndKind.EREADY)
            elif isinstance(e, machine.SetSync):
                st.ratchet_sync = e.state
                events.append(RatchetSyncChanged(st.conn_id, e.state, e.error))
            elif isinstance(e, machine.Refuse):
                version = peer.version if peer is not None else None
                message = _REFUSALS[e.reason].format(status=t.status, version=version)
                events.append(AgentProblem(st.conn_id, message))
        return events

    def _on_decrypt_failure(
        self, st: ConnState, failure: machine.CryptoFailure, e: Exception
    ) -> list[AgentEvent]:
        """A message the ratchet cannot decrypt: it is lost (acknowledged, as simplexmq
        does) and the application is told, with the sync state it leads to."""
        events = self._sync(st, machine.DecryptFailed(failure.value, known=False))
        self.store.save(st, self._now())
        problem = AgentProblem(st.conn_id, f"a message could not be decrypted ({failure}): {e}")
        return [*events, problem]

    def _on_ratchet_key(self, st: ConnState, rk: AgentRatchetKey) -> list[AgentEvent]:
        """The peer's AgentRatchetKey (simplexmq ``newRatchetKey``)."""
        h = resync.key_hash(rk.e2e.k1, rk.e2e.k2)
        processed = h in st.ratchet_key_hashes
        if not processed:
            st.ratchet_key_hashes = [*st.ratchet_key_hashes[-(RATCHET_KEY_HASHES - 1) :], h]
        with self.store.transaction():
            inp = machine.RatchetKeyReceived(processed, rk.e2e.version)
            events = self._sync(st, inp, rk.e2e)
            self.store.save(st, self._now())
        return events

    # ------------------------------------------------------------------ queue rotation

    async def switch_connection(self, conn_id: str, server: SMPServer | None = None) -> None:
        """Move the connection's receiving queue to a new queue on ``server`` (by default our
        relay): "Change relay" (simplexmq ``switchConnection``). The peer is asked with QADD;
        :class:`QueueSwitchChanged` events follow, ``completed`` once the peer sends on the
        new queue and the old one is deleted. :class:`AgentError` if not possible now."""
        async with self._lock(conn_id):
            st = self._load(conn_id)
            if st.kind != "duplex" or st.snd is None or st.ratchet is None or not st.rcv:
                raise AgentError("the connection is not established yet")
            prohibited = machine.sync_send_prohibited(st.ratchet_sync)
            t = machine.switch_step(st.rcv_switch, machine.SwitchRequest(prohibited))
            _refused(t, AgentError)
            old = st.rcv[0]
            if Action.NEW_RCV_QUEUE in t.effects:
                new = await self._new_queue(server or self.server, mode="M")
                new.replaces = old.rcv_id
                st.rcv.append(new)
            with self.store.transaction():
                events = self._apply_switch(st, t, "rcv", None)
        self._kick(conn_id)
        await self.store.durable()
        for ev in events:
            await self.events.put(ev)

    def _switch_transition(
        self, st: ConnState, record: rotation.QueueRecord
    ) -> tuple[machine.Transition, str, rotation.QueueRecord] | None:
        """The rotation table's answer to a queue message from the peer, the direction it
        concerns and the record (None: nothing to do, as for QTEST and A_QCONT)."""
        prohibited = machine.sync_send_prohibited(st.ratchet_sync)
        if isinstance(record, rotation.QADD):
            uri, replaced = record.queues[0]  # the reference uses the first one only
            new: rotation.SndQAddr = (uri.server, uri.sender_id)
            ours = [_snd_addr(q) for q in (st.snd, st.snd_next) if q is not None]
            inp: machine.SwitchInput = machine.QAddReceived(
                prohibited,
                compatible(SMP_CLIENT_VERSIONS, uri.versions) is not None,
                any(rotation.same_addr(new, a) for a in ours),
                replaced is not None and bool(ours) and rotation.same_addr(replaced, ours[0]),
            )
            return machine.switch_step(st.snd_switch, inp), "snd", record
        if isinstance(record, rotation.QUSE):
            addr = record.queues[0][0]
            found = st.snd_next is not None and rotation.same_addr(addr, _snd_addr(st.snd_next))
            inp = machine.QUseReceived(prohibited, found)
            return machine.switch_step(st.snd_switch, inp), "snd", record
        if isinstance(record, rotation.QKEY):
            found = self._replacing_queue(st, record) is not None
            inp = machine.QKeyReceived(prohibited, found)
            return machine.switch_step(st.rcv_switch, inp), "rcv", record
        # QTEST: any message on the new queue completes the rotation; A_QCONT: our delivery
        # retries after QUOTA by itself.
        return None

    @staticmethod
    def _replacing_queue(st: ConnState, record: rotation.QKEY) -> RcvQueueState | None:
        info = record.keys[0][0]
        addr: rotation.SndQAddr = (info.server, info.sender_id)
        for q in st.rcv:
            if q.replaces is not None and not q.secured:
                if rotation.same_addr(addr, (SMPServer.parse(q.server), q.snd_id)):
                    return q
        return None

    async def _secure_new_queue(
        self, st: ConnState, switch: tuple[machine.Transition, str, rotation.QueueRecord] | None
    ) -> None:
        """The network precondition of QKEY: KEY our new queue with the peer's key."""
        if switch is None or Action.SECURE_NEW_RCV_QUEUE not in switch[0].effects:
            return
        record = switch[2]
        assert isinstance(record, rotation.QKEY)
        q = self._replacing_queue(st, record)
        assert q is not None
        rc = await self._client(SMPServer.parse(q.server))
        await rc.secure(q.rcv_id, self._key_pair(q.rcv_auth_key), record.keys[0][1])

    def _apply_switch(
        self,
        st: ConnState,
        t: machine.Transition,
        direction: str,
        record: rotation.QueueRecord | None,
    ) -> list[AgentEvent]:
        """Carry out a rotation transition on ``st`` (inside the caller's commit)."""
        events: list[AgentEvent] = []
        for e in t.effects:
            if e is Action.SEND_QADD:
                old, new = st.rcv[0], st.rcv[-1]
                qadd = rotation.QADD(((self._queue_uri(new), _rcv_addr(old)),))
                self._enqueue(st, qadd.to_message(), SndKind.QADD)
            elif e is Action.NEW_SND_QUEUE:
                assert isinstance(record, rotation.QADD)
                st.snd_next = self._snd_queue(record.queues[0][0])
                st.snd_next_from = 0
            elif e is Action.SEND_QKEY:
                assert isinstance(record, rotation.QADD) and st.snd_next is not None
                own = self._public(st.snd_next.own_e2e_key)
                auth = self._key_pair(st.snd_next.snd_auth_key).public
                entry = rotation.qkey_for(record.queues[0][0], own, auth)
                assert entry is not None  # version_ok
                self._enqueue(st, rotation.QKEY((entry,)).to_message(), SndKind.QKEY)
            elif e is Action.SECURE_NEW_RCV_QUEUE:
                assert isinstance(record, rotation.QKEY)
                q = self._replacing_queue(st, record)
                assert q is not None
                peer = record.keys[0][0].dh_public_key
                q.e2e_shared = dh_box_key(peer, self._take_private(q.e2e_key))
                q.secured = True
            elif e is Action.SEND_QUSE:
                new = st.rcv[-1]
                self._enqueue(
                    st, rotation.QUSE(((_rcv_addr(new), True),)).to_message(), SndKind.QUSE
                )
            elif e is Action.NEW_SND_QUEUE_SECURED:
                assert st.snd_next is not None
                st.snd_next.secured = True
                st.snd_next_from = st.last_snd_id + 1  # the QTEST, and every later message
            elif e is Action.SEND_QTEST:
                assert st.snd_next is not None
                qtest = rotation.QTEST((_snd_addr(st.snd_next),))
                self._enqueue(st, qtest.to_message(), SndKind.QTEST)
            elif e is Action.USE_NEW_SND_QUEUE:
                if st.snd is not None:
                    self._boxes.pop((st.snd.peer_e2e_key, st.snd.own_e2e_key), None)
                st.snd, st.snd_next, st.snd_next_from = st.snd_next, None, 0
            elif isinstance(e, machine.SetSwitch):
                events.append(QueueSwitchChanged(st.conn_id, e.direction, e.phase))
            elif isinstance(e, machine.Refuse):
                message = _REFUSALS[e.reason].format(status=t.status)
                events.append(AgentProblem(st.conn_id, message))
        if direction == "snd":
            st.snd_switch = t.status
        else:
            st.rcv_switch = t.status
        self.store.save(st, self._now())
        return events

    def _wait_for_old_queue(self, st: ConnState, q: RcvQueueState, snd_msg_id: int) -> None:
        """Keep the order across a rotation of our queue: a message on the new queue after a
        gap waits (:class:`_OldQueueFirst`) while the old queue exists, a few times."""
        if q.replaces is None or snd_msg_id <= st.last_rcv_id + 1:
            return
        if not any(x.rcv_id == q.replaces for x in st.rcv):
            return
        waits = self._old_queue_waits.get(q.rcv_id, 0)
        if waits < OLD_QUEUE_WAITS:
            self._old_queue_waits[q.rcv_id] = waits + 1
            raise _OldQueueFirst("a message on the new queue waits for the old queue's")

    async def _first_on_new_queue(self, st: ConnState, q: RcvQueueState) -> list[AgentEvent]:
        """A message on the queue that replaces another: the rotation is complete, the old
        queue is deleted on its relay (already gone is fine) and dropped."""
        t = machine.switch_step(st.rcv_switch, machine.NewQueueMessage())
        if Action.DELETE_OLD_RCV_QUEUE not in t.effects:
            return []
        old = next((x for x in st.rcv if x.rcv_id == q.replaces), None)
        if old is not None:
            rc = await self._client(SMPServer.parse(old.server))
            with contextlib.suppress(SMPCommandError):
                await rc.delete(old.rcv_id, self._key_pair(old.rcv_auth_key))
            st.rcv.remove(old)
            self._queue_keys.pop(old.rcv_id, None)
        q.replaces = None
        st.rcv.remove(q)
        st.rcv.insert(0, q)
        with self.store.transaction():
            return self._apply_switch(st, t, "rcv", None)

    async def synchronize_ratchet(self, conn_id: str, *, force: bool = False) -> str:
        """Start re-synchronising the connection's ratchet (simplexmq
        ``synchronizeRatchet``): allowed after :class:`RatchetSyncChanged` ``allowed`` or
        ``required`` (``force``: in any state). Sends our new ratchet keys; the peer answers
        with its own and both sides agree on a new ratchet. Returns the new sync state;
        :class:`AgentError` if not allowed."""
        async with self._lock(conn_id):
            st = self._load(conn_id)
            if st.kind != "duplex" or st.snd is None or st.ratchet is None:
                raise AgentError("the connection is not established yet")
            inp = machine.SyncRequest(st.agent_version, force)
            t = machine.sync_step(st.ratchet_sync, inp)
            _refused(t, AgentError)
            with self.store.transaction():
                events = self._sync(st, inp)
                self.store.save(st, self._now())
        self._kick(conn_id)
        await self.store.durable()
        for ev in events:
            await self.events.put(ev)
        return st.ratchet_sync

    def _on_invitation(
        self, contact: ConnState, q: RcvQueueState, env: ClientMsgEnvelope, continues: list[str]
    ) -> list[AgentEvent]:
        if env.e2e_key is None:
            raise DecodeError("an invitation carries the sender's key")
        # A redelivered invitation (its ACK was lost) is recognised by the hash of its
        # encrypted body.
        seen = sha256(env.enc_body)
        t = step(
            contact.role,
            contact.status,
            machine.InvitationReceived(
                redelivered=seen in contact.seen, auto_accept=self.auto_accept
            ),
        )
        _refused(t, DecodeError)
        events: list[AgentEvent] = []
        st: ConnState | None = None
        inv: AgentInvitation | None = None
        target: SMPQueueUri | None = None
        agent_v = 0
        for e in t.effects:
            if e is Action.OPEN_INVITATION:
                shared = dh_box_key(env.e2e_key, self._key_pair(q.e2e_key).private)
                invitation = parse_agent_envelope(sealing.open_client_message(shared, env).body)
                if not isinstance(invitation, AgentInvitation):
                    raise DecodeError("a contact address takes invitations only")
                text = invitation.conn_req.decode("utf-8")
                req = parse_link(text)
                if req.mode != "invitation" or req.e2e is None:
                    raise DecodeError("the invitation link is not an invitation")
                v = compatible(AGENT_VERSIONS, req.agent_versions)
                if v is None:
                    raise DecodeError("no common agent version")
                inv, target, agent_v = invitation, req.queues[0], v
                self._remember_invitation(text, req)
            elif isinstance(e, machine.NewConnection):
                assert inv is not None and target is not None
                st = ConnState(
                    str(uuid.uuid4()),
                    "duplex",
                    "joiner",
                    e.status,
                    agent_version=agent_v,
                    own_info=contact.own_info,
                    peer_info=inv.conn_info,
                    link=inv.conn_req.decode("utf-8"),
                    created_at=self._now(),
                )
                st.snd = self._snd_queue(target)
            elif isinstance(e, machine.Emit) and st is not None and inv is not None:
                events.append(ConnectionRequested(st.conn_id, inv.conn_info))
            elif e is Action.CONTINUE and st is not None:
                continues.append(st.conn_id)
        if st is None:
            return events
        contact.seen = [*contact.seen[-(SEEN_HASHES - 1) :], seen]
        with self.store.transaction():
            self.store.save(st, self._now())
            self.store.save(contact, self._now())
        return events

    def _remember_invitation(self, link: str, req: ConnectionRequest) -> None:
        """Keep a parsed invitation link for our confirmation (a few, the most recent)."""
        if len(self._links) >= PARSED_LINKS:
            self._links.pop(next(iter(self._links)))
        self._links[link] = req

    async def _handshake_step(self, conn_id: str) -> None:
        """Go on with the handshake (after a request, a message, a restart): the machine's
        ``accept_step`` on the owner side (joiner: SKEY the visitor's queue, NEW our reply
        queue, confirm) or ``confirm_step`` on the visitor's (initiator: SKEY the owner's
        reply queue, confirm). A network failure is reported and the step is tried again
        with the next message or restart."""
        doing = "continue"
        try:
            async with self._lock(conn_id):
                st = self.store.load(conn_id)
                if st is None or st.snd is None:
                    return
                snd = st.snd
                queued = snd.confirmed or self.store.next_snd_message(conn_id) is not None
                joiner = st.role == machine.Role.JOINER
                inp: machine.Input
                if joiner:
                    doing = "accept"
                    inp = machine.AcceptStep(_fast(st), snd.secured, bool(st.rcv), queued)
                else:
                    doing = "confirm"
                    inp = machine.ConfirmStep(_fast(st), snd.secured, queued)
                t = step(st.role, st.status, inp)
                confirm = next(
                    (e for e in t.effects if isinstance(e, machine.SendConfirmation)), None
                )
                ready: list[Callable[[], None]] = []
                failed: list[Exception] = []

                def prepare() -> None:
                    """Our confirmation as far as it needs no answer (made while SKEY and
                    NEW are under way); its error is raised once they are recorded."""
                    if confirm is None:
                        return
                    make = self._joiner_confirmation if joiner else self._initiator_confirmation
                    try:
                        ready.append(make(st, confirm.kind))
                    except Exception as e:
                        failed.append(e)

                await self._secure_and_create(st, snd, t.effects, prepare, save=confirm is None)
                if failed:
                    raise failed[0]
                for e in t.effects:
                    if isinstance(e, machine.SetSlow):
                        st.slow = e.slow
                    elif isinstance(e, machine.SendConfirmation):
                        ready[0]()
                if confirm is None:
                    return
        except SMPClientError as e:
            await self.events.put(AgentProblem(conn_id, f"could not {doing} yet: {e}"))
            return
        self._kick(conn_id)

    async def _secure_and_create(
        self,
        st: ConnState,
        snd: SndQueueState,
        effects: tuple[machine.Effect, ...],
        prepare: Callable[[], None],
        *,
        save: bool,
    ) -> None:
        """The network preconditions of a handshake step, SKEY of the peer's queue and (owner
        side) NEW of our reply queue, at the same time (one round trip), with ``prepare``
        (which raises nothing) run while they are under way. Each one that succeeded is
        recorded (written with the step's next commit) before a failure is raised; on
        success ``st`` is saved here only with ``save`` (else the caller saves it in the
        same step).

        The visitor's (initiator's) SKEY is not waited for: it goes now, and the outbox sends
        the confirmation right behind it without waiting for its answer
        (``Outbox.secure_ahead``); its OK is recorded with the confirmation's."""
        key = self._key_pair(snd.snd_auth_key)
        server = SMPServer.parse(snd.server)

        async def skey() -> None:
            await self._outbox.secure(server, snd.snd_id, key)
            snd.secured = True

        async def new() -> None:
            st.rcv.append(await self._new_queue(self.server, mode=self._reply_mode))

        steps = []
        for e in effects:
            if e is Action.SECURE_SND_QUEUE and st.role == machine.Role.INITIATOR:
                self._outbox.secure_ahead(st.conn_id, server, snd.snd_id, key)
                await settle()  # on the wire before the confirmation is sealed
            elif e is Action.SECURE_SND_QUEUE:
                steps.append(skey())
            elif e is Action.CREATE_REPLY_QUEUE:
                steps.append(new())
        if not steps:
            prepare()
            if save:
                self.store.save(st, self._now())
            return
        gathered = asyncio.gather(*steps, return_exceptions=True)
        results = await self._pool.fill_while(gathered, prepare)
        failures = [r for r in results if isinstance(r, BaseException)]
        if save or failures:
            self.store.save(st, self._now())
        for r in failures:
            raise r

    def _joiner_confirmation(self, st: ConnState, kind: str) -> Callable[[], None]:
        """Our (joiner's) confirmation: the X3DH keys and the new ratchet now; the function
        returned seals it with our reply queue (made by NEW in the meantime) and stores it."""
        req = self._invitation(st.link)
        assert req.e2e is not None and st.snd is not None
        peer = req.e2e
        e2e_v = compatible(E2E_VERSIONS, peer.versions)
        if e2e_v is None:
            raise AgentError("no common e2e encryption version")
        # Made now, while SKEY and NEW are under way: the pool is for steps on the clock.
        keys = KeyPair.generate(KeyAlg.X448), KeyPair.generate(KeyAlg.X448)
        ratchet = sealing.joiner_ratchet(peer, e2e_v, keys, KeyPair.generate(KeyAlg.X448))
        header = self._confirmation_header(st, kind)
        self._queue_box(st.snd)

        def finish() -> None:
            try:
                reply = AgentConnInfoReply((self._queue_info(st.rcv[0]),), st.own_info).encode()
                cm, after = sealing.joiner_confirmation(
                    peer, e2e_v, st.agent_version, reply, keys, header, ratchet=ratchet
                )
            except Exception:
                self.store.save(st, self._now())  # what SKEY and NEW did stays recorded
                raise
            self._store_confirmation(st, after, cm, reply, kind)

        return finish

    def _invitation(self, link: str) -> ConnectionRequest:
        """The invitation link of a joiner's connection, parsed (once, when it came)."""
        req = self._links.pop(link, None)
        return req if req is not None else parse_link(link)

    async def _on_confirmation(
        self, st: ConnState, q: RcvQueueState, env: ClientMsgEnvelope, e2e_key: PublicKey
    ) -> list[AgentEvent]:
        if q.e2e_shared is not None:
            # a repeated confirmation: ACK and ignore (Agent.hs), without decrypting it
            t = step(st.role, st.status, machine.ConfirmationReceived(True, False, q.secured))
            _refused(t, DecodeError)
            return []
        shared = dh_box_key(e2e_key, self._take_private(q.e2e_key))
        cm = sealing.open_client_message(shared, env)
        conf = parse_agent_envelope(cm.body)
        if not isinstance(conf, AgentConfirmation):
            raise DecodeError("expected a confirmation")
        slow_key = cm.priv_header.sender_key if isinstance(cm.priv_header, PHConfirmation) else None
        version = None if conf.e2e is None else conf.e2e.version
        t = step(
            st.role,
            st.status,
            machine.ConfirmationReceived(
                False, slow_key is not None, q.secured, version, st.ratchet is not None
            ),
        )
        _refused(t, DecodeError, version=version)
        events: list[AgentEvent] = []
        data = b""
        ratchet: Ratchet | None = None
        hello: str | None = None
        for e in t.effects:
            if e is Action.OPEN_CONFIRMATION:
                data, ratchet = self._open_confirmation(st, conf)
            elif e is Action.SECURE_RCV_QUEUE:
                assert slow_key is not None
                rc = await self._client(SMPServer.parse(q.server))
                await rc.secure(q.rcv_id, self._key_pair(q.rcv_auth_key), slow_key)
                q.secured = True
            elif isinstance(e, machine.SetSlow):
                st.slow = e.slow
            elif isinstance(e, machine.SendHello):
                hello = e.kind
            elif isinstance(e, machine.Emit) and e.event == "established":
                events.append(ConnectionEstablished(st.conn_id, st.peer_info))
        assert ratchet is not None
        st.status = t.status
        q.e2e_shared = shared
        self._set_ratchet(st, ratchet)
        st.last_rcv_id = 1
        st.last_rcv_hash = agent_message_hash(data)
        with self.store.transaction():
            self.store.save(st, self._now())
            if hello is not None:
                self._enqueue(st, HELLO(), hello)
        return events

    def _open_confirmation(self, st: ConnState, conf: AgentConfirmation) -> tuple[bytes, Ratchet]:
        """Open the peer's confirmation and take what it carries into ``st``."""
        if st.role == "initiator":
            # The owner's (joiner's) confirmation on our queue: X3DH, then its reply queue.
            assert st.x3dh_keys is not None
            own = self._key_pair(st.x3dh_keys[0]).private, self._key_pair(st.x3dh_keys[1]).private
            data, ratchet = sealing.open_initiator_confirmation(
                conf, own, self._pool.take(KeyAlg.X448)
            )
            reply = parse_agent_message(data)
            if not isinstance(reply, AgentConnInfoReply) or not reply.queues:
                raise DecodeError("the owner's confirmation names its reply queue")
            st.agent_version = min(st.agent_version or conf.agent_version, conf.agent_version)
            st.agent_version = max(st.agent_version, AGENT_VERSIONS.min)
            st.snd = self._snd_queue(reply.queues[0])
            for der in st.x3dh_keys:
                self._keys.pop(der, None)
            st.x3dh_keys = None
            st.peer_info = reply.conn_info
            return data, ratchet
        # The visitor's (initiator's) confirmation on our reply queue.
        assert st.ratchet is not None
        before = self._ratchet(st)
        # No receiving chain yet: this first message of the peer makes a DH ratchet step.
        new_dh = self._pool.take(KeyAlg.X448) if before.rcv is None else None
        data, ratchet = sealing.open_agent_message(before, conf.enc_conn_info, new_dh)
        info = parse_agent_message(data)
        if not isinstance(info, AgentConnInfo):
            raise DecodeError("the visitor's confirmation carries its profile")
        st.peer_info = info.conn_info or st.peer_info
        return data, ratchet

    def _initiator_confirmation(self, st: ConnState, kind: str) -> Callable[[], None]:
        """Our (initiator's) confirmation, sealed now; the function returned stores it."""
        assert st.ratchet is not None and st.snd is not None
        info = AgentConnInfo(st.own_info).encode()
        cm, ratchet = sealing.initiator_confirmation(
            self._ratchet(st), info, st.agent_version, self._confirmation_header(st, kind)
        )
        body = self._seal_for_queue(st.snd, cm, first=True)

        def finish() -> None:
            self._set_ratchet(st, ratchet)
            self._store_sealed(st, 1, kind, agent_message_hash(info), body)

        return finish

    async def _on_agent_message(
        self, st: ConnState, q: RcvQueueState, am: AgentMessage, data: bytes, *, could_send: bool
    ) -> list[AgentEvent]:
        events: list[AgentEvent] = []
        hdr = am.header
        last_rcv_id = st.last_rcv_id
        if hdr.snd_msg_id == st.last_rcv_id + 1 and hdr.prev_msg_hash == st.last_rcv_hash:
            integrity = "ok"
        elif hdr.snd_msg_id <= st.last_rcv_id:
            integrity = f"duplicate {hdr.snd_msg_id}"
        elif hdr.snd_msg_id > st.last_rcv_id + 1:
            integrity = f"skipped {hdr.snd_msg_id - st.last_rcv_id - 1}"
        else:
            integrity = "bad hash"
        msg_hash = agent_message_hash(data)
        message = am.message
        switch = None
        if isinstance(message, QueueMessage):
            switch = self._switch_transition(st, rotation.decode_queue_message(message))
            await self._secure_new_queue(st, switch)
        st.last_rcv_id = max(st.last_rcv_id, hdr.snd_msg_id)
        st.last_rcv_hash = msg_hash
        with self.store.transaction():
            if switch is not None:
                events += self._apply_switch(st, *switch)
            if isinstance(message, HELLO):
                t = step(st.role, st.status, machine.HelloReceived(_fast(st), st.last_snd_id))
                st.status = t.status
                for e in t.effects:
                    if isinstance(e, machine.SendHello):
                        self._enqueue(st, HELLO(), e.kind)
                    elif isinstance(e, machine.Emit) and e.event == "established":
                        events.append(ConnectionEstablished(st.conn_id, st.peer_info))
            elif isinstance(message, A_MSG):
                msg_id = self.store.add_rcv_message(
                    st.conn_id, hdr.snd_msg_id, msg_hash, message.body, integrity, self._now()
                )
                events.append(MessageReceived(st.conn_id, msg_id, message.body, integrity))
            elif isinstance(message, EREADY):
                inp = machine.EreadyReceived(could_send)
                events += self._sync(st, inp, last_rcv_id=last_rcv_id)
            elif isinstance(message, A_RCVD):
                for r in message.receipts:
                    sent = self.store.snd_message_hash(st.conn_id, r.agent_msg_id)
                    if sent is None or sent[0] != SndKind.MSG:
                        continue
                    ok = sent[1] == r.msg_hash
                    self.store.set_receipt(st.conn_id, r.agent_msg_id, "ok" if ok else "bad")
                    events.append(ReceiptReceived(st.conn_id, r.agent_msg_id, ok))
            self.store.save(st, self._now())
        return events

    async def _join_invitation(
        self, req: ConnectionRequest, conn_info: bytes, *, sender_key: bytes | None = None
    ) -> str:
        """Flow B: join a one-time invitation (we are the joiner, like the owner in Flow A).

        ``sender_key``: the invitation came as a short link and ``LKEY`` already secured its
        queue with this key, so the send queue counts as secured and SKEY is skipped."""
        if req.e2e is None:
            raise AgentError("the invitation link has no e2e= keys")
        agent_v = compatible(AGENT_VERSIONS, req.agent_versions)
        if agent_v is None:
            raise AgentError("this invitation needs a newer version of the SimpleX agent")
        target = req.queues[0]
        conn_id = str(uuid.uuid4())
        st = ConnState(
            conn_id,
            "duplex",
            "joiner",
            ConnStatus.ACCEPTING,
            agent_version=agent_v,
            own_info=conn_info,
            link=req.to_uri(),
            created_at=self._now(),
        )
        st.snd = self._snd_queue(target)
        if sender_key is not None:
            st.snd.snd_auth_key = sender_key
            st.snd.secured = True
        self.store.save(st, self._now())
        await self._handshake_step(conn_id)
        return conn_id


def _snd_addr(q: SndQueueState) -> rotation.SndQAddr:
    return SMPServer.parse(q.server), q.snd_id


def _rcv_addr(q: RcvQueueState) -> rotation.SndQAddr:
    """The address the peer sends to (as our queue links write it: no basic auth)."""
    return replace(SMPServer.parse(q.server), basic_auth=None), q.snd_id


def _keep_link(st: ConnState, created: CreatedLink) -> None:
    """Keep what a later update (LSET) or deletion (LDEL) of the short link needs."""
    st.short_link = str(created.link)
    st.link_root_key = created.root.to_der()
    st.link_id = created.link_id
    st.link_enc_fixed = created.enc_fixed
