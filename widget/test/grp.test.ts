/**
 * GRP/1 in TypeScript against the same vectors as the Python suite (tests/grp): the cacophony
 * Noise IK transcript, NIST's ML-KEM-768 known answers, and the GRP/1 regression transcript,
 * which this second implementation must reproduce byte for byte.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { describe, expect, it } from "vitest";

import { concat, fromHex, toHex } from "../src/encoding.js";
import {
  CipherState,
  FrameReceiver,
  FrameSender,
  FrameType,
  HandshakeState,
  IK,
  MSG1_SIZE,
  NoiseError,
  PROTOCOL_NAME,
  WIRE_FRAME_SIZE,
  dhKey,
  grpInitiator,
  grpPrologue,
  IKHFS,
  mlkem768,
} from "../src/grp/noise.js";
import { loadVectors } from "./vectors.js";

interface NoiseV {
  protocol_name: string;
  init_static_hex: string;
  resp_static_hex: string;
  init_ephemeral_hex: string;
  resp_ephemeral_hex: string;
  prologue_hex: string;
  handshake_hash_hex: string;
  messages: { payload_hex: string; ciphertext_hex: string }[];
}

describe("Noise IK (cacophony)", () => {
  const v = loadVectors<NoiseV>("grp_noise.json");
  it("reproduces the transcript", () => {
    const name = new TextEncoder().encode(v.protocol_name);
    const resp = dhKey(fromHex(v.resp_static_hex));
    const pro = fromHex(v.prologue_hex);
    const i = new HandshakeState(name, IK, true, pro, dhKey(fromHex(v.init_static_hex)), resp.pub, dhKey(fromHex(v.init_ephemeral_hex)));
    const r = new HandshakeState(name, IK, false, pro, resp, null, dhKey(fromHex(v.resp_ephemeral_hex)));
    const [m0, m1, ...rest] = v.messages;
    const c0 = i.writeMessage(fromHex(m0!.payload_hex));
    expect(toHex(c0)).toBe(m0!.ciphertext_hex);
    expect(toHex(r.readMessage(c0))).toBe(m0!.payload_hex);
    const c1 = r.writeMessage(fromHex(m1!.payload_hex));
    expect(toHex(c1)).toBe(m1!.ciphertext_hex);
    expect(toHex(i.readMessage(c1))).toBe(m1!.payload_hex);
    expect(toHex(i.h)).toBe(v.handshake_hash_hex);
    rest.forEach((m, n) => {
      const send = n % 2 === 0 ? i.result!.send : r.result!.send;
      const recv = n % 2 === 0 ? r.result!.recv : i.result!.recv;
      const c = send.encrypt(new Uint8Array(0), fromHex(m.payload_hex));
      expect(toHex(c)).toBe(m.ciphertext_hex);
      expect(toHex(recv.decrypt(new Uint8Array(0), c))).toBe(m.payload_hex);
    });
  });

  it("refuses a tampered message", () => {
    const name = new TextEncoder().encode(v.protocol_name);
    const resp = dhKey(fromHex(v.resp_static_hex));
    const i = new HandshakeState(name, IK, true, new Uint8Array(0), dhKey(), resp.pub);
    const r = new HandshakeState(name, IK, false, new Uint8Array(0), resp, null);
    const m = i.writeMessage(new Uint8Array(0));
    m[40] = m[40]! ^ 1;
    expect(() => r.readMessage(m)).toThrow(NoiseError);
  });
});

interface MlkemV {
  keyGen: { d: string; z: string; ek: string; dk: string }[];
  encapsulation: { ek: string; m: string; c: string; k: string }[];
  decapsulation: { dk: string; tests: { c: string; k: string }[] };
}

describe("ML-KEM-768 (NIST ACVP, FIPS 203)", () => {
  const v = loadVectors<MlkemV>("grp_mlkem.json");
  it("key generation", () => {
    for (const t of v.keyGen) {
      const { publicKey, secretKey } = ml_kem768.keygen(concat(fromHex(t.d), fromHex(t.z)));
      expect(toHex(publicKey)).toBe(t.ek.toLowerCase());
      expect(toHex(secretKey)).toBe(t.dk.toLowerCase());
    }
  });
  it("encapsulation", () => {
    for (const t of v.encapsulation) {
      const { cipherText, sharedSecret } = ml_kem768.encapsulate(fromHex(t.ek), fromHex(t.m));
      expect(toHex(cipherText)).toBe(t.c.toLowerCase());
      expect(toHex(sharedSecret)).toBe(t.k.toLowerCase());
    }
  });
  it("decapsulation, modified ciphertexts included", () => {
    const dk = fromHex(v.decapsulation.dk);
    for (const t of v.decapsulation.tests) {
      expect(toHex(ml_kem768.decapsulate(fromHex(t.c), dk))).toBe(t.k.toLowerCase());
    }
  });
});

interface GrpV {
  key_hash_b64url: string;
  initiator_static_hex: string;
  initiator_ephemeral_hex: string;
  responder_static_hex: string;
  responder_ephemeral_hex: string;
  kem_seed_hex: string;
  kem_m_hex: string;
  h0_hex: string;
  rs_hex: string;
  msg1_prefix_hex: string;
  msg1_sha256_hex: string;
  msg2_len: number;
  msg2_sha256_hex: string;
  handshake_hash_hex: string;
  k_c2r_hex: string;
  k_r2c_hex: string;
  frames_c2r: { sha256_hex?: string; new_k_hex?: string; prefix_hex?: string; len?: number }[];
  mlkem_cross_check: { ek_sha256_hex: string; ct_sha256_hex: string; ss_hex: string };
}

function b64url(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

describe("GRP/1 regression transcript (the Python implementation's bytes)", () => {
  const v = loadVectors<GrpV>("grp_handshake.json");
  const keyHash = b64url(v.key_hash_b64url);
  const kem = mlkem768(fromHex(v.kem_seed_hex), fromHex(v.kem_m_hex));
  const rs = dhKey(fromHex(v.responder_static_hex));

  function handshake(): { i: HandshakeState; r: HandshakeState; m1: Uint8Array; m2: Uint8Array } {
    const i = grpInitiator(keyHash, rs.pub, {
      s: dhKey(fromHex(v.initiator_static_hex)),
      e: dhKey(fromHex(v.initiator_ephemeral_hex)),
      kem,
    });
    const r = new HandshakeState(PROTOCOL_NAME, IKHFS, false, grpPrologue(keyHash), rs, null, dhKey(fromHex(v.responder_ephemeral_hex)), kem);
    const m1 = i.writeMessage(Uint8Array.of(0x43));
    expect(toHex(r.readMessage(m1))).toBe("43");
    const m2 = r.writeMessage(new Uint8Array(0));
    expect(i.readMessage(m2).length).toBe(0);
    return { i, r, m1, m2 };
  }

  it("handshake", () => {
    expect(toHex(rs.pub)).toBe(v.rs_hex);
    const { i, r, m1, m2 } = handshake();
    expect(m1.length).toBe(MSG1_SIZE);
    expect(toHex(m1.subarray(0, 32))).toBe(v.msg1_prefix_hex);
    expect(toHex(sha256(m1))).toBe(v.msg1_sha256_hex);
    expect(m2.length).toBe(v.msg2_len);
    expect(toHex(sha256(m2))).toBe(v.msg2_sha256_hex);
    expect(toHex(i.result!.h)).toBe(v.handshake_hash_hex);
    expect(toHex(r.result!.h)).toBe(v.handshake_hash_hex);
    expect(toHex(i.result!.send.k!)).toBe(v.k_c2r_hex);
    expect(toHex(i.result!.recv.k!)).toBe(v.k_r2c_hex);
  });

  it("frames, rekey and a tampered frame", () => {
    const { i, r } = handshake();
    const ping = concat(fromHex("0022" + "01001f0018"), Uint8Array.from({ length: 24 }, (_, n) => n), fromHex("0050494e47"), new Uint8Array(16348).fill(0x23));
    const tx = new FrameSender(i.result!.send);
    const rx = new FrameReceiver(r.result!.recv);
    const [f0v, f1v, f2v, f3v] = v.frames_c2r;
    const f0 = tx.seal(FrameType.DATA, ping);
    expect(f0.length).toBe(WIRE_FRAME_SIZE);
    expect(toHex(sha256(f0))).toBe(f0v!.sha256_hex);
    const f1 = tx.seal(FrameType.COVER);
    expect(toHex(sha256(f1))).toBe(f1v!.sha256_hex);
    const f2 = tx.seal(FrameType.REKEY);
    expect(toHex(i.result!.send.k!)).toBe(f2v!.new_k_hex);
    const f3 = tx.seal(FrameType.COVER);
    expect(toHex(f3.subarray(0, 16))).toBe(f3v!.prefix_hex);
    expect(rx.open(f0)).toEqual({ type: FrameType.DATA, body: ping });
    expect(rx.open(f1).type).toBe(FrameType.COVER);
    expect(rx.open(f2).type).toBe(FrameType.REKEY);
    const bad = f3.slice();
    bad[100] = bad[100]! ^ 1;
    expect(() => rx.open(bad)).toThrow(NoiseError);
    expect(() => new FrameReceiver(new CipherState(new Uint8Array(32))).open(f3.subarray(1))).toThrow(/a frame of 16400 bytes/);
  });

  it("the ML-KEM cross-check values", () => {
    const { publicKey } = ml_kem768.keygen(fromHex(v.kem_seed_hex));
    expect(toHex(sha256(publicKey))).toBe(v.mlkem_cross_check.ek_sha256_hex);
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, fromHex(v.kem_m_hex));
    expect(toHex(sha256(cipherText))).toBe(v.mlkem_cross_check.ct_sha256_hex);
    expect(toHex(sharedSecret)).toBe(v.mlkem_cross_check.ss_hex);
  });
});
