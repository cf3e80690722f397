"""SMP client commands and server responses, party-typed, with per-version encodings.

Mirrors simplexmq ``Protocol.hs``: ``Command p`` / ``Cmd`` / ``CommandTag`` (encode
``encodeProtocol``, parse ``protocolP``), ``BrokerMsg`` / ``BrokerMsgTag``, ``parseProtocol``,
``checkCredentials``; smp-relay.md sections 4.4 and 5.1.

Every command class carries its wire ``tag`` and its ``party`` (who may send it: recipient,
sender, notifier, link client, proxy ...). :func:`decode_command` returns a command whose
``party`` says which it is, and with ``party=`` given it refuses a command of any other party
as ``CMD UNKNOWN`` (the reference's ``checkParty``), so a sender command can never be decoded
where a recipient command is expected.

Parsing is strict: the parameters must be consumed exactly. An unknown tag raises
:class:`CommandDecodeError` with ``CommandError.UNKNOWN``, bad parameters with
``CommandError.SYNTAX``; both are :class:`~hushwire.errors.DecodeError`.

Encodings that change with the negotiated version: ``NEW`` (v6-8 / v9-14 / v15-16 / v17+),
``IDS`` (v6-8 / v9-14 / v15 / v16 / v17+), ``SOK`` (sent as ``OK`` below v16), ``DELD``
(sent as ``END`` below v10) and ``ERR`` (see :meth:`ErrorType.for_version`). Fields a version
cannot carry are dropped when encoding, as the reference does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final

from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.encoding.binary import (
    bool_,
    int64,
    large,
    maybe,
    non_empty,
    short_string,
    word16,
)
from hushwire.errors import DecodeError
from hushwire.smp._reader import SmpReader, parse_all
from hushwire.smp.address import SMPServer
from hushwire.smp.errors import CommandError, ErrorType
from hushwire.smp.hello import CertChainPubKey
from hushwire.smp.ids import EntityId, LinkId, MsgId, NotifierId, SenderId, ServiceId
from hushwire.smp.queue_info import QueueInfo
from hushwire.smp.version import (
    DELETED_EVENT_VERSION,
    NEW_NTF_CREDS_VERSION,
    SERVICE_CERTS_VERSION,
    SHORT_LINKS_VERSION,
    SND_AUTH_KEY_VERSION,
    VersionRange,
)

SP: Final = b" "
NONCE_SIZE: Final = 24


class CommandDecodeError(DecodeError):
    """A command or response that does not decode; ``error`` is what to answer (``ERR CMD``)."""

    def __init__(self, error: CommandError) -> None:
        super().__init__(f"CMD {error.value}")
        self.error = error


class Party(enum.Enum):
    """Who sends a command (Protocol.hs ``Party``)."""

    CREATOR = "Creator"
    RECIPIENT = "Recipient"
    RECIPIENT_SERVICE = "RecipientService"
    SENDER = "Sender"
    IDLE_CLIENT = "IdleClient"
    NOTIFIER = "Notifier"
    NOTIFIER_SERVICE = "NotifierService"
    LINK_CLIENT = "LinkClient"
    PROXIED_CLIENT = "ProxiedClient"
    PROXY_SERVICE = "ProxyService"


# --------------------------------------------------------------------------- field types


_AUTH_ALGS: Final = (KeyAlg.ED25519, KeyAlg.ED448, KeyAlg.X25519)


def _enc_key(k: PublicKey) -> bytes:
    return short_string(k.to_der())


def parse_auth_key(r: SmpReader) -> PublicKey:
    """``APublicAuthKey``: Ed25519, Ed448 or X25519 SPKI in a shortString."""
    k = PublicKey.from_der(r.short_string())
    if k.alg not in _AUTH_ALGS:
        raise DecodeError("key cannot be used for authorization")
    return k


def parse_dh_key(r: SmpReader) -> PublicKey:
    """``PublicKeyX25519`` SPKI in a shortString."""
    k = PublicKey.from_der(r.short_string())
    if k.alg is not KeyAlg.X25519:
        raise DecodeError("X25519 key expected")
    return k


def _check_auth_key(k: PublicKey) -> None:
    if k.alg not in _AUTH_ALGS:
        raise ValueError(f"{k.alg.value} key cannot be used for authorization")


def _check_dh_key(k: PublicKey) -> None:
    if k.alg is not KeyAlg.X25519:
        raise ValueError("X25519 key expected")


def _entity(r: SmpReader) -> EntityId:
    return EntityId(r.short_string())


def basic_auth_ok(b: bytes) -> bool:
    """``BasicAuth`` characters: printable (Latin-1), no space, no ``@ : /`` (Protocol.hs)."""
    return all(
        (0x21 <= c <= 0x7E and c not in (0x40, 0x3A, 0x2F)) or (0xA1 <= c <= 0xFF and c != 0xAD)
        for c in b
    )


def _basic_auth(r: SmpReader) -> bytes:
    b = r.short_string()
    if not basic_auth_ok(b):
        raise DecodeError("invalid character in BasicAuth")
    return b


def _check_basic_auth(b: bytes | None) -> None:
    if b is not None and not basic_auth_ok(b):
        raise ValueError("invalid character in BasicAuth")


class SubscriptionMode(enum.Enum):
    SUBSCRIBE = "S"
    ONLY_CREATE = "C"

    @classmethod
    def parse(cls, r: SmpReader) -> SubscriptionMode:
        c = r.char()
        if c == b"S":
            return cls.SUBSCRIBE
        if c == b"C":
            return cls.ONLY_CREATE
        raise DecodeError("bad SubscriptionMode")


class QueueMode(enum.Enum):
    MESSAGING = "M"
    CONTACT = "C"

    @classmethod
    def parse(cls, r: SmpReader) -> QueueMode:
        c = r.char()
        if c == b"M":
            return cls.MESSAGING
        if c == b"C":
            return cls.CONTACT
        raise DecodeError("bad QueueMode")


@dataclass(frozen=True, slots=True)
class QueueLinkData:
    """Encrypted fixed and user data of a short link (two ``Large`` fields)."""

    fixed: bytes
    user: bytes

    def encode(self) -> bytes:
        return large(self.fixed) + large(self.user)

    @classmethod
    def parse(cls, r: SmpReader) -> QueueLinkData:
        return cls(r.large(), r.large())


@dataclass(frozen=True, slots=True)
class MessagingLink:
    sender_id: SenderId
    data: QueueLinkData

    def encode(self) -> bytes:
        return short_string(self.sender_id) + self.data.encode()

    @classmethod
    def parse(cls, r: SmpReader) -> MessagingLink:
        return cls(_entity(r), QueueLinkData.parse(r))


@dataclass(frozen=True, slots=True)
class ContactLink:
    link_id: LinkId
    sender_id: SenderId
    data: QueueLinkData

    def encode(self) -> bytes:
        return short_string(self.link_id) + short_string(self.sender_id) + self.data.encode()

    @classmethod
    def parse(cls, r: SmpReader) -> ContactLink:
        return cls(_entity(r), _entity(r), QueueLinkData.parse(r))


@dataclass(frozen=True, slots=True)
class QRMessaging:
    """``QueueReqData`` for a messaging queue, optionally with short-link data."""

    link: MessagingLink | None = None

    @property
    def mode(self) -> QueueMode:
        return QueueMode.MESSAGING

    def encode(self) -> bytes:
        return b"M" + maybe(self.link, MessagingLink.encode)


@dataclass(frozen=True, slots=True)
class QRContact:
    """``QueueReqData`` for a contact queue, optionally with short-link data."""

    link: ContactLink | None = None

    @property
    def mode(self) -> QueueMode:
        return QueueMode.CONTACT

    def encode(self) -> bytes:
        return b"C" + maybe(self.link, ContactLink.encode)


QueueReqData = QRMessaging | QRContact


def _queue_req_data(r: SmpReader) -> QueueReqData:
    c = r.char()
    if c == b"M":
        return QRMessaging(r.maybe(MessagingLink.parse))
    if c == b"C":
        return QRContact(r.maybe(ContactLink.parse))
    raise DecodeError("bad QueueReqData")


@dataclass(frozen=True, slots=True)
class NewNtfCreds:
    """Notifier credentials created with the queue (v17+)."""

    auth_key: PublicKey
    dh_key: PublicKey

    def __post_init__(self) -> None:
        _check_auth_key(self.auth_key)
        _check_dh_key(self.dh_key)

    def encode(self) -> bytes:
        return _enc_key(self.auth_key) + _enc_key(self.dh_key)

    @classmethod
    def parse(cls, r: SmpReader) -> NewNtfCreds:
        return cls(parse_auth_key(r), parse_dh_key(r))


@dataclass(frozen=True, slots=True)
class MsgFlags:
    """``MsgFlags``: one Bool; on parse any further bytes up to the next space are skipped."""

    notification: bool = False

    def encode(self) -> bytes:
        return bool_(self.notification)

    @classmethod
    def parse(cls, r: SmpReader) -> MsgFlags:
        notification = r.bool_()
        r.take_till_space()
        return cls(notification)


_HOST_FORBIDDEN: Final = frozenset(b"#,;/ \n\r\t")


def host_ok(b: bytes) -> bool:
    """A transport host: non-empty, none of ``# , ; /`` or whitespace (Transport/Client.hs)."""
    return bool(b) and not any(c in _HOST_FORBIDDEN for c in b)


