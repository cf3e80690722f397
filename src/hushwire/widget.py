"""``hushwire widget``: what a website needs to embed the browser widget.

``hushwire widget snippet --address LINK --relay URL [--src URL]`` prints the ``<script>`` tag
for the widget bundle this package ships (``hushwire/static/hushwire-widget.js``), pinned by
its Subresource Integrity hash (SHA-384), so a changed copy of the file on a CDN or a
compromised host does not run. Every attribute value is HTML-escaped. See docs/widget.md for
the Content-Security-Policy the host page needs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import sys
from dataclasses import dataclass
from importlib import resources
from typing import TextIO
from urllib.parse import urlsplit

from hushwire.errors import ConfigError

BUNDLE_NAME = "hushwire-widget.js"
DEFAULT_SRC = "/" + BUNDLE_NAME
LANGUAGES = ("en", "de")


def bundle_bytes() -> bytes:
    """The widget bundle shipped in this package."""
    try:
        return resources.files("hushwire.static").joinpath(BUNDLE_NAME).read_bytes()
    except FileNotFoundError as e:  # pragma: no cover - the wheel always ships it
        raise ConfigError(
            f"the widget bundle {BUNDLE_NAME} is missing from this installation: "
            "build it with `make widget`"
        ) from e


def sri_hash(data: bytes) -> str:
    """The ``integrity`` value for ``data``: ``sha384-`` and the base64 digest."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class SnippetOptions:
    address: str
    relay: str
    src: str = DEFAULT_SRC
    lang: str | None = None
    ask_name: bool = False
    resume: bool = False


def _check(opts: SnippetOptions) -> None:
    if not opts.address.startswith(("simplex:/", "https://")) or "#/?" not in opts.address:
        raise ConfigError(
            "--address must be a contact address (simplex:/contact#/?... or "
            "https://.../contact#/?...): the inbox and `hushwire bot echo` print it"
        )
    relay = urlsplit(opts.relay)
    if relay.scheme not in ("wss", "ws") or not relay.netloc:
        raise ConfigError(
            "--relay must be the relay's WebSocket URL, e.g. wss://relay.example.com/ "
            "(ws:// only for a relay on localhost)"
        )
    src = urlsplit(opts.src)
    if src.scheme not in ("", "https", "http") or opts.src.strip() == "":
        raise ConfigError("--src must be the URL the site serves hushwire-widget.js from")
    if opts.lang is not None and opts.lang not in LANGUAGES:
        raise ConfigError(f"--lang must be one of {', '.join(LANGUAGES)}")


def snippet(opts: SnippetOptions, bundle: bytes | None = None) -> str:
    """The embed tag for the shipped bundle (or ``bundle``), attributes HTML-escaped."""
    _check(opts)
    data = bundle_bytes() if bundle is None else bundle
    attrs: list[tuple[str, str | None]] = [
        ("src", opts.src),
        ("integrity", sri_hash(data)),
        ("crossorigin", "anonymous"),
        ("data-address", opts.address),
        ("data-relay", opts.relay),
    ]
    if opts.lang is not None:
        attrs.append(("data-lang", opts.lang))
    if opts.ask_name:
        attrs.append(("data-ask-name", None))
    if opts.resume:
        attrs.append(("data-resume", None))
    attrs.append(("async", None))
    text = " ".join(k if v is None else f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs)
    return f"<script {text}></script>"


def add_widget_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hushwire widget snippet ...`` (registered by hushwire.cli)."""
    widget = sub.add_parser("widget", help="embed the browser widget in a website")
    cmds = widget.add_subparsers(dest="widget", metavar="WIDGET_COMMAND", required=True)
    snip = cmds.add_parser(
        "snippet",
        help="print the <script> tag (with its SRI hash) that embeds the widget",
        description=(
            "Print the <script> tag that embeds the widget bundle shipped with this "
            "version, pinned by its SHA-384 integrity hash. Serve hushwire-widget.js at "
            "--src (it is in this package: hushwire/static/); docs/widget.md gives the "
            "Content-Security-Policy the page needs."
        ),
    )
    snip.add_argument("--address", required=True, metavar="LINK", help="the contact address")
    snip.add_argument(
        "--relay", required=True, metavar="URL", help="the relay's WebSocket URL (wss://...)"
    )
    snip.add_argument(
        "--src", default=DEFAULT_SRC, metavar="URL", help=f"bundle URL (default: {DEFAULT_SRC})"
    )
    snip.add_argument("--lang", choices=LANGUAGES, help="language (default: the browser's)")
    snip.add_argument("--ask-name", action="store_true", help="start with the optional name step")
    snip.add_argument(
        "--resume", action="store_true", help="keep the conversation across page reloads"
    )


def run_widget_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    opts = SnippetOptions(
        address=args.address,
        relay=args.relay,
        src=args.src,
        lang=args.lang,
        ask_name=args.ask_name,
        resume=args.resume,
    )
    print(snippet(opts), file=out or sys.stdout)
    return 0
