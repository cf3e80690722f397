"""The local sockets between the workers of one relay (``hushwire.transport.local``): what a
worker serves is what its sibling reads, a silent or oversized answer is None, and a process
of another user is closed unanswered."""

from __future__ import annotations

import asyncio
import os
import pwd
import subprocess

import pytest
import uvloop

from hushwire.transport.local import LocalPeers

READ = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(bytes.fromhex(sys.argv[1]))
data = b""
while chunk := s.recv(100):
    data += chunk
print(len(data))
"""


async def exchange(peers: LocalPeers) -> list[bytes | None]:
    served = 0

    async def respond() -> bytes:
        nonlocal served
        served += 1
        return b"snapshot %d" % served

    srv = await peers.serve(0, respond)
    try:
        return [
            await peers.fetch(0, 100, 1),
            await peers.fetch(0, 100, 1),
            await peers.fetch(0, 5, 1),  # longer than the limit
            await peers.fetch(1, 100, 0.2),  # listening, never served: times out
        ]
    finally:
        srv.close()
        await srv.wait_closed()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_worker_reads_what_another_serves(loop: str) -> None:
    peers = LocalPeers(2)
    try:
        run = uvloop.run if loop == "uvloop" else asyncio.run  # the relay runs on uvloop
        assert run(exchange(peers)) == [b"snapshot 1", b"snapshot 2", None, None]
    finally:
        peers.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
def test_a_process_of_another_user_gets_nothing() -> None:
    nobody = pwd.getpwnam("nobody")
    peers = LocalPeers(1)

    async def main() -> str:
        async def respond() -> bytes:
            return b"secret figures"

        srv = await peers.serve(0, respond)
        try:
            address = peers._addresses[0].hex()
            # The system's interpreter: "nobody" may not reach this one (root's pyenv).
            cmd = ["/usr/bin/python3", "-I", "-c", READ, address]
            mine = await asyncio.to_thread(
                subprocess.run, cmd, capture_output=True, text=True, timeout=20
            )
            theirs = await asyncio.to_thread(
                subprocess.run,
                cmd,
                capture_output=True,
                text=True,
                timeout=20,
                user=nobody.pw_uid,
            )
            return mine.stdout + theirs.stdout
        finally:
            srv.close()

    try:
        assert asyncio.run(main()) == "14\n0\n"
    finally:
        peers.close()
