"""The team inbox over a real relay process on loopback, with real SQLite files: a team inbox
(``--team``), two operator inboxes (``--join-team``; in-process services, each with its own
agent, data directory and relay connections) and a Python visitor (the agent and the
group member state of ``hushwire chat``) joining the business address as the customer."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from test_inbox_service import cli

from hushwire.agent.agent import Agent, ConnectionEstablished, MessageReceived
from hushwire.chat.group_member import GroupMember
from hushwire.chat.group_state import Edited, Output, Posted, Send
from hushwire.chat.group_types import GroupInvitation
from hushwire.chat.groups import XGrpInv, XGrpLinkInv, XGrpMsgNew, XMsgUpdate, interpret_group
from hushwire.chat.messages import ChatMessage, Profile, parse_chat_body, x_direct_del, x_info
from hushwire.cli import main as cli_main
from hushwire.client import ClientConfig
from hushwire.encoding.strings import b64url_decode
from hushwire.errors import ConfigError
from hushwire.inbox.auth import KEY_HEADER
from hushwire.inbox.hours import OpeningHours
from hushwire.inbox.run import RunningInbox, print_banner, start_inbox
from hushwire.inbox.team import TeamHost, business_info
from hushwire.inbox.team_common import ASSIGN_EVENT, TeamSettings
from hushwire.inbox.team_operator import TeamOperator
from hushwire.testing import RelayProcess, start_relay_process

CFG = ClientConfig(ping_interval=None, command_timeout=10)


def run(coro: Callable[[], Awaitable[None]], timeout: float = 240) -> None:
    asyncio.run(asyncio.wait_for(coro(), timeout))


async def poll(cond: Callable[[], bool], timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.05)


class Visitor:
    """The customer: an agent joining the business address, a group member once the
    acceptance (``x.grp.link.inv``) arrives; records what it is shown."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.conn = ""
        self.invitation: XGrpLinkInv | None = None
        self.group: GroupMember | None = None
        self.shown: list[tuple[str, str]] = []
        self.events: list[tuple[str, str]] = []
        self._task: asyncio.Task[None] | None = None

    async def join(self, address: str, name: str) -> None:
        self.conn = await self.agent.join(address, x_info(Profile(name)).encode_conn_info())
        self._task = asyncio.create_task(self._run(name))

    async def _run(self, name: str) -> None:
        while True:
            ev = await self.agent.events.get()
            if isinstance(ev, ConnectionEstablished) and ev.conn_id == self.conn:
                (msg,) = parse_chat_body(ev.info)
                inv = interpret_group(msg)
                assert isinstance(inv, XGrpLinkInv)
                self.invitation = inv
                self.group = GroupMember.from_invitation(inv.invitation, Profile(name))
            elif isinstance(ev, MessageReceived) and self.group is not None:
                out = self.group.receive(self.group.host_id, parse_chat_body(ev.body), "")
                self.shown += [
                    (o.author_name, o.text) for o in out if isinstance(o, Posted) and not o.live
                ]
                self.events += [
                    ("live" if o.live else "edited", o.text)
                    for o in out
                    if (isinstance(o, Posted) and o.live) or isinstance(o, Edited)
                ]
                await self.agent.ack_message(ev.msg_id, receipt=False)

    async def send(self, outputs: list[Output]) -> None:
        for o in outputs:
            if isinstance(o, Send):
                for m in o.messages:
                    await self.agent.send(self.conn, m.encode())

    async def say(self, text: str) -> None:
        assert self.group is not None
        await self.send(self.group.post(text, os.urandom(12), "2026-01-01T00:00:00Z"))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.agent.stop()


def texts(inbox: RunningInbox, direction: str | None = None) -> list[str]:
    """Every message text of the inbox's (one) conversation, optionally of one direction."""
    convs = inbox.service.conversations()
    if not convs:
        return []
    _, msgs = inbox.service.conversation(convs[0].id)
    return [m.text for m in msgs if direction is None or m.direction == direction]


class Lab:
    """A team inbox "Acme", its operator inboxes and a visitor (the customer)."""

    def __init__(self, team: RunningInbox, ops: list[RunningInbox], visitor: Visitor) -> None:
        self.team = team
        self.ops = ops
        self.visitor = visitor

    @property
    def host(self) -> TeamHost:
        host = self.team.service.team
        assert isinstance(host, TeamHost)
        return host


