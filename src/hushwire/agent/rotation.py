"""Queue rotation messages (QADD, QKEY, QUSE, QTEST, A_QCONT): typed records (sans-I/O).

Mirrors simplexmq ``Simplex.Messaging.Agent.Protocol`` (``AMessage`` constructors ``QADD``,
``QKEY``, ``QUSE``, ``QTEST``, ``A_QCONT``, ``SndQAddr``, ``SMPQueueUri`` Encoding) and the
switch steps of ``Simplex.Messaging.Agent`` (``switchConnection'``, ``qAddMsg``,
``qKeyMsg``, ``qUseMsg``, the delivery worker's ``AM_QTEST_``); docs/protocol/agent.md
("Queue rotation") describes the exchange. The decisions are rows of
:data:`hushwire.agent.machine.SWITCH_TABLE`.

On the wire these are ordinary AgentMessages inside the ratchet; the parser of
:mod:`hushwire.agent.protocol` keeps them as :class:`~hushwire.agent.protocol.QueueMessage`
(tag and validated bytes), and :func:`decode_queue_message` turns one into its record here.
Every ``body()`` is what the Haskell ``smpEncode`` writes after the two-letter tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from hushwire.agent.links import SMPQueueUri
from hushwire.agent.protocol import (
    SHORT_LINKS_SMP_CLIENT_VERSION,
    SMP_CLIENT_VERSIONS,
    SND_AUTH_KEY_SMP_CLIENT_VERSION,
    QueueMessage,
    SMPQueueInfo,
    queue_mode_p,
)
from hushwire.crypto.keys import PublicKey
from hushwire.encoding.binary import Reader, bool_, maybe, non_empty, parse_all, short_string
from hushwire.smp.address import SMPServer
from hushwire.smp.fields import QueueMode, encode_key, parse_auth_key, parse_dh_key
from hushwire.smp.version import VersionRange, compatible

__all__ = [
    "A_QCONT",
    "QADD",
    "QKEY",
    "QTEST",
    "QUSE",
    "SndQAddr",
    "decode_queue_message",
    "encode_queue_uri",
    "parse_queue_uri",
    "qkey_for",
    "same_addr",
]

SndQAddr = tuple[SMPServer, bytes]
"""A send queue's address: its server and sender id (``SndQAddr``)."""


def _enc_addr(addr: SndQAddr) -> bytes:
    return addr[0].encode_binary() + short_string(addr[1])


def _addr_p(r: Reader) -> SndQAddr:
    return SMPServer.parse_binary(r), r.short_string()


def same_addr(a: SndQAddr, b: SndQAddr) -> bool:
    """The same queue: the same server identity (key hash) and sender id."""
    return a[0].key_hash == b[0].key_hash and a[1] == b[1]


def encode_queue_uri(uri: SMPQueueUri) -> bytes:
    """``SMPQueueUri`` binary: version range, server, sender id, dh key, then the mode as
    the range allows (a mode byte from min v4; a ``T``/``F`` sndSecure flag from min v3, or
    ``T`` when the range reaches v3 and the sender may secure; else nothing)."""
    v = uri.versions
    out = (
        v.encode()
        + uri.server.encode_binary()
        + short_string(uri.sender_id)
        + encode_key(uri.dh_public_key)
    )
    secure = uri.queue_mode is QueueMode.MESSAGING
    if v.min >= SHORT_LINKS_SMP_CLIENT_VERSION:
        return out + (b"" if uri.queue_mode is None else uri.queue_mode.value.encode())
    if v.min >= SND_AUTH_KEY_SMP_CLIENT_VERSION or (
        v.max >= SND_AUTH_KEY_SMP_CLIENT_VERSION and secure
    ):
        return out + bool_(secure)
    return out


def parse_queue_uri(r: Reader) -> SMPQueueUri:
    versions = VersionRange.parse(r)
    server = SMPServer.parse_binary(r)
    sender_id = r.short_string()
    dh = parse_dh_key(r)
    return SMPQueueUri(versions, server, sender_id, dh, queue_mode_p(r))


