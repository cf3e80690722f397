"""hushwire.agent.outbox through a proxy: session reuse, NO_SESSION, the fallback rules and
the delivery rules unchanged, on a real store and fake relay clients (the proxy functions
of hushwire.client.proxy are replaced by a scripted fake)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hushwire.agent import outbox as outbox_module
from hushwire.agent.outbox import RETRY_FIRST, Outbox
from hushwire.agent.routing import ProxyFallback, ProxyMode, RoutingSettings
from hushwire.agent.store import AgentStore, ConnState, SndMessage, SndQueueState
from hushwire.client import ConnectionLost, SMPCommandError, VersionMismatch
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import OK, SKEY, BrokerMsg, Command
from hushwire.smp.errors import (
    BROKER,
    NETWORK,
    PROTOCOL,
    PROXY,
    BrokerErrorType,
    ErrorType,
    ProxyError,
)

OWN = SMPServer(("own.example",), b"\x01" * 32, 5223)
PEER = SMPServer(("peer.example",), b"\x02" * 32, 5223)
SID = b"s" * 24


@dataclass
class Direct:
    """A direct client (ReconnectingClient's surface the outbox uses)."""

    sent: list[bytes] = field(default_factory=list)
    secured: list[bytes] = field(default_factory=list)
    connection: object = field(default_factory=object)

    async def send(self, sid: bytes, body: bytes, *, key: Any) -> None:
        self.sent.append(body)

    async def secure_sender(self, sid: bytes, key: KeyPair) -> None:
        self.secured.append(sid)

    async def wait_connected(self) -> object:
        return self.connection


@dataclass
class FakeProxy:
    """Scripted PRXY and PFWD outcomes (None: success)."""

    sessions: list[BaseException | None] = field(default_factory=list)
    forwards: list[BaseException | None] = field(default_factory=list)
    opened: list[tuple[object, SMPServer, str | None]] = field(default_factory=list)
    forwarded: list[tuple[object, int, bytes]] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    async def proxy_session(self, c: object, dest: SMPServer, *, password: str | None) -> Any:
        outcome = self.sessions.pop(0) if self.sessions else None
        if outcome is not None:
            raise outcome
        self.opened.append((c, dest, password))
        return len(self.opened)  # the "session": its number

    def _forward(self) -> None:
        outcome = self.forwards.pop(0) if self.forwards else None
        if outcome is not None:
            raise outcome

    async def send_via_proxy(
        self, c: object, relay: int, sid: bytes, body: bytes, *, key: Any
    ) -> None:
        self._forward()
        self.forwarded.append((c, relay, body))

    async def proxied_request(
        self, c: object, relay: int, sid: bytes, cmd: Command, key: Any
    ) -> BrokerMsg:
        self._forward()
        self.commands.append(cmd)
        return OK()


def proxy_error(e: ProxyError) -> SMPCommandError:
    return SMPCommandError(PROXY(e))


HOST = proxy_error(BROKER(BrokerErrorType.HOST))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeProxy:
    f = FakeProxy()
    monkeypatch.setattr(outbox_module, "proxy_session", f.proxy_session)
    monkeypatch.setattr(outbox_module, "send_via_proxy", f.send_via_proxy)
    monkeypatch.setattr(outbox_module, "proxied_request", f.proxied_request)
    return f


def _store(tmp_path: Path, n: int) -> AgentStore:
    store = AgentStore(tmp_path / "agent.sqlite3")
    st = ConnState("c1", "duplex", "initiator", "connected")
    auth = PrivateKey.generate(KeyAlg.ED25519).to_der()
    st.snd = SndQueueState(PEER.encode(), SID, b"peer", "M", auth, b"own")
    store.save(st, 1)
    for i in range(n):
        store.add_snd_message(SndMessage("c1", i, "msg", b"h", b"body%d" % i, "pending", None), 1)
    return store


@dataclass
class Run:
    own: Direct
    peer: Direct
    reports: list[str]
    delays: list[float]
    store: AgentStore


def _run(tmp_path: Path, n: int, settings: RoutingSettings, own: SMPServer | None = OWN) -> Run:
    r = Run(Direct(), Direct(), [], [], _store(tmp_path, n))

    async def get_client(server: SMPServer) -> Any:
        return {OWN: r.own, PEER: r.peer}[server]

    async def after_sent(conn_id: str, m: SndMessage) -> None:
        pass

    async def report(conn_id: str, message: str) -> None:
        r.reports.append(message)

    async def sleep(delay: float) -> None:
        r.delays.append(delay)

    async def main() -> None:
        box = Outbox(r.store, get_client, after_sent, report, sleep, routing=settings, own=own)
        box.kick("c1")
        await asyncio.gather(*box.tasks())

    asyncio.run(main())
    return r


ALWAYS = RoutingSettings(ProxyMode.ALWAYS)


def test_one_session_per_destination_messages_in_order(tmp_path: Path, fake: FakeProxy) -> None:
    r = _run(tmp_path, 3, ALWAYS)
    assert fake.opened == [(r.own.connection, PEER, None)]
    assert fake.forwarded == [(r.own.connection, 1, b"body%d" % i) for i in range(3)]
    assert r.peer.sent == [] and r.own.sent == [] and r.delays == [] and r.reports == []


def test_default_and_known_relays_send_directly(tmp_path: Path, fake: FakeProxy) -> None:
    r = _run(tmp_path / "1", 2, RoutingSettings())
    assert r.peer.sent == [b"body0", b"body1"] and fake.opened == []
    r = _run(tmp_path / "2", 1, RoutingSettings(ProxyMode.UNKNOWN), own=PEER)
    assert r.peer.sent == [b"body0"] and fake.opened == []
    r = _run(tmp_path / "3", 1, ALWAYS, own=None)
    assert r.peer.sent == [b"body0"] and fake.opened == []


def test_no_session_recreates_the_session_once(tmp_path: Path, fake: FakeProxy) -> None:
    fake.forwards = [proxy_error(ProxyError.NO_SESSION)]
    r = _run(tmp_path, 2, ALWAYS)
    assert len(fake.opened) == 2
    assert fake.forwarded == [(r.own.connection, 2, b"body0"), (r.own.connection, 2, b"body1")]
    assert r.delays == []


def test_a_second_no_session_is_retried_later(tmp_path: Path, fake: FakeProxy) -> None:
    fake.forwards = [proxy_error(ProxyError.NO_SESSION)] * 2
    r = _run(tmp_path, 1, ALWAYS)
    assert len(fake.opened) == 3 and r.delays == [RETRY_FIRST]
    assert [f[2] for f in fake.forwarded] == [b"body0"] and r.reports == []


@pytest.mark.parametrize(
    ("fallback", "direct"),
    [(ProxyFallback.ALLOW, True), (ProxyFallback.ALLOW_PROTECTED, False)],
)
def test_host_error_falls_back_only_if_allowed(
    tmp_path: Path, fake: FakeProxy, fallback: ProxyFallback, direct: bool
) -> None:
    fake.sessions = [HOST]
    fake.forwards = [HOST]
    r = _run(tmp_path, 2, RoutingSettings(ProxyMode.ALWAYS, fallback))
    if direct:
        # Each command falls back by itself: the next one tries the proxy again.
        assert r.peer.sent == [b"body0", b"body1"] and r.delays == []
        assert len(fake.opened) == 1 and fake.forwarded == []
    else:
        assert r.peer.sent == []
        assert r.delays == [RETRY_FIRST, 2 * RETRY_FIRST]
        assert [f[2] for f in fake.forwarded] == [b"body0", b"body1"]
    assert r.reports == []


def test_proxy_version_mismatch_is_a_host_error(tmp_path: Path, fake: FakeProxy) -> None:
    r = Run(Direct(), Direct(), [], [], _store(tmp_path, 1))

    async def broken() -> object:
        raise VersionMismatch("no common version")

    r.own.wait_connected = broken  # type: ignore[method-assign]

    async def get_client(server: SMPServer) -> Any:
        return {OWN: r.own, PEER: r.peer}[server]

    async def noop(*_: Any) -> None:
        pass

    async def main() -> None:
        box = Outbox(r.store, get_client, noop, noop, noop, routing=ALWAYS, own=OWN)
        box.kick("c1")
        await asyncio.gather(*box.tasks())

    asyncio.run(main())
    assert r.peer.sent == [b"body0"] and fake.opened == []


@pytest.mark.parametrize(
    "error",
    [
        proxy_error(BROKER(NETWORK())),
        proxy_error(BROKER(BrokerErrorType.TIMEOUT)),
        ConnectionLost("proxy connection lost"),
    ],
)
def test_temporary_proxy_errors_retry_the_same_bytes(
    tmp_path: Path, fake: FakeProxy, error: BaseException
) -> None:
    fake.forwards = [error]
    r = _run(tmp_path, 2, RoutingSettings(ProxyMode.ALWAYS, ProxyFallback.ALLOW))
    assert r.delays == [RETRY_FIRST] and r.peer.sent == [] and r.reports == []
    assert [f[2] for f in fake.forwarded] == [b"body0", b"body1"]


def test_other_proxy_errors_fail_the_message(tmp_path: Path, fake: FakeProxy) -> None:
    fake.forwards = [proxy_error(PROTOCOL(ErrorType.AUTH))]
    r = _run(tmp_path, 2, ALWAYS)
    assert [f[2] for f in fake.forwarded] == [b"body1"] and r.peer.sent == []
    assert len(r.reports) == 1 and "PROXY PROTOCOL AUTH" in r.reports[0]
    assert r.delays == []


def test_the_destinations_quota_is_retried_as_after_a_direct_send(
    tmp_path: Path, fake: FakeProxy
) -> None:
    fake.forwards = [SMPCommandError(ErrorType.QUOTA)]
    r = _run(tmp_path, 1, ALWAYS)
    assert r.delays == [RETRY_FIRST] and [f[2] for f in fake.forwarded] == [b"body0"]
    assert len(fake.opened) == 1  # the session is still good


def test_a_new_proxy_connection_gets_a_new_session(tmp_path: Path, fake: FakeProxy) -> None:
    fake.forwards = [ConnectionLost("gone")]
    r = Run(Direct(), Direct(), [], [], _store(tmp_path, 2))
    connections = [object(), object()]

    async def current() -> object:
        return connections[0] if not fake.forwarded and not r.delays else connections[1]

    r.own.wait_connected = current  # type: ignore[method-assign]

    async def get_client(server: SMPServer) -> Any:
        return {OWN: r.own, PEER: r.peer}[server]

    async def noop(*_: Any) -> None:
        pass

    async def sleep(d: float) -> None:
        r.delays.append(d)

    async def main() -> None:
        box = Outbox(r.store, get_client, noop, noop, sleep, routing=ALWAYS, own=OWN)
        box.kick("c1")
        await asyncio.gather(*box.tasks())

    asyncio.run(main())
    assert [c for c, _, _ in fake.opened] == connections
    assert fake.forwarded == [(connections[1], 2, b"body0"), (connections[1], 2, b"body1")]


def test_skey_goes_through_the_proxy(tmp_path: Path, fake: FakeProxy) -> None:
    key = KeyPair.generate(KeyAlg.ED25519)
    own, peer = Direct(), Direct()

    async def get_client(server: SMPServer) -> Any:
        return {OWN: own, PEER: peer}[server]

    async def noop(*_: Any) -> None:
        pass

    async def main() -> None:
        store = AgentStore(tmp_path / "agent.sqlite3")
        box = Outbox(store, get_client, noop, noop, noop, routing=ALWAYS, own=OWN)
        await box.secure(PEER, SID, key)
        direct = Outbox(store, get_client, noop, noop, noop, own=OWN)
        await direct.secure(PEER, SID, key)

    asyncio.run(main())
    assert fake.commands == [SKEY(key.public)]
    assert peer.secured == [SID]


def test_a_proxy_below_v8_is_a_host_error(tmp_path: Path) -> None:
    """The real ``proxy_session``: a connection to the proxy at v7 cannot proxy, so the
    command falls back to a direct send (``TRANSPORT VERSION``, as the reference)."""

    @dataclass
    class V7:
        version: int = 7

    r = Run(Direct(connection=V7()), Direct(), [], [], _store(tmp_path, 1))

    async def get_client(server: SMPServer) -> Any:
        return {OWN: r.own, PEER: r.peer}[server]

    async def noop(*_: Any) -> None:
        pass

    async def main(settings: RoutingSettings) -> None:
        box = Outbox(r.store, get_client, noop, noop, noop, routing=settings, own=OWN)
        box.kick("c1")
        await asyncio.gather(*box.tasks())

    asyncio.run(main(ALWAYS))
    assert r.peer.sent == [b"body0"]
