"""Relay hardening: attacks on the relay, each reproduced against a real relay on loopback.

Every test here failed before its fix (issue 16, part B): a PING flood growing the relay's
memory, silent sockets filling every connection slot, fragmentation violations and upgrades
without ``Host`` accepted, store files readable by everyone, a data directory in use.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import ssl
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from hushwire.client import (
    ClientConfig,
    MessageEvent,
    SMPClient,
    SMPClientError,
    SMPCommandError,
    decrypt_message,
)
from hushwire.client.handshake import client_handshake
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.limits import SMP_BLOCK_SIZE, WS_MAX_PENDING_CONTROL
from hushwire.server.config import RelayConfig, RelayLimits, load_config
from hushwire.server.identity import load_or_create_web_cert
from hushwire.server.run import RunningRelay, start_relay
from hushwire.smp.commands import MSG
from hushwire.smp.errors import ErrorType
from hushwire.smp.version import VersionRange
from hushwire.testing import start_relay_process
from hushwire.transport import BlockConn, ConnectionClosedError
from hushwire.transport.blocks import WsBlockConn
from hushwire.transport.listen import (
    read_http_head,
    serve_tls,
    serve_ws,
    shared_port_context,
    smp_tls_context,
    web_tls_context,
)
from hushwire.transport.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    FrameReader,
    encode_frame,
)

NO_PING = ClientConfig(ping_interval=None)


def run(coro: Callable[[], Awaitable[None]], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(coro(), timeout))


@asynccontextmanager
async def relay_at(data: Path, **limits: float) -> AsyncIterator[RunningRelay]:
    config = RelayConfig(
        data=data,
        ws=("127.0.0.1", 0),
        tls=("127.0.0.1", 0),
        host="localhost",
        limits=replace(RelayLimits(), **limits),  # type: ignore[arg-type]
    )
    running = await start_relay(config)
    try:
        yield running
    finally:
        await running.stop()


async def connect(r: RunningRelay) -> SMPClient:
    server = replace(r.address, hosts=("127.0.0.1",))
    return await SMPClient.connect(server, ws_url=f"ws://127.0.0.1:{r.ws_port}/", config=NO_PING)


def _client_tls() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def _upgrade(
    port: int, *, tls: bool, host_header: bool = True, source: str | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes, bytes]:
    """A WebSocket upgrade from a socket with a tiny receive buffer: (reader, writer, head,
    bytes after the head)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if source is not None:
        sock.bind((source, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(
        sock=sock,
        ssl=_client_tls() if tls else None,
        server_hostname="localhost" if tls else None,
        limit=SMP_BLOCK_SIZE * 2,
    )
    key = base64.b64encode(os.urandom(16)).decode()
    host = f"Host: 127.0.0.1:{port}\r\n" if host_header else ""
    writer.write(
        (
            f"GET / HTTP/1.1\r\n{host}Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head, leftover = await asyncio.wait_for(read_http_head(reader), 10)
    return reader, writer, head, leftover


@asynccontextmanager
async def watched(r: RunningRelay, *, tls: bool) -> AsyncIterator[tuple[int, list[BlockConn]]]:
    """A listener of its own in front of ``r``'s relay that records the relay-side
    connections, so that their output buffers can be read in process."""
    seen: list[BlockConn] = []

    async def handler(conn: BlockConn) -> None:
        seen.append(conn)
        await r.relay.handle(conn)

    if tls:
        ident = r.relay.identity
        cert, key = load_or_create_web_cert(r.relay.config.data, ["localhost"])
        ctx = shared_port_context(
            smp_tls_context(str(ident.chain_pem_path), str(ident.key_pem_path)),
            web_tls_context(str(cert), str(key)),
        )
        server = await serve_tls("127.0.0.1", 0, ctx, handler)
    else:
        server = await serve_ws("127.0.0.1", 0, handler)
    try:
        yield int(server.sockets[0].getsockname()[1]), seen
    finally:
        server.close()


PING_FLOOD_BYTES = 8 * 1024 * 1024
PING_FLOOD_CAP = SMP_BLOCK_SIZE + 14 + WS_MAX_PENDING_CONTROL * 127
"""What the relay may hold for a PING flooder: the server hello frame it could not send,
and at most ``WS_MAX_PENDING_CONTROL`` PONG frames."""


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
@pytest.mark.parametrize("handshake", [False, True], ids=["before-hello", "in-session"])
def test_ping_flood_is_disconnected_with_bounded_output(
    tmp_path: Path, tls: bool, handshake: bool
) -> None:
    """B1: PINGs sent fast without reading: the relay's buffer for that connection stays
    under a cap and the connection is closed; other clients are served."""
    peak = 0

    async def main() -> None:
        nonlocal peak
        async with relay_at(tmp_path) as r, watched(r, tls=tls) as (port, seen):
            bystander = await connect(r)
            reader, writer, head, leftover = await _upgrade(port, tls=tls)
            assert head.startswith(b"HTTP/1.1 101")
            if handshake:
                conn = WsBlockConn(reader, writer, client=True, leftover=leftover)
                await client_handshake(conn, r.address.key_hash)
            while not seen:
                await asyncio.sleep(0.01)
            relay_side = seen[0]
            chunk = encode_frame(OP_PING, b"p" * 125, mask=True) * 1000
            sent = 0
            try:
                while sent < PING_FLOOD_BYTES and not relay_side.closed:
                    writer.write(chunk)
                    await asyncio.wait_for(writer.drain(), 10)
                    sent += len(chunk)
                    peak = max(peak, relay_side.buffered_output())
            except (ConnectionError, OSError):
                pass
            for _ in range(100):
                if relay_side.closed:
                    break
                await asyncio.sleep(0.02)
            closed = relay_side.closed
            assert isinstance(relay_side, WsBlockConn)
            peak = max(peak, relay_side.pong_high_water)
            writer.transport.abort()
            assert await bystander.ping() >= 0
            await bystander.close()
            assert closed, f"still open after {sent} bytes of PINGs, {peak} bytes buffered"
            for _ in range(100):
                if r.relay.metrics.disconnects["ping_flood"]:
                    break
                await asyncio.sleep(0.02)
            assert r.relay.metrics.disconnects["ping_flood"] == 1

    run(main)
    assert peak <= PING_FLOOD_CAP


async def _close_code(reader: asyncio.StreamReader, leftover: bytes) -> int | None:
    """Read server frames until a CLOSE: its code (None if the socket just ends)."""
    frames = FrameReader(masked=False, max_payload=SMP_BLOCK_SIZE)
    data = leftover
    while True:
        for f in frames.feed(data):
            if f.opcode == OP_CLOSE:
                return int.from_bytes(f.payload[:2], "big")
        data = await asyncio.wait_for(reader.read(65536), 5)
        if not data:
            return None


BLOCK = b"b" * SMP_BLOCK_SIZE


@pytest.mark.parametrize(
    "frames",
    [
        [(OP_CONT, b"x", True)],
        [(OP_BINARY, BLOCK[:100], False), (OP_BINARY, BLOCK, True)],
        [(OP_BINARY, BLOCK[:100], False), (OP_TEXT, b"t", True)],
        [(OP_BINARY, BLOCK[:100], False), (OP_PING, b"", False)],
    ],
    ids=["continuation-first", "binary-inside", "text-inside", "fragmented-ping"],
)
def test_fragmentation_violations_close_with_1002(
    tmp_path: Path, frames: list[tuple[int, bytes, bool]]
) -> None:
    """B4g: RFC 6455 5.4 violations are protocol errors (close code 1002)."""

    async def main() -> None:
        async with relay_at(tmp_path) as r:
            assert r.ws_port is not None
            reader, writer, head, leftover = await _upgrade(r.ws_port, tls=False)
            assert head.startswith(b"HTTP/1.1 101")
            for opcode, payload, fin in frames:
                writer.write(encode_frame(opcode, payload, fin=fin, mask=True))
            assert await _close_code(reader, leftover) == 1002
            writer.close()

    run(main)


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_upgrade_without_host_is_refused(tmp_path: Path, tls: bool) -> None:
    """B4h: an HTTP/1.1 upgrade without ``Host`` gets 400 (RFC 9112 3.2)."""

    async def main() -> None:
        async with relay_at(tmp_path) as r:
            port = r.tls_port if tls else r.ws_port
            assert port is not None
            _, writer, head, _ = await _upgrade(port, tls=tls, host_header=False)
            assert head.startswith(b"HTTP/1.1 400")
            writer.close()
            assert r.relay.metrics.connections_total == 0

    run(main)


def test_store_files_are_private(tmp_path: Path) -> None:
    """B4e: the SQLite store and its WAL are 0600 like the keys, also one made before."""

    async def main() -> None:
        async with relay_at(tmp_path) as r:
            c = await connect(r)
            rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
            await c.create_queue(rk, dh, subscribe=False)
            await c.close()
            store_files = sorted(tmp_path.glob("relay.sqlite3*"))
            assert [p.name for p in store_files][:2] == ["relay.sqlite3", "relay.sqlite3-wal"]
            for p in store_files:
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
        # A store left readable by an older version is tightened on the next start.
        for p in tmp_path.glob("relay.sqlite3*"):
            p.chmod(0o644)
        async with relay_at(tmp_path):
            for p in tmp_path.glob("relay.sqlite3*"):
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name

    old = os.umask(0o022)
    try:
        run(main)
    finally:
        os.umask(old)


def test_data_directory_in_use_is_one_line(tmp_path: Path) -> None:
    """B4f: a second relay on a data directory in use exits 1 with one line, no traceback."""
    args = [sys.executable, "-m", "hushwire", "relay", "--data", str(tmp_path), "--ws"]
    first = start_relay_process(tmp_path, tls=False)
    try:
        # This interpreter and the package's own CLI.
        second = subprocess.run(
            [*args, "127.0.0.1:0"], capture_output=True, timeout=60, check=False
        )
    finally:
        first.stop()
    assert second.returncode == 1
    lines = second.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("hushwire relay: ")
    assert "another relay" in lines[0]
    assert second.stdout == b""


@pytest.mark.parametrize(
    ("versions", "ack_reply_is_msg"),
    [(VersionRange(7, 9), False), (None, True)],
    ids=["simplex-js-range", "native-v18"],
)
def test_back_to_back_messages_by_default(
    tmp_path: Path, versions: VersionRange | None, ack_reply_is_msg: bool
) -> None:
    """A5: on a relay with default settings, a client that negotiates v9 or lower (simplex-js:
    6..9) gets ``OK`` for ACK and the next message as a push; a current native client still
    gets the next message as ACK's reply, as from the reference."""

    async def main() -> None:
        async with relay_at(tmp_path) as r:
            server = replace(r.address, hosts=("127.0.0.1",))
            url = f"ws://127.0.0.1:{r.ws_port}/"
            rcv, snd = [
                await SMPClient.connect(server, ws_url=url, version_range=versions, config=NO_PING)
                for _ in range(2)
            ]
            rk, dh, sk = (KeyPair.generate(KeyAlg.X25519) for _ in range(3))
            ids = await rcv.create_queue(rk, dh, messaging=True)
            await snd.secure_sender(ids.snd_id, sk)
            for body in (b"one", b"two", b"three"):
                await snd.send(ids.snd_id, body, key=sk)
            got = []
            msg = await _next_message(rcv)
            for _ in range(3):
                got.append(decrypt_message(msg, dh, ids.srv_dh_key).body)  # type: ignore[union-attr]
                reply = await rcv.ack(ids.rcv_id, rk, msg.msg_id)
                if len(got) == 3:
                    assert reply is None
                elif ack_reply_is_msg:
                    assert reply is not None
                    msg = reply
                else:
                    assert reply is None  # OK, never a MSG: the next one is a push
                    msg = await _next_message(rcv)
            assert got == [b"one", b"two", b"three"]
            await rcv.close()
            await snd.close()

    run(main)


async def _next_message(c: SMPClient) -> MSG:
    while True:
        ev = await asyncio.wait_for(c.events.get(), 10)
        if isinstance(ev, MessageEvent):
            return ev.msg


def test_silent_sockets_do_not_take_connection_slots(tmp_path: Path) -> None:
    """B4a: only handshaken connections count toward ``max_connections``; connections still
    in the handshake are capped per address instead."""

    async def main() -> None:
        async with relay_at(tmp_path, max_connections=3, max_handshakes_per_address=2) as r:
            assert r.ws_port is not None
            silent = [await _silent(r.ws_port) for _ in range(2)]
            for s in silent:  # each got the server hello and now says nothing
                assert len(await s.recv_block()) == SMP_BLOCK_SIZE
            # A third one from the same address is closed before the hello.
            extra = await _silent(r.ws_port)
            with pytest.raises(ConnectionClosedError):
                await asyncio.wait_for(extra.recv_block(), 5)
            await extra.close()
            assert r.relay.metrics.disconnects["too_many_handshakes"] == 1
            # Real clients still get all three slots; a fourth is refused as before.
            clients = [await connect(r) for _ in range(3)]
            with pytest.raises(SMPClientError):
                await connect(r)
            assert r.relay.metrics.disconnects["too_many_connections"] == 1
            for c in clients:
                assert await c.ping() >= 0
                await c.close()
            for s in silent:
                await s.close()

    run(main)


async def _silent(port: int) -> WsBlockConn:
    """A WebSocket from 127.0.0.2 that will never send its client hello."""
    reader, writer, head, leftover = await _upgrade(port, tls=False, source="127.0.0.2")
    assert head.startswith(b"HTTP/1.1 101")
    return WsBlockConn(reader, writer, client=True, leftover=leftover)


async def _get(port: int, path: str, *, tls: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1",
        port,
        ssl=_client_tls() if tls else None,
        server_hostname="localhost" if tls else None,
    )
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            data += chunk
    writer.close()
    return data


def test_metrics_are_off_the_client_ports(tmp_path: Path) -> None:
    """B4d: /metrics (a live activity record) is served only on the admin listener; the
    client ports keep /healthz."""

    async def main() -> None:
        config = RelayConfig(
            data=tmp_path,
            ws=("127.0.0.1", 0),
            tls=("127.0.0.1", 0),
            host="localhost",
            admin=("127.0.0.1", 0),
        )
        r = await start_relay(config)
        try:
            assert r.ws_port is not None and r.tls_port is not None
            assert r.admin_port is not None
            for port, tls in ((r.ws_port, False), (r.tls_port, True)):
                assert (await _get(port, "/metrics", tls=tls)).startswith(b"HTTP/1.1 404")
                assert (await _get(port, "/healthz", tls=tls)).startswith(b"HTTP/1.1 200")
            metrics = await _get(r.admin_port, "/metrics")
            assert metrics.startswith(b"HTTP/1.1 200")
            assert b"hushwire_connections_open" in metrics
            # The admin listener is no WebSocket endpoint.
            _, writer, head, _ = await _upgrade(r.admin_port, tls=False)
            assert head.startswith(b"HTTP/1.1 404")
            writer.close()
        finally:
            await r.stop()
        # Without an admin setting there is no /metrics anywhere.
        assert load_config(None, data=str(tmp_path), ws="127.0.0.1:0").admin is None
        assert load_config(
            None, data=str(tmp_path), ws="127.0.0.1:0", admin="127.0.0.1:9"
        ).admin == (
            "127.0.0.1",
            9,
        )

    run(main)


@pytest.mark.parametrize(
    ("limits", "budget"),
    [
        ({"sig_checks_per_second_per_address": 40}, "address"),
        ({"sig_checks_per_second": 40}, "global"),
    ],
)
def test_signature_checks_have_address_and_global_budgets(
    tmp_path: Path, limits: dict[str, float], budget: str
) -> None:
    """B4b: two connections each within their own command rate, together over the
    address's (or the relay's) budget of signature checks, are slowed down."""

    async def main() -> None:
        async with relay_at(tmp_path, commands_per_second=100000, **limits) as r:
            clients = [await connect(r) for _ in range(2)]

            async def signed_gets(c: SMPClient) -> None:
                rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                q = await c.create_queue(rk, dh, subscribe=False)
                for _ in range(60):
                    assert await c.get(q.rcv_id, rk) is None

            await asyncio.gather(*(signed_gets(c) for c in clients))
            assert r.relay.metrics.throttled[budget] >= 1
            assert sum(r.relay.metrics.throttled.values()) == r.relay.metrics.throttled[budget]
            for c in clients:
                await c.close()

    run(main)


def test_storage_quota_answers_quota(tmp_path: Path) -> None:
    """B4c: past the relay's stored-bytes quota SEND gets ERR QUOTA; space freed by ACK can
    be used again."""

    async def main() -> None:
        async with relay_at(tmp_path, max_stored_bytes=40000) as r:
            rcv, snd = await connect(r), await connect(r)
            rk, sk = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.ED25519)
            dh = KeyPair.generate(KeyAlg.X25519)
            q = await rcv.create_queue(rk, dh, subscribe=False)
            await rcv.secure(q.rcv_id, rk, sk.public)
            body = b"x" * 15000
            await snd.send(q.snd_id, body, key=sk)
            await snd.send(q.snd_id, body, key=sk)
            with pytest.raises(SMPCommandError) as e:
                await snd.send(q.snd_id, body, key=sk)
            assert e.value.error == ErrorType.QUOTA
            msg = await rcv.get(q.rcv_id, rk)
            assert msg is not None
            await rcv.ack(q.rcv_id, rk, msg.msg_id)
            await snd.send(q.snd_id, body, key=sk)
            for c in (rcv, snd):
                await c.close()

    run(main)


def test_queue_creation_quota_per_address(tmp_path: Path) -> None:
    """B4c: all connections of one address share a quota of new queues per minute; past it
    NEW gets ERR QUOTA (each connection alone stays within its own rate)."""

    async def main() -> None:
        async with relay_at(tmp_path, new_queues_per_minute_per_address=3) as r:
            a, b = await connect(r), await connect(r)
            dh = KeyPair.generate(KeyAlg.X25519)
            for c in (a, b, a):
                await c.create_queue(KeyPair.generate(KeyAlg.ED25519), dh, subscribe=False)
            with pytest.raises(SMPCommandError) as e:
                await b.create_queue(KeyPair.generate(KeyAlg.ED25519), dh, subscribe=False)
            assert e.value.error == ErrorType.QUOTA
            for c in (a, b):
                await c.close()

    run(main)
