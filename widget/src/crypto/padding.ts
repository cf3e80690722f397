/**
 * SimpleX padding: `Word16 length ‖ message ‖ '#' fill` (src/hushwire/crypto/padding.py;
 * simplexmq Crypto.hs:1082-1096 pad/unPad). `unpad` reads the length and ignores the rest.
 */

import { DecodeError } from "../errors.js";
import { MAX_PAD_MESSAGE } from "../limits.js";

/** Fill byte (0x23), not 0x00. */
export const PAD_BYTE = 0x23;

/** Pad `msg` to exactly `size` bytes; RangeError if it is longer than 65533 or does not fit. */
export function pad(msg: Uint8Array, size: number): Uint8Array {
  const n = msg.length;
  const fill = size - n - 2;
  if (n > MAX_PAD_MESSAGE || fill < 0) {
    throw new RangeError(`message of ${n} bytes cannot be padded to ${size} bytes`);
  }
  const out = new Uint8Array(size);
  out[0] = n >> 8;
  out[1] = n & 0xff;
  out.set(msg, 2);
  out.fill(PAD_BYTE, 2 + n);
  return out;
}

/** The message inside padded `data`; DecodeError if the length prefix exceeds the data. */
export function unpad(data: Uint8Array): Uint8Array {
  if (data.length < 2) throw new DecodeError("padded data shorter than its length prefix");
  const n = (data[0]! << 8) | data[1]!;
  if (n > data.length - 2) throw new DecodeError("padded length exceeds the data");
  return data.slice(2, 2 + n);
}
