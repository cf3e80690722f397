"""Agent throughput: connection set-up, per-message crypto, one owner with many visitors.

Everything runs on 127.0.0.1 in this one run, each figure next to a floor measured alongside:

1. Connection set-up: a Python visitor agent joins the owner's contact address through a
   relay (``python -m hushwire relay`` as its own process), timed from ``join()`` to
   ``ConnectionEstablished`` on both sides. Floor: the round trip of one SMP PING over the
   same WebSocket times the 10 commands of the fast (SKEY) handshake run one after the other
   (checked by counting the commands sent); agent.py overlaps some of them, in fewer
   sequential steps (``HANDSHAKE_STEPS``), so the floor stays the same reference.
2. Per-message crypto of one A_MSG in this process: ratchet encrypt + per-queue crypto_box,
   then per-queue open + ratchet decrypt. Floor: the same two NaCl boxes and the four raw
   AES-GCM calls without the ratchet (no KDF, no header, no parsing).
3. One owner agent (its own process) and N visitor connections held by visitor agents in
   worker processes (one Agent per process, many ``join()`` calls each). The owner's RSS
   (``/proc/PID/status`` VmRSS) before and after, then every visitor sends messages and the
   owner acks them with receipts. Floor: the same number of messages, same body size, over
   the same relay between raw ``SMPClient`` senders and one raw ``SMPClient`` recipient.
   If the owner is slow it is profiled (cProfile) in an extra round after the measurements.

Prints figures only; nothing is asserted. The last line is ``RESULT`` followed by a JSON
object of the figures: ``join_vs_rtt`` (median set-up time / 10 PING round trips, the
reference of the fast handshake run step after step), ``owner_vs_raw_concurrent`` (the owner's
messages per second / the raw recipient's with concurrent ACKs), and the figures behind them.

    .venv/bin/python benchmarks/agent_throughput.py [--visitors N] [--quick] [--messages M]
        [--joins J] [--workers W] [--echo] [--tmp DIR] [--profile auto|always|never]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import multiprocessing as mp
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _procs import Children, cpu_seconds, fsync_ms, rss_kb
from _procs import die_with_parent as _die_with_parent
from _procs import raise_nofile as _raise_nofile
from _procs import start_relay as _start_relay

from hushwire.agent.agent import (
    Agent,
    AgentProblem,
    ConnectionEstablished,
    ConnectionRequested,
    MessageReceived,
    ReceiptReceived,
)
from hushwire.agent.protocol import (
    A_MSG,
    E2E_MESSAGE_PAD,
    SMP_CLIENT_VERSIONS,
    AgentMessage,
    AgentMsgEnvelope,
    APrivHeader,
    ClientMessage,
    ClientMsgEnvelope,
    PHEmpty,
    agent_message_hash,
    decrypt_client_message,
    encrypt_client_message,
    parse_agent_envelope,
    parse_agent_message,
)
from hushwire.agent.protocol import AGENT_MSG_PAD as MESSAGE_BODY_PAD
from hushwire.agent.protocol import CONN_INFO_PAD as CONFIRMATION_BODY_PAD
from hushwire.agent.ratchet import (
    E2E_VERSIONS,
    HEADER_PAD,
    E2ERatchetParams,
    E2ERatchetParamsUri,
    Ratchet,
    x3dh_initiator,
    x3dh_joiner,
)
from hushwire.client import ClientConfig, MessageEvent, SMPClient
from hushwire.crypto.aead import aes_gcm_decrypt, aes_gcm_encrypt
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.crypto.nacl import dh_box_key
from hushwire.crypto.padding import pad
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import MSG

RELAY_LIMITS = {
    "queue_quota": 1000,
    "commands_per_second": 1000000,
    "new_queues_per_minute": 1000000,
    "max_connections": 20000,
    # Every process here connects from 127.0.0.1: the per-address limits would throttle the
    # signed commands (4 per agent message with its receipt, 2 per raw one) and refuse NEW.
    "new_queues_per_minute_per_address": 1000000,
    "sig_checks_per_second_per_address": 10000000,
    "sig_checks_per_second": 10000000,
    "max_handshakes_per_address": 10000,
}
AGENT_CFG = ClientConfig(ping_interval=None, command_timeout=60)

# The fast (SKEY) handshake as simplexmq's agent runs it, one command after the other: the
# reference of the set-up figure (join_vs_rtt = set-up time / REFERENCE_ROUND_TRIPS PINGs).
REFERENCE_ROUND_TRIPS = 10
# The same handshake, step by step as agent.py runs it. Every step waits for the one before;
# commands within a step go out together; a SEND and the MSG the relay pushes to the
# recipient make one round trip together.
HANDSHAKE_STEPS = (
    ("visitor", "NEW its queue (join -> _new_queue)"),
    ("visitor", "SEND AgentInvitation to the contact queue -> MSG to owner (Outbox)"),
    ("owner", "SKEY the visitor's queue + NEW the reply queue (_secure_and_create) + ACK"),
    ("owner", "SEND confirmation -> MSG to visitor (Outbox)"),
    (
        "visitor",
        "SKEY the owner's reply queue (_handshake_step) + ACK the confirmation; the SEND of "
        "its confirmation follows SKEY once stored, without waiting for SKEY's OK (Outbox): "
        "its OK = visitor established; MSG to owner = owner established",
    ),
)


# --------------------------------------------------------------------------- processes


@dataclass
class Relay:
    proc: subprocess.Popen[bytes]
    address: str
    ws_url: str

    @property
    def pid(self) -> int:
        return self.proc.pid


def start_relay(children: Children, data: Path) -> Relay:
    relay = _start_relay(children, data, RELAY_LIMITS)
    return Relay(relay.proc, relay.address.encode(), relay.ws_url)


def run_child(main: Callable[[], Any]) -> None:
    """Body of a child process: no Ctrl-C (the parent stops it), the default asyncio loop
    (what an application embedding the agent gets)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _raise_nofile()
    asyncio.run(main())


