"""hushwire.rooms: batch packing under the size cap, the room store's steps and the host's
event loop (no relay)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from hushwire.chat.group_host import GroupHost
from hushwire.chat.groups import XGrpMsgForward, XGrpMsgNew, XMsgDel
from hushwire.chat.messages import CHAT_VERSIONS, Profile, parse_chat_body
from hushwire.cli import main as cli_main
from hushwire.encoding.strings import b64url_encode
from hushwire.limits import GROUP_MAX_FORWARD_LENGTH
from hushwire.rooms.host import RoomHost, bodies, pump
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
    again.commit({"n": 2}, [("c2", b"three"), ("c3", b"four")], unlink="c1")
    again.sent()  # nothing
    assert [b for _, _, b in again.outbox()] == [b"two", b"three", b"four"]
    again.sent(*(i for i, c, _ in again.outbox() if c != "c3"))
    assert [b for _, _, b in again.outbox()] == [b"four"]
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


def test_an_agent_event_arriving_while_a_typed_line_is_handled_is_handled_too() -> None:
    """The host's loop reads agent events and typed lines. A member's connection that
    completes while the host posts a line (its event arriving during the post) must still be
    greeted: the event was once taken by a pending read, which the loop then cancelled."""

    async def scenario() -> list[str]:
        events: asyncio.Queue[Any] = asyncio.Queue()
        lines: asyncio.Queue[Any] = asyncio.Queue()
        stop = asyncio.Event()
        handled: list[str] = []

        async def on_line(line: str | None) -> None:
            events.put_nowait("cy connected")  # arrives while the line is posted
            for _ in range(5):  # the post awaits the agent meanwhile
                await asyncio.sleep(0)
            handled.append(f"line {line}")

        async def on_event(ev: str) -> None:
            handled.append(ev)
            if ev == "last":
                stop.set()

        lines.put_nowait("the host is back")
        loop = asyncio.ensure_future(pump(stop, [(events, on_event), (lines, on_line)]))
        for _ in range(20):
            await asyncio.sleep(0)
        events.put_nowait("last")
        await asyncio.wait_for(loop, 5)
        return handled

    assert asyncio.run(scenario()) == ["line the host is back", "cy connected", "last"]


def test_pump_stops_on_stop_and_on_sources_ending() -> None:
    async def scenario() -> list[object]:
        stop = asyncio.Event()
        lines: asyncio.Queue[Any] = asyncio.Queue()
        seen: list[object] = []

        async def on_line(line: str | None) -> None:
            seen.append(line)

        for x in ("a", "b", None, "never read"):
            lines.put_nowait(x)
        await asyncio.wait_for(pump(stop, [(lines, on_line)]), 5)  # None ends the only source
        assert lines.qsize() == 1
        other: asyncio.Queue[Any] = asyncio.Queue()

        async def on_other(x: str) -> None:
            seen.append(x)
            stop.set()

        other.put_nowait("stop now")
        other.put_nowait("left queued")
        await asyncio.wait_for(pump(stop, [(other, on_other)]), 5)
        assert other.get_nowait() == "left queued"  # not taken by a cancelled read
        return seen

    assert asyncio.run(scenario()) == ["a", "b", None, "stop now"]


def test_the_host_logs_a_refusal_by_kind_and_sender_never_its_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A member deleting someone else's message and a member sending a forward: refused,
    nothing queued for anybody, and the log line names the event and the sender only."""
    group = GroupHost.create("room", Profile("host"), b"H" * 12)
    a, b = b"A" * 12, b"B" * 12
    store = RoomStore(tmp_path / "room.sqlite3")
    for mid, conn in ((a, "conn-a"), (b, "conn-b")):
        group.admit(mid, Profile(mid.decode()), CHAT_VERSIONS)
        store.commit(group.to_json(), [], link=(conn, mid))
        group.connected(mid)
    secret = XGrpMsgNew({"type": "text", "text": "the secret text"}, b"s" * 12).to_message()
    group.receive(a, [secret], "2025-01-01T00:00:00Z")
    room = RoomHost(None, store, group)  # type: ignore[arg-type]  # _commit needs no agent
    forged = XGrpMsgForward(a, "a", secret, "2025-01-01T00:00:00Z").to_message()
    with caplog.at_level(logging.WARNING, logger="hushwire.rooms"):
        for msg in (XMsgDel(b"s" * 12, a).to_message(), forged):
            room._commit(group.receive(b, [msg], "2025-01-01T00:00:00Z"))
    assert store.outbox() == []
    assert [r.getMessage() for r in caplog.records] == [
        f"refused x.msg.del from member {b64url_encode(b)}: no role to delete others' messages",
        f"refused x.grp.msg.forward from member {b64url_encode(b)}: "
        "not an event a member sends to the group",
    ]
    assert "secret" not in caplog.text
    store.close()
