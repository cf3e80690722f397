"""A throwaway PostgreSQL server for the tests: one per test run, a fresh database per test.

:func:`pg_server` starts it on first use: ``initdb`` in a new temporary directory, then
``postgres`` listening on 127.0.0.1 on a free port, its unix socket in that directory, with
``fsync`` on (the store's durability is what is under test) and ``trust`` authentication for
the test user. It is stopped (immediate shutdown: no checkpoint, the data is thrown away) and
its directory removed when the test process exits. It never touches a system cluster or
service.

PostgreSQL refuses to run as root, and the tests run as root in CI: then ``initdb`` and
``postgres`` run as the ``postgres`` user that Debian's package creates (else ``nobody``),
owning the temporary directory. As any other user they run as that user.

Nothing is skipped: with no server binaries the tests that need them fail, naming the make
target that installs them (``make postgresql``).
"""

from __future__ import annotations

import asyncio
import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

USER = "hushwire"
"""The database superuser of the throwaway server (trust authentication)."""


class PostgresMissingError(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def server_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<ver>/bin`` (Debian's layout), or an error saying how
    to install it."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name.split(".")[0]),
    )
    if not found:
        raise PostgresMissingError(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/<ver>/bin/initdb): "
            "run `make postgresql` (installs Debian's postgresql package)"
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root (``None``: ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


@dataclass
class PgServer:
    """A running throwaway server."""

    proc: subprocess.Popen[bytes]
    root: Path
    port: int
    start: Callable[[], subprocess.Popen[bytes]] | None = None
    """Starts ``postgres`` again on the same directory and port (:meth:`restart`)."""

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """Create an empty database; return its DSN."""
        name = "t_" + uuid.uuid4().hex[:16]
        # Not waiting for the creation's WAL flush makes it ~4x faster; the stores under
        # test still commit with synchronous_commit on (they set it for their sessions).
        sql(self.dsn(), f'CREATE DATABASE "{name}"', settings={"synchronous_commit": "off"})
        return self.dsn(name)

    def halt(self) -> None:
        """Fast shutdown (SIGINT: sessions are cut, running transactions roll back)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)

    def restart(self) -> None:
        """Start it again after :meth:`halt`; return once it answers."""
        assert self.start is not None
        self.proc = self.start()
        _wait_ready(self)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # immediate: its data is thrown away
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PgServer:
    """initdb + postgres in a new temporary directory (see the module docstring)."""
    bindir = server_bin_dir()
    account = _run_as()
    # As another account, a directory every user can traverse (TMPDIR may be root's own).
    root = Path(tempfile.mkdtemp(prefix="hw-pg-", dir="/tmp" if account is not None else None))
    (root / "sock").mkdir()
    if account is not None:
        for p in (root, root / "sock"):
            os.chown(p, account.pw_uid, account.pw_gid)
    user = None if account is None else account.pw_uid
    group = None if account is None else account.pw_gid
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TZ": "UTC"}
    as_account: dict[str, Any] = {
        "cwd": root,
        "env": env,
        "user": user,
        "group": group,
        "extra_groups": [] if account is not None else None,
    }
    try:
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            **as_account,
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as e:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {e.stderr.decode(errors='replace')}") from e
    port = _free_port()

    def start() -> subprocess.Popen[bytes]:
        log = open(root / "postgres.log", "ab")  # the child keeps its own copy
        proc = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(root / "data"),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-k",
                str(root / "sock"),
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
                "-c",
                "max_connections=200",
            ],
            **as_account,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return proc

    server = PgServer(start(), root, port, start)
    _wait_ready(server)
    return server


def _wait_ready(server: PgServer) -> None:
    proc, root = server.proc, server.root
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            text = (root / "postgres.log").read_text(errors="replace")
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"postgres exited with {proc.returncode}:\n{text}")
        try:
            sql(server.dsn(), "SELECT 1")
            return
        except (OSError, asyncpg.PostgresError):
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.05)


def sql(dsn: str, query: str, *args: Any, settings: dict[str, str] | None = None) -> list[Any]:
    """Run one statement on a new connection (from synchronous test code); its rows."""

    async def main() -> list[Any]:
        conn = await asyncpg.connect(dsn, timeout=5, server_settings=settings)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(main())


_SERVER: PgServer | None = None


def pg_server() -> PgServer:
    """The run's server, started on first use and stopped when the process exits."""
    global _SERVER
    if _SERVER is None or _SERVER.proc.poll() is not None:
        _SERVER = start_server()
        atexit.register(_SERVER.stop)
    return _SERVER
