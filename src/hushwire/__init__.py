"""Hushwire: end-to-end encrypted, account-less website chat on SMP."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
