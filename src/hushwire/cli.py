"""The ``hushwire`` command line: one entry point, one sub-command per part."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from hushwire import __version__
from hushwire.agent.routing import add_routing_option
from hushwire.app.cli import add_app_parser, run_app_command
from hushwire.cliargs import (
    add_command_group,
    add_data_option,
    add_passphrase_option,
    add_relay_options,
    passphrase_from_env,
)
from hushwire.errors import ConfigError, DecodeError
from hushwire.inbox.cli import add_inbox_parser, run_inbox_command
from hushwire.rooms.cli import add_room_parser, run_room_command
from hushwire.widget import add_widget_parser, run_widget_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hushwire",
        description=(
            "Hushwire: end-to-end encrypted, account-less chat between a website's "
            "visitors and the people who run it, on the SimpleX Messaging Protocol."
        ),
    )
    parser.add_argument("--version", action="version", version=f"hushwire {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    relay = sub.add_parser(
        "relay",
        help="run an SMP relay (WebSocket for browsers, TLS for SimpleX apps)",
        description=(
            "Run an SMP relay. It stores encrypted messages in one-way queues until their "
            "recipients take them, and prints its server address (smp://KEYHASH@HOST:PORT) "
            "on a line of its own. Give that address to the inbox and the widget."
        ),
    )
    relay.add_argument("--data", type=Path, help="directory for the identity and the store")
    relay.add_argument("--ws", metavar="HOST:PORT", help="serve SMP over WebSocket here")
    relay.add_argument(
        "--tls", metavar="HOST:PORT", help="serve native SMP (TLS, ALPN smp/1) and WSS here"
    )
    relay.add_argument(
        "--grp",
        metavar="HOST:PORT",
        help="serve the GRP/1 high-security profile (WebSocket, path /grp/1) here",
    )
    relay.add_argument("--host", help="host name to put in the server address")
    relay.add_argument("--web-cert", type=Path, help="browser-trusted certificate (PEM) for WSS")
    relay.add_argument("--web-key", type=Path, help="its private key (PEM)")
    relay.add_argument(
        "--store",
        metavar="URI",
        help="keep queues in PostgreSQL at postgresql://USER@HOST/DB (needs hushwire[postgres]); "
        "default: SQLite under --data",
    )
    relay.add_argument(
        "--cluster",
        action="store_true",
        default=None,
        help="share the PostgreSQL store with other relay nodes serving the same address",
    )
    relay.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run N relay processes sharing the ports (implies --cluster; default: 1)",
    )
    relay.add_argument("--config", type=Path, help="relay.toml with these and more settings")
    relay.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="default: info"
    )
    relay.add_argument(
        "--proxy",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="forward senders' commands to other relays (private routing; default: on)",
    )
    relay.add_argument(
        "--ack-next-as-push",
        action="store_true",
        default=None,
        help=(
            "answer ACK with OK and push the next message separately, for every client "
            "(default: only clients at SMP v9 or lower, such as simplex-js, get this; newer "
            "ones get the next message as ACK's reply)"
        ),
    )
    relay.add_argument(
        "--admin",
        metavar="HOST:PORT",
        help="serve /metrics on this separate plain-HTTP listener (default: no /metrics at all)",
    )

    bots = add_command_group(sub, "bot", "run a bot on the agent", "BOT")
    echo = bots.add_parser(
        "echo",
        help="an always-on bot that answers every message with the same text",
        description=(
            "Create (or reuse) a contact address on the relay, print it on a line of its "
            "own, accept every visitor and answer each text message with the same text."
        ),
    )
    add_data_option(echo, "the bot's")
    add_relay_options(echo, required=True)
    echo.add_argument("--name", default="Echo bot", help="the bot's display name")
    add_passphrase_option(echo, "keys")
    echo.add_argument("--qr", action="store_true", help="also draw the address as a QR code")
    add_routing_option(echo)

    chat = sub.add_parser(
        "chat",
        help="chat in the terminal through a SimpleX contact address or invitation",
        description=(
            "Join LINK (simplex:/contact#/?... or https://.../contact#/?...) and chat: lines "
            "you type are sent; /quit leaves, /end ends the conversation."
        ),
    )
    chat.add_argument("link", help="a SimpleX contact address or one-time invitation link")
    chat.add_argument(
        "--data",
        type=Path,
        help="where to keep the conversation (default: ~/.local/share/hushwire/chat/<link>)",
    )
    add_relay_options(
        chat, required=False, relay_help="relay for your own queue (default: the link's relay)"
    )
    chat.add_argument("--name", default="Visitor", help="the name the other side sees")
    add_passphrase_option(chat, "the conversation's keys")
    add_routing_option(chat)
    add_inbox_parser(sub)
    add_room_parser(sub)
    add_widget_parser(sub)
    add_app_parser(sub)

    demo = sub.add_parser(
        "demo",
        help="run a relay, an inbox and a demo website on 127.0.0.1",
        description=(
            "Start a relay, an owner inbox and a small website that embeds the chat widget, "
            "all on 127.0.0.1, and print their URLs. Open the website and the inbox in two "
            "tabs to hold an end-to-end encrypted conversation. Ctrl-C stops everything."
        ),
    )
    demo.add_argument(
        "--data", type=Path, default=Path(".hushwire-demo"), help="default: ./.hushwire-demo"
    )
    demo.add_argument("--no-open", action="store_true", help="do not open a browser")
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    from hushwire.demo.run import main as demo_main

    demo_main(args.data, not args.no_open)
    return 0


def _run_bot(args: argparse.Namespace) -> int:

    from hushwire.bot.echo import main as echo_main

    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(message)s")
    echo_main(
        args.data,
        args.relay,
        args.ws,
        args.name,
        passphrase_from_env(args),
        args.qr,
        routing=args.private_routing,
    )
    return 0


def _run_chat(args: argparse.Namespace) -> int:
    import hashlib
    import os

    from hushwire.bot.terminal import main as chat_main

    logging.basicConfig(level="WARNING", format="%(levelname)s %(message)s")
    data = args.data
    if data is None:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        data = base / "hushwire" / "chat" / hashlib.sha256(args.link.encode()).hexdigest()[:16]
    data.mkdir(parents=True, exist_ok=True)
    chat_main(
        args.link,
        data,
        args.relay,
        args.ws,
        args.name,
        passphrase_from_env(args),
        routing=args.private_routing,
    )
    return 0


def _run_relay(args: argparse.Namespace) -> int:
    from hushwire.server.config import load_config
    from hushwire.server.run import run

    config = load_config(
        args.config,
        data=str(args.data) if args.data else None,
        ws=args.ws,
        tls=args.tls,
        grp=args.grp,
        host=args.host,
        web_cert=str(args.web_cert) if args.web_cert else None,
        web_key=str(args.web_key) if args.web_key else None,
        log_level=args.log_level,
        ack_next_as_push=args.ack_next_as_push,
        admin=args.admin,
        proxy=args.proxy,
        store=args.store,
        cluster=args.cluster,
        workers=args.workers,
    )
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    run(config)
    return 0


_COMMANDS: Final[dict[str, Callable[[argparse.Namespace], int]]] = {
    "relay": _run_relay,
    "bot": _run_bot,
    "chat": _run_chat,
    "demo": _run_demo,
    "inbox": run_inbox_command,
    "room": run_room_command,
    "widget": run_widget_command,
    "app": run_app_command,
}
"""The function that runs each sub-command (argparse yields only these names)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _COMMANDS[args.command](args)
    except (ConfigError, DecodeError) as e:
        print(f"hushwire {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
