"""``/metrics`` per node: every sample names its process (``node="HOST:INDEX"``), the store's
commit latency is a histogram, and with ``--workers N`` one scrape of the shared admin port
answers for every worker, whichever worker the kernel handed it to.

The exposition is checked by :func:`parse` (each family declared once, before its samples,
histograms cumulative and ending at ``+Inf`` = ``_count``). Figures are exact where the
traffic fixes them (SENDs, commands) and "moved" where batching decides (commits); nothing
here measures time.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from pg_helpers import _free_port, pg_server

from hushwire.client import ClientConfig, MessageEvent, SMPClient
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.errors import ConfigError
from hushwire.grp.noise import DHKey
from hushwire.server import scrape
from hushwire.server.cluster import RESTART_AFTER
from hushwire.server.config import RelayConfig, load_config
from hushwire.server.metrics import machine_totals
from hushwire.server.run import start_relay
from hushwire.server.scrape import WorkerSlot, node_name
from hushwire.smp.address import SMPServer
from hushwire.testing import start_relay_process
from hushwire.transport import TransportFailure
from hushwire.transport.grp import CoverSettings, connect_grp
from hushwire.transport.local import LocalPeers

CFG = ClientConfig(ping_interval=None, command_timeout=10)
SAMPLE = re.compile(r"(hushwire_[a-z_]+)(\{[^}]*\})? (\S+)")
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A strict reading of a Prometheus text exposition: (sample name, labels) -> value."""
    types: dict[str, str] = {}
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in types, f"{name} declared twice"
            types[name] = kind
            current = name
            continue
        if line.startswith("# HELP ") or not line:
            continue
        m = SAMPLE.fullmatch(line)
        assert m, line
        name, labels = m[1], tuple(LABEL.findall(m[2] or ""))
        family = (
            re.sub(r"_(bucket|sum|count)$", "", name)
            if types.get(current) == ("histogram")
            else name
        )
        assert family == current, f"{line} outside its family {current}"
        assert (name, labels) not in out, f"{line} twice"
        out[(name, labels)] = float(m[3])
    for name, kind in types.items():
        if kind != "histogram":
            continue
        nodes = {dict(k[1]).get("node") for k in out if k[0] == name + "_count"}
        for node in nodes:
            buckets = [
                (dict(k[1])["le"], v)
                for k, v in out.items()
                if k[0] == name + "_bucket" and dict(k[1]).get("node") == node
            ]
            counts = [v for _, v in buckets]
            assert counts == sorted(counts) and buckets[-1][0] == "+Inf", (name, buckets)
            assert buckets[-1][1] == value(out, name + "_count", node=node)
    return out


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    want = tuple(labels.items())
    got = [v for (n, ls), v in samples.items() if n == name and ls[: len(want)] == want]
    assert len(got) == 1, (name, labels, got)
    return got[0]


