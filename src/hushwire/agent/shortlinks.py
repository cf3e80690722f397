"""SimpleX short links: the URI forms, the preset-server shorthand and the link data blobs.

Mirrors simplexmq ``Simplex.Messaging.Agent.Protocol`` (``ConnShortLink`` and its
``StrEncoding``/``Encoding``, ``shortenShortLink``, ``restoreShortLink``, ``FixedLinkData``,
``ConnLinkData``, ``UserContactData``, ``OwnerAuth``, ``validateLinkOwners``) and
``Simplex.Messaging.Crypto.ShortLink`` (the key derivation, signing and encryption of the link
data); the preset table is simplex-chat's ``allPresetServers``. See docs/protocol/agent.md
(connection links). Pure code: no I/O; the network steps are in
:mod:`hushwire.agent.shortlink_client`.

A short link names a server and a 32-byte *link key*. The link key is the SHA3-256 of the
encoded fixed link data (which holds the full connection request), so the server that stores
the data cannot swap it. From the key a contact link derives both the link id (the server's
name for the data) and the box key; an invitation link derives only the box key and carries
the server-chosen link id in the URI::

    https://<first host>/a#<linkKey>[?h=<other hosts>&p=<port>&c=<keyHash>]
    simplex:/a#<linkKey>?h=<hosts>[&p=<port>][&c=<keyHash>]
    https://<first host>/i#<linkId>/<linkKey>[?...]

Types ``a`` (contact address), ``c`` (channel), ``g`` (group), ``r`` (relay) are read in
either case; ``i`` (one-time invitation) only in lower case. An ``https`` link with no query
names only its host: a preset server whose key hash :func:`restore_short_link` fills in.

Each data blob on the server is ``nonce ‖ secretbox(pad(shortString(sig) ‖ data))`` under
the derived key, 2048 bytes for the fixed data and 13824 for the user data; the fixed data is
signed by the link's root key, the user data by the root key or (contact links) an owner key.
The module is one thing, the short link's format, and runs past 800 lines only by the
preset-server table and the link data records it must carry.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from hushwire.agent.links import ConnectionRequest, LinkError, SMPQueueUri, parse_link
from hushwire.agent.protocol import SHORT_LINKS_SMP_CLIENT_VERSION, SND_AUTH_KEY_SMP_CLIENT_VERSION
from hushwire.agent.ratchet import E2ERatchetParamsUri
from hushwire.crypto.kdf import hkdf_sha512
from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey
from hushwire.crypto.nacl import NONCE_SIZE, cb_decrypt, cb_encrypt, sb_key
from hushwire.encoding.binary import Reader, large, list_, non_empty, parse_all, short_string
from hushwire.encoding.strings import b64url_decode, b64url_encode, parse_query, query_param
from hushwire.errors import CryptoError, DecodeError
from hushwire.limits import MAX_LINK_LENGTH
from hushwire.smp.address import KEY_HASH_SIZE, SMPServer, format_hosts, parse_host, parse_port
from hushwire.smp.commands import QueueMode
from hushwire.smp.fields import QueueLinkData
from hushwire.smp.version import VersionRange

__all__ = [
    "CONTACT_LINK_TYPES",
    "FIXED_DATA_PADDED_LENGTH",
    "LINK_ID_SIZE",
    "LINK_KEY_SIZE",
    "PRESET_SERVERS",
    "USER_DATA_PADDED_LENGTH",
    "ContactLinkData",
    "ContactLinkType",
    "FixedLinkData",
    "InvitationLinkData",
    "LinkData",
    "LinkScheme",
    "LinkServer",
    "OwnerAuth",
    "PreparedLink",
    "ShortLink",
    "check_link_server",
    "contact_link_kdf",
    "decode_conn_request",
    "decode_link_data",
    "decrypt_link_data",
    "encode_conn_request",
    "encrypt_link_blob",
    "encrypt_user_data",
    "invitation_link_kdf",
    "is_short_link",
    "link_box_key",
    "new_owner_auth",
    "parse_any_link",
    "parse_conn_request",
    "prepare_link_data",
    "restore_short_link",
    "sender_id_for_corr_id",
    "shorten_short_link",
    "sign_data",
    "validate_link_owners",
]

LINK_KEY_SIZE: Final = 32
LINK_ID_SIZE: Final = 24
"""Link ids (``queueIdBytes``): derived for contact links, server-chosen for invitations."""
FIXED_DATA_PADDED_LENGTH: Final = 2008
"""Padded fixed data: 2048-byte blob minus nonce (24) and tag (16) (ShortLink.hs)."""
USER_DATA_PADDED_LENGTH: Final = 13784
"""Padded user data: 13824-byte blob minus nonce and tag."""
CONTACT_KDF_INFO: Final = b"SimpleXContactLink"
INVITATION_KDF_INFO: Final = b"SimpleXInvLink"
_LARGE_USER_DATA: Final = 0xFF
"""``UserLinkData`` over 254 bytes is ``0xFF ‖ Large``."""

ContactLinkType = Literal["A", "C", "G", "R"]
CONTACT_LINK_TYPES: Final[dict[str, ContactLinkType]] = {"A": "A", "C": "C", "G": "G", "R": "R"}
"""``ctTypeChar``: contact address, channel, group, relay."""
LinkScheme = Literal["simplex", "https"]

_PRESET_PORTS: Final = (None, 443, 5223)
"""A server with no port matches a link port of "", 443 or 5223 (``isPresetServer``)."""


_PRESET_ADDRESSES: Final = (
    # simplex-chat Operators/Presets.hs allPresetServers: enabled, disabled, Flux, testing
    "smp://0YuTwO05YJWS8rkjn9eLJDjQhFKvIYd8d4xG8X1blIU=@smp8.simplex.im,"
    "beccx4yfxxbvyhqypaavemqurytl6hozr47wfc7uuecacjqdvwpw2xid.onion",
    "smp://SkIkI6EPd2D63F4xFKfHk7I1UGZVNn6k1QWZ5rcyr6w=@smp9.simplex.im,"
    "jssqzccmrcws6bhmn77vgmhfjmhwlyr3u7puw4erkyoosywgl67slqqd.onion",
    "smp://6iIcWT_dF2zN_w5xzZEY7HI2Prbh3ldP07YTyDexPjE=@smp10.simplex.im,"
    "rb2pbttocvnbrngnwziclp2f4ckjq65kebafws6g4hy22cdaiv5dwjqd.onion",
    "smp://1OwYGt-yqOfe2IyVHhxz3ohqo3aCCMjtB-8wn4X_aoY=@smp11.simplex.im,"
    "6ioorbm6i3yxmuoezrhjk6f6qgkc4syabh7m3so74xunb5nzr4pwgfqd.onion",
    "smp://UkMFNAXLXeAAe0beCa4w6X_zp18PwxSaSjY17BKUGXQ=@smp12.simplex.im,"
    "ie42b5weq7zdkghocs3mgxdjeuycheeqqmksntj57rmejagmg4eor5yd.onion",
    "smp://enEkec4hlR3UtKx2NMpOUK_K4ZuDxjWBO1d9Y4YXVaA=@smp14.simplex.im,"
    "aspkyu2sopsnizbyfabtsicikr2s4r3ti35jogbcekhm3fsoeyjvgrid.onion",
    "smp://h--vW7ZSkXPeOUpfxlFGgauQmXNFOzGoizak7Ult7cw=@smp15.simplex.im,"
    "oauu4bgijybyhczbnxtlggo6hiubahmeutaqineuyy23aojpih3dajad.onion",
    "smp://hejn2gVIqNU6xjtGM3OwQeuk8ZEbDXVJXAlnSBJBWUA=@smp16.simplex.im,"
    "p3ktngodzi6qrf7w64mmde3syuzrv57y55hxabqcq3l5p6oi7yzze6qd.onion",
    "smp://ZKe4uxF4Z_aLJJOEsC-Y6hSkXgQS5-oc442JQGkyP8M=@smp17.simplex.im,"
    "ogtwfxyi3h2h5weftjjpjmxclhb5ugufa5rcyrmg7j4xlch7qsr5nuqd.onion",
    "smp://PtsqghzQKU83kYTlQ1VKg996dW4Cw4x_bvpKmiv8uns=@smp18.simplex.im,"
    "lyqpnwbs2zqfr45jqkncwpywpbtq7jrhxnib5qddtr6npjyezuwd3nqd.onion",
    "smp://N_McQS3F9TGoh4ER0QstUf55kGnNSd-wXfNPZ7HukcM=@smp19.simplex.im,"
    "i53bbtoqhlc365k6kxzwdp5w3cdt433s7bwh3y32rcbml2vztiyyz5id.onion",
    "smp://u2dS9sG8nMNURyZwqASV4yROM28Er0luVTx5X1CsMrU=@smp4.simplex.im,"
    "o5vmywmrnaxalvz6wi3zicyftgio6psuvyniis6gco6bp6ekl4cqj4id.onion",
    "smp://hpq7_4gGJiilmz5Rf-CswuU5kZGkm_zOIooSw6yALRg=@smp5.simplex.im,"
    "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion",
    "smp://PQUV2eL0t7OStZOoAsPEV2QYWt4-xilbakvGUGOItUo=@smp6.simplex.im,"
    "bylepyau3ty4czmn77q4fglvperknl4bi2eb2fdy2bh4jxtf32kf73yd.onion",
    "smp://xQW_ufMkGE20UrTlBl8QqceG1tbuylXhr9VOLPyRJmw=@smp1.simplexonflux.com,"
    "qb4yoanyl4p7o33yrknv4rs6qo7ugeb2tu2zo66sbebezs4cpyosarid.onion",
    "smp://LDnWZVlAUInmjmdpQQoIo6FUinRXGe0q3zi5okXDE4s=@smp2.simplexonflux.com,"
    "yiqtuh3q4x7hgovkomafsod52wvfjucdljqbbipg5sdssnklgongxbqd.onion",
    "smp://1jne379u7IDJSxAvXbWb_JgoE7iabcslX0LBF22Rej0=@smp3.simplexonflux.com,"
    "a5lm4k7ufei66cdck6fy63r4lmkqy3dekmmb7jkfdm5ivi6kfaojshad.onion",
    "smp://xmAmqj75I9mWrUihLUlI0ZuNLXlIwFIlHRq5Pb6cHAU=@smp4.simplexonflux.com,"
    "qpcz2axyy66u26hfdd2e23uohcf3y6c36mn7dcuilcgnwjasnrvnxjqd.onion",
    "smp://rWvBYyTamuRCBYb_KAn-nsejg879ndhiTg5Sq3k0xWA=@smp5.simplexonflux.com,"
    "4ao347qwiuluyd45xunmii4skjigzuuox53hpdsgbwxqafd4yrticead.onion",
    "smp://PN7-uqLBToqlf1NxHEaiL35lV2vBpXq8Nj8BW11bU48=@smp6.simplexonflux.com,"
    "hury6ot3ymebbr2535mlp7gcxzrjpc6oujhtfxcfh2m4fal4xw5fq6qd.onion",
    "smp://8Af90NX2TTkKEJAF1RCg69P_Odg2Z-6_J6DOKUqK3rQ=@smp7.simplex.im,"
    "dbxqutskmmbkbrs7ofi7pmopeyhgi5cxbjbh4ummgmep4r6bz4cbrcid.onion",
)

PRESET_SERVERS: Final = tuple(SMPServer.parse(a) for a in _PRESET_ADDRESSES)
"""Servers whose short links may name only their first host (``allPresetServers``)."""


# --------------------------------------------------------------------------- link server


@dataclass(frozen=True, slots=True)
class LinkServer:
    """The server as a short link names it. Unlike :class:`SMPServer` the key hash may be
    empty (a shortened link on a preset server) or of another length (simplexmq's tests use
    4 bytes); :meth:`to_smp_server` insists on a usable one."""

    hosts: tuple[str, ...]
    port: int | None = None
    key_hash: bytes = b""

    def __post_init__(self) -> None:
        if not self.hosts:
            raise ValueError("a link server needs at least one host")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError("port out of range")

    @property
    def only_host(self) -> bool:
        """``SMPServerOnlyHost``: one host, no port, no key hash."""
        return len(self.hosts) == 1 and self.port is None and not self.key_hash

    @classmethod
    def from_smp_server(cls, server: SMPServer) -> LinkServer:
        return cls(server.hosts, server.port, server.key_hash)

    def to_smp_server(self) -> SMPServer:
        """The server to connect to; :class:`LinkError` without a 32-byte key hash (restore
        a shortened link first: without the key hash the server cannot be authenticated)."""
        if len(self.key_hash) != KEY_HASH_SIZE:
            raise LinkError(
                "the short link does not say how to check its server's identity "
                "(no 32-byte key hash, and not a known preset server)"
            )
        return SMPServer(self.hosts, self.key_hash, self.port)

    def encode_binary(self) -> bytes:
        port = b"" if self.port is None else str(self.port).encode()
        hosts = non_empty(self.hosts, lambda h: short_string(h.encode("ascii")))
        return hosts + short_string(port) + short_string(self.key_hash)

    @classmethod
    def parse_binary(cls, r: Reader) -> LinkServer:
        hosts = tuple(r.non_empty(lambda rr: _host(rr.short_string().decode("latin-1"))))
        port_raw = r.short_string()
        port = _port(port_raw.decode("latin-1")) if port_raw else None
        return cls(hosts, port, r.short_string())


def _host(text: str) -> str:
    try:
        return parse_host(text)
    except DecodeError as e:
        raise LinkError(f"bad host in the short link: {e}") from None


def _port(text: str) -> int:
    try:
        return parse_port(text)
    except DecodeError as e:
        raise LinkError(f"bad port in the short link: {e}") from None


def _b64(text: str, what: str) -> bytes:
    try:
        return b64url_decode(text)
    except DecodeError:
        raise LinkError(f"the {what} in the short link is not base64url") from None


# --------------------------------------------------------------------------- the URI


@dataclass(frozen=True, slots=True)
class ShortLink:
    """``ConnShortLink``: an invitation (``link_id`` set, ``contact_type`` None) or a
    contact-type link (``link_id`` None)."""

    scheme: LinkScheme
    server: LinkServer
    link_key: bytes
    contact_type: ContactLinkType | None = "A"
    link_id: bytes | None = None

    def __post_init__(self) -> None:
        if (self.contact_type is None) == (self.link_id is None):
            raise ValueError("an invitation link has a link id; a contact link has a type")
        if len(self.link_key) != LINK_KEY_SIZE:
            raise ValueError("a link key is 32 bytes")
        if self.link_id is not None and not 0 < len(self.link_id) < 256:
            raise ValueError("bad link id length")

    @property
    def is_invitation(self) -> bool:
        return self.contact_type is None

    @property
    def mode(self) -> Literal["invitation", "contact"]:
        return "invitation" if self.contact_type is None else "contact"

    def to_str(self) -> str:
        """The text form, as simplexmq ``strEncode`` writes it."""
        srv = self.server
        if self.scheme == "simplex":
            authority, param_hosts = "simplex:", srv.hosts
        else:
            authority, param_hosts = "https://" + srv.hosts[0], srv.hosts[1:]
        kind = "i" if self.contact_type is None else self.contact_type.lower()
        link_id = "" if self.link_id is None else b64url_encode(self.link_id, padded=False) + "/"
        params: list[str] = []
        if param_hosts:
            params.append("h=" + format_hosts(param_hosts).replace(",", "%2C"))
        if srv.port is not None:
            params.append(f"p={srv.port}")
        if srv.key_hash:
            params.append("c=" + b64url_encode(srv.key_hash, padded=False))
        query = "?" + "&".join(params) if params else ""
        key = b64url_encode(self.link_key, padded=False)
        return f"{authority}/{kind}#{link_id}{key}{query}"

    def __str__(self) -> str:
        return self.to_str()

    @classmethod
    def parse(cls, text: str) -> ShortLink:
        """Parse every text form simplexmq accepts; :class:`LinkError` says what is wrong."""
        text = text.strip()
        h: str | None
        if text.startswith("simplex:"):
            scheme: LinkScheme = "simplex"
            h, rest = None, text[len("simplex:") :]
        elif text.startswith("https://"):
            scheme = "https"
            host_text, slash, path = text[len("https://") :].partition("/")
            h, rest = _host(host_text), slash + path
        else:
            raise LinkError("bad short link scheme: it starts with simplex:/ or https://")
        if not rest.startswith("/") or len(rest) < 2:
            raise LinkError("the short link has no type after the scheme")
        type_char, rest = rest[1], rest[2:]
        contact_type = CONTACT_LINK_TYPES.get(type_char.upper())
        if contact_type is None and type_char != "i":
            raise LinkError("unknown short link type")
        if rest.startswith("/"):
            rest = rest[1:]
        if not rest.startswith("#"):
            raise LinkError("the short link has no '#' after its type")
        fragment, question, query = rest[1:].partition("?")
        link_id: bytes | None = None
        if contact_type is None:
            id_text, slash, fragment = fragment.partition("/")
            if not slash:
                raise LinkError("an invitation short link needs <link id>/<key> after '#'")
            link_id = _b64(id_text, "link id")
        link_key = _b64(fragment, "link key")
        if len(link_key) != LINK_KEY_SIZE:
            raise LinkError("the link key in the short link is not 32 bytes")
        server = _server_from_query(h, query if question else None)
        try:
            return cls(scheme, server, link_key, contact_type, link_id)
        except ValueError as e:
            raise LinkError(str(e)) from None

    def encode_binary(self) -> bytes:
        """``ConnShortLink`` Encoding (the ``relays`` list of contact data)."""
        key = short_string(self.link_key)
        if self.contact_type is None:
            assert self.link_id is not None
            return b"I" + self.server.encode_binary() + short_string(self.link_id) + key
        return b"C" + self.contact_type.encode() + self.server.encode_binary() + key

    @classmethod
    def parse_binary(cls, r: Reader) -> ShortLink:
        mode = r.char()
        if mode == b"I":
            server = LinkServer.parse_binary(r)
            link_id = r.short_string()
            return cls("https", server, r.short_string(), None, link_id)
        if mode == b"C":
            ct = CONTACT_LINK_TYPES.get(r.char().decode("latin-1"))
            if ct is None:
                raise DecodeError("unknown contact address type")
            server = LinkServer.parse_binary(r)
            return cls("https", server, r.short_string(), ct)
        raise DecodeError("bad connection mode")


def _server_from_query(h: str | None, query: str | None) -> LinkServer:
    if query is None:
        if h is None:
            raise LinkError("short link without server")
        return LinkServer((h,))
    pairs = parse_query(query)
    hosts_text = query_param(pairs, "h")
    hosts = [] if h is None else [h]
    if hosts_text:
        hosts += [_host(part) for part in hosts_text.split(",")]
    if not hosts:
        raise LinkError("short link without server")
    port_text = query_param(pairs, "p")
    port = None if port_text is None else _port(port_text)
    kh_text = query_param(pairs, "c")
    key_hash = b"" if kh_text is None else _b64(kh_text, "server key hash")
    return LinkServer(tuple(hosts), port, key_hash)


def is_short_link(text: str) -> bool:
    """Whether ``text`` looks like a short link (scheme, one type letter, ``#``)."""
    text = text.strip()
    if text.startswith("simplex:/"):
        path = text[len("simplex:/") :]
    elif text.startswith("https://"):
        _, slash, path = text[len("https://") :].partition("/")
        if not slash:
            return False
    else:
        return False
    if len(path) < 2 or not (path[0] == "i" or path[0].upper() in CONTACT_LINK_TYPES):
        return False
    return path[1] == "#" or path[1:3] == "/#"


def parse_any_link(text: str) -> ConnectionRequest | ShortLink:
    """A full link as :func:`~hushwire.agent.links.parse_link` reads it, or a short link (any
    form simplexmq accepts) as a :class:`ShortLink`; :class:`LinkError` for anything else."""
    stripped = text.strip()
    if len(stripped) > MAX_LINK_LENGTH:
        raise LinkError(f"the link is too long ({len(stripped)} characters)")
    if is_short_link(stripped):
        return ShortLink.parse(stripped)
    return parse_link(stripped)


# --------------------------------------------------------------------------- preset servers


def _find_preset(server: LinkServer, presets: Sequence[SMPServer]) -> SMPServer | None:
    return next((p for p in presets if p.hosts[0] == server.hosts[0]), None)


def _is_preset(server: LinkServer, presets: Sequence[SMPServer]) -> bool:
    p = _find_preset(server, presets)
    if p is None:
        return False
    port_ok = server.port == p.port or (p.port is None and server.port in _PRESET_PORTS)
    return all(h in p.hosts for h in server.hosts) and port_ok and server.key_hash == p.key_hash


def shorten_short_link(link: ShortLink, presets: Sequence[SMPServer] = PRESET_SERVERS) -> ShortLink:
    """``shortenShortLink``: a link on a preset server names only its first host."""
    if not _is_preset(link.server, presets):
        return link
    return _with_server(link, LinkServer(link.server.hosts[:1]))


def restore_short_link(link: ShortLink, presets: Sequence[SMPServer] = PRESET_SERVERS) -> ShortLink:
    """``restoreShortLink``: a host-only link gets its preset server's full address (if the
    host is a preset's first host; otherwise the link is returned as it is)."""
    if not link.server.only_host:
        return link
    p = _find_preset(link.server, presets)
    return link if p is None else _with_server(link, LinkServer.from_smp_server(p))


def _with_server(link: ShortLink, server: LinkServer) -> ShortLink:
    return ShortLink(link.scheme, server, link.link_key, link.contact_type, link.link_id)


# --------------------------------------------------------------------------- key derivation


def contact_link_kdf(link_key: bytes) -> tuple[bytes, bytes]:
    """``contactShortLinkKdf``: (link id 24 B, box key 32 B) = HKDF-SHA512 split."""
    out = hkdf_sha512(b"", link_key, CONTACT_KDF_INFO, LINK_ID_SIZE + 32)
    return out[:LINK_ID_SIZE], out[LINK_ID_SIZE:]


def invitation_link_kdf(link_key: bytes) -> bytes:
    """``invShortLinkKdf``: the 32-byte box key of an invitation's link data."""
    return hkdf_sha512(b"", link_key, INVITATION_KDF_INFO, 32)


def sender_id_for_corr_id(corr_id: bytes) -> bytes:
    """The sender id a NEW with link data must carry: SHA3-384(corrId)[0:24]."""
    return hashlib.sha3_384(corr_id).digest()[:LINK_ID_SIZE]


# --------------------------------------------------------------------------- connection requests


def _encode_queue_uri(q: SMPQueueUri) -> bytes:
    """``SMPQueueUri`` Encoding: version range, full server, sender id, dh key, mode."""
    addr = (
        q.versions.encode()
        + q.server.encode_binary()
        + short_string(q.sender_id)
        + short_string(q.dh_public_key.to_der())
    )
    if q.versions.min >= SHORT_LINKS_SMP_CLIENT_VERSION:
        return addr + (b"" if q.queue_mode is None else q.queue_mode.value.encode())
    snd_secure = q.queue_mode is QueueMode.MESSAGING
    v3 = SND_AUTH_KEY_SMP_CLIENT_VERSION
    if q.versions.min >= v3 or (q.versions.max >= v3 and snd_secure):
        return addr + (b"T" if snd_secure else b"F")
    return addr


def _parse_queue_uri(r: Reader) -> SMPQueueUri:
    versions = VersionRange.parse(r)
    server = LinkServer.parse_binary(r).to_smp_server()
    sender_id = r.short_string()
    dh = PublicKey.from_der(r.short_string())
    mode: QueueMode | None = None
    b = r.peek()
    if b in (0x4D, 0x54):  # 'M', 'T'
        r.byte()
        mode = QueueMode.MESSAGING
    elif b in (0x43, 0x46):  # 'C', 'F'
        r.byte()
        mode = QueueMode.CONTACT
    # ConnReqUriData smpP patches a missing mode to contact
    try:
        return SMPQueueUri(versions, server, sender_id, dh, mode or QueueMode.CONTACT)
    except ValueError as e:
        raise DecodeError(str(e)) from None


def encode_conn_request(req: ConnectionRequest) -> bytes:
    """``ConnectionRequestUri`` Encoding (what the fixed link data carries)."""
    data = (
        req.agent_versions.encode()
        + non_empty(req.queues, _encode_queue_uri)
        + (b"0" if req.client_data is None else b"1" + large(req.client_data.encode()))
    )
    if req.e2e is None:
        return b"C" + data
    e2e = req.e2e
    return (
        b"I"
        + data
        + e2e.versions.encode()
        + short_string(e2e.k1.to_der())
        + short_string(e2e.k2.to_der())
        + b"0"  # no KEM: Hushwire declines the post-quantum ratchet
    )


def parse_conn_request(r: Reader) -> ConnectionRequest:
    mode = r.char()
    if mode not in (b"I", b"C"):
        raise DecodeError("bad connection mode")
    versions = VersionRange.parse(r)
    queues = tuple(r.non_empty(_parse_queue_uri))
    raw = r.maybe(lambda rr: rr.large())
    client_data = None if raw is None else raw.decode("utf-8", "replace")
    if mode == b"C":
        return ConnectionRequest("contact", versions, queues, None, client_data)
    e2e_versions = VersionRange.parse(r)
    k1 = PublicKey.from_der(r.short_string())
    k2 = PublicKey.from_der(r.short_string())
    kem = r.maybe(_skip_kem) is not None
    try:
        e2e = E2ERatchetParamsUri(e2e_versions, k1, k2, peer_offered_kem=kem)
        return ConnectionRequest("invitation", versions, queues, e2e, client_data)
    except ValueError as e:
        raise DecodeError(str(e)) from None


def _skip_kem(r: Reader) -> bool:
    """``RKEMParams``: ``'P' Large`` or ``'A' Large Large``, read and ignored."""
    tag = r.char()
    if tag == b"P":
        r.large()
    elif tag == b"A":
        r.large()
        r.large()
    else:
        raise DecodeError("bad ratchet KEM params")
    return True


def decode_conn_request(data: bytes) -> ConnectionRequest:
    return parse_all(data, parse_conn_request)


# --------------------------------------------------------------------------- link data records


def _ed25519(der: bytes) -> PublicKey:
    key = PublicKey.from_der(der)
    if key.alg is not KeyAlg.ED25519:
        raise DecodeError("link keys are Ed25519")
    return key


@dataclass(frozen=True, slots=True)
class FixedLinkData:
    """``FixedLinkData``: what the link key commits to (agent range, root key, request)."""

    agent_versions: VersionRange
    root_key: PublicKey
    conn_request: ConnectionRequest
    entity_id: bytes | None = None

    def encode(self) -> bytes:
        out = (
            self.agent_versions.encode()
            + short_string(self.root_key.to_der())
            + encode_conn_request(self.conn_request)
        )
        return out if self.entity_id is None else out + short_string(self.entity_id)

    @classmethod
    def decode(cls, data: bytes) -> FixedLinkData:
        r = Reader(data)
        versions = VersionRange.parse(r)
        root = _ed25519(r.short_string())
        req = parse_conn_request(r)
        entity_id = None
        n = r.peek()
        if n is not None and r.remaining > n:  # an optional shortString
            entity_id = r.short_string()
        return cls(versions, root, req, entity_id)  # any tail is ignored (forward compatible)

    @property
    def link_key(self) -> bytes:
        return hashlib.sha3_256(self.encode()).digest()


@dataclass(frozen=True, slots=True)
class OwnerAuth:
    """``OwnerAuth``: an extra key allowed to sign a contact link's user data."""

    owner_id: bytes
    owner_key: PublicKey
    signature: bytes

    def encode(self) -> bytes:
        inner = (
            short_string(self.owner_id)
            + short_string(self.owner_key.to_der())
            + short_string(self.signature)
        )
        return short_string(inner)

    @classmethod
    def parse(cls, r: Reader) -> OwnerAuth:
        inner = Reader(r.short_string())
        owner_id = inner.short_string()
        key = _ed25519(inner.short_string())
        return cls(owner_id, key, inner.short_string())  # extension bytes are ignored


def new_owner_auth(owner_id: bytes, signing_key: PrivateKey) -> tuple[PrivateKey, OwnerAuth]:
    """``newOwnerAuth``: a fresh owner key signed (over ``ownerId ‖ key DER``) by
    ``signing_key`` (the root key or an earlier owner)."""
    priv = PrivateKey.generate(KeyAlg.ED25519)
    pub = priv.public()
    return priv, OwnerAuth(owner_id, pub, signing_key.sign(owner_id + pub.to_der()))


def validate_link_owners(root_key: PublicKey, owners: Sequence[OwnerAuth]) -> str | None:
    """``validateLinkOwners``: None if valid, else the reason."""
    prev: list[OwnerAuth] = []
    for o in owners:
        oid = b64url_encode(o.owner_id, padded=False)
        if o.owner_key == root_key:
            return f"owner key for ID {oid} matches root key"
        if any(p.owner_id == o.owner_id or p.owner_key == o.owner_key for p in prev):
            return f"duplicate owner key or ID {oid}"
        signed = o.owner_id + o.owner_key.to_der()
        signers = [root_key, *(p.owner_key for p in prev)]
        if not any(k.verify(o.signature, signed) for k in signers):
            return f"invalid authorization of owner ID {oid}"
        prev.append(o)
    return None


def _encode_user_data(data: bytes) -> bytes:
    if len(data) <= 254:
        return short_string(data)
    return bytes((_LARGE_USER_DATA,)) + large(data)


def _parse_user_data(r: Reader) -> bytes:
    if r.peek() == _LARGE_USER_DATA:
        r.byte()
        return r.large()
    return r.short_string()


@dataclass(frozen=True, slots=True)
class InvitationLinkData:
    """``ConnLinkData`` of an invitation: ``'I' agentVRange UserLinkData``."""

    agent_versions: VersionRange
    user_data: bytes

    def encode(self) -> bytes:
        return b"I" + self.agent_versions.encode() + _encode_user_data(self.user_data)


@dataclass(frozen=True, slots=True)
class ContactLinkData:
    """``ConnLinkData`` of a contact link: ``'C' agentVRange UserContactData``."""

    agent_versions: VersionRange
    user_data: bytes
    direct: bool = True
    owners: tuple[OwnerAuth, ...] = ()
    relays: tuple[ShortLink, ...] = ()

    def encode(self) -> bytes:
        return (
            b"C"
            + self.agent_versions.encode()
            + (b"T" if self.direct else b"F")
            + list_(self.owners, OwnerAuth.encode)
            + list_(self.relays, ShortLink.encode_binary)
            + _encode_user_data(self.user_data)
        )


LinkData = InvitationLinkData | ContactLinkData


def decode_link_data(data: bytes) -> LinkData:
    """``AConnLinkData`` parser; any tail after the fields is ignored."""
    r = Reader(data)
    mode = r.char()
    versions = VersionRange.parse(r)
    if mode == b"I":
        return InvitationLinkData(versions, _parse_user_data(r))
    if mode != b"C":
        raise DecodeError("bad connection mode")
    direct = r.bool_()
    owners = tuple(r.list_(OwnerAuth.parse))
    relays = tuple(r.list_(ShortLink.parse_binary))
    return ContactLinkData(versions, _parse_user_data(r), direct, owners, relays)


# --------------------------------------------------------------------------- sign + encrypt


def sign_data(key: PrivateKey, data: bytes) -> bytes:
    """``encodeSign``: ``shortString(Ed25519 signature) ‖ data``."""
    return short_string(key.sign(data)) + data


def encrypt_link_blob(
    box_key: bytes, signed: bytes, padded_length: int, nonce: bytes | None = None
) -> bytes:
    """``encryptData``: ``nonce ‖ secretbox(pad(signed, padded_length))`` under the derived
    key (used as a prepared box key: HSalsa20 of it, as simplexmq ``sbEncrypt``)."""
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != NONCE_SIZE:
        raise ValueError("nonce must be 24 bytes")
    return nonce + cb_encrypt(sb_key(box_key), nonce, signed, padded_length)


@dataclass(frozen=True, slots=True)
class PreparedLink:
    """Link data ready for NEW/LSET: the link key, the fixed data, the two signed blobs
    encrypted as they go to the server (the encrypted fixed blob must be sent unchanged on
    every LSET) and the key that encrypted them (:func:`link_box_key`)."""

    link_key: bytes
    fixed: FixedLinkData
    encrypted: QueueLinkData
    box_key: bytes = field(repr=False)


def prepare_link_data(
    root: PrivateKey,
    agent_versions: VersionRange,
    conn_request: ConnectionRequest,
    user: LinkData,
    *,
    fixed_nonce: bytes | None = None,
    user_nonce: bytes | None = None,
) -> PreparedLink:
    """``encodeSignLinkData`` + ``encryptLinkData``: sign the fixed and user data with the
    root key, derive the box key from the link key, encrypt both."""
    fixed = FixedLinkData(agent_versions, root.public(), conn_request)
    fd = fixed.encode()
    link_key = hashlib.sha3_256(fd).digest()
    box_key = _box_key(link_key, conn_request.mode == "invitation")
    enc_fixed = encrypt_link_blob(
        box_key, sign_data(root, fd), FIXED_DATA_PADDED_LENGTH, fixed_nonce
    )
    enc_user = encrypt_user_data(box_key, root, user, user_nonce)
    return PreparedLink(link_key, fixed, QueueLinkData(enc_fixed, enc_user), box_key)


def encrypt_user_data(
    box_key: bytes, signer: PrivateKey, user: LinkData, nonce: bytes | None = None
) -> bytes:
    """``encryptUserData`` of the signed user data (for LSET updates)."""
    return encrypt_link_blob(
        box_key, sign_data(signer, user.encode()), USER_DATA_PADDED_LENGTH, nonce
    )


def _box_key(link_key: bytes, invitation: bool) -> bytes:
    return invitation_link_kdf(link_key) if invitation else contact_link_kdf(link_key)[1]


def link_box_key(link: ShortLink) -> bytes:
    """The key that encrypts the link's data (fixed and user blobs)."""
    return _box_key(link.link_key, link.is_invitation)


def _open_blob(box_key: bytes, blob: bytes) -> tuple[bytes, bytes]:
    if len(blob) < NONCE_SIZE:
        raise LinkError("link data: the blob is too short")
    try:
        opened = cb_decrypt(sb_key(box_key), blob[:NONCE_SIZE], blob[NONCE_SIZE:])
    except CryptoError:
        raise LinkError("link data: cannot decrypt") from None
    r = Reader(opened)
    try:
        sig = r.short_string()
    except DecodeError:
        raise LinkError("link data: no signature") from None
    return sig, r.tail()


def decrypt_link_data(link: ShortLink, encrypted: QueueLinkData) -> tuple[FixedLinkData, LinkData]:
    """``decryptLinkData`` with its checks (hash, root signature, owners, user signature,
    mode). Raises :class:`LinkError` naming the failed check."""
    box_key = link_box_key(link)
    sig1, fd = _open_blob(box_key, encrypted.fixed)
    sig2, md = _open_blob(box_key, encrypted.user)
    try:
        fixed = FixedLinkData.decode(fd)
        user = decode_link_data(md)
    except (DecodeError, ValueError) as e:
        raise LinkError(f"link data: cannot parse ({e})") from None
    if not hmac.compare_digest(hashlib.sha3_256(fd).digest(), link.link_key):
        raise LinkError("link data hash")
    if not fixed.root_key.verify(sig1, fd):
        raise LinkError("link data signature")
    if fixed.conn_request.mode != link.mode or isinstance(user, InvitationLinkData) != (
        link.is_invitation
    ):
        raise LinkError("link data: wrong connection mode")
    signers = [fixed.root_key]
    if isinstance(user, ContactLinkData):
        problem = validate_link_owners(fixed.root_key, user.owners)
        if problem is not None:
            raise LinkError(problem)
        signers += [o.owner_key for o in user.owners]
    if not any(k.verify(sig2, md) for k in signers):
        raise LinkError("user data signature")
    return fixed, user


def check_link_server(link: ShortLink, fixed: FixedLinkData, sender_id: bytes) -> ConnectionRequest:
    """Agent.hs ``getConnShortLink'``: the request's first queue must be the link's queue
    (the link's first host among its hosts, the LNK sender id); its server is then replaced
    by the link's. Returns the request to join."""
    req = fixed.conn_request
    q = req.queues[0]
    if link.server.hosts[0] not in q.server.hosts or not hmac.compare_digest(
        q.sender_id, sender_id
    ):
        raise LinkError("different address")
    srv = link.server.to_smp_server()
    if srv != q.server:
        q = SMPQueueUri(q.versions, srv, q.sender_id, q.dh_public_key, q.queue_mode)
        req = ConnectionRequest(
            req.mode, req.agent_versions, (q, *req.queues[1:]), req.e2e, req.client_data
        )
    return req
