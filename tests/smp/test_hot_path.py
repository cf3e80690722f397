"""The relay's one-pass decoders (hot SEND/ACK/SUB/PING transmissions, batches, one-batch
packing) give exactly what the general reader gives, for good input and for bad."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smp_cases import VERSIONS

from hushwire.encoding.binary import short_string
from hushwire.errors import DecodeError
from hushwire.limits import MAX_BATCH_COUNT
from hushwire.smp import transmission as t
from hushwire.smp._reader import parse_all
from hushwire.smp.block import Batch, _batch, batch_transmissions, decode_batch, encode_batch
from hushwire.smp.commands import OK

SESS = bytes(range(32))
PREFIX = short_string(SESS)

HOT_COMMANDS = [
    b"SEND T hello",
    b"SEND F ",
    b"SEND Fxyz body with spaces",
    b"SEND T",
    b"SEND X body",
    b"SEND ",
    b"SEND",
    b"ACK \x03abc",
    b"ACK \x00",
    b"ACK \x03ab",
    b"ACK \x01abc",
    b"ACK ",
    b"SUB",
    b"SUB ",
    b"PING",
    b"PING x",
    b"GET",
    b"NOPE",
    b"",
]


def general(data: bytes, version: int) -> t.ClientRequest | t.RequestError:
    """The general decoder, as the relay used it before the hot path."""
    raw = t._parse_in_session(data, version, SESS)
    if isinstance(raw, tuple):
        return t.RequestError(raw[0], t.NO_ENTITY, raw[1])
    return t.decode_request(raw, version)


def transmission(version: int, auth: int, corr: bytes, ent: bytes, cmd: bytes) -> bytes:
    out = short_string(bytes(auth))
    if auth and version >= 16:
        out += b"0"
    if version < 7:
        out += short_string(SESS)
    return out + short_string(corr) + short_string(ent) + cmd


def check(data: bytes, version: int) -> t.ClientRequest | t.RequestError:
    want = general(data, version)
    assert t.decode_client_transmission(data, version, SESS) == want
    hot = t.decode_hot_request(data, version, PREFIX) if version >= 7 else None
    assert hot is None or hot == want
    return want


@pytest.mark.parametrize("cmd", HOT_COMMANDS)
@pytest.mark.parametrize("auth", [0, 64, 80, 114, 5])
@pytest.mark.parametrize("ent", [b"", b"q" * 24])
@pytest.mark.parametrize("version", [6, 7, 15, 16, 18])
def test_same_answer_as_general_path(cmd: bytes, auth: int, ent: bytes, version: int) -> None:
    check(transmission(version, auth, b"corr", ent, cmd), version)


def test_hot_commands_take_the_hot_path() -> None:
    for version in (7, 16, 18):
        for cmd, auth, ent in (
            (b"SEND T hi", 64, b"s"),
            (b"SEND F hi", 0, b"s"),
            (b"ACK \x02id", 80, b"r"),
            (b"SUB", 114, b"r"),
            (b"PING", 0, b""),
        ):
            data = transmission(version, auth, b"c", ent, cmd)
            hot = t.decode_hot_request(data, version, PREFIX)
            assert isinstance(hot, t.ClientRequest)
            assert hot == check(data, version)
            assert hot.authorized == PREFIX + data[len(data) - len(cmd) - len(ent) - 3 :]


def test_refused_shapes_go_the_general_way() -> None:
    ok = transmission(18, 64, b"c", b"r", b"SUB")
    cases = [
        b"",  # no auth length
        ok[:1],  # auth cut short
        ok[:65],  # no service-signature tag
        ok[:66],  # no corrId length
        ok[:67],  # corrId cut short
        ok[:68],  # no entity length
        ok[:69],  # entity cut short
        ok[:65] + b"1" + ok[66:],  # a service signature (general path decides)
        ok[:65] + b"2" + ok[66:],  # a bad Maybe tag
    ]
    for data in cases:
        assert t.decode_hot_request(data, 18, PREFIX) is None
        check(data, 18)


@given(
    st.sampled_from(HOT_COMMANDS),
    st.sampled_from(VERSIONS),
    st.sampled_from([0, 64, 80, 114]),
    st.binary(max_size=30),
    st.binary(max_size=30),
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=255),
    st.booleans(),
)
@settings(max_examples=400)
def test_mutated_transmissions(
    cmd: bytes, v: int, auth: int, corr: bytes, ent: bytes, at: int, byte: int, cut: bool
) -> None:
    data = transmission(v, auth, corr, ent, cmd)
    at = at % (len(data) + 1)
    data = data[:at] if cut else data[:at] + bytes([byte]) + data[at + 1 :]
    check(data, v)


def general_batch(data: bytes) -> list[bytes] | None:
    try:
        return parse_all(data, _batch)
    except DecodeError:
        return None


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=5), st.integers(0, 300), st.binary())
@settings(max_examples=300)
def test_batch_decode_same_as_general(items: list[bytes], at: int, junk: bytes) -> None:
    good = encode_batch(items)
    for data in (good, good[: at % (len(good) + 1)], good + junk[:3], junk, b"\x00", b""):
        want = general_batch(data)
        if want is None:
            with pytest.raises(DecodeError):
                decode_batch(data)
        else:
            assert decode_batch(data) == want


@given(st.lists(st.binary(max_size=3000), min_size=1, max_size=8))
@settings(max_examples=100)
def test_one_batch_when_everything_fits(items: list[bytes]) -> None:
    got = batch_transmissions(items)
    if sum(len(i) + 2 for i in items) <= 16384 - 19:
        assert got == [Batch(encode_batch(items), tuple(range(len(items))))]
    else:
        assert len(got) > 1
        assert [i for b in got if isinstance(b, Batch) for i in b.indices] == list(
            range(len(items))
        )


def test_many_small_items_fill_several_batches() -> None:
    items = [b"x"] * (MAX_BATCH_COUNT + 1)
    got = batch_transmissions(items)
    assert [b.count for b in got if isinstance(b, Batch)] == [1, MAX_BATCH_COUNT]


def test_server_transmission_ids_longer_than_a_short_string_are_refused() -> None:
    for version in (6, 7, 18):
        assert t.encode_server_transmission(version, SESS, b"c", b"e", OK()).endswith(
            b"\x01c\x01eOK"
        )
        with pytest.raises(ValueError):
            t.encode_server_transmission(version, SESS, b"c" * 256, b"", OK())
        with pytest.raises(ValueError):
            t.encode_server_transmission(version, SESS, b"", b"e" * 256, OK())
