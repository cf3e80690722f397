"""Relay metrics in the Prometheus text format (served at ``/metrics``).

Counters and gauges only; no label carries a queue id, a key or anything a message says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


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

    def render(self, gauges: dict[str, float], store: dict[str, float]) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_: str, value: float, labels: str = "") -> None:
            if not any(line.startswith(f"# TYPE hushwire_{name} ") for line in lines):
                lines.append(f"# HELP hushwire_{name} {help_}")
                lines.append(f"# TYPE hushwire_{name} {kind}")
            lines.append(f"hushwire_{name}{labels} {value:g}")

        metric("connections_total", "counter", "Connections accepted.", self.connections_total)
        metric("connections_open", "gauge", "Connections open now.", self.connections_open)
        metric(
            "handshakes_failed_total", "counter", "Handshakes that failed.", self.handshakes_failed
        )
        metric("queues_created_total", "counter", "Queues created.", self.queues_created)
        metric("queues_deleted_total", "counter", "Queues deleted.", self.queues_deleted)
        metric("messages_in_total", "counter", "Messages accepted (SEND OK).", self.messages_in)
        metric("messages_out_total", "counter", "Messages delivered (MSG).", self.messages_out)
        metric("messages_acked_total", "counter", "Messages acknowledged.", self.messages_acked)
        metric("messages_expired_total", "counter", "Messages expired.", self.messages_expired)
        metric(
            "forwarded_received_total",
            "counter",
            "Forwarded commands received from proxies (RFWD).",
            self.forwarded_received,
        )
        for (cmd, result), n in sorted(self.proxy_commands.items()):
            metric(
                "proxy_commands_total",
                "counter",
                "Private routing as the proxy, by command and result.",
                n,
                f'{{command="{cmd}",result="{result}"}}',
            )
        for cmd, n in sorted(self.commands.items()):
            metric("commands_total", "counter", "Commands by type.", n, f'{{command="{cmd}"}}')
        for err, n in sorted(self.errors.items()):
            metric("errors_total", "counter", "Error responses by type.", n, f'{{error="{err}"}}')
        for why, n in sorted(self.throttled.items()):
            metric(
                "throttled_total",
                "counter",
                "Blocks slowed down by a shared budget of signature checks.",
                n,
                f'{{budget="{why}"}}',
            )
        for why, n in sorted(self.disconnects.items()):
            metric(
                "disconnects_total",
                "counter",
                "Connections closed by reason.",
                n,
                f'{{reason="{why}"}}',
            )
        for name, v in sorted(gauges.items()):
            metric(name, "gauge", name.replace("_", " ").capitalize() + ".", v)
        for name, v in sorted(store.items()):
            metric(f"store_{name}", "gauge", f"Store: {name.replace('_', ' ')}.", v)
        return "\n".join(lines) + "\n"
