"""One process per data directory (issue 16, B2) for ``hushwire bot echo`` and
``hushwire chat``: the second says which process holds the directory and exits non-zero.
Real processes, a real relay."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from hushwire.testing import start_relay_process as start_relay


def _run(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hushwire", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _refused(proc: subprocess.Popen[str], holder: int, data: Path) -> None:
    """``proc`` must exit by itself, non-zero, with one line naming ``holder``."""
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _close(proc)
    assert proc.returncode not in (0, None), err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert f"pid {holder}" in lines[0] and str(data) in lines[0]


def _close(proc: subprocess.Popen[str]) -> None:
    for f in (proc.stdin, proc.stdout, proc.stderr):
        if f:
            f.close()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _close(proc)


def test_second_bot_and_second_chat_on_one_directory_are_refused(tmp_path: Path) -> None:
    relay = start_relay(tmp_path / "relay", tls=False)
    bot_data, chat_data = tmp_path / "bot", tmp_path / "chat"
    bot_args = ["bot", "echo", "--data", str(bot_data), "--relay", relay.address.encode()]
    bot_args += ["--ws", relay.ws_url]
    bot = _run(bot_args)
    chat: subprocess.Popen[str] | None = None
    try:
        assert bot.stdout is not None
        assert bot.stdout.readline().startswith("https://")  # the short link, then the full
        link = bot.stdout.readline().strip()
        assert link.startswith("simplex:/contact#/?v=2-7&smp=")
        _refused(_run(bot_args), bot.pid, bot_data)

        chat_args = ["chat", link, "--data", str(chat_data), "--ws", relay.ws_url]
        chat = _run(chat_args)
        assert chat.stdout is not None
        assert chat.stdout.readline().startswith(("Joining", "Connected"))
        _refused(_run(chat_args), chat.pid, chat_data)
        # The first chat still works: it leaves cleanly.
        assert chat.stdin is not None
        chat.stdin.write("/quit\n")
        chat.stdin.close()
        assert chat.wait(30) == 0
    finally:
        if chat is not None:
            _stop(chat)
        _stop(bot)
        relay.stop()
