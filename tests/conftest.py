"""Shared test helpers: vector loading, a relay of the test's own process on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from hushwire.server.config import RelayConfig
from hushwire.server.run import RunningRelay, start_relay
from hushwire.testing.grp import tls_address

# Hypothesis' per-example deadline is a wall-clock assertion: on a loaded machine (CI, helpers
# sharing two cores) a correct test fails with DeadlineExceeded. Tests assert behaviour only.
settings.register_profile("hushwire", deadline=None)
settings.load_profile("hushwire")

VECTORS = Path(__file__).parent / "vectors"


def load_vectors(name: str) -> Any:
    data = json.loads((VECTORS / name).read_text())
    assert data.get("source"), f"{name} has no source field"
    return data


@pytest.fixture
def vectors() -> Any:
    return load_vectors


@asynccontextmanager
async def loopback_relay(data: Path, **settings: object) -> AsyncIterator[RunningRelay]:
    """A relay in this process (its counters readable) on loopback: WebSocket and TLS on free
    ports, host 127.0.0.1; ``settings`` replace fields of its ``RelayConfig`` (``ws=None``:
    no WebSocket listener). Stopped on exit."""
    cfg = RelayConfig(data=data, ws=("127.0.0.1", 0), tls=("127.0.0.1", 0), host="127.0.0.1")
    running = await start_relay(replace(cfg, **settings))  # type: ignore[arg-type]
    try:
        yield running
    finally:
        await running.stop()


loopback_address = tls_address
"""The address a client dials for a :func:`loopback_relay`: 127.0.0.1 and its TLS port."""
