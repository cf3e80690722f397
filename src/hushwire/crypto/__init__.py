"""Hushwire's cryptography layer: sans-I/O, no sockets, no clocks, no hidden randomness.

Mirrors simplexmq ``Simplex.Messaging.Crypto`` (``C.hs``) and the X.509 handling of
``Server/CLI.hs``, ``Transport/Server.hs``, ``Transport/Client.hs`` and
``Transport/Shared.hs`` (docs/protocol/smp.md and docs/protocol/agent.md describe where each
primitive is used). Modules:

- :mod:`hushwire.crypto.keys`: Ed25519/Ed448/X25519/X448 keys and their DER forms.
- :mod:`hushwire.crypto.padding`: ``pad``/``unpad`` (C.hs ``pad``/``unPad``).
- :mod:`hushwire.crypto.nacl`: HSalsa20 and SimpleX's XSalsa20-Poly1305 boxes
  (``cryptoBox``, ``cbEncrypt``, ``sbEncrypt``, ``cbAuthenticate``, ``cbVerify``).
- :mod:`hushwire.crypto.kdf`: SHA-2 hashes, HKDF-SHA512 and the v11 block-encryption chain
  (``sbcInit``/``sbcHkdf``) with :class:`~hushwire.crypto.kdf.BlockCipherChain`.
- :mod:`hushwire.crypto.aead`: AES-256-GCM with SimpleX's 16-byte IV (``encryptAEAD``).
- :mod:`hushwire.crypto.x509`: server identity certificates, the signed session key,
  fingerprints and chain validation.
- :mod:`hushwire.crypto.ct`: constant-time comparison.

Failed decryption or verification raises one opaque :class:`~hushwire.errors.CryptoError`;
decoders of malformed input raise only :class:`~hushwire.errors.DecodeError`. Submodules
are imported explicitly (``from hushwire.crypto import nacl``) so that importing one
does not pull in ``cryptography``'s X.509 machinery.
"""
