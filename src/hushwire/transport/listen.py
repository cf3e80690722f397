"""Listening sockets: a WebSocket port and a TLS port serving native SMP and WSS.

The TLS port follows simplexmq's shared web port (``Transport/Server.hs``,
``rfcs/2024-09-15-shared-port.md``): a client that sends SNI is a browser and gets the
browser-trusted web certificate; a client without SNI is a native SimpleX client and gets
the SMP identity chain. After the handshake, ALPN ``smp/1`` (or none) means raw SMP blocks;
``http/1.1`` means an HTTP request: a WebSocket upgrade, or a plain request for the
operations endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from websockets.datastructures import Headers
from websockets.http11 import Request
from websockets.server import ServerProtocol

from hushwire.limits import SMP_BLOCK_SIZE
from hushwire.transport.blocks import BlockConn, RawBlockConn, WsBlockConn

log = logging.getLogger("hushwire.transport")

ConnHandler = Callable[[BlockConn], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


HttpHandler = Callable[[str], HttpReply | Awaitable[HttpReply | None] | None]
"""Called with the request path of a non-upgrade HTTP request; None means 404. It may be a
coroutine function (the admin listener's ``/metrics`` asks the other workers)."""

HTTP_HEADER_TIMEOUT = 10.0
SNIFF_TIMEOUT = 0.5
"""Without ALPN, a client that speaks first within this time is HTTP; SMP clients wait."""
HTTP_METHODS = (b"GET ", b"HEAD", b"POST", b"PUT ", b"OPTI")


def smp_tls_context(cert_chain_pem: str, key_pem: str) -> ssl.SSLContext:
    """Server context with the SMP identity chain (leaf first, then CA)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_chain_pem, key_pem)
    ctx.set_alpn_protocols(["smp/1", "http/1.1"])
    ctx.num_tickets = 0
    ctx.options |= ssl.OP_NO_TICKET
    return ctx


def web_tls_context(cert_pem: str, key_pem: str) -> ssl.SSLContext:
    """Server context with the browser-trusted web certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_pem, key_pem)
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.num_tickets = 0
    ctx.options |= ssl.OP_NO_TICKET
    return ctx


