"""``hushwire widget``: what a website needs to embed the browser widget.

``hushwire widget snippet --address LINK --relay URL [--src URL]`` prints the ``<script>`` tag
for the widget bundle this package ships (``hushwire/static/hushwire-widget.js``), pinned by
its Subresource Integrity hash (SHA-384), so a changed copy of the file on a CDN or a
compromised host does not run. Every attribute value is HTML-escaped. See docs/widget.md for
the Content-Security-Policy the host page needs. The address may be the inbox's short link
(``https://relay/a#...``): the widget then loads its ``short`` module, fetches the full
address from the relay (``LGET``) and checks it before joining.

The bundle is the widget's core; its optional parts are modules next to it
(``hushwire-widget-<name>.js``, loaded on demand). The core carries each module's SHA-384
hash and loads it with that ``integrity``; the snippet prints them too: a ``preload`` link for
each module the embed loads with the page (``--lang de``, ``--resume``) and a comment line
naming every module file the site must serve with its hash.

``--shop`` prints the shop-mode tag (``data-mode="shop"``, docs/widget.md "Shop mode"): the
page shows the owner's catalog, a cart and the orders, all through the encrypted connection;
the page's CSP then needs ``img-src blob:`` for the product images.

When the owner's address is on another relay than the widget's, ``--relay`` names the
widget's relay twice: its WebSocket URL, then ``#`` and its SMP address
(``wss://relay/#smp://KEYHASH@relay``); the widget then loads its ``proxy`` module and sends
to the owner's relay through its own (SMP private message routing, docs/widget.md).

``--profile grp`` prints the tag of the high-security profile (``data-profile="grp"``,
docs/grp.md): ``--relay`` is then the entry relay's GRP address, ``#`` and its SMP address
(``grp://KEYHASH@relay:7443?nk=KEY#smp://KEYHASH@relay``), and the owner's address must be on
another relay; the widget loads its ``grp`` module and reaches its relay over GRP/1 only.
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
from urllib.parse import urljoin, urlsplit

from hushwire.agent.links import LinkError, parse_link
from hushwire.agent.shortlinks import ShortLink, is_short_link, restore_short_link
from hushwire.cliargs import add_command_group
from hushwire.errors import ConfigError, DecodeError
from hushwire.grp.address import GrpAddress, is_grp_url
from hushwire.smp.address import SMPServer

BUNDLE_NAME = "hushwire-widget.js"
DEFAULT_SRC = "/" + BUNDLE_NAME
LANGUAGES = ("en", "de")
PROFILES = ("grp",)
MODULE_PREFIX = "hushwire-widget-"


def bundle_bytes() -> bytes:
    """The widget bundle shipped in this package."""
    try:
        return resources.files("hushwire.static").joinpath(BUNDLE_NAME).read_bytes()
    except FileNotFoundError as e:  # pragma: no cover - the wheel always ships it
        raise ConfigError(
            f"the widget bundle {BUNDLE_NAME} is missing from this installation: "
            "build it with `make widget`"
        ) from e


def module_files() -> dict[str, bytes]:
    """The widget's modules shipped in this package, by module name (``de`` for
    ``hushwire-widget-de.js``)."""
    found: dict[str, bytes] = {}
    for f in resources.files("hushwire.static").iterdir():
        if f.name.startswith(MODULE_PREFIX) and f.name.endswith(".js") and f.is_file():
            found[f.name[len(MODULE_PREFIX) : -len(".js")]] = f.read_bytes()
    return dict(sorted(found.items()))


def widget_file(name: str) -> bytes | None:
    """The shipped file ``name`` (the bundle or a module) for a server, or None."""
    if name == BUNDLE_NAME:
        return bundle_bytes()
    if name.startswith(MODULE_PREFIX) and name.endswith(".js"):
        return module_files().get(name[len(MODULE_PREFIX) : -len(".js")])
    return None


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
    resume_passphrase: bool = False
    """``data-resume="passphrase"``: resuming needs a passphrase the visitor chooses."""
    shop: bool = False
    """Shop mode (``data-mode="shop"``): the customer's shop instead of the chat."""
    profile: str | None = None
    """``grp``: the high-security profile (``data-profile="grp"``, docs/grp.md)."""
    preload: bool = False
    """``data-preload``: start the crypto worker once the page is idle, not on the visitor's
    intent (a faster first click; every page view pays for the worker and its modules)."""


