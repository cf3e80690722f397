"""hushwire.agent.links: queue URIs and full links byte-exact both ways (docs/protocol/agent.md,
simplexmq ConnectionRequestTests.hs), legacy forms, short links refused, errors, fuzz."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.agent.links import (
    AGENT_LINK_VERSIONS,
    SHORT_LINK_MESSAGE,
    SMP_CLIENT_VERSIONS,
    ConnectionRequest,
    LinkError,
    SMPQueueUri,
    format_version_range,
    parse_link,
    parse_version_range,
)
from hushwire.agent.ratchet import E2ERatchetParamsUri
from hushwire.crypto.keys import KeyAlg, PublicKey
from hushwire.errors import DecodeError, HushwireError
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import QueueMode
from hushwire.smp.version import VersionRange

V = load_vectors("agent_links.json")
ONION = "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion"


def test_link_error_is_a_decode_error() -> None:
    assert issubclass(LinkError, DecodeError)
    assert issubclass(LinkError, HushwireError)


def test_queue_vector_fields() -> None:
    q = SMPQueueUri.parse_str(V["queue_uri"])
    assert q.versions == SMP_CLIENT_VERSIONS
    assert q.server.hosts == ("smp.simplex.im", ONION)
    assert q.server.port == 5223
    assert q.server.key_hash.hex() == V["key_hash_hex"]
    assert q.sender_id.hex() == V["sender_id_hex"]
    assert q.dh_public_key.to_der().hex() == V["dh_key_spki_hex"]
    assert q.queue_mode is QueueMode.MESSAGING
    assert q.sender_can_secure
    assert q.to_str() == V["queue_uri"]


@pytest.mark.parametrize(("text", "canonical"), V["queue_forms"])
def test_queue_forms(text: str, canonical: str) -> None:
    q = SMPQueueUri.parse_str(text)
    assert q.to_str() == canonical
    assert SMPQueueUri.parse_str(canonical) == q


@pytest.mark.parametrize(("text", "canonical"), V["link_forms"])
def test_link_forms(text: str, canonical: str) -> None:
    cr = parse_link(text)
    assert cr.to_uri() == canonical
    assert parse_link(canonical) == cr


def test_contact_link_vector() -> None:
    cr = parse_link(V["contact_link"])
    assert cr.mode == "contact"
    assert cr.agent_versions == AGENT_LINK_VERSIONS
    assert cr.queues == (SMPQueueUri.parse_str(V["queue_uri"]),)
    assert cr.e2e is None and cr.client_data is None
    assert cr.to_uri() == V["contact_link"]


def test_invitation_link_vector() -> None:
    cr = parse_link(V["invitation_link"])
    assert cr.mode == "invitation"
    assert cr.e2e is not None
    assert cr.e2e.versions == VersionRange(1, 1)
    assert cr.e2e.k1 == cr.e2e.k2
    assert cr.e2e.k1.alg is KeyAlg.X448
    assert cr.to_uri().endswith("&e2e=" + V["e2e_value"])
    assert cr.to_uri() == V["invitation_link"]


def test_https_contact_v1_parses_to_range_2() -> None:
    text = V["contact_link"].replace(
        "simplex:/contact#/?v=2-7", "https://simplex.chat/contact#/?v=1"
    )
    assert parse_link(text).agent_versions == VersionRange(2, 2)


def test_real_world_contact_link() -> None:
    cr = parse_link(V["real_contact_link"])
    (q,) = cr.queues
    assert q.to_str() == V["real_contact_queue"]
    assert q.queue_mode is QueueMode.CONTACT
    assert q.server.hosts == ("smp.simplego.dev",)
    assert q.server.port is None
    assert len(q.server.key_hash) == 32
    assert cr.to_uri(https_host="simplex.chat") == V["real_contact_link"]
    # A 32-byte key hash makes a real SMPServer that the client can connect to.
    assert SMPServer.parse(q.server.encode()) == q.server


@pytest.mark.parametrize("text", V["short_links"])
def test_short_links_are_refused_clearly(text: str) -> None:
    with pytest.raises(LinkError) as e:
        parse_link(text)
    assert str(e.value) == SHORT_LINK_MESSAGE
    assert "full link" in SHORT_LINK_MESSAGE


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_link(f"  {V['contact_link']}\n") == parse_link(V["contact_link"])


def test_unknown_params_are_ignored() -> None:
    cr = parse_link(V["contact_link"] + "&future=1&e2e=ignored-in-contact-links")
    assert cr.to_uri() == V["contact_link"]


def test_https_host_with_port_and_slash_after_mode() -> None:
    text = V["contact_link"].replace("simplex:/contact#", "https://example.com:8443/contact/#")
    cr = parse_link(text)
    assert cr == parse_link(V["contact_link"])
    out = cr.to_uri(https_host="example.com:8443")
    assert out.startswith("https://example.com:8443/contact#/?v=2-7&smp=")


def test_to_uri_rejects_bad_host() -> None:
    cr = parse_link(V["contact_link"])
    with pytest.raises(ValueError, match="host"):
        cr.to_uri(https_host="bad/host")


def test_v1_preset_server_gets_its_onion_host() -> None:
    dh = "MCowBQYDK2VuAyEAjiswwI3O_NlS8Fk3HJUW870EY2bAwmttMBsvRB9eV3o="
    q = SMPQueueUri.parse_str(f"smp://1234-w==@smp5.simplex.im/3456-w==#{dh}")
    assert q.server.hosts == ("smp5.simplex.im", ONION)
    assert q.versions == VersionRange(1, 1)
    assert q.queue_mode is None
    # An unknown single host stays alone.
    q2 = SMPQueueUri.parse_str(f"smp://1234-w==@example.com/3456-w==#{dh}")
    assert q2.server.hosts == ("example.com",)


def test_ipv6_host_round_trips() -> None:
    dh = "MCowBQYDK2VuAyEAjiswwI3O_NlS8Fk3HJUW870EY2bAwmttMBsvRB9eV3o%3D"
    text = f"smp://1234-w==@[::1]:5223/3456-w==#/?v=2-4&dh={dh}&q=c"
    q = SMPQueueUri.parse_str(text)
    assert q.server.hosts == ("::1",)
    assert q.to_str() == text


def test_version_range_strings() -> None:
    assert parse_version_range("2-7") == VersionRange(2, 7)
    assert parse_version_range("3") == VersionRange(3, 3)
    assert format_version_range(VersionRange(3, 3)) == "3"
    assert format_version_range(VersionRange(1, 16)) == "1-16"
    for bad in ["", "a", "1-", "-1", "3-2", "70000", "1-70000", "123456", "1-2-3", " 1"]:
        with pytest.raises(LinkError):
            parse_version_range(bad)


def _q(**kw: str) -> str:
    base = {
        "v": "1-4",
        "dh": "MCowBQYDK2VuAyEAjiswwI3O_NlS8Fk3HJUW870EY2bAwmttMBsvRB9eV3o%3D",
    }
    base.update(kw)
    query = "&".join(f"{k}={v}" for k, v in base.items() if v != "-")
    return f"smp://1234-w==@smp.simplex.im/3456-w==#/?{query}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://x", "smp://"),
        ("smp://1234-w==@host", "queue id"),
        ("smp://1234-w==host/3456-w==#/?v=1", "'@'"),
        ("smp://1234-w==:pass@host/3456-w==#/?v=1", "password"),
        ("smp://12!@host/3456-w==#/?v=1", "key hash"),
        ("smp://1234-w==@/3456-w==#/?v=1", "host"),
        ("smp://1234-w==@host:0/3456-w==#/?v=1", "port"),
        ("smp://1234-w==@host/3456-w==", "'#'"),
        ("smp://1234-w==@host/!!#/?v=1", "queue id"),
        ("smp://1234-w==@host/3456-w==#/?v=1 &dh=x", "space"),
        (_q(v="-"), "v="),
        (_q(dh="-"), "dh="),
        (_q(dh="AAAA"), "not a public key"),
        (_q(dh="!!"), "base64url"),
        (
            _q(
                dh="MEIwBQYDK2VvAzkAmKuSYeQ_m0SixPDS8Wq8VBaTS1cW-Lp0n0h4Diu-kUpR-qXx4SDJ32YGEFoGFGSbGPry5Ychr6U%3D"
            ),
            "X25519",
        ),
        (_q(srv="a:1"), "srv="),
        (_q(srv="a,,b"), "host"),
        ("smp://1234-w==@host/3456-w==#notakey", "base64url"),
    ],
)
def test_bad_queue_uris(text: str, message: str) -> None:
    with pytest.raises(LinkError, match=re.escape(message)):
        SMPQueueUri.parse_str(text)


def test_queue_modes_from_params() -> None:
    assert SMPQueueUri.parse_str(_q(q="c", k="s")).queue_mode is QueueMode.CONTACT
    assert SMPQueueUri.parse_str(_q(k="s")).queue_mode is QueueMode.MESSAGING
    assert SMPQueueUri.parse_str(_q(q="x")).queue_mode is None
    assert SMPQueueUri.parse_str(_q(srv="")).server.hosts == ("smp.simplex.im",)


def test_k_s_only_below_v4() -> None:
    q = SMPQueueUri.parse_str(_q(v="4", q="m"))
    assert q.to_str().endswith("&q=m")
    assert SMPQueueUri.parse_str(_q(v="3-4", q="m")).to_str().endswith("&q=m&k=s")


SMP = V["contact_link"].partition("&smp=")[2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 70000, "too long"),
        ("ftp://x/contact#/?v=2", "not a SimpleX link"),
        ("simplex://contact#/?v=2", "one slash"),
        ("simplex:contact#/?v=2", "expected '/'"),
        ("https:///contact#/?v=2", "host"),
        ("https://a b/contact#/?v=2", "host"),
        ("simplex:/group#/?v=2", "expected /contact#"),
        ("simplex:/contact?v=2", "'#/?'"),
        ("simplex:/contact#/?v=2&smp=a b", "space"),
        ("simplex:/contact#/?smp=" + SMP, "v="),
        ("simplex:/contact#/?v=x&smp=" + SMP, "version range"),
        ("simplex:/contact#/?v=2-7", "smp= queue"),
        ("simplex:/contact#/?v=2-7&smp=", "smp= queue"),
        ("simplex:/contact#/?v=2-7&smp=" + SMP + "%3B", "smp://"),
        ("simplex:/invitation#/?v=2-7&smp=" + SMP, "e2e="),
        ("simplex:/invitation#/?v=2-7&smp=" + SMP + "&e2e=v%3D2", "e2e="),
        ("simplex:/contact#/?v=2-7&smp=" + SMP + "&data=%FF", "UTF-8"),
    ],
)
def test_bad_links(text: str, message: str) -> None:
    with pytest.raises(DecodeError, match=re.escape(message)):
        parse_link(text)


def _x448(seed: int) -> PublicKey:
    return PublicKey(KeyAlg.X448, bytes([seed]) * 56)


def test_construction_checks() -> None:
    q = SMPQueueUri.parse_str(V["queue_uri"])
    e2e = E2ERatchetParamsUri(VersionRange(2, 3), _x448(1), _x448(2))
    with pytest.raises(ValueError, match="mode"):
        ConnectionRequest("group", AGENT_LINK_VERSIONS, (q,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="queue"):
        ConnectionRequest("contact", AGENT_LINK_VERSIONS, ())
    with pytest.raises(ValueError, match="e2e"):
        ConnectionRequest("invitation", AGENT_LINK_VERSIONS, (q,))
    with pytest.raises(ValueError, match="e2e"):
        ConnectionRequest("contact", AGENT_LINK_VERSIONS, (q,), e2e)
    with pytest.raises(ValueError, match="sender id"):
        SMPQueueUri(SMP_CLIENT_VERSIONS, q.server, b"", q.dh_public_key)
    with pytest.raises(ValueError, match="X25519"):
        SMPQueueUri(SMP_CLIENT_VERSIONS, q.server, b"id", _x448(1))


# ------------------------------------------------------------------ round trips (Hypothesis)

_host = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True).filter(
    lambda h: not h.endswith(".onion")
)
_server = st.builds(
    SMPServer,
    hosts=st.lists(_host, min_size=1, max_size=3).map(tuple),
    key_hash=st.binary(min_size=32, max_size=32),
    port=st.none() | st.integers(1, 65535),
)
_x25519 = st.binary(min_size=32, max_size=32).map(lambda b: PublicKey(KeyAlg.X25519, b))
_vrange = st.tuples(st.integers(2, 20), st.integers(0, 20)).map(
    lambda t: VersionRange(t[0], t[0] + t[1])
)
_queue = st.builds(
    SMPQueueUri,
    versions=_vrange,
    server=_server,
    sender_id=st.binary(min_size=1, max_size=32),
    dh_public_key=_x25519,
    queue_mode=st.none() | st.sampled_from(QueueMode),
)


@settings(max_examples=200)
@given(_queue)
def test_queue_round_trip(q: SMPQueueUri) -> None:
    text = q.to_str()
    assert SMPQueueUri.parse_str(text) == q
    assert SMPQueueUri.parse_str(text).to_str() == text


@settings(max_examples=100)
@given(
    st.lists(_queue, min_size=1, max_size=3),
    st.none() | st.text(max_size=40),
    st.booleans(),
    st.none() | st.just("simplex.chat"),
)
def test_link_round_trip(
    queues: list[SMPQueueUri], data: str | None, invitation: bool, host: str | None
) -> None:
    e2e = E2ERatchetParamsUri(VersionRange(2, 3), _x448(1), _x448(2)) if invitation else None
    mode = "invitation" if invitation else "contact"
    cr = ConnectionRequest(mode, AGENT_LINK_VERSIONS, tuple(queues), e2e, data)
    assert parse_link(cr.to_uri(https_host=host)) == cr


# ------------------------------------------------------------------ fuzz: only DecodeError


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_fuzz_parse_link_text(text: str) -> None:
    try:
        parse_link(text)
    except DecodeError:
        pass


@settings(max_examples=500)
@given(
    st.sampled_from([V["contact_link"], V["invitation_link"], V["real_contact_link"]]), st.data()
)
def test_fuzz_mutated_links(link: str, data: st.DataObject) -> None:
    chars = list(link)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(chars) - 1))
        op = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        c = data.draw(st.sampled_from("%&=;,:/#?@-_.~ aZ09+\x00é"))
        if op == "replace":
            chars[i] = c
        elif op == "delete":
            del chars[i]
        else:
            chars.insert(i, c)
    try:
        parse_link("".join(chars))
    except DecodeError:
        pass


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_fuzz_queue_uri(text: str) -> None:
    try:
        SMPQueueUri.parse_str("smp://" + text)
    except DecodeError:
        pass
