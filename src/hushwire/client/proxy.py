"""Sending through a proxy relay (SMP private message routing), over an :class:`SMPClient`.

Mirrors simplexmq ``Simplex.Messaging.Client`` (``connectSMPProxiedRelay``,
``proxySMPCommand``, ``proxySMPMessage``); the wire-level work is done by the pure
functions of :mod:`hushwire.smp.proxy`. The protocol is described in
docs/protocol/smp.md.

The client is connected to the proxy relay only. :func:`proxy_session` asks it for a
session with the destination (``PRXY``) and checks the destination's identity in the
answer (``PKEY``) against the destination address's key hash; :func:`proxied_request`
seals one sender command for the destination with a fresh X25519 key and a random nonce,
sends it as ``PFWD`` (corrId = the nonce, entity = the proxy's session id with the
destination, no authorization) and opens the sealed ``PRES``.

Errors follow the reference: what the proxy answers (``PROXY BASIC_AUTH``,
``PROXY NO_SESSION``, ``PROXY BROKER ...``, ``PROXY PROTOCOL ...``) and a destination
identity that does not check out (``PROXY BROKER TRANSPORT HANDSHAKE IDENTITY``) raise
:class:`SMPCommandError` with that ``PROXY`` error; the destination's own answer to the
command (``AUTH``, ``QUOTA``...) raises :class:`SMPCommandError` with that error, exactly
as a direct command would. After ``PROXY NO_SESSION`` call :func:`proxy_session` again.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from hushwire.client.errors import SMPCommandError, UnexpectedResponse, expected
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.errors import CryptoError, DecodeError
from hushwire.smp.address import SMPServer
from hushwire.smp.commands import ERR, OK, PKEY, PRES, PRXY, SEND, BrokerMsg, Command, MsgFlags
from hushwire.smp.errors import ErrorType
from hushwire.smp.ids import NO_ENTITY
from hushwire.smp.proxy import (
    ERR_TRANSPORT_VERSION,
    FWD_NONCE_SIZE,
    ProxiedRelay,
    accept_pkey,
    open_forwarded_response,
    seal_forwarded,
)
from hushwire.smp.version import SENDING_PROXY_VERSION, max_message_length

if TYPE_CHECKING:
    from hushwire.client.client import SMPClient

__all__ = ["ProxiedRelay", "proxied_request", "proxy_session", "send_via_proxy"]


async def proxy_session(
    client: SMPClient, destination: SMPServer, *, password: str | None = None
) -> ProxiedRelay:
    """``PRXY``: a session with ``destination`` through the relay ``client`` is connected to.

    ``password`` is the proxy relay's password, if it requires one (the destination
    address's own password is never sent). The proxy may take up to its connect timeout
    to answer; the wait is this client's command timeout. A proxy below v8 cannot proxy:
    ``PROXY BROKER TRANSPORT VERSION`` without asking (as the reference).
    """
    if client.version < SENDING_PROXY_VERSION:
        raise SMPCommandError(ERR_TRANSPORT_VERSION)
    cmd = PRXY(replace(destination, basic_auth=password))
    answer = await client.request(NO_ENTITY, cmd)
    relay = accept_pkey(
        expected(PKEY, cmd, answer),
        destination.key_hash,
        now=client.config.wall_clock(),
        basic_auth=password,
    )
    if isinstance(relay, ErrorType):
        raise SMPCommandError(relay)
    return relay


async def proxied_request(
    client: SMPClient,
    relay: ProxiedRelay,
    entity_id: bytes,
    command: Command,
    key: KeyPair | None = None,
    *,
    timeout: float | None = None,
) -> BrokerMsg:
    """``PFWD``: send a sender command (SEND, SKEY, LKEY, LGET) for ``entity_id`` to the
    destination; return its answer. ``timeout`` defaults to twice the command timeout
    (the proxy waits for the destination in between)."""
    sealed = seal_forwarded(
        relay,
        entity_id,
        command,
        cmd_key=KeyPair.generate(KeyAlg.X25519).private,
        nonce=os.urandom(FWD_NONCE_SIZE),
        auth_key=key.private if key is not None else None,
    )
    answer = await client.request(
        sealed.entity_id,
        sealed.pfwd,
        None,
        timeout=timeout or 2 * client.config.command_timeout,
        corr_id=sealed.corr_id,
    )
    response = expected(PRES, sealed.pfwd, answer)
    try:
        t = open_forwarded_response(sealed, response, relay.session_id)
    except (CryptoError, DecodeError) as e:
        raise UnexpectedResponse("the proxied response does not open") from e
    result = t.result
    if isinstance(result, ErrorType):
        raise UnexpectedResponse("the destination's answer does not decode", result)
    if isinstance(result, ERR):
        raise SMPCommandError(result.error)
    return result


async def send_via_proxy(
    client: SMPClient,
    relay: ProxiedRelay,
    sid: bytes,
    body: bytes,
    *,
    key: KeyPair | None = None,
    notification: bool = False,
) -> None:
    """``SEND`` through the proxy: put ``body`` in the destination's queue ``sid``."""
    limit = max_message_length(relay.version)
    if len(body) > limit:
        raise ValueError(f"message body of {len(body)} bytes; at most {limit} at this version")
    cmd = SEND(MsgFlags(notification), body)
    expected(OK, cmd, await proxied_request(client, relay, sid, cmd, key))
