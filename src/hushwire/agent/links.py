"""SimpleX connection links: SMP queue URIs and full connection requests.

Mirrors simplexmq ``Agent/Protocol.hs`` (``SMPQueueUri`` StrEncoding, ``ConnectionRequestUri``
StrEncoding, ``connReqUriP``, ``updateSMPServerHosts``, ``AConnShortLink`` strP) and
``Agent/QueryString.hs``; see docs/protocol/agent.md (connection links). Servers, hosts and
ports are read and written by :mod:`hushwire.smp.address`, version ranges by
:class:`~hushwire.smp.version.VersionRange`, versions come from :mod:`hushwire.agent.protocol`.

Forms::

    smp://<keyHash>@<host>[,<host>...][:<port>]/<senderId>#/?v=1-4&dh=<key>&q=m&k=s&srv=<hosts>
    simplex:/contact#/?v=2-7&smp=<queue URI>[;<queue URI>...][&data=<json>]
    https://<any host>/invitation#/?v=2-7&smp=<queue URI>&e2e=v=2-3&x3dh=<k1>,<k2>

Each query value is percent-encoded once more than the text it carries, so the base64 ``=``
of a queue's ``dh`` key reads ``%253D`` in a full link. Short links (``/a#``, ``/c#``,
``/g#``, ``/r#``, ``/i#``) are refused by :func:`parse_link` with a clear :class:`LinkError`:
resolving one needs a server round trip. :func:`hushwire.agent.shortlinks.parse_any_link`
reads both kinds, and :mod:`hushwire.agent.shortlink_client` resolves a short link to the
full request this module describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from hushwire.agent.protocol import (
    AGENT_VERSIONS,
    DUPLEX_HANDSHAKE_SMPA_VERSION,
    INITIAL_SMP_CLIENT_VERSION,
    SHORT_LINKS_SMP_CLIENT_VERSION,
    SMP_CLIENT_VERSIONS,
    SRV_HOSTNAMES_SMP_CLIENT_VERSION,
)
from hushwire.agent.ratchet import E2ERatchetParamsUri
from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.encoding.strings import (
    b64url_decode,
    b64url_encode,
    parse_query,
    query_param,
    render_query,
)
from hushwire.errors import DecodeError
from hushwire.limits import MAX_LINK_LENGTH
from hushwire.smp.address import (
    KEY_HASH_SIZE,
    SMPServer,
    format_hosts,
    parse_location,
    with_extra_hosts,
)
from hushwire.smp.commands import QueueMode
from hushwire.smp.version import VersionRange

if TYPE_CHECKING:
    from hushwire.agent.shortlinks import ShortLink

__all__ = [
    "AGENT_LINK_VERSIONS",
    "SHORT_LINK_MESSAGE",
    "SMP_CLIENT_VERSIONS",
    "ConnectionMode",
    "ConnectionRequest",
    "LinkError",
    "SMPQueueUri",
    "format_version_range",
    "parse_any_link",
    "parse_link",
    "parse_version_range",
]

ConnectionMode = Literal["invitation", "contact"]

AGENT_LINK_VERSIONS: Final = AGENT_VERSIONS
"""Agent versions a link offers today (``supportedSMPAgentVRange``)."""

SHORT_LINK_MESSAGE: Final = (
    "this is a SimpleX short link; Hushwire needs the full link for now: in the SimpleX app, "
    "share the address as a full link (or use the long link from the QR code)"
)

_APP_HOST = re.compile(r"[^:#,;/ ]+(?::[0-9]{1,5})?")  # ServiceScheme.hs SrvLoc
_SHORT_TYPE = re.compile(r"(?:[acgrACGR]|i)/?#")  # AConnShortLink strP: type, [/], '#'
_WHITESPACE = re.compile(r"\s")


class LinkError(DecodeError):
    """A connection link is malformed or cannot be used; the message says what to do."""


def parse_version_range(text: str) -> VersionRange:
    """``"a-b"`` or ``"a"`` (:meth:`VersionRange.parse_str`), failing with :class:`LinkError`."""
    try:
        return VersionRange.parse_str(text)
    except DecodeError as e:
        raise LinkError(str(e)) from None


def format_version_range(vr: VersionRange) -> str:
    return vr.to_str()


def _make_server(hosts: tuple[str, ...], key_hash: bytes, port: int | None) -> SMPServer:
    """An ``SMPServer`` as the link names it. simplexmq accepts a key hash of any length
    in a link (its tests use 4 bytes); SMPServer checks for 32, so other lengths are set
    without that check: the client's identity check refuses such a server anyway."""
    if len(key_hash) == KEY_HASH_SIZE:
        return SMPServer(hosts, key_hash, port)
    server = object.__new__(SMPServer)
    for name, value in (
        ("hosts", hosts),
        ("key_hash", key_hash),
        ("port", port),
        ("basic_auth", None),
    ):
        object.__setattr__(server, name, value)
    return server


