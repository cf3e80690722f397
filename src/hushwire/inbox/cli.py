"""``hushwire inbox``: the owner's app as a long-lived service, and terminal commands that
talk to the running service (``list``, ``read``, ``reply``, ``end``, ``link``, and the
shop's ``orders``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hushwire.agent.routing import add_routing_option
from hushwire.cliargs import (
    add_data_option,
    add_passphrase_option,
    add_relay_options,
    passphrase_from_env,
)
from hushwire.errors import ConfigError
from hushwire.inbox.team_cli import TEAM_ACTIONS, add_team_options, team_options
from hushwire.shop.wire import ShopError

SUBCOMMANDS = (
    "serve",
    "list",
    "read",
    "reply",
    "end",
    "link",
    "invite-operator",
    "remove-operator",
    "operators",
    "orders",
)


def add_inbox_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``hushwire inbox`` on the top-level sub-command table."""
    inbox = sub.add_parser(
        "inbox",
        help="the site owner's inbox: a local web UI and terminal commands",
        description=(
            "Without a sub-command: run the inbox service. On the first run it creates the "
            "owner's contact address on the relay and prints it (its short link, then the "
            "full link for older clients) with its QR code; then it "
            "serves a web UI on 127.0.0.1 behind a login link. The sub-commands list, read, "
            "reply, end and link talk to the running service (for a server over SSH). With "
            "--team the address is a SimpleX business address shared by a team of operators "
            "(invite-operator, remove-operator, operators); --join-team LINK makes this inbox "
            "one of them."
        ),
    )
    add_data_option(inbox, "the inbox's")
    add_relay_options(inbox, required=False)
    inbox.add_argument(
        "--widget-relay",
        metavar="URL",
        help="the relay's WebSocket URL as visitors' browsers reach it, for the embed snippet "
        "(default: --ws), e.g. wss://relay.example.com",
    )
    inbox.add_argument("--name", default=None, help='the name visitors see (default "Support")')
    inbox.add_argument(
        "--ui-port", type=int, default=0, help="port of the web UI on 127.0.0.1 (0: any free)"
    )
    add_passphrase_option(inbox, "keys and the history")
    inbox.add_argument("--no-qr", action="store_true", help="do not draw the address QR code")
    inbox.add_argument(
        "--shop",
        type=Path,
        metavar="CATALOG",
        help="run a shop from this catalog.toml or products CSV (docs/inbox.md, Shop)",
    )
    inbox.add_argument("--tracking", help="orders ship ORDER: the tracking number")
    inbox.add_argument("--csv", action="store_true", help="orders export ORDER: CSV, not JSON")
    inbox.add_argument(
        "--require-grp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="take conversations only from the widget on its GRP profile (docs/grp.md): the "
        'snippet gets data-profile="grp" (--widget-relay must then be the entry relay\'s '
        "grp://...#smp://... address), other visitors are told so and refused; remembered "
        "(--no-require-grp turns it off)",
    )
    add_routing_option(inbox)
    add_team_options(inbox)
    inbox.add_argument(
        "action",
        nargs="?",
        default="serve",
        choices=SUBCOMMANDS,
        help="list | read CONV | reply CONV TEXT | end CONV | link | invite-operator | "
        "remove-operator NAME | operators | orders [VERB ORDER] (default: run the service)",
    )
    inbox.add_argument("args", nargs="*", help="CONV (an id prefix from `list`) and TEXT")


def run_inbox_command(args: argparse.Namespace) -> int:
    if args.action == "serve":
        return _serve(args)
    if args.action in TEAM_ACTIONS:
        from hushwire.inbox.team_cli import run_team_remote

        return run_team_remote(args.data, args.action, list(args.args), sys.stdout)
    if args.action == "orders":
        from hushwire.inbox.shopcli import run_orders

        out = sys.stdout
        return run_orders(args.data, list(args.args), out, tracking=args.tracking, csv=args.csv)
    from hushwire.inbox.remote import run_remote

    return run_remote(args.data, args.action, list(args.args), sys.stdout)


def _serve(args: argparse.Namespace) -> int:
    from hushwire.inbox.run import serve_forever, start_inbox
    from hushwire.smp.address import SMPServer

    if args.args:
        raise ConfigError(f"unexpected arguments: {' '.join(args.args)}")
    if not args.relay:
        raise ConfigError(
            "give the relay: hushwire inbox --data DIR --relay smp://KEYHASH@HOST:PORT"
        )
    passphrase = passphrase_from_env(args)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        team = team_options(args)
        server = SMPServer.parse(args.relay)
        serve_forever(
            lambda: start_inbox(
                args.data,
                server,
                ws_url=args.ws,
                widget_relay=args.widget_relay,
                name=args.name,
                ui_port=args.ui_port,
                passphrase=passphrase,
                routing=args.private_routing,
                shop=args.shop,
                require_grp=args.require_grp,
                **team,
            ),
            qr=not args.no_qr,
        )
    except ShopError as e:  # a mistake in the catalog file: say where, no traceback
        raise ConfigError(str(e)) from None
    return 0
