"""The ``hushwire`` command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hushwire import __version__
from hushwire.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"hushwire {__version__}"


def test_help_without_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "usage: hushwire" in capsys.readouterr().out


def test_unknown_command_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_module_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hushwire", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"hushwire {__version__}"
