"""Relay throughput, CPU per message, latency and idle memory, against floors measured alongside.

Everything runs on 127.0.0.1, in this one run:

1. The relay (``python -m hushwire relay``) as its own process; its CPU time comes from
   ``/proc/PID/stat`` (all threads, so the SQLite writer thread is included).
2. Load generators in separate processes: N queue pairs, each a subscribed recipient
   connection and a sender connection that secured the queue with SKEY (Ed25519). Senders
   keep up to ``--inflight`` messages sent but not yet received per pair; each 1 KB body
   carries its send time (CLOCK_MONOTONIC, system-wide on Linux), the recipient takes the
   SEND-to-MSG latency and ACKs.
3. Floor A: a bare WebSocket forwarder on the same transport code (no SMP, no crypto, no
   store) under the same load shape: per message 2 blocks in and 3 out, as SEND/OK/MSG/ACK/OK.
4. Floor B: the relay's cryptography for one delivered message, timed in this process (CPU
   time of this thread, best of 5).
5. The ratio relay CPU / (forwarder CPU + crypto) per message, and idle memory per
   connection for the relay and the forwarder. When the relay is far off its CPU target it
   is run once more under cProfile and the top functions are printed.

Prints figures only; nothing is asserted.

    .venv/bin/python benchmarks/relay_throughput.py [--pairs N] [--seconds S] [--idle K]
        [--quick] [--workers W] [--inflight M] [--profile auto|always|never]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import pstats
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from array import array
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _procs import CLK_TCK, Children, cpu_seconds, fsync_ms, rss_kb
from _procs import die_with_parent as _die_with_parent
from _procs import raise_nofile as _raise_nofile
from _procs import start_relay as _start_relay

from hushwire.client import ClientConfig, MessageEvent, SMPClient, decrypt_message_with_key
from hushwire.client.client import queue_dh_key
from hushwire.crypto.keys import KeyAlg, KeyPair, PublicKey
from hushwire.crypto.nacl import cb_encrypt
from hushwire.limits import SMP_BLOCK_SIZE
from hushwire.server.metrics import machine_totals
from hushwire.smp.address import SMPServer
from hushwire.smp.block import BlockChain, encode_batch
from hushwire.smp.commands import ACK, MSG, OK, SEND, MsgFlags
from hushwire.smp.ids import MsgId
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.smp.transmission import (
    authorized_bytes,
    encode_client_transmission,
    encode_server_transmission,
)
from hushwire.transport import BlockConn, TransportFailure
from hushwire.transport.connect import connect_ws
from hushwire.transport.listen import serve_ws

CPU_TARGET = 1.5
IDLE_TARGET_RATIO = 1.5
IDLE_HANDSHAKES_IN_FLIGHT = 8
"""Handshakes in flight per idle worker; two workers stay under the relay's default limit of
16 per address (``max_handshakes_per_address``)."""
SMP_VERSION = 18
ENCRYPTED_BODY_PAD = 16106
STAMP = struct.Struct(">QQ")  # send time (ns, CLOCK_MONOTONIC), sequence number
RELAY_LIMITS = {
    "queue_quota": 100000,
    "commands_per_second": 1000000,
    "new_queues_per_minute": 1000000,
    "max_connections": 20000,
}


FIGURES: dict[str, float | None] = {}
"""This run's figures by name, printed last as one ``RESULT`` line (see :func:`print_result`)."""


def print_result() -> None:
    """The machine-readable last line: ``RESULT`` and a JSON object of :data:`FIGURES`."""
    import json
    import math

    clean = {k: v if v is None or math.isfinite(v) else None for k, v in FIGURES.items()}
    print("RESULT " + json.dumps(clean, sort_keys=True), flush=True)


# --------------------------------------------------------------------------- processes


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of ``pid``."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            out[int(task.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def nofile_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return " / ".join(line.split()[3:5])
    return "?"


def fs_type(path: Path) -> str:
    best, kind = "", "?"
    target = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        mount = parts[1]
        if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(mount) > len(
            best
        ):
            best, kind = mount, parts[2]
    return kind


ADMIN_URLS: dict[str, str] = {}
"""WebSocket URL of a relay this script started -> its admin listener (where /metrics is)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape_metrics(ws_url: str) -> dict[str, float]:
    """The relay's /metrics (on its admin listener) as name -> value, labels other than
    ``node`` kept in the name, the values of all its worker processes added up."""
    url = ADMIN_URLS[ws_url] + "metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        return machine_totals(r.read().decode())


@dataclass
class Relay:
    proc: subprocess.Popen[bytes]
    address: str
    ws_url: str
    data: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


PROFILE_BOOT = """
import cProfile, runpy, signal, sys, time
out = sys.argv.pop(1)
if sys.argv[1:3] == ["-m", "hushwire"]:  # the relay helper's own way of naming the module
    del sys.argv[1:3]
