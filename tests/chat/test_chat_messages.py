"""hushwire.chat.messages: simplex-chat ProtocolTests.hs strings, exact encodings, batches,
compressed batches, typed views, size caps, round trips and fuzz (only DecodeError)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_vectors
from hushwire.agent.protocol import compress_compressed_list
from hushwire.chat.messages import (
    CHAT_INITIAL_VERSIONS,
    CHAT_VERSIONS,
    DEFAULT_PREFERENCES,
    ChatMessage,
    ChatMessageTooLarge,
    Profile,
    XContact,
    XDirectDel,
    XInfo,
    XMsgNew,
    XOk,
    XUnknown,
    contact_link_data,
    encode_batch,
    hushwire_profile,
    interpret,
    parse_chat_body,
    parse_chat_elements,
    x_contact,
    x_direct_del,
    x_info,
    x_msg_new_text,
)
from hushwire.errors import DecodeError
from hushwire.limits import CHAT_MAX_ENCODED_INFO_LENGTH, CHAT_MAX_ENCODED_MSG_LENGTH
from hushwire.smp.version import VersionRange

V = load_vectors("chat_messages.json")
KINDS = {"XInfo": XInfo, "XContact": XContact, "XMsgNew": XMsgNew, "XOk": XOk, "XUnknown": XUnknown}


def _hex(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


@pytest.mark.parametrize("case", V["parse"], ids=lambda c: c["name"])
def test_simplex_chat_vectors(case: dict[str, Any]) -> None:
    data = case["json"].encode()
    (msg,) = parse_chat_body(data)
    assert msg.versions == CHAT_INITIAL_VERSIONS or case.get("versions") == "1-5"
    assert msg.params == json.loads(data)["params"]
    if case["exact"]:
        assert msg.encode() == data
    view = interpret(msg)
    assert type(view) is KINDS[case["kind"]]
    if isinstance(view, XMsgNew):
        assert view.text == case["text"]
        assert view.msg_id == _hex(case["msg_id_hex"])
    if isinstance(view, XInfo | XContact):
        assert view.profile.to_json() == case["profile"]
        assert view.profile == Profile.from_json(case["profile"])
    if isinstance(view, XContact):
        assert view.contact_req_id == _hex(case["contact_req_id_hex"])
        assert view.request_msg_id is None and view.request_content is None
    if isinstance(view, XUnknown):
        assert view.event == msg.event and view.params == msg.params


def _construct(case: dict[str, Any]) -> ChatMessage:
    name = case["constructor"]
    if name == "x_info":
        return x_info(Profile(case["display_name"]))
    if name == "x_msg_new_text":
        return x_msg_new_text(case["text"], _hex(case["msg_id_hex"]))
    if name == "x_direct_del":
        return x_direct_del()
    assert name == "x_contact"
    return x_contact(
        hushwire_profile(case["display_name"]),
        contact_req_id=_hex(case["contact_req_id_hex"]),
    )


@pytest.mark.parametrize("case", V["encode"], ids=lambda c: c["name"])
def test_exact_encodings(case: dict[str, Any]) -> None:
    msg = _construct(case)
    data = case["bytes"].encode("utf-8")
    assert msg.encode() == data
    assert parse_chat_body(data) == [msg]


def test_confirmation_conn_info_body() -> None:
    body = x_info(Profile("test")).encode_conn_info()
    assert b"I" + body == (
        b'I{"v":"1-16","event":"x.info","params":{"profile":{"displayName":"test","fullName":""}}}'
    )


def test_typed_views_of_constructors() -> None:
    profile = hushwire_profile("Shop", full_name="Shop Ltd", short_descr="we sell", image="data:x")
    assert profile.preferences == DEFAULT_PREFERENCES
    assert interpret(x_info(profile)) == XInfo(profile)
    assert interpret(x_contact(profile)) == XContact(profile)
    new = interpret(x_msg_new_text("hi", b"\x01" * 12))
    assert new == XMsgNew("hi", {"text": "hi", "type": "text"}, b"\x01" * 12)
    assert isinstance(new, XMsgNew) and new.content_type == "text"
    assert interpret(x_direct_del()) == XDirectDel()
    assert x_info(profile).chat_versions == CHAT_VERSIONS


def test_contact_link_data_exact_bytes() -> None:
    assert contact_link_data(Profile("Echo bot")) == (
        b'{"profile":{"displayName":"Echo bot","fullName":""},"business":false}'
    )
    assert contact_link_data(Profile("Ann \u00e9"), business=True) == (
        b'{"profile":{"displayName":"Ann \\u00e9","fullName":""},"business":true}'
    )


def test_x_contact_request_message() -> None:
    params = {
        "profile": {"displayName": "v", "fullName": ""},
        "welcomeMsgId": "AQID",
        "msgId": "BAUG",
        "content": {"type": "text", "text": "hello"},
    }
    view = interpret(ChatMessage("x.contact", params))
    assert view == XContact(
        Profile("v"), None, b"\x01\x02\x03", b"\x04\x05\x06", {"type": "text", "text": "hello"}
    )


def test_profile_json() -> None:
    p = Profile("a", "b", "descr", "data:image/png;base64,AA", "simplex:/contact#/?v=2", {"x": 1})
    obj = p.to_json()
    assert list(obj) == [
        "displayName",
        "fullName",
        "shortDescr",
        "image",
        "contactLink",
        "preferences",
    ]
    assert Profile.from_json(obj) == p
    assert Profile.from_json({**obj, "unknown": 1, "image": None}).image is None
    for bad in [
        [],
        {"fullName": ""},
        {"displayName": "a"},
        {"displayName": 1, "fullName": ""},
        {"displayName": "a", "fullName": "", "image": 3},
        {"displayName": "a", "fullName": "", "preferences": []},
    ]:
        with pytest.raises(DecodeError):
            Profile.from_json(bad)


def test_no_v_means_version_1_and_round_trips() -> None:
    data = b'{"event":"x.ok","params":{}}'
    (msg,) = parse_chat_body(data)
    assert msg.versions is None and msg.chat_versions == VersionRange(1, 1)
    assert msg.encode() == data
    assert parse_chat_body(b'{"v":null,"msgId":null,"event":"x.ok","params":{},"z":1}')[0] == msg


def test_json_batch() -> None:
    msgs = [x_msg_new_text("one", b"1" * 12), x_msg_new_text("two", b"2" * 12), x_direct_del()]
    data = encode_batch(msgs)
    assert data.startswith(b"[{") and b" " not in data
    assert parse_chat_body(data) == msgs
    assert parse_chat_body(b"[]") == []


def test_batch_keeps_good_elements_beside_bad_ones() -> None:
    good = x_msg_new_text("ok", None).to_json()
    data = json.dumps([good, {"event": "x.ok"}, good]).encode()
    items = parse_chat_elements(data)
    assert isinstance(items[0], ChatMessage) and isinstance(items[2], ChatMessage)
    assert isinstance(items[1], DecodeError)
    with pytest.raises(DecodeError, match="params"):
        parse_chat_body(data)


def test_compressed_batch() -> None:
    big = x_msg_new_text("z" * 5000, b"3" * 12).encode()
    small = x_direct_del().encode()
    batch = encode_batch([x_info(Profile("p")), x_direct_del()])
    data = b"X" + compress_compressed_list([big, small, batch])
    assert data[1] == 3 and data[2:3] == b"1"
    out = parse_chat_body(data)
    assert [m.event for m in out] == ["x.msg.new", "x.direct.del", "x.info", "x.direct.del"]


def test_compressed_batch_errors() -> None:
    frame = zstandard.ZstdCompressor().compress(b"{" * 10)
    bad = [
        b"X",  # no count
        b"X\x00",  # NonEmpty with zero elements
        b"X\x01" + b"2",  # unknown Compressed tag
        b"X\x01" + b"0\x05abc",  # short string too short
        b"X\x01" + b"0\x00",  # empty element
        b"X\x01" + b"0\x01X",  # nested compression is not allowed
        b"X\x01" + b"1" + len(frame).to_bytes(2, "big") + frame,  # not JSON inside
        b"X\x01" + b"1\x00\x04abcd",  # not a zstd frame
        b"X\x01" + b"0\x02{}" + b"tail",  # trailing bytes
    ]
    for data in bad:
        with pytest.raises(DecodeError):
            parse_chat_body(data)
    # A frame without a declared size (streaming) is refused as simplexmq refuses it.
    cobj = zstandard.ZstdCompressor(write_content_size=False).compressobj()
    stream = cobj.compress(b'{"event":"x.ok","params":{}}') + cobj.flush()
    with pytest.raises(DecodeError):
        parse_chat_body(b"X\x01" + b"1" + len(stream).to_bytes(2, "big") + stream)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b" {}", "unknown chat message form"),
        (b"=\x01", "groups"),
        (b"/sig", "unknown"),
        (b"{" * 70000, "limit"),
        (b'{"event":"x.ok","params":{}', "not JSON"),
        (b'{"event":"x.ok","params":{}}\xff', "UTF-8"),
        (b'{"event":"x.ok","params":NaN}', "NaN"),
        (b"[" * 5000 + b"]" * 5000, "nested"),
        (b"{}", "event"),
        (b'{"event":"y.ok","params":{}}', "event"),
        (b'{"event":"x.a b","params":{}}', "event"),
        (b'{"event":"x.ok","params":[]}', "params"),
        (b'{"v":2,"event":"x.ok","params":{}}', "v must"),
        (b'{"v":"2-1","event":"x.ok","params":{}}', "version"),
        (b'{"v":"a","event":"x.ok","params":{}}', "version"),
        (b'{"v":"1-","event":"x.ok","params":{}}', "version"),
        (b'{"msgId":5,"event":"x.ok","params":{}}', "msgId"),
        (b'{"msgId":"!!","event":"x.ok","params":{}}', "base64"),
        (b"[1]", "object"),
    ],
)
def test_bad_bodies(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        parse_chat_body(data)


@pytest.mark.parametrize(
    "params",
    [
        {"content": {"text": "x"}},
        {"content": {"type": "text"}},
        {"content": {"type": "text", "text": 5}},
        {"content": "text"},
        {},
    ],
)
def test_bad_msg_new(params: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        interpret(ChatMessage("x.msg.new", params))


def test_bad_contact_and_info() -> None:
    with pytest.raises(DecodeError):
        interpret(ChatMessage("x.info", {}))
    with pytest.raises(DecodeError, match="contactReqId"):
        interpret(
            ChatMessage(
                "x.contact", {"profile": {"displayName": "a", "fullName": ""}, "contactReqId": 1}
            )
        )


def test_lone_surrogates_become_replacement_characters() -> None:
    data = (
        b'{"event":"x.msg.new","params":{"content":'
        b'{"type":"text","text":"a\\ud800b","\\udc00":["\\ud800",1,[]],"n":2}}}'
    )
    (msg,) = parse_chat_body(data)
    assert msg.params["content"]["text"] == "a\ufffdb"
    assert msg.params["content"]["\ufffd"] == ["\ufffd", 1, []]
    msg.encode()  # valid UTF-8 again
    assert parse_chat_body(b'{"event":"x.\\u006fk","params":{}}')[0].event == "x.ok"


def test_size_caps() -> None:
    near = "a" * (CHAT_MAX_ENCODED_MSG_LENGTH - 100)
    x_msg_new_text(near, None).encode()
    with pytest.raises(ChatMessageTooLarge):
        x_msg_new_text(near + "a" * 100, None).encode()
    with pytest.raises(ChatMessageTooLarge):
        x_info(Profile("a" * CHAT_MAX_ENCODED_INFO_LENGTH)).encode_conn_info()
    with pytest.raises(ChatMessageTooLarge):
        encode_batch([x_msg_new_text(near, None), x_msg_new_text(near, None)])


def test_construction_checks() -> None:
    with pytest.raises(ValueError, match="event"):
        ChatMessage("hello", {})
    with pytest.raises(ValueError, match="msg_id"):
        ChatMessage("x.ok", {}, b"")
    with pytest.raises(ValueError, match="empty"):
        x_msg_new_text("", None)
    with pytest.raises(ValueError, match="JSON"):
        ChatMessage("x.ok", {"a": object()}).encode()
    with pytest.raises(ValueError, match="JSON"):
        x_msg_new_text("\ud800", None).encode()
    with pytest.raises(ValueError, match="JSON"):
        ChatMessage("x.ok", {"a": float("nan")}).encode()


# ------------------------------------------------------------------ round trips (Hypothesis)

_opt_text = st.none() | st.text(max_size=30)
_profiles = st.builds(
    Profile,
    display_name=st.text(max_size=30),
    full_name=st.text(max_size=30),
    short_descr=_opt_text,
    image=_opt_text,
    contact_link=_opt_text,
    preferences=st.none()
    | st.dictionaries(
        st.text(max_size=8), st.dictionaries(st.text(max_size=5), st.text(max_size=5))
    ),
)
_msg_ids = st.none() | st.binary(min_size=1, max_size=16)


@settings(max_examples=200)
@given(st.text(min_size=1, max_size=500), _msg_ids)
def test_text_round_trip(text: str, msg_id: bytes | None) -> None:
    msg = x_msg_new_text(text, msg_id)
    data = msg.encode()
    assert parse_chat_body(data) == [msg]
    assert interpret(parse_chat_body(data)[0]) == XMsgNew(
        text, {"text": text, "type": "text"}, msg_id
    )


@settings(max_examples=200)
@given(_profiles, st.none() | st.binary(min_size=1, max_size=16))
def test_profile_round_trip(profile: Profile, req_id: bytes | None) -> None:
    assert interpret(parse_chat_body(x_info(profile).encode())[0]) == XInfo(profile)
    view = interpret(parse_chat_body(x_contact(profile, contact_req_id=req_id).encode())[0])
    assert view == XContact(profile, req_id)


# ------------------------------------------------------------------ fuzz: only DecodeError


def _parse_only_decode_error(data: bytes) -> None:
    try:
        for msg in parse_chat_body(data):
            try:
                interpret(msg)
            except DecodeError:
                pass
    except DecodeError:
        pass


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    _parse_only_decode_error(data)
    _parse_only_decode_error(b"X" + data)


@settings(max_examples=500)
@given(st.sampled_from([c["json"] for c in V["parse"]]), st.data())
def test_fuzz_mutated_messages(text: str, data: st.DataObject) -> None:
    raw = bytearray(text.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.sampled_from(b'{}[]":,\\0aX \xff'))
    _parse_only_decode_error(bytes(raw))
