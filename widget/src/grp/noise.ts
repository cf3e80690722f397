/**
 * GRP/1 in the browser, sans-I/O: the Noise core with the HFS KEM tokens, the GRP handshake
 * and its frames (docs/grp.md). The TypeScript twin of `hushwire.grp` (noise.py, handshake.py,
 * frames.py): both must produce the same bytes for the transcripts in tests/vectors/grp_*.json
 * (test/grp.test.ts). Ephemeral keys and the KEM's randomness come in as arguments so the tests
 * can fix them; by default they are random.
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { blake2s } from "@noble/hashes/blake2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";

import { X25519, xdh, xPublic } from "../crypto/montgomery.js";
import { randomBytes } from "../crypto/random.js";
import { type Bytes, concat } from "../encoding.js";

export const HASHLEN = 32;
export const TAGLEN = 16;
const MAX_NONCE = 2n ** 64n - 1n;

export class NoiseError extends Error {}

const hmacB2s = (key: Bytes, data: Bytes): Bytes => hmac(blake2s, key, data);

/** Noise's HKDF with two outputs. */
export function hkdf2(ck: Bytes, ikm: Bytes): [Bytes, Bytes] {
  const temp = hmacB2s(ck, ikm);
  const out1 = hmacB2s(temp, Uint8Array.of(1));
  return [out1, hmacB2s(temp, concat(out1, Uint8Array.of(2)))];
}

function nonce(n: bigint): Bytes {
  const b = new Uint8Array(12);
  new DataView(b.buffer).setBigUint64(4, n, true);
  return b;
}

/** `k` and the nonce counter; without a key, encryption is the identity. */
export class CipherState {
  n = 0n;
  constructor(public k: Bytes | null = null) {}

  encrypt(ad: Bytes, plaintext: Bytes): Bytes {
    if (this.k === null) return plaintext;
    if (this.n >= MAX_NONCE) throw new NoiseError("nonce space used up");
    const out = chacha20poly1305(this.k, nonce(this.n), ad).encrypt(plaintext);
    this.n += 1n;
    return out;
  }

  decrypt(ad: Bytes, ciphertext: Bytes): Bytes {
    if (this.k === null) return ciphertext;
    if (this.n >= MAX_NONCE) throw new NoiseError("nonce space used up");
    let out: Bytes;
    try {
      out = chacha20poly1305(this.k, nonce(this.n), ad).decrypt(ciphertext);
    } catch {
      throw new NoiseError("authentication failed");
    }
    this.n += 1n;
    return out;
  }

  /** Noise REKEY: the first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros(32)). */
  rekey(): void {
    if (this.k === null) throw new NoiseError("no key to rekey");
    this.k = chacha20poly1305(this.k, nonce(MAX_NONCE), new Uint8Array(0))
      .encrypt(new Uint8Array(32))
      .subarray(0, 32);
  }
}

/** The KEM of the HFS tokens: `generate()` gives the public key and its decapsulation. */
export interface KemSuite {
  publicLen: number;
  ciphertextLen: number;
  generate(): { publicKey: Bytes; decapsulate(ct: Bytes): Bytes };
  encapsulate(publicKey: Bytes): { cipherText: Bytes; sharedSecret: Bytes };
}

/** ML-KEM-768 (FIPS 203); `seed` (64 bytes) and `m` (32 bytes) fix it for tests. */
export function mlkem768(seed?: Bytes, m?: Bytes): KemSuite {
  return {
    publicLen: 1184,
    ciphertextLen: 1088,
    generate() {
      const { publicKey, secretKey } = ml_kem768.keygen(seed);
      return { publicKey, decapsulate: (ct) => ml_kem768.decapsulate(ct, secretKey) };
    },
    encapsulate(publicKey) {
      try {
        return ml_kem768.encapsulate(publicKey, m);
      } catch {
        throw new NoiseError("bad ML-KEM encapsulation key");
      }
    },
  };
}

export interface DHKey {
  priv: Bytes;
  pub: Bytes;
}

export function dhKey(priv?: Bytes): DHKey {
  const p = priv ?? randomBytes(32);
  return { priv: p, pub: xPublic(X25519, p) };
}

