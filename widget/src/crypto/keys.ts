/**
 * Asymmetric keys as SimpleX uses them: Ed25519, Ed448 (signing), X25519, X448 (DH).
 *
 * Mirrors src/hushwire/crypto/keys.py (simplexmq `Crypto.hs` `encodePubKey`/`decodePubKey`):
 * on the wire a public key is the DER of its X.509 SubjectPublicKeyInfo (a private key's PKCS#8
 * DER, which the widget never writes, is in pkcs8.ts). The curve arithmetic is the widget's own
 * (montgomery.ts, edwards.ts; field.ts says why); private key bytes never appear in
 * `toString`/`toJSON` output.
 *
 * Speed of a new worker (docs/widget.md, "Connect time"): no curve builds tables ahead; an
 * X25519/X448 public key comes from the Montgomery ladder (RFC 7748 section 6), as a DH does, and
 * a verification (the relay's Ed448 certificates) is one double-scalar multiplication.
 * {@link prepareKeys} makes the key pairs of a join ahead, one per task, while the worker waits
 * (for the click, the relay).
 */

import { concat, fromHex } from "../encoding.js";
import { CryptoError, DecodeError } from "../errors.js";
import { constantTimeEqual } from "./ct.js";
import { ED25519, ED448, edPublic, edSign, edVerify } from "./edwards.js";
import { X25519, X448, xdh, xPublic } from "./montgomery.js";
import { randomBytes } from "./random.js";

export type KeyAlg = "Ed25519" | "Ed448" | "X25519" | "X448";
export type SignatureAlg = "Ed25519" | "Ed448";
export type DhAlg = "X25519" | "X448";

const EDDSA = { Ed25519: ED25519, Ed448: ED448 };
const XDH = { X25519, X448 };

export const KEY_ALGS: readonly KeyAlg[] = ["Ed25519", "Ed448", "X25519", "X448"];

export const RAW_SIZE: Readonly<Record<KeyAlg, number>> = { Ed25519: 32, Ed448: 57, X25519: 32, X448: 56 };
export const SIGNATURE_SIZE: Readonly<Record<SignatureAlg, number>> = { Ed25519: 64, Ed448: 114 };

/** SubjectPublicKeyInfo DER prefixes (SEQUENCE, AlgorithmIdentifier{OID}, BIT STRING header). */
export const SPKI_PREFIX: Readonly<Record<KeyAlg, Uint8Array>> = {
  Ed25519: fromHex("302a300506032b6570032100"),
  Ed448: fromHex("3043300506032b6571033a00"),
  X25519: fromHex("302a300506032b656e032100"),
  X448: fromHex("3042300506032b656f033900"),
};

export function isSignatureAlg(alg: KeyAlg): alg is SignatureAlg {
  return alg === "Ed25519" || alg === "Ed448";
}

export function isDhAlg(alg: KeyAlg): alg is DhAlg {
  return alg === "X25519" || alg === "X448";
}

/** The algorithm and raw key of `der`: one of `prefixes`, then a raw key of that algorithm's size. */
export function unprefix(der: Uint8Array, prefixes: Readonly<Record<KeyAlg, Uint8Array>>): [KeyAlg, Uint8Array] | null {
  for (const alg of KEY_ALGS) {
    const p = prefixes[alg];
    if (der.length === p.length + RAW_SIZE[alg] && p.every((b, i) => der[i] === b)) return [alg, der.subarray(p.length)];
  }
  return null;
}

function checkSize(alg: KeyAlg, raw: Uint8Array, what: string): void {
  if (!(raw instanceof Uint8Array) || raw.length !== RAW_SIZE[alg]) {
    throw new RangeError(`${alg} ${what} key must be ${RAW_SIZE[alg]} bytes`);
  }
}

/** A public key of one of the four algorithms, held as its raw bytes. */
export class PublicKey {
  readonly alg: KeyAlg;
  readonly raw: Uint8Array;

  constructor(alg: KeyAlg, raw: Uint8Array) {
    checkSize(alg, raw, "public");
    this.alg = alg;
    this.raw = raw.slice();
  }

