"""SMP client commands, party-typed, each class with its tag, encoder and decoder.

Mirrors simplexmq ``Simplex.Messaging.Protocol`` (``Command p``, ``Cmd``, ``CommandTag``,
``encodeProtocol``, ``protocolP``, ``parseProtocol``, ``checkParty``, ``checkCredentials``,
``queueParty``); see docs/protocol/smp.md. Server responses live in
:mod:`hushwire.smp.responses` and the field types in :mod:`hushwire.smp.fields`; both are
re-exported here, so ``hushwire.smp.commands`` still names every command and response.

Every command class carries its wire ``tag``, its ``party`` (who may send it: recipient,
sender, notifier, link client, proxy ...), ``encode(version)`` and ``parse(version, reader)``;
:data:`COMMANDS`, the table :func:`decode_command` dispatches on, is built from the classes.
:func:`decode_command` returns a command whose ``party`` says which it is, and with ``party=``
given it refuses a command of any other party as ``CMD UNKNOWN`` (the reference's
``checkParty``), so a sender command can never be decoded where a recipient command is
expected.

Parsing is strict: the parameters must be consumed exactly. An unknown tag raises
:class:`CommandDecodeError` with ``CommandError.UNKNOWN``, bad parameters with
``CommandError.SYNTAX``; both are :class:`~hushwire.errors.DecodeError`. ``NEW`` changes with
the negotiated version (v6-8 / v9-14 / v15-16 / v17+); fields a version cannot carry are
dropped when encoding, as the reference does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from hushwire.crypto.keys import PublicKey
from hushwire.encoding.binary import bool_, maybe, short_string
from hushwire.encoding.record import SHORT_STRING, TAIL, WORD16, Field
from hushwire.smp._reader import SmpReader
from hushwire.smp.address import SMPServer, basic_auth_ok, host_ok
from hushwire.smp.errors import CommandError
from hushwire.smp.fields import (
    AUTH_KEY,
    AUTH_KEYS,
    DH_KEY,
    LINK_DATA,
    ContactLink,
    MessagingLink,
    MsgFlags,
    NewNtfCreds,
    QRContact,
    QRMessaging,
    QueueLinkData,
    QueueMode,
    QueueReqData,
    ServerNtfCreds,
    SubscriptionMode,
    check_auth_key,
    check_basic_auth,
    check_dh_key,
    encode_key,
    parse_auth_key,
    parse_basic_auth,
    parse_dh_key,
    parse_queue_req_data,
)
from hushwire.smp.ids import LinkId, MsgId
from hushwire.smp.responses import (
    DELD,
    END,
    ENDS,
    ERR,
    IDS,
    INFO,
    LNK,
    MSG,
    NID,
    NMSG,
    OK,
    PKEY,
    PONG,
    PRES,
    RESPONSE_TAGS,
    RRES,
    SOK,
    SOKS,
    BrokerMsg,
    check_response_credentials,
    decode_response,
)
from hushwire.smp.tagged import SP, CommandDecodeError, Param, Tagged, decode_tagged, tag_table
from hushwire.smp.version import NEW_NTF_CREDS_VERSION, SHORT_LINKS_VERSION, SND_AUTH_KEY_VERSION

__all__ = [
    "ACK", "COMMANDS", "COMMAND_TAGS", "DEL", "DELD", "END", "ENDS", "ERR", "GET", "IDS", "INFO",
    "KEY", "LDEL", "LGET", "LKEY", "LNK", "LSET", "MSG", "NDEL", "NEW", "NID", "NKEY", "NMSG",
    "NSUB", "NSUBS", "OFF", "OK", "PFWD", "PING", "PKEY", "PONG", "PRES", "PRXY", "QUE",
    "RESPONSE_TAGS", "RFWD", "RKEY", "RRES", "SEND", "SKEY", "SOK", "SOKS", "SUB", "SUBS",
    "BrokerMsg", "Command", "CommandDecodeError", "ContactLink", "MessagingLink", "MsgFlags",
    "NewNtfCreds", "Party", "QRContact", "QRMessaging", "QueueLinkData", "QueueMode",
    "QueueReqData", "ServerNtfCreds", "SubscriptionMode", "basic_auth_ok",
    "check_credentials", "check_response_credentials", "decode_command", "decode_response",
    "host_ok", "parse_auth_key", "parse_dh_key", "queue_party", "uses_service_auth",
]  # fmt: skip


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


# --------------------------------------------------------------------------- commands


class Command(Tagged):
    """A client command. ``tag`` and ``party`` are per class."""

    __slots__ = ()

    party: ClassVar[Party]


@dataclass(frozen=True, slots=True)
class _SenderKeyCommand(Command):
    """A command whose one parameter is an auth key (KEY, SKEY, LKEY)."""

    params: ClassVar[tuple[Param[Any], ...]] = (AUTH_KEY,)
    sender_key: PublicKey

    def __post_init__(self) -> None:
        check_auth_key(self.sender_key)


def _flags_then_space(r: SmpReader) -> MsgFlags:
    flags = MsgFlags.parse(r)
    r.sp()
    return flags


_FLAGS_THEN_SPACE: Final[Param[Any]] = Field(lambda f: f.encode() + SP, _flags_then_space)
"""SEND's flags and the space before its body."""


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
        check_auth_key(self.rcv_auth_key)
        check_dh_key(self.rcv_dh_key)
        check_basic_auth(self.basic_auth)

    def _params(self, version: int) -> bytes:
        out = SP + encode_key(self.rcv_auth_key) + encode_key(self.rcv_dh_key)
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
            basic_auth = r.maybe(parse_basic_auth)
            sub_mode = SubscriptionMode.parse(r)
            qrd: QueueReqData | None
            if version >= SHORT_LINKS_VERSION:
                qrd = r.maybe(parse_queue_req_data)
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
    return parse_basic_auth(r)


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
class KEY(_SenderKeyCommand):
    """Recipient secures the queue with the sender's key."""

    tag: ClassVar[bytes] = b"KEY"
    party: ClassVar[Party] = Party.RECIPIENT


