"""Errors of the SMP client: one base class, one subclass per way a call can fail.

Mirrors simplexmq ``Client.hs`` ``ProtocolClientError``: ``PCEProtocolError`` is
:class:`SMPCommandError`, ``PCEResponseTimeout`` is :class:`ResponseTimeout`,
``PCEUnexpectedResponse``/``PCEResponseError`` are :class:`UnexpectedResponse`,
``PCENetworkError`` is :class:`ConnectFailed`/:class:`ConnectionLost`, and
``PCETransportError`` during the handshake is :class:`HandshakeFailed`.
"""

from __future__ import annotations

from typing import TypeVar

from hushwire.errors import HushwireError
from hushwire.smp.commands import BrokerMsg, Command
from hushwire.smp.errors import ErrorType

_A = TypeVar("_A", bound=BrokerMsg)


class SMPClientError(HushwireError):
    """Root of every error the SMP client raises."""


class ConnectFailed(SMPClientError):
    """The server could not be reached (TCP, TLS or WebSocket failed)."""


class HandshakeFailed(SMPClientError):
    """The SMP handshake failed; the connection is closed."""


class IdentityMismatch(HandshakeFailed):
    """The server's certificate chain does not belong to the key hash in its address."""


class VersionMismatch(HandshakeFailed):
    """The server and the client have no protocol version in common."""


class ConnectionLost(SMPClientError):
    """The connection closed (by the peer, the network, keepalive or :meth:`close`)."""


class ResponseTimeout(SMPClientError):
    """The server did not answer a command in time (``PCEResponseTimeout``)."""


class UnexpectedResponse(SMPClientError):
    """The server answered with something that is not a valid answer to the command."""

    def __init__(self, message: str, response: BrokerMsg | ErrorType | None = None) -> None:
        super().__init__(message)
        self.response = response


def expected(answer_type: type[_A], command: Command, answer: BrokerMsg) -> _A:
    """``answer`` if it is of ``answer_type``, the answer ``command`` expects; else
    :class:`UnexpectedResponse` (``"LSET answered with ERR"``...)."""
    if not isinstance(answer, answer_type):
        raise UnexpectedResponse(
            f"{command.tag.decode()} answered with {answer.tag.decode()}", answer
        )
    return answer


class SMPCommandError(SMPClientError):
    """The server answered ``ERR``; ``error`` is the protocol's error (``ErrorType.AUTH``...)."""

    def __init__(self, error: ErrorType) -> None:
        super().__init__(f"server error: {error.encode().decode('latin-1')}")
        self.error = error
