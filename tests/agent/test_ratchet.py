"""hushwire.agent.ratchet: X3DH, e2e params and the double ratchet (docs/protocol/agent.md).

Scenarios mirror simplexmq tests/AgentTests/DoubleRatchetTests.hs (testEncryptDecrypt,
testSkippedMessages, testManyMessages, testSkippedAfterRatchetAdvance); its fixed JSON
(v2RatchetJSON) is an X25519 ratchet in Haskell's storage format, so it does not apply here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.agent import ratchet as R
from hushwire.agent.ratchet import (
    E2E_VERSIONS,
    E2ERatchetParams,
    E2ERatchetParamsUri,
    MsgHeader,
    Ratchet,
    RatchetDuplicate,
    RatchetEarlier,
    RatchetError,
    RatchetHeaderError,
    RatchetKEMError,
    RatchetTooManySkipped,
    X3DHKeys,
    chain_kdf,
    root_kdf,
    x3dh_initiator,
    x3dh_joiner,
)
from hushwire.crypto.aead import encrypt_aead
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey
from hushwire.encoding.binary import Reader, large, short_string, word16, word32
from hushwire.encoding.strings import percent_decode
from hushwire.errors import CryptoError, DecodeError
from hushwire.smp.version import VersionRange

V = load_vectors("agent_ratchet.json")
PAD = 200
ANY_ERROR = (DecodeError, CryptoError, RatchetError)
REDELIVERY_ERRORS = (RatchetDuplicate, RatchetEarlier, RatchetHeaderError)


def priv(label: str) -> PrivateKey:
    return PrivateKey(KeyAlg.X448, hashlib.sha512(label.encode()).digest()[:56])


def pair(label: str) -> KeyPair:
    k = priv(label)
    return KeyPair(k.public(), k)


def fresh() -> KeyPair:
    return KeyPair.generate(KeyAlg.X448)


def vector_keys() -> X3DHKeys:
    inv = E2ERatchetParamsUri(E2E_VERSIONS, priv("a1").public(), priv("a2").public())
    return x3dh_joiner(priv("b1"), priv("b2"), inv)


def make_pair(
    version: int = 3, *, joiner_max: int = 3, initiator_max: int = 3
) -> tuple[Ratchet, Ratchet]:
    """(initiator, joiner) after the X3DH of a fresh connection."""
    a1, a2, b1, b2 = fresh(), fresh(), fresh(), fresh()
    inv = E2ERatchetParamsUri(E2E_VERSIONS, a1.public, a2.public)
    jk = x3dh_joiner(b1.private, b2.private, inv)
    conf = E2ERatchetParams.decode(E2ERatchetParams(version, b1.public, b2.public).encode())
    ik = x3dh_initiator(a1.private, a2.private, conf)
    assert ik == jk
    joiner = Ratchet.init_joiner(jk, a2.public, version, max_version=joiner_max)
    initiator = Ratchet.init_initiator(ik, a2, version, max_version=initiator_max)
    return initiator, joiner


def send(r: Ratchet, text: str) -> tuple[bytes, Ratchet]:
    return r.encrypt(text.encode(), PAD)


def recv(r: Ratchet, enc: bytes, expect: str) -> Ratchet:
    pt, r2 = r.decrypt(enc)
    assert pt == expect.encode()
    return r2


def exchange(s: Ratchet, r: Ratchet, text: str) -> tuple[Ratchet, Ratchet]:
    enc, s = send(s, text)
    return s, recv(r, enc, text)


# --------------------------------------------------------------------------- fixed examples


def test_vector_public_keys() -> None:
    for label, pub in V["public_keys"].items():
        assert priv(label).public().raw.hex() == pub


def test_vector_x3dh_both_sides() -> None:
    x = V["x3dh"]
    joiner = vector_keys()
    conf = E2ERatchetParams(3, priv("b1").public(), priv("b2").public())
    initiator = x3dh_initiator(priv("a1"), priv("a2"), conf)
    assert joiner == initiator
    assert (joiner.hk.hex(), joiner.nhk.hex(), joiner.sk.hex()) == (x["hk"], x["nhk"], x["sk"])
    assert joiner.ad.hex() == x["ad"] == V["public_keys"]["b1"] + V["public_keys"]["a1"]
    # the joiner may also use the binary params form of the invitation
    params = E2ERatchetParams(3, priv("a1").public(), priv("a2").public())
    assert x3dh_joiner(priv("b1"), priv("b2"), params) == joiner


def test_vector_kdfs() -> None:
    x, rk = V["x3dh"], V["joiner_root_kdf"]
    out = root_kdf(bytes.fromhex(x["sk"]), priv("b3").dh(priv("a2").public()))
    assert [o.hex() for o in out] == [rk["rk"], rk["cks"], rk["nhks"]]
    c = V["chain_kdf"]
    assert [o.hex() for o in chain_kdf(bytes.fromhex(c["ck"]))] == [
        c["ck_next"],
        c["mk"],
        c["iv_msg"],
        c["iv_hdr"],
    ]


def test_vector_confirmation_byte_exact() -> None:
    c = V["confirmation"]
    joiner = Ratchet.init_joiner(
        vector_keys(), priv("a2").public(), c["version"], dh_pair=pair("b3")
    )
    enc, joiner2 = joiner.encrypt(c["body"].encode(), c["pad_to"])
    assert len(enc) == c["length"] == 2 + 124 + 16 + 14832
    assert enc[:2] == b"\x00\x7c"
    assert enc[2:126].hex() == c["em_header"]
    assert hashlib.sha256(enc).hexdigest() == c["sha256"]
    assert (joiner2.ns, joiner.ns) == (1, 0)
    initiator = Ratchet.init_initiator(vector_keys(), pair("a2"), 3)
    pt, initiator2 = initiator.decrypt(enc)
    assert pt == c["body"].encode()
    assert (initiator2.nr, initiator2.pn, initiator2.can_send) == (1, 0, True)


def test_vector_reply_regression() -> None:
    c, rep = V["confirmation"], V["regression"]["reply"]
    joiner = Ratchet.init_joiner(vector_keys(), priv("a2").public(), 3, dh_pair=pair("b3"))
    enc, joiner = joiner.encrypt(c["body"].encode(), c["pad_to"])
    initiator = Ratchet.init_initiator(vector_keys(), pair("a2"), 3)
    assert not initiator.can_send
    _, initiator = initiator.decrypt(enc, new_dh=pair(rep["initiator_new_dh"]))
    reply, _ = initiator.encrypt(rep["body"].encode(), rep["pad_to"])
    assert len(reply) == rep["length"]
    assert reply[2:126].hex() == rep["em_header"]
    assert hashlib.sha256(reply).hexdigest() == rep["sha256"]
    pt, joiner = joiner.decrypt(reply)
    assert pt == rep["body"].encode()
    assert (joiner.pn, joiner.ns, joiner.nr) == (1, 0, 1)


def test_vector_v2_confirmation() -> None:
    c = V["regression"]["confirmation_v2"]
    joiner = Ratchet.init_joiner(
        vector_keys(), priv("a2").public(), 2, dh_pair=pair("b3"), max_version=c["max_version"]
    )
    enc, _ = joiner.encrypt(c["body"].encode(), c["pad_to"])
    assert enc[0] == 123 and len(enc) == c["length"] == 1 + 123 + 16 + 14832
    assert enc[1:124].hex() == c["em_header"]
    assert enc[1 + 34] == 88  # 1-byte ehBody length at v2
    assert hashlib.sha256(enc).hexdigest() == c["sha256"]
    initiator = Ratchet.init_initiator(vector_keys(), pair("a2"), 2)
    pt, initiator = initiator.decrypt(enc)
    assert pt == c["body"].encode() and initiator.version == 2


# --------------------------------------------------------------------------- e2e params


def test_params_binary() -> None:
    b1, b2 = priv("b1").public(), priv("b2").public()
    reg = V["regression"]
    v3 = E2ERatchetParams(3, b1, b2)
    v2 = E2ERatchetParams(2, b1, b2)
    assert v3.encode().hex() == reg["confirmation_params_v3"]
    assert v2.encode().hex() == reg["confirmation_params_v2"]
    assert v3.encode() == v2.encode()[:2].replace(b"\x02", b"\x03") + v2.encode()[2:] + b"0"
    assert len(v3.encode()) == 2 + 69 + 69 + 1
    assert E2ERatchetParams.decode(v3.encode()) == v3
    assert E2ERatchetParams.decode(v2.encode()) == v2
    with pytest.raises(DecodeError):
        E2ERatchetParams.decode(v2.encode() + b"0")  # no KEM field before v3
    r = Reader(v3.encode() + b"tail")
    assert E2ERatchetParams.parse(r) == v3 and r.remaining == 4
    assert v3.to_uri(E2E_VERSIONS) == E2ERatchetParamsUri(E2E_VERSIONS, b1, b2)


def _params_with_kem(kem: bytes, version: int = 3) -> bytes:
    b1, b2 = priv("b1").public(), priv("b2").public()
    return word16(version) + short_string(b1.to_der()) + short_string(b2.to_der()) + kem


def test_params_kem_parsed_and_ignored() -> None:
    proposed = E2ERatchetParams.decode(_params_with_kem(b"1P" + large(b"k" * 1158)))
    assert proposed.peer_offered_kem and not proposed.peer_kem_accepted
    assert proposed == E2ERatchetParams(3, priv("b1").public(), priv("b2").public())
    # a proposal from the joiner is ignored: the initiator runs pure DH
    assert x3dh_initiator(priv("a1"), priv("a2"), proposed) == vector_keys()
    accepted = E2ERatchetParams.decode(_params_with_kem(b"1A" + large(b"c" * 1039) + large(b"k")))
    assert accepted.peer_offered_kem and accepted.peer_kem_accepted
    with pytest.raises(RatchetKEMError):
        x3dh_initiator(priv("a1"), priv("a2"), accepted)
    # the joiner ignores whatever the invitation carried
    assert x3dh_joiner(priv("b1"), priv("b2"), accepted) == x3dh_joiner(
        priv("b1"), priv("b2"), proposed
    )
    for bad in (b"1X", b"2", b"1P\x00", b"1A" + large(b"c"), b""):
        with pytest.raises(DecodeError):
            E2ERatchetParams.decode(_params_with_kem(bad))


def test_params_bad_keys() -> None:
    x25519 = PrivateKey.generate(KeyAlg.X25519).public()
    bad = word16(3) + short_string(x25519.to_der()) * 2 + b"0"
    with pytest.raises(DecodeError):
        E2ERatchetParams.decode(bad)
    with pytest.raises(ValueError):
        E2ERatchetParams(3, x25519, x25519)
    with pytest.raises(ValueError):
        E2ERatchetParamsUri(E2E_VERSIONS, x25519, x25519)


def test_params_uri() -> None:
    a1, a2 = priv("a1").public(), priv("a2").public()
    uri = E2ERatchetParamsUri(E2E_VERSIONS, a1, a2)
    text = uri.to_str()
    assert text == V["regression"]["invitation_e2e"]
    assert text.startswith("v=2-3&x3dh=MEIwBQYDK2VvAzkA") and "%" not in text
    assert E2ERatchetParamsUri.parse_str(text) == uri
    one = E2ERatchetParamsUri(VersionRange(3, 3), a1, a2)
    assert one.to_str().startswith("v=3&x3dh=")
    assert E2ERatchetParamsUri.parse_str(one.to_str()) == one
    assert uri.for_version(3) == E2ERatchetParams(3, a1, a2)


def test_params_uri_haskell_vector() -> None:
    h = V["e2e_uri_haskell"]
    assert percent_decode(h["escaped"]) == h["decoded"]
    uri = E2ERatchetParamsUri.parse_str(h["decoded"])
    assert uri.versions == VersionRange(1, 1) and uri.k1 == uri.k2
    assert uri.to_str() == h["decoded"]
    # unpadded base64 (as simplex-js writes it) and a percent-escaped value are accepted
    assert E2ERatchetParamsUri.parse_str(h["decoded"].replace("=,", ",")) == uri
    assert E2ERatchetParamsUri.parse_str(h["decoded"].replace("=,", "%3D,")) == uri


def test_params_uri_kem() -> None:
    base = E2ERatchetParamsUri(E2E_VERSIONS, priv("a1").public(), priv("a2").public())
    text = base.to_str()
    p = E2ERatchetParamsUri.parse_str(text + "&kem_key=AAAA")
    assert p.peer_offered_kem and p == base
    assert E2ERatchetParamsUri.parse_str(text + "&kem_ct=AAAA&kem_key=AAAA").peer_offered_kem
    assert not E2ERatchetParamsUri.parse_str(text + "&kem_ct=AAAA").peer_offered_kem
    v2 = E2ERatchetParamsUri(VersionRange(2, 2), base.k1, base.k2)
    # before v3 the KEM parameters are not read at all
    assert not E2ERatchetParamsUri.parse_str(v2.to_str() + "&kem_key=!!").peer_offered_kem
    for bad in ("&kem_key=!!", "&kem_key=AAAA&kem_ct=!!"):
        with pytest.raises(DecodeError):
            E2ERatchetParamsUri.parse_str(text + bad)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x3dh=AAAA,AAAA",
        "v=2-3",
        "v=3-2&x3dh=K,K",
        "v=a&x3dh=K,K",
        "v=70000&x3dh=K,K",
        "v=2-3&x3dh=K",
        "v=2-3&x3dh=K,K,K",
        "v=2-3&x3dh=X,X",
        "v=2-3&x3dh=K,!!",
    ],
)
def test_params_uri_bad(text: str) -> None:
    k = E2ERatchetParamsUri(E2E_VERSIONS, priv("a1").public(), priv("a1").public()).to_str()
    key = k.split("=", 2)[2].split(",")[0]
    x25519 = PrivateKey.generate(KeyAlg.X25519).public()
    from hushwire.encoding.strings import b64url_encode

    text = text.replace("K", key).replace("X", b64url_encode(x25519.to_der()))
    with pytest.raises(DecodeError) as e:
        E2ERatchetParamsUri.parse_str(text)
    assert "e2e params" in str(e.value) or "base64" in str(e.value) or "key" in str(e.value)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("version", [2, 3])
def test_round_trips(version: int) -> None:
    initiator, joiner = make_pair(version, joiner_max=version, initiator_max=version)
    with pytest.raises(RatchetError):
        send(initiator, "too early")
    joiner, initiator = exchange(joiner, initiator, "conf")
    initiator, joiner = exchange(initiator, joiner, "reply")
    for i in range(3):
        joiner, initiator = exchange(joiner, initiator, f"j{i}")
        joiner, initiator = exchange(joiner, initiator, f"j{i}b")
        initiator, joiner = exchange(initiator, joiner, f"i{i}")
    enc, _ = send(joiner, "x")
    assert enc[:2] == (b"\x00\x7c" if version == 3 else b"\x7b\x00")
    assert initiator.version == joiner.version == version


def test_v2_peer_keeps_v2() -> None:
    # A v2-only joiner and a v3-capable initiator stay at v2 both ways.
    initiator, joiner = make_pair(2, joiner_max=2, initiator_max=3)
    joiner, initiator = exchange(joiner, initiator, "conf")
    initiator, joiner = exchange(initiator, joiner, "reply")
    joiner, initiator = exchange(joiner, initiator, "m")
    assert (initiator.version, joiner.version) == (2, 2)


def test_version_raise() -> None:
    # A header with a higher msgMaxVersion raises the current version.
    initiator, joiner = make_pair(2)
    enc, joiner = send(joiner, "conf")
    assert enc[0] == 123  # v2 framing
    initiator = recv(initiator, enc, "conf")
    assert initiator.version == 3
    enc, initiator = send(initiator, "reply")
    assert enc[:2] == b"\x00\x7c"  # v3 framing
    joiner = recv(joiner, enc, "reply")
    assert joiner.version == 3


def test_haskell_encrypt_decrypt() -> None:
    alice, bob = make_pair()
    bob, alice = exchange(bob, alice, "hello alice")
    alice, bob = exchange(alice, bob, "hello bob")
    b = []
    for t in ("how are you, alice?", "are you there?", "hey?"):
        enc, bob = send(bob, t)
        b.append((enc, t))
    a = []
    for t in ("how are you, bob?", "are you there?", "hey?"):
        enc, alice = send(alice, t)
        a.append((enc, t))
    for enc, t in b:
        alice = recv(alice, enc, t)
    for enc, t in a:
        bob = recv(bob, enc, t)
    bob, alice = exchange(bob, alice, "I'm here, all good")
    alice, bob = exchange(alice, bob, "I'm here too, same")


def test_haskell_skipped_messages() -> None:
    alice, bob = make_pair()
    m1, bob = send(bob, "hello alice")
    m2, bob = send(bob, "hello there again")
    m3, bob = send(bob, "are you there?")
    alice = recv(alice, m3, "are you there?")
    assert alice.skipped_count == 2
    with pytest.raises(RatchetDuplicate):
        alice.decrypt(m3)
    alice = recv(alice, m2, "hello there again")
    alice = recv(alice, m1, "hello alice")
    assert alice.skipped_count == 0 and alice.skipped == ()


def test_haskell_many_messages() -> None:
    alice, bob = make_pair()
    script = "b1 b2 b3 b4 a5 a6 a7 b8 a9 a10 b11 b12 a14 b15 b16".split()
    for t in script:
        if t[0] == "b":
            bob, alice = exchange(bob, alice, t)
        else:
            alice, bob = exchange(alice, bob, t)


def test_haskell_skipped_after_ratchet_advance() -> None:
    alice, bob = make_pair()
    msgs: dict[str, bytes] = {}

    def enc(name: str) -> None:
        nonlocal bob
        msgs[name], bob = send(bob, name)

    bob, alice = exchange(bob, alice, "b1")
    for n in ("b2", "b3", "b4"):
        enc(n)
    alice, bob = exchange(alice, bob, "a5")
    for n in ("b5", "b6"):
        enc(n)
    bob, alice = exchange(bob, alice, "b7")
    for n in ("b8", "b9"):
        enc(n)
    alice, bob = exchange(alice, bob, "a10")
    for n in ("b11", "b12"):
        enc(n)
    alice, bob = exchange(alice, bob, "a14")
    alice = recv(alice, msgs["b12"], "b12")
    alice = recv(alice, msgs["b2"], "b2")
    with pytest.raises(RatchetHeaderError):  # a repeat from a finished chain (as simplexmq)
        alice.decrypt(msgs["b2"])
    alice, bob = exchange(alice, bob, "a15")
    for n in ("a16", "a17"):
        enc(n)
    for n in ("b8", "b3", "b4", "b5", "b6"):
        alice = recv(alice, msgs[n], n)
    alice, bob = exchange(alice, bob, "a18")
    for n in ("a16", "a17", "b9", "b11"):
        alice = recv(alice, msgs[n], n)
    assert alice.skipped_count == 0


def test_duplicate_and_earlier() -> None:
    alice, bob = make_pair()
    m = []
    for i in range(3):
        enc, bob = send(bob, f"m{i}")
        m.append(enc)
    alice = recv(alice, m[2], "m2")
    alice = recv(alice, m[0], "m0")
    with pytest.raises(RatchetDuplicate):
        alice.decrypt(m[2])
    with pytest.raises(RatchetEarlier) as e:
        alice.decrypt(m[0])
    assert e.value.count == 2
    alice = recv(alice, m[1], "m1")
    with pytest.raises(RatchetEarlier):  # no skipped keys left: tried under HKr
        alice.decrypt(m[1])


def test_other_connection_and_tampering() -> None:
    alice, bob = make_pair()
    other_alice, _ = make_pair()
    enc, bob = send(bob, "hi")
    with pytest.raises(RatchetHeaderError):
        other_alice.decrypt(enc)
    alice = recv(alice, enc, "hi")
    alice, bob = exchange(alice, bob, "back")
    enc, bob = send(bob, "again")
    with pytest.raises(RatchetHeaderError):
        other_alice.decrypt(enc)  # no HKr matches, nor NHKr
    body = bytearray(enc)
    body[-1] ^= 1
    with pytest.raises(CryptoError) as ce:
        alice.decrypt(bytes(body))
    assert type(ce.value) is CryptoError
    hdr = bytearray(enc)
    hdr[60] ^= 1
    with pytest.raises(RatchetHeaderError):
        alice.decrypt(bytes(hdr))
    with pytest.raises(DecodeError):
        alice.decrypt(b"")
    with pytest.raises(DecodeError):
        alice.decrypt(enc[:130])
    with pytest.raises(DecodeError):  # emHeader with a trailing byte
        alice.decrypt(b"\x00\x7d" + enc[2:126] + b"\x00" + enc[126:])
    recv(alice, enc, "again")


def test_body_tamper_from_skipped_key() -> None:
    alice, bob = make_pair()
    m0, bob = send(bob, "m0")
    m1, bob = send(bob, "m1")
    alice = recv(alice, m1, "m1")
    bad = bytearray(m0)
    bad[-1] ^= 1
    with pytest.raises(CryptoError):
        alice.decrypt(bytes(bad))
    recv(alice, m0, "m0")  # the failed attempt consumed nothing


def test_encrypt_errors() -> None:
    _, joiner = make_pair()
    with pytest.raises(ValueError):
        joiner.encrypt(b"x" * 99, 100)
    enc, _ = joiner.encrypt(b"x" * 98, 100)
    assert len(enc) == 2 + 124 + 16 + 100


def test_init_version_checks() -> None:
    keys = vector_keys()
    for v, mx in ((1, 3), (4, 4), (3, 2)):
        with pytest.raises(ValueError):
            Ratchet.init_joiner(keys, priv("a2").public(), v, max_version=mx)
        with pytest.raises(ValueError):
            Ratchet.init_initiator(keys, pair("a2"), v, max_version=mx)


# --------------------------------------------------------------------------- skipped keys


def test_max_skip_per_chain() -> None:
    alice, bob = make_pair()
    msgs = []
    for i in range(515):
        enc, bob = bob.encrypt(b"%d" % i, 20)
        msgs.append(enc)
    with pytest.raises(RatchetTooManySkipped) as e:
        alice.decrypt(msgs[513])
    assert e.value.count == 514
    pt, alice2 = alice.decrypt(msgs[512])  # exactly 512 skipped is allowed
    assert pt == b"512" and alice2.skipped_count == 512
    pt, alice2 = alice2.decrypt(msgs[0])
    assert pt == b"0" and alice2.skipped_count == 511


def test_max_skip_previous_chain() -> None:
    # PN skipping in the old chain on a ratchet step is bounded too.
    alice, bob = make_pair()
    first, bob = bob.encrypt(b"first", 20)
    for _ in range(600):
        _, bob = bob.encrypt(b"lost", 20)
    alice = recv(alice, first, "first")
    alice, bob = exchange(alice, bob, "reply")
    enc, bob = bob.encrypt(b"new chain", 20)
    with pytest.raises(RatchetTooManySkipped):
        alice.decrypt(enc)


def test_total_skipped_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(R, "RATCHET_MAX_SKIPPED_KEYS", 5)
    alice, bob = make_pair()
    x = []
    for i in range(4):
        enc, bob = send(bob, f"x{i}")
        x.append(enc)
    alice = recv(alice, x[3], "x3")
    assert alice.skipped_count == 3
    alice, bob = exchange(alice, bob, "a")
    y = []
    for i in range(4):
        enc, bob = send(bob, f"y{i}")
        y.append(enc)
    alice = recv(alice, y[3], "y3")
    assert alice.skipped_count == 5  # 6 stored, the oldest (x0) dropped
    with pytest.raises(RatchetHeaderError):
        alice.decrypt(x[0])
    alice = recv(alice, x[1], "x1")
    alice = recv(alice, y[0], "y0")
    # a step storing more than the cap keeps only the newest keys
    alice, bob = exchange(alice, bob, "b")
    z = []
    for i in range(8):
        enc, bob = send(bob, f"z{i}")
        z.append(enc)
    alice = recv(alice, z[7], "z7")
    assert alice.skipped_count == 5
    assert len(alice.skipped) == 1
    with pytest.raises(RatchetHeaderError):
        alice.decrypt(y[1])
    with pytest.raises(RatchetEarlier):
        alice.decrypt(z[1])
    recv(alice, z[2], "z2")


def test_skipped_header_key_equal_to_next() -> None:
    # Ratchet.hs decryptSkipped: a header opened by a skipped-chain key equal to NHKr advances.
    alice, bob = make_pair()
    bob, alice = exchange(bob, alice, "b0")
    alice, bob = exchange(alice, bob, "a0")
    enc, bob = send(bob, "b1")  # new chain under alice's NHKr
    crafted = replace(alice, skipped=(R._Skipped(alice.nhkr, ((9, b"k" * 32, b"i" * 16),)),))
    pt, after = crafted.decrypt(enc)
    assert pt == b"b1" and after.skipped_count == 1


# --------------------------------------------------------------------------- crafted headers


def _craft(sender: Ratchet, header: bytes, hpad: int, body: bytes = b"crafted") -> bytes:
    """An EncRatchetMessage with chosen header plaintext, as ``encrypt`` would build it."""
    assert sender.snd is not None
    _, mk, iv, hiv = chain_kdf(sender.snd.ck)
    hct, htag = encrypt_aead(sender.snd.hk, hiv, hpad, sender.ad, header)
    em = word16(3) + hiv + htag + large(hct)
    bct, btag = encrypt_aead(mk, iv, PAD, sender.ad + em, body)
    return large(em) + btag + bct


def _header(r: Ratchet, kem: bytes) -> bytes:
    return word16(3) + short_string(r.dhrs.public.to_der()) + kem + word32(r.pn) + word32(r.ns)


def test_peer_pq_header_is_parsed_and_ignored() -> None:
    # A PQ-supporting peer pads headers to 2310 and proposes a KEM key; we decline.
    alice, bob = make_pair()
    proposal = b"1P" + large(b"\x01" * 1158)
    enc = _craft(bob, _header(bob, proposal), 2310)
    assert len(enc) == 2 + 2 + 16 + 16 + 2 + 2310 + 16 + PAD
    pt, alice = alice.decrypt(enc)
    assert pt == b"crafted" and alice.peer_offered_kem
    reply, alice = alice.encrypt(b"no kem", PAD)
    assert len(reply) == 2 + 124 + 16 + PAD  # we still pad to 88
    accepted = b"1A" + large(b"\x02" * 1039) + large(b"\x01" * 1158)
    bob = _stepped(bob)
    # same chain: KEM fields are not looked at (Ratchet.hs)
    pt, alice2 = alice.decrypt(_craft(bob, _header(bob, accepted), 2310))
    assert pt == b"crafted"
    bob = _stepped(bob)
    # a ratchet step with a KEM acceptance we never asked for fails (CERatchetKEMState)
    _, bob3 = bob.decrypt(reply)
    with pytest.raises(RatchetKEMError):
        alice2.decrypt(_craft(bob3, _header(bob3, accepted), 2310))


def _stepped(sender: Ratchet) -> Ratchet:
    """``sender`` after a crafted message, as ``encrypt`` would leave it."""
    assert sender.snd is not None
    return replace(
        sender, snd=replace(sender.snd, ck=chain_kdf(sender.snd.ck)[0]), ns=sender.ns + 1
    )


def test_authenticated_garbage_header() -> None:
    alice, bob = make_pair()
    with pytest.raises(DecodeError):
        alice.decrypt(_craft(bob, b"\x00\x03garbage", 88))
    with pytest.raises(DecodeError):
        alice.decrypt(_craft(bob, _header(bob, b"1Z"), 88))


def test_msg_header_round_trip() -> None:
    h = MsgHeader(3, priv("b3").public(), 7, 9)
    assert MsgHeader.decode(3, h.encode(3)) == h
    assert MsgHeader.decode(2, h.encode(2)) == h
    assert len(h.encode(3)) == 80 and len(h.encode(2)) == 79
    assert MsgHeader.decode(3, h.encode(3) + b"future").ns == 9


# --------------------------------------------------------------------------- storage


def test_json_round_trip_mid_conversation() -> None:
    alice, bob = make_pair()
    assert Ratchet.from_json(alice.to_json()) == alice  # no chains yet
    m = []
    for i in range(4):
        enc, bob = send(bob, f"m{i}")
        m.append(enc)
    alice = recv(alice, m[3], "m3")
    alice, bob = exchange(alice, bob, "reply")
    for r in (alice, bob):
        data = r.to_json()
        assert Ratchet.from_json(data) == r
        assert r.dhrs.private.raw.hex() not in data.decode()
    alice = Ratchet.from_json(alice.to_json())
    bob = Ratchet.from_json(bob.to_json())
    alice = recv(alice, m[1], "m1")
    bob, alice = exchange(bob, alice, "after restore")
    alice, bob = exchange(alice, bob, "both ways")


def test_repr_redacted() -> None:
    alice, bob = make_pair()
    bob, alice = exchange(bob, alice, "x")
    keys = vector_keys()
    assert "redacted" in repr(keys) and keys.sk.hex() not in repr(keys)
    for r in (alice, bob):
        text = repr(r)
        assert "redacted" in text
        assert r.rk.hex() not in text and repr(r.rk) not in text


def _doc(r: Ratchet) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(r.to_json())
    return out


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(f=2),
        lambda d: d.update(v=[1, 3]),
        lambda d: d.update(v=["3", 3]),
        lambda d: d.update(v=[3]),
        lambda d: d.update(ad="AAAA"),
        lambda d: d.update(ad=7),
        lambda d: d.update(rk="!!"),
        lambda d: d.update(rk="AAAA"),
        lambda d: d.update(n=[-1, 0, 0]),
        lambda d: d.update(n=[True, 0, 0]),
        lambda d: d.update(sk=[["AAAA", []]]),
        lambda d: d["sk"][0].__setitem__(1, []),
        lambda d: d["sk"][0][1][0].__setitem__(1, "AAAA"),
        lambda d: d.update(kem=1),
        lambda d: d.pop("nhk"),
        lambda d: d.update(snd=[1]),
    ],
)
def test_from_json_malformed(mutate: Any) -> None:
    alice, bob = make_pair()
    _, bob = send(bob, "m0")
    m1, bob = send(bob, "m1")
    alice = recv(alice, m1, "m1")
    doc = _doc(alice)
    mutate(doc)
    with pytest.raises(DecodeError):
        Ratchet.from_json(json.dumps(doc).encode())


def test_from_json_not_json() -> None:
    for data in (b"", b"[", b"[]", b"null", b"\xff"):
        with pytest.raises(DecodeError):
            Ratchet.from_json(data)


# --------------------------------------------------------------------------- properties


OPS = st.lists(
    st.tuples(st.sampled_from(["send_i", "send_j", "to_i", "to_j", "store"]), st.integers(0, 99)),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 3), OPS)
def test_random_orders_losses_duplicates(version: int, ops: list[tuple[str, int]]) -> None:
    initiator, joiner = make_pair(version)
    parties = {"i": initiator, "j": joiner}
    sent: dict[str, list[tuple[bytes, bytes]]] = {"i": [], "j": []}
    got: dict[str, set[int]] = {"i": set(), "j": set()}
    for op, k in ops:
        if op == "store":
            for p in parties:
                parties[p] = Ratchet.from_json(parties[p].to_json())
        elif op.startswith("send"):
            p = op[-1]
            text = f"{p}{len(sent[p])}".encode()
            if not parties[p].can_send:
                with pytest.raises(RatchetError):
                    parties[p].encrypt(text, PAD)
                continue
            enc, parties[p] = parties[p].encrypt(text, PAD)
            sent[p].append((enc, text))
        else:
            r = op[-1]
            s = "j" if r == "i" else "i"
            if not sent[s]:
                continue
            idx = k % len(sent[s])
            enc, text = sent[s][idx]
            if idx in got[r]:
                with pytest.raises(REDELIVERY_ERRORS):
                    parties[r].decrypt(enc)
            else:
                pt, parties[r] = parties[r].decrypt(enc)
                assert pt == text
                got[r].add(idx)
    # everything still in flight decrypts afterwards, in reverse order
    for r, s in (("i", "j"), ("j", "i")):
        for idx in reversed(range(len(sent[s]))):
            if idx not in got[r]:
                pt, parties[r] = parties[r].decrypt(sent[s][idx][0])
                assert pt == sent[s][idx][1]
        assert parties[r].skipped_count == 0


@pytest.fixture(scope="module")
def live() -> tuple[Ratchet, list[bytes]]:
    alice, bob = make_pair()
    bob, alice = exchange(bob, alice, "one")
    alice, bob = exchange(alice, bob, "two")
    msgs = []
    for i in range(3):
        enc, bob = send(bob, f"m{i}")
        msgs.append(enc)
    alice = recv(alice, msgs[2], "m2")
    return alice, msgs


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random(live: tuple[Ratchet, list[bytes]], data: bytes) -> None:
    alice, _ = live
    try:
        alice.decrypt(data)
    except ANY_ERROR:
        pass


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated(live: tuple[Ratchet, list[bytes]], data: st.DataObject) -> None:
    alice, msgs = live
    msg = bytearray(data.draw(st.sampled_from(msgs)))
    kind = data.draw(st.sampled_from(["flip", "cut", "extend", "set"]))
    pos = data.draw(st.integers(0, len(msg) - 1))
    if kind == "flip":
        msg[pos] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        del msg[pos:]
    elif kind == "extend":
        msg[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
    else:
        msg[pos] = data.draw(st.integers(0, 255))
    try:
        alice.decrypt(bytes(msg))
    except ANY_ERROR:
        pass


# --------------------------------------------------------------------------- simplex-js

SJ_DIR = Path(__file__).resolve().parents[1] / "interop"
SJ_SCRIPT = r"""
const readline = require("readline");
const log = console.log; console.log = () => {};
const sj = require("simplex-js");
const h = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const x = (b) => Buffer.from(b).toString("hex");
const kp = (priv, pub) => ({ privateKey: h(priv), publicKey: h(pub) });
const lines = readline.createInterface({ input: process.stdin });
let state = null;
lines.on("line", (line) => {
  const m = JSON.parse(line);
  let out = {};
  if (m.op === "conf") {
    const a1 = kp(m.a1, m.a1pub), a2 = kp(m.a2, m.a2pub);
    const params = sj.x3dhReceiver(a1, a2, h(m.b1pub), h(m.b2pub));
    const r = sj.decryptEncConnInfo(sj.initRcvRatchet(params, a2), h(m.enc));
    state = r.updatedState;
    const replies = [];
    for (const t of m.replies) {
      const e = sj.rcEncrypt(state, new TextEncoder().encode(t), 15840);
      state = e.updatedState;
      replies.push(x(e.encrypted));
    }
    out = { body: x(r.agentMessage), replies };
  } else {
    const r = sj.rcDecrypt(state, h(m.enc));
    state = r.updatedState;
    out = { body: x(r.agentMessage) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
});
"""


def test_simplex_js_both_directions() -> None:
    """Our joiner against simplex-js 1.0.0 as initiator: confirmation, replies, next chain."""
    node = shutil.which("node")
    if node is None or not (SJ_DIR / "node_modules" / "simplex-js").is_dir():
        pytest.skip("node and tests/interop/node_modules (make test) are needed")
    c = V["confirmation"]
    joiner = Ratchet.init_joiner(vector_keys(), priv("a2").public(), 3, dh_pair=pair("b3"))
    enc, joiner = joiner.encrypt(c["body"].encode(), c["pad_to"])
    hexes = {f"{k}": priv(k).raw.hex() for k in ("a1", "a2")}
    pubs = {f"{k}pub": priv(k).public().raw.hex() for k in ("a1", "a2", "b1", "b2")}
    proc = subprocess.Popen(
        [node, "-e", SJ_SCRIPT],
        cwd=SJ_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def call(msg: dict[str, Any]) -> Any:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    try:
        out = call({"op": "conf", "enc": enc.hex(), "replies": ["r1", "r2"], **hexes, **pubs})
        assert bytes.fromhex(out["body"]) == c["body"].encode()
        r2, r1 = (bytes.fromhex(r) for r in reversed(out["replies"]))
        joiner = recv(joiner, r2, "r2")  # out of order: r1's key is skipped
        joiner = recv(joiner, r1, "r1")
        for text in ("after step", "same chain"):
            enc, joiner = joiner.encrypt(text.encode(), 15840)
            assert bytes.fromhex(call({"op": "msg", "enc": enc.hex()})["body"]) == text.encode()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
