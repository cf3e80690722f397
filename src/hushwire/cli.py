"""The ``hushwire`` command line: one entry point, one sub-command per part."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hushwire import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hushwire",
        description=(
            "Hushwire: end-to-end encrypted, account-less chat between a website's "
            "visitors and the people who run it, on the SimpleX Messaging Protocol."
        ),
    )
    parser.add_argument("--version", action="version", version=f"hushwire {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0  # pragma: no cover - every sub-command returns on its own


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