prof = cProfile.Profile(time.thread_time)
signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
signal.signal(signal.SIGUSR2, lambda *_: prof.disable())
try:
    runpy.run_module("hushwire", run_name="__main__", alter_sys=True)
finally:
    prof.disable()
    prof.dump_stats(out)
"""
"""Runs the relay with cProfile timing the event-loop thread's own CPU time (not wall time,
which on a shared machine also counts time spent waiting for a core). The profiler runs only
between SIGUSR1 and SIGUSR2, which :func:`run_load` sends at the start and the end of the
measured window: start-up, connection and queue set-up and warm-up are left out."""


def start_relay(children: Children, data: Path, profile_out: Path | None = None) -> Relay:
    prefix = ["-c", PROFILE_BOOT, str(profile_out)] if profile_out else []
    admin = f"127.0.0.1:{_free_port()}"
    relay = _start_relay(
        children, data, RELAY_LIMITS, interpreter_args=prefix, settings={"admin": admin}
    )
    ADMIN_URLS[relay.ws_url] = f"http://{admin}/"
    return Relay(relay.proc, relay.address.encode(), relay.ws_url, data)


def _mp() -> Any:
    return mp.get_context("fork")


def run_async_child(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Body of a child process: no Ctrl-C (the parent stops it), uvloop if available."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _raise_nofile()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


async def recv_pipe(pipe: Connection) -> Any:
    """Wait for the next message from the parent without blocking the event loop."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()
    loop.add_reader(pipe.fileno(), lambda: fut.done() or fut.set_result(None))
    try:
        await fut
    finally:
        loop.remove_reader(pipe.fileno())
        os.set_blocking(pipe.fileno(), True)  # add_reader made it non-blocking
    return pipe.recv()


# --------------------------------------------------------------------------- floor A: forwarder

ACK_BLOCK = b"A" + bytes(SMP_BLOCK_SIZE - 1)


def forwarder_main(pipe: Connection) -> None:
    """Pairs connections by the id in their first block and forwards blocks between them.

    The sender's data block goes to the receiver and the sender gets an ack block (SEND ->
    MSG + OK); the receiver's ack block is answered with an ack block (ACK -> OK).
    """

    async def main() -> None:
        slots: dict[int, dict[bytes, BlockConn]] = {}
        paired: dict[int, asyncio.Event] = {}

        async def handle(conn: BlockConn) -> None:
            try:
                first = await conn.recv_block()
            except TransportFailure:
                return
            role, pair = first[:1], int.from_bytes(first[1:5], "big")
            slot = slots.setdefault(pair, {})
            slot[role] = conn
            ready = paired.setdefault(pair, asyncio.Event())
            if len(slot) == 2:
                ready.set()
            await ready.wait()
            peer = slot[b"R" if role == b"S" else b"S"]
            try:
                while True:
                    block = await conn.recv_block()
                    if role == b"S":
                        await peer.send_block(block)
                    await conn.send_block(ACK_BLOCK)
            except TransportFailure:
                pass
            finally:
                slots.pop(pair, None)
                paired.pop(pair, None)

        server = await serve_ws("127.0.0.1", 0, handle)
        pipe.send(server.sockets[0].getsockname()[1])
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()

    run_async_child(main)


# --------------------------------------------------------------------------- load generators


@dataclass
class Window:
    t0: int
    t1: int
    delivered: int = 0
    total: int = 0
    latencies_ms: array[float] = field(default_factory=lambda: array("d"))

    def record(self, now: int, sent: int) -> None:
        self.total += 1
        if self.t0 <= now <= self.t1:
            self.delivered += 1
            self.latencies_ms.append((now - sent) / 1e6)


@dataclass
class LoadSpec:
    kind: str  # "smp" or "fwd"
    address: str
    ws_url: str
    pair_ids: list[int]
    inflight: int
    body_size: int