def _host(r: SmpReader) -> str:
    b = r.short_string()
    if not host_ok(b):
        raise DecodeError("bad transport host")
    h = b.decode("latin-1")
    return h[1:-1] if len(h) > 2 and h[0] == "[" and h[-1] == "]" else h


def _enc_host(h: str) -> bytes:
    return short_string(h.encode("latin-1"))


def encode_smp_server(server: SMPServer) -> bytes:
    """Binary ``ProtocolServer``: NonEmpty shortString hosts, shortString port, key hash.

    An absent port is the empty string, as in the reference; the basic auth is not part of it.
    """
    port = b"" if server.port is None else str(server.port).encode()
    return non_empty(server.hosts, _enc_host) + short_string(port) + short_string(server.key_hash)


def parse_smp_server(r: SmpReader) -> tuple[tuple[str, ...], int | None, bytes]:
    hosts = tuple(r.non_empty(_host))
    port_b = r.short_string()
    port: int | None = None
    if port_b:
        if not port_b.isdigit() or len(port_b) > 5 or not 0 < int(port_b) < 65536:
            raise DecodeError("port must be a number from 1 to 65535")
        port = int(port_b)
    key_hash = r.short_string()
    if len(key_hash) != 32:
        raise DecodeError("key hash must be 32 bytes")
    return hosts, port, key_hash


