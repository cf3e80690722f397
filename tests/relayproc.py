"""Start ``hushwire relay`` as a real process on 127.0.0.1 for tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hushwire.smp.address import SMPServer


@dataclass
class RelayProcess:
    proc: subprocess.Popen[str]
    address: SMPServer
    ws_port: int | None
    tls_port: int | None
    data: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return code

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)


def start_relay(
    data: Path,
    *,
    ws: bool = True,
    tls: bool = True,
    ws_port: int = 0,
    tls_port: int = 0,
    extra: list[str] | None = None,
) -> RelayProcess:
    args = [sys.executable, "-m", "hushwire", "relay", "--data", str(data), "--host", "localhost"]
    if ws:
        args += ["--ws", f"127.0.0.1:{ws_port}"]
    if tls:
        args += ["--tls", f"127.0.0.1:{tls_port}"]
    args += extra or []
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith("key hash:"):
            break
    text = "\n".join(lines)
    if not lines or not lines[0].startswith("smp://"):
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise RuntimeError(f"relay did not start: {text!r}")
    m_ws = re.search(r"WebSocket: ws://[^:]+:(\d+)", text)
    m_tls = re.search(r"TLS \(SMP and WSS\): port (\d+)", text)
    return RelayProcess(
        proc,
        SMPServer.parse(lines[0]),
        int(m_ws.group(1)) if m_ws else None,
        int(m_tls.group(1)) if m_tls else None,
        data,
    )
