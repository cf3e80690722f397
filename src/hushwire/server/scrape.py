"""The admin listener's ``/metrics``: this relay process's figures, and with ``--workers N``
those of every worker of this machine, each sample labelled with its ``node``.

Node names are ``HOST:INDEX`` (the machine's host name and the worker's index, 0 for a relay
of one process): stable across restarts of a worker, so a time series stays one series.
``hushwire_node_info`` maps a node to its process id and, in a cluster, to its name in the
change stream (``cluster_node``, new at every start).

With ``--workers N`` all workers listen on the admin port (SO_REUSEPORT) and the kernel
hands a scrape to any one of them; that worker answers for all: its own figures, plus a
snapshot it asks every other worker for over a local socket the parent made before forking
(:class:`~hushwire.transport.local.LocalPeers`). A worker that does not answer within
:data:`PEER_TIMEOUT` (being restarted) shows as ``hushwire_node_up{node=...} 0`` and nothing
else. So one scrape target per machine sees every process, whichever worker takes it, and
nothing is cached: every figure is read when the scrape arrives.

simplexmq has one process per address and no counterpart.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hushwire.server.metrics import (
    Family,
    Sample,
    counter,
    decode_families,
    encode_families,
    gauge,
    histogram,
    render_nodes,
)
from hushwire.server.relay import Relay
from hushwire.server.store.contract import QueueStore
from hushwire.server.store.stream import StreamFigures
from hushwire.transport.listen import HttpReply
from hushwire.transport.local import LocalPeers

if TYPE_CHECKING:
    from hushwire.server.grp import GrpListener

__all__ = ["PEER_TIMEOUT", "NodeScrape", "WorkerSlot", "health", "node_name"]

PEER_TIMEOUT: Final = 2.0
"""Seconds a scrape waits for another worker's snapshot."""

SNAPSHOT_LIMIT: Final = 4 << 20
"""Bytes of one worker's snapshot at most."""

CONTENT_TYPE: Final = "text/plain; version=0.0.4"


def node_name(index: int) -> str:
    """``HOST:INDEX``: this machine's host name and the worker's index."""
    return f"{os.uname().nodename}:{index}"


@dataclass(frozen=True, slots=True)
class WorkerSlot:
    """Which worker of ``--workers N`` this process is, and the local sockets of all."""

    index: int
    peers: LocalPeers | None
    """None: no admin listener, nothing to share."""


class NodeScrape:
    """This process's ``/metrics`` (and ``/healthz``) on the admin listener."""

    def __init__(self, relay: Relay, slot: WorkerSlot | None = None) -> None:
        self.relay = relay
        self.slot = slot
        self.node = node_name(slot.index if slot is not None else 0)
        self.grp: GrpListener | None = None
        """Set once the GRP listener runs: its frame counters are shown."""

    def families(self) -> list[Family]:
        """This process's figures."""
        relay = self.relay
        store = relay.store
        st = store.stats()
        store_gauges = {
            "queues": st.queues,
            "messages": st.messages,
            "bytes": st.bytes,
            "pending_writes": st.pending_writes,
            "commits_total": st.commits,
            "failed_commits_total": st.failed_commits,
            "commit_seconds_total": st.commit_seconds_total,
            "max_batch": st.max_batch,
        }
        gauges = {
            "subscriptions": float(len(relay.subscribers)),
            "ntf_subscriptions": float(len(relay.ntf_subscribers)),
            "store_healthy": float(store.healthy),
            "sessions": float(len(relay.sessions)),
        }
        info = [("pid", str(os.getpid()))]
        out = [gauge("node_up", "1 if the node answered this scrape.", 1)]
        out += relay.metrics.families(gauges, store_gauges)
        out.append(
            histogram(
                "store_commit_seconds",
                "Store commit latency: one observation per transaction (a command, or a "
                "group-committed batch of SENDs and ACKs).",
                st.commit_latency_buckets,
                st.commit_seconds_total,
            )
        )
        figures = getattr(store, "figures", None)  # a cluster store's (store.cluster)
        if isinstance(figures, StreamFigures):
            info.append(("cluster_node", str(getattr(store, "node", ""))))
            out += [
                counter(
                    "cluster_stream_events_total",
                    "Change-stream notifications applied.",
                    figures.events,
                ),
                counter(
                    "cluster_resyncs_total",
                    "Reloads of the view after the store was unreachable.",
                    figures.resyncs,
                ),
                histogram(
                    "cluster_notify_roundtrip_seconds",
                    "From a command's commit to this node applying its own notification.",
                    figures.notify_roundtrip.cumulative(),
                    figures.notify_roundtrip.total,
                ),
                histogram(
                    "cluster_apply_lag_seconds",
                    "From a notification's arrival at this node to its application.",
                    figures.apply_lag.cumulative(),
                    figures.apply_lag.total,
                ),
            ]
        if self.grp is not None:
            frames = sorted(self.grp.cover.counters.items())
            out.append(
                Family(
                    "grp_frames_total",
                    "counter",
                    "GRP/1 frames by direction and type.",
                    tuple(
                        Sample("", (("direction", _direction(k)), ("type", k.split("_", 1)[1])), n)
                        for k, n in frames
                    ),
                )
            )
        out.append(
            gauge("node_info", "The node's process id (and cluster stream name).", 1, tuple(info))
        )
        return out

    async def snapshot(self) -> bytes:
        return encode_families(self.families())

    async def exposition(self) -> str:
        """This process's figures and, with workers, every other worker's."""
        nodes: list[tuple[str, list[Family]]] = [(self.node, self.families())]
        slot = self.slot
        if slot is not None and slot.peers is not None:
            peers = slot.peers
            others = [i for i in range(len(peers)) if i != slot.index]
            answers = await asyncio.gather(
                *(peers.fetch(i, SNAPSHOT_LIMIT, PEER_TIMEOUT) for i in others)
            )
            for i, raw in zip(others, answers, strict=True):
                fams = None
                if raw is not None:
                    try:
                        fams = decode_families(raw)
                    except ValueError:
                        fams = None
                if fams is None:
                    fams = [gauge("node_up", "1 if the node answered this scrape.", 0)]
                nodes.append((node_name(i), fams))
            nodes.sort(key=lambda n: n[0])
        return render_nodes(nodes)

    async def handle(self, path: str) -> HttpReply | None:
        """The admin listener's endpoints: ``/healthz`` and ``/metrics``."""
        if path == "/healthz":
            return health(self.relay.store)
        if path == "/metrics":
            return HttpReply(200, await self.exposition(), CONTENT_TYPE)
        return None


def health(store: QueueStore) -> HttpReply:
    """``/healthz``: 200 while the relay can serve commands; 503 while its (shared) store is
    unreachable."""
    if store.healthy:
        return HttpReply(200, "ok\n")
    return HttpReply(503, "store unreachable\n")


def _direction(key: str) -> str:
    return "out" if key.startswith("sent_") else "in"
