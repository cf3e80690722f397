"""Every benchmark still imports against the current package (a renamed or moved name breaks
``make bench`` without breaking anything else), and each ends with a ``RESULT {json}`` line.

The benchmarks themselves are not run here: their figures belong in issue notes, never in an
assertion about time.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_imports_and_prints_a_result_line(path: Path) -> None:
    sys.path.insert(0, str(BENCH))  # the scripts import their sibling _procs.py
    try:
        spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop(f"_bench_{path.stem}", None)
    assert "RESULT " in path.read_text()
    assert callable(getattr(module, "main", None))


def test_there_are_benchmarks() -> None:
    assert len(SCRIPTS) >= 4
