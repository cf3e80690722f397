"""When the agent sends through a proxy relay (private message routing), and what it does
when the proxy fails: pure decisions, no I/O.

Mirrors simplexmq ``Simplex.Messaging.Agent.Client`` (``sendOrProxySMPCommand``,
``ipAddressProtected``, ``serverHostError``, ``temporaryAgentError``) and the settings of
``Simplex.Messaging.Client`` (``SMPProxyMode``, ``SMPProxyFallback``). The protocol is
described in docs/protocol/smp.md ("Private message routing"); the settings in
docs/agent.md.

- :func:`use_proxy`: ``always`` proxies every sender command; ``unknown`` proxies when the
  destination is not one of the agent's own relays; ``unprotected`` does so only when the
  destination's IP address is not protected (a SOCKS proxy, or an onion host in onion host
  mode); ``never`` sends directly.
- :func:`choose_proxy`: the proxy is the agent's own relay (the one it already keeps a
  connection to). Sending to that same relay goes directly: a relay that proxies to itself
  learns nothing less.
- :func:`after_proxy_error`: only a host error (``BROKER HOST``, ``TRANSPORT VERSION``,
  whether it came from reaching the proxy or from the proxy reaching the destination) may
  fall back to a direct send, as the fallback setting allows (``yes``; ``protected``: only
  when the IP address is protected; ``no``). Temporary errors (``NETWORK``, ``TIMEOUT``,
  ``NO_SESSION``) and a host error without fallback are retried; every other proxy error
  is final.
"""

from __future__ import annotations

import argparse
import enum
from collections.abc import Collection
from dataclasses import dataclass

from hushwire.smp.address import SMPServer
from hushwire.smp.errors import (
    BROKER,
    NETWORK,
    PROXY,
    TRANSPORT,
    BrokerErrorType,
    ErrorType,
    ProxyError,
    TransportError,
)

__all__ = [
    "GRP_ROUTING",
    "ProxyFallback",
    "ProxyMode",
    "ProxyOutcome",
    "RoutingSettings",
    "add_routing_option",
    "after_proxy_error",
    "choose_proxy",
    "direct_allowed",
    "host_error",
    "ip_protected",
    "parse_routing_mode",
    "route",
    "use_proxy",
]


class ProxyMode(enum.StrEnum):
    """``SMPProxyMode``, with the reference's text forms."""

    ALWAYS = "always"
    UNKNOWN = "unknown"
    UNPROTECTED = "unprotected"
    NEVER = "never"


class ProxyFallback(enum.StrEnum):
    """``SMPProxyFallback``, with the reference's text forms."""

    ALLOW = "yes"
    ALLOW_PROTECTED = "protected"
    PROHIBIT = "no"


class ProxyOutcome(enum.Enum):
    """What to do after a proxied command failed."""

    DIRECT = "direct"
    """Send the same command directly to the destination."""
    RETRY = "retry"
    """Try again later, through the proxy."""
    FAIL = "fail"
    """Give up on this command."""


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    """The agent's private routing settings. The defaults are the reference library's
    (``never``, fallback ``yes``): nothing is proxied unless configured."""

    mode: ProxyMode = ProxyMode.NEVER
    fallback: ProxyFallback = ProxyFallback.ALLOW
    socks_proxy: bool = False
    """Whether connections go through a SOCKS proxy (the agent has none today)."""
    onion_hosts: bool = False
    """Onion host mode: an onion host of a destination is the one connected to."""
    two_hop: bool = False
    """GRP/1 (docs/grp.md): every sender command goes through the proxy and nothing is ever
    sent directly; a destination that is the agent's own relay is refused (one relay
    would see both the sender and the queue)."""


GRP_ROUTING = RoutingSettings(ProxyMode.ALWAYS, ProxyFallback.PROHIBIT, two_hop=True)
"""The routing GRP/1 requires: mandatory two hops, no direct fallback."""


def ip_protected(settings: RoutingSettings, destination: SMPServer) -> bool:
    """Whether connecting to ``destination`` directly hides our IP address from it."""
    return settings.socks_proxy or (
        settings.onion_hosts and any(h.endswith(".onion") for h in destination.hosts)
    )