async def recv_pipe(pipe: Connection) -> Any:
    """The next message from the parent, without blocking the event loop."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()
    loop.add_reader(pipe.fileno(), lambda: fut.done() or fut.set_result(None))
    try:
        await fut
    finally:
        loop.remove_reader(pipe.fileno())
        os.set_blocking(pipe.fileno(), True)  # add_reader made it non-blocking
    return pipe.recv()


def expect(p: mp.process.BaseProcess, pipe: Connection, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pipe.poll(0.5):
            msg = pipe.recv()
            if isinstance(msg, tuple) and msg and msg[0] == "error":
                raise RuntimeError(f"{what} failed: {msg[1]}")
            return msg
        if not p.is_alive():
            raise RuntimeError(f"{what} exited with {p.exitcode}")
    raise TimeoutError(f"no answer from {what} in {timeout:.0f} s")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


# --------------------------------------------------------------------------- 1. set-up time


async def events_to_futures(
    agent: Agent, est: dict[str, asyncio.Future[float]], any_est: asyncio.Queue[float]
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        ev = await agent.events.get()
        if isinstance(ev, ConnectionEstablished):
            now = time.perf_counter()
            fut = est.setdefault(ev.conn_id, loop.create_future())
            if not fut.done():
                fut.set_result(now)
            any_est.put_nowait(now)
        elif isinstance(ev, AgentProblem):
            print(f"  agent problem: {ev.message}", flush=True)


async def bench_setup(relay: Relay, tmp: Path, joins: int) -> dict[str, float]:
    server = SMPServer.parse(relay.address)
    owner = Agent(tmp / "s1-owner", server, ws_url=relay.ws_url, client_config=AGENT_CFG)
    visitor = Agent(tmp / "s1-visitor", server, ws_url=relay.ws_url, client_config=AGENT_CFG)
    counts: Counter[str] = Counter()
    original = SMPClient.request

    async def counting(self: SMPClient, entity_id: bytes, command: Any, *a: Any, **k: Any) -> Any:
        counts[command.tag.decode()] += 1
        return await original(self, entity_id, command, *a, **k)

    tasks: list[asyncio.Task[None]] = []
    ping_client: SMPClient | None = None
    try:
        await owner.start()
        await visitor.start()
        _, link = await owner.create_address(b'{"event":"x.info","owner":1}')
        v_est: dict[str, asyncio.Future[float]] = {}
        o_any: asyncio.Queue[float] = asyncio.Queue()
        tasks.append(asyncio.create_task(events_to_futures(owner, {}, o_any)))
        tasks.append(asyncio.create_task(events_to_futures(visitor, v_est, asyncio.Queue())))
        both: list[float] = []
        v_side: list[float] = []
        o_side: list[float] = []
        loop = asyncio.get_running_loop()
        SMPClient.request = counting  # type: ignore[method-assign]
        commits0 = 0
        try:
            for i in range(joins + 1):
                t0 = time.perf_counter()
                conn = await visitor.join(link, b'{"event":"x.info","visitor":%d}' % i)
                tv = await asyncio.wait_for(v_est.setdefault(conn, loop.create_future()), 30)
                to = await asyncio.wait_for(o_any.get(), 30)
                if i == 0:  # warm-up (imports, first use of every code path)
                    counts.clear()
                    commits0 = _commits(owner) + _commits(visitor)
                    continue
                v_side.append(1000 * (tv - t0))
                o_side.append(1000 * (to - t0))
                both.append(1000 * (max(tv, to) - t0))
        finally:
            SMPClient.request = original  # type: ignore[method-assign]
        commits = (_commits(owner) + _commits(visitor) - commits0) / joins
        ping_client = await SMPClient.connect(server, ws_url=relay.ws_url, config=AGENT_CFG)
        for _ in range(20):
            await ping_client.ping()
        rtts = [1000 * await ping_client.ping() for _ in range(200)]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if ping_client is not None:
            await ping_client.close()
        await owner.stop()
        await visitor.stop()
    rtt = statistics.median(rtts)
    n_rt = REFERENCE_ROUND_TRIPS
    print(f"\n== 1. Connection set-up: {joins} sequential joins (+1 warm-up), both agents here")
    print(
        f"  sequential relay round trips of the fast handshake: {n_rt} one command after the "
        f"other (the reference), {len(HANDSHAKE_STEPS)} as agent.py runs it:"
    )
    for i, (who, step) in enumerate(HANDSHAKE_STEPS, 1):
        print(f"    {i:2}. {who:7} {step}")
    per_join = {k: v / joins for k, v in sorted(counts.items())}
    print(
        "  commands sent per join (counted): "
        + ", ".join(f"{k} {v:g}" for k, v in per_join.items())
        + f" = {sum(per_join.values()):g}; SQLite commits per join (both agents): {commits:g}"
    )
    print(
        f"  join() -> established on both sides: median {statistics.median(both):.1f} ms, "
        f"p90 {pct(both, 0.9):.1f} ms (min {min(both):.1f}, max {max(both):.1f})"
    )
    print(
        f"    visitor side median {statistics.median(v_side):.1f} ms, "
        f"owner side median {statistics.median(o_side):.1f} ms"
    )
    print(
        f"  baseline: SMP PING round trip median {rtt:.3f} ms (p90 {pct(rtts, 0.9):.3f}) "
        f"x {n_rt} = {rtt * n_rt:.2f} ms network floor"
    )
    print(
        f"  -> set-up is {statistics.median(both) / (rtt * n_rt):.1f}x the floor; "
        f"{statistics.median(both) - rtt * len(HANDSHAKE_STEPS):.1f} ms beyond agent.py's "
        f"{len(HANDSHAKE_STEPS)} round trips is agent work (crypto, SQLite commits with fsync) "
        "and relay work per command"
    )
    return {
        "join_ms": round(statistics.median(both), 2),
        "rtt_ms": round(rtt, 3),
        "join_vs_rtt": round(statistics.median(both) / (rtt * n_rt), 2),
        "join_round_trips": len(HANDSHAKE_STEPS),
        "join_commits": round(commits, 1),
    }


def _syncs(agent: Agent) -> int:
    """Log fsyncs of the agent's group commit (0 where the store has no such count)."""
    return int(getattr(getattr(agent.store, "group", None), "syncs", 0))


