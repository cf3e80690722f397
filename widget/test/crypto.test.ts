import { describe, expect, it } from "vitest";

import { CryptoError, DecodeError } from "../src/errors.js";
import { base64urlEncode, latin1, toHex } from "../src/encoding.js";
import { aesGcmDecrypt, decryptAead, encryptAead } from "../src/crypto/aead.js";
import { constantTimeEqual } from "../src/crypto/ct.js";
import { sha256, sha512 } from "../src/crypto/hash.js";
import { BlockCipherChain, hkdfSha512, sbChainInit, sbChainStep } from "../src/crypto/kdf.js";
import { KeyPair, prepareKeys, PrivateKey, PublicKey, type KeyAlg } from "../src/crypto/keys.js";
import { privateKeyFromDer, privateKeyToDer } from "../src/crypto/pkcs8.js";
import {
  cbAuthenticate,
  cbAuthenticateWith,
  cbDecrypt,
  cbEncrypt,
  cbNonce,
  cbVerify,
  dhBoxKey,
  hsalsa20,
  sbKey,
} from "../src/crypto/nacl.js";
import { pad, unpad } from "../src/crypto/padding.js";
import { randomBytes, randomFraction } from "../src/crypto/random.js";
import { h, loadVectors } from "./vectors.js";

// ------------------------------------------------------------------------------ padding

interface PaddingFile {
  pad: { msg_hex: string; size: number; hex: string }[];
  pad_fails: { msg_len: number; size: number }[];
  pad_ok_large: { msg_len: number; size: number }[];
  unpad: { hex: string; msg_hex: string }[];
  unpad_fails: { hex: string }[];
}

describe("crypto_padding.json", () => {
  const V = loadVectors<PaddingFile>("crypto_padding.json");
  it("pads and unpads", () => {
    for (const v of V.pad) {
      expect(toHex(pad(h(v.msg_hex), v.size))).toBe(v.hex);
      expect(toHex(unpad(h(v.hex)))).toBe(v.msg_hex);
    }
    for (const v of V.pad_fails) expect(() => pad(new Uint8Array(v.msg_len), v.size)).toThrow(RangeError);
    for (const v of V.pad_ok_large) {
      const m = new Uint8Array(v.msg_len).fill(7);
      expect(unpad(pad(m, v.size))).toEqual(m);
    }
    for (const v of V.unpad) expect(toHex(unpad(h(v.hex)))).toBe(v.msg_hex);
    for (const v of V.unpad_fails) expect(() => unpad(h(v.hex))).toThrow(DecodeError);
  });
});

// ------------------------------------------------------------------------------ keys

interface KeysFile {
  spki: { alg: KeyAlg; b64: string }[];
  private: { alg: KeyAlg; raw_hex: string; public_hex: string; pkcs8_hex: string }[];
  signatures: { alg: KeyAlg; raw_hex: string; msg_hex: string; sig_hex: string }[];
  dh: { alg: KeyAlg; a_hex: string; b_pub_hex: string; shared_hex: string }[];
}

