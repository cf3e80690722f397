"""The Noise Protocol Framework core (rev 34) with the HFS KEM tokens, sans-I/O.

What GRP/1 needs of Noise, written out (docs/grp.md, "Handshake"): the 25519 DH functions,
ChaChaPoly (nonce = 4 zero bytes ‖ the 64-bit counter little-endian), BLAKE2s with
HMAC-BLAKE2s and Noise's HKDF, :class:`CipherState`, :class:`SymmetricState` and a
:class:`HandshakeState` that runs a fixed pattern of tokens. Besides the standard tokens
(``e s ee es se ss``) it runs the two tokens of the hybrid forward secrecy extension
(``noise_hfs_spec`` rev 1): ``e1`` (a fresh KEM key pair, public key sent with
``EncryptAndHash``) and ``ekem1`` (encapsulate to the peer's ``e1``, ciphertext sent with
``EncryptAndHash``, shared secret into ``MixKey``).

The classical ``IK`` pattern is tested against the cacophony vectors
(tests/vectors/grp_noise.json); ``IKhfs`` is GRP/1's handshake. Nothing here does I/O or
draws randomness behind the caller's back: ephemeral keys and the KEM come in as arguments,
so tests can fix them. There is no general pattern parser: patterns are step tuples.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from hushwire.errors import CryptoError

HASHLEN: Final = 32
DHLEN: Final = 32
TAGLEN: Final = 16
MAX_NONCE: Final = 2**64 - 1
MAX_MESSAGE: Final = 65535
"""Noise's limit on one message, handshake or transport."""


class NoiseError(CryptoError):
    """A Noise message failed: bad length, AEAD failure, a used-up nonce, a bad DH result."""


# ---------------------------------------------------------------- primitives


def blake2s(data: bytes) -> bytes:
    return hashlib.blake2s(data).digest()


def hmac_blake2s(key: bytes, data: bytes) -> bytes:
    """HMAC over BLAKE2s (block length 64, as Noise requires)."""
    return hmac.new(key, data, hashlib.blake2s).digest()


def hkdf(chaining_key: bytes, ikm: bytes, outputs: int) -> tuple[bytes, ...]:
    """Noise's ``HKDF(chaining_key, input_key_material, num_outputs)`` (2 or 3 outputs)."""
    temp = hmac_blake2s(chaining_key, ikm)
    out1 = hmac_blake2s(temp, b"\x01")
    out2 = hmac_blake2s(temp, out1 + b"\x02")
    if outputs == 2:
        return out1, out2
    return out1, out2, hmac_blake2s(temp, out2 + b"\x03")


def _nonce(n: int) -> bytes:
    return b"\x00\x00\x00\x00" + n.to_bytes(8, "little")


def aead_encrypt(k: bytes, n: int, ad: bytes, plaintext: bytes) -> bytes:
    return ChaCha20Poly1305(k).encrypt(_nonce(n), plaintext, ad)


