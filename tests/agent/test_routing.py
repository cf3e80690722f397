"""hushwire.agent.routing: when to proxy and what to do after a proxy error, as simplexmq
``sendOrProxySMPCommand`` (table tests)."""

from __future__ import annotations

import argparse

import pytest

from hushwire.agent.routing import (
    ProxyFallback,
    ProxyMode,
    ProxyOutcome,
    RoutingSettings,
    after_proxy_error,
    choose_proxy,
    direct_allowed,
    ip_protected,
    parse_routing_mode,
    route,
    use_proxy,
)
from hushwire.smp.address import SMPServer
from hushwire.smp.errors import (
    BROKER,
    CMD,
    NETWORK,
    PROTOCOL,
    PROXY,
    RESPONSE,
    TRANSPORT,
    BrokerErrorType,
    CommandError,
    ErrorType,
    ProxyError,
    TransportError,
)

OWN = SMPServer(("relay.example",), b"\x01" * 32, 5223)
OWN_OTHER_HOST = SMPServer(("elsewhere.example",), b"\x01" * 32, 443)
OWN_HOST_OTHER_PORT = SMPServer(("relay.example",), b"\x03" * 32, 443)
PEER = SMPServer(("peer.example",), b"\x02" * 32)
PEER_ONION = SMPServer(("peer.example", "peerxyz.onion"), b"\x02" * 32)
SECOND = SMPServer(("second.example",), b"\x04" * 32)

ALWAYS, UNKNOWN, UNPROTECTED, NEVER = (
    ProxyMode.ALWAYS,
    ProxyMode.UNKNOWN,
    ProxyMode.UNPROTECTED,
    ProxyMode.NEVER,
)
ONION = RoutingSettings(onion_hosts=True)
SOCKS = RoutingSettings(socks_proxy=True)


def test_defaults_are_the_reference_librarys() -> None:
    assert RoutingSettings() == RoutingSettings(ProxyMode.NEVER, ProxyFallback.ALLOW)
    assert [m.value for m in ProxyMode] == ["always", "unknown", "unprotected", "never"]
    assert [f.value for f in ProxyFallback] == ["yes", "protected", "no"]


@pytest.mark.parametrize(
    ("settings", "destination", "protected"),
    [
        (RoutingSettings(), PEER_ONION, False),
        (ONION, PEER, False),
        (ONION, PEER_ONION, True),
        (SOCKS, PEER, True),
    ],
)
def test_ip_protected(settings: RoutingSettings, destination: SMPServer, protected: bool) -> None:
    assert ip_protected(settings, destination) is protected


@pytest.mark.parametrize(
    ("mode", "destination", "settings", "proxied"),
    [
        (ALWAYS, PEER, RoutingSettings(), True),
        (ALWAYS, OWN, RoutingSettings(), True),
        (NEVER, PEER, RoutingSettings(), False),
        (NEVER, PEER_ONION, ONION, False),
        (UNKNOWN, PEER, RoutingSettings(), True),
        (UNKNOWN, OWN, RoutingSettings(), False),
        # Known by identity whatever the host, and by host whatever the port.
        (UNKNOWN, OWN_OTHER_HOST, RoutingSettings(), False),
        (UNKNOWN, OWN_HOST_OTHER_PORT, RoutingSettings(), False),
        (UNKNOWN, SECOND, RoutingSettings(), False),
        (UNKNOWN, PEER_ONION, ONION, True),
        (UNPROTECTED, PEER, RoutingSettings(), True),
        (UNPROTECTED, OWN, RoutingSettings(), False),
        (UNPROTECTED, PEER_ONION, RoutingSettings(), True),
        (UNPROTECTED, PEER_ONION, ONION, False),
        (UNPROTECTED, PEER, SOCKS, False),
    ],
)
def test_use_proxy(
    mode: ProxyMode, destination: SMPServer, settings: RoutingSettings, proxied: bool
) -> None:
    s = RoutingSettings(mode, settings.fallback, settings.socks_proxy, settings.onion_hosts)
    assert use_proxy(s, destination, (OWN, SECOND)) is proxied


def test_the_proxy_is_the_own_relay_and_never_the_destination_itself() -> None:
    assert choose_proxy(PEER, OWN) is OWN
    assert choose_proxy(OWN_OTHER_HOST, OWN) is None
    always = RoutingSettings(ALWAYS)
    assert route(always, PEER, OWN) is OWN
    assert route(always, OWN, OWN) is None
    assert route(RoutingSettings(UNKNOWN), PEER, OWN) is OWN
    assert route(RoutingSettings(UNKNOWN), SECOND, OWN, [SECOND]) is None
    assert route(RoutingSettings(UNKNOWN), OWN, OWN) is None
    assert route(RoutingSettings(), PEER, OWN) is None


