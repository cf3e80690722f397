"""Interop: a simplex-js visitor joins the contact address of our echo bot, over WSS.

The third-party npm client simplex-js 1.0.0 (its high-level ``createBrowserClient`` visitor
API, ``visitor_flow.mjs``) joins the contact address that ``hushwire bot echo`` prints,
through our relay's TLS port (WSS with SNI). It connects (the slow ``'K'`` handshake with
HELLO both ways), sends three texts (plain, HTML, non-ASCII) and gets each one echoed back,
with delivery receipts in both directions.

simplex-js accepts only ``OK`` as the reply to ACK (README.md quirk Q3): a relay that sends
the next message as ACK's reply (the reference behaviour) makes it lose that message and
every later one on the queue. The echo bot sends two messages per text (the echo and a
receipt) back to back; the relay runs with default settings, which answer ACK with OK and
push the next message to a client at v9 or lower (simplex-js speaks 6..9).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from hushwire.testing import RelayProcess, start_relay_process

HERE = Path(__file__).parent
TEXTS = [
    "hello from simplex-js",
    '<b>bold</b> & <i>tags</i> stay "literal"',
    "Grüße, 世界! Привет 👋🏽 — ünïcödé",
]


@pytest.fixture(scope="module")
def node() -> str:
    exe = shutil.which("node")
    assert exe, "node is needed for the interop tests (make test installs the npm packages)"
    assert (HERE / "node_modules" / "simplex-js").is_dir(), "run make test (npm ci)"
    return exe


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line of ``proc``, or '' if none came within ``timeout`` seconds."""
    assert proc.stdout is not None
    stdout = proc.stdout
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0].strip() if got else ""


def _start_bot(relay: RelayProcess, data: Path, log: Any) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "hushwire", "bot", "echo", "--data", str(data)]
    args += ["--relay", relay.address.encode(), "--ws", relay.ws_url.rstrip("/")]
    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def _stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    if proc.stdout:
        proc.stdout.close()
    return code


def test_simplex_js_visitor_chats_with_the_echo_bot(node: str, tmp_path: Path) -> None:
    relay = start_relay_process(tmp_path / "relay", ws=True, tls=True)
    bot_code: int | None = None
    try:
        with open(tmp_path / "bot.log", "w") as log:
            bot = _start_bot(relay, tmp_path / "bot", log)
            try:
                short = _first_line(bot, 30)  # the short link; simplex-js reads the full one
                assert short.startswith("https://"), short
                link = _first_line(bot, 30)
                assert link.startswith("simplex:/contact#/?v=2-7&smp="), link
                out = subprocess.run(
                    [node, "visitor_flow.mjs", link],
                    cwd=HERE,
                    capture_output=True,
                    text=True,
                    timeout=90,
                )
            finally:
                bot_code = _stop(bot)
    finally:
        relay_code = relay.stop()
    bot_log = (tmp_path / "bot.log").read_text()
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    steps = [e for e in lines if "step" in e]
    events = [e for e in lines if "event" in e]
    report = out.stdout + out.stderr[-3000:] + bot_log[-2000:]

    summary = steps[-1]
    assert summary["step"] == "SUMMARY", report
    assert summary["failed"] == [] and summary["ok"], report
    assert out.returncode == 0, report
    assert [s["step"] for s in steps] == [
        "ARGS",
        "CONNECT",
        "SEND",  # text 1 is queued by simplex-js until the connection is up
        "CONNECTED",
        "ECHO",
        *["SEND", "ECHO"] * (len(TEXTS) - 1),
        "SENT_STATUS",
        "RECEIPTS",
        "NO_EXTRA_MESSAGES",
        "DISCONNECT",
        "SUMMARY",
    ], report
    # simplex-js went connecting -> pending (invitation sent) -> connected (our HELLO) -> offline.
    assert [e["status"] for e in events if e["event"] == "status"] == [
        "connecting",
        "pending",
        "connected",
        "offline",
    ], report
    # The exact texts came back, in order, and nothing else.
    assert [s["text"] for s in steps if s["step"] == "SEND"] == TEXTS
    assert [s["text"] for s in steps if s["step"] == "ECHO"] == TEXTS
    assert [e["text"] for e in events if e["event"] == "message"] == TEXTS
    assert not [e for e in events if e["event"] == "error"], report
    # Our receipts reached simplex-js, one per text. A receipt names the sender's message id
    # (APrivHeader sndMsgId). simplex-js numbers its messages: confirmation 1; text 1 = 2
    # (sent before its HELLO, which also says 2); then each text is sent the moment its
    # predecessor's echo is shown, while simplex-js's own receipt for that echo is still in
    # flight, and both carry the same id (README.md quirk Q13): texts 2 and 3 are 4 and 6.
    receipts = next(s for s in steps if s["step"] == "RECEIPTS")
    assert receipts["agent_msg_ids"] == [2, 4, 6], report
    # simplex-js's receipts reached the bot, and their hashes matched our echoes (3, 5, 7:
    # after our confirmation 1 and HELLO 2, each echo is followed by our receipt).
    assert re.findall(r"receipt for message (\d+)(.*)", bot_log) == [
        ("3", ""),
        ("5", ""),
        ("7", ""),
    ], bot_log
    # The bot saw texts 2 and 3 as duplicates of the receipts that share their ids, as the
    # reference agent would (Agent.hs checkMsgIntegrity: MsgDuplicate); it still echoed them.
    assert re.findall(r"WARNING \S+ message (\d+): (.*)", bot_log) == [
        ("2", "duplicate 4"),
        ("3", "duplicate 6"),
    ], bot_log
    assert "connected" in bot_log
    # Both processes ended cleanly on SIGTERM.
    assert bot_code == 0, bot_log
    assert relay_code == 0
