"""``hushwire inbox --require-grp`` (hushwire.inbox.grpgate) against a real relay with Python
visitor agents: a visitor whose profile lacks the GRP mark reads the refusal, sees the
conversation end, and never becomes a conversation (what it sends is not stored); one with the
mark chats as usual. The setting is remembered, and the snippet note says what the inbox
needs for a GRP snippet."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_inbox_service import CFG, chat_text, poll, run, say, wait_for, ws_url

from hushwire.agent.agent import Agent, ConnectionEstablished, MessageReceived
from hushwire.chat.messages import (
    ChatMessage,
    Profile,
    XDirectDel,
    interpret,
    parse_chat_body,
    x_info,
)
from hushwire.errors import ConfigError
from hushwire.inbox.grpgate import GRP_MARK, NEEDS_GRP_RELAY, REFUSAL, on_grp
from hushwire.inbox.run import RunningInbox, start_inbox
from hushwire.server.config import RelayConfig
from hushwire.server.run import RunningRelay, start_relay


def info(name: str, mark: object = None) -> bytes:
    m = x_info(Profile(display_name=name))
    if mark is not None:
        m = ChatMessage(m.event, {**m.params, GRP_MARK: mark}, m.msg_id, m.versions)
    return m.encode_conn_info()


def test_the_mark_is_the_profile_parameter_set_to_one() -> None:
    assert on_grp(info("Ada", 1))
    assert not on_grp(info("Ada"))
    assert not on_grp(info("Ada", "1"))
    assert not on_grp(info("Ada", 2))
    assert not on_grp(b"not a chat message")
    assert not on_grp(say("hello"))  # an x.msg.new is not a profile


async def visitor(r: RunningRelay, tmp: Path, name: str) -> Agent:
    v = Agent(tmp / f"visitor-{name}", r.address, ws_url=ws_url(r), client_config=CFG)
    await v.start()
    return v


async def inbox_on(r: RunningRelay, tmp: Path, require_grp: bool | None) -> RunningInbox:
    return await start_inbox(
        tmp / "inbox", r.address, ws_url=ws_url(r), client_config=CFG, require_grp=require_grp
    )


def test_a_visitor_without_grp_is_told_and_refused_one_with_it_chats(tmp_path: Path) -> None:
    async def main() -> None:
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        try:
            inbox = await inbox_on(r, tmp_path, True)
            try:
                s = inbox.service
                plain = await visitor(r, tmp_path, "Plain")
                await plain.join(s.address, info("Plain"))
                conn = (await wait_for(plain, ConnectionEstablished)).conn_id
                await plain.send(conn, say("does anyone read this?"))
                refusal = await wait_for(plain, MessageReceived)
                assert chat_text(refusal) == REFUSAL
                await plain.ack_message(refusal.msg_id)
                ended = await wait_for(plain, MessageReceived)
                assert isinstance(interpret(parse_chat_body(ended.body)[0]), XDirectDel)
                await poll(lambda: not s._refused and not s._refusing)
                assert s.conversations() == []
                # the refused visitor's connection is gone from the inbox's agent
                assert [c for c in s.agent.store.all_connections() if c.kind == "duplex"] == []
                await plain.stop()

                marked = await visitor(r, tmp_path, "Marked")
                await marked.join(s.address, info("Marked", 1))
                conn = (await wait_for(marked, ConnectionEstablished)).conn_id
                await poll(lambda: any(c.status == "online" for c in s.conversations()))
                await marked.send(conn, say("over GRP"))
                await poll(lambda: len(s.conversations()) == 1 and s.conversations()[0].unread)
                (conv,) = s.conversations()
                assert conv.name == "Marked"
                _, messages = s.conversation(conv.id)
                assert [m.text for m in messages] == ["over GRP"]
                assert s.settings()["snippet_note"] == NEEDS_GRP_RELAY  # a ws:// widget relay
                await marked.stop()
            finally:
                await inbox.stop()
            # remembered without the flag; --no-require-grp turns it off
            again = await inbox_on(r, tmp_path, None)
            assert again.service.require_grp
            await again.stop()
            off = await inbox_on(r, tmp_path, False)
            assert not off.service.require_grp
            await off.stop()
        finally:
            await r.stop()

    run(main)


def test_a_team_inbox_cannot_require_grp(tmp_path: Path) -> None:
    async def main() -> None:
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        try:
            with pytest.raises(ConfigError) as e:
                await start_inbox(tmp_path / "inbox", r.address, team="host", require_grp=True)
            assert str(e.value) == "--require-grp is for a 1:1 inbox, not a team inbox (yet)"
        finally:
            await r.stop()

    asyncio.run(main())
