"""The visitor's fast confirmation goes right behind its SKEY, without waiting for SKEY's
answer: a visitor stopped with its confirmation stored but SKEY unanswered (not sent, or
sent and taken by the relay) sends SKEY again before the confirmation after its restart, on
a real relay, and the connection is established and carries messages both ways."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import agent_for, relay_at, run, started_pair, wait_for

from hushwire.agent.agent import ConnectionEstablished, MessageReceived
from hushwire.smp.commands import SKEY


@pytest.mark.parametrize("skey_reached_relay", [False, True])
def test_restart_before_skey_is_answered_secures_again_then_confirms(
    tmp_path: Path, skey_reached_relay: bool
) -> None:
    async def main() -> None:
        async with relay_at(tmp_path / "relay") as r:
            owner, visitor = await started_pair(r, tmp_path)
            (rc,) = visitor._clients.values()
            client = await rc.wait_connected()
            real_request = client.request
            held = asyncio.Event()  # never set: the "crashed" process never sees an answer

            async def request(entity_id: bytes, command: Any, *a: Any, **k: Any) -> Any:
                if isinstance(command, SKEY):
                    if skey_reached_relay:
                        await real_request(entity_id, command, *a, **k)
                    await held.wait()
                if command.tag == b"SEND" and k.get("key", a[0] if a else None) is not None:
                    await held.wait()  # a signed SEND: the confirmation never leaves
                return await real_request(entity_id, command, *a, **k)

            client.request = request  # type: ignore[method-assign]
            _, link = await owner.create_address(b"owner")
            v_conn = await visitor.join(link, b"visitor")
            for _ in range(500):
                m = visitor.store.next_snd_message(v_conn)
                if m is not None and m.kind == "conf":
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the visitor's confirmation was not stored")
            await visitor.store.durable()
            st = visitor.connection(v_conn)
            assert st is not None and st.snd is not None
            assert (st.status, st.snd.secured, st.snd.confirmed) == ("confirming", False, False)
            await visitor.stop()

            again = agent_for(r, tmp_path / "visitor")
            await again.start()
            try:
                assert (await wait_for(again, ConnectionEstablished)).conn_id == v_conn
                o_conn = (await wait_for(owner, ConnectionEstablished)).conn_id
                st = again.connection(v_conn)
                assert st is not None and st.snd is not None
                assert (st.status, st.snd.secured, st.snd.confirmed) == ("connected", True, True)
                await again.send(v_conn, b"from the visitor")
                got = await wait_for(owner, MessageReceived)
                assert got.body == b"from the visitor"
                await owner.send(o_conn, b"from the owner")
                back = await wait_for(again, MessageReceived)
                assert back.body == b"from the owner"
            finally:
                await again.stop()
                await owner.stop()

    run(main)
