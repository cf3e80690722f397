"""Relay metrics in the Prometheus text format (served at ``/metrics``).

Counters, gauges and latency histograms; no label carries a queue id, a key or anything a
message says. :class:`Metrics` holds one relay process's counters. A scrape is made of
:class:`Family` records (one metric family: name, type, help, samples), so that the
figures of several processes (the workers of ``--workers N``, ``hushwire.server.scrape``)
can be merged into one exposition, each sample labelled with its ``node``; a family's
samples stay together under one ``# TYPE`` line, as the format requires.

simplexmq's counterpart is ``Simplex.Messaging.Server.Prometheus`` (one process: no node
label there).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """One line of an exposition, without the family name and the node label."""

    suffix: str
    """Appended to the family name (``""``, ``_bucket``, ``_sum``, ``_count``)."""
    labels: Labels
    value: float


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: declared once (HELP, TYPE), then its samples."""

    name: str
    """Without the ``hushwire_`` prefix."""
    kind: str
    """``counter``, ``gauge`` or ``histogram``."""
    help: str
    samples: tuple[Sample, ...]


def counter(name: str, help_: str, value: float, labels: Labels = ()) -> Family:
    return Family(name, "counter", help_, (Sample("", labels, value),))


def gauge(name: str, help_: str, value: float, labels: Labels = ()) -> Family:
    return Family(name, "gauge", help_, (Sample("", labels, value),))


def labelled(
    name: str, kind: str, help_: str, label: str, values: Iterable[tuple[str, float]]
) -> Family:
    """One family with one sample per value of ``label``."""
    return Family(name, kind, help_, tuple(Sample("", ((label, k),), v) for k, v in values))


def histogram(
    name: str, help_: str, cumulative: Sequence[tuple[float, int]], total: float
) -> Family:
    """A histogram from (upper bound, cumulative count) pairs, the last bound ``inf``."""
    samples = [Sample("_bucket", (("le", _le(b)),), float(n)) for b, n in cumulative]
    count = float(cumulative[-1][1]) if cumulative else 0.0
    samples += [Sample("_sum", (), total), Sample("_count", (), count)]
    return Family(name, "histogram", help_, tuple(samples))


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else f"{bound:g}"


