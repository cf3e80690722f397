"""Imports point only downward (ARCHITECTURE.md section 2), and the sans-I/O layers
never touch asyncio, sockets or TLS. Parsed from the source, so no import side effects."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "hushwire"

# Layer rank: a module may import hushwire modules of a lower or equal rank only.
RANK = {
    "errors": 0,
    "limits": 0,
    "encoding": 1,
    "crypto": 2,
    "smp": 3,
    "transport": 4,
    "server": 5,
    "client": 5,
    "agent": 6,
    "chat": 7,
    "inbox": 8,
    "shop": 8,
    "widget": 8,
    "bot": 8,
    "rooms": 8,
    "demo": 9,
    "testing": 9,
    "cli": 10,
    "__main__": 11,
    "__init__": 10,
}
SANS_IO = {"encoding", "crypto", "smp", "chat"}
FORBIDDEN_IN_SANS_IO = {"asyncio", "socket", "ssl", "selectors", "websockets", "uvloop"}


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "hushwire":
                names.extend(f"hushwire.{a.name}" for a in node.names)
    return names


MODULES = sorted(SRC.rglob("*.py"))


def test_every_layer_is_known() -> None:
    for path in MODULES:
        assert _layer(path) in RANK, f"{path} is in no layer of ARCHITECTURE.md"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_downward(path: Path) -> None:
    layer = _layer(path)
    for name in _imports(path):
        top = name.split(".")[0]
        if layer in SANS_IO:
            assert top not in FORBIDDEN_IN_SANS_IO, f"{path}: sans-I/O layer imports {name}"
        if top != "hushwire" or name == "hushwire":
            continue
        target = name.split(".")[1]
        if target == "__version__":
            continue
        assert target in RANK, f"{path}: imports unknown layer {name}"
        assert RANK[target] <= RANK[layer], f"{path}: {layer} imports higher layer {name}"
        if layer != target:
            assert RANK[target] < RANK[layer] or target in ("errors", "limits"), (
                f"{path}: {layer} imports sibling layer {name}"
            )


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "mod.py"
    bad.write_text("import asyncio\nfrom hushwire.server import x\n")
    assert _imports(bad) == ["asyncio", "hushwire.server"]