function dh(key: DHKey, pub: Bytes): Bytes {
  let out: Bytes | null = null;
  try {
    out = xdh(X25519, key.priv, pub);
  } catch {
    // a key of the wrong size: as one of small order
  }
  if (out === null) throw new NoiseError("the peer's DH key is not usable");
  return out;
}

export interface Pattern {
  name: string;
  messages: readonly (readonly string[])[];
}
export const IK: Pattern = { name: "IK", messages: [["e", "es", "s", "ss"], ["e", "ee", "se"]] };
export const IKHFS: Pattern = {
  name: "IKhfs",
  messages: [["e", "es", "e1", "s", "ss"], ["e", "ee", "ekem1", "se"]],
};

/** One side of a handshake whose responder's static key is pre-known (IK, IKhfs). */
export class HandshakeState {
  h: Bytes;
  ck: Bytes;
  cs = new CipherState();
  re: Bytes | null = null;
  result: { h: Bytes; send: CipherState; recv: CipherState } | null = null;
  private index = 0;
  private e1: ((ct: Bytes) => Bytes) | null = null;
  private re1: Bytes | null = null;

  constructor(
    name: Bytes,
    private readonly pattern: Pattern,
    private readonly initiator: boolean,
    prologue: Bytes,
    private readonly s: DHKey,
    public rs: Bytes | null,
    private e: DHKey | null = null,
    private readonly kem: KemSuite | null = null,
  ) {
    this.h = name.length <= HASHLEN ? concat(name, new Uint8Array(HASHLEN - name.length)) : blake2s(name);
    this.ck = this.h;
    this.mixHash(prologue);
    const responderStatic = initiator ? rs : s.pub;
    if (responderStatic === null) throw new Error("the pattern needs the responder's static key");
    this.mixHash(responderStatic);
  }

  private mixHash(data: Bytes): void {
    this.h = blake2s(concat(this.h, data));
  }

  private mixKey(ikm: Bytes): void {
    const [ck, k] = hkdf2(this.ck, ikm);
    this.ck = ck;
    this.cs = new CipherState(k);
  }

  private encryptAndHash(p: Bytes): Bytes {
    const c = this.cs.encrypt(this.h, p);
    this.mixHash(c);
    return c;
  }

  private decryptAndHash(c: Bytes): Bytes {
    const p = this.cs.decrypt(this.h, c);
    this.mixHash(c);
    return p;
  }

  private dhStep(step: string): Bytes {
    const [first, second] = [step[0], step[1]];
    const [mine, theirs] = this.initiator ? [first, second] : [second, first];
    const local = mine === "e" ? this.e : this.s;
    const remote = theirs === "e" ? this.re : this.rs;
    if (local === null || remote === null) throw new Error(`step ${step}: a key is missing`);
    return dh(local, remote);
  }

  private needKem(): KemSuite {
    if (this.kem === null) throw new Error("this pattern needs a KEM");
    return this.kem;
  }

  writeMessage(payload: Bytes): Bytes {
    if (this.result !== null || (this.index % 2 === 0) !== this.initiator) throw new Error("not this side's turn");
    const out: Bytes[] = [];
    for (const step of this.pattern.messages[this.index]!) {
      if (step === "e") {
        this.e ??= dhKey();
        out.push(this.e.pub);
        this.mixHash(this.e.pub);
      } else if (step === "s") {
        out.push(this.encryptAndHash(this.s.pub));
      } else if (step === "e1") {
        const { publicKey, decapsulate } = this.needKem().generate();
        this.e1 = decapsulate;
        out.push(this.encryptAndHash(publicKey));
      } else if (step === "ekem1") {
        if (this.re1 === null) throw new Error("no e1 to encapsulate to");
        const { cipherText, sharedSecret } = this.needKem().encapsulate(this.re1);
        out.push(this.encryptAndHash(cipherText));
        this.mixKey(sharedSecret);
      } else {
        this.mixKey(this.dhStep(step));
      }
    }
    out.push(this.encryptAndHash(payload));
    this.advance();
    return concat(...out);
  }

