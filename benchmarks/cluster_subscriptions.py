"""Subscriptions held per GB of relay memory: ``--queues`` subscribed queues (100,000 by
default) on a PostgreSQL relay, one process, and on a cluster node (``--cluster``).

The queues are written straight into a fresh database (one ``INSERT ... SELECT``, not
100,000 NEW commands), each with the same Ed25519 recipient key; the relay loads them on
start. Then ``--clients`` connections subscribe to all of them (SUB, signed, pipelined by
the client's batching). The relay's resident memory (``/proc/PID/status`` VmRSS) is read
after start (queues loaded, nothing subscribed) and after every queue is subscribed; the
figure is subscriptions per GB of the whole process, as SimpleX states its production
figure (about 1.0-1.4 M subscriptions in 5.6-10 GB), and the growth per subscription.

The single-process PostgreSQL relay is the baseline, printed first. Ends with
``RESULT {json}``.

    .venv/bin/python benchmarks/cluster_subscriptions.py [--queues N] [--clients N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from _procs import Children, die_with_parent, rss_kb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "server"))
from pg_helpers import sql, start_server

from hushwire.client import ClientConfig, SMPClient
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.testing import start_relay_process

LIMITS = "[limits]\ncommands_per_second = 10000000\nsig_checks_per_second = 10000000\n"
LIMITS += "sig_checks_per_second_per_address = 10000000\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(dsn: str, n: int, key_der: bytes) -> None:
    """``n`` queues, recipient ids 1..n as 24-byte big-endian numbers (the same key)."""
    now = int(time.time())
    sql(
        dsn,
        "INSERT INTO queues (recipient_id, sender_id, recipient_keys, rcv_dh_secret, "
        "queue_mode, status, created_at, updated_at) "
        "SELECT int8send(i) || '\\x00000000000000000000000000000000'::bytea, "
        "int8send(i) || '\\x01000000000000000000000000000000'::bytea, "
        "ARRAY[$1::bytea], decode(md5(i::text) || md5((-i)::text), 'hex'), 'C', 'active', "
        "$2, $2 "
        "FROM generate_series(1, $3) i",
        key_der,
        now,
        n,
    )


def _rid(i: int) -> bytes:
    return i.to_bytes(8, "big") + bytes(16)


def run(name: str, extra: list[str], dsn: str, args: argparse.Namespace, ch: Children) -> Any:
    data = Path(tempfile.mkdtemp(prefix=f"hw-subs-{name}-"))
    (data / "relay.toml").write_text(LIMITS)
    relay = start_relay_process(
        data,
        tls=False,
        ws_port=_free_port(),
        extra=["--config", str(data / "relay.toml"), "--store", dsn, *extra],
        start_new_session=True,
        preexec_fn=die_with_parent,
        timeout=300,
    )
    ch.popens.append(relay.proc)
    try:
        time.sleep(1)
        loaded = rss_kb(relay.proc.pid)
        key = args.key
        rids = [_rid(i) for i in range(1, args.queues + 1)]
        per = -(-len(rids) // args.clients)
        address = replace(relay.address, hosts=("127.0.0.1",))

        t = time.perf_counter()

        async def hold() -> int:
            # keep the connections open while memory is read: subscribe, read, then close
            cs = []
            for i in range(0, len(rids), per):
                c = await SMPClient.connect(
                    address,
                    ws_url=relay.ws_url,
                    config=ClientConfig(ping_interval=None, command_timeout=300),
                )
                cs.append((c, rids[i : i + per]))
            for c, mine in cs:
                for j in range(0, len(mine), 500):
                    await asyncio.gather(*(c.subscribe(r, key) for r in mine[j : j + 500]))
            rss = rss_kb(relay.proc.pid)
            for c, _ in cs:
                await c.close()
            return rss

        subscribed = asyncio.run(hold())
        seconds = time.perf_counter() - t
    finally:
        ch.stop_popen(relay.proc)
    total_gb = subscribed * 1024 / 1e9
    return {
        "queues": args.queues,
        "rss_loaded_mb": round(loaded / 1024, 1),
        "rss_subscribed_mb": round(subscribed / 1024, 1),
        "bytes_per_subscription": round((subscribed - loaded) * 1024 / args.queues),
        "subscriptions_per_gb": round(args.queues / total_gb),
        "subscribe_seconds": round(seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queues", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="10,000 queues")
    args = ap.parse_args()
    if args.quick:
        args.queues = 10_000
    args.key = KeyPair.generate(KeyAlg.ED25519)
    children = Children()
    pg = start_server()
    results: dict[str, Any] = {}
    try:
        for name, extra in (("postgres_single", []), ("cluster_node", ["--cluster"])):
            dsn = pg.new_database()
            # the schema first (a relay makes it), then the queues
            probe = start_relay_process(
                None, tls=False, extra=["--store", dsn], start_new_session=True
            )
            probe.stop()
            _fill(dsn, args.queues, args.key.public.to_der())
            results[name] = run(name, extra, dsn, args, children)
            print(f"{name}: {results[name]}", flush=True)
    finally:
        children.stop_all()
        pg.stop()
    print("RESULT " + json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
