"""The relay's identity: offline CA and online certificate, made once and kept.

As ``smp-server init`` does it (simplexmq ``Simplex.Messaging.Server.CLI``; docs/protocol/smp.md):
on the first start an Ed448 CA (the identity; its SHA-256 fingerprint is the key hash in the
server address) and an online certificate signed by it are written to the data directory.
Later starts load them; they are never regenerated silently. A half-present identity (a
certificate without its key, say) stops the relay with a message saying what to restore.
The CA key is only needed to issue a new online certificate: operators may move
``ca.key`` off the machine (``docs/relay.md``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, PrivateKey
from hushwire.errors import ConfigError

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
SERVER_CERT = "server.crt"
SERVER_KEY = "server.key"
WEB_CERT = "web.crt"
WEB_KEY = "web.key"


class IdentityCerts:
    """What clients see of a relay identity, from its CA and online certificates (DER):
    the key hash of the server address and the chain of the server hello. Mixed into the
    identity records (``ServerIdentity``, the test relay's ``FakeIdentity``)."""

    __slots__ = ()

    ca_cert: bytes
    online_cert: bytes

    @property
    def key_hash(self) -> bytes:
        """The identity in the server address: SHA-256 of the CA certificate."""
        return x509.key_hash(self.ca_cert)

    @property
    def cert_chain(self) -> tuple[bytes, bytes]:
        """Leaf first, then the identity (CA) certificate, as the server hello carries them."""
        return (self.online_cert, self.ca_cert)

    @property
    def chain_pem(self) -> bytes:
        """The same chain as PEM, for TLS."""
        return x509.cert_to_pem(self.online_cert) + x509.cert_to_pem(self.ca_cert)


@dataclass(frozen=True, slots=True)
class ServerIdentity(IdentityCerts):
    ca_cert: bytes
    """DER of the identity (CA) certificate."""
    online_cert: bytes
    """DER of the online (TLS leaf) certificate."""
    online_key: PrivateKey = field(repr=False)
    chain_pem_path: Path
    """PEM file with the online certificate then the CA certificate (for TLS)."""
    key_pem_path: Path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_public(path: Path, data: bytes) -> None:
    with path.open("xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def load_or_create_identity(
    data_dir: Path,
    *,
    common_name: str,
    alg: KeyAlg = KeyAlg.ED448,
    now: datetime | None = None,
) -> tuple[ServerIdentity, bool]:
    """Load the identity from ``data_dir``, or make it there on first start.

    Returns the identity and whether it was created now.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = {n: data_dir / n for n in (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY)}
    present = {n for n, p in paths.items() if p.exists()}
    created = False
    if not present:
        when = now or datetime.now(UTC)
        ca_der, ca_key = x509.generate_ca(alg, now=when)
        online_der, online_key = x509.generate_online_cert(
            ca_der, ca_key, alg, common_name, now=when
        )
        _write_private(paths[CA_KEY], x509.key_to_pem(ca_key))
        _write_public(paths[CA_CERT], x509.cert_to_pem(ca_der))
        _write_private(paths[SERVER_KEY], x509.key_to_pem(online_key))
        _write_public(paths[SERVER_CERT], x509.cert_to_pem(online_der))
        created = True
    else:
        missing = {CA_CERT, SERVER_CERT, SERVER_KEY} - present
        if missing:
            raise ConfigError(
                f"the relay identity in {data_dir} is incomplete: {', '.join(sorted(missing))} "
                "missing. Restore the file(s) from your backup; a new identity would change "
                "the server address and break every existing link."
            )
    try:
        ca_der = x509.load_cert_pem(paths[CA_CERT].read_bytes())
        online_der = x509.load_cert_pem(paths[SERVER_CERT].read_bytes())
        online_key = x509.load_key_pem(paths[SERVER_KEY].read_bytes())
    except Exception as e:
        raise ConfigError(
            f"cannot read the relay identity in {data_dir}: {e}. Restore it from your backup."
        ) from e
    if x509.cert_public_key(online_der) != online_key.public():
        raise ConfigError(f"{paths[SERVER_KEY]} is not the key of {paths[SERVER_CERT]}")
    chain = data_dir / "chain.pem"
    identity = ServerIdentity(ca_der, online_der, online_key, chain, paths[SERVER_KEY])
    if not chain.exists() or chain.read_bytes() != identity.chain_pem:
        tmp = chain.with_suffix(".tmp")
        tmp.write_bytes(identity.chain_pem)
        tmp.replace(chain)
    return identity, created


def load_or_create_web_cert(data_dir: Path, hostnames: list[str]) -> tuple[Path, Path]:
    """A self-signed browser-facing certificate for local use (tests, the demo).

    Production relays configure a real certificate (``web_cert``/``web_key``).
    """
    cert, key = data_dir / WEB_CERT, data_dir / WEB_KEY
    if not (cert.exists() and key.exists()):
        cert_pem, key_pem = x509.generate_web_cert(hostnames, now=datetime.now(UTC))
        key.unlink(missing_ok=True)
        cert.unlink(missing_ok=True)
        _write_private(key, key_pem)
        _write_public(cert, cert_pem)
    return cert, key
