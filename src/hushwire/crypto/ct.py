"""Constant-time comparison of secrets (docs/architecture.md, "Conventions").

simplexmq uses ``Data.ByteArray.constEq`` for tags and key hashes; this is its Python
counterpart. The running time depends only on the lengths, never on where bytes differ.
"""

from __future__ import annotations

import hmac


def equal(a: bytes, b: bytes) -> bool:
    """True iff ``a == b``, compared in time independent of the contents."""
    return hmac.compare_digest(a, b)
