"""``hushwire room ...``: the room sub-commands (argparse wiring only)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from hushwire.cliargs import add_command_group, add_data_option, add_relay_options
from hushwire.errors import ConfigError
from hushwire.limits import GROUP_HISTORY_DEFAULT, GROUP_HISTORY_MAX, GROUP_MAX_MEMBERS_DEFAULT

__all__ = ["add_room_parser", "run_room_command"]


def add_room_parser(sub: Any) -> None:
    """Add ``room host`` to the top-level sub-parsers."""
    rooms = add_command_group(sub, "room", "host a room: a SimpleX group behind one link", "ACTION")
    host = rooms.add_parser(
        "host",
        help="create (first run) and keep hosting a room; prints its link",
        description=(
            "Create the room on first run, print its group link on a line of its own and "
            "keep hosting: admit joiners, forward their messages to each other and send new "
            "members the last messages. Join with `hushwire chat LINK` or a SimpleX app."
        ),
    )
    add_data_option(host, "the room's")
    add_relay_options(host, required=True)
    host.add_argument("--name", required=True, help="the room's name")
    host.add_argument(
        "--history",
        type=int,
        default=GROUP_HISTORY_DEFAULT,
        metavar="N",
        help=f"messages sent to a new member (default {GROUP_HISTORY_DEFAULT}, "
        f"at most {GROUP_HISTORY_MAX})",
    )
    host.add_argument(
        "--max-members",
        type=int,
        default=GROUP_MAX_MEMBERS_DEFAULT,
        metavar="N",
        help=f"members the room admits (default {GROUP_MAX_MEMBERS_DEFAULT})",
    )
    host.add_argument("--qr", action="store_true", help="also draw the link as a QR code")
    host.add_argument(
        "--introduce",
        action="store_true",
        help="introduce members to each other, so that they also talk directly",
    )


def run_room_command(args: argparse.Namespace) -> int:
    from hushwire.rooms.host import main

    if not 0 <= args.history <= GROUP_HISTORY_MAX:
        raise ConfigError(f"--history is 0 to {GROUP_HISTORY_MAX}")
    if args.max_members < 1:
        raise ConfigError("--max-members is at least 1")
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(message)s")
    main(
        args.data,
        args.relay,
        args.ws,
        args.name,
        args.history,
        args.qr,
        args.introduce,
        args.max_members,
    )
    return 0
