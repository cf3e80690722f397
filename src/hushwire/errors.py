"""The one error hierarchy of Hushwire.

Every exception Hushwire raises on purpose derives from :class:`HushwireError`.
Decoders raise only :class:`DecodeError`; a failed decryption or signature check
is one opaque :class:`CryptoError` that never says which check failed.

The tree (each layer's module holds its own subclasses)::

    HushwireError
    ├── DecodeError            malformed input to a decoder (smp, encoding, agent codecs,
    │                          links' LinkError, the WebSocket frame reader's FrameError)
    ├── CryptoError            opaque failure of a decryption or a signature check
    ├── ConfigError            bad input from a person; the message says what to do
    ├── TransportFailure       hushwire.transport: the connection failed or broke framing
    ├── SMPClientError         hushwire.client: one subclass per way a call can fail
    ├── RatchetError           hushwire.agent.ratchet: header, skipped-key and KEM failures
    ├── AgentError             hushwire.agent: a connection cannot do what was asked
    ├── StoreLockedError       hushwire.agent.store: another process holds the agent store
    ├── StoreError             hushwire.server: the relay's queue store
    └── InboxError             hushwire.inbox: the owner's inbox service

Policy for the exceptions that are not in this tree (see also docs/architecture.md):

- ``ValueError`` and ``TypeError`` mean a programming mistake by the caller: an encoder or a
  constructor was given a value the wire cannot carry (a 31-byte nonce, an Ed25519 key where
  X25519 is needed, an empty list that must be non-empty). They are never raised for bytes
  that came from the network (that is :class:`DecodeError`) or for what a person typed
  (that is :class:`ConfigError`), so catching them is never part of normal operation.
- ``RuntimeError`` means an object was used out of order (a reconnect loop started twice);
  ``NotImplementedError`` marks the abstract methods of an interface.
- ``asyncio.CancelledError``, ``KeyboardInterrupt`` and ``SystemExit`` pass through
  untouched: cancellation is how tasks stop, and the command line ends with ``SystemExit``.
- ``OSError`` (and ``ssl.SSLError``) from the operating system is caught at the transport
  and client edges and re-raised as :class:`TransportFailure` or
  ``hushwire.client.ConnectFailed``/``ConnectionLost``; file-system errors from the stores
  of the applications (a read-only data directory, a full disk) escape as they are, since
  the message of the operating system is the clearest one.

tests/test_error_tree.py checks that every exception class in the package is in this tree.
"""

from __future__ import annotations


class HushwireError(Exception):
    """Root of every error Hushwire raises on purpose."""


class DecodeError(HushwireError):
    """Malformed, truncated or oversized input to a decoder."""


class CryptoError(HushwireError):
    """A cryptographic operation failed (opaque by design)."""

    def __init__(self, message: str = "cryptographic operation failed") -> None:
        super().__init__(message)


class ConfigError(HushwireError):
    """Bad input from a person: the message says what to do."""