def _check_short(address: str) -> SMPServer:
    """A short link the widget can join: a contact address (``/a#``) whose relay it can
    identify (a key hash in the link, or a preset server's); that relay."""
    try:
        link = restore_short_link(ShortLink.parse(address))
        server = link.server.to_smp_server()
    except LinkError as e:
        raise ConfigError(f"--address: {e}") from None
    if link.contact_type != "A":
        raise ConfigError(
            "--address must be a contact address: this short link is a one-time invitation, "
            "a group or a channel"
        )
    return server


def _address_relay(address: str) -> SMPServer | None:
    """The relay of a contact address (None if the full link does not parse: the widget
    says why when it joins)."""
    if is_short_link(address):
        return _check_short(address)
    try:
        return parse_link(address).queues[0].server
    except DecodeError:
        return None


def _check_grp(opts: SnippetOptions) -> None:
    """``--profile grp``: the entry relay's GRP and SMP addresses, of one relay, and the
    owner's address on another (two hops)."""
    grp, _, smp = opts.relay.partition("#")
    try:
        entry = GrpAddress.parse(grp)
        own = SMPServer.parse(smp)
    except DecodeError as e:
        raise ConfigError(
            "--profile grp: --relay must be the entry relay's GRP address, '#', its SMP "
            "address (grp://KEYHASH@HOST:PORT?nk=KEY#smp://KEYHASH@HOST:PORT, what "
            f"`hushwire relay --grp` prints): {e}"
        ) from None
    if entry.key_hash != own.key_hash:
        raise ConfigError("--relay: the GRP address and the SMP address are of different relays")
    owner = _address_relay(opts.address)
    if owner is not None and owner.key_hash == own.key_hash:
        raise ConfigError(
            "--profile grp needs a distinct entry relay: the address is on the relay given "
            "in --relay (GRP sends through a second relay, so that no relay sees both the "
            "visitor and the owner's queue)"
        )


def _check_ws_relay(text: str) -> None:
    """The relay's WebSocket URL, maybe with ``#`` and its SMP address."""
    if is_grp_url(text):
        raise ConfigError("--relay: a grp:// address is for the GRP profile: add --profile grp")
    relay = urlsplit(text)
    if relay.scheme not in ("wss", "ws") or not relay.netloc:
        raise ConfigError(
            "--relay must be the relay's WebSocket URL, e.g. wss://relay.example.com/ "
            "(ws:// only for a relay on localhost)"
        )
    if relay.fragment:
        try:
            SMPServer.parse(relay.fragment)
        except DecodeError as e:
            raise ConfigError(
                "--relay: after '#' comes the relay's own SMP address "
                f"(smp://KEYHASH@host, what `hushwire relay` prints): {e}"
            ) from None


def _check(opts: SnippetOptions) -> None:
    if is_short_link(opts.address):
        _check_short(opts.address)
    elif not opts.address.startswith(("simplex:/", "https://")) or "#/?" not in opts.address:
        raise ConfigError(
            "--address must be a contact address (its short link https://.../a#..., or "
            "simplex:/contact#/?... or https://.../contact#/?...): the inbox and "
            "`hushwire bot echo` print it"
        )
    if opts.profile is not None and opts.profile not in PROFILES:
        raise ConfigError(f"--profile must be one of {', '.join(PROFILES)}")
    if opts.profile == "grp":
        _check_grp(opts)
    else:
        _check_ws_relay(opts.relay)
    src = urlsplit(opts.src)
    if src.scheme not in ("", "https", "http") or opts.src.strip() == "":
        raise ConfigError("--src must be the URL the site serves hushwire-widget.js from")
    if opts.lang is not None and opts.lang not in LANGUAGES:
        raise ConfigError(f"--lang must be one of {', '.join(LANGUAGES)}")


def _tag(name: str, attrs: list[tuple[str, str | None]], close: bool) -> str:
    text = " ".join(k if v is None else f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs)
    return f"<{name} {text}></{name}>" if close else f"<{name} {text}>"


