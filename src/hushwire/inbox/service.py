"""The inbox service: one owner :class:`~hushwire.agent.agent.Agent`, the inbox's history
store, and the live updates the web UI subscribes to.

Theory of operation
-------------------
One task reads the agent's events in order:

* ``ConnectionRequested`` / ``ConnectionEstablished``: the conversation is created (or moved
  to ``online``) with the visitor's display name from its profile (``x.info`` or
  ``x.contact``).
* ``MessageReceived``: each ``x.msg.new`` is stored in ``inbox.sqlite3`` *first*; only then
  is the agent told to acknowledge it (with a delivery receipt), so a crash in between hands
  the message over again and the store recognises it. ``x.direct.del`` (the visitor ended
  the conversation) marks it ``ended`` and deletes the agent's connection; the owner keeps
  the history until they delete it.
* ``MessageSent`` / ``ReceiptReceived``: the owner's message moves to ``sent`` /
  ``delivered``.
* ``SubscriptionEnded`` / ``QueueDeleted``: another process holding the same keys took over
  (or deleted) a queue; it is logged and becomes a notice in :meth:`InboxService.settings`
  and a ``notice`` update, since this inbox no longer receives there until it is restarted.

Every change is published to the subscribers (the web UI's WebSockets) as a small JSON
object. Replies and ending a conversation come from the web API or the terminal commands,
which run on the same event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hushwire.agent.agent import (
    Agent,
    AgentError,
    AgentEvent,
    AgentProblem,
    ConnectionDeleted,
    ConnectionEstablished,
    ConnectionRequested,
    MessageReceived,
    MessageSent,
    QueueDeleted,
    QueueSwitchChanged,
    RatchetSyncChanged,
    ReceiptReceived,
    SubscriptionEnded,
)
from hushwire.agent.routing import RoutingSettings
from hushwire.chat.messages import (
    ChatMessageTooLarge,
    XDirectDel,
    XInfo,
    XMsgNew,
    contact_link_data,
    hushwire_profile,
    interpret,
    parse_chat_elements,
    x_direct_del,
    x_info,
    x_msg_new_text,
)
from hushwire.client import ClientConfig
from hushwire.errors import ConfigError, DecodeError, HushwireError
from hushwire.inbox.auth import load_or_create_secret
from hushwire.inbox.grpgate import NEEDS_GRP_RELAY, REFUSAL, on_grp
from hushwire.inbox.store import Conversation, InboxStore, Message
from hushwire.inbox.team import TeamHost
from hushwire.inbox.team_common import TeamSettings, profile_name_in
from hushwire.inbox.team_operator import TeamOperator
from hushwire.inbox.team_store import TeamStore
from hushwire.shop.catalog import CatalogFile
from hushwire.shop.service import ShopOwner
from hushwire.shop.wire import shop_payload
from hushwire.smp.address import SMPServer

log = logging.getLogger("hushwire.inbox")

DEFAULT_NAME = "Support"
END_SEND_TIMEOUT = 10.0
"""How long ending a conversation waits for ``x.direct.del`` to reach the relay."""
SUBSCRIBER_QUEUE = 1000
"""Updates buffered per WebSocket; a slower one is told to reload (``resync``)."""
WIDGET_NOTE = (
    "The widget embed snippet needs the relay's WebSocket URL as browsers reach it: restart "
    "the inbox with --widget-relay wss://relay.example.com (or --ws ws://127.0.0.1:PORT on "
    "this machine), and the snippet appears here."
)
REPLY_MAX_CHARS = 5000
MAX_NOTICES = 20
"""Notices kept for the UI (the newest)."""


class InboxError(HushwireError):
    """A request to the inbox that cannot be done; the message says what to do."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def profile_name(info: bytes) -> str | None:
    """The display name in a connInfo (``x.info`` or ``x.contact``), if it has one."""
    return profile_name_in(info, None)


