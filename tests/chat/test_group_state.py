"""hushwire.chat.group_state, group_host and group_member: transcripts of a host and its
members (every message goes through its JSON encoding), role refusals, duplicates, history,
clear history, leave/remove/delete and persistence."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.chat.group_host import GroupHost
from hushwire.chat.group_member import GroupMember, rejection_reason
from hushwire.chat.group_state import (
    CreateInvitation,
    Deleted,
    Disconnect,
    Edited,
    GroupDeleted,
    GroupFull,
    HistoryCleared,
    JoinMember,
    MemberJoined,
    MemberLeft,
    Output,
    Posted,
    Reacted,
    Refused,
    Send,
)
from hushwire.chat.group_types import IntroInvitation, Role
from hushwire.chat.groups import (
    XGrpLinkInv,
    XGrpMemCon,
    XGrpMemDel,
    XGrpMemIntro,
    XGrpMemInv,
    XGrpMsgForward,
    XGrpMsgNew,
    XMsgDel,
    XMsgReact,
    XMsgUpdate,
    interpret_group,
)
from hushwire.chat.messages import (
    CHAT_VERSIONS,
    ChatMessage,
    Profile,
    encode_batch,
    parse_chat_body,
    x_info,
)
from hushwire.limits import GROUP_MAX_HISTORY_BYTES
from hushwire.smp.version import VersionRange

HOST_ID = b"H" * 16
TS = "2025-01-01T00:00:00Z"


def _wire(messages: tuple[ChatMessage, ...]) -> list[ChatMessage]:
    body = messages[0].encode() if len(messages) == 1 else encode_batch(list(messages))
    return parse_chat_body(body)


class Room:
    """A host and members wired together in memory; keeps what each side showed."""

    def __init__(self, **kw: Any) -> None:
        self.host = GroupHost.create("room", Profile("host"), HOST_ID, **kw)
        self.members: dict[bytes, GroupMember] = {}
        self.shown: dict[bytes, list[Output]] = {HOST_ID: []}
        self.refused: list[Refused] = []
        self.dropped: list[bytes] = []
        self.n = 0

    def join(self, name: str) -> bytes:
        self.n += 1
        mid = bytes([self.n]) * 16
        conn_info = self.host.admit(mid, Profile(name), CHAT_VERSIONS)
        (wire,) = parse_chat_body(conn_info.encode_conn_info())
        inv = interpret_group(wire)
        assert isinstance(inv, XGrpLinkInv)
        self.members[mid] = GroupMember.from_invitation(inv.invitation, Profile(name))
        self.shown[mid] = []
        self.run(HOST_ID, self.host.connected(mid))
        return mid

    def run(self, who: bytes, outputs: list[Output]) -> None:
        queue = [(who, o) for o in outputs]
        while queue:
            who, o = queue.pop(0)
            if isinstance(o, Send):
                msgs = _wire(o.messages)
                if who == HOST_ID:
                    if o.to in self.dropped:
                        continue
                    self.run(o.to, self.members[o.to].receive(HOST_ID, msgs, TS))
                else:
                    assert o.to == HOST_ID
                    self.run(HOST_ID, self.host.receive(who, msgs, TS))
            elif isinstance(o, Refused):
                self.refused.append(o)
            elif not isinstance(o, Disconnect):
                self.shown[who].append(o)

    def say(self, who: bytes, text: str, msg_id: bytes) -> None:
        side = self.host if who == HOST_ID else self.members[who]
        self.run(who, side.post(text, msg_id, TS))

    def send_raw(self, who: bytes, msg: ChatMessage) -> None:
        self.run(who, [Send(HOST_ID, (msg,))])

    def texts(self, who: bytes) -> list[str]:
        return [f"{o.author_name}: {o.text}" for o in self.shown[who] if isinstance(o, Posted)]


def test_three_members_talk() -> None:
    room = Room()
    a, b, c = room.join("alice"), room.join("bob"), room.join("carol")
    room.say(a, "hi from alice", b"m1" * 6)
    room.say(b, "hi from bob", b"m2" * 6)
    room.say(HOST_ID, "welcome", b"m3" * 6)
    expected = ["alice: hi from alice", "bob: hi from bob", "host: welcome"]
    for who in (a, b, c, HOST_ID):
        assert room.texts(who) == expected
    assert [o.name for o in room.shown[a] if isinstance(o, MemberJoined)] == ["bob", "carol"]
    assert room.refused == []


def test_a_join_request_seen_again_keeps_a_connected_member_in_the_room() -> None:
    # After a host restart the same join request can come twice (recovery, then the agent's
    # event); the second admission must not turn the connected member back into "accepted",
    # which would leave it out of every forward.
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    room.host.admit(b, Profile("bob"), CHAT_VERSIONS)
    assert room.host.members[b].status == "connected"
    room.say(a, "still there?", b"m1" * 6)
    assert room.texts(b) == ["alice: still there?"]


def test_late_joiner_gets_exactly_the_last_n() -> None:
    room = Room()
    a, b, c = room.join("alice"), room.join("bob"), room.join("carol")
    for i in range(12):
        room.say((a, b, c)[i % 3], f"message {i}", bytes([i]) * 12)
    d = room.join("dave")
    names = ["alice", "bob", "carol"]
    assert room.texts(d) == [f"{names[i % 3]}: message {i}" for i in range(2, 12)]


def test_no_history_for_members_older_than_chat_version_5() -> None:
    room = Room()
    a = room.join("alice")
    room.say(a, "x", b"x" * 12)
    old = b"\x42" * 16
    room.host.admit(old, Profile("old"), VersionRange(1, 4))
    sends = [o for o in room.host.connected(old) if isinstance(o, Send) and o.to == old]
    assert [m.event for o in sends for m in o.messages] == ["x.grp.link.mem"]


def test_history_size_is_configurable_and_capped() -> None:
    room = Room(history=0)
    a = room.join("alice")
    room.say(a, "x", b"x" * 12)
    assert room.texts(room.join("bob")) == []
    with pytest.raises(ValueError):
        GroupHost.create("r", Profile("h"), HOST_ID, history=101)
    GroupHost.create("r", Profile("h"), HOST_ID, history=100)


def test_history_is_one_batch_of_forwards_with_original_ids() -> None:
    room = Room()
    a = room.join("alice")
    room.say(a, "one", b"1" * 12)
    room.say(a, "two", b"2" * 12)
    outputs = room.host.connected(b"\x09" * 16)
    assert outputs == []  # not admitted: nothing
    room.host.admit(b"\x09" * 16, Profile("zed"), CHAT_VERSIONS)
    outputs = room.host.connected(b"\x09" * 16)
    sends = [o for o in outputs if isinstance(o, Send) and o.to == b"\x09" * 16]
    assert [m.event for m in sends[0].messages] == ["x.grp.link.mem"]
    history = sends[-1].messages
    fwds = [interpret_group(m) for m in history]
    assert all(isinstance(f, XGrpMsgForward) for f in fwds)
    assert [f.msg.msg_id for f in fwds if isinstance(f, XGrpMsgForward)] == [b"1" * 12, b"2" * 12]


def test_duplicates_are_dropped_by_author_and_msg_id() -> None:
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    room.say(a, "once", b"d" * 12)
    fwd = XGrpMsgForward(
        a, "alice", XGrpMsgNew({"type": "text", "text": "once"}, b"d" * 12).to_message(), TS
    )
    assert room.members[b].receive(HOST_ID, _wire((fwd.to_message(),)), TS) == []
    # the author resending the same id is not forwarded again either
    before = len(room.texts(b))
    room.send_raw(a, XGrpMsgNew({"type": "text", "text": "once"}, b"d" * 12).to_message())
    assert len(room.texts(b)) == before


def test_member_deleting_others_messages_is_refused_and_logged_without_content() -> None:
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    room.say(a, "secret words", b"s" * 12)
    room.send_raw(b, XMsgDel(b"s" * 12, a).to_message())
    assert room.refused == [Refused(b, "x.msg.del", "no role to delete others' messages")]
    assert "secret" not in repr(room.refused)
    assert room.texts(b) == ["alice: secret words"]
    assert not any(isinstance(o, Deleted) for o in room.shown[b])


def test_own_deletion_edit_live_and_reaction_are_forwarded() -> None:
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    room.send_raw(a, XGrpMsgNew({"type": "text", "text": "h"}, b"L" * 12, live=True).to_message())
    room.send_raw(a, XMsgUpdate(b"L" * 12, {"type": "text", "text": "hel"}, live=True).to_message())
    room.send_raw(a, XMsgUpdate(b"L" * 12, {"type": "text", "text": "hello"}).to_message())
    room.send_raw(b, XMsgReact.emoji(b"L" * 12, a, "\U0001f44d").to_message())
    room.send_raw(a, XMsgDel(b"L" * 12).to_message())
    shown_b = room.shown[b]
    assert Posted(a, "alice", "h", b"L" * 12, TS, True) in shown_b
    assert [o for o in shown_b if isinstance(o, Edited)] == [
        Edited(a, b"L" * 12, "hel", True),
        Edited(a, b"L" * 12, "hello", False),
    ]
    assert Deleted(a, b"L" * 12, None) in shown_b
    assert Reacted(b, b"L" * 12, "\U0001f44d", True) in room.shown[a]
    assert room.host.log == []


def test_editing_someone_elses_message_is_refused() -> None:
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    room.say(a, "mine", b"e" * 12)
    room.send_raw(b, XMsgUpdate(b"e" * 12, {"type": "text", "text": "yours"}).to_message())
    assert room.refused == [Refused(b, "x.msg.update", "no such message of the sender")]


def test_forged_forward_and_admin_events_from_a_member_are_refused() -> None:
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    forged = XGrpMsgForward(a, "alice", XGrpMsgNew({"type": "text", "text": "x"}).to_message(), TS)
    # a member may not send a forward to the host ...
    room.send_raw(b, forged.to_message())
    # ... nor may a non-admin forward to a member, remove a member or delete the group
    out = room.members[b].receive(a, [forged.to_message()], TS)
    room.send_raw(b, XGrpMemDel(a).to_message())
    room.send_raw(b, ChatMessage("x.grp.del", {}))
    assert out == [Refused(a, "x.grp.msg.forward", "only an admin forwards")]
    assert [r.event for r in room.refused] == ["x.grp.msg.forward", "x.grp.mem.del", "x.grp.del"]
    assert all(r.sender == b for r in room.refused)
    assert room.members[a].member(a) is not None
    assert not room.members[a].deleted


def test_observer_cannot_post() -> None:
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    room.run(HOST_ID, room.host.set_role(b, Role.OBSERVER))
    assert room.members[a].members[b].role == "observer"  # a knows b: b was announced to a
    assert room.members[b].me.role == "observer"
    room.send_raw(b, XGrpMsgNew({"type": "text", "text": "x"}, b"o" * 12).to_message())
    assert room.refused == [Refused(b, "x.msg.new", "observers cannot send")]
    assert room.texts(a) == []


def test_clear_history_empties_every_log() -> None:
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    room.say(a, "one", b"1" * 12)
    room.say(b, "two", b"2" * 12)
    room.say(HOST_ID, "three", b"3" * 12)
    room.run(HOST_ID, room.host.clear_history())
    for side in (room.host, *room.members.values()):
        assert side.log == []
    assert HistoryCleared() in room.shown[HOST_ID]
    assert room.texts(room.join("carol")) == []
    assert room.refused == []


def test_leave_remove_and_delete() -> None:
    room = Room()
    a, b, c = room.join("alice"), room.join("bob"), room.join("carol")
    room.say(c, "carol was here", b"c" * 12)
    room.run(a, room.members[a].leave())
    assert MemberLeft(a, "alice") in room.shown[b]
    assert room.host.members[a].status == "left"
    room.dropped.append(a)
    room.run(HOST_ID, room.host.remove(c, messages=True))
    assert MemberLeft(c, "carol", HOST_ID) in room.shown[b]
    assert Deleted(c, b"c" * 12, HOST_ID) in room.shown[b]
    assert room.members[c].deleted and room.members[b].log == []
    room.dropped.append(c)
    outputs = room.host.delete_group()
    assert Disconnect(b) in outputs
    room.run(HOST_ID, outputs)
    assert GroupDeleted(HOST_ID) in room.shown[b]
    assert room.members[b].deleted
    assert room.members[b].post("late", b"z" * 12, TS) == []


def test_group_full() -> None:
    room = Room(max_members=2)
    room.join("alice")
    room.join("bob")
    with pytest.raises(GroupFull):
        room.join("carol")


def test_state_survives_json_round_trip() -> None:
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    for i in range(3):
        room.say(a, f"m{i}", bytes([i]) * 12)
    room.host = GroupHost.from_json(json.loads(json.dumps(room.host.to_json())))
    room.members[b] = GroupMember.from_json(json.loads(json.dumps(room.members[b].to_json())))
    assert room.host.to_json() == GroupHost.from_json(room.host.to_json()).to_json()
    # duplicates are still recognised after a restart
    fwd = XGrpMsgForward(a, "alice", room.host.log[0].message, TS)
    assert room.members[b].receive(HOST_ID, [fwd.to_message()], TS) == []
    c = room.join("carol")
    assert room.texts(c) == ["alice: m0", "alice: m1", "alice: m2"]


def test_profile_updates_and_unknown_authors() -> None:
    room = Room()
    a, b = room.join("alice"), room.join("bob")
    room.send_raw(a, x_info(Profile("alice2", contact_link="simplex:/contact#x")))
    assert room.members[b].members[a].name == "alice2"
    assert room.host.members[a].profile.contact_link is None
    stranger = b"S" * 16
    inner = XGrpMsgNew({"type": "text", "text": "who am I"}, b"w" * 12).to_message()
    out = room.members[b].receive(
        HOST_ID, [XGrpMsgForward(stranger, "sam", inner, TS).to_message()], TS
    )
    assert out == [Posted(stranger, "sam", "who am I", b"w" * 12, TS)]
    assert room.members[b].members[stranger].status == "unknown"


def test_introductions_and_connected_pairs_stop_forwarding() -> None:
    room = Room(introduce=True)
    a = room.join("alice")
    joiner = b"\x07" * 16
    room.host.admit(joiner, Profile("jo"), CHAT_VERSIONS)
    outputs = room.host.connected(joiner)
    intros = [m for o in outputs if isinstance(o, Send) and o.to == joiner for m in o.messages]
    assert [m.event for m in intros if m.event == "x.grp.mem.intro"] == ["x.grp.mem.intro"]
    intro = interpret_group(next(m for m in intros if m.event == "x.grp.mem.intro"))
    assert intro.info.member_id == a and intro.info.versions is not None  # type: ignore[union-attr]
    inv = XGrpMemInv(a, IntroInvitation("simplex:/invitation#/?v=1")).to_message()
    (fwd_send,) = room.host.receive(joiner, [inv], TS)
    assert isinstance(fwd_send, Send) and fwd_send.to == a
    assert fwd_send.messages[0].event == "x.grp.mem.fwd"
    # an invitation for an introduction that was never made is refused
    (bad,) = room.host.receive(
        joiner, [XGrpMemInv(b"\x55" * 16, IntroInvitation("x")).to_message()], TS
    )
    assert isinstance(bad, Refused)
    assert room.host.receive(joiner, [XGrpMemCon(a).to_message()], TS) == []
    out = room.host.receive(
        a, [XGrpMsgNew({"type": "text", "text": "d"}, b"q" * 12).to_message()], TS
    )
    assert not any(isinstance(o, Send) and o.to == joiner for o in out)


def test_messages_from_strangers_and_unknown_events_are_refused() -> None:
    room = Room()
    a = room.join("alice")
    (r,) = room.host.receive(
        b"\x66" * 16, [XGrpMsgNew({"type": "text", "text": "x"}).to_message()], TS
    )
    assert r == Refused(b"\x66" * 16, "x.msg.new", "not a connected member")
    (r,) = room.host.receive(a, [ChatMessage("x.grp.mem.intro", {})], TS)
    assert r.event == "x.grp.mem.intro"  # type: ignore[union-attr]
    (r,) = room.host.receive(a, [ChatMessage("x.msg.del", {"msgId": 5})], TS)
    assert isinstance(r, Refused) and r.reason.startswith("malformed")


class MeshRoom(Room):
    """A room whose host introduces and whose members take introductions up: invitations
    and joins are simulated, ``x.grp.mem.con`` reports can be held back."""

    def __init__(self) -> None:
        super().__init__(introduce=True)
        self.links: dict[str, tuple[bytes, bytes]] = {}
        self.hold_con = False
        self.held: list[tuple[bytes, Output]] = []

    def join(self, name: str) -> bytes:
        self.n += 1
        mid = bytes([self.n]) * 16
        conn_info = self.host.admit(mid, Profile(name), CHAT_VERSIONS)
        inv = interpret_group(conn_info)
        assert isinstance(inv, XGrpLinkInv)
        self.members[mid] = GroupMember.from_invitation(
            inv.invitation, Profile(name), take_intros=True
        )
        self.shown[mid] = []
        self.run(HOST_ID, self.host.connected(mid))
        return mid

    def run(self, who: bytes, outputs: list[Output]) -> None:
        queue = [(who, o) for o in outputs]
        while queue:
            who, o = queue.pop(0)
            if isinstance(o, CreateInvitation):
                link = f"inv:{len(self.links)}"
                self.links[link] = (who, o.member_id)
                queue.extend(
                    (who, x) for x in self.members[who].invitation_created(o.member_id, link)
                )
            elif isinstance(o, JoinMember):
                if o.conn_req not in self.links:  # a link no member made: nobody answers
                    continue
                inviter, invitee = self.links[o.conn_req]
                assert invitee == who and inviter == o.member_id
                queue.extend((who, x) for x in self.members[who].member_connected(inviter))
                queue.extend((inviter, x) for x in self.members[inviter].member_connected(who))
            elif (
                isinstance(o, Send)
                and self.hold_con
                and any(m.event == "x.grp.mem.con" for m in o.messages)
            ):
                self.held.append((who, o))
            elif isinstance(o, Send) and who != HOST_ID and o.to != HOST_ID:
                msgs = _wire(o.messages)
                queue.extend((o.to, x) for x in self.members[o.to].receive(who, msgs, TS))
            else:
                super().run(who, [o])

    def release(self) -> None:
        held, self.held = self.held, []
        self.hold_con = False
        for who, o in held:
            self.run(who, [o])


def test_introductions_connect_members_and_the_host_stops_forwarding() -> None:
    room = MeshRoom()
    a, b = room.join("alice"), room.join("bob")
    assert room.members[a].direct_members() == [b]
    assert room.members[b].direct_members() == [a]
    assert frozenset((a, b)) in room.host.connected_pairs
    outputs = room.host.receive(
        a, [XGrpMsgNew({"type": "text", "text": "direct"}, b"D" * 12).to_message()], TS
    )
    assert not any(isinstance(o, Send) for o in outputs)  # b has it from a directly
    room.say(a, "hello bob", b"h" * 12)
    assert room.texts(b) == ["alice: hello bob"]
    assert room.refused == []


def test_a_forward_arrives_once_when_the_direct_connection_completes_at_the_same_moment() -> None:
    room = MeshRoom()
    a = room.join("alice")
    room.hold_con = True  # the host does not know yet that a and b are connected
    b = room.join("bob")
    assert room.members[a].direct_members() == [b]
    assert frozenset((a, b)) not in room.host.connected_pairs  # so the host forwards too
    room.say(a, "racing", b"r" * 12)  # goes to b directly and, forwarded, through the host
    room.release()
    room.say(a, "after", b"s" * 12)
    assert room.texts(b) == ["alice: racing", "alice: after"]
    assert frozenset((a, b)) in room.host.connected_pairs


def test_introductions_are_checked() -> None:
    room = MeshRoom()
    a, b = room.join("alice"), room.join("bob")
    member = room.members[b]
    info = room.host.members[a].info()
    intro = XGrpMemIntro(replace(info, member_id=b"\x77" * 16, versions=None)).to_message()
    (r,) = member.receive(HOST_ID, [intro], TS)
    assert r == Refused(HOST_ID, "x.grp.mem.intro", "an introduction needs a version range")
    (r,) = member.receive(a, [XGrpMemIntro(info).to_message()], TS)
    assert r == Refused(a, "x.grp.mem.intro", "only the admin host introduces")
    # a member not connected directly cannot send as itself
    (r,) = member.receive(
        b"\x78" * 16, [XGrpMsgNew({"type": "text", "text": "x"}).to_message()], TS
    )
    assert r.reason == "not a connected member"  # type: ignore[union-attr]
    assert member.invitation_created(b"\x79" * 16, "inv:x") == []
    assert member.member_connected(b"\x79" * 16) == []
    restored = GroupMember.from_json(json.loads(json.dumps(member.to_json())))
    assert restored.take_intros and restored.direct_members() == [a]


def test_kept_messages_are_bounded_in_bytes() -> None:
    host = GroupHost.create("room", Profile("host"), HOST_ID)
    for i in range(80):
        host.post("x" * 15000, i.to_bytes(12, "big"), TS)
    sizes = [len(x.message.encode()) for x in host.log]
    assert sum(sizes) <= GROUP_MAX_HISTORY_BYTES < sum(sizes) + sizes[0]
    assert host.log[-1].message.msg_id == (79).to_bytes(12, "big")
    assert len(host.log) < 80


VECTOR_MESSAGES = [
    parse_chat_body(c["json"].encode())[0] for c in load_vectors("chat_groups.json")["cases"]
]
junk = st.one_of(st.none(), st.integers(), st.text(max_size=6), st.just({}), st.just([]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.sampled_from(VECTOR_MESSAGES), st.data()), max_size=12)
)
def test_any_event_from_anyone_never_breaks_host_or_members(steps: list[Any]) -> None:
    room = MeshRoom()
    ids = [room.join("alice"), room.join("bob"), HOST_ID, b"\x5a" * 16]
    for who, msg, data in steps:
        params = dict(msg.params)
        if params and data.draw(st.booleans()):
            params[data.draw(st.sampled_from(sorted(params)))] = data.draw(junk)
        mutated = ChatMessage(msg.event, params, msg.msg_id)
        sender = ids[who]
        if sender == HOST_ID:
            for m in room.members.values():
                room.run(HOST_ID, [Send(m.me.member_id, (mutated,))])
        elif sender in room.members:
            room.run(sender, [Send(HOST_ID, (mutated,))])
        else:
            room.host.receive(sender, [mutated], TS)
    for side in (room.host, *room.members.values()):
        json.dumps(side.to_json())


def test_pending_introductions_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Introductions nobody answers stop at the bound: later joiners get no more of them
    (they are still announced and forwarded to), and an answer to one never made is refused."""
    monkeypatch.setattr("hushwire.chat.group_host.GROUP_MAX_PENDING_INTRODUCTIONS", 2)
    host = GroupHost.create("room", Profile("host"), HOST_ID, introduce=True)

    def join(n: int) -> tuple[bytes, int]:
        mid = bytes([n]) * 16
        host.admit(mid, Profile(f"m{n}"), CHAT_VERSIONS)
        sends = [o for o in host.connected(mid) if isinstance(o, Send) and o.to == mid]
        intros = sum(m.event == "x.grp.mem.intro" for s in sends for m in s.messages)
        return mid, intros

    assert [join(n)[1] for n in (1, 2, 3, 4)] == [0, 1, 1, 0]
    assert len(host.pending_intros) == 2
    assert all(m.status == "connected" for m in host.current_members())
    inv = XGrpMemInv(bytes([2]) * 16, IntroInvitation("simplex:/invitation#/?v=2")).to_message()
    (r,) = host.receive(bytes([4]) * 16, [inv], TS)
    assert r == Refused(bytes([4]) * 16, "x.grp.mem.inv", "no such introduction")


