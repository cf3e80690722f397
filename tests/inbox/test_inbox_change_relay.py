"""The inbox's "Change relay" action (``POST /api/conversations/{id}/change-relay``): the
conversation's receiving queue moves to a new queue on the inbox's relay, the visitor's
agent follows (QADD, QKEY, QUSE, QTEST) and its next message arrives on the new queue."""

from __future__ import annotations

from pathlib import Path

from test_inbox_service import (
    base,
    logged_in,
    poll,
    relay_and_inbox,
    run,
    say,
    visitor_joins,
    wait_for,
)

from hushwire.agent.agent import QueueSwitchChanged


def test_change_relay_moves_the_conversation_queue(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay_and_inbox(tmp_path) as (r, inbox):
            service = inbox.service
            visitor, v_conn = await visitor_joins(r, tmp_path, inbox)
            (conv,) = service.conversations()
            before = service.agent.connection(conv.id)
            assert before is not None and len(before.rcv) == 1
            session = await logged_in(inbox)
            async with session:
                origin = {"Origin": base(inbox)}
                url = f"{base(inbox)}/api/conversations/{conv.id}/change-relay"
                async with session.post(url, json={}, headers=origin) as p:
                    assert p.status == 200
                # A second request while the first is under way is refused, with the reason.
                async with session.post(url, json={}, headers=origin) as p:
                    assert p.status == 409
                    assert "already changing" in (await p.json())["error"]
                await wait_for(visitor, QueueSwitchChanged, lambda e: e.phase == "completed")
                await visitor.send(v_conn, say("on the new queue"))
                await poll(lambda: service.conversations()[0].last_text == "on the new queue")
                after = service.agent.connection(conv.id)
                assert after is not None and after.rcv_switch == "none"
                assert [q.rcv_id for q in after.rcv] != [q.rcv_id for q in before.rcv]
                assert len(after.rcv) == 1
                async with session.post(
                    f"{base(inbox)}/api/conversations/nope/change-relay", json={}, headers=origin
                ) as p:
                    assert p.status == 404
            await visitor.stop()

    run(main)
