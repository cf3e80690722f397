"""SMP server responses and events (``BrokerMsg``), each class with its tag, encoder and decoder.

Mirrors simplexmq ``Simplex.Messaging.Protocol`` (``BrokerMsg``, ``BrokerMsgTag``, the
``ProtocolEncoding`` instance of ``BrokerMsg``, ``checkCredentials`` for responses); see
docs/protocol/smp.md.

Each response class carries its wire ``tag``, ``encode(version)`` (tag and parameters) and
``parse(version, reader)`` (the parameters after the tag); :data:`RESPONSES`, the table
:func:`decode_response` dispatches on, is built from the classes. Encodings that change with
the negotiated version: ``IDS`` (v6-8 / v9-14 / v15 / v16 / v17+), ``SOK`` (sent as ``OK``
below v16), ``DELD`` (sent as ``END`` below v10) and ``ERR`` (see
:meth:`~hushwire.smp.errors.ErrorType.for_version`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from hushwire.crypto.keys import PublicKey
from hushwire.crypto.nacl import NONCE_SIZE
from hushwire.encoding.binary import bool_, maybe, short_string
from hushwire.encoding.record import INT64, SHORT_STRING, TAIL, Field
from hushwire.smp._reader import SmpReader
from hushwire.smp.errors import CommandError, ErrorType
from hushwire.smp.fields import (
    DH_KEY,
    LINK_DATA,
    QueueLinkData,
    QueueMode,
    ServerNtfCreds,
    check_dh_key,
    encode_entity,
    encode_key,
    encode_mode,
    parse_dh_key,
    parse_entity,
)
from hushwire.smp.hello import CertChainPubKey
from hushwire.smp.ids import EntityId, LinkId, MsgId, NotifierId, SenderId, ServiceId
from hushwire.smp.queue_info import QueueInfo
from hushwire.smp.tagged import SP, Param, Tagged, decode_tagged, tag_table
from hushwire.smp.version import (
    DELETED_EVENT_VERSION,
    NEW_NTF_CREDS_VERSION,
    SERVICE_CERTS_VERSION,
    SHORT_LINKS_VERSION,
    SND_AUTH_KEY_VERSION,
    VersionRange,
)

# --------------------------------------------------------------------------- parameters

_NONCE: Final[Param[Any]] = Field(bytes, lambda r: r.take(NONCE_SIZE))
_VERSION_RANGE: Final[Param[Any]] = Field(VersionRange.encode, VersionRange.parse)
_CERT_KEY: Final[Param[Any]] = Field(CertChainPubKey.encode, CertChainPubKey.parse)
_QUEUE_INFO: Final[Param[Any]] = Field(QueueInfo.to_json, lambda r: QueueInfo.from_json(r.tail()))
_ERROR: Final[Param[ErrorType]] = Field(lambda e: e.encode(), ErrorType.parse)
_MAYBE_ENTITY: Final[Param[Any]] = Field(
    lambda e: maybe(e, encode_entity), lambda r: r.maybe(parse_entity)
)

# --------------------------------------------------------------------------- responses


class BrokerMsg(Tagged):
    """A server response or event. ``tag`` is per class."""

    __slots__ = ()


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
        check_dh_key(self.srv_dh_key)

    def _params(self, version: int) -> bytes:
        out = SP + short_string(self.rcv_id) + short_string(self.snd_id)
        out += encode_key(self.srv_dh_key)
        if version >= SHORT_LINKS_VERSION:
            out += maybe(self.queue_mode, encode_mode) + maybe(self.link_id, encode_entity)
            if version >= SERVICE_CERTS_VERSION:
                out += maybe(self.service_id, encode_entity)
                if version >= NEW_NTF_CREDS_VERSION:
                    out += maybe(self.server_ntf_creds, ServerNtfCreds.encode)
        elif version >= SND_AUTH_KEY_VERSION:
            out += bool_(self.queue_mode is QueueMode.MESSAGING)
        return out

    @classmethod
    def parse(cls, version: int, r: SmpReader) -> IDS:
        r.sp()
        rcv_id = parse_entity(r)
        snd_id = parse_entity(r)
        key = parse_dh_key(r)
        mode = link_id = service_id = creds = None
        if version >= SHORT_LINKS_VERSION:
            mode = r.maybe(QueueMode.parse)
            link_id = r.maybe(parse_entity)
            if version >= SERVICE_CERTS_VERSION:
                service_id = r.maybe(parse_entity)
                if version >= NEW_NTF_CREDS_VERSION:
                    creds = r.maybe(ServerNtfCreds.parse)
        elif version >= SND_AUTH_KEY_VERSION:
            mode = QueueMode.MESSAGING if r.bool_() else QueueMode.CONTACT
        return cls(rcv_id, snd_id, key, mode, link_id, service_id, creds)


@dataclass(frozen=True, slots=True)
class LNK(BrokerMsg):
    tag: ClassVar[bytes] = b"LNK"
    params: ClassVar[tuple[Param[Any], ...]] = (SHORT_STRING, LINK_DATA)
    sender_id: SenderId
    data: QueueLinkData


@dataclass(frozen=True, slots=True)
class SOK(BrokerMsg):
    """Subscribed (v16+); sent as plain ``OK`` below v16 (it parses at any version)."""

    tag: ClassVar[bytes] = b"SOK"
    params: ClassVar[tuple[Param[Any], ...]] = (_MAYBE_ENTITY,)
    service_id: ServiceId | None = None

    def encode(self, version: int) -> bytes:
        if version < SERVICE_CERTS_VERSION:
            return OK.tag
        return BrokerMsg.encode(self, version)


@dataclass(frozen=True, slots=True)
class SOKS(BrokerMsg):
    """Service queues subscribed."""

    tag: ClassVar[bytes] = b"SOKS"
    params: ClassVar[tuple[Param[Any], ...]] = (INT64,)
    count: int


@dataclass(frozen=True, slots=True)
class MSG(BrokerMsg):
    """A message: id, then the encrypted body with no separator."""

    tag: ClassVar[bytes] = b"MSG"
    params: ClassVar[tuple[Param[Any], ...]] = (SHORT_STRING, TAIL)
    msg_id: MsgId
    body: bytes


@dataclass(frozen=True, slots=True)
class NID(BrokerMsg):
    tag: ClassVar[bytes] = b"NID"
    params: ClassVar[tuple[Param[Any], ...]] = (SHORT_STRING, DH_KEY)
    notifier_id: NotifierId
    srv_ntf_dh_key: PublicKey

    def __post_init__(self) -> None:
        check_dh_key(self.srv_ntf_dh_key)


@dataclass(frozen=True, slots=True)
class NMSG(BrokerMsg):
    """Notification: 24 raw nonce bytes, then the encrypted metadata as a shortString."""

    tag: ClassVar[bytes] = b"NMSG"
    params: ClassVar[tuple[Param[Any], ...]] = (_NONCE, SHORT_STRING)
    nonce: bytes
    enc_meta: bytes

    def __post_init__(self) -> None:
        if len(self.nonce) != NONCE_SIZE:
            raise ValueError("NMSG nonce must be 24 bytes")


@dataclass(frozen=True, slots=True)
class PKEY(BrokerMsg):
    """Proxy's answer to PRXY: destination session id, version range and signed key."""

    tag: ClassVar[bytes] = b"PKEY"
    params: ClassVar[tuple[Param[Any], ...]] = (SHORT_STRING, _VERSION_RANGE, _CERT_KEY)
    session_id: bytes
    version_range: VersionRange
    cert_key: CertChainPubKey


