"""A real relay serving GRP/1 on loopback, for tests and benchmarks (docs/grp.md).

:func:`grp_relay` starts :func:`hushwire.server.run.start_relay` in this process with TLS,
GRP (and optionally a plain WebSocket) on free ports of 127.0.0.1 and the cover rate given
(the protocol's 1 frame/s makes tests slow; both ends of a test link must use the same rate,
since each side holds its peer to about three times its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from hushwire.server.config import RelayConfig
from hushwire.server.run import RunningRelay, start_relay
from hushwire.smp.address import SMPServer


@asynccontextmanager
async def grp_relay(
    data: Path, rate: float, *, ws: bool = False, grp_peers: tuple[str, ...] = ()
) -> AsyncIterator[RunningRelay]:
    """A relay with ``--tls``, ``--grp`` (and ``--ws`` if asked) on 127.0.0.1, stopped on exit;
    ``grp_peers``: GRP addresses of destinations it forwards to over GRP."""
    cfg = RelayConfig(
        data=data,
        ws=("127.0.0.1", 0) if ws else None,
        tls=("127.0.0.1", 0),
        grp=("127.0.0.1", 0),
        host="127.0.0.1",
        grp_cover_rate=rate,
        grp_peers=grp_peers,
    )
    running = await start_relay(cfg)
    try:
        yield running
    finally:
        await running.stop()


def tls_address(running: RunningRelay) -> SMPServer:
    """The relay's SMP address with its TLS port on 127.0.0.1."""
    return replace(running.address, hosts=("127.0.0.1",), port=running.tls_port)
