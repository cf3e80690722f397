"""The one error hierarchy of Hushwire.

Every exception Hushwire raises on purpose derives from :class:`HushwireError`.
Decoders raise only :class:`DecodeError`; a failed decryption or signature check
is one opaque :class:`CryptoError` that never says which check failed.
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