@asynccontextmanager
async def team_lab(
    tmp: Path,
    relay: RelayProcess,
    operators: tuple[str, ...] = ("Bob",),
    settings: TeamSettings | None = None,
    join: bool = True,
    passphrase: str | None = None,
) -> AsyncIterator[Lab]:
    """The team inbox with these operators, all active, and (``join``) the Python visitor
    Ada joined: every operator has her conversation online. Without ``join`` the visitor is
    someone else's (a widget in a browser, say). Everything is stopped at the end."""
    kw: dict[str, Any] = {"ws_url": relay.ws_url, "client_config": CFG}
    team = await start_inbox(
        tmp / "team", relay.address, name="Acme", team="host", team_settings=settings,
        passphrase=passphrase, **kw,
    )  # fmt: skip
    lab = Lab(team, [], Visitor(Agent(tmp / "ada", relay.address, ws_url=relay.ws_url)))
    try:
        for i, name in enumerate(operators):
            full, short = await lab.host.invite_operator_links()
            assert short is not None and short.startswith("https://")
            link = short if i == 0 else full  # the first joins the short link (LKEY)
            lab.ops.append(
                await start_inbox(tmp / name, relay.address, name=name, join_team=link, **kw)
            )
        await poll(
            lambda: [o["status"] for o in lab.host.operators_json()] == ["active"] * len(operators)
        )
        assert sorted(o["name"] for o in lab.host.operators_json()) == sorted(operators)
        if join:
            await lab.visitor.agent.start()
            await lab.visitor.join(team.service.address, "Ada")
            for op in lab.ops:
                await poll(
                    lambda op=op: [c.status for c in op.service.conversations()] == ["online"]
                )
        yield lab
    finally:
        if join:
            await lab.visitor.stop()
        else:
            lab.visitor.agent.store.close()
        for inbox in (lab.team, *lab.ops):
            await inbox.stop()


