"""hushwire.testing.transport: the in-memory block connection pair and its hooks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from hushwire.limits import SMP_BLOCK_SIZE
from hushwire.testing import memory_pipe
from hushwire.transport import BlockConn, ConnectionClosedError
from hushwire.transport.connect import peer_certificate


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 10))


def block(n: int) -> bytes:
    return bytes([n]) * SMP_BLOCK_SIZE


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_blocks_go_both_ways_in_order() -> None:
    async def main() -> None:
        link = memory_pipe()
        assert isinstance(link.client, BlockConn) and isinstance(link.server, BlockConn)
        for i in range(3):
            await link.client.send_block(block(i))
        await link.server.send_blocks([block(7), block(8)])
        assert [await link.server.recv_block() for _ in range(3)] == [block(i) for i in range(3)]
        assert await link.client.recv_block() == block(7)
        assert await link.client.recv_block() == block(8)
        assert (link.to_server.sent, link.to_server.queued, link.to_server.taken) == (3, 3, 3)
        assert link.client.kind == link.server.kind == "ws"
        assert link.client.tls_unique is None and link.client.alpn is None
        assert link.client.conn_id != link.server.conn_id
        assert not link.closed

    run(main)


def test_a_block_is_exactly_16384_bytes() -> None:
    async def main() -> None:
        link = memory_pipe()
        with pytest.raises(ValueError, match="16384"):
            await link.client.send_block(b"short")
        with pytest.raises(ValueError, match="16384"):
            link.inject("to_client", b"short")

    run(main)


def test_filter_rewrites_and_drops_by_index() -> None:
    seen: list[int] = []

    def swap_first_drop_second(i: int, b: bytes) -> bytes | None:
        seen.append(i)
        return block(99) if i == 0 else None if i == 1 else b

    async def main() -> None:
        link = memory_pipe(to_client=swap_first_drop_second)
        for i in range(3):
            await link.server.send_block(block(i))
        assert await link.client.recv_block() == block(99)
        assert await link.client.recv_block() == block(2)
        assert seen == [0, 1, 2]
        assert (link.to_client.sent, link.to_client.queued) == (3, 2)

    run(main)


def test_a_filter_must_keep_the_block_size() -> None:
    async def main() -> None:
        link = memory_pipe(to_server=lambda i, b: b[:10])
        with pytest.raises(ValueError, match="filter"):
            await link.client.send_block(block(1))

    run(main)


def test_a_full_channel_makes_the_sender_wait() -> None:
    async def main() -> None:
        link = memory_pipe(capacity=2)
        await link.client.send_block(block(1))
        await link.client.send_block(block(2))
        third = asyncio.create_task(link.client.send_block(block(3)))
        await settle()
        assert not third.done()
        assert await link.server.recv_block() == block(1)
        await asyncio.wait_for(third, 1)
        assert await link.server.recv_block() == block(2)
        assert await link.server.recv_block() == block(3)
        with pytest.raises(ValueError, match="capacity"):
            memory_pipe(capacity=0)

    run(main)


def test_hold_and_release() -> None:
    async def main() -> None:
        link = memory_pipe()
        await link.server.send_block(block(0))
        link.hold("to_client")  # what is queued now still passes
        await link.server.send_block(block(1))
        assert await link.client.recv_block() == block(0)
        waiting = asyncio.create_task(link.client.recv_block())
        await settle()
        assert not waiting.done()
        link.release("to_client")
        assert await asyncio.wait_for(waiting, 1) == block(1)
        link.hold("to_server", after=1)
        await link.client.send_blocks([block(5), block(6)])
        assert await link.server.recv_block() == block(5)
        waiting = asyncio.create_task(link.server.recv_block())
        await settle()
        assert not waiting.done()
        link.release("to_server")
        assert await asyncio.wait_for(waiting, 1) == block(6)

    run(main)


def test_inject_passes_the_filter_by() -> None:
    async def main() -> None:
        link = memory_pipe(to_client=lambda i, b: None)
        link.inject("to_client", block(4))
        link.inject("to_server", block(5))
        assert await link.client.recv_block() == block(4)
        assert await link.server.recv_block() == block(5)

    run(main)


def test_close_lets_the_peer_read_what_was_sent() -> None:
    async def main() -> None:
        link = memory_pipe()
        await link.client.send_blocks([block(1), block(2)])
        await link.client.close()
        await link.client.close()  # idempotent
        assert link.client.closed
        assert await link.server.recv_block() == block(1)
        assert await link.server.recv_block() == block(2)
        with pytest.raises(ConnectionClosedError):
            await link.server.recv_block()
        assert link.server.closed
        with pytest.raises(ConnectionClosedError):
            await link.client.recv_block()
        with pytest.raises(ConnectionClosedError):
            await link.client.send_block(block(3))
        assert link.closed

    run(main)


def test_sending_to_a_closed_peer_fails() -> None:
    async def main() -> None:
        link = memory_pipe()
        await link.server.close()
        with pytest.raises(ConnectionClosedError):
            await link.client.send_block(block(1))
        assert link.client.closed

    run(main)


def test_abort_loses_blocks_in_flight_and_wakes_waiters() -> None:
    async def main() -> None:
        link = memory_pipe(capacity=1)
        reader = asyncio.create_task(link.server.recv_block())
        await settle()
        await link.server.send_block(block(1))  # to the client, never read
        blocked = asyncio.create_task(link.server.send_block(block(2)))
        await settle()
        link.client.abort()
        assert link.client.closed
        with pytest.raises(ConnectionClosedError):
            await asyncio.wait_for(reader, 1)
        with pytest.raises(ConnectionClosedError):
            await asyncio.wait_for(blocked, 1)
        with pytest.raises(ConnectionClosedError):
            await link.client.recv_block()
        assert link.server.closed and link.closed

    run(main)


def test_link_abort_closes_both_ends_at_once() -> None:
    async def main() -> None:
        link = memory_pipe()
        await link.server.send_block(block(1))
        link.abort()
        assert link.client.closed and link.server.closed and link.closed
        with pytest.raises(ConnectionClosedError):
            await link.client.recv_block()
        with pytest.raises(ConnectionClosedError):
            link.inject("to_client", block(2))

    run(main)


def test_tls_kind_shares_the_channel_binding_and_shows_the_certificate() -> None:
    link = memory_pipe(kind="tls", peer_cert=b"leaf-der")
    assert link.client.kind == link.server.kind == "tls"
    assert link.client.alpn == link.server.alpn == "smp/1"
    assert link.client.tls_unique is not None
    assert link.client.tls_unique == link.server.tls_unique
    assert peer_certificate(link.client) == b"leaf-der"
    assert peer_certificate(link.server) is None
    assert peer_certificate(memory_pipe().client) is None
    assert memory_pipe(kind="tls", peer_cert=b"x").client.tls_unique != link.client.tls_unique


def test_pipe_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="certificate"):
        memory_pipe(kind="tls")
    with pytest.raises(ValueError, match="certificate"):
        memory_pipe(peer_cert=b"x")
    with pytest.raises(ValueError, match="kind"):
        memory_pipe(kind="udp")  # type: ignore[arg-type]