def _commits(agent: Agent) -> int:
    return int(getattr(agent.store, "commits", 0))


# --------------------------------------------------------------------------- 2. crypto


def _ratchet_pair() -> tuple[Ratchet, Ratchet]:
    """(visitor = initiator, owner = joiner) ratchets after X3DH, both able to send."""
    a1, a2 = KeyPair.generate(KeyAlg.X448), KeyPair.generate(KeyAlg.X448)
    b1, b2 = KeyPair.generate(KeyAlg.X448), KeyPair.generate(KeyAlg.X448)
    inv = E2ERatchetParamsUri(E2E_VERSIONS, a1.public, a2.public)
    jk = x3dh_joiner(b1.private, b2.private, inv)
    joiner = Ratchet.init_joiner(jk, a2.public, E2E_VERSIONS.max)
    conf = E2ERatchetParams(E2E_VERSIONS.max, b1.public, b2.public)
    ik = x3dh_initiator(a1.private, a2.private, conf)
    initiator = Ratchet.init_initiator(ik, a2, E2E_VERSIONS.max)
    enc, joiner = joiner.encrypt(b"confirmation", CONFIRMATION_BODY_PAD)
    _, initiator = initiator.decrypt(enc)
    return initiator, joiner


def _best_rate(fn: Callable[[int], None], iters: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(iters)
        best = min(best, (time.perf_counter() - start) / iters)
    return 1 / best


def bench_crypto(iters: int) -> int:
    """Prints the figures; returns the size of one sealed A_MSG body (for the raw floor)."""
    body = b'{"v":"1","event":"x.msg.new","params":{"content":{"type":"text","text":"hi"}}}'
    snd_e2e, rcv_e2e = KeyPair.generate(KeyAlg.X25519), KeyPair.generate(KeyAlg.X25519)
    snd_key = dh_box_key(rcv_e2e.public, snd_e2e.private)
    rcv_key = dh_box_key(snd_e2e.public, rcv_e2e.private)
    sealed_len = [0]

    def one(v: Ratchet, o: Ratchet, snd_id: int, prev: bytes) -> tuple[Ratchet, Ratchet, bytes]:
        am = AgentMessage(APrivHeader(snd_id, prev), A_MSG(body)).encode()
        enc, v = v.encrypt(am, MESSAGE_BODY_PAD)
        env = AgentMsgEnvelope(E2E_VERSIONS.max, enc).encode()
        cm = ClientMessage(PHEmpty(), env).encode()
        nonce = os.urandom(24)
        sealed = ClientMsgEnvelope(
            SMP_CLIENT_VERSIONS.max, None, nonce, encrypt_client_message(snd_key, nonce, cm, 16000)
        ).encode()
        sealed_len[0] = len(sealed)
        # the owner's side
        got = ClientMsgEnvelope.decode(sealed)
        cm2 = ClientMessage.decode(decrypt_client_message(rcv_key, got.nonce, got.enc_body))
        envelope = parse_agent_envelope(cm2.body)
        assert isinstance(envelope, AgentMsgEnvelope)
        data, o = o.decrypt(envelope.enc_agent_message)
        parsed = parse_agent_message(data)
        assert isinstance(parsed, AgentMessage)
        return v, o, agent_message_hash(am)

    def full(n: int) -> None:
        v, o = _ratchet_pair()
        prev = b""
        for i in range(n):
            v, o, prev = one(v, o, i + 2, prev)

    def full_as_agent(n: int) -> None:
        """What agent.py adds per message: the ratchet goes through JSON on both sides
        (st.ratchet), and _seal_for_queue derives the box key (X25519) every time."""
        v, o = _ratchet_pair()
        vj, oj = v.to_json(), o.to_json()
        prev = b""
        snd_priv, peer_pub = snd_e2e.private.to_der(), rcv_e2e.public.to_der()
        for i in range(n):
            dh_box_key(PublicKey.from_der(peer_pub), PrivateKey.from_der(snd_priv))
            v, o, prev = one(Ratchet.from_json(vj), Ratchet.from_json(oj), i + 2, prev)
            vj, oj = v.to_json(), o.to_json()

    def ping_pong(n: int) -> None:
        v, o = _ratchet_pair()
        prev = b""
        for i in range(n):
            if i % 2 == 0:
                v, o, prev = one(v, o, i + 2, prev)
            else:
                o, v, prev = one(o, v, i + 2, prev)

    aes_key, iv = os.urandom(32), os.urandom(16)
    ad = os.urandom(112)
    header_plain = pad(os.urandom(60), HEADER_PAD)
    body_plain = pad(os.urandom(200), MESSAGE_BODY_PAD)

    def floor(n: int) -> None:
        for _ in range(n):
            hct, htag = aes_gcm_encrypt(aes_key, iv, ad, header_plain)
            bct, btag = aes_gcm_encrypt(aes_key, iv, ad, body_plain)
            blob = hct + htag + bct + btag
            nonce = os.urandom(24)
            sealed = encrypt_client_message(snd_key, nonce, blob, E2E_MESSAGE_PAD)
            opened = decrypt_client_message(rcv_key, nonce, sealed)
            aes_gcm_decrypt(aes_key, iv, ad, opened[: len(hct)], htag)
            start = len(hct) + 16
            aes_gcm_decrypt(aes_key, iv, ad, opened[start : start + len(bct)], btag)

    rates = {
        "full A_MSG crypto (ratchet + crypto_box, encrypt and decrypt)": _best_rate(full, iters),
        "  the same as agent.py runs it (+ ratchet JSON both sides, box key per seal)": (
            _best_rate(full_as_agent, iters)
        ),
        "  direction alternating every message (a DH ratchet step each, X448 x3)": (
            _best_rate(ping_pong, max(iters // 5, 50))
        ),
        "baseline: 2 NaCl boxes + 4 raw AES-GCM calls, same sizes, no ratchet": _best_rate(
            floor, iters
        ),
    }
    print(f"\n== 2. Per-message crypto of one A_MSG, one core, this process ({iters} messages)")
    full_rate = next(iter(rates.values()))
    floor_rate = list(rates.values())[-1]
    for name, r in rates.items():
        print(f"  {name:<78} {r:8.0f} msg/s  {1e6 / r:7.1f} us/msg")
    print(
        "  -> ratchet/KDF/parsing overhead over the floor: "
        f"{1e6 / full_rate - 1e6 / floor_rate:.1f} us/msg ({floor_rate / full_rate:.2f}x)"
    )
    return sealed_len[0]


# --------------------------------------------------------------------------- 3. owner process


def owner_main(address: str, ws_url: str, data: str, echo: bool, pipe: Connection) -> None:
    async def main() -> None:
        agent = Agent(Path(data), SMPServer.parse(address), ws_url=ws_url, client_config=AGENT_CFG)
        await agent.start()
        _, link = await agent.create_address(b'{"event":"x.info","profile":"owner"}')
        gc.collect()
        pipe.send(("ready", os.getpid(), link))
        state = {
            "conns": 0,
            "requested": 0,
            "msgs": 0,
            "want_conns": -1,
            "want_msgs": -1,
            "problems": 0,
        }
        first_problem: list[str] = []
        t_first: list[float] = []
        prof: cProfile.Profile | None = None

        def check() -> None:
            if state["want_conns"] >= 0 and state["conns"] >= state["want_conns"]:
                state["want_conns"] = -1
                pipe.send(
                    (
                        "conns",
                        time.monotonic(),
                        state["problems"],
                        first_problem[:1],
                        state["requested"],
                    )
                )
            if state["want_msgs"] >= 0 and state["msgs"] >= state["want_msgs"]:
                state["want_msgs"] = -1
                pipe.send(
                    (
                        "msgs",
                        t_first[0] if t_first else 0.0,
                        time.monotonic(),
                        _commits(agent),
                        _syncs(agent),
                    )
                )

        async def consume() -> None:
            while True:
                ev = await agent.events.get()
                if isinstance(ev, ConnectionEstablished):
                    state["conns"] += 1
                elif isinstance(ev, ConnectionRequested):
                    state["requested"] += 1
                elif isinstance(ev, MessageReceived):
                    if not t_first:
                        t_first.append(time.monotonic())
                    await agent.ack_message(ev.msg_id, receipt=True)
                    if echo:
                        await agent.send(ev.conn_id, b"echo: " + ev.body)
                    state["msgs"] += 1
                elif isinstance(ev, AgentProblem):
                    state["problems"] += 1
                    first_problem.append(ev.message)
                check()

        task = asyncio.create_task(consume())
        try:
            while True:
                cmd = await recv_pipe(pipe)
                if cmd[0] == "expect_conns":
                    state["want_conns"] = state["conns"] + cmd[1]
                elif cmd[0] == "expect_msgs":
                    state["want_msgs"] = state["msgs"] + cmd[1]
                    t_first.clear()
                    pipe.send(("commits", _commits(agent), _syncs(agent)))
                elif cmd[0] == "gc":
                    gc.collect()
                    pipe.send(("gc",))
                elif cmd[0] == "profile_start":
                    prof = cProfile.Profile()
                    prof.enable()
                    pipe.send(("ok",))
                elif cmd[0] == "profile_stop":
                    assert prof is not None
                    prof.disable()
                    prof.dump_stats(cmd[1])
                    pipe.send(("ok",))
                elif cmd[0] == "stop":
                    break
                check()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await agent.stop()
        pipe.send(("stopped",))

    run_child(main)


def visitor_main(
    address: str, ws_url: str, data: str, link: str, echo: bool, pipe: Connection
) -> None:
    """One visitor Agent holding many connections to the owner."""

    async def main() -> None:
        agent = Agent(Path(data), SMPServer.parse(address), ws_url=ws_url, client_config=AGENT_CFG)
        await agent.start()
        loop = asyncio.get_running_loop()
        est: dict[str, asyncio.Future[float]] = {}
        conns: list[str] = []
        counts = {"receipts": 0, "echoes": 0, "want": -1, "problems": 0}
        done: list[asyncio.Future[float]] = []

        async def consume() -> None:
            while True:
                ev = await agent.events.get()
                if isinstance(ev, ConnectionEstablished):
                    fut = est.setdefault(ev.conn_id, loop.create_future())
                    if not fut.done():
                        fut.set_result(time.monotonic())
                elif isinstance(ev, ReceiptReceived):
                    counts["receipts"] += 1
                elif isinstance(ev, MessageReceived):
                    await agent.ack_message(ev.msg_id, receipt=False)
                    counts["echoes"] += 1
                elif isinstance(ev, AgentProblem):
                    counts["problems"] += 1
                    continue
                else:
                    continue
                got = counts["echoes"] if echo else counts["receipts"]
                if counts["want"] >= 0 and got >= counts["want"] and done:
                    if not done[0].done():
                        done[0].set_result(time.monotonic())

        async def join_one(sem: asyncio.Semaphore, i: int) -> float:
            async with sem:
                t0 = time.monotonic()
                conn = await agent.join(link, b'{"event":"x.info","visitor":%d}' % i)
                conns.append(conn)
                t1 = await asyncio.wait_for(est.setdefault(conn, loop.create_future()), 600)
                return t1 - t0

        async def send_all(conn: str, n: int) -> None:
            for k in range(n):
                await agent.send(conn, b'{"event":"x.msg.new","n":%d}' % k)

        task = asyncio.create_task(consume())
        pipe.send(("ready",))
        try:
            while True:
                cmd = await recv_pipe(pipe)
                if cmd[0] == "join":
                    _, n, conc, base = cmd
                    sem = asyncio.Semaphore(conc)
                    lat = await asyncio.gather(*(join_one(sem, base + i) for i in range(n)))
                    pipe.send(("joined", time.monotonic(), lat, counts["problems"]))
                elif cmd[0] == "send":
                    _, per_conn = cmd
                    done[:] = [loop.create_future()]
                    base = counts["echoes"] if echo else counts["receipts"]
                    counts["want"] = base + per_conn * len(conns)
                    t0 = time.monotonic()
                    await asyncio.gather(*(send_all(c, per_conn) for c in conns))
                    t_enq = time.monotonic()
                    t_done = await asyncio.wait_for(done[0], 1800)
                    pipe.send(("sent", t0, t_enq, t_done))
                elif cmd[0] == "stop":
                    break
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await agent.stop()
        pipe.send(("stopped",))

    try:
        run_child(main)
    except BaseException as e:
        with contextlib.suppress(OSError):
            pipe.send(("error", repr(e)))
        raise


# --------------------------------------------------------------------------- 3. raw floor


def raw_recipient_main(address: str, ws_url: str, n: int, pipe: Connection) -> None:
    """One raw SMPClient with n subscribed queues; ACKs every message."""

    async def main() -> None:
        server = SMPServer.parse(address)
        cfg = ClientConfig(ping_interval=None, command_timeout=60, max_events=1 << 16)
        client = await SMPClient.connect(server, ws_url=ws_url, config=cfg)
        keys: dict[bytes, KeyPair] = {}
        sids: list[bytes] = []

        async def new() -> None:
            rk, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
            ids = await client.create_queue(rk, dh, subscribe=True)
            keys[bytes(ids.rcv_id)] = rk
            sids.append(bytes(ids.snd_id))

        for start in range(0, n, 100):
            await asyncio.gather(*(new() for _ in range(min(100, n - start))))
        pipe.send(("ready", os.getpid(), sids))
        state = {"got": 0, "want": -1, "mode": "serial"}
        t_first: list[float] = []

        def count() -> None:
            state["got"] += 1
            if not t_first:
                t_first.append(time.monotonic())
            if state["got"] == state["want"]:
                pipe.send(("msgs", t_first[0], time.monotonic()))

        async def drain(rid: bytes, msg: MSG | None) -> None:
            while msg is not None:
                msg = await client.ack(rid, keys[rid], msg.msg_id)
                count()

        tasks: set[asyncio.Task[None]] = set()

        async def consume() -> None:
            while True:
                ev = await client.events.get()
                if not isinstance(ev, MessageEvent):
                    continue
                rid = bytes(ev.recipient_id)
                if state["mode"] == "serial":  # one at a time (the old agent)
                    await drain(rid, ev.msg)
                else:
                    t = asyncio.create_task(drain(rid, ev.msg))
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)

        task = asyncio.create_task(consume())
        try:
            while True:
                cmd = await recv_pipe(pipe)
                if cmd[0] == "expect":
                    state["got"], state["want"], state["mode"] = 0, cmd[1], cmd[2]
                    t_first.clear()
                    pipe.send(("ok",))
                elif cmd[0] == "stop":
                    break
        finally:
            for t in (task, *tasks):
                t.cancel()
            await asyncio.gather(task, *tasks, return_exceptions=True)
            await client.close()
        pipe.send(("stopped",))

    run_child(main)


def raw_sender_main(address: str, ws_url: str, sids: list[bytes], pipe: Connection) -> None:
    async def main() -> None:
        server = SMPServer.parse(address)
        cfg = ClientConfig(ping_interval=None, command_timeout=60)
        client = await SMPClient.connect(server, ws_url=ws_url, config=cfg)
        sk: dict[bytes, KeyPair] = {}

        async def secure(sid: bytes) -> None:
            sk[sid] = KeyPair.generate(KeyAlg.ED25519)
            await client.secure_sender(sid, sk[sid])

        for start in range(0, len(sids), 100):
            await asyncio.gather(*(secure(s) for s in sids[start : start + 100]))
        pipe.send(("ready",))
        try:
            while True:
                cmd = await recv_pipe(pipe)
                if cmd[0] == "send":
                    _, per_queue, size = cmd
                    body = os.urandom(size)

                    async def send_all(sid: bytes, n: int = per_queue, b: bytes = body) -> None:
                        for _ in range(n):  # one at a time per queue, like Agent._deliver
                            await client.send(sid, b, key=sk[sid])

                    t0 = time.monotonic()
                    await asyncio.gather(*(send_all(s) for s in sids))
                    pipe.send(("sent", t0, time.monotonic()))
                elif cmd[0] == "stop":
                    break
        finally:
            await client.close()
        pipe.send(("stopped",))

    run_child(main)


# --------------------------------------------------------------------------- 3. driver


def _ctx() -> Any:
    return mp.get_context("fork")


def _start(children: Children, target: Callable[..., None], *args: Any) -> tuple[Any, Connection]:
    parent, child = _ctx().Pipe()
    p = _ctx().Process(target=target, args=(*args, child), daemon=True)
    p.start()
    children.procs.append(p)
    return p, parent


def _stop(children: Children, proc: Any, pipe: Connection) -> None:
    with contextlib.suppress(OSError, EOFError, BrokenPipeError):
        pipe.send(("stop",))
        if pipe.poll(30):
            pipe.recv()
    children.stop_proc(proc, 10)


def split(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def print_profile(path: Path, per: int, unit: str, top: int = 22) -> None:
    st = pstats.Stats(str(path))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = st.stats  # type: ignore[attr-defined]

    def name(k: tuple[str, int, str]) -> str:
        file, line, func = k
        for marker in ("/site-packages/", "/src/", "/lib/python3.11/"):
            if marker in file:
                file = file.split(marker, 1)[1]
                break
        return f"{file}:{line}({func})" if line else func

    for title, col in (("by own time (tottime)", 2), ("by cumulative time", 3)):
        print(f"  top {top} {title}:")
        print(
            f"    {'calls':>9} {'tottime s':>10} {'cumtime s':>10} {f'cum ms/{unit}':>11}  function"
        )
        rows = sorted(raw.items(), key=lambda kv: kv[1][col], reverse=True)
        shown = 0
        for k, (_cc, nc, tt, ct, _) in rows:
            n = name(k)
            if col == 3 and any(m in n for m in ("base_events.py", "events.py:8", "run_forever")):
                continue  # the event loop itself wraps everything
            print(f"    {nc:>9} {tt:>10.3f} {ct:>10.3f} {1000 * ct / per:>11.3f}  {n}")
            shown += 1
            if shown >= top:
                break


def bench_owner(
    children: Children, relay: Relay, tmp: Path, args: Any, body_size: int
) -> dict[str, float]:
    n, m, w = args.visitors, args.messages, args.workers
    print(
        f"\n== 3. One owner agent, {n} visitor connections from {w} visitor processes "
        f"({', '.join(map(str, split(n, w)))} connections each), {m} messages per visitor"
    )
    owner, opipe = _start(
        children, owner_main, relay.address, relay.ws_url, str(tmp / "owner"), args.echo
    )
    visitors: list[tuple[Any, Connection]] = []
    try:
        _, opid, link = expect(owner, opipe, 120, "owner")
        for i in range(w):
            v = _start(
                children,
                visitor_main,
                relay.address,
                relay.ws_url,
                str(tmp / f"visitor{i}"),
                link,
                args.echo,
            )
            expect(*v, 120, f"visitor {i}")
            visitors.append(v)
        time.sleep(0.5)
        rss0 = rss_kb(opid)
        print(f"  owner pid {opid}: VmRSS {rss0} KB after start() + create_address()")
        # ---- joins
        opipe.send(("expect_conns", n))
        cpu0, t0 = cpu_seconds(opid), time.monotonic()
        base = 0
        for (_, pipe), k in zip(visitors, split(n, w), strict=True):
            pipe.send(("join", k, args.concurrency, base))
            base += k
        lat: list[float] = []
        t_vis = 0.0
        problems = 0
        for i, (p, pipe) in enumerate(visitors):
            _, t, ls, pr = expect(p, pipe, args.timeout, f"visitor {i} joins")
            lat += ls
            t_vis = max(t_vis, t)
            problems += pr
        _, t_own, oprob, first, requested = expect(owner, opipe, args.timeout, "owner establishing")
        cpu1 = cpu_seconds(opid)
        t_end = max(t_vis, t_own)
        opipe.send(("gc",))
        expect(owner, opipe, 60, "owner gc")
        time.sleep(0.5)
        rss1 = rss_kb(opid)
        joins_s = t_end - t0
        print(
            f"  {n} joins ({args.concurrency} in flight per visitor process): {joins_s:.1f} s = "
            f"{n / joins_s:.1f} joins/s; join() -> visitor established median "
            f"{1000 * statistics.median(lat):.0f} ms, p90 {1000 * pct(lat, 0.9):.0f} ms"
        )
        print(
            f"    owner CPU {cpu1 - cpu0:.1f} s = {1000 * (cpu1 - cpu0) / n:.1f} ms per connection "
            f"({100 * (cpu1 - cpu0) / joins_s:.0f}% of a core); ConnectionRequested at the owner: "
            f"{requested} for {n} joins; agent problems: visitors "
            f"{problems}, owner {oprob}{' (' + first[0] + ')' if first else ''}"
        )
        print(
            f"  owner VmRSS {rss0} KB -> {rss1} KB with {n} connections = "
            f"{(rss1 - rss0) / n:.1f} KB per connection"
        )
        # ---- messages
        total = n * m
        opipe.send(("expect_msgs", total))
        _, commits0, syncs0 = expect(owner, opipe, 30, "owner")
        others = {"relay": [relay.pid], "visitors": [p.pid for p, _ in visitors]}
        others0 = {k: sum(cpu_seconds(x) for x in v) for k, v in others.items()}
        cpu0, t0 = cpu_seconds(opid), time.monotonic()
        for _, pipe in visitors:
            pipe.send(("send", m))
        sent = [
            expect(p, pipe, args.timeout, f"visitor {i} sending")
            for i, (p, pipe) in enumerate(visitors)
        ]
        _, o_first, o_last, commits1, syncs1 = expect(owner, opipe, args.timeout, "owner receiving")
        cpu1 = cpu_seconds(opid)
        others1 = {k: sum(cpu_seconds(x) for x in v) for k, v in others.items()}
        rss2 = rss_kb(opid)
        t_enq = max(s[2] for s in sent) - t0
        t_back = max(s[3] for s in sent) - t0
        o_secs = o_last - t0
        back = "echoes" if args.echo else "receipts"
        agent_rate = total / o_secs
        print(
            f"  {total} messages: all received and acked by the owner in {o_secs:.2f} s = "
            f"{agent_rate:.0f} msg/s (first after {1000 * (o_first - t0):.0f} ms); "
            f"all {back} back at the visitors after {t_back:.2f} s = {total / t_back:.0f} msg/s"
        )
        print(
            f"    visitors took {t_enq:.2f} s to enqueue (send(): ratchet + SQLite commit); "
            f"owner CPU {cpu1 - cpu0:.2f} s = {1e6 * (cpu1 - cpu0) / total:.0f} us per message "
            f"({100 * (cpu1 - cpu0) / o_secs:.0f}% of a core); owner VmRSS now {rss2} KB; "
            f"owner SQLite commits {commits1 - commits0} = "
            f"{(commits1 - commits0) / total:.2f} per message, log fsyncs {syncs1 - syncs0} = "
            f"{(syncs1 - syncs0) / total:.2f} per message"
        )
        spent = {k: others1[k] - others0[k] for k in others}
        machine = cpu1 - cpu0 + sum(spent.values())
        print(
            f"    CPU per message in the same interval: owner {1e6 * (cpu1 - cpu0) / total:.0f} "
            f"us, relay {1e6 * spent['relay'] / total:.0f} us (the message and its receipt), "
            f"visitors {1e6 * spent['visitors'] / total:.0f} us; all three "
            f"{1e6 * machine / total:.0f} us = {machine / o_secs:.2f} of the "
            f"{os.cpu_count()} cores (a ceiling of {os.cpu_count() * total / machine:.0f} msg/s "
            "if they were the only load)"
        )
        # ---- profile
        slow = agent_rate < 500 or joins_s / n > 0.02
        if args.profile == "always" or (args.profile == "auto" and slow):
            extra = split(args.profile_joins, w)
            prof = tmp / "owner.prof"
            opipe.send(("profile_start",))
            expect(owner, opipe, 30, "owner profile")
            opipe.send(("expect_conns", sum(extra)))
            for (_, pipe), k in zip(visitors, extra, strict=True):
                pipe.send(("join", k, args.concurrency, base))
                base += k
            for i, (p, pipe) in enumerate(visitors):
                expect(p, pipe, args.timeout, f"visitor {i} joins (profiled)")
            expect(owner, opipe, args.timeout, "owner establishing (profiled)")
            opipe.send(("expect_msgs", n + sum(extra)))
            expect(owner, opipe, 30, "owner")
            for _, pipe in visitors:
                pipe.send(("send", 1))
            for i, (p, pipe) in enumerate(visitors):
                expect(p, pipe, args.timeout, f"visitor {i} sending (profiled)")
            expect(owner, opipe, args.timeout, "owner receiving (profiled)")
            opipe.send(("profile_stop", str(prof)))
            expect(owner, opipe, 60, "owner profile")
            per = sum(extra) + n + sum(extra)
            print(
                f"\n== Profile of the owner (cProfile, extra round after the measurements): "
                f"{sum(extra)} more joins, then 1 message from each of {n + sum(extra)} "
                f"visitors; 'cum ms/event' divides by {per} (joins + messages)"
            )
            print_profile(prof, per, "event")
    finally:
        for v in visitors:
            _stop(children, *v)
        _stop(children, owner, opipe)
    # ---- raw floor, same relay, same number of messages and body size
    rcv, rpipe = _start(children, raw_recipient_main, relay.address, relay.ws_url, n)
    senders: list[tuple[Any, Connection]] = []
    try:
        _, _rpid, sids = expect(rcv, rpipe, 300, "raw recipient")
        start = 0
        for i, k in enumerate(split(n, w)):
            s = _start(
                children, raw_sender_main, relay.address, relay.ws_url, sids[start : start + k]
            )
            start += k
            expect(*s, 300, f"raw sender {i}")
            senders.append(s)
        results = {}
        raw_pids = [relay.pid, rcv.pid, *(p.pid for p, _ in senders)]
        raw_cpu = 0.0
        for mode in ("serial", "concurrent"):
            rpipe.send(("expect", total, mode))
            expect(rcv, rpipe, 30, "raw recipient")
            raw_cpu = -sum(cpu_seconds(x) for x in raw_pids)
            t0 = time.monotonic()
            for _, pipe in senders:
                pipe.send(("send", m, body_size))
            for i, (p, pipe) in enumerate(senders):
                expect(p, pipe, args.timeout, f"raw sender {i}")
            _, _f, last = expect(rcv, rpipe, args.timeout, "raw recipient")
            results[mode] = last - t0
            raw_cpu += sum(cpu_seconds(x) for x in raw_pids)
    finally:
        for s in senders:
            _stop(children, *s)
        _stop(children, rcv, rpipe)
    print(
        f"  baseline, raw SMPClient (no agent): {n} queues on one recipient connection, "
        f"{w} sender processes, {total} messages of {body_size} bytes, recipient ACKs each:"
    )
    for mode, secs in results.items():
        how = (
            "one message at a time, awaiting each ACK (as the agent did before)"
            if mode == "serial"
            else "ACKs of different queues concurrently"
        )
        print(f"    {how}: {secs:.2f} s = {total / secs:.0f} msg/s")
    print(
        f"    CPU per message, concurrent ACKs (relay + recipient + senders): "
        f"{1e6 * raw_cpu / total:.0f} us"
    )
    print(
        f"  -> the owner agent handles {agent_rate:.0f} msg/s = "
        f"{100 * agent_rate / (total / results['serial']):.0f}% of the raw serial floor, "
        f"{100 * agent_rate / (total / results['concurrent']):.0f}% of the raw concurrent floor"
    )
    return {
        "owner_msgs_per_s": round(agent_rate, 1),
        "raw_serial_msgs_per_s": round(total / results["serial"], 1),
        "raw_concurrent_msgs_per_s": round(total / results["concurrent"], 1),
        "owner_vs_raw_concurrent": round(agent_rate / (total / results["concurrent"]), 3),
        "owner_joins_per_s": round(n / joins_s, 1),
        "owner_cpu_us_per_msg": round(1e6 * (cpu1 - cpu0) / total),
        "owner_commits_per_msg": round((commits1 - commits0) / total, 2),
        "owner_fsyncs_per_msg": round((syncs1 - syncs0) / total, 2),
        "all_cpu_us_per_msg": round(1e6 * machine / total),
        "raw_all_cpu_us_per_msg": round(1e6 * raw_cpu / total),
    }


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--visitors", type=int, help="visitor connections (default 1000; quick 50)")
    ap.add_argument("--messages", type=int, help="messages per visitor (default 3; quick 3)")
    ap.add_argument("--joins", type=int, help="timed sequential joins in 1 (default 20)")
    ap.add_argument("--iters", type=int, help="messages in the crypto loop (5000; quick 1000)")
    ap.add_argument("--workers", type=int, default=2, help="visitor processes (2)")
    ap.add_argument("--concurrency", type=int, default=25, help="joins in flight per process")
    ap.add_argument("--echo", action="store_true", help="the owner also echoes each message")
    ap.add_argument("--tmp", type=Path, help="where the relay and agents keep their data")
    ap.add_argument("--profile", choices=["auto", "always", "never"], default="auto")
    ap.add_argument("--profile-joins", type=int, help="joins in the profiled round (50; quick 10)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds for any one phase")
    ap.add_argument("--quick", action="store_true", help="small run (< 60 s)")
    args = ap.parse_args()
    q = args.quick
    args.visitors = args.visitors or (50 if q else 1000)
    args.messages = args.messages or 3
    args.joins = args.joins or (10 if q else 20)
    args.iters = args.iters or (1000 if q else 5000)
    args.profile_joins = args.profile_joins or (10 if q else 50)
    _raise_nofile()
    started = time.monotonic()
    children = Children()
    tmp = Path(tempfile.mkdtemp(prefix="hushwire-agent-bench-", dir=args.tmp))
    prev = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        print("== Hushwire agent throughput benchmark" + (" (quick)" if q else ""))
        print(
            f"  {os.cpu_count()} cores, Python {sys.version.split()[0]}, data in {tmp} "
            f"(4 KB write+fsync there: {fsync_ms(tmp):.2f} ms; an agent store's log sync pays "
            "about one, on a worker thread, for every commit made before it)"
        )
        relay = start_relay(children, tmp / "relay")
        print(f"  relay pid {relay.pid}, {relay.ws_url}, limits {json.dumps(RELAY_LIMITS)}")
        result = asyncio.run(bench_setup(relay, tmp, args.joins))
        body_size = bench_crypto(args.iters)
        result |= bench_owner(children, relay, tmp, args, body_size)
        print(f"\n  total run time {time.monotonic() - started:.0f} s")
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    finally:
        signal.signal(signal.SIGTERM, prev)
        children.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
