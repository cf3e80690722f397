"""GRP/1 cryptography: handshake time and relay CPU per frame, with baselines from this run.

In this one process (CPU time of this thread, best of ``--repeat``):

1. **Handshake**: both sides of ``Noise_IKhfs_25519+MLKEM768`` (msg 1, msg 2, split: 4
   X25519 operations and one ML-KEM-768 key generation, encapsulation and decapsulation per
   side pair), the relay's share alone (read msg 1, write msg 2), the key-proof check the
   client adds (X.509 chain and signature) — against the classical ``Noise_IK`` baseline
   (the same code without the KEM tokens) and the SMP hello's own crypto (one X25519 key and
   the signed-key check).
2. **Per frame**: the relay's CPU for one GRP frame in and one out (ChaCha20-Poly1305 over
   16,385 bytes each way) against one SMP block in and out with v11 block encryption
   (``BlockChain``, XSalsa20-Poly1305 over 16,384 bytes), which GRP carries inside its frames
   anyway; so a GRP DATA frame costs the relay both.
3. **Cover cost**: frames per hour and bytes per hour of one open GRP chat at rate λ (both
   directions, ``ws://`` framing: 4 bytes of header down, 8 up), for λ = 0.5, 1 (the
   default) and 2.

Prints figures only; nothing is asserted. The last line is ``RESULT`` and a JSON object.

    .venv/bin/python benchmarks/grp_crypto.py [--n N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

from hushwire.crypto import x509
from hushwire.crypto.keys import KeyAlg, KeyPair
from hushwire.grp.frames import WIRE_FRAME_SIZE, FrameReceiver, FrameSender, FrameType
from hushwire.grp.handshake import Initiator, Responder, static_proof, verify_static_proof
from hushwire.grp.noise import IK, CipherState, DHKey, HandshakeState, protocol_name
from hushwire.limits import SMP_BLOCK_SIZE
from hushwire.smp.block import BlockChain
from hushwire.testing.relay import FakeIdentity


def per_call_us(fn: Callable[[], object], n: int, repeat: int) -> float:
    """Best-of-``repeat`` thread CPU microseconds per call of ``fn`` (``n`` calls a round)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.thread_time()
        for _ in range(n):
            fn()
        best = min(best, time.thread_time() - t0)
    return best / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, repeat = args.n, args.repeat
    figures: dict[str, float] = {}

    ident = FakeIdentity.make(KeyAlg.ED448)
    static = DHKey.generate()
    proof = static_proof(ident.cert_chain, ident.online_key, static.public)
    now = datetime.now(UTC)

    def grp_handshake() -> None:
        init = Initiator(ident.key_hash, static.public)
        resp = Responder(ident.key_hash, static, proof)
        resp.read_first(init.first_message())
        msg2, _ = resp.reply()
        init.finish(msg2)

    msg1 = Initiator(ident.key_hash, static.public).first_message()

    def relay_share() -> None:
        resp = Responder(ident.key_hash, static, proof)
        resp.read_first(msg1)
        resp.reply()

    def proof_check() -> None:
        verify_static_proof(proof, ident.key_hash, static.public, now=now)

    name = protocol_name(IK, "25519", "ChaChaPoly", "BLAKE2s")

    def ik_handshake() -> None:
        init = HandshakeState(
            name, IK, initiator=True, prologue=b"", s=DHKey.generate(), rs=static.public
        )
        resp = HandshakeState(name, IK, initiator=False, prologue=b"", s=static)
        resp.read_message(init.write_message(b"C"))
        init.read_message(resp.write_message(proof))

    signed = x509.sign_key(ident.online_key, KeyPair.generate(KeyAlg.X25519).public)

    def smp_hello_crypto() -> None:
        KeyPair.generate(KeyAlg.X25519)
        x509.verify_signed_key(ident.online_cert, signed)

    figures["grp_handshake_us"] = per_call_us(grp_handshake, n, repeat)
    figures["grp_relay_share_us"] = per_call_us(relay_share, n, repeat)
    figures["grp_proof_check_us"] = per_call_us(proof_check, n, repeat)
    figures["baseline_ik_handshake_us"] = per_call_us(ik_handshake, n, repeat)
    figures["baseline_smp_hello_crypto_us"] = per_call_us(smp_hello_crypto, n, repeat)

    key = os.urandom(32)
    tx, rx = FrameSender(CipherState(key)), FrameReceiver(CipherState(key))
    block = os.urandom(SMP_BLOCK_SIZE)

    def grp_frame() -> None:
        rx.open(tx.seal(FrameType.DATA, block))

    _, recv = BlockChain.pair(send_id := os.urandom(32), dh := os.urandom(32), server=False)
    s2, _ = BlockChain.pair(send_id, dh, server=True)
    payload = os.urandom(SMP_BLOCK_SIZE - 200)

    def smp_block() -> None:
        recv.decrypt(s2.encrypt(payload))

    fn = n * 20
    figures["grp_frame_in_out_us"] = per_call_us(grp_frame, fn, repeat)
    figures["baseline_smp_block_in_out_us"] = per_call_us(smp_block, fn, repeat)

    for rate in (0.5, 1.0, 2.0):
        frames = 2 * rate * 3600
        wire = rate * 3600 * ((WIRE_FRAME_SIZE + 4) + (WIRE_FRAME_SIZE + 8))
        figures[f"frames_per_hour_rate_{rate}"] = frames
        figures[f"mb_per_hour_rate_{rate}"] = wire / 1e6
    figures["relay_cpu_seconds_per_hour_per_chat_rate_1"] = (
        2 * 3600 * figures["grp_frame_in_out_us"] / 2 / 1e6
    )

    print(f"GRP/1 cryptography (thread CPU, best of {repeat})")
    print(f"  handshake, both sides      {figures['grp_handshake_us']:9.0f} us")
    print(f"    of which the relay's     {figures['grp_relay_share_us']:9.0f} us")
    print(f"    + client's proof check   {figures['grp_proof_check_us']:9.0f} us")
    print(f"  baseline Noise IK          {figures['baseline_ik_handshake_us']:9.0f} us")
    print(f"  baseline SMP hello crypto  {figures['baseline_smp_hello_crypto_us']:9.0f} us")
    print(f"  GRP frame in+out           {figures['grp_frame_in_out_us']:9.1f} us")
    print(f"  baseline SMP block in+out  {figures['baseline_smp_block_in_out_us']:9.1f} us")
    for rate in (0.5, 1.0, 2.0):
        print(
            f"  rate {rate}/s: {figures[f'frames_per_hour_rate_{rate}']:.0f} frames/h, "
            f"{figures[f'mb_per_hour_rate_{rate}']:.1f} MB/h (both directions, ws://)"
        )
    print(
        "  relay CPU for one open chat at 1/s: "
        f"{figures['relay_cpu_seconds_per_hour_per_chat_rate_1']:.2f} s/h"
    )
    print("RESULT " + json.dumps({k: round(v, 2) for k, v in figures.items()}, sort_keys=True))


if __name__ == "__main__":
    main()
