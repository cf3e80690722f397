"""Binary formats of the SimpleX agent protocol (sans-I/O).

Mirrors simplexmq ``Agent/Protocol.hs`` (``AgentMsgEnvelope``, ``AgentMessage``, ``APrivHeader``,
``AMessage``, ``AMessageReceipt``, ``SMPQueueInfo``), ``Protocol.hs`` (``ClientMsgEnvelope``,
``PubHeader``, ``ClientMessage``, ``PrivHeader``, ``legacyEncodeServer``), ``Compression.hs``
(``Compressed``) and ``Agent/Client.hs`` (``agentCbEncrypt``/``agentCbDecrypt``); see
docs/protocol/agent.md. Server addresses use :mod:`hushwire.smp.address`, keys and queue modes
:mod:`hushwire.smp.fields`, version ranges :class:`~hushwire.smp.version.VersionRange`.

Layers, outermost first::

    ClientMsgEnvelope = PubHeader(Word16 version, Maybe X25519) | nonce(24) | Tail(crypto_box)
      -> pad(ClientMessage, 15904 | 16000)
    ClientMessage     = PrivHeader('K' key | '_') | AgentMsgEnvelope
    AgentMsgEnvelope  = Word16 agentVersion | 'C' | 'M' | 'I' | 'R' ...
      -> (double ratchet, hushwire.agent.ratchet) -> AgentMessage ('I' | 'D' | 'R' | 'M')

Every ``encode()`` writes exactly what the Haskell ``smpEncode`` writes; every decoder consumes
the whole input (``parseAll``) and raises only :class:`~hushwire.errors.DecodeError`. A type
written field by field after its tag is a :class:`~hushwire.encoding.record.TaggedRecord`: its
``FIELDS`` list is both its encoder and its decoder, and the tag tables are built from the
classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

import zstandard

from hushwire.agent.ratchet import E2ERatchetParams
from hushwire.crypto.kdf import sha256
from hushwire.crypto.keys import PublicKey
from hushwire.crypto.nacl import NONCE_SIZE, cb_decrypt, cb_encrypt
from hushwire.encoding.binary import (
    Reader,
    large,
    maybe,
    non_empty,
    parse_all,
    parser_for_tag,
    short_string,
    word16,
)
from hushwire.encoding.record import (
    INT64,
    LARGE,
    SHORT_STRING,
    TAIL,
    Field,
    Fields,
    TaggedRecord,
    non_empty_field,
    tag_parsers,
)
from hushwire.errors import DecodeError
from hushwire.limits import MAX_DECOMPRESSED_SIZE
from hushwire.smp.address import SMPServer
from hushwire.smp.fields import (
    QueueMode,
    check_auth_key,
    check_dh_key,
    encode_key,
    parse_auth_key,
    parse_dh_key,
)
from hushwire.smp.version import VersionRange

# --------------------------------------------------------------------------- versions

DUPLEX_HANDSHAKE_SMPA_VERSION: Final = 2
"""Agent v2: duplex handshake (AgentConnInfoReply carries the reply queues)."""
RATCHET_SYNC_SMPA_VERSION: Final = 3
"""Agent v3: ratchet re-synchronisation (AgentRatchetKey, EREADY)."""
DELIVERY_RCPTS_SMPA_VERSION: Final = 4
"""Agent v4: delivery receipts (A_RCVD)."""
PQDR_SMPA_VERSION: Final = 5
"""Agent v5: post-quantum double ratchet (smaller ratchet paddings when PQ is supported)."""
SND_AUTH_KEY_SMPA_VERSION: Final = 6
"""Agent v6: the sender secures reply queues with SKEY."""
RATCHET_ON_CONF_SMPA_VERSION: Final = 7
"""Agent v7: the initiator sets up its ratchet when it processes the confirmation."""
AGENT_VERSIONS: Final = VersionRange(DUPLEX_HANDSHAKE_SMPA_VERSION, RATCHET_ON_CONF_SMPA_VERSION)
"""Agent (SMPA) versions we speak (Agent/Protocol.hs ``supportedSMPAgentVRange``)."""

INITIAL_SMP_CLIENT_VERSION: Final = 1
SRV_HOSTNAMES_SMP_CLIENT_VERSION: Final = 2
"""SMP client v2: several hosts per server in queue addresses."""
SND_AUTH_KEY_SMP_CLIENT_VERSION: Final = 3
"""SMP client v3: the sender may secure the queue (SKEY); sndSecure flag in SMPQueueInfo."""
SHORT_LINKS_SMP_CLIENT_VERSION: Final = 4
"""SMP client v4: short links; queue mode byte in SMPQueueInfo."""
SMP_CLIENT_VERSIONS: Final = VersionRange(
    INITIAL_SMP_CLIENT_VERSION, SHORT_LINKS_SMP_CLIENT_VERSION
)
"""Versions of queue addresses and PubHeader (Protocol.hs ``supportedSMPClientVRange``)."""

# --------------------------------------------------------------------------- sizes

E2E_CONFIRMATION_PAD: Final = 15904
"""Per-queue box padding when the PubHeader carries a key (Protocol.hs e2eEncConfirmationLength)."""
E2E_MESSAGE_PAD: Final = 16000
"""Per-queue box padding of every other message (Protocol.hs e2eEncMessageLength)."""
CONN_INFO_PAD: Final = 14832
CONN_INFO_PAD_PQ: Final = 11106
AGENT_MSG_PAD: Final = 15840
AGENT_MSG_PAD_PQ: Final = 13618
MAX_LENGTH_PASSTHROUGH: Final = 180
"""Bodies up to this size are not compressed (Compression.hs maxLengthPassthrough)."""
COMPRESSION_LEVEL: Final = 3
COMPRESSED_BODY_TAG: Final = b"X"
"""Chat body prefix of a compressed batch; the list encoding follows it."""


def e2e_enc_conn_info_length(agent_version: int, pq_support: bool) -> int:
    """Ratchet padding of confirmations (Agent/Protocol.hs ``e2eEncConnInfoLength``)."""
    return CONN_INFO_PAD_PQ if pq_support and agent_version >= PQDR_SMPA_VERSION else CONN_INFO_PAD


def e2e_enc_agent_msg_length(agent_version: int, pq_support: bool) -> int:
    """Ratchet padding of messages (Agent/Protocol.hs ``e2eEncAgentMsgLength``)."""
    return AGENT_MSG_PAD_PQ if pq_support and agent_version >= PQDR_SMPA_VERSION else AGENT_MSG_PAD


# --------------------------------------------------------------------------- SMP server


def encode_smp_server(server: SMPServer, client_version: int) -> bytes:
    """``SMPServer`` as SMPQueueInfo writes it (Protocol.hs ``ProtocolServer`` Encoding).

    From client version 2: NonEmpty hosts | port | keyHash; version 1 (``legacyEncodeServer``):
    the first host only. The codec is :meth:`SMPServer.encode_binary`.
    """
    return server.encode_binary(legacy=client_version <= INITIAL_SMP_CLIENT_VERSION)


def parse_smp_server(r: Reader, client_version: int) -> SMPServer:
    """Inverse of :func:`encode_smp_server` (:meth:`SMPServer.parse_binary`)."""
    return SMPServer.parse_binary(r, legacy=client_version <= INITIAL_SMP_CLIENT_VERSION)


# --------------------------------------------------------------------------- SMPQueueInfo


def queue_mode_p(r: Reader) -> QueueMode | None:
    """``queueModeP``: an optional ``'M'``/``'C'``, else an optional Bool (T = messaging)."""
    b = r.peek()
    if b == 0x4D:  # 'M'
        mode: QueueMode | None = QueueMode.MESSAGING
    elif b == 0x43:  # 'C'
        mode = QueueMode.CONTACT
    elif b == 0x54:  # 'T'
        mode = QueueMode.MESSAGING
    elif b == 0x46:  # 'F'
        mode = QueueMode.CONTACT
    else:
        return None
    r.byte()
    return mode


@dataclass(frozen=True, slots=True)
class SMPQueueInfo:
    """A queue address for one SMP client version (``SMPQueueInfo``).

    Encoding by version: >= 4 the mode byte ``M``/``C`` (if any); 3 a ``T`` when the sender
    may secure the queue; 2 nothing; 1 the legacy single-host server. Reply queues should be
    written with version 4 and a mode: simplex-js always consumes one byte after the key.
    """

    client_version: int
    server: SMPServer
    sender_id: bytes
    dh_public_key: PublicKey
    queue_mode: QueueMode | None = None

    def __post_init__(self) -> None:
        check_dh_key(self.dh_public_key)

    def encode(self) -> bytes:
        v = self.client_version
        addr = (
            word16(v)
            + encode_smp_server(self.server, v)
            + short_string(self.sender_id)
            + encode_key(self.dh_public_key)
        )
        if v >= SHORT_LINKS_SMP_CLIENT_VERSION:
            return addr + (b"" if self.queue_mode is None else self.queue_mode.value.encode())
        if v >= SND_AUTH_KEY_SMP_CLIENT_VERSION and self.queue_mode is QueueMode.MESSAGING:
            return addr + b"T"
        return addr

    @classmethod
    def parse(cls, r: Reader) -> SMPQueueInfo:
        v = r.word16()
        server = parse_smp_server(r, v)
        sender_id = r.short_string()
        dh_key = parse_dh_key(r)
        return cls(v, server, sender_id, dh_key, queue_mode_p(r))

    @classmethod
    def decode(cls, data: bytes) -> SMPQueueInfo:
        return parse_all(data, cls.parse)


# --------------------------------------------------------------------------- per-queue e2e


@dataclass(frozen=True, slots=True)
class ClientMsgEnvelope:
    """The SEND body: PubHeader (Word16 version, Maybe X25519 key) | nonce(24) | Tail box."""

    ph_version: int
    e2e_key: PublicKey | None
    nonce: bytes
    enc_body: bytes

    def __post_init__(self) -> None:
        check_dh_key(self.e2e_key)
        if len(self.nonce) != NONCE_SIZE:
            raise ValueError("nonce must be 24 bytes")

    def encode(self) -> bytes:
        return (
            word16(self.ph_version) + maybe(self.e2e_key, encode_key) + self.nonce + self.enc_body
        )

    @classmethod
    def parse(cls, r: Reader) -> ClientMsgEnvelope:
        v = r.word16()
        key = r.maybe(lambda r_: parse_dh_key(r_))
        return cls(v, key, r.take(NONCE_SIZE), r.tail())

    @classmethod
    def decode(cls, data: bytes) -> ClientMsgEnvelope:
        return parse_all(data, cls.parse)


def encrypt_client_message(
    shared_key: bytes, nonce: bytes, client_message: bytes, pad_to: int
) -> bytes:
    """``cmEncBody``: crypto_box of ``pad(client_message, pad_to)`` under the per-queue key.

    ``shared_key`` is ``dh_box_key(peer, own)``; ``pad_to`` is :data:`E2E_CONFIRMATION_PAD`
    when the PubHeader carries a key, else :data:`E2E_MESSAGE_PAD` (``agentCbEncrypt``).
    """
    return cb_encrypt(shared_key, nonce, client_message, pad_to)


def decrypt_client_message(shared_key: bytes, nonce: bytes, enc_body: bytes) -> bytes:
    """Open ``cmEncBody`` and unpad it (``agentCbDecrypt``); any failure is ``CryptoError``."""
    return cb_decrypt(shared_key, nonce, enc_body)


@dataclass(frozen=True, slots=True)
class PHConfirmation(TaggedRecord):
    """PrivHeader ``'K'``: the sender's auth key, for the recipient to secure the queue."""

    TAG: ClassVar[bytes] = b"K"
    FIELDS: ClassVar[Fields] = (Field(encode_key, parse_auth_key),)
    sender_key: PublicKey

    def __post_init__(self) -> None:
        check_auth_key(self.sender_key)


