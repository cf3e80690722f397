"""Relay settings: command-line flags and an optional ``relay.toml``.

Every limit has a default in ``hushwire.limits``; the file may override it. Bad settings
raise :class:`~hushwire.errors.ConfigError` with a message saying what to change.

Example ``relay.toml``::

    data = "/var/lib/hushwire-relay"
    # store = "postgresql://hushwire@db.internal/hushwire"  # default: SQLite file under data
    # cluster = true                 # PostgreSQL store shared with other nodes (docs/deploy.md)
    # workers = 2                    # processes sharing the ports (implies cluster)
    ws = "127.0.0.1:5224"            # plain WebSocket (localhost or behind a TLS proxy)
    tls = "0.0.0.0:5223"             # native SMP (ALPN smp/1) and WSS on one port
    host = "relay.example.com"       # the host name in the server address
    web_cert = "/etc/letsencrypt/live/relay.example.com/fullchain.pem"
    web_key = "/etc/letsencrypt/live/relay.example.com/privkey.pem"
    log_level = "info"
    ack_next_as_push = false         # true: ACK gets OK, the next message follows as a push
    proxy = true                     # forward senders' commands to other relays (PRXY/PFWD)
    grp = "127.0.0.1:7443"           # GRP/1 high-security profile (WebSocket, docs/grp.md)
    grp_peers = []                   # GRP addresses of relays to forward to over GRP, not TLS
    admin = "127.0.0.1:9090"         # /metrics here (plain HTTP); not on the client ports

    [limits]
    queue_quota = 128                # messages waiting in one queue
    message_expiry_days = 21
    unsecured_queue_expiry_days = 7
    max_connections = 10000
    handshake_timeout = 120
    send_queue_blocks = 64
    send_timeout = 30
    commands_per_second = 200
    new_queues_per_minute = 300
    proxy_connect_timeout = 25       # private routing: reaching a destination relay
    proxy_forward_timeout = 15       # ... and its answer to a forwarded command
    max_handshakes_per_address = 16  # connections of one IP still in the SMP handshake
    sig_checks_per_second_per_address = 2000  # signed commands of one IP, all connections
    sig_checks_per_second = 20000    # signed commands of all clients together
    max_stored_bytes = 8589934592    # message bytes kept in all; then SEND gets ERR QUOTA
    new_queues_per_minute_per_address = 600  # then NEW gets ERR QUOTA

    [auth]
    new_queues = true                # allow anyone to create queues
    create_password = ""             # or require this password in NEW
    proxy_password = ""              # PRXY password (default: create_password, as simplexmq)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hushwire import limits as L
from hushwire.errors import ConfigError, DecodeError
from hushwire.grp.address import GrpAddress


def parse_hostport(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{what} must be HOST:PORT (for example 127.0.0.1:5224), got {text!r}")
    return host.strip("[]"), int(port)


@dataclass(frozen=True, slots=True)
class RelayLimits:
    queue_quota: int = L.RELAY_QUEUE_QUOTA
    message_expiry_days: float = L.RELAY_MESSAGE_EXPIRY_DAYS
    unsecured_queue_expiry_days: float = L.RELAY_UNSECURED_QUEUE_EXPIRY_DAYS
    max_connections: int = L.RELAY_MAX_CONNECTIONS
    handshake_timeout: float = L.RELAY_HANDSHAKE_TIMEOUT
    send_queue_blocks: int = L.RELAY_SEND_QUEUE_BLOCKS
    send_timeout: float = L.RELAY_SEND_TIMEOUT
    commands_per_second: int = L.RELAY_COMMANDS_PER_SECOND
    new_queues_per_minute: int = L.RELAY_NEW_QUEUES_PER_MINUTE
    expire_interval: float = L.RELAY_EXPIRE_INTERVAL
    proxy_connect_timeout: float = L.RELAY_PROXY_CONNECT_TIMEOUT
    proxy_forward_timeout: float = L.RELAY_PROXY_FORWARD_TIMEOUT
    max_handshakes_per_address: int = L.RELAY_MAX_HANDSHAKING_PER_ADDRESS
    """Connections one IP address may have before their SMP handshake completes (only
    handshaken connections count toward ``max_connections``). Behind a TLS-terminating
    proxy every client has the proxy's address: raise this there."""
    sig_checks_per_second_per_address: int = L.RELAY_SIG_CHECKS_PER_SECOND_PER_ADDRESS
    """Signed commands all connections of one IP address may send per second together."""
    sig_checks_per_second: int = L.RELAY_SIG_CHECKS_PER_SECOND
    """Signed commands all clients together may send per second (protects the CPU)."""
    max_stored_bytes: int = L.RELAY_MAX_STORED_BYTES
    """Message bytes the relay keeps at most; past it SEND is answered ``ERR QUOTA``."""
    new_queues_per_minute_per_address: int = L.RELAY_NEW_QUEUES_PER_MINUTE_PER_ADDRESS
    """Queues all connections of one IP address may create per minute; past it NEW is
    answered ``ERR QUOTA``."""