# --------------------------------------------------------------------------- commands


class Command:
    """A client command. ``tag`` and ``party`` are per class."""

    __slots__ = ()

    tag: ClassVar[bytes]
    party: ClassVar[Party]

    def encode(self, version: int) -> bytes:
        """Tag and parameters as sent at the negotiated ``version``."""
        return self.tag + self._params(version)

    def _params(self, version: int) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class NEW(Command):
    """Create a queue. ``queue_req_data`` is sent as a Bool at v9-14 (messaging or not);
    link data needs v15+, ``ntf_creds`` v17+."""

    tag: ClassVar[bytes] = b"NEW"
    party: ClassVar[Party] = Party.CREATOR

    rcv_auth_key: PublicKey
    rcv_dh_key: PublicKey
    basic_auth: bytes | None = None
    sub_mode: SubscriptionMode = SubscriptionMode.SUBSCRIBE
    queue_req_data: QueueReqData | None = None
    ntf_creds: NewNtfCreds | None = None

    def __post_init__(self) -> None:
        _check_auth_key(self.rcv_auth_key)
        _check_dh_key(self.rcv_dh_key)
        _check_basic_auth(self.basic_auth)

    def _params(self, version: int) -> bytes:
        out = SP + _enc_key(self.rcv_auth_key) + _enc_key(self.rcv_dh_key)
        auth = maybe(self.basic_auth, short_string)
        mode = self.sub_mode.value.encode()
        qrd = b"0" if self.queue_req_data is None else b"1" + self.queue_req_data.encode()
        if version >= NEW_NTF_CREDS_VERSION:
            return out + auth + mode + qrd + maybe(self.ntf_creds, NewNtfCreds.encode)
        if version >= SHORT_LINKS_VERSION:
            return out + auth + mode + qrd
        if version >= SND_AUTH_KEY_VERSION:
            return out + auth + mode + bool_(isinstance(self.queue_req_data, QRMessaging))
        v6_auth = b"" if self.basic_auth is None else b"A" + short_string(self.basic_auth)
        return out + v6_auth + mode

    @classmethod
    def parse(cls, version: int, r: SmpReader) -> NEW:
        r.sp()
        rcv_auth_key = parse_auth_key(r)
        rcv_dh_key = parse_dh_key(r)
        ntf_creds = None
        if version >= SND_AUTH_KEY_VERSION:
            basic_auth = r.maybe(_basic_auth)
            sub_mode = SubscriptionMode.parse(r)
            qrd: QueueReqData | None
            if version >= SHORT_LINKS_VERSION:
                qrd = r.maybe(_queue_req_data)
                if version >= NEW_NTF_CREDS_VERSION:
                    ntf_creds = r.maybe(NewNtfCreds.parse)
            else:
                qrd = QRMessaging() if r.bool_() else QRContact()
        else:
            basic_auth = r.optional(_v6_basic_auth)
            sub_mode = SubscriptionMode.parse(r)
            qrd = None
        return cls(rcv_auth_key, rcv_dh_key, basic_auth, sub_mode, qrd, ntf_creds)


def _v6_basic_auth(r: SmpReader) -> bytes:
    r.expect(b"A")
    return _basic_auth(r)


@dataclass(frozen=True, slots=True)
class SUB(Command):
    tag: ClassVar[bytes] = b"SUB"
    party: ClassVar[Party] = Party.RECIPIENT


@dataclass(frozen=True, slots=True)
class SUBS(Command):
    """Subscribe all queues of a service (entity = service id)."""

    tag: ClassVar[bytes] = b"SUBS"
    party: ClassVar[Party] = Party.RECIPIENT_SERVICE


@dataclass(frozen=True, slots=True)
class KEY(Command):
    """Recipient secures the queue with the sender's key."""

    tag: ClassVar[bytes] = b"KEY"
    party: ClassVar[Party] = Party.RECIPIENT
    sender_key: PublicKey

    def __post_init__(self) -> None:
        _check_auth_key(self.sender_key)

    def _params(self, version: int) -> bytes:
        return SP + _enc_key(self.sender_key)


