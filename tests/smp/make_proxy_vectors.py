"""Write tests/vectors/smp_proxy.json. Run: .venv/bin/python tests/smp/make_proxy_vectors.py

Every byte string is assembled by hand from the layouts in simplexmq Protocol.hs
(``FwdTransmission``, ``FwdResponse``, ``encodeTransmission_``, ``tEncodeBatch1``), Client.hs
(``proxySMPCommand``, ``forwardSMPTransmission``) and Server.hs
(``processForwardedCommand``), and boxed with libsodium through PyNaCl (``crypto_box_easy``
with the raw keys: X25519, HSalsa20, XSalsa20-Poly1305, as Crypto.hs ``cryptoBox``), never
with ``hushwire.smp.proxy`` or ``hushwire.crypto.nacl``; so the tests that read the file check
the module against an independent transcription. Keys and nonces are fixed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import nacl.bindings as sodium

from hushwire.encoding.binary import large, short_string, word16

OUT = Path(__file__).resolve().parents[1] / "vectors" / "smp_proxy.json"
ss = short_string

X25519_SPKI = bytes.fromhex("302a300506032b656e032100")
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
PADDED = 16226
BIG = 256  # blobs longer than this are pinned by length, SHA-256 and their first bytes

# RFC 7748 section 6.1 keys for D (Alice) and P (Bob); the others are counting bytes.
D_PRIV = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
P_PRIV = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
CMD_PRIV = bytes(range(0x01, 0x21))
SND_ED_SEED = bytes(range(0x40, 0x60))
SND_X_PRIV = bytes(range(0x60, 0x80))
SESSION_ID = bytes(range(0xA0, 0xC0))
N = bytes(range(0xC0, 0xD8))
N2 = bytes(range(0xE0, 0xF8))
SND_ID = bytes(range(0x10, 0x28))
LNK_ID = bytes(range(0x50, 0x68))


def pub(priv: bytes) -> bytes:
    return bytes(sodium.crypto_scalarmult_base(priv))


def box(msg: bytes, nonce: bytes, peer_pub: bytes, own_priv: bytes) -> bytes:
    return bytes(sodium.crypto_box_easy(msg, nonce, peer_pub, own_priv))


def pad(msg: bytes, size: int) -> bytes:
    return len(msg).to_bytes(2, "big") + msg + b"#" * (size - len(msg) - 2)


def blob(b: bytes) -> Any:
    if len(b) <= BIG:
        return b.hex()
    return {"len": len(b), "sha256": hashlib.sha256(b).hexdigest(), "head_hex": b[:48].hex()}


def case(
    name: str,
    version: int,
    entity: bytes,
    command: bytes,
    auth: str,
    response: bytes,
) -> dict[str, Any]:
    d_pub, p_pub, cmd_pub = pub(D_PRIV), pub(P_PRIV), pub(CMD_PRIV)
    to_send = ss(N) + ss(entity) + command
    authorized = ss(SESSION_ID) + to_send
    if auth == "none":
        t = b"\x00" + to_send
    else:
        if auth == "ed25519":
            _pk, sk = sodium.crypto_sign_seed_keypair(SND_ED_SEED)
            a = bytes(sodium.crypto_sign(authorized, sk))[:64]
        else:  # CbAuthenticator: box(sha512(authorized), N, D's key, sender's X25519 key)
            a = box(hashlib.sha512(authorized).digest(), N, d_pub, SND_X_PRIV)
        t = ss(a) + (b"0" if version >= 16 else b"") + to_send
    batch = b"\x01" + large(t)
    enc_t = box(pad(batch, PADDED), N, d_pub, CMD_PRIV)
    cmd_spki = X25519_SPKI + cmd_pub
    pfwd = b"PFWD " + word16(version) + ss(cmd_spki) + enc_t
    fwd_t = ss(N) + word16(version) + ss(cmd_spki) + enc_t
    rfwd = b"RFWD " + box(fwd_t, N2, d_pub, P_PRIV)
    # Destination's reply: encodeTransmission (empty auth, implied session), batch, pad, box.
    resp_t = b"\x00" + ss(N) + ss(entity) + response
    resp_batch = b"\x01" + large(resp_t)
    enc_r = box(pad(resp_batch, PADDED), N[::-1], cmd_pub, D_PRIV)
    fwd_r = ss(N) + enc_r
    rres = b"RRES " + box(fwd_r, N2[::-1], p_pub, D_PRIV)
    pres = b"PRES " + enc_r
    return {
        "name": name,
        "version": version,
        "entity_hex": entity.hex(),
        "command_hex": command.hex(),
        "auth": auth,
        "response_hex": response.hex(),
        "inner_transmission_hex": t.hex(),
        "inner_batch_hex": batch.hex(),
        "enc_transmission": blob(enc_t),
        "pfwd_command": blob(pfwd),
        "fwd_transmission": blob(fwd_t),
        "rfwd_command": blob(rfwd),
        "response_transmission_hex": resp_t.hex(),
        "enc_response": blob(enc_r),
        "fwd_response": blob(fwd_r),
        "rres_response": blob(rres),
        "pres_response": blob(pres),
    }


# A 63-byte PRXY example (simplexmq tests/SMPProxyTests.hs testSMPServer2),
# checked against a hand assembly below.
FIXED_PRXY = bytes.fromhex(
    "505258592001093132372e302e302e310435303032202dc25431f561c03f32c6"
    "302249a0f3cc6177fa42c6e14874165fd9223ad1c2323107636f7272656374"
)


def pkey_vector() -> dict[str, Any]:
    """PKEY assembled by hand (Protocol.hs: ``PKEY sp ss(sessId) Word16 min Word16 max
    CertChainPubKey``) with the certificate chain and (unsigned) key of smp_hello.json."""
    hello = json.loads((OUT.parent / "smp_hello.json").read_text())
    leaf, ca = bytes.fromhex(hello["leaf_cert_hex"]), bytes.fromhex(hello["ca_cert_hex"])
    signed = bytes.fromhex(hello["signed_key_hex"])
    chain = b"\x02" + large(leaf) + large(ca) + large(signed)
    body = ss(SESSION_ID) + word16(8) + word16(17) + chain
    return {
        "session_id_hex": SESSION_ID.hex(),
        "min": 8,
        "max": 17,
        "cert_chain_hex": [leaf.hex(), ca.hex()],
        "signed_key_hex": signed.hex(),
        "key_hash_hex": hello["key_hash_hex"],
        "response_hex": (b"PKEY " + body).hex(),
    }


def render() -> dict[str, str]:
    """The vector file this script owns, by name (tests/test_vectors_regenerate.py)."""
    kh2 = bytes.fromhex("2dc25431f561c03f32c6302249a0f3cc6177fa42c6e14874165fd9223ad1c232")
    assert FIXED_PRXY == b"PRXY \x01" + ss(b"127.0.0.1") + ss(b"5002") + ss(kh2) + b"1" + ss(
        b"correct"
    ), FIXED_PRXY.hex()
    ed_pub, _ = sodium.crypto_sign_seed_keypair(SND_ED_SEED)
    skey = b"SKEY " + ss(ED25519_SPKI + bytes(ed_pub))
    data = {
        "source": (
            "computed by tests/smp/make_proxy_vectors.py from fixed keys and nonces (D and P: "
            "RFC 7748 section 6.1 keys), with libsodium crypto_box and the layouts of simplexmq "
            "Client.hs proxySMPCommand / forwardSMPTransmission, Server.hs "
            "processForwardedCommand, Protocol.hs FwdTransmission / FwdResponse / "
            "paddedProxiedTLength / tEncodeBatch1, Crypto.hs cbEncrypt / cbEncryptNoPad / "
            "reverseNonce / cbAuthenticate (simplexmq 92598c2, 6.5.5.0). PRXY: the inputs of "
            "simplexmq smp-web tests/SMPWebTests.hs 'encodePRXY' and its 63-byte PRXY "
            "(tests/SMPProxyTests.hs testSMPServer2, password 'correct'). Regression values: "
            "simplexmq's own tests compare live encodings only and pin no bytes."
        ),
        "keys": {
            "d_priv_hex": D_PRIV.hex(),
            "p_priv_hex": P_PRIV.hex(),
            "cmd_priv_hex": CMD_PRIV.hex(),
            "sender_ed25519_seed_hex": SND_ED_SEED.hex(),
            "sender_x25519_priv_hex": SND_X_PRIV.hex(),
            "session_id_hex": SESSION_ID.hex(),
            "n_hex": N.hex(),
            "n2_hex": N2.hex(),
        },
        "cases": [
            case("SEND Ed25519 v17, OK", 17, SND_ID, b"SEND T hello via proxy", "ed25519", b"OK"),
            case("SEND X25519 v8, ERR AUTH", 8, SND_ID, b"SEND F hi", "x25519", b"ERR AUTH"),
            case("LGET v16, ERR AUTH", 16, LNK_ID, b"LGET", "none", b"ERR AUTH"),
            case("SKEY Ed25519 v16, OK", 16, SND_ID, skey, "ed25519", b"OK"),
        ],
        "prxy": [
            {
                "hosts": ["relay.example.com"],
                "port": None,
                "key_hash_hex": bytes(range(1, 33)).hex(),
                "basic_auth": None,
                "command_hex": (
                    b"PRXY \x01"
                    + ss(b"relay.example.com")
                    + ss(b"")
                    + ss(bytes(range(1, 33)))
                    + b"0"
                ).hex(),
            },
            {
                "hosts": ["127.0.0.1"],
                "port": 5002,
                "key_hash_hex": (
                    "2dc25431f561c03f32c6302249a0f3cc6177fa42c6e14874165fd9223ad1c232"
                ),
                "basic_auth": "correct",
                "command_hex": FIXED_PRXY.hex(),
            },
        ],
        "pkey": pkey_vector(),
    }
    return {OUT.name: json.dumps(data, indent=2) + "\n"}


def main() -> None:
    for name, text in render().items():
        (OUT.parent / name).write_text(text)


if __name__ == "__main__":
    main()