@dataclass(frozen=True, slots=True)
class RelayConfig:
    data: Path
    ws: tuple[str, int] | None = None
    tls: tuple[str, int] | None = None
    host: str | None = None
    web_cert: Path | None = None
    web_key: Path | None = None
    log_level: str = "info"
    new_queues: bool = True
    create_password: str | None = None
    store: str | None = None
    """Queue store: ``None`` for the SQLite file ``relay.sqlite3`` under ``data`` (the
    default), or a ``postgresql://`` URI (``hushwire.server.store.postgres``)."""
    ack_next_as_push: bool = False
    """Answer ACK with ``OK`` and push the next message separately (empty corrId) instead
    of sending it as ACK's reply (the reference). Native clients accept both
    (``Client.hs ackSMPMessage``); simplex-js 1.0.0 accepts only ``OK`` and otherwise loses
    the message and every later one on that queue (tests/interop/README.md Q3). Without
    this setting the relay already does so for every client at SMP v9 or lower (simplex-js
    speaks 6..9), so it is needed only for such a client that negotiates v10 or later."""
    limits: RelayLimits = field(default_factory=RelayLimits)
    allow_proxy: bool = True
    """Forward senders' commands to other relays (private routing: PRXY, PFWD)."""
    proxy_password: str | None = None
    """Password a client must give in PRXY; None: ``create_password`` (as simplexmq)."""
    cluster: bool = False
    """Share the PostgreSQL store with other relay processes and machines serving the same
    address (``hushwire.server.store.cluster``); needs ``store``."""
    workers: int = 1
    """Relay processes on this machine sharing the ports (SO_REUSEPORT); more than one
    implies ``cluster``."""
    admin: tuple[str, int] | None = None
    """Where ``/metrics`` is served (plain HTTP, for example ``127.0.0.1:9090``); None: not
    at all. The client ports serve only ``/healthz``: metrics are a live activity record."""
    grp: tuple[str, int] | None = None
    """Where GRP/1 is served (plain WebSocket, path ``/grp/1``; docs/grp.md); None: not."""
    grp_cover_rate: float = 1.0
    """GRP cover frames per second each way (``hushwire.grp.cover.CLIENT_RATE``): a protocol
    constant for client links; only tests change it (``grp_cover_rate`` in relay.toml)."""
    grp_peers: tuple[str, ...] = ()
    """GRP addresses of destination relays: private routing reaches these over GRP/1 (post-
    quantum, with cover traffic) instead of TLS; every other destination over TLS."""

    @property
    def address_host(self) -> str:
        """The host written into the server address."""
        if self.host:
            return self.host
        for listen in (self.tls, self.ws):
            if listen and listen[0] not in ("0.0.0.0", "::", ""):  # noqa: S104
                return listen[0]
        return "localhost"

    @property
    def address_port(self) -> int:
        listen = self.tls or self.ws
        assert listen is not None
        return listen[1]


def _limits(raw: dict[str, Any]) -> RelayLimits:
    known = {f.name: f for f in fields(RelayLimits)}
    values: dict[str, Any] = {}
    for k, v in raw.items():
        if k not in known:
            raise ConfigError(f"unknown setting [limits] {k}; known: {', '.join(known)}")
        if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
            raise ConfigError(f"[limits] {k} must be a positive number, got {v!r}")
        values[k] = v
    return RelayLimits(**values)


