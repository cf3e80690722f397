"""``hushwire widget snippet --profile grp``: the embed tag of the widget on GRP/1
(``data-profile="grp"``, ``data-relay`` the entry relay's GRP address, ``#``, its SMP
address), the ``grp`` module file with its hash, and the embeds it refuses."""

from __future__ import annotations

import html
import re

import pytest

from hushwire.agent.links import (
    AGENT_VERSIONS,
    SMP_CLIENT_VERSIONS,
    ConnectionRequest,
    SMPQueueUri,
)
from hushwire.cli import main
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.encoding.strings import b64url_encode
from hushwire.errors import ConfigError
from hushwire.widget import SnippetOptions, module_files, snippet, sri_hash

ENTRY = b64url_encode(bytes([1]) * 32)
OWNER = b64url_encode(bytes([2]) * 32)
NK = b64url_encode(bytes([7]) * 32, padded=False)
GRP_RELAY = f"grp://{ENTRY}@entry.example:7443?nk={NK}#smp://{ENTRY}@entry.example:5223"


def contact_link(key_hash: str, host: str) -> str:
    """A contact address whose queue is on ``smp://key_hash@host``."""
    from hushwire.smp.address import SMPServer

    queue = SMPQueueUri(
        SMP_CLIENT_VERSIONS,
        SMPServer.parse(f"smp://{key_hash}@{host}:5223"),
        b"q1",
        KeyPair.generate(KeyAlg.X25519).public,
    )
    return ConnectionRequest("contact", AGENT_VERSIONS, (queue,)).to_uri()


LINK = contact_link(OWNER, "owner.example")


def attrs(tag: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in re.findall(r'([a-z-]+)="([^"]*)"', tag)}


def test_the_grp_snippet_selects_the_profile_and_names_the_grp_module(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["widget", "snippet", "--address", LINK, "--relay", GRP_RELAY, "--profile", "grp"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    tag = attrs(lines[0])
    assert tag["data-profile"] == "grp"
    assert tag["data-relay"] == GRP_RELAY
    assert tag["data-address"] == LINK
    grp = module_files()["grp"]
    assert f"<!-- module grp: serve /hushwire-widget-grp.js too ({sri_hash(grp)}) -->" in lines
    # a worker module: it loads with the chat, not with the page (no preload)
    assert not any("preload" in line and "grp" in line for line in lines)


def test_grps_addresses_are_taken_too() -> None:
    relay = GRP_RELAY.replace("grp://", "grps://")
    text = snippet(SnippetOptions(LINK, relay, profile="grp"))
    assert attrs(text.splitlines()[0])["data-relay"] == relay


@pytest.mark.parametrize(
    ("relay", "address", "error"),
    [
        (
            "wss://entry.example/#smp://" + ENTRY + "@entry.example",
            LINK,
            "--profile grp: --relay must be the entry relay's GRP address, '#', its SMP address",
        ),
        (
            GRP_RELAY.split("#")[0],
            LINK,
            "--profile grp: --relay must be the entry relay's GRP address, '#', its SMP address",
        ),
        (
            GRP_RELAY.replace(f"#smp://{ENTRY}", f"#smp://{OWNER}"),
            LINK,
            "--relay: the GRP address and the SMP address are of different relays",
        ),
        (
            GRP_RELAY,
            contact_link(ENTRY, "entry.example"),
            "--profile grp needs a distinct entry relay: the address is on the relay given",
        ),
    ],
)
def test_grp_embeds_that_cannot_work_are_refused(relay: str, address: str, error: str) -> None:
    with pytest.raises(ConfigError) as e:
        snippet(SnippetOptions(address, relay, profile="grp"))
    assert str(e.value).startswith(error)


def test_a_grp_relay_without_the_profile_is_refused() -> None:
    with pytest.raises(ConfigError) as e:
        snippet(SnippetOptions(LINK, GRP_RELAY))
    assert str(e.value) == "--relay: a grp:// address is for the GRP profile: add --profile grp"
    with pytest.raises(ConfigError) as e:
        snippet(SnippetOptions(LINK, GRP_RELAY, profile="tor"))
    assert str(e.value) == "--profile must be one of grp"
