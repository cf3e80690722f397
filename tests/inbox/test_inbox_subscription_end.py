"""The inbox tells its owner when another process takes over its address (issue 16, B2):
the relay sends ``END`` to the inbox, whose agent reports it; the settings the page reads
carry the notice, and a live update goes to the open page. Real relay on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

from test_inbox_service import CFG, base, logged_in, poll, run, ws_url

from hushwire.agent.agent import Agent, SubscriptionEnded
from hushwire.inbox.run import start_inbox
from hushwire.server.config import RelayConfig
from hushwire.server.run import start_relay


def test_the_inbox_shows_that_another_process_took_over_its_address(tmp_path: Path) -> None:
    async def main() -> None:
        r = await start_relay(
            RelayConfig(data=tmp_path / "relay", ws=("127.0.0.1", 0), host="127.0.0.1")
        )
        data = tmp_path / "inbox"
        try:
            inbox = await start_inbox(data, r.address, ws_url=ws_url(r), client_config=CFG)
            await inbox.stop()
            # The same keys elsewhere: a copy of the agent's data, as a restored backup.
            (tmp_path / "copy").mkdir()
            shutil.copy(data / "agent.sqlite3", tmp_path / "copy" / "agent.sqlite3")
            inbox = await start_inbox(data, r.address, ws_url=ws_url(r), client_config=CFG)
            other = Agent(tmp_path / "copy", r.address, ws_url=ws_url(r), client_config=CFG)
            session = await logged_in(inbox)
            try:
                assert inbox.service.settings()["notices"] == []
                sub = inbox.service.subscribe()
                await other.start()
                await poll(lambda: bool(inbox.service.notices))
                [notice] = inbox.service.notices
                assert notice.startswith(
                    "This inbox stopped receiving: another process took over its address"
                )
                assert r.address.encode() in notice
                update = sub.queue.get_nowait()
                assert update == {"type": "notice", "text": notice}
                async with session.get(f"{base(inbox)}/api/settings") as resp:
                    assert (await resp.json())["notices"] == [notice]
                # The other process keeps the address: it is not told END in return.
                assert not any(
                    isinstance(other.events.get_nowait(), SubscriptionEnded)
                    for _ in range(other.events.qsize())
                )
            finally:
                await session.close()
                await other.stop()
                await inbox.stop()
        finally:
            await r.stop()

    run(main)
