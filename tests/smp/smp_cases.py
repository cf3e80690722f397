"""Named SMP values shared by the vector generator and the tests.

The generator (``make_vectors.py``) writes the bytes of each named value by hand from the
wire layouts in Protocol.hs; the tests encode these objects and compare, and decode the bytes
and compare with :func:`decoded_command` / :func:`decoded_response` (the value a peer of that
version gets back, which drops what the version cannot carry).
"""

from __future__ import annotations

import base64
from dataclasses import replace

from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.smp import commands as c
from hushwire.smp.address import SMPServer
from hushwire.smp.errors import (
    BLOCKED,
    CMD,
    BlockingInfo,
    BlockingReason,
    ClientNotice,
    CommandError,
    ErrorType,
)
from hushwire.smp.hello import CertChainPubKey
from hushwire.smp.ids import EntityId, MsgId
from hushwire.smp.queue_info import MsgInfo, MsgType, QSub, QSubThread, QueueInfo
from hushwire.smp.version import VersionRange

VERSIONS = (6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18)

# tests/ServerTests.hs:1422-1426 (samplePubKey, sampleDhPubKey)
ED_SPKI = base64.b64decode("MCowBQYDK2VwAyEAfAOflyvbJv1fszgzkQ6buiZJVgSpQWsucXq7U6zjMgY=")
X_SPKI = base64.b64decode("MCowBQYDK2VuAyEAriy+HcARIhqsgSjVnjKqoft+y6pxrxdY68zn4+LjYhQ=")
ED448_SPKI = bytes.fromhex("3043300506032b6571033a00") + bytes(range(1, 58))
ED = PublicKey.from_der(ED_SPKI)
X = PublicKey.from_der(X_SPKI)
ED448 = PublicKey.from_der(ED448_SPKI)
assert ED.alg is KeyAlg.ED25519 and X.alg is KeyAlg.X25519 and ED448.alg is KeyAlg.ED448

RID = EntityId(bytes(range(0x10, 0x28)))
SID = EntityId(bytes(range(0x30, 0x48)))
LNK_ID = EntityId(bytes(range(0x50, 0x68)))
NID_ = EntityId(bytes(range(0x70, 0x88)))
SVC_ID = EntityId(b"svc-1")
MSG_ID = MsgId(bytes(range(0xA0, 0xB8)))
KEY_HASH = bytes.fromhex("2dc25431f561c03f32c6302249a0f3cc6177fa42c6e14874165fd9223ad1c232")
LINK_DATA = c.QueueLinkData(b"fixed data", b"user data")
NONCE = bytes(range(0xC0, 0xD8))
# Minimal DER SEQUENCEs standing in for certificates (the codec checks DER framing only).
CERT_LEAF = bytes.fromhex("3003020101")
CERT_CA = bytes.fromhex("3003020102")
SIGNED_KEY = bytes.fromhex("3003020103")
CERT_KEY = CertChainPubKey((CERT_LEAF, CERT_CA), SIGNED_KEY)

QUEUE_INFO = QueueInfo(
    snd=True,
    ntf=False,
    sub=QSub(QSubThread.SUB_THREAD, "oKGi"),
    size=2,
    msg=MsgInfo("oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3", 1641032645, MsgType.MESSAGE),
)
BLOCKED_NOTICE = BLOCKED(BlockingInfo(BlockingReason.CONTENT, ClientNotice(3600)))

