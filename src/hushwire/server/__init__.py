"""The relay: an SMP server (the ``server`` layer of docs/architecture.md).

``relay`` accepts connections and runs the handshake; ``session`` is a connection's I/O
(reader, writer, pipelining, token buckets); ``auth`` checks command signatures; ``dispatch``
is the command logic over the store, testable without sockets; ``store`` is the queue and
message store (one contract, memory and SQLite backends), the only relay code that touches
disk. Mirrors simplexmq ``Simplex.Messaging.Server`` and its ``Server.QueueStore`` /
``Server.MsgStore`` modules; see docs/protocol/smp.md.
"""

from __future__ import annotations