@dataclass(frozen=True, slots=True)
class RKEY(Command):
    """Replace the recipient keys (contact queues)."""

    tag: ClassVar[bytes] = b"RKEY"
    party: ClassVar[Party] = Party.RECIPIENT
    keys: tuple[PublicKey, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.keys) <= 255:
            raise ValueError("RKEY needs 1..255 keys")
        for k in self.keys:
            _check_auth_key(k)

    def _params(self, version: int) -> bytes:
        return SP + non_empty(self.keys, _enc_key)


@dataclass(frozen=True, slots=True)
class LSET(Command):
    tag: ClassVar[bytes] = b"LSET"
    party: ClassVar[Party] = Party.RECIPIENT
    link_id: LinkId
    data: QueueLinkData

    def _params(self, version: int) -> bytes:
        return SP + short_string(self.link_id) + self.data.encode()


@dataclass(frozen=True, slots=True)
class LDEL(Command):
    tag: ClassVar[bytes] = b"LDEL"
    party: ClassVar[Party] = Party.RECIPIENT


@dataclass(frozen=True, slots=True)
class NKEY(Command):
    tag: ClassVar[bytes] = b"NKEY"
    party: ClassVar[Party] = Party.RECIPIENT
    ntf_auth_key: PublicKey
    ntf_dh_key: PublicKey

    def __post_init__(self) -> None:
        _check_auth_key(self.ntf_auth_key)
        _check_dh_key(self.ntf_dh_key)

    def _params(self, version: int) -> bytes:
        return SP + _enc_key(self.ntf_auth_key) + _enc_key(self.ntf_dh_key)


@dataclass(frozen=True, slots=True)
class NDEL(Command):
    tag: ClassVar[bytes] = b"NDEL"
    party: ClassVar[Party] = Party.RECIPIENT


@dataclass(frozen=True, slots=True)
class GET(Command):
    tag: ClassVar[bytes] = b"GET"
    party: ClassVar[Party] = Party.RECIPIENT


@dataclass(frozen=True, slots=True)
class ACK(Command):
    tag: ClassVar[bytes] = b"ACK"
    party: ClassVar[Party] = Party.RECIPIENT
    msg_id: MsgId

    def _params(self, version: int) -> bytes:
        return SP + short_string(self.msg_id)


@dataclass(frozen=True, slots=True)
class OFF(Command):
    tag: ClassVar[bytes] = b"OFF"
    party: ClassVar[Party] = Party.RECIPIENT


@dataclass(frozen=True, slots=True)
class DEL(Command):
    tag: ClassVar[bytes] = b"DEL"
    party: ClassVar[Party] = Party.RECIPIENT


@dataclass(frozen=True, slots=True)
class QUE(Command):
    tag: ClassVar[bytes] = b"QUE"
    party: ClassVar[Party] = Party.RECIPIENT


@dataclass(frozen=True, slots=True)
class SKEY(Command):
    """Sender secures a messaging queue with its own key (v9+)."""

    tag: ClassVar[bytes] = b"SKEY"
    party: ClassVar[Party] = Party.SENDER
    sender_key: PublicKey

    def __post_init__(self) -> None:
        _check_auth_key(self.sender_key)

    def _params(self, version: int) -> bytes:
        return SP + _enc_key(self.sender_key)


@dataclass(frozen=True, slots=True)
class SEND(Command):
    tag: ClassVar[bytes] = b"SEND"
    party: ClassVar[Party] = Party.SENDER
    flags: MsgFlags
    body: bytes

    def _params(self, version: int) -> bytes:
        return SP + self.flags.encode() + SP + self.body


@dataclass(frozen=True, slots=True)
class PING(Command):
    tag: ClassVar[bytes] = b"PING"
    party: ClassVar[Party] = Party.IDLE_CLIENT


@dataclass(frozen=True, slots=True)
class LKEY(Command):
    """Secure a messaging queue via its link id (entity = link id)."""

    tag: ClassVar[bytes] = b"LKEY"
    party: ClassVar[Party] = Party.LINK_CLIENT
    sender_key: PublicKey

    def __post_init__(self) -> None:
        _check_auth_key(self.sender_key)

    def _params(self, version: int) -> bytes:
        return SP + _enc_key(self.sender_key)


@dataclass(frozen=True, slots=True)
class LGET(Command):
    tag: ClassVar[bytes] = b"LGET"
    party: ClassVar[Party] = Party.LINK_CLIENT


@dataclass(frozen=True, slots=True)
class NSUB(Command):
    tag: ClassVar[bytes] = b"NSUB"
    party: ClassVar[Party] = Party.NOTIFIER


@dataclass(frozen=True, slots=True)
class NSUBS(Command):
    tag: ClassVar[bytes] = b"NSUBS"
    party: ClassVar[Party] = Party.NOTIFIER_SERVICE


