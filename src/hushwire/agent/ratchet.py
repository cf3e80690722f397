"""X3DH key agreement and the double ratchet with header encryption (SimpleX e2e v2/v3).

Mirrors simplexmq ``Crypto/Ratchet.hs`` (``E2ERatchetParams``, ``E2ERatchetParamsUri``,
``pqX3dhSnd``/``pqX3dhRcv``/``pqX3dh``, ``initSndRatchet``/``initRcvRatchet``,
``rcEncryptHeader``/``rcEncryptMsg``, ``rcDecrypt``, ``rootKdf``/``chainKdf``) and
simplexmq's ``protocol/pqdr.md``; see docs/protocol/agent.md ("X3DH", "Double ratchet",
"MsgHeader"). Post-quantum KEM is declined: our params and headers carry no KEM, received KEM
fields are parsed and ignored.

Theory of operation. The *initiator* publishes ``(k1, k2)`` in its invitation, the *joiner*
answers with its own ``(k1, k2)``; both run X3DH (three X448 DHs, HKDF-SHA512 "SimpleXX3DH")
to get a root key SK and two header keys HK/NHK, with AD = raw(joiner k1) ‖ raw(initiator k1).
The joiner starts a sending chain at once with a fresh ratchet key (:meth:`Ratchet.init_joiner`);
the initiator has no chain until it decrypts the joiner's first message
(:meth:`Ratchet.init_initiator`). Every message carries a header ``{maxVersion, DHRs, PN, Ns}``
encrypted under the sending header key; the receiver tries the header keys of stored skipped
message keys, then its current receiving header key HKr (same chain), then the next one NHKr
(the peer has ratcheted: a DH ratchet step makes a new receiving and a new sending chain).
Keys of messages skipped on the way are stored (bounded by :data:`RATCHET_MAX_SKIP` per step and
:data:`RATCHET_MAX_SKIPPED_KEYS` in all) so late messages still decrypt, exactly once.

:class:`Ratchet` is immutable: :meth:`Ratchet.encrypt` and :meth:`Ratchet.decrypt` return the
new state beside their result, so the caller commits both in one transaction. On any error
the caller keeps the old state (simplexmq persists some partial progress on errors, such as a
consumed message key whose body failed to authenticate; we never change state on an error).

Errors: malformed input is :class:`~hushwire.errors.DecodeError`; a body that fails to
authenticate is the opaque :class:`~hushwire.errors.CryptoError`; ratchet-level failures are
:class:`RatchetError` subclasses (simplexmq ``CERatchet*``).

The module is over 800 lines because it is one thing: the ratchet's wire forms (parameters,
header, message) and the state machine that produces and consumes them share their keys and
versions so closely that splitting them would only move the coupling into imports.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field, replace
from typing import Any, Final

from hushwire.crypto.aead import GCM_IV_SIZE, GCM_TAG_SIZE, decrypt_aead, encrypt_aead
from hushwire.crypto.kdf import hkdf_sha512
from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey
from hushwire.encoding.binary import Reader, large, parse_all, short_string, word16, word32
from hushwire.encoding.strings import b64url_decode, b64url_encode, parse_query, query_param
from hushwire.errors import CryptoError, DecodeError, HushwireError
from hushwire.limits import RATCHET_MAX_SKIP, RATCHET_MAX_SKIPPED_KEYS
from hushwire.smp.version import VersionRange

__all__ = [
    "CURRENT_E2E_VERSION",
    "E2E_VERSIONS",
    "HEADER_PAD",
    "KDF_X3DH_E2E_VERSION",
    "PQ_RATCHET_E2E_VERSION",
    "E2ERatchetParams",
    "E2ERatchetParamsUri",
    "MsgHeader",
    "Ratchet",
    "RatchetDuplicate",
    "RatchetEarlier",
    "RatchetError",
    "RatchetHeaderError",
    "RatchetKEMError",
    "RatchetTooManySkipped",
    "X3DHKeys",
    "chain_kdf",
    "root_kdf",
    "x3dh_initiator",
    "x3dh_joiner",
]

KDF_X3DH_E2E_VERSION: Final = 2
"""e2e v2: HKDF in X3DH (Ratchet.hs kdfX3DHE2EEncryptVersion)."""
PQ_RATCHET_E2E_VERSION: Final = 3
"""e2e v3: KEM field in params and headers, 2-byte length prefixes (pqRatchetE2EEncryptVersion)."""
CURRENT_E2E_VERSION: Final = 3
E2E_VERSIONS: Final = VersionRange(KDF_X3DH_E2E_VERSION, CURRENT_E2E_VERSION)

HEADER_PAD: Final = 88
"""Our headers are padded to this (Ratchet.hs paddedHeaderLen without PQ support). A peer with
PQ support pads to 2310; receivers take whatever length arrives."""

X3DH_INFO: Final = b"SimpleXX3DH"
ROOT_INFO: Final = b"SimpleXRootRatchet"
CHAIN_INFO: Final = b"SimpleXChainRatchet"
KEY_SIZE: Final = 32

_LARGE_MARK: Final = 0x20
"""largeP: a first byte below 0x20 starts a 2-byte length (Ratchet.hs ``largeP``)."""


# --------------------------------------------------------------------------- errors


class RatchetError(HushwireError):
    """A ratchet-level failure (simplexmq ``CERatchet*``)."""


class RatchetDuplicate(RatchetError):
    """The message was already decrypted (``CERatchetDuplicateMessage``: it is the last one
    received in the current chain)."""

    def __init__(self) -> None:
        super().__init__("duplicate message")


class RatchetEarlier(RatchetError):
    """A message older than the current chain position without a stored key
    (``CERatchetEarlierMessage``): already decrypted, or its skipped key was dropped."""

    def __init__(self, count: int) -> None:
        super().__init__(f"earlier message ({count} before the last received)")
        self.count = count


class RatchetTooManySkipped(RatchetError):
    """Decrypting would skip more than RATCHET_MAX_SKIP keys (``CERatchetTooManySkipped``)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"too many skipped messages ({count})")
        self.count = count


