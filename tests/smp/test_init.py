"""hushwire.smp re-exports its public names."""

from __future__ import annotations

import hushwire.smp as smp


def test_all_names_exist() -> None:
    assert smp.__doc__
    for name in smp.__all__:
        assert getattr(smp, name) is not None, name
    assert len(set(smp.__all__)) == len(smp.__all__)
