"""The agent's short links over a real relay on loopback (docs/protocol/agent.md).

A contact address made on an SMP v15 relay gets a short link that resolves (``LGET``) to
its full link; a visitor joins by the short link; a changed profile is published again
(``LSET``) under the same link; an address stored before short links loads without one.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from agent_helpers import CFG, agent_for, relay_at, run, wait_for

from hushwire.agent.agent import (
    Agent,
    AgentError,
    ConnectionEstablished,
    MessageReceived,
)
from hushwire.agent.shortlink_client import resolve_link_text
from hushwire.agent.shortlinks import ShortLink, is_short_link
from hushwire.agent.store import ConnState
from hushwire.client.client import SMPClient
from hushwire.client.handshake import CLIENT_VERSION_RANGE
from hushwire.encoding.strings import b64url_encode
from hushwire.smp.address import SMPServer
from hushwire.smp.version import VersionRange

PROFILE = b'{"profile":{"displayName":"owner","fullName":""},"business":false}'


def test_short_link_resolves_to_the_full_link_and_joins(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner = agent_for(r, tmp_path / "owner")
            visitor = agent_for(r, tmp_path / "visitor")
            await owner.start()
            await visitor.start()
            assert owner.short_address() is None
            _, link = await owner.create_address(b'{"o":1}', link_data=PROFILE)
            short = owner.short_address()
            assert short is not None and is_short_link(short)
            assert short.startswith("https://127.0.0.1")
            assert ShortLink.parse(short).contact_type == "A"
            assert link.startswith("simplex:/contact#/?v=2-7&smp=")

            async def client_for(server: SMPServer) -> SMPClient:
                return await (await visitor._client(server)).wait_connected()

            resolved = await resolve_link_text(client_for, short)
            assert resolved.conn_request.to_uri() == link
            assert resolved.user_data == PROFILE

            v_conn = await visitor.join(short, b'{"v":1}')
            est_v = await wait_for(visitor, ConnectionEstablished)
            assert est_v.conn_id == v_conn and est_v.info == b'{"o":1}'
            await visitor.send(v_conn, b"hi")
            got = await wait_for(owner, MessageReceived)
            assert got.body == b"hi"

            # the same address again: same links; a new profile is published under them
            new_profile = PROFILE.replace(b"owner", b"renamed")
            _, again = await owner.create_address(b'{"o":1}', link_data=new_profile)
            assert again == link and owner.short_address() == short
            resolved = await resolve_link_text(client_for, short)
            assert resolved.user_data == new_profile
            assert resolved.conn_request.to_uri() == link
            await owner.stop()
            await visitor.stop()

            # after a restart the short link is still there
            owner = agent_for(r, tmp_path / "owner")
            await owner.start()
            assert owner.short_address() == short
            await owner.stop()

    run(main)


def test_client_data_is_in_the_request_the_short_link_commits_to(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner = agent_for(r, tmp_path / "owner")
            await owner.start()
            try:
                data = '{"type":"group","groupLinkId":"abc"}'
                _, link = await owner.create_address(b"{}", link_data=PROFILE, client_data=data)
                short = owner.short_address()
                assert short is not None

                async def client_for(server: SMPServer) -> SMPClient:
                    return await (await owner._client(server)).wait_connected()

                resolved = await resolve_link_text(client_for, short)
                assert resolved.conn_request.client_data == data
                assert resolved.conn_request.to_uri() == link
            finally:
                await owner.stop()

    run(main)


def test_one_time_invitation_by_short_link(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            alice = agent_for(r, tmp_path / "alice")
            bob = agent_for(r, tmp_path / "bob")
            await alice.start()
            await bob.start()
            try:
                a_conn, link, short = await alice.create_short_invitation(
                    b'{"a":1}', link_data=b'{"profile":{"displayName":"alice"}}'
                )
                assert "/i#" in short and link.startswith("simplex:/invitation#/?")
                b_conn = await bob.join(short, b'{"b":1}')
                st = bob.connection(b_conn)
                assert st is not None and st.snd is not None and st.snd.secured  # by LKEY
                key = bob.store.get_setting(
                    "link_sender_key:" + b64url_encode(ShortLink.parse(short).link_id or b"")
                )
                assert key == st.snd.snd_auth_key  # committed before LKEY, then used
                est_a = await wait_for(alice, ConnectionEstablished)
                est_b = await wait_for(bob, ConnectionEstablished)
                assert est_a.conn_id == a_conn and est_a.info == b'{"b":1}'
                assert est_b.conn_id == b_conn and est_b.info == b'{"a":1}'
                await bob.send(b_conn, b"over the short invitation")
                got = await wait_for(alice, MessageReceived)
                assert got.body == b"over the short invitation"
                await alice.send(a_conn, b"and back")
                assert (await wait_for(bob, MessageReceived)).body == b"and back"
            finally:
                await alice.stop()
                await bob.stop()

    run(main)


def test_unknown_short_link_is_a_clear_error(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner = agent_for(r, tmp_path / "owner")
            visitor = agent_for(r, tmp_path / "visitor")
            await owner.start()
            await visitor.start()
            try:
                await owner.create_address(b"{}", link_data=PROFILE)
                short = owner.short_address()
                assert short is not None
                # another link key on the same relay: no such link data
                link = ShortLink.parse(short)
                other = str(ShortLink(link.scheme, link.server, bytes(32), "A", None))
                with pytest.raises(AgentError, match="unknown to its relay"):
                    await visitor.join(other, b"{}")
            finally:
                await owner.stop()
                await visitor.stop()

    run(main)


def test_an_older_relay_version_makes_an_address_without_a_short_link(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            old = replace(CFG, version_range=VersionRange(CLIENT_VERSION_RANGE.min, 14))
            owner = Agent(
                tmp_path / "owner", r.address, ws_url=f"ws://127.0.0.1:{r.ws_port}/",
                client_config=old,
            )  # fmt: skip
            visitor = agent_for(r, tmp_path / "visitor")
            await owner.start()
            await visitor.start()
            try:
                _, link = await owner.create_address(b'{"o":1}', link_data=PROFILE)
                assert owner.short_address() is None
                assert link.startswith("simplex:/contact#/?v=2-7&smp=")
                v_conn = await visitor.join(link, b'{"v":1}')
                est = await wait_for(visitor, ConnectionEstablished)
                assert est.conn_id == v_conn
            finally:
                await owner.stop()
                await visitor.stop()

    run(main)


def test_a_state_stored_before_short_links_loads_without_one() -> None:
    st = ConnState("c1", "contact", "joiner", "active", link="simplex:/contact#/?v=2-7&smp=x")
    doc = json.loads(st.to_json())
    for k in ("short_link", "link_root_key", "link_id", "link_enc_fixed", "link_data"):
        del doc[k]
    old = ConnState.from_json(json.dumps(doc).encode())
    assert old.short_link == "" and old.link_root_key == b"" and old.link == st.link