  readMessage(message: Bytes): Bytes {
    if (this.result !== null || (this.index % 2 === 0) === this.initiator) throw new Error("not this side's turn");
    let pos = 0;
    const take = (n: number): Bytes => {
      if (pos + n > message.length) throw new NoiseError("handshake message too short");
      const part = message.subarray(pos, pos + n);
      pos += n;
      return part;
    };
    for (const step of this.pattern.messages[this.index]!) {
      const tag = this.cs.k === null ? 0 : TAGLEN;
      if (step === "e") {
        this.re = take(32);
        this.mixHash(this.re);
      } else if (step === "s") {
        this.rs = this.decryptAndHash(take(32 + tag));
      } else if (step === "e1") {
        this.re1 = this.decryptAndHash(take(this.needKem().publicLen + tag));
      } else if (step === "ekem1") {
        const ct = this.decryptAndHash(take(this.needKem().ciphertextLen + tag));
        if (this.e1 === null) throw new Error("no e1 key");
        this.mixKey(this.e1(ct));
      } else {
        this.mixKey(this.dhStep(step));
      }
    }
    const payload = this.decryptAndHash(message.subarray(pos));
    this.advance();
    return payload;
  }

  private advance(): void {
    this.index += 1;
    if (this.index === this.pattern.messages.length) {
      const [k1, k2] = hkdf2(this.ck, new Uint8Array(0));
      const [c1, c2] = [new CipherState(k1), new CipherState(k2)];
      this.result = this.initiator ? { h: this.h, send: c1, recv: c2 } : { h: this.h, send: c2, recv: c1 };
      this.e1 = null;
    }
  }
}

// ---------------------------------------------------------------- GRP/1

export const PROTOCOL_NAME = new TextEncoder().encode("Noise_IKhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s");
export const MSG1_SIZE = 1297;
export const BODY_SIZE = 16384;
export const WIRE_FRAME_SIZE = 1 + BODY_SIZE + TAGLEN;

export const FrameType = { DATA: 1, COVER: 2, REKEY: 3, CLOSE: 4 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export function grpPrologue(keyHash: Bytes): Bytes {
  if (keyHash.length !== 32) throw new Error("a key hash is 32 bytes");
  return concat(new TextEncoder().encode("GRP/1"), Uint8Array.of(0), keyHash);
}

/** The client side of the GRP/1 handshake: a fresh static key per connection by default. */
export function grpInitiator(keyHash: Bytes, rs: Bytes, opts: { s?: DHKey; e?: DHKey; kem?: KemSuite } = {}): HandshakeState {
  return new HandshakeState(PROTOCOL_NAME, IKHFS, true, grpPrologue(keyHash), opts.s ?? dhKey(), rs, opts.e ?? null, opts.kem ?? mlkem768());
}

/** Encrypts frames of one direction; REKEY switches the key after it is sent. */
export class FrameSender {
  constructor(private readonly cs: CipherState) {}

  seal(type: FrameType, body: Bytes = new Uint8Array(0)): Bytes {
    if (type === FrameType.DATA && body.length !== BODY_SIZE) throw new Error("a DATA frame carries one block");
    const plain = new Uint8Array(1 + BODY_SIZE);
    plain[0] = type;
    plain.set(body, 1);
    const wire = this.cs.encrypt(new Uint8Array(0), plain);
    if (type === FrameType.REKEY) this.cs.rekey();
    return wire;
  }
}

/** Decrypts frames of the other direction; any size, AEAD or type error is fatal. */
export class FrameReceiver {
  constructor(private readonly cs: CipherState) {}

  open(wire: Bytes): { type: FrameType; body: Bytes } {
    if (wire.length !== WIRE_FRAME_SIZE) throw new NoiseError(`a frame of ${wire.length} bytes`);
    const plain = this.cs.decrypt(new Uint8Array(0), wire);
    const type = plain[0]! as FrameType;
    if (type < FrameType.DATA || type > FrameType.CLOSE) throw new NoiseError(`unknown frame type ${type}`);
    if (type === FrameType.REKEY) this.cs.rekey();
    return { type, body: type === FrameType.DATA ? plain.subarray(1) : plain.subarray(1, 3) };
  }
}
