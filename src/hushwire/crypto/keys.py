"""Asymmetric keys as SimpleX uses them: Ed25519, Ed448 (signing), X25519, X448 (DH).

Mirrors simplexmq ``Simplex.Messaging.Crypto`` (``Algorithm``, ``encodePubKey`` /
``decodePubKey``, ``encodePrivKey``): on the wire a public key is the DER of its X.509
SubjectPublicKeyInfo (docs/protocol/smp.md, "Encoding primitives") and a private key is
PKCS#8 DER. Private keys redact themselves in ``repr``.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, x448, x25519

from hushwire.errors import CryptoError, DecodeError


class KeyAlg(enum.Enum):
    ED25519 = "Ed25519"
    ED448 = "Ed448"
    X25519 = "X25519"
    X448 = "X448"

    @property
    def is_signature(self) -> bool:
        return self in (KeyAlg.ED25519, KeyAlg.ED448)

    @property
    def is_dh(self) -> bool:
        return self in (KeyAlg.X25519, KeyAlg.X448)

    @property
    def raw_size(self) -> int:
        return _RAW_SIZE[self]

    @property
    def signature_size(self) -> int:
        if self is KeyAlg.ED25519:
            return 64
        if self is KeyAlg.ED448:
            return 114
        raise ValueError(f"{self.value} does not sign")


_RAW_SIZE = {KeyAlg.ED25519: 32, KeyAlg.ED448: 57, KeyAlg.X25519: 32, KeyAlg.X448: 56}

# SubjectPublicKeyInfo DER prefixes (SEQUENCE, AlgorithmIdentifier{OID}, BIT STRING header).
SPKI_PREFIX: dict[KeyAlg, bytes] = {
    KeyAlg.ED25519: bytes.fromhex("302a300506032b6570032100"),
    KeyAlg.ED448: bytes.fromhex("3043300506032b6571033a00"),
    KeyAlg.X25519: bytes.fromhex("302a300506032b656e032100"),
    KeyAlg.X448: bytes.fromhex("3042300506032b656f033900"),
}
# PKCS#8 (OneAsymmetricKey v0) DER prefixes as cryptography and simplexmq write them.
PKCS8_PREFIX: dict[KeyAlg, bytes] = {
    KeyAlg.ED25519: bytes.fromhex("302e020100300506032b657004220420"),
    KeyAlg.ED448: bytes.fromhex("3047020100300506032b6571043b0439"),
    KeyAlg.X25519: bytes.fromhex("302e020100300506032b656e04220420"),
    KeyAlg.X448: bytes.fromhex("3046020100300506032b656f043a0438"),
}

_PRIV_CLS: dict[KeyAlg, Callable[[bytes], object]] = {
    KeyAlg.ED25519: ed25519.Ed25519PrivateKey.from_private_bytes,
    KeyAlg.ED448: ed448.Ed448PrivateKey.from_private_bytes,
    KeyAlg.X25519: x25519.X25519PrivateKey.from_private_bytes,
    KeyAlg.X448: x448.X448PrivateKey.from_private_bytes,
}
_GEN: dict[KeyAlg, Callable[[], object]] = {
    KeyAlg.ED25519: ed25519.Ed25519PrivateKey.generate,
    KeyAlg.ED448: ed448.Ed448PrivateKey.generate,
    KeyAlg.X25519: x25519.X25519PrivateKey.generate,
    KeyAlg.X448: x448.X448PrivateKey.generate,
}
_PUB_CLS: dict[KeyAlg, Callable[[bytes], object]] = {
    KeyAlg.ED25519: ed25519.Ed25519PublicKey.from_public_bytes,
    KeyAlg.ED448: ed448.Ed448PublicKey.from_public_bytes,
    KeyAlg.X25519: x25519.X25519PublicKey.from_public_bytes,
    KeyAlg.X448: x448.X448PublicKey.from_public_bytes,
}

_RAW = serialization.Encoding.Raw


def _split_der(der: bytes, prefixes: dict[KeyAlg, bytes], what: str) -> tuple[KeyAlg, bytes]:
    """The algorithm and raw key of ``der``: one of ``prefixes`` then a raw key of that
    algorithm's size; anything else is a ``DecodeError``."""
    for alg, prefix in prefixes.items():
        if len(der) == len(prefix) + alg.raw_size and der.startswith(prefix):
            return alg, der[len(prefix) :]
    raise DecodeError(f"unsupported or malformed {what} key")


class _KeyValue:
    """What public and private keys share: equality (same algorithm and, compared in constant
    time, same raw bytes), the size check, the cache slots and pickling as ``(alg, raw)``.

    ``_key`` is a cache slot, not a dataclass field, so it stays out of ``__init__``,
    ``repr``, equality, hashing, ``fields``/``asdict``/``replace`` and pickling: the parsed
    ``cryptography`` object, built on first use and dropped with the key.
    """

    __slots__ = ("_key",)

    alg: KeyAlg
    raw: bytes
    _key: object

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.alg is other.alg and hmac.compare_digest(self.raw, other.raw)

    def __hash__(self) -> int:
        return hash((self.alg, self.raw))

    _KIND: ClassVar[str]
    """``public`` or ``private``, for the size error."""
    _CACHE_SLOTS: ClassVar[tuple[str, ...]] = ("_key",)
    """The cache slots, emptied on construction and on unpickling."""

    def __post_init__(self) -> None:
        if len(self.raw) != self.alg.raw_size:
            raise ValueError(f"{self.alg.value} {self._KIND} key must be {self.alg.raw_size} bytes")
        self._clear_cache()

    def _clear_cache(self) -> None:
        for name in self._CACHE_SLOTS:
            object.__setattr__(self, name, None)

    # Pickled as (alg, raw) without the caches. A frozen slotted dataclass generates its own
    # pair unless the class body defines them, so each key class names these two.
    def __getstate__(self) -> tuple[KeyAlg, bytes]:
        return self.alg, self.raw

    def __setstate__(self, state: tuple[KeyAlg, bytes]) -> None:
        object.__setattr__(self, "alg", state[0])
        object.__setattr__(self, "raw", state[1])
        self._clear_cache()


