/**
 * AES-256-GCM with SimpleX's 16-byte IV and 16-byte tag (src/hushwire/crypto/aead.py;
 * simplexmq Crypto.hs encryptAEAD/decryptAEAD, used by the double ratchet). A 16-byte IV is
 * standard GCM (GHASH-derived initial counter), which @noble/ciphers' gcm implements.
 */

import { gcm } from "@noble/ciphers/aes.js";

import { CryptoError, DecodeError } from "../errors.js";
import { pad, unpad } from "./padding.js";

export const AES_KEY_SIZE = 32;
export const GCM_IV_SIZE = 16;
export const GCM_TAG_SIZE = 16;

function check(key: Uint8Array, iv: Uint8Array): void {
  if (key.length !== AES_KEY_SIZE) throw new RangeError("AES-256 key must be 32 bytes");
  if (iv.length !== GCM_IV_SIZE) throw new RangeError("SimpleX GCM IV must be 16 bytes");
}

/** `[ciphertext, tag16]`; the ciphertext is as long as the plaintext. */
export function aesGcmEncrypt(key: Uint8Array, iv16: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): [Uint8Array, Uint8Array] {
  check(key, iv16);
  const out = gcm(key, iv16, ad).encrypt(plaintext);
  return [out.slice(0, out.length - GCM_TAG_SIZE), out.slice(out.length - GCM_TAG_SIZE)];
}

/** The plaintext; an opaque CryptoError if the tag does not verify. */
export function aesGcmDecrypt(key: Uint8Array, iv16: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array {
  check(key, iv16);
  if (tag.length !== GCM_TAG_SIZE) throw new CryptoError();
  const joined = new Uint8Array(ciphertext.length + GCM_TAG_SIZE);
  joined.set(ciphertext);
  joined.set(tag, ciphertext.length);
  try {
    return gcm(key, iv16, ad).decrypt(joined);
  } catch {
    throw new CryptoError();
  }
}

/** C.hs encryptAEAD: aesGcmEncrypt of pad(msg, paddedLen). */
export function encryptAead(key: Uint8Array, iv16: Uint8Array, paddedLen: number, ad: Uint8Array, msg: Uint8Array): [Uint8Array, Uint8Array] {
  return aesGcmEncrypt(key, iv16, ad, pad(msg, paddedLen));
}

/** C.hs decryptAEAD: decrypt, then unpad; any failure is an opaque CryptoError. */
export function decryptAead(key: Uint8Array, iv16: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array {
  const plain = aesGcmDecrypt(key, iv16, ad, ciphertext, tag);
  try {
    return unpad(plain);
  } catch (e) {
    if (e instanceof DecodeError) throw new CryptoError();
    throw e;
  }
}
