/**
 * The few DER pieces the widget reads (X.690): definite lengths in minimal form only, every
 * length checked against what remains (src/hushwire/crypto/_der.py). Readers throw only
 * DecodeError.
 */

import { DecodeError } from "../errors.js";

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const MAX_LEN_BYTES = 2; // nothing here is 64 KiB or longer

export interface Tlv {
  tag: number;
  /** The content octets. */
  content: Uint8Array;
  /** The whole element: tag, length and content. */
  whole: Uint8Array;
  /** Position just after the element. */
  end: number;
}

/** The element at `pos` of `data`. */
export function readTlv(data: Uint8Array, pos: number): Tlv {
  if (pos + 2 > data.length) throw new DecodeError("DER element truncated");
  const tag = data[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DecodeError("multi-byte DER tags are not supported");
  const first = data[pos + 1]!;
  let i = pos + 2;
  let n: number;
  if (first < 0x80) {
    n = first;
  } else {
    const count = first & 0x7f;
    if (count === 0 || count > MAX_LEN_BYTES || i + count > data.length) throw new DecodeError("unsupported DER length");
    n = 0;
    for (let k = 0; k < count; k++) n = (n << 8) | data[i + k]!;
    if (n < 0x80 || (count === 2 && n < 0x100)) throw new DecodeError("non-minimal DER length");
    i += count;
  }
  if (n > data.length - i) throw new DecodeError("DER length exceeds the data");
  return { tag, content: data.subarray(i, i + n), whole: data.subarray(pos, i + n), end: i + n };
}

/** The single element spanning all of `data`, which must have tag `tag`. */
export function readOne(data: Uint8Array, tag: number): Tlv {
  const t = readTlv(data, 0);
  if (t.tag !== tag || t.end !== data.length) throw new DecodeError("unexpected DER element");
  return t;
}

/** The items inside a constructed element's content. */
export function readItems(content: Uint8Array): Tlv[] {
  const items: Tlv[] = [];
  let pos = 0;
  while (pos < content.length) {
    const t = readTlv(content, pos);
    items.push(t);
    pos = t.end;
  }
  return items;
}

/** The items of one SEQUENCE spanning all of `data`. */
export function readSequenceItems(data: Uint8Array): Tlv[] {
  return readItems(readOne(data, TAG.SEQUENCE).content);
}
