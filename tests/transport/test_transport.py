"""hushwire.transport on loopback: real sockets, real TLS, real WebSocket framing."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hushwire.limits import SMP_BLOCK_SIZE
from hushwire.transport import BadBlockError, BlockConn, ConnectionClosedError
from hushwire.transport.blocks import WsBlockConn
from hushwire.transport.connect import connect_tls, connect_ws, peer_certificate
from hushwire.transport.listen import (
    HttpReply,
    read_http_head,
    serve_tls,
    serve_ws,
    shared_port_context,
    smp_tls_context,
    web_tls_context,
)
from hushwire.transport.wsframes import OP_BINARY, OP_CONT, OP_TEXT


def _self_signed(tmp: Path, name: str) -> tuple[str, str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path), cert.public_bytes(serialization.Encoding.DER)


def block(fill: int) -> bytes:
    return bytes([fill]) * SMP_BLOCK_SIZE


async def echo(conn: BlockConn) -> None:
    try:
        while True:
            await conn.send_block(await conn.recv_block())
    except (ConnectionClosedError, BadBlockError):
        pass


def http(path: str) -> HttpReply | None:
    return HttpReply(200, "ok\n") if path == "/healthz" else None


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), 20))


def _port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


def test_ws_echo_blocks_in_order() -> None:
    async def main() -> None:
        server = await serve_ws("127.0.0.1", 0, echo, http)
        async with server:
            conn = await connect_ws(f"ws://127.0.0.1:{_port(server)}/")
            assert conn.kind == "ws" and conn.tls_unique is None
            for i in range(5):
                await conn.send_block(block(i))
            got = [await conn.recv_block() for _ in range(5)]
            assert got == [block(i) for i in range(5)]
            await conn.close()
            with pytest.raises(ConnectionClosedError):
                await conn.recv_block()
            with pytest.raises(ConnectionClosedError):
                await conn.send_block(block(1))

    run(main)


def test_ws_refuses_wrong_sizes_and_text() -> None:
    """A message that is not exactly one block closes that connection (TEBadBlock)."""
    results: list[str] = []

    async def record(conn: BlockConn) -> None:
        try:
            await conn.recv_block()
            results.append("block")
        except BadBlockError as e:
            results.append(f"bad: {e}")
        except ConnectionClosedError:
            results.append("closed")

    async def main() -> None:
        server = await serve_ws("127.0.0.1", 0, record)
        async with server:
            url = f"ws://127.0.0.1:{_port(server)}/"
            for payload, opcode in [
                (b"x" * 100, OP_BINARY),
                (b"x" * (SMP_BLOCK_SIZE + 1), OP_BINARY),
                (b"hello", OP_TEXT),
            ]:
                conn = await connect_ws(url)
                assert isinstance(conn, WsBlockConn)
                conn.send_raw_frame(opcode, payload)
                with pytest.raises(ConnectionClosedError):
                    await conn.recv_block()
                await conn.close()
            # A block split over two frames is still one block.
            conn = await connect_ws(url)
            assert isinstance(conn, WsBlockConn)
            conn.send_raw_frame(OP_BINARY, b"a" * 1000, fin=False)
            conn.send_raw_frame(OP_CONT, b"a" * (SMP_BLOCK_SIZE - 1000))
            await asyncio.sleep(0.2)
            await conn.close()
            await asyncio.sleep(0.1)
            server.close()
            await server.wait_closed()

    run(main)
    assert results[0] == "bad: WebSocket message of 100 bytes"
    assert results[1] == "closed"  # the protocol core closes on messages over max_size
    assert results[2] == "bad: text WebSocket message"
    assert results[3] == "block"


def test_ws_http_endpoints() -> None:
    async def main() -> None:
        server = await serve_ws("127.0.0.1", 0, echo, http)
        async with server:
            for path, status in [("/healthz", b"200"), ("/nope", b"404")]:
                reader, writer = await asyncio.open_connection("127.0.0.1", _port(server))
                writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                reply = await reader.read(4096)
                assert reply.split(b" ")[1] == status
                writer.close()
                await writer.wait_closed()
            # Garbage instead of HTTP: the connection is closed, the server stays up.
            reader, writer = await asyncio.open_connection("127.0.0.1", _port(server))
            writer.write(b"\x00" * 64 + b"\r\n\r\n")
            reply = await reader.read(4096)
            assert reply == b"" or reply.startswith(b"HTTP/1.1 400")
            writer.close()
            await writer.wait_closed()
            conn = await connect_ws(f"ws://127.0.0.1:{_port(server)}/")
            await conn.send_block(block(7))
            assert await conn.recv_block() == block(7)
            await conn.close()

    run(main)


def test_tls_port_serves_native_smp_and_wss_by_sni(tmp_path: Path) -> None:
    smp_cert, smp_key, smp_der = _self_signed(tmp_path, "smp")
    web_cert, web_key, web_der = _self_signed(tmp_path, "localhost")
    ctx = shared_port_context(
        smp_tls_context(smp_cert, smp_key), web_tls_context(web_cert, web_key)
    )
    seen: list[tuple[str, str | None, bytes | None]] = []

    async def handler(conn: BlockConn) -> None:
        seen.append((conn.kind, conn.alpn, conn.tls_unique))
        await echo(conn)

    async def main() -> None:
        server = await serve_tls("127.0.0.1", 0, ctx, handler, http)
        async with server:
            port = _port(server)
            native = await connect_tls("127.0.0.1", port)
            assert native.alpn == "smp/1"
            assert peer_certificate(native) == smp_der
            await native.send_block(block(1))
            assert await native.recv_block() == block(1)
            assert native.tls_unique is not None and len(native.tls_unique) >= 12
            ws = await connect_ws(f"wss://localhost:{port}/")
            assert ws.kind == "wss"
            assert peer_certificate(ws) == web_der
            await ws.send_block(block(2))
            assert await ws.recv_block() == block(2)
            await asyncio.sleep(0.05)
            # The server's channel binding equals the client's (both: client Finished).
            assert seen[0][0] == "tls" and seen[0][2] == native.tls_unique
            assert seen[1][0] == "wss" and seen[1][1] == "http/1.1"
            await native.close()
            await ws.close()

    run(main)


def test_connect_failures_are_transport_errors() -> None:
    from hushwire.transport import TransportFailure

    async def main() -> None:
        server = await serve_ws("127.0.0.1", 0, echo)
        port = _port(server)
        server.close()
        await server.wait_closed()
        with pytest.raises(TransportFailure):
            await connect_ws(f"ws://127.0.0.1:{port}/")
        with pytest.raises(TransportFailure):
            await connect_tls("127.0.0.1", port)

    run(main)


def test_ssl_module_has_tls_unique() -> None:
    assert "tls-unique" in ssl.CHANNEL_BINDING_TYPES


def test_tls_port_without_alpn_sniffs_http_or_smp(tmp_path: Path) -> None:
    """Clients that offer no ALPN: one that speaks HTTP first gets WebSocket, one that
    waits for the server (a native SMP client) gets raw blocks."""
    smp_cert, smp_key, _ = _self_signed(tmp_path, "smp")
    ctx = shared_port_context(smp_tls_context(smp_cert, smp_key), None)
    kinds: list[str] = []

    async def handler(conn: BlockConn) -> None:
        kinds.append(conn.kind)
        await conn.send_block(block(9))
        await echo(conn)

    async def main() -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        server = await serve_tls("127.0.0.1", 0, ctx, handler)
        async with server:
            port = _port(server)
            client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            client_ctx.check_hostname = False
            client_ctx.verify_mode = ssl.CERT_NONE
            # Raw SMP without ALPN: the server speaks first after a short wait.
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
            assert await reader.readexactly(SMP_BLOCK_SIZE) == block(9)
            writer.close()
            await writer.wait_closed()
            # WebSocket without ALPN.
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
            proto = ClientProtocol(parse_uri(f"wss://127.0.0.1:{port}/"), max_size=SMP_BLOCK_SIZE)
            proto.send_request(proto.connect())
            for chunk in proto.data_to_send():
                writer.write(chunk)
            head, leftover = await read_http_head(reader)
            proto.receive_data(head)
            assert proto.state.name == "OPEN"
            conn = WsBlockConn(reader, writer, client=True, kind="wss", leftover=leftover)
            assert await conn.recv_block() == block(9)
            await conn.close()
            # Neither HTTP nor silence: closed.
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
            writer.write(b"\x00\x01\x02\x03")
            assert await reader.read(100) == b""
            writer.close()
            await writer.wait_closed()

    run(main)
    assert kinds == ["tls", "wss"]


def test_ws_write_now_reports_a_full_buffer_and_keeps_order() -> None:
    """write_now puts blocks on the wire without waiting and says when the peer's side is
    full (the caller must then wait for it); everything arrives, in order."""
    written: list[asyncio.Future[int]] = []

    async def flood(conn: BlockConn) -> None:
        assert conn.can_write_now
        with pytest.raises(ValueError):
            conn.write_now([b"short"])
        n = 0
        while n < 4000:  # the client reads nothing yet: the buffers fill up
            n += 1
            if conn.write_now([block(n % 256)]):
                break
        written[0].set_result(n)
        await conn.send_blocks([])  # returns once the client has taken enough
        await conn.close()
        with pytest.raises(ConnectionClosedError):
            conn.write_now([block(0)])

    async def main() -> None:
        written.append(asyncio.get_running_loop().create_future())
        server = await serve_ws("127.0.0.1", 0, flood, http)
        async with server:
            conn = await connect_ws(f"ws://127.0.0.1:{_port(server)}/")
            n = await written[0]
            assert n < 4000  # write_now said the buffer was full before the bound
            got = [await conn.recv_block() for _ in range(n)]
            assert got == [block(i % 256) for i in range(1, n + 1)]
            with pytest.raises(ConnectionClosedError):  # the server's close, after its data
                await conn.recv_block()
            await conn.close()

    run(main)
