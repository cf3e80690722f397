"""Asymmetric key operations: hushwire.crypto.keys against the same calls made directly with
``cryptography``, for X25519, X448, Ed25519 and Ed448.

For each algorithm, microseconds per operation (best of a few repeats):

- ``gen``: ``KeyPair.generate`` (fresh key, its raw bytes and its public key) against
  ``generate()`` + ``private_bytes`` + ``public_key().public_bytes``;
- ``dh`` (X25519/X448): ``PrivateKey.dh`` with one key and one peer, again and again (the
  parsed keys are cached in them) against ``exchange`` with the parsed objects kept;
- ``dh_cold``: a key and a peer built from raw bytes, then one DH, against
  ``from_private_bytes`` + ``from_public_bytes`` + ``exchange`` (what every DH cost before
  the cache);
- ``sign`` (Ed25519/Ed448): ``PrivateKey.sign`` with one key against ``sign`` on the kept
  object; ``verify`` likewise with ``PublicKey.verify``.

The ratio ``hushwire / direct`` is printed next to each pair. Prints figures only; nothing is
asserted. The last line is ``RESULT`` followed by a JSON object of the figures.

    .venv/bin/python benchmarks/crypto_keys.py [--n N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, x448, x25519

from hushwire.crypto.keys import KeyAlg, KeyPair, PrivateKey, PublicKey

_RAW = serialization.Encoding.Raw
_PRIV_RAW = serialization.PrivateFormat.Raw
_PUB_RAW = serialization.PublicFormat.Raw
_NOENC = serialization.NoEncryption()

_PRIV = {
    KeyAlg.X25519: x25519.X25519PrivateKey,
    KeyAlg.X448: x448.X448PrivateKey,
    KeyAlg.ED25519: ed25519.Ed25519PrivateKey,
    KeyAlg.ED448: ed448.Ed448PrivateKey,
}
_PUB = {
    KeyAlg.X25519: x25519.X25519PublicKey,
    KeyAlg.X448: x448.X448PublicKey,
    KeyAlg.ED25519: ed25519.Ed25519PublicKey,
    KeyAlg.ED448: ed448.Ed448PublicKey,
}
MSG = b"m" * 200  # about one SMP command


def best_us(fn: Callable[[], object], n: int, repeat: int) -> float:
    """Best of ``repeat`` runs of ``n`` calls, in microseconds per call."""
    return min(timeit.repeat(fn, number=n, repeat=repeat)) / n * 1e6


def bench_alg(alg: KeyAlg, n: int, repeat: int) -> dict[str, float]:
    priv_cls, pub_cls = _PRIV[alg], _PUB[alg]
    out: dict[str, float] = {}

    def direct_gen() -> object:
        k = priv_cls.generate()
        k.private_bytes(_RAW, _PRIV_RAW, _NOENC)
        return k.public_key().public_bytes(_RAW, _PUB_RAW)

    out["gen"] = best_us(lambda: KeyPair.generate(alg), n, repeat)
    out["gen_direct"] = best_us(direct_gen, n, repeat)

    pair = KeyPair.generate(alg)
    raw = pair.private.raw
    obj = priv_cls.from_private_bytes(raw)
    if alg.is_dh:
        peer = KeyPair.generate(alg).public
        peer_raw = peer.raw
        peer_obj = pub_cls.from_public_bytes(peer_raw)
        out["dh"] = best_us(lambda: pair.private.dh(peer), n, repeat)
        out["dh_direct"] = best_us(lambda: obj.exchange(peer_obj), n, repeat)  # type: ignore[attr-defined]
        out["dh_cold"] = best_us(
            lambda: PrivateKey(alg, raw).dh(PublicKey(alg, peer_raw)), n, repeat
        )
        out["dh_cold_direct"] = best_us(
            lambda: priv_cls.from_private_bytes(raw).exchange(  # type: ignore[attr-defined]
                pub_cls.from_public_bytes(peer_raw)
            ),
            n,
            repeat,
        )
    else:
        sig = pair.private.sign(MSG)
        pub_obj = obj.public_key()
        out["sign"] = best_us(lambda: pair.private.sign(MSG), n, repeat)
        out["sign_direct"] = best_us(lambda: obj.sign(MSG), n, repeat)  # type: ignore[attr-defined]
        out["verify"] = best_us(lambda: pair.public.verify(sig, MSG), n, repeat)
        out["verify_direct"] = best_us(lambda: pub_obj.verify(sig, MSG), n, repeat)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="calls per timing run (300)")
    ap.add_argument("--repeat", type=int, default=5, help="timing runs, best kept (5)")
    args = ap.parse_args()
    print("== Hushwire asymmetric key benchmark (us per operation, best of runs)")
    result: dict[str, float] = {}
    for alg in (KeyAlg.X25519, KeyAlg.X448, KeyAlg.ED25519, KeyAlg.ED448):
        figures = bench_alg(alg, args.n, args.repeat)
        print(f"  {alg.value}")
        for op in ("gen", "dh", "dh_cold", "sign", "verify"):
            if op not in figures:
                continue
            ours, direct = figures[op], figures[f"{op}_direct"]
            print(
                f"    {op:<8} hushwire {ours:8.1f} us   cryptography {direct:8.1f} us"
                f"   ratio {ours / direct:5.2f}"
            )
            result[f"{alg.value}_{op}_us"] = round(ours, 2)
            result[f"{alg.value}_{op}_direct_us"] = round(direct, 2)
            result[f"{alg.value}_{op}_ratio"] = round(ours / direct, 3)
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