def shared_port_context(smp_ctx: ssl.SSLContext, web_ctx: ssl.SSLContext | None) -> ssl.SSLContext:
    """Pick the web certificate for clients that send SNI (browsers)."""
    if web_ctx is not None:

        def pick(sslobj: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
            if server_name:
                sslobj.context = web_ctx

        smp_ctx.sni_callback = pick
    return smp_ctx


HTTP_HEAD_LIMIT = 8192
"""Bytes an HTTP request head may take before the connection is refused."""


async def read_http_head(reader: asyncio.StreamReader, first: bytes = b"") -> tuple[bytes, bytes]:
    """Read up to the blank line ending an HTTP head: ``(head, bytes after it)``.

    Only the head goes to the websockets core; frames that follow it in the same read are
    left for this package's own framing. Raises ``ConnectionError`` on EOF or an oversized
    head.
    """
    buf = bytearray(first)
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            return bytes(buf[: end + 4]), bytes(buf[end + 4 :])
        if len(buf) > HTTP_HEAD_LIMIT:
            raise ConnectionError("HTTP head too large")
        data = await reader.read(4096)
        if not data:
            raise ConnectionError("closed during the HTTP head")
        buf += data


async def _http_upgrade(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    http: HttpHandler | None,
    kind: str,
    prefix: bytes = b"",
    *,
    upgrade: bool = True,
) -> WsBlockConn | None:
    """Read one HTTP request; upgrade it to a WebSocket (if ``upgrade``) or answer it."""
    proto = ServerProtocol(max_size=SMP_BLOCK_SIZE)
    head, leftover = await read_http_head(reader, prefix)
    proto.receive_data(head)
    request = next((ev for ev in proto.events_received() if isinstance(ev, Request)), None)
    if request is None:
        for chunk in proto.data_to_send():
            writer.write(chunk)
        return None
    if "Host" not in request.headers:
        # RFC 9112 3.2: a request without Host is answered 400, upgrade or not.
        proto.send_response(proto.reject(400, "Missing Host header\n"))
        for chunk in proto.data_to_send():
            writer.write(chunk)
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
        return None
    wants_upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    if (not wants_upgrade or not upgrade) and http is not None:
        path = request.path.split("?", 1)[0]
        reply = http(path)
        if inspect.isawaitable(reply):
            reply = await reply
        response = proto.reject(reply.status, reply.body) if reply else proto.reject(404, "")
        if reply is not None:
            del response.headers["Content-Type"]  # websockets' Headers adds, not replaces
            response.headers["Content-Type"] = reply.content_type
        proto.send_response(response)
        for chunk in proto.data_to_send():
            writer.write(chunk)
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
        return None
    response = proto.accept(request)
    response.headers = Headers(
        [(k, v) for k, v in response.headers.raw_items() if k.lower() != "server"]
    )
    proto.send_response(response)
    for chunk in proto.data_to_send():
        writer.write(chunk)
    await writer.drain()
    if response.status_code != 101:
        return None
    return WsBlockConn(reader, writer, client=False, kind=kind, leftover=leftover)


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def _serve_conn(conn: BlockConn, handler: ConnHandler) -> None:
    try:
        await handler(conn)
    except Exception:  # pragma: no cover - the handler must not raise; keep the server up
        log.exception("connection %s: handler failed", conn.conn_id)
    finally:
        await conn.close()


async def _upgrade_or_close(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    http: HttpHandler | None,
    kind: str,
    prefix: bytes = b"",
) -> WsBlockConn | None:
    """:func:`_http_upgrade` within ``HTTP_HEADER_TIMEOUT``: the WebSocket, or None with the
    writer closed (the request was answered without an upgrade, timed out or failed)."""
    try:
        conn = await asyncio.wait_for(
            _http_upgrade(reader, writer, http, kind, prefix), HTTP_HEADER_TIMEOUT
        )
    except (TimeoutError, ConnectionError, OSError, ssl.SSLError):
        conn = None
    if conn is None:
        await _close_writer(writer)
    return conn


async def serve_ws(
    host: str,
    port: int,
    handler: ConnHandler,
    http: HttpHandler | None = None,
    *,
    reuse_port: bool = False,
) -> asyncio.Server:
    """Plain WebSocket port (localhost, or behind a TLS-terminating proxy); ``reuse_port``:
    share the port with other processes (SO_REUSEPORT, the relay's ``--workers``)."""

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = await _upgrade_or_close(reader, writer, http, "ws")
        if conn is not None:
            await _serve_conn(conn, handler)

    return await asyncio.start_server(
        on_client, host, port, limit=SMP_BLOCK_SIZE * 2, reuse_port=reuse_port or None
    )


async def serve_http(
    host: str, port: int, http: HttpHandler, *, reuse_port: bool = False
) -> asyncio.Server:
    """Plain HTTP for the operations endpoints (the admin listener): no WebSocket upgrade."""

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(
                _http_upgrade(reader, writer, http, "http", upgrade=False), HTTP_HEADER_TIMEOUT
            )
        except (TimeoutError, ConnectionError, OSError):
            pass
        await _close_writer(writer)

    return await asyncio.start_server(
        on_client, host, port, limit=HTTP_HEAD_LIMIT * 2, reuse_port=reuse_port or None
    )


async def serve_tls(
    host: str,
    port: int,
    ctx: ssl.SSLContext,
    handler: ConnHandler,
    http: HttpHandler | None = None,
    *,
    handshake_timeout: float = 30.0,
    reuse_port: bool = False,
) -> asyncio.Server:
    """TLS port: native SMP (ALPN smp/1 or none) and WSS (ALPN http/1.1) side by side."""

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sslobj = writer.get_extra_info("ssl_object")
        alpn = sslobj.selected_alpn_protocol() if sslobj is not None else None
        conn: BlockConn | None
        prefix = b""
        if alpn is None:
            # No ALPN (e.g. Node's ws, some proxies): HTTP clients speak first, SMP clients
            # wait for the server hello.
            try:
                prefix = await asyncio.wait_for(reader.readexactly(4), SNIFF_TIMEOUT)
            except TimeoutError:
                prefix = b""
            except (asyncio.IncompleteReadError, ConnectionError, OSError, ssl.SSLError):
                await _close_writer(writer)
                return
            if prefix and prefix not in HTTP_METHODS:
                await _close_writer(writer)
                return
        if alpn == "smp/1" or (alpn is None and not prefix):
            conn = RawBlockConn(reader, writer)
        else:
            conn = await _upgrade_or_close(reader, writer, http, "wss", prefix)
            if conn is None:
                return
        await _serve_conn(conn, handler)

    return await asyncio.start_server(
        on_client,
        host,
        port,
        ssl=ctx,
        ssl_handshake_timeout=handshake_timeout,
        limit=SMP_BLOCK_SIZE * 2,
        reuse_port=reuse_port or None,
    )
