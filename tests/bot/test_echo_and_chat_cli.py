"""The README's walk-through, as a user runs it: relay, echo bot and terminal chat, each
its own process, talking through loopback. The bot prints its short link, then its full link;
the chat joins by either."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from hushwire.agent.qr import qr_terminal
from hushwire.testing import start_relay_process


@pytest.mark.parametrize("which", ["full", "short"])
def test_terminal_chat_talks_to_the_echo_bot(tmp_path: Path, which: str) -> None:
    relay = start_relay_process(tmp_path / "relay")
    bot = subprocess.Popen(
        [
            sys.executable, "-m", "hushwire", "bot", "echo",
            "--data", str(tmp_path / "bot"),
            "--relay", relay.address.encode(),
            "--ws", relay.ws_url,
        ],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert bot.stdout is not None
        short = bot.stdout.readline().strip()
        assert short.startswith("https://") and "/a#" in short
        link = bot.stdout.readline().strip()
        assert link.startswith("simplex:/contact#/?v=2-7&smp=")
        if which == "short":
            link = short
        chat = subprocess.Popen(
            [
                sys.executable, "-m", "hushwire", "chat", link,
                "--data", str(tmp_path / "chat"), "--ws", relay.ws_url, "--name", "Ada",
            ],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert chat.stdin is not None and chat.stdout is not None
        chat.stdin.write("hello bot\n<script>alert(1)</script>\nbell\x07ring\n")
        chat.stdin.flush()
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(x.startswith("< ") for x in lines) < 3:
            line = chat.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        chat.stdin.write("/quit\n")
        chat.stdin.close()
        assert chat.wait(30) == 0
        chat.stdout.close()
        assert chat.stderr is not None
        chat.stderr.close()
        echoes = [x for x in lines if x.startswith("< ")]
        # The bot's echoes arrive, as plain text; a control character is shown, not obeyed.
        assert echoes == ["< hello bot", "< <script>alert(1)</script>", "< bell\\x07ring"]
        assert "Connected." in "\n".join(lines)
    finally:
        bot.terminate()
        assert bot.wait(30) == 0
        if bot.stdout:
            bot.stdout.close()
        assert relay.stop() == 0


def test_echo_bot_draws_its_link_as_a_qr_code_when_asked(tmp_path: Path) -> None:
    """``hushwire bot echo --qr`` draws the short link's QR code (half blocks) on stderr,
    the code of exactly the link it prints first."""
    relay = start_relay_process(tmp_path / "relay")
    bot = subprocess.Popen(
        [
            sys.executable, "-m", "hushwire", "bot", "echo", "--qr",
            "--data", str(tmp_path / "bot"),
            "--relay", relay.address.encode(),
            "--ws", relay.ws_url,
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert bot.stdout is not None and bot.stderr is not None
        short = bot.stdout.readline().strip()
        assert short.startswith("https://")
        drawn = qr_terminal(short)
        got = ""
        while len(got) < len(drawn):
            line = bot.stderr.readline()
            if not line:
                break
            got += line
        assert got == drawn
    finally:
        bot.terminate()
        assert bot.wait(30) == 0
        for stream in (bot.stdout, bot.stderr):
            if stream:
                stream.close()
        assert relay.stop() == 0
