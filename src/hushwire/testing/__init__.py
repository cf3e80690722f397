"""Public fakes for testing code built on Hushwire: no sockets, no waiting on real time.

- ``transport``: an in-memory pair of block connections (:func:`memory_pipe`) with hooks
  to rewrite, drop, hold and inject blocks;
- ``clock``: :class:`FakeClock`, wall and monotonic time moved by hand;
- ``relay``: :class:`MemoryRelay`, the real relay served over in-memory connections, and
  :func:`connect_client`, the SMP client over one of them;
- ``relayproc``: :func:`start_relay_process`, a real ``hushwire relay`` child process, and
  :func:`parse_relay_startup`, the parser of the lines it prints when it starts.

This layer sits above everything but the applications and opens no socket itself.
"""

from __future__ import annotations

from hushwire.testing.clock import FakeClock
from hushwire.testing.relay import (
    FakeIdentity,
    MemoryRelay,
    connect_client,
    drop_all_blocks,
    new_store,
    replace_block,
    rewrite_server_hello,
)
from hushwire.testing.relayproc import (
    RelayProcess,
    RelayStartup,
    parse_relay_startup,
    start_relay_process,
)
from hushwire.testing.transport import BlockFilter, MemoryConn, MemoryLink, memory_pipe

__all__ = [
    "BlockFilter",
    "FakeClock",
    "FakeIdentity",
    "MemoryConn",
    "MemoryLink",
    "MemoryRelay",
    "RelayProcess",
    "RelayStartup",
    "connect_client",
    "drop_all_blocks",
    "memory_pipe",
    "new_store",
    "parse_relay_startup",
    "replace_block",
    "rewrite_server_hello",
    "start_relay_process",
]