def test_two_operators_answer_one_visitor_and_a_removed_one_hears_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "hushwire.inbox.team")
    relay = start_relay_process(tmp_path / "relay")

    async def main() -> None:
        async with team_lab(tmp_path, relay, ("Bob", "Cy")) as lab:
            team, (bob, cy), visitor, host = lab.team, lab.ops, lab.visitor, lab.host
            # the short link says "business"; the acceptance makes the visitor a customer
            assert team.service.short_address is not None
            st = next(s for s in team.service.agent.store.all_connections() if s.kind == "contact")
            assert json.loads(st.link_data)["business"] is True
            await poll(lambda: visitor.group is not None)
            assert visitor.invitation is not None and visitor.group is not None
            inv = visitor.invitation.invitation
            assert inv.group_profile.display_name == "Acme"
            assert inv.from_member_name == "Acme" and inv.from_member.role == "owner"
            assert inv.invited_member.role == "member" and inv.accepted == "accepted"
            assert inv.business == business_info(
                "business", inv.from_member.member_id, inv.invited_member.member_id
            )
            # both operators get the conversation (x.grp.inv, joined with x.grp.acpt)
            for op in (bob, cy):
                await poll(
                    lambda op=op: [c.status for c in op.service.conversations()] == ["online"]
                )
            conv = team.service.conversations()[0]
            assert conv.name == "Ada" and conv.status == "online"
            assert isinstance(bob.service.team, TeamOperator)
            assert bob.service.team.team_json() == {"name": "Acme", "status": "active"}
            await visitor.say("hello team")
            for inbox in (team, bob, cy):
                await poll(lambda inbox=inbox: texts(inbox, "in") == ["hello team"])
            # the operators know who the visitor is
            await poll(lambda: bob.service.conversations()[0].name == "Ada")
            bob_conv = bob.service.conversations()[0].id
            cy_conv = cy.service.conversations()[0].id
            await bob.service.reply(bob_conv, "from bob")
            await cy.service.reply(cy_conv, "from cy")
            await team.service.reply(conv.id, "from the owner")
            await poll(lambda: ("Acme", "from the owner") in visitor.shown)
            await poll(lambda: len(visitor.shown) == 3)
            # each answer once, all under the business name
            assert sorted(visitor.shown) == [
                ("Acme", "from bob"), ("Acme", "from cy"), ("Acme", "from the owner"),
            ]  # fmt: skip
            # ...and the operators were never announced to the visitor
            assert [m.name for m in visitor.group.current_members()] == ["Acme"] * 3

            # the team inbox stored Bob's answer: its receipt shows it delivered to Bob
            def bob_state() -> list[str]:
                _, msgs = bob.service.conversation(bob_conv)
                return [m.state for m in msgs if m.text == "from bob"]

            await poll(lambda: bob_state() == ["delivered"])
            # every operator sees the others' answers, with their authors
            for inbox in (team, bob, cy):
                await poll(lambda inbox=inbox: len(texts(inbox, "out")) == 3)
                _, msgs = inbox.service.conversation(inbox.service.conversations()[0].id)
                authors = {
                    m["text"]: m["author"] for m in inbox.service.messages_json(msgs)
                    if m["direction"] == "out"
                }  # fmt: skip
                assert authors == {"from bob": "Bob", "from cy": "Cy", "from the owner": "Acme"}
            # a customer may not assign: refused, not forwarded to anybody
            assign = ChatMessage(ASSIGN_EVENT, {"name": "Ada"}, os.urandom(12))
            await visitor.agent.send(visitor.conn, assign.encode())
            # Bob assigns the conversation to himself: the team and Cy learn it, not the visitor
            await bob.service.team.assign(bob_conv, True)  # type: ignore[union-attr]
            await poll(lambda: team.service.conversation_json(conv)["assigned"] == "Bob")
            await poll(
                lambda: (
                    cy.service.conversation_json(cy.service.conversations()[0])["assigned"] == "Bob"
                )
            )
            await poll(
                lambda: bob.service.conversation_json(bob.service.conversations()[0])["mine"]
            )
            refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
            assert len(refused) == 1 and "x.hushwire.assign" in refused[0]
            assert "the customer has no role to assign" in refused[0]
            assert "Ada" not in refused[0]  # logged without content
            # Cy is removed: from the conversation, and nothing more reaches it
            cy_member = b64url_decode(host.store.get(f"opm:{conv.id}:{_op(host, 'Cy')}"))
            cy_member_conn = host.store.conn_of(conv.id, cy_member)
            assert cy_member_conn is not None
            assert await host.remove_operator("Cy") == "Cy"
            await poll(lambda: [c.status for c in cy.service.conversations()] == ["ended"])
            await poll(lambda: team.service.agent.connection(cy_member_conn) is None)
            await visitor.say("after removal")
            for inbox in (team, bob):
                await poll(lambda inbox=inbox: texts(inbox, "in")[-1] == "after removal")
            assert "after removal" not in texts(cy)
            assert [o["name"] for o in host.operators_json()] == ["Bob"]
            cy_team = cy.service.team
            assert isinstance(cy_team, TeamOperator)
            await poll(lambda: (cy_team.team_json() or {}).get("status") == "removed")
            assert visitor.shown.count(("Acme", "from bob")) == 1

    try:
        run(main)
    finally:
        relay.stop()


def _op(host: TeamHost, name: str) -> str:
    return next(o.conn_id for o in host.store.operators() if o.name == name)


