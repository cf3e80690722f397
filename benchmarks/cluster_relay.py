"""Per delivered message: CPU and SEND->MSG latency of SQLite (one process), PostgreSQL (one
process) and a PostgreSQL cluster (``--workers 2``), with the same load generator, in one run.

Everything on 127.0.0.1. Each configuration gets a fresh relay (and, for PostgreSQL, a fresh
database on a PostgreSQL server started for this run, ``tests/server/pg_helpers.py``, fsync
on). The load generator runs in a separate process: ``--pairs`` queue pairs, each a
subscribed recipient connection and a sender connection (with ``--workers 2`` the kernel
spreads these connections over the two workers, so about half the messages cross from one
worker to the other through the store's change stream); each sender keeps ``--inflight``
messages sent and not yet received; each 256-byte body carries its send time; the recipient
takes the SEND->MSG latency and ACKs. For ``--seconds`` after a warm-up it counts delivered
messages. CPU comes from ``/proc``: the relay's processes (the parent and its workers) and,
for PostgreSQL, every process of the server, per delivered message.

SQLite single process is the baseline, printed first. The last line is ``RESULT {json}``,
with a projection of what 16 cores and 4 machines would carry, from the measured CPU per
message (an estimate, not a measurement: it assumes CPU is the limit and the store scales).

    .venv/bin/python benchmarks/cluster_relay.py [--pairs N] [--seconds S] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import struct
import sys
import tempfile
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _procs import Children, cpu_seconds, die_with_parent

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "server"))
from pg_helpers import PgServer, start_server

from hushwire.client import ClientConfig, MessageEvent, SMPClient, decrypt_message
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import MSG
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.testing import RelayProcess, start_relay_process

STAMP = struct.Struct(">d")
BODY = 256
LIMITS = "[limits]\nqueue_quota = 100000\ncommands_per_second = 1000000\n"
LIMITS += "sig_checks_per_second_per_address = 1000000\nsig_checks_per_second = 1000000\n"
LIMITS += "max_handshakes_per_address = 10000\nnew_queues_per_minute_per_address = 100000\n"
LIMITS += "new_queues_per_minute = 100000\n"


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            out.append(int(entry))
    return out


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its direct children (live ones)."""
    total = 0.0
    for p in [pid, *_children_of(pid)]:
        try:
            total += cpu_seconds(p)
        except OSError:
            pass
    return total


# --------------------------------------------------------------------------- load


async def _pair(
    address: SMPServer, url: str, inflight: int, stop_at: float, start_at: float
) -> tuple[int, list[float]]:
    cfg = ClientConfig(ping_interval=None, command_timeout=30)
    rcv = await SMPClient.connect(address, ws_url=url, config=cfg)
    snd = await SMPClient.connect(address, ws_url=url, config=cfg)
    rk, dh, sk = (KeyPair.generate(a) for a in (KeyAlg.ED25519, KeyAlg.X25519, KeyAlg.ED25519))
    ids = await rcv.create_queue(rk, dh)
    await rcv.secure(ids.rcv_id, rk, sk.public)
    window = asyncio.Semaphore(inflight)
    counted, lat = 0, []

    async def send() -> None:
        pad = os.urandom(BODY - STAMP.size)
        while time.monotonic() < stop_at:
            await window.acquire()
            await snd.send(ids.snd_id, STAMP.pack(time.monotonic()) + pad, key=sk)

    async def receive() -> None:
        nonlocal counted
        msg: MSG | None = None
        while True:
            if msg is None:
                left = stop_at + 2 - time.monotonic()
                try:
                    ev = await asyncio.wait_for(rcv.events.get(), max(left, 0.01))
                except TimeoutError:
                    return
                if not isinstance(ev, MessageEvent):
                    continue
                msg = ev.msg
            plain = decrypt_message(msg, dh, ids.srv_dh_key)
            assert isinstance(plain, RcvMsgBody)
            now = time.monotonic()
            if start_at <= now < stop_at:
                counted += 1
                lat.append(now - STAMP.unpack_from(plain.body)[0])
            window.release()
            msg = await rcv.ack(ids.rcv_id, rk, msg.msg_id)

    sender = asyncio.create_task(send())
    await receive()
    sender.cancel()
    await rcv.close()
    await snd.close()
    return counted, lat