def load_config(path: Path | None, **overrides: Any) -> RelayConfig:
    """Read ``path`` (if given), then apply command-line ``overrides`` that are not None."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError as e:
            raise ConfigError(f"config file {path} does not exist") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {path} is not valid TOML: {e}") from e
    limits = _limits(raw.pop("limits", {}))
    auth = raw.pop("auth", {})
    for k, v in overrides.items():
        if v is not None:
            raw[k] = v
    allowed = {
        *("data", "ws", "tls", "host", "web_cert", "web_key", "log_level", "ack_next_as_push"),
        *("proxy", "store", "cluster", "workers"),
        *("admin", "grp", "grp_cover_rate", "grp_peers"),
    }
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    if "data" not in raw:
        raise ConfigError("say where the relay keeps its data: --data DIR or data = '...'")
    ws = parse_hostport(str(raw["ws"]), "ws") if raw.get("ws") else None
    tls = parse_hostport(str(raw["tls"]), "tls") if raw.get("tls") else None
    grp = parse_hostport(str(raw["grp"]), "grp") if raw.get("grp") else None
    if ws is None and tls is None:
        raise ConfigError("give the relay something to listen on: --ws HOST:PORT and/or --tls")
    rate = raw.get("grp_cover_rate", 1.0)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 1000:
        raise ConfigError(f"grp_cover_rate must be a number of frames per second, got {rate!r}")
    web_cert = Path(raw["web_cert"]) if raw.get("web_cert") else None
    web_key = Path(raw["web_key"]) if raw.get("web_key") else None
    if (web_cert is None) != (web_key is None):
        raise ConfigError("web_cert and web_key go together: give both or neither")
    ack_push = raw.get("ack_next_as_push", False)
    if not isinstance(ack_push, bool):
        raise ConfigError(f"ack_next_as_push must be true or false, got {ack_push!r}")
    store = raw.get("store") or None
    if store is not None and not str(store).startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"store must be a postgresql:// URI (or left out for SQLite under data), got {store!r}"
        )
    workers = raw.get("workers", 1)
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= 256:
        raise ConfigError(f"workers must be a whole number from 1 to 256, got {workers!r}")
    cluster = raw.get("cluster", False)
    if not isinstance(cluster, bool):
        raise ConfigError(f"cluster must be true or false, got {cluster!r}")
    cluster = cluster or workers > 1
    if workers > 1 and any(listen is not None and listen[1] == 0 for listen in (ws, tls)):
        raise ConfigError("--workers share their ports: give fixed ports, not port 0")
    if workers > 1 and grp is not None:
        raise ConfigError("--grp is served by one process: run it without --workers")
    if cluster and store is None:
        raise ConfigError(
            "a cluster (--cluster, --workers above 1) shares a PostgreSQL store: "
            "give --store postgresql://..."
        )
    cfg = RelayConfig(
        data=Path(raw["data"]),
        cluster=cluster,
        workers=workers,
        ws=ws,
        tls=tls,
        host=raw.get("host"),
        web_cert=web_cert,
        web_key=web_key,
        log_level=str(raw.get("log_level", "info")),
        ack_next_as_push=ack_push,
        store=None if store is None else str(store),
        limits=limits,
        grp=grp,
        grp_cover_rate=float(rate),
        grp_peers=_grp_peers(raw.get("grp_peers", [])),
    )
    if auth:
        password = auth.get("create_password") or None
        cfg = replace(cfg, new_queues=bool(auth.get("new_queues", True)), create_password=password)
    if raw.get("admin"):
        cfg = replace(cfg, admin=parse_hostport(str(raw["admin"]), "admin"))
        if workers > 1 and cfg.admin is not None and cfg.admin[1] == 0:
            # every worker would listen on a port of its own, named only in its log
            raise ConfigError("--workers share the admin port: give a fixed port, not port 0")
    return _proxy_settings(cfg, raw.get("proxy", True), auth.get("proxy_password"))


def _grp_peers(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise ConfigError("grp_peers must be a list of GRP addresses (grp://...)")
    for a in raw:
        try:
            GrpAddress.parse(a)
        except DecodeError as e:
            raise ConfigError(f"grp_peers: {a!r} is not a GRP address: {e}") from None
    return tuple(raw)


def _proxy_settings(cfg: RelayConfig, allow: Any, password: Any) -> RelayConfig:
    if not isinstance(allow, bool):
        raise ConfigError(f"proxy must be true or false, got {allow!r}")
    if password is not None and not isinstance(password, str):
        raise ConfigError("[auth] proxy_password must be a string")
    return replace(cfg, allow_proxy=allow, proxy_password=password or None)