class Pair:
    """One sender and one recipient; at most ``inflight`` messages sent and not received."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.filler = os.urandom(spec.body_size - STAMP.size)
        self.sent = 0
        self.errors = 0
        self.next_seq = 0
        self.duplicates = 0
        self.reordered = 0

    def received(
        self, window: Window, room: asyncio.Semaphore, now: int, sent_ns: int, seq: int
    ) -> None:
        """Count a message once: a duplicate must not widen the in-flight window."""
        if seq < self.next_seq:
            self.duplicates += 1
            return
        if seq > self.next_seq:
            self.reordered += 1
        self.next_seq = seq + 1
        window.record(now, sent_ns)
        room.release()

    async def setup(self) -> None:
        raise NotImplementedError

    async def receive(self, window: Window, room: asyncio.Semaphore) -> None:
        raise NotImplementedError

    async def send_loop(self, room: asyncio.Semaphore) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class SmpPair(Pair):
    async def setup(self) -> None:
        server = SMPServer.parse(self.spec.address)
        cfg = ClientConfig(ping_interval=None)
        self.rcv = await SMPClient.connect(server, ws_url=self.spec.ws_url, config=cfg)
        self.snd = await SMPClient.connect(server, ws_url=self.spec.ws_url, config=cfg)
        self.rk = KeyPair.generate(KeyAlg.ED25519)
        dh = KeyPair.generate(KeyAlg.X25519)
        ids = await self.rcv.create_queue(self.rk, dh, subscribe=True)
        self.rid, self.sid = ids.rcv_id, ids.snd_id
        self.sk = KeyPair.generate(KeyAlg.ED25519)
        await self.snd.secure_sender(self.sid, self.sk)
        self.box_key = queue_dh_key(dh, ids.srv_dh_key)

    async def receive(self, window: Window, room: asyncio.Semaphore) -> None:
        while True:
            ev = await self.rcv.events.get()
            if not isinstance(ev, MessageEvent):
                continue
            msg: MSG | None = ev.msg
            while msg is not None:
                now = time.monotonic_ns()
                body = decrypt_message_with_key(self.box_key, msg)
                assert isinstance(body, RcvMsgBody)
                self.received(window, room, now, *STAMP.unpack_from(body.body))
                msg = await self.rcv.ack(self.rid, self.rk, msg.msg_id)

    async def send_loop(self, room: asyncio.Semaphore) -> None:
        pending: set[asyncio.Task[None]] = set()

        def done(t: asyncio.Task[None]) -> None:
            pending.discard(t)
            if not t.cancelled() and t.exception() is not None:
                self.errors += 1

        try:
            while True:
                await room.acquire()
                body = STAMP.pack(time.monotonic_ns(), self.sent) + self.filler
                task = asyncio.create_task(self.snd.send(self.sid, body, key=self.sk))
                task.add_done_callback(done)
                pending.add(task)
                self.sent += 1
        finally:
            for t in list(pending):
                t.cancel()

    async def close(self) -> None:
        for c in (self.snd, self.rcv):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(c.close(), 5)


class FwdPair(Pair):
    def __init__(self, spec: LoadSpec, pair_id: int) -> None:
        super().__init__(spec)
        self.pair_id = pair_id
        self.pad = bytes(SMP_BLOCK_SIZE - 1 - spec.body_size)

    async def setup(self) -> None:
        self.snd = await connect_ws(self.spec.ws_url)
        self.rcv = await connect_ws(self.spec.ws_url)
        pid = self.pair_id.to_bytes(4, "big")
        await self.snd.send_block(b"S" + pid + bytes(SMP_BLOCK_SIZE - 5))
        await self.rcv.send_block(b"R" + pid + bytes(SMP_BLOCK_SIZE - 5))

    async def receive(self, window: Window, room: asyncio.Semaphore) -> None:
        while True:
            block = await self.rcv.recv_block()
            if block[:1] != b"D":
                continue  # the answer to our ack
            self.received(window, room, time.monotonic_ns(), *STAMP.unpack_from(block, 1))
            await self.rcv.send_block(ACK_BLOCK)

    async def send_loop(self, room: asyncio.Semaphore) -> None:
        async def acks() -> None:
            while True:
                await self.snd.recv_block()

        reader = asyncio.create_task(acks())
        try:
            while True:
                await room.acquire()
                stamp = STAMP.pack(time.monotonic_ns(), self.sent)
                await self.snd.send_block(b"D" + stamp + self.filler + self.pad)
                self.sent += 1
        finally:
            reader.cancel()

    async def close(self) -> None:
        for c in (self.snd, self.rcv):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(c.close(), 5)


def load_worker(spec: LoadSpec, pipe: Connection) -> None:
    """Set up the pairs, report ready, run between the parent's go and stop, report."""

    async def main() -> None:
        pairs: list[Pair] = [
            SmpPair(spec) if spec.kind == "smp" else FwdPair(spec, i) for i in spec.pair_ids
        ]
        gate = asyncio.Semaphore(8)

        async def setup(p: Pair) -> None:
            async with gate:
                await p.setup()

        try:
            await asyncio.gather(*(setup(p) for p in pairs))
        except Exception as e:
            pipe.send(("error", repr(e)))
            return
        pipe.send(("ready", len(pairs)))
        _, t0, t1 = await recv_pipe(pipe)
        window = Window(t0, t1)
        tasks: list[asyncio.Task[None]] = []
        for p in pairs:
            room = asyncio.Semaphore(spec.inflight)
            tasks.append(asyncio.create_task(p.receive(window, room)))
            tasks.append(asyncio.create_task(p.send_loop(room)))
        await asyncio.sleep(max(0.0, (t1 - time.monotonic_ns()) / 1e9) + 0.05)
        failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        errors = sum(p.errors for p in pairs) + len(failed)
        first = repr(failed[0].exception()) if failed else ""
        sent = sum(p.sent for p in pairs)
        dups = sum(p.duplicates for p in pairs)
        reordered = sum(p.reordered for p in pairs)
        lat = window.latencies_ms.tobytes()
        counts = (window.delivered, window.total, sent, errors, dups, reordered)
        pipe.send(("result", counts, first, lat))
        await asyncio.gather(*(p.close() for p in pairs))

    run_async_child(main)


