/**
 * Asymmetric keys as SimpleX uses them: Ed25519, Ed448 (signing), X25519, X448 (DH).
 *
 * Mirrors src/hushwire/crypto/keys.py (simplexmq `Crypto.hs` `encodePubKey`/`decodePubKey`,
 * `encodePrivKey`): on the wire a public key is the DER of its X.509 SubjectPublicKeyInfo and
 * a private key is PKCS#8 DER. The curve arithmetic is @noble/curves; private key bytes never
 * appear in `toString`/`toJSON` output.
 */

import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { ed448, x448 } from "@noble/curves/ed448.js";

import { concat, fromHex } from "../encoding.js";
import { CryptoError, DecodeError } from "../errors.js";
import { constantTimeEqual } from "./ct.js";
import { randomBytes } from "./random.js";

export type KeyAlg = "Ed25519" | "Ed448" | "X25519" | "X448";
export type SignatureAlg = "Ed25519" | "Ed448";
export type DhAlg = "X25519" | "X448";

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

/** PKCS#8 (OneAsymmetricKey v0) DER prefixes as cryptography and simplexmq write them. */
export const PKCS8_PREFIX: Readonly<Record<KeyAlg, Uint8Array>> = {
  Ed25519: fromHex("302e020100300506032b657004220420"),
  Ed448: fromHex("3047020100300506032b6571043b0439"),
  X25519: fromHex("302e020100300506032b656e04220420"),
  X448: fromHex("3046020100300506032b656f043a0438"),
};

export function isSignatureAlg(alg: KeyAlg): alg is SignatureAlg {
  return alg === "Ed25519" || alg === "Ed448";
}

export function isDhAlg(alg: KeyAlg): alg is DhAlg {
  return alg === "X25519" || alg === "X448";
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
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
    for (const alg of KEY_ALGS) {
      const prefix = SPKI_PREFIX[alg];
      if (der.length === prefix.length + RAW_SIZE[alg] && startsWith(der, prefix)) {
        return new PublicKey(alg, der.subarray(prefix.length));
      }
    }
    throw new DecodeError("unsupported or malformed public key");
  }

  /** True iff `signature` is a valid (RFC 8032, non-ZIP-215) signature of `data`. */
  verify(signature: Uint8Array, data: Uint8Array): boolean {
    if (!isSignatureAlg(this.alg) || signature.length !== SIGNATURE_SIZE[this.alg]) return false;
    try {
      if (this.alg === "Ed25519") return ed25519.verify(signature, data, this.raw, { zip215: false });
      return ed448.verify(signature, data, this.raw, { zip215: false });
    } catch {
      return false;
    }
  }

  equals(other: PublicKey): boolean {
    return this.alg === other.alg && constantTimeEqual(this.raw, other.raw);
  }
}

/** A private key; `toString` and `toJSON` never show its bytes. */
export class PrivateKey {
  readonly alg: KeyAlg;
  readonly #raw: Uint8Array;

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

  public(): PublicKey {
    const raw = this.#raw;
    switch (this.alg) {
      case "Ed25519":
        return new PublicKey("Ed25519", ed25519.getPublicKey(raw));
      case "Ed448":
        return new PublicKey("Ed448", ed448.getPublicKey(raw));
      case "X25519":
        return new PublicKey("X25519", x25519.getPublicKey(raw));
      case "X448":
        return new PublicKey("X448", x448.getPublicKey(raw));
    }
  }

  sign(data: Uint8Array): Uint8Array {
    if (this.alg === "Ed25519") return ed25519.sign(data, this.#raw);
    if (this.alg === "Ed448") return ed448.sign(data, this.#raw);
    throw new RangeError(`${this.alg} keys do not sign`);
  }

  /** Raw DH output with `peer` (same algorithm). A low-order peer key is a CryptoError. */
  dh(peer: PublicKey): Uint8Array {
    if (!isDhAlg(this.alg) || peer.alg !== this.alg) {
      throw new RangeError("DH needs two keys of the same DH algorithm");
    }
    let out: Uint8Array;
    try {
      out = this.alg === "X25519" ? x25519.getSharedSecret(this.#raw, peer.raw) : x448.getSharedSecret(this.#raw, peer.raw);
    } catch {
      throw new CryptoError();
    }
    let acc = 0;
    for (const b of out) acc |= b;
    if (acc === 0) throw new CryptoError();
    return out;
  }

  /** PKCS#8 DER, as simplexmq `encodePrivKey` writes it. */
  toDer(): Uint8Array {
    return concat(PKCS8_PREFIX[this.alg], this.#raw);
  }

  static fromDer(der: Uint8Array): PrivateKey {
    for (const alg of KEY_ALGS) {
      const prefix = PKCS8_PREFIX[alg];
      if (der.length === prefix.length + RAW_SIZE[alg] && startsWith(der, prefix)) {
        return new PrivateKey(alg, der.subarray(prefix.length));
      }
    }
    throw new DecodeError("unsupported or malformed private key");
  }

  equals(other: PrivateKey): boolean {
    return this.alg === other.alg && constantTimeEqual(this.#raw, other.#raw);
  }
}

export class KeyPair {
  readonly public: PublicKey;
  readonly private: PrivateKey;

  constructor(priv: PrivateKey, pub?: PublicKey) {
    this.private = priv;
    this.public = pub ?? priv.public();
  }

  static generate(alg: KeyAlg): KeyPair {
    return new KeyPair(PrivateKey.generate(alg));
  }

  toString(): string {
    return `KeyPair(${this.public.alg}, <redacted>)`;
  }

  toJSON(): string {
    return this.toString();
  }
}
