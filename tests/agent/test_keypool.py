"""The key pool: pairs made while a round trip is under way, each handed out once."""

from __future__ import annotations

import asyncio
import os

import pytest

from hushwire.agent.keypool import KeyPool
from hushwire.crypto.keys import KeyAlg


async def _answer(delay_turns: int, value: str) -> str:
    for _ in range(delay_turns):
        await asyncio.sleep(0)
    return value


def test_take_without_pool_makes_a_fresh_pair() -> None:
    pool = KeyPool({KeyAlg.X25519: 2})
    a, b = pool.take(KeyAlg.X25519), pool.take(KeyAlg.X25519)
    assert a.private.raw != b.private.raw
    assert a.public == a.private.public()
    assert pool.take(KeyAlg.ED25519).private.alg is KeyAlg.ED25519  # not pooled: made now


def test_fill_while_fills_and_hands_each_pair_out_once() -> None:
    pool = KeyPool({KeyAlg.ED25519: 2, KeyAlg.X25519: 3})
    assert asyncio.run(pool.fill_while(_answer(50, "ids"))) == "ids"
    assert (pool.ready(KeyAlg.ED25519), pool.ready(KeyAlg.X25519)) == (2, 3)
    taken = [pool.take(KeyAlg.X25519) for _ in range(4)]
    assert pool.ready(KeyAlg.X25519) == 0
    assert len({p.private.raw for p in taken}) == 4  # the pooled three and a fresh one


def test_fill_while_stops_when_the_answer_is_in() -> None:
    pool = KeyPool({KeyAlg.X25519: 100})
    assert asyncio.run(pool.fill_while(_answer(8, "ok"))) == "ok"
    assert 0 < pool.ready(KeyAlg.X25519) < 100


def test_work_runs_once_and_its_error_comes_after_the_answer() -> None:
    pool = KeyPool({KeyAlg.X25519: 1})
    done: list[str] = []

    async def answer() -> str:
        await asyncio.sleep(0.01)
        done.append("answer")
        return "ok"

    def work() -> None:
        done.append("work")
        raise ValueError("no common version")

    with pytest.raises(ValueError, match="no common version"):
        asyncio.run(pool.fill_while(answer(), work))
    assert done == ["work", "answer"]


def test_an_error_of_the_awaited_commands_is_raised() -> None:
    async def refused() -> None:
        await asyncio.sleep(0)
        raise ConnectionError("lost")

    with pytest.raises(ConnectionError, match="lost"):
        asyncio.run(KeyPool().fill_while(refused()))


def test_a_forked_child_never_gets_the_parents_keys() -> None:
    pool = KeyPool({KeyAlg.X25519: 2})
    asyncio.run(pool.fill_while(_answer(20, "x")))
    assert pool.ready(KeyAlg.X25519) == 2
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it would hand out, then leave at once
        os.write(write, bytes([pool.ready(KeyAlg.X25519)]))
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"\x00"
    assert pool.ready(KeyAlg.X25519) == 2  # the parent keeps its own
