"""Server identity: the CA and online certificates, the fingerprint, the signed session key.

Mirrors simplexmq's certificate handling:

- generation as ``Server/CLI.hs`` ``createServerX509_`` (CLI.hs:151-197) drives openssl:
  a self-signed CA ("identity", offline) certificate ``CN=SMP server CA, O=SimpleX`` with
  subjectKeyIdentifier, authorityKeyIdentifier keyid, critical basicConstraints CA:true, and
  an online (leaf) certificate ``CN=<host>`` with basicConstraints CA:FALSE, keyUsage
  digitalSignature + nonRepudiation + keyAgreement, extendedKeyUsage serverAuth, signed by
  the CA; both valid 999999 days, both Ed448 by default (docs/protocol/smp.md, "Server identity");
- the key hash (server fingerprint) is SHA-256 of the CA certificate's DER
  (``Transport/Server.hs`` ``loadFileFingerprint``, C.hs ``signedFingerprint``);
- the server hello's ``signedKey`` is an X.509 ``SignedExact`` of the X25519 SPKI made with
  the online key (C.hs:1193 ``signX509``, T.hs ``CertChainPubKey``; docs/protocol/smp.md, "Hellos")
  and is checked against the leaf certificate's key (T.hs:815-821, C.hs ``verifyX509``);
- chain validation as ``Transport/Client.hs`` ``validateCertificateChain`` with
  ``Transport/Shared.hs`` ``chainIdCaCerts``/``x509validate``: 2..4 certificates, leaf first;
  the second is the identity certificate whose SHA-256 must equal the key hash.

Sans-I/O: time comes in as ``now``; key and serial may be passed in so output can be pinned.
PEM helpers convert bytes to bytes; reading and writing files is the caller's business.
Malformed input raises :class:`DecodeError`; a failed signature or validation raises the
opaque :class:`CryptoError`.
"""

from __future__ import annotations

import ipaddress
import itertools
import warnings
from datetime import UTC, datetime, timedelta

from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hushwire.crypto import _der
from hushwire.crypto.ct import equal
from hushwire.crypto.kdf import sha256
from hushwire.crypto.keys import KeyAlg, PrivateKey, PublicKey
from hushwire.errors import CryptoError, DecodeError
from hushwire.limits import MAX_CERT_CHAIN, MIN_CERT_CHAIN

CERT_DAYS = 999999
"""Validity of generated server certificates (CLI.hs ``-days 999999``)."""
CA_COMMON_NAME = "SMP server CA"
CA_ORGANIZATION = "SimpleX"
WEB_CERT_DAYS = 365

SIGNATURE_ALGORITHM_ID: dict[KeyAlg, bytes] = {
    KeyAlg.ED25519: bytes.fromhex("300506032b6570"),  # SEQUENCE { OID 1.3.101.112 }
    KeyAlg.ED448: bytes.fromhex("300506032b6571"),  # SEQUENCE { OID 1.3.101.113 }
}
"""DER AlgorithmIdentifier of each signature algorithm (RFC 8410: no parameters)."""

_PEM = serialization.Encoding.PEM
_DER = serialization.Encoding.DER
_PARSE_ERRORS = (ValueError, TypeError, cx509.InvalidVersion, UnsupportedAlgorithm)

_EdPrivate = ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey


# --------------------------------------------------------------------------- helpers


def _utc(now: datetime) -> datetime:
    """``now`` as an aware UTC datetime with whole seconds (X.509 times have no fractions)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).replace(microsecond=0)


def _signing_key(key: PrivateKey) -> _EdPrivate:
    if not key.alg.is_signature:
        raise ValueError(f"{key.alg.value} keys cannot sign certificates")
    obj = serialization.load_der_private_key(key.to_der(), None)
    assert isinstance(obj, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
    return obj


def _load(cert_der: bytes) -> cx509.Certificate:
    """Parse a certificate eagerly enough that later field access does not fail.

    A serial number that is not positive (RFC 5280 forbids it, the reference does not check)
    makes ``cryptography`` warn; the warning is for the library's users, not for a peer's
    bytes, so it is silenced here and such a certificate is read like any other.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            cert = cx509.load_der_x509_certificate(cert_der)
        _ = cert.version, cert.extensions, cert.not_valid_before_utc, cert.not_valid_after_utc
        _ = cert.subject, cert.issuer
    except _PARSE_ERRORS:
        raise DecodeError("malformed certificate") from None
    return cert