def idle_worker(kind: str, address: str, ws_url: str, count: int, pipe: Connection) -> None:
    """Open ``count`` idle connections (SMP: handshake done), report, hold until told."""

    async def main() -> None:
        held: list[object] = []
        # Stay within the relay's per-address handshake limit across all idle workers (the
        # relay refuses more; refused connections would count as failures, not memory).
        gate = asyncio.Semaphore(IDLE_HANDSHAKES_IN_FLIGHT)
        server = SMPServer.parse(address) if kind == "smp" else None
        cfg = ClientConfig(ping_interval=None, connect_timeout=60)

        async def one() -> None:
            async with gate:
                if server is not None:
                    held.append(await SMPClient.connect(server, ws_url=ws_url, config=cfg))
                else:
                    held.append(await connect_ws(ws_url, timeout=60))

        results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        pipe.send(("ready", len(held), len(errors), repr(errors[0]) if errors else ""))
        await recv_pipe(pipe)
        pipe.send(("done",))
        os._exit(0)  # the kernel closes every socket at once

    run_async_child(main)


def _recv(p: mp.process.BaseProcess, pipe: Connection, timeout: float, what: str) -> Any:
    """The next message from a child; RuntimeError if it dies or stays silent."""
    deadline = time.monotonic() + timeout
    while not pipe.poll(0.2):
        if not p.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{what} {p.pid} died or did not answer (exit {p.exitcode})")
    return pipe.recv()


@dataclass
class LoadResult:
    delivered: int
    sent: int
    seconds: float
    server_cpu: float
    load_cpu: float
    latencies_ms: list[float]
    errors: int
    first_error: str
    total_delivered: int = 0
    """Delivered over the whole run, warm-up and set-up included."""
    main_thread_cpu: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    """Change of the relay's /metrics over the measured window."""
    duplicates: int = 0
    """Messages received again after a later or the same one (whole run; not counted)."""
    reordered: int = 0
    """Messages that skipped ahead of an earlier one (whole run)."""

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds

    @property
    def cpu_us_per_msg(self) -> float:
        return 1e6 * self.server_cpu / max(self.delivered, 1)

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        return self.latencies_ms[min(len(self.latencies_ms) - 1, int(q * len(self.latencies_ms)))]


def run_load(
    children: Children,
    kind: str,
    server_pid: int,
    address: str,
    ws_url: str,
    args: argparse.Namespace,
    seconds: float,
    *,
    profiled: bool = False,
) -> LoadResult:
    """Load ``server_pid`` for ``seconds`` after the warm-up; with ``profiled``, its cProfile
    (:data:`PROFILE_BOOT`) is switched on for exactly the measured window."""
    ctx = _mp()
    workers: list[tuple[mp.process.BaseProcess, Connection]] = []
    ids = list(range(args.pairs))
    for w in range(args.workers):
        mine = ids[w :: args.workers]
        if not mine:
            continue
        spec = LoadSpec(kind, address, ws_url, mine, args.inflight, args.body)
        parent, child = ctx.Pipe()
        p = ctx.Process(target=load_worker, args=(spec, child), daemon=True)
        p.start()
        children.procs.append(p)
        workers.append((p, parent))
    try:
        for p, pipe in workers:
            msg = _recv(p, pipe, 120, f"{kind} load worker")
            if msg[0] != "ready":
                raise RuntimeError(f"{kind} load worker failed in set-up: {msg[1]}")
        start = time.monotonic_ns()
        t0 = start + int(args.warmup * 1e9)
        t1 = t0 + int(seconds * 1e9)
        for _, pipe in workers:
            pipe.send(("go", t0, t1))
        time.sleep(max(0.0, (t0 - time.monotonic_ns()) / 1e9))
        m0 = scrape_metrics(ws_url) if kind == "smp" else {}
        cpu0, thr0 = cpu_seconds(server_pid), thread_cpu(server_pid)
        load0 = sum(cpu_seconds(p.pid) for p, _ in workers if p.pid)
        if profiled:
            os.kill(server_pid, signal.SIGUSR1)
        a = time.monotonic_ns()
        time.sleep(max(0.0, (t1 - time.monotonic_ns()) / 1e9))
        b = time.monotonic_ns()
        if profiled:
            os.kill(server_pid, signal.SIGUSR2)
        cpu1, thr1 = cpu_seconds(server_pid), thread_cpu(server_pid)
        load1 = sum(cpu_seconds(p.pid) for p, _ in workers if p.pid)
        m1 = scrape_metrics(ws_url) if kind == "smp" else {}
        counts = [0] * 6
        first = ""
        lat = array("d")
        for p, pipe in workers:
            _, c, f, raw = _recv(p, pipe, 60, f"{kind} load worker")
            counts = [a + b for a, b in zip(counts, c, strict=True)]
            first = first or f
            lat.frombytes(raw)
        delivered, total, sent, errors, dups, reordered = counts
        for p, _ in workers:
            children.stop_proc(p, 15)
    finally:
        for p, _ in workers:
            if p.is_alive():
                p.terminate()
            children.stop_proc(p, 5)
    main_cpu = thr1.get(server_pid, 0.0) - thr0.get(server_pid, 0.0)
    return LoadResult(
        delivered,
        sent,
        (b - a) / 1e9,
        cpu1 - cpu0,
        load1 - load0,
        sorted(lat),
        errors,
        first,
        total,
        main_cpu,
        {k: m1[k] - m0.get(k, 0.0) for k in m1},
        dups,
        reordered,
    )


