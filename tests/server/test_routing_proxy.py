"""Private routing end to end: two relays on loopback, the sender connected only to the
proxy relay A, the recipient on the destination relay B."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import loopback_address as address
from conftest import loopback_relay as relay
from hushwire.cli import build_parser
from hushwire.client import ClientConfig, MessageEvent, SMPClient, SMPCommandError, decrypt_message
from hushwire.client.proxy import proxied_request
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.errors import ConfigError
from hushwire.server import relay as relay_module
from hushwire.server.config import RelayConfig, RelayLimits, load_config
from hushwire.server.metrics import Metrics
from hushwire.server.proxy import ProxyPool, _Destination
from hushwire.server.run import RunningRelay
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import SKEY
from hushwire.smp.errors import (
    BROKER,
    HANDSHAKE,
    NETWORK,
    PROXY,
    TRANSPORT,
    BrokerErrorType,
    ErrorType,
    HandshakeError,
    NetworkError,
    ProxyError,
)
from hushwire.smp.msgbody import RcvMsgBody
from hushwire.smp.proxy import destination_key
from hushwire.smp.version import max_message_length

QUIET = ClientConfig(ping_interval=None, command_timeout=20.0)


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 90))


async def connect(r: RunningRelay) -> SMPClient:
    return await SMPClient.connect(address(r), config=QUIET)


async def proxy_error(c: SMPClient, dest: SMPServer, password: str | None = None) -> ErrorType:
    with pytest.raises(SMPCommandError) as ei:
        await c.proxy_session(dest, password=password)
    return ei.value.error


@pytest.mark.parametrize("alg", [KeyAlg.ED25519, KeyAlg.X25519])
def test_send_through_a_proxy_relay(tmp_path: Path, alg: KeyAlg) -> None:
    async def main() -> None:
        async with relay(tmp_path / "a") as a, relay(tmp_path / "b") as b:
            async with await connect(b) as rcv, await connect(a) as snd, await connect(a) as snd2:
                rkey, dh = KeyPair.generate(KeyAlg.ED25519), KeyPair.generate(KeyAlg.X25519)
                ids = await rcv.create_queue(rkey, dh)
                session = await snd.proxy_session(address(b))
                assert session.version == 17
                body = bytes(range(256)) * (max_message_length(17) // 256)
                await snd.send_via_proxy(session, ids.snd_id, body)
                ev = await asyncio.wait_for(rcv.events.get(), 20)
                assert isinstance(ev, MessageEvent) and ev.recipient_id == ids.rcv_id
                got = decrypt_message(ev.msg, dh, ids.srv_dh_key)
                assert isinstance(got, RcvMsgBody) and got.body == body
                assert await rcv.ack(ids.rcv_id, rkey, ev.msg.msg_id) is None
                # a second sender shares the proxy's one session with B
                session2 = await snd2.proxy_session(address(b))
                assert session2.session_id == session.session_id
                skey = KeyPair.generate(alg)
                await proxied_request(snd2, session2, ids.snd_id, SKEY(skey.public), skey)
                with pytest.raises(SMPCommandError) as ei:
                    await snd2.send_via_proxy(session2, ids.snd_id, b"unsigned")
                assert ei.value.error is ErrorType.AUTH  # the destination's answer
                await snd2.send_via_proxy(session2, ids.snd_id, b"signed", key=skey)
                ev = await asyncio.wait_for(rcv.events.get(), 20)
                assert isinstance(ev, MessageEvent)
                got = decrypt_message(ev.msg, dh, ids.srv_dh_key)
                assert isinstance(got, RcvMsgBody) and got.body == b"signed"
                with pytest.raises(SMPCommandError) as ei:
                    await snd.send_via_proxy(session, os.urandom(24), b"nobody")
                assert ei.value.error is ErrorType.AUTH
                # B saw the recipient and one proxy connection, never the senders
                mb, ma = b.relay.metrics, a.relay.metrics
                assert mb.connections_total == 2
                assert mb.forwarded_received == 5 and mb.commands["RFWD"] == 5
                assert ma.forwarded_received == 0
                assert ma.proxy_commands[("PRXY", "request")] == 2
                assert ma.proxy_commands[("PRXY", "success")] == 2
                assert ma.proxy_commands[("PFWD", "request")] == 5
                assert ma.proxy_commands[("PFWD", "success")] == 5
                assert a.relay.proxy.destination_sessions() == 1
                text = ma.render({}, {})
                assert 'hushwire_proxy_commands_total{command="PFWD",result="success"} 5' in text
                assert "hushwire_forwarded_received_total 5" in mb.render({}, {})

    run(main)


def test_proxy_error_cases(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path / "a") as a, relay(tmp_path / "b") as b:
            async with await connect(a) as snd:
                # nothing listens there: NETWORK, then the same error from the cache
                closed = replace(address(b), port=_free_port())
                assert await proxy_error(snd, closed) == PROXY(BROKER(NETWORK(NetworkError.FAILED)))
                entry = a.relay.proxy._dests[destination_key(closed)]
                first = entry.task
                assert await proxy_error(snd, closed) == PROXY(BROKER(NETWORK(NetworkError.FAILED)))
                assert a.relay.proxy._dests[destination_key(closed)].task is first
                # B's address with another relay's key hash: identity error
                wrong = replace(address(b), key_hash=a.address.key_hash)
                identity = PROXY(BROKER(TRANSPORT(HANDSHAKE(HandshakeError.IDENTITY))))
                assert await proxy_error(snd, wrong) == identity
                # only an onion host: no route from here
                onion = replace(address(b), hosts=("x" * 56 + ".onion",))
                assert await proxy_error(snd, onion) == PROXY(BROKER(BrokerErrorType.HOST))
                # a session id the proxy does not know
                session = await snd.proxy_session(address(b))
                stale = replace(session, session_id=os.urandom(32))
                with pytest.raises(SMPCommandError) as ei:
                    await snd.send_via_proxy(stale, os.urandom(24), b"x")
                assert ei.value.error == PROXY(ProxyError.NO_SESSION)
                # the destination goes away: its session is forgotten
                await b.stop()
                for _ in range(200):
                    if a.relay.proxy.destination_sessions() == 0:
                        break
                    await asyncio.sleep(0.05)
                with pytest.raises(SMPCommandError) as ei:
                    await snd.send_via_proxy(session, os.urandom(24), b"x")
                assert ei.value.error == PROXY(ProxyError.NO_SESSION)
                m = a.relay.metrics.proxy_commands
                assert m[("PRXY", "request")] == 5
                assert m[("PRXY", "error_connect")] == 2  # NETWORK, then NETWORK cached
                assert m[("PRXY", "error_other")] == 2  # IDENTITY, HOST
                assert m[("PRXY", "success")] == 1
                assert m[("PFWD", "request")] == m[("PFWD", "error_connect")] == 2

    run(main)


def test_proxy_password_and_refusal(tmp_path: Path) -> None:
    async def main() -> None:
        async with (
            relay(tmp_path / "a", proxy_password="secret") as a,
            relay(tmp_path / "c", allow_proxy=False) as c,
            relay(tmp_path / "b") as b,
        ):
            basic_auth = PROXY(ProxyError.BASIC_AUTH)
            async with await connect(a) as snd, await connect(c) as snd_c:
                assert await proxy_error(snd, address(b)) == basic_auth
                assert await proxy_error(snd, address(b), "wrong") == basic_auth
                session = await snd.proxy_session(address(b), password="secret")
                assert session.basic_auth == "secret"
                assert await proxy_error(snd_c, address(b)) == basic_auth
            assert a.relay.metrics.proxy_commands[("PRXY", "request")] == 1
            assert c.relay.metrics.proxy_commands[("PRXY", "request")] == 0
            assert c.relay.metrics.errors["PROXY"] == 1
            assert b.relay.metrics.connections_total == 1  # only A's proxy connection

    run(main)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_concurrent_prxy_share_one_connection(tmp_path: Path) -> None:
    async def main() -> None:
        async with relay(tmp_path / "a") as a, relay(tmp_path / "b") as b:
            async with await connect(a) as s1, await connect(a) as s2:
                sessions = await asyncio.gather(
                    *(c.proxy_session(address(b)) for c in (s1, s2, s1, s2))
                )
                assert len({s.session_id for s in sessions}) == 1
            assert b.relay.metrics.connections_total == 1

    run(main)


def test_proxy_timeouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A destination that never completes TLS, and one that never answers RFWD."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept TCP, say nothing
        writer.close()

    release = asyncio.Event()

    async def never(*args: object) -> list[object]:
        await release.wait()
        return []

    async def main() -> None:
        limits = replace(RelayLimits(), proxy_connect_timeout=0.5)
        async with relay(tmp_path / "a", limits=limits) as a, relay(tmp_path / "b") as b:
            mute = await asyncio.start_server(silent, "127.0.0.1", 0)
            port = int(mute.sockets[0].getsockname()[1])
            try:
                async with await connect(a) as snd:
                    dest = replace(address(b), port=port)
                    # answered later, out of order: the connection serves other commands
                    pending = asyncio.create_task(proxy_error(snd, dest))
                    await snd.ping()
                    assert not pending.done()
                    assert await pending == PROXY(BROKER(BrokerErrorType.TIMEOUT))
                    pool = a.relay.proxy
                    pool._client_config = replace(pool._client_config, command_timeout=0.5)
                    session = await snd.proxy_session(address(b))
                    monkeypatch.setattr(relay_module, "process_rfwd", never)
                    with pytest.raises(SMPCommandError) as ei:
                        await snd.send_via_proxy(session, os.urandom(24), b"x")
                    assert ei.value.error == PROXY(BROKER(BrokerErrorType.TIMEOUT))
                    m = a.relay.metrics.proxy_commands
                    assert m[("PRXY", "error_connect")] == 1
                    assert m[("PFWD", "error_other")] == 1
            finally:
                release.set()
                mute.close()

    run(main)


def test_proxy_settings(tmp_path: Path) -> None:
    base = {"data": str(tmp_path), "ws": "127.0.0.1:0"}
    cfg = load_config(None, **base)
    assert cfg.allow_proxy and cfg.proxy_password is None
    assert not load_config(None, **base, proxy=False).allow_proxy
    toml = tmp_path / "relay.toml"
    toml.write_text('proxy = false\n[auth]\nproxy_password = "pw"\n')
    cfg = load_config(toml, **base)
    assert not cfg.allow_proxy and cfg.proxy_password == "pw"
    assert load_config(toml, **base, proxy=True).allow_proxy
    toml.write_text('proxy = "no"\n')
    with pytest.raises(ConfigError, match="proxy must be true or false"):
        load_config(toml, **base)
    parser = build_parser()
    assert parser.parse_args(["relay", "--no-proxy"]).proxy is False
    assert parser.parse_args(["relay", "--proxy"]).proxy is True
    assert parser.parse_args(["relay"]).proxy is None


def test_failed_destinations_are_forgotten_after_30_seconds(tmp_path: Path) -> None:
    async def main() -> None:
        now = [1000.0]
        cfg = RelayConfig(data=tmp_path, ws=("127.0.0.1", 0))
        pool = ProxyPool(cfg, Metrics(), clock=lambda: now[0])
        err = PROXY(BROKER(NETWORK(NetworkError.FAILED)))
        for i in range(1023):
            key = ((f"h{i}.example",), 5223, bytes(32))
            pool._dests[key] = _Destination(error=err, retry_at=now[0] + 30)
        closed = SMPServer(("127.0.0.1",), bytes(32), _free_port())
        now[0] += 29
        assert await proxy_task(pool._lookup(closed)) == err  # 1024th entry: nothing expired
        assert len(pool._dests) == 1024
        assert pool._lookup(closed) == err  # cached
        now[0] += 2
        task = pool._lookup(replace(closed, port=_free_port()))  # sweeps the expired ones
        assert len(pool._dests) == 2
        assert await proxy_task(task) == err
        assert pool._lookup(closed) == err  # still within its 30 s
        now[0] += 30
        assert isinstance(pool._lookup(closed), asyncio.Task)  # its 30 s are over: retried
        await pool.close()

    run(main)


async def proxy_task(found: object) -> object:
    assert isinstance(found, asyncio.Task)
    return await found
