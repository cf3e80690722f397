"""``hushwire inbox`` options and terminal commands of a team inbox.

Options of the service: ``--team`` (the contact address becomes a SimpleX business
address, hushwire.inbox.team), ``--join-team LINK`` (this inbox is an operator of the team
inbox that printed LINK, hushwire.inbox.team_operator), ``--show-operator-names``.

Commands, talking to the running team inbox like the other terminal commands:
``invite-operator`` prints a one-time operator link and its QR code, ``remove-operator
NAME`` removes one from every conversation, ``operators`` lists them.
"""

from __future__ import annotations

import argparse
import urllib.parse
from pathlib import Path
from typing import Any, TextIO

from hushwire.agent.qr import qr_terminal
from hushwire.errors import ConfigError

__all__ = ["TEAM_ACTIONS", "add_team_options", "run_team_remote", "team_options"]

TEAM_ACTIONS = ("invite-operator", "remove-operator", "operators")


def add_team_options(parser: argparse.ArgumentParser) -> None:
    team = parser.add_mutually_exclusive_group()
    team.add_argument(
        "--team",
        action="store_true",
        help="a team inbox: the contact address is a business address, every visitor "
        "conversation a group with the team's operators (see invite-operator)",
    )
    team.add_argument(
        "--join-team",
        metavar="LINK",
        help="be an operator of the team inbox that printed LINK (`invite-operator`)",
    )
    parser.add_argument(
        "--show-operator-names",
        action="store_true",
        help="with --team: visitors see which operator answered (default: the business name)",
    )
    parser.add_argument(
        "--hours",
        metavar="SPEC",
        help='with --team: opening hours in local time, e.g. "Mon-Fri 09:00-17:00, Sat '
        '10:00-13:00"; outside them visitors get --away-message (once per closed period)',
    )
    parser.add_argument(
        "--away-message", metavar="TEXT", help="with --team and --hours: the away message"
    )


def team_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the service for the team options."""
    from hushwire.inbox.team_store import TeamStore

    host = args.team or TeamStore.remembered_role(args.data / "team.sqlite3", None) == "host"
    if (args.show_operator_names or args.hours or args.away_message) and not host:
        raise ConfigError("--show-operator-names, --hours and --away-message go with --team")
    if bool(args.hours) != bool(args.away_message):
        raise ConfigError("give both --hours and --away-message (or neither)")
    if args.away_message and len(args.away_message) > 5000:
        raise ConfigError("--away-message is longer than 5000 characters")
    from hushwire.inbox.hours import OpeningHours
    from hushwire.inbox.team_common import TeamSettings

    settings = TeamSettings(
        args.show_operator_names,
        OpeningHours.parse(args.hours) if args.hours else None,
        args.away_message,
    )
    return {
        "team": "host" if args.team else None,
        "join_team": args.join_team,
        "team_settings": settings,
    }


def run_team_remote(data: Path, action: str, args: list[str], out: TextIO) -> int:
    from hushwire.inbox.remote import _call, _printable

    if action == "invite-operator":
        if args:
            raise ConfigError("usage: hushwire inbox invite-operator --data DIR")
        invited = _call(data, "POST", "/api/team/operators", {})
        print(
            "Operator link (one use; join it with `hushwire inbox --data DIR2 --join-team "
            "LINK ...` or a SimpleX app):",
            file=out,
        )
        if invited.get("short_link"):  # the short link first, the full one for older apps
            print(invited["short_link"], file=out)
        print(invited["link"], file=out)
        print(qr_terminal(invited.get("short_link") or invited["link"]), file=out, end="")
        return 0
    if action == "remove-operator":
        if len(args) != 1:
            raise ConfigError("usage: hushwire inbox remove-operator NAME --data DIR")
        ref = urllib.parse.quote(args[0], safe="")
        name = _call(data, "POST", f"/api/team/operators/{ref}/remove", {})["removed"]
        print(f"Removed {_printable(name)} from every conversation.", file=out)
        return 0
    team = _call(data, "GET", "/api/team")
    if team["role"] != "host":
        raise ConfigError("this inbox is not a team inbox (start it with --team)")
    if not team["operators"]:
        print("No operators yet: `hushwire inbox invite-operator --data DIR`.", file=out)
    for op in team["operators"]:
        print(f"{op['id'][:8]}  {_printable(op['name'])}  [{op['status']}]", file=out)
    return 0
