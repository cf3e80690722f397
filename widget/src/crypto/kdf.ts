/**
 * HKDF-SHA512 and the SMP v11 block-encryption chain.
 *
 * Mirrors src/hushwire/crypto/kdf.py (simplexmq Crypto.hs `hkdf`, `sbcInit`/`sbcHkdf`;
 * Transport.hs `tPutBlock`/`tGetBlock`/`blockEncryption`; docs/protocol/smp.md, "Block encryption").
 *
 * Theory of operation of {@link BlockCipherChain}: after a v11+ handshake both ends derive
 * `(ck1, ck2) = HKDF-SHA512(salt = sessionId, ikm = X25519 secret, "SimpleXSbChainInit", 64)`.
 * The server sends with ck1 and receives with ck2; the client the other way round. Every
 * block, in each direction, advances that direction's chain once:
 * `HKDF-SHA512(salt = "", ikm = ck, "SimpleXSbChain", 88)` gives the next chain key, a 32-byte
 * secret-box key and a 24-byte nonce. The block is sbEncrypt of the batch padded to
 * `block size - 16` (XSalsa20-Poly1305 under HSalsa20(key, 0^16)), exactly `block size`
 * bytes. The receiving chain advances even when a block fails to open, as in the reference.
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { sha512 as nobleSha512 } from "@noble/hashes/sha2.js";

import { latin1 } from "../encoding.js";
import { AUTH_TAG_SIZE, cbDecrypt, cbEncrypt, sbKey } from "./nacl.js";
import { pad } from "./padding.js";

export const SB_CHAIN_INIT_INFO = latin1("SimpleXSbChainInit");
export const SB_CHAIN_INFO = latin1("SimpleXSbChain");
export const CHAIN_KEY_SIZE = 32;

const HASH_LEN = 64;

/**
 * RFC 5869 HKDF with SHA-512 (C.hs hkdf). The salt is used as given, including the empty
 * salt of sbcHkdf (HMAC pads an empty key to the same block as 64 zero bytes).
 */
export function hkdfSha512(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_LEN) {
    throw new RangeError("HKDF-SHA512 output length must be 0..16320");
  }
  if (length === 0) return new Uint8Array(0);
  return hkdf(nobleSha512, ikm, salt, info, length);
}

/** `[ck1, ck2]` from the session id and the raw X25519 output (C.hs sbcInit). */
export function sbChainInit(sessionId: Uint8Array, dhSecret: Uint8Array): [Uint8Array, Uint8Array] {
  const out = hkdfSha512(sessionId, dhSecret, SB_CHAIN_INIT_INFO, 2 * CHAIN_KEY_SIZE);
  return [out.slice(0, CHAIN_KEY_SIZE), out.slice(CHAIN_KEY_SIZE)];
}

/** One chain step (C.hs sbcHkdf): `[next chain key, 32-byte SbKey, 24-byte nonce]`. */
export function sbChainStep(ck: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const out = hkdfSha512(new Uint8Array(0), ck, SB_CHAIN_INFO, 88);
  const res: [Uint8Array, Uint8Array, Uint8Array] = [out.slice(0, 32), out.slice(32, 64), out.slice(64, 88)];
  out.fill(0);
  return res;
}

/** One direction of SMP v11+ block encryption; mutable, one instance per direction. */
export class BlockCipherChain {
  #ck: Uint8Array;

  constructor(chainKey: Uint8Array) {
    if (chainKey.length !== CHAIN_KEY_SIZE) throw new RangeError("chain key must be 32 bytes");
    this.#ck = chainKey.slice();
  }

  toString(): string {
    return "BlockCipherChain(<redacted>)";
  }

  /** `[send, receive]` chains for one end of a connection (T.hs blockEncryption). */
  static pair(sessionId: Uint8Array, dhSecret: Uint8Array, server: boolean): [BlockCipherChain, BlockCipherChain] {
    const [ck1, ck2] = sbChainInit(sessionId, dhSecret);
    const pair: [BlockCipherChain, BlockCipherChain] = server
      ? [new BlockCipherChain(ck1), new BlockCipherChain(ck2)]
      : [new BlockCipherChain(ck2), new BlockCipherChain(ck1)];
    ck1.fill(0);
    ck2.fill(0);
    return pair;
  }

  private step(): [Uint8Array, Uint8Array] {
    const [next, key, nonce] = sbChainStep(this.#ck);
    this.#ck.fill(0);
    this.#ck = next;
    const boxKey = sbKey(key);
    key.fill(0);
    return [boxKey, nonce];
  }

  /** `blockSize` bytes: tag ‖ boxed pad(payload, blockSize - 16). The chain is not advanced if it does not fit. */
  encryptBlock(payload: Uint8Array, blockSize: number): Uint8Array {
    pad(payload, blockSize - AUTH_TAG_SIZE); // fail before advancing the chain
    const [key, nonce] = this.step();
    try {
      return cbEncrypt(key, nonce, payload, blockSize - AUTH_TAG_SIZE);
    } finally {
      key.fill(0);
    }
  }

  /** The unpadded payload of `block`; CryptoError on failure (the chain advances anyway). */
  decryptBlock(block: Uint8Array): Uint8Array {
    const [key, nonce] = this.step();
    try {
      return cbDecrypt(key, nonce, block);
    } finally {
      key.fill(0);
    }
  }
}
