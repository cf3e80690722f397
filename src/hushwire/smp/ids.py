"""Identifier types of SMP (Protocol.hs ``CorrId``, ``EntityId``, ``MsgId``; Transport.hs
``SessionId``). They are all bytes on the wire, distinct to the type checker.

Queue ids (recipient, sender, notifier, link), service ids and proxy session ids are all
``EntityId``, as in the reference (``type QueueId = EntityId``).
"""

from __future__ import annotations

from typing import NewType

CorrId = NewType("CorrId", bytes)
"""Correlation id of a transmission; 24 random bytes from clients, empty in server events."""

EntityId = NewType("EntityId", bytes)
"""Queue, link, service or proxy-session id addressed by a transmission; may be empty."""

MsgId = NewType("MsgId", bytes)
"""Server-assigned message id (24 bytes from the reference server)."""

SessionId = NewType("SessionId", bytes)
"""Transport session id (tls-unique, or random over plain WebSocket)."""

RecipientId = EntityId
SenderId = EntityId
NotifierId = EntityId
LinkId = EntityId
ServiceId = EntityId

NO_ENTITY = EntityId(b"")
NO_CORR_ID = CorrId(b"")