def _public_key(cert: cx509.Certificate) -> PublicKey:
    try:
        spki = cert.public_key().public_bytes(_DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    except _PARSE_ERRORS:
        raise DecodeError("unsupported certificate key") from None
    return PublicKey.from_der(spki)


def _new_key(alg: KeyAlg, key: PrivateKey | None) -> PrivateKey:
    if key is None:
        return PrivateKey.generate(alg)
    if key.alg is not alg:
        raise ValueError("the given key is not of the requested algorithm")
    return key


# --------------------------------------------------------------------------- generation


def _builder(
    subject: cx509.Name,
    issuer: cx509.Name,
    public_key: CertificatePublicKeyTypes,
    serial: int | None,
    not_before: datetime,
    not_after: datetime,
) -> cx509.CertificateBuilder:
    """A certificate builder with its names, key, serial (None: random) and validity set."""
    return (
        cx509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial if serial is not None else cx509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def generate_ca(
    alg: KeyAlg = KeyAlg.ED448,
    *,
    now: datetime,
    key: PrivateKey | None = None,
    serial: int | None = None,
    days: int = CERT_DAYS,
) -> tuple[bytes, PrivateKey]:
    """A self-signed identity (CA) certificate as DER, and its private key.

    ``alg`` is Ed448 (the default of ``smp-server init``) or Ed25519. ``key`` and ``serial``
    default to fresh random values.
    """
    own = _new_key(alg, key)
    sk = _signing_key(own)
    start = _utc(now)
    name = cx509.Name(
        [
            cx509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
            cx509.NameAttribute(NameOID.ORGANIZATION_NAME, CA_ORGANIZATION),
        ]
    )
    ski = cx509.SubjectKeyIdentifier.from_public_key(sk.public_key())
    cert = (
        _builder(name, name, sk.public_key(), serial, start, start + timedelta(days=days))
        .add_extension(ski, critical=False)
        .add_extension(
            cx509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(sk, None)
    )
    return cert.public_bytes(_DER), own


def generate_online_cert(
    ca_cert_der: bytes,
    ca_key: PrivateKey,
    alg: KeyAlg,
    common_name: str,
    *,
    now: datetime,
    key: PrivateKey | None = None,
    serial: int | None = None,
    days: int = CERT_DAYS,
) -> tuple[bytes, PrivateKey]:
    """An online (TLS leaf) certificate for ``common_name`` signed by the CA, and its key.

    ``ValueError`` if ``ca_key`` is not the key of ``ca_cert_der`` or ``alg`` cannot sign.
    """
    ca = _load(ca_cert_der)
    if _public_key(ca) != ca_key.public():
        raise ValueError("ca_key does not belong to the CA certificate")
    ca_sk = _signing_key(ca_key)
    own = _new_key(alg, key)
    sk = _signing_key(own)
    start = _utc(now)
    try:
        ca_ski = ca.extensions.get_extension_for_class(cx509.SubjectKeyIdentifier).value
        aki = cx509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)
    except cx509.ExtensionNotFound:
        aki = cx509.AuthorityKeyIdentifier.from_issuer_public_key(ca_sk.public_key())
    subject = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        _builder(subject, ca.subject, sk.public_key(), serial, start, start + timedelta(days=days))
        .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=False)
        .add_extension(
            cx509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=False,
        )
        .add_extension(cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(cx509.SubjectKeyIdentifier.from_public_key(sk.public_key()), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_sk, None)
    )
    return cert.public_bytes(_DER), own


def generate_web_cert(
    hostnames: list[str], *, now: datetime, days: int = WEB_CERT_DAYS
) -> tuple[bytes, bytes]:
    """A self-signed ECDSA P-256 certificate for browser-facing TLS in local tests.

    Returns ``(cert_pem, key_pem)``. The SAN lists every name (IP literals as IP addresses)
    and always 127.0.0.1; the subject CN is the first name or ``localhost``.
    """
    sk = ec.generate_private_key(ec.SECP256R1())
    start = _utc(now)
    names: list[cx509.GeneralName] = []
    ips: set[str] = set()
    for host in hostnames:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            names.append(cx509.DNSName(host))
        else:
            ips.add(str(ip))
            names.append(cx509.IPAddress(ip))
    if "127.0.0.1" not in ips:
        names.append(cx509.IPAddress(ipaddress.IPv4Address("127.0.0.1")))
    cn = hostnames[0] if hostnames else "localhost"
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn)])
    end = start + timedelta(days=days)
    cert = (
        _builder(name, name, sk.public_key(), None, start - timedelta(minutes=5), end)
        .add_extension(cx509.SubjectAlternativeName(names), critical=False)
        .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(sk, hashes.SHA256())
    )
    key_pem = sk.private_bytes(
        _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(_PEM), key_pem


# --------------------------------------------------------------------------- identity


def key_hash(ca_cert_der: bytes) -> bytes:
    """The server fingerprint: SHA-256 of the identity certificate's DER (32 bytes)."""
    return sha256(ca_cert_der)


def cert_public_key(cert_der: bytes) -> PublicKey:
    """The subject public key of a certificate; ``DecodeError`` if malformed or unsupported."""
    return _public_key(_load(cert_der))


def sign_key(online_key: PrivateKey, pub: PublicKey) -> bytes:
    """The ``SignedExact`` DER of ``pub``'s SPKI, signed with the online (leaf) key.

    ``SEQUENCE { SPKI, AlgorithmIdentifier, BIT STRING (0 unused bits ‖ signature) }``:
    120 bytes with Ed25519, 171 with Ed448, for an X25519 ``pub`` (C.hs ``signX509``).
    """
    if not online_key.alg.is_signature:
        raise ValueError(f"{online_key.alg.value} keys do not sign")
    spki = pub.to_der()
    signature = online_key.sign(spki)
    return _der.tlv(
        _der.SEQUENCE,
        spki
        + SIGNATURE_ALGORITHM_ID[online_key.alg]
        + _der.tlv(_der.BIT_STRING, b"\x00" + signature),
    )


def verify_signed_key(leaf_cert_der: bytes, signed_key_der: bytes) -> PublicKey:
    """The X25519 session key inside ``signed_key_der``, checked against the leaf's key.

    ``DecodeError`` if either input is malformed, the leaf's key is not Ed25519/Ed448, the
    signature algorithm is unknown or the signed key is not X25519; ``CryptoError`` if the
    signature does not verify under the leaf certificate's key (T.hs:815-821 ``verifyX509``,
    then ``x509ToPublic'``).
    """
    leaf = cert_public_key(leaf_cert_der)
    if not leaf.alg.is_signature:
        raise DecodeError("leaf certificate key cannot sign")
    items = _der.read_sequence_items(signed_key_der)
    if len(items) != 3:
        raise DecodeError("signed key must have 3 elements")
    (t_obj, _, spki), (t_alg, _, alg_id), (t_sig, bits, _) = items
    if t_obj != _der.SEQUENCE or t_alg != _der.SEQUENCE or t_sig != _der.BIT_STRING:
        raise DecodeError("malformed signed key")
    sig_alg = next((a for a, v in SIGNATURE_ALGORITHM_ID.items() if v == alg_id), None)
    if sig_alg is None:
        raise DecodeError("unknown signature algorithm")
    if len(bits) != 1 + sig_alg.signature_size or bits[0] != 0:
        raise DecodeError("malformed signature")
    key = PublicKey.from_der(spki)
    if key.alg is not KeyAlg.X25519:
        raise DecodeError("signed key is not X25519")
    if sig_alg is not leaf.alg or not leaf.verify(bits[1:], spki):
        raise CryptoError()
    return key


def _check_time(cert: cx509.Certificate, now: datetime) -> None:
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CryptoError()


def _check_issuer(cert: cx509.Certificate, issuer: cx509.Certificate) -> None:
    ext = issuer.extensions
    try:
        bc = ext.get_extension_for_class(cx509.BasicConstraints).value
    except cx509.ExtensionNotFound:
        raise CryptoError() from None
    if not bc.ca:
        raise CryptoError()
    try:
        ku = ext.get_extension_for_class(cx509.KeyUsage).value
    except cx509.ExtensionNotFound:
        pass
    else:
        if not ku.key_cert_sign:
            raise CryptoError()
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, *_PARSE_ERRORS):
        raise CryptoError() from None


