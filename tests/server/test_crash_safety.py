"""kill -9 the relay during a sustained send: every message that got OK is delivered after
the restart, none is lost, none appears twice, nothing appears that was not sent. Run on the
default SQLite store and on PostgreSQL (``--store``, the throwaway server of ``pg_helpers``)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from pathlib import Path

import pytest
from pg_helpers import pg_server

from hushwire.client import ClientConfig, SMPClient, SMPClientError, decrypt_message
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.smp.commands import IDS
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.testing import RelayProcess
from hushwire.testing import start_relay_process as start_relay

SENDERS = 8
QUEUES = 4
KILL_AFTER_OKS = 300


def _client_for(relay: RelayProcess) -> tuple[object, str]:
    return replace(relay.address, hosts=("127.0.0.1",)), relay.ws_url


async def _connect(relay: RelayProcess) -> SMPClient:
    server, url = _client_for(relay)
    return await SMPClient.connect(
        server,  # type: ignore[arg-type]
        ws_url=url,
        config=ClientConfig(ping_interval=None, command_timeout=10),
    )


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_kill_9_during_sustained_send_loses_no_acknowledged_message(
    tmp_path: Path, store: str
) -> None:
    data = tmp_path / "relay"
    config = tmp_path / "relay.toml"
    config.write_text("[limits]\nqueue_quota = 100000\ncommands_per_second = 100000\n")
    extra = ["--config", str(config)]
    if store == "postgres":
        extra += ["--store", pg_server().new_database()]
    rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
    acknowledged: set[bytes] = set()
    attempted: set[bytes] = set()
    queues: list[IDS] = []

    async def phase1() -> None:
        relay = start_relay(data, tls=False, extra=extra)
        try:
            owner = await _connect(relay)
            for _ in range(QUEUES):
                queues.append(await owner.create_queue(rk, dh, subscribe=False))
            await owner.close()
            killed = asyncio.Event()

            async def sender(n: int) -> None:
                c = await _connect(relay)
                i = 0
                try:
                    while not killed.is_set():
                        body = b"s%d-m%d" % (n, i)
                        i += 1
                        attempted.add(body)
                        await c.send(queues[i % QUEUES].snd_id, body)
                        acknowledged.add(body)
                        if len(acknowledged) >= KILL_AFTER_OKS and not killed.is_set():
                            relay.kill9()
                            killed.set()
                except SMPClientError:
                    killed.set()
                finally:
                    with contextlib.suppress(Exception):
                        await c.close()

            await asyncio.gather(*(sender(n) for n in range(SENDERS)))
        finally:
            relay.stop()
        assert relay.proc.returncode == -9

    async def phase2() -> list[bytes]:
        relay = start_relay(data, tls=False, extra=extra)
        try:
            c = await _connect(relay)
            got: list[bytes] = []
            for q in queues:
                while (msg := await c.get(q.rcv_id, rk)) is not None:
                    plain = decrypt_message(msg, dh, q.srv_dh_key)
                    assert isinstance(plain, RcvMsgBody)
                    got.append(plain.body)
                    await c.ack(q.rcv_id, rk, msg.msg_id)
            await c.close()
            return got
        finally:
            assert relay.stop() == 0

    asyncio.run(asyncio.wait_for(phase1(), 120))
    received = asyncio.run(asyncio.wait_for(phase2(), 120))
    assert len(acknowledged) >= KILL_AFTER_OKS
    assert acknowledged <= set(received), f"lost {len(acknowledged - set(received))} messages"
    assert len(received) == len(set(received)), "a message was stored twice"
    assert set(received) <= attempted