  /** X.509 SubjectPublicKeyInfo DER, as simplexmq `encodePubKey` writes it. */
  toDer(): Uint8Array {
    return concat(SPKI_PREFIX[this.alg], this.raw);
  }

  /** Parse SPKI DER of any of the four algorithms; anything else is a DecodeError. */
  static fromDer(der: Uint8Array): PublicKey {
    const k = unprefix(der, SPKI_PREFIX);
    if (k === null) throw new DecodeError("unsupported or malformed public key");
    return new PublicKey(...k);
  }

  /** True iff `signature` is a valid signature of `data` (RFC 8032, strict: edwards.ts says the rule). */
  verify(signature: Uint8Array, data: Uint8Array): boolean {
    return isSignatureAlg(this.alg) && edVerify(EDDSA[this.alg], signature, data, this.raw);
  }

  equals(other: PublicKey): boolean {
    return this.alg === other.alg && constantTimeEqual(this.raw, other.raw);
  }
}

/** A private key; `toString` and `toJSON` never show its bytes. */
export class PrivateKey {
  readonly alg: KeyAlg;
  readonly #raw: Uint8Array;
  #pub: PublicKey | undefined;

  constructor(alg: KeyAlg, raw: Uint8Array) {
    checkSize(alg, raw, "private");
    this.alg = alg;
    this.#raw = raw.slice();
  }

  /** The raw secret (a copy). Only key storage and the crypto layer call this. */
  exportRaw(): Uint8Array {
    return this.#raw.slice();
  }

  toString(): string {
    return `PrivateKey(${this.alg}, <redacted>)`;
  }

  toJSON(): string {
    return this.toString();
  }

  static generate(alg: KeyAlg): PrivateKey {
    return new PrivateKey(alg, randomBytes(RAW_SIZE[alg]));
  }

  /** The public key (computed once). */
  public(): PublicKey {
    const alg = this.alg;
    return (this.#pub ??= new PublicKey(alg, isSignatureAlg(alg) ? edPublic(EDDSA[alg], this.#raw) : xPublic(XDH[alg as DhAlg], this.#raw)));
  }

  sign(data: Uint8Array): Uint8Array {
    if (isSignatureAlg(this.alg)) return edSign(EDDSA[this.alg], this.#raw, data, this.public().raw);
    throw new RangeError(`${this.alg} keys do not sign`);
  }

  /** Raw DH output with `peer` (same algorithm). A low-order peer key is a CryptoError. */
  dh(peer: PublicKey): Uint8Array {
    if (!isDhAlg(this.alg) || peer.alg !== this.alg) {
      throw new RangeError("DH needs two keys of the same DH algorithm");
    }
    const out = xdh(XDH[this.alg], this.#raw, peer.raw);
    if (out === null) throw new CryptoError();
    let acc = 0;
    for (const b of out) acc |= b;
    if (acc === 0) throw new CryptoError();
    return out;
  }

}

export class KeyPair {
  readonly public: PublicKey;
  readonly private: PrivateKey;

  constructor(priv: PrivateKey, pub?: PublicKey) {
    this.private = priv;
    this.public = pub ?? priv.public();
  }

  /** A new key pair: one {@link prepareKeys} made, or made now. */
  static generate(alg: KeyAlg): KeyPair {
    const i = ready.findIndex((k) => k.public.alg === alg);
    return i < 0 ? new KeyPair(PrivateKey.generate(alg)) : ready.splice(i, 1)[0]!;
  }

  toString(): string {
    return `KeyPair(${this.public.alg}, <redacted>)`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Key pairs made ahead by {@link prepareKeys}, oldest first, each taken once. */
const ready: KeyPair[] = [];

/**
 * Make key pairs of `algs` ahead, one per task, so that messages and socket events are handled
 * in between, then run `then`; {@link KeyPair.generate} takes them in order (and makes its own
 * while none is ready). As the Python agent's keypool: the keys are as fresh and as secret as
 * made on demand.
 */
export function prepareKeys(algs: readonly KeyAlg[], then: () => void): void {
  let i = 0;
  const step = (): void => {
    const alg = algs[i++];
    if (!alg) return then();
    ready.push(new KeyPair(PrivateKey.generate(alg)));
    setTimeout(step);
  };
  setTimeout(step);
}