def _parse_hosts(location: str) -> tuple[tuple[str, ...], int | None]:
    try:
        return parse_location(location)
    except DecodeError as e:
        raise LinkError(f"bad server host or port in the link: {e}") from e


def _parse_extra_host(text: str) -> str:
    hosts, port = _parse_hosts(text)
    if port is not None or len(hosts) != 1:
        raise LinkError("bad host in the srv= list of the link")
    return hosts[0]


def _decode_b64(text: str, what: str) -> bytes:
    try:
        return b64url_decode(text)
    except DecodeError as e:
        raise LinkError(f"the {what} in the link is not base64url") from e


def _decode_dh_key(text: str) -> PublicKey:
    der = _decode_b64(text, "queue key (dh)")
    try:
        key = PublicKey.from_der(der)
    except DecodeError as e:
        raise LinkError("the queue key (dh) in the link is not a public key") from e
    if key.alg is not KeyAlg.X25519:
        raise LinkError("the queue key (dh) in the link must be an X25519 key")
    return key


@dataclass(frozen=True, slots=True)
class SMPQueueUri:
    """A queue's address as links carry it (``SMPQueueUri``: client version range and
    ``SMPQueueAddress``)."""

    versions: VersionRange
    server: SMPServer
    sender_id: bytes
    dh_public_key: PublicKey
    queue_mode: QueueMode | None = None

    def __post_init__(self) -> None:
        if not self.sender_id:
            raise ValueError("a queue URI needs a sender id")
        if self.dh_public_key.alg is not KeyAlg.X25519:
            raise ValueError("a queue's dh key is X25519")

    @property
    def sender_can_secure(self) -> bool:
        return self.queue_mode is QueueMode.MESSAGING

    def to_str(self) -> str:
        """The string form, byte for byte as simplexmq ``strEncode`` writes it."""
        srv = self.server
        port = "" if srv.port is None else f":{srv.port}"
        legacy = self.versions.min < SRV_HOSTNAMES_SMP_CLIENT_VERSION
        hosts = srv.hosts[:1] if legacy else srv.hosts
        authority = f"smp://{b64url_encode(srv.key_hash)}@{format_hosts(hosts)}{port}"
        params = [
            ("v", format_version_range(self.versions)),
            ("dh", b64url_encode(self.dh_public_key.to_der())),
        ]
        if self.queue_mode is not None:
            params.append(("q", "m" if self.queue_mode is QueueMode.MESSAGING else "c"))
        if self.sender_can_secure and self.versions.min < SHORT_LINKS_SMP_CLIENT_VERSION:
            params.append(("k", "s"))
        if legacy and len(srv.hosts) > 1:
            params.append(("srv", format_hosts(srv.hosts[1:])))
        return f"{authority}/{b64url_encode(self.sender_id)}#/?{render_query(params)}"

    @classmethod
    def parse_str(cls, text: str) -> SMPQueueUri:
        """Parse every form simplexmq accepts (current, legacy ``srv=``, key after ``#``,
        unversioned ``#<key>``); malformed input raises :class:`LinkError`."""
        if not text.startswith("smp://"):
            raise LinkError("a queue address in the link must start with smp://")
        if _WHITESPACE.search(text):
            raise LinkError("a queue address in the link contains a space")
        authority, slash, rest = text[len("smp://") :].partition("/")
        if not slash:
            raise LinkError("the queue address in the link has no queue id")
        key_text, at, location = authority.partition("@")
        if not at:
            raise LinkError("the queue address in the link needs '@' after the key hash")
        if ":" in key_text:
            raise LinkError("a queue address in a link must not carry a server password")
        key_hash = _decode_b64(key_text, "server key hash")
        hosts, port = _parse_hosts(location)
        sender_text, hash_mark, fragment = rest.partition("#")
        if not hash_mark:
            raise LinkError("the queue address in the link has no '#' before its keys")
        if sender_text.endswith("/"):
            sender_text = sender_text[:-1]
        sender_id = _decode_b64(sender_text, "queue id")
        mode: QueueMode | None = None
        extra: tuple[str, ...] = ()
        if "?" in fragment:
            before, _, query = fragment.partition("?")
            if before.endswith("/"):
                before = before[:-1]
            pairs = parse_query(query)
            v_text = query_param(pairs, "v")
            if v_text is None:
                raise LinkError("the queue address in the link has no v= version")
            versions = parse_version_range(v_text)
            dh_text = before or query_param(pairs, "dh")
            if dh_text is None:
                raise LinkError("the queue address in the link has no dh= key")
            srv_text = query_param(pairs, "srv")
            if srv_text:
                extra = tuple(_parse_extra_host(part) for part in srv_text.split(","))
            q = query_param(pairs, "q")
            if q == "m":
                mode = QueueMode.MESSAGING
            elif q == "c":
                mode = QueueMode.CONTACT
            elif query_param(pairs, "k") == "s":
                mode = QueueMode.MESSAGING
        else:
            versions = VersionRange(INITIAL_SMP_CLIENT_VERSION, INITIAL_SMP_CLIENT_VERSION)
            dh_text = fragment
        dh_key = _decode_dh_key(dh_text)
        all_hosts = hosts + extra
        if versions.max < SRV_HOSTNAMES_SMP_CLIENT_VERSION:
            all_hosts = with_extra_hosts(all_hosts)
        return cls(versions, _make_server(all_hosts, key_hash, port), sender_id, dh_key, mode)


