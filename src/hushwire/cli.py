"""The ``hushwire`` command line: one entry point, one sub-command per part."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from hushwire import __version__
from hushwire.errors import ConfigError


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
    relay.add_argument("--host", help="host name to put in the server address")
    relay.add_argument("--web-cert", type=Path, help="browser-trusted certificate (PEM) for WSS")
    relay.add_argument("--web-key", type=Path, help="its private key (PEM)")
    relay.add_argument("--config", type=Path, help="relay.toml with these and more settings")
    relay.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="default: info"
    )
    return parser


def _run_relay(args: argparse.Namespace) -> int:
    from hushwire.server.config import load_config
    from hushwire.server.run import run

    config = load_config(
        args.config,
        data=str(args.data) if args.data else None,
        ws=args.ws,
        tls=args.tls,
        host=args.host,
        web_cert=str(args.web_cert) if args.web_cert else None,
        web_key=str(args.web_key) if args.web_key else None,
        log_level=args.log_level,
    )
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    run(config)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "relay":
            return _run_relay(args)
    except ConfigError as e:
        print(f"hushwire {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    return 0  # pragma: no cover - argparse only yields known commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