def test_business_fields_of_the_invitations_round_trip() -> None:
    """``x.grp.inv`` to an operator (``chatType: customer``) and ``x.grp.link.inv`` to the
    customer (``chatType: business``), as simplex-chat's encoder writes them
    (``sendGrpInvitation``, ``acceptBusinessJoinRequestAsync``)."""
    owner, customer, operator = b"\x01\x02\x03\x04", b"\x05\x06\x07\x08", b"\x09\x0a\x0b\x0c"
    text = (
        '{"v":"1-16","event":"x.grp.inv","params":{"groupInvitation":{'
        '"fromMember":{"memberId":"AQIDBA==","memberRole":"owner"},'
        '"invitedMember":{"memberId":"CQoLDA==","memberRole":"member"},'
        '"connRequest":"simplex:/invitation#/?v=2-7&smp=x",'
        '"groupProfile":{"displayName":"shop","fullName":"The Shop"},'
        '"business":{"chatType":"customer","businessId":"AQIDBA==","customerId":"BQYHCA=="},'
        '"groupSize":2}}}'
    )
    (msg,) = parse_chat_body(text.encode())
    inv = interpret_group(msg)
    assert isinstance(inv, XGrpInv)
    assert inv.invitation.business == business_info("customer", owner, customer)
    assert inv.invitation.invited_member.member_id == operator
    again = XGrpInv(inv.invitation).to_message()
    assert json.loads(again.encode()) == json.loads(text)
    assert isinstance(inv.invitation, GroupInvitation)
    vectors = json.loads((Path(__file__).parents[1] / "vectors" / "chat_groups.json").read_text())
    case = next(c for c in vectors["cases"] if c["name"] == "x.grp.link.inv business")
    (link_msg,) = parse_chat_body(case["json"].encode())
    link_inv = interpret_group(link_msg)
    assert isinstance(link_inv, XGrpLinkInv)
    assert link_inv.invitation.business == business_info("business", owner, customer)
    assert json.loads(XGrpLinkInv(link_inv.invitation).to_message().encode()) == json.loads(
        case["json"]
    )


def test_typing_both_ways_and_the_away_message_once_per_closed_period(tmp_path: Path) -> None:
    relay = start_relay_process(tmp_path / "relay")
    # closed now: the only opening is the day after tomorrow
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[(datetime.now().weekday() + 2) % 7]
    hours = OpeningHours.parse(f"{day} 09:00-17:00")
    settings = TeamSettings(show_operator_names=True, hours=hours, away_message="Away")

    async def main() -> None:
        async with team_lab(tmp_path, relay, settings=settings) as lab:
            team, (bob,), visitor = lab.team, lab.ops, lab.visitor
            updates = team.service.subscribe()
            conv = team.service.conversations()[0].id
            bob_conv = bob.service.conversations()[0].id
            # the visitor types (a live message), then sends its final text
            group = visitor.group
            assert group is not None
            live_id = os.urandom(12)
            live = XGrpMsgNew({"type": "text", "text": ""}, live_id, live=True).to_message()
            await visitor.send([Send(group.host_id, (live,))])
            seen: list[dict[str, object]] = []

            async def typing_shown() -> None:
                while not any(u.get("type") == "typing" for u in seen):
                    seen.append(await updates.queue.get())

            await asyncio.wait_for(typing_shown(), 30)
            typing = next(u for u in seen if u.get("type") == "typing")
            assert typing == {"type": "typing", "id": conv, "name": "Ada", "typing": True}
            assert texts(team) == []  # nothing stored while it is being typed
            final = XMsgUpdate(live_id, {"type": "text", "text": "typed by Ada"}).to_message()
            await visitor.send([Send(group.host_id, (final,))])
            for inbox in (team, bob):
                await poll(lambda inbox=inbox: texts(inbox, "in") == ["typed by Ada"])
            # outside opening hours: one away message for this closed period
            await poll(lambda: ("Acme", "Away") in visitor.shown)
            await visitor.say("anyone there?")
            await poll(lambda: texts(team, "in") == ["typed by Ada", "anyone there?"])
            # Bob types (an empty live message: drafts are not shown), then sends
            assert await bob.service.team.set_typing(bob_conv, True)  # type: ignore[union-attr]
            await poll(lambda: ("live", "") in visitor.events)
            await bob.service.reply(bob_conv, "typed by Bob")
            await poll(lambda: ("edited", "typed by Bob") in visitor.events)
            await team.service.reply(conv, "barrier")
            await poll(lambda: ("Acme", "barrier") in visitor.shown)
            assert visitor.shown.count(("Acme", "Away")) == 1
            assert "typed by Bob" in texts(team, "out") and texts(team, "out").count("Away") == 1
            # --show-operator-names: the visitor knows Bob by his name
            assert "Bob" in [m.name for m in group.current_members()]
            team.service.unsubscribe(updates)

    try:
        run(main)
    finally:
        relay.stop()


