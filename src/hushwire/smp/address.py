"""SMP server addresses: the one codec of ``SMPServer`` and the one transport-host grammar.

Mirrors simplexmq ``Simplex.Messaging.Protocol`` (``ProtocolServer`` StrEncoding and Encoding,
``legacyEncodeServer``, ``legacyServerP``, ``BasicAuth``), ``Simplex.Messaging.Transport.Client``
(``TransportHost``) and ``Simplex.Messaging.Agent.Protocol`` (``extraSMPServerHosts``,
``updateSMPServerHosts``); see docs/protocol/smp.md.

Two forms, one grammar:

- text (URI): ``smp://<keyHash>[:<basicAuth>]@<host>[,<host>...][:<port>]``; the key hash
  is the SHA-256 fingerprint of the server's CA certificate in base64url (padded when written,
  unpadded accepted); an IPv6 host is written in brackets; no port means 5223.
- binary (``PRXY``, agent queue addresses): NonEmpty shortString hosts | shortString port
  (empty = default) | shortString key hash; the legacy form (SMP client version 1) carries
  the first host only. Basic auth is never part of the binary form.

A host is an IPv4 address (four numbers up to 255), an IPv6 address (brackets dropped), an
onion host (lower-case letters and digits, then ``.onion``) or a domain name (printable ASCII
without ``: # , ; /``, not ending in ``.onion``): :func:`parse_host`. A port is 1..65535 written
without a leading zero, so decoding then encoding gives back the same bytes: :func:`parse_port`.
The command parsers (``PRXY``), the agent's ``SMPQueueInfo`` and the connection links all use
these functions; nothing else parses a host or a server.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hushwire.encoding.binary import Reader, non_empty, short_string
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.errors import DecodeError

DEFAULT_SMP_PORT: Final = 5223
KEY_HASH_SIZE: Final = 32
"""SHA-256 of the server's CA certificate."""

EXTRA_SMP_SERVER_HOSTS: Final = {
    "smp4.simplex.im": "o5vmywmrnaxalvz6wi3zicyftgio6psuvyniis6gco6bp6ekl4cqj4id.onion",
    "smp5.simplex.im": "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion",
    "smp6.simplex.im": "bylepyau3ty4czmn77q4fglvperknl4bi2eb2fdy2bh4jxtf32kf73yd.onion",
    "smp8.simplex.im": "beccx4yfxxbvyhqypaavemqurytl6hozr47wfc7uuecacjqdvwpw2xid.onion",
    "smp9.simplex.im": "jssqzccmrcws6bhmn77vgmhfjmhwlyr3u7puw4erkyoosywgl67slqqd.onion",
    "smp10.simplex.im": "rb2pbttocvnbrngnwziclp2f4ckjq65kebafws6g4hy22cdaiv5dwjqd.onion",
}
"""Onion hosts added to legacy single-host addresses (Agent/Protocol.hs extraSMPServerHosts)."""

_DOMAIN: Final = re.compile(r"[!-~]+")
_DOMAIN_EXCLUDED: Final = frozenset(":#,;/")
_ONION: Final = re.compile(r"[a-z0-9]*\.onion")
_IPV4: Final = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)")
_PORT: Final = re.compile(r"[1-9][0-9]{0,4}")
# Tokens of the text form: a bracketed IPv6 address or a run up to the next separator.
_HOST_TOKEN: Final = re.compile(r"[^:#,;/ \n\r\t@\[\]]+")
_IPV6_TOKEN: Final = re.compile(r"\[([0-9A-Fa-f:.]+)\]")


# --------------------------------------------------------------------------- grammar


def parse_host(text: str) -> str:
    """One ``TransportHost`` (Transport/Client.hs ``strP`` under ``parseAll``), kept as text.

    IPv4 (each part at most 255), IPv6 (bare or in brackets; brackets are dropped), an onion
    host, or a domain; anything else raises :class:`DecodeError`.
    """
    if not text.isascii():
        raise DecodeError("host is not ASCII")
    m = _IPV4.match(text)
    if m and all(int(p) <= 255 for p in m.groups()[:3]):
        if m.end() != len(text) or int(m.group(4)) > 255:
            raise DecodeError("invalid IP address")
        return text
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if ":" in bare:
        if "%" in bare:
            raise DecodeError("bad IPv6")
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            raise DecodeError("bad IPv6") from None
        return bare
    if _ONION.match(text):
        if not _ONION.fullmatch(text):
            raise DecodeError("invalid onion host")
        return text
    if not _DOMAIN.fullmatch(text) or _DOMAIN_EXCLUDED & set(text) or text.endswith(".onion"):
        raise DecodeError("invalid host")
    return text


def host_ok(host: str) -> bool:
    """Whether ``host`` is a valid transport host (:func:`parse_host` accepts it)."""
    try:
        parse_host(host)
    except DecodeError:
        return False
    return True