@dataclass(frozen=True, slots=True)
class ConnectionRequest:
    """A full connection link (``ConnectionRequestUri``): a one-time invitation (with the
    initiator's X3DH keys) or a contact address."""

    mode: ConnectionMode
    agent_versions: VersionRange
    queues: tuple[SMPQueueUri, ...]
    e2e: E2ERatchetParamsUri | None = None
    client_data: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("invitation", "contact"):
            raise ValueError("mode is 'invitation' or 'contact'")
        if not self.queues:
            raise ValueError("a connection request needs at least one queue")
        if (self.e2e is None) == (self.mode == "invitation"):
            raise ValueError("an invitation carries e2e keys and a contact address does not")

    def to_uri(self, *, https_host: str | None = None) -> str:
        """``simplex:/<mode>#/?...`` or, with ``https_host``, ``https://HOST/<mode>#/?...``
        (the form apps show, e.g. ``https_host="simplex.chat"``)."""
        if https_host is None:
            scheme = "simplex:"
        elif _APP_HOST.fullmatch(https_host):
            scheme = f"https://{https_host}"
        else:
            raise ValueError(f"not a host name for a link: {https_host!r}")
        params = [
            ("v", format_version_range(self.agent_versions)),
            ("smp", ";".join(q.to_str() for q in self.queues)),
        ]
        if self.e2e is not None:
            params.append(("e2e", self.e2e.to_str()))
        if self.client_data is not None:
            params.append(("data", self.client_data))
        return f"{scheme}/{self.mode}#/?{render_query(params)}"


