"""The cover schedule and the rate guard, on a deterministic clock and random source.

The statistical test: over 10^4 ticks the gaps are exponential with mean 1/λ, and what an
observer sees (frame times and sizes) is **identical** whether or not, and whenever, real
blocks were sent; a scheduler that sent real frames at once (the design GRP rejects) fails
the same check."""

from __future__ import annotations

import itertools
import math
import os
import random

import pytest

from hushwire.grp.cover import (
    BURST,
    REKEY_SECONDS,
    STALL_SECONDS,
    CoverScheduler,
    RateGuard,
    exponential_gap,
)
from hushwire.grp.frames import (
    BODY_SIZE,
    WIRE_FRAME_SIZE,
    FrameReceiver,
    FrameSender,
    FrameType,
)
from hushwire.grp.noise import CipherState

TICKS = 10_000


def _observe(
    rate: float, seed: int, sends: dict[int, int], *, immediate: bool = False
) -> tuple[list[tuple[float, int]], list[FrameType]]:
    """Run one direction for TICKS ticks on a fake clock: ``sends`` maps a tick index to
    the number of real blocks the application hands over just before it. Returns what the
    network sees (time, size) and the kinds sent (the hidden truth)."""
    key = bytes(32)
    rng = random.Random(seed)
    sched = CoverScheduler(FrameSender(CipherState(key)), rate, now=0.0, uniform=rng.random)
    rx = FrameReceiver(CipherState(key))
    now = 0.0
    seen: list[tuple[float, int]] = []
    kinds: list[FrameType] = []
    for i in range(TICKS):
        now += sched.next_gap()
        for _ in range(sends.get(i, 0)):
            block = os.urandom(BODY_SIZE)
            if immediate:  # the rejected design: real frames go out at once
                seen.append((now - 1e-3, WIRE_FRAME_SIZE))
                kinds.append(FrameType.DATA)
            else:
                sched.enqueue(block)
        kind, wire = sched.tick(now)
        assert rx.open(wire).type is kind
        seen.append((now, len(wire)))
        kinds.append(kind)
    return seen, kinds


def _ks_exponential(gaps: list[float], rate: float) -> float:
    """Kolmogorov-Smirnov distance between the gaps and Exp(rate)."""
    xs = sorted(gaps)
    n = len(xs)
    d = 0.0
    for i, x in enumerate(xs):
        cdf = 1.0 - math.exp(-rate * x)
        d = max(d, abs(cdf - i / n), abs((i + 1) / n - cdf))
    return d


@pytest.mark.parametrize("rate", [1.0, 0.5, 2.0])
def test_gaps_are_exponential_with_mean_one_over_rate(rate: float) -> None:
    sched = CoverScheduler(
        FrameSender(CipherState(bytes(32))), rate, now=0.0, uniform=random.Random(7).random
    )
    gaps = [sched.next_gap() for _ in range(TICKS)]
    assert abs(sum(gaps) / len(gaps) - 1 / rate) < 0.03 / rate
    # KS critical value at alpha = 0.01 for n = 10^4: 1.63 / sqrt(n).
    assert _ks_exponential(gaps, rate) < 1.63 / math.sqrt(len(gaps))
    # ...and the check can fail: the same gaps are far from a doubled rate.
    assert _ks_exponential(gaps, 2 * rate) > 1.63 / math.sqrt(len(gaps))


def test_what_the_network_sees_does_not_depend_on_when_messages_are_sent() -> None:
    idle, idle_kinds = _observe(1.0, 11, {})
    bursts = {i: 3 for i in range(100, 10_000, 997)}
    busy, busy_kinds = _observe(1.0, 11, bursts)
    steady = {i: 1 for i in range(0, 10_000, 5)}
    chatty, chatty_kinds = _observe(1.0, 11, steady)
    assert idle == busy == chatty  # same times, same sizes, byte for byte the same trace
    assert {s for _, s in idle} == {WIRE_FRAME_SIZE}
    assert busy_kinds.count(FrameType.DATA) == 3 * len(bursts)
    assert chatty_kinds.count(FrameType.DATA) == len(steady)
    assert FrameType.DATA not in idle_kinds


def test_the_rejected_design_would_show_every_send() -> None:
    idle, _ = _observe(1.0, 11, {})
    busy, _ = _observe(1.0, 11, {i: 1 for i in range(100, 10_000, 997)}, immediate=True)
    assert idle != busy and len(busy) == len(idle) + 10


def test_rekey_is_sent_when_due_and_the_peer_follows() -> None:
    seen, kinds = _observe(1.0, 3, {})
    rekeys = [t for (t, _), k in zip(seen, kinds, strict=True) if k is FrameType.REKEY]
    # One per REKEY_SECONDS of schedule time: never two within it, never much later.
    assert REKEY_SECONDS <= rekeys[0] < REKEY_SECONDS + 15
    gaps = [b - a for a, b in itertools.pairwise(rekeys)]
    assert REKEY_SECONDS <= min(gaps) and max(gaps) < REKEY_SECONDS + 15


def test_the_queue_is_bounded_and_close_goes_after_the_data() -> None:
    sched = CoverScheduler(FrameSender(CipherState(bytes(32))), 1.0, now=0.0, limit=2)
    sched.enqueue(bytes(BODY_SIZE))
    sched.enqueue(bytes(BODY_SIZE))
    assert not sched.has_room()
    with pytest.raises(ValueError):
        sched.enqueue(bytes(BODY_SIZE))
    sched.close()
    kinds = [sched.tick(1.0)[0] for _ in range(4)]
    assert kinds == [FrameType.DATA, FrameType.DATA, FrameType.CLOSE, FrameType.COVER]
    assert sched.closed


def test_gap_uses_the_whole_open_interval() -> None:
    assert exponential_gap(2.0, lambda: 0.0) == 0.0
    assert exponential_gap(1.0, lambda: 1 - math.exp(-3)) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        exponential_gap(0.0)


def test_the_rate_guard_allows_the_schedule_and_stops_a_flood() -> None:
    guard = RateGuard(1.0, now=0.0)
    rng = random.Random(5)
    now = 0.0
    for _ in range(5000):  # a peer keeping to its Poisson schedule is never refused
        now += exponential_gap(1.0, rng.random)
        assert guard.admit(now)
    flood = RateGuard(1.0, now=0.0)
    results = [flood.admit(0.001 * i) for i in range(BURST + 5)]
    assert all(results[:BURST]) and not all(results)
    fast = RateGuard(50.0, now=0.0)  # a fast schedule tolerates STALL_SECONDS of bunching
    assert all(fast.admit(0.0) for _ in range(int(STALL_SECONDS * 50)))
    assert not fast.admit(0.0)
    steady = RateGuard(1.0, now=0.0)  # 4 frames/s: above 3λ, refused within a minute
    assert not all(steady.admit(i / 4) for i in range(4 * 60))
