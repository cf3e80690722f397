"""The only code that opens sockets: streams of 16384-byte SMP blocks.

- ``blocks``: the :class:`BlockConn` interface and its two framings: raw blocks over TLS
  (native SimpleX clients, ALPN ``smp/1``) and one binary WebSocket message per block
  (browsers; simplexmq ``Transport/WebSockets.hs``).
- ``listen``: servers: a plain WebSocket port (localhost or behind a TLS proxy) and a TLS
  port that serves native SMP and WSS side by side, picking the web certificate by SNI
  (simplexmq ``Transport/Server.hs``, shared-port RFC).
- ``connect``: client connectors for ``ws://``, ``wss://`` and native TLS.
"""

from __future__ import annotations

from hushwire.transport.blocks import (
    BadBlockError,
    BlockConn,
    ConnectionClosedError,
    TransportFailure,
)

__all__ = [
    "BadBlockError",
    "BlockConn",
    "ConnectionClosedError",
    "TransportFailure",
]