def validate_chain(chain: list[bytes], key_hash: bytes, *, now: datetime) -> PublicKey:
    """Check a server's certificate chain (leaf first) and return the leaf's EdDSA key.

    As the native client (``Transport/Client.hs`` ``validateCertificateChain``): 2..4
    certificates; the second is the identity certificate and its SHA-256 must equal
    ``key_hash`` (constant-time); each certificate must be signed by the next one, each
    issuer must be a CA, all must be valid at ``now``, the leaf must be X.509 v3 with an
    Ed25519 or Ed448 key. Unparseable certificates raise ``DecodeError``; every other
    failure is an opaque ``CryptoError``.
    """
    if not MIN_CERT_CHAIN <= len(chain) <= MAX_CERT_CHAIN:
        raise CryptoError()
    certs = [_load(der) for der in chain]
    if not equal(sha256(chain[1]), key_hash):
        raise CryptoError()
    at = _utc(now)
    for cert in certs:
        _check_time(cert, at)
    if certs[0].version is not cx509.Version.v3:
        raise CryptoError()
    for cert, issuer in itertools.pairwise(certs):
        _check_issuer(cert, issuer)
    try:
        leaf = _public_key(certs[0])
    except DecodeError:
        raise CryptoError() from None
    if not leaf.alg.is_signature:
        raise CryptoError()
    return leaf


