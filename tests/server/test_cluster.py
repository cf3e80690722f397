"""Cluster failure tests: three ``hushwire relay --cluster`` processes behind HAProxy on one
PostgreSQL store, all started here in temporary directories on 127.0.0.1 and stopped after.

PostgreSQL comes from Debian's package (``make postgresql``, ``pg_helpers``), HAProxy too
(``make haproxy``); without them these tests fail, naming the make target. HAProxy runs in
TCP mode with the configuration documented in docs/deploy.md (:func:`haproxy_config`): the
relays' ``/healthz`` on their WebSocket port is the health check, and a relay marked down
has its sessions cut so that clients reconnect to the others.

*How deliveries are counted.* Every message body is unique ("q<queue>-<n>"). A body that got
``OK`` must arrive; a body arriving under two different SMP message ids is a duplicate (a
failure); a message id arriving again *after its ACK was answered OK* is a failure too. The
same message id arriving again while its ACK had not been answered (the recipient's node
died, the recipient subscribed again elsewhere) is SMP's redelivery of an un-acknowledged
message and is counted once. A body whose SEND got no ``OK`` (error, connection lost) may
arrive at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from pg_helpers import PgServer, pg_server, sql, start_server

from hushwire.client import (
    ClientConfig,
    MessageEvent,
    SMPClient,
    SubscriptionEnded,
    decrypt_message,
)
from hushwire.client.errors import SMPClientError, SMPCommandError
from hushwire.crypto.keys import KeyAlg, KeyPair, PublicKey
from hushwire.server.cluster import RESTART_AFTER
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import MSG
from hushwire.smp.errors import ErrorType
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.testing import RelayProcess, start_relay_process

NODES = 3
QUEUES = 6
RECIPIENTS = 3


def haproxy_bin() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError("haproxy not found: run `make haproxy` (installs Debian's haproxy)")
    return found


def haproxy_config(front: int, backends: list[int]) -> str:
    """The HAProxy configuration of docs/deploy.md, on loopback ports."""
    servers = "\n".join(
        f"    server relay{i} 127.0.0.1:{port} check" for i, port in enumerate(backends)
    )
    return f"""global
    maxconn 4096

defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    retries 2
    option redispatch

frontend smp
    bind 127.0.0.1:{front}
    default_backend relays

