"""Asyncio SMP client: handshake, typed commands, events, keepalive, reconnect.

Mirrors simplexmq ``Client.hs`` and ``Transport.hs`` ``smpClientHandshake`` on top of the
sans-I/O :mod:`hushwire.smp` codec and the :mod:`hushwire.transport` block connections.

- :class:`SMPClient` (``client``): one connection; ``await SMPClient.connect(server)``.
- :class:`ReconnectingClient` (``reconnect``): reconnects with backoff and subscribes again.
- ``events``: what the server pushes (:class:`MessageEvent` ...).
- ``errors``: :class:`SMPClientError` and its subclasses.
"""

from __future__ import annotations

from hushwire.client.client import (
    ClientConfig,
    SMPClient,
    decrypt_message,
    decrypt_message_with_key,
    queue_dh_key,
)
from hushwire.client.errors import (
    ConnectFailed,
    ConnectionLost,
    HandshakeFailed,
    IdentityMismatch,
    ResponseTimeout,
    SMPClientError,
    SMPCommandError,
    UnexpectedResponse,
    VersionMismatch,
)
from hushwire.client.events import (
    ClientEvent,
    Disconnected,
    MessageEvent,
    NotificationEvent,
    QueueDeleted,
    QueueLost,
    Reconnected,
    ServerErrorEvent,
    SubscriptionEnded,
)
from hushwire.client.handshake import CLIENT_VERSION_RANGE, Session, client_handshake
from hushwire.client.reconnect import Backoff, ReconnectingClient

__all__ = [
    "CLIENT_VERSION_RANGE",
    "Backoff",
    "ClientConfig",
    "ClientEvent",
    "ConnectFailed",
    "ConnectionLost",
    "Disconnected",
    "HandshakeFailed",
    "IdentityMismatch",
    "MessageEvent",
    "NotificationEvent",
    "QueueDeleted",
    "QueueLost",
    "Reconnected",
    "ReconnectingClient",
    "ResponseTimeout",
    "SMPClient",
    "SMPClientError",
    "SMPCommandError",
    "ServerErrorEvent",
    "Session",
    "SubscriptionEnded",
    "UnexpectedResponse",
    "VersionMismatch",
    "client_handshake",
    "decrypt_message",
    "decrypt_message_with_key",
    "queue_dh_key",
]
