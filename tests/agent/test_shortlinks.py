"""Short links: text forms, preset shorthand, KDF, link data blobs (vectors in
tests/vectors/agent_shortlinks.json), and create/resolve/update/delete against the relay."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hushwire.agent.links import ConnectionRequest, LinkError, SMPQueueUri, parse_link
from hushwire.agent.protocol import AGENT_VERSIONS
from hushwire.agent.ratchet import E2ERatchetParamsUri
from hushwire.agent.shortlink_client import (
    contact_request,
    create_contact_address,
    create_queue_with_link,
    delete_link_data,
    resolve_contact_link,
    resolve_invitation_link,
    update_user_data,
)
from hushwire.agent.shortlinks import (
    PRESET_SERVERS,
    ContactLinkData,
    FixedLinkData,
    InvitationLinkData,
    LinkServer,
    ShortLink,
    check_link_server,
    contact_link_kdf,
    decode_conn_request,
    decode_link_data,
    decrypt_link_data,
    encode_conn_request,
    invitation_link_kdf,
    is_short_link,
    new_owner_auth,
    parse_any_link,
    prepare_link_data,
    restore_short_link,
    sender_id_for_corr_id,
    shorten_short_link,
    validate_link_owners,
)
from hushwire.client import ClientConfig, SMPClient, SMPCommandError
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import QueueMode
from hushwire.smp.errors import ErrorType
from hushwire.smp.fields import QueueLinkData
from hushwire.smp.version import VersionRange
from hushwire.testing import MemoryRelay

V = json.loads((Path(__file__).parents[1] / "vectors" / "agent_shortlinks.json").read_text())
QUIET = ClientConfig(ping_interval=None, command_timeout=10.0)


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 30))


# --------------------------------------------------------------------------- text forms


@pytest.mark.parametrize("case", V["uri_forms"], ids=lambda c: c["source"].rsplit(":", 1)[1])
def test_reference_text_forms(case: dict[str, Any]) -> None:
    link = ShortLink.parse(case["text"])
    srv = case["server"]
    assert link.scheme == case["scheme"]
    assert link.server == LinkServer(
        tuple(srv["hosts"]), srv["port"], bytes.fromhex(srv["key_hash"])
    )
    assert link.link_key.hex() == case["link_key"]
    assert (link.link_id.hex() if link.link_id else None) == case["link_id"]
    assert link.contact_type == (None if case["type"] == "i" else case["type"])
    assert link.to_str() == case["text"]
    assert is_short_link(case["text"])


@pytest.mark.parametrize("case", V["shorten_restore"], ids=lambda c: c["source"])
def test_reference_shorten_restore(case: dict[str, Any]) -> None:
    preset = [SMPServer.parse(case["preset"])]
    full, short = ShortLink.parse(case["full"]), ShortLink.parse(case["short"])
    assert shorten_short_link(full, preset) == short
    assert restore_short_link(short, preset) == full
    assert short.server.only_host
    with pytest.raises(LinkError, match="identity"):
        short.server.to_smp_server()
    assert full.server.to_smp_server() == preset[0]


def test_shorten_rules_from_reference() -> None:
    """ConnectionRequestTests.hs:316-336: only preset hosts, port and key hash shorten."""
    kh = bytes.fromhex("d76df8fb")
    onion = V["uri_forms"][0]["server"]["hosts"][1]
    srv = LinkServer(("smp.simplex.im", onion), 5223, kh)
    preset = [replace_hash(srv)]
    short = LinkServer(("smp.simplex.im",))

    def contact(s: LinkServer) -> ShortLink:
        return ShortLink("https", s, b"k" * 32)

    assert shorten_short_link(contact(srv), preset).server == short
    only_onion = LinkServer((onion,), None, kh)
    assert shorten_short_link(contact(only_onion), preset).server == only_onion
    one_host = LinkServer(("smp.simplex.im",), 5223, kh)
    assert shorten_short_link(contact(one_host), preset).server == short
    other = LinkServer(("smp2.simplex.im", onion), None, kh)
    assert shorten_short_link(contact(other), preset).server == other
    assert restore_short_link(contact(short), preset).server == srv
    assert restore_short_link(contact(one_host), preset).server == one_host
    assert restore_short_link(contact(other), preset).server == other


def replace_hash(s: LinkServer) -> SMPServer:
    """An SMPServer with the 4-byte test key hash (SMPServer itself insists on 32)."""
    server = object.__new__(SMPServer)
    for name, value in (("hosts", s.hosts), ("key_hash", s.key_hash), ("port", s.port)):
        object.__setattr__(server, name, value)
    object.__setattr__(server, "basic_auth", None)
    return server


def test_app_preset_shorthand_restores_to_smp_simplex_im() -> None:
    link = ShortLink.parse("https://smp8.simplex.im/a#" + "A" * 43)
    full = restore_short_link(link)
    assert full.server.to_smp_server() == PRESET_SERVERS[0]
    assert shorten_short_link(full) == link
    assert full.to_str().startswith("https://smp8.simplex.im/a#AAAA")
    assert "h=beccx4yfxxbvyhqypaavemqurytl6hozr47wfc7uuecacjqdvwpw2xid.onion" in full.to_str()


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("https://smp.simplex.im/A#" + "A" * 43, True),  # types read via toUpper
        ("https://smp.simplex.im/c/#" + "A" * 43, True),  # optional '/'
        ("https://smp.simplex.im/r#" + "A" * 43 + "=", True),  # padded key
        ("simplex:/a#" + "A" * 43, False),  # short link without server
        ("https://smp.simplex.im/I#" + "A" * 32 + "/" + "A" * 43, False),  # 'i' lower only
        ("https://smp.simplex.im/x#" + "A" * 43, False),
        ("https://smp.simplex.im/a#" + "A" * 42, False),  # not 32 bytes
        ("https://smp.simplex.im/i#" + "A" * 43, False),  # invitation needs link id
        ("smp://x@y/a#" + "A" * 43, False),
    ],
)
def test_grammar_edges(text: str, ok: bool) -> None:
    if ok:
        ShortLink.parse(text)
    else:
        with pytest.raises(LinkError):
            ShortLink.parse(text)


def test_upper_type_formats_lower_and_simplex_scheme_lists_all_hosts() -> None:
    link = ShortLink.parse("https://smp.simplex.im/G#" + "A" * 43 + "?h=b.example&p=443&c=AQID")
    assert link.contact_type == "G"
    assert link.server == LinkServer(("smp.simplex.im", "b.example"), 443, b"\x01\x02\x03")
    simplex = replace(link, scheme="simplex")
    assert simplex.to_str() == (
        "simplex:/g#" + "A" * 43 + "?h=smp.simplex.im%2Cb.example&p=443&c=AQID"
    )
    assert ShortLink.parse(simplex.to_str()) == simplex


def test_binary_short_link_round_trip() -> None:
    from hushwire.encoding.binary import parse_all

    for link in (ShortLink.parse(c["text"]) for c in V["uri_forms"]):
        again = parse_all(link.encode_binary(), ShortLink.parse_binary)
        assert again == replace(link, scheme="https")


def test_full_links_are_not_short_links() -> None:
    assert not is_short_link("simplex:/contact#/?v=2-7&smp=x")
    assert not is_short_link("https://simplex.chat/invitation#/?v=2")


# --------------------------------------------------------------------------- KDF and blobs


def test_kdf_and_sender_id() -> None:
    k = V["kdf"]
    link_id, box = contact_link_kdf(bytes.fromhex(k["link_key"]))
    assert link_id.hex() == k["contact_link_id"]
    assert box.hex() == k["contact_box_key"]
    assert invitation_link_kdf(bytes.fromhex(k["link_key"])).hex() == k["invitation_box_key"]
    assert sender_id_for_corr_id(bytes.fromhex(k["corr_id"])).hex() == k["sender_id"]


def _vector_contact() -> tuple[PrivateKey, ConnectionRequest, ContactLinkData]:
    c = V["contact_link"]
    root = PrivateKey(KeyAlg.ED25519, bytes.fromhex(c["root_seed"]))
    q = SMPQueueUri(
        VersionRange(1, 4),
        SMPServer.parse(c["server"]),
        bytes.fromhex(c["sender_id"]),
        PublicKey.from_der(bytes.fromhex(c["queue_dh_der"])),
        QueueMode.CONTACT,
    )
    req = ConnectionRequest("contact", VersionRange(2, 7), (q,))
    return root, req, ContactLinkData(VersionRange(2, 7), c["user_data"].encode())


def test_contact_link_data_vector() -> None:
    c = V["contact_link"]
    root, req, user = _vector_contact()
    p = prepare_link_data(
        root,
        VersionRange(2, 7),
        req,
        user,
        fixed_nonce=bytes.fromhex(c["fixed_nonce"]),
        user_nonce=bytes.fromhex(c["user_nonce"]),
    )
    assert p.fixed.encode().hex() == c["fixed_data"]
    assert p.link_key.hex() == c["link_key"]
    assert user.encode().hex() == c["user_link_data"]
    assert p.encrypted.fixed.hex() == c["enc_fixed"]
    assert len(p.encrypted.user) == c["enc_user_length"] == 13824
    assert hashlib.sha256(p.encrypted.user).hexdigest() == c["enc_user_sha256"]
    link = ShortLink("https", LinkServer.from_smp_server(req.queues[0].server), p.link_key)
    assert link.to_str() == c["link"]
    assert contact_link_kdf(p.link_key)[0].hex() == c["link_id"]
    fixed, got = decrypt_link_data(ShortLink.parse(c["link"]), p.encrypted)
    assert fixed.conn_request == req and got == user
    assert check_link_server(link, fixed, req.queues[0].sender_id) == req
    with pytest.raises(LinkError, match="different address"):
        check_link_server(link, fixed, b"x" * 24)


def test_decrypt_checks() -> None:
    root, req, user = _vector_contact()
    p = prepare_link_data(root, AGENT_VERSIONS, req, user)
    link = ShortLink("https", LinkServer.from_smp_server(req.queues[0].server), p.link_key)
    enc = p.encrypted
    other = ShortLink("https", link.server, b"\x00" * 32)
    with pytest.raises(LinkError, match="cannot decrypt"):
        decrypt_link_data(other, enc)
    flipped = enc.fixed[:30] + bytes([enc.fixed[30] ^ 1]) + enc.fixed[31:]
    with pytest.raises(LinkError, match="cannot decrypt"):
        decrypt_link_data(link, QueueLinkData(flipped, enc.user))
    # user data signed by a stranger
    stranger = PrivateKey.generate(KeyAlg.ED25519)
    from hushwire.agent.shortlinks import (
        FIXED_DATA_PADDED_LENGTH,
        encrypt_link_blob,
        encrypt_user_data,
        sign_data,
    )

    box = contact_link_kdf(p.link_key)[1]
    bad_user = encrypt_user_data(box, stranger, user)
    with pytest.raises(LinkError, match="user data signature"):
        decrypt_link_data(link, QueueLinkData(enc.fixed, bad_user))
    # other fixed data under the right box key: its hash is not the link key
    p2 = prepare_link_data(stranger, AGENT_VERSIONS, req, user)
    other_fd = sign_data(stranger, p2.fixed.encode())
    enc_other = encrypt_link_blob(box, other_fd, FIXED_DATA_PADDED_LENGTH)
    with pytest.raises(LinkError, match="link data hash"):
        decrypt_link_data(link, QueueLinkData(enc_other, enc.user))
    # the right fixed data signed by another key
    forged = encrypt_link_blob(box, sign_data(stranger, p.fixed.encode()), FIXED_DATA_PADDED_LENGTH)
    with pytest.raises(LinkError, match="link data signature"):
        decrypt_link_data(link, QueueLinkData(forged, enc.user))


def test_owners() -> None:
    root = PrivateKey.generate(KeyAlg.ED25519)
    k1, o1 = new_owner_auth(b"one", root)
    _, o2 = new_owner_auth(b"two", k1)  # signed by an earlier owner
    assert validate_link_owners(root.public(), [o1, o2]) is None
    assert validate_link_owners(root.public(), [o2, o1]) == (
        "invalid authorization of owner ID " + base64.urlsafe_b64encode(b"two").decode().rstrip("=")
    )
    assert "duplicate" in (validate_link_owners(root.public(), [o1, o1]) or "")
    user = ContactLinkData(AGENT_VERSIONS, b"x" * 300, True, (o1, o2), ())
    assert decode_link_data(user.encode()) == user  # 0xFF Large for > 254 bytes


def test_conn_request_binary_round_trip_invitation() -> None:
    _, req, _ = _vector_contact()
    assert decode_conn_request(encode_conn_request(req)) == req
    x1, x2 = (KeyPair.generate(KeyAlg.X448).public for _ in range(2))
    q = replace(req.queues[0], versions=VersionRange(4, 4), queue_mode=QueueMode.MESSAGING)
    inv = ConnectionRequest(
        "invitation", AGENT_VERSIONS, (q,), E2ERatchetParamsUri(VersionRange(2, 3), x1, x2)
    )
    assert decode_conn_request(encode_conn_request(inv)) == inv
    # a KEM proposal in the fixed data ('1' 'P' Large) is read and ignored
    raw = encode_conn_request(inv)[:-1] + b"1P" + (3).to_bytes(2, "big") + b"pk!"
    got = decode_conn_request(raw)
    assert got == inv and got.e2e is not None and got.e2e.peer_offered_kem
    fixed = FixedLinkData(AGENT_VERSIONS, PrivateKey.generate(KeyAlg.ED25519).public(), inv, b"ent")
    assert FixedLinkData.decode(fixed.encode() + b"future") == fixed


def test_invitation_user_data_round_trip() -> None:
    d = InvitationLinkData(AGENT_VERSIONS, b'{"profile":{}}')
    assert decode_link_data(d.encode() + b"tail") == d


# --------------------------------------------------------------------------- links.py dispatch


def test_parse_link_points_short_links_to_shortlinks() -> None:
    with pytest.raises(LinkError, match="short link"):
        parse_link(V["uri_forms"][0]["text"])


# --------------------------------------------------------------------------- against the relay


def test_contact_short_link_round_trip_on_relay() -> None:
    async def body() -> None:
        async with MemoryRelay() as relay:
            async with await relay.connect(config=QUIET) as owner:
                profile = b'{"profile":{"displayName":"shop","fullName":""},"business":false}'
                created = await create_contact_address(owner, profile)
                text = created.link.to_str()
                assert text.startswith(f"https://{relay.address.hosts[0]}/a#")
                async with await relay.connect(config=QUIET) as visitor:
                    link = restore_short_link(ShortLink.parse(text))
                    got = await resolve_contact_link(visitor, link)
                    assert got.conn_request == created.conn_request
                    assert parse_link(got.conn_request.to_uri()) == created.conn_request
                    assert got.user_data == profile
                    assert got.sender_id == created.sender_id
                    new = ContactLinkData(AGENT_VERSIONS, b'{"profile":{"displayName":"s2"}}')
                    await update_user_data(owner, created, new)
                    assert (await resolve_contact_link(visitor, link)).user == new
                    await delete_link_data(owner, created.rcv_id, created.rcv_auth)
                    with pytest.raises(SMPCommandError) as e:
                        await resolve_contact_link(visitor, link)
                    assert e.value.error == ErrorType.AUTH

    run(body)


def test_invitation_short_link_round_trip_on_relay() -> None:
    async def body() -> None:
        async with MemoryRelay() as relay:
            async with await relay.connect(config=QUIET) as owner:
                x1, x2 = (KeyPair.generate(KeyAlg.X448).public for _ in range(2))
                e2e = E2ERatchetParamsUri(VersionRange(2, 3), x1, x2)

                def build(q: SMPQueueUri) -> ConnectionRequest:
                    return ConnectionRequest("invitation", AGENT_VERSIONS, (q,), e2e)

                user = InvitationLinkData(AGENT_VERSIONS, b"{}")
                created = await create_queue_with_link(owner, build, user)
                link = ShortLink.parse(created.link.to_str())
                assert link.link_id == created.link_id and link.is_invitation
                async with await relay.connect(config=QUIET) as joiner:
                    key = KeyPair.generate(KeyAlg.ED25519)
                    got = await resolve_invitation_link(joiner, link, key)
                    assert got.conn_request == created.conn_request
                    assert got.user == user
                    again = await resolve_invitation_link(joiner, link, key)  # retry: same key
                    assert again.conn_request == created.conn_request
                    with pytest.raises(SMPCommandError):
                        await resolve_invitation_link(
                            joiner, link, KeyPair.generate(KeyAlg.ED25519)
                        )

    run(body)


def test_contact_request_builder() -> None:
    _, req, _ = _vector_contact()
    assert contact_request(req.queues[0]) == ConnectionRequest(
        "contact", AGENT_VERSIONS, req.queues
    )


def test_parse_any_link_dispatches() -> None:
    for case in V["uri_forms"]:
        assert parse_any_link("  " + case["text"] + "\n") == ShortLink.parse(case["text"])
    _, req, _ = _vector_contact()
    assert parse_any_link(req.to_uri()) == req
    with pytest.raises(LinkError):
        parse_any_link("https://example.com/contact")


def test_links_vector_short_links_parse() -> None:
    """The short links tests/agent/test_links.py sees refused by parse_link all parse here."""
    links = json.loads((Path(__file__).parents[1] / "vectors" / "agent_links.json").read_text())
    for text in links["short_links"]:
        assert isinstance(ShortLink.parse(text), ShortLink)


def test_resolve_link_text_and_password_stays_out_of_the_link() -> None:
    from hushwire.agent.shortlink_client import resolve_link_text

    async def body() -> None:
        async with MemoryRelay() as relay:
            server = relay.address.with_basic_auth("secret")
            async with await relay.connect(config=QUIET, server=server) as owner:
                created = await create_contact_address(owner, b"{}")
                assert created.conn_request.queues[0].server.basic_auth is None
                assert "secret" not in created.link.to_str()
                seen: list[SMPServer] = []
                async with await relay.connect(config=QUIET) as visitor:

                    async def client_for(s: SMPServer) -> SMPClient:
                        seen.append(s)
                        return visitor

                    got = await resolve_link_text(client_for, created.link.to_str())
                    assert got.conn_request == created.conn_request
                    assert seen == [relay.address]
                with pytest.raises(LinkError, match="identity"):
                    await resolve_link_text(client_for, "https://example.com/a#" + "A" * 43)

    run(body)


def test_contact_data_with_relay_links_round_trips() -> None:
    """The relay links of simplexmq tests/AgentTests/ShortLinkTests.hs:72-75 in the
    ``relays`` list of UserContactData, signed by an owner key."""
    case = V["shorten_restore"][0]
    relays = (ShortLink.parse(case["full"]), ShortLink.parse(case["short"]))
    root_ = PrivateKey.generate(KeyAlg.ED25519)
    owner_key, owner = new_owner_auth(b"member", root_)
    _, req, _ = _vector_contact()
    user = ContactLinkData(AGENT_VERSIONS, b"updated user data", True, (owner,), relays)
    p = prepare_link_data(root_, AGENT_VERSIONS, req, user)
    from hushwire.agent.shortlinks import encrypt_user_data

    box = contact_link_kdf(p.link_key)[1]
    by_owner = QueueLinkData(p.encrypted.fixed, encrypt_user_data(box, owner_key, user))
    link = ShortLink("https", LinkServer.from_smp_server(req.queues[0].server), p.link_key)
    _, got = decrypt_link_data(link, by_owner)
    assert isinstance(got, ContactLinkData)
    assert got.relays == relays and got.owners == (owner,)