def aead_decrypt(k: bytes, n: int, ad: bytes, ciphertext: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(k).decrypt(_nonce(n), ciphertext, ad)
    except InvalidTag:
        raise NoiseError("authentication failed") from None


@dataclass(frozen=True, slots=True)
class DHKey:
    """An X25519 key pair (``GENERATE_KEYPAIR`` output); ``public`` is the 32 raw bytes."""

    private: X25519PrivateKey
    public: bytes

    @classmethod
    def from_private(cls, raw: bytes) -> DHKey:
        if len(raw) != DHLEN:
            raise ValueError("an X25519 private key is 32 bytes")
        key = X25519PrivateKey.from_private_bytes(raw)
        return cls(key, key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls) -> DHKey:
        key = X25519PrivateKey.generate()
        return cls(key, key.public_key().public_bytes_raw())

    def private_bytes(self) -> bytes:
        return self.private.private_bytes_raw()


def dh(key: DHKey, public: bytes) -> bytes:
    """``DH(key_pair, public_key)``; an all-zero result (a low-order point) is an error."""
    try:
        return key.private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:
        raise NoiseError("the peer's DH key is not usable") from None


# ---------------------------------------------------------------- states


class CipherState:
    """``k`` and the nonce counter ``n``; without a key, encryption is the identity."""

    __slots__ = ("k", "n")

    def __init__(self, k: bytes | None = None) -> None:
        self.k = k
        self.n = 0

    def has_key(self) -> bool:
        return self.k is not None

    def encrypt_with_ad(self, ad: bytes, plaintext: bytes) -> bytes:
        if self.k is None:
            return plaintext
        if self.n >= MAX_NONCE:
            raise NoiseError("nonce space used up")
        ct = aead_encrypt(self.k, self.n, ad, plaintext)
        self.n += 1
        return ct

    def decrypt_with_ad(self, ad: bytes, ciphertext: bytes) -> bytes:
        if self.k is None:
            return ciphertext
        if self.n >= MAX_NONCE:
            raise NoiseError("nonce space used up")
        pt = aead_decrypt(self.k, self.n, ad, ciphertext)
        self.n += 1
        return pt

    def rekey(self) -> None:
        """``REKEY(k)``: the first 32 bytes of ``ENCRYPT(k, 2^64-1, "", zeros(32))``; the
        nonce counter goes on."""
        if self.k is None:
            raise NoiseError("no key to rekey")
        self.k = aead_encrypt(self.k, MAX_NONCE, b"", bytes(32))[:32]


class SymmetricState:
    """``ck``, ``h`` and the handshake's :class:`CipherState`."""

    __slots__ = ("ck", "cs", "h")

    def __init__(self, protocol_name: bytes) -> None:
        if len(protocol_name) <= HASHLEN:
            self.h = protocol_name.ljust(HASHLEN, b"\x00")
        else:
            self.h = blake2s(protocol_name)
        self.ck = self.h
        self.cs = CipherState()

    def mix_key(self, ikm: bytes) -> None:
        self.ck, temp_k = hkdf(self.ck, ikm, 2)
        self.cs = CipherState(temp_k[:32])

    def mix_hash(self, data: bytes) -> None:
        self.h = blake2s(self.h + data)

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        ct = self.cs.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(ct)
        return ct

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        pt = self.cs.decrypt_with_ad(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return pt

    def split(self) -> tuple[CipherState, CipherState]:
        k1, k2 = hkdf(self.ck, b"", 2)
        return CipherState(k1[:32]), CipherState(k2[:32])


# ---------------------------------------------------------------- KEM


@dataclass(frozen=True, slots=True)
class KemSuite:
    """A KEM as the HFS tokens use it: sizes, and the three functions.

    ``generate()`` returns ``(public key, decapsulate)`` where ``decapsulate(ct) -> ss``;
    ``encapsulate(public key) -> (ct, ss)``.
    """

    public_len: int
    ciphertext_len: int
    generate: Callable[[], tuple[bytes, Callable[[bytes], bytes]]]
    encapsulate: Callable[[bytes], tuple[bytes, bytes]]


# ---------------------------------------------------------------- handshake


@dataclass(frozen=True, slots=True)
class Pattern:
    """A handshake pattern: the responder's pre-message (``("s",)`` for IK) and the
    messages' tokens, initiator first."""

    name: str
    responder_pre: tuple[str, ...]
    messages: tuple[tuple[str, ...], ...]


IK: Final = Pattern("IK", ("s",), (("e", "es", "s", "ss"), ("e", "ee", "se")))
IKHFS: Final = Pattern("IKhfs", ("s",), (("e", "es", "e1", "s", "ss"), ("e", "ee", "ekem1", "se")))


class HandshakeState:
    """One side of a handshake over a fixed :class:`Pattern` (Noise §5.3).

    ``ephemeral`` fixes the DH ephemeral key (tests); ``kem`` is needed for patterns with
    HFS tokens. After the last message :attr:`result` holds ``(h, send, recv)`` for this
    side.
    """

    def __init__(
        self,
        protocol_name: bytes,
        pattern: Pattern,
        *,
        initiator: bool,
        prologue: bytes,
        s: DHKey | None = None,
        rs: bytes | None = None,
        ephemeral: DHKey | None = None,
        kem: KemSuite | None = None,
    ) -> None:
        self.ss = SymmetricState(protocol_name)
        self.ss.mix_hash(prologue)
        self.pattern = pattern
        self.initiator = initiator
        self.s = s
        self.rs = rs
        self.e = ephemeral
        self.re: bytes | None = None
        self.kem = kem
        self._e1: Callable[[bytes], bytes] | None = None
        self._re1: bytes | None = None
        for step in pattern.responder_pre:
            assert step == "s"
            key = (s.public if s is not None else None) if not initiator else rs
            if key is None:
                raise ValueError("the pattern needs the responder's static key")
            self.ss.mix_hash(key)
        self._index = 0
        self.result: tuple[bytes, CipherState, CipherState] | None = None

    @property
    def handshake_hash(self) -> bytes:
        return self.ss.h

    def _my_turn(self) -> bool:
        return (self._index % 2 == 0) == self.initiator

    def _dh_token(self, step: str) -> bytes:
        # Noise §5.3: "es" is DH(e, rs) for the initiator, DH(s, re) for the responder...
        first, second = step[0], step[1]
        mine, theirs = (first, second) if self.initiator else (second, first)
        local = self.e if mine == "e" else self.s
        remote = self.re if theirs == "e" else self.rs
        if local is None or remote is None:
            raise ValueError(f"step {step}: a key is missing")
        return dh(local, remote)

    def write_message(self, payload: bytes) -> bytes:
        if self.result is not None or not self._my_turn():
            raise ValueError("not this side's turn to write")
        out = bytearray()
        for step in self.pattern.messages[self._index]:
            if step == "e":
                if self.e is None:
                    self.e = DHKey.generate()
                out += self.e.public
                self.ss.mix_hash(self.e.public)
            elif step == "s":
                assert self.s is not None
                out += self.ss.encrypt_and_hash(self.s.public)
            elif step == "e1":
                kem = self._need_kem()
                public, self._e1 = kem.generate()
                out += self.ss.encrypt_and_hash(public)
            elif step == "ekem1":
                kem = self._need_kem()
                assert self._re1 is not None
                ct, secret = kem.encapsulate(self._re1)
                out += self.ss.encrypt_and_hash(ct)
                self.ss.mix_key(secret)
            else:
                self.ss.mix_key(self._dh_token(step))
        out += self.ss.encrypt_and_hash(payload)
        self._advance()
        if len(out) > MAX_MESSAGE:
            raise ValueError("Noise message too long")
        return bytes(out)

    def read_message(self, message: bytes) -> bytes:
        if self.result is not None or self._my_turn():
            raise ValueError("not this side's turn to read")
        if len(message) > MAX_MESSAGE:
            raise NoiseError("Noise message too long")
        pos = 0

        def take(n: int) -> bytes:
            nonlocal pos
            if pos + n > len(message):
                raise NoiseError("handshake message too short")
            part = message[pos : pos + n]
            pos += n
            return part

        for step in self.pattern.messages[self._index]:
            tag = TAGLEN if self.ss.cs.has_key() else 0
            if step == "e":
                self.re = take(DHLEN)
                self.ss.mix_hash(self.re)
            elif step == "s":
                self.rs = self.ss.decrypt_and_hash(take(DHLEN + tag))
            elif step == "e1":
                kem = self._need_kem()
                self._re1 = self.ss.decrypt_and_hash(take(kem.public_len + tag))
            elif step == "ekem1":
                kem = self._need_kem()
                ct = self.ss.decrypt_and_hash(take(kem.ciphertext_len + tag))
                assert self._e1 is not None
                self.ss.mix_key(self._e1(ct))
            else:
                self.ss.mix_key(self._dh_token(step))
        payload = self.ss.decrypt_and_hash(message[pos:])
        self._advance()
        return payload

    def _need_kem(self) -> KemSuite:
        if self.kem is None:
            raise ValueError("this pattern needs a KEM")
        return self.kem

    def _advance(self) -> None:
        self._index += 1
        if self._index == len(self.pattern.messages):
            c1, c2 = self.ss.split()
            send, recv = (c1, c2) if self.initiator else (c2, c1)
            self.result = (self.ss.h, send, recv)
            self._e1 = None


def protocol_name(pattern: Pattern, dh_name: str, cipher: str, hash_name: str) -> bytes:
    """``Noise_<pattern>_<dh>_<cipher>_<hash>`` as bytes."""
    return f"Noise_{pattern.name}_{dh_name}_{cipher}_{hash_name}".encode()


def transport_messages(cs: CipherState, payloads: Sequence[bytes]) -> list[bytes]:
    """Encrypt transport messages in order (ad empty), as the vectors list them."""
    return [cs.encrypt_with_ad(b"", p) for p in payloads]