class Subscriber:
    """One live-update listener (a WebSocket of the web UI)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_QUEUE)

    def push(self, update: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(update)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait({"type": "resync"})


class InboxService:
    """The owner's end: agent, history, live updates. ``start`` then ``stop``."""

    def __init__(
        self,
        data: Path,
        relay: SMPServer,
        *,
        ws_url: str | None = None,
        name: str | None = None,
        passphrase: str | None = None,
        client_config: ClientConfig | None = None,
        widget_relay: str | None = None,
        clock: Callable[[], float] = time.time,
        routing: RoutingSettings | None = None,
        team: str | None = None,
        team_settings: TeamSettings | None = None,
        shop: Path | None = None,
        require_grp: bool | None = None,
    ) -> None:
        """``team``: ``host`` for a team inbox (a business address, hushwire.inbox.team),
        ``operator`` for an operator's inbox (hushwire.inbox.team_operator), None for 1:1.
        ``shop``: a catalog file (hushwire.shop). ``require_grp``: take only visitors on the
        widget's GRP profile (hushwire.inbox.grpgate); None keeps what the inbox remembers."""
        # The catalog first: a mistake in it stops the start before anything is opened.
        self.shop_file = None if shop is None else CatalogFile(shop, shop_name=name or "Shop")
        data.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(data, 0o700)
        team = TeamStore.remembered_role(data / "team.sqlite3", team)
        if require_grp and team is not None:
            raise ConfigError("--require-grp is for a 1:1 inbox, not a team inbox (yet)")
        self.data = data
        self.relay = relay
        self.clock = clock
        self.widget_relay = widget_relay or ws_url or relay.encode()
        self.agent = Agent(
            data,
            relay,
            ws_url=ws_url,
            passphrase=passphrase,
            client_config=client_config,
            routing=routing,
            auto_accept=team != "host",
        )
        self.store = InboxStore(data / "inbox.sqlite3")
        self.secret = load_or_create_secret(data)
        stored = self.store.get_meta("name")
        self.name = name or stored or DEFAULT_NAME
        if self.name != stored:
            self.store.set_meta("name", self.name)
        if require_grp is not None:
            self.store.set_meta("require_grp", "1" if require_grp else "0")
        self.require_grp = team is None and self.store.get_meta("require_grp") == "1"
        """Visitors without the widget's GRP mark are refused (hushwire.inbox.grpgate)."""
        self._refused: set[str] = set()
        """Connections of visitors refused for want of GRP (never conversations)."""
        self._refusing: set[asyncio.Task[None]] = set()
        self.address = ""
        """The contact address's full link (older clients and the widget read only these)."""
        self.short_address: str | None = None
        """Its short link (SMP v15+ relays), shown first; None for older addresses."""
        self.snippet: str | None = None
        self._subscribers: set[Subscriber] = set()
        self._sent: dict[tuple[str, int], asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self.notices: list[str] = []
        """What the owner must know about the inbox as a whole (newest last)."""
        self.team: TeamHost | TeamOperator | None = None
        if team is not None:
            team_store = TeamStore(data / "team.sqlite3")
            team_store.put("role", team)
            if team == "host":
                self.team = TeamHost(self, team_store, team_settings)
            else:
                self.team = TeamOperator(self, team_store)
        self.shop: ShopOwner | None = None
        """The shop (``--shop``): answers catalog requests and orders (hushwire.shop)."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.agent.start()
        profile = hushwire_profile(self.name)
        info = x_info(profile).encode_conn_info()
        link_data = contact_link_data(profile, business=isinstance(self.team, TeamHost))
        _, self.address = await self.agent.create_address(info, link_data=link_data)
        self.short_address = self.agent.short_address()
        self._reconcile()
        if self.shop_file is not None:
            self.shop = ShopOwner(
                self.data / "shop.sqlite3",
                self.shop_file,
                self.agent,
                sealer=self.agent.store.sealer,
                publish=self._publish,
                name_of=self._name_of,
                clock=self.clock,
            )
        # The widget joins the short link too (its "short" module resolves it on the relay).
        self.snippet = await widget_snippet(
            self.short_address or self.address, self.widget_relay, grp=self.require_grp
        )
        if self.team is not None:
            await self.team.recover()
        self._task = asyncio.create_task(self._consume())
        for conn_id in self._refused:  # refused before a restart and not deleted yet
            st = self.agent.connection(conn_id)
            if st is not None and st.status == "connected":
                self._refuse(conn_id)

    async def stop(self) -> None:
        for t in list(self._refusing):
            t.cancel()
        if self._refusing:
            await asyncio.wait(self._refusing)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for fut in self._sent.values():
            fut.cancel()
        await self.agent.stop()
        self.store.close()
        if self.team is not None:
            self.team.store.close()
        if self.shop is not None:
            self.shop.close()

    def _name_of(self, conv_id: str) -> str:
        conv = self.store.conversation(conv_id)
        return conv.name if conv is not None else "Customer"

    def _reconcile(self) -> None:
        """Conversations the agent has but the history lacks (a lost inbox.sqlite3) are
        added; ones whose connection is gone are marked ended."""
        now = self.clock()
        known = self.store.conversation_ids()
        live = set()
        for st in self.agent.store.all_connections():
            if st.kind != "duplex" or (self.team is not None and self.team.owns(st.conn_id)):
                continue
            if self.require_grp and not on_grp(st.peer_info or b""):
                self._refused.add(st.conn_id)
                continue
            live.add(st.conn_id)
            status = "online" if st.status == "connected" else "connecting"
            if st.conn_id not in known:
                name = profile_name(st.peer_info or b"") if st.peer_info else None
                self.store.upsert_conversation(st.conn_id, name, status, now)
        for conv_id in known - live:
            self.store.set_status(conv_id, "ended", now)

    # ------------------------------------------------------------------ updates

    def subscribe(self) -> Subscriber:
        sub = Subscriber()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def _publish(self, update: dict[str, Any]) -> None:
        for sub in list(self._subscribers):
            sub.push(update)

    def _publish_conversation(self, conv_id: str) -> None:
        conv = self.store.conversation(conv_id)
        if conv is not None:
            self._publish({"type": "conversation", "conversation": self.conversation_json(conv)})

    def _publish_message(self, msg: Message) -> None:
        self._publish({"type": "message", "message": self.messages_json([msg])[0]})
        self._publish_conversation(msg.conv_id)

    # the team parts publish through these
    publish = _publish
    publish_conversation = _publish_conversation
    publish_message = _publish_message

    @property
    def team_role(self) -> str | None:
        """``host`` (a team inbox), ``operator`` (an operator's inbox) or None."""
        if self.team is None:
            return None
        return "host" if isinstance(self.team, TeamHost) else "operator"

    def conversation_json(self, conv: Conversation) -> dict[str, Any]:
        """A conversation for the UI: with its team fields (assignment) in a team."""
        out = conv.to_json()
        if self.team is not None and self.team.store.has_group(conv.id):
            out.update(self.team.extras(conv.id))
        return out

    def messages_json(self, messages: list[Message]) -> list[dict[str, Any]]:
        """Messages for the UI: with the author of the team's messages in a team."""
        authors = {} if self.team is None else self.team.authors([m.id for m in messages])
        return [{**m.to_json(), "author": authors.get(m.id)} for m in messages]

    # ------------------------------------------------------------------ agent events

    async def _consume(self) -> None:
        while True:
            ev = await self.agent.events.get()
            try:
                await self._handle(ev)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad event must not stop the inbox
                log.exception("inbox: failed to handle an agent event")

    async def _handle(self, ev: AgentEvent) -> None:
        if self.team is not None and await self.team.handle(ev):
            return
        if self.require_grp and await self._gate(ev):
            return
        now = self.clock()
        if isinstance(ev, ConnectionRequested):
            self.store.upsert_conversation(ev.conn_id, profile_name(ev.info), "connecting", now)
            self._publish_conversation(ev.conn_id)
            log.info("%s: a visitor asks to connect", ev.conn_id[:8])
        elif isinstance(ev, ConnectionEstablished):
            self.store.upsert_conversation(ev.conn_id, profile_name(ev.info), "online", now)
            self._publish_conversation(ev.conn_id)
            log.info("%s: connected", ev.conn_id[:8])
        elif isinstance(ev, MessageReceived):
            await self._on_message(ev, now)
        elif isinstance(ev, MessageSent):
            fut = self._sent.pop((ev.conn_id, ev.snd_id), None)
            if fut is not None and not fut.done():
                fut.set_result(None)
            self._delivery(ev.conn_id, ev.snd_id, "sent")
        elif isinstance(ev, ReceiptReceived):
            if ev.ok:
                self._delivery(ev.conn_id, ev.snd_id, "delivered")
        elif isinstance(ev, ConnectionDeleted):
            if self.store.set_status(ev.conn_id, "ended", now):
                self._publish_conversation(ev.conn_id)
        elif isinstance(ev, AgentProblem):
            log.warning("%s: %s", (ev.conn_id or "-")[:8], ev.message)
        elif isinstance(ev, SubscriptionEnded | QueueDeleted):
            self._queue_lost(ev)
        elif isinstance(ev, QueueSwitchChanged):
            log.info("%s: relay change (%s) %s", ev.conn_id[:8], ev.direction, ev.phase)
        elif isinstance(ev, RatchetSyncChanged) and ev.state in ("allowed", "required"):
            self._notice(
                ev.conn_id,
                f"A conversation's encryption is out of step ({ev.error}): a message from the "
                "visitor could not be read. It can be repaired from the visitor's app.",
            )

    async def _gate(self, ev: AgentEvent) -> bool:
        """``--require-grp``: True if ``ev`` belongs to a visitor refused for want of GRP
        (handled here: never a conversation)."""
        if isinstance(ev, ConnectionRequested | ConnectionEstablished):
            if ev.conn_id not in self._refused and on_grp(ev.info):
                return False
            if ev.conn_id not in self._refused:
                log.info("%s: a visitor without GRP asks to connect: refused", ev.conn_id[:8])
                self._refused.add(ev.conn_id)
            if isinstance(ev, ConnectionEstablished):
                self._refuse(ev.conn_id)
            return True
        if isinstance(ev, MessageReceived) and ev.conn_id in self._refused:
            await self.agent.ack_message(ev.msg_id, receipt=False)  # unread
            return True
        if isinstance(ev, ConnectionDeleted) and ev.conn_id in self._refused:
            self._refused.discard(ev.conn_id)
            return True
        return False

    def _refuse(self, conn_id: str) -> None:
        """Tell the refused visitor why (:data:`REFUSAL`), end and delete the connection; in a
        task, since waiting for the relay needs this event loop's ``MessageSent``."""
        task = asyncio.create_task(self._send_refusal(conn_id))
        self._refusing.add(task)
        task.add_done_callback(self._refusing.discard)

    async def _send_refusal(self, conn_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            await self.agent.send(conn_id, x_msg_new_text(REFUSAL, os.urandom(12)).encode())
            snd_id = await self.agent.send(conn_id, x_direct_del().encode())
            fut = self._sent.setdefault((conn_id, snd_id), loop.create_future())
            try:
                await asyncio.wait_for(asyncio.shield(fut), END_SEND_TIMEOUT)
            finally:
                self._sent.pop((conn_id, snd_id), None)
        except (AgentError, TimeoutError) as e:
            log.info("%s: the refusal did not reach the relay: %s", conn_id[:8], e)
        finally:
            with contextlib.suppress(AgentError):
                await self.agent.delete(conn_id)
        log.info("%s: refused (no GRP) and deleted", conn_id[:8])

    def _queue_lost(self, ev: SubscriptionEnded | QueueDeleted) -> None:
        st = self.agent.connection(ev.conn_id)
        what = "its address" if st is not None and st.kind == "contact" else "a conversation"
        if isinstance(ev, SubscriptionEnded):
            text = (
                f"This inbox stopped receiving: another process took over {what} "
                f"(relay {ev.server}). Stop the other one and restart this inbox."
            )
        else:
            text = (
                f"This inbox stopped receiving: another process deleted {what} (relay {ev.server})."
            )
        self._notice(ev.conn_id, text)

    def _notice(self, conn_id: str, text: str) -> None:
        log.warning("%s: %s", conn_id[:8], text)
        self.notices = [*self.notices[-(MAX_NOTICES - 1) :], text]
        self._publish({"type": "notice", "text": text})

    def _delivery(self, conv_id: str, snd_id: int, state: str) -> None:
        msg = self.store.set_delivery(conv_id, snd_id, state)
        if msg is not None:
            self._publish({"type": "message", "message": msg.to_json()})

    async def _on_message(self, ev: MessageReceived, now: float) -> None:
        if self.store.conversation(ev.conn_id) is None:
            st = self.agent.connection(ev.conn_id)
            name = profile_name(st.peer_info) if st is not None and st.peer_info else None
            self.store.upsert_conversation(ev.conn_id, name, "online", now)
        content = False
        ended = False
        for part, item in enumerate(parse_chat_elements(ev.body)):
            if isinstance(item, DecodeError):
                log.info("%s: a chat message could not be read", ev.conn_id[:8])
                continue
            try:
                chat = interpret(item)
            except DecodeError:
                continue
            if isinstance(chat, XMsgNew):
                content = True
                raw = shop_payload(item)
                if self.shop is not None and raw is not None:  # stored by the shop if an order
                    await self.shop.on_message(ev.conn_id, raw)
                    continue
                text = chat.text if chat.text else f"[{chat.content_type}]"
                msg = self.store.add_incoming(ev.conn_id, ev.msg_id, part, text, now)
                if msg is not None:
                    self._publish_message(msg)
            elif isinstance(chat, XInfo):
                self.store.upsert_conversation(ev.conn_id, chat.profile.display_name, "online", now)
                self._publish_conversation(ev.conn_id)
            elif isinstance(chat, XDirectDel):
                ended = True
        # Stored above: now the agent may acknowledge it (and tell the visitor).
        await self.agent.ack_message(ev.msg_id, receipt=content)
        if ended:
            self.store.set_status(ev.conn_id, "ended", now)
            self._publish_conversation(ev.conn_id)
            log.info("%s: the visitor ended the conversation", ev.conn_id[:8])
            await self.agent.delete(ev.conn_id)

    # ------------------------------------------------------------------ requests

    def resolve(self, ref: str) -> str:
        """A conversation id from an id or a unique id prefix."""
        ref = ref.strip()
        if not ref:
            raise InboxError("name a conversation: its id or the start of it (see `list`)")
        found = self.store.find_conversations(ref)
        if len(found) == 1:
            return found[0]
        if not found:
            raise InboxError(f"no conversation {ref!r}: see the list for ids", 404)
        raise InboxError(f"{ref!r} matches {len(found)} conversations: give more of the id")

    def conversations(self) -> list[Conversation]:
        return self.store.conversations()

    def conversation(self, conv_id: str) -> tuple[Conversation, list[Message]]:
        conv = self.store.conversation(conv_id)
        if conv is None:
            raise InboxError("no such conversation", 404)
        return conv, self.store.messages(conv_id)

    def mark_read(self, conv_id: str) -> None:
        if self.store.mark_read(conv_id):
            self._publish_conversation(conv_id)

    async def reply(self, conv_id: str, text: str) -> Message:
        conv = self.store.conversation(conv_id)
        if conv is None:
            raise InboxError("no such conversation", 404)
        if not text.strip():
            raise InboxError("write something to send")
        if len(text) > REPLY_MAX_CHARS:
            raise InboxError(f"the reply is longer than {REPLY_MAX_CHARS} characters: shorten it")
        if conv.status == "ended":
            raise InboxError(
                "this conversation has ended: the visitor can no longer be reached", 409
            )
        try:
            body = x_msg_new_text(text, os.urandom(12)).encode()
        except ChatMessageTooLarge as e:
            raise InboxError(str(e), 413) from e
        if self.team is not None:
            team_msg = await self.team.reply(conv_id, text)
            if team_msg is not None:
                self._publish_message(team_msg)
                return team_msg
        try:
            snd_id = await self.agent.send(conv_id, body)
        except AgentError as e:
            raise InboxError(f"cannot send yet: {e}", 409) from e
        msg = self.store.add_outgoing(conv_id, snd_id, text, self.clock())
        self._publish_message(msg)
        return msg

    async def change_relay(self, conv_id: str) -> None:
        """Move the conversation's receiving queue to a new one on this inbox's relay
        (``Agent.switch_connection``); SimpleX apps follow, the widget keeps the old one."""
        if self.store.conversation(conv_id) is None:
            raise InboxError("no such conversation", 404)
        try:
            await self.agent.switch_connection(conv_id)
        except AgentError as e:
            raise InboxError(f"cannot change the relay now: {e}", 409) from None

    async def end(self, conv_id: str) -> None:
        """End the conversation: tell the visitor (``x.direct.del``), delete the connection
        and its queues, erase the local history."""
        if self.store.conversation(conv_id) is None:
            raise InboxError("no such conversation", 404)
        if self.team is not None and await self.team.end(conv_id):
            self.store.delete_conversation(conv_id)
            self._publish({"type": "deleted", "id": conv_id})
            return
        st = self.agent.connection(conv_id)
        if st is not None and st.status == "connected":
            loop = asyncio.get_running_loop()
            try:
                snd_id = await self.agent.send(conv_id, x_direct_del().encode())
            except AgentError:
                pass
            else:
                fut = self._sent.setdefault((conv_id, snd_id), loop.create_future())
                try:
                    await asyncio.wait_for(asyncio.shield(fut), END_SEND_TIMEOUT)
                except TimeoutError:
                    log.warning("%s: ending before the relay took the notice", conv_id[:8])
                finally:
                    self._sent.pop((conv_id, snd_id), None)
        if st is not None:
            await self.agent.delete(conv_id)
        self.store.delete_conversation(conv_id)
        self._publish({"type": "deleted", "id": conv_id})
        log.info("%s: ended and erased by the owner", conv_id[:8])

    def search(self, text: str) -> list[dict[str, Any]]:
        if not text.strip():
            return []
        return [{**m.to_json(), "name": name} for m, name in self.store.search(text.strip())]

    def settings(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "short_address": self.short_address,
            "snippet": self.snippet,
            "snippet_note": None
            if self.snippet
            else NEEDS_GRP_RELAY
            if self.require_grp
            else WIDGET_NOTE,
            "require_grp": self.require_grp,
            "notices": list(self.notices),
            "data": str(self.data.resolve()),
        }


async def widget_snippet(address: str, relay_url: str, *, grp: bool = False) -> str | None:
    """The widget embed snippet from ``hushwire widget snippet`` (with ``--profile grp`` if
    ``grp``), when the widget is built and takes the relay; None otherwise (the UI and the
    terminal then show :data:`WIDGET_NOTE` or the GRP note)."""
    if importlib.util.find_spec("hushwire.widget") is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hushwire",
            "widget",
            "snippet",
            "--address",
            address,
            "--relay",
            relay_url,
            *(["--profile", "grp"] if grp else []),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return None
    except OSError:
        return None
    text = out.decode("utf-8", "replace").strip()
    return text if proc.returncode == 0 and text else None
