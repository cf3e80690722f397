"""Client connectors: ``ws://``, ``wss://`` and native SMP over TLS (ALPN ``smp/1``).

Mirrors simplexmq ``Simplex.Messaging.Transport.Client`` (``runTransportClient``; the
WebSocket client side of ``Transport.WebSockets``). The server is authenticated by the SMP
handshake (the certificate chain in the server hello must hash to the address's key hash,
docs/protocol/smp.md, "Hellos"), not by a CA, so TLS certificate verification is off here
and the caller checks the identity.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.http11 import Response
from websockets.uri import parse_uri

from hushwire.limits import SMP_BLOCK_SIZE
from hushwire.transport.blocks import (
    BlockConn,
    RawBlockConn,
    TransportFailure,
    WsBlockConn,
)
from hushwire.transport.listen import read_http_head


def client_tls_context(alpn: list[str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(alpn)
    return ctx


def peer_certificate(conn: BlockConn) -> bytes | None:
    """DER of the TLS peer's leaf certificate, when TLS is terminated here."""
    sslobj = conn._writer.get_extra_info("ssl_object")
    if sslobj is None:
        return None
    cert = sslobj.getpeercert(binary_form=True)
    return bytes(cert) if cert else None


async def connect_tls(
    host: str, port: int, *, timeout: float = 10.0, tls12_chacha: bool = False
) -> BlockConn:
    """Native SMP over TLS, no SNI (a native client), ALPN smp/1.

    ``tls12_chacha``: TLS 1.2 with ECDHE-ECDSA-CHACHA20-POLY1305 only, one of the two
    suites simplexmq offers (Transport.hs ``supportedParameters``). A private-routing proxy
    uses it for its link to a destination: the destination's session id is this
    connection's channel binding, and ``PFWD`` carries it; TLS 1.2's 12 bytes (32 with
    the reference's TLS 1.3 suite) fit in a block, the 48 bytes of the TLS 1.3 suite this
    library would otherwise get (``TLS_AES_256_GCM_SHA384``; the TLS 1.3 suite cannot be
    chosen from Python) do not.
    """
    ctx = client_tls_context(["smp/1"])
    if tls12_chacha:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host, port, ssl=ctx, server_hostname="", limit=SMP_BLOCK_SIZE * 2
            ),
            timeout,
        )
    except (OSError, ssl.SSLError, TimeoutError) as e:
        raise TransportFailure(f"cannot connect to {host}:{port}: {e}") from e
    return RawBlockConn(reader, writer)


async def connect_ws(url: str, *, timeout: float = 10.0) -> BlockConn:
    """A WebSocket (``ws://`` or ``wss://``) carrying one block per binary message."""
    uri = parse_uri(url)
    parts = urlsplit(url)
    ctx = client_tls_context(["http/1.1"]) if uri.secure else None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                uri.host,
                uri.port,
                ssl=ctx,
                server_hostname=(parts.hostname or uri.host) if ctx else None,
                limit=SMP_BLOCK_SIZE * 2,
            ),
            timeout,
        )
    except (OSError, ssl.SSLError, TimeoutError) as e:
        raise TransportFailure(f"cannot connect to {url}: {e}") from e
    proto = ClientProtocol(uri, max_size=SMP_BLOCK_SIZE)
    request = proto.connect()
    proto.send_request(request)
    for chunk in proto.data_to_send():
        writer.write(chunk)
    try:
        head, leftover = await asyncio.wait_for(read_http_head(reader), timeout)
    except (OSError, TimeoutError) as e:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        raise TransportFailure(f"WebSocket handshake with {url} failed: {e}") from e
    proto.receive_data(head)
    response = next((ev for ev in proto.events_received() if isinstance(ev, Response)), None)
    if response is None or response.status_code != 101 or proto.handshake_exc is not None:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        raise TransportFailure(f"WebSocket handshake with {url} was refused")
    return WsBlockConn(
        reader, writer, client=True, kind="wss" if uri.secure else "ws", leftover=leftover
    )