def run_idle(
    children: Children,
    kind: str,
    server_pid: int,
    address: str,
    ws_url: str,
    args: argparse.Namespace,
) -> tuple[int, int, int, int, str, float]:
    """(RSS before KB, RSS after KB, connections held, failures, first error, seconds)."""
    ctx = _mp()
    # Warm the server up (imports, first allocations) before the baseline.
    warm = _spawn_idle(children, ctx, kind, address, ws_url, 20)
    _release_idle(children, warm)
    time.sleep(1.0)
    before = rss_kb(server_pid)
    started = time.monotonic()
    per = [
        args.idle // args.workers + (1 if i < args.idle % args.workers else 0)
        for i in range(args.workers)
    ]
    workers = [_spawn_idle(children, ctx, kind, address, ws_url, n) for n in per if n]
    held = failed = 0
    first = ""
    try:
        for p, pipe in workers:
            _, h, f, e = _recv(p, pipe, 600, "idle worker")
            held, failed, first = held + h, failed + f, first or e
        elapsed = time.monotonic() - started
        time.sleep(1.5)  # let the server finish its side of the last handshakes
        after = rss_kb(server_pid)
    finally:
        for w in workers:
            _release_idle(children, w)
    return before, after, held, failed, first, elapsed


def _spawn_idle(
    children: Children, ctx: Any, kind: str, address: str, ws_url: str, n: int
) -> tuple[mp.process.BaseProcess, Connection]:
    parent, child = ctx.Pipe()
    p = ctx.Process(target=idle_worker, args=(kind, address, ws_url, n, child), daemon=True)
    p.start()
    children.procs.append(p)
    if n <= 20:
        _recv(p, parent, 120, "idle worker")
    return p, parent


def _release_idle(children: Children, w: tuple[mp.process.BaseProcess, Connection]) -> None:
    p, pipe = w
    with contextlib.suppress(OSError, EOFError, BrokenPipeError):
        pipe.send(("close",))
        if pipe.poll(10):
            pipe.recv()
    children.stop_proc(p, 10)


# --------------------------------------------------------------------------- floor B: crypto


@dataclass
class CryptoFloor:
    parts: dict[str, float]  # microseconds per operation
    per_message: float
    key_parse_us: float


