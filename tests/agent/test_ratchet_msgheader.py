"""The plaintext ratchet ``MsgHeader`` against tests/vectors/agent_msgheader.json, both ways.

The vectors are hand-assembled from simplexmq ``Simplex.Messaging.Crypto.Ratchet``
(``encodeMsgHeader``/``msgHeaderP``) by tests/vectors/generators/agent_msgheader.py; the
widget's vitest suite reads the same file (widget/test/msgheader.test.ts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hushwire.agent.ratchet import E2E_VERSIONS, MsgHeader
from hushwire.crypto.keys import PublicKey
from hushwire.errors import DecodeError

V = json.loads((Path(__file__).parents[1] / "vectors" / "agent_msgheader.json").read_text())


def _header(d: dict[str, Any]) -> MsgHeader:
    dh = PublicKey.from_der(bytes.fromhex(d["dh_spki_hex"]))
    return MsgHeader(d["max_version"], dh, d["pn"], d["ns"], d["kem"])


def test_every_supported_version_has_vectors() -> None:
    assert V["versions"] == list(range(E2E_VERSIONS.min, E2E_VERSIONS.max + 1))
    assert {c["e2e_version"] for c in V["headers"]} == set(V["versions"])


@pytest.mark.parametrize("c", V["headers"], ids=lambda c: f"v{c['e2e_version']} {c['name']}")
def test_encode_and_decode(c: dict[str, Any]) -> None:
    v, data = c["e2e_version"], bytes.fromhex(c["hex"])
    assert _header(c["decoded"]).encode(v) == data
    assert MsgHeader.decode(v, data) == _header(c["decoded"])


@pytest.mark.parametrize("c", V["decode_only"], ids=lambda c: c["name"])
def test_decode_only(c: dict[str, Any]) -> None:
    assert MsgHeader.decode(c["e2e_version"], bytes.fromhex(c["hex"])) == _header(c["decoded"])


@pytest.mark.parametrize("c", V["invalid"], ids=lambda c: c["name"])
def test_invalid(c: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        MsgHeader.decode(c["e2e_version"], bytes.fromhex(c["hex"]))
