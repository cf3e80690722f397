"""Local sockets between the processes of one relay (``--workers N``).

A parent process makes one listening socket per worker (:class:`LocalPeers`) before it
forks them: a Unix socket in Linux's abstract namespace, named by the kernel (autobind), so
there is no file to clean up and no name to choose; the parent keeps it open, so a worker
started again serves on the same address. A worker answers on its socket
(each connection gets the bytes of one call of ``respond``, then EOF) and reads its
siblings'. Nothing is read from the connecting side.

It carries the workers' metrics snapshots (``hushwire.server.scrape``). An abstract socket has
no file mode, so any local process in the same network namespace can connect: a worker
answers only connections from processes of its own user (``SO_PEERCRED``) and closes the
others unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from collections.abc import Awaitable, Callable

__all__ = ["LocalPeers"]


class LocalPeers:
    """One listening socket per worker of a relay, made by the parent before it forks them
    (module docstring); worker ``i`` serves on socket ``i`` and reads the others'."""

    def __init__(self, count: int) -> None:
        self._socks: list[socket.socket] = []
        try:
            for _ in range(count):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._socks.append(sock)
                sock.bind("")  # autobind: an abstract name the kernel picks
                sock.listen(16)
        except BaseException:
            self.close()
            raise
        self._addresses = [s.getsockname() for s in self._socks]

    def __len__(self) -> int:
        return len(self._socks)

    def close(self) -> None:
        for s in self._socks:
            s.close()

    async def serve(
        self, index: int, respond: Callable[[], Awaitable[bytes]]
    ) -> asyncio.AbstractServer:
        """Answer every connection to socket ``index`` with ``await respond()``, then EOF."""

        async def on_client(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                if _peer_uid(writer) != os.getuid():
                    return  # an abstract socket has no file mode: only our own user
                writer.write(await respond())
                await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

        # A duplicate: the server closes its socket on close; the parent keeps the original.
        return await asyncio.start_unix_server(on_client, sock=self._socks[index].dup())

    async def fetch(self, index: int, limit: int, timeout: float) -> bytes | None:
        """What worker ``index`` answers (at most ``limit`` bytes); None if it does not
        answer within ``timeout`` seconds (restarting, stopped) or says too much."""

        async def read() -> bytes | None:
            # Connected here, not by the loop: uvloop refuses abstract addresses. A local
            # connect completes at once (or fails: BlockingIOError when the backlog is full).
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                sock.connect(self._addresses[index])
            except BaseException:
                sock.close()
                raise
            reader, writer = await asyncio.open_unix_connection(sock=sock)
            try:
                chunks: list[bytes] = []
                total = 0
                while total <= limit:
                    data = await reader.read(limit + 1 - total)
                    if not data:
                        return b"".join(chunks)
                    chunks.append(data)
                    total += len(data)
                return None
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

        try:
            return await asyncio.wait_for(read(), timeout)
        except (TimeoutError, ConnectionError, OSError):
            return None


def _peer_uid(writer: asyncio.StreamWriter) -> int | None:
    """The user id of the process at the other end of a Unix connection (SO_PEERCRED)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)
