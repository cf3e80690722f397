"""Where a join's time goes: each relay command's cost, and one join step by step.

Two parts, against one relay process (``python -m hushwire relay``, its SQLite store on this
machine's disk, the limits of ``agent_throughput.py``):

1. **Relay command costs**: one raw SMP client runs each command of the fast handshake one
   after the other (``PING``, ``NEW``, ``SKEY``, a signed ``SEND`` until its ``MSG`` arrives
   on the same connection, ``ACK``), medians over ``--rounds``: what a command costs beyond a
   PING is the relay's work (signature check, store commit with fsync) and the client's.
2. **Join timeline**: ``--joins`` sequential ``join()`` calls of a visitor Agent to an owner
   Agent's contact address (both here). Every relay command (which agent, when it was
   written, when its answer came), every ``MSG`` pushed to an agent, every COMMIT and log
   sync of an agent's store and the two ``ConnectionEstablished`` events are recorded with
   their time since ``join()``; the timeline prints the median of each over the joins.

Prints figures only; nothing is asserted. The last line is ``RESULT`` followed by a JSON
object (``join_ms``, ``rtt_ms``, ``join_vs_rtt`` as in ``agent_throughput.py``, and the
median cost of each command).

    .venv/bin/python benchmarks/join_timeline.py [--joins J] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _procs import Children
from agent_throughput import AGENT_CFG, REFERENCE_ROUND_TRIPS, Relay, start_relay

from hushwire.agent.agent import Agent, AgentProblem, ConnectionEstablished
from hushwire.agent.groupcommit import GroupCommit
from hushwire.client import MessageEvent, SMPClient
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import MSG

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="?")
"""Which agent a task works for (the tasks an agent starts inherit it)."""


class Trace:
    """Time-stamped events of the join under way (``t0`` is its ``join()`` call)."""

    def __init__(self) -> None:
        self.t0 = 0.0
        self.events: list[tuple[str, float, float]] = []
        self.on = False

    def add(self, name: str, start: float, end: float) -> None:
        if self.on:
            self.events.append((name, 1000 * (start - self.t0), 1000 * (end - self.t0)))


TRACE = Trace()


def _patch() -> Callable[[], None]:
    """Wrap the client's request and dispatch and the group commit's steps to record them."""
    request, dispatch = SMPClient.request, SMPClient._dispatch
    flush, start_sync, synced = GroupCommit._flush, GroupCommit._start_sync, GroupCommit._synced

    async def timed_request(
        self: SMPClient, entity_id: bytes, command: Any, *a: Any, **k: Any
    ) -> Any:
        t = time.perf_counter()
        try:
            return await request(self, entity_id, command, *a, **k)
        finally:
            TRACE.add(f"{WHO.get()} {command.tag.decode()}", t, time.perf_counter())

    def timed_dispatch(self: SMPClient, t: Any) -> None:
        if not t.corr_id and isinstance(t.result, MSG):
            now = time.perf_counter()
            TRACE.add(f"{WHO.get()} <- MSG", now, now)
        dispatch(self, t)

    def timed_flush(self: GroupCommit) -> None:
        t = time.perf_counter()
        flush(self)
        TRACE.add(f"{WHO.get()} COMMIT", t, time.perf_counter())

    def timed_start_sync(self: GroupCommit) -> None:
        self._trace_sync = time.perf_counter()  # type: ignore[attr-defined]
        start_sync(self)

    def timed_synced(self: GroupCommit, sync: asyncio.Future[None], upto: int) -> None:
        TRACE.add(f"{WHO.get()} log sync", getattr(self, "_trace_sync", 0.0), time.perf_counter())
        synced(self, sync, upto)

    SMPClient.request = timed_request  # type: ignore[method-assign]
    SMPClient._dispatch = timed_dispatch  # type: ignore[method-assign]
    GroupCommit._flush = timed_flush  # type: ignore[method-assign]
    GroupCommit._start_sync = timed_start_sync  # type: ignore[method-assign]
    GroupCommit._synced = timed_synced  # type: ignore[method-assign]

    def undo() -> None:
        SMPClient.request = request  # type: ignore[method-assign]
        SMPClient._dispatch = dispatch  # type: ignore[method-assign]
        GroupCommit._flush = flush  # type: ignore[method-assign]
        GroupCommit._start_sync = start_sync  # type: ignore[method-assign]
        GroupCommit._synced = synced  # type: ignore[method-assign]

    return undo


# --------------------------------------------------------------------------- 1. commands


async def command_costs(relay: Relay, rounds: int) -> dict[str, float]:
    server = SMPServer.parse(relay.address)
    c = await SMPClient.connect(server, ws_url=relay.ws_url, config=AGENT_CFG)
    times: dict[str, list[float]] = defaultdict(list)

    async def timed(name: str, aw: Any) -> Any:
        t = time.perf_counter()
        r = await aw
        times[name].append(1000 * (time.perf_counter() - t))
        return r

    try:
        for _ in range(20):
            await c.ping()
        for i in range(rounds + 2):
            await timed("PING", c.ping())
            rcv_auth = KeyPair.generate(KeyAlg.X25519)
            ids = await timed("NEW", c.create_queue(rcv_auth, KeyPair.generate(KeyAlg.X25519)))
            snd = KeyPair.generate(KeyAlg.X25519)
            await timed("SKEY", c.secure_sender(ids.snd_id, snd))
            t = time.perf_counter()
            await c.send(ids.snd_id, b"x" * 100, key=snd)
            times["SEND (OK)"].append(1000 * (time.perf_counter() - t))
            ev = await asyncio.wait_for(c.events.get(), 10)
            times["SEND -> MSG"].append(1000 * (time.perf_counter() - t))
            assert isinstance(ev, MessageEvent)
            await timed("ACK", c.ack(ids.rcv_id, rcv_auth, ev.msg.msg_id))
            if i < 2:  # warm-up
                for v in times.values():
                    v.clear()
    finally:
        await c.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n== 1. Relay command costs: {rounds} rounds, one raw client, one after the other")
    for k, v in med.items():
        print(f"  {k:12} median {v:6.3f} ms  ({v / med['PING']:.1f}x PING)")
    return {f"cmd_{k.split()[0].lower()}_ms": round(v, 3) for k, v in med.items() if "(" not in k}


# --------------------------------------------------------------------------- 2. one join


async def join_timeline(relay: Relay, tmp: Path, joins: int) -> dict[str, float]:
    server = SMPServer.parse(relay.address)
    owner = Agent(tmp / "owner", server, ws_url=relay.ws_url, client_config=AGENT_CFG)
    visitor = Agent(tmp / "visitor", server, ws_url=relay.ws_url, client_config=AGENT_CFG)
    est: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    async def watch(agent: Agent, who: str) -> None:
        while True:
            ev = await agent.events.get()
            if isinstance(ev, ConnectionEstablished):
                now = time.perf_counter()
                TRACE.add(f"{who} ESTABLISHED", now, now)
                est.put_nowait((who, now))
            elif isinstance(ev, AgentProblem):
                print(f"  agent problem: {ev.message}", flush=True)

    undo = _patch()
    tasks: list[asyncio.Task[None]] = []
    per_join: list[list[tuple[str, float, float]]] = []
    both: list[float] = []
    try:
        WHO.set("owner")
        await owner.start()
        _, link = await owner.create_address(b'{"event":"x.info","owner":1}')
        tasks.append(asyncio.create_task(watch(owner, "owner")))
        WHO.set("visitor")
        await visitor.start()
        tasks.append(asyncio.create_task(watch(visitor, "visitor")))
        for i in range(joins + 2):
            await asyncio.sleep(0.05)  # the previous join's log syncs are done
            TRACE.events = []
            TRACE.on = i >= 2  # two warm-up joins
            TRACE.t0 = time.perf_counter()
            await visitor.join(link, b'{"event":"x.info","visitor":%d}' % i)
            seen = {await asyncio.wait_for(est.get(), 30) for _ in range(2)}
            if TRACE.on:
                both.append(1000 * (max(t for _, t in seen) - TRACE.t0))
                per_join.append(TRACE.events)
            TRACE.on = False
        ping = await SMPClient.connect(server, ws_url=relay.ws_url, config=AGENT_CFG)
        for _ in range(20):
            await ping.ping()
        rtt = statistics.median([1000 * await ping.ping() for _ in range(200)])
        await ping.close()
    finally:
        undo()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await owner.stop()
        await visitor.stop()
    # Align the events of every join by name and occurrence; keep those seen in most joins.
    aligned: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    for events in per_join:
        n: Counter[str] = Counter()
        for name, s, e in sorted(events, key=lambda x: x[1]):
            aligned[(name, n[name])].append((s, e))
            n[name] += 1
    rows = [
        (statistics.median(s for s, _ in v), statistics.median(e for _, e in v), k, len(v))
        for k, v in aligned.items()
        if len(v) >= len(per_join) // 2
    ]
    print(f"\n== 2. Join timeline: median over {joins} joins (+2 warm-up), ms since join()")
    print("  start    end   dur  event (agent, relay command until its answer / commit / sync)")
    for s, e, (name, k), seen in sorted(rows):
        extra = "" if seen == len(per_join) else f"  (in {seen} of {len(per_join)} joins)"
        print(f"  {s:5.1f}  {e:5.1f}  {e - s:4.1f}  {name}{f' #{k + 1}' if k else ''}{extra}")
    join_ms = statistics.median(both)
    print(
        f"  join() -> established on both sides: median {join_ms:.1f} ms; PING {rtt:.3f} ms; "
        f"join_vs_rtt {join_ms / (rtt * REFERENCE_ROUND_TRIPS):.2f}"
    )
    return {
        "join_ms": round(join_ms, 2),
        "rtt_ms": round(rtt, 3),
        "join_vs_rtt": round(join_ms / (rtt * REFERENCE_ROUND_TRIPS), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--joins", type=int, default=30, help="timed sequential joins (30)")
    ap.add_argument("--rounds", type=int, default=100, help="rounds of raw commands (100)")
    args = ap.parse_args()
    children = Children()
    tmp = Path(tempfile.mkdtemp(prefix="hushwire-join-timeline-"))
    try:
        print(f"== Join timeline; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
        relay = start_relay(children, tmp / "relay")
        result = asyncio.run(command_costs(relay, args.rounds))
        result |= asyncio.run(join_timeline(relay, tmp, args.joins))
        result["load_avg"] = round(os.getloadavg()[0], 2)
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    finally:
        children.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
