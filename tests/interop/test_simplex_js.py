"""Interop: the third-party npm client simplex-js against our relay, over WSS.

simplex-js (visitor side) creates queues, secures them, sends from a second connection,
receives MSG, ACKs and deletes (``smp_flow.mjs``). Where simplex-js deviates from the
reference (it sends KEY, SKEY and DEL unauthenticated), the relay answers as the reference
server does, and the harness reports those steps as its known quirks (exit code 2) and
completes them through simplex-js's internal authorised path. simplex-js also refuses the
next MSG as ACK's reply; the relay answers ACK with OK and pushes the next message to a
client at v9 or lower, so that step passes. Any other failure is exit code 1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hushwire.testing import start_relay_process

HERE = Path(__file__).parent
EXPECTED_QUIRKS = ["KEY", "SKEY", "DEL"]


@pytest.fixture(scope="module")
def node() -> str:
    exe = shutil.which("node")
    assert exe, "node is needed for the interop tests (make test installs the npm packages)"
    assert (HERE / "node_modules" / "simplex-js").is_dir(), "run make test (npm ci)"
    return exe


def test_simplex_js_queue_lifecycle_over_wss(node: str, tmp_path: Path) -> None:
    relay = start_relay_process(tmp_path / "relay", ws=False)
    try:
        out = subprocess.run(
            [node, "smp_flow.mjs", relay.address.encode()],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        assert relay.stop() == 0
    steps = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    summary = steps[-1]
    assert summary["step"] == "SUMMARY", out.stdout + out.stderr[-2000:]
    assert summary["failed"] == [], out.stdout
    assert summary["expected_quirks"] == EXPECTED_QUIRKS, out.stdout
    assert out.returncode == 2
    by_step = [s["step"] for s in steps]
    # Three messages and one with the notification flag made it through, byte for byte.
    msgs = [s for s in steps if s["step"] == "MSG"]
    assert len(msgs) == 4 and all(s["ok"] and s["enc_len"] == 16122 for s in msgs)
    assert [s["flag"] for s in msgs] == ["F", "F", "F", "T"]
    assert by_step.count("SEND_AFTER_DEL_REFUSED") == 2
    refused = [s for s in steps if s["step"] == "SEND_UNAUTH_REFUSED"]
    assert refused and refused[0]["reply"] == "ERR AUTH"
    # The relay said who it is: simplex-js verified the chain against the key hash.
    connect = next(s for s in steps if s["step"] == "CONNECT_A")
    assert connect["smp_version"] == 9 and connect["server_auth_key"] is True