@dataclass(frozen=True, slots=True)
class PHEmpty(TaggedRecord):
    """PrivHeader ``'_'``."""

    TAG: ClassVar[bytes] = b"_"


PrivHeader = PHConfirmation | PHEmpty
_PRIV_HEADERS: Final[dict[bytes, Callable[[Reader], PrivHeader]]] = tag_parsers(
    (PHConfirmation, PHEmpty)
)


def parse_priv_header(r: Reader) -> PrivHeader:
    return parser_for_tag(r, _PRIV_HEADERS, "PrivHeader")(r)


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """The padded plaintext of the per-queue box: PrivHeader | body (rest of the input)."""

    priv_header: PrivHeader
    body: bytes

    def encode(self) -> bytes:
        return self.priv_header.encode() + self.body

    @classmethod
    def parse(cls, r: Reader) -> ClientMessage:
        return cls(parse_priv_header(r), r.tail())

    @classmethod
    def decode(cls, data: bytes) -> ClientMessage:
        return parse_all(data, cls.parse)


# --------------------------------------------------------------------------- agent envelopes


@dataclass(frozen=True, slots=True)
class AgentConfirmation:
    """``'C'``: Maybe ratchet parameters (the joiner's; Nothing from the initiator) and the
    ratchet-encrypted AgentConnInfo/AgentConnInfoReply."""

    TAG: ClassVar[bytes] = b"C"
    agent_version: int
    e2e: E2ERatchetParams | None
    enc_conn_info: bytes

    def encode(self) -> bytes:
        head = word16(self.agent_version) + self.TAG
        return head + maybe(self.e2e, E2ERatchetParams.encode) + self.enc_conn_info

    @classmethod
    def parse(cls, v: int, r: Reader) -> AgentConfirmation:
        e2e = r.maybe(E2ERatchetParams.parse)
        return cls(v, e2e, r.tail())