COMMANDS: dict[str, c.Command] = {
    "NEW basic": c.NEW(ED, X, None, c.SubscriptionMode.SUBSCRIBE, c.QRMessaging()),
    "NEW contact link auth ntf": c.NEW(
        X,
        X,
        b"pass",
        c.SubscriptionMode.ONLY_CREATE,
        c.QRContact(c.ContactLink(LNK_ID, SID, LINK_DATA)),
        c.NewNtfCreds(ED, X),
    ),
    "NEW messaging link ed448": c.NEW(
        ED448, X, None, c.SubscriptionMode.SUBSCRIBE, c.QRMessaging(c.MessagingLink(SID, LINK_DATA))
    ),
    "NEW no queue data": c.NEW(ED, X, b"pw", c.SubscriptionMode.SUBSCRIBE, None),
    "SUB": c.SUB(),
    "SUBS": c.SUBS(),
    "KEY": c.KEY(ED),
    "RKEY": c.RKEY((ED, X)),
    "LSET": c.LSET(LNK_ID, LINK_DATA),
    "LDEL": c.LDEL(),
    "NKEY": c.NKEY(X, X),
    "NDEL": c.NDEL(),
    "GET": c.GET(),
    "ACK": c.ACK(MSG_ID),
    "ACK empty": c.ACK(MsgId(b"")),
    "OFF": c.OFF(),
    "DEL": c.DEL(),
    "QUE": c.QUE(),
    "SKEY": c.SKEY(X),
    "SEND notify": c.SEND(c.MsgFlags(True), b"hello"),
    "SEND empty": c.SEND(c.MsgFlags(False), b""),
    "PING": c.PING(),
    "LKEY": c.LKEY(ED448),
    "LGET": c.LGET(),
    "NSUB": c.NSUB(),
    "NSUBS": c.NSUBS(),
    "PRXY": c.PRXY(SMPServer(("smp.example.com", "::1"), KEY_HASH, 5223, "secret")),
    "PRXY default port": c.PRXY(SMPServer(("10.0.0.1",), KEY_HASH)),
    "PFWD": c.PFWD(8, X, b"encrypted transmission"),
    "RFWD": c.RFWD(b"forwarded"),
}

RESPONSES: dict[str, c.BrokerMsg] = {
    "IDS messaging": c.IDS(RID, SID, X, c.QueueMode.MESSAGING),
    "IDS contact full": c.IDS(
        RID, SID, X, c.QueueMode.CONTACT, LNK_ID, SVC_ID, c.ServerNtfCreds(NID_, X)
    ),
    "IDS no mode": c.IDS(RID, SID, X),
    "LNK": c.LNK(SID, LINK_DATA),
    "SOK": c.SOK(None),
    "SOK service": c.SOK(SVC_ID),
    "SOKS": c.SOKS(5),
    "MSG": c.MSG(MSG_ID, b"\x01\x02encrypted"),
    "NID": c.NID(NID_, X),
    "NMSG": c.NMSG(NONCE, b"meta"),
    "PKEY": c.PKEY(b"S" * 32, VersionRange(8, 17), CERT_KEY),
    "RRES": c.RRES(b"response"),
    "PRES": c.PRES(b"proxied"),
    "END": c.END(),
    "ENDS": c.ENDS(-1),
    "DELD": c.DELD(),
    "INFO": c.INFO(QUEUE_INFO),
    "OK": c.OK(),
    "ERR AUTH": c.ERR(ErrorType.AUTH),
    "ERR CMD SYNTAX": c.ERR(CMD(CommandError.SYNTAX)),
    "ERR BLOCKED notice": c.ERR(BLOCKED_NOTICE),
    "PONG": c.PONG(),
}


def decoded_command(name: str, v: int) -> c.Command:
    """What a peer of version ``v`` decodes from ``COMMANDS[name].encode(v)``."""
    cmd = COMMANDS[name]
    if not isinstance(cmd, c.NEW):
        return cmd
    if v < 9:
        return replace(cmd, queue_req_data=None, ntf_creds=None)
    if v < 15:
        qrd = cmd.queue_req_data
        mode = c.QRMessaging() if isinstance(qrd, c.QRMessaging) else c.QRContact()
        return replace(cmd, queue_req_data=mode, ntf_creds=None)
    if v < 17:
        return replace(cmd, ntf_creds=None)
    return cmd


def decoded_response(name: str, v: int) -> c.BrokerMsg:
    """What a peer of version ``v`` decodes from ``RESPONSES[name].encode(v)``."""
    msg = RESPONSES[name]
    if isinstance(msg, c.IDS):
        if v < 9:
            return c.IDS(msg.rcv_id, msg.snd_id, msg.srv_dh_key)
        if v < 15:
            mode = c.QueueMode.MESSAGING
            if msg.queue_mode is not c.QueueMode.MESSAGING:
                mode = c.QueueMode.CONTACT
            return c.IDS(msg.rcv_id, msg.snd_id, msg.srv_dh_key, mode)
        if v < 16:
            return replace(msg, service_id=None, server_ntf_creds=None)
        if v < 17:
            return replace(msg, server_ntf_creds=None)
        return msg
    if isinstance(msg, c.SOK) and v < 16:
        return c.OK()
    if isinstance(msg, c.DELD) and v < 10:
        return c.END()
    if msg == RESPONSES["ERR BLOCKED notice"]:
        if v < 12:
            return c.ERR(ErrorType.AUTH)
        if v < 18:
            return c.ERR(BLOCKED(BlockingInfo(BlockingReason.CONTENT)))
    return msg
