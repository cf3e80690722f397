"""The decoded values per version in tests/vectors/smp_commands.json, read by Python.

The widget's vitest suite compares its decoder with the same ``decoded`` fields
(widget/test/smp.test.ts), so the two languages share one set of expectations instead of two
hand-written case tables. Here the Python codec is held to the same fields, in the same
language-neutral form (``plain`` in tests/smp/make_vectors.py).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hushwire.smp import commands as c

TESTS = Path(__file__).resolve().parent
V = json.loads((TESTS / "vectors" / "smp_commands.json").read_text())


def _load_plain() -> Callable[[Any], Any]:
    path = TESTS / "smp" / "make_vectors.py"
    spec = importlib.util.spec_from_file_location("_smp_make_vectors", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    plain: Callable[[Any], Any] = module.plain
    return plain


plain = _load_plain()


def _id(row: dict[str, Any]) -> str:
    return f"{row['name']}@v{row['version']}"


@pytest.mark.parametrize("row", V["commands"], ids=_id)
def test_decoded_command(row: dict[str, Any]) -> None:
    got = c.decode_command(row["version"], bytes.fromhex(row["hex"]))
    assert plain(got) == row["decoded"]


@pytest.mark.parametrize("row", V["responses"], ids=_id)
def test_decoded_response(row: dict[str, Any]) -> None:
    got = c.decode_response(row["version"], bytes.fromhex(row["hex"]))
    assert plain(got) == row["decoded"]


def test_decoded_values_differ_by_version() -> None:
    """The fields carry real per-version differences (NEW, IDS, SOK, DELD, ERR BLOCKED)."""
    by_name: dict[str, set[str]] = {}
    for row in V["commands"] + V["responses"]:
        by_name.setdefault(row["name"], set()).add(json.dumps(row["decoded"], sort_keys=True))
    varying = {name for name, forms in by_name.items() if len(forms) > 1}
    assert {"NEW basic", "IDS contact full", "SOK service", "DELD", "ERR BLOCKED notice"} <= varying
