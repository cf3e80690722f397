"""Recompute the derived values of tests/vectors/agent_protocol.json.

Run: .venv/bin/python tests/vectors/generators/agent_protocol.py

The file was first assembled by a script that was not kept. Its inputs (keys made from
labels, the queue addresses of simplexmq tests/AgentTests/ConnectionRequestTests.hs, the
chat bodies, nonces) stay as committed; every value that follows from them is rebuilt here
by hand from the layouts of simplexmq ``Simplex.Messaging.Agent.Protocol`` (``AgentMessage``,
``AgentMsgEnvelope``, ``SMPQueueInfo``) and ``Simplex.Messaging.Protocol``
(``ClientMsgEnvelope``), with the SMP encoding primitives and PyNaCl only, never with
``hushwire.agent`` (docs/protocol/agent.md, "Envelopes").

Kept as committed, not rebuilt: the ``smp_queue_info`` forms and the queue-rotation
messages (hand-transcribed), and the zstd frames of ``compressed`` (their bytes depend on
the zstd library's version).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import nacl.bindings as nb

from hushwire.encoding.binary import int64, large, short_string, word16

NAME = "agent_protocol.json"
VECTORS = Path(__file__).resolve().parents[1]
X25519_SPKI_PREFIX = bytes.fromhex("302a300506032b656e032100")
CONFIRMATION_PAD = 15904
MESSAGE_PAD = 16000


def h(s: str) -> bytes:
    return bytes.fromhex(s)


def pad(m: bytes, n: int) -> bytes:
    return word16(len(m)) + m + b"#" * (n - 2 - len(m))


def x25519_spki(priv: bytes) -> bytes:
    return X25519_SPKI_PREFIX + nb.crypto_scalarmult_base(priv)


ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def server(c: dict[str, Any]) -> bytes:
    """``ProtocolServer`` binary: NonEmpty hosts, port (empty: none), key hash."""
    hosts = bytes([len(c["hosts"])]) + b"".join(short_string(x.encode()) for x in c["hosts"])
    port = b"" if c["port"] is None else str(c["port"]).encode()
    return hosts + short_string(port) + short_string(h(c["key_hash"]))


def agent_message(m: dict[str, Any]) -> bytes:
    """``AgentMessage`` 'M': APrivHeader (Int64 sndMsgId, shortString prevMsgHash), AMessage."""
    head = b"M" + int64(m["snd_msg_id"]) + short_string(h(m["prev_msg_hash"]))
    kind = m["kind"]
    if kind == "A_MSG":
        return head + b"M" + m["body"].encode()
    if kind == "HELLO":
        return head + b"H"
    if kind == "EREADY":
        return head + b"E" + int64(m["last_decrypted_msg_id"])
    assert kind == "A_RCVD", kind
    receipts = m["receipts"]
    items = b"".join(int64(i) + short_string(h(hs)) + large(h(info)) for i, hs, info in receipts)
    return head + b"V" + bytes([len(receipts)]) + items


def e2e_params(keys: dict[str, str], version: int) -> bytes:
    """``E2ERatchetParams``: Word16 version, two X448 keys, from v3 a Maybe KEM ('0')."""
    body = word16(version) + short_string(h(keys["k1_der"])) + short_string(h(keys["k2_der"]))
    return body + (b"0" if version >= 3 else b"")


def envelope(e: dict[str, Any], keys: dict[str, str], erm: bytes) -> bytes:
    head = word16(e["agent_version"]) + e["kind"].encode()
    if e["kind"] == "C":
        v = e["e2e_version"]
        return head + (b"0" if v is None else b"1" + e2e_params(keys, v)) + erm
    if e["kind"] == "M":
        return head + erm
    assert e["kind"] == "R"
    return head + e2e_params(keys, e["e2e_version"]) + e["info"].encode()


def client_envelope(
    sender_priv: bytes, recipient_priv: bytes, nonce: bytes, message: bytes, with_key: bool
) -> bytes:
    """``ClientMsgEnvelope``: PubHeader (Word16 4, Maybe sender key), nonce, crypto_box."""
    key = b"1" + short_string(x25519_spki(sender_priv)) if with_key else b"0"
    size = CONFIRMATION_PAD if with_key else MESSAGE_PAD
    recipient_pub = nb.crypto_scalarmult_base(recipient_priv)
    boxed = nb.crypto_box(pad(message, size), nonce, recipient_pub, sender_priv)
    return word16(4) + key + nonce + boxed


def _digest(data: bytes) -> dict[str, Any]:
    return {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def build(d: dict[str, Any]) -> dict[str, Any]:
    d["source"] = d["source"].replace(
        "(script kept out of the repo: raw bytes, cryptography X25519/X448, PyNaCl crypto_box, "
        "zstd CLI)",
        "(derived values recomputed by tests/vectors/generators/agent_protocol.py with raw "
        "bytes and PyNaCl; the zstd frames were made with the zstd CLI)",
    )
    for m in d["agent_messages"]:
        data = agent_message(m)
        m["hex"], m["sha256"] = data.hex(), hashlib.sha256(data).hexdigest()

    info = d["agent_conn_info"]
    info["hex"] = (b"I" + info["conn_info"].encode()).hex()
    r = d["agent_conn_info_reply"]
    queue = (
        word16(4)
        + b"\x01"
        + short_string(r["host"].encode())
        + short_string(str(r["port"]).encode())
        + short_string(h(d["common"]["key_hash"]))
        + short_string(h(r["sender_id"]))
        + short_string(h(r["dh_key_der"]))
        + b"M"
    )
    reply = b"D" + b"\x01" + queue + r["conn_info"].encode()
    r["hex"], r["sha256"] = reply.hex(), hashlib.sha256(reply).hexdigest()

    erm = h(d["enc_ratchet_message"])
    for e in d["envelopes"]:
        e["hex"] = envelope(e, d["e2e_keys"], erm).hex()

    # Our AgentRatchetKey as the ClientMessage we seal (Agent.hs enqueueRatchetKey): '_',
    # the envelope with info = smpEncode (AgentRatchetInfo "") = "R"; the sender's hash chain
    # goes on from SHA-256 of that info.
    rk = d.setdefault("ratchet_key_message", {"agent_version": 7, "e2e_version": 3})
    info = b"R"
    rk_env = word16(rk["agent_version"]) + b"R" + e2e_params(d["e2e_keys"], rk["e2e_version"])
    rk["client_message_hex"] = (b"_" + rk_env + info).hex()
    rk["next_prev_msg_hash"] = hashlib.sha256(info).hexdigest()

    # One rotation as our agent answers it (Agent.hs qAddMsg, qUseMsg): the recipient's QADD
    # of a new queue (range 1-4, messaging: the 'T' flag) replacing the old one, our QKEY
    # (the new queue at v4 with our X25519 key as dh, our Ed25519 sender key), its QUSE and
    # our QTEST.
    rot = d.setdefault(
        "queue_rotation",
        {
            "new_sender_id": "0a0b0c0d",
            "old_sender_id": d["common"]["sender_id"],
            "e2e_priv_seed_label": "rotation-e2e",
            "auth_seed_label": "rotation-auth",
        },
    )
    rot["e2e_priv"] = hashlib.sha256(rot["e2e_priv_seed_label"].encode()).hexdigest()
    auth_pub, _ = nb.crypto_sign_seed_keypair(
        hashlib.sha256(rot["auth_seed_label"].encode()).digest()
    )
    rot["auth_pub_der"] = (ED25519_SPKI_PREFIX + auth_pub).hex()
    srv = server(d["common"])
    new_addr = srv + short_string(h(rot["new_sender_id"]))
    old_addr = server({**d["common"], "hosts": d["common"]["hosts"][:1], "port": None})
    old_addr += short_string(h(rot["old_sender_id"]))
    uri = word16(1) + word16(4) + new_addr + short_string(h(d["common"]["dh_key_der"])) + b"T"
    rot["qadd_hex"] = (b"QA" + b"\x01" + uri + b"1" + old_addr).hex()
    info = word16(4) + new_addr + short_string(x25519_spki(h(rot["e2e_priv"]))) + b"M"
    rot["qkey_hex"] = (b"QK" + b"\x01" + info + short_string(h(rot["auth_pub_der"]))).hex()
    rot["quse_hex"] = (b"QU" + b"\x01" + new_addr + b"T").hex()
    rot["qtest_hex"] = (b"QT" + b"\x01" + new_addr).hex()

    inv = d["invitation_envelope"]
    inv["recipient_priv"] = hashlib.sha256(inv["recipient_priv_seed_label"].encode()).hexdigest()
    inv["sender_priv"] = hashlib.sha256(inv["sender_priv_seed_label"].encode()).hexdigest()
    agent_env = word16(7) + b"I" + large(inv["conn_req"].encode()) + inv["conn_info"].encode()
    inv["agent_envelope_hex"] = agent_env.hex()
    inv["client_message_hex"] = (b"_" + agent_env).hex()
    out = client_envelope(
        h(inv["sender_priv"]), h(inv["recipient_priv"]), h(inv["nonce"]), b"_" + agent_env, True
    )
    inv["prefix_hex"] = out[:72].hex()
    inv.update(_digest(out))

    q = d["queue_envelopes"]
    for case in q["cases"]:
        with_key = "confirmation" in case["name"]  # the first message on a queue carries the key
        out = client_envelope(
            h(q["sender_priv"]),
            h(q["recipient_priv"]),
            h(case["nonce"]),
            h(case["client_message_hex"]),
            with_key,
        )
        case["prefix_hex"] = out[: 72 if with_key else 27].hex()
        case.update(_digest(out))
    return d


def render() -> dict[str, str]:
    """File name -> exact file text (what :func:`main` writes)."""
    committed = json.loads((VECTORS / NAME).read_text())
    return {NAME: json.dumps(build(committed), indent=1)}


def main() -> None:
    for name, text in render().items():
        (VECTORS / name).write_text(text)
        print(f"wrote {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
