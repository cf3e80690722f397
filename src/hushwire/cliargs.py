"""The argparse pieces the ``hushwire`` sub-commands share.

The agent apps (``bot echo``, ``chat``, ``inbox``, ``room host``) are each given a data
directory, a relay and an optional key passphrase the same way; ``bot``, ``room`` and
``widget`` are each a command whose action is a required second word. The parsers are
built in :mod:`hushwire.cli` and in each app's own ``cli`` module from these helpers, so one
option reads and behaves the same everywhere. No simplexmq module stands for this.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Final

from hushwire.errors import ConfigError

__all__ = [
    "RELAY_ADDRESS_HELP",
    "add_command_group",
    "add_data_option",
    "add_passphrase_option",
    "add_relay_options",
    "passphrase_from_env",
]

RELAY_ADDRESS_HELP: Final = "smp://KEYHASH@HOST:PORT"
"""The ``--relay`` help of the apps that name their own relay."""


def add_command_group(sub: Any, command: str, help: str, metavar: str) -> Any:
    """Add ``hushwire COMMAND ACTION`` to the top-level sub-parsers and return the table its
    actions are added to; an action is required, and ``args.<command>`` names it."""
    group = sub.add_parser(command, help=help)
    return group.add_subparsers(dest=command, metavar=metavar, required=True)


def add_data_option(parser: argparse.ArgumentParser, whose: str) -> None:
    """``--data DIR`` (required): the app's data directory; ``whose`` is e.g. ``"the bot's"``."""
    parser.add_argument("--data", type=Path, required=True, help=f"{whose} data directory")


def add_relay_options(
    parser: argparse.ArgumentParser, *, required: bool, relay_help: str = RELAY_ADDRESS_HELP
) -> None:
    """``--relay SMP_ADDRESS``, the relay of the app's own queues, and ``--ws URL``, the
    WebSocket URL that reaches it."""
    parser.add_argument("--relay", required=required, metavar="SMP_ADDRESS", help=relay_help)
    parser.add_argument("--ws", metavar="URL", help="reach the relay over this WebSocket URL")


def add_passphrase_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--passphrase-env VAR``: the environment variable that holds the passphrase ``what``
    (e.g. ``"keys"``) is encrypted with; read it with :func:`passphrase_from_env`."""
    parser.add_argument("--passphrase-env", metavar="VAR", help=f"encrypt {what} with $VAR")


def passphrase_from_env(args: argparse.Namespace) -> str | None:
    """The passphrase named by ``--passphrase-env``, or None; an empty variable is an error."""
    if not args.passphrase_env:
        return None
    passphrase = os.environ.get(args.passphrase_env)
    if not passphrase:
        raise ConfigError(f"${args.passphrase_env} is empty: set it to the passphrase")
    return passphrase
