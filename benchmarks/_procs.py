"""Process helpers shared by the benchmarks: CPU and memory from /proc, an fsync probe,
the bookkeeping that stops every child process on exit, error or Ctrl-C, and starting a
relay process (through ``hushwire.testing.start_relay_process``)."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import resource
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from hushwire.testing import RelayProcess, start_relay_process

CLK_TCK = os.sysconf("SC_CLK_TCK")


def die_with_parent() -> None:
    """Linux PR_SET_PDEATHSIG: get SIGTERM if the benchmark dies without cleaning up."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def raise_nofile() -> int:
    """Raise the soft open-files limit to the hard one; return the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the whole process (all threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def fsync_ms(directory: Path, n: int = 30) -> float:
    """Mean latency of a 4 KB append + fsync in ``directory`` (what each commit pays)."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        start = time.perf_counter()
        for _ in range(n):
            os.write(fd, bytes(4096))
            os.fsync(fd)
        return 1000 * (time.perf_counter() - start) / n
    finally:
        os.close(fd)
        path.unlink()


class Children:
    """Every process a benchmark starts; all are stopped on exit, error or Ctrl-C."""

    def __init__(self) -> None:
        self.popens: list[subprocess.Popen[bytes]] = []
        self.procs: list[mp.process.BaseProcess] = []

    def stop_popen(self, p: subprocess.Popen[bytes], timeout: float = 30) -> int:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            code = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            code = p.wait()
        if p.stdout:
            p.stdout.close()
        with contextlib.suppress(ValueError):
            self.popens.remove(p)
        return code

    def stop_proc(self, p: mp.process.BaseProcess, timeout: float = 10) -> None:
        p.join(timeout)
        if p.is_alive():
            p.terminate()
            p.join(5)
        if p.is_alive():
            p.kill()
            p.join()
        with contextlib.suppress(ValueError):
            self.procs.remove(p)

    def stop_all(self) -> None:
        for p in list(self.procs):
            if p.is_alive():
                p.terminate()
            self.stop_proc(p, 5)
        for q in list(self.popens):
            self.stop_popen(q, 15)


def start_relay(
    children: Children,
    data: Path,
    limits: Mapping[str, float],
    *,
    interpreter_args: Sequence[str] = (),
    settings: Mapping[str, str] | None = None,
) -> RelayProcess:
    """A relay on a WebSocket port of 127.0.0.1 with ``limits`` (and top-level ``settings``,
    such as an ``admin`` listener) in its ``relay.toml``, its
    log in ``data/relay.log``, in a session of its own (Ctrl-C reaches only the benchmark,
    which stops it) and registered in ``children``."""
    data.mkdir(parents=True)
    config = data / "relay.toml"
    top = "".join(f'{k} = "{v}"\n' for k, v in (settings or {}).items())
    config.write_text(top + "[limits]\n" + "".join(f"{k} = {v}\n" for k, v in limits.items()))
    log_path = data / "relay.log"
    with log_path.open("wb") as log:
        try:
            relay = start_relay_process(
                data,
                ws=True,
                tls=False,
                host=None,
                extra=["--config", str(config)],
                interpreter_args=interpreter_args,
                stderr=log,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n{log_path.read_text()[-2000:]}") from None
    children.popens.append(relay.proc)
    return relay