def _known(destination: SMPServer, known: Collection[SMPServer]) -> bool:
    # The reference compares hosts; a relay is also known by its identity (the agent
    # addresses its own relay by key hash whatever host a link names).
    hosts = {h for s in known for h in s.hosts}
    return any(h in hosts for h in destination.hosts) or any(
        s.key_hash == destination.key_hash for s in known
    )


def use_proxy(
    settings: RoutingSettings, destination: SMPServer, known: Collection[SMPServer]
) -> bool:
    """Whether a sender command for ``destination`` goes through a proxy (``shouldUseProxy``);
    ``known`` are the agent's own relays."""
    match settings.mode:
        case ProxyMode.ALWAYS:
            return True
        case ProxyMode.UNKNOWN:
            return not _known(destination, known)
        case ProxyMode.UNPROTECTED:
            return not ip_protected(settings, destination) and not _known(destination, known)
        case ProxyMode.NEVER:
            return False


def choose_proxy(destination: SMPServer, own: SMPServer) -> SMPServer | None:
    """The proxy for ``destination``: the agent's own relay, or None (send directly) when
    the destination is that relay."""
    if destination.key_hash == own.key_hash:
        return None
    return own


def route(
    settings: RoutingSettings,
    destination: SMPServer,
    own: SMPServer,
    known: Collection[SMPServer] = (),
) -> SMPServer | None:
    """The proxy to send a command for ``destination`` through, or None to send directly.
    ``own`` is the agent's relay (always one of the known ones)."""
    if not use_proxy(settings, destination, (own, *known)):
        return None
    return choose_proxy(destination, own)


def direct_allowed(settings: RoutingSettings, destination: SMPServer) -> bool:
    """Whether a failed proxied command may go directly to ``destination``."""
    match settings.fallback:
        case ProxyFallback.ALLOW:
            return True
        case ProxyFallback.ALLOW_PROTECTED:
            return ip_protected(settings, destination)
        case ProxyFallback.PROHIBIT:
            return False


def host_error(error: BrokerErrorType) -> bool:
    """``HOST`` or ``TRANSPORT VERSION``: the relay cannot be used this way at all."""
    return error == BrokerErrorType.HOST or error == TRANSPORT(TransportError.VERSION)


def _temporary(error: BrokerErrorType) -> bool:
    return isinstance(error, NETWORK) or error == BrokerErrorType.TIMEOUT


def after_proxy_error(
    settings: RoutingSettings,
    destination: SMPServer,
    error: ErrorType | BrokerErrorType,
) -> ProxyOutcome:
    """What to do when a proxied command failed with ``error``: the proxy's answer
    (``PROXY ...``, after a second ``NO_SESSION`` too) or, as a broker error, the failure to
    reach or talk to the proxy itself. The destination's own answer (``AUTH``,
    ``QUOTA``...) is not a proxy error and is not passed here."""
    broker: BrokerErrorType | None
    if isinstance(error, BrokerErrorType):
        broker = error
    elif isinstance(error, PROXY) and isinstance(error.error, BROKER):
        broker = error.error.error
    else:
        broker = None
    if broker is not None and host_error(broker):
        if direct_allowed(settings, destination):
            return ProxyOutcome.DIRECT
        return ProxyOutcome.RETRY
    if broker is not None and _temporary(broker):
        return ProxyOutcome.RETRY
    if isinstance(error, PROXY) and error.error == ProxyError.NO_SESSION:
        return ProxyOutcome.RETRY
    return ProxyOutcome.FAIL


def parse_routing_mode(text: str) -> RoutingSettings:
    """The settings for ``--private-routing``: ``never``, ``unknown`` or ``always`` (the
    agent has no SOCKS proxy, so ``unprotected`` would be ``unknown``)."""
    if text not in ("never", "unknown", "always"):
        raise argparse.ArgumentTypeError(f"{text!r}: choose never, unknown or always")
    return RoutingSettings(ProxyMode(text))


def add_routing_option(parser: argparse.ArgumentParser) -> None:
    """``--private-routing never|unknown|always`` (parsed to :class:`RoutingSettings`)."""
    parser.add_argument(
        "--private-routing",
        type=parse_routing_mode,
        default=RoutingSettings(),
        metavar="never|unknown|always",
        help="send through our own relay: never (default), to unknown relays, always",
    )