def snippet(
    opts: SnippetOptions, bundle: bytes | None = None, modules: dict[str, bytes] | None = None
) -> str:
    """The embed tag for the shipped bundle (or ``bundle``), attributes HTML-escaped, then a
    ``preload`` link for each module the embed loads with the page and one comment line per
    module file (of the package, or ``modules``) with its hash. The first line is the tag."""
    _check(opts)
    data = bundle_bytes() if bundle is None else bundle
    mods = module_files() if modules is None else modules
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
    if opts.resume_passphrase:
        attrs.append(("data-resume", "passphrase"))
    elif opts.resume:
        attrs.append(("data-resume", None))
    if opts.shop:
        attrs.append(("data-mode", "shop"))
    if opts.profile is not None:
        attrs.append(("data-profile", opts.profile))
    if opts.preload:
        attrs.append(("data-preload", None))
    attrs.append(("async", None))
    lines = [_tag("script", attrs, close=True)]
    store = "passphrase" if opts.resume_passphrase else "resume" if opts.resume else None
    with_page = {opts.lang, store, "shop" if opts.shop else None}
    for name, body in mods.items():
        url = urljoin(opts.src, MODULE_PREFIX + name + ".js")
        if name in with_page:
            lines.append(
                _tag(
                    "link",
                    [
                        ("rel", "preload"),
                        ("as", "script"),
                        ("href", url),
                        ("integrity", sri_hash(body)),
                        ("crossorigin", "anonymous"),
                    ],
                    close=False,
                )
            )
    for name, body in mods.items():
        url = urljoin(opts.src, MODULE_PREFIX + name + ".js")
        text = html.escape(f"module {name}: serve {url} too ({sri_hash(body)})", quote=True)
        lines.append(f"<!-- {text.replace('--', '&#45;&#45;')} -->")
    return "\n".join(lines)


def add_widget_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hushwire widget snippet ...`` (registered by hushwire.cli)."""
    cmds = add_command_group(
        sub, "widget", "embed the browser widget in a website", "WIDGET_COMMAND"
    )
    snip = cmds.add_parser(
        "snippet",
        help="print the <script> tag (with its SRI hash) that embeds the widget",
        description=(
            "Print the <script> tag that embeds the widget bundle shipped with this "
            "version, pinned by its SHA-384 integrity hash. Serve hushwire-widget.js at "
            "--src and its modules hushwire-widget-*.js next to it (they are in this package: "
            "hushwire/static/; the lines after the tag name them with their hashes); "
            "docs/widget.md gives the Content-Security-Policy the page needs."
        ),
    )
    snip.add_argument(
        "--address",
        required=True,
        metavar="LINK",
        help="the contact address: its short link (https://RELAY/a#...) or its full link",
    )
    snip.add_argument(
        "--relay",
        required=True,
        metavar="URL",
        help="the relay's WebSocket URL (wss://...); when the address is on another relay, "
        "then '#' and this relay's SMP address (wss://relay/#smp://KEYHASH@relay)",
    )
    snip.add_argument(
        "--src", default=DEFAULT_SRC, metavar="URL", help=f"bundle URL (default: {DEFAULT_SRC})"
    )
    snip.add_argument("--lang", choices=LANGUAGES, help="language (default: the browser's)")
    snip.add_argument("--ask-name", action="store_true", help="start with the optional name step")
    snip.add_argument(
        "--resume", action="store_true", help="keep the conversation across page reloads"
    )
    snip.add_argument(
        "--resume-passphrase",
        action="store_true",
        help="keep it only behind a passphrase the visitor chooses (scripts on the page "
        "cannot resume it without the passphrase)",
    )
    snip.add_argument(
        "--profile",
        choices=PROFILES,
        help="grp: the high-security profile (GRP/1, cover traffic, two relays; docs/grp.md); "
        "--relay is then the entry relay's grp://...#smp://... address",
    )
    snip.add_argument(
        "--preload",
        action="store_true",
        help="start the widget's crypto worker when the page is idle: the chat opens faster, "
        "every page view pays for the worker and its modules",
    )
    snip.add_argument(
        "--shop",
        action="store_true",
        help="shop mode: the catalog, cart and orders, end-to-end encrypted (docs/widget.md)",
    )


def run_widget_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    opts = SnippetOptions(
        address=args.address,
        relay=args.relay,
        src=args.src,
        lang=args.lang,
        ask_name=args.ask_name,
        resume=args.resume,
        resume_passphrase=args.resume_passphrase,
        shop=args.shop,
        profile=args.profile,
        preload=args.preload,
    )
    print(snippet(opts), file=out or sys.stdout)
    return 0
