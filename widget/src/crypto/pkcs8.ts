/**
 * Private keys as PKCS#8 DER (OneAsymmetricKey v0), as simplexmq `Crypto.hs` `encodePrivKey`
 * and Python's cryptography write them (src/hushwire/crypto/keys.py). The widget never stores a
 * key this way (its sealed state keeps raw keys), so this is not in keys.ts and not in the
 * bundles: tests and tools use it.
 */

import { concat, fromHex } from "../encoding.js";
import { DecodeError } from "../errors.js";
import { type KeyAlg, PrivateKey, unprefix } from "./keys.js";

/** The DER before the raw key, by algorithm. */
export const PKCS8_PREFIX: Readonly<Record<KeyAlg, Uint8Array>> = {
  Ed25519: fromHex("302e020100300506032b657004220420"),
  Ed448: fromHex("3047020100300506032b6571043b0439"),
  X25519: fromHex("302e020100300506032b656e04220420"),
  X448: fromHex("3046020100300506032b656f043a0438"),
};

/** PKCS#8 DER of `key`, as simplexmq `encodePrivKey` writes it. */
export function privateKeyToDer(key: PrivateKey): Uint8Array {
  return concat(PKCS8_PREFIX[key.alg], key.exportRaw());
}

/** The private key in PKCS#8 DER of any of the four algorithms; anything else is a DecodeError. */
export function privateKeyFromDer(der: Uint8Array): PrivateKey {
  const k = unprefix(der, PKCS8_PREFIX);
  if (k === null) throw new DecodeError("unsupported or malformed private key");
  return new PrivateKey(...k);
}
