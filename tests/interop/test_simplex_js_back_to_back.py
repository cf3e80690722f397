"""Interop: simplex-js receives back-to-back messages from a relay with default settings.

simplex-js 1.0.0 takes only ``OK`` as ACK's reply (README.md quirk Q3); the reference relay
answers ACK with the next message when one is waiting, which simplex-js drops together with
every later message on that queue. Our relay answers ``OK`` and pushes the next message to
every client at SMP v9 or lower (simplex-js speaks 6..9) without any setting, so three
messages sent back to back all reach simplex-js, each ACK answered ``OK``
(``smp_flow.mjs --burst 3``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hushwire.testing import start_relay_process

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def node() -> str:
    exe = shutil.which("node")
    assert exe, "node is needed for the interop tests (make test installs the npm packages)"
    assert (HERE / "node_modules" / "simplex-js").is_dir(), "run make test (npm ci)"
    return exe


def test_three_back_to_back_messages_on_a_default_relay(node: str, tmp_path: Path) -> None:
    relay = start_relay_process(tmp_path / "relay", ws=False)  # no --ack-next-as-push
    try:
        out = subprocess.run(
            [node, "smp_flow.mjs", relay.address.encode(), "--burst", "3"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        assert relay.stop() == 0
    report = out.stdout + out.stderr[-2000:]
    steps = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    summary = steps[-1]
    assert summary["step"] == "SUMMARY", report
    assert summary["failed"] == [], report
    # ACK is no quirk any more: the only ones left are simplex-js's unauthenticated commands.
    assert summary["expected_quirks"] == ["KEY", "SKEY", "DEL"], report
    burst = [(s["step"], s["ok"], s.get("msg")) for s in steps if s["step"].startswith("BURST")]
    assert burst == [
        *[("BURST_SEND", True, i) for i in (1, 2, 3)],
        *[(step, True, i) for i in (1, 2, 3) for step in ("BURST_MSG", "BURST_ACK")],
    ], report
    assert all(s["reply"] == "OK" for s in steps if s["step"] in ("ACK", "BURST_ACK")), report
    assert [s["ok"] for s in steps if s["step"] == "ACK"] == [True, True, True, True], report