def _load(conn: Connection, address: SMPServer, url: str, args: dict[str, Any]) -> None:
    die_with_parent()

    async def main() -> tuple[int, list[float]]:
        t0 = time.monotonic() + 1.5
        start_at, stop_at = t0 + args["warmup"], t0 + args["warmup"] + args["seconds"]
        conn.send(("window", time.time() + (start_at - time.monotonic()), args["seconds"]))
        results = await asyncio.gather(
            *(
                _pair(address, url, args["inflight"], stop_at, start_at)
                for _ in range(args["pairs"])
            )
        )
        return sum(r[0] for r in results), [x for r in results for x in r[1]]

    conn.send(("done", *asyncio.run(main())))


# --------------------------------------------------------------------------- configurations


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_config(
    name: str, extra: list[str], pg: PgServer | None, args: dict[str, Any], children: Children
) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix=f"hw-bench-{name}-"))
    (data / "relay.toml").write_text(LIMITS)
    relay: RelayProcess = start_relay_process(
        data,
        tls=False,
        ws_port=_free_port(),
        extra=["--config", str(data / "relay.toml"), *extra],
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    children.popens.append(relay.proc)
    address = replace(relay.address, hosts=("127.0.0.1",))
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(
        target=_load, args=(child, address, relay.ws_url, args), daemon=True
    )
    proc.start()
    children.procs.append(proc)
    _, start_wall, seconds = parent.recv()
    time.sleep(max(0.0, start_wall - time.time()))
    cpu0 = tree_cpu(relay.proc.pid)
    db0 = tree_cpu(pg.proc.pid) if pg else 0.0
    time.sleep(seconds)
    relay_cpu = tree_cpu(relay.proc.pid) - cpu0
    db_cpu = (tree_cpu(pg.proc.pid) - db0) if pg else 0.0
    _, delivered, lat = parent.recv()
    children.stop_proc(proc)
    children.stop_popen(relay.proc)
    lat.sort()
    n = max(delivered, 1)
    return {
        "delivered_per_second": round(delivered / seconds),
        "relay_cpu_ms_per_msg": round(1000 * relay_cpu / n, 3),
        "db_cpu_ms_per_msg": round(1000 * db_cpu / n, 3),
        "cpu_ms_per_msg": round(1000 * (relay_cpu + db_cpu) / n, 3),
        "latency_p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else None,
        "latency_p99_ms": round(1000 * lat[int(len(lat) * 0.99)], 2) if lat else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--inflight", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--quick", action="store_true", help="8 pairs, 4 seconds")
    a = ap.parse_args()
    args = {"pairs": a.pairs, "inflight": a.inflight, "seconds": a.seconds, "warmup": 2.0}
    if a.quick:
        args.update(pairs=8, seconds=4.0, warmup=1.0)
    children = Children()
    pg = start_server()
    results: dict[str, Any] = {"load": args, "cores": os.cpu_count()}
    try:
        configs = [
            ("sqlite_single", [], None),
            ("postgres_single", ["--store", pg.new_database()], pg),
            ("postgres_2_workers", ["--store", pg.new_database(), "--workers", "2"], pg),
        ]
        for name, extra, server in configs:
            results[name] = run_config(name, extra, server, args, children)
            print(f"{name}: {results[name]}", flush=True)
    finally:
        children.stop_all()
        pg.stop()
    cluster = results["postgres_2_workers"]
    per_msg_s = cluster["relay_cpu_ms_per_msg"] / 1000
    db_s = cluster["db_cpu_ms_per_msg"] / 1000
    if per_msg_s > 0:
        # 16 relay cores; the database on machines of its own.
        results["projection"] = {
            "one_machine_16_cores_msgs_per_second": round(16 / per_msg_s),
            "four_machines_64_cores_msgs_per_second": round(64 / per_msg_s),
            "database_cores_needed_for_four_machines": round(64 / per_msg_s * db_s, 1),
            "assumes": "relay CPU is the limit; PostgreSQL scaled separately (its cores shown)",
        }
    print("RESULT " + json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