@dataclass(frozen=True, slots=True)
class PRXY(Command):
    """Ask a proxy for a session with a destination server; ``server.basic_auth`` travels
    as the command's ``Maybe BasicAuth``."""

    tag: ClassVar[bytes] = b"PRXY"
    party: ClassVar[Party] = Party.PROXIED_CLIENT
    server: SMPServer

    def __post_init__(self) -> None:
        if self.server.basic_auth is not None:
            _check_basic_auth(self.server.basic_auth.encode("latin-1"))
        for h in self.server.hosts:
            if not host_ok(h.encode("latin-1")):
                raise ValueError(f"invalid host {h!r}")

    def _params(self, version: int) -> bytes:
        auth = self.server.basic_auth
        enc_auth = None if auth is None else auth.encode("latin-1")
        return SP + encode_smp_server(self.server) + maybe(enc_auth, short_string)


@dataclass(frozen=True, slots=True)
class PFWD(Command):
    """Client to proxy: a transmission encrypted for the destination (entity = session id)."""

    tag: ClassVar[bytes] = b"PFWD"
    party: ClassVar[Party] = Party.PROXIED_CLIENT
    version: int
    key: PublicKey
    enc_transmission: bytes

    def __post_init__(self) -> None:
        _check_dh_key(self.key)

    def _params(self, version: int) -> bytes:
        return SP + word16(self.version) + _enc_key(self.key) + self.enc_transmission


@dataclass(frozen=True, slots=True)
class RFWD(Command):
    """Proxy to destination: the forwarded, encrypted transmission."""

    tag: ClassVar[bytes] = b"RFWD"
    party: ClassVar[Party] = Party.PROXY_SERVICE
    enc_fwd_transmission: bytes

    def _params(self, version: int) -> bytes:
        return SP + self.enc_fwd_transmission


_CommandParser = Callable[[int, SmpReader], Command]


def _nullary(cls: type[Command]) -> _CommandParser:
    inst = cls()

    def p(_v: int, _r: SmpReader) -> Command:
        return inst

    return p


def _p_key(cls: type[KEY] | type[SKEY] | type[LKEY]) -> _CommandParser:
    def p(_v: int, r: SmpReader) -> Command:
        r.sp()
        return cls(parse_auth_key(r))

    return p


def _p_rkey(_v: int, r: SmpReader) -> Command:
    r.sp()
    return RKEY(tuple(r.non_empty(parse_auth_key)))


def _p_lset(_v: int, r: SmpReader) -> Command:
    r.sp()
    return LSET(_entity(r), QueueLinkData.parse(r))


def _p_nkey(_v: int, r: SmpReader) -> Command:
    r.sp()
    return NKEY(parse_auth_key(r), parse_dh_key(r))


def _p_ack(_v: int, r: SmpReader) -> Command:
    r.sp()
    return ACK(MsgId(r.short_string()))


def _p_send(_v: int, r: SmpReader) -> Command:
    r.sp()
    flags = MsgFlags.parse(r)
    r.sp()
    return SEND(flags, r.tail())


def _p_prxy(_v: int, r: SmpReader) -> Command:
    r.sp()
    hosts, port, key_hash = parse_smp_server(r)
    auth = r.maybe(_basic_auth)
    basic_auth = None if auth is None else auth.decode("latin-1")
    return PRXY(SMPServer(hosts, key_hash, port, basic_auth))


def _p_pfwd(_v: int, r: SmpReader) -> Command:
    r.sp()
    v = r.word16()
    key = parse_dh_key(r)
    return PFWD(v, key, r.tail())


def _p_rfwd(_v: int, r: SmpReader) -> Command:
    r.sp()
    return RFWD(r.tail())


_COMMANDS: Final[dict[bytes, tuple[type[Command], _CommandParser]]] = {
    b"NEW": (NEW, NEW.parse),
    b"SUB": (SUB, _nullary(SUB)),
    b"SUBS": (SUBS, _nullary(SUBS)),
    b"KEY": (KEY, _p_key(KEY)),
    b"RKEY": (RKEY, _p_rkey),
    b"LSET": (LSET, _p_lset),
    b"LDEL": (LDEL, _nullary(LDEL)),
    b"NKEY": (NKEY, _p_nkey),
    b"NDEL": (NDEL, _nullary(NDEL)),
    b"GET": (GET, _nullary(GET)),
    b"ACK": (ACK, _p_ack),
    b"OFF": (OFF, _nullary(OFF)),
    b"DEL": (DEL, _nullary(DEL)),
    b"QUE": (QUE, _nullary(QUE)),
    b"SKEY": (SKEY, _p_key(SKEY)),
    b"SEND": (SEND, _p_send),
    b"PING": (PING, _nullary(PING)),
    b"LKEY": (LKEY, _p_key(LKEY)),
    b"LGET": (LGET, _nullary(LGET)),
    b"NSUB": (NSUB, _nullary(NSUB)),
    b"NSUBS": (NSUBS, _nullary(NSUBS)),
    b"PRXY": (PRXY, _p_prxy),
    b"PFWD": (PFWD, _p_pfwd),
    b"RFWD": (RFWD, _p_rfwd),
}

