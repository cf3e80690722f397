"""Starting and stopping a relay: identity, store, listeners, expiry, signals.

``hushwire relay --data DIR --ws HOST:PORT [--tls HOST:PORT] [--grp HOST:PORT]
[--store postgresql://...] [--cluster] [--workers N] [--config relay.toml]``. ``/metrics``
is served only on the admin listener (``admin`` in relay.toml), never on the client ports. On
start the relay prints its server address on a line of its own (and its GRP address on a
``GRP:`` line with ``--grp``); SIGTERM or SIGINT stop it cleanly (listeners closed, sessions
closed, store flushed and closed). A store that cannot be opened (PostgreSQL unreachable,
file in use) is one line on stderr and exit status 1.

With ``--cluster`` the relay is one node of several serving the same address from one
PostgreSQL store (``hushwire.server.cluster``); ``--workers N`` runs N such nodes on this
machine, sharing the ports; any worker's ``/metrics`` answers for all of them
(``hushwire.server.scrape``). ``/healthz`` answers 503 while a node's store is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TextIO

from hushwire.encoding.strings import b64url_encode
from hushwire.grp.address import GrpAddress
from hushwire.server.config import RelayConfig
from hushwire.server.grp import GrpListener, load_or_create_grp_key
from hushwire.server.identity import load_or_create_identity, load_or_create_web_cert
from hushwire.server.relay import Relay
from hushwire.server.scrape import NodeScrape, WorkerSlot, health
from hushwire.server.store import QueueStore, SQLiteStore, StoreError
from hushwire.smp.address import SMPServer
from hushwire.transport.grp import CoverSettings
from hushwire.transport.listen import (
    HttpReply,
    serve_http,
    serve_tls,
    serve_ws,
    shared_port_context,
    smp_tls_context,
    web_tls_context,
)
from hushwire.transport.local import LocalPeers

log = logging.getLogger("hushwire.relay")


@dataclass
class RunningRelay:
    relay: Relay
    servers: list[asyncio.AbstractServer]
    address: SMPServer
    ws_port: int | None
    tls_port: int | None
    _expiry: asyncio.Task[None]
    admin_port: int | None = None
    """Port of the admin listener (``/metrics``), when ``admin`` is configured."""
    grp_address: GrpAddress | None = None
    """The relay's GRP/1 address, when ``grp`` is configured (docs/grp.md)."""
    grp: GrpListener | None = None
    """The GRP/1 listener (its frame counters are ``grp.cover.counters``)."""

    async def stop(self) -> None:
        self._expiry.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._expiry
        for s in self.servers:
            s.close()
        await self.relay.close_sessions()
        for s in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.wait_closed(), 5)
        await self.relay.store.close()


def _http(relay: Relay) -> Callable[[str], HttpReply | None]:
    """The client ports' endpoints: ``/healthz`` only (it says nothing about activity)."""

    def handle(path: str) -> HttpReply | None:
        if path == "/healthz":
            return health(relay.store)
        return None

    return handle


def make_store(config: RelayConfig) -> QueueStore:
    """The store ``config`` names: SQLite under ``data`` unless ``store`` is a PostgreSQL URI
    (shared by the nodes of a cluster with ``cluster``)."""
    if config.store is None:
        config.data.mkdir(parents=True, exist_ok=True)
        return SQLiteStore(config.data / "relay.sqlite3")
    try:
        from hushwire.server.store.cluster import ClusterStore
        from hushwire.server.store.postgres import PostgresStore
    except ImportError as e:
        raise StoreError(
            f"the PostgreSQL store needs the asyncpg driver: pip install 'hushwire[postgres]' ({e})"
        ) from e
    if config.cluster:
        return ClusterStore(config.store)
    return PostgresStore(config.store)


