"""Shared test helpers: vector loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

VECTORS = Path(__file__).parent / "vectors"


def load_vectors(name: str) -> Any:
    data = json.loads((VECTORS / name).read_text())
    assert data.get("source"), f"{name} has no source field"
    return data


@pytest.fixture
def vectors() -> Any:
    return load_vectors