@dataclass(frozen=True, slots=True)
class RRES(BrokerMsg):
    """Destination to proxy: the encrypted forwarded response."""

    tag: ClassVar[bytes] = b"RRES"
    params: ClassVar[tuple[Param[Any], ...]] = (TAIL,)
    enc_fwd_response: bytes


@dataclass(frozen=True, slots=True)
class PRES(BrokerMsg):
    """Proxy to client: the response of the destination, encrypted for the client."""

    tag: ClassVar[bytes] = b"PRES"
    params: ClassVar[tuple[Param[Any], ...]] = (TAIL,)
    enc_response: bytes


@dataclass(frozen=True, slots=True)
class END(BrokerMsg):
    tag: ClassVar[bytes] = b"END"


@dataclass(frozen=True, slots=True)
class ENDS(BrokerMsg):
    """Service subscriptions ended."""

    tag: ClassVar[bytes] = b"ENDS"
    params: ClassVar[tuple[Param[Any], ...]] = (INT64,)
    count: int


@dataclass(frozen=True, slots=True)
class DELD(BrokerMsg):
    """Queue deleted by another connection (v10+); sent as ``END`` below v10."""

    tag: ClassVar[bytes] = b"DELD"

    def encode(self, version: int) -> bytes:
        return self.tag if version >= DELETED_EVENT_VERSION else END.tag


@dataclass(frozen=True, slots=True)
class INFO(BrokerMsg):
    tag: ClassVar[bytes] = b"INFO"
    params: ClassVar[tuple[Param[Any], ...]] = (_QUEUE_INFO,)
    info: QueueInfo


@dataclass(frozen=True, slots=True)
class OK(BrokerMsg):
    tag: ClassVar[bytes] = b"OK"


@dataclass(frozen=True, slots=True)
class ERR(BrokerMsg):
    """An error; encoded as a peer of the version understands it (``for_version``)."""

    tag: ClassVar[bytes] = b"ERR"
    params: ClassVar[tuple[Param[Any], ...]] = (_ERROR,)
    error: ErrorType

    def _params(self, version: int) -> bytes:
        return SP + _ERROR.encode(self.error.for_version(version))


@dataclass(frozen=True, slots=True)
class PONG(BrokerMsg):
    tag: ClassVar[bytes] = b"PONG"


RESPONSES: Final[dict[bytes, type[BrokerMsg]]] = tag_table(
    (IDS, LNK, SOK, SOKS, MSG, NID, NMSG, PKEY, RRES, PRES, END, ENDS, DELD, INFO, OK, ERR, PONG)
)
"""``tag -> response class``."""

RESPONSE_TAGS: Final = frozenset(RESPONSES)


def decode_response(version: int, data: bytes) -> BrokerMsg:
    """Decode a server response received at ``version``.

    Raises :class:`CommandDecodeError` (``UNKNOWN`` for the tag, ``SYNTAX`` for parameters).
    """
    return decode_tagged(RESPONSES, version, data)


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
