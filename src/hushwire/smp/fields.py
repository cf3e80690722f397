"""Field types that SMP commands and responses carry, each with its encoder and decoder.

Mirrors simplexmq ``Simplex.Messaging.Protocol`` (``SubscriptionMode``, ``QueueMode``,
``QueueReqData``, ``QueueLinkData``, ``NewNtfCreds``, ``ServerNtfCreds``, ``MsgFlags``,
``BasicAuth``) and the public-key encodings of ``Simplex.Messaging.Crypto`` (``APublicAuthKey``,
``PublicKeyX25519``: an SPKI in a shortString); see docs/protocol/smp.md. The agent's queue
addresses and envelopes (``hushwire.agent.protocol``) read and write keys with the same
functions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Final, Generic, TypeVar

from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.encoding.binary import (
    Reader,
    bool_,
    maybe,
    non_empty,
    short_string,
)
from hushwire.encoding.record import LARGE, SHORT_STRING, Field, Fields, TaggedRecord
from hushwire.errors import DecodeError
from hushwire.smp._reader import SmpReader
from hushwire.smp.address import basic_auth_ok
from hushwire.smp.ids import EntityId, LinkId, NotifierId, SenderId
from hushwire.smp.tagged import Param

AUTH_KEY_ALGS: Final = (KeyAlg.ED25519, KeyAlg.ED448, KeyAlg.X25519)
"""``APublicAuthKey`` algorithms (Crypto.hs ``authAlgorithm``)."""


# --------------------------------------------------------------------------- keys


def encode_key(k: PublicKey) -> bytes:
    """A public key as an SPKI in a shortString."""
    return short_string(k.to_der())


def parse_auth_key(r: Reader) -> PublicKey:
    """``APublicAuthKey``: Ed25519, Ed448 or X25519 SPKI in a shortString."""
    k = PublicKey.from_der(r.short_string())
    if k.alg not in AUTH_KEY_ALGS:
        raise DecodeError("key cannot be used for authorization")
    return k


def parse_dh_key(r: Reader) -> PublicKey:
    """``PublicKeyX25519`` SPKI in a shortString."""
    k = PublicKey.from_der(r.short_string())
    if k.alg is not KeyAlg.X25519:
        raise DecodeError("X25519 key expected")
    return k


AUTH_KEY: Final[Field[PublicKey, Reader]] = Field(encode_key, parse_auth_key)
DH_KEY: Final[Field[PublicKey, Reader]] = Field(encode_key, parse_dh_key)


def check_auth_key(k: PublicKey) -> None:
    """Refuse (``ValueError``) a key that cannot authorize commands."""
    if k.alg not in AUTH_KEY_ALGS:
        raise ValueError(f"{k.alg.value} key cannot be used for authorization")


def check_dh_key(k: PublicKey | None) -> None:
    """Refuse (``ValueError``) a key that is given and is not X25519."""
    if k is not None and k.alg is not KeyAlg.X25519:
        raise ValueError("X25519 key expected")


# --------------------------------------------------------------------------- ids, auth


def parse_entity(r: SmpReader) -> EntityId:
    return EntityId(r.short_string())


def encode_entity(e: EntityId) -> bytes:
    return short_string(e)


def encode_mode(m: QueueMode | SubscriptionMode) -> bytes:
    return str(m.value).encode()


def parse_basic_auth(r: SmpReader) -> bytes:
    b = r.short_string()
    if not basic_auth_ok(b):
        raise DecodeError("invalid character in BasicAuth")
    return b


def check_basic_auth(b: bytes | None) -> None:
    if b is not None and not basic_auth_ok(b):
        raise ValueError("invalid character in BasicAuth")


# --------------------------------------------------------------------------- modes


_E = TypeVar("_E", bound=enum.Enum)


def _parse_char(cls: type[_E], r: SmpReader, what: str) -> _E:
    """An enum sent as its one-character value."""
    try:
        return cls(r.char().decode("latin-1"))
    except ValueError:
        raise DecodeError(f"bad {what}") from None


class SubscriptionMode(enum.Enum):
    SUBSCRIBE = "S"
    ONLY_CREATE = "C"

    @classmethod
    def parse(cls, r: SmpReader) -> SubscriptionMode:
        return _parse_char(cls, r, "SubscriptionMode")


class QueueMode(enum.Enum):
    MESSAGING = "M"
    CONTACT = "C"

    @classmethod
    def parse(cls, r: SmpReader) -> QueueMode:
        return _parse_char(cls, r, "QueueMode")


# --------------------------------------------------------------------------- short links


@dataclass(frozen=True, slots=True)
class QueueLinkData(TaggedRecord):
    """Encrypted fixed and user data of a short link (two ``Large`` fields)."""

    FIELDS: ClassVar[Fields] = (LARGE, LARGE)
    fixed: bytes
    user: bytes


LINK_DATA: Final[Field[QueueLinkData, Reader]] = Field(QueueLinkData.encode, QueueLinkData.parse)


@dataclass(frozen=True, slots=True)
class MessagingLink(TaggedRecord):
    FIELDS: ClassVar[Fields] = (SHORT_STRING, LINK_DATA)
    sender_id: SenderId
    data: QueueLinkData


@dataclass(frozen=True, slots=True)
class ContactLink(TaggedRecord):
    FIELDS: ClassVar[Fields] = (SHORT_STRING, SHORT_STRING, LINK_DATA)
    link_id: LinkId
    sender_id: SenderId
    data: QueueLinkData


_Link = TypeVar("_Link", MessagingLink, ContactLink)


@dataclass(frozen=True, slots=True)
class _QueueReq(Generic[_Link]):
    """``QueueReqData``: the queue mode's letter, then the short-link data if any."""

    MODE: ClassVar[QueueMode]
    link: _Link | None = None

    @property
    def mode(self) -> QueueMode:
        return self.MODE

    def encode(self) -> bytes:
        return self.MODE.value.encode() + maybe(self.link, TaggedRecord.encode)


