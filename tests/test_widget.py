"""``hushwire widget snippet``: the embed tag with the shipped bundle's SRI hash."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import subprocess
import sys
from importlib import resources

import pytest

from hushwire.cli import main
from hushwire.errors import ConfigError
from hushwire.widget import SnippetOptions, module_files, snippet, sri_hash, widget_file

LINK = "simplex:/contact#/?v=2-7&smp=smp%3A%2F%2Fabc%40relay.example.com%2Fq1%23%2F%3Fk%3Dx"
RELAY = "wss://relay.example.com/"


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _parse(text: str) -> dict[str, str | None]:
    p = _Tags()
    p.feed(text)
    assert [t for t, _ in p.tags] == ["script"]
    return p.tags[0][1]


def _link(text: str) -> dict[str, str | None]:
    p = _Tags()
    p.feed(text)
    assert [t for t, _ in p.tags] == ["link"]
    return p.tags[0][1]


def _shipped() -> bytes:
    return resources.files("hushwire.static").joinpath("hushwire-widget.js").read_bytes()


def test_snippet_pins_the_shipped_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["widget", "snippet", "--address", LINK, "--relay", RELAY]) == 0
    out = capsys.readouterr().out
    tag, *rest = out.splitlines()
    assert tag.endswith("></script>")
    attrs = _parse(tag)
    digest = base64.b64encode(hashlib.sha384(_shipped()).digest()).decode()
    assert attrs == {
        "src": "/hushwire-widget.js",
        "integrity": f"sha384-{digest}",
        "crossorigin": "anonymous",
        "data-address": LINK,
        "data-relay": RELAY,
        "async": None,
    }
    # The link's & is escaped in the markup and comes back whole from a parser.
    assert "&amp;smp=" in out
    # Then one comment per shipped module, with the hash the core loads it with; no preload.
    modules = module_files()
    assert set(modules) == {
        "business",
        "de",
        "grp",
        "passphrase",
        "proxy",
        "restore",
        "resume",
        "shop",
        "short",
        "zstd",
    }
    assert rest == [
        f"<!-- module {name}: serve /hushwire-widget-{name}.js too ({sri_hash(body)}) -->"
        for name, body in modules.items()
    ]
    # The core carries the same hashes (it checks the modules with them).
    for body in modules.values():
        assert sri_hash(body).encode() in _shipped()


def test_modules_preloaded_when_the_embed_needs_them() -> None:
    mods = {"de": b"d", "resume": b"r", "zstd": b"z"}
    src = "https://cdn.example.com/w/hushwire-widget.js?v=1"
    text = snippet(SnippetOptions(LINK, RELAY, src=src, lang="de", resume=True), b"x", mods)
    lines = text.split("\n")
    assert [_link(x) for x in lines[1:3]] == [
        {
            "rel": "preload",
            "as": "script",
            "href": f"https://cdn.example.com/w/hushwire-widget-{name}.js",
            "integrity": sri_hash(mods[name]),
            "crossorigin": "anonymous",
        }
        for name in ("de", "resume")
    ]
    assert len(lines) == 6 and all(x.startswith("<!-- module ") for x in lines[3:])
    assert "preload" not in snippet(SnippetOptions(LINK, RELAY, lang="en"), b"x", mods)


def test_preload_snippet(capsys: pytest.CaptureFixture[str]) -> None:
    """--preload: data-preload on the tag, no module loaded with the page for it."""
    assert main(["widget", "snippet", "--address", LINK, "--relay", RELAY, "--preload"]) == 0
    tag, *rest = capsys.readouterr().out.splitlines()
    assert list(_parse(tag).items())[-2:] == [("data-preload", None), ("async", None)]
    assert all(x.startswith("<!-- module ") for x in rest)


def test_shop_snippet(capsys: pytest.CaptureFixture[str]) -> None:
    """--shop: the same tag with data-mode="shop", and the shop module preloaded with it."""
    assert main(["widget", "snippet", "--address", LINK, "--relay", RELAY, "--shop"]) == 0
    tag, preload, *rest = capsys.readouterr().out.splitlines()
    attrs = _parse(tag)
    assert attrs["data-mode"] == "shop"
    assert list(attrs) == [
        "src",
        "integrity",
        "crossorigin",
        "data-address",
        "data-relay",
        "data-mode",
        "async",
    ]
    shop = module_files()["shop"]
    assert _link(preload) == {
        "rel": "preload",
        "as": "script",
        "href": "/hushwire-widget-shop.js",
        "integrity": sri_hash(shop),
        "crossorigin": "anonymous",
    }
    assert len(rest) == len(module_files())
    assert sri_hash(shop).encode() in _shipped()
    assert "data-mode" not in snippet(SnippetOptions(LINK, RELAY))


def test_passphrase_resume_attribute_and_preload() -> None:
    mods = {"passphrase": b"p", "resume": b"r", "zstd": b"z"}
    opts = SnippetOptions(LINK, RELAY, lang="en", resume_passphrase=True)
    tag, preload, *_ = snippet(opts, b"x", mods).split("\n")
    assert _parse(tag)["data-resume"] == "passphrase"
    assert _link(preload)["href"] == "/hushwire-widget-passphrase.js"
    assert _link(preload)["integrity"] == sri_hash(b"p")


def test_widget_file_serves_only_the_bundle_and_its_modules() -> None:
    assert widget_file("hushwire-widget.js") == _shipped()
    assert widget_file("hushwire-widget-zstd.js") == module_files()["zstd"]
    for name in ("hushwire-widget-nope.js", "demo/site.css", "../widget.py", "index.html"):
        assert widget_file(name) is None


def test_options_and_escaping() -> None:
    hostile = 'https://cdn.example.com/w.js?a=1&b="><img src=x onerror=alert(1)>'
    text = snippet(
        SnippetOptions(LINK, RELAY, src=hostile, lang="de", ask_name=True, resume=True),
        bundle=b"x",
        modules={},
    )
    assert "<img" not in text and '"><' not in text
    attrs = _parse(text)
    assert attrs["src"] == hostile
    assert attrs["integrity"] == sri_hash(b"x")
    assert attrs["data-lang"] == "de"
    assert "data-ask-name" in attrs and "data-resume" in attrs


def test_sri_hash_known_value() -> None:
    # printf '' | openssl dgst -sha384 -binary | base64
    assert sri_hash(b"") == (
        "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"
    )


@pytest.mark.parametrize(
    ("address", "relay", "src", "what"),
    [
        ("https://example.com/", RELAY, "/w.js", "--address"),
        (LINK, "https://relay.example.com/", "/w.js", "--relay"),
        (LINK, "wss://", "/w.js", "--relay"),
        (LINK, RELAY, "javascript:alert(1)", "--src"),
        (LINK, RELAY + "#relay.example.com", "/w.js", "--relay: after '#'"),
        (LINK, RELAY + "#smp://short@relay.example.com", "/w.js", "--relay: after '#'"),
    ],
)
def test_bad_input_is_a_clear_error(address: str, relay: str, src: str, what: str) -> None:
    with pytest.raises(ConfigError, match=what):
        snippet(SnippetOptions(address, relay, src=src), bundle=b"x")


def test_snippet_names_the_widgets_relay_after_a_hash() -> None:
    """An owner on another relay: data-relay carries the widget's relay's SMP address too."""
    relay = RELAY + "#smp://" + "A" * 43 + "=@relay.example.com"
    out = snippet(SnippetOptions(LINK, relay), bundle=b"x", modules={})
    assert _parse(out.splitlines()[0])["data-relay"] == relay


SHORT = (
    "https://relay.example.com/a#ihIxzCyTghQ1AxT8Ai1GIEI98oostuupuqUcJBf6598"
    "?p=5223&c=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
)


def test_snippet_takes_a_short_contact_link() -> None:
    tag = snippet(SnippetOptions(SHORT, RELAY), bundle=b"x").splitlines()[0]
    assert _parse(tag)["data-address"] == SHORT
    # a preset server's shorthand: the widget restores its key hash
    preset = "https://smp8.simplex.im/a#" + "A" * 43
    assert _parse(snippet(SnippetOptions(preset, RELAY), bundle=b"x"))["data-address"] == preset


@pytest.mark.parametrize(
    ("address", "what"),
    [
        (SHORT.replace("/a#", "/i#MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3/"), "one-time invitation"),
        (SHORT.replace("/a#", "/g#"), "a group"),
        ("https://relay.example.com/a#" + "A" * 43, "identity"),
        ("https://relay.example.com/a#" + "A" * 40, "not 32 bytes"),
    ],
)
def test_snippet_refuses_short_links_the_widget_cannot_join(address: str, what: str) -> None:
    with pytest.raises(ConfigError, match=what):
        snippet(SnippetOptions(address, RELAY), bundle=b"x")


def test_cli_reports_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["widget", "snippet", "--address", "nope", "--relay", RELAY]) == 2
    assert "hushwire widget: --address must be a contact address" in capsys.readouterr().err


def test_as_a_process() -> None:
    cmd = [sys.executable, "-m", "hushwire", "widget", "snippet", "--address", LINK]
    out = subprocess.run(
        [*cmd, "--relay", RELAY, "--src", "https://cdn.example.com/hushwire-widget.js"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert _parse(out.stdout)["src"] == "https://cdn.example.com/hushwire-widget.js"
