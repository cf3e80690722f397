"""Build tests/vectors/agent_shortlinks.json: short-link forms and link data.

Run: .venv/bin/python tests/vectors/generators/agent_shortlinks.py

Two kinds of value, each marked in the file:

* ``reference``: text forms copied from simplexmq tests/AgentTests/ConnectionRequestTests.hs
  (``should serialize / parse short links``, lines 305-315, and ``should shorten / restore
  short links``, lines 316-345), with the fields they stand for.
* ``computed``: simplexmq has no crypto vectors for link data (ShortLinkTests.hs makes only
  random round trips), so these are regression values computed here from fixed keys and
  nonces. The encodings are written out by hand from the layouts of simplexmq
  ``Simplex.Messaging.Agent.Protocol`` (``FixedLinkData``, ``ConnectionRequestUri``,
  ``SMPQueueUri``, ``ConnLinkData``) and ``Simplex.Messaging.Crypto.ShortLink``, with
  hashlib, ``cryptography`` (HKDF, Ed25519), PyNaCl and HSalsa20 from
``hushwire.crypto.nacl`` (pinned by its own vectors), never with ``hushwire.agent``. The
  KDF, sender id, link key and blob digests also agree with values computed independently
  from the same layouts before this code existed. Not yet checked against Haskell output.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import nacl.bindings as nb
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hushwire.crypto.nacl import hsalsa20

NAME = "agent_shortlinks.json"
VECTORS = Path(__file__).resolve().parents[1]
SOURCE = "simplexmq tests/AgentTests/ConnectionRequestTests.hs"
KEY = b"0123456789abcdef0123456789abcdef"
ONION = "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion"
B64KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
B64ID = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"
FULL_Q = f"h={ONION}&p=5223&c=1234-w"
FULL_QS = f"h=smp.simplex.im%2C{ONION}&p=5223&c=1234-w"
SRV = {"hosts": ["smp.simplex.im", ONION], "port": 5223, "key_hash": "d76df8fb"}
SHORT_SRV = {"hosts": ["smp.simplex.im"], "port": None, "key_hash": ""}
LOCAL = "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI"


def _form(line: int, text: str, type_: str, srv: dict[str, Any], inv: bool) -> dict[str, Any]:
    return {
        "source": f"{SOURCE}:{line}",
        "text": text,
        "scheme": "https" if text.startswith("https") else "simplex",
        "type": type_,
        "server": srv,
        "link_id": KEY[:24].hex() if inv else None,
        "link_key": KEY.hex(),
    }


def uri_forms() -> list[dict[str, Any]]:
    a, g, i = "https://smp.simplex.im/a#", "https://smp.simplex.im/g#", "https://smp.simplex.im/i#"
    return [
        _form(306, f"{a}{B64KEY}?{FULL_Q}", "A", SRV, False),
        _form(307, f"{g}{B64KEY}?{FULL_Q}", "G", SRV, False),
        _form(308, f"{a}{B64KEY}", "A", SHORT_SRV, False),
        _form(309, f"{i}{B64ID}/{B64KEY}?{FULL_Q}", "i", SRV, True),
        _form(310, f"{i}{B64ID}/{B64KEY}", "i", SHORT_SRV, True),
        _form(311, f"simplex:/a#{B64KEY}?{FULL_QS}", "A", SRV, False),
        _form(312, f"simplex:/g#{B64KEY}?{FULL_QS}", "G", SRV, False),
        _form(313, f"simplex:/a#{B64KEY}?h=smp.simplex.im", "A", SHORT_SRV, False),
        _form(314, f"simplex:/i#{B64ID}/{B64KEY}?{FULL_QS}", "i", SRV, True),
        _form(315, f"simplex:/i#{B64ID}/{B64KEY}?h=smp.simplex.im", "i", SHORT_SRV, True),
    ]


def shorten_restore() -> list[dict[str, Any]]:
    preset = f"smp://{LOCAL}=@localhost:7001"
    return [
        {
            "source": f"{SOURCE}:337-341",
            "preset": preset,
            "full": "https://localhost/a#4AkRDmhf64tdRlN406g8lJRg5OCmhD6ynIhi6glOcCM"
            f"?p=7001&c={LOCAL}",
            "short": "https://localhost/a#4AkRDmhf64tdRlN406g8lJRg5OCmhD6ynIhi6glOcCM",
        },
        {
            "source": f"{SOURCE}:342-345",
            "preset": preset,
            "full": "https://localhost/i#tnUaHYp8saREmyEHR93SBpl8ySHBchOt/"
            f"LJ1ZQUzxH9Udb0jw5wmJACv5o6oe8e7BsX_hUCUMTSY?p=7001&c={LOCAL}",
            "short": "https://localhost/i#tnUaHYp8saREmyEHR93SBpl8ySHBchOt/"
            "LJ1ZQUzxH9Udb0jw5wmJACv5o6oe8e7BsX_hUCUMTSY",
        },
    ]


def hkdf(ikm: bytes, info: bytes, n: int) -> bytes:
    return HKDF(hashes.SHA512(), n, b"", info).derive(ikm)


def ss(b: bytes) -> bytes:
    return bytes((len(b),)) + b


def w16(*ns: int) -> bytes:
    return b"".join(n.to_bytes(2, "big") for n in ns)


def box(key: bytes, nonce: bytes, msg: bytes, padded: int) -> bytes:
    """``nonce ‖ tag ‖ XSalsa20`` of ``pad(msg)``, ``key`` used as a prepared box key."""
    p = len(msg).to_bytes(2, "big") + msg + b"#" * (padded - 2 - len(msg))
    # the symmetric key is used as a DH secret: crypto_box_afternm keys with HSalsa20(key, 0)
    return nonce + nb.crypto_secretbox_easy(p, nonce, hsalsa20(key))


def contact_link() -> dict[str, Any]:
    root = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"root").digest())
    root_der = root.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    corr_id = b"0123456789abcdef01234567"
    snd_id = hashlib.sha3_384(corr_id).digest()[:24]
    dh_der = bytes.fromhex(
        "302a300506032b656e0321008e2b30c08dcefcd952f059371c9516f3bd046366c0c26b6d301b2f441f5e577a"
    )
    key_hash = bytes(range(32))
    server = b"\x01" + ss(b"smp.example.com") + ss(b"5223") + ss(key_hash)
    queue = w16(1, 4) + server + ss(snd_id) + ss(dh_der)  # v1-4 contact: no mode byte
    conn_req = b"C" + w16(2, 7) + b"\x01" + queue + b"0"
    fd = w16(2, 7) + ss(root_der) + conn_req
    link_key = hashlib.sha3_256(fd).digest()
    okm = hkdf(link_key, b"SimpleXContactLink", 56)
    link_id, k = okm[:24], okm[24:]
    sig1 = root.sign(fd)
    user_json = b'{"profile":{"displayName":"alice","fullName":""},"business":false}'
    md = b"C" + w16(2, 7) + b"T" + b"\x00" + b"\x00" + ss(user_json)
    sig2 = root.sign(md)
    enc_fixed = box(k, b"\x01" * 24, ss(sig1) + fd, 2008)
    enc_user = box(k, b"\x02" * 24, ss(sig2) + md, 13784)
    return {
        "kind": "computed",
        "root_seed": hashlib.sha256(b"root").hexdigest(),
        "corr_id": corr_id.hex(),
        "sender_id": snd_id.hex(),
        "server": "smp://AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=@smp.example.com:5223",
        "queue_dh_der": dh_der.hex(),
        "user_data": user_json.decode(),
        "fixed_data": fd.hex(),
        "link_key": link_key.hex(),
        "link": "https://smp.example.com/a#ihIxzCyTghQ1AxT8Ai1GIEI98oostuupuqUcJBf6598"
        "?p=5223&c=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        "link_id": link_id.hex(),
        "box_key": k.hex(),
        "fixed_signature": sig1.hex(),
        "user_link_data": md.hex(),
        "user_signature": sig2.hex(),
        "fixed_nonce": (b"\x01" * 24).hex(),
        "user_nonce": (b"\x02" * 24).hex(),
        "enc_fixed": enc_fixed.hex(),
        "enc_user_sha256": hashlib.sha256(enc_user).hexdigest(),
        "enc_user_length": len(enc_user),
    }


def kdf() -> dict[str, Any]:
    okm = hkdf(KEY, b"SimpleXContactLink", 56)
    return {
        "kind": "computed",
        "link_key": KEY.hex(),
        "contact_link_id": okm[:24].hex(),
        "contact_box_key": okm[24:].hex(),
        "invitation_box_key": hkdf(KEY, b"SimpleXInvLink", 32).hex(),
        "corr_id": b"0123456789abcdef01234567".hex(),
        "sender_id": hashlib.sha3_384(b"0123456789abcdef01234567").digest()[:24].hex(),
    }


def build() -> dict[str, Any]:
    return {
        "note": __doc__.strip().splitlines()[0] if __doc__ else "",
        "uri_forms": uri_forms(),
        "shorten_restore": shorten_restore(),
        "kdf": kdf(),
        "contact_link": contact_link(),
    }


def render() -> dict[str, str]:
    """File name -> exact file text (what :func:`main` writes)."""
    return {NAME: json.dumps(build(), indent=1) + "\n"}


def main() -> None:
    for name, text in render().items():
        (VECTORS / name).write_text(text)
        print(f"wrote {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