# --------------------------------------------------------------------------- PEM


def cert_to_pem(cert_der: bytes) -> bytes:
    """PEM text of a DER certificate; ``DecodeError`` if it does not parse."""
    return _load(cert_der).public_bytes(_PEM)


def key_to_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM (a ``PRIVATE KEY`` block), as ``openssl genpkey`` writes it."""
    return serialization.load_der_private_key(key.to_der(), None).private_bytes(
        _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_certs_pem(data: bytes) -> list[bytes]:
    """DER of every certificate in a PEM file, in order; ``DecodeError`` if there is none."""
    try:
        certs = cx509.load_pem_x509_certificates(data)
    except _PARSE_ERRORS:
        raise DecodeError("no valid PEM certificate") from None
    return [c.public_bytes(_DER) for c in certs]


def load_cert_pem(data: bytes) -> bytes:
    """DER of the first certificate in a PEM file (``ca.crt``, ``server.crt``)."""
    return load_certs_pem(data)[0]


def load_key_pem(data: bytes) -> PrivateKey:
    """A private key from unencrypted PEM; ``DecodeError`` if malformed or of another type."""
    try:
        obj = serialization.load_pem_private_key(data, None)
        der = obj.private_bytes(
            _DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    except _PARSE_ERRORS:
        raise DecodeError("malformed or unsupported private key") from None
    return PrivateKey.from_der(der)