@dataclass(frozen=True, slots=True, eq=False)
class PublicKey(_KeyValue):
    """A public key of one of the four algorithms, held as its raw bytes.

    The parsed ``cryptography`` object is built on first use and kept in ``_key`` (never
    compared, hashed, shown or pickled), so repeated DH with or verification by one key
    parses it once.
    """

    alg: KeyAlg
    raw: bytes

    _KIND = "public"
    __getstate__ = _KeyValue.__getstate__
    __setstate__ = _KeyValue.__setstate__

    def to_der(self) -> bytes:
        """X.509 SubjectPublicKeyInfo DER, as simplexmq ``encodePubKey`` writes it."""
        return SPKI_PREFIX[self.alg] + self.raw

    @classmethod
    def from_der(cls, der: bytes) -> PublicKey:
        """Parse SPKI DER of any of the four algorithms; anything else is a ``DecodeError``."""
        return cls(*_split_der(der, SPKI_PREFIX, "public"))

    def _obj(self) -> object:
        key = self._key
        if key is None:
            try:
                key = _PUB_CLS[self.alg](self.raw)
            except ValueError as e:  # pragma: no cover - sizes are checked at construction
                raise CryptoError() from e
            object.__setattr__(self, "_key", key)
        return key

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True iff ``signature`` is a valid signature of ``data`` under this key."""
        if not self.alg.is_signature or len(signature) != self.alg.signature_size:
            return False
        if self.alg is KeyAlg.ED25519:
            # libsodium verifies Ed25519 about twice as fast as OpenSSL 3.0 here (the relay
            # verifies every SEND and ACK); both follow RFC 8032 for honest signatures.
            try:
                nacl.bindings.crypto_sign_open(signature + data, self.raw)
            except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
                return False
            return True
        key = self._obj()
        assert isinstance(key, ed448.Ed448PublicKey)
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


class _PrivateSlots(_KeyValue):
    """Adds the cache slot of the derived public key (see ``PrivateKey``)."""

    __slots__ = ("_pub",)

    _pub: PublicKey | None
    _CACHE_SLOTS = ("_key", "_pub")


@dataclass(frozen=True, slots=True, eq=False)
class PrivateKey(_PrivateSlots):
    """A private key; ``repr`` never shows its bytes.

    Building a ``cryptography`` private key from raw bytes derives its public key (one
    scalar multiplication for X25519/X448), so the parsed object and the derived
    ``PublicKey`` are kept in ``_key`` and ``_pub``: built on first use (or at
    ``generate``), never compared, hashed, shown or pickled, and gone with the key itself.
    """

    alg: KeyAlg
    raw: bytes = field(repr=False)

    _KIND = "private"
    __getstate__ = _KeyValue.__getstate__
    __setstate__ = _KeyValue.__setstate__

    def __repr__(self) -> str:
        return f"PrivateKey({self.alg.value}, <redacted>)"

    @classmethod
    def generate(cls, alg: KeyAlg) -> PrivateKey:
        key = _GEN[alg]()
        raw = key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())  # type: ignore[attr-defined]
        priv = cls(alg, bytes(raw))
        object.__setattr__(priv, "_key", key)
        return priv

    def _obj(self) -> object:
        key = self._key
        if key is None:
            key = _PRIV_CLS[self.alg](self.raw)
            object.__setattr__(self, "_key", key)
        return key

    def public(self) -> PublicKey:
        pub = self._pub
        if pub is None:
            key = self._obj()
            raw = key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)  # type: ignore[attr-defined]
            pub = PublicKey(self.alg, bytes(raw))
            object.__setattr__(self, "_pub", pub)
        return pub

    def sign(self, data: bytes) -> bytes:
        if not self.alg.is_signature:
            raise ValueError(f"{self.alg.value} keys do not sign")
        key = self._obj()
        assert isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
        return key.sign(data)

    def dh(self, peer: PublicKey) -> bytes:
        """Raw DH output with ``peer`` (same algorithm). A low-order peer key is a CryptoError."""
        if not self.alg.is_dh or peer.alg is not self.alg:
            raise ValueError("DH needs two keys of the same DH algorithm")
        key = self._obj()
        peer_key = peer._obj()
        try:
            if isinstance(key, x25519.X25519PrivateKey):
                assert isinstance(peer_key, x25519.X25519PublicKey)
                return key.exchange(peer_key)
            assert isinstance(key, x448.X448PrivateKey)
            assert isinstance(peer_key, x448.X448PublicKey)
            return key.exchange(peer_key)
        except ValueError as e:
            raise CryptoError() from e

    def to_der(self) -> bytes:
        """PKCS#8 DER, as simplexmq ``encodePrivKey`` writes it."""
        return PKCS8_PREFIX[self.alg] + self.raw

    @classmethod
    def from_der(cls, der: bytes) -> PrivateKey:
        return cls(*_split_der(der, PKCS8_PREFIX, "private"))


@dataclass(frozen=True, slots=True)
class KeyPair:
    public: PublicKey
    private: PrivateKey = field(repr=False)

    @classmethod
    def generate(cls, alg: KeyAlg) -> KeyPair:
        """A fresh pair; the public key is read off the generated key, not recomputed."""
        priv = PrivateKey.generate(alg)
        return cls(priv.public(), priv)