def _time_per_op(fn: Callable[[int], None], iters: int, repeats: int = 5) -> float:
    """Best CPU time per call in microseconds (CPU time, as the relay's side is measured:
    on a shared machine wall time would also count the time spent waiting for a core)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        fn(iters)
        best = min(best, (time.thread_time() - start) / iters)
    return best * 1e6


def crypto_floor(body_size: int, iters: int) -> CryptoFloor:
    """The relay's per-message cryptography: what a delivered message costs it at v18."""
    session_id, corr, sid, rid = os.urandom(32), os.urandom(24), os.urandom(24), os.urandom(24)
    msg_id = os.urandom(24)
    body = os.urandom(body_size)
    sender, recipient = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.ED25519)
    send_cmd = SEND(MsgFlags(False), body).encode(SMP_VERSION)
    ack_cmd = ACK(MsgId(msg_id)).encode(SMP_VERSION)
    send_auth = authorized_bytes(session_id, corr, sid, send_cmd)
    ack_auth = authorized_bytes(session_id, corr, rid, ack_cmd)
    send_sig, ack_sig = sender.private.sign(send_auth), recipient.private.sign(ack_auth)
    # The relay's own verify (libsodium for Ed25519), on the keys as the relay holds them.
    send_pub = sender.public
    ack_pub = recipient.public
    box_key, nonce = os.urandom(32), msg_id
    plain = RcvMsgBody(int(time.time()), MsgFlags(False), body).encode()
    send_t = encode_client_transmission(SMP_VERSION, session_id, corr, sid, send_cmd, send_sig)
    ack_t = encode_client_transmission(SMP_VERSION, session_id, corr, rid, ack_cmd, ack_sig)
    ok_batch = encode_batch([encode_server_transmission(SMP_VERSION, session_id, corr, sid, OK())])
    msg_body = cb_encrypt(box_key, nonce, plain, ENCRYPTED_BODY_PAD)
    msg_t = encode_server_transmission(
        SMP_VERSION, session_id, b"", rid, MSG(MsgId(msg_id), msg_body)
    )
    msg_batch = encode_batch([msg_t])
    repeats = 5
    chain_key = os.urandom(32)
    client_send = BlockChain(chain_key)
    in_blocks = [
        client_send.encrypt(encode_batch([send_t if i % 2 == 0 else ack_t]))
        for i in range(iters * repeats)
    ]
    server_recv = BlockChain(chain_key)
    server_send = BlockChain(os.urandom(32))
    it = iter(in_blocks)
    sender_der = sender.public.to_der()

    def verify_send(n: int) -> None:
        for _ in range(n):
            send_pub.verify(send_sig, send_auth)

    def verify_ack(n: int) -> None:
        for _ in range(n):
            ack_pub.verify(ack_sig, ack_auth)

    def box(n: int) -> None:
        for _ in range(n):
            cb_encrypt(box_key, nonce, plain, pad_to=ENCRYPTED_BODY_PAD)

    def decrypt(n: int) -> None:
        for _ in range(n):
            server_recv.decrypt(next(it))

    def encrypt_ok(n: int) -> None:
        for _ in range(n):
            server_send.encrypt(ok_batch)

    def encrypt_msg(n: int) -> None:
        for _ in range(n):
            server_send.encrypt(msg_batch)

    def parse_key(n: int) -> None:
        for _ in range(n):
            PublicKey.from_der(sender_der)._obj()

    parts = {
        "Ed25519 verify of SEND": _time_per_op(verify_send, iters, repeats),
        "crypto_box of MSG body (cb_encrypt, pad 16106)": _time_per_op(box, iters, repeats),
        "Ed25519 verify of ACK": _time_per_op(verify_ack, iters, repeats),
        "block decrypt (x2: SEND in, ACK in)": 2 * _time_per_op(decrypt, iters, repeats),
        "block encrypt of OK (x2: OK to SEND, OK to ACK)": 2
        * _time_per_op(encrypt_ok, iters, repeats),
        "block encrypt of MSG (x1)": _time_per_op(encrypt_msg, iters, repeats),
    }
    key_parse = _time_per_op(parse_key, iters, repeats)
    return CryptoFloor(parts, sum(parts.values()), key_parse)


# --------------------------------------------------------------------------- profile


def print_profile(path: Path, delivered: int, top: int) -> None:
    st = pstats.Stats(str(path))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = st.stats  # type: ignore[attr-defined]
    per = max(delivered, 1)

    def name(k: tuple[str, int, str]) -> str:
        file, line, func = k
        for marker in ("/site-packages/", "/src/", "/lib/python3"):
            if marker in file:
                file = file.split(marker, 1)[1]
                break
        return f"{file}:{line}({func})" if line else func

    rows = list(raw.items())
    total = sum(v[2] for _, v in rows)

    def show(title: str, col: int) -> None:
        print(f"  {title}")
        print(
            f"    {'calls':>9} {'own %':>6} {'cum %':>6} {'own us/msg':>10} {'cum us/msg':>10}"
            "  function"
        )
        for k, (_, nc, tt, ct, _) in sorted(rows, key=lambda kv: kv[1][col], reverse=True)[:top]:
            print(
                f"    {nc:9d} {100 * tt / total:6.1f} {100 * ct / total:6.1f} "
                f"{1e6 * tt / per:10.1f} {1e6 * ct / per:10.1f}  {name(k)}"
            )

    print(
        f"  profiled event-loop thread CPU {total:.2f} s in the measured window over "
        f"{delivered} messages delivered in it; % are of that CPU (cProfile's own overhead "
        "inflates small calls)"
    )
    show("top by cumulative time", 3)
    show("top by own (total) time", 2)


# --------------------------------------------------------------------------- main


def print_store(r: LoadResult) -> None:
    m = r.metrics
    commits = m.get("hushwire_store_commits_total", 0.0)
    if not commits:
        return
    writes = m.get("hushwire_messages_in_total", 0.0) + m.get("hushwire_messages_acked_total", 0)
    mean = 1000 * m.get("hushwire_store_commit_seconds_total", 0.0) / commits
    print(
        f"  relay store in the window: {commits:.0f} commits ({commits / r.seconds:.0f}/s), "
        f"mean commit {mean:.1f} ms, {writes / commits:.1f} message writes+deletes per commit"
    )