@dataclass(frozen=True, slots=True)
class AgentMsgEnvelope:
    """``'M'``: a ratchet-encrypted AgentMessage."""

    TAG: ClassVar[bytes] = b"M"
    agent_version: int
    enc_agent_message: bytes

    def encode(self) -> bytes:
        return word16(self.agent_version) + self.TAG + self.enc_agent_message

    @classmethod
    def parse(cls, v: int, r: Reader) -> AgentMsgEnvelope:
        return cls(v, r.tail())


@dataclass(frozen=True, slots=True)
class AgentInvitation:
    """``'I'``: an invitation link (``Large`` of its text form) and plain connInfo, sent to a
    contact address. Only the per-queue box protects it. The link text is kept as bytes;
    ``hushwire.agent.links`` parses it."""

    TAG: ClassVar[bytes] = b"I"
    agent_version: int
    conn_req: bytes
    conn_info: bytes

    def encode(self) -> bytes:
        return word16(self.agent_version) + self.TAG + large(self.conn_req) + self.conn_info

    @classmethod
    def parse(cls, v: int, r: Reader) -> AgentInvitation:
        conn_req = r.large()
        return cls(v, conn_req, r.tail())


@dataclass(frozen=True, slots=True)
class AgentRatchetKey:
    """``'R'``: new ratchet parameters for ratchet re-synchronisation, and info."""

    TAG: ClassVar[bytes] = b"R"
    agent_version: int
    e2e: E2ERatchetParams
    info: bytes

    def encode(self) -> bytes:
        return word16(self.agent_version) + self.TAG + self.e2e.encode() + self.info

    @classmethod
    def parse(cls, v: int, r: Reader) -> AgentRatchetKey:
        params = E2ERatchetParams.parse(r)
        if params.peer_kem_accepted:
            # RcvE2ERatchetParams: only a KEM proposal can come with new ratchet keys.
            raise DecodeError("a ratchet key message can only propose KEM")
        return cls(v, params, r.tail())