COMMAND_TAGS: Final = frozenset(_COMMANDS)


def decode_command(version: int, data: bytes, party: Party | None = None) -> Command:
    """Decode a command sent at ``version`` (``parseProtocol``).

    With ``party`` given, a command of another party is ``CMD UNKNOWN``.
    Raises :class:`CommandDecodeError` (``UNKNOWN`` for the tag, ``SYNTAX`` for parameters).
    """
    i = data.find(b" ")
    tag = data if i < 0 else data[:i]
    entry = _COMMANDS.get(tag)
    if entry is None or (party is not None and entry[0].party is not party):
        raise CommandDecodeError(CommandError.UNKNOWN)
    parser = entry[1]
    try:
        return parse_all(data[len(tag) :], lambda r: parser(version, r))
    except DecodeError:
        raise CommandDecodeError(CommandError.SYNTAX) from None


_ENTITY_ONLY: Final = (LGET, PFWD)
_NO_CREDENTIALS: Final = (PING, PRXY, RFWD)


def check_credentials(cmd: Command, has_auth: bool, entity_id: bytes) -> CommandError | None:
    """Credential shape of a command (Protocol.hs ``checkCredentials``); None when fine.

    NEW: auth required, entity must be empty. SEND: entity required. PING/PRXY/RFWD: neither.
    LGET/PFWD: entity, no auth. All others: auth and entity.
    """
    if isinstance(cmd, NEW):
        if not has_auth:
            return CommandError.NO_AUTH
        return CommandError.HAS_AUTH if entity_id else None
    if isinstance(cmd, SEND):
        return None if entity_id else CommandError.NO_ENTITY
    if isinstance(cmd, _NO_CREDENTIALS):
        return None if not has_auth and not entity_id else CommandError.HAS_AUTH
    if isinstance(cmd, _ENTITY_ONLY):
        if not entity_id:
            return CommandError.NO_ENTITY
        return CommandError.HAS_AUTH if has_auth else None
    return None if has_auth and entity_id else CommandError.NO_AUTH


_QUEUE_PARTIES: Final = frozenset(
    (Party.RECIPIENT, Party.SENDER, Party.NOTIFIER, Party.LINK_CLIENT)
)


def queue_party(cmd: Command) -> Party | None:
    """Which queue id the entity is looked up by, or None for commands not on a queue.

    RECIPIENT: recipient id; SENDER (SEND, SKEY): sender id; LINK_CLIENT (LKEY, LGET):
    link id; NOTIFIER (NSUB): notifier id (Protocol.hs ``queueParty``).
    """
    return cmd.party if cmd.party in _QUEUE_PARTIES else None


def uses_service_auth(cmd: Command) -> bool:
    """Commands that carry the service signature in a service session (NEW, SUB, NSUB)."""
    return isinstance(cmd, NEW | SUB | NSUB)


# --------------------------------------------------------------------------- responses


class BrokerMsg:
    """A server response or event. ``tag`` is per class."""

    __slots__ = ()

    tag: ClassVar[bytes]

    def encode(self, version: int) -> bytes:
        """Tag and parameters as sent at the negotiated ``version``."""
        return self.tag + self._params(version)

    def _params(self, version: int) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class ServerNtfCreds:
    notifier_id: NotifierId
    dh_key: PublicKey

    def __post_init__(self) -> None:
        _check_dh_key(self.dh_key)

    def encode(self) -> bytes:
        return short_string(self.notifier_id) + _enc_key(self.dh_key)

    @classmethod
    def parse(cls, r: SmpReader) -> ServerNtfCreds:
        return cls(_entity(r), parse_dh_key(r))


def _enc_mode(m: QueueMode) -> bytes:
    return m.value.encode()


def _enc_entity(e: EntityId) -> bytes:
    return short_string(e)


@dataclass(frozen=True, slots=True)
class IDS(BrokerMsg):
    """Queue created. At v9-14 ``queue_mode`` travels as a Bool (messaging or contact)."""

    tag: ClassVar[bytes] = b"IDS"
    rcv_id: EntityId
    snd_id: EntityId
    srv_dh_key: PublicKey
    queue_mode: QueueMode | None = None
    link_id: LinkId | None = None
    service_id: ServiceId | None = None
    server_ntf_creds: ServerNtfCreds | None = None

    def __post_init__(self) -> None:
        _check_dh_key(self.srv_dh_key)

    def _params(self, version: int) -> bytes:
        out = SP + short_string(self.rcv_id) + short_string(self.snd_id)
        out += _enc_key(self.srv_dh_key)
        if version >= SHORT_LINKS_VERSION:
            out += maybe(self.queue_mode, _enc_mode) + maybe(self.link_id, _enc_entity)
            if version >= SERVICE_CERTS_VERSION:
                out += maybe(self.service_id, _enc_entity)
                if version >= NEW_NTF_CREDS_VERSION:
                    out += maybe(self.server_ntf_creds, ServerNtfCreds.encode)
        elif version >= SND_AUTH_KEY_VERSION:
            out += bool_(self.queue_mode is QueueMode.MESSAGING)
        return out

    @classmethod
    def parse(cls, version: int, r: SmpReader) -> IDS:
        r.sp()
        rcv_id = _entity(r)
        snd_id = _entity(r)
        key = parse_dh_key(r)
        mode = link_id = service_id = creds = None
        if version >= SHORT_LINKS_VERSION:
            mode = r.maybe(QueueMode.parse)
            link_id = r.maybe(_entity)
            if version >= SERVICE_CERTS_VERSION:
                service_id = r.maybe(_entity)
                if version >= NEW_NTF_CREDS_VERSION:
                    creds = r.maybe(ServerNtfCreds.parse)
        elif version >= SND_AUTH_KEY_VERSION:
            mode = QueueMode.MESSAGING if r.bool_() else QueueMode.CONTACT
        return cls(rcv_id, snd_id, key, mode, link_id, service_id, creds)


