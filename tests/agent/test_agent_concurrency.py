"""The owner agent processes different connections' messages at the same time and each
connection's messages in order (a real relay on loopback, real SQLite stores)."""

from __future__ import annotations

from pathlib import Path

from agent_helpers import agent_for, relay_at, run, wait_for

from hushwire.agent.agent import ConnectionEstablished, MessageReceived


def test_a_stalled_connection_does_not_hold_up_another_and_keeps_its_order(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner, visitor = agent_for(r, tmp_path / "o"), agent_for(r, tmp_path / "v")
            try:
                await owner.start()
                await visitor.start()
                _, link = await owner.create_address(b"owner")
                v_a = await visitor.join(link, b"a")
                o_a = (await wait_for(owner, ConnectionEstablished)).conn_id
                v_b = await visitor.join(link, b"b")
                o_b = (await wait_for(owner, ConnectionEstablished)).conn_id
                for _ in range(2):
                    await wait_for(visitor, ConnectionEstablished)
                async with owner._lock(o_a):  # connection a's step is stuck
                    for i in range(3):
                        await visitor.send(v_a, b"a%d" % i)
                    await visitor.send(v_b, b"b0")
                    got = await wait_for(owner, MessageReceived)
                    assert (got.conn_id, got.body) == (o_b, b"b0")
                    await owner.ack_message(got.msg_id, receipt=False)
                bodies = []
                for _ in range(3):
                    got = await wait_for(owner, MessageReceived)
                    assert got.conn_id == o_a
                    bodies.append(got.body)
                    await owner.ack_message(got.msg_id, receipt=False)
                assert bodies == [b"a0", b"a1", b"a2"]
            finally:
                await owner.stop()
                await visitor.stop()

    run(main)