AgentEnvelope = AgentConfirmation | AgentMsgEnvelope | AgentInvitation | AgentRatchetKey


_ENVELOPES: Final[dict[bytes, Callable[[int, Reader], AgentEnvelope]]] = {
    AgentConfirmation.TAG: AgentConfirmation.parse,
    AgentMsgEnvelope.TAG: AgentMsgEnvelope.parse,
    AgentInvitation.TAG: AgentInvitation.parse,
    AgentRatchetKey.TAG: AgentRatchetKey.parse,
}


def _parse_agent_envelope(r: Reader) -> AgentEnvelope:
    v = r.word16()
    return parser_for_tag(r, _ENVELOPES, "AgentMsgEnvelope")(v, r)


def parse_agent_envelope(data: bytes) -> AgentEnvelope:
    """Decode the body of a ClientMessage (``AgentMsgEnvelope`` smpP)."""
    return parse_all(data, _parse_agent_envelope)


# --------------------------------------------------------------------------- AMessage


@dataclass(frozen=True, slots=True)
class HELLO(TaggedRecord):
    """``'H'``: the first message once the queue is secured (slow handshake)."""

    TAG: ClassVar[bytes] = b"H"


@dataclass(frozen=True, slots=True)
class A_MSG(TaggedRecord):
    """``'M'``: an application message (Tail)."""

    TAG: ClassVar[bytes] = b"M"
    FIELDS: ClassVar[Fields] = (TAIL,)
    body: bytes


@dataclass(frozen=True, slots=True)
class AMessageReceipt(TaggedRecord):
    """One receipt: the sender's sndMsgId, SHA-256 of that AgentMessage, ``Large`` info."""

    FIELDS: ClassVar[Fields] = (INT64, SHORT_STRING, LARGE)
    agent_msg_id: int
    msg_hash: bytes
    rcpt_info: bytes