@dataclass(frozen=True, slots=True)
class LNK(BrokerMsg):
    tag: ClassVar[bytes] = b"LNK"
    sender_id: SenderId
    data: QueueLinkData

    def _params(self, version: int) -> bytes:
        return SP + short_string(self.sender_id) + self.data.encode()


@dataclass(frozen=True, slots=True)
class SOK(BrokerMsg):
    """Subscribed (v16+); sent as plain ``OK`` below v16."""

    tag: ClassVar[bytes] = b"SOK"
    service_id: ServiceId | None = None

    def encode(self, version: int) -> bytes:
        if version < SERVICE_CERTS_VERSION:
            return b"OK"
        return b"SOK " + maybe(self.service_id, _enc_entity)


@dataclass(frozen=True, slots=True)
class SOKS(BrokerMsg):
    tag: ClassVar[bytes] = b"SOKS"
    count: int

    def _params(self, version: int) -> bytes:
        return SP + int64(self.count)


@dataclass(frozen=True, slots=True)
class MSG(BrokerMsg):
    """A message: id, then the encrypted body with no separator."""

    tag: ClassVar[bytes] = b"MSG"
    msg_id: MsgId
    body: bytes

    def _params(self, version: int) -> bytes:
        return SP + short_string(self.msg_id) + self.body


@dataclass(frozen=True, slots=True)
class NID(BrokerMsg):
    tag: ClassVar[bytes] = b"NID"
    notifier_id: NotifierId
    srv_ntf_dh_key: PublicKey

    def __post_init__(self) -> None:
        _check_dh_key(self.srv_ntf_dh_key)

    def _params(self, version: int) -> bytes:
        return SP + short_string(self.notifier_id) + _enc_key(self.srv_ntf_dh_key)


@dataclass(frozen=True, slots=True)
class NMSG(BrokerMsg):
    """Notification: 24 raw nonce bytes, then the encrypted metadata as a shortString."""

    tag: ClassVar[bytes] = b"NMSG"
    nonce: bytes
    enc_meta: bytes

    def __post_init__(self) -> None:
        if len(self.nonce) != NONCE_SIZE:
            raise ValueError("NMSG nonce must be 24 bytes")

    def _params(self, version: int) -> bytes:
        return SP + self.nonce + short_string(self.enc_meta)


@dataclass(frozen=True, slots=True)
class PKEY(BrokerMsg):
    """Proxy's answer to PRXY: destination session id, version range and signed key."""

    tag: ClassVar[bytes] = b"PKEY"
    session_id: bytes
    version_range: VersionRange
    cert_key: CertChainPubKey

    def _params(self, version: int) -> bytes:
        return (
            SP
            + short_string(self.session_id)
            + self.version_range.encode()
            + (self.cert_key.encode())
        )


@dataclass(frozen=True, slots=True)
class RRES(BrokerMsg):
    tag: ClassVar[bytes] = b"RRES"
    enc_fwd_response: bytes

    def _params(self, version: int) -> bytes:
        return SP + self.enc_fwd_response


@dataclass(frozen=True, slots=True)
class PRES(BrokerMsg):
    tag: ClassVar[bytes] = b"PRES"
    enc_response: bytes

    def _params(self, version: int) -> bytes:
        return SP + self.enc_response


@dataclass(frozen=True, slots=True)
class END(BrokerMsg):
    tag: ClassVar[bytes] = b"END"


@dataclass(frozen=True, slots=True)
class ENDS(BrokerMsg):
    tag: ClassVar[bytes] = b"ENDS"
    count: int

    def _params(self, version: int) -> bytes:
        return SP + int64(self.count)


@dataclass(frozen=True, slots=True)
class DELD(BrokerMsg):
    """Queue deleted by another connection (v10+); sent as ``END`` below v10."""

    tag: ClassVar[bytes] = b"DELD"

    def encode(self, version: int) -> bytes:
        return b"DELD" if version >= DELETED_EVENT_VERSION else b"END"


