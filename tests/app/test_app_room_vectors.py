"""The web app's room host and the Python room host write the same bytes: the scenario in
tests/vectors/app_rooms.json (admissions, greetings, history, forwards, deletions, a leave,
clear history, the refusal of a joiner when the room is full) run through ``GroupHost``;
widget/test/app_rooms.test.ts runs the same file through the app's ``RoomHost``. Entries
marked ``app`` are the app's one addition (a joiner is told who is already there) and are not
the Python host's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hushwire.chat.group_host import GroupHost, read_join_request
from hushwire.chat.group_state import Output, Send
from hushwire.chat.messages import Profile, parse_chat_body
from hushwire.encoding.strings import b64url_decode, b64url_encode
from hushwire.rooms.host import bodies

VECTORS = Path(__file__).parent.parent / "vectors" / "app_rooms.json"


def sends(outputs: list[Output]) -> list[dict[str, Any]]:
    return [
        {"to": b64url_encode(o.to), "body": body.decode()}
        for o in outputs
        if isinstance(o, Send)
        for body in bodies(o.messages)
    ]


def test_the_python_room_host_writes_the_shared_vectors() -> None:
    data = json.loads(VECTORS.read_text())
    room = data["room"]
    host = GroupHost.create(
        room["name"], Profile(room["host"]), b64url_decode(room["hostId"]), history=room["history"]
    )
    assert len(data["steps"]) == 12
    for step in data["steps"]:
        expected = [
            {"to": s["to"], "body": s["body"]} for s in step.get("sends", []) if not s.get("app")
        ]
        match step["do"]:
            case "admit":
                profile, versions = read_join_request(step["info"].encode())
                inv = host.admit(b64url_decode(step["member"]), profile, versions)
                assert inv.encode_conn_info().decode() == step["connInfo"]
                continue
            case "reject":
                rejection = host.reject(b64url_decode(step["member"]))
                assert rejection.encode_conn_info().decode() == step["connInfo"]
                continue
            case "connected":
                out = host.connected(b64url_decode(step["member"]))
            case "receive":
                messages = parse_chat_body(step["body"].encode())
                out = host.receive(b64url_decode(step["member"]), messages, step["ts"])
            case "post":
                out = host.post(step["text"], b64url_decode(step["msgId"]), step["ts"])
            case "clear":
                out = host.clear_history()
        assert sends(out) == expected, step["do"]
    assert host.log == []
