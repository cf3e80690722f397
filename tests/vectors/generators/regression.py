"""Recompute the values of crypto_x509.json and chat_messages.json that Hushwire made itself.

Run: .venv/bin/python tests/vectors/generators/regression.py

These are regression values: written by Hushwire's own code from fixed inputs, they pin
today's behaviour and prove nothing about the reference. Recomputed here:

- crypto_x509.json ``generated``: the CA and online certificates and the signed session key
  made by ``hushwire.crypto.x509`` from fixed keys, serials and time (EdDSA signatures are
  deterministic), shaped as simplexmq ``Simplex.Messaging.Server.CLI`` makes them.
- chat_messages.json ``encode``: the bytes of ``hushwire.chat.messages`` constructors (the
  first is the connInfo of the confirmation in agent_ratchet.json, which simplex-js decoded).

Everything else in these files comes from outside and is kept as committed: the simplexmq
certificate fixtures and their fingerprints, and the JSON strings of simplex-chat's
tests/ProtocolTests.hs.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from hushwire.chat.messages import (
    ChatMessage,
    Profile,
    hushwire_profile,
    x_contact,
    x_direct_del,
    x_info,
    x_msg_new_text,
)
from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey

VECTORS = Path(__file__).resolve().parents[1]


def _when(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _hex(s: str | None) -> bytes | None:
    return None if s is None else bytes.fromhex(s)


def crypto_x509(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = (
        "fingerprints: simplexmq tests/fixtures (copied to tests/vectors/fixtures), "
        "tests/SMPClient.hs:83 testKeyHash; generated certificates and signed keys: made by "
        "hushwire.crypto.x509 from fixed keys/serials/time (EdDSA is deterministic), shaped as "
        "simplexmq Server/CLI.hs:151-197 and Crypto.hs:1193 signX509 (regression only; "
        "tests/vectors/generators/regression.py)"
    )
    for row in d["generated"]:
        alg, now = KeyAlg(row["alg"]), _when(row["now"])
        ca_key = PrivateKey(alg, bytes.fromhex(row["ca_key_hex"]))
        online_key = PrivateKey(alg, bytes.fromhex(row["online_key_hex"]))
        ca_der, _ = x509.generate_ca(alg, now=now, key=ca_key, serial=row["ca_serial"])
        online_der, _ = x509.generate_online_cert(
            ca_der,
            ca_key,
            alg,
            row["common_name"],
            now=now,
            key=online_key,
            serial=row["online_serial"],
        )
        session = PublicKey(KeyAlg.X25519, bytes.fromhex(row["session_pub_hex"]))
        row["ca_der_hex"] = ca_der.hex()
        row["online_der_hex"] = online_der.hex()
        row["signed_key_hex"] = x509.sign_key(online_key, session).hex()
    return d


def _construct(case: dict[str, Any]) -> ChatMessage:
    name = case["constructor"]
    if name == "x_info":
        return x_info(Profile(case["display_name"]))
    if name == "x_msg_new_text":
        return x_msg_new_text(case["text"], _hex(case["msg_id_hex"]))
    if name == "x_direct_del":
        return x_direct_del()
    assert name == "x_contact", name
    profile = hushwire_profile(case["display_name"])
    return x_contact(profile, contact_req_id=_hex(case["contact_req_id_hex"]))


def chat_messages(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = (
        "parse: JSON strings of simplex-chat tests/ProtocolTests.hs (decodeChatMessageTest, "
        "stored commit f90d4ad8) with the typed view Hushwire gives them (events Hushwire does "
        "not handle are XUnknown); 'exact' marks strings that re-encode byte for byte (compact, "
        "v/msgId/event/params order). encode: bytes written by hushwire.chat.messages "
        "constructors (regression; tests/vectors/generators/regression.py), the first equal to "
        "the chat body of the ratchet confirmation in agent_ratchet.json (cross-checked against "
        "simplex-js 1.0.0)."
    )
    for case in d["encode"]:
        case["bytes"] = _construct(case).encode().decode("utf-8")
    return d


BUILDERS = {
    "crypto_x509.json": (crypto_x509, True),
    "chat_messages.json": (chat_messages, False),
}
"""File name -> (recompute, ensure_ascii as the file was first written)."""


def render() -> dict[str, str]:
    """File name -> exact file text (what :func:`main` writes)."""
    out = {}
    for name, (build, ascii_only) in BUILDERS.items():
        data = build(json.loads((VECTORS / name).read_text()))
        out[name] = json.dumps(data, indent=2, ensure_ascii=ascii_only) + "\n"
    return out


def main() -> None:
    for name, text in render().items():
        (VECTORS / name).write_text(text)
        print(f"wrote {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
