"""Fail the suite when branch coverage of a foundation package or module drops below its floor.

Reads the JSON report that ``pytest --cov-report=json`` writes and sums covered statements and
branches per package (``encoding``, ``crypto``, ``smp``) and per pure agent module (the
state machine, sealing, the ratchet, the protocol codecs, the links) and the shop's pure
modules (its wire codecs, its catalog model and pricing): the sans-I/O parts
of docs/architecture.md, held to >= 95 %.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FLOORS = {
    "encoding": 95.0,
    "crypto": 95.0,
    "smp": 95.0,
    "agent/machine.py": 95.0,
    "agent/sealing.py": 95.0,
    "agent/ratchet.py": 95.0,
    "agent/protocol.py": 95.0,
    "agent/links.py": 95.0,
    "shop/wire.py": 95.0,
    "shop/model.py": 95.0,
}


def _floor_key(rel: tuple[str, ...]) -> str | None:
    """The key of :data:`FLOORS` a file (path below ``hushwire``) counts towards."""
    module = "/".join(rel)
    if module in FLOORS:
        return module
    return rel[0] if rel and rel[0] in FLOORS else None


def main(path: str) -> int:
    report = json.loads(Path(path).read_text())
    totals: dict[str, list[int]] = {key: [0, 0] for key in FLOORS}
    for name, data in report["files"].items():
        parts = Path(name).parts
        if "hushwire" not in parts:
            continue
        key = _floor_key(parts[parts.index("hushwire") + 1 :])
        if key is None:
            continue
        s = data["summary"]
        covered = s["covered_lines"] + s.get("covered_branches", 0)
        total = s["num_statements"] + s.get("num_branches", 0)
        totals[key][0] += covered
        totals[key][1] += total
    failed = False
    for key, (covered, total) in totals.items():
        pct = 100.0 * covered / total if total else 0.0
        ok = total > 0 and pct >= FLOORS[key]
        failed |= not ok
        print(
            f"coverage {key:18s} {pct:6.2f}% (floor {FLOORS[key]:.0f}%) {'ok' if ok else 'TOO LOW'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