backend relays
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 250ms fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def _wait_for(cond: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Cluster:
    dsn: str
    relays: list[RelayProcess]
    ports: list[int]
    front: int
    address: SMPServer
    haproxy: subprocess.Popen[bytes]

    def relay_up(self, i: int) -> bool:
        return _health(self.ports[i]) == 200


def _start_node(data: Path, port: int, dsn: str) -> RelayProcess:
    return start_relay_process(
        data, tls=False, ws_port=port, extra=["--store", dsn, "--cluster"], stderr=None
    )


@contextlib.contextmanager
def cluster(tmp_path: Path, dsn: str) -> Iterator[Cluster]:
    ports = [_free_port() for _ in range(NODES)]
    relays: list[RelayProcess] = []
    proxy: subprocess.Popen[bytes] | None = None
    try:
        first = tmp_path / "node0"
        relays.append(_start_node(first, ports[0], dsn))
        for i in range(1, NODES):  # the identity copied to the other nodes
            shutil.copytree(first, tmp_path / f"node{i}")
            relays.append(_start_node(tmp_path / f"node{i}", ports[i], dsn))
        assert len({r.address.key_hash for r in relays}) == 1
        front = _free_port()
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(haproxy_config(front, ports))
        proxy = subprocess.Popen(
            [haproxy_bin(), "-db", "-f", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(lambda: _health(front) == 200, 20, "HAProxy")
        time.sleep(0.6)  # every backend through its "rise" checks
        address = replace(relays[0].address, hosts=("127.0.0.1",), port=front)
        yield Cluster(dsn, relays, ports, front, address, proxy)
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)
        for r in relays:
            r.stop()


# --------------------------------------------------------------------------- the load


@dataclass
class Queue:
    index: int
    rid: bytes
    sid: bytes
    rk: KeyPair
    dh: KeyPair
    srv_dh: PublicKey
    sk: KeyPair


@dataclass
class Ledger:
    ok: set[bytes] = field(default_factory=set)
    uncertain: set[bytes] = field(default_factory=set)
    internal_errors: int = 0
    """SENDs answered ``ERR INTERNAL`` (refused, not lost)."""
    ids: dict[bytes, set[bytes]] = field(default_factory=dict)
    """Body -> the SMP message ids it arrived with."""
    acked: set[bytes] = field(default_factory=set)
    after_ack: list[bytes] = field(default_factory=list)
    """Message ids delivered again after their ACK was answered OK (must stay empty)."""
    deliveries: int = 0
    """MSG received in all, SMP redeliveries of un-acknowledged messages included."""


class Load:
    """Senders and recipients over HAProxy that reconnect and resubscribe on any failure."""

    def __init__(self, c: Cluster, per_queue: int) -> None:
        self.c = c
        self.per_queue = per_queue
        self.ledger = Ledger()
        self.queues: list[Queue] = []
        self.stop = asyncio.Event()
        self.reconnects = 0

    async def connect(self) -> SMPClient:
        return await SMPClient.connect(
            self.c.address,
            ws_url=f"ws://127.0.0.1:{self.c.front}/",
            config=ClientConfig(ping_interval=1.0, ping_count=2, command_timeout=5),
        )

    async def make_queues(self) -> None:
        c = await self.connect()
        try:
            for i in range(QUEUES):
                rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                sk = KeyPair.generate(KeyAlg.ED25519)
                ids = await c.create_queue(rk, dh, subscribe=False)
                await c.secure(ids.rcv_id, rk, sk.public)
                self.queues.append(Queue(i, ids.rcv_id, ids.snd_id, rk, dh, ids.srv_dh_key, sk))
        finally:
            await c.close()

    def _received(self, q: Queue, msg: MSG) -> None:
        plain = decrypt_message(msg, q.dh, q.srv_dh)
        assert isinstance(plain, RcvMsgBody), plain
        if msg.msg_id in self.ledger.acked:
            self.ledger.after_ack.append(msg.msg_id)
        self.ledger.ids.setdefault(plain.body, set()).add(msg.msg_id)
        self.ledger.deliveries += 1

    async def sender(self, q: Queue) -> None:
        c: SMPClient | None = None
        n = 0
        while sum(1 for b in self.ledger.ok if b.startswith(b"q%d-" % q.index)) < self.per_queue:
            body, n = f"q{q.index}-{n}".encode(), n + 1
            while c is None:
                try:
                    c = await self.connect()
                except (SMPClientError, OSError):
                    await asyncio.sleep(0.1)
            try:
                await c.send(q.sid, body, key=q.sk)
                self.ledger.ok.add(body)
            except (SMPClientError, OSError) as e:
                self.ledger.uncertain.add(body)
                if isinstance(e, SMPCommandError) and e.error == ErrorType.INTERNAL:
                    self.ledger.internal_errors += 1
                    await asyncio.sleep(0.05)
                    continue
                with contextlib.suppress(Exception):
                    await c.close()
                c, self.reconnects = None, self.reconnects + 1
                await asyncio.sleep(0.05)
        if c is not None:
            await c.close()

    async def recipient(self, queues: list[Queue]) -> None:
        by_rid = {q.rid: q for q in queues}
        while not self.stop.is_set():
            c: SMPClient | None = None
            try:
                c = await self.connect()
                for q in queues:
                    await c.subscribe(q.rid, q.rk)
                await self._receive(c, by_rid)
            except (SMPClientError, OSError):
                self.reconnects += 1
                await asyncio.sleep(0.1)
            finally:
                if c is not None:
                    with contextlib.suppress(Exception):
                        await c.close()

    async def _receive(self, c: SMPClient, by_rid: dict[bytes, Queue]) -> None:
        closed = asyncio.ensure_future(c.wait_closed())
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            while True:
                got = asyncio.ensure_future(c.events.get())
                await asyncio.wait({got, closed, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not got.done():
                    got.cancel()
                    if closed.done():
                        raise SMPClientError("connection closed")
                    return
                ev = got.result()
                if not isinstance(ev, MessageEvent):
                    continue
                q = by_rid[ev.recipient_id]
                msg: MSG | None = ev.msg
                while msg is not None:
                    self._received(q, msg)
                    nxt = await c.ack(q.rid, q.rk, msg.msg_id)
                    self.ledger.acked.add(msg.msg_id)
                    msg = nxt
        finally:
            closed.cancel()
            stopped.cancel()

    async def run(self, during: object) -> None:
        """Send until every queue has ``per_queue`` messages that got OK, running
        ``during()`` (a coroutine function) meanwhile; then wait until every body that got OK
        has arrived."""
        await self.make_queues()
        per = QUEUES // RECIPIENTS
        recipients = [
            asyncio.create_task(self.recipient(self.queues[i * per : (i + 1) * per]))
            for i in range(RECIPIENTS)
        ]
        senders = [asyncio.create_task(self.sender(q)) for q in self.queues]
        await asyncio.gather(during(), *senders)  # type: ignore[operator]
        deadline = time.monotonic() + 30
        while not self.ledger.ok <= set(self.ledger.ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # anything that would arrive twice, arrives now
        self.stop.set()
        await asyncio.gather(*recipients)

    def check(self) -> None:
        led = self.ledger
        missing = led.ok - set(led.ids)
        assert not missing, f"{len(missing)} messages that got OK never arrived"
        twice = {b: ids for b, ids in led.ids.items() if len(ids) > 1}
        assert not twice, f"delivered under several message ids: {twice}"
        assert not led.after_ack, "a message came again after its ACK was answered OK"
        assert set(led.ids) <= led.ok | led.uncertain
        assert sql(self.c.dsn, "SELECT count(*) AS n FROM messages")[0]["n"] == 0
        print(  # shown with -s: what the run went through
            f"ok={len(led.ok)} uncertain={len(led.uncertain)} refused={led.internal_errors} "
            f"arrived={len(led.ids)} deliveries={led.deliveries} reconnects={self.reconnects}"
        )


def test_kill_9_of_a_node_under_load_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    dsn = pg_server().new_database()
    with cluster(tmp_path, dsn) as c:
        load = Load(c, per_queue=40)

        async def kill_one() -> None:
            total = QUEUES * load.per_queue
            while len(load.ledger.ok) < total // 3:
                await asyncio.sleep(0.02)
            c.relays[1].kill9()

        asyncio.run(asyncio.wait_for(load.run(kill_one), 120))
        load.check()
        assert len(load.ledger.ok) == QUEUES * load.per_queue
        assert load.reconnects > 0  # the killed node's clients came back through HAProxy
        assert c.relay_up(0) and c.relay_up(2)


def test_postgres_restart_under_load_is_refused_then_recovered(tmp_path: Path) -> None:
    pg = start_server()  # its own server: it is restarted
    try:
        _restart_under_load(tmp_path, pg)
    finally:
        pg.stop()


def _restart_under_load(tmp_path: Path, pg: PgServer) -> None:
    dsn = pg.new_database()
    with cluster(tmp_path, dsn) as c:
        load = Load(c, per_queue=40)
        seen_down: list[int] = []

        async def restart() -> None:
            direct = await SMPClient.connect(
                replace(c.address, port=c.ports[0]),
                ws_url=f"ws://127.0.0.1:{c.ports[0]}/",
                config=ClientConfig(ping_interval=None, command_timeout=10),
            )
            q = None
            while len(load.ledger.ok) < QUEUES * load.per_queue // 3:
                await asyncio.sleep(0.02)
            q = load.queues[0]
            await asyncio.to_thread(pg.halt)
            await asyncio.to_thread(
                _wait_for,
                lambda: all(_health(p) == 503 for p in c.ports),
                20,
                "every relay to report its store unreachable",
            )
            seen_down.extend(_health(p) for p in c.ports)
            with pytest.raises(SMPCommandError) as refused:
                await direct.send(q.sid, b"while the store is down", key=q.sk)
            assert refused.value.error == ErrorType.INTERNAL
            await direct.close()
            await asyncio.sleep(0.5)
            await asyncio.to_thread(pg.restart)
            await asyncio.to_thread(
                _wait_for, lambda: all(c.relay_up(i) for i in range(NODES)), 30, "recovery"
            )

        asyncio.run(asyncio.wait_for(load.run(restart), 120))
        assert seen_down == [503] * NODES
        load.check()
        assert b"while the store is down" not in load.ledger.ids
        assert len(load.ledger.ok) == QUEUES * load.per_queue  # sending went on after it
        assert load.ledger.internal_errors > 0 or load.reconnects > 0


def test_workers_share_one_port_and_one_store(tmp_path: Path) -> None:
    dsn = pg_server().new_database()
    port = _free_port()
    relay = start_relay_process(
        tmp_path / "relay",
        tls=False,
        ws_port=port,
        extra=["--store", dsn, "--workers", "2"],
        start_new_session=True,
    )
    started = time.monotonic()

    def worker_pids() -> list[str]:
        ps = ["ps", "-o", "pid=", "--ppid", str(relay.proc.pid)]
        return subprocess.run(ps, capture_output=True, text=True).stdout.split()

    try:
        workers = worker_pids()
        assert len(workers) == 2
        address = replace(relay.address, hosts=("127.0.0.1",))

        async def main() -> list[bytes]:
            clients = [
                await SMPClient.connect(
                    address,
                    ws_url=relay.ws_url,
                    config=ClientConfig(ping_interval=None, command_timeout=10),
                )
                for _ in range(6)
            ]
            rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
            sk = KeyPair.generate(KeyAlg.ED25519)
            rcv = clients[0]
            ids = await rcv.create_queue(rk, dh)
            await rcv.secure(ids.rcv_id, rk, sk.public)
            for i, snd in enumerate(clients[1:]):  # whichever worker each one reached
                await snd.send(ids.snd_id, f"m{i}".encode(), key=sk)
            got = []
            msg: MSG | None = None
            while len(got) < 5:
                if msg is None:
                    ev = await asyncio.wait_for(rcv.events.get(), 20)
                    assert isinstance(ev, MessageEvent)
                    msg = ev.msg
                plain = decrypt_message(msg, dh, ids.srv_dh_key)
                assert isinstance(plain, RcvMsgBody)
                got.append(plain.body)
                msg = await rcv.ack(ids.rcv_id, rk, msg.msg_id)
            for cl in clients:
                await cl.close()
            return got

        assert asyncio.run(asyncio.wait_for(main(), 60)) == [f"m{i}".encode() for i in range(5)]
        # A worker that dies after it has started is started again by the parent.
        time.sleep(max(0.0, started + RESTART_AFTER + 0.5 - time.monotonic()))
        os.kill(int(workers[0]), signal.SIGKILL)
        _wait_for(lambda: len(set(worker_pids()) - {workers[0]}) == 2, 30, "a new worker")
        assert asyncio.run(asyncio.wait_for(main(), 60)) == [f"m{i}".encode() for i in range(5)]
    finally:
        assert relay.stop(signal.SIGTERM) == 0


def test_one_subscriber_per_queue_across_nodes(tmp_path: Path) -> None:
    """SUB on another node ends the first subscription (END), and messages sent on any node
    go to the new subscriber only."""
    dsn = pg_server().new_database()
    with cluster(tmp_path, dsn) as c:

        async def node(i: int) -> SMPClient:
            return await SMPClient.connect(
                replace(c.address, port=c.ports[i]),
                ws_url=f"ws://127.0.0.1:{c.ports[i]}/",
                config=ClientConfig(ping_interval=None, command_timeout=10),
            )

        async def main() -> None:
            first, second, sender = await node(0), await node(1), await node(2)
            rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
            sk = KeyPair.generate(KeyAlg.ED25519)
            ids = await first.create_queue(rk, dh)  # subscribed on node 0
            await first.secure(ids.rcv_id, rk, sk.public)
            await sender.send(ids.snd_id, b"one", key=sk)
            ev = await asyncio.wait_for(first.events.get(), 10)
            assert isinstance(ev, MessageEvent)
            await second.subscribe(ids.rcv_id, rk)  # node 1: the same message, SMP redelivery
            again = await asyncio.wait_for(second.events.get(), 10)
            assert isinstance(again, MessageEvent) and again.msg.msg_id == ev.msg.msg_id
            ended = await asyncio.wait_for(first.events.get(), 10)
            assert isinstance(ended, SubscriptionEnded) and ended.recipient_id == ids.rcv_id
            assert await second.ack(ids.rcv_id, rk, again.msg.msg_id) is None
            await sender.send(ids.snd_id, b"two", key=sk)
            got = await asyncio.wait_for(second.events.get(), 10)
            assert isinstance(got, MessageEvent)
            plain = decrypt_message(got.msg, dh, ids.srv_dh_key)
            assert isinstance(plain, RcvMsgBody) and plain.body == b"two"
            await asyncio.sleep(0.3)
            assert first.events.empty()  # nothing more for the ended subscription
            for cl in (first, second, sender):
                await cl.close()

        asyncio.run(asyncio.wait_for(main(), 60))
