"""hushwire.smp.version: ranges, compatibility (VersionRangeTests.hs) and constants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.errors import DecodeError
from hushwire.smp import version as v
from hushwire.smp._reader import SmpReader, parse_all

V = load_vectors("smp_versions.json")


def _vr(x: list[int] | None) -> v.VersionRange | None:
    return None if x is None else v.VersionRange(x[0], x[1])


@pytest.mark.parametrize(("a", "b", "want"), V["compatible"])
def test_compatible(a: list[int], b: list[int], want: int | None) -> None:
    ra, rb = _vr(a), _vr(b)
    assert ra is not None and rb is not None
    assert v.compatible(ra, rb) == want
    assert v.compatible(rb, ra) == want


@pytest.mark.parametrize(("a", "b", "want"), V["intersect"])
def test_intersect(a: list[int], b: list[int], want: list[int] | None) -> None:
    ra, rb = _vr(a), _vr(b)
    assert ra is not None and rb is not None
    assert ra.intersect(rb) == _vr(want)


@pytest.mark.parametrize(("a", "x", "want"), V["capped"])
def test_capped(a: list[int], x: int, want: list[int] | None) -> None:
    ra = _vr(a)
    assert ra is not None
    assert ra.capped(x) == _vr(want)


@pytest.mark.parametrize("row", V["encoded"])
def test_encoding(row: dict[str, int | str]) -> None:
    vr = v.VersionRange(int(row["min"]), int(row["max"]))
    assert vr.encode().hex() == row["hex"]
    assert parse_all(bytes.fromhex(str(row["hex"])), v.VersionRange.parse) == vr


@pytest.mark.parametrize("data", V["invalid_hex"])
def test_invalid(data: str) -> None:
    with pytest.raises(DecodeError):
        v.VersionRange.parse(SmpReader(bytes.fromhex(data)))


def test_construction() -> None:
    with pytest.raises(ValueError, match="invalid"):
        v.VersionRange(2, 1)
    with pytest.raises(ValueError, match="Word16"):
        v.VersionRange(0, 0x10000)
    assert 7 in v.VersionRange(6, 9) and 10 not in v.VersionRange(6, 9)
    assert "7" not in v.VersionRange(6, 9)


def test_constants_match_transport_hs() -> None:
    """Transport.hs:172-225 feature versions."""
    assert (v.SUB_MODE_VERSION, v.AUTH_CMDS_VERSION, v.SENDING_PROXY_VERSION) == (6, 7, 8)
    assert (v.SND_AUTH_KEY_VERSION, v.DELETED_EVENT_VERSION, v.ENCRYPTED_BLOCK_VERSION) == (
        9,
        10,
        11,
    )
    assert (v.BLOCKED_ENTITY_VERSION, v.PROXY_SERVER_HANDSHAKE_VERSION) == (12, 14)
    assert (v.SHORT_LINKS_VERSION, v.SERVICE_CERTS_VERSION, v.NEW_NTF_CREDS_VERSION) == (
        15,
        16,
        17,
    )
    assert v.CLIENT_NOTICES_VERSION == v.CURRENT_SMP_VERSION == 18
    assert v.PROXIED_SMP_RANGE == v.VersionRange(8, 17)
    assert v.LEGACY_SERVER_RANGE == v.VersionRange(6, 6)


@pytest.mark.parametrize(("ver", "n"), [(6, 16088), (7, 16088), (8, 16064), (10, 16064),
                                        (11, 16048), (18, 16048)])  # fmt: skip
def test_max_message_length(ver: int, n: int) -> None:
    assert v.max_message_length(ver) == n


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
       st.integers(0, 0xFFFF))  # fmt: skip
@settings(max_examples=200)
def test_compatible_is_in_both(a: int, b: int, c: int, d: int) -> None:
    r1, r2 = v.VersionRange(min(a, b), max(a, b)), v.VersionRange(min(c, d), max(c, d))
    x = v.compatible(r1, r2)
    if x is not None:
        assert x in r1 and x in r2
    else:
        assert r1.max < r2.min or r2.max < r1.min
    assert parse_all(r1.encode(), v.VersionRange.parse) == r1


def test_text_form() -> None:
    assert v.VersionRange.parse_str("2-7") == v.VersionRange(2, 7)
    assert v.VersionRange.parse_str("3") == v.VersionRange(3, 3)
    assert v.VersionRange(3, 3).to_str() == "3"
    assert v.VersionRange(1, 16).to_str() == "1-16"
    for bad in ["", "a", "1-", "-1", "3-2", "70000", "1-70000", "123456", "1-2-3", " 1"]:
        with pytest.raises(DecodeError, match="bad version range"):
            v.VersionRange.parse_str(bad)