async def start_relay(config: RelayConfig, slot: WorkerSlot | None = None) -> RunningRelay:
    """Start listening; the caller stops it with :meth:`RunningRelay.stop`. ``slot``: which
    worker of ``--workers N`` this process is (``/metrics`` answers for all of them)."""
    store = make_store(config)
    await store.open()  # first: an unusable store leaves no new identity behind
    try:
        identity, created = load_or_create_identity(config.data, common_name=config.address_host)
    except BaseException:
        await store.close()
        raise
    if created:
        log.info("created a new relay identity in %s", config.data)
    relay = Relay(config, identity, store)
    http = _http(relay)
    scrape = NodeScrape(relay, slot)
    servers: list[asyncio.AbstractServer] = []
    ws_port = tls_port = admin_port = None
    shared = config.workers > 1
    grp_address = listener = None
    try:
        if config.cluster:
            from hushwire.server.cluster import NodeEvents
            from hushwire.server.store.cluster import ClusterStore

            assert isinstance(store, ClusterStore)
            await store.join(identity.key_hash)
            store.events = NodeEvents(relay.dispatcher)
        if config.ws is not None:
            srv = await serve_ws(config.ws[0], config.ws[1], relay.handle, http, reuse_port=shared)
            servers.append(srv)
            ws_port = int(srv.sockets[0].getsockname()[1])
        if config.tls is not None:
            if config.web_cert is not None and config.web_key is not None:
                web_cert, web_key = config.web_cert, config.web_key
            else:
                web_cert, web_key = load_or_create_web_cert(
                    config.data, [config.address_host, "localhost"]
                )
            ctx = shared_port_context(
                smp_tls_context(str(identity.chain_pem_path), str(identity.key_pem_path)),
                web_tls_context(str(web_cert), str(web_key)),
            )
            srv = await serve_tls(
                config.tls[0], config.tls[1], ctx, relay.handle, http, reuse_port=shared
            )
            servers.append(srv)
            tls_port = int(srv.sockets[0].getsockname()[1])
        if config.admin is not None:
            srv = await serve_http(
                config.admin[0], config.admin[1], scrape.handle, reuse_port=shared
            )
            servers.append(srv)
            admin_port = int(srv.sockets[0].getsockname()[1])
            if slot is not None and slot.peers is not None:
                servers.append(await slot.peers.serve(slot.index, scrape.snapshot))
            log.info("metrics: http://%s:%d/metrics", config.admin[0], admin_port)
        if config.grp is not None:
            static, made = load_or_create_grp_key(config.data)
            if made:
                log.info("created a new GRP key in %s", config.data)
            listener = GrpListener(relay, static, CoverSettings(rate=config.grp_cover_rate))
            scrape.grp = listener
            srv = await listener.serve(config.grp[0], config.grp[1], http)
            servers.append(srv)
            grp_address = listener.address(
                config.address_host, int(srv.sockets[0].getsockname()[1])
            )
    except BaseException:
        for s in servers:
            s.close()
        await store.close()
        raise
    port = tls_port if tls_port is not None else ws_port
    address = SMPServer((config.address_host,), identity.key_hash, port)
    expiry = asyncio.create_task(_expire_loop(relay))
    return RunningRelay(
        relay, servers, address, ws_port, tls_port, expiry, admin_port, grp_address, listener
    )


async def _expire_loop(relay: Relay) -> None:
    while True:
        await asyncio.sleep(relay.config.limits.expire_interval)
        try:
            msgs, queues = await relay.expire()
            log.info("expiry: %d messages, %d unsecured queues removed", msgs, queues)
        except Exception:  # pragma: no cover - keep serving; the next sweep retries
            log.exception("expiry sweep failed")


async def serve_until_stopped(
    config: RelayConfig, out: TextIO = sys.stdout, slot: WorkerSlot | None = None
) -> None:
    running = await start_relay(config, slot)
    # The handlers go in before the start-up lines: whoever reads those lines may stop the
    # relay at once, and that must be a clean stop, not death by the default SIGTERM action.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(running.address.encode(), file=out, flush=True)
    if running.ws_port is not None:
        host = config.ws[0] if config.ws else "127.0.0.1"
        shown = f"[{host}]" if ":" in host else host
        print(f"WebSocket: ws://{shown}:{running.ws_port}", file=out, flush=True)
    if running.tls_port is not None:
        print(f"TLS (SMP and WSS): port {running.tls_port}", file=out, flush=True)
    if running.grp_address is not None:
        print(f"GRP: {running.grp_address.encode()}", file=out, flush=True)
    print(f"key hash: {b64url_encode(running.address.key_hash)}", file=out, flush=True)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await running.stop()


def raise_file_limit(wanted: int) -> int:
    """Raise the soft open-files limit towards ``wanted`` (capped by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run(config: RelayConfig) -> None:
    """Run the relay in the foreground (uvloop where available) until SIGTERM/SIGINT."""
    limit = raise_file_limit(config.limits.max_connections + 256)
    if limit < config.limits.max_connections + 64:
        log.warning(
            "open-files limit %d is below max_connections %d: raise it (ulimit -n)",
            limit,
            config.limits.max_connections,
        )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where available
        runner: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    else:
        runner = uvloop.run
    if config.workers > 1:
        raise SystemExit(_run_workers(config, runner))
    try:
        runner(serve_until_stopped(config))
    except StoreError as e:
        print(f"hushwire relay: {e}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def _run_workers(config: RelayConfig, runner: Callable[[Coroutine[Any, Any, None]], None]) -> int:
    """``--workers N``: check the store, make the identity once, fork the workers."""
    from hushwire.server.cluster import check_store, run_workers

    assert config.store is not None
    try:
        asyncio.run(check_store(config.store))  # first: a bad store leaves no new identity
    except StoreError as e:
        print(f"hushwire relay: {e}", file=sys.stderr, flush=True)
        return 1
    load_or_create_identity(config.data, common_name=config.address_host)
    # Made before the fork and kept here: a worker started again serves on the same socket.
    peers = LocalPeers(config.workers) if config.admin is not None else None

    def worker(index: int) -> int:
        try:
            runner(serve_until_stopped(config, slot=WorkerSlot(index, peers)))
        except StoreError as e:
            print(f"hushwire relay: {e}", file=sys.stderr, flush=True)
            return 1
        return 0

    try:
        return run_workers(config.workers, worker)
    finally:
        if peers is not None:
            peers.close()
