"""hushwire.smp.block: batches, padding, the batcher and v11+ block encryption."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.crypto.kdf import sb_chain_init, sb_chain_step
from hushwire.errors import DecodeError
from hushwire.limits import MAX_BATCH_PAYLOAD, SMP_BLOCK_SIZE
from hushwire.smp import block as b
from hushwire.smp import commands as c
from hushwire.smp.ids import MsgId
from hushwire.smp.transmission import encode_client_transmission, encode_server_transmission

V = load_vectors("smp_blocks.json")


def test_ping_block() -> None:
    p = V["ping_block"]
    corr = bytes.fromhex(p["corr_id_hex"])
    ping = encode_client_transmission(7, bytes(32), corr, b"", c.PING().encode(7))
    assert ping.hex() == p["transmission_hex"]
    batch = b.encode_batch([ping])
    assert batch.hex() == p["batch_hex"]
    block = b.pad_block(batch)
    assert len(block) == p["length"] == SMP_BLOCK_SIZE
    assert block[:40].hex() == p["block_prefix_hex"]
    assert hashlib.sha256(block).hexdigest() == p["block_sha256"]
    assert b.encode_block([ping]) == block
    assert b.decode_block(block) == [ping]
    assert b.unpad_block(block) == batch


@pytest.mark.parametrize("row", V["batches"])
def test_batch_vectors(row: dict[str, Any]) -> None:
    items = [bytes.fromhex(x) for x in row["items_hex"]]
    assert b.encode_batch(items).hex() == row["hex"]
    assert b.decode_batch(bytes.fromhex(row["hex"])) == items


@pytest.mark.parametrize("data", V["invalid_batches_hex"])
def test_invalid_batches(data: str) -> None:
    with pytest.raises(DecodeError):
        b.decode_batch(bytes.fromhex(data))


def test_block_size_and_padding_errors() -> None:
    with pytest.raises(DecodeError):
        b.unpad_block(bytes(SMP_BLOCK_SIZE - 1))
    with pytest.raises(DecodeError):
        b.unpad_block(b"\xff\xff" + bytes(SMP_BLOCK_SIZE - 2))
    with pytest.raises(DecodeError):
        b.decode_block(b.pad_block(b"\x00"))
    with pytest.raises(ValueError, match="cannot be padded"):
        b.pad_block(bytes(SMP_BLOCK_SIZE - 1))
    with pytest.raises(ValueError, match=r"1\.\.255"):
        b.encode_batch([])
    with pytest.raises(ValueError, match=r"1\.\.255"):
        b.encode_batch([b""] * 256)
    assert b.pad_handshake is b.pad_block and b.unpad_handshake is b.unpad_block


SESS = bytes(range(32))
ID24 = bytes(range(24))


def _transmission(kind: str, v: int, size: int) -> bytes:
    """Transmissions shaped as in tests/CoreTests/BatchingTests.hs."""
    if kind == "SUB":
        return encode_client_transmission(v, SESS, ID24, ID24, b"SUB", bytes(64))
    if kind == "SEND":
        auth = bytes(64) if v < 7 else bytes(80)  # v6 Ed25519, v18 X25519 CbAuthenticator
        cmd = c.SEND(c.MsgFlags(False), bytes(size)).encode(v)
        return encode_client_transmission(v, SESS, ID24, ID24, cmd, auth)
    msg: c.BrokerMsg
    corr = ID24
    if kind == "END":
        msg, corr = c.END(), b""
    elif kind == "NMSG":
        msg, corr = c.NMSG(ID24, bytes(size)), b""
    elif kind == "SOK":
        msg = c.SOK(None)
    else:
        assert kind == "MSG"
        msg = c.MSG(MsgId(ID24), bytes(size))
    return encode_server_transmission(v, SESS, corr, ID24, msg)


@pytest.mark.parametrize("row", V["batching"], ids=lambda r: r["name"])
def test_batching_like_reference(row: dict[str, Any]) -> None:
    ts: list[bytes] = []
    for kind, v, size, count in row["sequence"]:
        ts += [_transmission(kind, v, size)] * count
    got = b.batch_transmissions(ts)
    shape = [x.count if isinstance(x, b.Batch) else "LARGE_MSG" for x in got]
    assert shape == row["expect"]
    seen: list[int] = []
    for x in got:
        if isinstance(x, b.Batch):
            assert len(x.payload) - 1 <= MAX_BATCH_PAYLOAD
            assert b.decode_batch(x.payload) == [ts[i] for i in x.indices]
            assert len(b.pad_block(x.payload)) == SMP_BLOCK_SIZE
            seen += x.indices
        else:
            seen.append(x.index)
    assert seen == list(range(len(ts)))


@given(st.lists(st.integers(0, 20000), max_size=40))
@settings(max_examples=100)
def test_batcher_invariants(sizes: list[int]) -> None:
    ts = [bytes(n) for n in sizes]
    out = b.batch_transmissions(ts)
    order: list[int] = []
    for x in out:
        if isinstance(x, b.Batch):
            assert 1 <= x.count <= 255
            assert sum(len(ts[i]) + 2 for i in x.indices) <= MAX_BATCH_PAYLOAD
            order += x.indices
        else:
            assert len(ts[x.index]) + 2 > MAX_BATCH_PAYLOAD
            order.append(x.index)
    assert order == list(range(len(ts)))


def test_block_chain_vectors() -> None:
    """Known values (computed independently with Python HKDF)."""
    ch = V["block_chain"]
    ck1, ck2 = sb_chain_init(
        bytes.fromhex(ch["session_id_hex"]), bytes.fromhex(ch["dh_secret_hex"])
    )
    assert (ck1.hex(), ck2.hex()) == (ch["ck1_hex"], ch["ck2_hex"])
    nxt, key, nonce = sb_chain_step(ck1)
    assert (nxt.hex(), key.hex(), nonce.hex()) == (
        ch["step1_next_hex"],
        ch["step1_key_hex"],
        ch["step1_nonce_hex"],
    )


def test_encrypted_block_vector() -> None:
    e = V["encrypted_block"]
    sid, secret = bytes.fromhex(e["session_id_hex"]), bytes.fromhex(e["dh_secret_hex"])
    send, _ = b.BlockChain.pair(sid, secret, server=True)
    block = send.encrypt(bytes.fromhex(e["payload_hex"]))
    assert len(block) == SMP_BLOCK_SIZE
    assert block[:16].hex() == e["block_prefix_hex"]
    assert hashlib.sha256(block).hexdigest() == e["block_sha256"]
    _, client_recv = b.BlockChain.pair(sid, secret, server=False)
    assert client_recv.decrypt(block) == bytes.fromhex(e["payload_hex"])


def test_block_chain_directions_and_failures() -> None:
    sid, secret = bytes(32), bytes(range(32))
    s_send, s_recv = b.BlockChain.pair(sid, secret, server=True)
    c_send, c_recv = b.BlockChain.pair(sid, secret, server=False)
    assert "redacted" in repr(s_send)
    for i in range(3):
        batch = b.encode_batch([bytes([i]) * 10])
        assert c_recv.decrypt(s_send.encrypt(batch)) == batch
        assert s_recv.decrypt(c_send.encrypt(batch)) == batch
    block = s_send.encrypt(b"x")
    tampered = bytes([block[0] ^ 1]) + block[1:]
    with pytest.raises(DecodeError):
        c_recv.decrypt(tampered)
    # the failed block still advanced the chain: the original no longer opens either
    with pytest.raises(DecodeError):
        c_recv.decrypt(block)
    with pytest.raises(DecodeError):
        c_recv.decrypt(block[:-1])
    with pytest.raises(ValueError, match="cannot be padded"):
        s_send.encrypt(bytes(SMP_BLOCK_SIZE - 16 - 1))
    direct = b.BlockChain(bytes(32))
    assert len(direct.encrypt(b"")) == SMP_BLOCK_SIZE
