"""Recompute tests/vectors/agent_ratchet.json: X3DH, the KDFs and three ratchet messages.

Run: .venv/bin/python tests/vectors/generators/agent_ratchet.py

Everything is derived from the five label keys (X448 private key = SHA-512(label)[0:56]) with
``cryptography`` only (X448, HKDF-SHA512, AES-256-GCM), never with ``hushwire.agent``,
following simplexmq ``Simplex.Messaging.Crypto.Ratchet`` (``pqX3dh``, ``initSndRatchet``,
``initRcvRatchet``, ``rootKdf``, ``chainKdf``, ``rcEncryptHeader``, ``rcEncryptMsg``,
``encodeMsgHeader``) as described in docs/protocol/agent.md. So the Python and TypeScript
ratchets are checked against an independent transcription.

The joiner's confirmation was cross-checked byte for byte against simplex-js 1.0.0; the
entries under ``regression`` (the initiator's reply, the e2e v2 framing, the params
encodings) were not printed by any other implementation. ``e2e_uri_haskell`` is a string
from simplexmq tests/AgentTests/ConnectionRequestTests.hs and is kept as committed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import x448
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NAME = "agent_ratchet.json"
VECTORS = Path(__file__).resolve().parents[1]

X448_SPKI_PREFIX = bytes.fromhex("3042300506032b656f033900")
HEADER_PAD = 88


def priv(label: str) -> x448.X448PrivateKey:
    return x448.X448PrivateKey.from_private_bytes(hashlib.sha512(label.encode()).digest()[:56])


def raw(label: str) -> bytes:
    pub = priv(label).public_key()
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def spki(label: str) -> bytes:
    return X448_SPKI_PREFIX + raw(label)


def dh(own: str, peer: str) -> bytes:
    return priv(own).exchange(x448.X448PublicKey.from_public_bytes(raw(peer)))


def hkdf(salt: bytes, ikm: bytes, info: bytes, n: int = 96) -> bytes:
    return HKDF(hashes.SHA512(), n, salt, info).derive(ikm)


def split3(b: bytes) -> tuple[bytes, bytes, bytes]:
    return b[:32], b[32:64], b[64:96]


def root_kdf(rk: bytes, dh_out: bytes) -> tuple[bytes, bytes, bytes]:
    return split3(hkdf(rk, dh_out, b"SimpleXRootRatchet"))


def chain_kdf(ck: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    out = hkdf(b"", ck, b"SimpleXChainRatchet")
    return out[:32], out[32:64], out[64:80], out[80:96]


def pad(m: bytes, n: int) -> bytes:
    return struct.pack(">H", len(m)) + m + b"#" * (n - 2 - len(m))


def length(v: int, b: bytes) -> bytes:
    """``encodeLarge``: a 2-byte length from e2e v3, one byte before."""
    return struct.pack(">H", len(b)) + b if v >= 3 else bytes([len(b)]) + b


def msg_header(v: int, max_version: int, dh_label: str, pn: int, ns: int) -> bytes:
    kem = b"0" if v >= 3 else b""
    dhrs = spki(dh_label)
    return (
        struct.pack(">H", max_version)
        + bytes([len(dhrs)])
        + dhrs
        + kem
        + struct.pack(">II", pn, ns)
    )


def encrypt(
    v: int, ad: bytes, hks: bytes, ck: bytes, header: bytes, body: bytes, pad_to: int
) -> bytes:
    """``rcEncryptHeader`` + ``rcEncryptMsg``: the EncRatchetMessage of one message."""
    _, mk, iv_msg, iv_hdr = chain_kdf(ck)
    eh = AESGCM(hks).encrypt(iv_hdr, pad(header, HEADER_PAD), ad)
    em_header = struct.pack(">H", v) + iv_hdr + eh[-16:] + length(v, eh[:-16])
    ct = AESGCM(mk).encrypt(iv_msg, pad(body, pad_to), ad + em_header)
    return length(v, em_header) + ct[-16:] + ct[:-16]


def message_fields(enc: bytes, v: int) -> dict[str, Any]:
    start = 2 if v >= 3 else 1
    em_len = int.from_bytes(enc[:start], "big")
    return {
        "em_header": enc[start : start + em_len].hex(),
        "length": len(enc),
        "sha256": hashlib.sha256(enc).hexdigest(),
    }


def build(committed: dict[str, Any]) -> dict[str, Any]:
    d = dict(committed)
    d["source"] = (
        "X3DH, rootKdf, chainKdf, emHeader and the confirmation EncRatchetMessage with the "
        "label keys a1, a2, b1, b2, b3 (X448 priv = SHA-512(label)[0:56]), cross-checked "
        "against simplex-js 1.0.0 (layout per simplexmq src/Simplex/Messaging/Crypto/Ratchet.hs "
        "pqX3dh, initSndRatchet, rcEncryptHeader, rcEncryptMsg, encodeLarge); recomputed "
        "independently of hushwire by tests/vectors/generators/agent_ratchet.py; "
        "e2e_uri_haskell: simplexmq tests/AgentTests/ConnectionRequestTests.hs "
        "testE2ERatchetParamsStrUri (v=1 test key, percent-escaped once by the link encoder); "
        "the entries under 'regression' (the reply direction, the v2 framing, the params "
        "encodings) were not printed by any other implementation."
    )
    d["public_keys"] = {label: raw(label).hex() for label in ("a1", "a2", "b1", "b2", "b3")}
    # X3DH: the initiator published a1, a2; the joiner answers with b1, b2.
    ikm = dh("a1", "b2") + dh("a2", "b1") + dh("a2", "b2")
    hk, nhk, sk = split3(hkdf(bytes(64), ikm, b"SimpleXX3DH"))
    ad = raw("b1") + raw("a1")
    d["x3dh"] = {"hk": hk.hex(), "nhk": nhk.hex(), "sk": sk.hex(), "ad": ad.hex()}
    # The joiner's sending chain, with its first ratchet key b3.
    rk, cks, nhks = root_kdf(sk, dh("b3", "a2"))
    d["joiner_root_kdf"] = {"rk": rk.hex(), "cks": cks.hex(), "nhks": nhks.hex()}
    ck_next, mk, iv_msg, iv_hdr = chain_kdf(cks)
    d["chain_kdf"] = {
        "ck": cks.hex(),
        "ck_next": ck_next.hex(),
        "mk": mk.hex(),
        "iv_msg": iv_msg.hex(),
        "iv_hdr": iv_hdr.hex(),
    }
    conf = d["confirmation"]
    v = conf["version"]
    header = msg_header(v, 3, "b3", 0, 0)
    enc = encrypt(v, ad, hk, cks, header, conf["body"].encode(), conf["pad_to"])
    d["confirmation"] = {**conf, **message_fields(enc, v)}

    reg = dict(d["regression"])
    reg["invitation_e2e"] = "v=2-3&x3dh=" + ",".join(
        base64.urlsafe_b64encode(spki(k)).decode() for k in ("a1", "a2")
    )
    params = bytes([len(spki("b1"))]) + spki("b1") + bytes([len(spki("b2"))]) + spki("b2")
    reg["confirmation_params_v3"] = (struct.pack(">H", 3) + params + b"0").hex()
    reg["confirmation_params_v2"] = (struct.pack(">H", 2) + params).hex()
    # The initiator (rk = SK, ratchet key a2) receives the confirmation, steps to a new key
    # and replies: HKs is the X3DH NHK, the new sending chain comes from the second rootKdf.
    rep = reg["reply"]
    rk1, _ckr, _nhkr = root_kdf(sk, dh("a2", "b3"))
    _rk2, cks_i, _nhks_i = root_kdf(rk1, dh(rep["initiator_new_dh"], "b3"))
    header = msg_header(3, 3, rep["initiator_new_dh"], 0, 0)
    enc = encrypt(3, ad, nhk, cks_i, header, rep["body"].encode(), rep["pad_to"])
    reg["reply"] = {**rep, **message_fields(enc, 3)}
    c2 = reg["confirmation_v2"]
    header = msg_header(2, c2["max_version"], "b3", 0, 0)
    enc = encrypt(2, ad, hk, cks, header, c2["body"].encode(), c2["pad_to"])
    reg["confirmation_v2"] = {**c2, **message_fields(enc, 2)}
    d["regression"] = reg
    return d


def render() -> dict[str, str]:
    """File name -> exact file text (what :func:`main` writes)."""
    committed = json.loads((VECTORS / NAME).read_text())
    return {NAME: json.dumps(build(committed), indent=2) + "\n"}


def main() -> None:
    for name, text in render().items():
        (VECTORS / name).write_text(text)
        print(f"wrote {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