@dataclass(frozen=True, slots=True)
class A_RCVD(TaggedRecord):
    """``'V'``: delivery receipts (NonEmpty)."""

    TAG: ClassVar[bytes] = b"V"
    FIELDS: ClassVar[Fields] = (
        non_empty_field(Field(AMessageReceipt.encode, AMessageReceipt.parse)),
    )
    receipts: tuple[AMessageReceipt, ...]

    def __post_init__(self) -> None:
        if not self.receipts:
            raise ValueError("A_RCVD needs at least one receipt")


@dataclass(frozen=True, slots=True)
class EREADY(TaggedRecord):
    """``'E'``: ratchet re-synchronisation done; the last decrypted sender message id."""

    TAG: ClassVar[bytes] = b"E"
    FIELDS: ClassVar[Fields] = (INT64,)
    last_decrypted_msg_id: int


QUEUE_MESSAGE_TAGS: Final = (b"QC", b"QA", b"QK", b"QU", b"QT")
"""A_QCONT, QADD, QKEY, QUSE, QTEST: queue rotation and quota (:mod:`hushwire.agent.rotation`)."""


@dataclass(frozen=True, slots=True)
class QueueMessage(TaggedRecord):
    """A_QCONT / QADD / QKEY / QUSE / QTEST kept as their tag and (validated) encoding;
    :func:`hushwire.agent.rotation.decode_queue_message` gives the typed record."""

    TAG: ClassVar[bytes] = b"Q"
    tag: bytes
    raw: bytes

    def __post_init__(self) -> None:
        if self.tag not in QUEUE_MESSAGE_TAGS:
            raise ValueError(f"not a queue message tag: {self.tag!r}")

    def encode(self) -> bytes:
        return self.tag + self.raw

    @classmethod
    def parse(cls, r: Reader) -> QueueMessage:
        """After the ``'Q'``: the second tag character, then a body the reference would
        accept."""
        from hushwire.agent.rotation import decode_queue_message

        qtag = cls.TAG + r.char()
        if qtag not in QUEUE_MESSAGE_TAGS:
            raise DecodeError("bad AMsgType")
        msg = cls(qtag, r.tail())
        try:
            decode_queue_message(msg)
        except ValueError as e:  # a record that cannot exist (an empty id, a wrong key)
            raise DecodeError(str(e)) from None
        return msg


AMessage = HELLO | A_MSG | A_RCVD | EREADY | QueueMessage


_AMESSAGES: Final[dict[bytes, Callable[[Reader], AMessage]]] = tag_parsers(
    (HELLO, A_MSG, A_RCVD, EREADY, QueueMessage)
)


def parse_amessage(r: Reader) -> AMessage:
    """``AMessage`` smpP; A_MSG and the queue messages take the rest of the input."""
    return parser_for_tag(r, _AMESSAGES, "AMsgType")(r)


# --------------------------------------------------------------------------- AgentMessage


@dataclass(frozen=True, slots=True)
class APrivHeader(TaggedRecord):
    """sndMsgId Int64 | prevMsgHash shortString (SHA-256 of the previous AgentMessage, or
    empty before the first one)."""

    FIELDS: ClassVar[Fields] = (INT64, SHORT_STRING)
    snd_msg_id: int
    prev_msg_hash: bytes


@dataclass(frozen=True, slots=True)
class AgentConnInfo(TaggedRecord):
    """``'I'``: the initiator's confirmation (connInfo, Tail)."""

    TAG: ClassVar[bytes] = b"I"
    FIELDS: ClassVar[Fields] = (TAIL,)
    conn_info: bytes


@dataclass(frozen=True, slots=True)
class AgentConnInfoReply(TaggedRecord):
    """``'D'``: the joiner's confirmation: its reply queues (NonEmpty) and connInfo."""

    TAG: ClassVar[bytes] = b"D"
    FIELDS: ClassVar[Fields] = (
        non_empty_field(Field(SMPQueueInfo.encode, SMPQueueInfo.parse)),
        TAIL,
    )
    queues: tuple[SMPQueueInfo, ...]
    conn_info: bytes

    def __post_init__(self) -> None:
        if not self.queues:
            raise ValueError("AgentConnInfoReply needs at least one queue")


@dataclass(frozen=True, slots=True)
class AgentRatchetInfo(TaggedRecord):
    """``'R'``: info sent with a ratchet re-synchronisation."""

    TAG: ClassVar[bytes] = b"R"
    FIELDS: ClassVar[Fields] = (TAIL,)
    info: bytes