def test_a_joiner_over_the_limit_is_rejected_with_x_grp_link_reject() -> None:
    host = GroupHost.create("room", Profile("host"), HOST_ID, max_members=1)
    host.admit(b"\x01" * 16, Profile("alice"), CHAT_VERSIONS)
    with pytest.raises(GroupFull):
        host.admit(b"\x02" * 16, Profile("bob"), CHAT_VERSIONS)
    info = host.reject(b"\x03" * 16).encode_conn_info()
    assert json.loads(info) == {
        "v": "1-16",
        "event": "x.grp.link.reject",
        "params": {
            "groupLinkRejection": {
                "fromMember": {"memberId": "SEhISEhISEhISEhISEhISA==", "memberRole": "owner"},
                "invitedMember": {"memberId": "AwMDAwMDAwMDAwMDAwMDAw==", "memberRole": "observer"},
                "groupProfile": host.profile.to_json(),
                "rejectionReason": "the group is full",
            }
        },
    }
    assert list(host.members) == [b"\x01" * 16]  # the refused joiner is not recorded
    assert rejection_reason(info) == "the group is full"
    accepted = host.admit(b"\x01" * 16, Profile("alice"), CHAT_VERSIONS).encode_conn_info()
    assert rejection_reason(accepted) is None
    assert rejection_reason(b"not json") is None
    odd = ChatMessage("x.grp.link.reject", {"groupLinkRejection": {"rejectionReason": 7}})
    assert rejection_reason(odd.encode_conn_info()) == "no reason given"
