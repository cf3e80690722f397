"""hushwire.crypto.ct: constant-time equality."""

from __future__ import annotations

from hushwire.crypto.ct import equal


def test_equal() -> None:
    assert equal(b"", b"")
    assert equal(b"abc", b"abc")
    assert not equal(b"abc", b"abd")
    assert not equal(b"abc", b"ab")
