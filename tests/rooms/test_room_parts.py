"""hushwire.rooms: batch packing under the size cap and the room store's steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from hushwire.chat.groups import XGrpMsgForward, XGrpMsgNew
from hushwire.chat.messages import parse_chat_body
from hushwire.cli import main as cli_main
from hushwire.limits import GROUP_MAX_FORWARD_LENGTH
from hushwire.rooms.host import bodies
from hushwire.rooms.store import RoomStore


def _fwd(i: int, size: int) -> XGrpMsgForward:
    inner = XGrpMsgNew({"type": "text", "text": "x" * size}, bytes([i]) * 12).to_message()
    return XGrpMsgForward(b"A" * 16, "ann", inner, "2025-01-01T00:00:00Z")


def test_bodies_pack_batches_under_the_cap_and_keep_order() -> None:
    small = tuple(_fwd(i, 10).to_message() for i in range(10))
    (one,) = bodies(small)
    assert one.startswith(b"[") and [m.msg_id for m in parse_chat_body(one)] == [None] * 10
    big = tuple(_fwd(i, 6000).to_message() for i in range(5))
    out = bodies(big)
    assert len(out) == 3 and all(len(b) <= GROUP_MAX_FORWARD_LENGTH for b in out)
    inner_ids = [m.params["msg"]["msgId"] for b in out for m in parse_chat_body(b)]
    assert inner_ids == [m.params["msg"]["msgId"] for m in big]
    huge = (_fwd(1, 15400).to_message(),)
    (alone,) = bodies(huge)
    assert alone.startswith(b"{")


def test_store_commits_state_links_and_outbox_together(tmp_path: Path) -> None:
    store = RoomStore(tmp_path / "room.sqlite3")
    store.commit({"n": 1}, [("c1", b"one"), ("c1", b"two")], link=("c1", b"M" * 12))
    assert store.load("group") == {"n": 1}
    assert store.member_of("c1") == b"M" * 12 and store.conn_of(b"M" * 12) == "c1"
    assert [b for _, _, b in store.outbox()] == [b"one", b"two"]
    first = store.outbox()[0][0]
    store.sent(first)
    store.close()
    again = RoomStore(tmp_path / "room.sqlite3")
    assert [b for _, _, b in again.outbox()] == [b"two"]
    again.commit({"n": 2}, [], unlink="c1")
    assert again.member_of("c1") is None and again.load("group") == {"n": 2}
    again.save_value("group_link_id", "abc")
    assert again.load("group_link_id") == "abc"
    again.close()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--history", "101", "--history is 0 to 100"), ("--max-members", "0", "at least 1")],
)
def test_room_host_refuses_bad_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    argv = [
        "room", "host", "--data", str(tmp_path), "--relay", "smp://AAAA@localhost:5223",
        "--name", "r", flag, value,
    ]  # fmt: skip
    assert cli_main(argv) == 2
    assert message in capsys.readouterr().err
