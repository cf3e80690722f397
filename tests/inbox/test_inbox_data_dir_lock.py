"""One process per data directory (issue 16, B2): a second ``hushwire inbox`` on the same
directory says which process holds it and exits non-zero, and leaves the first one's files
and service alone. Real processes, a real relay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hushwire.datadir import LOCK_FILE, DataDirInUse, lock_data_dir
from hushwire.testing import start_relay_process as start_relay


def test_the_lock_names_its_holder_and_is_free_again_once_released(tmp_path: Path) -> None:
    data = tmp_path / "d"
    held = lock_data_dir(data)
    try:
        assert (data / LOCK_FILE).read_text().strip() == str(os.getpid())
        # flock belongs to the open file: a second lock, even in this process, is refused.
        with pytest.raises(DataDirInUse) as e:
            lock_data_dir(data)
        message = str(e.value)
        assert f"pid {os.getpid()}" in message and str(data) in message
        assert "\n" not in message
    finally:
        held.release()
    again = lock_data_dir(data)  # released: free again, and the lock file was kept
    again.release()
    assert (data / LOCK_FILE).exists()


def _inbox(data: Path, relay_address: str, ws_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "hushwire", "inbox", "--data", str(data),
            "--relay", relay_address, "--ws", ws_url, "--no-qr",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _finish(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str]:
    """Wait for ``proc`` to exit by itself; stop it (SIGTERM) if it does not."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None
    err = proc.stderr.read()
    for f in (proc.stdout, proc.stderr):
        if f:
            f.close()
    return proc.returncode, err


def test_a_second_inbox_on_the_same_directory_is_refused_and_harms_nothing(
    tmp_path: Path,
) -> None:
    relay = start_relay(tmp_path / "relay", tls=False)
    data = tmp_path / "inbox"
    first = _inbox(data, relay.address.encode(), relay.ws_url)
    try:
        assert first.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and not line.startswith("Log in:"):
            line = first.stdout.readline()
            assert line, "the first inbox stopped"
        service = json.loads((data / "service.json").read_text())
        assert service["pid"] == first.pid

        second = _inbox(data, relay.address.encode(), relay.ws_url)
        code, err = _finish(second)
        # It did not start: one clear line naming the holder, and a non-zero exit.
        assert code != 0
        lines = [x for x in err.splitlines() if x.strip()]
        assert len(lines) == 1, err
        assert f"pid {first.pid}" in lines[0] and str(data) in lines[0]
        assert "Traceback" not in err
        # The first one's files are untouched, and it still serves the terminal commands.
        assert json.loads((data / "service.json").read_text()) == service
        listed = subprocess.run(
            [sys.executable, "-m", "hushwire", "inbox", "list", "--data", str(data)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert listed.returncode == 0 and listed.stdout == "No conversations yet.\n"
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0
        assert not (data / "service.json").exists()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        for f in (first.stdout, first.stderr):
            if f:
                f.close()
        relay.stop()