def test_opening_hours_name_the_closed_period() -> None:
    hours = OpeningHours.parse("Mon-Fri 09:00-17:00, Sat 10:00-13:00")
    thu_night = datetime(2026, 12, 3, 22, 0)  # a Thursday
    assert hours.closed_period(thu_night) == "2026-12-04T09:00"
    assert hours.closed_period(datetime(2026, 12, 4, 6, 0)) == "2026-12-04T09:00"
    assert hours.closed_period(datetime(2026, 12, 4, 9, 0)) is None
    assert hours.closed_period(datetime(2026, 12, 4, 17, 0)) == "2026-12-05T10:00"
    assert hours.closed_period(datetime(2026, 12, 5, 13, 30)) == "2026-12-07T09:00"
    wraps = OpeningHours.parse("Fri-Mon 00:00-24:00")
    assert wraps.is_open(datetime(2026, 12, 7, 23, 59)) and not wraps.is_open(thu_night)
    for bad, message in [
        ("Mon-Fri 9:00-17:00", "cannot read"),
        ("Mox 09:00-17:00", "not a day"),
        ("Mon 17:00-09:00", "not a time range"),
        ("", "cannot read"),
    ]:
        with pytest.raises(ConfigError, match=message):
            OpeningHours.parse(bad)


def test_team_api_and_terminal_commands(tmp_path: Path) -> None:
    """Operators and saved replies over the web API (session and key) and the terminal
    commands (bearer token), against a running team inbox."""
    relay = start_relay_process(tmp_path / "relay")

    async def main() -> None:
        team = await start_inbox(
            tmp_path / "team", relay.address, ws_url=relay.ws_url, name="Acme",
            client_config=CFG, team="host",
        )  # fmt: skip
        base = f"http://127.0.0.1:{team.web.port}"
        banner = io.StringIO()
        print_banner(team, banner, qr=False)
        assert banner.getvalue().startswith("Business address of a team inbox (Acme):\n")
        assert "Team operators: none yet. Invite one: hushwire inbox invite-operator" in (
            banner.getvalue()
        )
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        try:
            async with session.get(team.login_link, allow_redirects=False) as resp:
                assert resp.status == 303
            async with session.post(
                f"{base}/api/session", json={}, headers={"Origin": base}
            ) as resp:
                session.headers[KEY_HEADER] = (await resp.json())["key"]
            post = {"headers": {"Origin": base}}
            async with session.get(f"{base}/api/team") as resp:
                assert await resp.json() == {"role": "host", "operators": [], "team": None}
            async with session.post(f"{base}/api/team/operators", json={}, **post) as resp:
                invited = await resp.json()
            assert invited["link"].startswith("simplex:/invitation#/")
            assert invited["short_link"].startswith("https://localhost/i#")
            assert invited["qr"].startswith("<svg")
            async with session.get(f"{base}/api/team") as resp:
                ops = (await resp.json())["operators"]
            assert [(o["name"], o["status"]) for o in ops] == [("(invited)", "invited")]
            # saved replies
            reply = {"name": "shipping", "text": "We ship in 2 days."}
            async with session.post(f"{base}/api/saved-replies", json=reply, **post) as resp:
                assert (await resp.json())["replies"] == [reply]
            bad = {"name": "Bad Name!", "text": "x"}
            async with session.post(f"{base}/api/saved-replies", json=bad, **post) as resp:
                assert resp.status == 400
                assert "a-z, 0-9" in (await resp.json())["error"]
            async with session.post(
                f"{base}/api/conversations/nope/assign", json={"mine": True}, **post
            ) as resp:
                assert resp.status == 404
            # the terminal commands
            code, out, _ = await cli(tmp_path / "team", "operators")
            assert code == 0 and "(invited)  [invited]" in out
            code, out, _ = await cli(tmp_path / "team", "invite-operator")
            assert code == 0 and "simplex:/invitation#/" in out
            code, out, _ = await cli(tmp_path / "team", "remove-operator", ops[0]["id"][:8])
            assert code == 0 and out.strip() == "Removed (invited) from every conversation."
            async with session.get(f"{base}/api/team") as resp:
                assert len((await resp.json())["operators"]) == 1
            async with session.post(
                f"{base}/api/saved-replies/shipping/delete", json={}, **post
            ) as resp:
                assert (await resp.json())["replies"] == []
        finally:
            await session.close()
            await team.stop()
        # the role is remembered: a later run without --team is the team inbox again
        again = await start_inbox(
            tmp_path / "team", relay.address, ws_url=relay.ws_url, client_config=CFG
        )
        try:
            assert again.service.team_role == "host"
        finally:
            await again.stop()
        with pytest.raises(ConfigError, match="cannot become an operator"):
            await start_inbox(
                tmp_path / "team", relay.address, ws_url=relay.ws_url, client_config=CFG,
                team="operator",
            )  # fmt: skip

    try:
        run(main)
    finally:
        relay.stop()


