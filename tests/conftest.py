"""Shared test helpers: vector loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

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
