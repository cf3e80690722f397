/**
 * SMP transport blocks: batches, padding, the batcher and v11+ block encryption
 * (src/hushwire/smp/block.py; simplexmq Transport.hs tPutBlock/tGetBlock, Protocol.hs
 * batchTransmissions_/tEncodeForBatch/tParse; docs/protocol/smp.md).
 *
 * Every block is exactly 16384 bytes. After the handshake a block carries a batch
 * `count (1..255) ‖ Large(t1) ‖ ... ‖ Large(tn)` padded to 16384 bytes, or from v11 (when
 * negotiated) boxed under the next key of a per-direction chain: `tag(16) ‖
 * secretbox(pad(batch, 16368))`. The receiver must parse the batch exactly. Handshake blocks
 * are padded, never batched or encrypted.
 *
 * The batcher packs like the reference: it fills blocks from the end of the list (a right
 * fold), so the first block is the partly filled one, and a transmission too large for a
 * block on its own is reported in its place (LARGE_MSG) between the blocks around it.
 */

import { DecodeError, CryptoError } from "../errors.js";
import { encode, type Bytes } from "../encoding.js";
import { BlockCipherChain } from "../crypto/kdf.js";
import { pad, unpad } from "../crypto/padding.js";
import { BLOCK_AUTH_TAG_SIZE, MAX_BATCH_COUNT, MAX_BATCH_PAYLOAD, SMP_BLOCK_SIZE } from "../limits.js";
import { parseAll } from "./reader.js";

/** Padded batch size inside an encrypted block: 16368. */
export const ENCRYPTED_BLOCK_PAYLOAD = SMP_BLOCK_SIZE - BLOCK_AUTH_TAG_SIZE;

/** `count ‖ Large(item)...` for 1..255 transmissions (not padded). */
export function encodeBatch(items: readonly Bytes[]): Bytes {
  if (items.length < 1 || items.length > MAX_BATCH_COUNT) {
    throw new RangeError(`a batch holds 1..${MAX_BATCH_COUNT} transmissions, got ${items.length}`);
  }
  return encode((w) => {
    w.byte(items.length);
    for (const t of items) w.large(t);
  });
}

/** The transmissions of an unpadded batch; DecodeError unless it parses exactly. */
export function decodeBatch(data: Bytes): Bytes[] {
  return parseAll(data, (r) => r.nonEmpty((x) => x.large()));
}

/** pad(payload, 16384); RangeError if it does not fit. Also the handshake block form. */
export function padBlock(payload: Bytes): Bytes {
  return pad(payload, SMP_BLOCK_SIZE);
}

/** The payload of an unencrypted block; DecodeError if not 16384 bytes or bad padding. */
export function unpadBlock(block: Bytes): Bytes {
  if (block.length !== SMP_BLOCK_SIZE) throw new DecodeError(`block must be ${SMP_BLOCK_SIZE} bytes, got ${block.length}`);
  return unpad(block);
}

export const padHandshake = padBlock;
export const unpadHandshake = unpadBlock;

/** An unencrypted block holding `items`. */
export function encodeBlock(items: readonly Bytes[]): Bytes {
  return padBlock(encodeBatch(items));
}

/** The transmissions of an unencrypted block; DecodeError (answer ERR BLOCK). */
export function decodeBlock(block: Bytes): Bytes[] {
  return decodeBatch(unpadBlock(block));
}

// --------------------------------------------------------------------------- batcher

/** An unpadded batch and the input positions of the transmissions in it. */
export interface Batch {
  kind: "batch";
  payload: Bytes;
  indices: number[];
}

/** The transmission at `index` cannot fit in a block even alone (LARGE_MSG). */
export interface TooLarge {
  kind: "tooLarge";
  index: number;
}

/**
 * Pack encoded transmissions into as few batches as the reference does. Each batch's
 * Large-prefixed items total at most `maxPayload` (16384 - 19) and at most 255 items.
 * Packing runs from the last transmission backwards (a foldr); the output is in input order.
 */
export function batchTransmissions(transmissions: readonly Bytes[], maxPayload = MAX_BATCH_PAYLOAD): (Batch | TooLarge)[] {
  const outRev: (Batch | TooLarge)[] = [];
  let cur: number[] = []; // indices, reversed
  let curLen = 0;
  const flush = (): void => {
    if (cur.length > 0) {
      const indices = cur.slice().reverse();
      outRev.push({ kind: "batch", payload: encodeBatch(indices.map((i) => transmissions[i]!)), indices });
      cur = [];
    }
  };
  for (let idx = transmissions.length - 1; idx >= 0; idx--) {
    const size = transmissions[idx]!.length + 2;
    if (size > maxPayload) {
      flush();
      curLen = 0;
      outRev.push({ kind: "tooLarge", index: idx });
      continue;
    }
    if (curLen + size <= maxPayload && cur.length < MAX_BATCH_COUNT) {
      cur.push(idx);
      curLen += size;
    } else {
      flush();
      cur.push(idx);
      curLen = size;
    }
  }
  flush();
  return outRev.reverse();
}

// --------------------------------------------------------------------------- v11+ encryption

/**
 * One direction of v11+ block encryption (chain state; mutable). Each call advances the
 * chain by one step, also when decryption fails, as the reference does.
 */
export class BlockChain {
  readonly #chain: BlockCipherChain;

  constructor(chain: Bytes | BlockCipherChain) {
    this.#chain = chain instanceof BlockCipherChain ? chain : new BlockCipherChain(chain);
  }

  toString(): string {
    return "BlockChain(<redacted>)";
  }

  /** `[send, receive]` chains of one end: the server sends with ck1, the client with ck2. */
  static pair(sessionId: Bytes, dhSecret: Bytes, server: boolean): [BlockChain, BlockChain] {
    const [send, recv] = BlockCipherChain.pair(sessionId, dhSecret, server);
    return [new BlockChain(send), new BlockChain(recv)];
  }

  /** A 16384-byte block: tag ‖ secretbox(pad(payload, 16368)); RangeError if it does not fit. */
  encrypt(payload: Bytes): Bytes {
    return this.#chain.encryptBlock(payload, SMP_BLOCK_SIZE);
  }

  /** The unpadded payload of an encrypted block; DecodeError if it does not open. */
  decrypt(block: Bytes): Bytes {
    if (block.length !== SMP_BLOCK_SIZE) throw new DecodeError(`block must be ${SMP_BLOCK_SIZE} bytes, got ${block.length}`);
    try {
      return this.#chain.decryptBlock(block);
    } catch (e) {
      if (e instanceof CryptoError) throw new DecodeError("block does not decrypt");
      throw e;
    }
  }
}
