"""hushwire.chat.groups and group_types: simplex-chat ProtocolTests.hs group strings and
encoder-built forms, round trips, role order, timestamps, size caps and fuzz (only
DecodeError)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.chat import groups as g
from hushwire.chat.group_types import (
    GroupInvitation,
    GroupLinkInvitation,
    GroupProfile,
    IntroInvitation,
    MemberIdRole,
    MemberInfo,
    Role,
    format_msg_ts,
    name_from_member_id,
    parse_msg_ts,
    redacted_profile,
    role_rank,
)
from hushwire.chat.messages import ChatMessage, Profile, XUnknown, parse_chat_body
from hushwire.errors import DecodeError
from hushwire.limits import CHAT_MAX_ENCODED_MSG_LENGTH, GROUP_MAX_MEMBER_ID_LENGTH
from hushwire.smp.version import VersionRange

V = load_vectors("chat_groups.json")


def _kind(name: str) -> type:
    return XUnknown if name == "XUnknown" else getattr(g, name)  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", V["cases"], ids=lambda c: c["name"])
def test_vectors_parse_and_round_trip(case: dict[str, Any]) -> None:
    data = case["json"].encode()
    (msg,) = parse_chat_body(data)
    view = g.interpret_group(msg)
    assert type(view) is _kind(case["kind"])
    if isinstance(view, XUnknown):
        return
    again = view.to_message() if isinstance(view, g.XGrpMsgNew) else view.to_message(msg.msg_id)
    expected = json.loads(data)
    assert again.params == expected["params"]
    assert again.event == expected["event"]
    assert again.msg_id == msg.msg_id
    # and the re-encoded message decodes to the same record
    (back,) = parse_chat_body(again.encode())
    assert g.interpret_group(back) == view


def test_vector_details() -> None:
    cases = {c["name"]: c for c in V["cases"]}

    def view(name: str) -> Any:
        (msg,) = parse_chat_body(cases[name]["json"].encode())
        return g.interpret_group(msg)

    inv = view("x.grp.inv with group link id")
    assert inv.invitation.from_member == MemberIdRole(b"\1\2\3\4", "admin")
    assert inv.invitation.invited_member == MemberIdRole(b"\5\6\7\x08", "member")
    assert inv.invitation.group_link_id == b"\1\2\3\4"
    assert inv.invitation.group_profile.display_name == "team"
    assert view("x.grp.inv").invitation.group_link_id is None
    intro = view("x.grp.mem.intro with member chat version range")
    assert intro.info.versions == VersionRange(1, 5)
    assert intro.info.profile.display_name == "alice"
    assert view("x.grp.mem.intro").info.versions is None
    assert view("x.grp.mem.inv").intro.direct_conn_req is not None
    assert view("x.grp.mem.inv w/t directConnReq").intro.direct_conn_req is None
    assert view("x.msg.new simple live message").live is True
    assert view("x.msg.new simple text with msgId").msg_id == b"\1\2\3\4"
    assert view("x.msg.new simple text with msgId").text == "hello"
    assert view("x.msg.update live").live is True
    assert view("x.msg.del").member_id is None
    assert view("x.msg.del moderation").member_id == b"\5\6\7\x08"
    assert view("x.grp.mem.del").messages is False
    assert view("x.grp.mem.del with messages").messages is True
    fwd = view("x.grp.msg.forward")
    assert fwd.member_id == b"\5\6\7\x08" and fwd.member_name == "bob"
    assert fwd.msg.msg_id == b"\t\n\x0b\x0c" and fwd.msg.event == "x.msg.new"
    assert parse_msg_ts(fwd.msg_ts) == datetime(2025, 1, 1, tzinfo=UTC)
    link = view("x.grp.link.inv")
    assert link.invitation.accepted == "accepted" and link.invitation.group_size == 3
    assert link.invitation.group_profile.description == "Welcome!"
    assert link.invitation.group_profile.preference_on("history", default=False)
    react = view("x.msg.react")
    assert react == g.XMsgReact.emoji(b"\t\n\x0b\x0c", b"\5\6\7\x08", "\U0001f44d")


def test_roles_are_ordered_and_unknown_ranks_lowest() -> None:
    order = ["relay", "observer", "commenter", "author", "member", "moderator", "admin", "owner"]
    assert [role_rank(r) for r in order] == list(range(8))
    assert [r.wire for r in Role] == order
    assert role_rank("superuser") == -1
    (msg,) = parse_chat_body(b'{"event":"x.grp.mem.role","params":{"memberId":"AQ==","role":"x"}}')
    assert g.interpret_group(msg) == g.XGrpMemRole(b"\1", "x")  # kept, not refused


def test_member_id_helpers() -> None:
    # the app's member ids are the base64 text of 12 random bytes
    assert name_from_member_id(b"\1\2\3\4") == "AQIDBA="
    assert name_from_member_id(b"abc") == "YWJj"
    with pytest.raises(ValueError):
        MemberIdRole(b"", "member")
    with pytest.raises(ValueError):
        MemberIdRole(b"x" * (GROUP_MAX_MEMBER_ID_LENGTH + 1), "member")
    long_id = "A" * 100
    (msg,) = parse_chat_body(
        b'{"event":"x.grp.mem.con","params":{"memberId":"%s"}}' % long_id.encode()
    )
    with pytest.raises(DecodeError):
        g.interpret_group(msg)


def test_redacted_profile_drops_link_and_preferences() -> None:
    p = Profile("bob", "Bob", "hi", "data:image/png;base64,AA==", "simplex:/contact#x", {"a": 1})
    assert redacted_profile(p) == Profile("bob", "Bob", "hi", "data:image/png;base64,AA==")


def test_msg_ts() -> None:
    assert parse_msg_ts("1970-01-01T00:00:01.000000001Z") == datetime(
        1970, 1, 1, 0, 0, 1, tzinfo=UTC
    )
    assert parse_msg_ts("2024-01-01T10:00:00.1234Z").microsecond == 123400
    when = datetime(2024, 1, 1, 10, 0, 0, 123400, tzinfo=UTC)
    assert format_msg_ts(when) == "2024-01-01T10:00:00.1234Z"
    assert format_msg_ts(when.replace(microsecond=0)) == "2024-01-01T10:00:00Z"
    for bad in ["2024-01-01 10:00:00Z", "2024-01-01T10:00:00", "2024-13-01T10:00:00Z", ""]:
        with pytest.raises(DecodeError):
            parse_msg_ts(bad)


BAD = [
    ('{"event":"x.grp.acpt","params":{}}', "memberId"),
    ('{"event":"x.grp.acpt","params":{"memberId":5}}', "memberId"),
    ('{"event":"x.grp.inv","params":{"groupInvitation":[]}}', "groupInvitation"),
    (
        '{"event":"x.grp.mem.new","params":{"memberInfo":{"memberId":"AQ==","memberRole":"m"}}}',
        "profile",
    ),
    (
        '{"event":"x.grp.mem.new","params":{"memberInfo":{"memberId":"AQ==","memberRole":1,'
        '"profile":{"displayName":"a","fullName":""}}}}',
        "memberRole",
    ),
    (
        '{"event":"x.grp.mem.intro","params":{"memberInfo":{"memberId":"AQ==","memberRole":"m",'
        '"v":"5-1","profile":{"displayName":"a","fullName":""}}}}',
        "version",
    ),
    ('{"event":"x.grp.mem.inv","params":{"memberId":"AQ==","memberIntro":{}}}', "groupConnReq"),
    (
        '{"event":"x.grp.link.inv","params":{"groupLinkInvitation":{"fromMember":{"memberId":"AQ==",'
        '"memberRole":"owner"},"fromMemberName":"h","invitedMember":{"memberId":"Ag==",'
        '"memberRole":"member"},"groupProfile":{"displayName":"r","fullName":""},'
        '"accepted":"maybe"}}}',
        "accepted",
    ),
    (
        '{"event":"x.grp.msg.forward","params":{"msg":{"event":"x.grp.msg.forward","params":{}},'
        '"msgTs":"2025-01-01T00:00:00Z"}}',
        "forward",
    ),
    (
        '{"event":"x.grp.msg.forward","params":{"msg":{"event":"x.msg.new","params":{}},'
        '"msgTs":"yesterday"}}',
        "msgTs",
    ),
    (
        '{"event":"x.grp.msg.forward","params":{"msg":"{}","msgTs":"2025-01-01T00:00:00Z"}}',
        "object",
    ),
    (
        '{"event":"x.msg.react","params":{"msgId":"AQ==","reaction":{"type":"emoji",'
        '"emoji":"\\u2764\\ufe0f"},"add":true}}',
        "emoji",
    ),
    (
        '{"event":"x.msg.react","params":{"msgId":"AQ==","reaction":{"type":"emoji",'
        '"emoji":"\\u2764"},"add":1}}',
        "add",
    ),
    (
        '{"event":"x.msg.update","params":{"msgId":"AQ==","content":{"type":"text","text":"a"},'
        '"live":"yes"}}',
        "live",
    ),
    ('{"event":"x.msg.new","params":{"content":{"type":"text","text":"a"},"ttl":-1}}', "ttl"),
    ('{"event":"x.msg.del","params":{}}', "msgId"),
    ('{"event":"x.grp.info","params":{"groupProfile":{"displayName":"r"}}}', "fullName"),
]


@pytest.mark.parametrize(("text", "word"), BAD)
def test_bad_params_raise_decode_error(text: str, word: str) -> None:
    try:
        (msg,) = parse_chat_body(text.encode())
    except DecodeError as e:  # the nested forward fails already at the envelope level
        assert word in str(e) or "chat message" in str(e)
        return
    with pytest.raises(DecodeError):
        g.interpret_group(msg)


def test_unknown_reaction_types_and_roles_are_carried() -> None:
    text = (
        '{"event":"x.msg.react","params":{"msgId":"AQ==","memberId":"Ag==",'
        '"reaction":{"type":"x"},"add":false}}'
    )
    (msg,) = parse_chat_body(text.encode())
    view = g.interpret_group(msg)
    assert view == g.XMsgReact(b"\1", b"\2", {"type": "x"}, False)
    with pytest.raises(ValueError):
        g.XMsgReact.emoji(b"\1", b"\2", "\u2764\ufe0f")


def test_forward_size_and_nesting() -> None:
    inner = ChatMessage("x.msg.new", {"content": {"type": "text", "text": "x" * 15450}}, b"\1" * 12)
    fwd = g.XGrpMsgForward(b"\2" * 16, "bob", inner, "2025-01-01T00:00:00Z")
    body = fwd.encode(b"\3" * 12)
    assert CHAT_MAX_ENCODED_MSG_LENGTH < len(body)  # allowed over a plain message's cap
    too_big = ChatMessage("x.msg.new", {"content": {"type": "text", "text": "x" * 15600}})
    with pytest.raises(Exception, match="more than"):
        g.XGrpMsgForward(b"\2", "bob", too_big, "2025-01-01T00:00:00Z").encode()
    with pytest.raises(ValueError):
        g.XGrpMsgForward(b"\2", "b", fwd.to_message(), "2025-01-01T00:00:00Z")
    with pytest.raises(DecodeError):
        g.XGrpMsgForward(b"\2", "b", inner, "now")


def test_forwardable_events() -> None:
    assert "x.msg.new" in g.FORWARDABLE_EVENTS and "x.grp.mem.intro" not in g.FORWARDABLE_EVENTS
    assert "x.grp.msg.forward" not in g.FORWARDABLE_EVENTS


def test_group_profile_preferences() -> None:
    p = GroupProfile(
        "room", preferences={"history": {"enable": "on"}, "reactions": {"enable": "off"}}
    )
    assert p.preference_on("history", default=False)
    assert not p.preference_on("reactions", default=True)
    assert p.preference_on("voice", default=True)
    assert not GroupProfile("r").preference_on("history", default=False)


# ----------------------------------------------------------------------------- hypothesis

ids = st.binary(min_size=1, max_size=GROUP_MAX_MEMBER_ID_LENGTH)
names = st.text(max_size=40)
roles = st.sampled_from([r.wire for r in Role] + ["future-role"])
profiles = st.builds(
    Profile,
    names,
    names,
    st.none() | names,
    st.none() | names,
)
versions = st.none() | st.builds(
    lambda a, b: VersionRange(min(a, b), max(a, b)), st.integers(1, 99), st.integers(1, 99)
)
group_profiles = st.builds(
    GroupProfile,
    names,
    names,
    st.none() | names,
    st.none() | names,
    st.none() | names,
    st.none() | st.just({"history": {"enable": "on"}}),
)
infos = st.builds(MemberInfo, ids, roles, profiles, versions)
id_roles = st.builds(MemberIdRole, ids, roles)
intros = st.builds(IntroInvitation, names, st.none() | names)
contents = st.builds(lambda t: {"type": "text", "text": t}, st.text(min_size=1, max_size=50))
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
events = st.one_of(
    st.builds(
        g.XGrpInv,
        st.builds(
            GroupInvitation,
            id_roles,
            id_roles,
            names,
            group_profiles,
            st.none() | ids,
            st.none() | st.just({"chatType": "business"}),
            st.none() | st.integers(0, 1000),
        ),
    ),
    st.builds(g.XGrpAcpt, ids),
    st.builds(
        g.XGrpLinkInv,
        st.builds(
            GroupLinkInvitation,
            id_roles,
            names,
            id_roles,
            group_profiles,
            st.none() | st.sampled_from(["accepted", "pending", "pending_review"]),
            st.none(),
            st.none() | st.integers(0, 1000),
        ),
    ),
    st.builds(g.XGrpLinkMem, profiles),
    st.builds(g.XGrpMemNew, infos),
    st.builds(g.XGrpMemIntro, infos, st.none() | st.just({"restriction": "blocked"})),
    st.builds(g.XGrpMemInv, ids, intros),
    st.builds(g.XGrpMemFwd, infos, intros),
    st.builds(g.XGrpMemInfo, ids, profiles),
    st.builds(g.XGrpMemCon, ids),
    st.builds(g.XGrpMemRole, ids, roles),
    st.builds(g.XGrpMemDel, ids, st.booleans()),
    st.just(g.XGrpLeave()),
    st.just(g.XGrpDel()),
    st.builds(g.XGrpInfo, group_profiles),
    st.builds(g.XMsgUpdate, ids, contents, st.none() | st.booleans()),
    st.builds(g.XMsgDel, ids, st.none() | ids),
    st.builds(
        g.XMsgReact.emoji,
        ids,
        ids,
        st.sampled_from(["\U0001f44d", "\u2764", "\u2705"]),
        st.booleans(),
    ),
    st.builds(
        lambda mid, name, c, ts: g.XGrpMsgForward(
            mid, name, g.XGrpMsgNew(c, b"\7" * 12).to_message(), format_msg_ts(ts)
        ),
        st.none() | ids,
        st.none() | names,
        contents,
        timestamps,
    ),
)


@settings(max_examples=300, deadline=None)
@given(events, st.none() | st.binary(min_size=1, max_size=16))
def test_round_trip(event: Any, msg_id: bytes | None) -> None:
    msg = event.to_message(msg_id)
    (back,) = parse_chat_body(msg.encode())
    assert g.interpret_group(back) == event


@settings(max_examples=100, deadline=None)
@given(contents, st.none() | st.binary(min_size=1, max_size=16), st.none() | st.booleans())
def test_msg_new_round_trip(
    content: dict[str, Any], msg_id: bytes | None, live: bool | None
) -> None:
    event = g.XGrpMsgNew(content, msg_id, live)
    (back,) = parse_chat_body(event.to_message().encode())
    assert g.interpret_group(back) == event


@settings(max_examples=100, deadline=None)
@given(timestamps)
def test_msg_ts_round_trip(when: datetime) -> None:
    assert parse_msg_ts(format_msg_ts(when)) == when


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(V["cases"]), st.data())
def test_fuzz_mutated_vectors_raise_only_decode_error(
    case: dict[str, Any], data: st.DataObject
) -> None:
    value = json.loads(case["json"])
    params = value["params"]
    if params:
        key = data.draw(st.sampled_from(sorted(params)))
        params[key] = data.draw(
            st.one_of(st.none(), st.integers(), st.text(max_size=8), st.just({}), st.just([]))
        )
    try:
        for msg in parse_chat_body(json.dumps(value).encode()):
            g.interpret_group(msg)
    except DecodeError:
        pass
