"""``run_workers`` (``hushwire.server.cluster``): a stop that arrives while a worker is being
forked still reaches that worker.

The script below runs ``run_workers`` in a process of its own with ``os.fork`` wrapped so
that the parent sends itself SIGTERM the moment each fork returns: the stop lands exactly
in the window between the fork and the parent recording the new worker. The relay must
stop its workers and exit 0 at once (before the fix it waited for a worker it had never
told to stop).
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, signal, time
from hushwire.server.cluster import run_workers

real_fork = os.fork

def fork():
    pid = real_fork()
    if pid:
        os.kill(os.getpid(), signal.SIGTERM)  # a stop, right after the fork returns
    return pid

os.fork = fork

def worker(_index):
    time.sleep(60)  # only a signal ends it early
    return 0

raise SystemExit(run_workers(2, worker))
"""


def test_a_stop_during_a_fork_reaches_the_new_worker() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=20)
    assert done.returncode == 0, done.stderr.decode()
