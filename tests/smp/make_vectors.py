"""Write tests/vectors/smp_*.json. Run: .venv/bin/python tests/smp/make_vectors.py

tests/test_vectors_regenerate.py runs :func:`render` and diffs it with the committed files.

Every byte string here is assembled by hand from the layouts in simplexmq Protocol.hs /
Transport.hs (with the encoding primitives only), never by ``hushwire.smp``, so the tests
that read these files check the codec against an independent transcription.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from smp_cases import (
    CERT_CA,
    CERT_LEAF,
    COMMANDS,
    ED448_SPKI,
    ED_SPKI,
    KEY_HASH,
    LINK_DATA,
    LNK_ID,
    MSG_ID,
    NID_,
    NONCE,
    RESPONSES,
    RID,
    SID,
    SIGNED_KEY,
    SVC_ID,
    VERSIONS,
    X_SPKI,
    decoded_command,
    decoded_response,
)

from hushwire.crypto.keys import PublicKey
from hushwire.encoding.binary import int64, large, short_string, word16
from hushwire.smp.commands import QRContact, QRMessaging

OUT = Path(__file__).resolve().parents[1] / "vectors"

ss = short_string
lg = large
LD = lg(LINK_DATA.fixed) + lg(LINK_DATA.user)


def cmd_bytes(name: str, v: int) -> bytes:
    if name == "NEW basic":
        base = b"NEW " + ss(ED_SPKI) + ss(X_SPKI)
        if v < 9:
            return base + b"S"
        if v < 15:
            return base + b"0" + b"S" + b"T"
        if v < 17:
            return base + b"0" + b"S" + b"1M0"
        return base + b"0" + b"S" + b"1M0" + b"0"
    if name == "NEW contact link auth ntf":
        base = b"NEW " + ss(X_SPKI) + ss(X_SPKI)
        if v < 9:
            return base + b"A" + ss(b"pass") + b"C"
        if v < 15:
            return base + b"1" + ss(b"pass") + b"C" + b"F"
        link = b"1C1" + ss(LNK_ID) + ss(SID) + LD
        if v < 17:
            return base + b"1" + ss(b"pass") + b"C" + link
        return base + b"1" + ss(b"pass") + b"C" + link + b"1" + ss(ED_SPKI) + ss(X_SPKI)
    if name == "NEW messaging link ed448":
        base = b"NEW " + ss(ED448_SPKI) + ss(X_SPKI)
        if v < 9:
            return base + b"S"
        if v < 15:
            return base + b"0ST"
        link = b"1M1" + ss(SID) + LD
        return base + b"0S" + link + (b"0" if v >= 17 else b"")
    if name == "NEW no queue data":
        base = b"NEW " + ss(ED_SPKI) + ss(X_SPKI)
        if v < 9:
            return base + b"A" + ss(b"pw") + b"S"
        if v < 15:
            return base + b"1" + ss(b"pw") + b"S" + b"F"
        return base + b"1" + ss(b"pw") + b"S" + b"0" + (b"0" if v >= 17 else b"")
    fixed: dict[str, bytes] = {
        "SUB": b"SUB",
        "SUBS": b"SUBS",
        "KEY": b"KEY " + ss(ED_SPKI),
        "RKEY": b"RKEY " + b"\x02" + ss(ED_SPKI) + ss(X_SPKI),
        "LSET": b"LSET " + ss(LNK_ID) + LD,
        "LDEL": b"LDEL",
        "NKEY": b"NKEY " + ss(X_SPKI) + ss(X_SPKI),
        "NDEL": b"NDEL",
        "GET": b"GET",
        "ACK": b"ACK " + ss(MSG_ID),
        "ACK empty": b"ACK \x00",
        "OFF": b"OFF",
        "DEL": b"DEL",
        "QUE": b"QUE",
        "SKEY": b"SKEY " + ss(X_SPKI),
        "SEND notify": b"SEND T hello",
        "SEND empty": b"SEND F ",
        "PING": b"PING",
        "LKEY": b"LKEY " + ss(ED448_SPKI),
        "LGET": b"LGET",
        "NSUB": b"NSUB",
        "NSUBS": b"NSUBS",
        "PRXY": b"PRXY "
        + b"\x02"
        + ss(b"smp.example.com")
        + ss(b"::1")
        + ss(b"5223")
        + ss(KEY_HASH)
        + b"1"
        + ss(b"secret"),
        "PRXY default port": b"PRXY " + b"\x01" + ss(b"10.0.0.1") + ss(b"") + ss(KEY_HASH) + b"0",
        "PFWD": b"PFWD " + word16(8) + ss(X_SPKI) + b"encrypted transmission",
        "RFWD": b"RFWD forwarded",
    }
    return fixed[name]


INFO_JSON = (
    b'{"qiSnd":true,"qiNtf":false,"qiSub":{"qSubThread":"subThread","qDelivered":"oKGi"},'
    b'"qiSize":2,"qiMsg":{"msgId":"oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3",'
    b'"msgTs":"2022-01-01T10:24:05Z","msgType":"message"}}'
)


def resp_bytes(name: str, v: int) -> bytes:
    ids = b"IDS " + ss(RID) + ss(SID) + ss(X_SPKI)
    if name == "IDS messaging":
        tails = {9: b"T", 15: b"1M" + b"0", 16: b"1M00", 17: b"1M000"}
    elif name == "IDS contact full":
        tails = {
            9: b"F",
            15: b"1C" + b"1" + ss(LNK_ID),
            16: b"1C" + b"1" + ss(LNK_ID) + b"1" + ss(SVC_ID),
            17: b"1C" + b"1" + ss(LNK_ID) + b"1" + ss(SVC_ID) + b"1" + ss(NID_) + ss(X_SPKI),
        }
    elif name == "IDS no mode":
        tails = {9: b"F", 15: b"00", 16: b"000", 17: b"0000"}
    else:
        tails = {}
    if tails:
        if v < 9:
            return ids
        if v < 15:
            return ids + tails[9]
        return ids + tails[min(v, 17)]
    if name == "SOK":
        return b"OK" if v < 16 else b"SOK 0"
    if name == "SOK service":
        return b"OK" if v < 16 else b"SOK 1" + ss(SVC_ID)
    if name == "DELD":
        return b"END" if v < 10 else b"DELD"
    if name == "ERR BLOCKED notice":
        if v < 12:
            return b"ERR AUTH"
        if v < 18:
            return b"ERR BLOCKED reason=content"
        return b'ERR BLOCKED reason=content,notice={"ttl":3600}'
    fixed: dict[str, bytes] = {
        "LNK": b"LNK " + ss(SID) + LD,
        "SOKS": b"SOKS " + int64(5),
        "MSG": b"MSG " + ss(MSG_ID) + b"\x01\x02encrypted",
        "NID": b"NID " + ss(NID_) + ss(X_SPKI),
        "NMSG": b"NMSG " + NONCE + ss(b"meta"),
        "PKEY": b"PKEY "
        + ss(b"S" * 32)
        + word16(8)
        + word16(17)
        + b"\x02"
        + lg(CERT_LEAF)
        + lg(CERT_CA)
        + lg(SIGNED_KEY),
        "RRES": b"RRES response",
        "PRES": b"PRES proxied",
        "END": b"END",
        "ENDS": b"ENDS " + int64(-1),
        "INFO": b"INFO " + INFO_JSON,
        "OK": b"OK",
        "ERR AUTH": b"ERR AUTH",
        "ERR CMD SYNTAX": b"ERR CMD SYNTAX",
        "PONG": b"PONG",
    }
    return fixed[name]


COMMAND_NAMES = [
    "NEW basic",
    "NEW contact link auth ntf",
    "NEW messaging link ed448",
    "NEW no queue data",
    "SUB",
    "SUBS",
    "KEY",
    "RKEY",
    "LSET",
    "LDEL",
    "NKEY",
    "NDEL",
    "GET",
    "ACK",
    "ACK empty",
    "OFF",
    "DEL",
    "QUE",
    "SKEY",
    "SEND notify",
    "SEND empty",
    "PING",
    "LKEY",
    "LGET",
    "NSUB",
    "NSUBS",
    "PRXY",
    "PRXY default port",
    "PFWD",
    "RFWD",
]
RESPONSE_NAMES = [
    "IDS messaging",
    "IDS contact full",
    "IDS no mode",
    "LNK",
    "SOK",
    "SOK service",
    "SOKS",
    "MSG",
    "NID",
    "NMSG",
    "PKEY",
    "RRES",
    "PRES",
    "END",
    "ENDS",
    "DELD",
    "INFO",
    "OK",
    "ERR AUTH",
    "ERR CMD SYNTAX",
    "ERR BLOCKED notice",
    "PONG",
]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def plain(x: Any) -> Any:
    """A value as language-neutral JSON, shaped as simplexmq names its fields (camelCase):
    bytes and keys (SPKI DER) as hex, enums as their wire letters or names, each command,
    response and error with its ``tag``. The widget's tests compare their decoded values with
    this form (``toPlain`` in widget/test/smp.test.ts), so no value table is mirrored by hand.
    """
    if x is None or isinstance(x, bool | int | str):
        return x
    if isinstance(x, bytes):
        return x.hex()
    if isinstance(x, PublicKey):
        return x.to_der().hex()
    if isinstance(x, enum.Enum):
        return x.value
    if isinstance(x, tuple | list):
        return [plain(i) for i in x]
    if isinstance(x, QRMessaging | QRContact):
        return {"mode": "M" if isinstance(x, QRMessaging) else "C", "link": plain(x.link)}
    assert dataclasses.is_dataclass(x) and not isinstance(x, type), f"no JSON form for {x!r}"
    out: dict[str, Any] = {}
    tag = getattr(type(x), "tag", None)
    if isinstance(tag, bytes):  # commands and responses
        out["tag"] = tag.decode()
    elif type(x).__name__.isupper():  # error constructors: CMD, BLOCKED, PROXY, ...
        out["tag"] = type(x).__name__
    for f in dataclasses.fields(x):
        out[_camel(f.name)] = plain(getattr(x, f.name))
    return out


def commands_file() -> dict[str, Any]:
    return {
        "source": (
            "Hand-assembled from simplexmq src/Simplex/Messaging/Protocol.hs encodeProtocol / "
            "protocolP (Command p, BrokerMsg) and the version constants of Transport.hs:172-225; "
            "keys: tests/ServerTests.hs:1422-1426 samplePubKey / sampleDhPubKey; NEW v9 form "
            "matches the 97-byte NEW of simplex-js (GoChat smp-web/src/__tests__/commands.test.ts)"
        ),
        "keys": {
            "ed25519_spki_hex": ED_SPKI.hex(),
            "x25519_spki_hex": X_SPKI.hex(),
            "ed448_spki_hex": ED448_SPKI.hex(),
        },
        "values": {
            "commands": {n: plain(COMMANDS[n]) for n in COMMAND_NAMES},
            "responses": {n: plain(RESPONSES[n]) for n in RESPONSE_NAMES},
        },
        "commands": [
            {
                "name": n,
                "version": v,
                "hex": cmd_bytes(n, v).hex(),
                "decoded": plain(decoded_command(n, v)),
            }
            for n in COMMAND_NAMES
            for v in VERSIONS
        ],
        "responses": [
            {
                "name": n,
                "version": v,
                "hex": resp_bytes(n, v).hex(),
                "decoded": plain(decoded_response(n, v)),
            }
            for n in RESPONSE_NAMES
            for v in VERSIONS
        ],
        "invalid_commands": [
            {"hex": b"HELLO".hex(), "error": "UNKNOWN", "note": "unknown tag"},
            {"hex": b"SUB=".hex(), "error": "UNKNOWN", "note": "wrong terminator"},
            {"hex": b"OK".hex(), "error": "UNKNOWN", "note": "server tag from a client"},
            {"hex": b"sub".hex(), "error": "UNKNOWN", "note": "tags are case-sensitive"},
            {"hex": b"SUB ".hex(), "error": "SYNTAX", "note": "trailing space"},
            {"hex": b"PING x".hex(), "error": "SYNTAX", "note": "trailing bytes"},
            {"hex": b"NEW".hex(), "error": "SYNTAX", "note": "no parameters"},
            {"hex": b"KEY".hex(), "error": "SYNTAX", "note": "no parameters"},
            {
                "hex": (b"KEY " + b"\x01A" + ss(ED_SPKI)).hex(),
                "error": "SYNTAX",
                "note": "many parameters",
            },
            {"hex": (b"KEY " + ss(ED_SPKI) + b"x").hex(), "error": "SYNTAX", "note": "trailing"},
            {"hex": (b"KEY " + ss(b"\x30" * 44)).hex(), "error": "SYNTAX", "note": "bad SPKI"},
            {
                "hex": (b"SKEY " + ss(bytes.fromhex("3042300506032b656f033900") + bytes(56))).hex(),
                "error": "SYNTAX",
                "note": "X448 cannot authorize",
            },
            {
                "hex": (b"NKEY " + ss(ED_SPKI) + ss(ED_SPKI)).hex(),
                "error": "SYNTAX",
                "note": "DH key must be X25519",
            },
            {"hex": b"SEND".hex(), "error": "SYNTAX", "note": "no parameters"},
            {"hex": b"SEND Thello".hex(), "error": "SYNTAX", "note": "flags run to the end"},
            {"hex": b"SEND X hello".hex(), "error": "SYNTAX", "note": "bad Bool"},
            {"hex": b"ACK".hex(), "error": "SYNTAX", "note": "no parameters"},
            {"hex": b"ACK \x05ab".hex(), "error": "SYNTAX", "note": "short msgId"},
            {"hex": b"RKEY \x00".hex(), "error": "SYNTAX", "note": "empty NonEmpty"},
            {
                "hex": (b"PRXY \x01" + ss(b"a b") + ss(b"") + ss(KEY_HASH) + b"0").hex(),
                "error": "SYNTAX",
                "note": "space in host",
            },
            {
                "hex": (b"PRXY \x01" + ss(b"h") + ss(b"port") + ss(KEY_HASH) + b"0").hex(),
                "error": "SYNTAX",
                "note": "non-numeric port (reference: any ServiceName)",
            },
            {
                "hex": (b"PRXY \x01" + ss(b"h") + ss(b"") + ss(KEY_HASH) + b"1" + ss(b"a@b")).hex(),
                "error": "SYNTAX",
                "note": "'@' in basic auth",
            },
        ],
        "version_notes": {
            "NEW": "v6-8 ['A' auth] mode; v9-14 Maybe auth, mode, Bool sndSecure; v15-16 + Maybe "
            "QueueReqData instead of the Bool; v17+ + Maybe ntf creds",
            "IDS": "v6-8 ids+key; v9-14 + Bool; v15 + Maybe mode, Maybe linkId; v16 + Maybe "
            "serviceId; v17+ + Maybe ntf creds",
            "SOK": "sent as OK below v16",
            "DELD": "sent as END below v10",
            "ERR BLOCKED": "AUTH below v12, notice dropped below v18",
        },
    }


# ----------------------------------------------------------------------------- transmissions

SESS = b"\xaa" * 32
SIG64 = bytes(range(64))
SIG114 = bytes(range(114))
AUTH80 = bytes(range(80))
SVC_SIG = b"\x5a" * 64


def transmissions_file() -> dict[str, Any]:
    corr = b"abcd"
    client = []
    for v, auth, svc, name in [
        (6, SIG64, None, "v6 Ed25519-signed SUB with session id"),
        (6, b"", None, "v6 unsigned SUB"),
        (7, SIG64, None, "v7 Ed25519-signed SUB, session implied"),
        (7, AUTH80, None, "v7 CbAuthenticator"),
        (9, SIG114, None, "v9 Ed448 signature"),
        (15, SIG64, None, "v15 signed, no service field"),
        (16, SIG64, None, "v16 signed: Maybe serviceSig = '0'"),
        (16, SIG64, SVC_SIG, "v16 signed with service signature"),
        (16, b"", None, "v16 unsigned: no serviceSig byte"),
        (18, AUTH80, None, "v18 CbAuthenticator"),
    ]:
        out = ss(auth)
        if v >= 16 and auth:
            out += b"0" if svc is None else b"1" + ss(svc)
        if v < 7:
            out += ss(SESS)
        out += ss(corr) + ss(RID) + b"SUB"
        client.append(
            {
                "name": name,
                "version": v,
                "auth_hex": auth.hex(),
                "service_sig_hex": None if svc is None else svc.hex(),
                "corr_id_hex": corr.hex(),
                "entity_id_hex": RID.hex(),
                "command_hex": b"SUB".hex(),
                "hex": out.hex(),
                "authorized_hex": (ss(SESS) + ss(corr) + ss(RID) + b"SUB").hex(),
            }
        )
    server = []
    for v in (6, 7, 16, 18):
        for cmd, name in [(b"OK", "OK"), (b"ERR CMD SYNTAX", "ERR CMD SYNTAX"), (b"PONG", "PONG")]:
            entity = b"" if name == "PONG" else bytes(RID)
            out = b"\x00" + (ss(SESS) if v < 7 else b"") + ss(corr) + ss(entity) + cmd
            server.append(
                {
                    "name": f"v{v} {name}",
                    "version": v,
                    "corr_id_hex": corr.hex(),
                    "entity_id_hex": entity.hex(),
                    "response": name,
                    "hex": out.hex(),
                }
            )
    # CbAuthenticator of PING with fixed keys (computed with libsodium; regression only).
    cb = {
        "server_session_priv_hex": "11" * 32,
        "queue_priv_hex": "22" * 32,
        "session_id_hex": "aa" * 32,
        "corr_id_hex": bytes(range(24)).hex(),
        "entity_id_hex": "",
        "command_hex": b"PING".hex(),
        "authorized_hex": "20" + "aa" * 32 + "18" + bytes(range(24)).hex() + "00" + "50494e47",
        "authenticator_hex": (
            "6deacefd26a4d6023cc34598c9287ddf3f43ea2eaa710dab4c1be33d8786140221da42231805b3346"
            "7e4077afa0169602248969dda1651d62460be43a2e106d86d91566e8ac082505cda034833d5a0a9"
        ),
    }
    return {
        "source": (
            "Hand-assembled from simplexmq Protocol.hs transmissionP / tEncodeAuth / "
            "encodeTransmission / encodeTransmissionForAuth; "
            "cb_authenticator: Crypto.hs cbAuthenticate with fixed keys (libsodium; regression)"
        ),
        "session_id_hex": SESS.hex(),
        "client": client,
        "server": server,
        "invalid_client": [
            {"version": 7, "hex": "", "error": "BLOCK", "corr_id_hex": "", "note": "empty"},
            {
                "version": 7,
                "hex": (ss(b"x" * 10) + ss(corr) + ss(RID) + b"SUB").hex(),
                "error": "BLOCK",
                "corr_id_hex": corr.hex(),
                "note": "10-byte auth",
            },
            {
                "version": 6,
                "hex": (ss(b"") + ss(b"\xbb" * 32) + ss(corr) + ss(b"") + b"PING").hex(),
                "error": "SESSION",
                "corr_id_hex": corr.hex(),
                "note": "v6 session mismatch",
            },
            {
                "version": 6,
                "hex": (ss(b"x" * 10) + ss(b"\xbb" * 32) + ss(corr) + ss(b"") + b"PING").hex(),
                "error": "SESSION",
                "corr_id_hex": corr.hex(),
                "note": "session checked before auth length",
            },
            {
                "version": 16,
                "hex": (ss(SIG64) + b"1" + ss(SIG114) + ss(corr) + ss(RID) + b"SUB").hex(),
                "error": "BLOCK",
                "corr_id_hex": "",
                "note": "service signature must be Ed25519",
            },
            {
                "version": 16,
                "hex": (ss(SIG64) + b"2" + ss(corr) + ss(RID) + b"SUB").hex(),
                "error": "BLOCK",
                "corr_id_hex": "",
                "note": "bad Maybe tag",
            },
            {
                "version": 7,
                "hex": (ss(b"") + ss(corr) + b"\x05ab").hex(),
                "error": "BLOCK",
                "corr_id_hex": "",
                "note": "truncated entity",
            },
        ],
        "cb_authenticator": cb,
    }


# ----------------------------------------------------------------------------- syntax table


def syntax_file() -> dict[str, Any]:
    """tests/ServerTests.hs:1444-1490 serverSyntaxTests, at v18 (the tests' client version)."""
    sig = base64.b64decode(
        "e8JK+8V3fq6kOLqco/SaKlpNaQ7i1gfOrXoqekEl42u4mF8Bgu14T5j0189CGcUhJHw2RwCMvON+qbvQ9ecJAA=="
    )
    q = b"12345678"
    new_v18 = b"NEW " + ss(ED_SPKI) + ss(X_SPKI) + b"0" + b"S" + b"1M0" + b"0"
    rows: list[tuple[str, bytes, bytes, bytes, bytes, str]] = [
        ("unknown command", b"", b"abcd", b"1234", b"HELLO", "CMD UNKNOWN"),
        ("NEW no parameters", sig, b"bcda", b"", b"NEW", "CMD SYNTAX"),
        (
            "NEW many parameters",
            sig,
            b"cdab",
            b"",
            b"NEW " + b"\x01A" + ss(ED_SPKI) + ss(X_SPKI),
            "CMD SYNTAX",
        ),
        ("NEW no signature", b"", b"dabc", b"", new_v18, "CMD NO_AUTH"),
        ("NEW queue ID", sig, b"abcd", q, new_v18, "CMD HAS_AUTH"),
        ("KEY valid syntax", sig, b"bcda", q, b"KEY " + ss(ED_SPKI), "AUTH"),
        ("KEY no parameters", sig, b"cdab", q, b"KEY", "CMD SYNTAX"),
        ("KEY many parameters", sig, b"dabc", q, b"KEY " + b"\x01A" + ss(ED_SPKI), "CMD SYNTAX"),
        ("KEY no signature", b"", b"abcd", q, b"KEY " + ss(ED_SPKI), "CMD NO_AUTH"),
        ("KEY no queue ID", sig, b"bcda", b"", b"KEY " + ss(ED_SPKI), "CMD NO_AUTH"),
    ]
    for cmd in (b"SUB", b"OFF", b"DEL"):
        n = cmd.decode()
        rows += [
            (f"{n} valid syntax", sig, b"abcd", q, cmd, "AUTH"),
            (f"{n} wrong terminator", sig, b"bcda", q, cmd + b"=", "CMD UNKNOWN"),
            (f"{n} no signature", b"", b"cdab", q, cmd, "CMD NO_AUTH"),
            (f"{n} no queue ID", sig, b"dabc", b"", cmd, "CMD NO_AUTH"),
        ]
    rows += [
        ("SEND valid syntax", sig, b"cdab", q, b"SEND F hello", "AUTH"),
        ("SEND no parameters", sig, b"abcd", q, b"SEND", "CMD SYNTAX"),
        ("SEND no queue ID", sig, b"bcda", b"", b"SEND F hello", "CMD NO_ENTITY"),
        ("ACK valid syntax", sig, b"cdab", q, b"ACK " + ss(b"1234"), "AUTH"),
        ("ACK no parameters", sig, b"abcd", q, b"ACK", "CMD SYNTAX"),
        ("ACK no queue ID", sig, b"bcda", b"", b"ACK " + ss(b"1234"), "CMD NO_AUTH"),
        ("ACK no signature", b"", b"cdab", q, b"ACK " + ss(b"1234"), "CMD NO_AUTH"),
        ("PING valid syntax", b"", b"abcd", b"", b"PING", "PONG"),
        ("broker response OK", sig, b"bcda", q, b"OK", "CMD UNKNOWN"),
    ]
    v = 18
    out = []
    for name, auth, corr, ent, cmd, expect in rows:
        t = ss(auth) + (b"0" if auth else b"") + ss(corr) + ss(ent) + cmd
        out.append(
            {
                "name": name,
                "version": v,
                "hex": t.hex(),
                "corr_id_hex": corr.hex(),
                "entity_id_hex": ent.hex(),
                "expect": expect,
            }
        )
    return {
        "source": (
            "simplexmq tests/ServerTests.hs:1444-1490 serverSyntaxTests (sampleSig, samplePubKey, "
            "sampleDhPubKey at :1422-1429), client version 18 (supportedClientSMPRelayVRange); "
            "'AUTH'/'PONG' rows pass the codec (queue lookup / PING answer are the server's)"
        ),
        "rows": out,
    }


# ----------------------------------------------------------------------------- errors


def errors_file() -> dict[str, Any]:
    canonical = [
        "BLOCK",
        "SESSION",
        "CMD UNKNOWN",
        "CMD SYNTAX",
        "CMD PROHIBITED",
        "CMD NO_AUTH",
        "CMD HAS_AUTH",
        "CMD NO_ENTITY",
        "AUTH",
        "SERVICE",
        "CRYPTO",
        "QUOTA",
        "NO_MSG",
        "LARGE_MSG",
        "EXPIRED",
        "INTERNAL",
        "DUPLICATE_",
        "STORE disk full",
        "STORE ",
        "BLOCKED reason=spam",
        "BLOCKED reason=content",
        'BLOCKED reason=spam,notice={"ttl":60}',
        "BLOCKED reason=spam,notice={}",
        "PROXY PROTOCOL AUTH",
        "PROXY PROTOCOL CMD SYNTAX",
        "PROXY BROKER RESPONSE \x03bad",
        "PROXY BROKER UNEXPECTED \x00",
        "PROXY BROKER NETWORK",
        "PROXY BROKER TIMEOUT",
        "PROXY BROKER HOST",
        "PROXY BROKER NO_SERVICE",
        "PROXY BROKER TRANSPORT BLOCK",
        "PROXY BROKER TRANSPORT VERSION",
        "PROXY BROKER TRANSPORT LARGE_MSG",
        "PROXY BROKER TRANSPORT SESSION",
        "PROXY BROKER TRANSPORT NO_AUTH",
        "PROXY BROKER TRANSPORT HANDSHAKE PARSE",
        "PROXY BROKER TRANSPORT HANDSHAKE IDENTITY",
        "PROXY BROKER TRANSPORT HANDSHAKE BAD_AUTH",
        "PROXY BROKER TRANSPORT HANDSHAKE BAD_SERVICE",
        "PROXY BASIC_AUTH",
        "PROXY NO_SESSION",
    ]
    noncanonical = [
        ["CMD NO_QUEUE", "CMD NO_ENTITY"],
        ["PROXY BROKER NETWORK CONNECT \x04oops", "PROXY BROKER NETWORK"],
        ["PROXY BROKER NETWORK TIMEOUT", "PROXY BROKER NETWORK"],
        ["STORE \xff", "STORE ?"],
        ['BLOCKED reason=spam,notice={"ttl":null,"x":1}', "BLOCKED reason=spam,notice={}"],
    ]
    invalid = [
        "",
        "block",
        "BLOCK ",
        "BLOCKX",
        "CMD",
        "CMD OTHER",
        "CMD SYNTAX x",
        "STORE",
        "BLOCKED",
        "BLOCKED reason=other",
        "BLOCKED reason=spam,notice=",
        "BLOCKED reason=spam,notice=[1]",
        'BLOCKED reason=spam,notice={"ttl":"1"}',
        'BLOCKED reason=spam,notice={"ttl":1.5}',
        "BLOCKED reason=spam,",
        "PROXY",
        "PROXY BROKER",
        "PROXY BROKER RESPONSE \x05ab",
        "PROXY BROKER NETWORK FOO",
        "PROXY BROKER FOO",
        "PROXY BROKER TRANSPORT HANDSHAKE",
        "PROXY BROKER TRANSPORT HANDSHAKE NOPE",
        "PROXY BROKER TRANSPORT OTHER",
        "PROXY OTHER",
    ]

    def h(s: str) -> str:
        return s.encode("latin-1").hex()

    return {
        "source": (
            "simplexmq Protocol.hs:1947-2090 instance Encoding ErrorType / CommandError / "
            "ProxyError / BrokerErrorType / NetworkError, Protocol.hs:1603-1615 BlockingInfo, "
            "Transport.hs:675-719 TransportError"
        ),
        "canonical_hex": [h(s) for s in canonical],
        "noncanonical_hex": [[h(a), h(b)] for a, b in noncanonical],
        "invalid_hex": [h(s) for s in invalid],
        "transport_errors_hex": [
            h(s) for s in ["BLOCK", "VERSION", "LARGE_MSG", "SESSION", "NO_AUTH", "HANDSHAKE PARSE"]
        ],
    }


# ----------------------------------------------------------------------------- blocks


def blocks_file() -> dict[str, Any]:
    corr = bytes(range(24))
    ping = ss(b"") + ss(corr) + ss(b"") + b"PING"
    batch = b"\x01" + lg(ping)
    block = word16(len(batch)) + batch + b"#" * (16384 - 2 - len(batch))
    two = b"\x02" + lg(ping) + lg(b"\x00\x00\x00PONG")
    return {
        "source": (
            "PING block: derived from Transport.hs tPutBlock, Protocol.hs "
            "batchTransmissions_; batching scenarios: simplexmq tests/CoreTests/BatchingTests.hs "
            "(transmission sizes as built there: v6 Ed25519 SUB/SEND with 32-byte session id, v18 "
            "Ed25519 SUB, v18 X25519 CbAuthenticator SEND, 24-byte ids); block chain: inputs of "
            "smp-web tests/SMPWebTests.hs, computed with HKDF / HSalsa20 + PyNaCl (regression)"
        ),
        "ping_block": {
            "corr_id_hex": corr.hex(),
            "transmission_hex": ping.hex(),
            "batch_hex": batch.hex(),
            "block_prefix_hex": block[:40].hex(),
            "block_sha256": hashlib.sha256(block).hexdigest(),
            "length": len(block),
        },
        "batches": [
            {"items_hex": [ping.hex()], "hex": batch.hex()},
            {"items_hex": [ping.hex(), b"\x00\x00\x00PONG".hex()], "hex": two.hex()},
            {"items_hex": [""], "hex": "010000"},
        ],
        "invalid_batches_hex": [
            "",
            "00",
            "01",
            "0100",
            "010001",
            "01000200",
            "02000100",
            batch.hex() + "00",
        ],
        "batching": [
            {
                "name": "250 SUBs v6",
                "sequence": [["SUB", 6, 0, 250]],
                "expect": [38, 106, 106],
            },
            {
                "name": "300 SUBs v18",
                "sequence": [["SUB", 18, 0, 300]],
                "expect": [30, 135, 135],
            },
            {
                "name": "SEND 8000 among SUBs v6",
                "sequence": [["SUB", 6, 0, 60], ["SEND", 6, 8000, 1], ["SUB", 6, 0, 40]],
                "expect": [47, 54],
            },
            {
                "name": "SEND 8000 among SUBs v18",
                "sequence": [["SUB", 18, 0, 60], ["SEND", 18, 8000, 1], ["SUB", 18, 0, 40]],
                "expect": [33, 68],
            },
            {
                "name": "SEND 17000 among SUBs v6",
                "sequence": [["SUB", 6, 0, 50], ["SEND", 6, 17000, 1], ["SUB", 6, 0, 150]],
                "expect": [50, "LARGE_MSG", 44, 106],
            },
            {
                "name": "SEND 17000 among SUBs v18",
                "sequence": [["SUB", 18, 0, 60], ["SEND", 18, 17000, 1], ["SUB", 18, 0, 150]],
                "expect": [60, "LARGE_MSG", 15, 135],
            },
            {
                "name": "SEND 17000 first v6",
                "sequence": [["SEND", 6, 17000, 1], ["SUB", 6, 0, 200]],
                "expect": ["LARGE_MSG", 94, 106],
            },
            {
                "name": "SEND 17000 first v18",
                "sequence": [["SEND", 18, 17000, 1], ["SUB", 18, 0, 210]],
                "expect": ["LARGE_MSG", 75, 135],
            },
            {
                "name": "300 ENDs v18",
                "sequence": [["END", 18, 0, 300]],
                "expect": [45, 255],
            },
            {
                "name": "200 NMSGs v18",
                "sequence": [["NMSG", 18, 144, 200]],
                "expect": [40, 80, 80],
            },
            {
                "name": "4 SOKs + MSG v18",
                "sequence": [["SOK", 18, 0, 4], ["MSG", 18, 16048, 1]],
                "expect": [5],
            },
            {
                "name": "5 SOKs + MSG v18",
                "sequence": [["SOK", 18, 0, 5], ["MSG", 18, 16048, 1]],
                "expect": [1, 5],
            },
        ],
        "block_chain": {
            "session_id_hex": bytes(range(1, 33)).hex(),
            "dh_secret_hex": bytes(range(50, 82)).hex(),
            "ck1_hex": "6c72a7bfe8a423e8fc949c7c22e7105abedf1b277e0d86f85cc76739f9521bf4",
            "ck2_hex": "ff3d65c93f4426285a02d2bc07c37cc0be10ff23d5d11752962c1b301c155a0f",
            "step1_next_hex": "d576798e5af3dbd708623c1d07dafcd73713e1a3caba9a6e75300dca6bb50f84",
            "step1_key_hex": "e42e0f555fed07ff7c8ebd8d257105da1fe3db301b419610032495c42069b7ef",
            "step1_nonce_hex": "1d10d473670b46812c98d6b82a385056952919c5d44c7bbf",
        },
        "encrypted_block": {
            "session_id_hex": bytes(range(1, 33)).hex(),
            "dh_secret_hex": bytes(range(1, 33)).hex(),
            "payload_hex": b"hello encrypted block".hex(),
            "block_prefix_hex": "295f982750b6e0f26b1ab9c8bef37570",
            "block_sha256": "b50d001bf4d06e74f59c07ec87803c90215d0e8e5977b1a2b9d51af29b9a0e8c",
            "note": "server send chain (ck1), first block",
        },
    }


# ----------------------------------------------------------------------------- hellos


def _pem_der(path: Path) -> bytes:
    text = path.read_text()
    body = text.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return base64.b64decode("".join(body.split()))


def hello_file() -> dict[str, Any]:
    fx = OUT / "fixtures"
    leaf = _pem_der(fx / "server.crt")
    ca = _pem_der(fx / "ca.crt")
    # Stand-in SignedExact of the Ed448 size (3081a8..., 171 bytes): framing only.
    signed = b"\x30\x81\xa8" + bytes(168)
    sid = bytes(range(0x40, 0x60))
    chain = b"\x02" + lg(leaf) + lg(ca) + lg(signed)
    servers = []
    for lo, hi in [(6, 6), (6, 7), (6, 9), (6, 18), (8, 17)]:
        out = word16(lo) + word16(hi) + ss(sid) + (chain if hi >= 7 else b"")
        servers.append({"min": lo, "max": hi, "with_cert_key": hi >= 7, "hex": out.hex()})
    kh = hashlib.sha256(ca).digest()
    svc_chain = b"\x01" + lg(leaf) + lg(signed)
    clients = []
    for v in VERSIONS:
        out = word16(v) + ss(kh)
        if v >= 7:
            out += ss(X_SPKI)
        if v >= 14:
            out += b"F"
        if v >= 16:
            out += b"0"
        clients.append({"version": v, "session_key": v >= 7, "hex": out.hex()})
    clients.append(
        {
            "version": 16,
            "session_key": True,
            "proxy_server": True,
            "service": "M",
            "hex": (word16(16) + ss(kh) + ss(X_SPKI) + b"T" + b"1M" + svc_chain).hex(),
        }
    )
    clients.append(
        {"version": 9, "session_key": False, "hex": (word16(9) + ss(kh)).hex(), "note": "no key"}
    )
    return {
        "source": (
            "Hand-assembled from simplexmq Transport.hs:592-672 (SMPClientHandshake, "
            "SMPServerHandshake, CertChainPubKey, SMPServerHandshakeResponse); certificates: "
            "simplexmq tests/fixtures server.crt + ca.crt (tests/vectors/fixtures); real v6 hello: "
            "GoChat smp-web/src/__tests__/handshake.test.ts:173-205; "
            "1105-byte hello content with the simplexmq fixtures"
        ),
        "real_v6_hello_hex": (b"\x00\x06\x00\x06\x20" + sid).hex(),
        "session_id_hex": sid.hex(),
        "leaf_cert_hex": leaf.hex(),
        "ca_cert_hex": ca.hex(),
        "signed_key_hex": signed.hex(),
        "key_hash_hex": kh.hex(),
        "server_hellos": servers,
        "client_hellos": clients,
        "service_responses": [
            {"hex": (b"R" + ss(SVC_ID)).hex(), "accepted": SVC_ID.hex()},
            {"hex": b"EHANDSHAKE BAD_SERVICE".hex(), "rejected": "HANDSHAKE BAD_SERVICE"},
            {"hex": b"EBLOCK".hex(), "rejected": "BLOCK"},
        ],
    }


# ----------------------------------------------------------------------------- message bodies


def msgbody_file() -> dict[str, Any]:
    ts = 1641032645
    msg = int64(ts) + b"T" + b" " + b"hello"
    quota = b"QUOTA" + b" " + int64(ts)
    padded = word16(len(msg)) + msg + b"#" * (16106 - 2 - len(msg))
    return {
        "source": (
            "simplexmq Protocol.hs:785-826 encodeRcvMsgBody / clientRcvMsgBodyP, Crypto.hs "
            "padMaxLenBS (MaxRcvMessageLen 16104 + 2); SystemTime example: "
            "tests/CoreTests/EncodingTests.hs (1641032645)"
        ),
        "messages": [
            {"kind": "message", "ts": ts, "notification": True, "body_hex": b"hello".hex(),
             "hex": msg.hex()},
            {"kind": "message", "ts": 0, "notification": False, "body_hex": "",
             "hex": (int64(0) + b"F ").hex()},
            {"kind": "quota", "ts": ts, "hex": quota.hex()},
        ],
        "noncanonical": [
            {"hex": (int64(ts) + b"Tabc hello").hex(), "kind": "message", "ts": ts,
             "notification": True, "body_hex": b"hello".hex(), "note": "extra flag chars skipped"},
            {"hex": (b"QUOTA\x00\x00\x00" + b"F body").hex(), "kind": "message",
             "ts": int.from_bytes(b"QUOTA\x00\x00\x00", "big"), "notification": False,
             "body_hex": b"body".hex(), "note": "QUOTA prefix without space is a message"},
        ],
        "invalid_hex": [
            "",
            int64(ts).hex(),
            (int64(ts) + b"T").hex(),
            (int64(ts) + b"Thello").hex(),
            (int64(ts) + b"X hello").hex(),
            (quota + b"x").hex(),
            (b"QUOTA " + int64(ts)[:7]).hex(),
        ],
        "padded": {"hex_prefix": padded[:24].hex(), "sha256": hashlib.sha256(padded).hexdigest(),
                   "length": len(padded)},
    }  # fmt: skip


# ----------------------------------------------------------------------------- versions


def versions_file() -> dict[str, Any]:
    return {
        "source": (
            "simplexmq tests/CoreTests/VersionRangeTests.hs (compatibleVersion, compatibleVRange, "
            "compatibleVRange'); Version.hs VersionRange encoding (two Word16)"
        ),
        "compatible": [
            [[1, 1], [1, 1], 1],
            [[1, 1], [1, 2], 1],
            [[1, 2], [1, 2], 2],
            [[1, 2], [2, 3], 2],
            [[1, 3], [2, 3], 3],
            [[1, 3], [2, 4], 3],
            [[1, 2], [3, 4], None],
        ],
        "intersect": [
            [[1, 1], [1, 1], [1, 1]],
            [[1, 1], [1, 2], [1, 1]],
            [[1, 2], [1, 2], [1, 2]],
            [[1, 2], [2, 3], [2, 2]],
            [[1, 3], [2, 3], [2, 3]],
            [[1, 3], [2, 4], [2, 3]],
            [[1, 2], [3, 4], None],
        ],
        "capped": [
            [[1, 1], 1, [1, 1]],
            [[1, 1], 2, None],
            [[1, 2], 2, [1, 2]],
            [[1, 2], 3, None],
            [[1, 3], 2, [1, 2]],
            [[1, 3], 3, [1, 3]],
            [[1, 3], 4, None],
            [[2, 3], 1, None],
            [[2, 3], 2, [2, 2]],
            [[2, 3], 3, [2, 3]],
            [[2, 4], 1, None],
            [[2, 4], 3, [2, 3]],
            [[2, 4], 4, [2, 4]],
        ],
        "encoded": [
            {"min": 6, "max": 18, "hex": "00060012"},
            {"min": 6, "max": 6, "hex": "00060006"},
        ],
        "invalid_hex": ["00070006", "0006", ""],
    }


def render() -> dict[str, str]:
    """File name -> exact file text (what :func:`main` writes)."""
    files = {
        "smp_commands.json": commands_file(),
        "smp_transmissions.json": transmissions_file(),
        "smp_syntax.json": syntax_file(),
        "smp_errors.json": errors_file(),
        "smp_blocks.json": blocks_file(),
        "smp_hello.json": hello_file(),
        "smp_msgbody.json": msgbody_file(),
        "smp_versions.json": versions_file(),
    }
    return {name: json.dumps(data, indent=1) + "\n" for name, data in files.items()}


def main() -> None:
    for name, text in render().items():
        (OUT / name).write_text(text)
        print("wrote", OUT / name)


if __name__ == "__main__":
    main()