class RatchetHeaderError(RatchetError):
    """No header key opens the header (``CERatchetHeader``): another connection's message, a
    repeat of a message from a finished chain, or garbage."""

    def __init__(self) -> None:
        super().__init__("no header key decrypts the message header")


class RatchetKEMError(RatchetError):
    """A KEM acceptance arrived although we never proposed KEM (``CERatchetKEMState``)."""

    def __init__(self) -> None:
        super().__init__("KEM ciphertext received without a KEM proposal")


# --------------------------------------------------------------------------- helpers


def _enc_large(v: int, b: bytes) -> bytes:
    """Ratchet.hs ``encodeLarge``: Large (2-byte length) from v3, shortString before."""
    return large(b) if v >= PQ_RATCHET_E2E_VERSION else short_string(b)


def _large_p(r: Reader) -> bytes:
    """Ratchet.hs ``largeP``: a first byte < 0x20 means a 2-byte length."""
    first = r.peek()
    if first is None:
        raise DecodeError("need a length, 0 bytes remain")
    return r.large() if first < _LARGE_MARK else r.short_string()


def _x448_key(r: Reader) -> PublicKey:
    key = PublicKey.from_der(r.short_string())
    if key.alg is not KeyAlg.X448:
        raise DecodeError("e2e keys must be X448")
    return key


def _skip_kem(r: Reader) -> str | None:
    """Maybe ARKEMParams: None, ``"P"`` (proposed key) or ``"A"`` (ciphertext and key)."""
    tag = r.byte()
    if tag == 0x30:  # '0'
        return None
    if tag != 0x31:  # '1'
        raise DecodeError("invalid Maybe tag")
    kind = r.byte()
    if kind == 0x50:  # 'P'
        r.large()
        return "P"
    if kind == 0x41:  # 'A'
        r.large()
        r.large()
        return "A"
    raise DecodeError("bad ratchet KEM params")


def _hkdf3(salt: bytes, ikm: bytes, info: bytes) -> tuple[bytes, bytes, bytes]:
    out = hkdf_sha512(salt, ikm, info, 96)
    return out[:32], out[32:64], out[64:]


