"""Fail the suite when branch coverage of a foundation package drops below its floor.

Reads the JSON report that ``pytest --cov-report=json`` writes and sums covered
statements and branches per package (ARCHITECTURE.md; issue "Foundation": >= 95 %).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FLOORS = {"encoding": 95.0, "crypto": 95.0, "smp": 95.0}


def main(path: str) -> int:
    report = json.loads(Path(path).read_text())
    totals: dict[str, list[int]] = {pkg: [0, 0] for pkg in FLOORS}
    for name, data in report["files"].items():
        parts = Path(name).parts
        if "hushwire" not in parts:
            continue
        rel = parts[parts.index("hushwire") + 1 :]
        if not rel or rel[0] not in FLOORS:
            continue
        s = data["summary"]
        covered = s["covered_lines"] + s.get("covered_branches", 0)
        total = s["num_statements"] + s.get("num_branches", 0)
        totals[rel[0]][0] += covered
        totals[rel[0]][1] += total
    failed = False
    for pkg, (covered, total) in totals.items():
        pct = 100.0 * covered / total if total else 0.0
        ok = total > 0 and pct >= FLOORS[pkg]
        failed |= not ok
        print(
            f"coverage {pkg:9s} {pct:6.2f}% (floor {FLOORS[pkg]:.0f}%) {'ok' if ok else 'TOO LOW'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
