"""Opening hours for the away message: ``--hours "Mon-Fri 09:00-17:00, Sat 10:00-13:00"``.

Pure. A spec is a comma-separated list of rules, each days (``Mon``, ``Mon-Fri``,
``Sat-Sun``, ``Fri-Mon`` wraps) and a time range (``HH:MM-HH:MM``, the end after the start,
``24:00`` allowed as an end). Times are the inbox machine's local time. Outside every rule
the inbox is closed; :meth:`OpeningHours.closed_period` names the closed period a moment
falls in (the next opening time), so the away message is sent once per conversation per
closed period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from hushwire.errors import ConfigError

__all__ = ["OpeningHours"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(
    r"\s*([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)\s*"
)


def _day(name: str) -> int:
    try:
        return _DAYS.index(name.lower())
    except ValueError:
        raise ConfigError(f"--hours: {name!r} is not a day (Mon, Tue, ... Sun)") from None


@dataclass(frozen=True, slots=True)
class _Rule:
    days: frozenset[int]
    start: int
    """Minutes after midnight."""
    end: int


@dataclass(frozen=True, slots=True)
class OpeningHours:
    rules: tuple[_Rule, ...]

    @classmethod
    def parse(cls, spec: str) -> OpeningHours:
        rules = []
        for part in spec.split(","):
            m = _RULE.fullmatch(part)
            if m is None:
                raise ConfigError(
                    f'--hours: cannot read {part.strip()!r}: write e.g. "Mon-Fri 09:00-17:00"'
                )
            first = _day(m[1])
            last = first if m[2] is None else _day(m[2])
            days = frozenset((first + i) % 7 for i in range((last - first) % 7 + 1))
            h1, m1, h2, m2 = (int(m[i]) for i in range(3, 7))
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
                raise ConfigError(f"--hours: {part.strip()!r} is not a time range in a day")
            rules.append(_Rule(days, start, end))
        return cls(tuple(rules))

    def is_open(self, when: datetime) -> bool:
        minute = when.hour * 60 + when.minute
        return any(when.weekday() in r.days and r.start <= minute < r.end for r in self.rules)

    def closed_period(self, when: datetime) -> str | None:
        """None while open; else the next opening time (ISO, minutes), which names the
        closed period ``when`` is in."""
        if self.is_open(when):
            return None
        day0 = when.replace(hour=0, minute=0, second=0, microsecond=0)
        for d in range(8):
            day = day0 + timedelta(days=d)
            starts = sorted(
                day + timedelta(minutes=r.start) for r in self.rules if day.weekday() in r.days
            )
            for start in starts:
                if start > when:
                    return start.isoformat(timespec="minutes")
        return "never"  # pragma: no cover - parse() refuses a spec without rules