def test_a_restarted_team_inbox_goes_on_with_its_operators_and_visitor(tmp_path: Path) -> None:
    """The team inbox, then its operator, stopped and started again on the same data (real
    SQLite files): the conversation, the operator and the visitor carry on; nothing is
    shown twice."""
    relay = start_relay_process(tmp_path / "relay")

    async def main() -> None:
        async with team_lab(tmp_path, relay) as lab:
            (bob,), visitor = lab.ops, lab.visitor
            await visitor.say("before")
            await poll(lambda: texts(bob, "in") == ["before"])
            await lab.team.stop()
            await visitor.say("while the team inbox is down")
            lab.team = team = await start_inbox(
                tmp_path / "team", relay.address, ws_url=relay.ws_url, client_config=CFG
            )
            await poll(lambda: texts(bob, "in") == ["before", "while the team inbox is down"])
            assert texts(team, "in") == ["before", "while the team inbox is down"]
            # the operator restarts too (its role and team are remembered)
            await bob.stop()
            lab.ops[0] = bob = await start_inbox(
                tmp_path / "Bob", relay.address, ws_url=relay.ws_url, client_config=CFG
            )
            assert bob.service.team_role == "operator"
            assert texts(bob, "in") == ["before", "while the team inbox is down"]
            await bob.service.reply(bob.service.conversations()[0].id, "after")
            await poll(lambda: ("Acme", "after") in visitor.shown)
            await team.service.reply(team.service.conversations()[0].id, "barrier")
            await poll(lambda: ("Acme", "barrier") in visitor.shown)
            assert visitor.shown == [("Acme", "after"), ("Acme", "barrier")]
            # the visitor ends it as a 1:1 chat would (x.direct.del): it leaves the group,
            # and the conversation ends for the whole team
            await visitor.agent.send(visitor.conn, x_direct_del().encode())
            for inbox in (team, bob):
                await poll(lambda inbox=inbox: inbox.service.conversations()[0].status == "ended")

    try:
        run(main)
    finally:
        relay.stop()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hours", "Mon 09:00-17:00", "--away-message", "x"], "go with --team"),
        (["--team", "--hours", "Mon 09:00-17:00"], "give both --hours and --away-message"),
        (["--team", "--hours", "Mon 9-17", "--away-message", "x"], "cannot read"),
        (["--team", "--join-team", "simplex:/invitation#/?v=2"], "not allowed with argument"),
    ],
)
def test_team_options_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["inbox", "--data", str(tmp_path), "--relay", "smp://AAAA@localhost:5223", *extra]
    try:
        code = cli_main(argv)
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "team.sqlite3").exists()


def test_with_a_passphrase_the_team_inbox_keeps_no_plaintext(tmp_path: Path) -> None:
    """The group states (which keep the last messages for operators who join later) and the
    outbox of a team inbox are sealed like its history: no message text in any file."""
    relay = start_relay_process(tmp_path / "relay")
    said = "my order number is 4711-SECRET"

    async def main() -> None:
        async with team_lab(tmp_path, relay, passphrase="correct horse") as lab:
            (bob,) = lab.ops
            await lab.visitor.say(said)
            await poll(lambda: texts(bob, "in") == [said])
            await lab.team.service.reply(lab.team.service.conversations()[0].id, "answered")
            await poll(lambda: ("Acme", "answered") in lab.visitor.shown)
            assert texts(lab.team, "in") == [said]
        raw = b"".join(p.read_bytes() for p in (tmp_path / "team").iterdir() if p.is_file())
        assert said.encode() not in raw
        assert b"answered" not in raw
        assert said.encode() in b"".join(
            p.read_bytes() for p in (tmp_path / "Bob").iterdir() if p.is_file()
        )  # the operator has no passphrase: its files are plain (a control)

    try:
        run(main)
    finally:
        relay.stop()


