"""GRP/1 end to end over loopback: a real relay with ``--grp``, the SMP client over GRP, and
the connection closing on a tampered handshake or frame."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path

import pytest

from hushwire.client import (
    ClientConfig,
    ConnectFailed,
    HandshakeFailed,
    MessageEvent,
    SMPClient,
    decrypt_message,
)
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.errors import ConfigError
from hushwire.grp.address import GrpAddress
from hushwire.grp.frames import WIRE_FRAME_SIZE
from hushwire.grp.handshake import Initiator
from hushwire.grp.noise import DHKey
from hushwire.server.config import load_config
from hushwire.server.run import RunningRelay
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.testing.grp import grp_relay
from hushwire.testing.relayproc import start_relay_process
from hushwire.transport import TransportFailure
from hushwire.transport.blocks import WsBlockConn
from hushwire.transport.connect import connect_ws
from hushwire.transport.grp import CoverSettings, GrpConn, connect_grp

RATE = 50.0
"""Cover frames per second in these tests (the protocol's 1/s would make them slow)."""


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 60))


def relay(data: Path) -> AbstractAsyncContextManager[RunningRelay]:
    return grp_relay(data, RATE, ws=True)


def client_config(counters: dict[str, int] | None = None) -> ClientConfig:
    cover = CoverSettings(rate=RATE, counters=counters if counters is not None else {})
    return ClientConfig(ping_interval=None, command_timeout=20.0, grp_cover=cover)


def test_the_relay_prints_and_parses_a_grp_address(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path / "r") as r:
            assert r.grp_address is not None and r.grp is not None
            text = r.grp_address.encode()
            assert text.startswith("grp://") and "?nk=" in text
            parsed = GrpAddress.parse(text)
            assert parsed == r.grp_address
            assert parsed.key_hash == r.address.key_hash
            assert parsed.ws_url.endswith("/grp/1")
        # The key is kept: a restart has the same GRP address.
        async with relay(tmp_path / "r") as again:
            assert again.grp_address is not None
            assert again.grp_address.static_key == parsed.static_key

    run(main)


def test_config_and_cli_take_grp(tmp_path: Path) -> None:
    cfg = load_config(None, data=str(tmp_path), ws="127.0.0.1:1", grp="127.0.0.1:7443")
    assert cfg.grp == ("127.0.0.1", 7443) and cfg.grp_cover_rate == 1.0
    toml = tmp_path / "relay.toml"
    toml.write_text('grp_peers = ["grp://x"]\n')
    with pytest.raises(ConfigError, match="grp_peers: 'grp://x' is not a GRP address"):
        load_config(toml, data=str(tmp_path), ws="127.0.0.1:1")
    toml.write_text("grp_peers = 3\n")
    with pytest.raises(ConfigError, match="a list of GRP addresses"):
        load_config(toml, data=str(tmp_path), ws="127.0.0.1:1")
    from hushwire.cli import build_parser

    args = build_parser().parse_args(["relay", "--data", "d", "--ws", "h:1", "--grp", "h:2"])
    assert args.grp == "h:2"


def test_a_queue_round_trip_over_grp(tmp_path: Path) -> None:
    async def main() -> None:
        counters: dict[str, int] = {}
        async with relay(tmp_path / "r") as r:
            assert r.grp_address is not None and r.grp is not None
            url = r.grp_address.encode()
            c = await SMPClient.connect(r.address, ws_url=url, config=client_config(counters))
            async with c:
                assert c.transport_kind == "grp"
                rkey, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                ids = await c.create_queue(rkey, dh)
                await c.send(ids.snd_id, b"over GRP")
                ev = await asyncio.wait_for(c.events.get(), 10)
                assert isinstance(ev, MessageEvent)
                body = decrypt_message(ev.msg, dh, ids.srv_dh_key)
                assert isinstance(body, RcvMsgBody) and body.body == b"over GRP"
                await c.ack(ids.rcv_id, rkey, ev.msg.msg_id)
                # The session id is the Noise handshake hash: the server hello bound to it.
                assert len(c.session_id) == 32
                await asyncio.sleep(0.3)  # some cover both ways
            relay_counts = r.grp.cover.counters
            assert counters.get("sent_COVER", 0) > 0 and counters.get("recv_COVER", 0) > 0
            assert relay_counts.get("recv_COVER", 0) > 0 and relay_counts.get("sent_COVER", 0) > 0
            assert relay_counts.get("recv_DATA", 0) >= 4  # hello, NEW, SEND, ACK
            assert counters.get("recv_DATA", 0) >= 4

    run(main)


def test_a_grp_address_of_another_identity_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path / "a") as a, relay(tmp_path / "b") as b:
            assert b.grp_address is not None
            with pytest.raises(ConnectFailed, match="another relay identity"):
                await SMPClient.connect(
                    a.address, ws_url=b.grp_address.encode(), config=client_config()
                )
            # Right identity, wrong static key: the relay cannot read msg 1 and closes.
            forged = replace(b.grp_address, static_key=DHKey.generate().public)
            with pytest.raises(TransportFailure, match="GRP handshake"):
                await connect_grp(forged, timeout=5)
            # A relay whose key proof is for another identity (a's key hash, b's GRP key):
            # the prologue differs, so b cannot read msg 1 either.
            mixed = replace(
                b.grp_address, server=replace(b.grp_address.server, key_hash=a.address.key_hash)
            )
            with pytest.raises(TransportFailure, match="GRP handshake"):
                await connect_grp(mixed, timeout=5)

    run(main)


async def _raw_carrier(address: GrpAddress) -> WsBlockConn:
    carrier = await connect_ws(address.ws_url)
    assert isinstance(carrier, WsBlockConn)
    carrier.limit_messages(WIRE_FRAME_SIZE, None)
    return carrier


