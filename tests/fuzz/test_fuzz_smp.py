"""Random and mutated bytes into every SMP decoder: only DecodeError (or a subclass) may come out.

The "never raises" pipelines (``decode_client_transmission`` and friends) must not raise at
all: bad input becomes the protocol error they return.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hushwire.errors import DecodeError
from hushwire.smp import block, commands, errors, hello, msgbody, transmission
from hushwire.smp._reader import SmpReader, parse_all
from hushwire.smp.queue_info import QueueInfo
from hushwire.smp.version import VersionRange

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
VERSIONS = (6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18)
SESS = bytes(range(32))


def _seeds() -> list[bytes]:
    out: list[bytes] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if isinstance(v, str) and k.endswith("hex") and len(v) % 2 == 0:
                    try:
                        out.append(bytes.fromhex(v))
                    except ValueError:
                        pass
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                if isinstance(v, str) and len(v) % 2 == 0:
                    try:
                        out.append(bytes.fromhex(v))
                    except ValueError:
                        pass
                else:
                    walk(v)

    for f in sorted(VECTORS.glob("smp_*.json")):
        walk(json.loads(f.read_text()))
    return sorted(set(out))


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.integers(0, 4))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == 2:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == 3:
            data = data[:pos]
        else:
            data[pos:pos] = b" "
    return bytes(data)


inputs = st.one_of(st.binary(max_size=400), mutated())

DECODERS: list[Callable[[bytes, int], object]] = [
    lambda d, v: commands.decode_command(v, d),
    lambda d, v: commands.decode_command(v, d, commands.Party.SENDER),
    lambda d, v: commands.decode_response(v, d),
    lambda d, v: errors.ErrorType.decode(d),
    lambda d, v: errors.TransportError.decode(d),
    lambda d, v: errors.ClientNotice.from_json(d),
    lambda d, v: hello.ServerHello.decode(d),
    lambda d, v: hello.ClientHello.decode(d),
    lambda d, v: hello.decode_service_response(d),
    lambda d, v: parse_all(d, hello.CertChainPubKey.parse),
    lambda d, v: block.decode_batch(d),
    lambda d, v: block.decode_block(d),
    lambda d, v: block.unpad_block(d),
    lambda d, v: transmission.parse_transmission(d, v, SESS),
    lambda d, v: transmission.decode_auth(d),
    lambda d, v: msgbody.decode_rcv_msg_body(d),
    lambda d, v: msgbody.unpad_rcv_msg_body(d),
    lambda d, v: QueueInfo.from_json(d),
    lambda d, v: VersionRange.parse(SmpReader(d)),
]


@settings(max_examples=200)
@given(inputs, st.sampled_from(VERSIONS), st.integers(0, len(DECODERS) - 1))
def test_decoders_only_raise_decode_error(data: bytes, v: int, i: int) -> None:
    try:
        DECODERS[i](data, v)
    except DecodeError:
        pass


@settings(max_examples=200)
@given(inputs, st.sampled_from(VERSIONS))
def test_pipelines_never_raise(data: bytes, v: int) -> None:
    req = transmission.decode_client_transmission(data, v, SESS)
    assert isinstance(req, transmission.ClientRequest | transmission.RequestError)
    if isinstance(req, transmission.RequestError):
        req.encode(v, SESS)
    assert len(transmission.decode_client_batch(data, v, SESS)) >= 1
    resp = transmission.decode_server_transmission(data, v, SESS)
    assert isinstance(resp, transmission.ServerTransmission)
    assert len(transmission.decode_server_batch(data, v, SESS)) >= 1


@settings(max_examples=100)
@given(inputs)
def test_whole_blocks(data: bytes) -> None:
    blk = data[:16384].ljust(16384, b"#")
    try:
        block.decode_block(blk)
    except DecodeError:
        pass
    chain = block.BlockChain(bytes(32))
    try:
        chain.decrypt(blk)
    except DecodeError:
        pass


@settings(max_examples=200)
@given(inputs, st.sampled_from(VERSIONS))
def test_decoded_values_reencode(data: bytes, v: int) -> None:
    """Whatever decodes must encode again without error."""
    try:
        cmd = commands.decode_command(v, data)
    except DecodeError:
        pass
    else:
        cmd.encode(v)
    try:
        msg = commands.decode_response(v, data)
    except DecodeError:
        pass
    else:
        msg.encode(v)
    try:
        ch = hello.ClientHello.decode(data)
    except DecodeError:
        pass
    else:
        ch.encode()
