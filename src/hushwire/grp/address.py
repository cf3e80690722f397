"""GRP/1 relay addresses: ``grp://KEYHASH@HOST[:PORT]?nk=STATICKEY`` (docs/grp.md, "Addresses").

The key hash is the relay's SMP identity, exactly as in its ``smp://KEYHASH@...`` address;
``nk`` is the relay's GRP static X25519 key (base64url), which the IK handshake needs before
its first message. ``nk`` is not trusted: the relay proves in msg 2 that its SMP identity
signed it, so the key hash alone pins the relay. ``grp://`` dials ``ws://HOST:PORT/grp/1``
(native clients, relay links, loopback); ``grps://`` dials ``wss://`` (browsers on https
pages, a relay behind a TLS proxy). No port means :data:`DEFAULT_GRP_PORT`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError
from hushwire.smp.address import SMPServer, format_hosts

DEFAULT_GRP_PORT: Final = 7443
GRP_PATH: Final = "/grp/1"
SCHEMES: Final = ("grp://", "grps://")


@dataclass(frozen=True, slots=True)
class GrpAddress:
    """A relay's GRP endpoint: its SMP identity and location, and its GRP static key."""

    server: SMPServer
    """Key hash, hosts and port (None: :data:`DEFAULT_GRP_PORT`)."""
    static_key: bytes
    secure: bool = False
    """``grps://``: the WebSocket runs inside TLS (whose certificate GRP does not trust)."""

    def __post_init__(self) -> None:
        if len(self.static_key) != 32:
            raise ValueError("a GRP static key is 32 bytes")

    @property
    def key_hash(self) -> bytes:
        return self.server.key_hash

    @property
    def port(self) -> int:
        return DEFAULT_GRP_PORT if self.server.port is None else self.server.port

    @property
    def ws_url(self) -> str:
        """The WebSocket URL of the first host."""
        host = self.server.hosts[0]
        shown = f"[{host}]" if ":" in host else host
        return f"{'wss' if self.secure else 'ws'}://{shown}:{self.port}{GRP_PATH}"

    def encode(self) -> str:
        scheme = SCHEMES[1] if self.secure else SCHEMES[0]
        port = f":{self.server.port}" if self.server.port is not None else ""
        return (
            f"{scheme}{b64url_encode(self.key_hash)}@{format_hosts(self.server.hosts)}{port}"
            f"?nk={b64url_encode(self.static_key, padded=False)}"
        )

    def __str__(self) -> str:
        return self.encode()

    @classmethod
    def parse(cls, text: str) -> GrpAddress:
        """Parse an address; anything malformed raises ``DecodeError`` saying what is wrong."""
        scheme = next((s for s in SCHEMES if text.startswith(s)), None)
        if scheme is None:
            raise DecodeError("a GRP address starts with grp:// or grps://")
        rest, q, query = text[len(scheme) :].partition("?")
        if not q or not query.startswith("nk=") or "&" in query:
            raise DecodeError("a GRP address ends with ?nk=<the relay's GRP key>")
        try:
            static_key = b64url_decode(query[3:])
        except DecodeError as e:
            raise DecodeError("the GRP key is not base64url") from e
        if len(static_key) != 32:
            raise DecodeError("the GRP key must be 32 bytes")
        server = SMPServer.parse("smp://" + rest)
        if server.basic_auth is not None:
            raise DecodeError("a GRP address has no password")
        return cls(server, static_key, scheme == SCHEMES[1])

    def smp_server(self, smp_port: int | None = None) -> SMPServer:
        """The relay's SMP address (same identity and hosts), for the SMP layer above GRP."""
        return SMPServer(self.server.hosts, self.key_hash, smp_port)


def is_grp_url(text: str) -> bool:
    return text.startswith(SCHEMES)