def fmt_load(label: str, r: LoadResult) -> str:
    return (
        f"  {label}: {r.rate:8.0f} msg/s delivered ({r.delivered} in {r.seconds:.2f} s, "
        f"{r.sent} sent), server CPU {r.server_cpu:.2f} s = {r.cpu_us_per_msg:.0f} us/msg, "
        f"SEND-to-MSG p50 {r.pct(0.5):.2f} ms p99 {r.pct(0.99):.2f} ms, "
        f"load generators CPU {r.load_cpu:.2f} s"
        + (f", {r.errors} errors (first: {r.first_error})" if r.errors else "")
        + (f", {r.duplicates} DUPLICATE deliveries (not counted)" if r.duplicates else "")
        + (f", {r.reordered} out of order" if r.reordered else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, help="queue pairs (default 50; quick 5)")
    ap.add_argument("--seconds", type=float, help="measured seconds (default 10; quick 2)")
    ap.add_argument(
        "--idle",
        type=int,
        help="idle connections (default 5000; quick 2000: with a few hundred, RSS measures the "
        "allocator's warm-up more than the connections)",
    )
    ap.add_argument("--warmup", type=float, help="seconds of load before measuring (2; quick 0.5)")
    ap.add_argument("--workers", type=int, default=2, help="load generator processes (2)")
    ap.add_argument("--inflight", type=int, default=8, help="messages in flight per pair (8)")
    ap.add_argument("--body", type=int, default=1024, help="message body bytes (1024)")
    ap.add_argument("--profile", choices=["auto", "always", "never"], default="auto")
    ap.add_argument("--quick", action="store_true", help="small run for make bench (< 30 s)")
    args = ap.parse_args()
    q = args.quick
    args.pairs = args.pairs or (5 if q else 50)
    args.seconds = args.seconds or (2.0 if q else 10.0)
    args.idle = args.idle if args.idle is not None else (2000 if q else 5000)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if q else 2.0)
    if args.profile == "auto" and q:
        args.profile = "never"

    children = Children()

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    own_limit = _raise_nofile()
    try:
        with tempfile.TemporaryDirectory(prefix="hushwire-bench-") as tmp:
            bench(children, Path(tmp), args, own_limit)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping every process started here", file=sys.stderr)
        sys.exit(130)
    finally:
        children.stop_all()
    print(f"\n(total {time.monotonic() - started:.1f} s)")
    print_result()


