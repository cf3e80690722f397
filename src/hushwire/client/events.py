"""Events the SMP client puts on its ``events`` queue.

Server-initiated transmissions (empty corrId: ``MSG``, ``END``, ``DELD``, ``NMSG``, or an
``ERR`` the server could not tie to a command) become typed events, as simplexmq
``Client.hs`` passes ``STEvent`` to its ``msgQ``. The reconnecting client adds
:class:`Disconnected` and :class:`Reconnected`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hushwire.smp.commands import MSG, NMSG
from hushwire.smp.errors import ErrorType
from hushwire.smp.ids import EntityId, NotifierId, RecipientId


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A message pushed to a subscribed queue; decrypt with :func:`decrypt_message`, then ACK."""

    recipient_id: RecipientId
    msg: MSG


@dataclass(frozen=True, slots=True)
class QueueLost:
    """The server no longer delivers the subscribed queue ``recipient_id`` to this
    connection (the subscription is dropped)."""

    recipient_id: RecipientId


@dataclass(frozen=True, slots=True)
class SubscriptionEnded(QueueLost):
    """``END``: another connection subscribed to the queue; this one gets no more messages."""


@dataclass(frozen=True, slots=True)
class QueueDeleted(QueueLost):
    """``DELD``: the queue was deleted by another connection."""


@dataclass(frozen=True, slots=True)
class NotificationEvent:
    """``NMSG`` on a notifier subscription."""

    notifier_id: NotifierId
    nmsg: NMSG


@dataclass(frozen=True, slots=True)
class ServerErrorEvent:
    """An error the server sent without a corrId, or a transmission that did not decode."""

    entity_id: EntityId
    error: ErrorType


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The reconnecting client lost its connection and is about to reconnect."""

    reason: str


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The reconnecting client is connected again.

    ``resubscribed`` are the queues subscribed again; ``failed`` the queues the server
    refused (with its error), which are dropped from the subscriptions.
    """

    attempts: int
    resubscribed: tuple[RecipientId, ...]
    failed: tuple[tuple[RecipientId, ErrorType], ...]


ClientEvent = (
    MessageEvent
    | SubscriptionEnded
    | QueueDeleted
    | NotificationEvent
    | ServerErrorEvent
    | Disconnected
    | Reconnected
)