describe("crypto_keys.json", () => {
  const V = loadVectors<KeysFile>("crypto_keys.json");

  it("SPKI both ways", () => {
    for (const v of V.spki) {
      const der = new Uint8Array(Buffer.from(v.b64, "base64"));
      const k = PublicKey.fromDer(der);
      expect(k.alg).toBe(v.alg);
      expect(k.toDer()).toEqual(der);
    }
  });

  it("PKCS#8 and public keys", () => {
    for (const v of V.private) {
      const k = new PrivateKey(v.alg, h(v.raw_hex));
      expect(toHex(privateKeyToDer(k))).toBe(v.pkcs8_hex);
      expect(privateKeyFromDer(h(v.pkcs8_hex)).exportRaw()).toEqual(k.exportRaw());
      expect(privateKeyFromDer(h(v.pkcs8_hex)).alg).toBe(k.alg);
      expect(toHex(k.public().raw)).toBe(v.public_hex);
      expect(String(k)).not.toContain(v.raw_hex.slice(0, 8));
      expect(JSON.stringify({ k })).not.toContain(v.raw_hex.slice(0, 8));
    }
  });

  it("signatures", () => {
    for (const v of V.signatures) {
      const k = new PrivateKey(v.alg, h(v.raw_hex));
      const sig = k.sign(h(v.msg_hex));
      expect(toHex(sig)).toBe(v.sig_hex);
      expect(k.public().verify(sig, h(v.msg_hex))).toBe(true);
      const bad = sig.slice();
      bad[0]! ^= 1;
      expect(k.public().verify(bad, h(v.msg_hex))).toBe(false);
      expect(k.public().verify(sig.subarray(1), h(v.msg_hex))).toBe(false);
    }
  });

  it("DH", () => {
    for (const v of V.dh) {
      const k = new PrivateKey(v.alg, h(v.a_hex));
      expect(toHex(k.dh(new PublicKey(v.alg, h(v.b_pub_hex))))).toBe(v.shared_hex);
    }
  });

  it("generates, signs and agrees with all four algorithms", () => {
    for (const alg of ["Ed25519", "Ed448"] as const) {
      const kp = KeyPair.generate(alg);
      const sig = kp.private.sign(latin1("msg"));
      expect(kp.public.verify(sig, latin1("msg"))).toBe(true);
      expect(kp.public.verify(sig, latin1("msh"))).toBe(false);
      expect(PublicKey.fromDer(kp.public.toDer()).equals(kp.public)).toBe(true);
      expect(() => kp.private.dh(kp.public)).toThrow(RangeError);
    }
    for (const alg of ["X25519", "X448"] as const) {
      const a = KeyPair.generate(alg);
      const b = KeyPair.generate(alg);
      expect(a.private.dh(b.public)).toEqual(b.private.dh(a.public));
      expect(() => a.private.sign(latin1("x"))).toThrow(RangeError);
      expect(a.public.verify(new Uint8Array(64), latin1("x"))).toBe(false);
    }
    expect(String(KeyPair.generate("X25519"))).toBe("KeyPair(X25519, <redacted>)");
  });

  it("makes key pairs ahead (prepareKeys): each taken once, of its algorithm, a working pair; then `then`", async () => {
    const order: string[] = [];
    const done = new Promise<void>((r) => prepareKeys(["X448", "X25519", "X448"], () => r(void order.push("then"))));
    order.push("sync");
    await done;
    expect(order).toEqual(["sync", "then"]); // made in later tasks, not in the caller's
    const pairs = [KeyPair.generate("X448"), KeyPair.generate("X448"), KeyPair.generate("X448"), KeyPair.generate("X25519"), KeyPair.generate("X25519")];
    expect(pairs.map((k) => k.public.alg)).toEqual(["X448", "X448", "X448", "X25519", "X25519"]);
    expect(new Set(pairs.map((k) => toHex(k.private.exportRaw()))).size).toBe(5);
    for (const k of pairs) expect(k.private.public().equals(k.public)).toBe(true);
    expect(pairs[0]!.private.dh(pairs[1]!.public)).toEqual(pairs[1]!.private.dh(pairs[0]!.public));
  });

  it("refuses low-order X25519 points and malformed DER", () => {
    const own = PrivateKey.generate("X25519");
    expect(() => own.dh(new PublicKey("X25519", new Uint8Array(32)))).toThrow(CryptoError);
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(() => own.dh(new PublicKey("X25519", one))).toThrow(CryptoError);
    expect(() => PublicKey.fromDer(h("302a300506032b6570032100"))).toThrow(DecodeError);
    expect(() => privateKeyFromDer(h("00"))).toThrow(DecodeError);
    expect(() => new PublicKey("Ed448", new Uint8Array(32))).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------------------ NaCl

interface NaclFile {
  hsalsa20: { key_hex: string; in_hex: string; out_hex: string }[];
  box: {
    alice_sk_hex: string;
    bob_sk_hex: string;
    alice_pk_hex: string;
    bob_pk_hex: string;
    shared_hex: string;
    box_key_hex: string;
    nonce_hex: string;
    msg_hex: string;
    box_hex: string;
  };
  sb: { sb_key_hex: string; box_key_hex: string; nonce_hex: string; msg_hex: string; pad_to: number; box_hex: string; box_nopad_hex: string };
  cb_nonce: { in_hex: string; out_hex: string }[];
  cb_authenticator: {
    server_session_sk_hex: string;
    queue_sk_hex: string;
    server_session_pk_hex: string;
    queue_pk_hex: string;
    corr_id_hex: string;
    authorized_hex: string;
    authenticator_hex: string;
  };
}

describe("crypto_nacl.json", () => {
  const V = loadVectors<NaclFile>("crypto_nacl.json");

  it("HSalsa20", () => {
    for (const v of V.hsalsa20) expect(toHex(hsalsa20(h(v.key_hex), h(v.in_hex)))).toBe(v.out_hex);
  });

  it("crypto_box both ways", () => {
    const b = V.box;
    const alice = new PrivateKey("X25519", h(b.alice_sk_hex));
    const bob = new PrivateKey("X25519", h(b.bob_sk_hex));
    expect(toHex(alice.public().raw)).toBe(b.alice_pk_hex);
    expect(toHex(bob.public().raw)).toBe(b.bob_pk_hex);
    expect(toHex(alice.dh(bob.public()))).toBe(b.shared_hex);
    const key = dhBoxKey(bob.public(), alice);
    expect(toHex(key)).toBe(b.box_key_hex);
    expect(dhBoxKey(alice.public(), bob)).toEqual(key);
    expect(toHex(cbEncrypt(key, h(b.nonce_hex), h(b.msg_hex)))).toBe(b.box_hex);
    expect(toHex(cbDecrypt(key, h(b.nonce_hex), h(b.box_hex), true))).toBe(b.msg_hex);
    const bad = h(b.box_hex);
    bad[20]! ^= 1;
    expect(() => cbDecrypt(key, h(b.nonce_hex), bad, true)).toThrow(CryptoError);
    expect(() => cbDecrypt(key, h(b.nonce_hex), new Uint8Array(15), true)).toThrow(CryptoError);
  });

  it("secret box under HSalsa20(SbKey)", () => {
    const s = V.sb;
    const key = sbKey(h(s.sb_key_hex));
    expect(toHex(key)).toBe(s.box_key_hex);
    expect(toHex(cbEncrypt(key, h(s.nonce_hex), h(s.msg_hex), s.pad_to))).toBe(s.box_hex);
    expect(toHex(cbEncrypt(key, h(s.nonce_hex), h(s.msg_hex)))).toBe(s.box_nopad_hex);
    expect(toHex(cbDecrypt(key, h(s.nonce_hex), h(s.box_hex)))).toBe(s.msg_hex);
    expect(toHex(cbDecrypt(key, h(s.nonce_hex), h(s.box_nopad_hex), true))).toBe(s.msg_hex);
    // A box that opens but whose padding is bad is the same opaque error.
    expect(() => cbDecrypt(key, h(s.nonce_hex), h(s.box_nopad_hex))).toThrow(CryptoError);
    expect(() => cbEncrypt(key.subarray(1), h(s.nonce_hex), h(s.msg_hex))).toThrow(RangeError);
  });

  it("cbNonce", () => {
    for (const v of V.cb_nonce) expect(toHex(cbNonce(h(v.in_hex)))).toBe(v.out_hex);
  });

  it("CbAuthenticator both ways", () => {
    const c = V.cb_authenticator;
    const server = new PrivateKey("X25519", h(c.server_session_sk_hex));
    const queue = new PrivateKey("X25519", h(c.queue_sk_hex));
    expect(toHex(server.public().raw)).toBe(c.server_session_pk_hex);
    expect(toHex(queue.public().raw)).toBe(c.queue_pk_hex);
    const nonce = cbNonce(h(c.corr_id_hex));
    const auth = cbAuthenticate(server.public(), queue, nonce, h(c.authorized_hex));
    expect(toHex(auth)).toBe(c.authenticator_hex);
    // under the box key made once (the SMP client's per-session cache): the same bytes
    expect(toHex(cbAuthenticateWith(dhBoxKey(server.public(), queue), nonce, h(c.authorized_hex)))).toBe(c.authenticator_hex);
    expect(cbVerify(queue.public(), server, nonce, h(c.authorized_hex), auth)).toBe(true);
    expect(cbVerify(queue.public(), server, nonce, h(c.authorized_hex + "00"), auth)).toBe(false);
    expect(cbVerify(queue.public(), server, nonce, h(c.authorized_hex), auth.subarray(1))).toBe(false);
  });
});

// ------------------------------------------------------------------------------ KDF

interface KdfFile {
  sha256: { in_hex: string; out_hex: string }[];
  sha512: { in_hex: string; out_hex: string }[];
  hkdf_sha512: { name: string; salt_hex: string; ikm_hex: string; info: string; length: number; out_hex: string }[];
  x448_labels: { a1_pub_hex: string; b3_pub_hex: string };
  sb_chain: {
    session_id_hex: string;
    dh_secret_hex: string;
    ck1_hex: string;
    ck2_hex: string;
    step1: { next_hex: string; key_hex: string; nonce_hex: string };
  };
  encrypted_block: {
    session_id_hex: string;
    dh_secret_hex: string;
    msg_hex: string;
    block_size: number;
    block_prefix_hex: string;
    block_sha256_hex: string;
    block_hex: string;
  };
}

describe("crypto_kdf.json", () => {
  const V = loadVectors<KdfFile>("crypto_kdf.json");

  it("SHA-2", () => {
    for (const v of V.sha256) expect(toHex(sha256(h(v.in_hex)))).toBe(v.out_hex);
    for (const v of V.sha512) expect(toHex(sha512(h(v.in_hex)))).toBe(v.out_hex);
  });

  it("HKDF-SHA512", () => {
    for (const v of V.hkdf_sha512) {
      expect(toHex(hkdfSha512(h(v.salt_hex), h(v.ikm_hex), latin1(v.info), v.length))).toBe(v.out_hex);
    }
    const ikm = new Uint8Array(22).fill(0x0b);
    expect(hkdfSha512(new Uint8Array(0), ikm, latin1("info"), 100)).toEqual(hkdfSha512(new Uint8Array(64), ikm, latin1("info"), 100));
    expect(hkdfSha512(latin1("s"), latin1("k"), latin1("i"), 0)).toEqual(new Uint8Array(0));
    expect(hkdfSha512(latin1("s"), latin1("k"), latin1("i"), 255 * 64).length).toBe(255 * 64);
    expect(() => hkdfSha512(latin1("s"), latin1("k"), latin1("i"), 255 * 64 + 1)).toThrow(RangeError);
  });

  it("X448 label keys", () => {
    const a1 = new PrivateKey("X448", sha512(latin1("a1")).subarray(0, 56));
    expect(toHex(a1.public().raw)).toBe(V.x448_labels.a1_pub_hex);
    const b3 = new PrivateKey("X448", sha512(latin1("b3")).subarray(0, 56));
    expect(toHex(b3.public().raw)).toBe(V.x448_labels.b3_pub_hex);
  });

  it("block chain", () => {
    const c = V.sb_chain;
    const [ck1, ck2] = sbChainInit(h(c.session_id_hex), h(c.dh_secret_hex));
    expect(toHex(ck1)).toBe(c.ck1_hex);
    expect(toHex(ck2)).toBe(c.ck2_hex);
    const [next, key, nonce] = sbChainStep(ck1);
    expect([toHex(next), toHex(key), toHex(nonce)]).toEqual([c.step1.next_hex, c.step1.key_hex, c.step1.nonce_hex]);
  });

  it("encrypted block both ways", () => {
    const e = V.encrypted_block;
    const [serverSend] = BlockCipherChain.pair(h(e.session_id_hex), h(e.dh_secret_hex), true);
    const block = serverSend.encryptBlock(h(e.msg_hex), e.block_size);
    expect(block.length).toBe(e.block_size);
    expect(toHex(block)).toBe(e.block_hex);
    expect(toHex(sha256(block))).toBe(e.block_sha256_hex);
    const [, clientRecv] = BlockCipherChain.pair(h(e.session_id_hex), h(e.dh_secret_hex), false);
    expect(toHex(clientRecv.decryptBlock(h(e.block_hex)))).toBe(e.msg_hex);
    // the chain moved on: the same block does not open twice
    expect(() => clientRecv.decryptBlock(h(e.block_hex))).toThrow(CryptoError);
    expect(() => serverSend.encryptBlock(new Uint8Array(e.block_size), e.block_size)).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------------------ AEAD

interface AeadFile {
  vectors: {
    key_hex: string;
    iv_hex: string;
    ad_hex: string;
    padded_len: number;
    msg_hex: string;
    padded_hex: string;
    ciphertext_hex: string;
    tag_hex: string;
  }[];
}

describe("crypto_aead.json", () => {
  const V = loadVectors<AeadFile>("crypto_aead.json");
  it("AES-256-GCM with 16-byte IV both ways", () => {
    for (const v of V.vectors) {
      const [ct, tag] = encryptAead(h(v.key_hex), h(v.iv_hex), v.padded_len, h(v.ad_hex), h(v.msg_hex));
      expect(toHex(ct)).toBe(v.ciphertext_hex);
      expect(toHex(tag)).toBe(v.tag_hex);
      expect(toHex(decryptAead(h(v.key_hex), h(v.iv_hex), h(v.ad_hex), ct, tag))).toBe(v.msg_hex);
      expect(toHex(aesGcmDecrypt(h(v.key_hex), h(v.iv_hex), h(v.ad_hex), ct, tag))).toBe(v.padded_hex);
      const bad = tag.slice();
      bad[0]! ^= 1;
      expect(() => decryptAead(h(v.key_hex), h(v.iv_hex), h(v.ad_hex), ct, bad)).toThrow(CryptoError);
    }
  });
});

describe("randomness and constant-time helpers", () => {
  it("randomBytes uses getRandomValues in chunks", () => {
    expect(randomBytes(0).length).toBe(0);
    const big = randomBytes(70000);
    expect(big.length).toBe(70000);
    expect(big.subarray(65536).some((x) => x !== 0)).toBe(true);
    const f = randomFraction();
    expect(f >= 0 && f < 1).toBe(true);
  });

  it("constantTimeEqual", () => {
    expect(constantTimeEqual(h("0102"), h("0102"))).toBe(true);
    expect(constantTimeEqual(h("0102"), h("0103"))).toBe(false);
    expect(constantTimeEqual(h("0102"), h("01"))).toBe(false);
    expect(base64urlEncode(sha256(new Uint8Array(0)))).toBe("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=");
  });
});