class QRMessaging(_QueueReq[MessagingLink]):
    """``QueueReqData`` for a messaging queue, optionally with short-link data."""

    __slots__ = ()
    MODE = QueueMode.MESSAGING


class QRContact(_QueueReq[ContactLink]):
    """``QueueReqData`` for a contact queue, optionally with short-link data."""

    __slots__ = ()
    MODE = QueueMode.CONTACT


QueueReqData = QRMessaging | QRContact


def parse_queue_req_data(r: SmpReader) -> QueueReqData:
    c = r.char()
    if c == b"M":
        return QRMessaging(r.maybe(MessagingLink.parse))
    if c == b"C":
        return QRContact(r.maybe(ContactLink.parse))
    raise DecodeError("bad QueueReqData")


# --------------------------------------------------------------------------- notifier creds


@dataclass(frozen=True, slots=True)
class NewNtfCreds(TaggedRecord):
    """Notifier credentials created with the queue (v17+)."""

    FIELDS: ClassVar[Fields] = (AUTH_KEY, DH_KEY)
    auth_key: PublicKey
    dh_key: PublicKey

    def __post_init__(self) -> None:
        check_auth_key(self.auth_key)
        check_dh_key(self.dh_key)


@dataclass(frozen=True, slots=True)
class ServerNtfCreds(TaggedRecord):
    """The notifier id and the server's notification DH key (``NID``, v17+ ``IDS``)."""

    FIELDS: ClassVar[Fields] = (SHORT_STRING, DH_KEY)
    notifier_id: NotifierId
    dh_key: PublicKey

    def __post_init__(self) -> None:
        check_dh_key(self.dh_key)


# --------------------------------------------------------------------------- message flags


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


# --------------------------------------------------------------------------- parameters


def _enc_auth_keys(keys: tuple[PublicKey, ...]) -> bytes:
    return non_empty(keys, encode_key)


def _parse_auth_keys(r: SmpReader) -> tuple[PublicKey, ...]:
    return tuple(r.non_empty(parse_auth_key))


AUTH_KEYS: Final[Param[tuple[PublicKey, ...]]] = Field(_enc_auth_keys, _parse_auth_keys)
