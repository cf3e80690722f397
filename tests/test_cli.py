"""The ``hushwire`` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hushwire import __version__
from hushwire.cli import build_parser, main


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


RELAY = "smp://" + "A" * 43 + "@127.0.0.1:1"


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["bot", "echo", "--data", "{d}", "--relay", RELAY], "bot"),
        (["chat", "simplex:/contact#/?v=2", "--data", "{d}"], "chat"),
        (["inbox", "--data", "{d}", "--relay", RELAY], "inbox"),
    ],
)
def test_an_empty_passphrase_variable_is_the_same_clear_error_in_every_app(
    argv: list[str],
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HW_TEST_PASSPHRASE", "")
    args = [a.replace("{d}", str(tmp_path / "data")) for a in argv]
    assert main([*args, "--passphrase-env", "HW_TEST_PASSPHRASE"]) == 2
    assert capsys.readouterr().err == (
        f"hushwire {command}: $HW_TEST_PASSPHRASE is empty: set it to the passphrase\n"
    )


def test_the_apps_read_their_shared_options_alike() -> None:
    parser = build_parser()
    room = parser.parse_args(["room", "host", "--data", "d", "--relay", RELAY, "--name", "R"])
    echo = parser.parse_args(["bot", "echo", "--data", "d", "--relay", RELAY, "--ws", "ws://h"])
    inbox = parser.parse_args(["inbox", "--data", "d"])
    assert (room.room, room.data, room.relay, room.ws) == ("host", Path("d"), RELAY, None)
    assert (echo.bot, echo.data, echo.relay, echo.ws) == ("echo", Path("d"), RELAY, "ws://h")
    assert echo.passphrase_env is None
    assert (inbox.data, inbox.relay, inbox.ws) == (Path("d"), None, None)


@pytest.mark.parametrize("argv", [["room"], ["bot"], ["widget"], ["room", "host"]])
def test_a_missing_action_or_required_option_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "required" in capsys.readouterr().err
