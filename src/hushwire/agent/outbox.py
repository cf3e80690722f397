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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from hushwire.agent.machine import signed
from hushwire.agent.sealing import key_pair
from hushwire.agent.store import AgentStore, SndMessage
from hushwire.client import ConnectionLost, SMPClientError, SMPCommandError
from hushwire.client.reconnect import ReconnectingClient
from hushwire.crypto.keys import KeyPair
from hushwire.smp.address import SMPServer
from hushwire.smp.errors import ErrorType

__all__ = ["Outbox"]

log = logging.getLogger("hushwire.agent")

RETRY_FIRST: Final = 0.5
"""Seconds before the first retry of a SEND; the delay doubles on every further failure."""
RETRY_MAX_NETWORK: Final = 30.0
RETRY_MAX_QUOTA: Final = 60.0


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
    ) -> None:
        self._store = store
        self._key_pair = key_pair
        self._sleep = sleep
        self._client = client
        self._after_sent = after_sent
        self._report = report
        self._tasks: dict[str, asyncio.Task[None]] = {}
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

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks.values())

    async def _deliver(self, conn_id: str) -> None:
        delay = RETRY_FIRST
        while not self.closing:
            m = self._store.next_snd_message(conn_id)
            if m is None:
                return
            st = self._store.peek(conn_id)
            if st is None or st.snd is None:
                return
            key = self._key_pair(st.snd.snd_auth_key) if signed(m.kind) else None
            try:
                await self._store.durable()
                rc = await self._client(SMPServer.parse(st.snd.server))
                await rc.send(st.snd.snd_id, m.body, key=key)
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
