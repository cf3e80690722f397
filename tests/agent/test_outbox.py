"""hushwire.agent.outbox: ordered delivery with retries, on a real store and a fake relay
client (the delay between retries goes through the ``sleep`` seam)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hushwire.agent.outbox import RETRY_FIRST, RETRY_MAX_NETWORK, Outbox
from hushwire.agent.store import AgentStore, ConnState, SndMessage, SndQueueState
from hushwire.client import ConnectionLost, SMPCommandError
from hushwire.crypto.keys import KeyAlg, PrivateKey
from hushwire.smp.address import SMPServer
from hushwire.smp.errors import ErrorType

SERVER = "smp://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=@localhost:5223"


class FakeClient:
    """Answers each SEND with the next scripted outcome (None: OK), each SKEY with the next
    of ``skey_outcomes``; ``log`` has the commands in the order they were sent."""

    def __init__(
        self,
        outcomes: list[BaseException | None],
        skey_outcomes: list[BaseException | None] | None = None,
    ) -> None:
        self.outcomes = outcomes
        self.skey_outcomes = skey_outcomes or []
        self.sent: list[tuple[bytes, bytes, bool]] = []
        self.log: list[str] = []

    async def secure_sender(self, sid: bytes, key: Any) -> None:
        self.log.append("SKEY")
        await asyncio.sleep(0)  # the answer comes later than the SEND's is written
        outcome = self.skey_outcomes.pop(0) if self.skey_outcomes else None
        if outcome is not None:
            raise outcome

    async def send(self, sid: bytes, body: bytes, *, key: Any) -> None:
        self.log.append("SEND")
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append((sid, body, key is not None))


def _store(tmp_path: Path, kinds: list[str]) -> AgentStore:
    store = AgentStore(tmp_path / "agent.sqlite3")
    st = ConnState("c1", "duplex", "initiator", "connected")
    auth = PrivateKey.generate(KeyAlg.ED25519).to_der()
    st.snd = SndQueueState(SERVER, b"s" * 24, b"peer", "M", auth, b"own")
    store.save(st, 1)
    for i, kind in enumerate(kinds):
        store.add_snd_message(SndMessage("c1", i, kind, b"h", b"body%d" % i, "pending", None), 1)
    return store


def _run(
    tmp_path: Path,
    kinds: list[str],
    outcomes: list[BaseException | None],
    skey_outcomes: list[BaseException | None] | None = None,
) -> tuple[FakeClient, list[Any], list[float], AgentStore]:
    store = _store(tmp_path, kinds)
    client = FakeClient(outcomes, skey_outcomes)
    sent: list[tuple[str, int, str]] = []
    reports: list[Any] = []
    delays: list[float] = []

    async def get_client(server: SMPServer) -> Any:
        assert server.encode() == SERVER
        return client

    async def after_sent(conn_id: str, m: SndMessage) -> None:
        sent.append((conn_id, m.snd_id, m.kind))

    async def report(conn_id: str, message: str) -> None:
        reports.append((conn_id, message))

    async def sleep(delay: float) -> None:
        delays.append(delay)

    async def main() -> None:
        box = Outbox(store, get_client, after_sent, report, sleep)
        box.kick("c1")
        box.kick("c1")  # already running: no second task
        assert len(box.tasks()) == 1
        await asyncio.gather(*box.tasks())
        box.kick_pending()
        await asyncio.gather(*box.tasks())

    asyncio.run(main())
    return client, [sent, reports], delays, store


def test_messages_go_in_order_signed_unless_invitation_or_slow_confirmation(
    tmp_path: Path,
) -> None:
    client, (sent, reports), delays, store = _run(
        tmp_path, ["invitation", "conf_k", "hello_reply", "msg"], []
    )
    assert [(b, signed) for _, b, signed in client.sent] == [
        (b"body0", False),
        (b"body1", False),
        (b"body2", True),
        (b"body3", True),
    ]
    assert [s[1:] for s in sent] == [
        (0, "invitation"),
        (1, "conf_k"),
        (2, "hello_reply"),
        (3, "msg"),
    ]
    assert reports == [] and delays == [] and store.pending_snd_messages() == []


def test_network_errors_and_quota_retry_the_same_message(tmp_path: Path) -> None:
    quota = SMPCommandError(ErrorType.QUOTA)
    lost = ConnectionLost("gone")
    client, (sent, reports), delays, _ = _run(
        tmp_path, ["msg", "msg"], [lost, lost, quota, quota, None, lost]
    )
    assert [b for _, b, _ in client.sent] == [b"body0", b"body1"]
    assert [s[1] for s in sent] == [0, 1]
    # doubling from the first delay; reset after each success
    assert delays == [RETRY_FIRST, 2 * RETRY_FIRST, 4 * RETRY_FIRST, 8 * RETRY_FIRST, RETRY_FIRST]
    assert reports == []
    assert RETRY_MAX_NETWORK >= 8 * RETRY_FIRST


def test_a_refused_message_is_failed_reported_and_skipped(tmp_path: Path) -> None:
    client, (sent, reports), delays, store = _run(
        tmp_path, ["msg", "msg"], [SMPCommandError(ErrorType.AUTH)]
    )
    assert [b for _, b, _ in client.sent] == [b"body1"]
    assert [s[1] for s in sent] == [1]
    assert reports == [("c1", "the relay refused a message: b'AUTH'")]
    assert delays == [] and store.pending_snd_messages() == []


def test_closing_and_cancelling(tmp_path: Path) -> None:
    store = _store(tmp_path, ["msg"])

    async def never(*args: Any) -> Any:
        raise AssertionError("not called")

    async def main() -> None:
        box = Outbox(store, never, never, never)
        box.closing = True
        box.kick("c1")
        assert box.tasks() == []
        box.closing = False
        box.cancel("c1")  # nothing to cancel
        ev = asyncio.Event()

        async def blocked(server: SMPServer) -> Any:
            await ev.wait()

        box2 = Outbox(store, blocked, never, never)
        box2.kick("c1")
        await asyncio.sleep(0)
        (task,) = box2.tasks()
        box2.cancel("c1")
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled() and box2.tasks() == []

    asyncio.run(main())
    assert len(store.pending_snd_messages()) == 1


def test_a_fast_confirmation_to_an_unsecured_queue_goes_right_behind_its_skey(
    tmp_path: Path,
) -> None:
    client, (sent, reports), delays, store = _run(tmp_path, ["conf", "msg"], [])
    assert client.log == ["SKEY", "SEND", "SEND"]  # the SEND does not wait for SKEY's OK
    assert [b for _, b, _ in client.sent] == [b"body0", b"body1"]
    assert [s[1:] for s in sent] == [(0, "conf"), (1, "msg")]
    assert reports == [] and delays == [] and store.pending_snd_messages() == []


def test_a_confirmation_refused_before_its_skey_ran_goes_again(tmp_path: Path) -> None:
    """simplexmq's server checks a block's signatures before it runs any of its commands:
    the SEND gets AUTH while the SKEY succeeds; the SEND goes again, with no report."""
    auth = SMPCommandError(ErrorType.AUTH)
    client, (sent, reports), delays, _ = _run(tmp_path, ["conf"], [auth, None])
    assert client.log == ["SKEY", "SEND", "SEND"]
    assert [b for _, b, _ in client.sent] == [b"body0"]
    assert [s[1:] for s in sent] == [(0, "conf")]
    assert reports == [] and delays == []


def test_a_lost_skey_is_sent_again_with_its_confirmation(tmp_path: Path) -> None:
    lost = ConnectionLost("gone")
    auth = SMPCommandError(ErrorType.AUTH)
    client, (sent, reports), delays, _ = _run(tmp_path, ["conf"], [auth, None], [lost, None])
    assert [s[1:] for s in sent] == [(0, "conf")]
    assert client.log == ["SKEY", "SEND", "SKEY", "SEND"]
    assert [b for _, b, _ in client.sent] == [b"body0"]
    assert reports == [] and delays == [RETRY_FIRST]


def test_an_skey_refused_fails_its_confirmation(tmp_path: Path) -> None:
    """The queue is secured with another key: the confirmation is refused and reported."""
    auth = SMPCommandError(ErrorType.AUTH)
    client, (sent, reports), delays, store = _run(tmp_path, ["conf"], [auth], [auth])
    assert client.log == ["SKEY", "SEND"] and client.sent == [] and sent == []
    assert reports == [("c1", "the relay refused a message: b'AUTH'")]
    assert delays == [] and store.pending_snd_messages() == []