@dataclass(frozen=True, slots=True)
class INFO(BrokerMsg):
    tag: ClassVar[bytes] = b"INFO"
    info: QueueInfo

    def _params(self, version: int) -> bytes:
        return SP + self.info.to_json()


@dataclass(frozen=True, slots=True)
class OK(BrokerMsg):
    tag: ClassVar[bytes] = b"OK"


@dataclass(frozen=True, slots=True)
class ERR(BrokerMsg):
    """An error; encoded as a peer of the version understands it (``for_version``)."""

    tag: ClassVar[bytes] = b"ERR"
    error: ErrorType

    def _params(self, version: int) -> bytes:
        return SP + self.error.for_version(version).encode()


@dataclass(frozen=True, slots=True)
class PONG(BrokerMsg):
    tag: ClassVar[bytes] = b"PONG"


_ResponseParser = Callable[[int, SmpReader], BrokerMsg]


def _r_nullary(inst: BrokerMsg) -> _ResponseParser:
    def p(_v: int, _r: SmpReader) -> BrokerMsg:
        return inst

    return p


def _r_lnk(_v: int, r: SmpReader) -> BrokerMsg:
    r.sp()
    return LNK(_entity(r), QueueLinkData.parse(r))


def _r_sok(_v: int, r: SmpReader) -> BrokerMsg:
    r.sp()
    return SOK(r.maybe(_entity))


def _r_count(cls: type[SOKS] | type[ENDS]) -> _ResponseParser:
    def p(_v: int, r: SmpReader) -> BrokerMsg:
        r.sp()
        return cls(r.int64())

    return p


def _r_msg(_v: int, r: SmpReader) -> BrokerMsg:
    r.sp()
    msg_id = MsgId(r.short_string())
    return MSG(msg_id, r.tail())


def _r_nid(_v: int, r: SmpReader) -> BrokerMsg:
    r.sp()
    return NID(_entity(r), parse_dh_key(r))


def _r_nmsg(_v: int, r: SmpReader) -> BrokerMsg:
    r.sp()
    nonce = r.take(NONCE_SIZE)
    return NMSG(nonce, r.short_string())


def _r_pkey(_v: int, r: SmpReader) -> BrokerMsg:
    r.sp()
    sid = r.short_string()
    vr = VersionRange.parse(r)
    return PKEY(sid, vr, CertChainPubKey.parse(r))


def _r_tail(cls: type[RRES] | type[PRES]) -> _ResponseParser:
    def p(_v: int, r: SmpReader) -> BrokerMsg:
        r.sp()
        return cls(r.tail())

    return p


def _r_info(_v: int, r: SmpReader) -> BrokerMsg:
    r.sp()
    return INFO(QueueInfo.from_json(r.tail()))


def _r_err(_v: int, r: SmpReader) -> BrokerMsg:
    r.sp()
    return ERR(ErrorType.parse(r))


_RESPONSES: Final[dict[bytes, _ResponseParser]] = {
    b"IDS": IDS.parse,
    b"LNK": _r_lnk,
    b"SOK": _r_sok,
    b"SOKS": _r_count(SOKS),
    b"MSG": _r_msg,
    b"NID": _r_nid,
    b"NMSG": _r_nmsg,
    b"PKEY": _r_pkey,
    b"RRES": _r_tail(RRES),
    b"PRES": _r_tail(PRES),
    b"END": _r_nullary(END()),
    b"ENDS": _r_count(ENDS),
    b"DELD": _r_nullary(DELD()),
    b"INFO": _r_info,
    b"OK": _r_nullary(OK()),
    b"ERR": _r_err,
    b"PONG": _r_nullary(PONG()),
}

RESPONSE_TAGS: Final = frozenset(_RESPONSES)


def decode_response(version: int, data: bytes) -> BrokerMsg:
    """Decode a server response received at ``version``.

    Raises :class:`CommandDecodeError` (``UNKNOWN`` for the tag, ``SYNTAX`` for parameters).
    """
    i = data.find(b" ")
    tag = data if i < 0 else data[:i]
    parser = _RESPONSES.get(tag)
    if parser is None:
        raise CommandDecodeError(CommandError.UNKNOWN)
    try:
        return parse_all(data[len(tag) :], lambda r: parser(version, r))
    except DecodeError:
        raise CommandDecodeError(CommandError.SYNTAX) from None


def check_response_credentials(msg: BrokerMsg, entity_id: bytes) -> CommandError | None:
    """Entity shape of a response (``checkCredentials`` for ``BrokerMsg``); None when fine.

    IDS and ERR: any entity. PONG, PKEY, RRES: no entity (else HAS_AUTH). Others: entity
    required (else NO_ENTITY).
    """
    if isinstance(msg, IDS | ERR):
        return None
    if isinstance(msg, PONG | PKEY | RRES):
        return CommandError.HAS_AUTH if entity_id else None
    return None if entity_id else CommandError.NO_ENTITY