def root_kdf(rk: bytes, dh_out: bytes) -> tuple[bytes, bytes, bytes]:
    """Ratchet.hs ``rootKdf`` without KEM: ``(RK', CK, NHK)``."""
    return _hkdf3(rk, dh_out, ROOT_INFO)


def chain_kdf(ck: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """Ratchet.hs ``chainKdf``: ``(CK', MK, ivMsg, ivHdr)``."""
    ck2, mk, ivs = _hkdf3(b"", ck, CHAIN_INFO)
    return ck2, mk, ivs[:16], ivs[16:]


# --------------------------------------------------------------------------- e2e params


def _check_x3dh_keys(k1: PublicKey, k2: PublicKey) -> None:
    """The two X3DH keys of ratchet parameters are X448 keys."""
    if k1.alg is not KeyAlg.X448 or k2.alg is not KeyAlg.X448:
        raise ValueError("e2e ratchet params need X448 keys")


@dataclass(frozen=True, slots=True)
class E2ERatchetParams:
    """The binary e2e params of a confirmation or ratchet-key message (Ratchet.hs
    ``E2ERatchetParams``): Word16 version, shortString DER k1, shortString DER k2 and, from v3,
    Maybe KEM. We always write no KEM; a received KEM is skipped and only flagged."""

    version: int
    k1: PublicKey
    k2: PublicKey
    peer_offered_kem: bool = field(default=False, compare=False)
    """The peer sent KEM params (proposed or accepted); ignored (we decline PQ)."""
    peer_kem_accepted: bool = field(default=False, compare=False)
    """The KEM params were an acceptance (a ciphertext): only valid after our proposal."""

    def __post_init__(self) -> None:
        _check_x3dh_keys(self.k1, self.k2)

    def encode(self) -> bytes:
        out = word16(self.version) + short_string(self.k1.to_der()) + short_string(self.k2.to_der())
        return out + b"0" if self.version >= PQ_RATCHET_E2E_VERSION else out

    @classmethod
    def parse(cls, r: Reader) -> E2ERatchetParams:
        v = r.word16()
        k1 = _x448_key(r)
        k2 = _x448_key(r)
        kem = _skip_kem(r) if v >= PQ_RATCHET_E2E_VERSION else None
        return cls(v, k1, k2, peer_offered_kem=kem is not None, peer_kem_accepted=kem == "A")

    @classmethod
    def decode(cls, data: bytes) -> E2ERatchetParams:
        return parse_all(data, cls.parse)

    def to_uri(self, versions: VersionRange) -> E2ERatchetParamsUri:
        return E2ERatchetParamsUri(versions, self.k1, self.k2)


@dataclass(frozen=True, slots=True)
class E2ERatchetParamsUri:
    """The ``e2e=`` value of an invitation link (Ratchet.hs ``E2ERatchetParamsUri``
    StrEncoding): ``v=2-3&x3dh=<b64url DER k1>,<b64url DER k2>``, not percent-escaped inside
    (the link encoder escapes the whole value once)."""

    versions: VersionRange
    k1: PublicKey
    k2: PublicKey
    peer_offered_kem: bool = field(default=False, compare=False)
    """The link carried ``kem_key`` (and maybe ``kem_ct``); ignored (we decline PQ)."""

    def __post_init__(self) -> None:
        _check_x3dh_keys(self.k1, self.k2)

    def to_str(self) -> str:
        keys = f"{b64url_encode(self.k1.to_der())},{b64url_encode(self.k2.to_der())}"
        return f"v={self.versions.to_str()}&x3dh={keys}"

    @classmethod
    def parse_str(cls, text: str) -> E2ERatchetParamsUri:
        query = parse_query(text)
        v = query_param(query, "v")
        if v is None:
            raise DecodeError("e2e params: no 'v' (version range) parameter")
        try:
            versions = VersionRange.parse_str(v)
        except DecodeError as e:
            raise DecodeError(f"e2e params: {e}") from None
        x3dh = query_param(query, "x3dh")
        if x3dh is None:
            raise DecodeError("e2e params: no 'x3dh' (keys) parameter")
        parts = x3dh.split(",")
        if len(parts) != 2:
            raise DecodeError("e2e params: 'x3dh' must hold exactly two keys")
        keys = [PublicKey.from_der(b64url_decode(p)) for p in parts]
        if any(k.alg is not KeyAlg.X448 for k in keys):
            raise DecodeError("e2e params: x3dh keys must be X448")
        kem = False
        if versions.max >= PQ_RATCHET_E2E_VERSION:
            kem_key = query_param(query, "kem_key")
            if kem_key is not None:
                b64url_decode(kem_key)
                kem_ct = query_param(query, "kem_ct")
                if kem_ct is not None:
                    b64url_decode(kem_ct)
                kem = True
        return cls(versions, keys[0], keys[1], peer_offered_kem=kem)

    def for_version(self, version: int) -> E2ERatchetParams:
        """The params at one agreed version (``toVersionT``)."""
        return E2ERatchetParams(version, self.k1, self.k2)


# --------------------------------------------------------------------------- X3DH


@dataclass(frozen=True, slots=True)
class X3DHKeys:
    """X3DH output (Ratchet.hs ``RatchetInitParams``): header key, next header key, root key
    and the associated data. ``repr`` never shows them."""

    hk: bytes = field(repr=False)
    nhk: bytes = field(repr=False)
    sk: bytes = field(repr=False)
    ad: bytes = field(repr=False)

    def __repr__(self) -> str:
        return "X3DHKeys(<redacted>)"


def _x3dh(
    joiner_k1: PublicKey, initiator_k1: PublicKey, dh1: bytes, dh2: bytes, dh3: bytes
) -> X3DHKeys:
    hk, nhk, sk = _hkdf3(b"\x00" * 64, dh1 + dh2 + dh3, X3DH_INFO)
    return X3DHKeys(hk, nhk, sk, joiner_k1.raw + initiator_k1.raw)


def x3dh_joiner(
    own_k1: PrivateKey, own_k2: PrivateKey, peer: E2ERatchetParams | E2ERatchetParamsUri
) -> X3DHKeys:
    """The joiner's X3DH (``pqX3dhSnd``) with the initiator's invitation keys. A KEM proposal
    in ``peer`` is ignored: we send no KEM params back, so the initiator runs pure DH."""
    return _x3dh(
        own_k1.public(), peer.k1, own_k2.dh(peer.k1), own_k1.dh(peer.k2), own_k2.dh(peer.k2)
    )


def x3dh_initiator(own_k1: PrivateKey, own_k2: PrivateKey, peer: E2ERatchetParams) -> X3DHKeys:
    """The initiator's X3DH (``pqX3dhRcv``) with the joiner's confirmation params.

    :class:`RatchetKEMError` if the joiner sent a KEM acceptance (we never propose one)."""
    if peer.peer_kem_accepted and peer.version >= PQ_RATCHET_E2E_VERSION:
        raise RatchetKEMError()
    return _x3dh(
        peer.k1, own_k1.public(), own_k1.dh(peer.k2), own_k2.dh(peer.k1), own_k2.dh(peer.k2)
    )


# --------------------------------------------------------------------------- wire forms


@dataclass(frozen=True, slots=True)
class MsgHeader:
    """Ratchet.hs ``MsgHeader`` (decrypted): max version, sender's DHRs, KEM kind, PN, Ns."""

    max_version: int
    dh: PublicKey
    pn: int
    ns: int
    kem: str | None = None

    def encode(self, v: int) -> bytes:
        """``encodeMsgHeader``: the v3+ form has a Maybe KEM field, always '0' from us."""
        kem = b"0" if v >= PQ_RATCHET_E2E_VERSION else b""
        return (
            word16(self.max_version)
            + short_string(self.dh.to_der())
            + kem
            + word32(self.pn)
            + word32(self.ns)
        )

    @classmethod
    def decode(cls, v: int, data: bytes) -> MsgHeader:
        """``msgHeaderP`` (trailing bytes allowed, as ``parseE'``)."""
        r = Reader(data)
        max_v = r.word16()
        dh = _x448_key(r)
        kem = _skip_kem(r) if v >= PQ_RATCHET_E2E_VERSION else None
        pn = r.word32()
        ns = r.word32()
        return cls(max_v, dh, pn, ns, kem)


@dataclass(frozen=True, slots=True)
class _EncHeader:
    version: int
    iv: bytes
    tag: bytes
    body: bytes


def _parse_message(data: bytes) -> tuple[bytes, _EncHeader, bytes, bytes]:
    """``encRatchetMessageP`` then ``EncMessageHeader`` smpP (strict): (emHeader, header,
    body tag, body)."""
    r = Reader(data)
    em_header = _large_p(r)
    tag = r.take(GCM_TAG_SIZE)
    body = r.tail()
    hr = Reader(em_header)
    version = hr.word16()
    iv = hr.take(GCM_IV_SIZE)
    htag = hr.take(GCM_TAG_SIZE)
    hbody = _large_p(hr)
    hr.end()
    return em_header, _EncHeader(version, iv, htag, hbody), tag, body


# --------------------------------------------------------------------------- the ratchet


@dataclass(frozen=True, slots=True)
class _SndChain:
    dhrr: PublicKey
    ck: bytes
    hk: bytes


@dataclass(frozen=True, slots=True)
class _RcvChain:
    ck: bytes
    hk: bytes


@dataclass(frozen=True, slots=True)
class _Skipped:
    """Skipped message keys of one chain, by header key, in insertion order."""

    hk: bytes
    keys: tuple[tuple[int, bytes, bytes], ...]  # (Ns, MK, ivMsg)


_SAME = False
_ADVANCE = True


class _WrongKey(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Ratchet:
    """One connection's double-ratchet state (Ratchet.hs ``Ratchet``), immutable.

    Build with :meth:`init_joiner` / :meth:`init_initiator`, persist with :meth:`to_json`
    (it holds secrets: store it sealed, never log it). ``repr`` shows counters only.
    """

    current_version: int
    max_version: int
    ad: bytes
    dhrs: KeyPair
    rk: bytes
    snd: _SndChain | None
    rcv: _RcvChain | None
    ns: int
    nr: int
    pn: int
    nhks: bytes
    nhkr: bytes
    skipped: tuple[_Skipped, ...] = ()
    peer_offered_kem: bool = False
    """A received header carried KEM params; ignored (we decline PQ)."""

    def __repr__(self) -> str:
        return (
            f"Ratchet(v={self.current_version}, ns={self.ns}, nr={self.nr}, pn={self.pn}, "
            f"skipped={self.skipped_count}, <redacted>)"
        )

    @property
    def version(self) -> int:
        """The current ratchet version (what our headers are encoded at)."""
        return self.current_version

    @property
    def skipped_count(self) -> int:
        return sum(len(s.keys) for s in self.skipped)

    @property
    def can_send(self) -> bool:
        """False for an initiator until it decrypted the joiner's first message."""
        return self.snd is not None

    # ------------------------------------------------------------------ initialisation

    @staticmethod
    def _check_versions(version: int, max_version: int) -> None:
        if version not in E2E_VERSIONS or max_version not in E2E_VERSIONS:
            raise ValueError(f"e2e version {version} (max {max_version}) not in {E2E_VERSIONS}")
        if version > max_version:
            raise ValueError("current e2e version above the maximum")

    @classmethod
    def init_joiner(
        cls,
        keys: X3DHKeys,
        peer_k2: PublicKey,
        version: int,
        *,
        dh_pair: KeyPair | None = None,
        max_version: int = E2E_VERSIONS.max,
    ) -> Ratchet:
        """``initSndRatchet``: a fresh X448 DHRs (unless given), DHRr = the initiator's k2;
        ``(RK, CKs, NHKs) = rootKdf(SK, DH(DHRr, DHRs))``; HKs = HK, NHKr = NHK."""
        cls._check_versions(version, max_version)
        pair = dh_pair if dh_pair is not None else KeyPair.generate(KeyAlg.X448)
        rk, cks, nhks = root_kdf(keys.sk, pair.private.dh(peer_k2))
        return cls(
            current_version=version,
            max_version=max_version,
            ad=keys.ad,
            dhrs=pair,
            rk=rk,
            snd=_SndChain(peer_k2, cks, keys.hk),
            rcv=None,
            ns=0,
            nr=0,
            pn=0,
            nhks=nhks,
            nhkr=keys.nhk,
        )

    @classmethod
    def init_initiator(
        cls,
        keys: X3DHKeys,
        own_k2: KeyPair,
        version: int,
        *,
        max_version: int = E2E_VERSIONS.max,
    ) -> Ratchet:
        """``initRcvRatchet``: DHRs = our k2, RK = SK, NHKs = NHK, NHKr = HK, no chains."""
        cls._check_versions(version, max_version)
        return cls(
            current_version=version,
            max_version=max_version,
            ad=keys.ad,
            dhrs=own_k2,
            rk=keys.sk,
            snd=None,
            rcv=None,
            ns=0,
            nr=0,
            pn=0,
            nhks=keys.nhk,
            nhkr=keys.hk,
        )

    # ------------------------------------------------------------------ encrypt

    def encrypt(self, plaintext: bytes, pad_to: int) -> tuple[bytes, Ratchet]:
        """``rcEncryptHeader`` + ``rcEncryptMsg``: the EncRatchetMessage and the new state.

        The body is padded to ``pad_to`` (``ValueError`` if it does not fit);
        :class:`RatchetError` if there is no sending chain yet."""
        if self.snd is None:
            raise RatchetError("no sending chain: the initiator must receive a message first")
        if len(plaintext) > pad_to - 2:
            raise ValueError(f"message of {len(plaintext)} bytes does not fit in {pad_to}")
        ck, mk, iv, hiv = chain_kdf(self.snd.ck)
        v = self.current_version
        header = MsgHeader(max(self.max_version, v), self.dhrs.public, self.pn, self.ns).encode(v)
        hct, htag = encrypt_aead(self.snd.hk, hiv, HEADER_PAD, self.ad, header)
        em_header = word16(v) + hiv + htag + _enc_large(v, hct)
        bct, btag = encrypt_aead(mk, iv, pad_to, self.ad + em_header, plaintext)
        out = _enc_large(v, em_header) + btag + bct
        return out, replace(self, snd=replace(self.snd, ck=ck), ns=self.ns + 1)

    # ------------------------------------------------------------------ decrypt

    def decrypt(self, enc: bytes, *, new_dh: KeyPair | None = None) -> tuple[bytes, Ratchet]:
        """``rcDecrypt``: the unpadded plaintext and the new state.

        ``new_dh`` is the next ratchet key if this message makes a DH ratchet step (fresh
        when not given; for reproducible tests). Errors leave no trace: keep the old state.
        """
        em_header, eh, tag, body = _parse_message(enc)
        step: bool
        # 1. Header keys of stored skipped message keys.
        for chain in self.skipped:
            try:
                hdr = self._decrypt_header(chain.hk, eh)
            except _WrongKey:
                continue
            for i, (n, mk, iv) in enumerate(chain.keys):
                if n == hdr.ns:
                    pt = decrypt_aead(mk, iv, self.ad + em_header, body, tag)
                    return pt, self._without_skipped(chain, i)
            if self.rcv is not None and hmac.compare_digest(chain.hk, self.rcv.hk):
                step = _SAME
            elif hmac.compare_digest(chain.hk, self.nhkr):
                step = _ADVANCE
            else:
                raise RatchetHeaderError()
            break
        else:
            # 2. The current receiving header key, then the next one.
            hdr, step = self._decrypt_rc_header(eh)
        return self._decrypt_rc_message(step, hdr, em_header, tag, body, new_dh)

    def _decrypt_header(self, hk: bytes, eh: _EncHeader) -> MsgHeader:
        try:
            plain = decrypt_aead(hk, eh.iv, self.ad, eh.body, eh.tag)
        except CryptoError:
            raise _WrongKey() from None
        return MsgHeader.decode(eh.version, plain)

    def _decrypt_rc_header(self, eh: _EncHeader) -> tuple[MsgHeader, bool]:
        if self.rcv is not None:
            try:
                return self._decrypt_header(self.rcv.hk, eh), _SAME
            except _WrongKey:
                pass
        try:
            return self._decrypt_header(self.nhkr, eh), _ADVANCE
        except _WrongKey:
            raise RatchetHeaderError() from None

    def _decrypt_rc_message(
        self,
        step: bool,
        hdr: MsgHeader,
        em_header: bytes,
        tag: bytes,
        body: bytes,
        new_dh: KeyPair | None,
    ) -> tuple[bytes, Ratchet]:
        rc = self
        if hdr.max_version > rc.current_version:
            # The peer supports more (docs/protocol/agent.md); raise ours up to our maximum.
            raised = max(rc.current_version, min(hdr.max_version, rc.max_version))
            rc = replace(rc, current_version=raised)
        added: list[tuple[bytes, list[tuple[int, bytes, bytes]]]] = []
        if step is _ADVANCE:
            rc = rc._skip(hdr.pn, added)
            rc = rc._ratchet_step(hdr, new_dh)
        rc = rc._skip(hdr.ns, added)
        assert rc.rcv is not None
        ck, mk, iv, _ = chain_kdf(rc.rcv.ck)
        pt = decrypt_aead(mk, iv, rc.ad + em_header, body, tag)
        rc = replace(rc, rcv=replace(rc.rcv, ck=ck), nr=rc.nr + 1)
        if hdr.kem is not None and not rc.peer_offered_kem:
            rc = replace(rc, peer_offered_kem=True)
        return pt, rc._with_skipped(added)

    def _skip(
        self, until: int, added: list[tuple[bytes, list[tuple[int, bytes, bytes]]]]
    ) -> Ratchet:
        """``skipMessageKeys``: derive and collect keys of messages ``nr..until-1``."""
        if self.rcv is None:
            return self
        nr = self.nr
        if nr > until + 1:
            raise RatchetEarlier(nr - until - 1)
        if nr == until + 1:
            raise RatchetDuplicate()
        if nr + RATCHET_MAX_SKIP < until:
            raise RatchetTooManySkipped(until + 1 - nr)
        if nr == until:
            return self
        ck = self.rcv.ck
        keys: list[tuple[int, bytes, bytes]] = []
        for n in range(nr, until):
            ck, mk, iv, _ = chain_kdf(ck)
            keys.append((n, mk, iv))
        added.append((self.rcv.hk, keys))
        return replace(self, rcv=replace(self.rcv, ck=ck), nr=until)

    def _ratchet_step(self, hdr: MsgHeader, new_dh: KeyPair | None) -> Ratchet:
        """The DH ratchet step (``ratchetStep``) with KEM declined (``pqRatchetStep``)."""
        if hdr.kem == "A":
            raise RatchetKEMError()
        pair = new_dh if new_dh is not None else KeyPair.generate(KeyAlg.X448)
        rk, ckr, nhkr = root_kdf(self.rk, self.dhrs.private.dh(hdr.dh))
        rk2, cks, nhks = root_kdf(rk, pair.private.dh(hdr.dh))
        return replace(
            self,
            dhrs=pair,
            rk=rk2,
            snd=_SndChain(hdr.dh, cks, self.nhks),
            rcv=_RcvChain(ckr, self.nhkr),
            pn=self.ns,
            ns=0,
            nr=0,
            nhks=nhks,
            nhkr=nhkr,
        )

    def _without_skipped(self, chain: _Skipped, i: int) -> Ratchet:
        keys = chain.keys[:i] + chain.keys[i + 1 :]
        out = tuple(
            (_Skipped(c.hk, keys) if c is chain else c)
            for c in self.skipped
            if c is not chain or keys
        )
        return replace(self, skipped=out)

    def _with_skipped(self, added: list[tuple[bytes, list[tuple[int, bytes, bytes]]]]) -> Ratchet:
        if not added:
            return self
        chains = list(self.skipped)
        for hk, keys in added:
            for i, c in enumerate(chains):
                if c.hk == hk:
                    chains[i] = _Skipped(hk, c.keys + tuple(keys))
                    break
            else:
                chains.append(_Skipped(hk, tuple(keys)))
        excess = sum(len(c.keys) for c in chains) - RATCHET_MAX_SKIPPED_KEYS
        while excess > 0:  # drop the oldest keys first
            first = chains[0]
            if len(first.keys) <= excess:
                excess -= len(first.keys)
                chains.pop(0)
            else:
                chains[0] = _Skipped(first.hk, first.keys[excess:])
                excess = 0
        return replace(self, skipped=tuple(chains))

    # ------------------------------------------------------------------ storage

    def to_json(self) -> bytes:
        """Compact JSON for the store (secrets as base64url): seal it, never log it."""

        def b(x: bytes) -> str:
            return b64url_encode(x)

        doc: dict[str, Any] = {
            "f": 1,
            "v": [self.current_version, self.max_version],
            "ad": b(self.ad),
            "dhrs": b(self.dhrs.private.raw),
            "rk": b(self.rk),
            "snd": None
            if self.snd is None
            else [b(self.snd.dhrr.raw), b(self.snd.ck), b(self.snd.hk)],
            "rcv": None if self.rcv is None else [b(self.rcv.ck), b(self.rcv.hk)],
            "n": [self.ns, self.nr, self.pn],
            "nhk": [b(self.nhks), b(self.nhkr)],
            "sk": [[b(c.hk), [[n, b(mk + iv)] for n, mk, iv in c.keys]] for c in self.skipped],
            "kem": self.peer_offered_kem,
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Ratchet:
        """Parse :meth:`to_json` output; anything malformed is a ``DecodeError``."""
        try:
            doc = json.loads(data)
            return cls._from_doc(doc)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
            raise DecodeError(f"invalid ratchet state: {e}") from None

    @classmethod
    def _from_doc(cls, doc: Any) -> Ratchet:
        def key(x: Any, size: int = KEY_SIZE) -> bytes:
            raw = _b64(x)
            if len(raw) != size:
                raise ValueError("bad key size")
            return raw

        def count(x: Any) -> int:
            if type(x) is not int or not 0 <= x <= 0xFFFFFFFF:
                raise ValueError("bad counter")
            return x

        if doc["f"] != 1:
            raise ValueError("unknown ratchet state format")
        cur, mx = doc["v"]
        if type(cur) is not int or type(mx) is not int:
            raise ValueError("bad version")
        cls._check_versions(cur, mx)
        priv = PrivateKey(KeyAlg.X448, key(doc["dhrs"], 56))
        snd = doc["snd"]
        rcv = doc["rcv"]
        ns, nr, pn = (count(x) for x in doc["n"])
        nhks, nhkr = (key(x) for x in doc["nhk"])
        skipped: list[_Skipped] = []
        for hk, keys in doc["sk"]:
            entries = []
            for n, mkiv in keys:
                raw = key(mkiv, KEY_SIZE + GCM_IV_SIZE)
                entries.append((count(n), raw[:KEY_SIZE], raw[KEY_SIZE:]))
            if not entries:
                raise ValueError("empty skipped chain")
            skipped.append(_Skipped(key(hk), tuple(entries)))
        kem = doc["kem"]
        if type(kem) is not bool:
            raise ValueError("bad kem flag")
        ad = _b64(doc["ad"])
        if len(ad) != 112:
            raise ValueError("bad associated data")
        return cls(
            current_version=cur,
            max_version=mx,
            ad=ad,
            dhrs=KeyPair(priv.public(), priv),
            rk=key(doc["rk"]),
            snd=None
            if snd is None
            else _SndChain(PublicKey(KeyAlg.X448, key(snd[0], 56)), key(snd[1]), key(snd[2])),
            rcv=None if rcv is None else _RcvChain(key(rcv[0]), key(rcv[1])),
            ns=ns,
            nr=nr,
            pn=pn,
            nhks=nhks,
            nhkr=nhkr,
            skipped=tuple(skipped),
            peer_offered_kem=kem,
        )


def _b64(x: Any) -> bytes:
    if not isinstance(x, str):
        raise ValueError("expected a base64url string")
    try:
        return b64url_decode(x)
    except DecodeError as e:
        raise ValueError(str(e)) from None
