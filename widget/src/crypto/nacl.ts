/**
 * NaCl boxes the way SimpleX uses them: XSalsa20-Poly1305 behind an HSalsa20 key step.
 *
 * Mirrors src/hushwire/crypto/nacl.py (simplexmq Crypto.hs `cryptoBox`/`xSalsa20`,
 * `cbEncrypt`/`sbEncrypt`/`cbDecrypt`/`sbDecrypt`, `cbAuthenticate`/`cbVerify`, `cbNonce`;
 * docs/protocol/smp.md, "Block encryption" and "Delivery").
 *
 * SimpleX's `xSalsa20 secret nonce` runs XSalsa20 under `HSalsa20(secret, 0^16)`, never under
 * `secret` itself. So with a raw X25519 output it equals libsodium `crypto_box` (beforenm is
 * exactly that HSalsa20 step), and with a symmetric 32-byte key K it equals
 * `crypto_secretbox` under `HSalsa20(K, 0^16)`. {@link dhBoxKey} and {@link sbKey} prepare the
 * 32-byte box key; {@link cbEncrypt}/{@link cbDecrypt} are plain secretbox under it
 * (output: 16-byte Poly1305 tag ‖ ciphertext).
 */

import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa.js";

import { CryptoError, DecodeError } from "../errors.js";
import { constantTimeEqual } from "./ct.js";
import { sha512 } from "./hash.js";
import type { PrivateKey, PublicKey } from "./keys.js";
import { pad, unpad } from "./padding.js";

/** Box key and HSalsa20 key size. */
export const KEY_SIZE = 32;
/** XSalsa20 nonce size (C.hs CbNonce). */
export const NONCE_SIZE = 24;
/** Poly1305 tag size (C.hs authTagSize). */
export const AUTH_TAG_SIZE = 16;
/** SHA-512 digest in a box: 80 bytes (C.hs cbAuthenticatorSize). */
export const CB_AUTHENTICATOR_SIZE = 64 + AUTH_TAG_SIZE;

// "expand 32-byte k" as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

function leWords(b: Uint8Array): Uint32Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Uint32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getUint32(4 * i, true);
  return out;
}

/**
 * The HSalsa20 core: a 32-byte `key` and a 16-byte `input` to a 32-byte subkey
 * (libsodium `crypto_core_hsalsa20`).
 */
export function hsalsa20(key: Uint8Array, input: Uint8Array = new Uint8Array(16)): Uint8Array {
  if (key.length !== KEY_SIZE || input.length !== 16) {
    throw new RangeError("HSalsa20 takes a 32-byte key and a 16-byte input");
  }
  const out = new Uint32Array(8);
  hsalsa(SIGMA, leWords(key), leWords(input), out);
  const res = new Uint8Array(32);
  const dv = new DataView(res.buffer);
  for (let i = 0; i < 8; i++) dv.setUint32(4 * i, out[i]!, true);
  out.fill(0);
  return res;
}

/**
 * `HSalsa20(X25519(peer, own), 0^16)`: libsodium `crypto_box_beforenm(peer, own)`.
 * A low-order `peer` key (all-zero DH output) is a CryptoError; RangeError unless both are X25519.
 */
export function dhBoxKey(peer: PublicKey, own: PrivateKey): Uint8Array {
  if (peer.alg !== "X25519" || own.alg !== "X25519") throw new RangeError("crypto_box needs X25519 keys");
  const shared = own.dh(peer);
  try {
    return hsalsa20(shared);
  } finally {
    shared.fill(0);
  }
}

/** `HSalsa20(secret, 0^16)`: the box key for a symmetric 32-byte SbKey or chain key. */
export function sbKey(secret: Uint8Array): Uint8Array {
  return hsalsa20(secret);
}

/** A 24-byte nonce: `corrId` truncated or right-padded with 0x00 (C.hs cbNonce). */
export function cbNonce(corrId: Uint8Array): Uint8Array {
  const out = new Uint8Array(NONCE_SIZE);
  out.set(corrId.subarray(0, NONCE_SIZE));
  return out;
}

/** The byte-reversed nonce (C.hs reverseNonce). */
export function reverseNonce(nonce: Uint8Array): Uint8Array {
  return nonce.slice().reverse();
}

function check(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== KEY_SIZE) throw new RangeError("box key must be 32 bytes");
  if (nonce.length !== NONCE_SIZE) throw new RangeError("box nonce must be 24 bytes");
}

/**
 * Box `msg` under a prepared `key`: 16-byte tag ‖ XSalsa20 ciphertext. With `padTo` the
 * message is first padded to that many bytes (C.hs sbEncrypt_), so the output is
 * `padTo + 16` bytes; RangeError if it does not fit or the key or nonce has the wrong size.
 */
export function cbEncrypt(key: Uint8Array, nonce: Uint8Array, msg: Uint8Array, padTo?: number): Uint8Array {
  check(key, nonce);
  const plain = padTo === undefined ? msg : pad(msg, padTo);
  return xsalsa20poly1305(key, nonce).encrypt(plain);
}

/**
 * Open a box made by {@link cbEncrypt}; by default also unpad the result. Any failure
 * (shorter than the tag, wrong tag, bad padding) is one opaque CryptoError.
 */
export function cbDecrypt(key: Uint8Array, nonce: Uint8Array, data: Uint8Array, unpadded = false): Uint8Array {
  check(key, nonce);
  if (data.length < AUTH_TAG_SIZE) throw new CryptoError();
  let opened: Uint8Array;
  try {
    opened = xsalsa20poly1305(key, nonce).decrypt(data);
  } catch {
    throw new CryptoError();
  }
  if (unpadded) return opened;
  try {
    return unpad(opened);
  } catch (e) {
    if (e instanceof DecodeError) throw new CryptoError();
    throw e;
  }
}

/** The 80-byte CbAuthenticator of `msg`: crypto_box(sha512(msg), nonce, peer, own) (C.hs:1366). */
export function cbAuthenticate(peer: PublicKey, own: PrivateKey, nonce: Uint8Array, msg: Uint8Array): Uint8Array {
  const key = dhBoxKey(peer, own);
  try {
    return cbAuthenticateWith(key, nonce, msg);
  } finally {
    key.fill(0);
  }
}

/** {@link cbAuthenticate} under a box key {@link dhBoxKey} made already (one DH for many commands). */
export function cbAuthenticateWith(boxKey: Uint8Array, nonce: Uint8Array, msg: Uint8Array): Uint8Array {
  return cbEncrypt(boxKey, nonce, sha512(msg));
}

/** True iff `authenticator` is cbAuthenticate of `msg` between these keys; never throws for bad input. */
export function cbVerify(
  peer: PublicKey,
  own: PrivateKey,
  nonce: Uint8Array,
  msg: Uint8Array,
  authenticator: Uint8Array,
): boolean {
  if (authenticator.length !== CB_AUTHENTICATOR_SIZE) return false;
  let opened: Uint8Array;
  try {
    opened = cbDecrypt(dhBoxKey(peer, own), nonce, authenticator, true);
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
  return constantTimeEqual(opened, sha512(msg));
}
