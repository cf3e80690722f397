"""The relay: an SMP server (ARCHITECTURE.md section 2, ``server`` layer).

Dispatch is pure; the durable queue and message store (``store``) is the only relay code that
touches disk. Mirrors simplexmq ``Simplex.Messaging.Server`` and its ``QueueStore`` /
``MsgStore`` modules (smp-relay.md sections 5 and 6).
"""

from __future__ import annotations
