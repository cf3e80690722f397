"""Sans-I/O SimpleX Messaging Protocol (SMP) codec: the wire layer of the relay and client.

Mirrors simplexmq ``Protocol.hs``, ``Transport.hs`` and ``Version.hs`` (see
docs/protocol/smp.md). No sockets, no clocks, no randomness: callers pass time and random bytes in.

Modules and main names (re-exported here):

- :mod:`.version`: ``VersionRange`` (binary and ``"a-b"`` text forms), ``compatible``,
  feature versions (``SND_AUTH_KEY_VERSION`` = 9 ... ``CLIENT_NOTICES_VERSION`` = 18),
  ``max_message_length``.
- :mod:`.address`: ``SMPServer`` (text and binary forms), the one host and port grammar
  (``parse_host``, ``parse_port``), ``basic_auth_ok``, the preset servers' onion hosts.
- :mod:`.errors`: ``ErrorType`` (``ErrorType.AUTH``, ``CMD(CommandError.SYNTAX)``,
  ``BLOCKED(BlockingInfo(...))``, ``STORE``, ``PROXY``), ``CommandError``,
  ``TransportError``, ``HandshakeError``, ``ProxyError``, ``BrokerErrorType``.
- :mod:`.commands`: client commands (``NEW`` ... ``RFWD``), ``decode_command``, ``Party``,
  ``check_credentials``, ``queue_party``; it also re-exports the responses and fields. Its
  ``__all__`` is re-exported here whole (one list of the command names, not two).
- :mod:`.responses`: server responses (``IDS`` ... ``PONG``), ``decode_response``.
- :mod:`.tagged`: what commands and responses share: the class-level tag, ``Param`` (one
  parameter's encoder and decoder), the tables built from the classes, ``CommandDecodeError``
  (carrying UNKNOWN or SYNTAX).
- :mod:`.fields`: the field types (keys, ``QueueMode``, ``MsgFlags``, link data ...).
- :mod:`.transmission`: ``authorized_bytes``, ``encode_client_transmission``,
  ``encode_server_transmission``, ``decode_client_transmission`` /
  ``decode_client_batch`` (server side, return ``ClientRequest | RequestError``),
  ``decode_server_transmission`` / ``decode_server_batch`` (client side).
- :mod:`.block`: ``encode_batch``, ``decode_batch``, ``pad_block``, ``unpad_block``,
  ``batch_transmissions`` (``Batch | TooLarge``), ``BlockChain`` (v11+ encryption).
- :mod:`.hello`: ``ServerHello``, ``ClientHello``, ``CertChainPubKey``, ``ClientService``,
  ``negotiate_server``, ``negotiate_client``, service response codec.
- :mod:`.msgbody`: ``RcvMsgBody``, ``RcvMsgQuota``, ``pad_rcv_msg_body``,
  ``decode_rcv_msg_body``.

All decoders raise only :class:`~hushwire.errors.DecodeError` (or a subclass).
"""

from __future__ import annotations

from hushwire.smp import commands
from hushwire.smp.address import SMPServer
from hushwire.smp.block import (
    Batch,
    BlockChain,
    TooLarge,
    batch_transmissions,
    decode_batch,
    decode_block,
    encode_batch,
    encode_block,
    pad_block,
    pad_handshake,
    unpad_block,
    unpad_handshake,
)
from hushwire.smp.commands import *  # noqa: F403  (its __all__ is the list, see below)
from hushwire.smp.errors import (
    BLOCKED,
    CMD,
    PROXY,
    STORE,
    BlockingInfo,
    BlockingReason,
    BrokerErrorType,
    ClientNotice,
    CommandError,
    ErrorType,
    HandshakeError,
    ProxyError,
    TransportError,
)
from hushwire.smp.hello import (
    CertChainPubKey,
    ClientHello,
    ClientService,
    Negotiated,
    ServerHello,
    ServiceAccepted,
    ServiceRejected,
    ServiceRole,
    decode_service_response,
    negotiate_client,
    negotiate_server,
)
from hushwire.smp.ids import CorrId, EntityId, MsgId, SessionId
from hushwire.smp.msgbody import (
    RcvMsgBody,
    RcvMsgQuota,
    decode_rcv_msg_body,
    pad_rcv_msg_body,
    unpad_rcv_msg_body,
)
from hushwire.smp.transmission import (
    ClientRequest,
    RequestError,
    ServerTransmission,
    TransmissionAuth,
    authorized_bytes,
    decode_client_batch,
    decode_client_transmission,
    decode_server_batch,
    decode_server_transmission,
    encode_client_transmission,
    encode_server_transmission,
)
from hushwire.smp.version import VersionRange, compatible

__all__ = [
    "BLOCKED",
    "CMD",
    "PROXY",
    "STORE",
    "Batch",
    "BlockChain",
    "BlockingInfo",
    "BlockingReason",
    "BrokerErrorType",
    "CertChainPubKey",
    "ClientHello",
    "ClientNotice",
    "ClientRequest",
    "ClientService",
    "CommandError",
    "CorrId",
    "EntityId",
    "ErrorType",
    "HandshakeError",
    "MsgId",
    "Negotiated",
    "ProxyError",
    "RcvMsgBody",
    "RcvMsgQuota",
    "RequestError",
    "SMPServer",
    "ServerHello",
    "ServerTransmission",
    "ServiceAccepted",
    "ServiceRejected",
    "ServiceRole",
    "SessionId",
    "TooLarge",
    "TransmissionAuth",
    "TransportError",
    "VersionRange",
    "authorized_bytes",
    "batch_transmissions",
    "compatible",
    "decode_batch",
    "decode_block",
    "decode_client_batch",
    "decode_client_transmission",
    "decode_rcv_msg_body",
    "decode_server_batch",
    "decode_server_transmission",
    "decode_service_response",
    "encode_batch",
    "encode_block",
    "encode_client_transmission",
    "encode_server_transmission",
    "negotiate_client",
    "negotiate_server",
    "pad_block",
    "pad_handshake",
    "pad_rcv_msg_body",
    "unpad_block",
    "unpad_handshake",
    "unpad_rcv_msg_body",
]  # fmt: skip
__all__ += commands.__all__
