"""Room fan-out: a room of N members (default 50) on one relay, next to 1:1 in the same run.

Processes: the relay (``python -m hushwire relay``, its ``/metrics`` on an admin listener),
the room host (``python -m hushwire room host``, its own process, so its CPU is its own) and
this process, which runs every member: N agents on one event loop, each with its own data
directory (SQLite, synchronous commits) and its own relay connection, speaking the group
protocol with :class:`hushwire.chat.group_member.GroupMember` (N member processes do not fit
two cores). The 1:1 pair is two more agents in this process, on the same relay.

1. Joins: every joiner joins the room link at once (at most ``--concurrency`` in flight);
   joins per second = N / (first ``join()`` to the last member greeted by the host with
   ``x.grp.link.mem``, i.e. admitted, connected and announced). Host CPU per join alongside.
2. Room messages: ``--messages`` messages, one at a time, each by the next member in turn.
   Latency: from the author handing its message to its agent to each other member's agent
   event carrying the host's forward (p50/p99 over every delivery), and the p50 over
   messages of the first and of the last member to get it. The members share one event
   loop and each commits to its own SQLite file on receipt, so the later deliveries also
   wait for the other members' commits: the first member's figure is the nearest to what a
   member on a machine of its own sees. Host CPU seconds per room message (from
   ``/proc/PID/stat``) and relay sends per room message (``messages_in_total``: the author's
   send to the host and the host's forwards).
3. 1:1: the same number of messages from one agent to another (made by an invitation):
   latency p50/p99, relay sends per message, and this process's CPU per message (both
   agents: encrypt, send, receive, decrypt). Acknowledgements carry no receipt, as in the room.

Prints figures only; nothing is asserted. The last line is ``RESULT`` and a JSON object of
the figures.

    .venv/bin/python benchmarks/room_fanout.py [--members N] [--messages M] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _procs import Children, cpu_seconds, fsync_ms
from _procs import raise_nofile as _raise_nofile
from relay_throughput import scrape_metrics
from relay_throughput import start_relay as _metered_relay

from hushwire.agent.agent import Agent, ConnectionEstablished, MessageReceived
from hushwire.bot.common import profile_info, text_message
from hushwire.chat.group_member import GroupMember
from hushwire.chat.group_state import Posted, Send
from hushwire.chat.groups import XGrpLinkInv, interpret_group
from hushwire.chat.messages import Profile, XMsgNew, interpret, parse_chat_body
from hushwire.rooms.host import bodies, now_ts
from hushwire.smp.address import SMPServer

SENDS = "hushwire_messages_in_total"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


class Member:
    """One room member: an agent and its side of the group (nothing printed or saved)."""

    def __init__(self, name: str, data: Path, server: SMPServer, ws_url: str) -> None:
        self.name = name
        data.mkdir(parents=True, exist_ok=True)
        self.agent = Agent(data, server, ws_url=ws_url)
        self.group: GroupMember | None = None
        self.host_conn: str | None = None
        self.greeted = asyncio.Event()
        self.arrivals: dict[str, float] = {}
        """Message text -> when its forward was handed over by this member's agent."""
        self.waiting: dict[str, tuple[int, asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.agent.start()
        self._task = asyncio.create_task(self._run())

    async def join(self, link: str) -> None:
        self.host_conn = await self.agent.join(link, profile_info(self.name))

    async def post(self, text: str) -> None:
        assert self.group is not None and self.host_conn is not None
        for out in self.group.post(text, os.urandom(12), now_ts()):
            if isinstance(out, Send):
                for body in bodies(out.messages):
                    await self.agent.send(self.host_conn, body)

    async def _run(self) -> None:
        while True:
            ev = await self.agent.events.get()
            if isinstance(ev, ConnectionEstablished) and ev.conn_id == self.host_conn:
                (msg,) = parse_chat_body(ev.info)
                inv = interpret_group(msg)
                assert isinstance(inv, XGrpLinkInv), inv
                self.group = GroupMember.from_invitation(inv.invitation, Profile(self.name))
            elif isinstance(ev, MessageReceived) and self.group is not None:
                now = time.perf_counter()
                outs = self.group.receive(self.group.host_id, parse_chat_body(ev.body), now_ts())
                self.greeted.set()  # the first message from the host is x.grp.link.mem
                for out in outs:
                    if isinstance(out, Posted):
                        self.arrivals[out.text] = now
                        self._count(out.text)
                await self.agent.ack_message(ev.msg_id, receipt=False)
            elif isinstance(ev, MessageReceived):  # 1:1
                now = time.perf_counter()
                for msg in parse_chat_body(ev.body):
                    chat = interpret(msg)
                    if isinstance(chat, XMsgNew) and chat.text is not None:
                        self.arrivals[chat.text] = now
                        self._count(chat.text)
                await self.agent.ack_message(ev.msg_id, receipt=False)

    def _count(self, text: str) -> None:
        waiting = self.waiting.get(text)
        if waiting is not None:
            left, done = waiting
            if left <= 1:
                done.set()
            self.waiting[text] = (left - 1, done)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.agent.stop()


def start_host(children: Children, tmp: Path, relay: Any, members: int) -> tuple[Any, str]:
    """``hushwire room host`` as its own process; returns it and the room's full link."""
    args = [
        sys.executable, "-m", "hushwire", "room", "host", "--data", str(tmp / "host"),
        "--relay", relay.address, "--ws", relay.ws_url, "--name", "Bench", "--history", "0",
        "--max-members", str(members + 10),
    ]  # fmt: skip
    with (tmp / "host.log").open("wb") as log:
        host = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    children.popens.append(host)
    assert host.stdout is not None
    while True:
        line = host.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"the room host stopped: {(tmp / 'host.log').read_text()[-2000:]}")
        if line.startswith("simplex:/contact#"):
            return host, line.strip()


async def wait_all(event: asyncio.Event, timeout: float, what: str) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        raise RuntimeError(f"timed out waiting for {what}") from None


async def bench_room(
    relay: Any, host: Any, link: str, tmp: Path, args: argparse.Namespace
) -> dict[str, float]:
    server = SMPServer.parse(relay.address)
    members = [
        Member(f"m{i:03d}", tmp / f"m{i:03d}", server, relay.ws_url) for i in range(args.members)
    ]
    for m in members:
        await m.start()
    out: dict[str, float] = {}
    # 1. joins
    room = asyncio.Semaphore(args.concurrency)
    cpu0, t0 = cpu_seconds(host.pid), time.perf_counter()

    async def join(m: Member) -> None:
        async with room:
            await m.join(link)
            await asyncio.wait_for(m.greeted.wait(), args.timeout)

    await asyncio.gather(*(join(m) for m in members))
    joined = time.perf_counter() - t0
    out["joins_per_s"] = args.members / joined
    out["host_cpu_ms_per_join"] = 1000 * (cpu_seconds(host.pid) - cpu0) / args.members
    print(
        f"  joins: {args.members} members in {joined:.1f} s = {out['joins_per_s']:.2f} joins/s "
        f"({args.concurrency} in flight), host CPU {out['host_cpu_ms_per_join']:.1f} ms per join"
    )
    await asyncio.sleep(1.0)  # the announcements of the last joiners settle
    # 2. room messages
    latencies: list[float] = []
    firsts: list[float] = []
    lasts: list[float] = []
    sends0, cpu0 = scrape_metrics(relay.ws_url)[SENDS], cpu_seconds(host.pid)
    for k in range(args.messages):
        author = members[k % len(members)]
        text = f"room message {k}"
        others = [m for m in members if m is not author]
        for m in others:
            m.waiting[text] = (1, asyncio.Event())
        everyone = asyncio.gather(*(m.waiting[text][1].wait() for m in others))
        sent = time.perf_counter()
        await author.post(text)
        await asyncio.wait_for(everyone, args.timeout)
        these = [1000 * (m.arrivals[text] - sent) for m in others]
        latencies.extend(these)
        firsts.append(min(these))
        lasts.append(max(these))
    sends = scrape_metrics(relay.ws_url)[SENDS] - sends0
    cpu = cpu_seconds(host.pid) - cpu0
    out["room_latency_ms_p50"] = _pct(latencies, 0.5)
    out["room_latency_ms_p99"] = _pct(latencies, 0.99)
    out["room_first_delivery_ms_p50"] = _pct(firsts, 0.5)
    out["room_last_delivery_ms_p50"] = _pct(lasts, 0.5)
    out["host_cpu_ms_per_message"] = 1000 * cpu / args.messages
    out["relay_sends_per_room_message"] = sends / args.messages
    print(
        f"  room messages: {args.messages} to {args.members - 1} others each: latency p50 "
        f"{out['room_latency_ms_p50']:.0f} ms, p99 {out['room_latency_ms_p99']:.0f} ms "
        f"(first member p50 {out['room_first_delivery_ms_p50']:.0f} ms, last member p50 "
        f"{out['room_last_delivery_ms_p50']:.0f} ms); "
        f"host CPU {out['host_cpu_ms_per_message']:.1f} ms per message "
        f"({out['host_cpu_ms_per_message'] / max(1, args.members - 1):.2f} ms per delivery); "
        f"relay sends {out['relay_sends_per_room_message']:.1f} per message"
    )
    for m in members:
        await m.stop()
    return out


async def bench_direct(relay: Any, tmp: Path, args: argparse.Namespace) -> dict[str, float]:
    server = SMPServer.parse(relay.address)
    (tmp / "a").mkdir()
    a = Agent(tmp / "a", server, ws_url=relay.ws_url)
    b = Member("b", tmp / "b", server, relay.ws_url)
    await a.start()
    await b.start()
    conn, invitation = await a.create_invitation(profile_info("a"))
    await b.agent.join(invitation, profile_info("b"))
    while True:
        ev = await asyncio.wait_for(a.events.get(), args.timeout)
        if isinstance(ev, ConnectionEstablished) and ev.conn_id == conn:
            break
    latencies: list[float] = []
    sends0, cpu0 = scrape_metrics(relay.ws_url)[SENDS], time.process_time()
    for k in range(args.messages):
        text = f"direct message {k}"
        done = asyncio.Event()
        b.waiting[text] = (1, done)
        sent = time.perf_counter()
        await a.send(conn, text_message(text))
        await wait_all(done, args.timeout, text)
        latencies.append(1000 * (b.arrivals[text] - sent))
    out = {
        "direct_latency_ms_p50": _pct(latencies, 0.5),
        "direct_latency_ms_p99": _pct(latencies, 0.99),
        "relay_sends_per_direct_message": (scrape_metrics(relay.ws_url)[SENDS] - sends0)
        / args.messages,
        "direct_cpu_ms_per_message": 1000 * (time.process_time() - cpu0) / args.messages,
    }
    print(
        f"  1:1 messages: {args.messages}: latency p50 {out['direct_latency_ms_p50']:.0f} ms, "
        f"p99 {out['direct_latency_ms_p99']:.0f} ms; CPU of both agents "
        f"{out['direct_cpu_ms_per_message']:.1f} ms per message; relay sends "
        f"{out['relay_sends_per_direct_message']:.1f} per message"
    )
    await a.stop()
    await b.stop()
    return out


@contextlib.contextmanager
def _workspace(parent: Path | None) -> Iterator[tuple[Children, Path]]:
    """A fresh data directory and the child-process bookkeeping; on the way out (error,
    SIGTERM or Ctrl-C too) every child is stopped and the directory removed."""
    children = Children()
    tmp = Path(tempfile.mkdtemp(prefix="hushwire-room-bench-", dir=parent))
    prev = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield children, tmp
    finally:
        signal.signal(signal.SIGTERM, prev)
        children.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, help="room members (default 50; quick 4)")
    ap.add_argument("--messages", type=int, help="room and 1:1 messages (default 30; quick 3)")
    ap.add_argument("--concurrency", type=int, default=10, help="joins in flight (10)")
    ap.add_argument("--tmp", type=Path, help="where the relay, host and agents keep their data")
    ap.add_argument("--timeout", type=float, default=600, help="seconds for any one wait")
    ap.add_argument("--quick", action="store_true", help="a small run (seconds)")
    args = ap.parse_args(argv)
    args.members = args.members or (4 if args.quick else 50)
    args.messages = args.messages or (3 if args.quick else 30)
    _raise_nofile()
    started = time.monotonic()
    with _workspace(args.tmp) as (children, tmp):
        print("== Hushwire room fan-out benchmark" + (" (quick)" if args.quick else ""))
        print(
            f"  {os.cpu_count()} cores, Python {sys.version.split()[0]}, data in {tmp} "
            f"(4 KB write+fsync there: {fsync_ms(tmp):.2f} ms); members: {args.members} "
            "agents on one event loop in this process; host and relay: processes of their own"
        )
        relay = _metered_relay(children, tmp / "relay")
        host, link = start_host(children, tmp, relay, args.members)
        result: dict[str, Any] = {"members": args.members, "messages": args.messages}
        result |= asyncio.run(bench_room(relay, host, link, tmp, args))
        result |= asyncio.run(bench_direct(relay, tmp, args))
    ratio = result["room_latency_ms_p50"] / max(result["direct_latency_ms_p50"], 1e-9)
    result["room_vs_direct_latency_p50"] = ratio
    print(f"\n  room p50 latency / 1:1 p50 latency: {ratio:.1f}")
    print(f"  total run time {time.monotonic() - started:.0f} s")
    print("RESULT " + json.dumps(result, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