def _split_scheme(text: str) -> str:
    """What follows ``simplex:/`` or ``https://host[:port]/``."""
    if text.startswith("simplex:"):
        rest = text[len("simplex:") :]
        if rest.startswith("//"):
            raise LinkError(
                "a SimpleX link starts with simplex:/ (one slash) or https://; "
                "copy the link again from the app"
            )
    elif text.startswith("https://"):
        host, slash, path = text[len("https://") :].partition("/")
        if not _APP_HOST.fullmatch(host):
            raise LinkError("the link has no valid host after https://")
        rest = slash + path
    else:
        raise LinkError("not a SimpleX link: it must start with simplex:/ or https://")
    if not rest.startswith("/"):
        raise LinkError("not a SimpleX link: expected '/' after the scheme or host")
    return rest[1:]


def parse_link(text: str) -> ConnectionRequest:
    """Parse a full invitation or contact link (``simplex:`` or ``https://any.host/``).

    Surrounding whitespace is ignored; unknown parameters are ignored; a contact link's
    agent range is raised to at least 2 as simplexmq does. Short links and anything
    malformed raise :class:`LinkError` with a message saying what is wrong.
    """
    text = text.strip()
    if not text:
        raise LinkError("the link is empty")
    if len(text) > MAX_LINK_LENGTH:
        raise LinkError(f"the link is too long ({len(text)} characters)")
    path = _split_scheme(text)
    mode: ConnectionMode
    if path.startswith("invitation"):
        mode, path = "invitation", path[len("invitation") :]
    elif path.startswith("contact"):
        mode, path = "contact", path[len("contact") :]
    elif _SHORT_TYPE.match(path):
        raise LinkError(SHORT_LINK_MESSAGE)
    else:
        raise LinkError("not a SimpleX link: expected /contact# or /invitation# in it")
    if path.startswith("/"):
        path = path[1:]
    if not path.startswith("#/?"):
        raise LinkError("the link has no '#/?' before its parameters")
    query = path[3:]
    if _WHITESPACE.search(query):
        raise LinkError("the link contains a space or line break; copy it again in one piece")
    pairs = parse_query(query)
    v_text = query_param(pairs, "v")
    if v_text is None:
        raise LinkError("the link has no v= (agent version) parameter")
    versions = parse_version_range(v_text)
    smp = query_param(pairs, "smp")
    if not smp:
        raise LinkError("the link has no smp= queue")
    queues = tuple(SMPQueueUri.parse_str(q) for q in smp.split(";"))
    client_data = query_param(pairs, "data")
    if mode == "contact":
        lo = max(DUPLEX_HANDSHAKE_SMPA_VERSION, versions.min)  # minSupportedSMPAgentVersion
        versions = VersionRange(lo, max(lo, versions.max))
        return ConnectionRequest("contact", versions, queues, None, client_data)
    e2e_text = query_param(pairs, "e2e")
    if e2e_text is None:
        raise LinkError("the invitation link has no e2e= encryption keys")
    try:
        e2e = E2ERatchetParamsUri.parse_str(e2e_text)
    except (DecodeError, ValueError) as e:
        raise LinkError(f"the invitation link has bad e2e= encryption keys: {e}") from e
    return ConnectionRequest("invitation", versions, queues, e2e, client_data)


def parse_any_link(text: str) -> ConnectionRequest | ShortLink:
    """A full link (:func:`parse_link`) or a short link: the same as
    :func:`hushwire.agent.shortlinks.parse_any_link` (re-exported here for callers that
    only know this module; imported on use, since that module builds on this one)."""
    from hushwire.agent.shortlinks import parse_any_link as parse

    return parse(text)
