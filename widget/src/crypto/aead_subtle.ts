/**
 * AES-256-GCM with SimpleX's 16-byte IV through Web Crypto (the double ratchet's cipher in the
 * worker). Byte for byte what aead.ts computes with @noble/ciphers (simplexmq Crypto.hs
 * encryptAEAD/decryptAEAD), without bundling a second AES: Web Crypto takes any IV length and
 * runs natively in every browser and in Node. The key is imported non-extractable per call.
 */

import { CryptoError, DecodeError } from "../errors.js";
import { pad, unpad } from "./padding.js";

const TAG = 16;

function owned(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

function params(iv: Uint8Array, ad: Uint8Array): AesGcmParams {
  return { name: "AES-GCM", iv: owned(iv), additionalData: owned(ad), tagLength: TAG * 8 };
}

function key(raw: Uint8Array, iv: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
  if (raw.length !== 32) throw new RangeError("AES-256 key must be 32 bytes");
  if (iv.length !== 16) throw new RangeError("SimpleX GCM IV must be 16 bytes");
  return crypto.subtle.importKey("raw", owned(raw), "AES-GCM", false, [usage]);
}

/** encryptAEAD: `[ciphertext, tag16]` of pad(msg, paddedLen). */
export async function encryptAead(raw: Uint8Array, iv: Uint8Array, paddedLen: number, ad: Uint8Array, msg: Uint8Array): Promise<[Uint8Array, Uint8Array]> {
  const plain = pad(msg, paddedLen);
  const out = new Uint8Array(await crypto.subtle.encrypt(params(iv, ad), await key(raw, iv, "encrypt"), owned(plain)));
  return [out.slice(0, out.length - TAG), out.slice(out.length - TAG)];
}

/** decryptAEAD: decrypt, then unpad; any failure is one opaque CryptoError. */
export async function decryptAead(raw: Uint8Array, iv: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Promise<Uint8Array> {
  const k = await key(raw, iv, "decrypt");
  if (tag.length !== TAG) throw new CryptoError();
  const joined = new Uint8Array(ciphertext.length + TAG);
  joined.set(ciphertext);
  joined.set(tag, ciphertext.length);
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt(params(iv, ad), k, joined));
  } catch {
    throw new CryptoError();
  }
  try {
    return unpad(plain);
  } catch (e) {
    if (e instanceof DecodeError) throw new CryptoError();
    throw e;
  }
}
