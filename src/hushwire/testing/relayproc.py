"""Start ``hushwire relay`` as a child process on 127.0.0.1 and read its start-up lines.

The one helper the tests and the benchmarks use to run a real relay process. The relay
(``hushwire.server.run.serve_until_stopped``) prints, each on a line of its own::

    smp://KEY_HASH@HOST[:PORT]          the server address
    WebSocket: ws://HOST:PORT           if it listens for plain WebSocket
    TLS (SMP and WSS): port PORT        if it listens for TLS
    key hash: KEY_HASH                  always last

:func:`parse_relay_startup` reads those lines; :func:`start_relay_process` starts the relay
with the interpreter running this code (``python -m hushwire relay``) and waits for them.
No sockets are opened here: the ports are the relay's own. The start-up lines are
Hushwire's (simplexmq's ``smp-server`` prints its own), so this has no simplexmq counterpart.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from hushwire.encoding.strings import b64url_encode
from hushwire.errors import DecodeError
from hushwire.smp.address import SMPServer

WS_PREFIX: Final = "WebSocket: "
TLS_PREFIX: Final = "TLS (SMP and WSS): port "
KEY_HASH_PREFIX: Final = "key hash: "
GRP_PREFIX: Final = "GRP: "
MAX_STARTUP_BYTES: Final = 64 * 1024
"""More start-up output than this is not a relay starting."""


@dataclass(frozen=True, slots=True)
class RelayStartup:
    """What a relay said when it started."""

    address: SMPServer
    ws_url: str | None
    """The WebSocket URL as printed (``ws://HOST:PORT``, no path), if it listens for one."""
    ws_port: int | None
    tls_port: int | None
    grp_address: str | None = None
    """The GRP/1 address as printed (``grp://KEYHASH@HOST:PORT?nk=...``), if it serves GRP."""


def _port(text: str, line: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"not a port in relay start-up line {line!r}")
    return int(text)


def parse_relay_startup(lines: Sequence[str]) -> RelayStartup:
    """Parse the start-up lines (the address first, ``key hash:`` last); ValueError if they
    are not a relay's."""
    lines = [ln.strip() for ln in lines if ln.strip()]
    if not lines or not lines[-1].startswith(KEY_HASH_PREFIX):
        raise ValueError(f"relay start-up lines end without the key hash: {lines!r}")
    try:
        address = SMPServer.parse(lines[0])
    except DecodeError as e:
        raise ValueError(f"the first relay start-up line is not a server address: {e}") from e
    if lines[-1][len(KEY_HASH_PREFIX) :] != b64url_encode(address.key_hash):
        raise ValueError("the relay's key hash line does not match its address")
    ws_url = ws_port = tls_port = grp = None
    for line in lines[1:-1]:
        if line.startswith(WS_PREFIX):
            ws_url = line[len(WS_PREFIX) :]
            if not ws_url.startswith("ws://"):
                raise ValueError(f"not a WebSocket URL in relay start-up line {line!r}")
            ws_port = _port(ws_url.rpartition(":")[2], line)
        elif line.startswith(TLS_PREFIX):
            tls_port = _port(line[len(TLS_PREFIX) :], line)
        elif line.startswith(GRP_PREFIX):
            grp = line[len(GRP_PREFIX) :]
        else:
            raise ValueError(f"unexpected relay start-up line {line!r}")
    return RelayStartup(address, ws_url, ws_port, tls_port, grp)


class RelayProcess:
    """A running ``hushwire relay`` child; stop it with :meth:`stop` (or use ``with``)."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        startup: RelayStartup,
        data: Path,
        *,
        owns_data: bool = False,
    ) -> None:
        self.proc = proc
        self.startup = startup
        self.data = data
        self._owns_data = owns_data

    @property
    def address(self) -> SMPServer:
        return self.startup.address

    @property
    def ws_port(self) -> int | None:
        return self.startup.ws_port

    @property
    def tls_port(self) -> int | None:
        return self.startup.tls_port

    @property
    def ws_url(self) -> str:
        """The WebSocket URL with a ``/`` path, as clients and the widget take it."""
        if self.startup.ws_url is None:
            raise ValueError("this relay does not listen for plain WebSocket")
        return self.startup.ws_url + "/"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``sig`` (SIGKILL after ``timeout`` seconds) and return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if self._owns_data:
            shutil.rmtree(self.data, ignore_errors=True)
        return code

    def kill9(self) -> None:
        """Kill the relay with no chance to clean up (crash tests)."""
        self.stop(signal.SIGKILL)

    def __enter__(self) -> RelayProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_startup(proc: subprocess.Popen[bytes], timeout: float) -> list[str]:
    """Lines up to ``key hash:``, or what came before EOF, the deadline or the size cap."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while len(buf) < MAX_STARTUP_BYTES:
            lines = buf.decode(errors="replace").splitlines(keepends=True)
            if any(ln.startswith(KEY_HASH_PREFIX) and ln.endswith("\n") for ln in lines):
                break
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
    out: list[str] = []
    for line in buf.decode(errors="replace").splitlines():
        out.append(line)
        if line.startswith(KEY_HASH_PREFIX):
            break
    return out


def start_relay_process(
    data: Path | None = None,
    *,
    ws: bool = True,
    tls: bool = True,
    ws_port: int = 0,
    tls_port: int = 0,
    host: str | None = "localhost",
    extra: Sequence[str] = (),
    interpreter_args: Sequence[str] = (),
    stderr: int | IO[bytes] | None = subprocess.DEVNULL,
    env: Mapping[str, str] | None = None,
    start_new_session: bool = False,
    preexec_fn: Callable[[], object] | None = None,
    timeout: float = 60.0,
) -> RelayProcess:
    """Start ``python -m hushwire relay`` listening on 127.0.0.1 and wait until it is ready.

    ``data`` is the relay's data directory (a new temporary one, removed on stop, if None);
    ``ws`` / ``tls`` choose the listeners (port 0: any free port); ``host`` is the host name
    put in the server address (None: the relay's default, the listen address); ``extra``
    goes after the relay's arguments, ``interpreter_args`` before ``-m hushwire`` (a
    profiler, say). Raises RuntimeError, with what the relay printed, if it does not start
    within ``timeout`` seconds.
    """
    if not (ws or tls):
        raise ValueError("a relay listens for WebSocket, TLS or both")
    owns_data = data is None
    where = Path(tempfile.mkdtemp(prefix="hushwire-relay-")) if data is None else data
    args = [sys.executable, *interpreter_args, "-m", "hushwire", "relay", "--data", str(where)]
    if host is not None:
        args += ["--host", host]
    if ws:
        args += ["--ws", f"127.0.0.1:{ws_port}"]
    if tls:
        args += ["--tls", f"127.0.0.1:{tls_port}"]
    args += list(extra)
    # The arguments are this interpreter, the package's own CLI and the caller's options.
    proc = subprocess.Popen(  # noqa: S603
        args,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
        start_new_session=start_new_session,
        preexec_fn=preexec_fn,
    )
    lines = _read_startup(proc, timeout)
    try:
        startup = parse_relay_startup(lines)
    except ValueError as e:
        proc.kill()
        code = proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if owns_data:
            shutil.rmtree(where, ignore_errors=True)
        raise RuntimeError(f"relay did not start (exit code {code}): {lines!r}: {e}") from None
    return RelayProcess(proc, startup, where, owns_data=owns_data)