@dataclass(frozen=True, slots=True)
class _QueueRecord:
    TAG: ClassVar[bytes]

    def body(self) -> bytes:
        raise NotImplementedError

    def to_message(self) -> QueueMessage:
        """The AMessage to send (inside an AgentMessage)."""
        return QueueMessage(self.TAG, self.body())


@dataclass(frozen=True, slots=True)
class QADD(_QueueRecord):
    """The recipient offers new queues, each replacing one of ours (or none)."""

    TAG: ClassVar[bytes] = b"QA"
    queues: tuple[tuple[SMPQueueUri, SndQAddr | None], ...]

    def body(self) -> bytes:
        return non_empty(self.queues, lambda q: encode_queue_uri(q[0]) + maybe(q[1], _enc_addr))

    @classmethod
    def parse(cls, r: Reader) -> QADD:
        return cls(tuple(r.non_empty(lambda r_: (parse_queue_uri(r_), r_.maybe(_addr_p)))))


@dataclass(frozen=True, slots=True)
class QKEY(_QueueRecord):
    """The sender's keys for each new queue: the queue with the sender's e2e key as its
    ``dh``, and the sender's auth key the recipient secures the queue with."""

    TAG: ClassVar[bytes] = b"QK"
    keys: tuple[tuple[SMPQueueInfo, PublicKey], ...]

    def body(self) -> bytes:
        return non_empty(self.keys, lambda k: k[0].encode() + encode_key(k[1]))

    @classmethod
    def parse(cls, r: Reader) -> QKEY:
        return cls(tuple(r.non_empty(lambda r_: (SMPQueueInfo.parse(r_), parse_auth_key(r_)))))


@dataclass(frozen=True, slots=True)
class QUSE(_QueueRecord):
    """The recipient secured the new queues: use them (``True``: as the primary)."""

    TAG: ClassVar[bytes] = b"QU"
    queues: tuple[tuple[SndQAddr, bool], ...]

    def body(self) -> bytes:
        return non_empty(self.queues, lambda q: _enc_addr(q[0]) + bool_(q[1]))

    @classmethod
    def parse(cls, r: Reader) -> QUSE:
        return cls(tuple(r.non_empty(lambda r_: (_addr_p(r_), r_.bool_()))))


@dataclass(frozen=True, slots=True)
class QTEST(_QueueRecord):
    """The sender's first message on the new queues."""

    TAG: ClassVar[bytes] = b"QT"
    addrs: tuple[SndQAddr, ...]

    def body(self) -> bytes:
        return non_empty(self.addrs, _enc_addr)

    @classmethod
    def parse(cls, r: Reader) -> QTEST:
        return cls(tuple(r.non_empty(_addr_p)))


@dataclass(frozen=True, slots=True)
class A_QCONT(_QueueRecord):
    """The recipient's queue has room again after ``QUOTA``: continue sending."""

    TAG: ClassVar[bytes] = b"QC"
    addr: SndQAddr

    def body(self) -> bytes:
        return _enc_addr(self.addr)

    @classmethod
    def parse(cls, r: Reader) -> A_QCONT:
        return cls(_addr_p(r))


QueueRecord = QADD | QKEY | QUSE | QTEST | A_QCONT
_RECORDS: dict[bytes, Callable[[Reader], QueueRecord]] = {
    QADD.TAG: QADD.parse,
    QKEY.TAG: QKEY.parse,
    QUSE.TAG: QUSE.parse,
    QTEST.TAG: QTEST.parse,
    A_QCONT.TAG: A_QCONT.parse,
}


def decode_queue_message(m: QueueMessage) -> QueueRecord:
    """The record of a received queue message (``DecodeError`` if malformed)."""
    return parse_all(m.raw, _RECORDS[m.tag])


def qkey_for(
    uri: SMPQueueUri, e2e_public: PublicKey, auth_public: PublicKey
) -> tuple[SMPQueueInfo, PublicKey] | None:
    """QKEY's entry for a queue offered in QADD: the queue at the highest client version we
    share (None if none), with our e2e public key as its ``dh`` (simplexmq ``qAddMsg``)."""
    v = compatible(SMP_CLIENT_VERSIONS, uri.versions)
    if v is None:
        return None
    info = SMPQueueInfo(v, uri.server, uri.sender_id, e2e_public, uri.queue_mode)
    return info, auth_public