async def team_process(data: Path, relay: RelayProcess) -> tuple[asyncio.subprocess.Process, str]:
    """``hushwire inbox --team`` as its own process: it and its full business address."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hushwire", "inbox", "--team", "--data", str(data),
        "--relay", relay.address.encode(), "--ws", relay.ws_url, "--name", "Acme", "--no-qr",
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Log in:"):
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line, lines
        lines.append(line.decode().rstrip("\n"))
    assert lines[0] == "Business address of a team inbox (Acme):"
    return proc, next(x for x in lines if x.startswith("simplex:/contact#/"))


def test_kill_9_of_the_team_inbox_while_it_forwards_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    """The team inbox as a process, killed (SIGKILL) once the operator got the first of five
    messages the visitor sent, then started again: the operator gets each of them once, in
    order, and the conversation goes on."""
    relay = start_relay_process(tmp_path / "relay")
    data = tmp_path / "team"
    said = [f"message {i}" for i in range(5)]

    async def main() -> None:
        proc, address = await team_process(data, relay)
        bob: RunningInbox | None = None
        visitor = Visitor(Agent(tmp_path / "ada", relay.address, ws_url=relay.ws_url))
        try:
            code, out, _ = await cli(data, "invite-operator")
            assert code == 0
            link = next(x for x in out.splitlines() if x.startswith("simplex:/invitation#/"))
            bob = await start_inbox(
                tmp_path / "bob", relay.address, ws_url=relay.ws_url, name="Bob",
                client_config=CFG, join_team=link,
            )  # fmt: skip
            bob_team = bob.service.team
            assert isinstance(bob_team, TeamOperator)
            await poll(lambda: (bob_team.team_json() or {}).get("status") == "active")
            await visitor.agent.start()
            await visitor.join(address, "Ada")
            await poll(lambda: [c.status for c in bob.service.conversations()] == ["online"])
            for text in said:
                await visitor.say(text)
            await poll(lambda: len(texts(bob, "in")) >= 1)
            proc.kill()  # while it receives, stores and forwards the others
            await proc.wait()
            proc, _ = await team_process(data, relay)
            await poll(lambda: texts(bob, "in") == said)
            await bob.service.reply(bob.service.conversations()[0].id, "all five, thanks")
            await poll(lambda: ("Acme", "all five, thanks") in visitor.shown)
            assert visitor.shown == [("Acme", "all five, thanks")]
            assert texts(bob, "in") == said
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
            await visitor.stop()
            if bob is not None:
                await bob.stop()

    try:
        run(main)
    finally:
        relay.stop()


def test_the_terminal_chat_is_a_customer_of_a_team_inbox(tmp_path: Path) -> None:
    """``hushwire chat ADDRESS`` (in-process) joins the business address as the customer:
    it prints the team's answers under the business name."""
    from hushwire.bot.terminal import run_chat

    relay = start_relay_process(tmp_path / "relay")

    async def main() -> None:
        async with team_lab(tmp_path, relay, join=False) as lab:
            (bob,) = lab.ops
            lines: asyncio.Queue[str | None] = asyncio.Queue()
            out = io.StringIO()
            chat = asyncio.create_task(
                run_chat(
                    lab.team.service.address,
                    tmp_path / "terminal",
                    relay=relay.address,
                    ws_url=relay.ws_url,
                    name="Ada",
                    lines=lines,
                    out=out,
                )
            )
            try:
                await poll(lambda: "Joined the room Acme." in out.getvalue())
                await poll(lambda: [c.status for c in bob.service.conversations()] == ["online"])
                lines.put_nowait("hello from the terminal\n")
                await poll(lambda: texts(bob, "in") == ["hello from the terminal"])
                await bob.service.reply(bob.service.conversations()[0].id, "hi, Bob here")
                await poll(lambda: "< Acme: hi, Bob here" in out.getvalue())
            finally:
                lines.put_nowait(None)
                await asyncio.wait_for(chat, 30)

    try:
        run(main)
    finally:
        relay.stop()