@dataclass(frozen=True, slots=True)
class AgentMessage(TaggedRecord):
    """``'M'``: APrivHeader | AMessage."""

    TAG: ClassVar[bytes] = b"M"
    FIELDS: ClassVar[Fields] = (
        Field(APrivHeader.encode, APrivHeader.parse),
        Field(lambda m: m.encode(), parse_amessage),
    )
    header: APrivHeader
    message: AMessage


AgentMessageT = AgentConnInfo | AgentConnInfoReply | AgentRatchetInfo | AgentMessage


_AGENT_MESSAGES: Final[dict[bytes, Callable[[Reader], AgentMessageT]]] = tag_parsers(
    (AgentConnInfo, AgentConnInfoReply, AgentRatchetInfo, AgentMessage)
)


def _parse_agent_message(r: Reader) -> AgentMessageT:
    return parser_for_tag(r, _AGENT_MESSAGES, "AgentMessage")(r)


def parse_agent_message(data: bytes) -> AgentMessageT:
    """Decode a ratchet-decrypted (unpadded) AgentMessage."""
    return parse_all(data, _parse_agent_message)


def agent_message_hash(encoded_agent_message: bytes) -> bytes:
    """SHA-256 of the whole unpadded AgentMessage: prevMsgHash and receipt msgHash (4.6)."""
    return sha256(encoded_agent_message)


# --------------------------------------------------------------------------- compression


@dataclass(frozen=True, slots=True)
class Passthrough(TaggedRecord):
    """``'0'`` shortString: a short body left as it is."""

    TAG: ClassVar[bytes] = b"0"
    FIELDS: ClassVar[Fields] = (SHORT_STRING,)
    data: bytes


@dataclass(frozen=True, slots=True)
class Compressed(TaggedRecord):
    """``'1'`` Large: one zstd frame."""

    TAG: ClassVar[bytes] = b"1"
    FIELDS: ClassVar[Fields] = (LARGE,)
    frame: bytes


CompressedBody = Passthrough | Compressed


_COMPRESSED: Final[dict[bytes, Callable[[Reader], CompressedBody]]] = tag_parsers(
    (Passthrough, Compressed)
)


def parse_compressed(r: Reader) -> CompressedBody:
    return parser_for_tag(r, _COMPRESSED, "Compressed tag")(r)


def compress1(body: bytes) -> CompressedBody:
    """Passthrough up to 180 bytes, else a level-3 zstd frame with its content size."""
    if len(body) <= MAX_LENGTH_PASSTHROUGH:
        return Passthrough(body)
    return Compressed(zstandard.ZstdCompressor(level=COMPRESSION_LEVEL).compress(body))


def decompress1(item: CompressedBody, limit: int = MAX_DECOMPRESSED_SIZE) -> bytes:
    """``limitDecompress1``: the frame must declare its size, at most ``limit``, and hold
    exactly one frame of exactly that size; anything else is ``DecodeError``."""
    if isinstance(item, Passthrough):
        return item.data
    frame = item.frame
    try:
        size = zstandard.frame_content_size(frame)
    except zstandard.ZstdError:
        raise DecodeError("invalid zstd frame") from None
    if not 0 <= size <= limit:
        raise DecodeError("compressed size not specified or too large")
    dctx = zstandard.ZstdDecompressor()
    try:
        # One-shot decompression allocates exactly the declared size and fails beyond it.
        out = dctx.decompress(frame, max_output_size=limit)
        rest = dctx.decompressobj()
        rest.decompress(frame)
    except zstandard.ZstdError:
        raise DecodeError("invalid zstd frame") from None
    if len(out) != size or not rest.eof or rest.unused_data:
        raise DecodeError("invalid zstd frame")
    return out


def compress_compressed_list(bodies: Sequence[bytes]) -> bytes:
    """NonEmpty of :func:`compress1` (the part after the chat body's ``'X'``)."""
    return non_empty([compress1(b) for b in bodies], lambda c: c.encode())


def decompress_compressed_list(
    data: bytes, limit: int = MAX_DECOMPRESSED_SIZE
) -> tuple[bytes, ...]:
    """Decode and decompress the NonEmpty list after a chat body's ``'X'``; each element is
    capped at ``limit`` bytes as the reference does."""
    items = parse_all(data, lambda r: r.non_empty(parse_compressed))
    return tuple(decompress1(c, limit) for c in items)
