"""GRP/1 on loopback: connect time, message latency added by two hops and by cover traffic,
and the bandwidth an open GRP connection really uses, with baselines from this run.

Two relays run in this process on 127.0.0.1: E (entry, with ``--grp``) and D (destination).
A recipient subscribes to a queue on D over TLS. Each sample is one SEND, timed from the
call until the recipient's client has the MSG (monotonic clock):

- ``direct``: the sender on D itself over WebSocket (baseline: one hop, no cover);
- ``two_hops``: the sender on E over WebSocket, SEND forwarded E -> D (``PFWD``/``RFWD``);
- ``grp``: the sender on E over GRP/1 at the cover rate ``--rate`` (default 1/s, the
  protocol's): two hops plus waiting for the next Poisson ticks.

Connect: WebSocket + SMP handshake (baseline), WebSocket + Noise IKhfs + key proof alone,
and all of it with the SMP handshake inside GRP (whose blocks wait for cover ticks).
Bandwidth: the frames the GRP client sent and received while the samples ran, scaled to one
hour, in bytes on the wire (``ws://`` header included).

Prints figures only; nothing is asserted. The last line is ``RESULT`` and a JSON object.

    .venv/bin/python benchmarks/grp_latency.py [--samples N] [--rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from hushwire.client import ClientConfig, MessageEvent, SMPClient
from hushwire.client.proxy import proxy_session, send_via_proxy
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.grp.frames import WIRE_FRAME_SIZE
from hushwire.server.run import RunningRelay
from hushwire.testing.grp import grp_relay, tls_address
from hushwire.transport.grp import CoverSettings, connect_grp

CFG = ClientConfig(ping_interval=None, command_timeout=60)


def ws_url(r: RunningRelay) -> str:
    return f"ws://127.0.0.1:{r.ws_port}"


async def timed_connect(r: RunningRelay, url: str, cfg: ClientConfig, n: int) -> float:
    """Median milliseconds to connect and finish the handshakes."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        c = await SMPClient.connect(r.address, ws_url=url, config=cfg)
        times.append((time.perf_counter() - t0) * 1e3)
        await c.close()
    return statistics.median(times)


async def run(samples: int, rate: float) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            grp_relay(Path(tmp) / "e", rate, ws=True) as e,
            grp_relay(Path(tmp) / "d", rate, ws=True) as d,
        ):
            assert e.grp_address is not None
            d_addr = tls_address(d)
            counters: dict[str, int] = {}
            grp_cfg = replace(CFG, grp_cover=CoverSettings(rate=rate, counters=counters))
            figures["connect_ws_smp_ms"] = await timed_connect(e, ws_url(e), CFG, 10)
            # The Noise handshake does not wait for ticks; the SMP handshake inside does.
            noise = []
            for _ in range(10):
                t0 = time.perf_counter()
                conn = await connect_grp(e.grp_address, cover=CoverSettings(rate=rate))
                noise.append((time.perf_counter() - t0) * 1e3)
                await conn.close()
            figures["connect_grp_noise_ms"] = statistics.median(noise)
            figures[f"connect_grp_smp_ms_rate_{rate}"] = await timed_connect(
                e, e.grp_address.encode(), grp_cfg, 3
            )
            counters.clear()

            rcv = await SMPClient.connect(d_addr, config=CFG)
            rkey, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
            ids = await rcv.create_queue(rkey, dh)

            async def sample(send: object) -> float:
                t0 = time.perf_counter()
                await send  # type: ignore[misc]
                ev = await asyncio.wait_for(rcv.events.get(), 60)
                assert isinstance(ev, MessageEvent)
                ms = (time.perf_counter() - t0) * 1e3
                await rcv.ack(ids.rcv_id, rkey, ev.msg.msg_id)
                return ms

            direct = await SMPClient.connect(d.address, ws_url=ws_url(d), config=CFG)
            via_ws = await SMPClient.connect(e.address, ws_url=ws_url(e), config=CFG)
            relay_ws = await proxy_session(via_ws, d_addr)
            t_grp0 = time.monotonic()
            via_grp = await SMPClient.connect(
                e.address, ws_url=e.grp_address.encode(), config=grp_cfg
            )
            relay_grp = await proxy_session(via_grp, d_addr)
            results: dict[str, list[float]] = {"direct": [], "two_hops": [], "grp": []}
            for i in range(samples):
                body = b"sample %d" % i
                results["direct"].append(await sample(direct.send(ids.snd_id, body)))
                results["two_hops"].append(
                    await sample(send_via_proxy(via_ws, relay_ws, ids.snd_id, body))
                )
                results["grp"].append(
                    await sample(send_via_proxy(via_grp, relay_grp, ids.snd_id, body))
                )
            elapsed = time.monotonic() - t_grp0
            for name, values in results.items():
                figures[f"{name}_median_ms"] = statistics.median(values)
                figures[f"{name}_mean_ms"] = statistics.fmean(values)
            sent = sum(v for k, v in counters.items() if k.startswith("sent_"))
            recv = sum(v for k, v in counters.items() if k.startswith("recv_"))
            figures["grp_seconds_observed"] = elapsed
            figures["grp_frames_sent_per_s"] = sent / elapsed
            figures["grp_frames_recv_per_s"] = recv / elapsed
            figures["grp_data_share_sent"] = counters.get("sent_DATA", 0) / max(sent, 1)
            figures["grp_mb_per_hour_measured"] = (
                (sent * (WIRE_FRAME_SIZE + 8) + recv * (WIRE_FRAME_SIZE + 4)) / elapsed * 3600 / 1e6
            )
            for c in (direct, via_ws, via_grp, rcv):
                await c.close()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--rate", type=float, default=1.0)
    args = ap.parse_args()
    figures = asyncio.run(run(args.samples, args.rate))
    print(f"GRP/1 on loopback, cover rate {args.rate}/s, {args.samples} samples")
    for k in sorted(figures):
        print(f"  {k:32s} {figures[k]:10.2f}")
    print("RESULT " + json.dumps({k: round(v, 3) for k, v in figures.items()}, sort_keys=True))


if __name__ == "__main__":
    main()
