"""Recompute the derived values of the crypto and encoding vector files.

Run: .venv/bin/python tests/vectors/generators/computed.py

These files were first written by scripts that were not kept. Their *inputs* come from
outside (RFC 7748 and 8032, libsodium's and NaCl's tests, simplexmq's and simplex-js's test
values; each ``source`` field names them) and stay as committed. Every *output* that can be
computed from the inputs is recomputed here with independent libraries (``hashlib``,
``cryptography``, PyNaCl, ``struct``, ``base64``, ``urllib``), never with ``hushwire``, so the
files stay an independent check of Hushwire's code. The single exception is HSalsa20, which
PyNaCl does not expose: it is written out below from the Salsa20 specification.

Values marked "regression" in a ``source`` were computed this way in the first place (no
other implementation printed them); the others agree with the external source they name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nacl.bindings as nb
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, x448, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VECTORS = Path(__file__).resolve().parents[1]

FILES = (
    "crypto_aead.json",
    "crypto_kdf.json",
    "crypto_keys.json",
    "crypto_nacl.json",
    "crypto_padding.json",
    "encoding_primitives.json",
    "encoding_strings.json",
)

CROSS_CHECKED = "cross-checked against simplex-js 1.0.0"


def h(s: str) -> bytes:
    return bytes.fromhex(s)


def hkdf(salt: bytes, ikm: bytes, info: bytes, n: int) -> bytes:
    return HKDF(hashes.SHA512(), n, salt, info).derive(ikm)


def pad(msg: bytes, size: int) -> bytes:
    return struct.pack(">H", len(msg)) + msg + b"#" * (size - len(msg) - 2)


# --------------------------------------------------------------------------- HSalsa20


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def hsalsa20(key: bytes, inp: bytes) -> bytes:
    """HSalsa20 (Bernstein, "Extending the Salsa20 nonce"): 20 rounds, no final addition."""
    c = struct.unpack("<4I", b"expand 32-byte k")
    k = struct.unpack("<8I", key)
    n = struct.unpack("<4I", inp)
    x = [c[0], *k[0:4], c[1], *n, c[2], *k[4:8], c[3]]
    for _ in range(10):
        for a, b, cc, d in ((0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6), (15, 3, 7, 11)):
            x[b] ^= _rotl((x[a] + x[d]) & 0xFFFFFFFF, 7)
            x[cc] ^= _rotl((x[b] + x[a]) & 0xFFFFFFFF, 9)
            x[d] ^= _rotl((x[cc] + x[b]) & 0xFFFFFFFF, 13)
            x[a] ^= _rotl((x[d] + x[cc]) & 0xFFFFFFFF, 18)
        for a, b, cc, d in ((0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9), (15, 12, 13, 14)):
            x[b] ^= _rotl((x[a] + x[d]) & 0xFFFFFFFF, 7)
            x[cc] ^= _rotl((x[b] + x[a]) & 0xFFFFFFFF, 9)
            x[d] ^= _rotl((x[cc] + x[b]) & 0xFFFFFFFF, 13)
            x[a] ^= _rotl((x[d] + x[cc]) & 0xFFFFFFFF, 18)
    return struct.pack("<8I", *(x[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)))


def secretbox(key: bytes, nonce: bytes, msg: bytes) -> bytes:
    """SimpleX ``sbEncrypt``: NaCl secretbox under ``HSalsa20(key, 0^16)``, tag first."""
    return nb.crypto_secretbox(msg, nonce, hsalsa20(key, bytes(16)))


def x25519_pub(sk: bytes) -> bytes:
    return (
        x25519.X25519PrivateKey.from_private_bytes(sk)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def x25519_dh(sk: bytes, pk: bytes) -> bytes:
    own = x25519.X25519PrivateKey.from_private_bytes(sk)
    return own.exchange(x25519.X25519PublicKey.from_public_bytes(pk))


# --------------------------------------------------------------------------- files


def crypto_kdf(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = (
        "SHA-2: FIPS 180-2 examples ('abc'); HKDF-SHA512: X3DH/rootKdf/chainKdf values "
        f"{CROSS_CHECKED}, KDF layout of simplexmq src/Simplex/Messaging/Crypto/Ratchet.hs; "
        "block chain: inputs of simplexmq smp-web tests/SMPWebTests.hs 'crypto/blockEncryption', "
        "Crypto.hs:1452-1470 (sbcInit, sbcHkdf, hkdf), Transport.hs:722-745 "
        "(tPutBlock/tGetBlock); outputs recomputed by tests/vectors/generators/computed.py"
    )
    for row in d["sha256"]:
        row["out_hex"] = hashlib.sha256(h(row["in_hex"])).hexdigest()
    for row in d["sha512"]:
        row["out_hex"] = hashlib.sha512(h(row["in_hex"])).hexdigest()
    notes = ["HK ‖ NHK ‖ SK", "RK ‖ CKs ‖ NHKs", "CK' ‖ MK ‖ ivMsg ‖ ivHdr"]
    for row, note in zip(d["hkdf_sha512"], notes, strict=True):
        row["source"] = f"{CROSS_CHECKED}: {note}"
        out = hkdf(h(row["salt_hex"]), h(row["ikm_hex"]), row["info"].encode(), row["length"])
        row["out_hex"] = out.hex()
    labels = d["x448_labels"]
    labels["source"] = f"X448 priv(label) = SHA-512(label)[0:56], {CROSS_CHECKED}"
    for label in ("a1", "b3"):
        sk = hashlib.sha512(label.encode()).digest()[:56]
        pub = x448.X448PrivateKey.from_private_bytes(sk).public_key()
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        labels[f"{label}_pub_hex"] = raw.hex()
    sc = d["sb_chain"]
    init = hkdf(h(sc["session_id_hex"]), h(sc["dh_secret_hex"]), b"SimpleXSbChainInit", 64)
    sc["ck1_hex"], sc["ck2_hex"] = init[:32].hex(), init[32:].hex()
    step = hkdf(b"", init[:32], b"SimpleXSbChain", 88)
    sc["step1"] = {
        "next_hex": step[:32].hex(),
        "key_hex": step[32:64].hex(),
        "nonce_hex": step[64:].hex(),
    }
    eb = d["encrypted_block"]
    eb["source"] = (
        "inputs of simplexmq smp-web tests/SMPWebTests.hs 'Haskell encrypts, TypeScript "
        "decrypts' (sessionId = secret = bytes 1..32); sbEncrypt goes through cryptoBox, so "
        "the key is HSalsa20(sbKey, 0^16) (Crypto.hs:1301-1321, Transport.hs:727); regression"
    )
    ck1 = hkdf(h(eb["session_id_hex"]), h(eb["dh_secret_hex"]), b"SimpleXSbChainInit", 64)[:32]
    step = hkdf(b"", ck1, b"SimpleXSbChain", 88)
    size = eb["block_size"]
    block = secretbox(step[32:64], step[64:], pad(h(eb["msg_hex"]), size - 16))
    eb["block_prefix_hex"] = block[:16].hex()
    eb["block_sha256_hex"] = hashlib.sha256(block).hexdigest()
    eb["block_hex"] = block.hex()
    return d


def crypto_nacl(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = (
        "HSalsa20/box: NaCl and libsodium test vectors (libsodium test/default/core1.c, "
        "core2.c, box.c; keys = RFC 7748 section 6.1); CbAuthenticator: Crypto.hs "
        "cbAuthenticate with fixed keys (regression); the rest computed with libsodium via "
        "PyNaCl following Crypto.hs:1291-1401 (cbEncrypt, sbEncrypt, cryptoBox, "
        "cbAuthenticate, cbNonce), recomputed by tests/vectors/generators/computed.py"
    )
    for row in d["hsalsa20"]:
        row["out_hex"] = hsalsa20(h(row["key_hex"]), h(row["in_hex"])).hex()
    b = d["box"]
    b["alice_pk_hex"] = x25519_pub(h(b["alice_sk_hex"])).hex()
    b["bob_pk_hex"] = x25519_pub(h(b["bob_sk_hex"])).hex()
    shared = x25519_dh(h(b["alice_sk_hex"]), h(b["bob_pk_hex"]))
    b["shared_hex"] = shared.hex()
    b["box_key_hex"] = nb.crypto_box_beforenm(h(b["bob_pk_hex"]), h(b["alice_sk_hex"])).hex()
    boxed = nb.crypto_box(
        h(b["msg_hex"]), h(b["nonce_hex"]), h(b["bob_pk_hex"]), h(b["alice_sk_hex"])
    )
    b["box_hex"] = boxed.hex()
    sb = d["sb"]
    sb["box_key_hex"] = hsalsa20(h(sb["sb_key_hex"]), bytes(16)).hex()
    msg = h(sb["msg_hex"])
    sb["box_hex"] = secretbox(h(sb["sb_key_hex"]), h(sb["nonce_hex"]), pad(msg, sb["pad_to"])).hex()
    sb["box_nopad_hex"] = secretbox(h(sb["sb_key_hex"]), h(sb["nonce_hex"]), msg).hex()
    for row in d["cb_nonce"]:
        row["out_hex"] = h(row["in_hex"])[:24].ljust(24, b"\0").hex()
    cb = d["cb_authenticator"]
    cb["source"] = (
        "Crypto.hs cbAuthenticate with fixed keys (libsodium; regression only): the client "
        "boxes sha512(authorized) with its queue key and the server session key"
    )
    cb["server_session_pk_hex"] = x25519_pub(h(cb["server_session_sk_hex"])).hex()
    cb["queue_pk_hex"] = x25519_pub(h(cb["queue_sk_hex"])).hex()
    digest = hashlib.sha512(h(cb["authorized_hex"])).digest()
    auth = nb.crypto_box(
        digest, h(cb["corr_id_hex"]), h(cb["server_session_pk_hex"]), h(cb["queue_sk_hex"])
    )
    cb["authenticator_hex"] = auth.hex()
    return d


def crypto_aead(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = (
        f"ratchet header encryption, {CROSS_CHECKED}: emHeader = Word16 3 ‖ ivHdr ‖ tag ‖ "
        "Large(ciphertext); encryptAEAD pads the header to 88 (simplexmq Crypto.hs:1030-1040); "
        "recomputed by tests/vectors/generators/computed.py"
    )
    for row in d["vectors"]:
        padded = pad(h(row["msg_hex"]), row["padded_len"])
        row["padded_hex"] = padded.hex()
        iv = h(row["iv_hex"])
        out = AESGCM(h(row["key_hex"])).encrypt(iv, padded, h(row["ad_hex"]))
        ct, tag = out[:-16], out[-16:]
        row["ciphertext_hex"], row["tag_hex"] = ct.hex(), tag.hex()
        row["em_header_hex"] = (
            struct.pack(">H", 3) + iv + tag + struct.pack(">H", len(ct)) + ct
        ).hex()
    return d


_PRIV = {
    "Ed25519": ed25519.Ed25519PrivateKey,
    "X25519": x25519.X25519PrivateKey,
    "X448": x448.X448PrivateKey,
    "Ed448": ed448.Ed448PrivateKey,
}


def crypto_keys(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = (
        "SPKI samples: simplexmq tests/ServerTests.hs:1422-1426 (samplePubKey, sampleDhPubKey) "
        "and src/Simplex/Messaging/Server.hs:1338-1347 (dummy verify keys); Ed25519: RFC 8032 "
        f"section 7.1 TEST 1; X25519: RFC 7748 section 6.1; X448: label a1, {CROSS_CHECKED}; "
        "PKCS#8 forms computed with cryptography (tests/vectors/generators/computed.py)"
    )
    for row in d["private"]:
        if row["alg"] == "X448":
            row["source"] = f"label a1 (SHA-512('a1')[0:56]), {CROSS_CHECKED}"
        key = _PRIV[row["alg"]].from_private_bytes(h(row["raw_hex"]))
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        row["public_hex"] = key.public_key().public_bytes(*raw).hex()
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        row["pkcs8_hex"] = der.hex()
    for row in d["signatures"]:
        key = _PRIV[row["alg"]].from_private_bytes(h(row["raw_hex"]))
        row["sig_hex"] = key.sign(h(row["msg_hex"])).hex()
    for row in d["dh"]:
        row["shared_hex"] = x25519_dh(h(row["a_hex"]), h(row["b_pub_hex"])).hex()
    return d


def crypto_padding(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = (
        "simplexmq tests/CoreTests/CryptoTests.hs:44-57 (pad/unPad cases); "
        "src/Simplex/Messaging/Crypto.hs:1082-1096 (pad, unPad)"
    )
    for row in d["pad"]:
        row["hex"] = pad(h(row["msg_hex"]), row["size"]).hex()
    for row in d["unpad"]:
        data = h(row["hex"])
        row["msg_hex"] = data[2 : 2 + struct.unpack(">H", data[:2])[0]].hex()
    return d


def _prim(t: str, row: dict[str, Any]) -> bytes:
    if t in ("int64", "system_time"):
        return struct.pack(">q", row["value"])
    if t in ("word16", "word32", "word64"):
        return struct.pack({"word16": ">H", "word32": ">I", "word64": ">Q"}[t], row["value"])
    if t == "bool":
        return b"T" if row["value"] else b"F"
    if t == "large":
        v = h(row["value_hex"])
        return struct.pack(">H", len(v)) + v
    items = row["value_hex"]
    if t == "short_string":
        return bytes([len(h(items))]) + h(items)
    if t == "maybe_short_string":
        return b"0" if items is None else b"1" + bytes([len(h(items))]) + h(items)
    assert t in ("list_short_string", "non_empty_short_string")
    return bytes([len(items)]) + b"".join(bytes([len(h(i))]) + h(i) for i in items)


def encoding_primitives(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = (
        "simplexmq tests/CoreTests/EncodingTests.hs (Int64, SystemTime); "
        "src/Simplex/Messaging/Encoding.hs instances (the other rows, derived from the "
        "encoders there; recomputed by tests/vectors/generators/computed.py)"
    )
    for row in d["vectors"]:
        row["hex"] = _prim(row["type"], row).hex()
    return d


def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode()


def encoding_strings(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = (
        "simplexmq src/Simplex/Messaging/Encoding/String.hs (base64urlP), "
        "src/Simplex/Messaging/Agent/QueryString.hs and http-types urlEncode rules; key hash "
        "testKeyHash of simplexmq tests/SMPClient.hs"
    )
    notes = [
        "simplexmq tests/SMPClient.hs testKeyHash",
        "tests/AgentTests/ConnectionRequestTests.hs",
    ]
    for row, note in zip(d["base64url"], notes, strict=False):
        row["source"] = note
    for row in d["base64url"]:
        row["padded"] = _b64url(h(row["hex"]))
        row["unpadded"] = row["padded"].rstrip("=")
    for row in d["percent"]:
        row["encoded"] = quote(row["decoded"], safe="-_.~")
    return d


BUILDERS = {
    "crypto_aead.json": crypto_aead,
    "crypto_kdf.json": crypto_kdf,
    "crypto_keys.json": crypto_keys,
    "crypto_nacl.json": crypto_nacl,
    "crypto_padding.json": crypto_padding,
    "encoding_primitives.json": encoding_primitives,
    "encoding_strings.json": encoding_strings,
}


def render() -> dict[str, str]:
    """File name -> exact file text (what :func:`main` writes)."""
    out = {}
    for name, build in BUILDERS.items():
        data = build(json.loads((VECTORS / name).read_text()))
        out[name] = json.dumps(data, indent=2) + "\n"
    return out


def main() -> None:
    for name, text in render().items():
        (VECTORS / name).write_text(text)
        print(f"wrote {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