def node_pids(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[str, str]:
    """node -> process id, from ``hushwire_node_info``."""
    return {
        dict(labels)["node"]: dict(labels)["pid"]
        for name, labels in samples
        if name == "hushwire_node_info"
    }


def scrape_admin(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4"
        text: str = r.read().decode()
        return text


async def exchange(address: SMPServer, ws_url: str, senders: int) -> None:
    """One queue, ``senders`` clients sending one message each, all received and ACKed."""
    rcv = await SMPClient.connect(address, ws_url=ws_url, config=CFG)
    clients = [await SMPClient.connect(address, ws_url=ws_url, config=CFG) for _ in range(senders)]
    try:
        rk, dh, sk = (KeyPair.generate(a) for a in (KeyAlg.ED25519, KeyAlg.X25519, KeyAlg.ED25519))
        ids = await rcv.create_queue(rk, dh)
        await rcv.secure(ids.rcv_id, rk, sk.public)
        for i, c in enumerate(clients):
            await c.send(ids.snd_id, b"m%d" % i, key=sk)
        msg = None
        for _ in range(senders):
            if msg is None:
                ev = await asyncio.wait_for(rcv.events.get(), 20)
                assert isinstance(ev, MessageEvent)
                msg = ev.msg
            msg = await rcv.ack(ids.rcv_id, rk, msg.msg_id)
    finally:
        for c in (rcv, *clients):
            await c.close()


def test_one_process_labels_its_node_and_shows_a_silent_worker_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, SQLite: the figures after known traffic, the commit histogram moving, and
    worker 1 of 2 never answering (its socket listens, nobody serves it): up 0, nothing else."""
    monkeypatch.setattr(scrape, "PEER_TIMEOUT", 0.2)
    me, other = node_name(0), node_name(1)

    async def main() -> None:
        peers = LocalPeers(2)
        config = RelayConfig(
            data=tmp_path, ws=("127.0.0.1", 0), host="localhost", admin=("127.0.0.1", 0)
        )
        r = await start_relay(config, WorkerSlot(0, peers))
        try:
            assert r.admin_port is not None and r.ws_port is not None
            address = replace(r.address, hosts=("127.0.0.1",))
            before = parse(await asyncio.to_thread(scrape_admin, r.admin_port))
            await exchange(address, f"ws://127.0.0.1:{r.ws_port}/", 3)
            text = await asyncio.to_thread(scrape_admin, r.admin_port)
        finally:
            await r.stop()
            peers.close()
        after = parse(text)
        assert value(after, "hushwire_node_up", node=me) == 1
        assert value(after, "hushwire_node_up", node=other) == 0
        assert [k for k in after if dict(k[1])["node"] == other] == [
            ("hushwire_node_up", (("node", other),))
        ]
        assert value(after, "hushwire_messages_in_total", node=me) == 3
        assert value(after, "hushwire_messages_acked_total", node=me) == 3
        assert value(after, "hushwire_commands_total", node=me, command="SEND") == 3
        assert value(after, "hushwire_commands_total", node=me, command="NEW") == 1
        assert value(after, "hushwire_store_healthy", node=me) == 1
        assert value(after, "hushwire_connections_total", node=me) == 4
        info = [dict(k[1]) for k in after if k[0] == "hushwire_node_info"]
        assert info == [{"node": me, "pid": str(os.getpid())}]
        count = "hushwire_store_commit_seconds_count"
        assert value(after, count, node=me) > value(before, count, node=me)
        assert value(after, "hushwire_store_commit_seconds_sum", node=me) > 0
        assert value(after, "hushwire_store_commits_total", node=me) == value(after, count, node=me)
        assert not [k for k in after if k[0].startswith("hushwire_cluster_")]  # not a cluster
        assert "# TYPE hushwire_store_commit_seconds histogram\n" in text

    asyncio.run(main())


def test_each_worker_answers_for_all_workers(tmp_path: Path) -> None:
    """``--workers 2`` on PostgreSQL, real processes: every scrape of the shared admin port
    shows both workers (their process ids, their cluster names), the machine's SEND count is
    exact whichever worker served which sender, and both workers applied every change. A
    worker killed and started again is back under its node name, as a new process."""
    dsn = pg_server().new_database()
    admin = _free_port()
    relay = start_relay_process(
        tmp_path / "relay",
        tls=False,
        ws_port=_free_port(),  # shared by the workers: a fixed port
        extra=["--store", dsn, "--workers", "2", "--admin", f"127.0.0.1:{admin}"],
        start_new_session=True,
    )
    started = time.monotonic()
    nodes = [node_name(0), node_name(1)]
    try:
        ps = ["ps", "-o", "pid=", "--ppid", str(relay.proc.pid)]
        pids = set(subprocess.run(ps, capture_output=True, text=True).stdout.split())
        assert len(pids) == 2
        before = parse(scrape_admin(admin))
        deadline = time.monotonic() + 30  # the relay is ready once worker 0 is; wait for 1
        while value(before, "hushwire_node_up", node=nodes[1]) == 0:
            assert time.monotonic() < deadline, "worker 1 never answered"
            time.sleep(0.1)
            before = parse(scrape_admin(admin))
        address = replace(relay.address, hosts=("127.0.0.1",))
        asyncio.run(asyncio.wait_for(exchange(address, relay.ws_url, 5), 60))
        scrapes = [scrape_admin(admin) for _ in range(4)]
        # Worker 1 killed after it has started is started again, on the same local socket:
        # it is back under the same node name, a new process with its counters from zero.
        time.sleep(max(0.0, started + RESTART_AFTER + 0.5 - time.monotonic()))
        old = node_pids(parse(scrapes[-1]))
        os.kill(int(old[nodes[1]]), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            try:
                back = parse(scrape_admin(admin))
            except ConnectionError:  # queued on the killed worker's socket: reset
                continue
            if node_pids(back).get(nodes[1]) not in (None, old[nodes[1]]):
                break
            assert time.monotonic() < deadline, "worker 1 did not come back"
            time.sleep(0.1)
    finally:
        assert relay.stop(signal.SIGTERM) == 0
    assert value(back, "hushwire_node_up", node=nodes[1]) == 1
    assert node_pids(back)[nodes[0]] == old[nodes[0]]
    assert value(back, "hushwire_messages_in_total", node=nodes[1]) == 0
    assert value(back, "hushwire_messages_in_total", node=nodes[0]) == value(
        parse(scrapes[-1]), "hushwire_messages_in_total", node=nodes[0]
    )
    for text in scrapes:
        after = parse(text)
        for node in nodes:
            assert value(after, "hushwire_node_up", node=node) == 1
            assert value(after, "hushwire_store_healthy", node=node) == 1
            lag = "hushwire_cluster_apply_lag_seconds_count"
            # every node applies every notification: NEW, KEY, 5 SENDs, 5 ACKs at least
            assert value(after, lag, node=node) >= value(before, lag, node=node) + 12
        info = [dict(k[1]) for k in after if k[0] == "hushwire_node_info"]
        assert sorted(i["node"] for i in info) == nodes
        assert {i["pid"] for i in info} == pids
        assert len({i["cluster_node"] for i in info}) == 2
        totals = machine_totals(text)
        assert totals["hushwire_messages_in_total"] == 5
        assert totals['hushwire_commands_total{command="SEND"}'] == 5
        rt = "hushwire_cluster_notify_roundtrip_seconds_count"
        assert totals[rt] >= sum(value(before, rt, node=n) for n in nodes) + 12
        assert totals["hushwire_store_commit_seconds_count"] > sum(
            value(before, "hushwire_store_commit_seconds_count", node=n) for n in nodes
        )


def test_grp_frames_and_handshakes_are_counted(tmp_path: Path) -> None:
    """With ``--grp``: handshakes by result, and the listener's frame counters by direction
    and type, exactly as the listener counted them."""
    me = node_name(0)

    async def main() -> None:
        config = RelayConfig(
            data=tmp_path,
            tls=("127.0.0.1", 0),
            grp=("127.0.0.1", 0),
            host="127.0.0.1",
            grp_cover_rate=50.0,
            admin=("127.0.0.1", 0),
        )
        r = await start_relay(config)
        try:
            assert r.grp_address is not None and r.grp is not None and r.admin_port is not None
            cover = CoverSettings(rate=50.0)
            cfg = replace(CFG, grp_cover=cover)
            c = await SMPClient.connect(r.address, ws_url=r.grp_address.encode(), config=cfg)
            async with c:
                rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                await c.create_queue(rk, dh)
            forged = replace(r.grp_address, static_key=DHKey.generate().public)
            with pytest.raises(TransportFailure):
                await connect_grp(forged, timeout=5)
            text = await asyncio.to_thread(scrape_admin, r.admin_port)
            counted = dict(r.grp.cover.counters)
        finally:
            await r.stop()
        after = parse(text)
        handshakes = "hushwire_grp_handshakes_total"
        assert value(after, handshakes, node=me, result="ok") == 1
        assert value(after, handshakes, node=me, result="failed") == 1
        frames = {
            (labels[1][1], labels[2][1]): v
            for (name, labels), v in after.items()
            if name == "hushwire_grp_frames_total"
        }
        direction = {"sent": "out", "recv": "in"}
        assert frames == {
            (direction[k.split("_")[0]], k.split("_", 1)[1]): v for k, v in counted.items()
        }
        assert frames[("in", "DATA")] >= 2  # the client hello and NEW

    asyncio.run(main())


def test_workers_need_a_fixed_admin_port(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="share the admin port: give a fixed port"):
        load_config(
            None,
            data=str(tmp_path),
            ws="127.0.0.1:5224",
            store="postgresql://x/y",
            workers=2,
            admin="127.0.0.1:0",
        )
    ok = load_config(
        None, data=str(tmp_path), ws="127.0.0.1:5224", store="postgresql://x/y", workers=2
    )
    assert ok.admin is None and ok.workers == 2