def bench(children: Children, tmp: Path, args: argparse.Namespace, own_limit: int) -> None:
    cores = os.cpu_count() or 1
    mono = time.get_clock_info("monotonic").implementation
    print("== Hushwire relay throughput benchmark" + (" (quick)" if args.quick else ""))
    print(
        f"  {cores} cores; the relay, the forwarder and {args.workers} load-generator processes "
        f"all share them, so figures are CPU-bound on both sides. Python "
        f"{sys.version.split()[0]}; send times from {mono} (system-wide on Linux)."
    )
    print(
        f"  load: {args.pairs} pairs, up to {args.inflight} messages in flight per pair, "
        f"{args.body}-byte bodies, {args.warmup:g} s warm-up, {args.seconds:g} s measured; "
        f"idle: {args.idle} connections; open-files limit here {own_limit}"
    )
    print(
        f"  relay data on {fs_type(tmp)} (SQLite WAL, synchronous=FULL); a 4 KB write+fsync "
        f"there takes {fsync_ms(tmp):.1f} ms"
    )

    # ---- relay
    relay = start_relay(children, tmp / "relay")
    print(f"\n== Relay (pid {relay.pid}, {relay.address}, {relay.ws_url})")
    print(f"  relay open-files limit (soft / hard): {nofile_limit(relay.pid)}")
    idle_r = None
    if args.idle:
        idle_r = run_idle(children, "smp", relay.pid, relay.address, relay.ws_url, args)
        before, after, held, failed, err, secs = idle_r
        print(
            f"  idle: {held} SMP connections (handshake done) in {secs:.1f} s"
            + (f", {failed} failed (first: {err})" if failed else "")
            + f"; relay RSS {before} KB -> {after} KB = "
            f"{(after - before) / max(held, 1):.1f} KB per idle connection"
        )
        time.sleep(1.0)
    relay_r = run_load(children, "smp", relay.pid, relay.address, relay.ws_url, args, args.seconds)
    print(fmt_load("relay", relay_r))
    other = relay_r.server_cpu - relay_r.main_thread_cpu
    print(
        f"  relay CPU split: main (event loop) thread {relay_r.main_thread_cpu:.2f} s, "
        f"other threads (SQLite writer) {other:.2f} s"
    )
    print_store(relay_r)
    code = children.stop_popen(relay.proc)
    print(f"  relay stopped with SIGTERM, exit code {code}")

    # ---- floor A: forwarder
    ctx = _mp()
    parent, child = ctx.Pipe()
    fwd = ctx.Process(target=forwarder_main, args=(child,), daemon=True)
    fwd.start()
    children.procs.append(fwd)
    if not parent.poll(30):
        raise RuntimeError("forwarder did not start")
    fwd_url = f"ws://127.0.0.1:{parent.recv()}/"
    assert fwd.pid is not None
    print(f"\n== Floor A: bare WebSocket forwarder (pid {fwd.pid}, {fwd_url}, no SMP)")
    idle_f = None
    if args.idle:
        idle_f = run_idle(children, "fwd", fwd.pid, "", fwd_url, args)
        before, after, held, failed, err, secs = idle_f
        print(
            f"  idle: {held} WebSocket connections in {secs:.1f} s"
            + (f", {failed} failed (first: {err})" if failed else "")
            + f"; forwarder RSS {before} KB -> {after} KB = "
            f"{(after - before) / max(held, 1):.1f} KB per idle connection"
        )
        time.sleep(1.0)
    fwd_r = run_load(children, "fwd", fwd.pid, "", fwd_url, args, args.seconds)
    print(fmt_load("forwarder", fwd_r))
    os.kill(fwd.pid, signal.SIGTERM)
    children.stop_proc(fwd, 10)

    # ---- floor B: crypto
    iters = 300 if args.quick else 2000
    floor = crypto_floor(args.body, iters)
    print("\n== Floor B: the relay's cryptography per delivered message (this process)")
    for k, v in floor.parts.items():
        print(f"  {k:50s} {v:8.1f} us")
    print(f"  {'total':50s} {floor.per_message:8.1f} us per message")
    print(
        f"  (not in the floor: parsing a stored DER key, PublicKey.from_der + "
        f"from_public_bytes = {floor.key_parse_us:.1f} us; the relay caches parsed keys)"
    )

    # ---- summary
    ratio = relay_r.cpu_us_per_msg / (fwd_r.cpu_us_per_msg + floor.per_message)
    print("\n== Summary")
    print(fmt_load("relay    ", relay_r))
    print(fmt_load("forwarder", fwd_r))
    print(f"  crypto floor: {floor.per_message:.1f} us/msg")
    print(
        f"  relay CPU / (forwarder CPU + crypto) = {relay_r.cpu_us_per_msg:.0f} / "
        f"({fwd_r.cpu_us_per_msg:.0f} + {floor.per_message:.0f}) = {ratio:.2f}x "
        f"(target <= {CPU_TARGET}x: {'met' if ratio <= CPU_TARGET else 'NOT met'})"
    )
    FIGURES.update(
        relay_cpu_ratio=ratio,
        relay_cpu_us_per_msg=relay_r.cpu_us_per_msg,
        relay_main_thread_us_per_msg=1e6 * relay_r.main_thread_cpu / max(relay_r.delivered, 1),
        forwarder_cpu_us_per_msg=fwd_r.cpu_us_per_msg,
        crypto_floor_us_per_msg=floor.per_message,
        relay_msgs_per_s=relay_r.rate,
        forwarder_msgs_per_s=fwd_r.rate,
        relay_latency_p50_ms=relay_r.pct(0.5),
        relay_latency_p99_ms=relay_r.pct(0.99),
        relay_errors=relay_r.errors,
    )
    if idle_r is not None and idle_f is not None:
        kb_r = (idle_r[1] - idle_r[0]) / max(idle_r[2], 1)
        kb_f = (idle_f[1] - idle_f[0]) / max(idle_f[2], 1)
        FIGURES.update(
            relay_idle_kb=kb_r,
            forwarder_idle_kb=kb_f,
            relay_idle_kb_ratio=kb_r / kb_f if kb_f > 0 else None,
        )
        idle_ratio = kb_r / kb_f if kb_f > 0 else float("inf")
        print(
            f"  idle memory: relay {kb_r:.1f} KB per connection, forwarder {kb_f:.1f} KB per "
            f"WebSocket connection = {idle_ratio:.2f}x (target <= {IDLE_TARGET_RATIO:g}x: "
            f"{'met' if idle_ratio <= IDLE_TARGET_RATIO else 'NOT met'})"
        )

    # ---- profile
    if args.profile == "always" or (args.profile == "auto" and ratio > CPU_TARGET):
        prof = tmp / "relay.prof"
        relay2 = start_relay(children, tmp / "relay-profiled", profile_out=prof)
        secs = min(args.seconds, 5.0)
        print(f"\n== Profile: the relay under cProfile (pid {relay2.pid}), {secs:g} s of load")
        r2 = run_load(
            children, "smp", relay2.pid, relay2.address, relay2.ws_url, args, secs, profiled=True
        )
        print(fmt_load("relay (profiled)", r2))
        code = children.stop_popen(relay2.proc, 60)
        if code != 0 or not prof.exists():
            print(f"  profiled relay exited with {code}; no profile written")
        else:
            print_profile(prof, r2.delivered, 25)


if __name__ == "__main__":
    main()
