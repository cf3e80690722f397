"""SMP server addresses: ``smp://<keyHash>[:<basicAuth>]@<host>[,<host>...][:<port>]``.

Mirrors simplexmq ``Protocol.hs`` (``strEncodeServer``, ``serverStrP``, ``basicAuth``) and
``Transport/Client.hs`` (``TransportHost``): the key hash is the SHA-256 fingerprint of the
server's CA certificate, written as padded base64url (unpadded accepted); several hosts
(e.g. a domain and an onion address) share one port; no port means 5223.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError

DEFAULT_SMP_PORT = 5223

_HOST = re.compile(r"[^:#,;/ \n\r\t@\[\]]+")
_IPV6 = re.compile(r"\[([0-9A-Fa-f:.]+)\]")
_AUTH_OK = re.compile(r"[!-~]+")


@dataclass(frozen=True, slots=True)
class SMPServer:
    """One SMP server: its hosts, optional port and identity (CA fingerprint)."""

    hosts: tuple[str, ...]
    key_hash: bytes
    port: int | None = None
    basic_auth: str | None = None

    def __post_init__(self) -> None:
        if not self.hosts:
            raise ValueError("an SMP server needs at least one host")
        if len(self.key_hash) != 32:
            raise ValueError("key hash must be 32 bytes (SHA-256)")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError("port out of range")

    @property
    def effective_port(self) -> int:
        return DEFAULT_SMP_PORT if self.port is None else self.port

    def encode(self) -> str:
        hosts = ",".join(f"[{h}]" if ":" in h else h for h in self.hosts)
        auth = f":{self.basic_auth}" if self.basic_auth else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"smp://{b64url_encode(self.key_hash)}{auth}@{hosts}{port}"

    def __str__(self) -> str:
        return self.encode()

    @classmethod
    def parse(cls, text: str) -> SMPServer:
        """Parse an address; anything malformed raises ``DecodeError`` saying what is wrong."""
        if not text.startswith("smp://"):
            raise DecodeError("an SMP server address starts with smp://")
        rest = text[len("smp://") :]
        ident, at, location = rest.partition("@")
        if not at:
            raise DecodeError("an SMP server address needs '@' between key hash and host")
        key_text, colon, auth = ident.partition(":")
        try:
            key_hash = b64url_decode(key_text)
        except DecodeError as e:
            raise DecodeError("the key hash is not base64url") from e
        if len(key_hash) != 32:
            raise DecodeError("the key hash must be 32 bytes")
        if colon and (not _AUTH_OK.fullmatch(auth) or any(c in auth for c in "@:/")):
            raise DecodeError("invalid character in the server password")
        hosts: list[str] = []
        pos = 0
        while True:
            m6 = _IPV6.match(location, pos)
            m = m6 or _HOST.match(location, pos)
            if m is None:
                raise DecodeError("an SMP server address needs a host")
            hosts.append(m.group(1) if m6 else m.group(0))
            pos = m.end()
            if pos < len(location) and location[pos] == ",":
                pos += 1
                continue
            break
        port: int | None = None
        if pos < len(location):
            port_text = location[pos + 1 :] if location[pos] == ":" else ""
            if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 0 < int(port_text) < 65536:
                raise DecodeError("the port must be a number from 1 to 65535")
            port = int(port_text)
        return cls(tuple(hosts), key_hash, port, auth if colon else None)