@pytest.mark.parametrize(
    ("fallback", "settings", "destination", "allowed"),
    [
        (ProxyFallback.ALLOW, RoutingSettings(), PEER, True),
        (ProxyFallback.PROHIBIT, SOCKS, PEER, False),
        (ProxyFallback.ALLOW_PROTECTED, RoutingSettings(), PEER, False),
        (ProxyFallback.ALLOW_PROTECTED, SOCKS, PEER, True),
        (ProxyFallback.ALLOW_PROTECTED, ONION, PEER, False),
        (ProxyFallback.ALLOW_PROTECTED, ONION, PEER_ONION, True),
    ],
)
def test_direct_allowed(
    fallback: ProxyFallback, settings: RoutingSettings, destination: SMPServer, allowed: bool
) -> None:
    s = RoutingSettings(ALWAYS, fallback, settings.socks_proxy, settings.onion_hosts)
    assert direct_allowed(s, destination) is allowed


HOST = BrokerErrorType.HOST
TVERSION = TRANSPORT(TransportError.VERSION)
D, R, F = ProxyOutcome.DIRECT, ProxyOutcome.RETRY, ProxyOutcome.FAIL


@pytest.mark.parametrize(
    ("error", "allow", "prohibit"),
    [
        # Host errors, from the proxy's answer or from reaching the proxy: fallback.
        (PROXY(BROKER(HOST)), D, R),
        (PROXY(BROKER(TVERSION)), D, R),
        (HOST, D, R),
        (TVERSION, D, R),
        # Temporary: retried, never a fallback.
        (PROXY(BROKER(NETWORK())), R, R),
        (PROXY(BROKER(BrokerErrorType.TIMEOUT)), R, R),
        (NETWORK(), R, R),
        (BrokerErrorType.TIMEOUT, R, R),
        (PROXY(ProxyError.NO_SESSION), R, R),
        # Everything else is final.
        (PROXY(BROKER(TRANSPORT(TransportError.BLOCK))), F, F),
        (PROXY(BROKER(RESPONSE("x"))), F, F),
        (PROXY(BROKER(BrokerErrorType.NO_SERVICE)), F, F),
        (PROXY(PROTOCOL(ErrorType.AUTH)), F, F),
        (PROXY(ProxyError.BASIC_AUTH), F, F),
        (CMD(CommandError.PROHIBITED), F, F),  # a relay that refuses to proxy
        (ErrorType.AUTH, F, F),
    ],
)
def test_after_proxy_error(
    error: ErrorType | BrokerErrorType, allow: ProxyOutcome, prohibit: ProxyOutcome
) -> None:
    for fallback, outcome in ((ProxyFallback.ALLOW, allow), (ProxyFallback.PROHIBIT, prohibit)):
        assert after_proxy_error(RoutingSettings(ALWAYS, fallback), PEER, error) is outcome
    # "protected": direct only when the IP address is protected.
    protected = RoutingSettings(ALWAYS, ProxyFallback.ALLOW_PROTECTED, socks_proxy=True)
    assert after_proxy_error(protected, PEER, error) is allow
    unprotected = RoutingSettings(ALWAYS, ProxyFallback.ALLOW_PROTECTED)
    assert after_proxy_error(unprotected, PEER, error) is prohibit


def test_the_private_routing_option_values() -> None:
    assert parse_routing_mode("never") == RoutingSettings()
    assert parse_routing_mode("unknown") == RoutingSettings(UNKNOWN)
    assert parse_routing_mode("always") == RoutingSettings(ALWAYS)
    for bad in ("unprotected", "ALWAYS", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_routing_mode(bad)


def test_the_private_routing_option_on_the_command_lines() -> None:
    from hushwire.cli import build_parser

    parser = build_parser()
    chat = parser.parse_args(["chat", "simplex:/contact#/?v=2", "--private-routing", "unknown"])
    assert chat.private_routing == RoutingSettings(UNKNOWN)
    echo = parser.parse_args(["bot", "echo", "--data", "d", "--relay", "r"])
    assert echo.private_routing == RoutingSettings()
    inbox = parser.parse_args(["inbox", "--data", "d", "--private-routing", "always"])
    assert inbox.private_routing == RoutingSettings(ALWAYS)