def format_hosts(hosts: Sequence[str]) -> str:
    """Hosts as the text form writes them: comma-separated, IPv6 in brackets."""
    return ",".join(f"[{h}]" if ":" in h else h for h in hosts)


def parse_port(text: str) -> int:
    """A port: 1..65535 in decimal without a leading zero."""
    if not _PORT.fullmatch(text) or int(text) > 65535:
        raise DecodeError("the port must be a number from 1 to 65535")
    return int(text)


def basic_auth_ok(b: bytes) -> bool:
    """``BasicAuth`` characters: printable (Latin-1), no space, no ``@ : /`` (Protocol.hs)."""
    return all(
        (0x21 <= c <= 0x7E and c not in (0x40, 0x3A, 0x2F)) or (0xA1 <= c <= 0xFF and c != 0xAD)
        for c in b
    )


def parse_location(location: str) -> tuple[tuple[str, ...], int | None]:
    """``<host>[,<host>...][:<port>]`` (what follows the ``@`` of the text form)."""
    hosts: list[str] = []
    pos = 0
    while True:
        m6 = _IPV6_TOKEN.match(location, pos)
        m = m6 or _HOST_TOKEN.match(location, pos)
        if m is None:
            raise DecodeError("an SMP server address needs a host")
        hosts.append(parse_host(m.group(1) if m6 else m.group(0)))
        pos = m.end()
        if pos < len(location) and location[pos] == ",":
            pos += 1
            continue
        break
    port: int | None = None
    if pos < len(location):
        port = parse_port(location[pos + 1 :] if location[pos] == ":" else "")
    return tuple(hosts), port


def with_extra_hosts(hosts: tuple[str, ...]) -> tuple[str, ...]:
    """A legacy single-host address of a preset server gains its onion host
    (``updateSMPServerHosts``)."""
    extra = EXTRA_SMP_SERVER_HOSTS.get(hosts[0]) if len(hosts) == 1 else None
    return hosts if extra is None else (hosts[0], extra)


# --------------------------------------------------------------------------- binary fields


def _enc_host(host: str) -> bytes:
    return short_string(host.encode("ascii"))


def _host_p(r: Reader) -> str:
    raw = r.short_string()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise DecodeError("host is not ASCII") from None
    return parse_host(text)


def _port_p(r: Reader) -> int | None:
    raw = r.short_string()
    return parse_port(raw.decode("latin-1")) if raw else None


def parse_key_hash(r: Reader) -> bytes:
    """The key hash field of the binary form (a shortString of 32 bytes)."""
    key_hash = r.short_string()
    if len(key_hash) != KEY_HASH_SIZE:
        raise DecodeError("key hash must be 32 bytes")
    return key_hash


# --------------------------------------------------------------------------- SMPServer


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
        if len(self.key_hash) != KEY_HASH_SIZE:
            raise ValueError("key hash must be 32 bytes (SHA-256)")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError("port out of range")

    @property
    def effective_port(self) -> int:
        return DEFAULT_SMP_PORT if self.port is None else self.port

    # ----------------------------------------------------------------------- text form

    def encode(self) -> str:
        auth = f":{self.basic_auth}" if self.basic_auth else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"smp://{b64url_encode(self.key_hash)}{auth}@{format_hosts(self.hosts)}{port}"

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
        if len(key_hash) != KEY_HASH_SIZE:
            raise DecodeError("the key hash must be 32 bytes")
        if colon and not (auth.isascii() and auth and basic_auth_ok(auth.encode())):
            raise DecodeError("invalid character in the server password")
        hosts, port = parse_location(location)
        return cls(hosts, key_hash, port, auth if colon else None)

    # ----------------------------------------------------------------------- binary form

    def encode_binary(self, *, legacy: bool = False) -> bytes:
        """Binary ``ProtocolServer``; ``legacy`` writes the first host only
        (``legacyEncodeServer``). The basic auth is not part of it."""
        hosts = _enc_host(self.hosts[0]) if legacy else non_empty(self.hosts, _enc_host)
        port = b"" if self.port is None else str(self.port).encode()
        return hosts + short_string(port) + short_string(self.key_hash)

    @classmethod
    def parse_binary(cls, r: Reader, *, legacy: bool = False) -> SMPServer:
        """Inverse of :meth:`encode_binary`; a legacy address of a preset server gains its
        onion host (``legacyServerP`` + ``updateSMPServerHosts``)."""
        if legacy:
            hosts = with_extra_hosts((_host_p(r),))
        else:
            hosts = tuple(r.non_empty(_host_p))
        port = _port_p(r)
        return cls(hosts, parse_key_hash(r), port)

    def with_basic_auth(self, basic_auth: str | None) -> SMPServer:
        return dataclasses.replace(self, basic_auth=basic_auth)