@dataclass
class Metrics:
    connections_total: int = 0
    connections_open: int = 0
    handshakes_failed: int = 0
    queues_created: int = 0
    queues_deleted: int = 0
    messages_in: int = 0
    messages_out: int = 0
    messages_acked: int = 0
    messages_expired: int = 0
    forwarded_received: int = 0
    """RFWD answered with RRES (private routing, as the destination; ``pMsgFwdsRecv``)."""
    commands: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    disconnects: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    """Blocks whose signature checks were delayed, by the budget that ran out (``address``:
    one peer address, ``global``: the whole relay)."""
    proxy_commands: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Private routing as the proxy: (PRXY|PFWD, request|success|error_connect|
    error_compat|error_other), as simplexmq ``pRelays``/``pMsgFwds``."""
    grp_handshakes: Counter[str] = field(default_factory=Counter)
    """GRP/1 Noise handshakes by result (``ok``, ``failed``, ``refused``)."""

    def families(self, gauges: dict[str, float], store: dict[str, float]) -> list[Family]:
        """This process's counters, and ``gauges``/``store`` as gauges (``store_`` names)."""
        out = [
            counter("connections_total", "Connections accepted.", self.connections_total),
            gauge("connections_open", "Connections open now.", self.connections_open),
            counter("handshakes_failed_total", "Handshakes that failed.", self.handshakes_failed),
            counter("queues_created_total", "Queues created.", self.queues_created),
            counter("queues_deleted_total", "Queues deleted.", self.queues_deleted),
            counter("messages_in_total", "Messages accepted (SEND OK).", self.messages_in),
            counter("messages_out_total", "Messages delivered (MSG).", self.messages_out),
            counter("messages_acked_total", "Messages acknowledged.", self.messages_acked),
            counter("messages_expired_total", "Messages expired.", self.messages_expired),
            counter(
                "forwarded_received_total",
                "Forwarded commands received from proxies (RFWD).",
                self.forwarded_received,
            ),
        ]
        if self.proxy_commands:
            out.append(
                Family(
                    "proxy_commands_total",
                    "counter",
                    "Private routing as the proxy, by command and result.",
                    tuple(
                        Sample("", (("command", cmd), ("result", result)), n)
                        for (cmd, result), n in sorted(self.proxy_commands.items())
                    ),
                )
            )
        for name, help_, label, values in (
            ("commands_total", "Commands by type.", "command", self.commands),
            ("errors_total", "Error responses by type.", "error", self.errors),
            (
                "throttled_total",
                "Blocks slowed down by a shared budget of signature checks.",
                "budget",
                self.throttled,
            ),
            ("disconnects_total", "Connections closed by reason.", "reason", self.disconnects),
            ("grp_handshakes_total", "GRP/1 handshakes by result.", "result", self.grp_handshakes),
        ):
            if values:
                out.append(labelled(name, "counter", help_, label, sorted(values.items())))
        for name, v in sorted(gauges.items()):
            out.append(gauge(name, name.replace("_", " ").capitalize() + ".", v))
        for name, v in sorted(store.items()):
            kind = "counter" if name.endswith("_total") else "gauge"
            out.append(
                Family(
                    f"store_{name}", kind, f"Store: {name.replace('_', ' ')}.", (Sample("", (), v),)
                )
            )
        return out

    def render(self, gauges: dict[str, float], store: dict[str, float]) -> str:
        """This process alone, without a node label."""
        return render_nodes([("", self.families(gauges, store))])


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def render_nodes(nodes: Sequence[tuple[str, Sequence[Family]]]) -> str:
    """One exposition of the families of several nodes: every sample of a node is labelled
    ``node="..."`` (first; no label for ``""``), each family once, in first-seen order."""
    order: dict[str, tuple[Family, list[str]]] = {}
    for node, fams in nodes:
        extra: Labels = (("node", node),) if node else ()
        for fam in fams:
            entry = order.setdefault(fam.name, (fam, []))
            for s in fam.samples:
                entry[1].append(
                    f"hushwire_{fam.name}{s.suffix}{_labels(extra + s.labels)} {s.value:g}"
                )
    lines: list[str] = []
    for name, (fam, samples) in order.items():
        lines.append(f"# HELP hushwire_{name} {fam.help}")
        lines.append(f"# TYPE hushwire_{name} {fam.kind}")
        lines.extend(samples)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------- snapshots


def encode_families(fams: Sequence[Family]) -> bytes:
    """A process's families as JSON, for another process of the same relay to serve."""
    return json.dumps(
        [
            [
                f.name,
                f.kind,
                f.help,
                [[s.suffix, [list(kv) for kv in s.labels], s.value] for s in f.samples],
            ]
            for f in fams
        ]
    ).encode()


def decode_families(raw: bytes) -> list[Family]:
    """The inverse of :func:`encode_families`; ``ValueError`` on anything else."""
    try:
        data: Any = json.loads(raw)
        return [
            Family(
                str(name),
                str(kind),
                str(help_),
                tuple(
                    Sample(str(suffix), tuple((str(k), str(v)) for k, v in labels), float(value))
                    for suffix, labels, value in samples
                ),
            )
            for name, kind, help_, samples in data
        ]
    except (TypeError, ValueError) as e:
        raise ValueError(f"not a metrics snapshot: {e}") from None


_NODE_LABEL = re.compile(r'node="(?:[^"\\]|\\.)*",?')


def machine_totals(text: str) -> dict[str, float]:
    """An exposition as ``name{labels}`` -> value with the ``node`` label dropped and the
    nodes' values added up (every worker's counters together; benchmarks and tests)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        name = _NODE_LABEL.sub("", name).replace(",}", "}").replace("{}", "")
        out[name] = out.get(name, 0.0) + float(value)
    return out
