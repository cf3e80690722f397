"""Every committed vector file is either re-made by a committed generator or listed as kept.

Each generator module has a ``render() -> {file name: exact text}``; this test runs it and
diffs the result with tests/vectors/. A failure means the generator and the committed file
disagree: run the generator (command in its docstring), review the diff, commit both.
Files whose bytes come from outside (other projects' tests, RFCs, hand transcription
before generators were kept) are listed in :data:`KEPT` with the reason; their ``source``
field says where each value comes from. docs/contributing.md explains how to add a vector.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

TESTS = Path(__file__).resolve().parent
VECTORS = TESTS / "vectors"

GENERATORS: dict[str, Path] = {
    "smp": TESTS / "smp" / "make_vectors.py",
    "smp_proxy": TESTS / "smp" / "make_proxy_vectors.py",
    "agent_msgheader": VECTORS / "generators" / "agent_msgheader.py",
    "computed": VECTORS / "generators" / "computed.py",
    "agent_ratchet": VECTORS / "generators" / "agent_ratchet.py",
    "regression": VECTORS / "generators" / "regression.py",
    "agent_protocol": VECTORS / "generators" / "agent_protocol.py",
    "agent_shortlinks": VECTORS / "generators" / "agent_shortlinks.py",
    "shop": VECTORS / "generators" / "shop.py",
}
"""Generator name -> script. Each script's ``render()`` returns the files it owns."""

KEPT: dict[str, str] = {
    "app_rooms.json": "a room scenario written by hand; tests/app/test_app_room_vectors.py runs "
    "it through the Python GroupHost and compares every body (entries marked app are the web "
    "app's own additions)",
    "agent_links.json": "links from simplexmq tests/AgentTests/ConnectionRequestTests.hs and "
    "simplex-js; hand-transcribed",
    "agent_transcripts.json": "connection handshake, ratchet sync and queue switch transcripts, "
    "written by hand",
    "grp_noise.json": "Noise IK: the cacophony inputs and handshake hash; ciphertexts from "
    "noiseprotocol 0.3.1 (PyPI), an independent implementation",
    "grp_mlkem.json": "NIST ACVP FIPS 203 ML-KEM-768 vectors as shipped by kyber-py 1.2.0",
    "grp_handshake.json": "GRP/1 transcript computed once by a separate throw-away "
    "implementation during the design; reproduced by the Python and the TypeScript GRP",
    "chat_groups.json": "group events: simplex-chat tests/ProtocolTests.hs strings and forms "
    "built from simplex-chat's encoder, hand-transcribed (each case names its source)",
}
"""Vector files with no generator, and why."""


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_vector_generator_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # make_vectors.py imports its sibling smp_cases
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def _rendered() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for name, path in GENERATORS.items():
        render: Callable[[], dict[str, str]] = _load(name, path).render
        for file, text in render().items():
            assert file not in out, f"{file} is made by two generators"
            out[file] = (name, text)
    return out


RENDERED = _rendered()


@pytest.mark.parametrize("file", sorted(RENDERED))
def test_generator_output_matches_committed_file(file: str) -> None:
    generator, text = RENDERED[file]
    committed = (VECTORS / file).read_text()
    if text != committed:
        diff = difflib.unified_diff(
            committed.splitlines(), text.splitlines(), "committed", generator, lineterm=""
        )
        pytest.fail(f"{file} differs from its generator {generator}:\n" + "\n".join(diff)[:4000])


def test_every_vector_file_is_generated_or_kept() -> None:
    files = {p.name for p in VECTORS.glob("*.json")}
    generated = set(RENDERED)
    assert not generated & set(KEPT), "a file is both generated and kept"
    assert files - generated - set(KEPT) == set(), "a vector file with no generator and no reason"
    assert generated <= files, "a generator writes a file that is not committed"