@pytest.mark.parametrize("where", [0, 500, 1296])
def test_a_tampered_msg1_gets_the_connection_closed_without_an_answer(
    tmp_path: Path, where: int
) -> None:
    async def main() -> None:
        async with relay(tmp_path / "r") as r:
            assert r.grp_address is not None
            carrier = await _raw_carrier(r.grp_address)
            msg1 = bytearray(
                Initiator(r.grp_address.key_hash, r.grp_address.static_key).first_message()
            )
            msg1[where] ^= 1
            await carrier.send_messages([bytes(msg1)])
            with pytest.raises(TransportFailure):
                await asyncio.wait_for(carrier.recv_block(), 10)
            await carrier.close()
            assert r.relay.metrics.disconnects["grp_handshake"] == 1

    run(main)


@pytest.mark.parametrize("damage", ["flip", "short", "long"])
def test_a_tampered_frame_closes_the_connection(tmp_path: Path, damage: str) -> None:
    async def main() -> None:
        async with relay(tmp_path / "r") as r:
            assert r.grp_address is not None
            conn = await connect_grp(r.grp_address, cover=CoverSettings(rate=RATE))
            assert isinstance(conn, GrpConn)
            hello = await asyncio.wait_for(conn.recv_block(), 10)  # the SMP server hello
            assert len(hello) == 16384
            # Write a damaged frame on the carrier, as a man in the middle would.
            frame = conn._schedule._sender.seal(
                conn._schedule._sender
                and __import__("hushwire.grp.frames", fromlist=["FrameType"]).FrameType.COVER
            )
            if damage == "flip":
                frame = frame[:100] + bytes([frame[100] ^ 1]) + frame[101:]
            elif damage == "short":
                frame = frame[:-1]
            else:
                frame = frame + b"\x00"
            await conn._carrier.send_messages([frame])
            with pytest.raises(TransportFailure):
                while True:
                    await asyncio.wait_for(conn.recv_block(), 10)
            await conn.close()

    run(main)


def test_the_relay_process_prints_its_grp_address(tmp_path: Path) -> None:
    with start_relay_process(tmp_path / "r", ws=False, extra=["--grp", "127.0.0.1:0"]) as r:
        printed = r.startup.grp_address
        assert printed is not None
        address = GrpAddress.parse(printed)
        assert address.key_hash == r.address.key_hash
        key = DHKey.from_private((tmp_path / "r" / "grp.key").read_bytes())
        assert address.static_key == key.public

        async def main() -> None:
            conn = await connect_grp(address, timeout=10)
            await conn.close()

        run(main)


def test_the_client_requires_the_handshake_hash_as_the_smp_session_id(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path / "r") as r:
            assert r.grp_address is not None
            conn = await connect_grp(r.grp_address, cover=CoverSettings(rate=RATE))
            conn.tls_unique = bytes(32)  # as if the relay's hello were for another session
            with pytest.raises(HandshakeFailed, match="channel binding"):
                await SMPClient.connect_over(conn, r.address, config=client_config())
            ok = await connect_grp(r.grp_address, cover=CoverSettings(rate=RATE))
            c = await SMPClient.connect_over(ok, r.address, config=client_config())
            assert c.session_id == ok.tls_unique
            await c.close()

    run(main)


def test_rekeying_on_a_live_connection(tmp_path: Path) -> None:
    """A client whose clock runs 40 s per reading sends REKEY at about every other tick; the
    relay follows each one (a missed rekey would fail the next frame and close)."""

    async def main() -> None:
        readings = itertools.count()
        counters: dict[str, int] = {}
        cover = CoverSettings(rate=RATE, clock=lambda: next(readings) * 40.0, counters=counters)
        async with relay(tmp_path / "r") as r:
            assert r.grp_address is not None and r.grp is not None
            conn = await connect_grp(r.grp_address, cover=cover)
            c = await SMPClient.connect_over(conn, r.address, config=client_config())
            async with c:
                for _ in range(5):
                    await c.ping(timeout=10)
                followed = r.grp.cover.counters.get("recv_REKEY", 0)
                assert 3 <= followed <= counters.get("sent_REKEY", 0)
                await c.ping(timeout=10)  # still in step after them

    run(main)


def test_one_address_cannot_start_handshakes_without_end(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path / "r") as r:
            assert r.grp_address is not None and r.grp is not None
            bucket = r.grp._budget("127.0.0.1")
            while bucket.try_take():  # use up the address's burst
                pass
            with pytest.raises(TransportFailure, match="GRP handshake"):
                await connect_grp(r.grp_address, timeout=5)
            assert r.relay.metrics.disconnects["grp_handshake_rate"] == 1

    run(main)


def test_a_client_connection_ends_itself_after_its_maximum_age(tmp_path: Path) -> None:
    """A client clock running 1,000 s per reading passes 6 hours within a few ticks: the
    client sends CLOSE and closes, so a reconnect would run a fresh handshake."""

    async def main() -> None:
        readings = itertools.count()
        counters: dict[str, int] = {}
        cover = CoverSettings(rate=RATE, clock=lambda: next(readings) * 1000.0, counters=counters)
        async with relay(tmp_path / "r") as r:
            assert r.grp_address is not None and r.grp is not None
            conn = await connect_grp(r.grp_address, cover=cover)
            with pytest.raises(TransportFailure):
                while True:
                    await asyncio.wait_for(conn.recv_block(), 10)
            assert counters.get("sent_CLOSE") == 1
            await conn.close()
            for _ in range(100):
                if r.grp.cover.counters.get("recv_CLOSE"):
                    break
                await asyncio.sleep(0.05)
            assert r.grp.cover.counters.get("recv_CLOSE") == 1

    run(main)
