"""GRP/1, Hushwire's high-security transport profile, sans-I/O (docs/grp.md).

A Noise ``IKhfs`` handshake with X25519 and a fresh ML-KEM-768 key per connection
(``noise``, ``kem``, ``handshake``), fixed-size encrypted frames carrying SMP blocks unchanged
(``frames``), Poisson cover traffic (``cover``) and the address form (``address``). No
sockets here: ``hushwire.transport.grp`` runs it over a WebSocket. There is no GRP
reference implementation to mirror (GoRelay's draft defines no working wire format); the
design reuses simplexmq's identity structures (``Transport.hs`` ``CertChainPubKey``).
"""