@dataclass(frozen=True, slots=True)
class RKEY(Command):
    """Replace the recipient keys (contact queues)."""

    tag: ClassVar[bytes] = b"RKEY"
    party: ClassVar[Party] = Party.RECIPIENT
    params: ClassVar[tuple[Param[Any], ...]] = (AUTH_KEYS,)
    keys: tuple[PublicKey, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.keys) <= 255:
            raise ValueError("RKEY needs 1..255 keys")
        for k in self.keys:
            check_auth_key(k)


@dataclass(frozen=True, slots=True)
class LSET(Command):
    tag: ClassVar[bytes] = b"LSET"
    party: ClassVar[Party] = Party.RECIPIENT
    params: ClassVar[tuple[Param[Any], ...]] = (SHORT_STRING, LINK_DATA)
    link_id: LinkId
    data: QueueLinkData


@dataclass(frozen=True, slots=True)
class LDEL(Command):
    tag: ClassVar[bytes] = b"LDEL"
    party: ClassVar[Party] = Party.RECIPIENT


@dataclass(frozen=True, slots=True)
class NKEY(Command):
    tag: ClassVar[bytes] = b"NKEY"
    party: ClassVar[Party] = Party.RECIPIENT
    params: ClassVar[tuple[Param[Any], ...]] = (AUTH_KEY, DH_KEY)
    ntf_auth_key: PublicKey
    ntf_dh_key: PublicKey

    def __post_init__(self) -> None:
        check_auth_key(self.ntf_auth_key)
        check_dh_key(self.ntf_dh_key)


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
    params: ClassVar[tuple[Param[Any], ...]] = (SHORT_STRING,)
    msg_id: MsgId


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
class SKEY(_SenderKeyCommand):
    """Sender secures a messaging queue with its own key (v9+)."""

    tag: ClassVar[bytes] = b"SKEY"
    party: ClassVar[Party] = Party.SENDER


@dataclass(frozen=True, slots=True)
class SEND(Command):
    tag: ClassVar[bytes] = b"SEND"
    party: ClassVar[Party] = Party.SENDER
    params: ClassVar[tuple[Param[Any], ...]] = (_FLAGS_THEN_SPACE, TAIL)
    flags: MsgFlags
    body: bytes


@dataclass(frozen=True, slots=True)
class PING(Command):
    tag: ClassVar[bytes] = b"PING"
    party: ClassVar[Party] = Party.IDLE_CLIENT


@dataclass(frozen=True, slots=True)
class LKEY(_SenderKeyCommand):
    """Secure a messaging queue via its link id (entity = link id)."""

    tag: ClassVar[bytes] = b"LKEY"
    party: ClassVar[Party] = Party.LINK_CLIENT


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
            check_basic_auth(self.server.basic_auth.encode("latin-1"))
        for h in self.server.hosts:
            if not host_ok(h):
                raise ValueError(f"invalid host {h!r}")

    def _params(self, version: int) -> bytes:
        auth = self.server.basic_auth
        enc_auth = None if auth is None else auth.encode("latin-1")
        return SP + self.server.encode_binary() + maybe(enc_auth, short_string)

    @classmethod
    def parse(cls, version: int, r: SmpReader) -> PRXY:
        r.sp()
        server = SMPServer.parse_binary(r)
        auth = r.maybe(parse_basic_auth)
        return cls(server.with_basic_auth(None if auth is None else auth.decode("latin-1")))


@dataclass(frozen=True, slots=True)
class PFWD(Command):
    """Client to proxy: a transmission encrypted for the destination (entity = session id)."""

    tag: ClassVar[bytes] = b"PFWD"
    party: ClassVar[Party] = Party.PROXIED_CLIENT
    params: ClassVar[tuple[Param[Any], ...]] = (WORD16, DH_KEY, TAIL)
    version: int
    key: PublicKey
    enc_transmission: bytes

    def __post_init__(self) -> None:
        check_dh_key(self.key)


@dataclass(frozen=True, slots=True)
class RFWD(Command):
    """Proxy to destination: the forwarded, encrypted transmission."""

    tag: ClassVar[bytes] = b"RFWD"
    party: ClassVar[Party] = Party.PROXY_SERVICE
    params: ClassVar[tuple[Param[Any], ...]] = (TAIL,)
    enc_fwd_transmission: bytes


_COMMAND_CLASSES: Final[tuple[type[Command], ...]] = (
    *(NEW, SUB, SUBS, KEY, RKEY, LSET, LDEL, NKEY, NDEL, GET, ACK, OFF, DEL, QUE),
    *(SKEY, SEND, PING, LKEY, LGET, NSUB, NSUBS, PRXY, PFWD, RFWD),
)
COMMANDS: Final[dict[bytes, type[Command]]] = tag_table(_COMMAND_CLASSES)
"""``tag -> command class``."""

COMMAND_TAGS: Final = frozenset(COMMANDS)


def decode_command(version: int, data: bytes, party: Party | None = None) -> Command:
    """Decode a command sent at ``version`` (``parseProtocol``).

    With ``party`` given, a command of another party is ``CMD UNKNOWN``.
    Raises :class:`CommandDecodeError` (``UNKNOWN`` for the tag, ``SYNTAX`` for parameters).
    """
    return decode_tagged(COMMANDS, version, data, lambda cls: party in (None, cls.party))


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
