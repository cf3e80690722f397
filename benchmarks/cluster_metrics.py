"""What ``/metrics`` says about a PostgreSQL cluster, and what a scrape costs.

Two relays in one run, on 127.0.0.1, each with an admin listener: SQLite, one process (the
baseline, printed first), and PostgreSQL with ``--workers 2`` (a fresh database on a
PostgreSQL server started for this run, ``tests/server/pg_helpers.py``, fsync on). Each gets
the same load from this process: ``--pairs`` queues, each with its own recipient and sender
connection (the kernel spreads them over the workers), ``--messages`` SENDs per queue, each
received and ACKed before the next. Then ``--scrapes`` scrapes of ``/metrics`` (with
workers, whichever worker takes one answers for both over their local sockets): the median
and worst time of one scrape and its size. From the scrape after the load: per node, the
50th and 99th percentiles of the store commit latency, the cluster's NOTIFY round trip and
apply lag, estimated from the histogram buckets as Prometheus' ``histogram_quantile`` does
(linear within a bucket). The last line is ``RESULT {json}``.

    .venv/bin/python benchmarks/cluster_metrics.py [--pairs N] [--messages M] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from _procs import Children, die_with_parent

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "server"))
from pg_helpers import _free_port, start_server

from hushwire.client import ClientConfig, MessageEvent, SMPClient
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.server.scrape import node_name
from hushwire.testing import RelayProcess, start_relay_process

LIMITS = {
    "commands_per_second": 1_000_000,
    "max_handshakes_per_address": 10_000,
    "new_queues_per_minute_per_address": 100_000,
}
HISTOGRAMS = (
    "store_commit_seconds",
    "cluster_notify_roundtrip_seconds",
    "cluster_apply_lag_seconds",
)
CFG = ClientConfig(ping_interval=None, command_timeout=30)


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text: str = r.read().decode()
        return text


def quantiles(text: str) -> dict[str, dict[str, dict[str, float]]]:
    """node -> histogram -> {p50, p99, count} (milliseconds), from the buckets."""
    buckets: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for line in text.splitlines():
        for h in HISTOGRAMS:
            prefix = f"hushwire_{h}_bucket{{"
            if line.startswith(prefix):
                labels, value = line[len(prefix) :].rsplit("} ", 1)
                parts = dict(kv.split("=", 1) for kv in labels.split(","))
                le = parts["le"].strip('"')
                bound = float("inf") if le == "+Inf" else float(le)
                node = parts["node"].strip('"')
                buckets.setdefault((node, h), []).append((bound, float(value)))
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (node, h), bs in buckets.items():
        total = bs[-1][1]
        if total:
            out.setdefault(node, {})[h] = {
                "p50_ms": round(1000 * _quantile(0.5, bs), 2),
                "p99_ms": round(1000 * _quantile(0.99, bs), 2),
                "count": total,
            }
    return out


def _quantile(q: float, bs: list[tuple[float, float]]) -> float:
    rank = q * bs[-1][1]
    lower, below = 0.0, 0.0
    for bound, cum in bs:
        if cum >= rank:
            if bound == float("inf"):
                return lower  # as histogram_quantile: the highest finite bound
            inside = cum - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cum
    return lower


async def load(relay: RelayProcess, pairs: int, messages: int) -> None:
    address = replace(relay.address, hosts=("127.0.0.1",))

    async def pair(i: int) -> None:
        rcv = await SMPClient.connect(address, ws_url=relay.ws_url, config=CFG)
        snd = await SMPClient.connect(address, ws_url=relay.ws_url, config=CFG)
        try:
            rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
            sk = KeyPair.generate(KeyAlg.ED25519)
            ids = await rcv.create_queue(rk, dh)
            await rcv.secure(ids.rcv_id, rk, sk.public)
            for n in range(messages):
                await snd.send(ids.snd_id, b"m%d-%d" % (i, n), key=sk)
                ev = await asyncio.wait_for(rcv.events.get(), 30)
                assert isinstance(ev, MessageEvent)
                assert await rcv.ack(ids.rcv_id, rk, ev.msg.msg_id) is None
        finally:
            await rcv.close()
            await snd.close()

    await asyncio.gather(*(pair(i) for i in range(pairs)))


def start(children: Children, data: Path, settings: dict[str, str], workers: int) -> RelayProcess:
    """A relay on a fixed WebSocket port (``--workers`` shares it) with ``settings`` and
    ``LIMITS`` in its ``relay.toml``, its log in ``data/relay.log``."""
    data.mkdir(parents=True)
    config = data / "relay.toml"
    top = "".join(f'{k} = "{v}"\n' for k, v in settings.items())
    config.write_text(top + "[limits]\n" + "".join(f"{k} = {v}\n" for k, v in LIMITS.items()))
    extra = ["--config", str(config)] + (["--workers", str(workers)] if workers > 1 else [])
    with (data / "relay.log").open("wb") as log:
        relay = start_relay_process(
            data,
            tls=False,
            ws_port=_free_port(),
            host=None,
            extra=extra,
            stderr=log,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    children.popens.append(relay.proc)
    return relay


def measure(
    name: str, children: Children, data: Path, store: str | None, args: argparse.Namespace
) -> dict[str, Any]:
    admin = _free_port()
    settings = {"admin": f"127.0.0.1:{admin}"}
    workers = 1 if store is None else 2
    if store is not None:
        settings["store"] = store
    relay = start(children, data, settings, workers)
    try:
        deadline = time.monotonic() + 30  # ready once worker 0 is: wait for the last one
        while f'hushwire_node_up{{node="{node_name(workers - 1)}"}} 1' not in scrape(admin):
            assert time.monotonic() < deadline, "a worker never answered"
            time.sleep(0.1)
        started = time.perf_counter()
        asyncio.run(load(relay, args.pairs, args.messages))
        load_s = time.perf_counter() - started
        times, sizes = [], []
        for _ in range(args.scrapes):
            t = time.perf_counter()
            text = scrape(admin)
            times.append(1000 * (time.perf_counter() - t))
            sizes.append(len(text))
    finally:
        children.stop_popen(relay.proc)
    result = {
        "messages": args.pairs * args.messages,
        "load_seconds": round(load_s, 2),
        "scrape_ms_median": round(statistics.median(times), 2),
        "scrape_ms_max": round(max(times), 2),
        "scrape_bytes": max(sizes),
        "latency": quantiles(text),
    }
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--messages", type=int, default=50)
    p.add_argument("--scrapes", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="4 pairs, 10 messages, 10 scrapes")
    args = p.parse_args()
    if args.quick:
        args.pairs, args.messages, args.scrapes = 4, 10, 10
    pg = start_server()
    tmp = Path(tempfile.mkdtemp(prefix="hw-metrics-"))
    results: dict[str, Any] = {}
    children = Children()
    try:
        results["sqlite_single_process"] = measure(
            "SQLite, one process (baseline)", children, tmp / "sqlite", None, args
        )
        results["postgresql_workers_2"] = measure(
            "PostgreSQL, --workers 2", children, tmp / "pg", pg.new_database(), args
        )
    finally:
        children.stop_all()
        pg.stop()
    print("RESULT " + json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
