"""hushwire.testing.relayproc: the relay's start-up lines and the relay-process helper."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from hushwire.client import ClientConfig, SMPClient
from hushwire.encoding.strings import b64url_encode
from hushwire.smp.address import SMPServer
from hushwire.testing import (
    RelayProcess,
    RelayStartup,
    parse_relay_startup,
    start_relay_process,
)

KH = bytes(range(32))
ADDRESS = f"smp://{b64url_encode(KH)}@localhost:5223"
KEY_LINE = f"key hash: {b64url_encode(KH)}"


def test_parse_both_listeners() -> None:
    lines = [ADDRESS, "WebSocket: ws://127.0.0.1:5224", "TLS (SMP and WSS): port 5223", KEY_LINE]
    assert parse_relay_startup(lines) == RelayStartup(
        SMPServer(("localhost",), KH, 5223), "ws://127.0.0.1:5224", 5224, 5223
    )


def test_parse_one_listener_and_blank_lines() -> None:
    ws = parse_relay_startup([ADDRESS + "\n", "WebSocket: ws://127.0.0.1:7\n", "", KEY_LINE])
    assert (ws.ws_url, ws.ws_port, ws.tls_port) == ("ws://127.0.0.1:7", 7, None)
    tls = parse_relay_startup([ADDRESS, "TLS (SMP and WSS): port 9", KEY_LINE])
    assert (tls.ws_url, tls.ws_port, tls.tls_port) == (None, None, 9)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "without the key hash"),
        ([ADDRESS, "WebSocket: ws://127.0.0.1:1"], "without the key hash"),
        (["Traceback (most recent call last):", KEY_LINE], "not a server address"),
        ([ADDRESS, "key hash: " + b64url_encode(bytes(32))], "does not match"),
        ([ADDRESS, "WebSocket: ws://127.0.0.1:0", KEY_LINE], "not a port"),
        ([ADDRESS, "WebSocket: ws://127.0.0.1:x", KEY_LINE], "not a port"),
        ([ADDRESS, "WebSocket: http://127.0.0.1:80", KEY_LINE], "not a WebSocket URL"),
        ([ADDRESS, "TLS (SMP and WSS): port 70000", KEY_LINE], "not a port"),
        ([ADDRESS, "listening", KEY_LINE], "unexpected"),
    ],
)
def test_parse_refuses_what_a_relay_does_not_print(lines: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_relay_startup(lines)


def test_start_and_stop_a_relay_in_a_temporary_directory() -> None:
    async def ping(relay: RelayProcess) -> float:
        config = ClientConfig(ping_interval=None)
        async with await SMPClient.connect(relay.address, ws_url=relay.ws_url, config=config) as c:
            return await c.ping()

    with start_relay_process(tls=False) as relay:
        data = relay.data
        assert (data / "ca.crt").exists()
        assert relay.ws_port is not None and relay.tls_port is None
        assert relay.ws_url == f"ws://127.0.0.1:{relay.ws_port}/"
        assert relay.address.hosts == ("localhost",)
        assert relay.address.port == relay.ws_port
        # The relay answers (and so is past its start-up and handles SIGTERM).
        assert asyncio.run(asyncio.wait_for(ping(relay), 30)) >= 0
        assert relay.proc.poll() is None
    assert relay.proc.returncode == 0
    assert not data.exists()


def test_a_relay_that_does_not_start_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="relay did not start"):
        start_relay_process(tmp_path / "relay", extra=["--no-such-option"], timeout=30)
    with pytest.raises(ValueError, match="listens"):
        start_relay_process(tmp_path / "relay", ws=False, tls=False)


def test_ws_url_needs_a_websocket_listener(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], stdout=subprocess.PIPE)
    startup = parse_relay_startup([ADDRESS, "TLS (SMP and WSS): port 9", KEY_LINE])
    relay = RelayProcess(proc, startup, tmp_path)
    with pytest.raises(ValueError, match="WebSocket"):
        _ = relay.ws_url
    proc.wait()
    assert relay.stop() == 0
    assert tmp_path.exists()  # not the helper's to remove
